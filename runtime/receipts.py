"""Receipts: a signed-able, byte-stable record of one sandboxed run, and its verification.

Sits after the sandbox (`synapse.runtime.sandbox`): given the module bytes, the request input
and the `RunResult`, `make_receipt` records what ran and how it ended as a flat JSON object;
`canonical_json` gives its one byte encoding and `receipt_hash` the SHA-256 of that encoding.
`verify_receipt` re-executes the module on the input and names every field that does not match.
The format is specified in spec/12-receipts.md; the `syn` commands are in `cli_receipt.py`.

What must stay true:
- the canonical encoding of a receipt is a function of its contents alone (sorted keys, no
  whitespace, ASCII, integers only), so the same run gives the same bytes on every machine;
- `receipt_sha256` covers every other field, and the optional Ed25519 signature covers every
  field but itself, so no byte of a receipt changes unnoticed;
- nothing here depends on host thread counts or BLAS settings: a run's fields come from the
  sandbox, whose results are deterministic.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

FORMAT = "synapse-receipt/2"

# Field order in the documentation; the encoding itself sorts keys.
FIELDS = (
    "format", "runtime", "module_sha256", "input_sha256", "output_sha256", "status", "trap",
    "fuel_budget", "fuel_used", "arena", "output_limit", "time_limit_ms", "stack_limit",
    "tensor_limit", "kernels", "transcript_sha256", "prev", "receipt_sha256",
)
# The kernel modes of the tensor module (spec/14-tensors.md).
KERNELS_BLAS = "blas"
KERNELS_DETERMINISTIC = "deterministic"
SIGNATURE = "signature"
SIGNATURE_ALG = "ed25519"

# Fields the hash does not cover: the hash itself and the signature (which covers the hash).
_UNHASHED = frozenset({"receipt_sha256", SIGNATURE})


class ReceiptError(Exception):
    """A receipt that cannot even be read: not an object, a field of the wrong type, a float."""


# -- encoding ---------------------------------------------------------------------------------

def canonical_json(receipt: dict[str, Any]) -> bytes:
    """The one byte encoding of `receipt`: keys sorted, no whitespace, ASCII escapes.

    Values may be strings, integers, null, booleans or nested objects of those; floats are
    refused (their text form is not unique across implementations).
    """
    _check_values(receipt)
    return json.dumps(receipt, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False).encode("ascii")


def _check_values(value: Any, where: str = "receipt") -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ReceiptError(f"{where}: key {key!r} is not a string")
            _check_values(item, f"{where}.{key}")
    elif isinstance(value, float):
        raise ReceiptError(f"{where}: floats are not allowed in receipts")
    elif value is not None and not isinstance(value, (str, int, bool)):
        raise ReceiptError(f"{where}: {type(value).__name__} is not allowed in receipts")


def receipt_body(receipt: dict[str, Any]) -> dict[str, Any]:
    """The fields `receipt_sha256` covers: all but the hash and the signature."""
    return {key: value for key, value in receipt.items() if key not in _UNHASHED}


def receipt_hash(receipt: dict[str, Any]) -> str:
    """SHA-256 (hex) of the canonical encoding of the receipt's body."""
    return hashlib.sha256(canonical_json(receipt_body(receipt))).hexdigest()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@lru_cache(maxsize=1)
def runtime_version() -> str:
    """"synapse X; wasmtime Y": a receipt names the runtime that produced it."""
    from importlib.metadata import PackageNotFoundError, version

    def of(package: str) -> str:
        try:
            return version(package)
        except PackageNotFoundError:
            return "unknown"
    return f"synapse {of('synapse-lang')}; wasmtime {of('wasmtime')}"


# -- making -----------------------------------------------------------------------------------

def trap_kind(result: Any) -> str | None:
    """How a run ended, as a stable short name: None for ok, else the sandbox's trap kind."""
    if result.status == "ok":
        return None
    kind = getattr(result, "trap_kind", None)
    return kind or result.exhausted or "other"


def make_receipt(module: bytes, input: bytes, result: Any, *, fuel_budget: int, arena: int,
                 prev: str | None = None, transcript: str | None = None,
                 signer: Any = None) -> dict[str, Any]:
    """The receipt of `result`, the run of `module` on `input` with `fuel_budget` fuel.

    `arena` is the module's linear memory size in bytes; `prev` the hash of the previous
    receipt when runs are chained; `transcript` the host-call transcript hash (defaults to
    the one the run recorded). `signer`: an Ed25519 private key (`cryptography`) or None.
    The other limits (output, wall clock, tensor elements) and the kernel mode come from the
    `RunResult`, which records what the run had.
    """
    from synapse.runtime import host, tensors
    from synapse.runtime.sandbox import MAX_WASM_STACK
    if transcript is None:
        transcript = getattr(result, "transcript", None)
    output_limit = getattr(result, "output_limit", None)
    tensor_limit = getattr(result, "tensor_limit", None)
    time_limit = getattr(result, "time_limit", None)
    receipt: dict[str, Any] = {
        "format": FORMAT,
        "runtime": runtime_version(),
        "module_sha256": sha256_hex(bytes(module)),
        "input_sha256": sha256_hex(bytes(input)),
        "output_sha256": sha256_hex(bytes(result.output)),
        "status": result.status,
        "trap": trap_kind(result),
        "fuel_budget": int(fuel_budget),
        "fuel_used": int(result.fuel_used),
        "arena": int(arena),
        "output_limit": int(output_limit if output_limit is not None
                            else host.DEFAULT_OUTPUT_LIMIT),
        "time_limit_ms": None if time_limit is None else int(round(time_limit * 1000)),
        "stack_limit": MAX_WASM_STACK,
        "tensor_limit": int(tensor_limit if tensor_limit is not None
                            else tensors.current_config().max_elements),
        "kernels": (KERNELS_DETERMINISTIC if getattr(result, "deterministic_kernels", False)
                    else KERNELS_BLAS),
        "transcript_sha256": transcript,
        "prev": prev,
    }
    receipt["receipt_sha256"] = receipt_hash(receipt)
    if signer is not None:
        receipt[SIGNATURE] = sign(receipt, signer)
    return receipt


# -- signatures -------------------------------------------------------------------------------

def _signed_bytes(receipt: dict[str, Any]) -> bytes:
    """What the signature covers: the canonical encoding of everything but the signature."""
    return canonical_json({k: v for k, v in receipt.items() if k != SIGNATURE})


def sign(receipt: dict[str, Any], private_key: Any) -> dict[str, str]:
    """The `signature` field for `receipt`, made with an Ed25519 private key."""
    from cryptography.hazmat.primitives import serialization
    public = private_key.public_key().public_bytes(serialization.Encoding.Raw,
                                                   serialization.PublicFormat.Raw)
    return {"alg": SIGNATURE_ALG, "public_key": public.hex(),
            "value": private_key.sign(_signed_bytes(receipt)).hex()}


def public_key_hex(key: Any) -> str:
    """A public key (raw 32 bytes, hex text, or a `cryptography` key object) as hex."""
    if isinstance(key, (bytes, bytearray)):
        return bytes(key).hex()
    if isinstance(key, str):
        return key.strip().lower()
    from cryptography.hazmat.primitives import serialization
    if hasattr(key, "public_key"):  # a private key: its public half
        key = key.public_key()
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def signature_valid(receipt: dict[str, Any], public_key: Any = None) -> bool:
    """The signature is well formed, verifies under its own key, and (when given) that key is
    `public_key`."""
    sig = receipt.get(SIGNATURE)
    if not isinstance(sig, dict) or sig.get("alg") != SIGNATURE_ALG:
        return False
    key_hex, value_hex = sig.get("public_key"), sig.get("value")
    if not isinstance(key_hex, str) or not isinstance(value_hex, str):
        return False
    if public_key is not None and public_key_hex(public_key) != key_hex.lower():
        return False
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    try:
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(key_hex))
        key.verify(bytes.fromhex(value_hex), _signed_bytes(receipt))
    except (ValueError, InvalidSignature):
        return False
    return True


# -- verifying --------------------------------------------------------------------------------

_NO_CHECK: Any = object()


def verify_receipt(receipt: dict[str, Any], module: bytes, input: bytes, *,
                   public_key: Any = None, output: bytes | None = None,
                   prev: Any = _NO_CHECK, sandbox: Any = None) -> list[str]:
    """Names of the fields of `receipt` that do not hold; empty when the receipt is valid.

    Re-executes `module` on `input` with the receipt's fuel budget and compares every field
    the run determines. Also checked: `receipt_sha256` against the fields, the signature
    (required when `public_key` is given), `output` (bytes the caller holds as the run's
    output) against `output_sha256`, and `prev` against the expected previous hash.
    The re-execution gets the receipt's output limit, tensor limit and kernel mode (and no
    wall-clock limit); a limit that decided a different ending than the receipt's is named.
    Fields no re-execution can reproduce (`prev`; `fuel_budget` and the other limits above
    what the run needed) are protected by `receipt_sha256` and the signature.
    """
    from synapse.runtime.sandbox import MAX_WASM_STACK, Sandbox, SandboxError
    if not isinstance(receipt, dict):
        raise ReceiptError("a receipt is a JSON object")
    bad: list[str] = []
    budget = _positive_int(receipt, "fuel_budget", bad)
    limits = _run_limits(receipt, bad)
    if receipt.get("stack_limit") != MAX_WASM_STACK:
        bad.append("stack_limit")
    expected: dict[str, Any] = {
        "format": FORMAT,
        "runtime": runtime_version(),
        "module_sha256": sha256_hex(bytes(module)),
        "input_sha256": sha256_hex(bytes(input)),
    }
    box = sandbox if sandbox is not None else Sandbox(time_limit=None)
    rerun: Any = None
    try:
        loaded = box.load(bytes(module))
        if budget is not None and limits is not None:
            rerun = _rerun(box, loaded, bytes(input), budget, *limits)
            expected.update({
                "output_sha256": sha256_hex(rerun.output),
                "status": rerun.status,
                "trap": trap_kind(rerun),
                "fuel_used": rerun.fuel_used,
                "transcript_sha256": rerun.transcript,
            })
        expected["arena"] = loaded.arena
    except SandboxError:
        expected["status"] = "refused"  # the module cannot run: no receipt can match it
    for name in FIELDS:
        if name in expected and receipt.get(name, _NO_CHECK) != expected[name]:
            bad.append(name)
    if rerun is not None and limits is not None:
        assert budget is not None  # there is a re-execution only with a budget
        bad.extend(_deciding_limits(receipt, rerun, bad, box, loaded, bytes(input), budget,
                                    limits))
    if output is not None and receipt.get("output_sha256") != sha256_hex(bytes(output)):
        if "output_sha256" not in bad:
            bad.append("output_sha256")
    if prev is not _NO_CHECK and receipt.get("prev") != prev:
        bad.append("prev")
    try:
        if receipt.get("receipt_sha256") != receipt_hash(receipt):
            bad.append("receipt_sha256")
    except ReceiptError:
        bad.append("receipt_sha256")
    if (SIGNATURE in receipt or public_key is not None) and not signature_valid(receipt,
                                                                                public_key):
        bad.append(SIGNATURE)
    extra = sorted(set(receipt) - set(FIELDS) - {SIGNATURE})
    bad.extend(extra)  # an unknown field is an alteration too
    return _ordered(bad)


def _positive_int(receipt: dict[str, Any], name: str, bad: list[str]) -> int | None:
    value = receipt.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        bad.append(name)
        return None
    return value


def _run_limits(receipt: dict[str, Any], bad: list[str]) -> tuple[int, int, bool] | None:
    """(output limit, tensor limit, deterministic) to re-execute with; None when malformed."""
    output_limit = _positive_int(receipt, "output_limit", bad)
    tensor_limit = _positive_int(receipt, "tensor_limit", bad)
    time_limit = receipt.get("time_limit_ms")
    if time_limit is not None and (not isinstance(time_limit, int) or isinstance(time_limit, bool)
                                   or time_limit <= 0):
        bad.append("time_limit_ms")
    kernels = receipt.get("kernels")
    if kernels not in (KERNELS_BLAS, KERNELS_DETERMINISTIC):
        bad.append("kernels")
        return None
    if output_limit is None or tensor_limit is None:
        return None
    return output_limit, tensor_limit, kernels == KERNELS_DETERMINISTIC


def _rerun(box: Any, loaded: Any, input: bytes, fuel: int, output_limit: int,
           tensor_limit: int, deterministic: bool) -> Any:
    """Re-execute under the receipt's limits and kernel mode, with no wall-clock limit."""
    import dataclasses

    from synapse.runtime import tensors
    config = dataclasses.replace(tensors.current_config(), max_elements=tensor_limit)
    with tensors.host_config(config):
        return box.run(loaded, input, fuel=fuel, time_limit=None, output_limit=output_limit,
                       deterministic_kernels=deterministic)


_OUTCOME = ("output_sha256", "status", "trap", "fuel_used", "transcript_sha256")


def _deciding_limits(receipt: dict[str, Any], rerun: Any, bad: list[str], box: Any,
                     loaded: Any, input: bytes, fuel: int,
                     limits: tuple[int, int, bool]) -> list[str]:
    """The limit fields to blame when the re-execution ended otherwise than the receipt says:
    a limit whose exhaustion is one of the two endings, and the kernel mode when the other
    mode reproduces the receipt's transcript."""
    if not any(name in bad for name in _OUTCOME):
        return []
    endings = {receipt.get("trap"), trap_kind(rerun)}
    blamed = [field for kind, field in (("output", "output_limit"), ("tensor", "tensor_limit"),
                                        ("time", "time_limit_ms")) if kind in endings]
    if "transcript_sha256" in bad and receipt.get("transcript_sha256") is not None:
        output_limit, tensor_limit, deterministic = limits
        other = _rerun(box, loaded, input, fuel, output_limit, tensor_limit, not deterministic)
        if other.transcript == receipt.get("transcript_sha256"):
            blamed.append("kernels")
    return blamed


def verify_chain(receipts: Iterable[dict[str, Any]]) -> list[str]:
    """Problems in a chain: each receipt's `prev` must be the previous receipt's hash (the
    first may have any `prev`). Returns "N.prev" for the N-th (0-based) receipt that breaks it."""
    problems: list[str] = []
    last: str | None = None
    for number, receipt in enumerate(receipts):
        if number and receipt.get("prev") != last:
            problems.append(f"{number}.prev")
        last = receipt_hash(receipt)
        if receipt.get("receipt_sha256") != last:
            problems.append(f"{number}.receipt_sha256")
    return problems


def _ordered(names: list[str]) -> list[str]:
    order = {name: i for i, name in enumerate((*FIELDS, SIGNATURE))}
    unique = list(dict.fromkeys(names))
    return sorted(unique, key=lambda name: order.get(name, len(order)))

"""The receipt parts of the `syn` command line: `syn run --receipt` and `syn receipt ...`.

Registered by `cli.py` (`register`); builds on `synapse.runtime.receipts`.

- `syn run FILE --receipt R.json [--prev P.json] [--sign-key KEY.pem]` writes the run's receipt
  to R.json (canonical JSON and a newline) and, beside it, the module that ran (R.wasm) and the
  request input (R.input), so the run can be re-executed from the receipt alone. `--prev`
  chains the receipt to an earlier one; `--sign-key` (default: the file named by
  `SYN_RECEIPT_KEY`) signs it with an Ed25519 key.
- `--deterministic-kernels` / `--blas-kernels` choose the tensor kernel mode of `syn run`;
  the default is deterministic with `--receipt`, BLAS without (spec/14-tensors.md). The
  receipt records the mode, and `syn receipt verify` re-executes in it.
- `syn receipt verify R.json [--module M] [--input-file F] [--output-file O] [--prev P.json]
  [--public-key K]` re-executes and checks every field; it prints `receipt ok` (exit 0) or
  `receipt invalid: FIELD, ...` (exit 1).
- `syn receipt keygen KEY.pem` writes a new Ed25519 private key and prints its public key.

Errors are reported here (`syn: error: ...`, exit 2), so this module needs nothing from cli.py.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2

KEY_ENV = "SYN_RECEIPT_KEY"


class _Problem(Exception):
    """A usage problem: a file that cannot be read or written, a bad key."""


def register(sub: Any, run_parser: argparse.ArgumentParser) -> None:
    """Add the receipt options to `syn run` and the `syn receipt` command."""
    run_parser.add_argument("--receipt", metavar="R.json",
                            help="write the run's receipt (and R.wasm, R.input beside it)")
    run_parser.add_argument("--prev", metavar="P.json",
                            help="chain the receipt to this earlier receipt")
    run_parser.add_argument("--sign-key", metavar="KEY.pem",
                            help=f"sign the receipt with this Ed25519 key (default: ${KEY_ENV})")
    kernels = run_parser.add_mutually_exclusive_group()
    kernels.add_argument("--deterministic-kernels", dest="kernels", action="store_const",
                         const="deterministic", help="tensor kernels whose results are the same "
                         "bits on every machine (the default with --receipt)")
    kernels.add_argument("--blas-kernels", dest="kernels", action="store_const", const="blas",
                         help="the fast (BLAS, SIMD) tensor kernels (the default without "
                         "--receipt)")

    receipt = sub.add_parser("receipt", help="verify run receipts, make signing keys",
                             description="Work with run receipts (spec chapter 12).")
    actions = receipt.add_subparsers(dest="receipt_command", metavar="ACTION")
    actions.required = True
    verify = actions.add_parser("verify", help="re-execute a run and check its receipt",
                                description="Re-execute the run and check every field.")
    verify.add_argument("receipt_file", metavar="R.json")
    verify.add_argument("--module", metavar="M.wasm",
                        help="the module that ran (default: R.wasm beside the receipt)")
    verify.add_argument("--input-file", metavar="F",
                        help="the request input (default: R.input beside the receipt)")
    verify.add_argument("--output-file", metavar="O",
                        help="also check that these bytes are the run's output")
    verify.add_argument("--prev", metavar="P.json",
                        help="check that the receipt is chained to this receipt")
    verify.add_argument("--public-key", metavar="KEY",
                        help="require a signature by this key (hex, or a PEM public key file)")
    verify.set_defaults(handler=_guarded(cmd_verify))
    keygen = actions.add_parser("keygen", help="write a new Ed25519 signing key",
                                description="Write a new Ed25519 private key (PEM).")
    keygen.add_argument("key_file", metavar="KEY.pem")
    keygen.set_defaults(handler=_guarded(cmd_keygen))


def kernel_mode(args: argparse.Namespace) -> bool:
    """Whether `syn run` uses the deterministic tensor kernels: as asked, else when it writes
    a receipt (a receipt must hold on every machine)."""
    kernels = getattr(args, "kernels", None)
    if kernels is None:
        return bool(getattr(args, "receipt", None))
    return kernels == "deterministic"


def _guarded(command: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        try:
            return int(command(args))
        except _Problem as problem:
            print(f"syn: error: {problem}", file=sys.stderr)
            return EXIT_USAGE
    return run


# -- files ------------------------------------------------------------------------------------

def _read(path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as err:
        raise _Problem(f"cannot read {path}: {err.strerror or err}") from None


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as err:
        raise _Problem(f"cannot write {path}: {err.strerror or err}") from None


def _load_receipt(path: str | Path) -> dict[str, Any]:
    try:
        receipt = json.loads(_read(path))
    except ValueError:
        raise _Problem(f"{path} is not a JSON receipt") from None
    if not isinstance(receipt, dict):
        raise _Problem(f"{path} is not a JSON receipt")
    return receipt


def artifact_paths(receipt_path: str | Path) -> tuple[Path, Path]:
    """Where `syn run --receipt R.json` keeps the module and the input: R.wasm, R.input."""
    path = Path(receipt_path)
    return path.with_suffix(".wasm"), path.with_suffix(".input")


def _signing_key(path: str | None) -> Any:
    path = path or os.environ.get(KEY_ENV) or None
    if path is None:
        return None
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    try:
        key = serialization.load_pem_private_key(_read(path), password=None)
    except ValueError as err:
        raise _Problem(f"{path} is not a PEM private key: {err}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise _Problem(f"{path} is not an Ed25519 key")
    return key


def _public_key(text: str | None) -> Any:
    if text is None:
        return None
    if Path(text).is_file():
        from cryptography.hazmat.primitives import serialization
        try:
            return serialization.load_pem_public_key(_read(text))
        except ValueError:
            raise _Problem(f"{text} is not a PEM public key") from None
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise _Problem(f"--public-key: expected 64 hex digits or a PEM file, got {text!r}")
    return raw


# -- syn run --receipt ------------------------------------------------------------------------

def write_receipt(args: argparse.Namespace, wasm: bytes, data: bytes, result: Any) -> int:
    """After `syn run`: write the receipt and its artifacts; 0, or 2 with a message."""
    try:
        _write_receipt(args, wasm, data, result)
    except _Problem as problem:
        print(f"syn: error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def _write_receipt(args: argparse.Namespace, wasm: bytes, data: bytes, result: Any) -> None:
    from synapse.runtime.receipts import canonical_json, make_receipt, receipt_hash
    from synapse.runtime.sandbox import DEFAULT_FUEL, default_sandbox
    prev = receipt_hash(_load_receipt(args.prev)) if args.prev else None
    signer = _signing_key(args.sign_key)
    arena = default_sandbox().load(wasm).arena
    receipt = make_receipt(wasm, data, result, fuel_budget=args.fuel or DEFAULT_FUEL,
                           arena=arena, prev=prev, signer=signer)
    path = Path(args.receipt)
    module_path, input_path = artifact_paths(path)
    _write(path, canonical_json(receipt) + b"\n")
    _write(module_path, wasm)
    _write(input_path, data)


# -- syn receipt verify / keygen --------------------------------------------------------------

def cmd_verify(args: argparse.Namespace) -> int:
    from synapse.runtime.receipts import ReceiptError, receipt_hash, verify_receipt
    receipt = _load_receipt(args.receipt_file)
    default_module, default_input = artifact_paths(args.receipt_file)
    module = _read(args.module or default_module)
    data = _read(args.input_file or default_input)
    output = _read(args.output_file) if args.output_file else None
    kwargs: dict[str, Any] = {"public_key": _public_key(args.public_key), "output": output}
    if args.prev:
        kwargs["prev"] = receipt_hash(_load_receipt(args.prev))
    try:
        bad = verify_receipt(receipt, module, data, **kwargs)
    except ReceiptError as err:
        raise _Problem(f"{args.receipt_file}: {err}") from None
    if bad:
        print(f"receipt invalid: {', '.join(bad)}")
        return EXIT_INVALID
    print("receipt ok")
    return EXIT_OK


def cmd_keygen(args: argparse.Namespace) -> int:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    path = Path(args.key_file)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise _Problem(f"{path} exists; not overwriting a key") from None
    except OSError as err:
        raise _Problem(f"cannot write {path}: {err.strerror or err}") from None
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    public = key.public_key().public_bytes(serialization.Encoding.Raw,
                                           serialization.PublicFormat.Raw)
    print(public.hex())
    return EXIT_OK

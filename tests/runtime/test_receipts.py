"""Receipts: canonical encoding, every field, verification by re-execution, tampering, chains,
signatures, the `syn` commands, and determinism across runs, processes and BLAS settings."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import wasmtime

from synapse.runtime import host
from synapse.runtime.receipts import (
    FIELDS, ReceiptError, canonical_json, make_receipt, receipt_hash, verify_chain,
    verify_receipt,
)
from synapse.runtime.sandbox import DEFAULT_FUEL, Sandbox

ROOT = Path(__file__).resolve().parents[2]

# Prints "sum=" and the sum of 1.5 * i for i < input length, in f64 and via write_i64.
PROGRAM = wasmtime.wat2wasm("""(module
  (import "syn" "write" (func $write (param i32 i32)))
  (import "syn" "write_f64" (func $write_f64 (param f64)))
  (import "syn" "input_len" (func $input_len (result i32)))
  (memory (export "memory") 1 1)
  (data (i32.const 8) "sum=")
  (func (export "main") (local $i i32) (local $s f64)
    (block $done (loop $l
      (br_if $done (i32.ge_s (local.get $i) (call $input_len)))
      (local.set $s (f64.add (local.get $s) (f64.mul (f64.const 1.5) (f64.convert_i32_s (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (call $write (i32.const 8) (i32.const 4))
    (call $write_f64 (local.get $s))))""")
INPUT = b"abcd"   # 1.5 * (0 + 1 + 2 + 3) = 9.0
DIVIDE = wasmtime.wat2wasm("""(module (memory (export "memory") 1 1)
  (func (export "main") (drop (i32.div_s (i32.const 1) (i32.const 0)))))""")
SPIN = wasmtime.wat2wasm("""(module (memory (export "memory") 1 1)
  (func (export "main") (loop $l (br $l))))""")


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return Sandbox(cache_dir=False)


def receipt_of(sb: Sandbox, module: bytes = PROGRAM, data: bytes = INPUT, *,
               fuel: int = DEFAULT_FUEL, **kw: Any) -> dict[str, Any]:
    result = sb.run(module, data, fuel=fuel)
    return make_receipt(module, data, result, fuel_budget=fuel, arena=65536, **kw)


# -- encoding --------------------------------------------------------------------------------

def test_canonical_json_by_hand() -> None:
    assert canonical_json({"b": 1, "a": None, "c": "é\n", "d": {"y": True, "x": -2}}) == (
        b'{"a":null,"b":1,"c":"\\u00e9\\n","d":{"x":-2,"y":true}}')


@pytest.mark.parametrize("bad", [{"x": 1.5}, {"x": [1]}, {1: "a"}, {"x": b"raw"}])
def test_canonical_json_refuses_ambiguous_values(bad: dict) -> None:
    with pytest.raises(ReceiptError):
        canonical_json(bad)


def test_fields_of_a_receipt(sandbox: Sandbox) -> None:
    receipt = receipt_of(sandbox)
    assert list(receipt) == list(FIELDS)
    assert receipt["format"] == "synapse-receipt/2"
    assert receipt["module_sha256"] == hashlib.sha256(PROGRAM).hexdigest()
    assert receipt["input_sha256"] == hashlib.sha256(INPUT).hexdigest()
    assert receipt["output_sha256"] == hashlib.sha256(b"sum=9.0").hexdigest()
    assert (receipt["status"], receipt["trap"]) == ("ok", None)
    assert receipt["fuel_budget"] == DEFAULT_FUEL
    assert 4 < receipt["fuel_used"] < 1000
    assert receipt["arena"] == 65536
    assert receipt["transcript_sha256"] is None and receipt["prev"] is None
    assert "wasmtime 51" in receipt["runtime"]
    body = {k: v for k, v in receipt.items() if k != "receipt_sha256"}
    expected = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"))
                              .encode()).hexdigest()
    assert receipt["receipt_sha256"] == expected == receipt_hash(receipt)


def test_trap_and_exhaustion_receipts(sandbox: Sandbox) -> None:
    trapped = receipt_of(sandbox, DIVIDE, b"")
    assert (trapped["status"], trapped["trap"]) == ("trap", "divide_by_zero")
    spun = receipt_of(sandbox, SPIN, b"", fuel=50_000)
    assert (spun["status"], spun["trap"], spun["fuel_used"]) == ("exhausted", "fuel", 50_000)
    assert verify_receipt(trapped, DIVIDE, b"") == []
    assert verify_receipt(spun, SPIN, b"") == []


# -- verification and tampering ---------------------------------------------------------------

def test_valid_receipt_verifies(sandbox: Sandbox) -> None:
    assert verify_receipt(receipt_of(sandbox), PROGRAM, INPUT, output=b"sum=9.0") == []


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1:]


def test_changed_module_byte_is_named(sandbox: Sandbox) -> None:
    receipt = receipt_of(sandbox)
    where = PROGRAM.index(b"sum=")               # the data segment: still a valid module
    bad = verify_receipt(receipt, flip(PROGRAM, where), INPUT)
    assert "module_sha256" in bad and "output_sha256" in bad


def test_changed_input_byte_is_named(sandbox: Sandbox) -> None:
    bad = verify_receipt(receipt_of(sandbox), PROGRAM, flip(INPUT, 0))
    assert bad == ["input_sha256"]   # same length: same output and fuel


def test_changed_output_is_named(sandbox: Sandbox) -> None:
    receipt = receipt_of(sandbox)
    assert verify_receipt(receipt, PROGRAM, INPUT, output=b"sum=9.1") == ["output_sha256"]
    forged = dict(receipt, output_sha256=hashlib.sha256(b"sum=9.1").hexdigest())
    assert verify_receipt(forged, PROGRAM, INPUT) == ["output_sha256", "receipt_sha256"]


@pytest.mark.parametrize("field, change", [
    ("fuel_used", lambda v: v + 1),
    ("fuel_budget", lambda v: 5),                 # too little: the re-run ends otherwise
    ("status", lambda v: "trap"),
    ("trap", lambda v: "fuel"),
    ("arena", lambda v: v * 2),
    ("runtime", lambda v: v + "x"),
    ("transcript_sha256", lambda v: "0" * 64),
    ("input_sha256", lambda v: "0" * 64),
    ("module_sha256", lambda v: "0" * 64),
])
def test_changed_field_is_named(sandbox: Sandbox, field: str, change: Any) -> None:
    receipt = receipt_of(sandbox)
    forged = dict(receipt, **{field: change(receipt[field])})
    bad = verify_receipt(forged, PROGRAM, INPUT)
    assert field in bad or (field == "fuel_budget" and "status" in bad), bad
    assert "receipt_sha256" in bad
    # Re-hashing the altered receipt does not help: re-execution still disagrees.
    rehashed = dict(forged, receipt_sha256=receipt_hash(forged))
    still = verify_receipt(rehashed, PROGRAM, INPUT)
    assert still and "receipt_sha256" not in still


def test_every_byte_of_the_receipt_matters(sandbox: Sandbox) -> None:
    receipt = receipt_of(sandbox, prev="ab" * 32)
    encoded = canonical_json(receipt)
    for at in range(0, len(encoded), 7):
        changed = encoded[:at] + bytes([encoded[at] ^ 0x01]) + encoded[at + 1:]
        try:
            forged = json.loads(changed)
        except ValueError:
            continue   # no longer JSON: unreadable, never valid
        if not isinstance(forged, dict) or forged == receipt:
            continue
        assert verify_receipt(forged, PROGRAM, INPUT, prev="ab" * 32), changed


def test_unknown_field_is_named(sandbox: Sandbox) -> None:
    forged = dict(receipt_of(sandbox), extra="x")
    assert "extra" in verify_receipt(forged, PROGRAM, INPUT)


# -- chains ----------------------------------------------------------------------------------

def test_chain_of_steps(sandbox: Sandbox) -> None:
    chain: list[dict[str, Any]] = []
    for step in range(4):
        prev = receipt_hash(chain[-1]) if chain else None
        chain.append(receipt_of(sandbox, data=b"x" * step, prev=prev))
    assert verify_chain(chain) == []
    for step, receipt in enumerate(chain):
        expected_prev = receipt_hash(chain[step - 1]) if step else None
        assert verify_receipt(receipt, PROGRAM, b"x" * step, prev=expected_prev) == []
    # Dropping a step, or changing an earlier receipt, breaks the chain where it happened.
    assert verify_chain([chain[0], chain[2], chain[3]]) == ["1.prev"]
    altered = [dict(chain[0], fuel_used=1), *chain[1:]]
    assert verify_chain(altered) == ["0.receipt_sha256", "1.prev"]
    wrong_prev = dict(chain[2], prev="0" * 64)
    assert verify_receipt(wrong_prev, PROGRAM, b"xx", prev=receipt_hash(chain[1])) == [
        "prev", "receipt_sha256"]


# -- signatures ------------------------------------------------------------------------------

def test_signed_receipt(sandbox: Sandbox) -> None:
    pytest.importorskip("cryptography", reason="signatures need the `receipts` extra")
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    key = Ed25519PrivateKey.generate()
    receipt = receipt_of(sandbox, signer=key)
    assert receipt["signature"]["alg"] == "ed25519"
    assert verify_receipt(receipt, PROGRAM, INPUT, public_key=key.public_key()) == []
    other = Ed25519PrivateKey.generate()
    assert verify_receipt(receipt, PROGRAM, INPUT, public_key=other.public_key()) == [
        "signature"]
    # An altered and re-hashed receipt keeps the hash consistent, not the signature.
    forged = dict(receipt, prev="cd" * 32)
    forged["receipt_sha256"] = receipt_hash(forged)
    assert verify_receipt(forged, PROGRAM, INPUT) == ["signature"]
    unsigned = {k: v for k, v in receipt.items() if k != "signature"}
    assert verify_receipt(unsigned, PROGRAM, INPUT, public_key=key.public_key()) == [
        "signature"]


# -- the transcript of host calls ------------------------------------------------------------

class _Transcript:
    """A per-run state that records its calls (as the tensor module's state does)."""

    def __init__(self, ctx: host.HostContext) -> None:
        self.calls: list[str] = []

    def transcript_hash(self) -> str:
        return hashlib.sha256("\n".join(self.calls).encode()).hexdigest()


def _echo(ctx: host.HostContext, value: int) -> int:
    ctx.state("recorded").calls.append(f"echo {value}")
    return value * 2


def test_transcript_hash_from_a_registered_module() -> None:
    host.register_host_module("recorded", {"echo": (("i32",), ("i32",), _echo)},
                              new_state=_Transcript)
    try:
        wasm = wasmtime.wat2wasm("""(module
          (import "recorded" "echo" (func $echo (param i32) (result i32)))
          (memory (export "memory") 1 1)
          (func (export "main") (drop (call $echo (call $echo (i32.const 3))))))""")
        sb = Sandbox(cache_dir=False)
        result = sb.run(wasm)
        assert result.transcript == hashlib.sha256(b"echo 3\necho 6").hexdigest()
        receipt = make_receipt(wasm, b"", result, fuel_budget=DEFAULT_FUEL, arena=65536)
        assert receipt["transcript_sha256"] == result.transcript
        assert verify_receipt(receipt, wasm, b"", sandbox=sb) == []
        assert sb.run(PROGRAM, INPUT).transcript is None   # no host-module calls: none
    finally:
        host.unregister_host_module("recorded")


# -- determinism -------------------------------------------------------------------------------

def test_same_receipt_on_repeated_runs() -> None:
    reused, fresh = Sandbox(cache_dir=False), Sandbox(cache_dir=False, reuse=False)
    receipts = {canonical_json(receipt_of(sb)) for sb in (reused, fresh) for _ in range(3)}
    assert len(receipts) == 1


FLOAT_PROGRAM = """arena 1 MiB;
fn main() {
    let n = 40;
    var a = Vec[f64](n * n, 0.0);
    for i in 0..n * n {
        a[i] = (i % 13) as f64 * 0.37 - 1.1;
    }
    var total = 0.0;
    for i in 0..n {
        for j in 0..n {
            var s = 0.0;
            for k in 0..n {
                s += a[i * n + k] * a[k * n + j];
            }
            total += s / 3.0;
        }
    }
    println(total);
}
"""

BLAS_SETTINGS = [
    {},
    {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
    {"OPENBLAS_NUM_THREADS": "2", "OMP_NUM_THREADS": "2", "OPENBLAS_CORETYPE": "Prescott"},
    {"OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_VERBOSE": "0", "MKL_ENABLE_INSTRUCTIONS": "SSE4_2"},
]


def test_same_receipt_across_processes_and_blas_settings(tmp_path: Path) -> None:
    pytest.importorskip("synapse.compiler.driver")
    program = tmp_path / "prog.syn"
    program.write_text(FLOAT_PROGRAM)
    (tmp_path / "in.txt").write_bytes(b"")
    receipts = []
    for number, settings in enumerate(BLAS_SETTINGS):
        env = {**os.environ, **settings, "SYN_CACHE_DIR": "off"}
        out = tmp_path / f"r{number}.json"
        proc = subprocess.run(
            [sys.executable, "-m", "synapse.runtime", "run", str(program), "--input-file",
             str(tmp_path / "in.txt"), "--receipt", str(out)],
            env=env, capture_output=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        receipts.append(out.read_bytes())
    assert len(set(receipts)) == 1, receipts
    assert json.loads(receipts[0])["status"] == "ok"


# -- the syn commands ---------------------------------------------------------------------------

def syn(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "synapse.runtime", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "SYN_CACHE_DIR": "off", **(env or {})})


def test_cli_run_receipt_and_verify(tmp_path: Path) -> None:
    (tmp_path / "prog.wasm").write_bytes(PROGRAM)
    (tmp_path / "in.txt").write_bytes(INPUT)
    run = syn("run", "prog.wasm", "--input-file", "in.txt", "--receipt", "R.json", cwd=tmp_path)
    assert (run.returncode, run.stdout) == (0, "sum=9.0")
    text = (tmp_path / "R.json").read_bytes()
    assert text.endswith(b"\n") and canonical_json(json.loads(text)) + b"\n" == text
    assert (tmp_path / "R.wasm").read_bytes() == PROGRAM
    assert (tmp_path / "R.input").read_bytes() == INPUT
    ok = syn("receipt", "verify", "R.json", cwd=tmp_path)
    assert (ok.returncode, ok.stdout.strip()) == (0, "receipt ok")
    # One byte of the module kept beside the receipt changed: verification names the field.
    (tmp_path / "R.wasm").write_bytes(flip(PROGRAM, PROGRAM.index(b"sum=")))
    bad = syn("receipt", "verify", "R.json", cwd=tmp_path)
    assert bad.returncode == 1 and "module_sha256" in bad.stdout
    wrong_out = syn("receipt", "verify", "R.json", "--module", "prog.wasm", "--output-file",
                    "in.txt", cwd=tmp_path)
    assert wrong_out.returncode == 1 and wrong_out.stdout.strip() == (
        "receipt invalid: output_sha256")


def test_cli_chain_and_signature(tmp_path: Path) -> None:
    pytest.importorskip("cryptography", reason="signatures need the `receipts` extra")
    (tmp_path / "prog.wasm").write_bytes(PROGRAM)
    keygen = syn("receipt", "keygen", "key.pem", cwd=tmp_path)
    assert keygen.returncode == 0
    public = keygen.stdout.strip()
    assert len(bytes.fromhex(public)) == 32
    assert syn("receipt", "keygen", "key.pem", cwd=tmp_path).returncode == 2  # never overwrite
    assert syn("run", "prog.wasm", "--receipt", "A.json", cwd=tmp_path).returncode == 0
    step = syn("run", "prog.wasm", "--receipt", "B.json", "--prev", "A.json", cwd=tmp_path,
               env={"SYN_RECEIPT_KEY": "key.pem"})
    assert step.returncode == 0, step.stderr
    good = syn("receipt", "verify", "B.json", "--prev", "A.json", "--public-key", public,
               cwd=tmp_path)
    assert (good.returncode, good.stdout.strip()) == (0, "receipt ok"), good.stdout
    other = syn("receipt", "verify", "B.json", "--prev", "B.json", cwd=tmp_path)
    assert other.returncode == 1 and other.stdout.strip() == "receipt invalid: prev"
    missing = syn("receipt", "verify", "nope.json", cwd=tmp_path)
    assert missing.returncode == 2 and "nope.json" in missing.stderr


# -- the limits and the kernel mode ------------------------------------------------------------

FLOOD = wasmtime.wat2wasm("""(module
  (import "syn" "write" (func $write (param i32 i32)))
  (memory (export "memory") 1 1)
  (func (export "main") (loop $l (call $write (i32.const 0) (i32.const 100)) (br $l))))""")


def test_receipts_record_the_limits_and_the_kernel_mode(sandbox: Sandbox) -> None:
    from synapse.runtime.sandbox import MAX_WASM_STACK
    result = Sandbox(cache_dir=False, output_limit=1000, time_limit=2.5,
                     deterministic_kernels=True).run(PROGRAM, INPUT)
    receipt = make_receipt(PROGRAM, INPUT, result, fuel_budget=DEFAULT_FUEL, arena=65536)
    assert receipt["output_limit"] == 1000 and receipt["time_limit_ms"] == 2500
    assert receipt["stack_limit"] == MAX_WASM_STACK and receipt["kernels"] == "deterministic"
    assert receipt["tensor_limit"] == 1 << 28
    assert verify_receipt(receipt, PROGRAM, INPUT) == []
    plain = receipt_of(Sandbox(cache_dir=False, time_limit=None))
    assert plain["kernels"] == "blas" and plain["time_limit_ms"] is None


def test_the_output_limit_decides_where_a_flood_stops() -> None:
    result = Sandbox(cache_dir=False, output_limit=1000).run(FLOOD, b"", fuel=10_000_000)
    assert (result.status, result.exhausted, len(result.output)) == ("exhausted", "output", 1000)
    receipt = make_receipt(FLOOD, b"", result, fuel_budget=10_000_000, arena=65536)
    # The verifier's own sandbox has the default (16 MiB) limit: the receipt's limit rules.
    assert verify_receipt(receipt, FLOOD, b"") == []
    for limit in (500, 5000):
        forged = dict(receipt, output_limit=limit)
        forged["receipt_sha256"] = receipt_hash(forged)
        bad = verify_receipt(forged, FLOOD, b"")
        assert "output_limit" in bad and "output_sha256" in bad, bad


@pytest.mark.parametrize("field, value", [
    ("output_limit", 0), ("output_limit", "16"), ("tensor_limit", -1), ("time_limit_ms", 1.5),
    ("time_limit_ms", True), ("stack_limit", 1 << 30), ("kernels", "fast"),
])
def test_malformed_or_foreign_limits_are_named(sandbox: Sandbox, field: str, value: Any) -> None:
    forged = dict(receipt_of(sandbox), **{field: value})
    if not isinstance(value, float):
        forged["receipt_sha256"] = receipt_hash(forged)
        assert field in verify_receipt(forged, PROGRAM, INPUT)


TENSOR_PROGRAM = """import tensor;

fn main() {
    let a = tensor.randn2(0.5, 8, 8);
    let b = tensor.matmul(tensor.exp(a), a);
    println(tensor.item(tensor.sum(tensor.sum(b, 1, false), 0, false)));
}
"""


def test_verify_reexecutes_in_the_recorded_kernel_mode() -> None:
    from synapse.compiler.driver import compile_source
    compiled = compile_source(TENSOR_PROGRAM, filename="main.syn")
    assert compiled.ok, compiled.diagnostics
    wasm = compiled.wasm
    box = Sandbox(cache_dir=False, time_limit=None)
    det = box.run(wasm, b"", deterministic_kernels=True)
    blas = box.run(wasm, b"")
    assert det.status == blas.status == "ok" and det.transcript != blas.transcript
    receipt = make_receipt(wasm, b"", det, fuel_budget=DEFAULT_FUEL, arena=65536)
    assert receipt["kernels"] == "deterministic"
    assert verify_receipt(receipt, wasm, b"", sandbox=box) == []   # box's own default: blas
    forged = dict(receipt, kernels="blas")
    forged["receipt_sha256"] = receipt_hash(forged)
    bad = verify_receipt(forged, wasm, b"", sandbox=box)
    assert "kernels" in bad and "transcript_sha256" in bad, bad


def test_tensor_limit_is_reexecuted() -> None:
    from synapse.compiler.driver import compile_source
    from synapse.runtime import tensors
    wasm = compile_source(TENSOR_PROGRAM, filename="main.syn").wasm
    with tensors.host_config(tensors.TensorConfig(max_elements=100)):
        result = Sandbox(cache_dir=False).run(wasm, b"")
    assert (result.status, result.trap_kind, result.tensor_limit) == ("trap", "tensor", 100)
    receipt = make_receipt(wasm, b"", result, fuel_budget=DEFAULT_FUEL, arena=65536)
    assert receipt["tensor_limit"] == 100
    assert verify_receipt(receipt, wasm, b"") == []
    forged = dict(receipt, tensor_limit=1000)
    forged["receipt_sha256"] = receipt_hash(forged)
    assert "tensor_limit" in verify_receipt(forged, wasm, b"")

"""The hardened sandbox: hostile programs end in their own classified error, within budget.

Every program in tests/runtime/hostile/ states how it must end (`ends: STATUS KIND-or-TEXT`)
and its limits (`fuel:`, `time-limit:`); after each, the host process must be healthy (no
thread or memory left behind) and the next run unaffected. Also here: malformed and truncated
modules, and the proof that memory and globals are wiped between runs when instances are
reused.
"""

from __future__ import annotations

import ctypes
import hashlib
import importlib.util
import random
import re
import resource
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import wasmtime

from synapse.runtime.sandbox import (
    DEFAULT_FUEL, RunResult, Sandbox, SandboxError, plan_wipe,
)

HOSTILE = Path(__file__).resolve().parent / "hostile"
DIRECTIVE = re.compile(r"^\s*(?://|;;)\s*(ends|fuel|time-limit|message):\s*(.+?)\s*$")
HAVE_TENSORS = importlib.util.find_spec("synapse.runtime.tensors") is not None
NO_TENSORS = ("module \"tensor\" does not exist (runtime/tensors.py is missing): the FFI "
              "abuse cases need it")


@dataclass
class Hostile:
    path: Path
    status: str          # "ok" | "trap" | "exhausted" | "refused"
    detail: str          # trap kind, exhausted resource, or text of the refusal
    fuel: int = DEFAULT_FUEL
    time_limit: float | None = None
    message: str | None = None   # a substring of the run's message

    @property
    def uses_tensors(self) -> bool:
        return self.path.name.startswith("tensor_")


def read_hostile(path: Path) -> Hostile:
    fields: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if m := DIRECTIVE.match(line):
            fields[m.group(1)] = m.group(2)
    status, _, detail = fields["ends"].partition(" ")
    return Hostile(path, status, detail, int(fields.get("fuel", DEFAULT_FUEL)),
                   float(fields["time-limit"]) if "time-limit" in fields else None,
                   fields.get("message"))


def module_bytes(path: Path) -> bytes:
    if path.suffix == ".wat":
        return wasmtime.wat2wasm(path.read_text(encoding="utf-8"))
    from synapse.compiler.driver import compile_file
    result = compile_file(str(path))
    assert result.wasm is not None, [d.message for d in result.diagnostics]
    return result.wasm


CANARY = wasmtime.wat2wasm("""(module
  (import "syn" "write" (func $write (param i32 i32)))
  (import "syn" "input_len" (func $input_len (result i32)))
  (import "syn" "input_read" (func $input_read (param i32)))
  (memory (export "memory") 1 1)
  (global $calls (mut i32) (i32.const 0))
  (data (i32.const 8) "canary:")
  (func (export "main")
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (call $write (i32.const 8) (i32.const 7))
    (call $input_read (i32.const 100))
    (call $write (i32.const 100) (call $input_len))
    (if (i32.ne (global.get $calls) (i32.const 1)) (then unreachable))))""")


def rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return Sandbox(cache_dir=False, verify_wipe=True)


def assert_canary(sb: Sandbox) -> None:
    result = sb.run(CANARY, b"alive")
    assert (result.status, result.output) == ("ok", b"canary:alive"), result.message


HOSTILE_FILES = sorted(p for p in HOSTILE.iterdir() if p.suffix in (".syn", ".wat"))


def test_the_suite_is_complete() -> None:
    ends = {(h.status, h.detail.split(" ")[0]) for h in map(read_hostile, HOSTILE_FILES)}
    for wanted in [("exhausted", "fuel"), ("exhausted", "stack"), ("exhausted", "arena"),
                   ("exhausted", "output"), ("exhausted", "time"), ("refused", "import")]:
        assert wanted in ends, wanted
    assert any(p.name.startswith("start_forever") for p in HOSTILE_FILES)


@pytest.mark.parametrize("path", HOSTILE_FILES, ids=lambda p: p.name)
def test_hostile_program_is_contained(sandbox: Sandbox, path: Path) -> None:
    case = read_hostile(path)
    if path.suffix == ".syn" and importlib.util.find_spec("synapse.compiler.driver") is None:
        pytest.skip("the compiler is not available for .syn hostile programs")
    if case.uses_tensors and not HAVE_TENSORS:
        pytest.skip(NO_TENSORS)
    wasm = module_bytes(path)
    threads = threading.active_count()
    start = time.perf_counter()
    if case.status == "refused":
        with pytest.raises(SandboxError) as info:
            sandbox.run(wasm, fuel=case.fuel, time_limit=case.time_limit)
        assert case.detail in str(info.value)
    else:
        result = sandbox.run(wasm, fuel=case.fuel, time_limit=case.time_limit)
        elapsed = time.perf_counter() - start
        assert result.status == case.status, (result.status, result.message)
        kind = result.exhausted if result.status == "exhausted" else result.trap_kind
        assert kind == case.detail, (kind, result.message)
        assert result.trap_kind == kind
        if case.message is not None:
            assert case.message in (result.message or ""), result.message
        assert 0 <= result.fuel_used <= case.fuel
        if case.time_limit is not None:
            assert case.time_limit <= elapsed < case.time_limit + 2.0
            assert result.message.startswith("time limit exceeded")
        if kind == "output":
            assert len(result.output) == sandbox.output_limit
    assert threading.active_count() == threads
    assert_canary(sandbox)
    # The same program again: the same ending (nothing carried over from the first run).
    if case.status in ("trap", "exhausted") and case.detail not in ("time", "output"):
        again = sandbox.run(wasm, fuel=case.fuel, time_limit=case.time_limit)
        assert (again.status, again.trap_kind, again.fuel_used) == (
            result.status, result.trap_kind, result.fuel_used)


def test_host_memory_is_not_left_behind(sandbox: Sandbox) -> None:
    # Peak RSS (ru_maxrss) after the hostile suite; a further round of every cheap hostile
    # program must not raise it by more than a few MiB (no per-run leak).
    cheap = [read_hostile(p) for p in HOSTILE_FILES if p.suffix == ".wat"]
    cheap = [h for h in cheap if h.status != "refused" and h.time_limit is None]
    wasms = [(module_bytes(h.path), h) for h in cheap]
    for wasm, h in wasms:
        sandbox.run(wasm, fuel=h.fuel)
    before = rss_kib()
    for _ in range(30):
        for wasm, h in wasms:
            sandbox.run(wasm, fuel=h.fuel)
    assert rss_kib() - before < 8 * 1024
    assert_canary(sandbox)


@pytest.mark.skipif(not HAVE_TENSORS, reason=NO_TENSORS)
def test_tensor_quota_leaves_nothing_behind(sandbox: Sandbox) -> None:
    # The quota case makes tensors up to the per-run limit before its trap; they must be freed
    # when the run ends, and the next run's handles start afresh (handle 1 again).
    quota = module_bytes(HOSTILE / "tensor_quota.wat")
    freed = module_bytes(HOSTILE / "tensor_freed_handle.wat")
    sandbox.run(quota)
    before = rss_kib()
    for _ in range(3):
        assert sandbox.run(quota).trap_kind == "tensor"
        assert sandbox.run(freed).message == "tensor.numel: handle 1 was freed"
    assert rss_kib() - before < 64 * 1024
    assert_canary(sandbox)


# -- malformed and truncated modules ------------------------------------------------------------

def test_every_truncation_is_refused(sandbox: Sandbox) -> None:
    # A cut inside a section is malformed; a cut between sections leaves a valid module, which
    # is refused when it lacks what a program must have (its exports) and otherwise runs
    # contained (here: the module without its data section).
    whole = CANARY
    malformed = ran = 0
    for length in range(len(whole)):
        try:
            result = sandbox.run(whole[:length], b"x", fuel=100_000, time_limit=1.0)
        except SandboxError as err:
            malformed += "malformed" in str(err)
            continue
        ran += 1
        assert result.status in ("ok", "trap")
    assert malformed >= len(whole) - 10 and ran <= 2
    assert_canary(sandbox)


def test_corrupted_modules_are_refused_or_contained(sandbox: Sandbox) -> None:
    rng = random.Random(7)
    base = bytearray(CANARY)
    outcomes = {"refused": 0, "ran": 0}
    for _ in range(300):
        corrupt = bytearray(base)
        for _ in range(rng.randint(1, 3)):
            corrupt[rng.randrange(8, len(corrupt))] = rng.randrange(256)
        try:
            result = sandbox.run(bytes(corrupt), b"x", fuel=1_000_000, time_limit=1.0)
        except SandboxError:
            outcomes["refused"] += 1
            continue
        outcomes["ran"] += 1
        assert result.status in ("ok", "trap", "exhausted")
    assert outcomes["refused"] > 0
    assert_canary(sandbox)


# -- wiping between runs ---------------------------------------------------------------------------

PROBE_DATA = b"pristine"
# input "w": scribble over all memory and every mutable global; input "r": print all memory
# and the globals. A run of "w" ending in a trap, fuel or stack exhaustion, then "r", shows
# what a run can observe of the run before it.
PROBE = wasmtime.wat2wasm(f"""(module
  (import "syn" "write" (func $write (param i32 i32)))
  (import "syn" "write_i64" (func $write_i64 (param i64)))
  (import "syn" "write_f64" (func $write_f64 (param f64)))
  (import "syn" "input_len" (func $input_len (result i32)))
  (import "syn" "input_read" (func $input_read (param i32)))
  (memory (export "memory") 1 1)
  (global $heap (mut i32) (i32.const 64))
  (global $wide (mut i64) (i64.const -5))
  (global $real (mut f64) (f64.const 0.25))
  (global $fixed i32 (i32.const 9))
  (data (i32.const 8) "{PROBE_DATA.decode()}")
  (func $deep (param i32) (call $deep (i32.add (local.get 0) (i32.const 1))))
  (func (export "main") (local $op i32)
    (call $input_read (i32.const 65000))
    (local.set $op (i32.load8_u (i32.const 65000)))
    (if (i32.eq (local.get $op) (i32.const 114))           ;; "r": report
      (then
        (call $write (i32.const 0) (i32.const 65536))
        (call $write_i64 (i64.extend_i32_s (global.get $heap)))
        (call $write_i64 (global.get $wide))
        (call $write_f64 (global.get $real))
        (return)))
    (memory.fill (i32.const 0) (i32.const 0xAB) (i32.const 65536))
    (global.set $heap (i32.const 12345))
    (global.set $wide (i64.const 777))
    (global.set $real (f64.const 9.5))
    (if (i32.eq (local.get $op) (i32.const 116)) (then unreachable))     ;; "t": then trap
    (if (i32.eq (local.get $op) (i32.const 102)) (then (loop $l (br $l))))  ;; "f": spin
    (if (i32.eq (local.get $op) (i32.const 115)) (then (call $deep (i32.const 0)))))) ;; "s"
""")


def pristine_report() -> bytes:
    """What "r" prints in a fresh instance, computed from the module text above: the data
    segment, the input it has just copied to 65000, zeros elsewhere, the globals' initials."""
    memory = bytearray(65536)
    memory[8:8 + len(PROBE_DATA)] = PROBE_DATA
    memory[65000] = ord("r")
    return bytes(memory) + b"64" + b"-5" + b"0.25"


def test_probe_reports_fresh_state() -> None:
    fresh = Sandbox(cache_dir=False, reuse=False)
    assert fresh.run(PROBE, b"r").output == pristine_report()


@pytest.mark.parametrize("scribble", [b"w", b"t", b"f", b"s"],
                         ids=["returns", "traps", "out-of-fuel", "stack-overflow"])
def test_run_cannot_observe_previous_run(scribble: bytes) -> None:
    sb = Sandbox(cache_dir=False, verify_wipe=True)
    loaded = sb.load(PROBE)
    assert loaded.wipe_globals is not None        # this module's instances are reused
    first = sb.run(loaded, scribble, fuel=5_000_000)
    assert first.status == {b"w": "ok", b"t": "trap", b"f": "exhausted",
                            b"s": "exhausted"}[scribble]
    fresh_before = sb.fresh_instances
    report = sb.run(loaded, b"r")
    assert sb.fresh_instances == fresh_before and sb.reused_instances >= 1  # truly reused
    assert report.output == pristine_report()


def test_wipe_is_verified_against_memory_and_globals() -> None:
    # A wipe that misses a byte or a global is caught by the verification itself.
    sb = Sandbox(cache_dir=False, verify_wipe=True)
    live = sb.hold(PROBE)
    assert live.run(b"w").status == "ok"
    live.check_wiped()                     # passes after a real wipe
    live.view[40000] = 1                   # a byte the wipe would have to restore
    with pytest.raises(SandboxError, match="memory differs"):
        live.check_wiped()
    other = sb.hold(PROBE)
    assert other.run(b"w").status == "ok"
    (glob, _), *_ = other.globals
    value = wasmtime._ffi.wasmtime_val_t()
    value.kind, value.of.i32 = 0, 99
    wasmtime._ffi.wasmtime_global_set(other.context, ctypes.byref(glob), ctypes.byref(value))
    with pytest.raises(SandboxError, match="global differs"):
        other.check_wiped()


def test_runs_of_other_modules_see_nothing() -> None:
    sb = Sandbox(cache_dir=False, verify_wipe=True)
    sb.run(PROBE, b"w")
    # The same program text with other data is another module, with its own instances.
    other = PROBE.replace(PROBE_DATA, b"PRISTINE")
    report = sb.run(other, b"r").output
    assert report == pristine_report().replace(PROBE_DATA, b"PRISTINE")


def test_held_instances_are_wiped_too() -> None:
    sb = Sandbox(cache_dir=False, verify_wipe=True)
    live = sb.hold(PROBE)
    for scribble in (b"w", b"t"):
        live.run(scribble)
        assert live.run(b"r").output == pristine_report()


def test_concurrent_threads_do_not_share_instances() -> None:
    sb = Sandbox(cache_dir=False, verify_wipe=True)
    errors: list[str] = []

    def worker() -> None:
        for n in range(40):
            if n % 2:
                out = sb.run(PROBE, b"r").output
                if out != pristine_report():
                    errors.append("dirty state")
            else:
                sb.run(PROBE, b"w")
    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


@pytest.mark.parametrize("extra, reusable", [
    ("", True),
    ("(table 1 funcref)", False),
    ("(func $s) (start $s)", False),
])
def test_only_fully_wipeable_modules_are_reused(extra: str, reusable: bool) -> None:
    wasm = wasmtime.wat2wasm(f"""(module (memory (export "memory") 1 1)
        (global (mut i32) (i32.const 3)) {extra} (func (export "main")))""")
    assert (plan_wipe(wasm) is not None) == reusable
    sb = Sandbox(cache_dir=False)
    for _ in range(3):
        assert sb.run(wasm).status == "ok"
    assert sb.reused_instances == (2 if reusable else 0)
    assert sb.fresh_instances == (1 if reusable else 3)


def test_fuel_figures_do_not_depend_on_reuse() -> None:
    # Instantiation costs fuel (data segments): a reused instance's run is charged the same.
    reused = Sandbox(cache_dir=False)
    fresh = Sandbox(cache_dir=False, reuse=False)
    for data in (b"r", b"w", b"t"):
        a = [reused.run(PROBE, data).fuel_used for _ in range(3)]
        b = [fresh.run(PROBE, data).fuel_used for _ in range(3)]
        assert a == b and len(set(a)) == 1
    for budget in (1, 3, 12, 40):   # below, at and above what instantiation itself costs
        a_run, b_run = reused.run(PROBE, b"r", fuel=budget), fresh.run(PROBE, b"r", fuel=budget)
        assert (a_run.status, a_run.fuel_used, a_run.output) == (
            b_run.status, b_run.fuel_used, b_run.output)
    exhausted = reused.run(PROBE, b"f", fuel=100_000)
    assert (exhausted.exhausted, exhausted.fuel_used) == ("fuel", 100_000)
    assert hashlib.sha256(reused.run(PROBE, b"r").output).digest() == hashlib.sha256(
        pristine_report()).digest()


def test_run_result_defaults_are_backward_compatible() -> None:
    result = RunResult("ok", b"", None, None, None, 1)
    assert result.frames == [] and result.trap_kind is None and result.transcript is None


def test_cached_copy_without_wipe_exports_is_recompiled(tmp_path: Path) -> None:
    # A disk-cache entry of the module as given (no exports for its globals) cannot be wiped:
    # the sandbox compiles its own copy again instead of failing.
    sb = Sandbox(cache_dir=tmp_path)
    sb._save_to_disk(hashlib.sha256(PROBE).hexdigest(), wasmtime.Module(sb.engine, PROBE))
    again = Sandbox(cache_dir=tmp_path, verify_wipe=True)
    assert [again.run(PROBE, b"r").output for _ in range(2)] == [pristine_report()] * 2
    assert (again.compiled, again.reused_instances) == (1, 1)

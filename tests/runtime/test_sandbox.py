"""The sandbox: limits, trap classification, the import whitelist and the module cache.

Modules are hand-written WAT, so these tests need nothing from the compiler.
"""

from __future__ import annotations

import time

import pytest
import wasmtime

import synapse.runtime.sandbox as sandbox_mod
from synapse.runtime.sandbox import DEFAULT_FUEL, RunResult, Sandbox, SandboxError, run_module

IMPORTS = """
  (import "syn" "input_len" (func $input_len (result i32)))
  (import "syn" "input_read" (func $input_read (param i32)))
  (import "syn" "write" (func $write (param i32 i32)))
  (import "syn" "write_i64" (func $write_i64 (param i64)))
  (import "syn" "write_f64" (func $write_f64 (param f64)))
  (import "syn" "write_f32" (func $write_f32 (param f32)))
  (import "syn" "fmt_f64" (func $fmt_f64 (param f64 i32) (result i32)))
  (import "syn" "fmt_f32" (func $fmt_f32 (param f32 i32) (result i32)))
  (import "syn" "trap" (func $trap (param i32 i32 i64 i64)))
"""


def module(body: str, *, pages: int = 1, max_pages: int | None = None, imports: str = IMPORTS,
           data: str = "") -> bytes:
    """A module with the syn imports, a fixed memory, and `body` (which defines $main)."""
    maximum = pages if max_pages is None else max_pages
    wat = f"""(module {imports}
      (memory (export "memory") {pages} {maximum})
      {data}
      {body}
      (export "main" (func $main)))"""
    return wasmtime.wat2wasm(wat)


def guest_str(offset: int, text: str) -> str:
    """A data segment holding a guest `str` ([len:i32][bytes]) at `offset`."""
    raw = text.encode()
    escaped = "".join(f"\\{b:02x}" for b in len(raw).to_bytes(4, "little") + raw)
    return f'(data (i32.const {offset}) "{escaped}")'


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(cache_dir=False)


def run(sb: Sandbox, wasm: bytes, **kw: object) -> RunResult:
    return sb.run(wasm, **kw)  # type: ignore[arg-type]


# -- output -----------------------------------------------------------------------------------

def test_write_and_numbers(sandbox: Sandbox) -> None:
    wasm = module("""(func $main
        (call $write (i32.const 12) (i32.const 6))
        (call $write_i64 (i64.const -42))
        (call $write_i64 (i64.const -9223372036854775808))
        (call $write_f64 (f64.const 0.1))
        (call $write_f64 (f64.const 1e100))
        (call $write_f64 (f64.const -0.0))
        (call $write_f64 (f64.div (f64.const 1) (f64.const 0)))
        (call $write_f64 (f64.div (f64.const 0) (f64.const 0)))
        (call $write_f32 (f32.const 1.5))
        (call $write_f32 (f32.const 0.1))
        (call $write_f32 (f32.const 16777217)))""",
                  data=guest_str(8, "hello "))
    result = run(sandbox, wasm)
    assert result.status == "ok", result.message
    assert result.output == (b"hello -42-9223372036854775808" b"0.11e+100-0.0infnan"
                             b"1.50.116777216.0")
    assert result.message is None and result.function is None and result.exhausted is None


def test_fmt_then_write(sandbox: Sandbox) -> None:
    wasm = module("""(func $main (local $n i32)
        (local.set $n (call $fmt_f64 (f64.const 2.5e-3) (i32.const 100)))
        (call $write (i32.const 100) (local.get $n))
        (local.set $n (call $fmt_f32 (f32.const 1e20) (i32.const 200)))
        (call $write (i32.const 200) (local.get $n)))""")
    assert run(sandbox, wasm).output == b"0.00251e+20"


def test_input_echo(sandbox: Sandbox) -> None:
    wasm = module("""(func $main
        (call $input_read (i32.const 64))
        (call $write (i32.const 64) (call $input_len)))""")
    assert run(sandbox, wasm, input=b"req\x00uest").output == b"req\x00uest"
    assert run(sandbox, wasm).output == b""


def test_output_cap(sandbox: Sandbox) -> None:
    wasm = module("""(func $main (loop $l
        (call $write (i32.const 8) (i32.const 7)) (br $l)))""")
    result = run(sandbox, wasm, output_limit=100)
    assert result.status == "exhausted" and result.exhausted == "output"
    assert len(result.output) == 100
    assert result.function == "main"


# -- limits --------------------------------------------------------------------------------------

def test_fuel_exhaustion(sandbox: Sandbox) -> None:
    wasm = module("(func $main (loop $l (br $l)))")
    result = run(sandbox, wasm, fuel=10_000)
    assert result.status == "exhausted" and result.exhausted == "fuel"
    assert result.message == "out of fuel: used 10000 of budget 10000"
    assert result.fuel_used == 10_000
    assert result.function == "main"


def test_fuel_is_deterministic(sandbox: Sandbox) -> None:
    wasm = module("""(func $main (local $i i32)
        (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1)))
                 (br_if $l (i32.lt_s (local.get $i) (i32.const 1000)))))""")
    used = {run(sandbox, wasm).fuel_used for _ in range(3)}
    assert len(used) == 1
    assert used.pop() > 1000  # at least one unit per iteration


def test_stack_exhaustion(sandbox: Sandbox) -> None:
    wasm = module("""(func $recurse (param i32) (call $recurse (i32.add (local.get 0) (i32.const 1))))
                     (func $main (call $recurse (i32.const 0)))""")
    result = run(sandbox, wasm)
    assert result.status == "exhausted" and result.exhausted == "stack"
    assert result.message == "call stack exhausted"
    assert result.function == "recurse"


def test_memory_grow_fails(sandbox: Sandbox) -> None:
    wasm = module("""(func $main
        (call $write_i64 (i64.extend_i32_s (memory.grow (i32.const 1))))
        (call $write_i64 (i64.extend_i32_s (memory.size))))""")
    assert run(sandbox, wasm).output == b"-11"


@pytest.mark.parametrize("limits", ["1", "1 2", "0 65536"])
def test_growable_memory_refused(sandbox: Sandbox, limits: str) -> None:
    wat = f"""(module (memory (export "memory") {limits}) (func $main) (export "main" (func $main)))"""
    with pytest.raises(SandboxError, match="fixed size"):
        sandbox.load(wasmtime.wat2wasm(wat))


def test_arena_trap_reports_arena_size(sandbox: Sandbox) -> None:
    wasm = module("""(func $alloc (call $trap (i32.const 3) (i32.const 0) (i64.const 4096)
                                           (i64.const 130000)))
                     (func $main (call $alloc))""", pages=2)
    result = run(sandbox, wasm)
    assert result.status == "exhausted" and result.exhausted == "arena"
    assert result.message == ("arena exhausted: requested 4096 bytes with 130000 of 131072 bytes"
                              " in use")
    assert result.function == "alloc"


# -- traps ---------------------------------------------------------------------------------------

def test_divide_by_zero_names_function(sandbox: Sandbox) -> None:
    wasm = module("""(func $main.divide (param i32 i32) (result i32)
                         (i32.div_s (local.get 0) (local.get 1)))
                     (func $main (drop (call $main.divide (i32.const 1) (i32.const 0))))""")
    result = run(sandbox, wasm)
    assert result.status == "trap"
    assert result.message == "integer divide by zero"
    assert result.function == "main.divide"
    assert result.frames == ["main.divide", "main"]
    assert result.exhausted is None


@pytest.mark.parametrize("body, message", [
    ("(drop (i32.div_s (i32.const -2147483648) (i32.const -1)))", "integer overflow"),
    ("(unreachable)", "unreachable"),
    ("(drop (i32.load (i32.const 65534)))", "out of bounds memory access"),
    ("(drop (i32.trunc_f64_s (f64.const nan)))", "invalid conversion to integer"),
    ("(drop (i32.trunc_f64_s (f64.const 1e10)))", "integer overflow"),
])
def test_wasm_traps(sandbox: Sandbox, body: str, message: str) -> None:
    result = run(sandbox, module(f"(func $main {body})"))
    assert (result.status, result.message, result.function) == ("trap", message, "main")


@pytest.mark.parametrize("kind, text, a, b, message", [
    (1, "assert failed: x > 0 at main.syn:2:5", 0, 0, "assert failed: x > 0 at main.syn:2:5"),
    (2, "main.syn:4:9", 5, 3, "index out of bounds: index 5, length 3 at main.syn:4:9"),
    (4, "no way", 0, 0, "panic: no way"),
    (5, "apple", 0, 0, 'map key not found: "apple"'),
    (6, "main.syn:7:3", 0, 0, "pop from empty vector at main.syn:7:3"),
])
def test_host_traps(sandbox: Sandbox, kind: int, text: str, a: int, b: int, message: str) -> None:
    wasm = module(f"""(func $main.f (call $trap (i32.const {kind}) (i32.const 8)
                                               (i64.const {a}) (i64.const {b})))
                      (func $main (call $main.f))""", data=guest_str(8, text))
    result = run(sandbox, wasm)
    assert (result.status, result.message, result.function) == ("trap", message, "main.f")
    assert result.frames == ["main.f", "main"]


@pytest.mark.parametrize("call", [
    "(call $write (i32.const 65530) (i32.const 100))",
    "(call $write (i32.const -1) (i32.const 1))",
    "(call $write (i32.const 0) (i32.const -1))",
    "(drop (call $fmt_f64 (f64.const 0.1) (i32.const 65535)))",
    "(call $input_read (i32.const 65535))",
    "(call $trap (i32.const 4) (i32.const 70000) (i64.const 0) (i64.const 0))",
])
def test_bad_guest_pointer_is_a_trap(sandbox: Sandbox, call: str) -> None:
    result = run(sandbox, module(f"(func $main {call})"), input=b"abc")
    assert (result.status, result.message) == ("trap", "invalid pointer")


def test_next_run_unaffected_after_trap(sandbox: Sandbox) -> None:
    # A global counter shows whether state leaks between runs: each run must see a fresh instance.
    counter = module("""(global $g (mut i64) (i64.const 0))
        (func $main (global.set $g (i64.add (global.get $g) (i64.const 1)))
                    (call $write_i64 (global.get $g))
                    (if (i32.eqz (call $input_len)) (then (unreachable))))""")
    assert run(sandbox, counter).status == "trap"
    assert run(sandbox, module("(func $main (loop $l (br $l)))"), fuel=100).exhausted == "fuel"
    again = run(sandbox, counter, input=b"x")
    assert (again.status, again.output) == ("ok", b"1")
    assert run(sandbox, counter, input=b"x").output == b"1"


# -- what a module may import and export ------------------------------------------------------

@pytest.mark.parametrize("imports, reason", [
    ('(import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))',
     "wasi_snapshot_preview1.fd_write"),
    ('(import "syn" "evil" (func))', "syn.evil"),
    ('(import "tensor" "matmul" (func (param i32 i32 i32)))', "tensor"),
    ('(import "syn" "write" (func (param i32)))', "wrong signature"),
    ('(import "syn" "write_f64" (func (param f32)))', "wrong signature"),
    ('(import "syn" "input_len" (func (result i64)))', "wrong signature"),
    ('(import "syn" "write" (global i32))', "must be a function"),
    ('(import "syn" "input_len" (table 1 funcref))', "must be a function"),
])
def test_import_whitelist(sandbox: Sandbox, imports: str, reason: str) -> None:
    with pytest.raises(SandboxError, match="not allowed|wrong signature") as info:
        sandbox.load(module("(func $main)", imports=imports))
    assert reason in str(info.value)


@pytest.mark.parametrize("wat, reason", [
    ('(module (memory (export "memory") 1 1))', 'export a function "main"'),
    ('(module (memory (export "memory") 1 1) (func (export "main") (param i32)))',
     "no parameters"),
    ('(module (func (export "main")))', 'export a memory "memory"'),
    ('(module (memory 1 1) (func (export "main")))', 'export a memory "memory"'),
])
def test_required_exports(sandbox: Sandbox, wat: str, reason: str) -> None:
    with pytest.raises(SandboxError) as info:
        sandbox.load(wasmtime.wat2wasm(wat))
    assert reason in str(info.value)


@pytest.mark.parametrize("data", [
    b"", b"\0asm", b"\0asm\x01\0\0\0\x01\xff", b"(module)", b"hello", b"\0asm\x02\0\0\0",
])
def test_malformed_bytes(sandbox: Sandbox, data: bytes) -> None:
    with pytest.raises(SandboxError, match="malformed"):
        sandbox.run(data)


def test_malformed_message_has_cause(sandbox: Sandbox) -> None:
    with pytest.raises(SandboxError, match="unknown binary version"):
        sandbox.run(b"\0asm\x02\0\0\0")


def test_not_bytes(sandbox: Sandbox) -> None:
    with pytest.raises(SandboxError):
        sandbox.run("(module)")  # type: ignore[arg-type]


# -- caching -------------------------------------------------------------------------------------

def hello() -> bytes:
    return module('(func $main (call $write (i32.const 12) (i32.const 2)))',
                  data=guest_str(8, "hi"))


def test_memory_cache_hit(sandbox: Sandbox) -> None:
    wasm = hello()
    assert run(sandbox, wasm).output == b"hi"
    assert run(sandbox, wasm).output == b"hi"
    assert sandbox.compiled == 1 and sandbox.memory_hits == 1


def test_disk_cache_hit(tmp_path) -> None:  # type: ignore[no-untyped-def]
    wasm = hello()
    first = Sandbox(cache_dir=tmp_path)
    assert run(first, wasm).output == b"hi"
    assert first.compiled == 1
    second = Sandbox(cache_dir=tmp_path)
    assert run(second, wasm).output == b"hi"
    assert (second.compiled, second.disk_hits) == (0, 1)


def test_corrupt_disk_cache_recompiles(tmp_path) -> None:  # type: ignore[no-untyped-def]
    wasm = hello()
    run(Sandbox(cache_dir=tmp_path), wasm)
    (entry,) = tmp_path.glob("*.cwasm")
    blob = bytearray(entry.read_bytes())
    blob[-10] ^= 0xFF
    entry.write_bytes(bytes(blob))
    again = Sandbox(cache_dir=tmp_path)
    assert run(again, wasm).output == b"hi"
    assert (again.compiled, again.disk_hits) == (1, 0)
    entry.write_bytes(b"not ours")
    third = Sandbox(cache_dir=tmp_path)
    assert run(third, wasm).output == b"hi"
    assert (third.compiled, third.disk_hits) == (1, 0)


def test_cached_module_still_checked(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # A module refused once is refused again when its compiled code comes from the disk cache.
    bad = module("(func $main)", imports='(import "syn" "evil" (func))')
    for _ in range(2):
        with pytest.raises(SandboxError, match="syn.evil"):
            Sandbox(cache_dir=tmp_path).load(bad)


def test_run_module_default_sandbox(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SYN_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(sandbox_mod, "_default_sandbox", None)
    result = run_module(hello())
    assert (result.status, result.output) == ("ok", b"hi")
    assert 0 < result.fuel_used < DEFAULT_FUEL
    assert list(tmp_path.glob("*.cwasm"))


def test_cache_dir_env_off(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SYN_CACHE_DIR", "off")
    assert Sandbox().cache_dir is None


# -- kept instances: what each run gets afresh ---------------------------------------------------

# Echoes its input after its length; with input "spin" loops forever, with "long" runs a loop of
# 2**27 iterations (a few hundred ms, well inside the default fuel budget).
PER_RUN = module("""(func $main (local $i i32)
    (call $input_read (i32.const 1024))
    (call $write_i64 (i64.extend_i32_s (call $input_len)))
    (call $write (i32.const 1024) (call $input_len))
    (if (i32.eq (i32.load (i32.const 1024)) (i32.const 0x6e697073))   ;; "spin"
      (then (loop $l (br $l))))
    (if (i32.eq (i32.load (i32.const 1024)) (i32.const 0x676e6f6c))   ;; "long"
      (then (loop $l
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $i) (i32.const 0x8000000)))))))""")


def test_kept_instance_takes_each_runs_input_and_limits() -> None:
    # One kept instance serves every run below; input, output and the output cap are the run's
    # own, whatever the run before had.
    sb = Sandbox(cache_dir=False, verify_wipe=True)
    assert sb.run(PER_RUN, b"abc").output == b"3abc"
    assert sb.run(PER_RUN, bytearray(b"xy")).output == b"2xy"
    assert sb.run(PER_RUN).output == b"0"
    capped = sb.run(PER_RUN, b"abcdef", output_limit=3)
    assert (capped.status, capped.exhausted, capped.output) == ("exhausted", "output", b"6ab")
    assert capped.output_limit == 3
    again = sb.run(PER_RUN, b"abcdef")
    assert (again.status, again.output, again.output_limit) == ("ok", b"6abcdef", sb.output_limit)
    assert (sb.fresh_instances, sb.reused_instances) == (1, 4)


def test_time_limit_holds_on_a_kept_instance() -> None:
    # Quick runs arm the kept instance's deadline; a run that spins right after them, or after
    # a pause as long as half the limit, still gets its whole limit, and little more.
    sb = Sandbox(cache_dir=False, time_limit=0.2)
    live = sb.hold(PER_RUN)
    for pause in (0.0, 0.1):
        for _ in range(100):
            assert live.run(b"").status == "ok"
        time.sleep(pause)
        start = time.perf_counter()
        spun = live.run(b"spin")
        elapsed = time.perf_counter() - start
        assert (spun.status, spun.exhausted, spun.time_limit) == ("exhausted", "time", 0.2)
        assert 0.2 <= elapsed < 1.5


def test_kept_instance_deadline_follows_the_limit() -> None:
    # A deadline armed for a short limit must not cut short the next run, which has none.
    sb = Sandbox(cache_dir=False)
    live = sb.hold(PER_RUN)
    assert live.run(b"", time_limit=0.01).status == "ok"
    start = time.perf_counter()
    result = live.run(b"long", time_limit=None)
    assert result.status == "ok", result.message
    assert time.perf_counter() - start > 0.03  # longer than the short limit's deadline

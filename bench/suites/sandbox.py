"""Sandbox suite: the cost of an isolated evaluation, and `.syn` kernels against CPython.

Two parts, both going through `synapse.runtime.sandbox` exactly as production does (fresh
Store + Instance per run, the module cached after its first compile, the default fuel budget):

- cold start: a trivial program (`fn main() {}`, and one printing one number) run thousands of
  times after warm-up; the median and p99 microseconds per run, and isolated evaluations per
  second on one core (1e6 / median).
- kernels: the programs in `bench/kernels/` (`NAME.syn` beside its CPython peer `NAME.py`). Each
  prints a checksum; the two outputs must be equal before any time is reported, otherwise the
  suite fails (`BenchFailure`, exit status 1). The `.syn` time is the run only: compiling the
  source and the module happens before timing.

Beside them, the hardened sandbox's own figures:

- isolated evaluations per second on one core, counted over a timed loop of runs of the trivial
  program (each in a fresh or wiped instance: the sandbox wipes a kept instance after every
  run), and the cold start of a truly fresh Store + Instance (`cold_start_fresh_us_median`);
- live sandboxes held at once, each having run a program that writes its whole 64 KiB arena:
  created until 250,000 (2,000 with --quick), or until the process has grown by 20 GiB, or the
  machine has less than 3 GiB available, whichever comes first; `live_sandboxes_max` is the
  count reached, `live_sandbox_kib` the resident memory per sandbox, all in;
- fuel metering overhead: each kernel timed in an engine with fuel and in one without (the
  same configuration otherwise), `fuel_overhead_ratio` the geometric mean of the ratios.

`run_kernels` is the `kernels_cpython` alias: the kernel half alone.
"""

from __future__ import annotations

import ctypes
import gc
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from bench.harness import (
    BenchFailure,
    Figures,
    geomean,
    load_module_file,
    median,
    ns_to_ms,
    ns_to_us,
    percentile,
    run_python_main,
    sample_ns,
)

KERNEL_DIR = Path(__file__).resolve().parent.parent / "kernels"

EMPTY_PROGRAM = "fn main() {}\n"
PRINT_PROGRAM = "fn main() {\n    println(7);\n}\n"
PRINT_EXPECTED = b"7\n"


@dataclass(frozen=True)
class Kernel:
    """One benchmark kernel: `bench/kernels/NAME.syn` and `NAME.py`, and its input sizes."""

    name: str
    size: int
    quick_size: int


KERNELS: tuple[Kernel, ...] = (
    Kernel("fib", 27, 20),
    Kernel("loop_sum", 10_000_000, 100_000),
    Kernel("sieve", 2_000_000, 20_000),
    Kernel("sort", 3_000, 300),
    Kernel("matmul", 120, 30),
)

Runner = Callable[[bytes, bytes], Any]


def kernel_figure_names(kernel: Kernel) -> tuple[str, str, str]:
    return (f"kernel_{kernel.name}_syn_ms", f"kernel_{kernel.name}_cpython_ms",
            f"kernel_{kernel.name}_speedup")


def null_cold_start_figures() -> Figures:
    return {
        "cold_start_us_median": None,
        "cold_start_us_p99": None,
        "isolated_evals_per_s": None,
        "cold_start_print_us_median": None,
        "cold_start_print_us_p99": None,
        "cold_start_fresh_us_median": None,
    }


def null_hardening_figures() -> Figures:
    return {
        "live_sandboxes_max": None,
        "live_sandbox_kib": None,
        "fuel_overhead_ratio": None,
        "fuel_overhead_ratio_max": None,
    }


def null_kernel_figures() -> Figures:
    figures: Figures = {}
    for kernel in KERNELS:
        figures.update(dict.fromkeys(kernel_figure_names(kernel)))
    figures["kernels_matched"] = None
    figures["kernels_speedup_vs_cpython_geomean"] = None
    return figures


# --- reaching the compiler and the sandbox -------------------------------------------------

def import_toolchain() -> tuple[ModuleType, ModuleType] | None:
    """The driver and sandbox modules, or None (reason on stderr) while either is missing."""
    try:
        from synapse.compiler import driver
        from synapse.runtime import sandbox
    except ImportError as error:
        print(f"bench: sandbox: toolchain not available ({error}); figures are null",
              file=sys.stderr)
        return None
    return driver, sandbox


def make_runner(sandbox: ModuleType, **options: Any) -> Runner:
    """A `(wasm, input) -> RunResult` callable on the production path with the default fuel.

    One long-lived `Sandbox` serves every run, so after the first run of a module its compiled
    code comes from the sandbox's cache, as it does in production.
    """
    box = sandbox.Sandbox(**options)
    fuel = sandbox.DEFAULT_FUEL
    return lambda wasm, data: box.run(wasm, data, fuel=fuel)


def compile_text(driver: ModuleType, text: str, filename: str) -> bytes | None:
    """Wasm bytes for `text`, or None with the diagnostics on stderr."""
    result = driver.compile_source(text, filename=filename)
    if result.wasm is None:
        report_diagnostics(result, filename)
        return None
    return bytes(result.wasm)


def report_diagnostics(result: Any, filename: str) -> None:
    sources = getattr(result, "sources", {}) or {}
    print(f"bench: {filename} did not compile:", file=sys.stderr)
    for diagnostic in result.diagnostics:
        try:
            print(diagnostic.render(sources.get(diagnostic.span.file)), file=sys.stderr)
        except Exception:
            print(f"  {diagnostic}", file=sys.stderr)


def describe_run(result: Any) -> str:
    """One line naming how a run ended, for failure messages."""
    if result.status == "ok":
        return f"ok, output {bytes(result.output)!r}"
    return f"{result.status}: {result.message} (in {result.function}, exhausted={result.exhausted})"


# --- cold start ----------------------------------------------------------------------------

def measure_cold_start(driver: ModuleType, runner: Runner, quick: bool) -> Figures:
    """Median and p99 µs per fresh-instance run of the two trivial programs."""
    repeat, warmup = (500, 50) if quick else (5_000, 200)
    figures = null_cold_start_figures()
    for source, expected, prefix in ((EMPTY_PROGRAM, b"", "cold_start"),
                                     (PRINT_PROGRAM, PRINT_EXPECTED, "cold_start_print")):
        wasm = compile_text(driver, source, "main.syn")
        if wasm is None:
            continue
        check = runner(wasm, b"")
        if check.status != "ok" or bytes(check.output) != expected:
            raise BenchFailure(f"trivial program {source!r} gave {describe_run(check)}", figures)
        samples = sample_ns(lambda: runner(wasm, b""), repeat=repeat, warmup=warmup)
        figures[f"{prefix}_us_median"] = ns_to_us(median(samples))
        figures[f"{prefix}_us_p99"] = ns_to_us(percentile(samples, 99))
    wasm = compile_text(driver, EMPTY_PROGRAM, "main.syn")
    if wasm is not None:
        figures["isolated_evals_per_s"] = evals_per_second(runner, wasm, 0.3 if quick else 2.0)
        fresh = make_runner(sandbox_module(), reuse=False)
        samples = sample_ns(lambda: fresh(wasm, b""), repeat=repeat // 5, warmup=warmup // 5)
        figures["cold_start_fresh_us_median"] = ns_to_us(median(samples))
    return figures


def evals_per_second(runner: Runner, wasm: bytes, seconds: float) -> float:
    """Runs completed per CPU-second of this thread (one core), over a loop of about `seconds`
    of that CPU time; the collector is paused, as in sampling. CPU time, not wall time: other
    processes on the machine must not lower a per-core figure."""
    count = 0
    gc.disable()
    try:
        clock = time.thread_time
        start = clock()
        deadline = start + seconds
        while True:
            for _ in range(100):
                runner(wasm, b"")
            count += 100
            now = clock()
            if now >= deadline:
                return count / (now - start)
    finally:
        gc.enable()


def sandbox_module() -> ModuleType:
    from synapse.runtime import sandbox
    return sandbox


# --- live sandboxes held at once -----------------------------------------------------------

LIVE_TARGET = 250_000
LIVE_TARGET_QUICK = 2_000
LIVE_MAX_GROWTH = 20 * 1024 ** 3          # stop before the process grows by more than this
LIVE_MIN_AVAILABLE = 3 * 1024 ** 3        # or before the machine has less than this left
# main writes every byte of its 64 KiB arena.
TOUCH_ALL_WAT = """(module (memory (export "memory") 1 1)
  (func (export "main") (memory.fill (i32.const 0) (i32.const 90) (i32.const 65536))))"""


def resident_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def available_bytes() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def measure_live_sandboxes(sandbox: ModuleType, quick: bool) -> Figures:
    """Hold sandboxes (each having written its whole arena) until a target or a memory bound."""
    import wasmtime
    figures: Figures = {"live_sandboxes_max": None, "live_sandbox_kib": None}
    if not os.path.exists("/proc/self/statm"):
        return figures  # no way to watch memory here: do not risk the machine
    box = sandbox.Sandbox(cache_dir=False)
    loaded = box.load(wasmtime.wat2wasm(TOUCH_ALL_WAT))
    target = LIVE_TARGET_QUICK if quick else LIVE_TARGET
    held: list[Any] = []
    gc.collect()
    base = resident_bytes()
    gc.disable()
    try:
        while len(held) < target:
            if len(held) % 1000 == 0 and not room_for_more(base, len(held)):
                break
            try:
                live = box.hold(loaded)
                if live.run(b"", fuel=1_000_000).status != "ok":
                    raise BenchFailure("a live sandbox's run failed", figures)
            except (sandbox.SandboxError, MemoryError, OSError) as error:
                print(f"bench: live sandboxes: stopped at {len(held)}: {error}", file=sys.stderr)
                break
            held.append(live)
        grown = resident_bytes() - base
        if held:
            figures["live_sandboxes_max"] = len(held)
            figures["live_sandbox_kib"] = grown / len(held) / 1024
    finally:
        for live in held:
            live.close()
        held.clear()
        gc.enable()
        gc.collect()
    return figures


def room_for_more(base: int, count: int) -> bool:
    """Whether 1,000 more sandboxes fit under both memory bounds (at the size seen so far)."""
    grown = resident_bytes() - base
    step = (grown / count if count else 128 * 1024) * 1000
    if grown + step > LIVE_MAX_GROWTH:
        return False
    available = available_bytes()
    return available is None or available - step > LIVE_MIN_AVAILABLE


# --- fuel metering overhead ----------------------------------------------------------------

def measure_fuel_overhead(driver: ModuleType, sandbox: ModuleType, quick: bool) -> Figures:
    """Each kernel's run time with fuel metering over its time without (same engine settings
    otherwise, the same host functions, plain instantiate-and-call for both)."""
    import wasmtime
    figures: Figures = {"fuel_overhead_ratio": None, "fuel_overhead_ratio_max": None}
    metered = sandbox.shared_engine()
    config = sandbox._make_config()
    config.consume_fuel = False
    unmetered = wasmtime.Engine(config)
    ratios: list[float] = []
    for kernel in KERNELS:
        text = (KERNEL_DIR / f"{kernel.name}.syn").read_text(encoding="utf-8")
        wasm = compile_text(driver, text, kernel_display_path(kernel))
        if wasm is None:
            continue
        data = str(kernel.quick_size if quick else kernel.size).encode()
        times: dict[bool, list[float]] = {True: [], False: []}
        outputs: set[bytes] = set()
        for _ in range(3 if quick else 5):
            for engine, fuel in ((metered, True), (unmetered, False)):
                seconds, output = time_plain_run(sandbox, engine, wasm, data, fuel)
                times[fuel].append(seconds)
                outputs.add(output)
        if len(outputs) != 1:
            raise BenchFailure(f"kernel {kernel.name}: output differs with and without fuel",
                               figures)
        ratios.append(median(times[True]) / median(times[False]))
    if ratios:
        figures["fuel_overhead_ratio"] = geomean(ratios)
        figures["fuel_overhead_ratio_max"] = max(ratios)
    return figures


def time_plain_run(sandbox: ModuleType, engine: Any, wasm: bytes, data: bytes,
                   fuel: bool) -> tuple[float, bytes]:
    """Seconds `main` took in a fresh instance on `engine`, and what it printed."""
    import wasmtime
    from synapse.runtime.host import HOST_FUNCTIONS, HostContext
    ctx = HostContext(input=data)
    linker = wasmtime.Linker(engine)
    for name, (params, results, impl) in HOST_FUNCTIONS.items():
        ty = wasmtime.FuncType([sandbox._VALTYPES[p] for p in params],
                               [sandbox._VALTYPES[r] for r in results])
        linker.define_func("syn", name, ty, lambda *args, impl=impl: impl(ctx, *args))
    store = wasmtime.Store(engine)
    if fuel:
        store.set_fuel(sandbox.DEFAULT_FUEL)
    store.set_epoch_deadline(1 << 48)
    instance = linker.instantiate(store, wasmtime.Module(engine, wasm))
    exports = instance.exports(store)
    memory = exports["memory"]
    size = memory.data_len(store)
    array = (ctypes.c_ubyte * size).from_address(ctypes.addressof(memory.data_ptr(store).contents))
    ctx.memory = memoryview(array).cast("B")
    main = exports["main"]
    start = time.perf_counter()
    main(store)
    seconds = time.perf_counter() - start
    ctx.memory = None
    return seconds, bytes(ctx.output)


# --- kernels against CPython ---------------------------------------------------------------

def load_python_kernel(kernel: Kernel) -> ModuleType:
    return load_module_file(KERNEL_DIR / f"{kernel.name}.py", f"bench_kernel_{kernel.name}")


def run_python_kernel(module: ModuleType, size: int) -> bytes:
    """Call the kernel's `main(n)` with stdout captured; return what it printed."""
    return run_python_main(module, size)


def kernel_display_path(kernel: Kernel) -> str:
    """The kernel's file name relative to the working directory when possible (for messages)."""
    path = KERNEL_DIR / f"{kernel.name}.syn"
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def measure_kernel(kernel: Kernel, driver: ModuleType, runner: Runner, quick: bool) -> Figures:
    """Time one kernel in the sandbox and in CPython after checking both print the same.

    Raises BenchFailure on a mismatch (including a trap or exhaustion of the `.syn` run).
    Returns null figures when the `.syn` kernel does not compile.
    """
    syn_name, py_name, speedup_name = kernel_figure_names(kernel)
    figures: Figures = {syn_name: None, py_name: None, speedup_name: None}
    size = kernel.quick_size if quick else kernel.size
    repeat = 3 if quick else 5
    data = str(size).encode()

    module = load_python_kernel(kernel)
    expected = run_python_kernel(module, size)
    wasm = compile_text(driver, (KERNEL_DIR / f"{kernel.name}.syn").read_text(encoding="utf-8"),
                        kernel_display_path(kernel))
    if wasm is None:
        return figures
    first = runner(wasm, data)  # also fills the sandbox's module cache: compile is not timed
    if first.status != "ok" or bytes(first.output) != expected:
        raise BenchFailure(f"kernel {kernel.name}: checksum mismatch: CPython printed "
                           f"{expected!r}, .syn {describe_run(first)}", figures)

    last: list[Any] = []
    syn_samples = sample_ns(lambda: last.append(runner(wasm, data)), repeat=repeat, warmup=0)
    if any(result.status != "ok" or bytes(result.output) != expected for result in last):
        raise BenchFailure(f"kernel {kernel.name}: a timed .syn run did not reproduce the "
                           f"checksum", figures)
    # The checksum run above was the CPython warm-up.
    py_samples = sample_ns(lambda: run_python_kernel(module, size), repeat=repeat, warmup=0)
    syn_ms = ns_to_ms(median(syn_samples))
    py_ms = ns_to_ms(median(py_samples))
    figures[syn_name] = syn_ms
    figures[py_name] = py_ms
    figures[speedup_name] = py_ms / syn_ms if syn_ms > 0 else None
    return figures


def measure_kernels(driver: ModuleType, runner: Runner, quick: bool) -> Figures:
    """All kernels; the geometric mean only when every kernel was measured."""
    figures = null_kernel_figures()
    failures: list[str] = []
    matched = 0
    for kernel in KERNELS:
        try:
            figures.update(measure_kernel(kernel, driver, runner, quick))
        except BenchFailure as failure:
            failures.append(str(failure))
            continue
        if figures[kernel_figure_names(kernel)[0]] is not None:
            matched += 1
    figures["kernels_matched"] = matched or None  # null: no kernel could be run at all
    speedups = [figures[kernel_figure_names(kernel)[2]] for kernel in KERNELS]
    if all(isinstance(s, float) and s > 0 for s in speedups):
        figures["kernels_speedup_vs_cpython_geomean"] = geomean(s for s in speedups if s)
    if failures:
        raise BenchFailure("; ".join(failures), figures)
    return figures


# --- suite entry points --------------------------------------------------------------------

def run(quick: bool) -> Figures:
    """The `sandbox` suite: cold start figures, then the kernels."""
    toolchain = import_toolchain()
    if toolchain is None:
        return {**null_cold_start_figures(), **null_hardening_figures(), **null_kernel_figures()}
    driver, sandbox = toolchain
    runner = make_runner(sandbox)
    figures = measure_cold_start(driver, runner, quick)
    figures.update(null_hardening_figures())
    figures.update(measure_live_sandboxes(sandbox, quick))
    figures.update(measure_fuel_overhead(driver, sandbox, quick))
    try:
        figures.update(measure_kernels(driver, runner, quick))
    except BenchFailure as failure:
        raise BenchFailure(str(failure), {**figures, **failure.figures}) from None
    return figures


def run_kernels(quick: bool) -> Figures:
    """The `kernels_cpython` suite: the kernels alone."""
    toolchain = import_toolchain()
    if toolchain is None:
        return null_kernel_figures()
    driver, sandbox = toolchain
    return measure_kernels(driver, make_runner(sandbox), quick)

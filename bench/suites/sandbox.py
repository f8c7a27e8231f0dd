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

`run_kernels` is the `kernels_cpython` alias: the kernel half alone.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from bench.harness import (
    BenchFailure,
    Figures,
    geomean,
    median,
    ns_to_ms,
    ns_to_us,
    percentile,
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


def make_runner(sandbox: ModuleType) -> Runner:
    """A `(wasm, input) -> RunResult` callable on the production path with the default fuel.

    One long-lived `Sandbox` serves every run, so after the first run of a module its compiled
    code comes from the sandbox's cache, as it does in production.
    """
    box = sandbox.Sandbox()
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
    empty_median = figures["cold_start_us_median"]
    if empty_median:
        figures["isolated_evals_per_s"] = 1e6 / empty_median
    return figures


# --- kernels against CPython ---------------------------------------------------------------

def load_python_kernel(kernel: Kernel) -> ModuleType:
    path = KERNEL_DIR / f"{kernel.name}.py"
    spec = importlib.util.spec_from_file_location(f"bench_kernel_{kernel.name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_python_kernel(module: ModuleType, size: int) -> bytes:
    """Call the kernel's `main(n)` with stdout captured; return what it printed."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        module.main(size)
    return buffer.getvalue().encode()


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
        return {**null_cold_start_figures(), **null_kernel_figures()}
    driver, sandbox = toolchain
    runner = make_runner(sandbox)
    figures = measure_cold_start(driver, runner, quick)
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

"""Kernels suite: the Benchmarks Game programs in `.syn`, in C (clang, wasm32) and in CPython.

Every kernel of `bench/game/programs.py` runs in four builds, side by side in one process:
`.syn` as compiled, `.syn -O` (Binaryen), C compiled by clang `-O2` for wasm32, all three run by
the same `Sandbox` in its production configuration (fuel on, default budget), and the CPython
peer. Before any time is reported, the four outputs at the benchmark size must be the same
bytes; a mismatch, trap or exhaustion fails the suite (`BenchFailure`, exit status 1). Times are
run time only: each module is compiled (and cached by the sandbox) before timing.

Figures, per kernel NAME (`game_NAME_...`): medians in ms (`syn_ms`, `syn_opt_ms`, `clang_ms`,
`cpython_ms`), the ratios `.syn -O`/clang (`ratio_vs_clang`), `.syn`/clang
(`ratio_vs_clang_unopt`) and CPython/`.syn -O` (`speedup_vs_cpython`), and module sizes in bytes
(`syn_bytes`, `syn_opt_bytes`, `clang_bytes`). Over all kernels: `kernels_ratio_vs_clang_geomean`
and `_max` (for `.syn -O`), the same for unoptimised `.syn` (`kernels_ratio_vs_clang_unopt_...`),
`kernels_speedup_vs_cpython_geomean` and `kernels_game_matched`. A readable table goes to stderr.

Without clang (or wasm-ld) the suite says so on stderr, with the install command, and the clang
figures are null; without Binaryen the `-O` figures are null likewise.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.game import programs
from bench.game.programs import Kernel
from bench.harness import BenchFailure, Figures, geomean, median, ns_to_ms, sample_ns

BUILDS = ("syn", "syn_opt", "clang")
FIGURES = ("syn_ms", "syn_opt_ms", "clang_ms", "cpython_ms", "ratio_vs_clang",
           "ratio_vs_clang_unopt", "speedup_vs_cpython", "syn_bytes", "syn_opt_bytes",
           "clang_bytes")
SUMMARY = ("kernels_ratio_vs_clang_geomean", "kernels_ratio_vs_clang_max",
           "kernels_ratio_vs_clang_unopt_geomean", "kernels_ratio_vs_clang_unopt_max",
           "kernels_speedup_vs_cpython_geomean", "kernels_game_matched")

Runner = Callable[[bytes, bytes], Any]


@dataclass(frozen=True)
class Plan:
    """How hard to measure: repetitions per Wasm build and for CPython, and which size."""

    quick: bool
    wasm_repeat: int
    cpython_repeat: int

    def size(self, kernel: Kernel) -> int:
        return kernel.quick_size if self.quick else kernel.size


FULL = Plan(quick=False, wasm_repeat=7, cpython_repeat=3)
QUICK = Plan(quick=True, wasm_repeat=3, cpython_repeat=1)


@dataclass
class Modules:
    """The Wasm builds of one kernel; a build that could not be made is absent."""

    wasm: dict[str, bytes] = field(default_factory=dict)


def figure(kernel: Kernel, name: str) -> str:
    return f"game_{kernel.name}_{name}"


def null_figures() -> Figures:
    figures: Figures = {}
    for kernel in programs.KERNELS:
        figures.update({figure(kernel, name): None for name in FIGURES})
    figures.update(dict.fromkeys(SUMMARY))
    return figures


# --- building --------------------------------------------------------------------------------

def optimizer_missing_reason() -> str | None:
    """Why `-O` cannot run here, or None when Binaryen is available."""
    try:
        from synapse.compiler import optimize
    except ImportError as error:
        return f"the optimizer module is missing ({error})"
    if not optimize.optimizer_available():
        return f"Binaryen is not installed ({optimize.INSTALL_HINT})"
    return None


def build_kernel(kernel: Kernel, *, with_opt: bool, with_clang: bool) -> Modules:
    """The `.syn`, `.syn -O` and C modules of `kernel` (C with the `.syn` arena as its memory)."""
    modules = Modules()
    modules.wasm["syn"] = programs.build_syn(kernel)
    if with_opt:
        modules.wasm["syn_opt"] = programs.build_syn(kernel, optimize=True)
    if with_clang:
        memory = programs.memory_size(modules.wasm["syn"])
        modules.wasm["clang"] = programs.build_c(kernel, memory)
    return modules


# --- measuring -------------------------------------------------------------------------------

def check_output(kernel: Kernel, build: str, result: Any, expected: bytes) -> None:
    if result.status != "ok" or bytes(result.output) != expected:
        raise BenchFailure(f"{kernel.name}: {build} output differs from CPython's "
                           f"({len(expected)} bytes): {programs.summarize_run(result)}")


def time_wasm_builds(kernel: Kernel, modules: Modules, runner: Runner, data: bytes,
                     expected: bytes, repeat: int) -> dict[str, float]:
    """Median ms per build. Each build's first run (which compiles the module into the sandbox's
    cache) is checked and not timed; then the builds take turns, one timed run each per round,
    so that a change in machine load during the kernel weighs on every build alike."""
    for build, wasm in modules.wasm.items():
        check_output(kernel, build, runner(wasm, data), expected)
    samples: dict[str, list[int]] = {build: [] for build in modules.wasm}
    for _ in range(repeat):
        for build, wasm in modules.wasm.items():
            results: list[Any] = []
            samples[build] += sample_ns(lambda: results.append(runner(wasm, data)),
                                        repeat=1, warmup=0)
            check_output(kernel, build, results[0], expected)
    return {build: ns_to_ms(median(times)) for build, times in samples.items()}


def measure_kernel(kernel: Kernel, modules: Modules, runner: Runner, plan: Plan) -> Figures:
    """All builds of one kernel: outputs checked against CPython's, then timed."""
    size = plan.size(kernel)
    data = programs.size_input(size)
    module = programs.load_python(kernel)
    expected = programs.run_python(module, size)  # also the CPython warm-up
    medians = time_wasm_builds(kernel, modules, runner, data, expected, plan.wasm_repeat)
    figures: Figures = {}
    for build in BUILDS:
        wasm = modules.wasm.get(build)
        figures[figure(kernel, f"{build}_bytes")] = len(wasm) if wasm is not None else None
        figures[figure(kernel, f"{build}_ms")] = medians.get(build)
    py_samples = sample_ns(lambda: programs.run_python(module, size),
                           repeat=plan.cpython_repeat, warmup=0)
    figures[figure(kernel, "cpython_ms")] = ns_to_ms(median(py_samples))
    figures.update(kernel_ratios(kernel, figures))
    return figures


def ratio(numerator: Any, denominator: Any) -> float | None:
    if isinstance(numerator, float) and isinstance(denominator, float) and denominator > 0:
        return numerator / denominator
    return None


def kernel_ratios(kernel: Kernel, figures: Figures) -> Figures:
    syn, syn_opt = figures[figure(kernel, "syn_ms")], figures[figure(kernel, "syn_opt_ms")]
    clang, cpython = figures[figure(kernel, "clang_ms")], figures[figure(kernel, "cpython_ms")]
    return {
        figure(kernel, "ratio_vs_clang"): ratio(syn_opt, clang),
        figure(kernel, "ratio_vs_clang_unopt"): ratio(syn, clang),
        figure(kernel, "speedup_vs_cpython"): ratio(cpython, syn_opt if syn_opt else syn),
    }


def summarize(figures: Figures) -> Figures:
    """Geometric means and maxima over the kernels; null unless every kernel has the figure."""
    summary: Figures = {}
    for name, key in (("kernels_ratio_vs_clang", "ratio_vs_clang"),
                      ("kernels_ratio_vs_clang_unopt", "ratio_vs_clang_unopt")):
        values = [figures.get(figure(kernel, key)) for kernel in programs.KERNELS]
        complete = all(isinstance(v, float) for v in values)
        summary[f"{name}_geomean"] = geomean(values) if complete else None  # type: ignore[arg-type]
        summary[f"{name}_max"] = max(values) if complete else None  # type: ignore[type-var]
    speedups = [figures.get(figure(kernel, "speedup_vs_cpython")) for kernel in programs.KERNELS]
    summary["kernels_speedup_vs_cpython_geomean"] = (
        geomean(speedups) if all(isinstance(v, float) for v in speedups) else None)  # type: ignore[arg-type]
    return summary


# --- the human table -------------------------------------------------------------------------

def format_kernel_table(figures: Figures) -> str:
    """Per kernel: medians, ratios and sizes, then the geometric means."""
    def cell(value: Any, spec: str) -> str:
        return "-" if value is None else format(value, spec)

    header = (f"{'kernel':<15}{'.syn ms':>10}{'-O ms':>10}{'clang ms':>10}{'CPython ms':>12}"
              f"{'-O/clang':>10}{'syn/clang':>10}{'Py/-O':>8}{'-O bytes':>10}{'clang bytes':>12}")
    lines = [header]
    for kernel in programs.KERNELS:
        f = {name: figures.get(figure(kernel, name)) for name in FIGURES}
        lines.append(
            f"{kernel.name:<15}{cell(f['syn_ms'], '.1f'):>10}{cell(f['syn_opt_ms'], '.1f'):>10}"
            f"{cell(f['clang_ms'], '.1f'):>10}{cell(f['cpython_ms'], '.0f'):>12}"
            f"{cell(f['ratio_vs_clang'], '.2f'):>10}{cell(f['ratio_vs_clang_unopt'], '.2f'):>10}"
            f"{cell(f['speedup_vs_cpython'], '.0f'):>8}{cell(f['syn_opt_bytes'], 'd'):>10}"
            f"{cell(f['clang_bytes'], 'd'):>12}")
    lines.append(
        f"{'geomean':<15}{'':>52}{cell(figures.get('kernels_ratio_vs_clang_geomean'), '.2f'):>10}"
        f"{cell(figures.get('kernels_ratio_vs_clang_unopt_geomean'), '.2f'):>10}"
        f"{cell(figures.get('kernels_speedup_vs_cpython_geomean'), '.0f'):>8}")
    lines.append(
        f"{'max':<15}{'':>52}{cell(figures.get('kernels_ratio_vs_clang_max'), '.2f'):>10}"
        f"{cell(figures.get('kernels_ratio_vs_clang_unopt_max'), '.2f'):>10}")
    return "\n".join(lines)


# --- suite entry point -----------------------------------------------------------------------

def available_builds() -> tuple[bool, bool]:
    """(Binaryen available, clang available), each absence explained on stderr."""
    reason = optimizer_missing_reason()
    if reason is not None:
        print(f"bench: kernels: .syn -O not measured: {reason}", file=sys.stderr)
    try:
        programs.find_clang()
        with_clang = True
    except programs.ClangMissing as missing:
        print(f"bench: kernels: C peers not measured: {missing}", file=sys.stderr)
        with_clang = False
    return reason is None, with_clang


def run(quick: bool) -> Figures:
    """The `kernels` suite: every kernel in every build; fails on any output mismatch."""
    plan = QUICK if quick else FULL
    with_opt, with_clang = available_builds()
    runner = programs.make_runner()
    figures = null_figures()
    failures: list[str] = []
    matched = 0
    for kernel in programs.KERNELS:
        try:
            modules = build_kernel(kernel, with_opt=with_opt, with_clang=with_clang)
            figures.update(measure_kernel(kernel, modules, runner, plan))
            matched += 1
        except (BenchFailure, programs.BuildError) as failure:
            failures.append(str(failure))
    figures.update(summarize(figures))
    figures["kernels_game_matched"] = matched or None
    print(format_kernel_table(figures), file=sys.stderr)
    if failures:
        raise BenchFailure("; ".join(failures), figures)
    return figures

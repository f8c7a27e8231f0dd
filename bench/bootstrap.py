"""Bootstrap suite: the self-hosted compiler (bootstrap/) against the reference compiler.

Figures:
- `bootstrap_identical`: stage1 == stage2 == stage3 and every program compared came out
  identical (same bytes, or the same rejected (code, line, col) list);
- `bootstrap_programs_compared`: how many programs of `selfhost.corpus()` were compared (all of
  them; every tenth with --quick);
- `selfhost_speedup_vs_reference`: reference compile time / self-hosted compile time, summed
  over the same inputs (the bootstrap's own sources and the largest test programs), each the
  median of several runs; the self-hosted time is the sandbox run of stage1, instantiation
  included, the module itself compiled once beforehand;
- `selfhost_self_compile_ms`: median time of stage1 compiling the bootstrap;
- `selfhost_peak_arena_bytes`: the arena that self-compile used (a bump arena: its peak);
- `selfhost_self_compile_fuel`: Wasm fuel of that self-compile, identical run to run (checked);
- `selfhost_speedup_vs_reference_O`, `selfhost_self_compile_ms_O`: the same two figures for
  stage1 after Binaryen -O3 (`synapse.compiler.optimize`), a deployment choice measured on
  its own; the stage identity check always uses the unoptimized stage1. Null without Binaryen,
  or when the optimized compiler's output differs from the plain one's.
A figure is null when it cannot be measured (the bootstrap does not compile yet, or fails).
"""

from __future__ import annotations

from bench.harness import BenchFailure, Figures, median
from synapse.runtime import selfhost

FIGURES = ("bootstrap_identical", "bootstrap_programs_compared", "selfhost_speedup_vs_reference",
           "selfhost_self_compile_ms", "selfhost_peak_arena_bytes", "selfhost_self_compile_fuel",
           "selfhost_speedup_vs_reference_O", "selfhost_self_compile_ms_O")
LARGEST_PROGRAMS = 3


def run(quick: bool) -> Figures:
    figures: Figures = dict.fromkeys(FIGURES)
    try:
        stage1 = selfhost.compile_stage1()
    except selfhost.SelfhostError:
        figures["bootstrap_identical"] = False
        return figures
    repeat = 3 if quick else 5
    figures.update(_self_compile(stage1, repeat))
    stages = selfhost.stages(stage1)
    programs = selfhost.corpus()
    if quick:
        programs = programs[::10]
    results = [selfhost.compare(p, stage1) for p in programs]
    figures["bootstrap_programs_compared"] = len(results)
    figures["bootstrap_identical"] = stages.identical and all(r.identical for r in results)
    optimized = _optimized(stage1)
    plain, fast = _speedup(stage1, optimized, repeat)
    figures["selfhost_speedup_vs_reference"] = plain
    figures["selfhost_speedup_vs_reference_O"] = fast
    if optimized is not None:
        # The bundle stage1 was built from, not the files as they are now.
        figures["selfhost_self_compile_ms_O"] = _self_compile(
            optimized, repeat, selfhost.bootstrap_bundle(stage1)).get("selfhost_self_compile_ms")
    return figures


def _optimized(stage1: bytes) -> bytes | None:
    """stage1 after Binaryen -O3, when Binaryen is installed and the result compiles the
    bootstrap to the same bytes as stage1 does."""
    try:
        from synapse.compiler.optimize import optimize
        optimized = optimize(stage1, 3)
    except Exception:  # no Binaryen (OptimizerUnavailable) or it refused the module
        return None
    bundle = selfhost.bootstrap_bundle(stage1)
    plain = selfhost.run_selfhost(stage1, bundle)
    fast = selfhost.run_selfhost(optimized, bundle)
    if not plain.ok or not fast.ok or plain.wasm != fast.wasm:
        return None
    return optimized


def _self_compile(stage1: bytes, repeat: int, bundle: bytes | None = None) -> Figures:
    if bundle is None:
        bundle = selfhost.bootstrap_bundle(stage1)
    runs = [selfhost.run_selfhost(stage1, bundle) for _ in range(repeat)]
    if not all(r.ok for r in runs):
        return {}
    fuels = {r.fuel_used for r in runs}
    arenas = {r.arena_used for r in runs}
    figures: Figures = {"selfhost_self_compile_ms": round(1000 * median(r.seconds for r in runs), 1),
                        "selfhost_peak_arena_bytes": runs[0].arena_used,
                        "selfhost_self_compile_fuel": runs[0].fuel_used}
    if len(fuels) != 1 or len(arenas) != 1:
        raise BenchFailure(f"the self-compile is not deterministic: fuel {sorted(fuels)}, "
                           f"arena {sorted(arenas)}", figures)
    return figures


def _speed_inputs() -> list[selfhost.Program]:
    """The bootstrap itself and the largest golden programs (by the size of their bundle)."""
    programs = [p for p in selfhost.corpus()
                if p.id.startswith(("tests/programs/", "examples/"))]
    sized = sorted(programs, key=lambda p: len(p.bundle()), reverse=True)
    main = selfhost.Program(selfhost.BOOTSTRAP_MAIN, selfhost.BOOTSTRAP_MAIN)
    return [main] + sized[:LARGEST_PROGRAMS]


def _speedup(stage1: bytes, optimized: bytes | None,
             repeat: int) -> tuple[float | None, float | None]:
    """(reference / stage1, reference / optimized stage1): total median times over the same
    inputs, the three compilers taking turns so that the machine's load affects them alike."""
    reference_total = own_total = fast_total = 0.0
    for program in _speed_inputs():
        bundle = program.bundle()
        ref_times, own_times, fast_times = [], [], []
        for _ in range(repeat):
            ref = selfhost.compile_reference(program.path, program.text,
                                             program.arena, program.lib)
            own = selfhost.run_selfhost(stage1, bundle)
            if not ref.ok or not own.ok:
                break
            ref_times.append(ref.seconds)
            own_times.append(own.seconds)
            if optimized is not None:
                fast_times.append(selfhost.run_selfhost(optimized, bundle).seconds)
        else:
            reference_total += median(ref_times)
            own_total += median(own_times)
            if fast_times:
                fast_total += median(fast_times)
    plain = round(reference_total / own_total, 2) if own_total else None
    fast = round(reference_total / fast_total, 2) if fast_total else None
    return plain, fast


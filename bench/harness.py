"""Timing helpers shared by every benchmark suite.

Suites hand in a zero-argument callable; the harness warms it up, times several runs with
`time.perf_counter_ns`, and reports medians and percentiles. Figures are plain
`dict[str, float | int | None]`: `None` means "could not be measured", never a guess.
The table printer renders those dicts for humans; `--json` prints them unchanged.
"""

from __future__ import annotations

import contextlib
import gc
import importlib.util
import io
import math
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

Figure = float | int | None
Figures = dict[str, Figure]


class BenchFailure(Exception):
    """A suite found a wrong result (e.g. a checksum mismatch); the run must exit non-zero.

    `figures` holds what was measured before the failure so it can still be reported.
    """

    def __init__(self, message: str, figures: Figures | None = None) -> None:
        super().__init__(message)
        self.figures: Figures = dict(figures or {})


def sample_ns(fn: Callable[[], Any], *, repeat: int, warmup: int = 1, pause_gc: bool = True) -> list[int]:
    """Run `fn` `warmup` times untimed, then `repeat` times timed; return nanoseconds per run.

    The collector is paused while timing (as `timeit` does) so that a collection triggered by
    earlier garbage does not land inside one sample.
    """
    for _ in range(warmup):
        fn()
    samples: list[int] = []
    gc_was_enabled = gc.isenabled()
    if pause_gc:
        gc.disable()
    try:
        clock = time.perf_counter_ns
        for _ in range(repeat):
            start = clock()
            fn()
            samples.append(clock() - start)
    finally:
        if gc_was_enabled:
            gc.enable()
    return samples


def median(values: Iterable[float]) -> float:
    """Median of a non-empty collection."""
    return float(statistics.median(list(values)))


def percentile(values: Iterable[float], q: float) -> float:
    """The q-th percentile (0..100) by the nearest-rank method: always an observed value."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of no values")
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return float(ordered[rank - 1])


def geomean(values: Iterable[float]) -> float:
    """Geometric mean of positive values."""
    items = list(values)
    if not items or any(v <= 0 for v in items):
        raise ValueError("geometric mean needs positive values")
    return math.exp(sum(math.log(v) for v in items) / len(items))


def ns_to_ms(ns: float) -> float:
    return ns / 1e6


def ns_to_us(ns: float) -> float:
    return ns / 1e3


def format_figure(value: Figure) -> str:
    """Human rendering: null as a dash, integers plain, floats to 4 significant digits."""
    if value is None:
        return "-"
    if isinstance(value, bool) or isinstance(value, int):
        return f"{value:,}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.4g}"


def format_table(sections: Mapping[str, Figures]) -> str:
    """A two-column table, one block per suite: figure name, value."""
    width = max((len(name) for figures in sections.values() for name in figures), default=10)
    lines: list[str] = []
    for suite, figures in sections.items():
        lines.append(f"== {suite} ==")
        for name, value in figures.items():
            lines.append(f"  {name.ljust(width)}  {format_figure(value).rjust(14)}")
    return "\n".join(lines)


def load_module_file(path: Path, name: str) -> ModuleType:
    """Import a Python file by path (the CPython peers of the benchmark kernels)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_python_main(module: ModuleType, size: int) -> bytes:
    """Call a peer's `main(size)` with standard output captured; the bytes it wrote."""
    raw = io.BytesIO()
    text = io.TextIOWrapper(raw, encoding="utf-8", newline="\n", write_through=True)
    with contextlib.redirect_stdout(text):
        module.main(size)
        sys.stdout.flush()
    return raw.getvalue()

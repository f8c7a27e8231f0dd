"""Smoke tests for `python -m bench`: the suites run, print one JSON object of named figures, and
the `.syn` kernels print the same checksums as their CPython peers.

No timing assertions: figures must only be positive numbers or null. The CPython kernels (the
reference the `.syn` kernels are compared against) are checked here against independent
computations.
"""

from __future__ import annotations

import importlib.util
import io
import json
import math
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
KERNEL_DIR = ROOT / "bench" / "kernels"

try:
    import synapse.compiler.driver  # noqa: F401

    HAVE_DRIVER = True
except ImportError:
    HAVE_DRIVER = False

try:
    import synapse.runtime.sandbox  # noqa: F401

    HAVE_SANDBOX = True
except ImportError:
    HAVE_SANDBOX = False

needs_driver = pytest.mark.skipif(not HAVE_DRIVER, reason="compiler driver not available")
needs_sandbox = pytest.mark.skipif(not HAVE_SANDBOX, reason="sandbox not available")

COMPILER_KEYS = ("compiler_lines_per_s", "compiler_lines", "compiler_ms_median",
                 "compiler_load_ms", "compiler_check_ms", "compiler_lower_ms", "compiler_encode_ms")
KERNEL_NAMES = ("fib", "loop_sum", "sieve", "sort", "matmul")
SANDBOX_KEYS = (
    "cold_start_us_median", "cold_start_us_p99", "isolated_evals_per_s",
    "kernels_speedup_vs_cpython_geomean", "kernels_matched",
    *(f"kernel_{name}_{figure}" for name in KERNEL_NAMES for figure in ("syn_ms", "cpython_ms", "speedup")),
)


def run_bench(*args: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    process = subprocess.run([sys.executable, "-m", "bench", "--json", "--quick", *args],
                             cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert process.returncode == 0, f"exit {process.returncode}\nstderr:\n{process.stderr}"
    figures = json.loads(process.stdout)
    assert isinstance(figures, dict)
    return process, figures


def assert_figures(figures: dict, keys: tuple[str, ...]) -> None:
    for key in keys:
        assert key in figures, f"missing figure {key}"
    for key, value in figures.items():
        if value is None:
            continue
        assert isinstance(value, (int, float)) and not isinstance(value, bool), (key, value)
        assert math.isfinite(value) and value > 0, (key, value)


@needs_driver
def test_compiler_suite_reports_named_figures() -> None:
    _, figures = run_bench("compiler")
    assert_figures(figures, COMPILER_KEYS)
    assert isinstance(figures["compiler_lines"], int) and figures["compiler_lines"] >= 500


@needs_driver
@needs_sandbox
def test_sandbox_suite_reports_figures_and_matching_checksums() -> None:
    # Exit status 0 means no kernel printed a checksum different from its CPython peer.
    _, figures = run_bench("sandbox")
    assert_figures(figures, SANDBOX_KEYS)
    measured = [name for name in KERNEL_NAMES if figures[f"kernel_{name}_syn_ms"] is not None]
    assert figures["kernels_matched"] == (len(measured) or None)
    if len(measured) == len(KERNEL_NAMES):
        assert figures["kernels_speedup_vs_cpython_geomean"] is not None


def test_unknown_suite_is_refused() -> None:
    process = subprocess.run([sys.executable, "-m", "bench", "no_such_suite"],
                             cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert process.returncode == 2
    assert "no_such_suite" in process.stderr


# --- the CPython peers, checked against independent computations ---------------------------

def python_kernel_output(name: str, size: int) -> str:
    spec = importlib.util.spec_from_file_location(f"kernel_under_test_{name}", KERNEL_DIR / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        module.main(size)
    return buffer.getvalue()


def test_every_kernel_has_both_versions() -> None:
    for name in KERNEL_NAMES:
        assert (KERNEL_DIR / f"{name}.syn").is_file(), name
        assert (KERNEL_DIR / f"{name}.py").is_file(), name


def test_fib_kernel() -> None:
    a, b = 0, 1
    for _ in range(20):
        a, b = b, a + b
    assert python_kernel_output("fib", 20) == f"{a}\n"  # fib(20) = 6765


def test_loop_sum_kernel() -> None:
    i = np.arange(100_000, dtype=np.int64)
    assert python_kernel_output("loop_sum", 100_000) == f"{int((i * i % 1_000_000_007).sum())}\n"


def test_sieve_kernel() -> None:
    n = 20_000
    primes = [p for p in range(2, n + 1) if all(p % d for d in range(2, math.isqrt(p) + 1))]
    assert len(primes) == 2262  # pi(20000), a published value
    assert python_kernel_output("sieve", n) == "2262\n"


def test_sort_kernel() -> None:
    x, values = 12345, []
    for _ in range(300):
        x = (x * 1103515245 + 12345) % 2**31
        values.append(x % 100_000)
    expected = sum((i + 1) * v for i, v in enumerate(sorted(values)))
    assert python_kernel_output("sort", 300) == f"{expected}\n"


def test_matmul_kernel() -> None:
    n = 30
    rows, cols = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    a = (rows * cols % 7) + 0.5
    b = ((rows + 2 * cols) % 5) - 1.0
    # Every product is a multiple of 0.5 well below 2**53, so any summation order is exact.
    assert python_kernel_output("matmul", n) == f"{float((a @ b).sum())!r}\n"

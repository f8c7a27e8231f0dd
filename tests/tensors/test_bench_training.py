"""`python -m bench --json --quick training` reports every figure of the training suite.

No timing assertions: only that the figures exist and are positive numbers (the suite itself
fails when the Python-driven model's losses differ from the `.syn` model's).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

from tensor_support import ROOT

KEYS = ("train_step_ratio_vs_numpy", "train_step_ratio_vs_torch", "ffi_call_us_median",
        "charlm_loss_after_bench_steps", "host_calls_per_step", "train_step_syn_ms",
        "train_step_numpy_ms")


def test_training_suite_reports_its_figures() -> None:
    process = subprocess.run([sys.executable, "-m", "bench", "--json", "--quick", "training"],
                             cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert process.returncode == 0, process.stderr
    figures = json.loads(process.stdout)
    for key in KEYS:
        value = figures[key]
        assert isinstance(value, (int, float)) and math.isfinite(value) and value > 0, key
    # A few steps from a near-uniform start: the loss is below ln 97 and above 2.
    assert 2.0 < figures["charlm_loss_after_bench_steps"] < math.log(97)

"""`python -m bench --json --quick gateway` reports the gateway's figures (no timing asserted)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

from gateway_support import ROOT


def test_gateway_bench_reports_rps_and_latency() -> None:
    done = subprocess.run([sys.executable, "-m", "bench", "--json", "--quick", "gateway"],
                          cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    for key in ("gateway_rps", "gateway_p50_ms", "gateway_p99_ms", "gateway_requests"):
        value = figures[key]
        assert isinstance(value, (int, float)) and math.isfinite(value) and value > 0, (key, value)
    assert figures["gateway_p50_ms"] <= figures["gateway_p99_ms"]
    # requests/s is the count over the measured time, which is at least the quick run's 3 s
    assert figures["gateway_rps"] <= figures["gateway_requests"] / 3.0 + 1e-6

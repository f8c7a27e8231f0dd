"""Gateway suite: requests per second and latency of `syn serve` for a trivial program.

Starts the gateway (`syn serve --port 0`, a fresh database in a temporary folder, sync "full")
and drives it from this process with `scripts/loadtest.py`'s client over loopback: a fixed
number of concurrent clients, each sending runs of a program that prints one number, back to
back, for a bounded time after a short warm-up. Server and clients are pinned to 2 cores when
the machine has more, so the figure is "on 2 cores" everywhere. Every answer is checked (status
200, run status ok, the right output, a receipt); any failure fails the suite.

Figures: `gateway_rps` (answered runs per second, each committed with its receipt before the
answer), `gateway_p50_ms` and `gateway_p99_ms` (request latency seen by the client),
`gateway_requests`, `gateway_clients`.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import sys
import tempfile
from pathlib import Path
from types import ModuleType

from bench.harness import BenchFailure, Figures

LOADTEST = Path(__file__).resolve().parents[2] / "scripts" / "loadtest.py"
CLIENTS = 16
WORKERS = 8
CORES = 2


def load_loadtest() -> ModuleType:
    name = "synapse_loadtest"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, LOADTEST)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the file executes
    spec.loader.exec_module(module)
    return module


def pin_to_cores(pid: int) -> None:
    """Keep `pid` on the first `CORES` CPUs, when the machine has more (Linux only)."""
    if not hasattr(os, "sched_getaffinity"):
        return
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) > CORES:
        os.sched_setaffinity(pid, cpus[:CORES])


def run(quick: bool) -> Figures:
    lt = load_loadtest()
    duration = 3.0 if quick else 10.0
    figures: Figures = {"gateway_rps": None, "gateway_p50_ms": None, "gateway_p99_ms": None,
                        "gateway_requests": None, "gateway_clients": CLIENTS}
    with tempfile.TemporaryDirectory(prefix="syn-bench-gateway-") as folder:
        server = lt.ServerProcess(folder, workers=WORKERS, sync="full",
                                  tenants={"bench": ["--concurrent-runs", str(CLIENTS)]})
        try:
            url = server.start()
            pin_to_cores(server.process.pid)
            pin_to_cores(0)
            keys = {"benign": server.keys["bench"]}
            warmup = lt.LoadConfig(duration_s=0.5, clients=CLIENTS, hostile=0.0,
                                   programs=("trivial",))
            measured = lt.LoadConfig(duration_s=duration, clients=CLIENTS, hostile=0.0,
                                     programs=("trivial",))
            asyncio.run(lt.run_load(url, keys, warmup))
            report = asyncio.run(lt.run_load(url, keys, measured))
        finally:
            server.stop()
    summary = report.summary()
    figures.update(gateway_rps=summary["requests_per_s"], gateway_p50_ms=summary["p50_ms"],
                   gateway_p99_ms=summary["p99_ms"], gateway_requests=summary["requests"] or None)
    if report.failed:
        raise BenchFailure(f"{report.failed} gateway requests failed: {summary['failure_kinds']}",
                           figures)
    return figures

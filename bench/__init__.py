"""Synapse benchmarks, run as `python -m bench [--json] [--quick] [SUITE ...]` from the repository root.

Each suite is a function `run(quick: bool) -> dict[str, float | int | None]` returning named
figures (medians of several runs; ratios measured against the peer in the same run; `None` when a
figure could not be measured). `SUITES` maps a suite name to "module:function"; suites are
imported only when run, so one suite's missing dependency never breaks another. Adding a suite
is one line here. Names in `ALIASES` run only when asked for by name (they repeat part of
another suite).
"""

SUITES: dict[str, str] = {
    "compiler": "bench.suites.compiler:run",
    "sandbox": "bench.suites.sandbox:run",
    "kernels_cpython": "bench.suites.sandbox:run_kernels",
    "kernels": "bench.suites.kernels:run",
    "training": "bench.suites.training:run",
    "gateway": "bench.suites.gateway:run",
    "verify": "bench.suites.verify:run",
    "bounds": "bench.suites.bounds:run",
    "bootstrap": "bench.bootstrap:run",
}

ALIASES: frozenset[str] = frozenset({"kernels_cpython"})

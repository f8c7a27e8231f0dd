"""Benchmark suites; each module exposes `run(quick: bool) -> Figures` (see `bench.SUITES`)."""

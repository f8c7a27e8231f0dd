"""Runs on several threads at once keep their outcomes apart.

wasmtime releases the GIL while Wasm runs, so runs of one Sandbox overlap (the gateway's worker
pool does this). A host trap in one run must never surface in another, and every trapping run
must still report its own trap.
"""
from __future__ import annotations

import collections
import threading

import pytest

driver = pytest.importorskip("synapse.compiler.driver")
from synapse.runtime.sandbox import Sandbox  # noqa: E402


def test_host_traps_stay_with_their_own_run() -> None:
    ok = driver.compile_source("fn main() { println(7); }\n").wasm
    bad = driver.compile_source('fn main() { panic("boom"); }\n').wasm
    sandbox = Sandbox(cache_dir=False)
    loaded = {"ok": sandbox.load(ok), "trap": sandbox.load(bad)}
    mismatches: collections.Counter = collections.Counter()

    def worker(expect: str) -> None:
        for _ in range(400):
            try:
                result = sandbox.run(loaded[expect], b"")
                seen = (result.status, result.output if expect == "ok" else result.message)
            except Exception as exc:  # noqa: BLE001 - any escape is a mismatch to report
                seen = (type(exc).__name__, str(exc))
            want = ("ok", b"7\n") if expect == "ok" else ("trap", "panic: boom")
            if seen != want:
                mismatches[(expect, seen)] += 1

    threads = [threading.Thread(target=worker, args=("ok" if i % 2 else "trap",))
               for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert not mismatches, dict(mismatches)

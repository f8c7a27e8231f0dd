"""The bootstrap reproduces itself: stage1 == stage2 == stage3, byte for byte.

stage1 is `bootstrap/main.syn` built by the reference compiler; stage2 is what stage1 builds
from the same sources, stage3 what stage2 builds. The harness's own reporting of a stage that
differs or traps is checked with stand-in stage1 compilers.
"""

from __future__ import annotations

from conftest import standin
from synapse.runtime import selfhost


def test_stage1_stage2_stage3_are_identical(stage1: bytes) -> None:
    report = selfhost.stages(stage1)
    assert report.identical, report.problem
    assert report.stage_bytes == [len(stage1)] * 3
    assert report.fuel is not None and report.fuel > 0
    assert report.peak_arena is not None and report.peak_arena > 0


def test_a_stage_that_differs_is_reported_with_the_offset() -> None:
    report = selfhost.stages(standin("echo_ok"))
    assert not report.identical
    # The stand-in prints the 8-byte empty module: it agrees with itself up to offset 8.
    assert report.problem is not None and report.problem.startswith("stage2 differs from stage1")
    assert "8" in report.problem
    assert report.stage_bytes[1] == 8


def test_a_stage_that_traps_is_reported_with_the_function() -> None:
    report = selfhost.stages(standin("trap"))
    assert not report.identical and report.problem is not None
    assert "trap" in report.problem and "main.explode" in report.problem

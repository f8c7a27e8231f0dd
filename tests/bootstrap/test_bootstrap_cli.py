"""`syn bootstrap`: the summary, the JSON report and the exit code.

The stage1 compiler is replaced by stand-ins (tests/bootstrap/standins) so the command's
reporting is tested whatever state the bootstrap is in: a stand-in that answers every program
with the empty module must be reported as a mismatch at offset 8 of each program, with exit 1.
"""

from __future__ import annotations

import json
import sys

import pytest

from conftest import standin
from synapse.runtime import cli, selfhost


@pytest.fixture
def empty_module_compiler(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(selfhost, "compile_stage1", lambda: standin("echo_ok"))


def test_mismatches_are_listed_with_offsets(empty_module_compiler: None,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["bootstrap", "--corpus-only", "examples/hello.syn", "examples/fib.syn"])
    out = capsys.readouterr().out
    assert code == 1
    assert "corpus: 2 programs compared, 0 identical, 2 mismatches" in out
    assert "MISMATCH examples/hello.syn: offset 8" in out
    assert "MISMATCH examples/fib.syn: offset 8" in out


def test_json_report(empty_module_compiler: None, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["bootstrap", "--json", "examples/hello.syn"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["identical"] is False
    assert report["corpus"]["compared"] == 1 and report["corpus"]["identical"] == 0
    assert report["corpus"]["mismatches"][0]["offset"] == 8
    assert report["stages"]["identical"] is False
    assert report["stages"]["problem"].startswith("stage2 differs from stage1")


def test_stages_only_compares_no_program(empty_module_compiler: None,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["bootstrap", "--stages-only"])
    out = capsys.readouterr().out
    assert code == 1 and "stages: NOT identical" in out and "corpus:" not in out
    assert "self-compile: peak arena" in out


def test_a_pattern_matching_nothing_is_a_usage_error(empty_module_compiler: None,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["bootstrap", "--corpus-only", "no-such-program-anywhere"]) == 2


def test_a_bootstrap_the_reference_rejects(monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    def rejected() -> bytes:
        raise selfhost.SelfhostError("the reference compiler rejects bootstrap/main.syn: E0104")
    monkeypatch.setattr(selfhost, "compile_stage1", rejected)
    assert cli.main(["bootstrap"]) == 1
    assert "rejects bootstrap/main.syn" in capsys.readouterr().out


def test_fuzz_campaign_counts_and_reports_mismatches(empty_module_compiler: None,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    sys.path.insert(0, str(selfhost.ROOT))      # bench/ is a top-level package of the repository
    from bench import bootstrap_fuzz
    assert bootstrap_fuzz.main(["--count", "4", "--seed", "7", "--mutated", "50"]) == 1
    out = capsys.readouterr().out
    assert out.count("MISMATCH seed ") == 4
    assert "compared 4 programs (seeds 7..10): 0 identical, 4 mismatches" in out

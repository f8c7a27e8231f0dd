"""The verifier's deterministic budgets (spec 11.7): what is too big ends `unknown`, quickly.

A function or an obligation that outgrows a budget must not take the verifier's memory or
time with it: its results come back `unknown`, with a reason that names the limit, and the
budgets are counts (steps of the symbolic execution, terms of a formula, Z3's resource
units), so the outcome is the same on every machine.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("z3")

from synapse.compiler import verify, verify_encode  # noqa: E402
from synapse.compiler.verify import verify_file  # noqa: E402


def branching_strings(tmp_path: Path, blocks: int) -> Path:
    """Each block compares the string built so far and extends it on either branch: merged
    values whose conditions compare merged values, the shape that made Z3's simplifier walk
    shared terms once per path through the string models' lambdas."""
    lines = ["fn f(a: str, b: str, v: Vec[i32]) -> i32 {", "    var s = a;"]
    for k in range(blocks):
        lines.append(f'    if s == "k{k}" {{ s = s + b; }} else {{ s = b + "m{k}"; }}')
    lines += ["    v[s.len()]", "}"]
    path = tmp_path / "branches.syn"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_merged_strings_stay_cheap(tmp_path: Path) -> None:
    # 24 blocks: without naming merged operands the rewriting alone took Z3 minutes and
    # gigabytes (a dozen blocks already cost 38 million resource units).
    report = verify_file(str(branching_strings(tmp_path, 24)), lib=True, replay=False)
    (ob,) = report.obligations
    assert ob.kind == "index" and ob.result in ("failed", "unknown")
    assert ob.rlimit < 3_000_000, ob.rlimit


def test_a_function_past_the_step_budget_is_unknown(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "steps.syn"
    path.write_text("fn f(v: Vec[i32], i: i32) -> i32 {\n"
                    "    var t = 0;\n    t += v[i];\n    t += v[i + 1];\n    t += v[i + 2];\n"
                    "    t\n}\n")
    monkeypatch.setattr(verify_encode, "MAX_STEPS", 10)
    report = verify_file(str(path), lib=True, replay=False)
    (ob,) = report.obligations
    assert (ob.kind, ob.result) == ("function", "unknown")
    assert ob.reason.startswith("resource limit: the function takes more than 10 steps")
    monkeypatch.setattr(verify_encode, "MAX_STEPS", 100_000)
    full = verify_file(str(path), lib=True, replay=False)
    assert [o.kind for o in full.obligations] == ["index"] * 3


def test_an_obligation_past_the_size_budget_is_unknown(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "size.syn"
    path.write_text("fn f(a: i32, b: i32) -> i32 requires b > 0 {\n"
                    "    let c = (a * 3 + b * 5 - 7) / b;\n    c\n}\n")
    monkeypatch.setattr(verify, "MAX_FORMULA_NODES", 5)
    report = verify_file(str(path), lib=True, replay=False)
    assert report.obligations
    for ob in report.obligations:
        assert ob.result == "unknown"
        assert ob.reason.startswith("resource limit: the formula has")
    monkeypatch.setattr(verify, "MAX_FORMULA_NODES", 200_000)
    again = verify_file(str(path), lib=True, replay=False)
    assert {o.result for o in again.obligations} == {"proved"}


def test_inlining_stops_at_its_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the inlining budget a call is modular: sound, but the callee's body is no longer
    known (here, that `two()` is 2)."""
    path = tmp_path / "inline.syn"
    path.write_text("fn two() -> i32 { 2 }\n"
                    "fn f() -> i32 {\n    let x = two();\n    assert x == 2;\n    x\n}\n")
    inlined = verify_file(str(path), lib=True, replay=False)
    assert [o.result for o in inlined.obligations] == ["proved"]
    monkeypatch.setattr(verify_encode, "INLINE_STEPS", 0)
    modular = verify_file(str(path), lib=True, replay=False)
    assert [o.result for o in modular.obligations] == ["failed"]

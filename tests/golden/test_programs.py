"""Golden programs: compile each `.syn` entry program, run it in the sandbox, compare outcomes.

Corpus: `tests/programs/**/*.syn` and `examples/*.syn`, expectations inline (see tests/golden_support.py).
Each program must compile, validate as Wasm, compile to identical bytes twice, and then produce
exactly the expected stdout and the expected outcome (ok, trap message substring, exhausted kind).
"""
from __future__ import annotations

from pathlib import Path

import pytest


import golden_support as helpers  # noqa: E402  (tests/ is on the path: pyproject)
ROOT = helpers.ROOT
PROGRAMS = ROOT / "tests" / "programs"
EXAMPLES = ROOT / "examples"

if not helpers.driver_available():
    pytest.skip("compiler driver not available", allow_module_level=True)

import wasmtime  # noqa: E402
from synapse.compiler.driver import compile_file  # noqa: E402
from synapse.runtime.sandbox import DEFAULT_FUEL, run_module  # noqa: E402


def entry_programs() -> list[Path]:
    found = [p for p in sorted(PROGRAMS.rglob("*.syn")) if not helpers.is_helper_module(p)]
    return found + sorted(EXAMPLES.glob("*.syn"))


def program_id(path: Path) -> str:
    if path.is_relative_to(PROGRAMS):
        return path.relative_to(PROGRAMS).as_posix()
    return path.relative_to(ROOT).as_posix()


@pytest.fixture(autouse=True)
def at_root(monkeypatch):
    # Paths are passed relative to the repository root so file names in messages stay relative.
    monkeypatch.chdir(ROOT)


@pytest.mark.parametrize("path", entry_programs(), ids=program_id)
def test_program(path: Path) -> None:
    exp = helpers.parse_expectations(path.read_text(encoding="utf-8"))
    assert not exp.errors, "golden programs must compile; diagnostics tests go in tests/errors"
    rel = path.relative_to(ROOT).as_posix()

    result = compile_file(rel, arena=exp.arena)
    assert result.ok and result.wasm is not None, helpers.render_diagnostics(result)
    wasmtime.Module.validate(wasmtime.Engine(), result.wasm)
    assert compile_file(rel, arena=exp.arena).wasm == result.wasm, "compilation is not deterministic"

    run = run_module(result.wasm, exp.stdin, fuel=exp.fuel if exp.fuel is not None else DEFAULT_FUEL)
    if exp.exhausted:
        assert (run.status, run.exhausted) == ("exhausted", exp.exhausted), run.message
    elif exp.trap:
        assert run.status == "trap", f"expected a trap, got {run.status}: {run.message}"
        assert exp.trap in (run.message or ""), run.message
    else:
        assert run.status == "ok", f"{run.status}: {run.message} in {run.function}"
    assert run.output.decode("utf-8", "replace") == exp.stdout.decode()


def _optimizer():
    from synapse.compiler import optimize
    return optimize if optimize.optimizer_available() else None


@pytest.mark.parametrize("path", entry_programs(), ids=program_id)
def test_program_validates_with_binaryen_and_runs_the_same_optimized(path: Path) -> None:
    """Every module is valid for binaryen too, and `-O` changes speed, never behaviour."""
    optimize = _optimizer()
    if optimize is None:
        pytest.skip("binaryen (the `opt` extra) is not installed")
    exp = helpers.parse_expectations(path.read_text(encoding="utf-8"))
    rel = path.relative_to(ROOT).as_posix()
    plain = compile_file(rel, arena=exp.arena).wasm
    assert optimize.validate_with_binaryen(plain)
    optimized = compile_file(rel, arena=exp.arena, optimize=True).wasm
    assert optimized is not None and optimize.validate_with_binaryen(optimized)
    fuel = exp.fuel if exp.fuel is not None else DEFAULT_FUEL
    before = run_module(plain, exp.stdin, fuel=fuel)
    after = run_module(optimized, exp.stdin, fuel=fuel)
    assert (after.status, after.output) == (before.status, before.output)
    if before.status == "trap":
        assert after.message == before.message
    if before.status == "exhausted" and before.exhausted != "fuel":
        assert after.exhausted == before.exhausted

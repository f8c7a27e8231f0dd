"""Compiled programs agree with the reference evaluator (LANGUAGE.md "Semantics").

Each example is a random well-typed program from `gen_programs.programs()`; it is compiled with
`compile_source`, validated by wasmtime, run in the sandbox, and its stdout and trap compared with
what `evaluator.evaluate` computed from the same AST. Compiling the same source twice must give
the same bytes. Set HYPOTHESIS_PROFILE=long for twenty times the examples.
"""

from __future__ import annotations

import pytest

try:
    from synapse.compiler.driver import compile_source
    from synapse.runtime.sandbox import run_module
except ImportError:
    pytest.skip("compiler driver not available", allow_module_level=True)

import wasmtime
from hypothesis import HealthCheck, given, settings

from gen_programs import (
    GeneratedProgram, example_count, outcome_problem, programs, seeded_programs,
)

FUEL = 10**8
ENGINE = wasmtime.Engine()
SETTINGS = dict(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)


def compile_valid(source: str) -> bytes:
    """Compile a generated program, which must be accepted, and check wasmtime validates it."""
    result = compile_source(source)
    rendered = "\n".join(d.render(result.sources.get(d.span.file)) for d in result.diagnostics)
    assert result.ok and result.wasm is not None, f"rejected:\n{rendered}\nin program:\n{source}"
    wasmtime.Module.validate(ENGINE, result.wasm)
    return result.wasm


def check_against_evaluator(generated: GeneratedProgram) -> None:
    run = run_module(compile_valid(generated.source), fuel=FUEL)
    problem = outcome_problem(generated.expected, run)
    assert problem is None, f"{problem}\nin program:\n{generated.source}"


@settings(max_examples=example_count(300), **SETTINGS)
@given(seeded_programs())
def test_program_output_matches_evaluator(generated: GeneratedProgram) -> None:
    check_against_evaluator(generated)


@settings(max_examples=example_count(40), **SETTINGS)
@given(programs())
def test_shrinkable_program_output_matches_evaluator(generated: GeneratedProgram) -> None:
    """The same law through the shrinking strategy: a failure here reduces to a small program."""
    check_against_evaluator(generated)


@settings(max_examples=example_count(100), **SETTINGS)
@given(seeded_programs(deliberate_trap=True))
def test_deliberate_traps_match_evaluator(generated: GeneratedProgram) -> None:
    """Programs ending in a division by zero, MIN / -1, MIN % -1 or a bad float->int cast."""
    check_against_evaluator(generated)


@settings(max_examples=example_count(60), **SETTINGS)
@given(seeded_programs())
def test_compiling_twice_gives_identical_bytes(generated: GeneratedProgram) -> None:
    assert compile_valid(generated.source) == compile_valid(generated.source)

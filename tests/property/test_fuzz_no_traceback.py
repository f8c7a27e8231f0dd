"""Robustness: no input makes the compiler raise; every rejection is a well-formed diagnostic.

The property, for every input: `compile_source` returns a CompileResult. When it is not ok, each
diagnostic has a code `E` + four digits, a line inside the file and a column >= 1, and renders
without raising; when it is ok, wasmtime validates the module. Inputs: random bytes and printable
text, truncations and token-level mutations of the golden corpus and of generated programs,
nesting thousands deep, huge literals, NUL bytes, invalid UTF-8 (through `compile_file`) and very
long lines. Deeply nested inputs run in a child process, so that a native stack overflow fails
one test instead of the whole session. The `syn check` command line is fuzzed through a
subprocess too. Loops stop early when they pass their time budget.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import random
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Callable

import pytest

try:
    from synapse.compiler.driver import compile_file, compile_source
except ImportError:
    pytest.skip("compiler driver not available", allow_module_level=True)

import wasmtime
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gen_programs import (
    INVALID_UTF8_INPUTS, corpus_sources, deep_nesting_inputs, diagnostic_problems, example_count,
    generate_from_seed, huge_literal_inputs, line_count_of, mutate_tokens, random_printable,
    truncate,
)

ENGINE = wasmtime.Engine()
HERE = Path(__file__).resolve().parent
LOOP_BUDGET_S = 10.0
SETTINGS = dict(deadline=None, suppress_health_check=list(HealthCheck))


def compile_problems(text: str) -> list[str]:
    """Everything wrong with how the compiler handled `text`; empty when it behaved."""
    try:
        result = compile_source(text)
    except Exception:  # noqa: BLE001 -- raising is the failure being looked for
        return [f"compile_source raised:\n{traceback.format_exc()}"]
    return result_problems(result, line_count_of(text))


def result_problems(result: object, line_count: int) -> list[str]:
    if getattr(result, "ok"):
        try:
            wasmtime.Module.validate(ENGINE, result.wasm)  # type: ignore[attr-defined]
        except Exception as error:  # noqa: BLE001
            return [f"accepted, but the module does not validate: {error}"]
        return []
    return diagnostic_problems(result, line_count)


def assert_behaves(text: str) -> None:
    problems = compile_problems(text)
    assert not problems, f"input {text[:400]!r}...:\n" + "\n".join(problems)


def run_budgeted(count: int, make_input: Callable[[random.Random], str]) -> int:
    """Check `count` inputs from a seeded generator, stopping early past the time budget."""
    rng = random.Random(20240601)
    deadline = time.monotonic() + LOOP_BUDGET_S
    done = 0
    for _ in range(count):
        if time.monotonic() > deadline:
            break
        assert_behaves(make_input(rng))
        done += 1
    return done


@functools.cache
def valid_programs() -> list[str]:
    return corpus_sources() + [generate_from_seed(seed).source for seed in range(40)]


# -- random inputs ----------------------------------------------------------------------------


@settings(max_examples=example_count(400), **SETTINGS)
@given(st.binary(max_size=400))
def test_random_bytes(data: bytes) -> None:
    assert_behaves(data.decode("utf-8", errors="replace"))
    assert_behaves(data.decode("latin-1"))


@settings(max_examples=example_count(400), **SETTINGS)
@given(st.text(max_size=300))
def test_random_text(text: str) -> None:
    assert_behaves(text)


def test_random_syntax_characters() -> None:
    assert run_budgeted(example_count(500), random_printable) > 50


# -- damaged valid programs -------------------------------------------------------------------


def test_truncated_programs() -> None:
    sources = valid_programs()
    assert run_budgeted(example_count(600), lambda rng: truncate(rng.choice(sources), rng)) > 50


def test_token_mutations() -> None:
    sources = valid_programs()
    assert run_budgeted(example_count(1500), lambda rng: mutate_tokens(rng.choice(sources), rng)) > 100


def test_nul_bytes_and_long_lines_in_valid_programs() -> None:
    for source in valid_programs()[:20]:
        middle = len(source) // 2
        assert_behaves(source[:middle] + "\0" + source[middle:])
        assert_behaves(source.replace("\n", " " * 50 + "\n"))
        assert_behaves(source.replace("\n", " "))  # one long line (line comments swallow the rest)


@pytest.mark.parametrize("name", sorted(huge_literal_inputs()))
def test_huge_literals_and_long_lines(name: str) -> None:
    assert_behaves(huge_literal_inputs()[name])


# -- invalid UTF-8 goes through the file entry point -----------------------------------------


@pytest.mark.parametrize("name", sorted(INVALID_UTF8_INPUTS))
def test_invalid_utf8_file(tmp_path: Path, name: str) -> None:
    data = INVALID_UTF8_INPUTS[name]
    path = tmp_path / "main.syn"
    path.write_bytes(data)
    try:
        result = compile_file(str(path))
    except Exception:  # noqa: BLE001
        pytest.fail(f"compile_file raised on {data!r}:\n{traceback.format_exc()}")
    problems = result_problems(result, line_count_of(data))
    assert not problems, "\n".join(problems)
    assert not result.ok
    assert "E0005" in [d.code for d in result.diagnostics]


def test_invalid_utf8_position_is_first_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "main.syn"
    path.write_bytes(INVALID_UTF8_INPUTS["lone_continuation"])  # "    // caf" is 10 bytes
    result = compile_file(str(path))
    spans = [(d.span.line, d.span.col) for d in result.diagnostics if d.code == "E0005"]
    assert spans == [(2, 11)]


# -- deep nesting, in a child process ---------------------------------------------------------

# Compiles each input and reports the problems found, so that a crash of the interpreter itself
# (a C stack overflow) shows up as a failed test rather than the end of the test session.
DEEP_CHILD = r"""
import json, sys, traceback
sys.path.insert(0, sys.argv[1])
from synapse.compiler.driver import compile_source
from test_fuzz_no_traceback import compile_problems
report = {}
for name, text in json.load(sys.stdin).items():
    report[name] = compile_problems(text)
json.dump(report, sys.stdout)
"""


def test_deep_nesting_does_not_crash() -> None:
    inputs = deep_nesting_inputs()
    completed = subprocess.run(
        [sys.executable, "-c", DEEP_CHILD, str(HERE)], input=json.dumps(inputs),
        capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, f"child died ({completed.returncode}):\n{completed.stderr[-3000:]}"
    report = json.loads(completed.stdout)
    failures = {name: problems for name, problems in report.items() if problems}
    assert not failures, json.dumps(failures, indent=1)[:5000]


# -- the command line -------------------------------------------------------------------------


@functools.cache
def cli_garbage_files() -> dict[str, bytes]:
    rng = random.Random(7)
    deep = deep_nesting_inputs(3000)
    return {
        "random_bytes.syn": bytes(rng.randrange(256) for _ in range(300)),
        "printable.syn": random_printable(rng, 400).encode(),
        "invalid_utf8.syn": INVALID_UTF8_INPUTS["lone_continuation"],
        "nul.syn": huge_literal_inputs()["nul_bytes"].encode(),
        "parens.syn": deep["parens"].encode(),
        "blocks.syn": deep["blocks"].encode(),
        "mutated.syn": mutate_tokens(valid_programs()[0], rng).encode(),
        "empty.syn": b"",
    }


@pytest.mark.skipif(
    importlib.util.find_spec("synapse.runtime.__main__") is None, reason="syn command line not available"
)
@pytest.mark.parametrize("name", sorted(cli_garbage_files()))
def test_cli_check_reports_without_traceback(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(cli_garbage_files()[name])
    completed = subprocess.run(
        [sys.executable, "-m", "synapse.runtime", "check", name], cwd=tmp_path,
        capture_output=True, text=True, errors="replace", timeout=120,
    )
    assert "Traceback" not in completed.stderr, completed.stderr[-3000:]
    assert completed.returncode in (0, 1), (completed.returncode, completed.stderr[-2000:])

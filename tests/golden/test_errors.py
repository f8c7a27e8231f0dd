"""Diagnostics corpus: each `tests/errors` program must fail to compile with the stated codes.

Entry points are `tests/errors/*.syn` and `tests/errors/<case>/main.syn` (the other files of a
case folder are its modules). Expectations come from `// error:` lines and, for files that cannot
hold a readable comment (invalid UTF-8), from `tests/errors/manifest.json`'s "errors" field.
Checks: every expected (code, line, col) is reported, the first diagnostic is the first expected,
no Python exception escapes, and each rendering shows `file:line:col`, the code and a caret.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest


import golden_support as helpers  # noqa: E402  (tests/ is on the path: pyproject)
ROOT = helpers.ROOT
ERRORS = ROOT / "tests" / "errors"
MANIFEST = json.loads((ERRORS / "manifest.json").read_text(encoding="utf-8"))

if not helpers.driver_available():
    pytest.skip("compiler driver not available", allow_module_level=True)

from synapse.compiler.driver import compile_file  # noqa: E402


def error_programs() -> list[Path]:
    return sorted(ERRORS.glob("*.syn")) + sorted(ERRORS.glob("*/main.syn"))


def expected_errors(path: Path) -> list:
    text = path.read_bytes().decode("utf-8", "replace")
    errors = helpers.parse_expectations(text).errors
    entry = MANIFEST["files"].get(path.relative_to(ROOT).as_posix(), {})
    errors += [helpers.parse_error(e) for e in entry.get("errors", [])]
    return errors


def matches(expected, diag, entry_name: str) -> bool:
    file = expected.file or entry_name
    if expected.code != diag.code or Path(diag.span.file).name != file:
        return False
    return expected.line is None or (expected.line, expected.col) == (diag.span.line, diag.span.col)


@pytest.fixture(autouse=True)
def at_root(monkeypatch):
    monkeypatch.chdir(ROOT)


@pytest.mark.parametrize("path", error_programs(), ids=lambda p: p.relative_to(ERRORS).as_posix())
def test_error_program(path: Path) -> None:
    expected = expected_errors(path)
    assert expected, "no `// error:` expectation"
    rel = path.relative_to(ROOT).as_posix()
    try:
        result = compile_file(rel)
    except Exception as exc:  # the compiler must report, never crash
        pytest.fail(f"compile_file raised {type(exc).__name__}: {exc}")

    assert result.wasm is None and not result.ok
    got = [(d.code, d.span.file, d.span.line, d.span.col) for d in result.diagnostics]
    for exp in expected:
        assert any(matches(exp, d, path.name) for d in result.diagnostics), f"{exp} not in {got}"
    assert matches(expected[0], result.diagnostics[0], path.name), f"first is {got[0]}, want {expected[0]}"


@pytest.mark.parametrize("path", error_programs(), ids=lambda p: p.relative_to(ERRORS).as_posix())
def test_error_rendering(path: Path) -> None:
    result = compile_file(path.relative_to(ROOT).as_posix())
    for diag in result.diagnostics:
        source = result.sources.get(diag.span.file)
        text = diag.render(source)
        assert f"{diag.span.file}:{diag.span.line}:{diag.span.col}" in text
        assert diag.code in text
        if source is not None:  # no source line to point at when the file could not be decoded
            assert "^" in text


def test_a_control_character_in_the_source_is_shown_escaped_with_the_caret_under_the_span() -> None:
    from synapse.compiler.diagnostics import Diagnostic, Span
    # The error is after a comment holding ESC [ 2 J (clear screen): the snippet shows it
    # escaped (4 characters for 1), and the caret still stands under the span.
    source = "fn main() {\n    /*\x1b[2J*/ let x: i32 = \"no\";\n}\n"
    col = source.split("\n")[1].index('"no"') + 1
    diag = Diagnostic("E0201", "type mismatch", Span("m.syn", 2, col, 2, col + 4))
    header, line, caret = diag.render(source).split("\n")
    assert "\x1b" not in line and "/*\\x1b[2J*/" in line
    assert line.index('"no"') == caret.index("^") and caret.count("^") == 4

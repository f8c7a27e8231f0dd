"""bootstrap/loader.syn against compiler/loader.py, with a stand-in parser.

`standins/parse.syn` finds the `import` lines of a file (and reports E0002 at a `@`), so the
self-hosted loader runs before the real parser exists. `standins/load_main.syn` loads the
bundle and prints what was loaded; the test rebuilds the same lines from the reference
loader's `LoadedProgram` (or its diagnostics) and compares: module order, the file of each
module, the import aliases, the display names, the sources (by byte length), and the
diagnostics E0005 / E0102 / E0104 / E0105 at their (file, line, col).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import build_with_standin_parser
from synapse.compiler.diagnostics import CompileError
from synapse.compiler.loader import load_program
from synapse.runtime import selfhost
from synapse.runtime.sandbox import run_module

CASES = selfhost.ROOT / "tests" / "bootstrap" / "loader_cases"
CASE_NAMES = sorted(p.name for p in CASES.iterdir() if (p / "main.syn").is_file())


@pytest.fixture(scope="module")
def loader_driver(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return build_with_standin_parser("load_main", tmp_path_factory.mktemp("loader"))


def reference_lines(entry: str, arena: int = -1, lib: bool = False) -> list[str]:
    """What load_main.syn must print, computed from compiler/loader.py."""
    lines = [f"arena {arena} lib {'true' if lib else 'false'}"]
    with selfhost.at_root():
        try:
            loaded = load_program(entry)
        except CompileError as err:
            return lines + [f"error {d.code} {d.span.file} {d.span.line} {d.span.col}"
                            for d in err.diagnostics]
    lines += [f"module {name} {module.file}" for name, module in loaded.modules.items()]
    lines += [f"import {name} {alias} {target}"
              for name, aliases in loaded.imports.items() for alias, target in aliases.items()]
    lines += [f"display {file} {shown}" for file, shown in loaded.display.items()]
    lines += [f"source {file} {len(text.encode())}" for file, text in loaded.sources.items()]
    return lines


def selfhosted_lines(driver: bytes, bundle: bytes) -> list[str]:
    run = run_module(driver, bundle)
    assert run.status == "ok", f"{run.message} in {run.function}"
    return run.output.decode().splitlines()


def test_there_are_cases() -> None:
    assert {"nested", "cycle", "missing", "twice", "bad_utf8", "syntax"} <= set(CASE_NAMES)


@pytest.mark.parametrize("case", CASE_NAMES)
def test_loader_matches_the_reference(loader_driver: bytes, case: str) -> None:
    entry = f"tests/bootstrap/loader_cases/{case}/main.syn"
    with selfhost.at_root():
        bundle = selfhost.bundle_for(entry)
    assert selfhosted_lines(loader_driver, bundle) == reference_lines(entry)


def test_header_options_reach_the_bundle(loader_driver: bytes) -> None:
    entry = "tests/bootstrap/loader_cases/nested/main.syn"
    with selfhost.at_root():
        bundle = selfhost.bundle_for(entry, arena=131072, lib=True)
    assert selfhosted_lines(loader_driver, bundle)[0] == "arena 131072 lib true"


def test_invalid_utf8_in_the_entry_file(loader_driver: bytes, tmp_path: Path) -> None:
    # Lines counted from 1, the column in bytes from 1: the lone 0xff is byte 3 of line 2.
    data = b"fn main() {\n  \xff\n}\n"
    bundle = selfhost.encode_record("bad.syn", data) + selfhost.encode_record(
        "prelude.syn", selfhost.PRELUDE_PATH.read_bytes())
    assert selfhosted_lines(loader_driver, bundle)[1:] == ["error E0005 bad.syn 2 3"]


@pytest.mark.parametrize("data, line, col", [
    (b"ok \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", None, None),     # 2-, 3- and 4-byte forms
    (b"a\xc0\x80", 1, 2),            # overlong NUL
    (b"ab\xe0\x80\x80", 1, 3),       # overlong 3-byte form
    (b"\xed\xa0\x80", 1, 1),         # a surrogate
    (b"x\n\xf4\x90\x80\x80", 2, 1),  # past U+10FFFF
    (b"\n\nabc\xe2\x82", 3, 4),      # cut short at the end
    (b"\x80", 1, 1),                 # a lone continuation byte
    (b"\xf5\x80\x80\x80", 1, 1),     # never a lead byte
])
def test_utf8_validation_agrees_with_python(loader_driver: bytes, data: bytes,
                                            line: int | None, col: int | None) -> None:
    try:
        data.decode("utf-8")
        expected: list[str] = []
    except UnicodeDecodeError as err:
        before = data[:err.start]
        newline = b"\n"
        at_line = before.count(newline) + 1
        at_col = err.start - (before.rfind(newline) + 1) + 1
        expected = [f"error E0005 bad.syn {at_line} {at_col}"]
        assert expected == [f"error E0005 bad.syn {line} {col}"]
    bundle = selfhost.encode_record("bad.syn", data) + selfhost.encode_record(
        "prelude.syn", selfhost.PRELUDE_PATH.read_bytes())
    lines = selfhosted_lines(loader_driver, bundle)[1:]
    assert [x for x in lines if x.startswith("error")] == expected


@pytest.mark.parametrize("bundle, problem", [
    (b"", "no entry file"),
    (b"a.syn\n3\nabc", "no prelude.syn record"),
    (b"a.syn\n30\nabc", "record cut short"),
    (b"a.syn\nx1\nabc", "bad record length"),
    (b"a.syn", "record name without a newline"),
    (b"#syn-bundle arena=5", "header line without a newline"),
])
def test_malformed_bundles_are_refused(loader_driver: bytes, bundle: bytes, problem: str) -> None:
    lines = selfhosted_lines(loader_driver, bundle)
    assert len(lines) == 1 and lines[0].startswith("problem " + problem), lines

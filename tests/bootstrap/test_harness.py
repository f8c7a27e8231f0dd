"""The self-hosted compiler's harness (runtime/selfhost.py), tested without the bootstrap.

Checked: the bundle ABI (records, header, the names beside files and stdlib files get, the
same set of files the reference loader reads); the output frame reader; running a stand-in
compiler (a success frame, an error frame, a trap reported with its function, fuel
exhaustion); the judgement of a comparison; the corpus listing and the skip-list reader.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import STANDINS, standin
from synapse.compiler.loader import load_program
from synapse.runtime import selfhost
from synapse.runtime.selfhost import Diag, ReferenceResult, SelfhostResult

ROOT = selfhost.ROOT
CASES = "tests/bootstrap/loader_cases"
EMPTY_MODULE = b"\0asm\x01\0\0\0"


# -- the bundle ------------------------------------------------------------------------------

def test_record_is_path_length_bytes() -> None:
    assert selfhost.encode_record("a/b.syn", b"xy\nz") == b"a/b.syn\n4\nxy\nz"
    assert selfhost.encode_record("e.syn", b"") == b"e.syn\n0\n"


def test_header_only_when_an_option_is_set() -> None:
    assert selfhost.bundle_header(None, False) == b""
    assert selfhost.bundle_header(65536, False) == b"#syn-bundle arena=65536\n"
    assert selfhost.bundle_header(None, True) == b"#syn-bundle lib=1\n"
    assert selfhost.bundle_header(131072, True) == b"#syn-bundle arena=131072 lib=1\n"


def test_bundle_of_text_starts_with_the_entry_then_the_prelude() -> None:
    data = selfhost.bundle_for("example.syn", "fn main() {\n}\n")
    first = b"example.syn\n14\nfn main() {\n}\n"
    assert data.startswith(first)
    prelude = (ROOT / "compiler" / "prelude.syn").read_bytes()
    assert data[len(first):] == selfhost.encode_record("prelude.syn", prelude)


def test_bundle_round_trips_with_header() -> None:
    data = selfhost.bundle_for("x.syn", "import strings;\nfn main() {\n}\n", arena=1 << 20,
                               lib=True)
    options, files = selfhost.parse_bundle(data)
    assert options == {"arena": str(1 << 20), "lib": "1"}
    assert list(files)[:2] == ["x.syn", "prelude.syn"]
    assert files["stdlib/strings.syn"] == (ROOT / "stdlib" / "strings.syn").read_bytes()


def test_import_scan_is_permissive() -> None:
    text = b"import a;\n// import b.c;\nlet s = \"import  d . e ;\";\nimportx f;"
    assert selfhost.imported_paths(text) == [("a",), ("b", "c"), ("d", "e")]


@pytest.mark.parametrize("case", ["nested", "stdlib_nested", "twice", "missing", "cycle"])
def test_bundle_holds_every_file_the_reference_loader_reads(case: str) -> None:
    entry = f"{CASES}/{case}/main.syn"
    with selfhost.at_root():
        files = selfhost.bundle_files(entry)
        try:
            read = set(load_program(entry).sources)
        except Exception as err:           # rejected programs: the files read before stopping
            read = set(getattr(err, "sources", {}) or {})
    assert read <= set(files)
    for name in files:
        if name != "prelude.syn":
            assert name.startswith(("stdlib/", f"{CASES}/{case}/")), name


def test_beside_files_are_named_by_joining_the_importers_folder() -> None:
    with selfhost.at_root():
        files = selfhost.bundle_files(f"{CASES}/nested/main.syn")
        loaded = load_program(f"{CASES}/nested/main.syn")
    # sub/helper.syn's `import util;` finds sub/util.syn beside it (listed, though the
    # loader never reads it: `util` is loaded already from main's folder).
    assert f"{CASES}/nested/sub/util.syn" in files
    assert f"{CASES}/nested/sub/deep.syn" in files
    assert "stdlib/math.syn" in files and "stdlib/strings.syn" in files
    assert set(loaded.sources) <= set(files)


def test_stdlib_files_are_found_whatever_the_working_directory(tmp_path: Path) -> None:
    entry = tmp_path / "main.syn"
    entry.write_text("import sort;\nfn main() {\n}\n")
    before = os.getcwd()
    os.chdir(tmp_path)
    try:
        files = selfhost.bundle_files("main.syn")
    finally:
        os.chdir(before)
    assert files["stdlib/sort.syn"] == (ROOT / "stdlib" / "sort.syn").read_bytes()


def test_stdlib_modules_importing_their_neighbours_get_stdlib_names() -> None:
    with selfhost.at_root():
        files = selfhost.bundle_files(f"{CASES}/stdlib_nested/main.syn")
        loaded = load_program(f"{CASES}/stdlib_nested/main.syn")
    assert "stdlib/nn/gpt.syn" in files and "stdlib/optim/adamw.syn" in files
    assert set(loaded.sources) <= set(files)


# -- the output frame ------------------------------------------------------------------------

def test_ok_frame() -> None:
    frame = selfhost.parse_frame(b"ok 1234 8\n" + EMPTY_MODULE)
    assert (frame.wasm, frame.arena_used, frame.problem) == (EMPTY_MODULE, 1234, None)


def test_error_frame() -> None:
    frame = selfhost.parse_frame(
        b"error 99 2\nE0201\ta.syn\t3\t7\t3\t9\tmismatched types\n"
        b"E0104\tb.syn\t1\t8\t1\t12\tmodule\t'x'\n")
    assert frame.problem is None and frame.wasm is None and frame.arena_used == 99
    assert frame.diagnostics == [Diag("E0201", "a.syn", 3, 7, 3, 9, "mismatched types"),
                                 Diag("E0104", "b.syn", 1, 8, 1, 12, "module\t'x'")]


@pytest.mark.parametrize("output", [
    b"", b"hello\n", b"ok 1 9\n" + EMPTY_MODULE, b"ok x 8\n" + EMPTY_MODULE,
    b"error 0 2\nE0201\ta\t1\t1\t1\t2\tm\n", b"error 0 1\nE0201\ta\t1\t1\n",
])
def test_malformed_frames_are_reported(output: bytes) -> None:
    frame = selfhost.parse_frame(output)
    assert frame.problem is not None and frame.wasm is None and not frame.diagnostics


# -- running stand-in compilers --------------------------------------------------------------

def test_standin_success_frame() -> None:
    result = selfhost.run_selfhost(standin("echo_ok"), selfhost.bundle_for("e.syn", "x"))
    assert result.status == "ok" and result.wasm == EMPTY_MODULE
    assert result.arena_used is not None and result.arena_used > 0
    assert result.fuel_used > 0 and result.seconds > 0


def test_standin_error_frame_names_the_entry_record() -> None:
    result = selfhost.run_selfhost(standin("error_frame"), selfhost.bundle_for("dir/e.syn", "x"))
    assert result.status == "rejected" and result.wasm is None
    assert [d.key for d in result.diagnostics] == [("E0201", 3, 7), ("E0104", 1, 8)]
    assert result.diagnostics[1].file == "dir/e.syn"
    assert result.diagnostics[1].message == "module\\t'x' not found"


def test_trap_inside_the_compiler_is_reported_with_its_function() -> None:
    result = selfhost.run_selfhost(standin("trap"), selfhost.bundle_for("e.syn", "abc"))
    assert result.status == "trap" and result.wasm is None
    assert "index out of bounds" in (result.message or "")
    assert result.function == "main.explode"
    assert "main.explode" in result.describe()


def test_exhaustion_inside_the_compiler_is_reported() -> None:
    result = selfhost.run_selfhost(standin("spin"), b"x", fuel=2_000_000)
    assert result.status == "exhausted" and result.exhausted == "fuel"
    assert result.function == "main.spin"


def test_compare_with_a_wrong_compiler_names_the_first_difference() -> None:
    program = selfhost.Program("hello", "examples/hello.syn")
    made = selfhost.compare(program, standin("echo_ok"))
    assert not made.identical and made.outcome == "mismatch"
    # The stand-in's module is the reference's first 8 bytes (magic, version) and no more.
    assert made.offset == 8
    assert "8" in made.detail


def test_compare_with_a_trapping_compiler_is_a_mismatch() -> None:
    made = selfhost.compare(selfhost.Program("hello", "examples/hello.syn"), standin("trap"))
    assert not made.identical and "trap" in made.detail and "main.explode" in made.detail


# -- judging ---------------------------------------------------------------------------------

def _own(status: str, wasm: bytes | None = None, diags: list[Diag] | None = None) -> SelfhostResult:
    return SelfhostResult(status, wasm, diags or [], 100, 10, 0.01)


def _diag(code: str, line: int, col: int, message: str = "m") -> Diag:
    return Diag(code, "f.syn", line, col, line, col + 1, message)


def test_same_bytes_are_identical() -> None:
    made = selfhost.compare_outcomes("p", ReferenceResult(b"abc", [], 0.1), _own("ok", b"abc"))
    assert made.identical and made.outcome == "same-bytes"


def test_different_bytes_give_the_first_offset() -> None:
    made = selfhost.compare_outcomes("p", ReferenceResult(EMPTY_MODULE + b"\x01\x04",
                                                          [], 0.1),
                                     _own("ok", EMPTY_MODULE + b"\x01\x05"))
    assert not made.identical and made.offset == 9


def test_same_errors_ignore_messages_but_not_order() -> None:
    ref = ReferenceResult(None, [_diag("E0201", 3, 7, "one"), _diag("E0202", 4, 1)], 0.1)
    same = selfhost.compare_outcomes("p", ref, _own("rejected", None,
                                                    [_diag("E0201", 3, 7, "other"),
                                                     _diag("E0202", 4, 1)]))
    assert same.identical and same.outcome == "same-errors"
    swapped = selfhost.compare_outcomes("p", ref, _own("rejected", None,
                                                       [_diag("E0202", 4, 1),
                                                        _diag("E0201", 3, 7)]))
    assert not swapped.identical and "both reject" in swapped.detail
    moved = selfhost.compare_outcomes("p", ref, _own("rejected", None,
                                                     [_diag("E0201", 3, 8),
                                                      _diag("E0202", 4, 1)]))
    assert not moved.identical


def test_accept_versus_reject_is_a_mismatch() -> None:
    made = selfhost.compare_outcomes("p", ReferenceResult(b"abc", [], 0.1),
                                     _own("rejected", None, [_diag("E0201", 1, 1)]))
    assert not made.identical and "self-hosted rejects" in made.detail
    made = selfhost.compare_outcomes("p", ReferenceResult(None, [_diag("E0201", 1, 1)], 0.1),
                                     _own("ok", b"abc"))
    assert not made.identical and "self-hosted accepts" in made.detail


def test_difference_names_the_section_and_function() -> None:
    from synapse.compiler.driver import compile_source
    source = "fn f() -> i32 {\n    1\n}\n\nfn main() {\n    println(f());\n}\n"
    a = compile_source(source).wasm
    b = compile_source(source.replace("    1\n", "    2\n")).wasm
    assert a is not None and b is not None
    offset = selfhost.first_differing_offset(a, b)
    assert offset is not None and a[offset] != b[offset] and a[:offset] == b[:offset]
    assert "code section, function" in selfhost.first_difference(a, b)
    assert "main.f" in selfhost.first_difference(a, b)
    assert selfhost.first_difference(a, a) == "identical"
    assert selfhost.first_differing_offset(a, a + b"x") == len(a)


# -- the corpus and the skip list ------------------------------------------------------------

def test_corpus_lists_every_kind_of_program() -> None:
    programs = selfhost.corpus()
    ids = [p.id for p in programs]
    assert len(ids) == len(set(ids))
    by_id = {p.id: p for p in programs}
    assert "examples/hello.syn" in by_id
    assert by_id["stdlib/strings.syn"].lib and by_id["stdlib/nn/gpt.syn"].lib
    assert by_id["stdlib/optim/adamw.syn"].lib
    assert not by_id["bootstrap/main.syn"].lib and by_id["bootstrap/loader.syn"].lib
    assert any(i.startswith("tests/errors/") and i.endswith("/main.syn") for i in ids)
    assert any(i.startswith("tests/programs/") for i in ids)
    spec = [p for p in programs if p.id.startswith("spec/")]
    assert spec and all(p.path == "example.syn" and p.text for p in spec)
    # Imported helper modules of the golden programs are not programs of their own.
    assert not any("/lib/" in i for i in ids if i.startswith("tests/programs/"))


def test_corpus_arena_comes_from_the_arena_directive() -> None:
    by_id = {p.id: p for p in selfhost.corpus()}
    program = by_id["tests/programs/memory/arena_from_compiler_option.syn"]
    text = (ROOT / program.path).read_text()
    assert "// arena: 256 KiB" in text and program.arena == 256 * 1024


def test_select_by_pattern() -> None:
    programs = selfhost.corpus()
    chosen = selfhost.select(programs, ["examples/", "stdlib/math"])
    assert chosen and all("examples/" in p.id or "stdlib/math" in p.id for p in chosen)
    assert selfhost.select(programs, []) == programs


def test_skip_list_reader(tmp_path: Path) -> None:
    path = tmp_path / "skip.txt"
    path.write_text("# comment\n\nexamples/a.syn  float printing differs\nspec/x.md:3 why\n")
    assert selfhost.read_skip_list(path) == {"examples/a.syn": "float printing differs",
                                             "spec/x.md:3": "why"}


def test_standins_are_where_the_tests_expect_them() -> None:
    assert (STANDINS / "parse.syn").is_file() and (STANDINS / "load_main.syn").is_file()


# Programs with imports, but not the bootstrap's own files: the stage tests compile those
# from their bundle, and a missing file would fail there.
IMPORTING = [p for p in selfhost.corpus()
             if b"import" in (p.text.encode() if p.text else (ROOT / p.path).read_bytes())
             and not p.id.startswith("bootstrap/")]


@pytest.mark.parametrize("program", IMPORTING, ids=[p.id for p in IMPORTING])
def test_corpus_bundles_hold_every_file_the_reference_reads(program: selfhost.Program) -> None:
    from synapse.compiler.diagnostics import CompileError
    with selfhost.at_root():
        files = selfhost.bundle_files(program.path, program.text)
        try:
            read = load_program(program.path, program.text).sources
        except CompileError:
            return      # a rejected program's files are covered by the loader tests
    assert set(read) <= set(files)
    for name, text in read.items():
        assert files[name] == text.encode("utf-8"), name

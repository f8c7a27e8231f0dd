"""The corpus manifest (`tests/errors/manifest.json`) stays in step with the corpus and the spec.

Every entry file of `tests/programs`, `examples` and `tests/errors` is listed with its outcome
category and a spec chapter; every listed file exists; the category agrees with the file's own
expectations; every chapter named exists; every diagnostic code has at least one error program.
These checks need no compiler.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest


import golden_support as helpers  # noqa: E402  (tests/ is on the path: pyproject)
ROOT = helpers.ROOT
ERRORS = ROOT / "tests" / "errors"
MANIFEST = json.loads((ERRORS / "manifest.json").read_text(encoding="utf-8"))["files"]
CATEGORIES = {"ok", "malformed", "ill-typed", "trap", "exhausted"}

# The diagnostic codes of the language design's table (spec/09-errors.md lists the same codes).
DIAGNOSTIC_CODES = (
    "E0001 E0002 E0003 E0004 E0005 E0006 E0007 E0008 E0009 "
    "E0101 E0102 E0103 E0104 E0105 E0106 E0107 E0108 E0109 "
    "E0201 E0202 E0203 E0204 E0205 E0206 E0207 E0208 E0209 E0210 "
    "E0211 E0212 E0213 E0214 E0215 E0216 E0217 E0218 E0219 E0220"
).split()


def corpus_entries() -> list[str]:
    programs = ROOT / "tests" / "programs"
    found = [p for p in programs.rglob("*.syn") if not helpers.is_helper_module(p)]
    found += (ROOT / "examples").glob("*.syn")
    found += ERRORS.glob("*.syn")
    found += ERRORS.glob("*/main.syn")
    return sorted(p.relative_to(ROOT).as_posix() for p in found)


def declared_category(rel: str) -> str:
    text = (ROOT / rel).read_bytes().decode("utf-8", "replace")
    exp = helpers.parse_expectations(text)
    exp.errors += [helpers.parse_error(e) for e in MANIFEST[rel].get("errors", [])]
    return exp.category


def test_every_corpus_file_is_in_the_manifest() -> None:
    missing = [rel for rel in corpus_entries() if rel not in MANIFEST]
    assert not missing, f"add to tests/errors/manifest.json: {missing}"


def test_every_manifest_entry_exists() -> None:
    stale = [rel for rel in MANIFEST if not (ROOT / rel).is_file()]
    assert not stale, f"listed but missing: {stale}"


@pytest.mark.parametrize("rel", sorted(MANIFEST))
def test_category_matches_expectations(rel: str) -> None:
    entry = MANIFEST[rel]
    assert entry["category"] in CATEGORIES
    if (ROOT / rel).is_file():
        assert declared_category(rel) == entry["category"]


def test_error_programs_expect_errors_and_programs_do_not() -> None:
    for rel, entry in MANIFEST.items():
        is_error_test = rel.startswith("tests/errors/")
        assert (entry["category"] in {"malformed", "ill-typed"}) == is_error_test, rel


def test_every_referenced_spec_chapter_exists() -> None:
    if not any((ROOT / "spec").glob("[0-9][0-9]-*.md")):
        pytest.skip("spec/ has no chapters yet")
    chapters = {entry["spec"] for entry in MANIFEST.values()}
    missing = sorted(c for c in chapters if not (ROOT / c).is_file())
    assert not missing, f"manifest names missing spec chapters: {missing}"


def test_every_diagnostic_code_has_an_error_program() -> None:
    tested = {re.match(r"E\d{4}", Path(rel).parts[2]).group(0)
              for rel in MANIFEST if rel.startswith("tests/errors/")}
    untested = sorted(set(DIAGNOSTIC_CODES) - tested)
    assert not untested, f"no tests/errors program for {untested}"


def test_diagnostic_table_matches_the_spec() -> None:
    """spec/09-errors.md documents exactly the codes this corpus covers."""
    chapter = ROOT / "spec" / "09-errors.md"
    if not chapter.is_file():
        pytest.skip("spec/09-errors.md not written yet")
    documented = set(re.findall(r"^#+ [\d.]+ (E\d{4})\b", chapter.read_text(encoding="utf-8"), re.M))
    assert documented == set(DIAGNOSTIC_CODES)

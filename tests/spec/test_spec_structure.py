"""Structure of the language specification in spec/, checked without the compiler.

The specification is a set of numbered Markdown chapters listed in spec/README.md. Its
`syn` code blocks are examples that tests/spec/test_spec_examples.py compiles and runs; this
module also holds the reader that finds those examples and their inline expectations, so the
two tests agree on what an example is.

Checked here: every chapter listed in the table of contents exists and every chapter is
listed; headings are numbered after their chapter and in order; every diagnostic code of the
design (and of compiler/diagnostics.py, once it exists) is documented in 09-errors.md; example
ids are unique, expectations are well formed, at most 10% of the examples are fragments; and
the grammar appendix is up to date with compiler/syntax.lark.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SPEC_DIR = ROOT / "spec"
GRAMMAR_PATH = ROOT / "compiler" / "syntax.lark"
DIAGNOSTICS_PATH = ROOT / "compiler" / "diagnostics.py"
GENERATOR_PATH = ROOT / "tools" / "gen_grammar_appendix.py"

REQUIRED_CHAPTERS = (
    "01-lexical.md", "02-types.md", "03-expressions.md", "04-statements.md", "05-items.md",
    "06-contracts.md", "07-memory.md", "08-host-abi.md", "09-errors.md", "10-builtins.md",
    "A-grammar.md",
)

# The diagnostic codes of the language design; a code is never reused or removed.
DESIGN_CODES = (
    [f"E000{i}" for i in range(1, 10)]
    + [f"E010{i}" for i in range(1, 10)]
    + [f"E02{i:02d}" for i in range(1, 21)]
)

MAX_FRAGMENT_SHARE = 0.10
EXAMPLE_KINDS = {"syn": "run", "syn,ignore-run": "ignore-run", "syn,fragment": "fragment"}

# -- reading examples ------------------------------------------------------------------------

FENCE = re.compile(r"^(`{3,})\s*(\S*)\s*$")
EXPECT = re.compile(r"//\s*expect:(.*)$")
TRAP = re.compile(r"//\s*trap:\s*(.+?)\s*$")
ERROR = re.compile(r"//\s*error:\s*(E\d{4})(?:\s+at\s+(\d+):(\d+))?\s*$")
INPUT = re.compile(r"//\s*input:(.*)$")
EXHAUSTED = re.compile(r"//\s*exhausted:\s*(\w+)\s*$")
FUEL = re.compile(r"//\s*fuel:\s*(\d+)\s*$")
ARENA = re.compile(r"//\s*arena:\s*(\d+)\s*(KiB|MiB)?\s*$")
UNITS = {None: 1, "KiB": 1024, "MiB": 1024 * 1024}


@dataclass(frozen=True)
class ExpectedError:
    code: str
    line: int | None
    col: int | None


@dataclass
class Expectations:
    """What an example states about itself in its comments (the golden-test conventions)."""

    output: list[str] = field(default_factory=list)
    trap: str | None = None
    errors: list[ExpectedError] = field(default_factory=list)
    input_lines: list[str] = field(default_factory=list)
    exhausted: str | None = None
    fuel: int | None = None
    arena: int | None = None

    @property
    def stdout(self) -> bytes:
        """Lines joined by newlines plus a final newline; empty when no line is expected."""
        if not self.output:
            return b""
        return ("\n".join(self.output) + "\n").encode()

    @property
    def input(self) -> bytes:
        return "\n".join(self.input_lines).encode()

    def is_stated(self) -> bool:
        return bool(self.output or self.trap or self.errors or self.exhausted)


@dataclass(frozen=True)
class Example:
    chapter: str          # file name, e.g. "03-expressions.md"
    line: int             # line of the opening fence in the chapter
    kind: str             # "run" | "ignore-run" | "fragment"
    text: str             # the code, first line of the block is line 1

    @property
    def id(self) -> str:
        return f"{self.chapter}:{self.line}"


def _after_one_space(text: str) -> str:
    return text[1:] if text.startswith(" ") else text


def parse_expectations(text: str) -> Expectations:
    """The inline expectation comments of one example, in the order written."""
    exp = Expectations()
    for line in text.splitlines():
        if m := EXPECT.search(line):
            exp.output.append(_after_one_space(m.group(1)))
        elif m := TRAP.search(line):
            exp.trap = m.group(1)
        elif m := ERROR.search(line):
            line_no = int(m.group(2)) if m.group(2) else None
            col = int(m.group(3)) if m.group(3) else None
            exp.errors.append(ExpectedError(m.group(1), line_no, col))
        elif m := INPUT.search(line):
            exp.input_lines.append(_after_one_space(m.group(1)))
        elif m := EXHAUSTED.search(line):
            exp.exhausted = m.group(1)
        elif m := FUEL.search(line):
            exp.fuel = int(m.group(1))
        elif m := ARENA.search(line):
            exp.arena = int(m.group(1)) * UNITS[m.group(2)]
    return exp


def chapter_files() -> list[Path]:
    return sorted(p for p in SPEC_DIR.glob("*.md") if p.name != "README.md")


def read_examples(path: Path) -> tuple[list[Example], list[str]]:
    """The `syn` blocks of one chapter, and the info strings of unknown `syn` variants."""
    examples: list[Example] = []
    unknown: list[str] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, info = m.group(1), m.group(2)
        start = i
        i += 1
        body: list[str] = []
        while i < len(lines) and lines[i].strip() != fence:
            body.append(lines[i])
            i += 1
        i += 1  # past the closing fence
        if info.startswith("syn"):
            kind = EXAMPLE_KINDS.get(info)
            if kind is None:
                unknown.append(f"{path.name}:{start + 1}: {info}")
                continue
            examples.append(Example(path.name, start + 1, kind, "\n".join(body) + "\n"))
    return examples, unknown


def example_files() -> list[Path]:
    """Every Markdown file of the specification, the table of contents included."""
    return [SPEC_DIR / "README.md", *chapter_files()]


def all_examples() -> list[Example]:
    found: list[Example] = []
    for path in example_files():
        found.extend(read_examples(path)[0])
    return found


def outside_code_blocks(text: str) -> list[str]:
    """The lines of a Markdown text that are not inside fenced code blocks."""
    kept: list[str] = []
    fence: str | None = None
    for line in text.splitlines():
        m = FENCE.match(line)
        if fence is None and m:
            fence = m.group(1)
        elif fence is not None and line.strip() == fence:
            fence = None
        elif fence is None:
            kept.append(line)
    return kept


# -- table of contents ------------------------------------------------------------------------

def listed_chapters() -> list[str]:
    readme = (SPEC_DIR / "README.md").read_text(encoding="utf-8")
    return re.findall(r"\]\(([^)#]+\.md)\)", readme)


def test_required_chapters_are_listed_in_the_table_of_contents() -> None:
    listed = listed_chapters()
    missing = [name for name in REQUIRED_CHAPTERS if name not in listed]
    assert not missing, f"README.md does not list {missing}"


def test_every_listed_chapter_exists() -> None:
    missing = [name for name in listed_chapters() if not (SPEC_DIR / name).is_file()]
    assert not missing, f"README.md lists chapters that do not exist: {missing}"


def test_every_chapter_is_listed() -> None:
    listed = set(listed_chapters())
    unlisted = [p.name for p in chapter_files() if p.name not in listed]
    assert not unlisted, f"chapters missing from README.md: {unlisted}"


# -- headings ---------------------------------------------------------------------------------

def chapter_prefix(name: str) -> str:
    """"03-expressions.md" -> "3"; "A-grammar.md" -> "A"."""
    head = name.split("-", 1)[0]
    return str(int(head)) if head.isdigit() else head


def heading_problems(path: Path) -> list[str]:
    prefix = chapter_prefix(path.name)
    problems: list[str] = []
    headings = [ln for ln in outside_code_blocks(path.read_text(encoding="utf-8"))
                if ln.startswith("#")]
    if not headings or not headings[0].startswith(f"# {prefix}. "):
        problems.append(f"first heading must be '# {prefix}. Title'")
    section = 0
    subsection = 0
    for h in headings[1:]:
        level = len(h) - len(h.lstrip("#"))
        if level == 1:
            problems.append(f"second top-level heading: {h!r}")
        elif level == 2:
            section += 1
            subsection = 0
            if not h.startswith(f"## {prefix}.{section} "):
                problems.append(f"expected '## {prefix}.{section} ...', found {h!r}")
        elif level == 3:
            subsection += 1
            want = f"### {prefix}.{section}.{subsection} "
            if section == 0 or not h.startswith(want):
                problems.append(f"expected '{want}...', found {h!r}")
        else:
            problems.append(f"headings deeper than ### are not used: {h!r}")
    return problems


@pytest.mark.parametrize("name", [p.name for p in chapter_files()] or ["(none)"])
def test_headings_are_numbered_after_the_chapter(name: str) -> None:
    path = SPEC_DIR / name
    assert path.is_file(), "spec/ has no chapters"
    problems = heading_problems(path)
    assert not problems, "\n".join(problems)


# -- diagnostics ------------------------------------------------------------------------------

def known_codes() -> set[str]:
    codes = set(DESIGN_CODES)
    if DIAGNOSTICS_PATH.exists():
        codes |= set(re.findall(r"\"(E\d{4})\"", DIAGNOSTICS_PATH.read_text(encoding="utf-8")))
    return codes


def test_every_diagnostic_code_is_documented() -> None:
    text = (SPEC_DIR / "09-errors.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"\bE\d{4}\b", text))
    missing = sorted(known_codes() - documented)
    assert not missing, f"09-errors.md does not document {missing}"


def test_documented_codes_exist() -> None:
    text = (SPEC_DIR / "09-errors.md").read_text(encoding="utf-8")
    invented = sorted(set(re.findall(r"\bE\d{4}\b", text)) - known_codes())
    assert not invented, f"09-errors.md documents codes the compiler does not have: {invented}"


def test_every_code_has_its_own_section() -> None:
    text = (SPEC_DIR / "09-errors.md").read_text(encoding="utf-8")
    headed = set(re.findall(r"^###\s+\S+\s+(E\d{4})\b", text, flags=re.M))
    missing = sorted(known_codes() - headed)
    assert not missing, f"codes without a '### 9.x.y Ennnn ...' section: {missing}"


# -- examples ---------------------------------------------------------------------------------

def test_example_blocks_use_known_tags() -> None:
    unknown: list[str] = []
    for path in example_files():
        unknown.extend(read_examples(path)[1])
    assert not unknown, f"unknown syn block tags: {unknown}"


def test_example_ids_are_unique() -> None:
    ids = [ex.id for ex in all_examples()]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, duplicates


def test_there_are_enough_examples() -> None:
    examples = all_examples()
    assert len(examples) >= 60, f"only {len(examples)} examples"


def test_fragments_are_rare() -> None:
    examples = all_examples()
    fragments = [ex.id for ex in examples if ex.kind == "fragment"]
    assert len(fragments) <= MAX_FRAGMENT_SHARE * len(examples), (
        f"{len(fragments)} of {len(examples)} examples are fragments: {fragments}")


def test_every_example_that_runs_states_its_outcome() -> None:
    silent = [ex.id for ex in all_examples()
              if ex.kind == "run" and not parse_expectations(ex.text).is_stated()]
    assert not silent, f"examples with no expect/trap/error/exhausted comment: {silent}"


def test_expectations_are_consistent() -> None:
    problems: list[str] = []
    codes = known_codes()
    for ex in all_examples():
        exp = parse_expectations(ex.text)
        if exp.errors and (exp.output or exp.trap or exp.exhausted):
            problems.append(f"{ex.id}: an example with errors cannot also run")
        if exp.trap and exp.exhausted:
            problems.append(f"{ex.id}: trap and exhausted are exclusive")
        if exp.errors and ex.kind != "run":
            problems.append(f"{ex.id}: error examples must be plain `syn` blocks")
        if ex.kind == "ignore-run" and exp.is_stated():
            problems.append(f"{ex.id}: an ignore-run example states a run outcome")
        if exp.exhausted not in (None, "fuel", "arena", "stack", "output"):
            problems.append(f"{ex.id}: unknown exhaustion {exp.exhausted!r}")
        n_lines = len(ex.text.splitlines())
        for err in exp.errors:
            if err.code not in codes:
                problems.append(f"{ex.id}: unknown code {err.code}")
            if err.line is not None and not 1 <= err.line <= n_lines:
                problems.append(f"{ex.id}: {err.code} at line {err.line} is outside the block")
    assert not problems, "\n".join(problems)


# -- grammar appendix -------------------------------------------------------------------------

def load_generator() -> Any:
    spec = importlib.util.spec_from_file_location("gen_grammar_appendix", GENERATOR_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_comment_stripping_keeps_strings_and_regexes() -> None:
    gen = load_generator()
    grammar = (
        '// heading comment\n'
        'start: "//" NAME  // trailing\n'
        '\n\n\n'
        'COMMENT: /\\/\\/[^\\n]*/\n'
        'SLASH: "/" // after a slash string\n'
    )
    assert gen.strip_comments(grammar) == (
        'start: "//" NAME\n'
        '\n'
        'COMMENT: /\\/\\/[^\\n]*/\n'
        'SLASH: "/"\n'
    )


@pytest.mark.skipif(not GRAMMAR_PATH.exists(),
                    reason="compiler/syntax.lark does not exist yet; nothing to compare with")
def test_grammar_appendix_is_up_to_date() -> None:
    gen = load_generator()
    expected = gen.render_appendix(GRAMMAR_PATH.read_text(encoding="utf-8"))
    current = (SPEC_DIR / "A-grammar.md").read_text(encoding="utf-8")
    assert current == expected, "spec/A-grammar.md is stale: run python tools/gen_grammar_appendix.py"

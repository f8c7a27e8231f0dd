"""Every program of the repository, compiled by both compilers, with the same outcome.

One test per program of `selfhost.corpus()` (golden programs, error programs, examples, the
standard library and the bootstrap as libraries, the spec's examples): the reference compiler
and the self-hosted compiler (stage1) must produce identical Wasm bytes, or both reject it
with the same list of (code, line, col). `skip.txt` lists programs known to differ, each with
a reason; the list may only shrink: a listed program that now agrees fails its test until it
is removed from the list.
"""

from __future__ import annotations

import pytest

from synapse.runtime import selfhost

PROGRAMS = selfhost.corpus()
SKIPS = selfhost.read_skip_list()


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.id for p in PROGRAMS])
def test_both_compilers_agree(program: selfhost.Program, stage1: bytes) -> None:
    made = selfhost.compare(program, stage1)
    if program.id in SKIPS:
        assert not made.identical, (
            f"{program.id} now compiles identically: remove it from tests/bootstrap/skip.txt")
        pytest.xfail(f"skip.txt: {SKIPS[program.id]}")
    assert made.identical, made.detail


def test_skip_list_names_programs_of_the_corpus() -> None:
    ids = {p.id for p in PROGRAMS}
    stale = sorted(set(SKIPS) - ids)
    assert not stale, f"skip.txt lists programs that are not in the corpus: {stale}"


def test_every_skip_has_a_reason() -> None:
    assert all(reason for reason in SKIPS.values()), "every line of skip.txt needs a reason"

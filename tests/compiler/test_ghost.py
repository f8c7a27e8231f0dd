"""Ghost clauses (spec 6.8): read by the verifier, compiled into nothing.

A program with ghost clauses must compile to exactly the bytes of the same program without
them (same file name, so that contract messages agree): no check, no data string, no local
slot, no function reached only from a ghost condition. The counterexample replay is the one
build that compiles them as checks (`lower_program(..., check_ghosts=True)`).
"""

from __future__ import annotations

import re

import pytest

from synapse.compiler.check import check_program
from synapse.compiler.driver import compile_source
from synapse.compiler.loader import load_program
from synapse.compiler.lower import lower_program
from synapse.runtime.sandbox import run_module

# Each program marks its ghost clauses with /*g*/ ... /*end*/ so the plain twin can be cut out.
PROGRAMS = {
    "all_kinds": """
fn expensive(v: Vec[i32]) -> bool {
    forall i in 1..v.len(): v[i - 1] <= v[i]
}

fn total(v: Vec[i32]) -> i32
    /*g*/ghost requires expensive(v)/*end*/
    requires v.len() < 1000
    /*g*/ghost ensures result >= 0 || !expensive(v)/*end*/
{
    var s = 0;
    for i in 0..v.len() invariant i >= 0 /*g*/ghost invariant forall k in 0..i: v[k] > -5/*end*/ {
        s += v[i];
    }
    /*g*/ghost assert s == s + 0;/*end*/
    s
}

fn main() {
    let v = Vec[i32]();
    v.push(1); v.push(5); v.push(9);
    println(total(v));
}
""",
    "only_ghost_ensures": """
fn twice(x: i32) -> i32 /*g*/ghost ensures result == 2 * x/*end*/ {
    x + x
}

fn main() {
    var n = 0;
    while n < 3 /*g*/ghost invariant n <= 3, exists k in 0..4: k == n/*end*/ {
        n += 1;
    }
    println(twice(n));
}
""",
}


def _plain(source: str) -> str:
    return re.sub(r"/\*g\*/.*?/\*end\*/", "", source, flags=re.S)


def _ghostly(source: str) -> str:
    return source.replace("/*g*/", "").replace("/*end*/", "")


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_ghost_clauses_change_no_byte(name: str) -> None:
    source = PROGRAMS[name]
    with_ghosts = compile_source(_ghostly(source), filename="ghost.syn")
    without = compile_source(_plain(source), filename="ghost.syn")
    assert with_ghosts.wasm is not None and without.wasm is not None
    assert with_ghosts.wasm == without.wasm


def _replay_build(source: str) -> bytes:
    program = check_program(load_program("ghost.syn", source))
    return lower_program(program, check_ghosts=True).encode()


def test_replay_build_checks_ghost_clauses() -> None:
    source = """
fn main() {
    var n = 0;
    while n < 5 ghost invariant n < 3 {
        n += 1;
    }
    println(n);
}
"""
    assert run_module(compile_source(source, filename="ghost.syn").wasm).output == b"5\n"
    run = run_module(_replay_build(source))
    assert run.status == "trap"
    assert run.message == "invariant failed: n < 3 at ghost.syn:4"


def test_replay_build_checks_ghost_requires_at_entry() -> None:
    source = """
fn f(x: i32) -> i32 ghost requires x > 10 {
    x
}

fn main() {
    println(f(3));
}
"""
    assert run_module(compile_source(source, filename="ghost.syn").wasm).output == b"3\n"
    run = run_module(_replay_build(source))
    assert run.status == "trap" and run.message == "requires failed: x > 10 at ghost.syn:2"

"""The static verifier (compiler/verify.py) on its corpus, the stdlib, the CLI and the cache.

Corpus conventions (comments in each program):
- `tests/verify/ok/*.syn`: `// verify: ok`; every obligation must be proved. Each program also
  runs, and its output must equal its `// expect:` lines, so the proved facts are about code
  that really does what the comments say.
- `tests/verify/bad/*.syn`: one `// verify: fails KIND at LINE:COL` per obligation that must not
  be proved (and no other may fail), and `// replay: confirmed` (the counterexample, run on the
  compiled code, traps with the message of the failed check) or `// replay: spurious` (it runs
  to completion: the failure comes from a too-weak invariant, not from the code).
"""

from __future__ import annotations

import io
import json
import random
import re
from contextlib import redirect_stdout
from pathlib import Path

import pytest

z3 = pytest.importorskip("z3")

from synapse.compiler import ir  # noqa: E402
from synapse.compiler.driver import compile_file  # noqa: E402
from synapse.compiler.verify import (VerifyCache, load_checked, solve_function,  # noqa: E402
                                     verify_file)
from synapse.compiler.verify_effects import (analyze_effects, call_graph,  # noqa: E402
                                             recursive_groups)
from synapse.compiler.verify_lia import IntTranslator, NotLinear  # noqa: E402
from synapse.runtime.sandbox import run_module  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
OK = sorted((HERE / "ok").glob("*.syn"))
BAD = sorted((HERE / "bad").glob("*.syn"))
FAILS = re.compile(r"//\s*verify:\s*fails\s+(\w+)\s+at\s+(\d+):(\d+)")
REPLAY = re.compile(r"//\s*replay:\s*(\w+)")
EXPECT = re.compile(r"//\s*expect:\s?(.*)$", re.M)

_reports: dict[Path, object] = {}


def report_for(path: Path):
    """One cold verification per corpus file (replay included), shared by the tests."""
    if path not in _reports:
        _reports[path] = verify_file(str(path))
    return _reports[path]


def expected_output(text: str) -> bytes:
    lines = EXPECT.findall(text)
    return ("\n".join(lines) + "\n").encode() if lines else b""


def run_program(path: Path) -> bytes:
    result = compile_file(str(path))
    assert result.ok, [d.message for d in result.diagnostics]
    run = run_module(result.wasm)
    assert run.status == "ok", run.message
    return run.output


# --- corpus -------------------------------------------------------------------------------

@pytest.mark.parametrize("path", OK, ids=[p.stem for p in OK])
def test_correct_program_verifies(path: Path) -> None:
    text = path.read_text()
    assert "// verify: ok" in text
    report = report_for(path)
    assert not report.diagnostics
    unproved = [(o.kind, o.line, o.col, o.result, o.reason) for o in report.obligations
                if o.result != "proved"]
    assert unproved == []
    assert report.obligations, "the program should have something to prove"
    assert run_program(path) == expected_output(text)


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_buggy_twin_fails_with_a_replayed_counterexample(path: Path) -> None:
    text = path.read_text()
    expected = {(k, int(line), int(col)) for k, line, col in FAILS.findall(text)}
    (replay,) = REPLAY.findall(text)
    assert expected
    report = report_for(path)
    failed = [o for o in report.obligations if o.result != "proved"]
    assert {(o.kind, o.line, o.col) for o in failed} == expected
    for o in failed:
        assert o.result == "failed"
        assert o.counterexample and o.counterexample["inputs"] is not None
        assert o.replay is not None and o.replay["status"] == replay, o.replay
    # The functions are fine on the inputs main gives them.
    assert run_program(path) == expected_output(text)


def test_counterexample_is_in_source_terms() -> None:
    report = report_for(HERE / "bad" / "absolute_overflow.syn")
    (o,) = report.obligations
    assert o.counterexample["inputs"] == [["x", "-2147483648"]]
    rendered = report.render()
    assert "ensures result >= 0" in rendered
    assert "x = -2147483648" in rendered
    assert "   6 |     ensures result >= 0" in rendered       # the failing line, with a caret
    assert "replay: confirmed: trap: ensures failed: result >= 0" in rendered


def test_a_quantified_claim_fails_with_the_path_of_its_counterexample() -> None:
    # The invariant is quantified, and so is what the path assumes at the loop head: the
    # counterexample still shows the values along the path.
    report = report_for(HERE / "bad" / "weak_quantified_invariant.syn")
    (o,) = [o for o in report.obligations if o.result != "proved"]
    assert (o.kind, o.result) == ("invariant", "failed")
    path = o.counterexample["path"]
    assert any(line == 14 and name == "i" and note == "at the loop head"
               for line, name, _, note in path), path


def test_a_value_the_model_leaves_open_is_shown_as_opaque() -> None:
    """A model of a formula with quantifiers may leave a term open (an expression, not a
    value); the counterexample shows that value as opaque instead of failing."""
    import z3
    from synapse.compiler.verify import _ModelReader
    x, y = z3.BitVec("x", 32), z3.BitVec("y", 32)
    f = z3.Function("f", z3.BitVecSort(32), z3.BitVecSort(32))
    solver = z3.Solver()
    solver.add(f(y) > 0)
    assert solver.check() == z3.sat
    reader = _ModelReader(None, solver.model())  # type: ignore[arg-type]
    open_term = z3.If(z3.ForAll([x], f(x) > 0), z3.BitVecVal(1, 32), z3.BitVecVal(2, 32))
    assert reader.value(open_term, ir.I32)["t"] == "opaque"
    closed = reader.value(f(y), ir.I32)
    assert closed["t"] == "i32" and closed["v"] > 0


def test_a_replayed_trap_message_is_escaped_in_the_report() -> None:
    from synapse.compiler.verify import ObligationResult, render_obligation
    o = ObligationResult("main.f", "panic", "f.syn", 2, 5, 2, 20, "this panic is unreachable",
                         "failed", replay={"status": "confirmed",
                                           "detail": "trap: panic: \x1b[2J\x00 in main.f"})
    rendered = render_obligation(o, {})
    assert "replay: confirmed: trap: panic: \\x1b[2J\\x00 in main.f" in rendered
    assert "\x1b" not in rendered and "\x00" not in rendered


def test_replay_builds_vectors_and_structs() -> None:
    report = report_for(HERE / "bad" / "bump_overflow.syn")
    (o,) = [o for o in report.obligations if o.result == "failed"]
    (name, shown), _ = o.counterexample["inputs"]
    assert name == "b" and shown.startswith("Bump(buf: [")
    assert "index out of bounds" in o.replay["detail"]


# --- the model agrees with the machine ------------------------------------------------------

def _int_formulas(seed: int, count: int):
    """Random linear bit-vector facts over two i32 and one u8 variable."""
    rng = random.Random(seed)
    x, y = z3.BitVecs("x y", 32)
    b = z3.BitVec("b", 8)

    def term(depth: int):
        if depth == 0 or rng.random() < 0.3:
            return rng.choice([x, y, z3.BitVecVal(rng.randint(-9, 9), 32),
                               z3.ZeroExt(24, b)])
        op = rng.choice(["add", "sub", "neg", "mulc", "divc", "remc", "shl", "ashr", "not"])
        a = term(depth - 1)
        c = rng.choice([1, 2, 3, 7, -2, 2147483647])
        return {"add": lambda: a + term(depth - 1), "sub": lambda: a - term(depth - 1),
                "neg": lambda: -a, "mulc": lambda: a * c, "divc": lambda: a / c,
                "remc": lambda: z3.SRem(a, c), "shl": lambda: a << rng.randint(0, 33),
                "ashr": lambda: a >> rng.randint(0, 33), "not": lambda: ~a}[op]()

    for _ in range(count):
        left, right = term(3), term(3)
        cmp = rng.choice([lambda p, q: p < q, lambda p, q: p <= q, lambda p, q: p == q,
                          lambda p, q: z3.ULT(p, q)])
        yield cmp(left, right)


def test_integer_translation_is_exact_on_random_formulas() -> None:
    """verify_lia must never prove what the bit-vector semantics refutes (or vice versa)."""
    checked = 0
    for f in _int_formulas(7, 60):
        bv = z3.Solver()
        bv.add(z3.Not(f))
        expected = bv.check()
        tr = IntTranslator(z3.main_ctx())
        try:
            g = tr.formula(z3.Not(f))
        except NotLinear:
            continue
        s = z3.Solver()
        s.add(*tr.side)
        s.add(g)
        s.set("rlimit", 5_000_000)
        got = s.check()
        if got != z3.unknown:
            assert got == expected, f
            checked += 1
    assert checked >= 30


def test_bitwise_and_in_the_integer_translation_only_proves_what_is_true() -> None:
    """`x & m` is exact for masks 2^k - 1 and bounded otherwise: the integer answer "unsat"
    must agree with the bit-vector one on every formula, and the bounds prove typical facts."""
    x, y = z3.BitVecs("x y", 32)
    rng = random.Random(11)
    proved = 0
    for _ in range(80):
        a = rng.choice([x, y, x + y, x - 3, -x])
        m = rng.choice([y, z3.BitVecVal(rng.choice([1, 7, 255, 1023, 6, -8]), 32), x])
        c = z3.BitVecVal(rng.randint(-300, 300), 32)
        f = rng.choice([(a & m) <= c, (a & m) >= c, (a & m) == c, (a & m) < m])
        guard = rng.choice([m >= 0, x >= 0, z3.BoolVal(True)])
        claim = z3.Implies(guard, f)
        tr = IntTranslator(z3.main_ctx())
        s = z3.Solver()
        s.add(tr.formula(z3.Not(claim)))
        s.add(*tr.side)
        s.set("rlimit", 5_000_000)
        if s.check() == z3.unsat:
            proved += 1
            bv = z3.Solver()
            bv.add(z3.Not(claim))
            assert bv.check() == z3.unsat, claim
    # Independent of the random draws: an index masked into a non-empty table is inside it.
    n = z3.BitVec("n", 32)
    claim = z3.Implies(n > 0, z3.And((x & (n - 1)) >= 0, (x & (n - 1)) < n))
    tr = IntTranslator(z3.main_ctx())
    s = z3.Solver()
    s.add(tr.formula(z3.Not(claim)), *tr.side)
    assert s.check() == z3.unsat
    assert proved > 0


def test_floats_min_max_follow_wasm() -> None:
    src = """
fn lo(a: f64, b: f64) -> f64 ensures result <= a || result != result { a.min(b) }
fn main() { println(lo(1.0, 2.0)); }
"""
    path = HERE / "ok" / "floats.syn"
    report = verify_file(str(path.with_name("min_max_probe.syn")), text=src, replay=False)
    if report.diagnostics:
        pytest.skip("float methods are not in this build of the language")
    assert [o.result for o in report.obligations] in (["proved"], ["unknown"])


def test_ghost_clause_that_could_change_state_is_not_verified() -> None:
    src = """
fn bump(v: Vec[i32]) -> bool {
    v.push(1);
    true
}
fn f(v: Vec[i32]) -> i32 ghost requires bump(v) { v.len() }
fn g(v: Vec[i32]) -> i32 { ghost assert v.len() >= 0; v.len() }
fn main() { let v = Vec[i32](); println(f(v), g(v)); }
"""
    path = HERE / "ok" / "ghost_effects_probe.syn"
    report = verify_file(str(path), text=src, replay=False)
    assert not report.diagnostics
    (rejected,) = [o for o in report.obligations if o.result == "unsupported"]
    assert rejected.function == "main.f" and "ghost clause" in rejected.reason
    assert all(o.result == "proved" for o in report.obligations if o.function == "main.g")


def test_division_by_a_variable_is_a_function_of_its_operands() -> None:
    src = """
fn same(n: i64, a: i64, b: i64) -> bool requires a > 0 && a == b ensures result { n / a == n / b }
fn below(n: i64, b: i64) -> i64 requires n >= 0 && b > 0 ensures result <= n { n / b }
fn wrong(n: i64, b: i64) -> i64 requires b > 0 ensures result <= n { n / b }
fn main() { println(same(7, 2, 2), below(7, 2), wrong(7, 2)); }
"""
    report = verify_file(str(HERE / "ok" / "division_probe.syn"), text=src)
    results = {o.function: o for o in report.obligations if o.kind == "ensures"}
    assert results["main.same"].result == "proved"
    assert results["main.below"].result == "proved"
    # -3 / 2 is -1 (truncation), above -3: the bound holds only for n >= 0.
    wrong = results["main.wrong"]
    assert wrong.result == "failed" and wrong.replay["status"] == "confirmed"


def test_proving_in_several_processes_gives_the_same_report(monkeypatch) -> None:
    src = "".join(f"""
fn f{k}(v: Vec[i32], i: i32) -> i32 requires i >= {k} ensures result >= 0 {{
    if i < v.len() {{ v[i] * 0 + {k} }} else {{ v[i - {k}] }}
}}
""" for k in range(17)) + "fn main() {}\n"
    path = str(HERE / "ok" / "jobs_probe.syn")

    def summary(jobs: str) -> list[tuple]:
        monkeypatch.setenv("SYN_VERIFY_JOBS", jobs)
        report = verify_file(path, text=src, replay=False)
        return [(o.function, o.kind, o.line, o.col, o.result, o.rlimit,
                 repr(o.counterexample)) for o in report.obligations]

    one, two = summary("1"), summary("2")
    assert one == two
    assert {r[4] for r in one} == {"proved", "failed"}     # v[i - k] can be out of bounds


# --- determinism and the cache ------------------------------------------------------------

def test_results_and_rlimits_are_deterministic() -> None:
    loaded, program, _ = load_checked(str(HERE / "ok" / "binary_search.syn"))
    effects = analyze_effects(program)
    groups = recursive_groups(call_graph(program))
    fn = program.functions["main.search"]
    first = [(o.kind, o.line, o.result, o.rlimit) for o in
             solve_function(program, effects, groups, fn)]
    second = [(o.kind, o.line, o.result, o.rlimit) for o in
              solve_function(program, effects, groups, fn)]
    assert first == second


def test_cache_skips_unchanged_functions(tmp_path: Path) -> None:
    src = (HERE / "ok" / "loops.syn").read_text()
    path = tmp_path / "loops.syn"
    path.write_text(src)
    cache = VerifyCache(tmp_path / "cache")
    cold = verify_file(str(path), cache=cache)
    warm = verify_file(str(path), cache=cache)
    assert not any(f.cached for f in cold.functions)
    assert all(f.cached for f in warm.functions)
    assert [(o.kind, o.line, o.result, o.rlimit) for o in cold.obligations] == \
        [(o.kind, o.line, o.result, o.rlimit) for o in warm.obligations]
    forced = verify_file(str(path), cache=cache, read_cache=False)
    assert not any(f.cached for f in forced.functions)
    # Changing one function's body re-proves that function only.
    path.write_text(src.replace("r += a;", "r = r + a;"))
    edited = verify_file(str(path), cache=cache)
    fresh = [f.name for f in edited.functions if not f.cached]
    assert fresh == ["main.multiply"]


def test_changing_a_callee_contract_invalidates_callers(tmp_path: Path) -> None:
    src = """
fn half(n: i32) -> i32 requires n >= 0 ensures result >= 0 { n / 2 }
fn use_half(n: i32) -> i32 requires n >= 10 ensures result >= 0 { half(n) }
"""
    path = tmp_path / "c.syn"
    path.write_text(src)
    cache = VerifyCache(tmp_path / "cache")
    verify_file(str(path), lib=True, cache=cache)
    path.write_text(src.replace("ensures result >= 0 { n / 2 }", "{ n / 2 }"))
    again = verify_file(str(path), lib=True, cache=cache)
    by_name = {f.name: f for f in again.functions}
    assert not by_name["main.use_half"].cached
    results = {o.kind: o.result for o in again.obligations if o.function == "main.use_half"}
    assert results == {"requires": "proved", "ensures": "failed"}


def test_verification_never_changes_the_bytes() -> None:
    path = HERE / "bad" / "midpoint_overflow.syn"
    before = compile_file(str(path)).wasm
    verify_file(str(path))
    assert compile_file(str(path)).wasm == before


# --- termination (`decreases`, read from the IR when the front end provides it) -----------

def _with_decreases(path: Path, make) -> list:
    loaded, program, _ = load_checked(str(path), lib=True)
    make(program)
    effects = analyze_effects(program)
    groups = recursive_groups(call_graph(program))
    out = []
    for fn in program.functions.values():
        if fn.name.startswith("main."):
            out.extend(solve_function(program, effects, groups, fn))
    return out


def test_decreases_on_loops_and_recursion(tmp_path: Path) -> None:
    path = tmp_path / "d.syn"
    path.write_text("""
fn down(n: i32) -> i32 requires n >= 0 {
    var k = n;
    while k > 0 invariant k >= 0 { k -= 1; }
    k
}
fn stuck(n: i32) -> i32 requires n >= 0 {
    var k = n;
    while k > 0 invariant k >= 0 { k += 0; }
    k
}
fn fact(n: i64) -> i64 requires n >= 0 {
    if n == 0 { 1i64 } else { n * fact(n - 1i64) }
}
""")

    def local(fn: ir.Function, name: str) -> ir.Local:
        return next(x for x in fn.locals if x.name == name)

    def add_measures(program: ir.Program) -> None:
        for name in ("main.down", "main.stuck"):
            fn = program.functions[name]
            loop = next(s for s in fn.body.stmts if isinstance(s, ir.While))
            k = local(fn, "k")
            loop.decreases = [ir.LocalGet(k.type, loop.span, k)]
        fact = program.functions["main.fact"]
        n = fact.params[0]
        fact.decreases = [ir.LocalGet(n.type, fact.span, n)]

    results = _with_decreases(path, add_measures)
    measures = {o.function: o.result for o in results if o.kind == "decreases"}
    assert measures == {"main.down": "proved", "main.stuck": "failed", "main.fact": "proved"}


# --- the command line ---------------------------------------------------------------------

def _syn(*args: str) -> tuple[int, str]:
    from synapse.runtime.cli import main
    out = io.StringIO()
    with redirect_stdout(out):
        status = main(list(args))
    return status, out.getvalue()


def test_cli_json_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYN_CACHE_DIR", str(tmp_path))
    status, text = _syn("check", "--verify", "--json", str(HERE / "bad" / "divide_by_zero.syn"))
    assert status == 1
    data = json.loads(text)
    kinds = sorted(o["kind"] for o in data["obligations"])
    assert kinds == ["division", "overflow"]
    for o in data["obligations"]:
        assert {"kind", "file", "line", "col", "result", "rlimit", "time_ms"} <= set(o)
        assert o["result"] == "failed" and o["replay"]["status"] == "confirmed"
    assert (tmp_path / "verify").is_dir()
    status, text = _syn("check", "--verify", "--json", str(HERE / "ok" / "isqrt.syn"))
    assert status == 0 and json.loads(text)["ok"] is True


def test_cli_build_verify_writes_the_same_module(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYN_CACHE_DIR", str(tmp_path))
    src = HERE / "ok" / "isqrt.syn"
    plain, verified = tmp_path / "a.wasm", tmp_path / "b.wasm"
    assert _syn("build", str(src), "-o", str(plain))[0] == 0
    assert _syn("build", "--verify", "--no-cache", str(src), "-o", str(verified))[0] == 0
    assert plain.read_bytes() == verified.read_bytes()


# --- the stdlib -------------------------------------------------------------------------------

# Contracts of the stdlib that the verifier proves today; none may regress.
STDLIB_PROVED = {
    ("math.clamp_i32", "ensures"), ("math.clamp_f64", "ensures"), ("math.gcd", "invariant"),
    ("sort.binary_search_i32", "ensures"), ("sort.binary_search_i32", "invariant"),
    ("sort.sort_i32", "requires"), ("sort.sort_i32", "invariant"),
    ("sort._sift_i32", "invariant"), ("sort.sort_str", "requires"),
    ("sort._sift_str", "invariant"),
    ("strings.build", "ensures"), ("strings.split", "ensures"), ("strings.trim", "ensures"),
    ("strings.to_upper", "ensures"), ("strings.to_lower", "ensures"),
    ("strings.pad_left", "ensures"), ("strings.reverse", "ensures"),
    ("strings.replace", "requires"), ("strings.push_i64", "invariant"),
    ("collections.queue_push", "requires"), ("collections.queue_push", "ensures"),
    ("collections._queue_grow", "ensures"), ("collections.intset_remove", "invariant"),
    ("collections._intset_slot", "ensures"), ("collections._intset_grow", "ensures"),
    ("sort.sort_i32", "ensures"), ("sort.sort_i64", "ensures"), ("sort.sort_f64", "ensures"),
    ("sort.sort_str", "ensures"), ("sort._insertion_i32", "ensures"),
    ("sort._insertion_i64", "ensures"), ("sort._insertion_f64", "ensures"),
    ("math.isqrt", "ensures"), ("math.isqrt", "invariant"),
    ("collections.intset_values", "ensures"), ("collections.intset_values", "invariant"),
}
# How many stdlib obligations (of math, sort, strings, collections) are proved; the rest are
# listed, with the reason, in spec/11-verification.md section 11.6. Raise it as proofs land.
STDLIB_PROVED_COUNT = 436


def test_stdlib_contracts(tmp_path: Path) -> None:
    entry = tmp_path / "all.syn"
    entry.write_text("import math;\nimport sort;\nimport strings;\nimport collections;\n")
    report = verify_file(str(entry), lib=True, cache=VerifyCache(tmp_path / "cache"),
                         stdlib=True)
    assert not report.diagnostics
    results = {(o.function, o.kind): o for o in report.obligations
               if o.kind in ("requires", "ensures", "assert", "invariant")}
    for key in sorted(STDLIB_PROVED):
        assert results[key].result == "proved", key
    proved = sum(1 for o in report.obligations if o.result == "proved")
    assert proved >= STDLIB_PROVED_COUNT, proved
    for o in report.obligations:
        assert o.result in ("proved", "failed", "unknown"), (o.function, o.reason)
        if o.result == "failed":
            assert o.counterexample is not None and o.replay is not None
    # From the cache, nothing is proved again and the answers are the same.
    again = verify_file(str(entry), lib=True, cache=VerifyCache(tmp_path / "cache"),
                        replay=False, stdlib=True)
    assert all(f.cached for f in again.functions)
    assert [o.result for o in again.obligations] == [o.result for o in report.obligations]
    # A program that imports the stdlib relies on its contracts without re-verifying it.
    user = verify_file(str(entry), lib=True, replay=False)
    assert user.functions == []


# --- quantifiers over index ranges (IR nodes named Forall, once the front end has them) ----

def test_forall_in_a_precondition(tmp_path: Path) -> None:
    from dataclasses import dataclass

    @dataclass
    class Forall(ir.Expr):
        var: ir.Local
        start: ir.Expr
        end: ir.Expr
        body: ir.Expr

    path = tmp_path / "q.syn"
    path.write_text("""
fn first_small(v: Vec[i32]) -> i32 requires v.len() > 2 {
    assert v[2] < 100;
    v[2]
}
""")

    def results(with_quantifier: bool) -> dict[str, str]:
        loaded, program, _ = load_checked(str(path), lib=True)
        fn = program.functions["main.first_small"]
        if with_quantifier:
            v = fn.params[0]
            span = fn.span
            i = ir.Local(len(fn.locals), "i", ir.I32)
            fn.locals.append(i)
            seq = ir.LocalGet(v.type, span, v)
            body = ir.Binary(ir.BOOL, span, "lt",
                             ir.Index(ir.I32, span, seq, ir.LocalGet(ir.I32, span, i), "q:1:1"),
                             ir.IntConst(ir.I32, span, 100), ir.I32)
            cond = Forall(ir.BOOL, span, i, ir.IntConst(ir.I32, span, 0),
                          ir.SeqMethod(ir.I32, span, "len", seq, [], "q:1:1"), body)
            fn.requires.append(ir.Contract("requires", cond, "requires failed: all small",
                                           span))
        effects = analyze_effects(program)
        groups = recursive_groups(call_graph(program))
        return {o.kind: o.result for o in solve_function(program, effects, groups, fn)}

    assert results(False)["assert"] == "failed"
    assert results(True)["assert"] == "proved"


def test_spec_chapter_examples_verify_as_stated(tmp_path: Path) -> None:
    """Each `syn` example of spec/11 followed by a `$ syn check --verify` transcript must give
    the summary counts the transcript shows."""
    text = (ROOT / "spec" / "11-verification.md").read_text()
    pairs = re.findall(r"```syn\n((?:(?!```).)*)```\s*```text\n"
                       r"\$ syn check --verify example.syn\n((?:(?!```).)*)```", text, re.S)
    assert pairs
    counts = re.compile(r"verify: (\d+) obligations in (\d+) functions: (.*?) \(")
    for program, transcript in pairs:
        path = tmp_path / "example.syn"
        path.write_text(program)
        report = verify_file(str(path), cache=VerifyCache(tmp_path / "cache"))
        got = counts.search(report.summary()).groups()
        assert got == counts.search(transcript).groups(), transcript
        for o in report.obligations:
            if o.replay:
                assert f"replay: {o.replay['status']}" in transcript


def test_bench_suite_reports_every_figure() -> None:
    import subprocess
    import sys
    process = subprocess.run([sys.executable, "-m", "bench", "--json", "--quick", "verify"],
                             cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert process.returncode == 0, process.stderr
    figures = json.loads(process.stdout)
    for key in ("verify_simple_obligation_ms_median", "verify_expression_ms_median",
                "verify_stdlib_cold_s", "verify_stdlib_cached_s"):
        assert isinstance(figures[key], (int, float)) and figures[key] > 0, key
    assert figures["verify_unproved_in_generated"] == 0
    assert figures["verify_stdlib_functions_cached"] > 0

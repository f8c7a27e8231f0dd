"""Quantifiers in the integer translation of the verifier (compiler/verify_lia.py).

`forall i in a..b: cond` and `exists` reach the verifier as Z3 quantifiers over bit-vector
variables (verify_encode.py). The integer translation must keep them exact enough that an
integer "unsat" is a proof of the bit-vector formula: these tests compare its answers with the
bit-vector solver's on small formulas (wrap-around, division and masks inside the body, exists
in both polarities, nested quantifiers, arrays of floats), check what must stay outside the
translation, and check that the quantified invariants of tests/verify/ok/insertion_sort.syn
are proved by the integer translation within the verifier's budget for it.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

z3 = pytest.importorskip("z3")

from synapse.compiler.verify import INT_RLIMIT, load_checked, verify_file  # noqa: E402
from synapse.compiler.verify_effects import (analyze_effects, call_graph,  # noqa: E402
                                             recursive_groups)
from synapse.compiler.verify_encode import encode_function  # noqa: E402
from synapse.compiler.verify_lia import IntTranslator, NotLinear  # noqa: E402

HERE = Path(__file__).resolve().parent

k, i, j, x, n = z3.BitVecs("k i j x n", 32)
A = z3.Array("A", z3.BitVecSort(32), z3.BitVecSort(32))


def forall(var, lo, hi, body):
    return z3.ForAll([var], z3.Implies(z3.And(lo <= var, var < hi), body))


def exists(var, lo, hi, body):
    return z3.Exists([var], z3.And(lo <= var, var < hi, body))


def int_answer(*formulas, rlimit: int = 2_000_000):
    """The integer translation's answer on the conjunction of `formulas`."""
    ctx = formulas[0].ctx
    tr = IntTranslator(ctx)
    s = z3.Solver(ctx=ctx)
    s.set("rlimit", rlimit)
    s.push()                     # the incremental mode the verifier uses
    for f in formulas:
        s.add(tr.formula(f))
    s.add(*tr.side)
    return s.check()


def bv_answer(*formulas):
    s = z3.Solver(ctx=formulas[0].ctx)
    s.set("rlimit", 20_000_000)
    s.add(*formulas)
    return s.check()


def agree(*formulas):
    """Both solvers give the same definite answer; returns it."""
    expected = bv_answer(*formulas)
    assert expected != z3.unknown
    got = int_answer(*formulas)
    assert got == expected, (got, expected, formulas)
    return got


SORTED = forall(k, 1, n, A[k - 1] <= A[k])


def test_an_instance_of_a_quantified_fact_is_proved() -> None:
    assert agree(SORTED, 1 <= i, i < n, z3.Not(A[i - 1] <= A[i])) == z3.unsat


def test_a_false_quantified_claim_is_not_proved() -> None:
    # Nothing says the vector is sorted, and k + 1 may even be outside the range.
    claim = forall(k, 0, n, A[k] <= A[k + 1])
    assert agree(z3.Not(claim)) == z3.sat
    # Sorted on 1..n gives nothing about k == n - 1 against k + 1 == n.
    assert agree(SORTED, z3.Not(claim)) == z3.sat


def test_a_sub_range_needs_the_range_not_to_wrap() -> None:
    # n - 1 wraps to the maximum when n is the minimum: 1..n is empty, 1..n - 1 is not.
    claim = forall(k, 1, n - 1, A[k - 1] <= A[k])
    assert agree(SORTED, z3.Not(claim)) == z3.sat
    assert agree(SORTED, n >= 1, z3.Not(claim)) == z3.unsat


def test_exists_as_a_fact() -> None:
    some = exists(k, 0, n, A[k] == x)
    none = forall(j, 0, n, A[j] != x)
    assert agree(some, none) == z3.unsat
    assert agree(some, n <= 0) == z3.unsat           # a witness needs a non-empty range
    assert agree(some, A[0] != x) == z3.sat


def test_exists_as_a_claim() -> None:
    some = exists(k, 0, n, A[k] == x)
    assert agree(A[3] == x, 3 < n, z3.Not(some)) == z3.unsat
    assert agree(A[3] == x, n <= 3, z3.Not(some)) == z3.sat


def test_nested_quantifiers() -> None:
    pairs = forall(i, 0, n, forall(j, i, n, A[i] <= A[j]))
    assert agree(pairs, z3.Not(SORTED)) == z3.unsat
    # forall i in 0..n: exists j in 0..n + 1: j == i + 1 fails only where n + 1 wraps.
    succ = forall(i, 0, n, exists(j, 0, n + 1, j == i + 1))
    assert agree(z3.Not(succ)) == z3.sat
    assert agree(n < 100, z3.Not(succ)) == z3.unsat


def test_wrap_around_inside_the_body() -> None:
    # k < n <= the maximum, so k + 1 never wraps ...
    assert agree(z3.Not(forall(k, -5, n, k + 1 > k))) == z3.unsat
    # ... but k + 2 does at k == maximum - 1 (when n is the maximum).
    assert agree(z3.Not(forall(k, -5, n, k + 2 > k))) == z3.sat
    assert agree(n < 1000, z3.Not(forall(k, -5, n, k + 2 > k))) == z3.unsat
    assert agree(z3.Not(z3.ForAll([k], k * 3 / 3 == k))) == z3.sat


def test_division_remainder_and_masks_inside_the_body() -> None:
    assert agree(z3.Not(forall(k, 0, n, k / 2 <= k))) == z3.unsat
    assert agree(z3.Not(forall(k, -3, n, k / 2 <= k))) == z3.sat         # -1 / 2 == 0
    assert agree(z3.Not(forall(k, -9, n, z3.SRem(k, 4) < 4))) == z3.unsat
    assert agree(z3.Not(forall(k, 0, n, (k & 7) <= k))) == z3.unsat
    assert agree(z3.Not(forall(k, -9, n, (k & 7) <= k))) == z3.sat
    assert agree(z3.Not(forall(k, 0, n, (k >> 1) <= k))) == z3.unsat


def test_what_stays_outside_the_translation() -> None:
    tr = IntTranslator(z3.main_ctx())
    # A bitwise and by a variable only bounds its result: not exact under a quantifier.
    with pytest.raises(NotLinear):
        tr.formula(forall(k, 0, n, (k & x) <= k))
    assert tr.formula(z3.ULE(k & x, k)) is not None                        # fine outside
    with pytest.raises(NotLinear):
        tr.formula(z3.Lambda([k], A[k] + 1)[x] == 0)
    m = z3.Int("m")
    with pytest.raises(NotLinear):
        tr.formula(z3.ForAll([m], z3.BV2Int(x) <= m))


def test_a_path_condition_repeated_in_the_body_stays_outside() -> None:
    """The encoder puts the whole path condition into each body (branches inside the body
    repeat it in their conditions, after a join in a disjunction): the translation takes it
    out, so no quantifier of the path condition is nested in the body."""
    path = z3.And(SORTED, x > 0)
    in_range = z3.And(0 <= k, k < n)
    left, right = z3.And(path, in_range, A[k] > x), z3.And(path, in_range, A[k] <= x)
    claim = z3.ForAll([k], z3.Implies(z3.Or(left, right),
                                      z3.If(left, A[k] > 0, A[k] <= x)))
    tr = IntTranslator(z3.main_ctx())
    out = tr.formula(claim)
    quantifiers = []

    def walk(e, depth):
        if z3.is_quantifier(e):
            quantifiers.append(depth)
            walk(e.body(), depth + 1)
        else:
            for c in e.children():
                walk(c, depth)
    walk(out, 0)
    assert sorted(quantifiers) == [0, 0]          # SORTED, outside; the claim's own
    assert agree(path, z3.Not(claim)) == z3.unsat
    # The same shape with a false claim (x == 1, A[k] == 2) is not proved.
    wrong = z3.ForAll([k], z3.Implies(z3.Or(left, right),
                                      z3.If(left, A[k] > 2, A[k] <= x)))
    assert agree(path, z3.Not(wrong)) == z3.sat


def test_floats_keep_their_order_and_identity() -> None:
    """Each float becomes a number in the order of floats, one per float: comparisons keep
    their IEEE meaning (-0 == +0, NaN unordered), equality its SMT one (-0 and +0 differ,
    NaN is itself). Checked on literals of both widths, in a context of their own."""
    ctx = z3.Context()
    tr = IntTranslator(ctx)
    inf, nan = float("inf"), float("nan")
    doubles = [-inf, -1.7e308, -1.5, -5e-324, -0.0, 0.0, 5e-324, 1e-300, 1.5, 1.7e308, inf, nan]
    singles = [-inf, -3.4e38, -1.5, -1.5e-45, -0.0, 0.0, 1.5e-45, 1e-30, 1.5, 3.4e38, inf, nan]
    for sort, values in ((z3.Float64(ctx), doubles), (z3.Float32(ctx), singles)):
        nums = [z3.FPVal(v, None, sort, ctx) for v in values]

        def decide(f):
            out = z3.simplify(tr.formula(f))
            assert z3.is_true(out) or z3.is_false(out), out
            return z3.is_true(out)
        for a, fa in zip(values, nums):
            for b, fb in zip(values, nums):
                assert decide(z3.fpLT(fa, fb, ctx=ctx)) == (a < b)
                assert decide(z3.fpLEQ(fa, fb, ctx=ctx)) == (a <= b)
                assert decide(z3.fpEQ(fa, fb, ctx=ctx)) == (a == b)
                assert decide(fa == fb) == z3.is_true(z3.simplify(fa == fb))
            negative = z3.fpIsNegative(fa, ctx=ctx)
            assert decide(negative) == z3.is_true(z3.simplify(negative))
            minus = z3.fpNeg(fa, ctx=ctx)
            assert decide(z3.fpIsNaN(minus, ctx=ctx)) == (a != a)
            assert decide(minus == z3.FPVal(-a, None, sort, ctx))
            assert decide(minus == fa) == (a != a)        # only NaN is its own negation


def test_quantified_claims_over_float_arrays() -> None:
    ctx = z3.Context()
    kk, m = z3.BitVecs("k m", 32, ctx)
    F = z3.Float64(ctx)
    B = z3.Array("B", z3.BitVecSort(32, ctx), F)
    zero, minus_zero = z3.FPVal(0.0, None, F, ctx), z3.fpMinusZero(F)
    ii = z3.BitVec("i", 32, ctx)
    ordered = z3.ForAll([kk], z3.Implies(z3.And(1 <= kk, kk < m),
                                         z3.Not(z3.fpLT(B[kk], B[kk - 1], ctx=ctx))))
    assert agree(ordered, 1 <= ii, ii < m, z3.fpLT(B[ii], B[ii - 1], ctx=ctx)) == z3.unsat
    assert agree(z3.Not(ordered)) == z3.sat
    one = z3.And(m == 1, B[0] == minus_zero)
    ieee = z3.Exists([kk], z3.And(0 <= kk, kk < m, z3.fpEQ(B[kk], zero, ctx=ctx)))
    same = z3.Exists([kk], z3.And(0 <= kk, kk < m, B[kk] == zero))
    assert agree(one, z3.Not(ieee)) == z3.unsat        # -0 == +0 as numbers ...
    assert agree(one, z3.Not(same)) == z3.sat          # ... but they are two floats


def _constants(e, out: set[str]) -> set[str]:
    if z3.is_quantifier(e):
        _constants(e.body(), out)
    elif z3.is_const(e) and e.decl().kind() == z3.Z3_OP_UNINTERPRETED:
        out.add(e.decl().name())
    else:
        for c in e.children():
            _constants(c, out)
    return out


def _bound_names(e, out: set[str]) -> set[str]:
    if z3.is_quantifier(e):
        out.update(e.var_name(v) for v in range(e.num_vars()))
        _bound_names(e.body(), out)
    else:
        for c in e.children():
            _bound_names(c, out)
    return out


def test_terms_of_a_body_stay_inside_their_quantifier() -> None:
    tr = IntTranslator(z3.main_ctx())
    shared = A[x * 3]          # the same read inside and outside the body
    f = z3.And(shared > 0, forall(k, 0, n, A[k * 5] < shared))
    out = tr.formula(f)
    bound = _bound_names(out, set())
    outside = _constants(z3.And(*tr.side), set())
    assert bound and not bound & outside
    # k * 5 needs a wrap-around multiple: it is bound by the quantifier, not free outside.
    assert len(bound) >= 3
    # Translating again answers from the memo; the shared read is translated once, outside.
    assert tr.formula(f).eq(out)
    assert tr.term(shared).eq(tr.term(shared))


def test_a_dead_term_never_answers_for_a_new_one() -> None:
    """Z3 reuses the id of a deleted term; `formula(Not(cond))` builds a term that dies at
    once, so a memo keyed by ids must keep its keys alive."""
    tr = IntTranslator(z3.main_ctx())
    xi = tr.term(x)
    for c in range(1, 40):
        g = tr.formula(z3.Not(x < c))
        s = z3.Solver()
        s.add(*tr.side, g, xi == c - 1)
        assert s.check() == z3.unsat, (c, g)


def _random_body(rng: random.Random, v, w):
    def term(depth: int):
        if depth == 0 or rng.random() < 0.35:
            return rng.choice([v, v, w, z3.BitVecVal(rng.randint(-3, 3), 8)])
        a = term(depth - 1)
        op = rng.choice(["add", "sub", "neg", "mul", "div", "rem", "mask"])
        return {"add": lambda: a + term(depth - 1), "sub": lambda: a - term(depth - 1),
                "neg": lambda: -a, "mul": lambda: a * rng.choice([2, 3, -1]),
                "div": lambda: a / rng.choice([2, 3, -2]),
                "rem": lambda: z3.SRem(a, rng.choice([2, 5])),
                "mask": lambda: a & rng.choice([1, 3, 15])}[op]()
    cmp = rng.choice([lambda p, q: p < q, lambda p, q: p <= q, lambda p, q: p == q,
                      lambda p, q: p != q])
    return cmp(term(2), term(2))


def test_quantified_translation_agrees_on_random_formulas() -> None:
    """Eight-bit bodies: the bit-vector solver decides them by enumeration, so its answers
    are a reference for the integer translation, in both quantifiers and both polarities.
    Constant ranges without a free variable make closed claims, true or false (so about half
    the cases are "unsat"); ranges reaching 127 make the body wrap around."""
    v, w, lo = z3.BitVecs("v w lo", 8)
    rng = random.Random(5)
    answers = {"sat": 0, "unsat": 0}
    for _ in range(48):
        free = rng.random() < 0.3
        body = _random_body(rng, v, w if free else z3.BitVecVal(rng.randint(-9, 9), 8))
        a, b = rng.choice([(-4, 9), (0, 100), (-128, 127), (100, 127), (-128, -100)])
        start = lo if free and rng.random() < 0.5 else z3.BitVecVal(a, 8)
        guard = z3.And(start <= v, v < b)
        q = rng.choice([z3.ForAll, z3.Exists])
        f = q([v], z3.Implies(guard, body) if q is z3.ForAll else z3.And(guard, body))
        f = rng.choice([f, z3.Not(f)])
        expected = bv_answer(f)
        got = int_answer(f, rlimit=3_000_000)
        if got != z3.unknown and expected != z3.unknown:
            assert got == expected, f
            answers[str(got)] += 1
    assert answers["sat"] >= 10 and answers["unsat"] >= 10, answers


# --- the quantified invariants of the corpus, proved by the integer translation -------------

def test_insertion_sort_invariants_are_proved_by_the_integer_translation() -> None:
    path = HERE / "ok" / "insertion_sort.syn"
    _, program, diagnostics = load_checked(str(path))
    assert not diagnostics
    effects = analyze_effects(program)
    groups = recursive_groups(call_graph(program))
    fn = program.functions["main.insertion_sort"]
    ctx = z3.Context()
    enc = encode_function(program, effects, groups, fn, ctx)
    tr = IntTranslator(ctx)
    solver = z3.Solver(ctx=ctx)
    solver.set("rlimit", INT_RLIMIT)
    for fact in enc.facts:
        solver.add(*tr.assumptions(fact))
    proved = []
    for ob in enc.obligations:
        if "forall" not in ob.message or ob.kind not in ("invariant", "ensures"):
            continue
        goal = tr.formula(z3.Not(ob.cond))
        hyps = tr.assumptions(ob.pc)
        solver.push()
        solver.add(*tr.side, *hyps, goal)
        answer = solver.check()
        solver.pop()
        assert answer == z3.unsat, (ob.span.line, ob.message)
        proved.append(ob.span.line)
    # Four quantified invariants, each on entry and after an iteration, and the ensures.
    assert len(proved) == 9


def test_quantified_claims_in_programs(tmp_path: Path) -> None:
    path = tmp_path / "q.syn"
    path.write_text("""
fn no_wrap(n: i32) requires n >= 0 {
    assert forall k in 0..n: k + 1 > k;
}
fn wraps(n: i32) {
    assert forall k in -5..n: k + 2 > k;
}
fn unsorted(v: Vec[i32]) {
    assert forall k in 1..v.len(): v[k - 1] <= v[k];
}
fn found(v: Vec[i32], x: i32) requires v.len() > 3 && v[3] == x {
    assert exists k in 0..v.len(): v[k] == x;
}
fn witness(v: Vec[i32], x: i32) requires exists k in 0..v.len(): v[k] == x {
    assert v.len() > 0;
    assert !(forall k in 0..v.len(): v[k] != x);
}
fn pairs(v: Vec[i32]) requires forall i in 0..v.len(): forall j in i..v.len(): v[i] <= v[j] {
    assert forall k in 1..v.len(): v[k - 1] <= v[k];
}
""")
    report = verify_file(str(path), lib=True, replay=False)
    assert not report.diagnostics
    results = {}
    for o in report.obligations:
        if o.kind == "assert":
            results.setdefault(o.function.split(".")[-1], []).append(o.result)
    assert results == {"no_wrap": ["proved"], "wraps": ["failed"], "unsorted": ["failed"],
                       "found": ["proved"], "witness": ["proved", "proved"],
                       "pairs": ["proved"]}
    (wrapped,) = [o for o in report.obligations if o.function == "main.wraps"]
    inputs = dict(wrapped.counterexample["inputs"])
    assert inputs["n"] == "2147483647"     # k + 2 wraps only at k == 2147483646

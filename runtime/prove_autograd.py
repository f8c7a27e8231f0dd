"""`syn prove autograd`: Z3 proofs that every gradient rule of `runtime/autograd.py` is right.

For each primitive of `RULES` and each case in `CASES` (an op at small listed shapes), the
adjoint identity

    ⟨g, JVP(x; h)⟩ = ⟨VJP(x; g), h⟩      for all real x (in the op's domain), h, g

is proved over the reals, where VJP is the shipped backward rule itself run on symbolic arrays
and JVP is the tangent of the shipped forward rule run on dual numbers (`runtime/symbolic.py`
has both, and the mapping of numpy's elementwise functions to Z3 with their axioms). Only the
inputs the table marks differentiable get tangents and are compared. For polynomial ops the
exact first-order remainder is proved as well (f(x + dx) − f(x) − JVP(x; dx) equals the
second-order part, e.g. dA·dB for matmul, 0 for linear ops).

Points where an op is not differentiable are excluded by the case's domain (relu at 0, ties
in max) and their conventions proved separately (`CONVENTIONS`): relu's backward gives 0 at 0;
max's backward at ties gives g / k to each of the k maximal elements and 0 elsewhere.

Beside each proof: a float64 central-difference check of the same rule at a random point of
the domain (its largest absolute error), and a mutation suite: mechanically wrong backward
rules (scaled by 2, negated, one input's gradient dropped, two inputs' gradients swapped, the
gradient transposed or reversed) that must each get a counterexample.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np
import z3

from synapse.runtime import autograd, symbolic
from synapse.runtime.autograd import NON_DIFFERENTIABLE_INPUTS, RULES, Rule

Shape = tuple[int, ...]
Domain = Callable[[list[np.ndarray]], list[Any]]   # input expressions -> hypotheses
Backward = Callable[[Any, Any], tuple[Any, ...]]


# -- cases ----------------------------------------------------------------------------------------

def _anywhere(xs: list[np.ndarray]) -> list[Any]:
    return []


def _positive(k: int) -> Domain:
    return lambda xs: [e > 0 for e in xs[k].reshape(-1)]


def _nonzero(k: int) -> Domain:
    return lambda xs: [e != 0 for e in xs[k].reshape(-1)]


def _distinct_along(axis: int) -> Domain:
    def hyps(xs: list[np.ndarray]) -> list[Any]:
        moved = np.moveaxis(xs[0], axis, -1)
        return [z3.Distinct(*row) for row in moved.reshape(-1, moved.shape[-1])]
    return hyps


@dataclass(frozen=True)
class Case:
    """One op at fixed shapes: the inputs' shapes, constant arguments, concrete inputs."""

    op: str
    shapes: tuple[Shape, ...]
    consts: tuple[Any, ...] = ()
    fixed: tuple[tuple[int, tuple], ...] = ()        # (input index, nested-list value)
    domain: Domain = _anywhere
    domain_text: str = "all reals"
    remainder: str | None = None     # "linear" | "bilinear" | "power" (exact remainder proved)

    @property
    def label(self) -> str:
        shapes = " ".join("x".join(map(str, s)) or "scalar" for s in self.shapes)
        consts = f" {self.consts}" if self.consts else ""
        return f"{self.op} [{shapes}]{consts}"

    def fixed_value(self, k: int) -> np.ndarray | None:
        for index, value in self.fixed:
            if index == k:
                return np.array(value, dtype=np.float64)
        return None


_M = (2, 3)
CASES: tuple[Case, ...] = (
    Case("add", (_M, _M), remainder="linear"),
    Case("add", (_M, (3,)), remainder="linear"),
    Case("add", ((2, 1), (1, 3)), remainder="linear"),
    Case("sub", (_M, _M), remainder="linear"),
    Case("sub", ((3,), _M), remainder="linear"),
    Case("mul", (_M, _M), remainder="bilinear"),
    Case("mul", (_M, (2, 1)), remainder="bilinear"),
    Case("div", (_M, _M), domain=_nonzero(1), domain_text="b != 0"),
    Case("div", (_M, (3,)), domain=_nonzero(1), domain_text="b != 0"),
    Case("neg", (_M,), remainder="linear"),
    Case("exp", (_M,)),
    Case("log", (_M,), domain=_positive(0), domain_text="x > 0"),
    Case("tanh", (_M,)),
    Case("relu", (_M,), domain=_nonzero(0), domain_text="x != 0 (convention at 0 proved apart)"),
    Case("sqrt", (_M,), domain=_positive(0), domain_text="x > 0"),
    Case("pow", ((3,),), (2.0,), remainder="power"),
    Case("pow", ((3,),), (3.0,), remainder="power"),
    Case("pow", ((3,),), (-0.5,), domain=_positive(0), domain_text="x > 0"),
    Case("pow", ((3,),), (-1.0,), domain=_nonzero(0), domain_text="x != 0"),
    Case("add_scalar", (_M,), (1.5,), remainder="linear"),
    Case("mul_scalar", (_M,), (-0.5,), remainder="linear"),
    Case("sum", (_M,), (0, False), remainder="linear"),
    Case("sum", (_M,), (1, True), remainder="linear"),
    Case("mean", (_M,), (1, False), remainder="linear"),
    Case("mean", (_M,), (0, True), remainder="linear"),
    Case("max", (_M,), (1, False), domain=_distinct_along(1),
         domain_text="no ties along the axis (ties proved apart)"),
    Case("max", (_M,), (0, True), domain=_distinct_along(0),
         domain_text="no ties along the axis (ties proved apart)"),
    Case("matmul", ((2, 3), (3, 2)), remainder="bilinear"),
    Case("matmul", ((2, 2, 3), (3, 2)), remainder="bilinear"),
    Case("matmul", ((2, 2, 3), (2, 3, 2)), remainder="bilinear"),
    Case("matmul", ((1, 2, 2), (2, 2, 2)), remainder="bilinear"),
    Case("reshape", (_M,), ((3, 2),), remainder="linear"),
    Case("permute", ((2, 3, 2),), ((2, 0, 1),), remainder="linear"),
    Case("transpose", ((2, 3, 2),), (0, 2), remainder="linear"),
    Case("broadcast", ((3,),), ((2, 3),), remainder="linear"),
    Case("broadcast", ((2, 1),), ((2, 2, 3),), remainder="linear"),
    Case("slice", ((3, 4),), (1, 1, 3), remainder="linear"),
    Case("concat", ((2, 3), (2, 2)), (1,), remainder="linear"),
    Case("gather", ((4, 3), (2, 2)), fixed=((1, ((0.0, 2.0), (2.0, 3.0))),),
         remainder="linear"),
    Case("where", (_M, _M, (3,)), remainder="linear"),
)

# Rules without a backward: their output carries no gradient, so there is nothing to prove.
NO_GRADIENT = tuple(name for name, rule in RULES.items() if rule.backward is None)


# -- one symbolic run -----------------------------------------------------------------------------

@dataclass
class Symbolic:
    """The expressions of one case: inputs, tangents, upstream gradient, JVP, VJP, hypotheses."""

    xs: list[np.ndarray]
    hs: list[np.ndarray | None]
    g: np.ndarray
    out: np.ndarray
    jvp: np.ndarray
    vjp: tuple[Any, ...]
    hypotheses: list[Any]


def _differentiable(case: Case, rule: Rule) -> list[int]:
    skip = set(NON_DIFFERENTIABLE_INPUTS.get(case.op, ())) | {k for k, _ in case.fixed}
    return [k for k in range(rule.arity) if k not in skip]


def _inputs(case: Case, prefix: str = "x") -> list[np.ndarray]:
    xs = []
    for k, shape in enumerate(case.shapes):
        fixed = case.fixed_value(k)
        xs.append(fixed if fixed is not None else symbolic.variables(f"{prefix}{k}", shape))
    return xs


def _as_sym(x: np.ndarray) -> np.ndarray:
    return x if x.dtype != object else symbolic.sym_array(x)


def _as_dual(x: np.ndarray, h: np.ndarray | None) -> np.ndarray:
    return x if x.dtype != object else symbolic.dual_array(x, h)


def run_symbolic(case: Case, backward: Backward | None = None) -> Symbolic:
    """Forward on Sym and Dual arrays, backward (the shipped one unless given) on Sym arrays."""
    rule = RULES[case.op]
    backward = backward or rule.backward
    assert backward is not None
    diff = _differentiable(case, rule)
    xs = _inputs(case)
    hs = [symbolic.variables(f"h{k}", case.shapes[k]) if k in diff else None
          for k in range(rule.arity)]
    with symbolic.recording_axioms() as axioms, symbolic.patched_numpy(autograd):
        out, saved = rule.forward(*(_as_sym(x) for x in xs), *case.consts)
        dual_out, _ = rule.forward(*(_as_dual(x, h) for x, h in zip(xs, hs)), *case.consts)
        g = symbolic.variables("g", np.shape(out))
        vjp = backward(symbolic.sym_array(g), saved)
    hypotheses = case.domain(xs) + axioms.facts
    return Symbolic(xs, hs, g, symbolic.exprs_of(out), symbolic.tangents_of(dual_out),
                    tuple(vjp), hypotheses)


def _dot(a: np.ndarray, b: np.ndarray) -> Any:
    terms = [x * y for x, y in zip(a.reshape(-1), b.reshape(-1))]
    return z3.Sum(terms) if terms else z3.RealVal(0)


def adjoint_gap(s: Symbolic, case: Case) -> tuple[Any, str | None]:
    """⟨g, JVP⟩ − ⟨VJP, h⟩, or a reason the VJP has the wrong shape."""
    lhs = _dot(s.g, s.jvp)
    rhs_terms = []
    for k, h in enumerate(s.hs):
        if h is None:
            continue
        grad = s.vjp[k] if k < len(s.vjp) else None
        if grad is None:
            return None, f"no gradient for input {k}"
        if np.shape(grad) != h.shape:
            return None, f"gradient {k} has shape {np.shape(grad)}, input {h.shape}"
        rhs_terms.append(_dot(symbolic.exprs_of(grad), h))
    return lhs - z3.Sum(rhs_terms), None


# -- solving --------------------------------------------------------------------------------------

@dataclass
class Outcome:
    proved: bool
    ms: float
    rlimit: int
    counterexample: str | None = None


_rlimit_seen = [0]


def _rlimit(solver: z3.Solver) -> int:
    """Z3's resource count spent since the previous check (the counter is process-wide)."""
    stats = solver.statistics()
    for key in stats.keys():
        if key == "rlimit count":
            total = int(stats.get_key_value(key))
            spent, _rlimit_seen[0] = max(total - _rlimit_seen[0], 0), total
            return spent
    return 0


def prove(hypotheses: Iterable[Any], claim: Any) -> Outcome:
    """Check that the hypotheses entail `claim` (unsat of their conjunction with ¬claim)."""
    solver = z3.Solver()
    solver.set("timeout", 20_000)
    solver.add(*hypotheses)
    solver.add(z3.Not(claim))
    start = time.perf_counter()
    result = solver.check()
    ms = (time.perf_counter() - start) * 1000
    if result == z3.unsat:
        return Outcome(True, ms, _rlimit(solver))
    model = None
    if result == z3.sat:
        m = solver.model()
        model = ", ".join(f"{d.name()}={m[d]}" for d in list(m.decls())[:6]
                          if d.arity() == 0)
    return Outcome(False, ms, _rlimit(solver), model or str(result))


class NotPolynomial(Exception):
    """A designated variable sits where a polynomial cannot have it (inside a condition)."""


def polynomial_coefficients(expr: Any, names: frozenset[str]) -> dict[tuple[str, ...], Any]:
    """`expr` as a polynomial in the variables `names`: monomial -> coefficient expression.

    Coefficients may hold anything else (the inputs x, `If`s on them, uninterpreted
    functions). A polynomial vanishes for all values of its variables exactly when every
    coefficient is 0, so the adjoint identity, bilinear in (g, h), splits into small
    claims about x alone: linear arithmetic with case splits where the ops are piecewise,
    instead of one nonlinear problem.
    """
    vars_memo: dict[int, bool] = {}
    poly_memo: dict[int, dict[tuple[str, ...], Any]] = {}

    def mentions(e: Any) -> bool:
        key = e.get_id()
        if key not in vars_memo:
            if z3.is_const(e) and e.decl().kind() == z3.Z3_OP_UNINTERPRETED:
                vars_memo[key] = e.decl().name() in names
            else:
                vars_memo[key] = any(mentions(c) for c in e.children())
        return vars_memo[key]

    def add(a: dict, b: dict, sign: int = 1) -> dict:
        out = dict(a)
        for k, v in b.items():
            out[k] = out[k] + v if sign > 0 and k in out else (
                out[k] - v if k in out else (v if sign > 0 else -v))
        return out

    def mul(a: dict, b: dict) -> dict:
        out: dict = {}
        for ka, va in a.items():
            for kb, vb in b.items():
                k = tuple(sorted(ka + kb))
                out[k] = out[k] + va * vb if k in out else va * vb
        return out

    def walk(e: Any) -> dict:
        key = e.get_id()
        if key in poly_memo:
            return poly_memo[key]
        if not mentions(e):
            result: dict = {(): e}
        elif z3.is_const(e):
            result = {(e.decl().name(),): z3.RealVal(1)}
        else:
            kind = e.decl().kind()
            kids = e.children()
            if kind == z3.Z3_OP_ADD:
                result = {}
                for c in kids:
                    result = add(result, walk(c))
            elif kind == z3.Z3_OP_SUB:
                result = walk(kids[0])
                for c in kids[1:]:
                    result = add(result, walk(c), -1)
            elif kind == z3.Z3_OP_UMINUS:
                result = {k: -v for k, v in walk(kids[0]).items()}
            elif kind == z3.Z3_OP_MUL:
                result = {(): z3.RealVal(1)}
                for c in kids:
                    result = mul(result, walk(c))
            elif kind == z3.Z3_OP_ITE and not mentions(kids[0]):
                then, other = walk(kids[1]), walk(kids[2])
                zero = z3.RealVal(0)
                result = {k: z3.If(kids[0], then.get(k, zero), other.get(k, zero))
                          for k in set(then) | set(other)}
            else:
                raise NotPolynomial(str(e.decl()))
        poly_memo[key] = result
        return result

    return walk(expr)


def _identity_claim(gap: Any, names: frozenset[str]) -> Any:
    """gap == 0 for all values of `names`: every coefficient 0 (or the direct claim)."""
    try:
        coefficients = polynomial_coefficients(gap, names)
    except NotPolynomial:
        return _zero(gap)
    claims = []
    for coefficient in coefficients.values():
        simple = z3.simplify(coefficient, som=True)
        if not (z3.is_rational_value(simple) and simple.as_fraction() == 0):
            claims.append(simple == 0)
    return z3.And(claims) if claims else z3.BoolVal(True)


def _free_names(s: "Symbolic") -> frozenset[str]:
    names = {str(e) for e in s.g.reshape(-1)}
    for h in s.hs:
        if h is not None:
            names |= {str(e) for e in h.reshape(-1)}
    return frozenset(names)


def _zero(expr: Any) -> Any:
    # Normalising to a sum of monomials first makes polynomial identities immediate.
    return z3.simplify(expr, som=True, arith_lhs=True) == 0


# -- remainders of polynomial ops ----------------------------------------------------------------

def _expected_remainder(case: Case, rule: Rule, xs: list[np.ndarray],
                        dxs: list[np.ndarray | None]) -> np.ndarray:
    if case.remainder == "bilinear":
        with symbolic.patched_numpy(autograd):
            pert = [_as_sym(dx if dx is not None else x) for x, dx in zip(xs, dxs)]
            out, _ = rule.forward(*pert, *case.consts)
        return symbolic.exprs_of(out)
    if case.remainder == "power":
        p = int(case.consts[0])
        x, dx = xs[0], dxs[0]
        assert dx is not None
        terms = np.empty(x.shape, dtype=object)
        for idx in np.ndindex(x.shape):
            terms[idx] = z3.Sum([math.comb(p, j) * x[idx] ** (p - j) * dx[idx] ** j
                                 for j in range(2, p + 1)])
        return terms
    return np.zeros((), dtype=object)  # linear: 0, broadcast to the output


def prove_remainder(case: Case) -> Outcome:
    """f(x + dx) − f(x) − JVP(x; dx) = the exact second-order part."""
    rule = RULES[case.op]
    diff = _differentiable(case, rule)
    xs = _inputs(case)
    dxs = [symbolic.variables(f"d{k}", case.shapes[k]) if k in diff else None
           for k in range(rule.arity)]
    with symbolic.recording_axioms() as axioms, symbolic.patched_numpy(autograd):
        moved = [_as_sym(x) if dx is None else symbolic.sym_array(x + dx)
                 for x, dx in zip(xs, dxs)]
        f_moved, _ = rule.forward(*moved, *case.consts)
        f_here, _ = rule.forward(*(_as_sym(x) for x in xs), *case.consts)
        duals, _ = rule.forward(*(_as_dual(x, dx) for x, dx in zip(xs, dxs)), *case.consts)
    expected = np.broadcast_to(_expected_remainder(case, rule, xs, dxs), np.shape(f_moved))
    gaps = (symbolic.exprs_of(f_moved) - symbolic.exprs_of(f_here)
            - symbolic.tangents_of(duals) - expected)
    claim = z3.And([_zero(e) for e in gaps.reshape(-1)])
    return prove(case.domain(xs) + axioms.facts, claim)


# -- conventions at non-differentiable points ---------------------------------------------------

def prove_relu_at_zero() -> Outcome:
    """relu's backward gives 0 where x = 0 (the subgradient 0 of [0, 1] is chosen)."""
    rule = RULES["relu"]
    x = symbolic.variables("x", (3,))
    g = symbolic.variables("g", (3,))
    with symbolic.recording_axioms() as axioms, symbolic.patched_numpy(autograd):
        _, saved = rule.forward(symbolic.sym_array(x))
        (grad,) = rule.backward(symbolic.sym_array(g), saved)
    grad = symbolic.exprs_of(grad)
    claim = z3.And([z3.Implies(x[i] == 0, grad[i] == 0) for i in range(3)]
                   + [z3.Implies(x[i] > 0, grad[i] == g[i]) for i in range(3)]
                   + [z3.Implies(x[i] < 0, grad[i] == 0) for i in range(3)])
    return prove(axioms.facts, claim)


def prove_max_ties() -> Outcome:
    """max's backward: g / k to each of the k maximal elements, 0 to the others, any ties."""
    rule = RULES["max"]
    n = 3
    x = symbolic.variables("x", (n,))
    g = z3.Real("g")
    with symbolic.recording_axioms() as axioms, symbolic.patched_numpy(autograd):
        _, saved = rule.forward(symbolic.sym_array(x), 0, False)
        (grad,) = rule.backward(symbolic.sym_array(np.array(g, dtype=object)), saved)
    grad = symbolic.exprs_of(grad)
    top = z3.Real("top")
    is_max = [x[i] == top for i in range(n)]
    k = z3.Sum([z3.If(c, 1, 0) for c in is_max])
    hyps = [z3.Or(is_max)] + [x[i] <= top for i in range(n)] + axioms.facts
    claim = z3.And([grad[i] * k == z3.If(is_max[i], g, 0) for i in range(n)])
    return prove(hyps, claim)


CONVENTIONS: dict[str, Callable[[], Outcome]] = {
    "relu: backward is 0 at x = 0 (g where x > 0, 0 where x < 0)": prove_relu_at_zero,
    "max: ties share g equally (g/k to each of k maxima, 0 elsewhere)": prove_max_ties,
}


# -- finite differences ---------------------------------------------------------------------------

def _sample(case: Case, k: int, rng: np.random.Generator) -> np.ndarray:
    fixed = case.fixed_value(k)
    if fixed is not None:
        return fixed
    shape = case.shapes[k]
    text = case.domain_text
    if case.op == "where" and k == 0:
        return rng.integers(0, 2, shape).astype(np.float64)
    if "x > 0" in text:
        return rng.uniform(0.5, 2.0, shape)
    if "!= 0" in text and (case.op != "div" or k == 1):
        return rng.uniform(0.3, 1.5, shape) * rng.choice([-1.0, 1.0], shape)
    if "ties" in text:
        n = int(np.prod(shape))
        return (rng.permutation(n) * 0.37 - n * 0.1).reshape(shape)
    return rng.standard_normal(shape)


def finite_difference_error(case: Case, seed: int = 7, eps: float = 1e-6) -> float:
    """Largest |central difference of ⟨g, f(x)⟩ − backward| over all differentiable inputs."""
    rule = RULES[case.op]
    rng = np.random.default_rng(seed)
    xs = [_sample(case, k, rng) for k in range(rule.arity)]
    out, saved = rule.forward(*xs, *case.consts)
    g = rng.standard_normal(np.shape(out))
    grads = rule.backward(g, saved)
    worst = 0.0
    for k in _differentiable(case, rule):
        flat = xs[k].reshape(-1)
        for i in range(flat.size):
            def phi(delta: float) -> float:
                moved = [x.copy() for x in xs]
                moved[k].reshape(-1)[i] += delta
                return float(np.sum(g * rule.forward(*moved, *case.consts)[0]))
            numeric = (phi(eps) - phi(-eps)) / (2 * eps)
            worst = max(worst, abs(numeric - float(np.asarray(grads[k]).reshape(-1)[i])))
    return worst


# -- mutants ----------------------------------------------------------------------------------------

def _map_grads(backward: Backward, fn: Callable[[int, Any, tuple], Any]) -> Backward:
    def mutant(g: Any, saved: Any) -> tuple[Any, ...]:
        grads = tuple(backward(g, saved))
        return tuple(fn(k, gi, grads) for k, gi in enumerate(grads))
    return mutant


def _mutate_one(backward: Backward, k: int, fn: Callable[[Any], Any]) -> Backward:
    """The backward rule with `fn` applied to input k's gradient."""
    return _map_grads(backward, lambda j, gi, _: fn(gi) if j == k else gi)


def _reverse(a: Any) -> Any:
    arr = np.asarray(a, dtype=object)
    return arr.reshape(-1)[::-1].reshape(arr.shape)


def _transpose_or_reverse(a: Any) -> Any:
    arr = np.asarray(a, dtype=object)
    if arr.ndim >= 2 and arr.shape[-1] == arr.shape[-2]:
        return np.swapaxes(arr, -1, -2)
    return _reverse(arr)


def mutants(case: Case) -> list[tuple[str, Backward]]:
    """Mechanically wrong backward rules for one case, each named."""
    rule = RULES[case.op]
    base = rule.backward
    assert base is not None
    diff = _differentiable(case, rule)
    found: list[tuple[str, Backward]] = []
    for k in diff:
        found.append((f"scale grad {k} by 2", _mutate_one(base, k, lambda gi: gi * 2)))
        found.append((f"negate grad {k}", _mutate_one(base, k, lambda gi: -gi)))
        found.append((f"drop grad {k}", _mutate_one(
            base, k, lambda gi: np.zeros(np.shape(gi), dtype=object))))
        if int(np.prod(case.shapes[k])) > 1:
            found.append((f"transpose/reverse grad {k}",
                          _mutate_one(base, k, _transpose_or_reverse)))
    if len(diff) == 2 and case.shapes[diff[0]] == case.shapes[diff[1]]:
        a, b = diff
        found.append(("swap the two grads", _map_grads(
            base, lambda j, gi, grads: grads[b] if j == a else grads[a] if j == b else gi)))
    return found


def is_equivalent(case: Case, backward: Backward, seed: int = 11) -> bool:
    """Does a mutant compute the same gradients as the rule at a random float64 point?

    Such a mutant (swapping the two equal gradients of `add`, say) is not wrong, so it is
    left out of the suite instead of being counted as a survivor.
    """
    rule = RULES[case.op]
    rng = np.random.default_rng(seed)
    xs = [_sample(case, k, rng) for k in range(rule.arity)]
    out, saved = rule.forward(*xs, *case.consts)
    g = rng.standard_normal(np.shape(out))
    assert rule.backward is not None
    want, got = rule.backward(g, saved), backward(g, saved)
    for k in _differentiable(case, rule):
        a, b = np.asarray(want[k], dtype=np.float64), np.asarray(got[k], dtype=np.float64)
        if a.shape != b.shape or not np.allclose(a, b, rtol=1e-12, atol=1e-12):
            return False
    return True


def kill(case: Case, backward: Backward) -> Outcome:
    """Run the adjoint proof with a wrong backward: it must fail (a counterexample)."""
    try:
        s = run_symbolic(case, backward)
    except (TypeError, ValueError, IndexError) as err:
        return Outcome(False, 0.0, 0, f"crashed: {err}")
    gap, shape_error = adjoint_gap(s, case)
    if shape_error:
        return Outcome(False, 0.0, 0, shape_error)
    return prove(s.hypotheses, _identity_claim(gap, _free_names(s)))


# -- the whole report -------------------------------------------------------------------------------

@dataclass
class CaseReport:
    case: str
    op: str
    domain: str
    proved: bool
    ms: float
    rlimit: int
    remainder: str | None = None
    remainder_proved: bool | None = None
    remainder_ms: float = 0.0
    fd_max_error: float = 0.0
    mutants: int = 0
    mutants_killed: int = 0
    equivalent_mutants: int = 0
    survivors: list[str] = field(default_factory=list)
    detail: str | None = None


def prove_case(case: Case, *, with_mutants: bool = True) -> CaseReport:
    s = run_symbolic(case)
    gap, shape_error = adjoint_gap(s, case)
    outcome = (Outcome(False, 0.0, 0, shape_error) if shape_error
               else prove(s.hypotheses, _identity_claim(gap, _free_names(s))))
    report = CaseReport(case.label, case.op, case.domain_text, outcome.proved, outcome.ms,
                        outcome.rlimit, detail=outcome.counterexample)
    if case.remainder:
        rem = prove_remainder(case)
        report.remainder = case.remainder
        report.remainder_proved = rem.proved
        report.remainder_ms = rem.ms
    report.fd_max_error = finite_difference_error(case)
    if with_mutants:
        for name, backward in mutants(case):
            if is_equivalent(case, backward):
                report.equivalent_mutants += 1
                continue
            report.mutants += 1
            result = kill(case, backward)
            if result.proved:
                report.survivors.append(name)
            else:
                report.mutants_killed += 1
    return report


@dataclass
class Report:
    cases: list[CaseReport]
    conventions: dict[str, bool]
    no_gradient: tuple[str, ...]
    wall_s: float

    @property
    def ops(self) -> list[str]:
        return sorted({c.op for c in self.cases})

    @property
    def ops_proved(self) -> list[str]:
        return sorted(op for op in self.ops
                      if all(c.proved and c.remainder_proved is not False
                             for c in self.cases if c.op == op))

    @property
    def proof_ms(self) -> float:
        return sum(c.ms for c in self.cases)

    @property
    def mutants(self) -> int:
        return sum(c.mutants for c in self.cases)

    @property
    def mutants_killed(self) -> int:
        return sum(c.mutants_killed for c in self.cases)

    @property
    def ok(self) -> bool:
        return (len(self.ops_proved) == len(self.ops) and all(self.conventions.values())
                and self.mutants_killed == self.mutants)

    def to_json(self) -> dict[str, Any]:
        per_op: dict[str, Any] = {}
        for op in RULES:
            cases = [c for c in self.cases if c.op == op]
            if op in self.no_gradient:
                per_op[op] = {"status": "no-gradient", "cases": []}
                continue
            per_op[op] = {
                "status": "proved" if op in self.ops_proved else "FAILED",
                "cases": [c.__dict__ for c in cases],
            }
        return {
            "ok": self.ok,
            "ops": per_op,
            "ops_proved": len(self.ops_proved),
            "ops_with_gradient": len(self.ops),
            "proof_ms_total": round(self.proof_ms, 3),
            "mutants": self.mutants,
            "mutants_killed": self.mutants_killed,
            "conventions": self.conventions,
            "axioms": {e.name: e.axiom_text for e in symbolic.ELEMENTARY.values()}
            | {"pow": "(x^p)' = p x^(p-1); x > 0 -> x^p > 0 (non-integer p); "
                      "integer p: exact polynomial"},
            "wall_s": round(self.wall_s, 3),
        }


def prove_all(*, with_mutants: bool = True, ops: Iterable[str] | None = None) -> Report:
    wanted = set(ops) if ops else None
    start = time.perf_counter()
    z3.Solver().check()  # the first solver of a process pays a one-off start-up cost
    cases = [prove_case(c, with_mutants=with_mutants) for c in CASES
             if wanted is None or c.op in wanted]
    conventions = {name: fn().proved for name, fn in CONVENTIONS.items()
                   if wanted is None or name.split(":")[0] in wanted}
    return Report(cases, conventions, NO_GRADIENT, time.perf_counter() - start)


def missing_cases() -> list[str]:
    """Ops of the table with a backward but no case here (a new rule needs a case)."""
    covered = {c.op for c in CASES}
    return sorted(name for name, rule in RULES.items()
                  if rule.backward is not None and name not in covered)

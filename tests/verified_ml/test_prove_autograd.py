"""`syn prove autograd`: the Z3 proofs of the gradient rules, their conventions and mutants.

The whole table is proved once per module (about 6 s with the mutation suite). Beyond what the
report says about itself, hand-written wrong rules (not produced by the mutant generator) must
get counterexamples, and the polynomial splitting the proofs rely on is checked on a polynomial
whose coefficients are worked out by hand.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import z3

from synapse.runtime import autograd, prove_autograd
from synapse.runtime.autograd import RULES
from synapse.runtime.cli import main as syn_main
from synapse.runtime.prove_autograd import CASES, Case, kill, polynomial_coefficients


@pytest.fixture(scope="module")
def report() -> prove_autograd.Report:
    return prove_autograd.prove_all()


def test_every_rule_with_a_gradient_has_a_case() -> None:
    assert prove_autograd.missing_cases() == []


def test_every_op_is_proved_with_its_remainder(report: prove_autograd.Report) -> None:
    failed = [c.case for c in report.cases if not c.proved or c.remainder_proved is False]
    assert failed == []
    assert report.ops_proved == report.ops
    with_gradient = sorted(n for n, r in RULES.items() if r.backward is not None)
    assert report.ops == with_gradient


def test_polynomial_ops_have_their_exact_remainder_proved(report: prove_autograd.Report) -> None:
    remainders = {c.op: c.remainder for c in report.cases if c.remainder}
    assert remainders["matmul"] == "bilinear" and remainders["mul"] == "bilinear"
    assert remainders["pow"] == "power" and remainders["add"] == "linear"


def test_conventions_at_non_differentiable_points_are_proved(report) -> None:
    assert len(report.conventions) == 2 and all(report.conventions.values())


def test_finite_differences_agree_in_float64(report: prove_autograd.Report) -> None:
    # Central differences with eps 1e-6 on values of size ~1: truncation ~1e-12, rounding ~1e-10.
    worst = max(c.fd_max_error for c in report.cases)
    assert worst < 1e-6


def test_every_mutant_is_killed(report: prove_autograd.Report) -> None:
    assert report.mutants >= len(report.cases)
    assert report.mutants_killed == report.mutants
    per_op = {c.op for c in report.cases if c.mutants}
    assert per_op == set(report.ops)


def test_solver_time_is_small(report: prove_autograd.Report) -> None:
    # The target is 100 ms; allow a slow CI machine a wide margin.
    assert report.proof_ms < 2000


def _case(op: str) -> Case:
    return next(c for c in CASES if c.op == op)


def test_a_wrong_tanh_rule_gets_a_counterexample() -> None:
    wrong = lambda g, out: (g * (1 + out * out),)  # noqa: E731 - sign of tanh² flipped
    outcome = kill(_case("tanh"), wrong)
    assert not outcome.proved and outcome.counterexample


def test_a_matmul_rule_missing_a_transpose_gets_a_counterexample() -> None:
    case = Case("matmul", ((2, 2), (2, 2)))

    def wrong(g, saved):
        a, b = saved
        return g @ b, a.T @ g                          # should be g @ b.T
    assert not kill(case, wrong).proved


def test_a_div_rule_with_the_wrong_sign_gets_a_counterexample() -> None:
    def wrong(g, saved):
        a_shape, b, out = saved
        return g / b, g / b * out                      # should be -g / b * out
    assert not kill(_case("div"), wrong).proved


def test_relu_with_the_other_convention_at_zero_fails_the_convention(monkeypatch) -> None:
    # Gradient 1 at 0 still satisfies the identity where relu is differentiable, so only the
    # convention proof can tell the two apart.
    other = autograd.Rule("relu", 1, lambda a: (autograd.np.maximum(a, 0), a >= 0), autograd._relu_b)
    monkeypatch.setitem(RULES, "relu", other)
    assert prove_autograd.prove_case(_case("relu"), with_mutants=False).proved
    assert not prove_autograd.prove_relu_at_zero().proved


def test_polynomial_coefficients_of_a_known_polynomial() -> None:
    x, g, h = z3.Reals("x g0 h0")
    # (g + 2x)(h - x) = g h - x g + 2x h - 2x²
    coeffs = polynomial_coefficients((g + 2 * x) * (h - x), frozenset({"g0", "h0"}))
    want = {("g0", "h0"): 1, ("g0",): -x, ("h0",): 2 * x, (): -2 * x * x}
    assert set(coeffs) == set(want)
    for key, value in want.items():
        assert z3.simplify(coeffs[key] - value, som=True).eq(z3.RealVal(0)) or \
            z3.simplify(coeffs[key] - value) == 0


def test_cli_json_lists_every_op() -> None:
    import contextlib
    import io
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = syn_main(["prove", "autograd", "--json", "--no-mutants", "--op", "mul",
                         "--op", "relu"])
    assert code == 0
    data = json.loads(out.getvalue())
    assert set(data["ops"]) == set(RULES)
    assert data["ops"]["mul"]["status"] == "proved"
    assert data["ops"]["eq"]["status"] == "no-gradient"
    assert data["ops_proved"] == 2

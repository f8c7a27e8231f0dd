"""Every gradient rule of `runtime/autograd.py` against finite differences and PyTorch.

Each case goes through `tensor_support.check_rule` (one helper, explicit tolerances). Inputs
keep away from the points where an op is not differentiable (relu at 0, ties in max, log and
sqrt near 0), except the tie case of max, which is checked against torch.amax's rule (ties
share the gradient equally). The meta-test fails when a rule of the table has no case.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from synapse.runtime.autograd import NON_DIFFERENTIABLE_INPUTS, RULES, unbroadcast  # noqa: E402
from tensor_support import RuleCase, check_rule  # noqa: E402

_rng = np.random.default_rng(1234)


def normal(*shape: int) -> np.ndarray:
    return _rng.standard_normal(shape)


def positive(*shape: int) -> np.ndarray:
    return _rng.uniform(0.5, 2.0, shape)


def away_from_zero(*shape: int) -> np.ndarray:
    x = _rng.uniform(0.2, 1.5, shape)
    return x * _rng.choice([-1.0, 1.0], shape)


def distinct(*shape: int) -> np.ndarray:
    """Values with no ties (a permutation of spaced numbers)."""
    n = int(np.prod(shape))
    return (_rng.permutation(n) * 0.37 - n * 0.1).reshape(shape)


def T(x: np.ndarray) -> np.ndarray:  # noqa: N802 - reads like the math
    return x


CASES: list[RuleCase] = [
    RuleCase("add", [normal(3, 4), normal(3, 4)], lambda a, b: a + b, label="same"),
    RuleCase("add", [normal(2, 1, 3), normal(4, 1)], lambda a, b: a + b, label="broadcast"),
    RuleCase("sub", [normal(3, 4), normal(4)], lambda a, b: a - b, label="broadcast"),
    RuleCase("sub", [normal(2, 3), normal(2, 3)], lambda a, b: a - b, label="same"),
    RuleCase("mul", [normal(2, 3, 4), normal(3, 1)], lambda a, b: a * b, label="broadcast"),
    RuleCase("mul", [normal(5), normal(5)], lambda a, b: a * b, label="same"),
    RuleCase("div", [normal(3, 4), away_from_zero(3, 4)], lambda a, b: a / b, label="same"),
    RuleCase("div", [normal(2, 3), away_from_zero(1, 3)], lambda a, b: a / b, label="broadcast"),
    RuleCase("neg", [normal(3, 2)], lambda a: -a),
    RuleCase("exp", [normal(3, 4)], torch.exp),
    RuleCase("log", [positive(4, 3)], torch.log),
    RuleCase("tanh", [normal(2, 5)], torch.tanh),
    RuleCase("relu", [away_from_zero(3, 4)], torch.relu),
    RuleCase("sqrt", [positive(3, 3)], torch.sqrt),
    RuleCase("pow", [positive(3, 4)], lambda a: a ** 2.5, consts=(2.5,), label="fraction"),
    RuleCase("pow", [positive(4)], lambda a: a ** -0.5, consts=(-0.5,), label="rsqrt"),
    RuleCase("pow", [normal(2, 3)], lambda a: a ** 3.0, consts=(3.0,), label="cube"),
    RuleCase("add_scalar", [normal(3, 2)], lambda a: a + 0.75, consts=(0.75,)),
    RuleCase("mul_scalar", [normal(3, 2)], lambda a: a * -1.5, consts=(-1.5,)),
    RuleCase("sum", [normal(3, 4, 2)], lambda a: a.sum(1), consts=(1, False), label="axis1"),
    RuleCase("sum", [normal(3, 4)], lambda a: a.sum(1, keepdim=True), consts=(1, True),
             label="keepdim"),
    RuleCase("sum", [normal(5)], lambda a: a.sum(0), consts=(0, False), label="to-scalar"),
    RuleCase("mean", [normal(3, 4, 2)], lambda a: a.mean(2, keepdim=True), consts=(2, True),
             label="keepdim"),
    RuleCase("mean", [normal(4, 3)], lambda a: a.mean(0), consts=(0, False), label="axis0"),
    RuleCase("max", [distinct(3, 5)], lambda a: torch.amax(a, 1, keepdim=True),
             consts=(1, True), label="keepdim"),
    RuleCase("max", [distinct(4, 2, 3)], lambda a: torch.amax(a, 0), consts=(0, False),
             label="axis0"),
    RuleCase("matmul", [normal(3, 4), normal(4, 2)], torch.matmul, label="2d"),
    RuleCase("matmul", [normal(2, 3, 4), normal(4, 5)], torch.matmul, label="rows-times-matrix"),
    RuleCase("matmul", [normal(2, 2, 3, 4), normal(2, 2, 4, 3)], torch.matmul, label="batched"),
    RuleCase("matmul", [normal(2, 1, 3, 4), normal(3, 4, 2)], torch.matmul,
             label="broadcast-batch"),
    RuleCase("matmul", [normal(3, 4), normal(2, 4, 2)], torch.matmul, label="matrix-times-batch"),
    RuleCase("reshape", [normal(2, 6)], lambda a: a.reshape(3, 2, 2), consts=((3, 2, 2),)),
    RuleCase("permute", [normal(2, 3, 4, 5)], lambda a: a.permute(0, 2, 3, 1),
             consts=((0, 2, 3, 1),)),
    RuleCase("transpose", [normal(2, 3, 4)], lambda a: a.transpose(0, 2), consts=(0, 2)),
    RuleCase("broadcast", [normal(3, 1)], lambda a: a.expand(2, 3, 4), consts=((2, 3, 4),)),
    RuleCase("slice", [normal(3, 6, 2)], lambda a: a[:, 1:4], consts=(1, 1, 4)),
    RuleCase("slice", [normal(5, 2)], lambda a: a[0:5], consts=(0, 0, 5), label="whole"),
    RuleCase("concat", [normal(2, 3), normal(2, 4)], lambda a, b: torch.cat([a, b], 1),
             consts=(1,)),
    RuleCase("gather", [normal(5, 3), np.array([[0.0, 4.0, 4.0], [2.0, 0.0, 1.0]])],
             lambda w, i: w[i.long()], fixed=(1,)),
    RuleCase("where", [np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]]), normal(2, 3), normal(3)],
             lambda c, a, b: torch.where(c != 0, a, b), fixed=(0,)),
    RuleCase("eq", [np.array([1.0, 2.0, 3.0]), np.array([[1.0], [3.0]])],
             lambda a, b: a == b),
    RuleCase("gt", [normal(3, 2), normal(2)], lambda a, b: a > b),
    RuleCase("ge", [np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 2.0])],
             lambda a, b: a >= b),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_rule_against_finite_differences_and_torch(case: RuleCase) -> None:
    check_rule(case, np.random.default_rng(7))


def test_every_rule_has_a_test() -> None:
    covered = {case.rule for case in CASES}
    missing = sorted(set(RULES) - covered)
    assert not missing, f"gradient rules without a test case: {missing}"


def test_fixed_inputs_match_the_rule_table() -> None:
    for case in CASES:
        assert case.fixed == NON_DIFFERENTIABLE_INPUTS.get(case.rule, ()), case.id


def test_max_shares_the_gradient_between_ties_like_amax() -> None:
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    out, saved = RULES["max"].forward(x, 1, False)
    (grad,) = RULES["max"].backward(np.array([1.0, 3.0]), saved)
    t = torch.tensor(x, requires_grad=True)
    (torch.amax(t, 1) * torch.tensor([1.0, 3.0], dtype=torch.float64)).sum().backward()
    np.testing.assert_allclose(grad, t.grad.numpy())
    np.testing.assert_allclose(grad, [[0.0, 0.5, 0.5], [1.0, 1.0, 1.0]])


def test_gather_accumulates_repeated_rows() -> None:
    table = np.zeros((3, 2))
    idx = np.array([2.0, 2.0, 0.0])
    _, saved = RULES["gather"].forward(table, idx)
    g = np.array([[1.0, 2.0], [10.0, 20.0], [5.0, 5.0]])
    gw, gi = RULES["gather"].backward(g, saved)
    assert gi is None
    np.testing.assert_array_equal(gw, [[5.0, 5.0], [0.0, 0.0], [11.0, 22.0]])


@pytest.mark.parametrize("shape, target", [
    ((4, 3), (4, 3)), ((4, 3), (3,)), ((4, 3), (1, 3)), ((2, 4, 3), (4, 1)), ((2, 3), ()),
])
def test_unbroadcast_is_the_adjoint_of_broadcasting(shape, target) -> None:
    g = _rng.standard_normal(shape)
    x = _rng.standard_normal(target)
    # <g, broadcast(x)> == <unbroadcast(g), x> for every x: the defining property.
    lhs = float(np.sum(g * np.broadcast_to(x, shape)))
    rhs = float(np.sum(unbroadcast(g, target) * x))
    assert unbroadcast(g, target).shape == target
    assert abs(lhs - rhs) < 1e-12

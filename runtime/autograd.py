"""Reverse-mode autograd for the tensor host module: the rule table, tensors and the tape.

Sits under `runtime/tensors.py` (which maps guest handles to `Tensor`s and checks arguments)
and knows nothing of Wasm. Every differentiable primitive is one `Rule` in `RULES`: a forward
function from input arrays (plus constant arguments) to the output array and whatever the
backward pass needs, and a backward function from the output's gradient to one gradient per
input. Keeping every rule in one table is what lets the tests check each of them against
finite differences and PyTorch, and fail when a rule has no test.

What must stay true:
- rules are dtype-agnostic: the host runs them in float32, the tests in float64;
- `DETERMINISTIC_RULES` has the same primitives and gradients as `RULES`, computed with the
  machine-independent kernels of `runtime/det_kernels.py` (the deterministic kernel mode);
- arrays are never written in place once a tensor holds them (a gradient may alias its
  output's gradient, a reshape may alias its input): every rule returns fresh arrays or views;
- a gradient always has exactly its input's shape (`unbroadcast` sums broadcast dimensions away);
- the tape records an op only when an input requires a gradient and recording is on, so
  inference and optimizer updates leave nothing behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from synapse.runtime import det_kernels

Array = np.ndarray
Forward = Callable[..., tuple[Array, Any]]
Backward = Callable[[Array, Any], tuple["Array | None", ...]]


@dataclass(frozen=True)
class Rule:
    """One primitive: `forward(*arrays, *consts) -> (out, saved)`, `backward(g, saved) -> grads`."""

    name: str
    arity: int                   # number of tensor inputs
    forward: Forward
    backward: Backward | None    # None: the output carries no gradient (comparisons)


class Node:
    """How a non-leaf tensor was computed: its rule, its inputs and what the rule saved."""

    __slots__ = ("rule", "inputs", "saved")

    def __init__(self, rule: Rule, inputs: tuple["Tensor", ...], saved: Any) -> None:
        self.rule = rule
        self.inputs = inputs
        self.saved = saved


class Tensor:
    """A value (a numpy array), its gradient slot, and how it was computed (if recorded)."""

    __slots__ = ("value", "grad", "requires_grad", "node", "name", "handle")

    def __init__(self, value: Array, requires_grad: bool = False, node: Node | None = None,
                 name: str | None = None) -> None:
        self.value = value
        self.grad: Array | None = None
        self.requires_grad = requires_grad
        self.node = node
        self.name = name      # set for named parameters
        self.handle = 0       # the guest's handle, once it has one


# -- helpers shared by the rules ----------------------------------------------------------------

def unbroadcast(g: Array, shape: tuple[int, ...]) -> Array:
    """Sum `g` down to `shape`: the adjoint of numpy broadcasting from `shape` to `g.shape`."""
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    if extra:
        g = g.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)


def _swap_last(a: Array) -> Array:
    return np.swapaxes(a, -1, -2)


def _restore_axis(g: Array, axis: int, keepdim: bool) -> Array:
    return g if keepdim else np.expand_dims(g, axis)


# -- elementwise ---------------------------------------------------------------------------------

def _add(a: Array, b: Array) -> tuple[Array, Any]:
    return a + b, (a.shape, b.shape)


def _add_b(g: Array, s: Any) -> tuple[Array, Array]:
    return unbroadcast(g, s[0]), unbroadcast(g, s[1])


def _sub(a: Array, b: Array) -> tuple[Array, Any]:
    return a - b, (a.shape, b.shape)


def _sub_b(g: Array, s: Any) -> tuple[Array, Array]:
    return unbroadcast(g, s[0]), unbroadcast(-g, s[1])


def _mul(a: Array, b: Array) -> tuple[Array, Any]:
    return a * b, (a, b)


def _mul_b(g: Array, s: Any) -> tuple[Array, Array]:
    a, b = s
    return unbroadcast(g * b, a.shape), unbroadcast(g * a, b.shape)


def _div(a: Array, b: Array) -> tuple[Array, Any]:
    out = a / b
    return out, (a.shape, b, out)


def _div_b(g: Array, s: Any) -> tuple[Array, Array]:
    a_shape, b, out = s
    gb = g / b
    return unbroadcast(gb, a_shape), unbroadcast(-gb * out, b.shape)


def _neg(a: Array) -> tuple[Array, Any]:
    return -a, None


def _neg_b(g: Array, s: Any) -> tuple[Array]:
    return (-g,)


def _exp(a: Array) -> tuple[Array, Any]:
    out = np.exp(a)
    return out, out


def _exp_b(g: Array, out: Array) -> tuple[Array]:
    return (g * out,)


def _log(a: Array) -> tuple[Array, Any]:
    return np.log(a), a


def _log_b(g: Array, a: Array) -> tuple[Array]:
    return (g / a,)


def _tanh(a: Array) -> tuple[Array, Any]:
    out = np.tanh(a)
    return out, out


def _tanh_b(g: Array, out: Array) -> tuple[Array]:
    return (g * (1 - out * out),)


def _relu(a: Array) -> tuple[Array, Any]:
    return np.maximum(a, 0), a > 0


def _relu_b(g: Array, mask: Array) -> tuple[Array]:
    return (g * mask,)


def _sqrt(a: Array) -> tuple[Array, Any]:
    out = np.sqrt(a)
    return out, out


def _sqrt_b(g: Array, out: Array) -> tuple[Array]:
    return (g * 0.5 / out,)


def _pow(a: Array, p: float) -> tuple[Array, Any]:
    return a ** p, (a, p)


def _pow_b(g: Array, s: Any) -> tuple[Array]:
    a, p = s
    return (g * (p * a ** (p - 1)),)


def _add_scalar(a: Array, c: float) -> tuple[Array, Any]:
    return a + c, None


def _add_scalar_b(g: Array, s: Any) -> tuple[Array]:
    return (g,)


def _mul_scalar(a: Array, c: float) -> tuple[Array, Any]:
    return a * c, c


def _mul_scalar_b(g: Array, c: float) -> tuple[Array]:
    return (g * c,)


# -- reductions ----------------------------------------------------------------------------------

def _sum(a: Array, axis: int, keepdim: bool) -> tuple[Array, Any]:
    return a.sum(axis=axis, keepdims=keepdim), (a.shape, axis, keepdim)


def _sum_b(g: Array, s: Any) -> tuple[Array]:
    shape, axis, keepdim = s
    return (np.broadcast_to(_restore_axis(g, axis, keepdim), shape),)


def _mean(a: Array, axis: int, keepdim: bool) -> tuple[Array, Any]:
    return a.mean(axis=axis, keepdims=keepdim), (a.shape, axis, keepdim)


def _mean_b(g: Array, s: Any) -> tuple[Array]:
    shape, axis, keepdim = s
    g = _restore_axis(g, axis, keepdim) / shape[axis]
    return (np.broadcast_to(g, shape),)


def _max(a: Array, axis: int, keepdim: bool) -> tuple[Array, Any]:
    out = a.max(axis=axis, keepdims=True)
    return (out if keepdim else np.squeeze(out, axis)), (a, out, axis, keepdim)


def _max_b(g: Array, s: Any) -> tuple[Array]:
    # Ties share the gradient equally (as torch.amax does): the mean of the subgradients.
    a, out, axis, keepdim = s
    mask = (a == out).astype(g.dtype)
    mask /= mask.sum(axis=axis, keepdims=True)
    return (mask * _restore_axis(g, axis, keepdim),)


# -- matmul --------------------------------------------------------------------------------------

def _matmul(a: Array, b: Array) -> tuple[Array, Any]:
    if b.ndim == 2 and a.ndim > 2:
        # A batch of rows times one matrix is one BLAS call on the flattened rows.
        out = (a.reshape(-1, a.shape[-1]) @ b).reshape(*a.shape[:-1], b.shape[-1])
    else:
        out = a @ b
    return out, (a, b)


def _matmul_b(g: Array, s: Any) -> tuple[Array, Array]:
    a, b = s
    if b.ndim == 2 and a.ndim > 2:
        g2 = g.reshape(-1, g.shape[-1])
        ga = (g2 @ b.T).reshape(a.shape)
        gb = a.reshape(-1, a.shape[-1]).T @ g2
        return ga, gb
    ga = unbroadcast(g @ _swap_last(b), a.shape)
    gb = unbroadcast(_swap_last(a) @ g, b.shape)
    return ga, gb


# -- shapes --------------------------------------------------------------------------------------

def _reshape(a: Array, shape: tuple[int, ...]) -> tuple[Array, Any]:
    return a.reshape(shape), a.shape


def _reshape_b(g: Array, shape: tuple[int, ...]) -> tuple[Array]:
    return (g.reshape(shape),)


def _permute(a: Array, perm: tuple[int, ...]) -> tuple[Array, Any]:
    return np.transpose(a, perm), perm


def _permute_b(g: Array, perm: tuple[int, ...]) -> tuple[Array]:
    return (np.transpose(g, np.argsort(perm)),)


def _transpose(a: Array, d0: int, d1: int) -> tuple[Array, Any]:
    return np.swapaxes(a, d0, d1), (d0, d1)


def _transpose_b(g: Array, s: Any) -> tuple[Array]:
    return (np.swapaxes(g, s[0], s[1]),)


def _broadcast(a: Array, shape: tuple[int, ...]) -> tuple[Array, Any]:
    return np.broadcast_to(a, shape), a.shape


def _broadcast_b(g: Array, shape: tuple[int, ...]) -> tuple[Array]:
    return (unbroadcast(g, shape),)


def _slice(a: Array, axis: int, start: int, end: int) -> tuple[Array, Any]:
    index = (slice(None),) * axis + (slice(start, end),)
    return a[index], (a.shape, index)


def _slice_b(g: Array, s: Any) -> tuple[Array]:
    shape, index = s
    out = np.zeros(shape, dtype=g.dtype)
    out[index] = g
    return (out,)


def _concat(a: Array, b: Array, axis: int) -> tuple[Array, Any]:
    return np.concatenate((a, b), axis=axis), (a.shape[axis], axis)


def _concat_b(g: Array, s: Any) -> tuple[Array, Array]:
    n, axis = s
    ga, gb = np.split(g, [n], axis=axis)
    return ga, gb


def _gather(table: Array, idx: Array) -> tuple[Array, Any]:
    rows = idx.astype(np.intp)
    return table[rows], (table.shape, rows)


def _gather_b(g: Array, s: Any) -> tuple[Array, None]:
    shape, rows = s
    out = np.zeros(shape, dtype=g.dtype)
    np.add.at(out, rows, g)
    return out, None


# -- comparison and selection --------------------------------------------------------------------

def _compare(op: Callable[[Array, Array], Array]) -> Forward:
    def forward(a: Array, b: Array) -> tuple[Array, Any]:
        out = op(a, b)
        return out.astype(np.result_type(a, b)), None
    return forward


def _where(c: Array, a: Array, b: Array) -> tuple[Array, Any]:
    mask = c != 0
    return np.where(mask, a, b), (mask, a.shape, b.shape)


def _where_b(g: Array, s: Any) -> tuple[None, Array, Array]:
    mask, a_shape, b_shape = s
    zero = np.zeros((), dtype=g.dtype)
    return None, unbroadcast(np.where(mask, g, zero), a_shape), unbroadcast(
        np.where(mask, zero, g), b_shape)


def _rules(*rules: Rule) -> dict[str, Rule]:
    return {rule.name: rule for rule in rules}


# The table: every primitive the guest can differentiate through, with its two rules.
RULES: dict[str, Rule] = _rules(
    Rule("add", 2, _add, _add_b),
    Rule("sub", 2, _sub, _sub_b),
    Rule("mul", 2, _mul, _mul_b),
    Rule("div", 2, _div, _div_b),
    Rule("neg", 1, _neg, _neg_b),
    Rule("exp", 1, _exp, _exp_b),
    Rule("log", 1, _log, _log_b),
    Rule("tanh", 1, _tanh, _tanh_b),
    Rule("relu", 1, _relu, _relu_b),
    Rule("sqrt", 1, _sqrt, _sqrt_b),
    Rule("pow", 1, _pow, _pow_b),
    Rule("add_scalar", 1, _add_scalar, _add_scalar_b),
    Rule("mul_scalar", 1, _mul_scalar, _mul_scalar_b),
    Rule("sum", 1, _sum, _sum_b),
    Rule("mean", 1, _mean, _mean_b),
    Rule("max", 1, _max, _max_b),
    Rule("matmul", 2, _matmul, _matmul_b),
    Rule("reshape", 1, _reshape, _reshape_b),
    Rule("permute", 1, _permute, _permute_b),
    Rule("transpose", 1, _transpose, _transpose_b),
    Rule("broadcast", 1, _broadcast, _broadcast_b),
    Rule("slice", 1, _slice, _slice_b),
    Rule("concat", 2, _concat, _concat_b),
    Rule("gather", 2, _gather, _gather_b),
    Rule("where", 3, _where, _where_b),
    Rule("eq", 2, _compare(np.equal), None),
    Rule("gt", 2, _compare(np.greater), None),
    Rule("ge", 2, _compare(np.greater_equal), None),
)

# -- the deterministic table ---------------------------------------------------------------------
# The same primitives with every order-dependent float computation (sums, means, matrix
# products, exp, log, tanh, pow) done by `runtime/det_kernels.py`, whose results are the same
# bits on every machine. Elementwise +, -, *, / and sqrt are IEEE-exact already; gather's
# backward (np.add.at) adds in index order, one element at a time.

def _det_unbroadcast(g: Array, shape: tuple[int, ...]) -> Array:
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(extra + i for i, n in enumerate(shape)
                                       if n == 1 and g.shape[extra + i] != 1)
    return det_kernels.det_sum(g, axes, keepdims=True).reshape(shape) if axes else g.reshape(shape)


def _det_add_b(g: Array, s: Any) -> tuple[Array, Array]:
    return _det_unbroadcast(g, s[0]), _det_unbroadcast(g, s[1])


def _det_sub_b(g: Array, s: Any) -> tuple[Array, Array]:
    return _det_unbroadcast(g, s[0]), _det_unbroadcast(-g, s[1])


def _det_mul_b(g: Array, s: Any) -> tuple[Array, Array]:
    a, b = s
    return _det_unbroadcast(g * b, a.shape), _det_unbroadcast(g * a, b.shape)


def _det_div_b(g: Array, s: Any) -> tuple[Array, Array]:
    a_shape, b, out = s
    gb = g / b
    return _det_unbroadcast(gb, a_shape), _det_unbroadcast(-gb * out, b.shape)


def _det_exp(a: Array) -> tuple[Array, Any]:
    out = det_kernels.det_exp(a)
    return out, out


def _det_log(a: Array) -> tuple[Array, Any]:
    return det_kernels.det_log(a), a


def _det_tanh(a: Array) -> tuple[Array, Any]:
    out = det_kernels.det_tanh(a)
    return out, out


def _det_pow(a: Array, p: float) -> tuple[Array, Any]:
    return det_kernels.det_pow(a, p), (a, p)


def _det_pow_b(g: Array, s: Any) -> tuple[Array]:
    a, p = s
    return (g * (p * det_kernels.det_pow(a, p - 1)),)


def _det_sum(a: Array, axis: int, keepdim: bool) -> tuple[Array, Any]:
    return det_kernels.det_sum(a, axis, keepdim), (a.shape, axis, keepdim)


def _det_mean(a: Array, axis: int, keepdim: bool) -> tuple[Array, Any]:
    return det_kernels.det_mean(a, axis, keepdim), (a.shape, axis, keepdim)


def _det_max(a: Array, axis: int, keepdim: bool) -> tuple[Array, Any]:
    out = det_kernels.det_max(a, axis, keepdims=True)
    return (out if keepdim else np.squeeze(out, axis)), (a, out, axis, keepdim)


def _det_matmul(a: Array, b: Array) -> tuple[Array, Any]:
    return det_kernels.det_matmul(a, b), (a, b)


def _det_matmul_b(g: Array, s: Any) -> tuple[Array, Array]:
    a, b = s
    mm = det_kernels.det_matmul
    if b.ndim == 2 and a.ndim > 2:
        g2 = g.reshape(-1, g.shape[-1])
        return mm(g2, b.T).reshape(a.shape), mm(a.reshape(-1, a.shape[-1]).T, g2)
    return (_det_unbroadcast(mm(g, _swap_last(b)), a.shape),
            _det_unbroadcast(mm(_swap_last(a), g), b.shape))


def _det_broadcast_b(g: Array, shape: tuple[int, ...]) -> tuple[Array]:
    return (_det_unbroadcast(g, shape),)


def _det_where_b(g: Array, s: Any) -> tuple[None, Array, Array]:
    mask, a_shape, b_shape = s
    zero = np.zeros((), dtype=g.dtype)
    return None, _det_unbroadcast(np.where(mask, g, zero), a_shape), _det_unbroadcast(
        np.where(mask, zero, g), b_shape)


DETERMINISTIC_RULES: dict[str, Rule] = {**RULES, **_rules(
    Rule("add", 2, _add, _det_add_b),
    Rule("sub", 2, _sub, _det_sub_b),
    Rule("mul", 2, _mul, _det_mul_b),
    Rule("div", 2, _div, _det_div_b),
    Rule("exp", 1, _det_exp, _exp_b),
    Rule("log", 1, _det_log, _log_b),
    Rule("tanh", 1, _det_tanh, _tanh_b),
    Rule("pow", 1, _det_pow, _det_pow_b),
    Rule("sum", 1, _det_sum, _sum_b),
    Rule("mean", 1, _det_mean, _mean_b),
    Rule("max", 1, _det_max, _max_b),
    Rule("matmul", 2, _det_matmul, _det_matmul_b),
    Rule("broadcast", 1, _broadcast, _det_broadcast_b),
    Rule("where", 3, _where, _det_where_b),
)}

# Inputs that never receive a gradient, by rule: gather's indices and where's condition.
NON_DIFFERENTIABLE_INPUTS: dict[str, tuple[int, ...]] = {"gather": (1,), "where": (0,)}


# -- the tape ------------------------------------------------------------------------------------

class Tape:
    """The ops recorded since the last backward pass, in the order they ran."""

    def __init__(self) -> None:
        self.entries: list[Tensor] = []
        self.no_grad_depth = 0

    @property
    def recording(self) -> bool:
        return self.no_grad_depth == 0

    def apply(self, rule: Rule, inputs: Sequence[Tensor], consts: tuple[Any, ...] = ()) -> Tensor:
        """Run `rule` forward on the inputs' values; record it when a gradient can flow."""
        out, saved = rule.forward(*(t.value for t in inputs), *consts)
        if (self.no_grad_depth == 0 and rule.backward is not None
                and any(t.requires_grad for t in inputs)):
            result = Tensor(out, True, Node(rule, tuple(inputs), saved))
            self.entries.append(result)
            return result
        return Tensor(out)

    def backward(self, loss: Tensor) -> None:
        """Accumulate d(loss)/d(leaf) into every leaf's `grad`; then forget the tape."""
        if loss.node is None:
            self.clear()
            return
        loss.grad = np.ones_like(loss.value)
        try:
            for tensor in reversed(self.entries):
                g = tensor.grad
                if g is None:
                    continue
                tensor.grad = None
                node = tensor.node
                assert node is not None and node.rule.backward is not None  # recorded ops have one
                grads = node.rule.backward(g, node.saved)
                for inp, gi in zip(node.inputs, grads):
                    if gi is None or not inp.requires_grad:
                        continue
                    inp.grad = gi if inp.grad is None else inp.grad + gi
        finally:
            self.clear()

    def clear(self) -> None:
        for tensor in self.entries:
            tensor.node = None
            tensor.grad = None
            tensor.requires_grad = False
        self.entries.clear()

    def forget_since(self, handle: int) -> None:
        """Drop the entries whose tensors got handles from `handle` on (they were released)."""
        entries = self.entries
        cut = len(entries)
        while cut and entries[cut - 1].handle >= handle:
            cut -= 1
        for tensor in entries[cut:]:
            tensor.node = None
        del entries[cut:]

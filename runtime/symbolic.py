"""Symbolic arrays for running the shipped autograd rules on Z3 expressions.

`runtime/prove_autograd.py` proves each gradient rule of `runtime/autograd.py` by running the
rule's own Python code, not a retyped formula. It does so on numpy object arrays whose
elements are one of two classes defined here:

- `Sym`: one Z3 real expression; the forward rule run on `Sym` arrays gives what the backward
  rule needs (`saved`), and the backward rule run on `Sym` arrays gives the VJP;
- `Dual`: a dual number `v + t ε` of two Z3 real expressions; the forward rule run on `Dual`
  arrays gives the JVP mechanically (the tangent parts of the output).

numpy runs `+ - * / @`, sums, means, reshapes, broadcasts and `np.add.at` on object arrays by
calling the elements' operators, so those need nothing. What it cannot do symbolically is listed
in `ELEMENTARY` and `SHIMMED`, the documented mapping: the transcendental functions become Z3
uninterpreted functions with stated axioms, and `maximum`, `where` and `ndarray.max` (which need
a truth value of a comparison) become `If` terms. `patched_numpy()` installs the mapping in the
autograd module for the duration of one symbolic run, and nothing else is changed.

Axioms (all over the reals):
- derivative axioms, used only by `Dual`: exp' = exp, log'(x) = 1/x, tanh' = 1 - tanh²,
  sqrt'(x) = 1 / (2 sqrt x), (x^p)' = p x^(p-1);
- range axioms, recorded as hypotheses at every application (`Axioms`): exp x > 0;
  x > 0 → (sqrt x)² = x ∧ sqrt x > 0; -1 < tanh x < 1; x > 0 → x^p > 0 for non-integer p.
Integer powers are exact polynomials (negative ones the reciprocal of one).
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np
import z3

Z3 = Any  # a z3.ArithRef; z3 ships no useful type stubs


# -- axioms recorded during a symbolic run ------------------------------------------------------

@dataclass
class Axioms:
    """Range axioms of the uninterpreted functions applied so far (hypotheses of the proof)."""

    facts: list[Any] = field(default_factory=list)
    seen: set[int] = field(default_factory=set)

    def add(self, key: Any, facts: list[Any]) -> None:
        ident = key.get_id()
        if ident not in self.seen:
            self.seen.add(ident)
            self.facts.extend(facts)


_current = Axioms()


@contextlib.contextmanager
def recording_axioms() -> Iterator[Axioms]:
    """A fresh axiom list for one proof."""
    global _current
    previous, _current = _current, Axioms()
    try:
        yield _current
    finally:
        _current = previous


# -- the elementary functions ---------------------------------------------------------------------

@dataclass(frozen=True)
class Elementary:
    """An uninterpreted function, its derivative axiom and its range axioms."""

    name: str
    derivative: Callable[[Z3, Z3], Z3]        # (x, f(x)) -> f'(x)
    ranges: Callable[[Z3, Z3], list[Any]]     # (x, f(x)) -> facts
    axiom_text: str

    @functools.cached_property
    def function(self) -> Any:
        return z3.Function(self.name, z3.RealSort(), z3.RealSort())

    def apply(self, x: Z3) -> Z3:
        fx = self.function(x)
        _current.add(fx, self.ranges(x, fx))
        return fx


ELEMENTARY: dict[str, Elementary] = {
    e.name: e for e in (
        Elementary("exp", lambda x, f: f, lambda x, f: [f > 0],
                   "exp' = exp; exp x > 0"),
        Elementary("log", lambda x, f: inverse(x), lambda x, f: [],
                   "log'(x) = 1/x (x > 0)"),
        Elementary("tanh", lambda x, f: 1 - f * f, lambda x, f: [f > -1, f < 1],
                   "tanh' = 1 - tanh^2; -1 < tanh x < 1"),
        Elementary("sqrt", lambda x, f: inverse(2 * f),
                   lambda x, f: [z3.Implies(x > 0, z3.And(f * f == x, f > 0))],
                   "sqrt'(x) = 1/(2 sqrt x); x > 0 -> (sqrt x)^2 = x and sqrt x > 0"),
    )
}

_POWERS: dict[float, Any] = {}


def power(x: Z3, p: float) -> Z3:
    """x ** p: a polynomial for integer p (reciprocal when negative), else uninterpreted pow_p."""
    if float(p).is_integer():
        k = int(p)
        if k == 0:
            return z3.RealVal(1)
        term = functools.reduce(lambda a, b: a * b, [x] * abs(k))
        return term if k > 0 else inverse(term)
    fn = _POWERS.get(p)
    if fn is None:
        fn = _POWERS[p] = z3.Function(f"pow[{p!r}]", z3.RealSort(), z3.RealSort())
    fx = fn(x)
    _current.add(fx, [z3.Implies(x > 0, fx > 0)])
    return fx


def to_z3(value: Any) -> Z3:
    """A Sym's expression, or a Python/numpy number as an exact rational."""
    if isinstance(value, Sym):
        return value.e
    if isinstance(value, (bool, np.bool_)):
        return z3.RealVal(int(value))
    if isinstance(value, (int, np.integer)):
        return z3.RealVal(int(value))
    if isinstance(value, (float, np.floating)):
        return z3.RealVal(float(value))
    if z3.is_expr(value):
        return value
    raise TypeError(f"cannot use {type(value).__name__} as a symbolic number")


_INV = z3.Function("inv", z3.RealSort(), z3.RealSort())


def inverse(x: Z3) -> Z3:
    """1/x: a numeral's exact reciprocal, else inv(x) with the axiom x != 0 -> x inv(x) = 1.

    One reciprocal atom per denominator keeps every rule's identity a polynomial one (Z3's
    real division makes the same identities take seconds).
    """
    x = z3.simplify(x) if not z3.is_rational_value(x) else x
    if z3.is_rational_value(x):
        return 1 / x if x.as_fraction() != 0 else z3.RealVal(0) / x
    fx = _INV(x)
    _current.add(fx, [z3.Implies(x != 0, x * fx == 1)])
    return fx


def divide(a: Z3, b: Z3) -> Z3:
    return a * inverse(b)


def _indicator(cond: Any) -> Z3:
    return z3.If(cond, z3.RealVal(1), z3.RealVal(0))


# -- Sym: one real expression -------------------------------------------------------------------

class Sym:
    """A Z3 real expression that numpy can hold in an object array."""

    __slots__ = ("e",)
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, e: Z3) -> None:
        self.e = e

    def __add__(self, o: Any) -> "Sym": return Sym(self.e + to_z3(o))
    def __radd__(self, o: Any) -> "Sym": return Sym(to_z3(o) + self.e)
    def __sub__(self, o: Any) -> "Sym": return Sym(self.e - to_z3(o))
    def __rsub__(self, o: Any) -> "Sym": return Sym(to_z3(o) - self.e)
    def __mul__(self, o: Any) -> "Sym": return Sym(self.e * to_z3(o))
    def __rmul__(self, o: Any) -> "Sym": return Sym(to_z3(o) * self.e)
    def __truediv__(self, o: Any) -> "Sym": return Sym(divide(self.e, to_z3(o)))
    def __rtruediv__(self, o: Any) -> "Sym": return Sym(divide(to_z3(o), self.e))
    def __neg__(self) -> "Sym": return Sym(-self.e)
    def __pos__(self) -> "Sym": return self
    def __pow__(self, p: Any) -> "Sym": return Sym(power(self.e, float(p)))

    # Comparisons are 0/1 values (the rules multiply by masks and cast them).
    def __gt__(self, o: Any) -> "Sym": return Sym(_indicator(self.e > to_z3(o)))
    def __ge__(self, o: Any) -> "Sym": return Sym(_indicator(self.e >= to_z3(o)))
    def __lt__(self, o: Any) -> "Sym": return Sym(_indicator(self.e < to_z3(o)))
    def __le__(self, o: Any) -> "Sym": return Sym(_indicator(self.e <= to_z3(o)))
    def __eq__(self, o: Any) -> "Sym": return Sym(_indicator(self.e == to_z3(o)))  # type: ignore[override]
    def __ne__(self, o: Any) -> "Sym": return Sym(_indicator(self.e != to_z3(o)))  # type: ignore[override]

    def __bool__(self) -> bool:
        raise TypeError("a symbolic value has no truth value")

    def elementary(self, name: str) -> "Sym":
        return Sym(ELEMENTARY[name].apply(self.e))

    def __repr__(self) -> str:
        return f"Sym({self.e})"


# -- Dual: value and tangent --------------------------------------------------------------------

def _dual(o: Any) -> "Dual":
    return o if isinstance(o, Dual) else Dual(to_z3(o), z3.RealVal(0))


class Dual:
    """A dual number v + t ε over Z3 reals: forward-mode differentiation of the rule's code."""

    __slots__ = ("v", "t")
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, v: Z3, t: Z3) -> None:
        self.v = v
        self.t = t

    def __add__(self, o: Any) -> "Dual":
        o = _dual(o)
        return Dual(self.v + o.v, self.t + o.t)

    def __radd__(self, o: Any) -> "Dual": return _dual(o) + self

    def __sub__(self, o: Any) -> "Dual":
        o = _dual(o)
        return Dual(self.v - o.v, self.t - o.t)

    def __rsub__(self, o: Any) -> "Dual": return _dual(o) - self

    def __mul__(self, o: Any) -> "Dual":
        o = _dual(o)
        return Dual(self.v * o.v, self.t * o.v + self.v * o.t)

    def __rmul__(self, o: Any) -> "Dual": return _dual(o) * self

    def __truediv__(self, o: Any) -> "Dual":
        # (a + da ε) / (b + db ε) = a/b + (da - (a/b) db) / b ε
        o = _dual(o)
        r = inverse(o.v)
        v = self.v * r
        return Dual(v, (self.t - v * o.t) * r)

    def __rtruediv__(self, o: Any) -> "Dual": return _dual(o) / self
    def __neg__(self) -> "Dual": return Dual(-self.v, -self.t)
    def __pos__(self) -> "Dual": return self

    def __pow__(self, p: Any) -> "Dual":
        p = float(p)
        return Dual(power(self.v, p), p * power(self.v, p - 1) * self.t)

    def _cmp(self, cond: Any) -> "Dual":
        return Dual(_indicator(cond), z3.RealVal(0))

    def __gt__(self, o: Any) -> "Dual": return self._cmp(self.v > _dual(o).v)
    def __ge__(self, o: Any) -> "Dual": return self._cmp(self.v >= _dual(o).v)
    def __lt__(self, o: Any) -> "Dual": return self._cmp(self.v < _dual(o).v)
    def __le__(self, o: Any) -> "Dual": return self._cmp(self.v <= _dual(o).v)
    def __eq__(self, o: Any) -> "Dual": return self._cmp(self.v == _dual(o).v)  # type: ignore[override]
    def __ne__(self, o: Any) -> "Dual": return self._cmp(self.v != _dual(o).v)  # type: ignore[override]

    def __bool__(self) -> bool:
        raise TypeError("a symbolic value has no truth value")

    def elementary(self, name: str) -> "Dual":
        fn = ELEMENTARY[name]
        fx = fn.apply(self.v)
        return Dual(fx, fn.derivative(self.v, fx) * self.t)

    def __repr__(self) -> str:
        return f"Dual({self.v}, {self.t})"


# -- the numpy functions that need a truth value or an elementary function -----------------------

def _lift(x: Any, like: Any) -> Any:
    if isinstance(x, (Sym, Dual)):
        return x
    return _dual(x) if isinstance(like, Dual) else Sym(to_z3(x))


def _select(cond: Any, a: Any, b: Any) -> Any:
    """If(cond, a, b) on Sym or Dual elements (cond a 0/1 Sym/Dual or a Z3 bool)."""
    if isinstance(a, Dual) or isinstance(b, Dual):
        a, b = _dual(a), _dual(b)
        return Dual(z3.If(cond, a.v, b.v), z3.If(cond, a.t, b.t))
    return Sym(z3.If(cond, to_z3(a), to_z3(b)))


def _value(x: Any) -> Z3:
    return x.v if isinstance(x, Dual) else to_z3(x)


def _maximum_scalar(a: Any, b: Any) -> Any:
    # Ties pick `a`; the proofs assume no ties (where max is differentiable), and state the
    # backward rules' own tie conventions separately.
    return _select(_value(a) >= _value(b), a, b)


def _where_scalar(c: Any, a: Any, b: Any) -> Any:
    if isinstance(c, (bool, np.bool_, int, float, np.integer, np.floating)):
        return a if c else b
    return _select(_value(c) != 0, a, b)


def _elementwise(name: str) -> Callable[[Any], np.ndarray]:
    ufunc = np.frompyfunc(lambda x: _lift(x, x).elementary(name), 1, 1)
    return lambda a, *args, **kwargs: _as_sym_array(ufunc(a))


_maximum = np.frompyfunc(_maximum_scalar, 2, 1)
_where = np.frompyfunc(_where_scalar, 3, 1)


def _comparison(op: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    ufunc = np.frompyfunc(op, 2, 1)
    return lambda self, other: _as_sym_array(ufunc(np.asarray(self), other))


class SymArray(np.ndarray):
    """An object array whose comparisons give 0/1 elements and whose `max` reduces with `If`.

    numpy compares object arrays through Python truth values, which symbolic elements lack.
    """

    __gt__ = _comparison(lambda a, b: a > b)
    __ge__ = _comparison(lambda a, b: a >= b)
    __lt__ = _comparison(lambda a, b: a < b)
    __le__ = _comparison(lambda a, b: a <= b)
    __eq__ = _comparison(lambda a, b: a == b)  # type: ignore[assignment]
    __ne__ = _comparison(lambda a, b: a != b)  # type: ignore[assignment]
    __hash__ = None  # type: ignore[assignment]

    def max(self, axis: Any = None, out: Any = None,  # type: ignore[override]
            keepdims: bool = False, **kwargs: Any) -> Any:
        if axis is None:
            flat = np.asarray(self).reshape(-1)
            return functools.reduce(_maximum_scalar, flat)
        moved = np.moveaxis(np.asarray(self), axis, 0)
        result = functools.reduce(lambda a, b: _maximum(a, b), list(moved))
        result = np.asarray(result, dtype=object)
        if keepdims:
            result = np.expand_dims(result, axis)
        return _as_sym_array(result)


def _as_sym_array(a: Any) -> Any:
    if isinstance(a, np.ndarray):
        return a.view(SymArray) if a.dtype == object else a
    return a


class NumpyShim:
    """numpy, except for the names in `SHIMMED`, which act on Sym/Dual elements."""

    def __init__(self) -> None:
        self._names: dict[str, Any] = {
            "maximum": lambda a, b: _as_sym_array(_maximum(a, b)),
            "where": lambda c, a, b: _as_sym_array(_where(c, a, b)),
            **{name: _elementwise(name) for name in ELEMENTARY},
        }

    def __getattr__(self, name: str) -> Any:
        if name in self._names:
            return self._names[name]
        return getattr(np, name)


# The numpy names replaced during a symbolic run (the documented mapping).
SHIMMED = ("exp", "log", "tanh", "sqrt", "maximum", "where", "ndarray.max")


@contextlib.contextmanager
def patched_numpy(module: Any) -> Iterator[None]:
    """Run `module`'s code with `np` bound to the shim.

    This rebinds a module global: while it is active, no other thread of the process may run
    the autograd rules on real arrays (the proofs run in their own command or test).
    """
    original = module.np
    module.np = NumpyShim()
    try:
        yield
    finally:
        module.np = original


# -- building symbolic arrays -------------------------------------------------------------------

def variables(name: str, shape: tuple[int, ...]) -> np.ndarray:
    """An object array of fresh Z3 reals named name_i (flat C-order index)."""
    size = int(np.prod(shape, dtype=np.int64))
    flat = np.empty(size, dtype=object)
    for i in range(size):
        flat[i] = z3.Real(f"{name}_{i}")
    return flat.reshape(shape)


def sym_array(exprs: np.ndarray) -> np.ndarray:
    out = np.empty(exprs.shape, dtype=object)
    for idx in np.ndindex(exprs.shape):
        out[idx] = Sym(exprs[idx])
    return out.view(SymArray)


def dual_array(values: np.ndarray, tangents: np.ndarray | None) -> np.ndarray:
    out = np.empty(values.shape, dtype=object)
    zero = z3.RealVal(0)
    for idx in np.ndindex(values.shape):
        out[idx] = Dual(values[idx], zero if tangents is None else tangents[idx])
    return out.view(SymArray)


def exprs_of(a: Any) -> np.ndarray:
    """The Z3 expressions of a Sym array (numbers become exact rationals)."""
    a = np.asarray(a, dtype=object)
    out = np.empty(a.shape, dtype=object)
    for idx in np.ndindex(a.shape):
        out[idx] = to_z3(a[idx])
    return out


def tangents_of(a: Any) -> np.ndarray:
    a = np.asarray(a, dtype=object)
    out = np.empty(a.shape, dtype=object)
    for idx in np.ndindex(a.shape):
        out[idx] = _dual(a[idx]).t
    return out


def values_of(a: Any) -> np.ndarray:
    a = np.asarray(a, dtype=object)
    out = np.empty(a.shape, dtype=object)
    for idx in np.ndindex(a.shape):
        out[idx] = _dual(a[idx]).v
    return out

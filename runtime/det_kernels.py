"""Deterministic tensor kernels: results that are the same bits on every machine.

Used by the deterministic rule table of `runtime/autograd.py` (`DETERMINISTIC_RULES`), which a
run selects with the sandbox's `deterministic_kernels` option (spec/14-tensors.md, "Kernel
modes"). The default kernels (numpy, BLAS) give float results that depend on the BLAS library,
its thread count, the CPU's SIMD width and numpy's summation blocking; these do not.

How each kernel is made machine-independent:

- Sums, means and matrix products are computed *exactly* on a fixed grid, then rounded once.
  Every input row (or reduced vector) is split into slices of p bits on a grid set by the row's
  largest exponent (`np.frexp`, exact); slice values are small integers times a power of two,
  so the sum of any set of them, and of products of an A-slice and a B-slice, stays below 2**53
  units of its grid and is exact in float64 whatever the order of additions. numpy's reductions
  and float64 BLAS may therefore add them in any order, with any blocking, threads or FMA: the
  result does not change. The exact slice sums are combined in a fixed order (smallest first)
  in float64 and rounded to the input dtype. What is left below the last slice (more than 60
  bits below the row's largest element) is dropped, deterministically.
- exp, log, tanh and pow are computed in float64 by argument reduction and fixed polynomials
  (Horner's rule), using only IEEE-exact operations (+, -, *, /, sqrt, rint, trunc, frexp,
  ldexp); numpy never fuses these, so the float64 value is the same everywhere, and so is its
  rounding to float32. Accuracy: a few float64 ulps before the final rounding.
- NaN results are one canonical quiet NaN (`canonical_nan`), since NaN payloads and signs
  differ between CPUs.

Everything here is dtype-agnostic (float32 on the host, float64 in tests) and never writes
into its inputs.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable, cast

import numpy as np

Array = np.ndarray

# Bits below a row's largest element that slices keep (beyond that, parts are dropped).
KEPT_BITS = 60
# float64 units of the grid every exact partial sum stays below.
_EXACT_BITS = 52


def _quiet(kernel: Callable[..., Array]) -> Callable[..., Array]:
    """Overflow to inf and inf - inf = nan are results here, not warnings."""
    @functools.wraps(kernel)
    def run(*args: Any, **kwargs: Any) -> Array:
        with np.errstate(all="ignore"):
            return kernel(*args, **kwargs)
    return run


# -- exact sums on a grid -------------------------------------------------------------------------

def _grid_exponent(x: Array, axis: int) -> Array:
    """Per reduced vector, e with max|x| < 2**e (0 for an all-zero vector); keepdims shape."""
    peak = np.max(np.abs(x), axis=axis, keepdims=True)
    return np.frexp(peak)[1].astype(np.int64)


def _slices(x: Array, exponent: Array, bits: int, count: int) -> list[Array]:
    """`count` float64 arrays summing to x up to what lies below the last slice's grid.

    Slice t (from 1) holds multiples of 2**(exponent - bits*t) below 2**(exponent - bits*(t-1))
    in magnitude, so it is an integer of at most `bits` bits on its grid. Every step is exact.
    """
    rest = x
    out = []
    for t in range(1, count + 1):
        shift = exponent - bits * t
        part = _scale2(rest, -shift)
        np.trunc(part, out=part)
        part = _scale2(part, shift, in_place=True)
        out.append(part)
        rest = rest - part
    return out


def _scale2(x: Array, n: Array, in_place: bool = False) -> Array:
    """x * 2**n, exactly (for results that are normal floats), n an integer array broadcast
    against x. Two multiplies by powers of two built from their bits: np.ldexp calls libm's
    ldexp per element, ~50x slower."""
    half = n // 2
    out = np.multiply(x, _pow2(half), out=x if in_place else None)
    return np.multiply(out, _pow2(n - half), out=out)


def _pow2(n: Array) -> Array:
    """2.0**n for integer n in [-1022, 1023], from the float64 bit pattern."""
    n = np.asarray(n, dtype=np.int64)
    if n.size and (n.min() < -1022 or n.max() > 1023):
        return np.ldexp(1.0, n)
    return ((n + 1023) << 52).view(np.float64)


def _split_finite(x: Array) -> tuple[Array, Array | None]:
    """x with non-finite entries zeroed, and the mask of those entries (None if there are none)."""
    finite = np.isfinite(x)
    if finite.all():
        return x, None
    return np.where(finite, x, 0.0), ~finite


def exact_sum64(a: Array, axis: int) -> Array:
    """The sum along `axis` in float64, keepdims, independent of summation order.

    Exact up to the dropped parts (below KEPT_BITS under the largest element), then rounded
    once per slice combination. Vectors holding inf or nan get numpy's float64 sum, whose
    inf/nan outcome does not depend on the order either.
    """
    x = np.asarray(a, dtype=np.float64)
    n = x.shape[axis]
    if n == 0:
        return np.sum(x, axis=axis, keepdims=True)
    x, bad = _split_finite(x)
    bits = _EXACT_BITS - max(1, math.ceil(math.log2(n)))
    count = math.ceil(KEPT_BITS / bits)
    exponent = _grid_exponent(x, axis)
    parts = [np.sum(part, axis=axis, keepdims=True) for part in _slices(x, exponent, bits, count)]
    total = parts[-1]
    for part in reversed(parts[:-1]):
        total = total + part
    if bad is not None:
        plain = np.sum(np.asarray(a, dtype=np.float64), axis=axis, keepdims=True)
        total = np.where(bad.any(axis=axis, keepdims=True), plain, total)
    return total


@_quiet
def det_sum(a: Array, axis: int | tuple[int, ...], keepdims: bool = False) -> Array:
    """`a.sum(axis, keepdims=...)`, deterministic; result in a's dtype."""
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    if not axes:
        return a
    axes = tuple(ax % a.ndim for ax in axes)
    x = np.asarray(a)
    if len(axes) > 1:  # one vector per kept position: move the axes to the end and flatten
        kept = [i for i in range(x.ndim) if i not in axes]
        moved = np.transpose(x, kept + list(axes)).reshape(*[x.shape[i] for i in kept], -1)
        total = exact_sum64(moved, -1)[..., 0]
        if keepdims:
            total = total.reshape([1 if i in axes else n for i, n in enumerate(x.shape)])
    else:
        total = exact_sum64(x, axes[0])
        if not keepdims:
            total = np.squeeze(total, axes[0])
    return canonical_nan(total.astype(a.dtype))


@_quiet
def det_mean(a: Array, axis: int, keepdims: bool = False) -> Array:
    """`a.mean(axis, keepdims=...)`: the deterministic float64 sum divided by n, rounded once."""
    total = exact_sum64(a, axis) / a.shape[axis] if a.shape[axis] else np.full(
        [1 if i == axis else n for i, n in enumerate(a.shape)], np.nan)
    if not keepdims:
        total = np.squeeze(total, axis)
    return canonical_nan(total.astype(a.dtype))


# -- matrix products --------------------------------------------------------------------------

@_quiet
def det_matmul(a: Array, b: Array) -> Array:
    """`a @ b` (batched, broadcasting), deterministic.

    Products of an A-slice and a B-slice are exact in float64 and their sums over the inner
    dimension K stay below 2**53 units of their grid, so each float64 matmul of slices is exact
    whatever BLAS does; slice products are summed in a fixed order, then rounded once.
    """
    out_dtype = np.result_type(a, b)
    if b.ndim == 2 and a.ndim > 2:
        flat = det_matmul(a.reshape(-1, a.shape[-1]), b)
        return flat.reshape(*a.shape[:-1], b.shape[-1])
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    k = x.shape[-1]
    if k == 0:
        return np.matmul(x, y).astype(out_dtype)
    x, bad_x = _split_finite(x)
    y, bad_y = _split_finite(y)
    bits = (_EXACT_BITS - max(1, math.ceil(math.log2(k)))) // 2
    count = math.ceil(KEPT_BITS / bits)
    xs = _slices(x, _grid_exponent(x, -1), bits, count)
    ys = _slices(y, _grid_exponent(y, -2), bits, count)
    # Pairs (t, u) with t + u <= count + 1 carry the kept bits; the smallest go first.
    pairs = sorted(((t, u) for t in range(count) for u in range(count) if t + u < count),
                   key=lambda tu: (-(tu[0] + tu[1]), tu[0]))
    total: Array | None = None
    for t, u in pairs:
        product = np.matmul(xs[t], ys[u])
        total = product if total is None else total + product
    assert total is not None
    if bad_x is not None or bad_y is not None:
        # A row or column holding inf/nan makes its outputs inf or nan; which one does not
        # depend on the order of additions, so the plain product decides it.
        plain = np.matmul(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
        # (`any` along an axis gives an array; numpy's stubs also allow a scalar)
        rows: Array | bool = cast(Array, bad_x.any(axis=-1))[..., :, None] \
            if bad_x is not None else False
        cols: Array | bool = cast(Array, bad_y.any(axis=-2))[..., None, :] \
            if bad_y is not None else False
        total = np.where(np.logical_or(rows, cols), plain, total)
    return canonical_nan(total.astype(out_dtype))


# -- transcendentals in float64 -----------------------------------------------------------------
# fdlibm's split of ln 2: LN2_HI has 21 trailing zero bits, so n * LN2_HI is exact for |n| < 2**21.
LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
INV_LN2 = 1.44269504088896338700e+00
SQRT_HALF = 0.70710678118654752440
_EXP_TERMS = [1.0 / math.factorial(i) for i in range(14)]        # |r| <= ln2/2: error < 1e-17
_EXPM1_TERMS = [1.0 / math.factorial(i) for i in range(21)]      # |y| <= 1: error < 1e-19
_ATANH_TERMS = [1.0 / (2 * i + 1) for i in range(12)]            # |s| <= 0.1716: error < 1e-18


def _horner(coefficients: list[float], x: Array) -> Array:
    """sum(c[i] * x**i), highest term first, in separate multiplies and adds."""
    acc = np.full_like(x, coefficients[-1])
    for c in reversed(coefficients[:-1]):
        np.multiply(acc, x, out=acc)   # in place: fresh arrays cost page faults, not flops
        np.add(acc, c, out=acc)
    return acc


def exp64(x: Array) -> Array:
    """e**x in float64 for finite x in [-740, 709]: x = n ln2 + r, exp(r) by a polynomial."""
    n = np.rint(x * INV_LN2)
    r = (x - n * LN2_HI) - n * LN2_LO
    return _scale2(_horner(_EXP_TERMS, r), n.astype(np.int64))


def expm1_small64(y: Array) -> Array:
    """e**y - 1 for |y| <= 1, without cancellation: y * (1 + y/2! + y**2/3! + ...)."""
    return _horner(_EXPM1_TERMS[1:], y) * y


def log64(x: Array) -> Array:
    """ln x in float64 for finite x > 0: x = m 2**e, m in [sqrt(1/2), sqrt(2)), ln m = 2 atanh s."""
    m, e = _frexp(x)
    low = m < SQRT_HALF
    m = np.where(low, m * 2.0, m)
    e = (e - low).astype(np.float64)
    f = m - 1.0                       # exact (Sterbenz)
    s = f / (2.0 + f)
    ln_m = 2.0 * s * _horner(_ATANH_TERMS, s * s)
    return e * LN2_HI + (e * LN2_LO + ln_m)


def _frexp(x: Array) -> tuple[Array, Array]:
    """np.frexp for finite x > 0 from the bit pattern (np.frexp calls libm per element)."""
    tiny = x < 2.0 ** -1000            # subnormal: scale into the normal range first
    scaled = np.where(tiny, x * 2.0 ** 100, x)
    bits = np.ascontiguousarray(scaled).view(np.int64)
    e = ((bits >> 52) & 0x7FF) - 1022
    m = ((bits & 0x000F_FFFF_FFFF_FFFF) | (1022 << 52)).view(np.float64)
    return m, e - np.where(tiny, 100, 0)


def _as64(a: Array) -> Array:
    return np.asarray(a, dtype=np.float64)


@_quiet
def det_exp(a: Array) -> Array:
    x = _as64(a)
    # Beyond these bounds every float32 (and float64) result is 0 or inf already.
    out = exp64(np.clip(np.nan_to_num(x, nan=0.0), -745.0, 709.0))
    out = np.where(x > 709.0, np.inf, np.where(x < -745.0, 0.0, out))
    return canonical_nan(np.where(np.isnan(x), np.nan, out).astype(a.dtype))


@_quiet
def det_log(a: Array) -> Array:
    x = _as64(a)
    ok = np.isfinite(x) & (x > 0)
    out = log64(np.where(ok, x, 1.0))
    out = np.where(ok, out, np.where(x == 0, -np.inf, np.where(x == np.inf, np.inf, np.nan)))
    return canonical_nan(out.astype(a.dtype))


@_quiet
def det_tanh(a: Array) -> Array:
    x = _as64(a)
    ax = np.clip(np.abs(np.nan_to_num(x, nan=0.0)), 0.0, 20.0)   # tanh(20) is 1 in float64
    small = ax < 0.5
    em = expm1_small64(np.where(small, 2.0 * ax, 0.0))
    near = em / (em + 2.0)
    far = 1.0 - 2.0 / (exp64(np.where(small, 1.0, 2.0 * ax)) + 1.0)
    out = np.copysign(np.where(small, near, far), x)
    return canonical_nan(np.where(np.isnan(x), np.nan, out).astype(a.dtype))


def _int_power(x: Array, n: int) -> Array:
    """x**n for an integer n >= 0 by squaring, in a fixed sequence of multiplies."""
    result = np.ones_like(x)
    base = x
    while n:
        if n & 1:
            result = result * base
        n >>= 1
        if n:
            base = base * base
    return result


@_quiet
def det_pow(a: Array, p: float) -> Array:
    """a ** p (p a float constant): exact powers by multiplication, sqrt for halves,
    otherwise exp(p ln a); special values as IEEE pow."""
    x = _as64(a)
    p = float(p)
    if p == 0.0:
        return np.ones_like(a)
    if p.is_integer() and abs(p) <= 64:
        out = _int_power(x, int(abs(p)))
        if p < 0:
            out = 1.0 / out
    elif p == 0.5:
        out = np.sqrt(x)
    elif p == -0.5:
        out = 1.0 / np.sqrt(x)
    else:
        ok = np.isfinite(x) & (x > 0)
        exponent = np.clip(p * log64(np.where(ok, x, 1.0)), -745.0, 709.0)
        out = exp64(exponent)
        odd = p.is_integer() and int(p) % 2 == 1
        special = np.where(x == 0, 0.0 if p > 0 else np.inf,
                           np.where(x == np.inf, np.inf if p > 0 else 0.0, np.nan))
        if p.is_integer():  # a large integer power of a negative number is real
            neg = np.isfinite(x) & (x < 0)
            mag = exp64(np.clip(p * log64(np.where(neg, -x, 1.0)), -745.0, 709.0))
            special = np.where(neg, -mag if odd else mag, special)
            special = np.where(x == -np.inf, (-1.0 if odd else 1.0) * (np.inf if p > 0 else 0.0),
                               special)
        out = np.where(ok, out, special)
    return canonical_nan(out.astype(a.dtype))


# -- selection ---------------------------------------------------------------------------------

def det_max(a: Array, axis: int, keepdims: bool = True) -> Array:
    """`a.max(axis)`, with a maximum of zeros +0 when any of them is +0 (SIMD max picks
    either sign for -0 against +0) and one canonical NaN."""
    out = a.max(axis=axis, keepdims=True)
    if (out == 0).any():
        plus_zero = ((a == 0) & ~np.signbit(a)).any(axis=axis, keepdims=True)
        out = np.where(out == 0, np.where(plus_zero, 0.0, -0.0).astype(a.dtype), out)
    out = canonical_nan(out)
    return out if keepdims else np.squeeze(out, axis)


def canonical_nan(x: Array) -> Array:
    """x with every NaN replaced by the default quiet NaN (positive, zero payload)."""
    if x.dtype.kind != "f":
        return x
    nan = np.isnan(x)
    if nan.any():
        return np.where(nan, np.array(np.nan, dtype=x.dtype), x)
    return x

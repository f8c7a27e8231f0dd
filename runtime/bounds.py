"""Certified interval bounds through the stdlib's GPT char model (`syn bounds`).

Reads a checkpoint written by `tensor.ckpt_save` (safetensors, parameter names of
`stdlib/nn/gpt.syn`: wte, wpe, h{i}.ln1.w, h{i}.attn.qkv.w, ..., ln_f.w, head.w) through
`runtime/tensor_data.py`, and pushes an input box through every layer with interval
arithmetic, for one sequence of `positions` tokens (batch 1):

- the input box of position t is the hull of the token embeddings (every token at every
  position) plus wpe[t], or a user box LO..HI for every coordinate plus wpe[t];
- linear layers use midpoint-radius products with Higham's bound γ_n = n u / (1 − n u) on the
  rounding error of any float64 summation order, then round outward (`np.nextafter`);
- layer norm outputs are capped by |x̂ᵢ| ≤ √(n−1), proved with Z3 for every width by
  induction (`prove_layernorm_cap`), and bounded from the input box where that is tighter,
  then scaled and shifted by the norm's weights;
- attention: softmax weights are non-negative and sum to 1, so each output of the heads lies
  in the hull of the values at the positions it sees (causal); this holds for any number of
  heads, which the checkpoint does not record;
- GELU (tanh form) is bounded with its monotone pieces around its minimum (x ≈ −0.7518).

Weights may themselves be intervals (`Model.interval`), which is what `verify_finetune`
uses: every model whose weights lie between a base and a fine-tuned checkpoint.

Soundness: the bounds enclose the exact real-valued model evaluated on the stored float32
weights; transcendental functions are widened by a few ulps. The float32 forward of the host
differs from that real function by its own rounding; `check_output` allows a stated relative
tolerance for it. Tightness is reported honestly: certified width ÷ the width seen over many
sampled inputs, per layer.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable

import numpy as np
import z3

from synapse.runtime import tensor_data

LN_EPS = 1e-5
GELU_SCALE = 0.7978845608028654
GELU_ARGMIN = -0.7517915246935645        # where GELU (tanh form) is smallest
GELU_MIN_BELOW = -0.17005                # below its minimum value (about -0.170041)
FLOAT32_TOLERANCE = 1e-3                 # relative slack for float32 evaluation in checks
UNIT_ROUNDOFF = 2.0 ** -53


class BoundsError(Exception):
    """A checkpoint that is not a char model, or a request that cannot be certified."""


# -- intervals with outward rounding ------------------------------------------------------------

# Moving x by at least k units in the last place: |x| 2⁻⁵² is at least one unit of x (a power
# of two times it is exact), 2⁻¹⁰⁷⁴ one unit of the subnormals, and a float sum that is exactly
# x plus at least k units rounds to at least that. Four vector passes, several times faster
# than k calls of nextafter, which numpy runs element by element.
_ULP_SCALE = 2.0 ** -52
_TINY = 2.0 ** -1074
_LARGEST = float(np.finfo(np.float64).max)


def _ulps_of(x: Any, ulps: int) -> Any:
    return np.minimum(np.abs(x), _LARGEST) * (ulps * _ULP_SCALE) + ulps * _TINY


def down(x: Any, ulps: int = 1) -> Any:
    """x moved toward −∞ by at least `ulps` units in the last place (−∞ and NaN stay)."""
    with np.errstate(over="ignore"):
        return x - _ulps_of(x, ulps)


def up(x: Any, ulps: int = 1) -> Any:
    """x moved toward +∞ by at least `ulps` units in the last place (+∞ and NaN stay)."""
    with np.errstate(over="ignore"):
        return x + _ulps_of(x, ulps)


@dataclass
class Interval:
    """Element-wise bounds lo <= x <= hi (float64 arrays of one shape)."""

    lo: np.ndarray
    hi: np.ndarray

    @staticmethod
    def point(x: np.ndarray) -> "Interval":
        x = np.asarray(x, dtype=np.float64)
        return Interval(x, x)

    @property
    def width(self) -> np.ndarray:
        return self.hi - self.lo

    def contains(self, x: np.ndarray, rel: float = 0.0) -> bool:
        slack = rel * (np.abs(self.lo) + np.abs(self.hi) + 1.0)
        return bool(np.all(x >= self.lo - slack) and np.all(x <= self.hi + slack))

    def __add__(self, other: "Interval") -> "Interval":
        return Interval(down(self.lo + other.lo), up(self.hi + other.hi))

    def midpoint_radius(self) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """(centre, radius or None for a point, |centre| + radius rounded up), computed once:
        weights are reused by every position and every certification."""
        cached = self.__dict__.get("_midrad")
        if cached is None:
            if self.lo is self.hi or np.array_equal(self.lo, self.hi):
                cached = (self.lo, None, np.abs(self.lo))
            else:
                wc, wr = (self.lo + self.hi) / 2, (self.hi - self.lo) / 2
                wr = up(wr + np.abs(wc) * UNIT_ROUNDOFF)
                cached = (wc, wr, np.abs(wc))
            self.__dict__["_midrad"] = cached
        return cached

    def float32_point(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(w, |w|) as float32 when this is a point whose every value is a float32 (weights
        read from a float32 checkpoint), else None; computed once."""
        if "_f32" not in self.__dict__:
            found = None
            if self.lo is self.hi and self.lo.ndim == 2:
                w32 = self.lo.astype(np.float32)
                if np.array_equal(w32, self.lo) and np.all(np.isfinite(w32)):
                    found = (w32, np.abs(w32))
            self.__dict__["_f32"] = found
        return self.__dict__["_f32"]

    def scale_shift(self, w: "Interval", b: "Interval") -> "Interval":
        """x * w + b with interval w and b (all four corner products)."""
        corners = np.stack([self.lo * w.lo, self.lo * w.hi, self.hi * w.lo, self.hi * w.hi])
        return Interval(down(corners.min(0)), up(corners.max(0))) + b


def gamma(n: int) -> float:
    return n * UNIT_ROUNDOFF / (1 - n * UNIT_ROUNDOFF)


def interval_matmul(x: Interval, w: Interval) -> Interval:
    """x @ w for interval x [..., n] and interval w [n, m], sound in float64.

    Midpoint-radius: with x = xc ± xr and w = wc ± wr, the exact product lies in
    xc wc ± (xr |wc| + (|xc| + xr) wr). The computed centre ĉ = fl(xc wc) differs from the
    exact one by at most γ_n |xc| |wc| (Higham, any summation order, FMA or not), and by
    linearity that error folds into the radius product: one product for the centre, one for
    the radius (xr + γ_n |xc|) |wc|, and a third only when the weights are intervals. The
    radius product is itself rounded (terms are non-negative, so dividing by 1 − γ_n covers
    it). Rows of x that are equal (layer-norm caps make rows position-independent) are
    multiplied once.
    """
    x_lo, x_hi = x.lo.reshape(-1, x.lo.shape[-1]), x.hi.reshape(-1, x.hi.shape[-1])
    rows, inverse = _unique_rows(x_lo, x_hi)
    lo, hi = _matmul_rows(x_lo[rows], x_hi[rows], w)
    shape = x.lo.shape[:-1] + (lo.shape[-1],)
    return Interval(lo[inverse].reshape(shape), hi[inverse].reshape(shape))


def _unique_rows(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the distinct (lo, hi) rows, and for each row the index of its twin."""
    if lo.shape[0] <= 1 or (np.array_equal(lo, np.broadcast_to(lo[0], lo.shape))
                            and np.array_equal(hi, np.broadcast_to(hi[0], hi.shape))):
        return np.arange(min(lo.shape[0], 1)), np.zeros(lo.shape[0], dtype=np.intp)
    both = np.ascontiguousarray(np.concatenate([lo, hi], axis=1))
    keys = both.view(np.dtype((np.void, both.dtype.itemsize * both.shape[1]))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return first, inverse.ravel()


def _matmul_rows(x_lo: np.ndarray, x_hi: np.ndarray, w: Interval) -> tuple[np.ndarray, np.ndarray]:
    xc, xr = (x_lo + x_hi) / 2, (x_hi - x_lo) / 2
    # Halving and subtracting above can round: widen the radius by the rounding of the centre.
    xr = up(xr + np.abs(xc) * UNIT_ROUNDOFF)
    n = x_lo.shape[-1]
    single = w.float32_point() if w.lo.size >= FLOAT32_PRODUCTS_FROM else None
    if single is not None:
        found = _matmul_rows_float32(xc, xr, *single)
        if found is not None:
            return found
    g = gamma(n + 2)
    wc, wr, wc_abs = w.midpoint_radius()
    centre = xc @ wc
    slack = up(xr + g * np.abs(xc)) @ wc_abs
    if wr is not None:
        # Interval weights: the exact radius gains (|xc| + xr) wr.
        slack = slack + up(np.abs(xc) + xr) @ wr
    slack = up(slack / (1 - 2 * g), 2)
    return down(centre - slack, 2), up(centre + slack, 2)


UNIT_ROUNDOFF_32 = 2.0 ** -24
# Layers with at least this many weights multiply in float32 (memory-bound: half the bytes);
# smaller ones keep float64's tighter rounding term.
FLOAT32_PRODUCTS_FROM = 1 << 18


def _matmul_rows_float32(xc: np.ndarray, xr: np.ndarray, w32: np.ndarray,
                         w32_abs: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The same enclosure with float32 products, for weights that are float32 values: half
    the memory traffic of float64 (the products of a wide layer read every weight once).

    With xc₃₂ = fl₃₂(xc) and d = |xc − xc₃₂| (exact in float64), the exact product lies in
    xc₃₂ w ± (xr + d)|w|; ĉ = fl₃₂(xc₃₂ w) is within γ'ₙ |xc₃₂| |w| of xc₃₂ w, γ' with
    u = 2⁻²⁴; the radius vector is rounded up into float32 and its product divided by 1 − γ'ₙ.
    None when a value leaves the float32 range (the float64 path handles it)."""
    n = xc.shape[-1]
    g = n * UNIT_ROUNDOFF_32 / (1 - (n + 2) * UNIT_ROUNDOFF_32)
    with np.errstate(over="ignore", invalid="ignore"):
        xc32 = xc.astype(np.float32)
        d = np.abs(xc - xc32.astype(np.float64))
        radius = up(xr + d + g * np.abs(xc32.astype(np.float64)))
        r32 = np.nextafter(radius.astype(np.float32), np.float32(np.inf))
        centre = (xc32 @ w32).astype(np.float64)
        spread = (r32 @ w32_abs).astype(np.float64)
    if not (np.all(np.isfinite(centre)) and np.all(np.isfinite(spread))
            and np.all(np.isfinite(r32))):
        return None
    slack = up(spread / (1 - 2 * g), 2)
    return down(centre - slack, 2), up(centre + slack, 2)


def gelu_scalar(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1 + np.tanh(GELU_SCALE * (x + 0.044715 * x ** 3)))


def interval_gelu(x: Interval) -> Interval:
    """GELU is decreasing below GELU_ARGMIN and increasing above it."""
    f_lo, f_hi = gelu_scalar(x.lo), gelu_scalar(x.hi)
    slack_lo = 8 * UNIT_ROUNDOFF * (np.abs(f_lo) + np.abs(x.lo)) + 1e-300
    slack_hi = 8 * UNIT_ROUNDOFF * (np.abs(f_hi) + np.abs(x.hi)) + 1e-300
    lo_end, hi_end = f_lo - slack_lo, f_hi - slack_hi
    up_lo, up_hi = f_lo + slack_lo, f_hi + slack_hi
    increasing = x.lo >= GELU_ARGMIN
    decreasing = x.hi <= GELU_ARGMIN
    lo = np.where(increasing, lo_end, np.where(decreasing, hi_end, GELU_MIN_BELOW))
    hi = np.where(increasing, up_hi, np.where(decreasing, up_lo, np.maximum(up_lo, up_hi)))
    return Interval(down(np.maximum(lo, GELU_MIN_BELOW)), up(hi))


def layernorm_cap(n: int) -> float:
    """An upper bound of √(n−1), rounded up."""
    return float(up(np.float64(math.sqrt(n - 1)), 2))


def interval_layernorm(x: Interval, w: Interval, b: Interval) -> Interval:
    """Layer norm's output bounds: the cap |x̂ᵢ| ≤ √(n−1), which holds for every input,
    intersected with bounds computed from the input box (tighter when the box is narrow)."""
    n = x.lo.shape[-1]
    cap = layernorm_cap(n)
    from_box = _normalised_from_box(x)
    normed = Interval(np.maximum(from_box.lo, -cap), np.minimum(from_box.hi, cap))
    return normed.scale_shift(w, b)


def _normalised_from_box(x: Interval) -> Interval:
    """x̂ = d / √(var + eps), d = x − mean(x), var = mean(d²), from the box alone.

    dᵢ = (1 − 1/n) xᵢ − (1/n) Σ_{j≠i} xⱼ is bounded exactly by interval arithmetic; var + eps
    lies between the means of the smallest and the largest dⱼ² plus eps. Every float step
    is widened by a relative 4(n + 4)u and rounded outward.
    """
    n = x.lo.shape[-1]
    rel = 4 * (n + 4) * UNIT_ROUNDOFF
    total_lo = x.lo.sum(-1, keepdims=True)
    total_hi = x.hi.sum(-1, keepdims=True)
    d_lo = (1 - 1 / n) * x.lo - (total_hi - x.hi) / n
    d_hi = (1 - 1 / n) * x.hi - (total_lo - x.lo) / n
    slack = rel * (np.abs(x.lo).sum(-1, keepdims=True) + np.abs(x.hi).sum(-1, keepdims=True)
                   + np.abs(d_lo) + np.abs(d_hi)) + 1e-300
    d_lo, d_hi = down(d_lo - slack), up(d_hi + slack)
    spans_zero = (d_lo <= 0) & (d_hi >= 0)
    smallest = np.where(spans_zero, 0.0, np.minimum(d_lo * d_lo, d_hi * d_hi))
    largest = np.maximum(d_lo * d_lo, d_hi * d_hi)
    var_lo = down(smallest.mean(-1, keepdims=True) * (1 - rel) + LN_EPS * (1 - rel))
    var_hi = up(largest.mean(-1, keepdims=True) * (1 + rel) + LN_EPS * (1 + rel))
    s_lo = down(np.sqrt(np.maximum(var_lo, 0.0)) * (1 - rel))
    s_hi = up(np.sqrt(var_hi) * (1 + rel))
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        lo = np.where(d_lo < 0, d_lo / s_lo, d_lo / s_hi)
        hi = np.where(d_hi > 0, d_hi / s_lo, d_hi / s_hi)
    lo = np.where(np.isnan(lo), -np.inf, down(lo * (1 - np.sign(lo) * rel)))
    hi = np.where(np.isnan(hi), np.inf, up(hi * (1 + np.sign(hi) * rel)))
    return Interval(lo, hi)


def ln_linear(x: Interval, ln_w: Interval, ln_b: Interval, w: Interval,
              b: Interval | None, derived: Callable[[str, Callable[[], Interval]], Interval],
              key: str) -> Interval:
    """(layer norm of x) @ w + b: the box route (the layer norm's box through the linear map)
    intersected with the ball route (`ln_ball_bounds`, the same for every input)."""
    y = interval_matmul(interval_layernorm(x, ln_w, ln_b), w)
    if b is not None:
        y = y + b
    ball = derived(key, lambda: ln_ball_bounds(ln_w, ln_b, w, b))
    return Interval(np.maximum(y.lo, ball.lo), np.minimum(y.hi, ball.hi))


def ln_ball_bounds(ln_w: Interval, ln_b: Interval, w: Interval, b: Interval | None) -> Interval:
    """Bounds of (x̂ γ + β) w + b over every layer-norm output x̂, whatever the input.

    x̂ has Σ x̂ᵢ = 0 and Σ x̂ᵢ² = n var / (var + eps) < n. Writing aᵢⱼ = γᵢ wᵢⱼ = cᵢⱼ ± rᵢⱼ,
    Σᵢ x̂ᵢ aᵢⱼ = Σᵢ x̂ᵢ (cᵢⱼ − μⱼ) + Σᵢ x̂ᵢ δᵢⱼ for any μⱼ (the x̂ sum to 0) with |δᵢⱼ| ≤ rᵢⱼ,
    so by Cauchy-Schwarz (`prove_cauchy_schwarz`) output j is within
    √n (‖c₋ⱼ − μⱼ‖ + ‖r₋ⱼ‖) of β w + b. The box of x̂ loses a factor of about √(2n/π) on
    Gaussian-like weights (the cube around the sphere); this bound does not.
    """
    n = w.lo.shape[0]
    rel = 4 * (n + 4) * UNIT_ROUNDOFF
    if ln_w.lo is ln_w.hi and w.lo is w.hi:
        # Point weights: c = fl(γ w) is off by at most one rounding, |c| u.
        c = ln_w.lo[:, None] * w.lo
        r = np.abs(c) * (2 * UNIT_ROUNDOFF)
    else:
        gamma_col = Interval(ln_w.lo[:, None], ln_w.hi[:, None])
        corners = np.stack([gamma_col.lo * w.lo, gamma_col.lo * w.hi,
                            gamma_col.hi * w.lo, gamma_col.hi * w.hi])
        a_lo, a_hi = down(corners.min(0)), up(corners.max(0))
        c = (a_lo + a_hi) / 2
        r = up((a_hi - a_lo) / 2 + np.abs(c) * UNIT_ROUNDOFF)
    centred = c - c.mean(axis=0, keepdims=True)
    norms = np.sqrt((centred * centred).sum(axis=0)) + np.sqrt((r * r).sum(axis=0))
    radius = up(math.sqrt(n) * norms * (1 + rel) * (1 + rel), 2)
    centre = interval_matmul(Interval(ln_b.lo[None, :], ln_b.hi[None, :]), w)
    if b is not None:
        centre = centre + b
    return Interval(down(centre.lo[0] - radius), up(centre.hi[0] + radius))


def interval_causal_hull(v: Interval) -> Interval:
    """Position t of a convex combination of the values at positions 0..t: [T, C] -> [T, C]."""
    lo = np.minimum.accumulate(v.lo, axis=0)
    hi = np.maximum.accumulate(v.hi, axis=0)
    # Floating sums of weights that add to 1 within rounding: a relative margin.
    # One margin for every position (the largest), so that equal rows stay equal.
    t = v.lo.shape[0]
    margin = gamma(t + 4) * np.maximum(np.abs(lo), np.abs(hi))
    return Interval(down(lo - margin), up(hi + margin))


# -- Z3 proofs ------------------------------------------------------------------------------------

@dataclass
class Proof:
    claim: str
    proved: bool
    ms: float


def prove_layernorm_cap(n: int) -> Proof:
    """(x̂₀)² ≤ n−1 for x̂ = (x − mean) / √(var + eps), any eps > 0, for every width n ≥ 2
    (then every i by symmetry), proved by induction so that it holds at the model's width
    whatever it is.

    With dⱼ = xⱼ − mean (Σ dⱼ = 0), S = Σ_{j≥1} dⱼ = −d₀ and Q = Σ_{j≥1} dⱼ², the claim is
    n d₀² ≤ (n−1)(d₀² + Q) + n(n−1) eps, which follows from Cauchy-Schwarz over m = n−1 terms,
    S² ≤ m Q. Z3 proves that lemma's base case (m = 1), its step (S² ≤ m Q implies
    (S + x)² ≤ (m+1)(Q + x²) for m ≥ 1), and the claim from the lemma with n symbolic: three
    small nonlinear problems instead of an identity with n² terms.
    """
    start = time.perf_counter()
    m, s, q, x, d, d0, eps, width = z3.Reals("m S Q x d d0 eps n")
    obligations = [
        z3.Not(d * d <= 1 * (d * d)),                                           # base
        z3.And(m >= 1, s * s <= m * q,
               z3.Not((s + x) * (s + x) <= (m + 1) * (q + x * x))),             # step
        z3.And(width >= 2, s == -d0, s * s <= (width - 1) * q, eps > 0,
               z3.Not(width * d0 * d0
                      <= (width - 1) * (d0 * d0 + q) + width * (width - 1) * eps)),  # claim
    ]
    proved = _all_unsat(obligations, 5_000_000)
    return Proof(f"layer norm |x̂ᵢ| ≤ √(n−1) for every width n ≥ 2 (used at n = {n}; "
                 "induction: base, step and claim proved)", proved and n >= 2,
                 (time.perf_counter() - start) * 1000)


def prove_cauchy_schwarz() -> Proof:
    """(Σ aᵢ xᵢ)² ≤ (Σ aᵢ²)(Σ xᵢ²) for any number of terms, by induction: Z3 proves the base
    (one term) and the step (S² ≤ A Q implies (S + a x)² ≤ (A + a²)(Q + x²))."""
    start = time.perf_counter()
    s, a_sum, q, a, x = z3.Reals("S A Q a x")
    obligations = [
        z3.Not((a * x) * (a * x) <= (a * a) * (x * x)),
        z3.And(a_sum >= 0, q >= 0, s * s <= a_sum * q,
               z3.Not((s + a * x) * (s + a * x) <= (a_sum + a * a) * (q + x * x))),
    ]
    proved = _all_unsat(obligations, 20_000_000)
    return Proof("Cauchy-Schwarz for any number of terms (induction: base and step proved), "
                 "which bounds a linear map of layer-norm outputs", proved,
                 (time.perf_counter() - start) * 1000)


def _all_unsat(obligations: list[Any], rlimit: int) -> bool:
    """True when Z3 refutes every obligation (each the negation of a claim) within rlimit."""
    for obligation in obligations:
        solver = z3.Solver()
        solver.set("rlimit", rlimit)
        solver.add(obligation)
        if solver.check() != z3.unsat:
            return False
    return True


def _rational(x: float) -> Any:
    f = Fraction(float(x))
    return z3.Q(f.numerator, f.denominator)


def prove_affine_bounds(box: Interval, w: np.ndarray, bias: np.ndarray | None,
                        out: Interval, columns: list[int] | None = None) -> Proof:
    """For every x in `box` (a vector), lo_j ≤ Σᵢ xᵢ wᵢⱼ + bⱼ ≤ hi_j: exact rationals in Z3."""
    start = time.perf_counter()
    n, m = w.shape
    xs = [z3.Real(f"x{i}") for i in range(n)]
    solver = z3.Solver()
    for i, x in enumerate(xs):
        solver.add(x >= _rational(box.lo[i]), x <= _rational(box.hi[i]))
    ok = True
    for j in columns if columns is not None else range(m):
        y = z3.Sum([xs[i] * _rational(w[i, j]) for i in range(n) if w[i, j] != 0])
        if bias is not None:
            y = y + _rational(bias[j])
        solver.push()
        solver.add(z3.Not(z3.And(y >= _rational(out.lo[j]), y <= _rational(out.hi[j]))))
        ok = ok and solver.check() == z3.unsat
        solver.pop()
        if not ok:
            break
    return Proof(f"final affine step: {m if columns is None else len(columns)} outputs within "
                 "their bounds for every input of the box", ok,
                 (time.perf_counter() - start) * 1000)


# -- the model ------------------------------------------------------------------------------------

@dataclass
class Model:
    """A GPT char model's weights as intervals (equal ends for one checkpoint)."""

    weights: dict[str, Interval]
    vocab: int
    context: int
    width: int
    layers: int

    def w(self, name: str) -> Interval:
        return self.weights[name]

    @staticmethod
    def from_arrays(arrays: dict[str, np.ndarray]) -> "Model":
        for name in ("wte", "wpe", "ln_f.w", "ln_f.b", "head.w"):
            if name not in arrays:
                raise BoundsError(f"not a GPT char model: no tensor {name!r}")
        layers = 1 + max((int(m.group(1)) for n in arrays
                          if (m := re.match(r"h(\d+)\.", n))), default=-1)
        vocab, width = arrays["wte"].shape
        model = Model({k: Interval.point(v) for k, v in arrays.items()}, vocab,
                      arrays["wpe"].shape[0], width, layers)
        for name, weight in model.weights.items():
            if name.endswith(".w") and weight.lo.ndim == 2:
                weight.midpoint_radius()     # |W| once, at load time
        return model

    def interval(self, other: "Model") -> "Model":
        """Every model whose weights lie between this one's and `other`'s."""
        if set(self.weights) != set(other.weights):
            raise BoundsError("the two checkpoints have different tensors")
        weights = {}
        for name, a in self.weights.items():
            b = other.weights[name]
            if a.lo.shape != b.lo.shape:
                raise BoundsError(f"tensor {name!r} has shapes {a.lo.shape} and {b.lo.shape}")
            weights[name] = Interval(np.minimum(a.lo, b.lo), np.maximum(a.hi, b.hi))
        return Model(weights, self.vocab, self.context, self.width, self.layers)

    def point(self, name: str) -> np.ndarray:
        return self.weights[name].lo

    def derived(self, name: str, make: Callable[[], Interval]) -> Interval:
        """A tensor computed from the weights (a slice), made once per model."""
        cache = self.__dict__.setdefault("_derived", {})
        if name not in cache:
            cache[name] = make()
        return cache[name]


def load_charlm(path: str | Path) -> Model:
    try:
        arrays, _ = tensor_data.load_safetensors(Path(path))
    except tensor_data.DataError as err:
        raise BoundsError(str(err)) from None
    return Model.from_arrays({k: v.astype(np.float64) for k, v in arrays.items()})


# -- interval propagation, layer by layer ---------------------------------------------------------

Stage = tuple[str, Interval]


# The per-token split of the input (below) holds vocab × positions rows in every layer; past
# this many numbers per layer the embedding hull is used instead.
CASE_LIMIT = 4_000_000


def input_box(model: Model, positions: int, box: tuple[float, float] | None) -> Interval:
    """[T, C]: any token's embedding (or the user's box) plus the position's embedding."""
    wte, wpe = model.w("wte"), model.w("wpe")
    if box is None:
        tok = Interval(wte.lo.min(axis=0), wte.hi.max(axis=0))
    else:
        tok = Interval(np.full(model.width, box[0]), np.full(model.width, box[1]))
    rows = Interval(np.broadcast_to(tok.lo, (positions, model.width)),
                    np.broadcast_to(tok.hi, (positions, model.width)))
    return rows + Interval(wpe.lo[:positions], wpe.hi[:positions])


def input_cases(model: Model, positions: int, box: tuple[float, float] | None) -> Interval:
    """[T, K, C]: the inputs of position t split into K cases that together cover them.

    For token inputs (no user box) every token is its own case, K = vocab: position t sees
    exactly wte[k] + wpe[t], so everything a block computes from its own position stays exact
    per case, and only attention, which mixes positions, takes the hull over the cases.
    Otherwise (a user box, or a model too big for the split) K = 1: the box itself."""
    if box is None and model.vocab * positions * 4 * model.width <= CASE_LIMIT:
        wte, wpe = model.w("wte"), model.w("wpe")
        return (Interval(wte.lo[None, :, :], wte.hi[None, :, :])
                + Interval(wpe.lo[:positions, None, :], wpe.hi[:positions, None, :]))
    return as_cases(input_box(model, positions, box))


def as_cases(x: Interval) -> Interval:
    """A box [T, C] as one case per position [T, 1, C]; cases [T, K, C] as they are."""
    return Interval(x.lo[:, None, :], x.hi[:, None, :]) if x.lo.ndim == 2 else x


def hull_of_cases(x: Interval) -> Interval:
    """[T, K, C] -> [T, C]: what position t can hold, whichever case it is in."""
    return Interval(x.lo.min(axis=1), x.hi.max(axis=1))


def _linear(model: Model, x: Interval, name: str, bias: bool = True) -> Interval:
    y = interval_matmul(x, model.w(name + ".w"))
    return y + model.w(name + ".b") if bias else y


def rowwise(f: Callable[[Interval], Interval], x: Interval) -> Interval:
    """f applied to each row (last axis) of x on its own, computed once per distinct row.

    After a layer-norm cap the rows of every position coincide, so element-wise steps such as
    GELU run on one row instead of T (interval_matmul dedupes its rows the same way)."""
    c = x.lo.shape[-1]
    lo, hi = x.lo.reshape(-1, c), x.hi.reshape(-1, c)
    rows, inverse = _unique_rows(lo, hi)
    y = f(Interval(lo[rows], hi[rows]))
    shape = x.lo.shape[:-1] + (y.lo.shape[-1],)
    return Interval(y.lo[inverse].reshape(shape), y.hi[inverse].reshape(shape))


def propagate_block(model: Model, i: int, x: Interval,
                    record: Callable[[str, Interval], None]) -> Interval:
    """One transformer block on the cases x [T, K, C] (a box [T, C] is one case)."""
    x = as_cases(x)
    p = f"h{i}"
    h = interval_layernorm(x, model.w(p + ".ln1.w"), model.w(p + ".ln1.b"))
    record(p + ".ln1", hull_of_cases(h))
    v = _values(model, x, p)
    heads = interval_causal_hull(hull_of_cases(v))
    attn = _linear(model, heads, p + ".attn.proj")
    record(p + ".attn", attn)
    x = x + Interval(attn.lo[:, None, :], attn.hi[:, None, :])
    record(p + ".res1", hull_of_cases(x))
    h = interval_layernorm(x, model.w(p + ".ln2.w"), model.w(p + ".ln2.b"))
    record(p + ".ln2", hull_of_cases(h))
    hidden = rowwise(interval_gelu, _normed_linear(model, x, p + ".ln2", p + ".mlp.fc"))
    record(p + ".gelu", hull_of_cases(hidden))
    ff = _linear(model, hidden, p + ".mlp.proj")
    record(p + ".mlp", hull_of_cases(ff))
    x = x + ff
    record(p + ".res2", hull_of_cases(x))
    return x


def _columns(w: Interval, start: int) -> Interval:
    lo = w.lo[..., start:]
    return Interval(lo, lo if w.lo is w.hi else w.hi[..., start:])


def _values(model: Model, x: Interval, p: str) -> Interval:
    """The value third of the qkv projection of ln1(x) (queries and keys only steer the
    softmax)."""
    c = model.width
    w, b = model.w(p + ".attn.qkv.w"), model.w(p + ".attn.qkv.b")
    wv = model.derived(p + ".attn.v.w", lambda: _columns(w, 2 * c))
    bv = model.derived(p + ".attn.v.b", lambda: _columns(b, 2 * c))
    return ln_linear(x, model.w(p + ".ln1.w"), model.w(p + ".ln1.b"), wv, bv, model.derived,
                     p + ".ln1.ball.v")


def _normed_linear(model: Model, x: Interval, norm: str, linear: str,
                   bias: bool = True) -> Interval:
    """linear(norm(x)) for a layer norm and a linear layer named as in the checkpoint."""
    b = model.w(linear + ".b") if bias else None
    return ln_linear(x, model.w(norm + ".w"), model.w(norm + ".b"), model.w(linear + ".w"), b,
                     model.derived, norm + ".ball." + linear)


def propagate(model: Model, x: Interval) -> list[Stage]:
    """Every layer's certified bounds [T, C], in order, for inputs given as a box [T, C] or
    as cases [T, K, C] (`input_cases`)."""
    x = as_cases(x)
    stages: list[Stage] = [("embed", hull_of_cases(x))]
    record = lambda name, iv: stages.append((name, iv))  # noqa: E731
    for i in range(model.layers):
        x = propagate_block(model, i, x, record)
    # The last step works on the hull: the Z3 re-check of the affine map from the ln_f box
    # to the logits (certify_charlm) then checks the box route of exactly these bounds.
    h, logits = head_bounds(model, x)
    stages.append(("ln_f", h))
    stages.append(("logits", logits))
    return stages


def head_bounds(model: Model, x: Interval) -> tuple[Interval, Interval]:
    """The final layer norm's box [T, C] and the logits [T, vocab] from the cases x."""
    h = hull_of_cases(interval_layernorm(as_cases(x), model.w("ln_f.w"), model.w("ln_f.b")))
    ball = model.derived("ln_f.ball.head", lambda: ln_ball_bounds(
        model.w("ln_f.w"), model.w("ln_f.b"), model.w("head.w"), None))
    logits = interval_matmul(h, model.w("head.w"))
    return h, Interval(np.maximum(logits.lo, ball.lo), np.minimum(logits.hi, ball.hi))


def prepare(model: Model) -> None:
    """Compute the weight-only constants of every layer (|W|, float32 copies, the layer-norm
    ball bounds) now rather than on first use: they depend on the weights alone."""
    for weight in model.weights.values():
        weight.float32_point()
    for i in range(model.layers):
        p = f"h{i}"
        probe = Interval(np.zeros((1, 1, model.width)), np.zeros((1, 1, model.width)))
        _values(model, probe, p)
        _normed_linear(model, probe, p + ".ln2", p + ".mlp.fc")
    head_bounds(model, Interval(np.zeros((1, 1, model.width)), np.zeros((1, 1, model.width))))


# -- the float64 forward (for sampling and for checks) --------------------------------------------

def _layernorm(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    centred = x - mu
    var = (centred ** 2).mean(-1, keepdims=True)
    return centred * (var + LN_EPS) ** -0.5 * w + b


def _attention(x: np.ndarray, qkv_w: np.ndarray, qkv_b: np.ndarray, heads: int) -> np.ndarray:
    t, c = x.shape
    d = c // heads
    qkv = x @ qkv_w + qkv_b
    q, k, v = (qkv[:, j * c:(j + 1) * c].reshape(t, heads, d).transpose(1, 0, 2)
               for j in range(3))
    scores = q @ k.transpose(0, 2, 1) / math.sqrt(d)
    scores = np.where(np.tril(np.ones((t, t), dtype=bool)), scores, -np.inf)
    scores = np.exp(scores - scores.max(-1, keepdims=True))
    weights = scores / scores.sum(-1, keepdims=True)
    return (weights @ v).transpose(1, 0, 2).reshape(t, c)


def forward(model: Model, x: np.ndarray, heads: int,
            record: Callable[[str, np.ndarray], None] | None = None) -> np.ndarray:
    """The stdlib GPT's forward in float64 on the lower weights, from embedded inputs [T, C]."""
    rec = record or (lambda name, value: None)
    w = model.point
    rec("embed", x)
    for i in range(model.layers):
        p = f"h{i}"
        h = _layernorm(x, w(p + ".ln1.w"), w(p + ".ln1.b"))
        rec(p + ".ln1", h)
        a = _attention(h, w(p + ".attn.qkv.w"), w(p + ".attn.qkv.b"), heads)
        attn = a @ w(p + ".attn.proj.w") + w(p + ".attn.proj.b")
        rec(p + ".attn", attn)
        x = x + attn
        rec(p + ".res1", x)
        h = _layernorm(x, w(p + ".ln2.w"), w(p + ".ln2.b"))
        rec(p + ".ln2", h)
        hidden = gelu_scalar(h @ w(p + ".mlp.fc.w") + w(p + ".mlp.fc.b"))
        rec(p + ".gelu", hidden)
        ff = hidden @ w(p + ".mlp.proj.w") + w(p + ".mlp.proj.b")
        rec(p + ".mlp", ff)
        x = x + ff
        rec(p + ".res2", x)
    h = _layernorm(x, w("ln_f.w"), w("ln_f.b"))
    rec("ln_f", h)
    logits = h @ w("head.w")
    rec("logits", logits)
    return logits


def embed(model: Model, tokens: np.ndarray) -> np.ndarray:
    return model.point("wte")[tokens] + model.point("wpe")[:len(tokens)]


# -- the report ----------------------------------------------------------------------------------

@dataclass
class LayerReport:
    name: str
    width: float            # mean certified width
    sampled: float          # mean sampled width
    tightness: float        # median over coordinates of certified ÷ sampled width
    contained: bool         # every sample inside the certified bounds


@dataclass
class BoundsReport:
    layers: list[LayerReport]
    proofs: list[Proof]
    logits: Interval
    positions: int
    samples: int
    ms_total: float
    ms_per_layer: float
    ms_per_token: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def checked(self) -> bool:
        return all(p.proved for p in self.proofs) and all(l.contained for l in self.layers)

    @property
    def tightness(self) -> float:
        return next(l.tightness for l in self.layers if l.name == "logits")

    def to_json(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "positions": self.positions, "samples": self.samples,
            "logits_lo": float(self.logits.lo.min()), "logits_hi": float(self.logits.hi.max()),
            "tightness_logits": self.tightness,
            "ms_total": self.ms_total, "ms_per_layer": self.ms_per_layer,
            "ms_per_token": self.ms_per_token,
            "layers": [l.__dict__ for l in self.layers],
            "proofs": [p.__dict__ for p in self.proofs],
            **self.extra,
        }

    def render(self) -> str:
        lines = [f"{'layer':12} {'certified':>10} {'sampled':>10} {'ratio':>8}  samples inside"]
        for l in self.layers:
            lines.append(f"{l.name:12} {l.width:10.4g} {l.sampled:10.4g} {l.tightness:8.3g}  "
                         f"{'yes' if l.contained else 'NO'}")
        for p in self.proofs:
            lines.append(f"z3 {'proved' if p.proved else 'FAILED'} ({p.ms:.0f} ms): {p.claim}")
        lines.append(f"logits within [{self.logits.lo.min():.4g}, {self.logits.hi.max():.4g}] "
                     f"for every input of the box ({self.positions} positions); "
                     f"{self.ms_total:.1f} ms, {self.ms_per_token:.2f} ms per position")
        return "\n".join(lines)


def _sampled_widths(model: Model, positions: int, samples: int, heads: int,
                    box: tuple[float, float] | None, seed: int) -> dict[str, list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    seen: dict[str, list[np.ndarray]] = {}

    def record(name: str, value: np.ndarray) -> None:
        seen.setdefault(name, []).append(value)

    for _ in range(samples):
        if box is None:
            x = embed(model, rng.integers(0, model.vocab, positions))
        else:
            x = (rng.uniform(box[0], box[1], (positions, model.width))
                 + model.point("wpe")[:positions])
        forward(model, x, heads, record)
    return seen


def layer_reports(stages: list[Stage], seen: dict[str, list[np.ndarray]]) -> list[LayerReport]:
    out = []
    for name, iv in stages:
        values = np.stack(seen[name])
        sampled = values.max(0) - values.min(0)
        width = iv.width
        ratio = np.median(width / np.maximum(sampled, 1e-300))
        inside = iv.contains(values, rel=1e-9)
        out.append(LayerReport(name, float(width.mean()), float(sampled.mean()),
                               float(ratio), inside))
    return out


def certify_charlm(model: Model, *, box: tuple[float, float] | None = None,
                   positions: int | None = None, samples: int = 200, heads: int = 4,
                   seed: int = 0) -> BoundsReport:
    """Bounds of every layer for the box, their tightness, and the Z3 checks."""
    t = positions or model.context
    if not 1 <= t <= model.context:
        raise BoundsError(f"positions {t} is not in 1..{model.context}")
    start = time.perf_counter()
    stages = propagate(model, input_cases(model, t, box))
    ms = (time.perf_counter() - start) * 1000
    seen = _sampled_widths(model, t, samples, heads, box, seed)
    proofs = [prove_layernorm_cap(model.width), prove_cauchy_schwarz()]
    ln_f = dict(stages)["ln_f"]
    last = Interval(ln_f.lo[-1], ln_f.hi[-1])
    box_route = interval_matmul(last, model.w("head.w"))
    logits = dict(stages)["logits"]
    proofs.append(prove_affine_bounds(last, model.point("head.w"), None, box_route))
    n_layers = len(stages)
    return BoundsReport(layer_reports(stages, seen), proofs, logits, t, samples, ms,
                        ms / n_layers, ms / t)


# -- composition ----------------------------------------------------------------------------------

@dataclass
class StageReport:
    name: str
    in_width: float
    out_width: float

    @property
    def verdict(self) -> str:
        return "contracted" if self.out_width < self.in_width else "expanded"


def compose(stages: list[tuple[str, Callable[[Interval], Interval]]],
            box: Interval) -> tuple[Interval, list[StageReport]]:
    """Feed each stage's certified output box to the next one; report widths per stage."""
    reports = []
    x = box
    for name, stage in stages:
        y = stage(x)
        reports.append(StageReport(name, float(x.width.mean()), float(y.width.mean())))
        x = y
    return x, reports


# -- fine-tuning -----------------------------------------------------------------------------------

@dataclass
class FinetuneResult:
    proved: bool
    bound: tuple[float, float]
    logits: tuple[float, float]
    first_failure: str | None
    layers: list[tuple[str, float, float]]   # name, width with interval weights, base width

    def to_json(self) -> dict[str, Any]:
        return {"proved": self.proved, "bound": list(self.bound), "logits": list(self.logits),
                "first_failure": self.first_failure,
                "layers": [{"name": n, "width": w, "base_width": b} for n, w, b in self.layers]}

    def render(self) -> str:
        lines = [f"{'layer':12} {'width (all models)':>19} {'width (base)':>13}"]
        lines += [f"{n:12} {w:19.4g} {b:13.4g}" for n, w, b in self.layers]
        if self.proved:
            lines.append(f"proved: every model between the two checkpoints keeps every logit in "
                         f"[{self.bound[0]:g}, {self.bound[1]:g}] (certified "
                         f"[{self.logits[0]:.4g}, {self.logits[1]:.4g}])")
        else:
            lines.append(f"not proved: certified logits [{self.logits[0]:.4g}, "
                         f"{self.logits[1]:.4g}] leave [{self.bound[0]:g}, {self.bound[1]:g}]; "
                         f"first layer that cannot be certified: {self.first_failure}")
        return "\n".join(lines)


def verify_finetune(base: Model, tuned: Model, bound: tuple[float, float], *,
                    box: tuple[float, float] | None = None,
                    positions: int | None = None) -> FinetuneResult:
    """Prove every logit in `bound` for every model in the weight box spanned by the two.

    When it cannot be proved, the first layer that cannot be certified is found by widening
    the weights one layer at a time, in order (embeddings, block 0, block 1, ..., ln_f, head),
    the later layers keeping the base weights: the first layer whose weight box makes the
    property fail. When the base model itself fails, that is said instead.
    """
    t = positions or base.context
    if (base.vocab, base.width, base.layers) != (tuned.vocab, tuned.width, tuned.layers):
        raise BoundsError("the two checkpoints are different architectures")
    spanned = base.interval(tuned)
    stages = propagate(spanned, input_cases(spanned, t, box))
    base_stages = dict(propagate(base, input_cases(base, t, box)))
    logits = stages[-1][1]
    lo, hi = float(logits.lo.min()), float(logits.hi.max())
    proved = bool(np.isfinite(lo) and np.isfinite(hi) and lo >= bound[0] and hi <= bound[1])
    first = None if proved else _first_failing_layer(base, spanned, bound, t, box)
    layers = [(n, float(iv.width.mean()), float(base_stages[n].width.mean())) for n, iv in stages]
    return FinetuneResult(proved, bound, (lo, hi), first, layers)


def _holds(model: Model, bound: tuple[float, float], t: int,
           box: tuple[float, float] | None) -> bool:
    logits = propagate(model, input_cases(model, t, box))[-1][1]
    return bool(np.all(np.isfinite(logits.lo)) and np.all(np.isfinite(logits.hi))
                and logits.lo.min() >= bound[0] and logits.hi.max() <= bound[1])


def _layer_of(name: str) -> str:
    if name in ("wte", "wpe"):
        return "embed"
    return name.split(".")[0]


def _first_failing_layer(base: Model, spanned: Model, bound: tuple[float, float], t: int,
                         box: tuple[float, float] | None) -> str:
    if not _holds(base, bound, t, box):
        return "the base model (the property fails before fine-tuning)"
    order = ["embed"] + [f"h{i}" for i in range(base.layers)] + ["ln_f", "head"]
    for k, layer in enumerate(order):
        widened = set(order[:k + 1])
        weights = {n: (spanned.weights[n] if _layer_of(n) in widened else iv)
                   for n, iv in base.weights.items()}
        mixed = Model(weights, base.vocab, base.context, base.width, base.layers)
        if not _holds(mixed, bound, t, box):
            return layer
    return "head"


# -- self-verifying inference ----------------------------------------------------------------------

class OutOfBounds(Exception):
    """An output outside its certified bounds: the model or its evaluation is corrupted."""


def check_output(bounds: Interval, value: np.ndarray, rel: float = FLOAT32_TOLERANCE) -> None:
    """Raise OutOfBounds naming the first offending element when `value` leaves the bounds."""
    slack = rel * (np.abs(bounds.lo) + np.abs(bounds.hi) + 1.0)
    bad = np.argwhere((value < bounds.lo - slack) | (value > bounds.hi + slack)
                      | ~np.isfinite(value))
    if bad.size:
        idx = tuple(int(i) for i in bad[0])
        raise OutOfBounds(f"output {list(idx)} = {float(value[idx]):.6g} is outside its "
                          f"certified bounds [{float(bounds.lo[idx]):.6g}, "
                          f"{float(bounds.hi[idx]):.6g}]")


def save_certificate(path: str | Path, logits: Interval, box: tuple[float, float] | None) -> None:
    """The certified logits [T, vocab] as a safetensors file (float32, rounded outward)."""
    lo = np.nextafter(logits.lo.astype(np.float32), np.float32(-np.inf))
    hi = np.nextafter(logits.hi.astype(np.float32), np.float32(np.inf))
    lo = np.where(lo.astype(np.float64) > logits.lo, np.nextafter(lo, np.float32(-np.inf)), lo)
    hi = np.where(hi.astype(np.float64) < logits.hi, np.nextafter(hi, np.float32(np.inf)), hi)
    box_text = "embedding hull" if box is None else f"{box[0]!r},{box[1]!r}"
    tensor_data.save_safetensors(Path(path), {"logits.lo": lo, "logits.hi": hi},
                                 {"format": "synapse-bounds", "box": box_text})


def load_certificate(path: str | Path) -> Interval:
    try:
        arrays, meta = tensor_data.load_safetensors(Path(path))
    except tensor_data.DataError as err:
        raise BoundsError(str(err)) from None
    if meta.get("format") != "synapse-bounds" or "logits.lo" not in arrays:
        raise BoundsError(f"{path} is not a bounds certificate")
    return Interval(arrays["logits.lo"].astype(np.float64), arrays["logits.hi"].astype(np.float64))


def check_tensor_bounds(config: Any, value: np.ndarray) -> int:
    """`tensor.check_bounds`: logits [..., T, vocab] against the host's certificate.

    The certificate is `config.extra["bounds"]` (a path, or an `Interval` of shape
    [positions, vocab]); position t of the logits is checked against row t.
    """
    from synapse.runtime.tensors import TensorError
    cert = config.extra.get("bounds")
    if cert is None:
        raise TensorError("no certified bounds were given to the host")
    if not isinstance(cert, Interval):
        try:
            cert = load_certificate(cert)
        except BoundsError as err:
            raise TensorError(str(err)) from None
        config.extra["bounds"] = cert
    if value.ndim < 2 or value.shape[-1] != cert.lo.shape[1] or value.shape[-2] > cert.lo.shape[0]:
        raise TensorError(f"logits of shape {list(value.shape)} do not fit bounds certified for "
                          f"{cert.lo.shape[0]} positions of {cert.lo.shape[1]} symbols")
    t = value.shape[-2]
    rows = Interval(cert.lo[:t], cert.hi[:t])
    expanded = Interval(np.broadcast_to(rows.lo, value.shape), np.broadcast_to(rows.hi, value.shape))
    try:
        check_output(expanded, value.astype(np.float64))
    except OutOfBounds as err:
        raise TensorError(str(err)) from None
    return int(value.size)


# -- building models for tests and benchmarks -------------------------------------------------------

def random_charlm(vocab: int, context: int, width: int, layers: int, seed: int = 0,
                  std: float = 0.02) -> dict[str, np.ndarray]:
    """Float32 weights named as `stdlib/nn/gpt.syn` names them, drawn like its initialiser."""
    rng = np.random.default_rng(seed)
    proj_std = std / math.sqrt(2 * layers)

    def normal(*shape: int, s: float = std) -> np.ndarray:
        return (rng.standard_normal(shape) * s).astype(np.float32)

    w: dict[str, np.ndarray] = {"wte": normal(vocab, width), "wpe": normal(context, width)}
    for i in range(layers):
        p = f"h{i}"
        w[p + ".ln1.w"] = np.ones(width, np.float32)
        w[p + ".ln1.b"] = np.zeros(width, np.float32)
        w[p + ".attn.qkv.w"] = normal(width, 3 * width)
        w[p + ".attn.qkv.b"] = np.zeros(3 * width, np.float32)
        w[p + ".attn.proj.w"] = normal(width, width, s=proj_std)
        w[p + ".attn.proj.b"] = np.zeros(width, np.float32)
        w[p + ".ln2.w"] = np.ones(width, np.float32)
        w[p + ".ln2.b"] = np.zeros(width, np.float32)
        w[p + ".mlp.fc.w"] = normal(width, 4 * width)
        w[p + ".mlp.fc.b"] = np.zeros(4 * width, np.float32)
        w[p + ".mlp.proj.w"] = normal(4 * width, width, s=proj_std)
        w[p + ".mlp.proj.b"] = np.zeros(width, np.float32)
    w["ln_f.w"] = np.ones(width, np.float32)
    w["ln_f.b"] = np.zeros(width, np.float32)
    w["head.w"] = normal(width, vocab)
    return w

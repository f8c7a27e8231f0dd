"""Verified-ML suite: the autograd proofs and certified interval bounds.

Figures:
- `autograd_ops_proved`, `autograd_proof_ms_total` (Z3 solver time of every adjoint proof),
  `autograd_mutants_killed_ratio` (wrong backward rules that got a counterexample);
- `bounds_tightness_charlm`: certified ÷ sampled width of the logits (median over
  coordinates) for the char model's architecture (2 layers, width 64, context 64, 97 symbols)
  with seeded random weights and the embedding-hull input box, from 200 sampled sequences;
- `bounds_50m_ms_per_token`, `bounds_50m_ms_per_layer`: interval propagation through a
  12-layer transformer of width 576 and 5,025 symbols (about 53.7M parameters, random
  weights), over 64 positions (16 with --quick), layer by layer;
- `bounds_50m_logit_width`: the mean certified width of its logits;
- the same model with a context of 1,024 positions (`bounds_50m_ctx1024_*`): the weights are
  read once per pass whatever the context, so the cost per position falls with its length;
- `*_prepare_ms`: the weight-only constants (|W|, float32 copies, the layer norms'
  Cauchy-Schwarz radii), computed once per model at load; `*_first_pass_ms_per_token`: the
  first certification after loading (cold caches), beside the median of five.
"""

from __future__ import annotations

import time

from typing import Any

import numpy as np

from bench.harness import Figures

BIG = {"vocab": 5025, "width": 576, "layers": 12}


def _autograd() -> Figures:
    from synapse.runtime import prove_autograd
    report = prove_autograd.prove_all()
    return {
        "autograd_ops_proved": len(report.ops_proved),
        "autograd_ops_with_gradient": len(report.ops),
        "autograd_proof_ms_total": round(report.proof_ms, 2),
        "autograd_mutants": report.mutants,
        "autograd_mutants_killed_ratio": report.mutants_killed / max(report.mutants, 1),
    }


def _charlm_tightness(quick: bool) -> Figures:
    from synapse.runtime import bounds
    model = bounds.Model.from_arrays(
        {k: v.astype(np.float64) for k, v in bounds.random_charlm(97, 64, 64, 2, seed=1).items()})
    report = bounds.certify_charlm(model, samples=50 if quick else 200, seed=0)
    return {"bounds_tightness_charlm": round(report.tightness, 2),
            "bounds_charlm_checked": int(report.checked)}


def _big_model(quick: bool) -> Figures:
    from synapse.runtime import bounds
    figures: Figures = {}
    for positions, prefix in ((16 if quick else 64, "bounds_50m"),
                              (None if quick else 1024, "bounds_50m_ctx1024")):
        if positions is None:
            continue
        arrays = bounds.random_charlm(BIG["vocab"], positions, BIG["width"], BIG["layers"],
                                      seed=0)
        model = bounds.Model.from_arrays({k: v.astype(np.float64) for k, v in arrays.items()})
        t0 = time.perf_counter()
        bounds.prepare(model)
        prepare_ms = 1000 * (time.perf_counter() - t0)
        passes = [_certify_pass(bounds, model, positions) for _ in range(2 if quick else 5)]
        total = float(np.median([p[0] for p in passes]))
        per_layer = float(np.median([p[1] for p in passes]))
        logits = passes[-1][2]
        figures.update({
            f"{prefix}_parameters": int(sum(v.size for v in arrays.values())),
            f"{prefix}_positions": positions,
            f"{prefix}_ms_per_layer": round(1000 * per_layer, 1),
            f"{prefix}_ms_per_token": round(1000 * total / positions, 2),
            f"{prefix}_first_pass_ms_per_token": round(1000 * passes[0][0] / positions, 2),
            f"{prefix}_logit_width": round(float(logits.width.mean()), 2),
            f"{prefix}_prepare_ms": round(prepare_ms, 1),
        })
    return figures


def _certify_pass(bounds: Any, model: Any, positions: int) -> tuple[float, float, Any]:
    """One certification of every layer: (seconds, median seconds a layer, logits)."""
    x = bounds.input_cases(model, positions, None)
    per_layer = []
    start = time.perf_counter()
    for i in range(model.layers):
        t0 = time.perf_counter()
        x = bounds.propagate_block(model, i, x, lambda name, iv: None)
        per_layer.append(time.perf_counter() - t0)
    _, logits = bounds.head_bounds(model, x)
    return time.perf_counter() - start, float(np.median(per_layer)), logits


def run(quick: bool) -> Figures:
    figures: Figures = {}
    figures.update(_autograd())
    figures.update(_charlm_tightness(quick))
    figures.update(_big_model(quick))
    return figures

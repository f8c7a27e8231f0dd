"""The deterministic kernel mode: accuracy of `runtime/det_kernels.py` against float64 numpy,
gradients of `DETERMINISTIC_RULES` against `RULES`, and identical transcripts, receipts and
gradients of a training run under different BLAS cores, thread counts and numpy SIMD targets
(each a subprocess, since the settings are read when numpy loads)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from synapse.runtime import det_kernels as dk
from synapse.runtime.autograd import DETERMINISTIC_RULES, RULES

from tensor_support import PROGRAMS, ROOT, compile_program

RNG = np.random.default_rng(20240611)


def f32(*shape: int, scale: float = 1.0) -> np.ndarray:
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def ulps(got: np.ndarray, exact: np.ndarray) -> float:
    """Largest error of a float32 result in units of the float32 spacing at the exact value."""
    ref = exact.astype(np.float32)
    finite = np.isfinite(ref)
    spacing = np.spacing(np.abs(ref[finite])).astype(np.float64)
    return float(np.max(np.abs(got[finite].astype(np.float64) - exact[finite]) / spacing))


# -- accuracy: within half an ulp (plus a hair) of the float64 result, rounded once ------------
# The kernels are exact or a few float64 ulps off before rounding to float32, so the error
# against float64 numpy (itself within an ulp or so of the truth) stays at ~0.5 float32 ulp.
ROUNDED = 0.5 + 1e-6


def test_transcendentals_are_correctly_rounded_up_to_float64_error() -> None:
    x = np.concatenate([f32(20000, scale=4.0), np.float32([0, -0.0, 1e-40, 1e-8, 88.7, -103.0,
                                                          -87.0, 20.0, -9.5, 0.49, 0.51])])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert ulps(dk.det_exp(x), np.exp(x.astype(np.float64))) <= ROUNDED
        assert ulps(dk.det_tanh(x), np.tanh(x.astype(np.float64))) <= ROUNDED
        pos = np.concatenate([np.abs(x[x != 0]), np.float32([1e-45, 3e38, 1.0])])
        assert ulps(dk.det_log(pos), np.log(pos.astype(np.float64))) <= ROUNDED
        for p in (3.0, 2.0, -1.0, 0.5, -0.5, 1.7, -2.3):
            assert ulps(dk.det_pow(pos, p), pos.astype(np.float64) ** p) <= ROUNDED, p


def test_special_values_follow_ieee() -> None:
    nan, inf = np.nan, np.inf
    exp = dk.det_exp(np.float32([nan, inf, -inf, 100, -200, 0]))
    assert np.isnan(exp[0]) and list(exp[1:]) == [inf, 0, inf, 0, 1]
    log = dk.det_log(np.float32([-1, 0, inf, nan, 1]))
    assert np.isnan(log[0]) and list(log[1:3]) == [-inf, inf] and np.isnan(log[3]) and log[4] == 0
    tanh = dk.det_tanh(np.float32([inf, -inf, -0.0]))
    assert list(tanh) == [1, -1, 0] and np.signbit(tanh[2])
    assert list(dk.det_pow(np.float32([-2, 0, 2]), 3.0)) == [-8, 0, 8]
    assert np.isnan(dk.det_pow(np.float32([-2]), 1.5)[0])
    # NaN results are one bit pattern.
    bits = dk.canonical_nan(np.float32([nan, -nan])).view(np.uint32)
    assert list(bits) == [0x7FC00000, 0x7FC00000]


@pytest.mark.parametrize("shape, axis", [((300, 1000), 1), ((7, 5, 9), 0), ((4, 3000), 1)])
def test_sums_and_means_are_correctly_rounded(shape: tuple[int, ...], axis: int) -> None:
    x = f32(*shape, scale=3.0)
    # float64 numpy sums of float32 values are exact to ~1e-16: a near-exact reference.
    exact = x.astype(np.float64).sum(axis=axis)
    assert ulps(dk.det_sum(x, axis), exact) <= ROUNDED
    assert ulps(dk.det_mean(x, axis), exact / shape[axis]) <= ROUNDED
    assert dk.det_sum(x, axis, keepdims=True).shape == np.sum(x, axis, keepdims=True).shape


def test_sum_with_cancellation_is_exact() -> None:
    # 1e8 + 1 - 1e8 in float32 pairs: a float32 sum loses the 1, the exact sum keeps it.
    x = np.float32([[1e8, 1.0, -1e8, 0.5]])
    assert dk.det_sum(x, 1)[0] == 1.5


@pytest.mark.parametrize("a_shape, b_shape", [((64, 33), (33, 17)), ((2, 4, 16, 8), (2, 4, 8, 16)),
                                              ((3, 10, 64), (64, 20)), ((1024, 6), (1024, 5))])
def test_matmul_is_correctly_rounded(a_shape: tuple[int, ...], b_shape: tuple[int, ...]) -> None:
    a, b = f32(*a_shape), f32(*b_shape)
    if a_shape == (1024, 6):  # the weight gradient's shape: a long inner dimension
        a = np.ascontiguousarray(a.T)
    exact = np.matmul(a.astype(np.float64), b.astype(np.float64))
    assert ulps(dk.det_matmul(a, b), exact) <= ROUNDED


def test_matmul_with_inf_and_nan_rows() -> None:
    out = dk.det_matmul(np.float32([[np.inf, 1], [1, 2]]), np.float32([[0, 1], [1, 1]]))
    assert np.isnan(out[0, 0]) and out[0, 1] == np.inf and list(out[1]) == [2, 3]


def test_kernels_do_not_depend_on_memory_layout() -> None:
    a, b = f32(40, 30), f32(30, 20)
    assert dk.det_matmul(a, b).tobytes() == dk.det_matmul(np.asfortranarray(a), b[:, ::-1][:, ::-1]).tobytes()
    x = f32(50, 60)
    assert dk.det_sum(x, 0).tobytes() == dk.det_sum(np.asfortranarray(x), 0).tobytes()


# -- the rule table ----------------------------------------------------------------------------

def _case(name: str) -> tuple[list[np.ndarray], list[object]]:
    cases = {
        "add": ([f32(4, 3, 5), f32(5)], []), "sub": ([f32(4, 3, 5), f32(3, 1)], []),
        "mul": ([f32(4, 3, 5), f32(1, 5)], []), "div": ([f32(4, 3, 5), np.abs(f32(5)) + 1], []),
        "exp": ([f32(7, 9)], []), "log": ([np.abs(f32(7, 9)) + 0.1], []), "tanh": ([f32(7, 9)], []),
        "pow": ([np.abs(f32(6, 5)) + 0.5], [-0.5]), "sum": ([f32(4, 6, 5)], [1, True]),
        "mean": ([f32(4, 6, 5)], [2, False]), "max": ([f32(4, 6, 5)], [1, True]),
        "matmul": ([f32(2, 4, 6, 5), f32(2, 4, 5, 3)], []),
        "broadcast": ([f32(3, 1)], [(2, 3, 4)]),
        "where": ([(f32(3, 4) > 0).astype(np.float32), f32(3, 4), f32(4)], []),
    }
    return cases[name]


@pytest.mark.parametrize("name", sorted(n for n in RULES if DETERMINISTIC_RULES[n] is not RULES[n]))
def test_deterministic_rules_match_the_blas_rules(name: str) -> None:
    arrays, consts = _case(name)
    out, saved = RULES[name].forward(*arrays, *consts)
    det_out, det_saved = DETERMINISTIC_RULES[name].forward(*arrays, *consts)
    assert det_out.dtype == out.dtype and det_out.shape == out.shape
    scale = float(np.max(np.abs(out))) or 1.0
    np.testing.assert_allclose(det_out, out, rtol=0, atol=4e-7 * scale)
    g = f32(*out.shape)
    for got, want in zip(DETERMINISTIC_RULES[name].backward(g, det_saved),
                         RULES[name].backward(g, saved)):
        if want is None:
            assert got is None
            continue
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=0, atol=4e-7 * (float(np.max(np.abs(want))) or 1))


def test_deterministic_rules_run_in_float64_too() -> None:
    a, b = np.random.default_rng(1).standard_normal((2, 5, 7)), np.random.default_rng(2).standard_normal((7, 3))
    out, _ = DETERMINISTIC_RULES["matmul"].forward(a, b)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, a @ b, rtol=1e-14)
    total, _ = DETERMINISTIC_RULES["sum"].forward(a, 2, False)
    np.testing.assert_allclose(total, a.sum(axis=2), rtol=1e-14)


# -- across machines: BLAS cores, thread counts, numpy SIMD targets ---------------------------

TRAIN_INPUT = b"1 16 2 16 4 2 7 3000 100000 1"   # layers width heads context batch steps seed ...
SETTINGS = [
    {"OPENBLAS_NUM_THREADS": "1"},
    {"OPENBLAS_NUM_THREADS": "2", "OPENBLAS_CORETYPE": "Prescott"},
    {"OPENBLAS_NUM_THREADS": "1", "OPENBLAS_CORETYPE": "Haswell",
     "NPY_DISABLE_CPU_FEATURES": "X86_V3"},
]
WORKER = r"""
import hashlib, json, sys
import numpy as np
from numpy._core._multiarray_umath import __cpu_features__
from synapse.runtime import tensors
from synapse.runtime.receipts import make_receipt, receipt_hash
from synapse.runtime.sandbox import DEFAULT_FUEL, Sandbox
from synapse.runtime.tensor_state import Recorder
wasm_path, corpus, out_dir, data = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].encode()
wasm = open(wasm_path, "rb").read()
report = {"x86_v3": bool(__cpu_features__.get("X86_V3"))}
for mode in ("deterministic", "blas"):
    recorder = Recorder()
    with tensors.host_config(tensors.TensorConfig(corpus=corpus, recorder=recorder)):
        result = Sandbox(cache_dir=False, time_limit=None).run(
            wasm, data, deterministic_kernels=mode == "deterministic")
    assert result.status == "ok", result.message
    receipt = make_receipt(wasm, data, result, fuel_budget=DEFAULT_FUEL, arena=1 << 20)
    grads = {f"{i}.{n}": g for i, step in enumerate(recorder.steps) for n, g in step.grads.items()}
    np.savez(f"{out_dir}/{mode}.npz", **grads)
    report[mode] = {"transcript": result.transcript, "receipt": receipt_hash(receipt),
                    "losses": [s.loss for s in recorder.steps]}
print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[dict, Path]]:
    tmp = tmp_path_factory.mktemp("det")
    wasm = tmp / "train.wasm"
    wasm.write_bytes(compile_program(PROGRAMS / "train_gpt.syn"))
    corpus = tmp / "corpus.txt"
    corpus.write_bytes(b"fn main() {\n    println(\"hello, tensors\");\n}\n" * 40)
    results = []
    for number, setting in enumerate(SETTINGS):
        out = tmp / str(number)
        out.mkdir()
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("OPENBLAS_", "NPY_", "OMP_"))}
        env.update(setting)
        proc = subprocess.run([sys.executable, "-c", WORKER, str(wasm), str(corpus), str(out),
                               TRAIN_INPUT.decode()], env=env, cwd=ROOT, capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        results.append((json.loads(proc.stdout.strip().splitlines()[-1]), out))
    return results


def test_the_settings_took_effect(runs: list[tuple[dict, Path]]) -> None:
    assert not runs[2][0]["x86_v3"]  # numpy dispatched to its baseline SIMD kernels


def test_deterministic_runs_are_identical_across_settings(runs: list[tuple[dict, Path]]) -> None:
    first = runs[0][0]["deterministic"]
    assert first["transcript"] and len(first["losses"]) == 2
    for report, _ in runs[1:]:
        assert report["deterministic"] == first


def test_deterministic_gradients_are_bitwise_equal_and_close_to_blas(
        runs: list[tuple[dict, Path]]) -> None:
    reference = dict(np.load(runs[0][1] / "deterministic.npz"))
    assert reference
    for _, out in runs[1:]:
        other = dict(np.load(out / "deterministic.npz"))
        assert other.keys() == reference.keys()
        for name, grad in reference.items():
            assert grad.tobytes() == other[name].tobytes(), name
    blas = dict(np.load(runs[0][1] / "blas.npz"))
    for name, grad in reference.items():
        if name.startswith("0."):   # the first step: same parameters, so same gradient up to rounding
            scale = float(np.max(np.abs(blas[name]))) or 1.0
            np.testing.assert_allclose(grad, blas[name], rtol=0, atol=1e-4 * scale, err_msg=name)
    det_losses = runs[0][0]["deterministic"]["losses"]
    blas_losses = runs[0][0]["blas"]["losses"]
    np.testing.assert_allclose(det_losses, blas_losses, rtol=1e-5)


def test_the_modes_have_different_transcripts(runs: list[tuple[dict, Path]]) -> None:
    report = runs[0][0]
    assert report["deterministic"]["transcript"] != report["blas"]["transcript"]

"""Certified interval bounds (`runtime/bounds.py`, `syn bounds`, `syn verify-finetune`).

Models are tiny GPT char models built from seeded random weights, written and read back as
checkpoints in the format `tensor.ckpt_save` writes. Soundness is checked independently: every
activation of many sampled inputs (and of sampled models between two checkpoints) must lie
inside the certified bounds; hand-computable cases check the interval primitives exactly.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import struct
from pathlib import Path

import numpy as np
import pytest

from synapse.runtime import bounds as B
from synapse.runtime import tensor_data
from synapse.runtime.cli import main as syn_main

VOCAB, CONTEXT, WIDTH, LAYERS = 13, 6, 8, 2


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ckpt") / "tiny.safetensors"
    weights = B.random_charlm(VOCAB, CONTEXT, WIDTH, LAYERS, seed=3, std=0.3)
    tensor_data.save_safetensors(path, weights, {"format": "synapse-tensors"})
    return path


@pytest.fixture(scope="module")
def model(checkpoint: Path) -> B.Model:
    return B.load_charlm(checkpoint)


def test_the_checkpoint_reads_as_the_stdlib_architecture(model: B.Model) -> None:
    assert (model.vocab, model.context, model.width, model.layers) == (VOCAB, CONTEXT, WIDTH, 2)


def test_interval_matmul_of_a_hand_case() -> None:
    x = B.Interval(np.array([[1.0, -1.0]]), np.array([[2.0, 1.0]]))
    w = B.Interval.point(np.array([[3.0], [-2.0]]))
    y = B.interval_matmul(x, w)
    # 3x₀ − 2x₁ over x₀ ∈ [1, 2], x₁ ∈ [−1, 1]: from 3 − 2 = 1 to 6 + 2 = 8.
    assert y.lo[0, 0] <= 1.0 and y.hi[0, 0] >= 8.0
    assert y.lo[0, 0] > 1.0 - 1e-12 and y.hi[0, 0] < 8.0 + 1e-12


def test_interval_gelu_around_its_minimum() -> None:
    y = B.interval_gelu(B.Interval(np.array([-2.0, 0.5, -3.0]), np.array([1.0, 2.0, -1.0])))
    xs = np.linspace(-3, 2, 20001)
    g = B.gelu_scalar(xs)
    assert -0.1701 <= y.lo[0] <= g[(xs >= -2) & (xs <= 1)].min()
    assert y.hi[0] >= B.gelu_scalar(np.array(1.0))
    assert y.lo[1] <= B.gelu_scalar(np.array(0.5)) and y.hi[1] >= B.gelu_scalar(np.array(2.0))
    # decreasing piece: the ends swap
    assert y.lo[2] <= B.gelu_scalar(np.array(-1.0)) <= y.hi[2]
    assert y.hi[2] >= B.gelu_scalar(np.array(-3.0))


def test_the_layer_norm_cap_is_proved_and_tight() -> None:
    assert B.prove_layernorm_cap(8).proved
    # x = (n−1, −1, ..., −1): mean 0, x̂₀ = (n−1)/√((n−1)²/n + (n−1)/n) = √(n−1) (eps → 0).
    n = 8
    x = np.array([n - 1.0] + [-1.0] * (n - 1))
    normed = B._layernorm(x, np.ones(n), np.zeros(n))
    assert normed[0] == pytest.approx(math.sqrt(n - 1), rel=1e-5)
    assert normed[0] <= B.layernorm_cap(n)


def test_samples_stay_inside_every_layers_bounds(model: B.Model) -> None:
    report = B.certify_charlm(model, samples=150, seed=1)
    assert [l.name for l in report.layers][:2] == ["embed", "h0.ln1"]
    assert all(l.contained for l in report.layers)
    assert all(p.proved for p in report.proofs) and report.checked
    assert all(l.tightness >= 1.0 for l in report.layers)  # certified ⊇ sampled


def test_a_user_box_is_certified(model: B.Model) -> None:
    report = B.certify_charlm(model, box=(-0.5, 0.5), positions=3, samples=80)
    assert report.checked and report.positions == 3
    assert report.layers[0].width == pytest.approx(1.0, abs=1e-9)


def test_composition_reports_contraction_and_expansion(model: B.Model) -> None:
    wide = B.Interval(np.full((2, WIDTH), -50.0), np.full((2, WIDTH), 50.0))
    norm = lambda x: B.interval_layernorm(x, model.w("ln_f.w"), model.w("ln_f.b"))  # noqa: E731
    big = B.Interval.point(np.eye(WIDTH) * 40.0)
    grow = lambda x: B.interval_matmul(x, big)  # noqa: E731
    out, stages = B.compose([("A: layer norm", norm), ("B: linear x40", grow)], wide)
    assert [s.verdict for s in stages] == ["contracted", "expanded"]
    rng = np.random.default_rng(0)
    for _ in range(50):
        x = rng.uniform(-50, 50, (2, WIDTH))
        y = B._layernorm(x, model.point("ln_f.w"), model.point("ln_f.b")) @ big.lo
        assert out.contains(y)


def test_the_final_step_is_rechecked_by_z3() -> None:
    w = np.array([[1.0, -2.0], [0.5, 3.0]])
    box = B.Interval(np.array([0.0, -1.0]), np.array([1.0, 1.0]))
    good = B.Interval(np.array([-0.5, -5.0]), np.array([1.5, 3.0]))
    assert B.prove_affine_bounds(box, w, None, good).proved
    # y₁ = −2x₀ + 3x₁ reaches 3 at x = (0, 1): an upper bound of 2.9 is false.
    bad = B.Interval(np.array([-0.5, -5.0]), np.array([1.5, 2.9]))
    assert not B.prove_affine_bounds(box, w, None, bad).proved


def _flip_bit(array: np.ndarray, index: int, bit: int) -> np.ndarray:
    out = array.astype(np.float32).copy()
    raw = out.reshape(-1).view(np.uint32)
    raw[index] ^= np.uint32(1 << bit)
    return out


def test_self_verifying_inference_catches_a_flipped_bit(model: B.Model, checkpoint) -> None:
    stages = dict(B.propagate(model, B.input_box(model, CONTEXT, None)))
    tokens = np.array([1, 5, 2, 0, 12, 7])
    clean = B.forward(model, B.embed(model, tokens), heads=2)
    B.check_output(stages["logits"], clean)             # the clean model passes
    arrays, _ = tensor_data.load_safetensors(checkpoint)
    # The top exponent bit: a weight of about 0.3 becomes about 1e37. (A flip that makes a
    # weight smaller can leave the output inside its bounds; this check cannot see those.)
    arrays["head.w"] = _flip_bit(arrays["head.w"], 3, 30)
    corrupted = B.Model.from_arrays({k: v.astype(np.float64) for k, v in arrays.items()})
    bad = B.forward(corrupted, B.embed(corrupted, tokens), heads=2)
    with pytest.raises(B.OutOfBounds, match="outside its certified bounds"):
        B.check_output(stages["logits"], bad)


def test_verify_finetune_proves_every_model_in_between(model: B.Model, tmp_path) -> None:
    rng = np.random.default_rng(5)
    tuned_arrays = {k: (v.lo + rng.standard_normal(v.lo.shape) * 0.01)
                    for k, v in model.weights.items()}
    tuned = B.Model.from_arrays(tuned_arrays)
    result = B.verify_finetune(model, tuned, (-100.0, 100.0))
    assert result.proved and result.first_failure is None
    lo, hi = result.logits
    for _ in range(20):  # models between the two: inside the certified logits
        t = rng.uniform()
        mixed = B.Model.from_arrays({k: (1 - t) * model.point(k) + t * tuned_arrays[k]
                                     for k in model.weights})
        x = B.embed(mixed, rng.integers(0, VOCAB, CONTEXT))
        out = B.forward(mixed, x, heads=2)
        assert lo <= out.min() and out.max() <= hi
    base_logits = B.propagate(model, B.input_box(model, CONTEXT, None))[-1][1]
    base_lo, base_hi = float(base_logits.lo.min()), float(base_logits.hi.max())
    assert lo <= base_lo and base_hi <= hi
    # Between the base model's bounds and the spanned ones: only the weight box fails it, and
    # only the layers after the final layer norm can (its output box ignores its input).
    between = ((lo + base_lo) / 2, (hi + base_hi) / 2)
    failed = B.verify_finetune(model, tuned, between)
    assert not failed.proved and failed.first_failure in ("ln_f", "head")
    tight = B.verify_finetune(model, tuned, (base_lo / 2, base_hi / 2))
    assert not tight.proved and tight.first_failure.startswith("the base model")


def _run(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = syn_main(argv)
    return code, out.getvalue()


def test_cli_bounds_and_verify_finetune(checkpoint: Path) -> None:
    code, text = _run(["bounds", str(checkpoint), "--positions", "3", "--samples", "30",
                       "--json"])
    assert code == 0
    data = json.loads(text)
    assert data["checked"] and data["logits_lo"] < data["logits_hi"]
    code, text = _run(["verify-finetune", str(checkpoint), str(checkpoint),
                       "--bound=-1000,1000", "--positions", "2"])
    assert code == 0 and text.strip().splitlines()[-1].startswith("proved")
    assert _run(["bounds", str(checkpoint) + ".missing"])[0] == 2


TRAIN = """import tensor;
import nn.gpt;
import optim.adamw;
import train;
arena 1 MiB;

fn main() {
    tensor.seed(1);
    let m = gpt.new(gpt.config(tensor.data_vocab(), 8, 16, 2, 1));
    let opt = adamw.new(0.01, 0.1, 1, 3);
    gpt.optimize_with(m, opt);
    let tc = train.config(3, 4, 8);
    train.run(m, opt, tc);
    println(tensor.ckpt_save());
}
"""


def test_a_checkpoint_written_by_a_training_run_is_certified(tmp_path: Path) -> None:
    from synapse.compiler.driver import compile_source
    from synapse.runtime import tensors
    from synapse.runtime.sandbox import Sandbox
    compiled = compile_source(TRAIN, filename="train_tiny.syn")
    assert compiled.ok, [d.message for d in compiled.diagnostics]
    corpus = tmp_path / "corpus.txt"
    corpus.write_bytes(b"fn main() { println(1 + 2); }\n" * 40)
    ckpt = tmp_path / "tiny.safetensors"
    config = tensors.TensorConfig(corpus=corpus, checkpoint=ckpt)
    with tensors.host_config(config):
        run = Sandbox(time_limit=None).run(compiled.wasm, b"")
    assert run.status == "ok", run.message
    model = B.load_charlm(ckpt)
    assert (model.vocab, model.context, model.width, model.layers) == (97, 8, 16, 1)
    report = B.certify_charlm(model, samples=60, heads=2)
    assert report.checked and all(l.contained for l in report.layers)

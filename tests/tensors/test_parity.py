"""Whole-model parity: `.syn`-orchestrated training against an independent PyTorch run.

`programs/train_gpt.syn` builds the stdlib GPT, AdamW (with warm-up and cosine schedule, weight
decay) and runs the stdlib training loop. The host records every batch, and at every backward
the loss, the parameters and their gradients. `torch_gpt.TorchGPT` starts from the recorded
initial weights, takes the same batches, and at every step the loss, every parameter gradient,
and (before and after every update) every parameter must agree to float32 tolerance.

Sizes (layers x width): 2x4, 4x8 and 4x16 for 20 AdamW steps, and a ~115K-parameter model
(2 layers, width 64, 4 heads), 20 steps as well.

Tolerances, float32 throughout (machine epsilon 1.2e-7; the two sides sum in different orders):
- loss: relative 2e-6;
- gradients: per parameter, max |syn - torch| <= GRAD_RTOL * max |torch| + 1e-9;
- parameters: max |syn - torch| <= PARAM_ATOL (updates are lr-sized; a difference of 1e-5
  would be a tenth of a per-mille of a step at lr 1e-2).
One exception: the key part of each attention's qkv bias. Adding a constant to every key adds
the same number to a whole row of scores, which softmax ignores, so its gradient is exactly
zero in exact arithmetic; both sides compute rounding noise there (around 1e-11), and Adam,
which divides by the gradient's own scale, turns that noise into lr-sized steps of arbitrary
sign. Those elements are left out of the parameter comparison, and their gradients are checked
to be noise: below NOISE_RTOL of the bias gradient's largest element, on both sides.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tensor_support import PROGRAMS, compile_program, run_wasm  # noqa: E402
from torch_gpt import GPTShape, TorchGPT, lr_at  # noqa: E402

LOSS_RTOL = 2e-6
GRAD_RTOL = 1e-4
PARAM_ATOL = 2e-5
NOISE_RTOL = 1e-5

CORPUS = (b"A small corpus for parity tests: the batches are recorded, so any text will do.\n"
          b"fn main() { println(\"hello, world\"); }\n" * 20)

_wasm_cache: dict[str, bytes] = {}


def train_program() -> bytes:
    if "w" not in _wasm_cache:
        _wasm_cache["w"] = compile_program(PROGRAMS / "train_gpt.syn")
    return _wasm_cache["w"]


def max_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b), initial=0.0))


def key_bias(name: str, width: int) -> slice | None:
    """The elements of `name` whose gradient is zero in exact arithmetic (see above)."""
    return slice(width, 2 * width) if name.endswith(".attn.qkv.b") else None


def param_diff(name: str, a: np.ndarray, b: np.ndarray, width: int) -> float:
    keys = key_bias(name, width)
    if keys is not None:
        a, b = a.copy(), b.copy()
        a[keys] = b[keys] = 0.0
    return max_diff(a, b)


def run_and_compare(tmp_path, *, layers: int, width: int, heads: int, context: int, batch: int,
                    steps: int, lr: float = 1e-2, weight_decay: float = 0.1, warmup: int = 5,
                    seed: int = 3) -> dict[str, float]:
    corpus = tmp_path / "corpus.txt"
    corpus.write_bytes(CORPUS)
    args = (f"{layers} {width} {heads} {context} {batch} {steps} {seed} "
            f"{round(lr * 1e6)} {round(weight_decay * 1e6)} {warmup}")
    result, rec = run_wasm(train_program(), args.encode(), corpus=corpus)
    assert result.status == "ok", f"{result.message} in {result.function}"
    lines = result.output.decode().splitlines()
    n_params = sum(v.size for v in rec.final_params.values())
    # What stays on the host after training: each parameter with its two AdamW moments, and
    # per layer the attention mask and its -inf filler.
    live = 3 * len(rec.final_params) + 2 * layers
    assert lines == [f"parameters {n_params}", "arena growth 0", f"live tensors {live}"]
    assert len(rec.steps) == steps and len(rec.batches) == steps
    assert [p[0] for p in rec.progress] == list(range(1, steps + 1))

    shape = GPTShape(97, context, width, heads, layers)
    model = TorchGPT(shape, rec.steps[0].params)
    opt = model.optimizer(weight_decay)
    worst = {"loss": 0.0, "grad": 0.0, "param": 0.0}
    for t, (record, (x, y)) in enumerate(zip(rec.steps, rec.batches), start=1):
        for name, value in record.params.items():
            diff = param_diff(name, model.p[name].detach().numpy(), value, width)
            worst["param"] = max(worst["param"], diff)
            assert diff <= PARAM_ATOL, f"step {t}: parameter {name} differs by {diff}"
        loss = model.loss(x, y)
        opt.zero_grad()
        loss.backward()
        rel = abs(loss.item() - record.loss) / abs(loss.item())
        worst["loss"] = max(worst["loss"], rel)
        assert rel <= LOSS_RTOL, f"step {t}: loss {record.loss} vs torch {loss.item()}"
        for name, g in record.grads.items():
            ref = model.p[name].grad.numpy()
            bound = GRAD_RTOL * float(np.max(np.abs(ref))) + 1e-9
            diff = max_diff(g, ref)
            worst["grad"] = max(worst["grad"], diff / bound * GRAD_RTOL)
            assert diff <= bound, f"step {t}: gradient of {name} differs by {diff} (bound {bound})"
            keys = key_bias(name, width)
            if keys is not None:
                for side in (g, ref):
                    assert np.max(np.abs(side[keys])) <= NOISE_RTOL * np.max(np.abs(side))
        for group in opt.param_groups:
            group["lr"] = lr_at(t, lr, warmup, steps)
        opt.step()
    for name, value in rec.final_params.items():
        diff = param_diff(name, model.p[name].detach().numpy(), value, width)
        assert diff <= PARAM_ATOL, f"after training: parameter {name} differs by {diff}"
    return worst


@pytest.mark.parametrize("layers, width, heads", [(2, 4, 2), (4, 8, 2), (4, 16, 4)],
                         ids=["2x4", "4x8", "4x16"])
def test_small_models_match_torch_for_20_steps(tmp_path, layers: int, width: int,
                                               heads: int) -> None:
    run_and_compare(tmp_path, layers=layers, width=width, heads=heads, context=8, batch=4,
                    steps=20)


def test_100k_parameter_model_matches_torch(tmp_path) -> None:
    run_and_compare(tmp_path, layers=2, width=64, heads=4, context=32, batch=4, steps=20,
                    lr=3e-3, warmup=4)


def test_loss_falls_while_training(tmp_path) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_bytes(CORPUS)
    result, rec = run_wasm(train_program(), b"2 16 2 16 8 60 1 10000 0 5", corpus=corpus)
    assert result.status == "ok", result.message
    losses = [s.loss for s in rec.steps]
    # At initialisation the model is nearly uniform over the 97 symbols: loss close to ln 97.
    assert abs(losses[0] - np.log(97)) < 0.1
    assert np.mean(losses[-10:]) < losses[0] - 1.0

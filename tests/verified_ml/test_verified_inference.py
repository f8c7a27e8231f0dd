"""Self-verifying inference: `nn.verified.forward` and the host's `tensor.check_bounds`.

A tiny GPT char model is written as a checkpoint from seeded random weights; `syn bounds
--certificate` certifies its logits for every token at every position. A `.syn` program loads
the checkpoint and runs `verified.forward`: with the clean checkpoint it returns its logits;
with one bit flipped in a weight the run stops with an error naming the logit outside its
bounds, instead of returning it.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pytest

from synapse.compiler.driver import compile_source
from synapse.runtime import bounds as B
from synapse.runtime import tensor_data, tensors
from synapse.runtime.cli import main as syn_main
from synapse.runtime.sandbox import Sandbox

VOCAB, CONTEXT, WIDTH, HEADS, LAYERS = 13, 6, 8, 2, 2
# wte, wpe, ln_f.w, ln_f.b, head.w, and 12 per block (2 norms, 4 linear layers, each w and b).
PARAMS = 5 + 12 * LAYERS

PROGRAM = f"""import tensor;
import nn.gpt;
import nn.verified;
arena 1 MiB;

fn main() {{
    let m = gpt.new(gpt.config({VOCAB}, {CONTEXT}, {WIDTH}, {HEADS}, {LAYERS}));
    println(tensor.ckpt_load());
    let ids = tensor.reshape2(tensor.arange({CONTEXT}), 1, {CONTEXT});
    tensor.no_grad_begin();
    let logits = verified.forward(m, ids);
    println(tensor.dim(logits, 2));
}}
"""


@pytest.fixture(scope="module")
def wasm() -> bytes:
    result = compile_source(PROGRAM, filename="verified_main.syn")
    assert result.ok, [d.message for d in result.diagnostics]
    return result.wasm


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    folder = tmp_path_factory.mktemp("verified")
    weights = B.random_charlm(VOCAB, CONTEXT, WIDTH, LAYERS, seed=9, std=0.3)
    ckpt = folder / "model.safetensors"
    tensor_data.save_safetensors(ckpt, weights, {"format": "synapse-tensors"})
    cert = folder / "model.bounds"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = syn_main(["bounds", str(ckpt), "--samples", "20", "--heads", str(HEADS),
                         "--certificate", str(cert)])
    assert code == 0, out.getvalue()
    return ckpt, cert, weights


def _run(wasm: bytes, ckpt: Path, cert: Path | None):
    extra = {} if cert is None else {"bounds": cert}
    config = tensors.TensorConfig(checkpoint=ckpt, extra=extra)
    with tensors.host_config(config):
        return Sandbox(time_limit=None).run(wasm, b"")


def test_the_clean_model_passes_its_check(wasm: bytes, files) -> None:
    ckpt, cert, _ = files
    result = _run(wasm, ckpt, cert)
    assert result.status == "ok", result.message
    assert result.output.decode().split() == [str(PARAMS), str(VOCAB)]


def _flipped(weights: dict, name: str, folder: Path) -> Path:
    corrupted = {k: v.copy() for k, v in weights.items()}
    raw = corrupted[name].reshape(-1).view(np.uint32)
    raw[5] ^= np.uint32(1 << 30)          # the top exponent bit: a weight ~0.3 becomes ~1e37
    path = folder / f"bad-{name}.safetensors"
    tensor_data.save_safetensors(path, corrupted, {"format": "synapse-tensors"})
    return path


def test_a_flipped_bit_is_caught_before_the_answer_is_returned(wasm, files, tmp_path) -> None:
    ckpt, cert, weights = files
    result = _run(wasm, _flipped(weights, "head.w", tmp_path), cert)
    assert result.status == "trap"
    assert "tensor.check_bounds" in result.message
    assert "outside its certified bounds" in result.message
    assert result.output.decode().split() == [str(PARAMS)]   # no logits printed


def test_without_a_certificate_the_check_is_an_error(wasm, files) -> None:
    ckpt, _, _ = files
    result = _run(wasm, ckpt, None)
    assert result.status == "trap" and "no certified bounds" in result.message


def test_a_flip_before_the_final_layer_norm_is_not_visible_in_the_logits(wasm, files,
                                                                          tmp_path) -> None:
    # The final layer norm maps any input into the box its weights allow, so the logits stay
    # inside their certified bounds however wrong the blocks before it are: checking only the
    # output cannot catch this corruption (spec/15-verified-ml.md says so).
    ckpt, cert, weights = files
    result = _run(wasm, _flipped(weights, "h1.mlp.proj.w", tmp_path), cert)
    assert result.status == "ok", result.message

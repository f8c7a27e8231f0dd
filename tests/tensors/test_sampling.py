"""Sampling from a trained model: greedy decoding agrees with a PyTorch rollout from the same
checkpoint, and temperature sampling is a function of the seed."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from synapse.runtime import tensor_data  # noqa: E402
from tensor_support import PROGRAMS, compile_program, run_wasm  # noqa: E402
from torch_gpt import GPTShape, TorchGPT  # noqa: E402

SHAPE = "2 16 2 16"
PROMPT = b"fn main"


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sampling")
    corpus = folder / "corpus.txt"
    corpus.write_bytes(b"fn main() {\n    println(\"hello\");\n}\n" * 40)
    path = folder / "model.safetensors"
    result, _ = run_wasm(compile_program(PROGRAMS / "train_gpt.syn"),
                         f"{SHAPE} 8 60 1 10000 0 5".encode(), corpus=corpus, checkpoint=path)
    assert result.status == "ok", result.message
    return path


def sample(checkpoint, count: int, temperature: float, seed: int) -> bytes:
    args = f"{SHAPE} {count} {round(temperature * 1000)}".encode()
    result, _ = run_wasm(compile_program(PROGRAMS / "sample_gpt.syn"), args,
                         checkpoint=checkpoint, seed=seed)
    assert result.status == "ok", result.message
    return result.output


def test_greedy_sampling_matches_a_torch_rollout(checkpoint) -> None:
    weights, _ = tensor_data.load_safetensors(checkpoint)
    model = TorchGPT(GPTShape(97, 16, 16, 2, 2), weights)
    tokens = list(tensor_data.encode(PROMPT))
    with torch.no_grad():
        for _ in range(40):
            window = torch.tensor([tokens[-16:]], dtype=torch.long)
            tokens.append(int(torch.argmax(model.logits(window)[0, -1])))
    expected = tensor_data.decode(np.array(tokens[len(PROMPT):]))
    assert sample(checkpoint, 40, 0.0, seed=0) == expected
    # The trained model has learned something of the corpus: it continues the prompt.
    assert expected.startswith(b"(")


def test_temperature_sampling_depends_only_on_the_seed(checkpoint) -> None:
    first = sample(checkpoint, 60, 1.0, seed=4)
    assert first == sample(checkpoint, 60, 1.0, seed=4)
    assert first != sample(checkpoint, 60, 1.0, seed=5)
    assert len(first) == 60

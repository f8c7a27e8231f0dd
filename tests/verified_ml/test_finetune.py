"""Safe fine-tuning end to end through the command line, at a small scale.

`syn train examples/train_charlm.syn` makes a base checkpoint (a few steps on the project's
.syn sources), `syn train examples/finetune_charlm.syn --init BASE` fine-tunes it on
examples/data/keeper_log.txt, and `syn verify-finetune BASE TUNED --bound=LO,HI` must prove
every logit in [LO, HI] for every model between the two. The tool's claims are checked
independently: the fine-tune really started from the base (its weights lie within what a few
AdamW steps can move them), sampled models between the checkpoints evaluated in float64 on
sampled token sequences keep their logits inside the certified range, and a layer named as the
first that cannot be certified is checked against checkpoints that mix base and fine-tuned
weights layer by layer.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from synapse.runtime import bounds as B
from synapse.runtime import tensor_data
from synapse.runtime.cli import main as syn_main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "finetune_charlm.syn"
NEW_TEXT = "examples/data/keeper_log.txt"
STEPS = 3
HEADS = 4              # examples/lib/charlm.syn; the bounds do not depend on it
BOUND = 15.0           # the property of spec section 15.2.2: every logit in [-15, 15]
LAYER_ORDER = ["embed", "h0", "h1", "ln_f", "head"]


def syn(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "synapse.runtime", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("finetune")
    base, tuned = folder / "base.safetensors", folder / "tuned.safetensors"
    trained = syn("train", "examples/train_charlm.syn", "--steps", STEPS, "--checkpoint", base,
                  "--plot", "none", "--no-bar")
    assert trained.returncode == 0, trained.stderr
    before = digest(base)
    tuning = syn("train", "examples/finetune_charlm.syn", "--init", base, "--steps", STEPS,
                 "--corpus", NEW_TEXT, "--checkpoint", tuned, "--plot", "none", "--no-bar")
    assert tuning.returncode == 0, tuning.stderr
    return {"base": base, "tuned": tuned, "stdout": tuning.stdout, "base_unchanged":
            digest(base) == before}


def arrays(path: Path) -> dict[str, np.ndarray]:
    stored, _ = tensor_data.load_safetensors(path)
    return {k: v.astype(np.float64) for k, v in stored.items()}


def verify(base: Path, tuned: Path, lo: float, hi: float, *more: str) -> tuple[int, str]:
    """`syn verify-finetune` through the command line's entry point, in this process."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = syn_main(["verify-finetune", str(base), str(tuned), f"--bound={lo!r},{hi!r}",
                         *more])
    return code, out.getvalue()


def certified_range(model: B.Model, positions: int) -> tuple[float, float]:
    logits = B.propagate(model, B.input_box(model, positions, None))[-1][1]
    return float(logits.lo.min()), float(logits.hi.max())


def test_the_fine_tune_starts_from_the_base_and_leaves_it_as_it_was(checkpoints) -> None:
    lines = checkpoints["stdout"].splitlines()
    assert lines[0] == f"fine-tuning a checkpoint (29 tensors) for {STEPS} steps"
    assert lines[-1] == "fine-tuned checkpoint saved (29 tensors)"
    assert re.fullmatch(r"validation loss on the new text: \S+ before, \S+ after", lines[1])
    assert checkpoints["base_unchanged"]
    base, tuned = arrays(checkpoints["base"]), arrays(checkpoints["tuned"])
    assert set(base) == set(tuned)
    # One AdamW step moves a weight by at most the learning rate times |m̂| / √v̂, which by
    # Cauchy-Schwarz is at most 1.0031 in the first three steps (betas 0.9, 0.99); the
    # schedule never passes the peak rate. A model that did not start from the base would
    # differ from it by its initial weights (standard deviation 0.02).
    rate = float(re.search(r"const LEARNING_RATE: f64 = ([0-9.e-]+);",
                           EXAMPLE.read_text()).group(1))
    moved = max(float(np.abs(tuned[k] - base[k]).max()) for k in base)
    assert 0.0 < moved <= 1.2 * STEPS * rate
    assert all(not np.array_equal(tuned[k], base[k]) for k in base if k.endswith(".w"))


def test_every_model_between_the_checkpoints_keeps_its_logits_in_the_bound(checkpoints) -> None:
    base, tuned = checkpoints["base"], checkpoints["tuned"]
    code, text = verify(base, tuned, -BOUND, BOUND)
    assert code == 0, text
    last = text.splitlines()[-1]
    found = re.fullmatch(r"proved: every model between the two checkpoints keeps every logit in "
                         rf"\[-{BOUND:g}, {BOUND:g}\] \(certified \[(\S+), (\S+)\]\)", last)
    assert found, last
    lo, hi = float(found.group(1)), float(found.group(2))
    assert -BOUND <= lo < hi <= BOUND

    # Independently: models drawn from the weight box (both checkpoints, and random points
    # between them, weight by weight) on random token sequences, in float64.
    a, b = arrays(base), arrays(tuned)
    rng = np.random.default_rng(5)
    models = [B.Model.from_arrays(a), B.Model.from_arrays(b)]
    for _ in range(6):
        mixed = {k: a[k] + rng.random(a[k].shape) * (b[k] - a[k]) for k in a}
        models.append(B.Model.from_arrays(mixed))
    seen_lo, seen_hi, least_p = math.inf, -math.inf, 1.0
    for model in models:
        for _ in range(4):
            tokens = rng.integers(0, model.vocab, size=model.context)
            logits = B.forward(model, B.embed(model, tokens), HEADS)
            seen_lo, seen_hi = min(seen_lo, logits.min()), max(seen_hi, logits.max())
            p = np.exp(logits - logits.max(-1, keepdims=True))
            least_p = min(least_p, float((p / p.sum(-1, keepdims=True)).min()))
    assert lo <= seen_lo and seen_hi <= hi
    # What the bound means for sampling: no character's probability falls below
    # 1 / (1 + (V - 1) e^(hi - lo)) at any position.
    vocab = models[0].vocab
    assert least_p >= 1.0 / (1.0 + (vocab - 1) * math.exp(hi - lo))


def _hybrid(base: dict, tuned: dict, widened: set[str], path: Path) -> Path:
    """A checkpoint with the fine-tuned weights of the layers in `widened`, the base's elsewhere."""
    def layer(name: str) -> str:
        return "embed" if name in ("wte", "wpe") else name.split(".")[0]
    mixed = {k: (tuned[k] if layer(k) in widened else base[k]).astype(np.float32) for k in base}
    tensor_data.save_safetensors(path, mixed, {"format": "synapse-tensors"})
    return path


def test_a_bound_the_fine_tune_breaks_names_the_first_layer(checkpoints, tmp_path) -> None:
    # At 16 positions (the proof covers the first 16 of the 64) to keep the layer search short.
    t = "16"
    base, tuned = checkpoints["base"], checkpoints["tuned"]
    a, b = B.load_charlm(base), B.load_charlm(tuned)
    alone = certified_range(a, int(t))
    spanned = certified_range(a.interval(b), int(t))
    # The weight box contains the base, so its certified range contains the base's; a few
    # steps of fine-tuning widen it. A bound between the two holds for the base alone.
    assert spanned[0] <= alone[0] and alone[1] <= spanned[1]
    assert spanned[0] < alone[0] or alone[1] < spanned[1]
    lo = (spanned[0] + alone[0]) / 2 if spanned[0] < alone[0] else spanned[0]
    hi = (spanned[1] + alone[1]) / 2 if alone[1] < spanned[1] else spanned[1]

    code, text = verify(base, tuned, lo, hi, "--positions", t)
    assert code == 1, text
    last = text.splitlines()[-1]
    found = re.fullmatch(r"not proved: certified logits \[\S+, \S+\] leave \[\S+, \S+\]; "
                         r"first layer that cannot be certified: (\S+)", last)
    assert found, last
    layer = found.group(1)
    assert layer in LAYER_ORDER
    # The claim, checked on checkpoints that take the fine-tuned weights of the layers up to
    # that one (the bound then fails) or only of those before it (the bound then holds).
    wa, wb = arrays(base), arrays(tuned)
    k = LAYER_ORDER.index(layer)
    upto = B.load_charlm(_hybrid(wa, wb, set(LAYER_ORDER[:k + 1]), tmp_path / "upto.st"))
    before = B.load_charlm(_hybrid(wa, wb, set(LAYER_ORDER[:k]), tmp_path / "before.st"))
    up_lo, up_hi = certified_range(a.interval(upto), int(t))
    assert up_lo < lo or up_hi > hi
    before_lo, before_hi = certified_range(a.interval(before), int(t))
    assert lo <= before_lo and before_hi <= hi

    # A bound the base model itself breaks is reported as such.
    code, text = verify(base, tuned, alone[0] + 0.25 * (alone[1] - alone[0]), alone[1],
                        "--positions", t)
    assert code == 1
    assert text.splitlines()[-1].endswith(
        "first layer that cannot be certified: the base model (the property fails before "
        "fine-tuning)")


def test_init_must_name_a_checkpoint(tmp_path) -> None:
    done = syn("train", "examples/finetune_charlm.syn", "--init", tmp_path / "none.safetensors",
               "--checkpoint", tmp_path / "out.safetensors", "--steps", "1")
    assert done.returncode == 2
    assert "cannot read initial checkpoint" in done.stderr

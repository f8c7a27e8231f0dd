"""`syn train` and `syn sample` on the example programs: progress bar, checkpoint, plot, text."""

from __future__ import annotations

import subprocess
import sys

from tensor_support import ROOT


def syn(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "synapse.runtime", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_train_then_sample(tmp_path) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_bytes(b"fn main() {\n    println(\"hello\");\n}\n" * 100)
    ckpt = tmp_path / "out" / "charlm.safetensors"
    trained = syn("train", "examples/train_charlm.syn", "--steps", "4", "--corpus", str(corpus),
                  "--checkpoint", str(ckpt))
    assert trained.returncode == 0, trained.stderr
    assert trained.stdout.splitlines() == [
        "training a 2-layer GPT (width 64, 4 heads, context 64) for 4 steps",
        "initial loss within 0.1 of ln(97): true",
        "checkpoint saved (29 tensors)",
    ]
    assert "tok/s" in trained.stderr and "4/4" in trained.stderr  # the progress bar
    plot = ckpt.with_suffix(".loss.png")
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert ckpt.is_file()

    first = syn("sample", "examples/sample_charlm.syn", "--checkpoint", str(ckpt),
                "--chars", "30", "--seed", "2")
    assert first.returncode == 0, first.stderr
    lines = first.stdout.split("\n")
    assert lines[0] == "--- greedy" and lines[1].startswith("fn main() {")
    assert "--- temperature 0.8" in lines
    again = syn("sample", "examples/sample_charlm.syn", "--checkpoint", str(ckpt),
                "--chars", "30", "--seed", "2")
    assert again.stdout == first.stdout


def test_sample_without_a_checkpoint_is_a_usage_error(tmp_path) -> None:
    missing = syn("sample", "examples/sample_charlm.syn", "--checkpoint",
                  str(tmp_path / "none.safetensors"))
    assert missing.returncode == 2
    assert "cannot read checkpoint" in missing.stderr

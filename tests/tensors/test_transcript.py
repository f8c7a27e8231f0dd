"""The host-call transcript of tensor programs: the hash that receipts carry.

Same program, same input: the same transcript, in this process and in others whatever the BLAS
thread settings; a different computation: a different transcript.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("numpy")
from tensor_support import compile_text, run_wasm  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]

PROGRAM = """
import tensor;

fn main() {
    tensor.seed(7i64);
    let x = tensor.randn(1.0, 2, 8, 16, 0, 0);
    let w = tensor.randn(0.5, 2, 16, 4, 0, 0);
    let y = tensor.matmul(x, w);
    let s = tensor.sum(tensor.tanh(y), 1, false);
    println(tensor.item(tensor.sum_all(s)) > -1000.0);
}
"""


def transcript(text: str) -> str:
    result, _ = run_wasm(compile_text(text))
    assert result.status == "ok", result.message
    assert result.transcript is not None
    return result.transcript


def test_transcript_is_stable_and_tracks_the_computation() -> None:
    first = transcript(PROGRAM)
    assert transcript(PROGRAM) == first
    assert transcript(PROGRAM.replace("0.5, 2, 16, 4", "0.25, 2, 16, 4")) != first
    assert transcript(PROGRAM.replace("seed(7i64)", "seed(8i64)")) != first


def test_transcript_is_the_same_in_other_processes_and_thread_settings() -> None:
    expected = transcript(PROGRAM)
    script = (
        "import json, sys\n"
        "sys.path.insert(0, 'tests/tensors')\n"
        "from tensor_support import compile_text, run_wasm\n"
        "result, _ = run_wasm(compile_text(sys.stdin.read()))\n"
        "print(json.dumps(result.transcript))\n")
    for threads in ("1", "2"):
        env = dict(os.environ, OPENBLAS_NUM_THREADS=threads, OMP_NUM_THREADS=threads,
                   PYTHONHASHSEED=threads)
        out = subprocess.run([sys.executable, "-c", script], input=PROGRAM, text=True,
                             capture_output=True, cwd=ROOT, env=env, timeout=120, check=True)
        assert json.loads(out.stdout) == expected

"""Training suite: a `.syn`-orchestrated training step against the same model driven from Python.

Three runs of the same GPT (the char model of examples/lib/charlm.syn: 2 layers, width 64,
4 heads, context 64, about 117K parameters; batch 16) from the same initial weights on the same
batches of the default corpus:

- `.syn`: `bench/training_step.syn`, the stdlib model, AdamW and training loop in the sandbox;
  step times come from the host's clock at each `tensor.progress` report;
- numpy: the same model and optimizer written directly in Python against the same primitives
  (`runtime/autograd.py`'s rule table and tape), so the ratio is the cost of orchestrating from
  Wasm through the FFI. Its losses must equal the `.syn` run's (same ops in the same order),
  or the suite fails;
- PyTorch CPU eager (when torch is installed): the same model and `torch.optim.AdamW`.

Figures: median step milliseconds of each and the ratios `train_step_ratio_vs_numpy` and
`train_step_ratio_vs_torch` (`.syn` time / other time); `ffi_call_us_median`, the cost of one
host call (`tensor.rank`, a handle lookup) measured from a loop against the same loop without
the call; `host_calls_per_step`; and `charlm_loss_after_bench_steps`, the `.syn` run's loss at
its last step; `train_step_ratio_deterministic_vs_blas`, the `.syn` step time with the
deterministic kernels (spec/14-tensors.md) over the default kernels' (at most 8 steps).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.harness import BenchFailure, Figures, median

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "bench" / "suites" / "training_step.syn"

LAYERS, WIDTH, HEADS, CONTEXT, BATCH, VOCAB = 2, 64, 4, 64, 16, 97
LR, WEIGHT_DECAY, BETA1, BETA2, EPS = 0.003, 0.1, 0.9, 0.99, 1e-8
FFI_CALLS = 20_000


def _compile(path_or_text: Path | str) -> bytes:
    from synapse.compiler.driver import compile_file, compile_source
    if isinstance(path_or_text, Path):
        result = compile_file(str(path_or_text))
    else:
        result = compile_source(path_or_text, filename=str(ROOT / "bench" / "ffi.syn"))
    if not result.ok:
        raise BenchFailure("benchmark program did not compile: "
                           + "; ".join(d.message for d in result.diagnostics))
    return result.wasm


# -- the .syn run ------------------------------------------------------------------------------

def run_syn(steps: int, deterministic: bool = False) -> tuple[list[float], Any]:
    from synapse.runtime import tensors
    from synapse.runtime.sandbox import Sandbox
    from synapse.runtime.tensor_state import Recorder
    stamps: list[float] = []
    recorder = Recorder()
    config = tensors.TensorConfig(recorder=recorder,
                                  on_progress=lambda *_: stamps.append(time.perf_counter()))
    wasm = _compile(PROGRAM)
    with tensors.host_config(config):
        result = Sandbox(time_limit=None, deterministic_kernels=deterministic).run(
            wasm, str(steps).encode())
    if result.status != "ok":
        raise BenchFailure(f"training program failed: {result.message}")
    return list(np.diff(stamps)), recorder


# -- the same model from Python, against the same rule table -----------------------------------

class PythonGPT:
    """The stdlib GPT, AdamW and loop of `stdlib/`, op for op, driven from Python."""

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        from synapse.runtime.autograd import RULES, Tape, Tensor
        self.rules, self.tape, self.Tensor = RULES, Tape(), Tensor
        self.p = {name: Tensor(value.copy(), True, name=name) for name, value in weights.items()}
        self.m = {name: np.zeros_like(v) for name, v in weights.items()}
        self.v = {name: np.zeros_like(v) for name, v in weights.items()}
        self.t = 0
        self.beta1_t = 1.0   # running products, as the .syn optimizer keeps them
        self.beta2_t = 1.0
        ids = np.arange(CONTEXT, dtype=np.float32)
        self.mask = Tensor((ids[:, None] >= ids[None, :]).astype(np.float32))
        self.neg_inf = Tensor(np.array(-np.inf, dtype=np.float32))

    def op(self, name: str, *inputs: Any, consts: tuple[Any, ...] = ()) -> Any:
        return self.tape.apply(self.rules[name], inputs, consts)

    def const(self, value: np.ndarray) -> Any:
        return self.Tensor(value)

    def linear(self, x: Any, name: str) -> Any:
        y = self.op("matmul", x, self.p[name + ".w"])
        bias = self.p.get(name + ".b")
        return y if bias is None else self.op("add", y, bias)

    def layernorm(self, x: Any, name: str) -> Any:
        mu = self.op("mean", x, consts=(2, True))
        centred = self.op("sub", x, mu)
        variance = self.op("mean", self.op("mul", centred, centred), consts=(2, True))
        inv_std = self.op("pow", self.op("add_scalar", variance, consts=(1e-5,)), consts=(-0.5,))
        scaled = self.op("mul", self.op("mul", centred, inv_std), self.p[name + ".w"])
        return self.op("add", scaled, self.p[name + ".b"])

    def softmax(self, x: Any, axis: int) -> Any:
        shifted = self.op("sub", x, self.op("max", x, consts=(axis, True)))
        e = self.op("exp", shifted)
        return self.op("div", e, self.op("sum", e, consts=(axis, True)))

    def gelu(self, x: Any) -> Any:
        cubic = self.op("mul_scalar", self.op("pow", x, consts=(3.0,)), consts=(0.044715,))
        inner = self.op("mul_scalar", self.op("add", x, cubic), consts=(0.7978845608028654,))
        gate = self.op("add_scalar", self.op("tanh", inner), consts=(1.0,))
        return self.op("mul", self.op("mul_scalar", x, consts=(0.5,)), gate)

    def attention(self, x: Any, name: str) -> Any:
        b, t, c, h = BATCH, CONTEXT, WIDTH, HEADS
        d = c // h
        qkv = self.linear(x, name + ".qkv")

        def heads(start: int, perm: tuple[int, ...]) -> Any:
            part = self.op("slice", qkv, consts=(2, start, start + c))
            return self.op("permute", self.op("reshape", part, consts=((b, t, h, d),)),
                           consts=(perm,))
        q, k, v = heads(0, (0, 2, 1, 3)), heads(c, (0, 2, 3, 1)), heads(2 * c, (0, 2, 1, 3))
        scores = self.op("mul_scalar", self.op("matmul", q, k), consts=(1.0 / math.sqrt(d),))
        weights = self.softmax(self.op("where", self.mask, scores, self.neg_inf), 3)
        joined = self.op("reshape", self.op("permute", self.op("matmul", weights, v),
                                            consts=((0, 2, 1, 3),)), consts=((b, t, c),))
        return self.linear(joined, name + ".proj")

    def loss(self, ids: np.ndarray, targets: np.ndarray) -> Any:
        x = self.op("add", self.op("gather", self.p["wte"], self.const(ids)),
                    self.op("slice", self.p["wpe"], consts=(0, 0, CONTEXT)))
        for i in range(LAYERS):
            x = self.op("add", x, self.attention(self.layernorm(x, f"h{i}.ln1"), f"h{i}.attn"))
            hidden = self.gelu(self.linear(self.layernorm(x, f"h{i}.ln2"), f"h{i}.mlp.fc"))
            x = self.op("add", x, self.linear(hidden, f"h{i}.mlp.proj"))
        logits = self.linear(self.layernorm(x, "ln_f"), "head")
        rows = self.op("reshape", logits, consts=((BATCH * CONTEXT, VOCAB),))
        wanted = self.op("reshape", self.const(targets), consts=((BATCH * CONTEXT, 1),))
        classes = self.op("reshape", self.const(np.arange(VOCAB, dtype=np.float32)),
                          consts=((1, VOCAB),))
        onehot = self.op("eq", wanted, classes)
        shifted = self.op("sub", rows, self.op("max", rows, consts=(1, True)))
        total = self.op("sum", self.op("exp", shifted), consts=(1, True))
        logp = self.op("sub", shifted, self.op("log", total))
        picked = self.op("sum", self.op("mul", logp, onehot), consts=(1, False))
        return self.op("neg", self.op("mean", picked, consts=(0, False)))

    def lr_at(self, t: int, total: int, warmup: int) -> float:
        min_lr = LR / 10
        if t <= warmup:
            return LR * t / warmup
        if t >= total:
            return min_lr
        s = (t - warmup) / (total - warmup)
        return min_lr + (LR - min_lr) * 0.5 * (1 + math.cos(math.pi * s))

    def adamw(self, total: int, warmup: int) -> None:
        self.t += 1
        self.beta1_t *= BETA1
        self.beta2_t *= BETA2
        lr = self.lr_at(self.t, total, warmup)
        step_size = lr / (1 - self.beta1_t)
        inv_bc2_sqrt = 1 / math.sqrt(1 - self.beta2_t)
        self.tape.no_grad_depth += 1
        for name, p in self.p.items():
            g = p.grad if p.grad is not None else np.zeros_like(p.value)
            m = self.m[name] * BETA1 + g * (1 - BETA1)
            v = self.v[name] * BETA2 + (g * g) * (1 - BETA2)
            self.m[name], self.v[name] = m, v
            base = p.value * (1 - lr * WEIGHT_DECAY) if p.value.ndim >= 2 else p.value
            denom = np.sqrt(v) * inv_bc2_sqrt + EPS
            p.value = base + (m / denom) * -step_size
            p.grad = None
        self.tape.no_grad_depth -= 1

    def step(self, ids: np.ndarray, targets: np.ndarray, total: int, warmup: int) -> float:
        loss = self.loss(ids, targets)
        self.tape.backward(loss)
        self.adamw(total, warmup)
        return float(loss.value)


def run_python(recorder: Any, steps: int) -> tuple[list[float], list[float]]:
    model = PythonGPT(recorder.steps[0].params)
    times, losses = [], []
    warmup = max(steps // 20, 1)
    for ids, targets in recorder.batches:
        start = time.perf_counter()
        losses.append(model.step(ids, targets, max(steps, 2), warmup))
        times.append(time.perf_counter() - start)
    return times, losses


# -- PyTorch ---------------------------------------------------------------------------------

def run_torch(recorder: Any, steps: int) -> list[float] | None:
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return None
    p = {n: torch.tensor(v, requires_grad=True) for n, v in recorder.steps[0].params.items()}
    opt = torch.optim.AdamW([{"params": [t for t in p.values() if t.ndim >= 2],
                              "weight_decay": WEIGHT_DECAY},
                             {"params": [t for t in p.values() if t.ndim < 2],
                              "weight_decay": 0.0}], lr=LR, betas=(BETA1, BETA2), eps=EPS)

    def linear(x: Any, name: str) -> Any:
        y = x @ p[name + ".w"]
        return y + p[name + ".b"] if name + ".b" in p else y

    def norm(x: Any, name: str) -> Any:
        return F.layer_norm(x, (WIDTH,), p[name + ".w"], p[name + ".b"], eps=1e-5)

    def loss_of(ids: Any, targets: Any) -> Any:
        x = p["wte"][ids] + p["wpe"][:CONTEXT]
        for i in range(LAYERS):
            q, k, v = (t.reshape(BATCH, CONTEXT, HEADS, WIDTH // HEADS).transpose(1, 2)
                       for t in linear(norm(x, f"h{i}.ln1"), f"h{i}.attn.qkv").split(WIDTH, 2))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + linear(y.transpose(1, 2).reshape(BATCH, CONTEXT, WIDTH), f"h{i}.attn.proj")
            x = x + linear(F.gelu(linear(norm(x, f"h{i}.ln2"), f"h{i}.mlp.fc"),
                                  approximate="tanh"), f"h{i}.mlp.proj")
        logits = linear(norm(x, "ln_f"), "head")
        return F.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1))

    times = []
    for ids, targets in recorder.batches:
        ids_t = torch.tensor(ids, dtype=torch.long)
        targets_t = torch.tensor(targets, dtype=torch.long)
        start = time.perf_counter()
        opt.zero_grad()
        loss_of(ids_t, targets_t).backward()
        opt.step()
        times.append(time.perf_counter() - start)
    return times


# -- FFI overhead ----------------------------------------------------------------------------

FFI_PROGRAM = """import tensor;

fn main() {
    let calls = parse_i64(input()) == 1;
    let t = tensor.zeros2(2, 2);
    var total = 0;
    for i in 0..%d {
        if calls {
            total += tensor.rank(t);
        } else {
            total += 2;
        }
    }
    println(total);
}
""" % FFI_CALLS


def ffi_call_us(repeat: int) -> float:
    from synapse.runtime.sandbox import Sandbox
    wasm = _compile(FFI_PROGRAM)
    sandbox = Sandbox(time_limit=None)
    per_call = []
    for _ in range(repeat):
        times = {}
        for mode in (b"0", b"1"):
            start = time.perf_counter()
            result = sandbox.run(wasm, mode)
            times[mode] = time.perf_counter() - start
            if result.output != f"{2 * FFI_CALLS}\n".encode():
                raise BenchFailure(f"FFI loop printed {result.output!r}")
        per_call.append((times[b"1"] - times[b"0"]) / FFI_CALLS * 1e6)
    return median(per_call)


def run(quick: bool) -> Figures:
    steps = 6 if quick else 30
    syn_times, recorder = run_syn(steps)
    py_times, py_losses = run_python(recorder, steps)
    syn_losses = [s.loss for s in recorder.steps]
    if not np.allclose(py_losses, syn_losses, rtol=1e-6, atol=0):
        raise BenchFailure(f"the Python-driven model lost {py_losses[:3]}..., "
                           f"the .syn model {syn_losses[:3]}...")
    torch_times = run_torch(recorder, steps)
    skip = 1  # the first steps warm caches
    syn_ms = median(syn_times[skip:]) * 1e3
    py_ms = median(py_times[skip + 1:]) * 1e3
    torch_ms = median(torch_times[skip + 1:]) * 1e3 if torch_times else None
    return {
        "train_step_syn_ms": syn_ms,
        "train_step_numpy_ms": py_ms,
        "train_step_torch_ms": torch_ms,
        "train_step_ratio_vs_numpy": syn_ms / py_ms,
        "train_step_ratio_vs_torch": syn_ms / torch_ms if torch_ms else None,
        "ffi_call_us_median": ffi_call_us(3 if quick else 7),
        "host_calls_per_step": round(recorder.calls / max(steps, 1)),
        "train_params": int(sum(v.size for v in recorder.final_params.values())),
        "charlm_loss_after_bench_steps": syn_losses[-1],
        "train_step_ratio_deterministic_vs_blas": deterministic_ratio(steps, syn_times),
    }


def deterministic_ratio(steps: int, blas_times: list[float]) -> float:
    """Median step time with the deterministic kernels over the default (BLAS) kernels'."""
    det_times, _ = run_syn(min(steps, 8), deterministic=True)
    return median(det_times[1:]) / median(blas_times[1:])

"""Helpers shared by the tensor tests: running `.syn` programs with a tensor configuration,
and the one gradient checker every primitive goes through.

`check_rule` compares a rule of `runtime/autograd.py` three ways, in float64:
- its forward output against PyTorch's;
- its vector-Jacobian product (backward applied to a random upstream gradient) against central
  finite differences of <upstream, forward(x)>, step `FD_EPS`, within `FD_ATOL + FD_RTOL |ref|`
  (PyTorch's gradcheck uses eps 1e-6, atol 1e-5, rtol 1e-3);
- the same product against PyTorch autograd, within `TORCH64_RTOL`;
and once more in float32 (the host's dtype) against PyTorch in float32, within `F32_RTOL` of
the largest reference magnitude.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS = Path(__file__).resolve().parent / "programs"

FD_EPS = 1e-6
FD_ATOL = 1e-5
FD_RTOL = 1e-3
TORCH64_RTOL = 1e-9
F32_RTOL = 2e-5


def compile_program(path: Path | str) -> bytes:
    from synapse.compiler.driver import compile_file
    rel = os.path.relpath(path, ROOT)
    cwd = os.getcwd()
    os.chdir(ROOT)  # file names in messages stay relative
    try:
        result = compile_file(rel)
    finally:
        os.chdir(cwd)
    assert result.ok and result.wasm is not None, "\n".join(
        d.render(result.sources.get(d.span.file)) for d in result.diagnostics)
    return result.wasm


def compile_text(text: str, name: str = "main.syn") -> bytes:
    from synapse.compiler.driver import compile_source
    result = compile_source(text, filename=name)
    assert result.ok and result.wasm is not None, "\n".join(
        d.render(result.sources.get(d.span.file)) for d in result.diagnostics)
    return result.wasm


def run_wasm(wasm: bytes, input: bytes = b"", **config: Any) -> tuple[Any, Any]:
    """Run with a fresh recorder and the given `TensorConfig` fields; (RunResult, Recorder)."""
    from synapse.runtime import tensors
    from synapse.runtime.sandbox import Sandbox
    from synapse.runtime.tensor_state import Recorder
    recorder = config.pop("recorder", None) or Recorder()
    cfg = tensors.TensorConfig(recorder=recorder, **config)
    with tensors.host_config(cfg):
        result = Sandbox(time_limit=None).run(wasm, input)
    return result, recorder


# -- gradient checks -------------------------------------------------------------------------

@dataclass
class RuleCase:
    """One check of one rule: inputs, constant arguments, and PyTorch's version of the op."""

    rule: str
    inputs: list[np.ndarray]
    torch_fn: Callable[..., Any]
    consts: tuple[Any, ...] = ()
    # Inputs that are not differentiated (indices, conditions).
    fixed: tuple[int, ...] = ()
    label: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.rule}-{self.label}" if self.label else self.rule


def _forward(rule: Any, arrays: list[np.ndarray], consts: tuple[Any, ...]) -> np.ndarray:
    out, _ = rule.forward(*arrays, *consts)
    return np.asarray(out)


def finite_difference_vjp(rule: Any, arrays: list[np.ndarray], consts: tuple[Any, ...],
                          upstream: np.ndarray, index: int) -> np.ndarray:
    """d<upstream, forward(x)>/d(input `index`) by central differences."""
    base = arrays[index]
    grad = np.zeros_like(base)
    flat = grad.reshape(-1)
    for k in range(base.size):
        shifted = []
        for sign in (1.0, -1.0):
            moved = base.copy()
            moved.reshape(-1)[k] += sign * FD_EPS
            args = list(arrays)
            args[index] = moved
            shifted.append(float(np.sum(upstream * _forward(rule, args, consts))))
        flat[k] = (shifted[0] - shifted[1]) / (2 * FD_EPS)
    return grad


def torch_vjp(case: RuleCase, arrays: list[np.ndarray], upstream: np.ndarray,
              dtype: Any) -> tuple[np.ndarray, list[np.ndarray | None]]:
    import torch
    tensors = []
    for i, a in enumerate(arrays):
        t = torch.tensor(a, dtype=dtype)
        if i not in case.fixed:
            t.requires_grad_(True)
        tensors.append(t)
    out = case.torch_fn(*tensors)
    if out.requires_grad:
        (out * torch.tensor(upstream, dtype=dtype)).sum().backward()
    grads = [None if i in case.fixed or t.grad is None else t.grad.numpy()
             for i, t in enumerate(tensors)]
    return out.detach().numpy().astype(np.float64), grads


def check_rule(case: RuleCase, rng: np.random.Generator) -> None:
    """Forward and backward of one rule against finite differences and PyTorch."""
    import torch
    from synapse.runtime.autograd import RULES
    rule = RULES[case.rule]
    arrays = [np.asarray(a, dtype=np.float64) for a in case.inputs]
    out = _forward(rule, arrays, case.consts)
    ref_out, ref_grads = torch_vjp(case, arrays, np.zeros(out.shape), torch.float64)
    np.testing.assert_allclose(out, ref_out, rtol=1e-12, atol=1e-12, err_msg="forward")
    if rule.backward is None:
        assert all(g is None or not np.any(g) for g in ref_grads)
        return
    upstream = rng.standard_normal(out.shape)
    _, saved = rule.forward(*arrays, *case.consts)
    grads = rule.backward(upstream, saved)
    assert len(grads) == len(arrays)
    _, torch_grads = torch_vjp(case, arrays, upstream, torch.float64)
    for i, array in enumerate(arrays):
        if i in case.fixed:
            assert grads[i] is None, f"input {i} must get no gradient"
            continue
        got = np.asarray(grads[i])
        assert got.shape == array.shape, f"gradient {i} has shape {got.shape}, input {array.shape}"
        numeric = finite_difference_vjp(rule, arrays, case.consts, upstream, i)
        np.testing.assert_allclose(got, numeric, rtol=FD_RTOL, atol=FD_ATOL,
                                   err_msg=f"input {i} vs finite differences")
        np.testing.assert_allclose(got, torch_grads[i], rtol=TORCH64_RTOL, atol=1e-12,
                                   err_msg=f"input {i} vs torch (float64)")
    check_float32(case, rule, upstream)


def check_float32(case: RuleCase, rule: Any, upstream: np.ndarray) -> None:
    """The rule in the host's dtype against PyTorch in float32."""
    import torch
    arrays = [np.asarray(a, dtype=np.float32) for a in case.inputs]
    up32 = upstream.astype(np.float32)
    out, saved = rule.forward(*arrays, *case.consts)
    assert np.asarray(out).dtype == np.float32, "the rule must keep float32"
    grads = rule.backward(up32, saved)
    ref_out, ref_grads = torch_vjp(case, arrays, up32, torch.float32)
    scale = max(1.0, float(np.max(np.abs(ref_out), initial=0.0)))
    np.testing.assert_allclose(out, ref_out, rtol=F32_RTOL, atol=F32_RTOL * scale)
    for i in range(len(arrays)):
        if i in case.fixed:
            continue
        got = np.asarray(grads[i])
        assert got.dtype == np.float32, f"gradient {i} is {got.dtype}"
        ref = ref_grads[i]
        scale = max(1e-30, float(np.max(np.abs(ref), initial=0.0)))
        np.testing.assert_allclose(got, ref, rtol=F32_RTOL, atol=F32_RTOL * scale,
                                   err_msg=f"input {i} vs torch (float32)")

"""An independent PyTorch implementation of the stdlib GPT, AdamW and schedule, for parity tests.

Written from the model's description (stdlib/nn/gpt.syn's header and spec/14-tensors.md), with
PyTorch's own building blocks: `F.layer_norm`, `F.scaled_dot_product_attention(is_causal=True)`,
`F.gelu(approximate="tanh")`, `F.cross_entropy` and `torch.optim.AdamW`. Weights use the
`.syn` layout: a linear layer computes x @ w + b with w of shape [in, out].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class GPTShape:
    vocab: int
    context: int
    width: int
    heads: int
    layers: int


def lr_at(t: int, lr: float, warmup: int, total: int) -> float:
    """Linear warm-up to `lr`, then cosine decay to lr / 10 at step `total` (t from 1)."""
    min_lr = lr / 10
    if t <= warmup:
        return lr * t / warmup
    if t >= total:
        return min_lr
    s = (t - warmup) / (total - warmup)
    return min_lr + (lr - min_lr) * 0.5 * (1 + math.cos(math.pi * s))


class TorchGPT:
    def __init__(self, shape: GPTShape, weights: dict[str, np.ndarray]) -> None:
        self.shape = shape
        self.p = {name: torch.tensor(value, dtype=torch.float32, requires_grad=True)
                  for name, value in weights.items()}

    def _linear(self, x: torch.Tensor, name: str) -> torch.Tensor:
        y = x @ self.p[f"{name}.w"]
        bias = self.p.get(f"{name}.b")
        return y if bias is None else y + bias

    def _norm(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return F.layer_norm(x, (self.shape.width,), self.p[f"{name}.w"], self.p[f"{name}.b"],
                            eps=1e-5)

    def logits(self, ids: torch.Tensor) -> torch.Tensor:
        b, t = ids.shape
        c, h = self.shape.width, self.shape.heads
        x = self.p["wte"][ids] + self.p["wpe"][:t]
        for i in range(self.shape.layers):
            qkv = self._linear(self._norm(x, f"h{i}.ln1"), f"h{i}.attn.qkv")
            q, k, v = (part.reshape(b, t, h, c // h).transpose(1, 2)
                       for part in qkv.split(c, dim=2))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self._linear(y.transpose(1, 2).reshape(b, t, c), f"h{i}.attn.proj")
            hidden = F.gelu(self._linear(self._norm(x, f"h{i}.ln2"), f"h{i}.mlp.fc"),
                            approximate="tanh")
            x = x + self._linear(hidden, f"h{i}.mlp.proj")
        return self._linear(self._norm(x, "ln_f"), "head")

    def loss(self, ids: np.ndarray, targets: np.ndarray) -> torch.Tensor:
        logits = self.logits(torch.tensor(ids, dtype=torch.long))
        return F.cross_entropy(logits.reshape(-1, self.shape.vocab),
                               torch.tensor(targets, dtype=torch.long).reshape(-1))

    def optimizer(self, weight_decay: float) -> torch.optim.AdamW:
        decay = [p for p in self.p.values() if p.ndim >= 2]
        rest = [p for p in self.p.values() if p.ndim < 2]
        return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                                  {"params": rest, "weight_decay": 0.0}],
                                 lr=0.0, betas=(0.9, 0.99), eps=1e-8)

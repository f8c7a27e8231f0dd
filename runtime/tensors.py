"""The host module "tensor": the ABI a `.syn` program sees, and its registration with the sandbox.

A guest names tensors by `i32` handles; the tensors themselves (numpy float32 arrays), their
gradients and the autograd tape live in the host, in one `TensorState` per run
(`runtime/tensor_state.py`), created on the first tensor call and freed when the run ends. The
primitives and their gradient rules are in `runtime/autograd.py`; the corpus loader and the
checkpoint format in `runtime/tensor_data.py`. spec/14-tensors.md describes every function.

This module stays light (no numpy import): the sandbox imports it whenever it links modules,
and programs that use no tensors should not pay for numpy.

What the embedding program chooses (never the guest): the corpus, the checkpoint file, what
happens to progress reports, and an optional recorder for tests. It says so with
`with tensors.host_config(TensorConfig(...)):` around the runs, which take the configuration
active in their thread when they make their first tensor call.

What must stay true:
- every function here is in `ABI` with its exact Wasm signature; the sandbox refuses any other
  import of module "tensor";
- a bad handle, shape or argument ends the run with a trap naming the function and the shapes
  ("tensor.matmul: ..."); the host itself never fails and the next run starts clean.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from synapse.runtime import host

MODULE = "tensor"

# Largest number of elements of all live tensors of one run together (float32: 1 GiB).
DEFAULT_MAX_ELEMENTS = 1 << 28


@dataclass
class TensorConfig:
    """What the host decides for a run's tensor module."""

    corpus: Path | None = None            # text the data loader reads; None: the .syn sources
    checkpoint: Path | None = None        # file ckpt_save writes and ckpt_load reads
    init: Path | None = None              # when set, the file ckpt_load reads (fine-tuning)
    on_progress: Callable[[int, int, float, int], None] | None = None  # step, total, loss, tokens
    recorder: Any = None                  # a tensor_state.Recorder, for tests
    max_elements: int = DEFAULT_MAX_ELEMENTS
    seed: int = 0                         # the generators' seed until the program calls seed()
    count_calls: bool = True              # keep `TensorState.calls` (host calls per run)
    extra: dict[str, Any] = field(default_factory=dict)


class TensorError(Exception):
    """A bad handle, shape or argument; the message names the shapes, not the function."""


_local = threading.local()


def current_config() -> TensorConfig:
    return getattr(_local, "config", None) or TensorConfig()


@contextlib.contextmanager
def host_config(config: TensorConfig) -> Iterator[TensorConfig]:
    """Runs started in this thread inside the block use `config`."""
    previous = getattr(_local, "config", None)
    _local.config = config
    try:
        yield config
    finally:
        _local.config = previous


# -- the ABI -------------------------------------------------------------------------------------
# name -> (Wasm params, Wasm results). `str` arguments arrive as i32 pointers, bools as i32.

_I, _L, _D = "i32", "i64", "f64"
_SHAPE = (_I,) * 5  # rank, d0, d1, d2, d3

ABI: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # creation and random numbers
    "seed": ((_L,), ()),
    "zeros": (_SHAPE, (_I,)),
    "full": ((_D, *_SHAPE), (_I,)),
    "randn": ((_D, *_SHAPE), (_I,)),
    "arange": ((_I,), (_I,)),
    "rand": ((), (_D,)),
    # reading and writing values
    "rank": ((_I,), (_I,)),
    "dim": ((_I, _I), (_I,)),
    "numel": ((_I,), (_I,)),
    "item": ((_I,), (_D,)),
    "get": ((_I, _I), (_D,)),
    "set": ((_I, _I, _D), ()),
    "show": ((_I,), ()),
    # elementwise (binary ops broadcast)
    "add": ((_I, _I), (_I,)),
    "sub": ((_I, _I), (_I,)),
    "mul": ((_I, _I), (_I,)),
    "div": ((_I, _I), (_I,)),
    "neg": ((_I,), (_I,)),
    "exp": ((_I,), (_I,)),
    "log": ((_I,), (_I,)),
    "tanh": ((_I,), (_I,)),
    "relu": ((_I,), (_I,)),
    "sqrt": ((_I,), (_I,)),
    "pow": ((_I, _D), (_I,)),
    "add_scalar": ((_I, _D), (_I,)),
    "mul_scalar": ((_I, _D), (_I,)),
    # reductions over one axis
    "sum": ((_I, _I, _I), (_I,)),
    "mean": ((_I, _I, _I), (_I,)),
    "max": ((_I, _I, _I), (_I,)),
    # linear algebra and shapes
    "matmul": ((_I, _I), (_I,)),
    "reshape": ((_I, *_SHAPE), (_I,)),
    "permute": ((_I, *_SHAPE), (_I,)),
    "transpose": ((_I, _I, _I), (_I,)),
    "broadcast": ((_I, *_SHAPE), (_I,)),
    "slice": ((_I, _I, _I, _I), (_I,)),
    "concat": ((_I, _I, _I), (_I,)),
    "gather": ((_I, _I), (_I,)),
    # comparison and selection
    "eq": ((_I, _I), (_I,)),
    "gt": ((_I, _I), (_I,)),
    "ge": ((_I, _I), (_I,)),
    "where": ((_I, _I, _I), (_I,)),
    # autograd
    "param": ((_I, _I), ()),
    "backward": ((_I,), ()),
    "grad": ((_I,), (_I,)),
    "zero_grad": ((), ()),
    "no_grad_begin": ((), ()),
    "no_grad_end": ((), ()),
    "assign": ((_I, _I), ()),
    # handles
    "mark": ((), (_I,)),
    "release": ((_I,), ()),
    "free": ((_I,), ()),
    "live": ((), (_I,)),
    # data, checkpoints, progress
    "data_vocab": ((), (_I,)),
    "data_batch": ((_I, _I, _I), (_I,)),
    "data_targets": ((), (_I,)),
    "data_char": ((_I,), (_I,)),
    "data_token": ((_I,), (_I,)),
    "ckpt_save": ((), (_I,)),
    "ckpt_load": ((), (_I,)),
    "progress": ((_I, _I, _D, _I), ()),
    "check_bounds": ((_I,), (_I,)),
}


def _new_state(ctx: host.HostContext) -> Any:
    from synapse.runtime.tensor_state import TensorState  # numpy only when tensors are used
    return TensorState(ctx, current_config())


def _bind(name: str) -> Callable[..., Any]:
    def call(ctx: host.HostContext, *args: Any) -> Any:
        state = ctx.state(MODULE)
        state.calls += 1
        state.record_call(name, args)
        try:
            return getattr(state, name)(*args)
        except host.HostTrap:
            raise
        except TensorError as err:
            raise host.HostTrap(f"tensor.{name}: {err}", kind="tensor") from None
        except (ArithmeticError, ValueError, IndexError, MemoryError, TypeError) as err:
            # numpy refusing an argument the checks let through: still the guest's error,
            # never a failure of the host.
            raise host.HostTrap(f"tensor.{name}: {err}", kind="tensor") from None
    call.__name__ = f"tensor_{name}"
    return call


def host_table() -> dict[str, tuple[tuple[str, ...], tuple[str, ...], Callable[..., Any]]]:
    """The ABI in the shape of `host.HOST_FUNCTIONS`: name -> (params, results, impl(ctx, ...))."""
    return {name: (params, results, _bind(name)) for name, (params, results) in ABI.items()}


host.register_host_module(MODULE, host_table(), new_state=_new_state)

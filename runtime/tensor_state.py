"""One run's tensors: the handle table, argument checks, and every `tensor.*` host function.

`runtime/tensors.py` registers the ABI and creates one `TensorState` per run on the first
tensor call; each ABI function is the method of the same name here. Ops check their arguments
(handles, ranks, axes, shapes) and then hand the arrays to the rule table of
`runtime/autograd.py`, whose tape records what backward needs.

What must stay true:
- handles are positive `i32`s, never reused within a run; a freed or unknown handle is an
  error naming it; named parameters live until the run ends;
- every error is a `TensorError` whose message names the shapes involved; `tensors.py` prefixes
  the function name and turns it into a trap;
- the live tensors of a run hold at most `config.max_elements` elements together, checked
  before a large result is computed;
- random numbers come only from the run's generators (seeded by the host's `config.seed`
  until the program calls `seed`), so a run is a
  function of its program, its input, its corpus and its checkpoint.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from synapse.runtime import tensor_data
from synapse.runtime.autograd import DETERMINISTIC_RULES, RULES, Tape, Tensor
from synapse.runtime.det_kernels import canonical_nan
from synapse.runtime.host import HostContext, format_f32
from synapse.runtime.tensors import TensorConfig, TensorError

MAX_RANK = 4
SHOW_MAX_ELEMENTS = 1000
# Streams of the run's seed: parameter initialisation, data batches, sampling (`rand`).
STREAM_INIT, STREAM_DATA, STREAM_SAMPLE = 0, 1, 2


def fmt_shape(shape: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(n) for n in shape) + "]"


def make_generators(seed: int) -> list[np.random.Generator]:
    """The run's three generators: PCG64 seeded by SeedSequence([seed mod 2**64, stream])."""
    entropy = seed & 0xFFFF_FFFF_FFFF_FFFF
    return [np.random.Generator(np.random.PCG64(np.random.SeedSequence([entropy, stream])))
            for stream in (STREAM_INIT, STREAM_DATA, STREAM_SAMPLE)]


@dataclass
class StepRecord:
    """What a recorder keeps at each `backward`: the loss, parameter values and gradients."""

    loss: float
    params: dict[str, np.ndarray]
    grads: dict[str, np.ndarray]


@dataclass
class Recorder:
    """Collects a run's batches, steps and final parameters (tests compare them with PyTorch)."""

    batches: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    steps: list[StepRecord] = field(default_factory=list)
    progress: list[tuple[int, int, float, int]] = field(default_factory=list)
    final_params: dict[str, np.ndarray] = field(default_factory=dict)
    calls: int = 0


class TensorState:
    """The tensors, parameters, tape, generators and data of one run."""

    def __init__(self, ctx: HostContext, config: TensorConfig) -> None:
        self.ctx = ctx
        self.config = config
        self.tensors: dict[int, Tensor] = {}
        self.params: dict[str, Tensor] = {}
        self.next_handle = 1
        self.elements = 0
        self.calls = 0
        self.tape = Tape()
        self.generators = make_generators(config.seed)
        self.corpus: tensor_data.Corpus | None = None
        self.targets: np.ndarray | None = None
        self.recorder = config.recorder
        self._old_errors = np.seterr(all="ignore")  # inf/nan are values here, not warnings
        # The host-call transcript, for receipts: every call's name and arguments, and the
        # shape, dtype and bytes of every tensor it created, in order.
        self._transcript = hashlib.sha256()
        # The kernel mode (the sandbox's `deterministic_kernels`): which rule table runs, and
        # the first entry of the transcript, so the two modes never share a transcript.
        self.deterministic = bool(getattr(ctx, "deterministic", False))
        self.rules = DETERMINISTIC_RULES if self.deterministic else RULES
        if self.deterministic:
            self._transcript.update(b"Mdeterministic;")

    def record_call(self, name: str, args: tuple[Any, ...]) -> None:
        self._transcript.update(f"C{name}{args!r};".encode())

    def transcript_hash(self) -> str:
        return self._transcript.hexdigest()

    def close(self) -> None:
        """The run ended: hand parameters to the recorder, drop every tensor."""
        if self.recorder is not None:
            self.recorder.final_params = {n: p.value.copy() for n, p in self.params.items()}
            self.recorder.calls = self.calls
        self.tensors.clear()
        self.params.clear()
        self.tape.clear()
        np.seterr(**self._old_errors)

    # -- handles -----------------------------------------------------------------------------

    def _get(self, handle: int) -> Tensor:
        tensor = self.tensors.get(handle)
        if tensor is None:
            if 0 < handle < self.next_handle:
                raise TensorError(f"handle {handle} was freed")
            raise TensorError(f"invalid handle {handle}")
        return tensor

    def _add(self, tensor: Tensor) -> int:
        size = tensor.value.size
        if self.elements + size > self.config.max_elements:
            raise TensorError(self._too_large(size))
        self.elements += size
        if self.deterministic:  # NaN payloads and signs differ between CPUs: one NaN
            tensor.value = canonical_nan(tensor.value)
        value = tensor.value
        self._transcript.update(f"T{value.shape}{value.dtype};".encode())
        self._transcript.update(np.ascontiguousarray(value).tobytes())
        handle = self.next_handle
        self.next_handle += 1
        tensor.handle = handle
        self.tensors[handle] = tensor
        return handle

    def _new(self, value: np.ndarray) -> int:
        return self._add(Tensor(value))

    def _too_large(self, size: int) -> str:
        return (f"a result of {size} elements would pass the limit of "
                f"{self.config.max_elements} live elements ({self.elements} in use)")

    def _check_size(self, shape: tuple[int, ...]) -> None:
        size = math.prod(shape)
        if self.elements + size > self.config.max_elements:
            raise TensorError(self._too_large(size))

    def _drop(self, handle: int) -> None:
        tensor = self.tensors.pop(handle)
        self.elements -= tensor.value.size

    # -- argument checks ---------------------------------------------------------------------

    def _shape(self, rank: int, dims: tuple[int, ...], *, allow_infer: bool = False
               ) -> tuple[int, ...]:
        if not 0 <= rank <= MAX_RANK:
            raise TensorError(f"rank {rank} is not in 0..{MAX_RANK}")
        shape = tuple(dims[:rank])
        for n in shape:
            if n < 0 and not (allow_infer and n == -1):
                raise TensorError(f"shape {fmt_shape(shape)} has a negative dimension")
        if allow_infer and shape.count(-1) > 1:
            raise TensorError(f"shape {fmt_shape(shape)} has more than one -1")
        return shape

    @staticmethod
    def _axis(axis: int, rank: int, shape: tuple[int, ...]) -> int:
        if not -rank <= axis < rank:
            raise TensorError(f"axis {axis} is out of range for shape {fmt_shape(shape)}")
        return axis % rank

    def _apply(self, name: str, inputs: tuple[Tensor, ...], *consts: Any) -> int:
        return self._add(self.tape.apply(self.rules[name], inputs, consts))

    def _broadcast_shape(self, *shapes: tuple[int, ...]) -> tuple[int, ...]:
        try:
            shape = np.broadcast_shapes(*shapes)
        except ValueError:
            raise TensorError("shapes " + " and ".join(fmt_shape(s) for s in shapes)
                              + " cannot be broadcast together") from None
        self._check_size(shape)
        return shape

    def _binary(self, name: str, a: int, b: int) -> int:
        ta, tb = self._get(a), self._get(b)
        if ta.value.shape != tb.value.shape:
            self._broadcast_shape(ta.value.shape, tb.value.shape)
        return self._apply(name, (ta, tb))

    # -- creation and random numbers ---------------------------------------------------------

    def seed(self, seed: int) -> None:
        self.generators = make_generators(seed)

    def zeros(self, rank: int, d0: int, d1: int, d2: int, d3: int) -> int:
        shape = self._shape(rank, (d0, d1, d2, d3))
        self._check_size(shape)
        return self._new(np.zeros(shape, dtype=np.float32))

    def full(self, value: float, rank: int, d0: int, d1: int, d2: int, d3: int) -> int:
        shape = self._shape(rank, (d0, d1, d2, d3))
        self._check_size(shape)
        return self._new(np.full(shape, value, dtype=np.float32))

    def randn(self, std: float, rank: int, d0: int, d1: int, d2: int, d3: int) -> int:
        shape = self._shape(rank, (d0, d1, d2, d3))
        self._check_size(shape)
        draws = self.generators[STREAM_INIT].standard_normal(shape)
        return self._new((draws * std).astype(np.float32))

    def arange(self, n: int) -> int:
        if n < 0:
            raise TensorError(f"length {n} is negative")
        self._check_size((n,))
        return self._new(np.arange(n, dtype=np.float32))

    def rand(self) -> float:
        return float(self.generators[STREAM_SAMPLE].random())

    # -- reading and writing values ----------------------------------------------------------

    def rank(self, t: int) -> int:
        return self._get(t).value.ndim

    def dim(self, t: int, axis: int) -> int:
        value = self._get(t).value
        return value.shape[self._axis(axis, value.ndim, value.shape)]

    def numel(self, t: int) -> int:
        return self._get(t).value.size

    def item(self, t: int) -> float:
        value = self._get(t).value
        if value.size != 1:
            raise TensorError(f"item needs one element, found shape {fmt_shape(value.shape)}")
        return float(value.reshape(()))

    def _flat_index(self, value: np.ndarray, index: int) -> int:
        if not 0 <= index < value.size:
            raise TensorError(f"index {index} is out of range for shape {fmt_shape(value.shape)} "
                              f"({value.size} elements)")
        return index

    def get(self, t: int, index: int) -> float:
        value = self._get(t).value
        return float(value.reshape(-1)[self._flat_index(value, index)])

    def set(self, t: int, index: int, v: float) -> None:
        tensor = self._get(t)
        if tensor.requires_grad:
            raise TensorError(f"handle {t} requires a gradient; write it with assign in no_grad")
        # A fresh copy: tensors computed from the old value keep it (values are immutable).
        value = np.array(tensor.value, dtype=np.float32, copy=True)
        value.reshape(-1)[self._flat_index(value, index)] = v
        tensor.value = value

    def show(self, t: int) -> None:
        value = self._get(t).value
        if value.size > SHOW_MAX_ELEMENTS:
            text = f"<tensor of shape {fmt_shape(value.shape)}>"
        else:
            text = _format_nested(value)
        self.ctx.emit((text + "\n").encode())

    # -- elementwise -------------------------------------------------------------------------

    def add(self, a: int, b: int) -> int:
        return self._binary("add", a, b)

    def sub(self, a: int, b: int) -> int:
        return self._binary("sub", a, b)

    def mul(self, a: int, b: int) -> int:
        return self._binary("mul", a, b)

    def div(self, a: int, b: int) -> int:
        return self._binary("div", a, b)

    def neg(self, a: int) -> int:
        return self._apply("neg", (self._get(a),))

    def exp(self, a: int) -> int:
        return self._apply("exp", (self._get(a),))

    def log(self, a: int) -> int:
        return self._apply("log", (self._get(a),))

    def tanh(self, a: int) -> int:
        return self._apply("tanh", (self._get(a),))

    def relu(self, a: int) -> int:
        return self._apply("relu", (self._get(a),))

    def sqrt(self, a: int) -> int:
        return self._apply("sqrt", (self._get(a),))

    def pow(self, a: int, p: float) -> int:
        return self._apply("pow", (self._get(a),), p)

    def add_scalar(self, a: int, c: float) -> int:
        return self._apply("add_scalar", (self._get(a),), c)

    def mul_scalar(self, a: int, c: float) -> int:
        return self._apply("mul_scalar", (self._get(a),), c)

    # -- reductions --------------------------------------------------------------------------

    def _reduce(self, name: str, a: int, axis: int, keepdim: int) -> int:
        tensor = self._get(a)
        shape = tensor.value.shape
        if not shape:
            raise TensorError("cannot reduce a tensor of rank 0")
        axis = self._axis(axis, len(shape), shape)
        if name == "max" and shape[axis] == 0:
            raise TensorError(f"max over an empty axis of shape {fmt_shape(shape)}")
        return self._apply(name, (tensor,), axis, bool(keepdim))

    def sum(self, a: int, axis: int, keepdim: int) -> int:
        return self._reduce("sum", a, axis, keepdim)

    def mean(self, a: int, axis: int, keepdim: int) -> int:
        return self._reduce("mean", a, axis, keepdim)

    def max(self, a: int, axis: int, keepdim: int) -> int:
        return self._reduce("max", a, axis, keepdim)

    # -- matmul and shapes -------------------------------------------------------------------

    def matmul(self, a: int, b: int) -> int:
        ta, tb = self._get(a), self._get(b)
        sa, sb = ta.value.shape, tb.value.shape
        if len(sa) < 2 or len(sb) < 2:
            raise TensorError(f"shapes {fmt_shape(sa)} and {fmt_shape(sb)}: both operands "
                              "need rank 2 or more")
        if sa[-1] != sb[-2]:
            raise TensorError(f"shapes {fmt_shape(sa)} and {fmt_shape(sb)}: inner dimensions "
                              f"{sa[-1]} and {sb[-2]} differ")
        try:
            batch = np.broadcast_shapes(sa[:-2], sb[:-2])
        except ValueError:
            raise TensorError(f"shapes {fmt_shape(sa)} and {fmt_shape(sb)}: batch dimensions "
                              "cannot be broadcast together") from None
        self._check_size((*batch, sa[-2], sb[-1]))
        return self._apply("matmul", (ta, tb))

    def reshape(self, a: int, rank: int, d0: int, d1: int, d2: int, d3: int) -> int:
        tensor = self._get(a)
        old = tensor.value.shape
        shape = self._shape(rank, (d0, d1, d2, d3), allow_infer=True)
        known = math.prod(n for n in shape if n != -1)
        size = tensor.value.size
        if -1 in shape:
            if known == 0 or size % known:
                raise TensorError(f"cannot reshape {fmt_shape(old)} ({size} elements) "
                                  f"to {fmt_shape(shape)}")
            shape = tuple(size // known if n == -1 else n for n in shape)
        elif known != size:
            raise TensorError(f"cannot reshape {fmt_shape(old)} ({size} elements) to "
                              f"{fmt_shape(shape)} ({known} elements)")
        return self._apply("reshape", (tensor,), shape)

    def permute(self, a: int, rank: int, p0: int, p1: int, p2: int, p3: int) -> int:
        tensor = self._get(a)
        shape = tensor.value.shape
        perm = tuple((p0, p1, p2, p3)[:max(rank, 0)])
        if rank != len(shape) or sorted(perm) != list(range(len(shape))):
            raise TensorError(f"{list(perm)} is not a permutation of the axes of "
                              f"{fmt_shape(shape)}")
        return self._apply("permute", (tensor,), perm)

    def transpose(self, a: int, d0: int, d1: int) -> int:
        tensor = self._get(a)
        shape = tensor.value.shape
        if len(shape) < 1:
            raise TensorError("cannot transpose a tensor of rank 0")
        return self._apply("transpose", (tensor,), self._axis(d0, len(shape), shape),
                           self._axis(d1, len(shape), shape))

    def broadcast(self, a: int, rank: int, d0: int, d1: int, d2: int, d3: int) -> int:
        tensor = self._get(a)
        old = tensor.value.shape
        shape = self._shape(rank, (d0, d1, d2, d3))
        ok = len(shape) >= len(old) and all(
            n == m or n == 1 for n, m in zip(reversed(old), reversed(shape)))
        if not ok:
            raise TensorError(f"cannot broadcast {fmt_shape(old)} to {fmt_shape(shape)}")
        self._check_size(shape)
        return self._apply("broadcast", (tensor,), shape)

    def slice(self, a: int, axis: int, start: int, end: int) -> int:
        tensor = self._get(a)
        shape = tensor.value.shape
        if not shape:
            raise TensorError("cannot slice a tensor of rank 0")
        axis = self._axis(axis, len(shape), shape)
        if not 0 <= start <= end <= shape[axis]:
            raise TensorError(f"range {start}..{end} is out of bounds for axis {axis} of "
                              f"{fmt_shape(shape)}")
        return self._apply("slice", (tensor,), axis, start, end)

    def concat(self, a: int, b: int, axis: int) -> int:
        ta, tb = self._get(a), self._get(b)
        sa, sb = ta.value.shape, tb.value.shape
        if len(sa) != len(sb) or not sa:
            raise TensorError(f"cannot concatenate {fmt_shape(sa)} and {fmt_shape(sb)}")
        axis = self._axis(axis, len(sa), sa)
        if any(m != n for i, (m, n) in enumerate(zip(sa, sb)) if i != axis):
            raise TensorError(f"cannot concatenate {fmt_shape(sa)} and {fmt_shape(sb)} "
                              f"along axis {axis}")
        self._check_size(tuple(m + n if i == axis else m for i, (m, n) in enumerate(zip(sa, sb))))
        return self._apply("concat", (ta, tb), axis)

    def gather(self, table: int, indices: int) -> int:
        tt, ti = self._get(table), self._get(indices)
        shape, idx = tt.value.shape, ti.value
        if not shape:
            raise TensorError("the table must have rank 1 or more")
        if idx.size:
            low, high = float(idx.min()), float(idx.max())
            if low < 0 or high >= shape[0] or not np.array_equal(idx, np.floor(idx)):
                bad = idx[(idx < 0) | (idx >= shape[0]) | (idx != np.floor(idx))].reshape(-1)[0]
                raise TensorError(f"index {format_f32(float(bad))} is not a row of the table "
                                  f"of shape {fmt_shape(shape)}")
        self._check_size((*idx.shape, *shape[1:]))
        return self._apply("gather", (tt, ti))

    # -- comparison and selection ------------------------------------------------------------

    def eq(self, a: int, b: int) -> int:
        return self._binary("eq", a, b)

    def gt(self, a: int, b: int) -> int:
        return self._binary("gt", a, b)

    def ge(self, a: int, b: int) -> int:
        return self._binary("ge", a, b)

    def where(self, c: int, a: int, b: int) -> int:
        tc, ta, tb = self._get(c), self._get(a), self._get(b)
        self._broadcast_shape(tc.value.shape, ta.value.shape, tb.value.shape)
        return self._apply("where", (tc, ta, tb))

    # -- autograd ----------------------------------------------------------------------------

    def param(self, t: int, name_ptr: int) -> None:
        tensor = self._get(t)
        name = self.ctx.read_str(name_ptr)
        if name in self.params:
            raise TensorError(f"a parameter named {name!r} already exists")
        if tensor.name is not None or tensor.node is not None:
            raise TensorError(f"handle {t} is not a plain tensor (a parameter or a result "
                              "that records a gradient)")
        tensor.name = name
        tensor.requires_grad = True
        self.params[name] = tensor

    def backward(self, loss: int) -> None:
        tensor = self._get(loss)
        if tensor.value.size != 1:
            raise TensorError(f"the loss must have one element, found shape "
                              f"{fmt_shape(tensor.value.shape)}")
        if tensor.node is None:
            raise TensorError(f"handle {loss} records no gradient (no parameter reaches it, "
                              "or it was computed in no_grad)")
        self.tape.backward(tensor)
        if self.recorder is not None:
            self._record_step(float(tensor.value.reshape(())))

    def _record_step(self, loss: float) -> None:
        params = {n: p.value.copy() for n, p in self.params.items()}
        grads = {n: (p.grad if p.grad is not None else np.zeros_like(p.value)).copy()
                 for n, p in self.params.items()}
        self.recorder.steps.append(StepRecord(loss, params, grads))

    def grad(self, t: int) -> int:
        tensor = self._get(t)
        if tensor.name is None:
            raise TensorError(f"handle {t} is not a parameter")
        grad = tensor.grad if tensor.grad is not None else np.zeros_like(tensor.value)
        return self._new(grad)

    def zero_grad(self) -> None:
        for tensor in self.params.values():
            tensor.grad = None

    def no_grad_begin(self) -> None:
        self.tape.no_grad_depth += 1

    def no_grad_end(self) -> None:
        if self.tape.no_grad_depth == 0:
            raise TensorError("no_grad_end without a matching no_grad_begin")
        self.tape.no_grad_depth -= 1

    def assign(self, dst: int, src: int) -> None:
        td, ts = self._get(dst), self._get(src)
        if td.value.shape != ts.value.shape:
            raise TensorError(f"shapes {fmt_shape(td.value.shape)} and "
                              f"{fmt_shape(ts.value.shape)} differ")
        if td.requires_grad and self.tape.recording:
            raise TensorError(f"handle {dst} requires a gradient: assign to it inside no_grad")
        td.value = ts.value

    # -- handles -----------------------------------------------------------------------------

    def mark(self) -> int:
        return self.next_handle

    def release(self, mark: int) -> None:
        doomed = []
        for handle in reversed(self.tensors):
            if handle < mark:
                break
            doomed.append(handle)
        for handle in doomed:
            if self.tensors[handle].name is None:
                self._drop(handle)
        self.tape.forget_since(mark)

    def free(self, t: int) -> None:
        if self._get(t).name is not None:
            raise TensorError(f"handle {t} is a parameter, which lives until the run ends")
        self._drop(t)

    def live(self) -> int:
        return len(self.tensors)

    # -- data --------------------------------------------------------------------------------

    def _corpus(self) -> tensor_data.Corpus:
        if self.corpus is None:
            try:
                self.corpus = tensor_data.Corpus(tensor_data.read_corpus(self.config.corpus))
            except tensor_data.DataError as err:
                raise TensorError(str(err)) from None
        return self.corpus

    def data_vocab(self) -> int:
        return tensor_data.VOCAB_SIZE

    def data_batch(self, batch: int, context: int, split: int) -> int:
        if batch < 1 or context < 1:
            raise TensorError(f"batch {batch} and context {context} must be positive")
        if split not in (0, 1):
            raise TensorError(f"split {split} is not 0 (training) or 1 (validation)")
        self._check_size((2 * batch, context))
        try:
            x, y = self._corpus().batch(self.generators[STREAM_DATA], batch, context, split)
        except tensor_data.DataError as err:
            raise TensorError(str(err)) from None
        if self.recorder is not None:
            self.recorder.batches.append((x, y))
        self.targets = y
        return self._new(x)

    def data_targets(self) -> int:
        if self.targets is None:
            raise TensorError("no batch was drawn yet (call data_batch first)")
        return self._new(self.targets)

    def data_char(self, token: int) -> int:
        if not 0 <= token < tensor_data.VOCAB_SIZE:
            raise TensorError(f"token {token} is not in 0..{tensor_data.VOCAB_SIZE - 1}")
        return tensor_data.VOCAB_BYTES[token]

    def data_token(self, byte: int) -> int:
        found = tensor_data.VOCAB_BYTES.find(bytes([byte & 0xFF]))
        return found

    # -- checkpoints and progress ------------------------------------------------------------

    def ckpt_save(self) -> int:
        path = self.config.checkpoint
        if path is None:
            return 0
        values = {name: p.value for name, p in self.params.items()}
        metadata = {"format": "synapse-tensors", "vocab": tensor_data.VOCAB_BYTES.hex()}
        try:
            tensor_data.save_safetensors(Path(path), values, metadata)
        except OSError as err:
            raise TensorError(f"cannot write checkpoint {path}: {err.strerror or err}") from None
        return len(values)

    def ckpt_load(self) -> int:
        # Fine-tuning reads one file (`init`) and writes another (`checkpoint`).
        path = self.config.init or self.config.checkpoint
        if path is None:
            return 0
        try:
            stored, _ = tensor_data.load_safetensors(Path(path))
        except tensor_data.DataError as err:
            raise TensorError(str(err)) from None
        for name, tensor in self.params.items():
            value = stored.get(name)
            if value is None:
                raise TensorError(f"checkpoint {path} has no tensor named {name!r}")
            if value.shape != tensor.value.shape:
                raise TensorError(f"checkpoint tensor {name!r} has shape {fmt_shape(value.shape)}"
                                  f", the parameter {fmt_shape(tensor.value.shape)}")
            tensor.value = value
        return len(self.params)

    def check_bounds(self, t: int) -> int:
        # The certificate and the check live with the bound propagation (runtime/bounds.py).
        from synapse.runtime.bounds import check_tensor_bounds
        return check_tensor_bounds(self.config, self._get(t).value)

    def progress(self, step: int, total: int, loss: float, tokens: int) -> None:
        if self.recorder is not None:
            self.recorder.progress.append((step, total, loss, tokens))
        if self.config.on_progress is not None:
            self.config.on_progress(step, total, loss, tokens)


def _format_nested(value: np.ndarray) -> str:
    """`[[1.0, 2.0], [3.0, 4.0]]`: each element as `print` shows an f32; a scalar bare."""
    if value.ndim == 0:
        return format_f32(float(value))
    return "[" + ", ".join(_format_nested(row) for row in value) + "]"

"""Host imports of module "syn": the only doors out of a `.syn` program's sandbox.

The sandbox links exactly the functions in `HOST_FUNCTIONS` (name -> param types, result types,
implementation) and refuses any module importing anything else. Every implementation takes a
`HostContext` (the state of one run: request input, output buffer, a view of the guest's linear
memory) followed by the Wasm arguments.

Other import modules join through the registry: `register_host_module(name, table, new_state=...)`
adds a table shaped like `HOST_FUNCTIONS` and, optionally, a factory for a per-run state object
(`ctx.state(name)` creates it on first use). A state object may offer `transcript_hash() -> str`
(a digest of the calls it served, recorded in receipts) and `close()` (called when the run ends).
The module "tensor" registers itself from `synapse.runtime.tensors`, imported on first use when
that module exists.

What must stay true:
- a guest cannot crash or corrupt the host: every pointer and length from the guest is
  bounds-checked against linear memory, and a bad one ends the run as the trap "invalid pointer";
- output is capped per run; passing the cap ends the run as exhausted="output";
- traps raised here are `HostTrap` exceptions, which the sandbox turns into a `RunResult`.
"""

from __future__ import annotations

import hashlib
import importlib
import math
import struct
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

DEFAULT_OUTPUT_LIMIT = 16 * 1024 * 1024

# fmt_f64/fmt_f32 may write at most this many bytes at the destination.
FMT_MAX_BYTES = 32

# `syn.trap` kinds (LANGUAGE.md, "Host imports").
TRAP_CONTRACT = 1
TRAP_INDEX = 2
TRAP_ARENA = 3
TRAP_PANIC = 4
TRAP_MAP_KEY = 5
TRAP_EMPTY_POP = 6


class HostTrap(Exception):
    """A run ended by the host: a `syn.trap` call, a bad guest pointer or a passed limit.

    `kind` is the stable short name of the cause ("contract", "index", "panic", "map_key",
    "empty_pop", "invalid_pointer", "invalid_trap", or for exhaustion the resource), as
    recorded in receipts.
    """

    def __init__(self, message: str, *, status: str = "trap", exhausted: str | None = None,
                 kind: str | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.exhausted = exhausted
        self.kind = kind or exhausted or "host"


@dataclass
class HostContext:
    """The state one run of a module sees through its host imports."""

    input: bytes = b""
    output_limit: int = DEFAULT_OUTPUT_LIMIT
    output: bytearray = field(default_factory=bytearray)
    # A view of the guest's whole linear memory; set once the instance exists. Memory never
    # grows (min == max is enforced), so the view stays valid for the whole run.
    memory: memoryview | None = None
    # Per-run state of registered host modules (name -> object), created on first use.
    states: dict[str, Any] | None = None
    # The run's kernel mode: machine-independent tensor kernels (spec/14-tensors.md).
    deterministic: bool = False

    def state(self, module: str) -> Any:
        """The per-run state object of host module `module` (created by its factory once)."""
        if self.states is None:
            self.states = {}
        found = self.states.get(module)
        if found is None:
            factory = HOST_MODULES[module].new_state
            if factory is None:
                raise KeyError(f"host module {module!r} keeps no per-run state")
            found = self.states[module] = factory(self)
        return found

    def transcript_hash(self) -> str | None:
        """Digest of the host-call transcripts the run's states kept; None when none did.

        One state with a transcript gives its own hash; several are combined as SHA-256 of
        "name=hash\n" lines in name order.
        """
        if not self.states:
            return None
        hashes = {name: state.transcript_hash() for name, state in self.states.items()
                  if hasattr(state, "transcript_hash")}
        hashes = {name: h for name, h in hashes.items() if h is not None}
        if not hashes:
            return None
        if len(hashes) == 1:
            return next(iter(hashes.values()))
        lines = "".join(f"{name}={h}\n" for name, h in sorted(hashes.items()))
        return hashlib.sha256(lines.encode()).hexdigest()

    def close_states(self) -> None:
        """End the run for every per-run state (frees what they hold on the host)."""
        for state in (self.states or {}).values():
            close = getattr(state, "close", None)
            if close is not None:
                close()

    @property
    def arena_size(self) -> int:
        return len(self.memory) if self.memory is not None else 0

    # -- guest memory access, always bounds-checked --------------------------------------

    def check_range(self, ptr: int, length: int) -> None:
        mem = self.memory
        if mem is None or ptr < 0 or length < 0 or ptr + length > len(mem):
            raise HostTrap("invalid pointer", kind="invalid_pointer")

    def read_bytes(self, ptr: int, length: int) -> bytes:
        ptr &= 0xFFFF_FFFF  # Wasm passes i32 pointers signed; addresses are unsigned
        self.check_range(ptr, length)
        assert self.memory is not None
        return bytes(self.memory[ptr:ptr + length])

    def write_bytes(self, ptr: int, data: bytes) -> None:
        ptr &= 0xFFFF_FFFF
        self.check_range(ptr, len(data))
        assert self.memory is not None
        self.memory[ptr:ptr + len(data)] = data

    def read_str(self, ptr: int) -> str:
        """A guest `str` at `ptr`: [len:i32 little-endian][bytes]. Bad UTF-8 shows as U+FFFD."""
        ptr &= 0xFFFF_FFFF
        self.check_range(ptr, 4)
        assert self.memory is not None
        length = int.from_bytes(self.memory[ptr:ptr + 4], "little", signed=True)
        return self.read_bytes(ptr + 4, length).decode("utf-8", errors="replace")

    # -- output ----------------------------------------------------------------------------

    def emit(self, data: bytes) -> None:
        room = self.output_limit - len(self.output)
        if len(data) > room:
            self.output += data[:max(room, 0)]
            raise HostTrap(
                f"output limit exceeded: more than {self.output_limit} bytes",
                status="exhausted", exhausted="output")
        self.output += data


# -- number formatting ----------------------------------------------------------------------

def format_f64(value: float) -> str:
    """Python `repr` style: "1.0", "0.1", "1e+100", "-0.0", "inf", "-inf", "nan"."""
    if math.isnan(value):
        return "nan"  # the sign of a NaN is not shown (NaNs are canonical anyway)
    return repr(value)


_F32_MAX = struct.unpack("<f", bytes.fromhex("ffff7f7f"))[0]
# Halfway between the largest binary32 and 2**128: below it, rounding gives the largest finite.
_F32_OVERFLOW = 2.0 ** 128 - 2.0 ** 103


def _to_f32(value: float) -> float:
    """Round to the nearest binary32 (ties to even), as a Python float."""
    try:
        return struct.unpack("<f", struct.pack("<f", value))[0]
    except OverflowError:  # struct refuses values just above the largest f32 instead of rounding
        magnitude = _F32_MAX if abs(value) < _F32_OVERFLOW else math.inf
        return math.copysign(magnitude, value)


def format_f32(value: float) -> str:
    """The shortest decimal that reads back as the same binary32 value, in `repr` style."""
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    value = _to_f32(value)
    for precision in range(1, 10):
        text = "%.*g" % (precision, value)
        if _to_f32(float(text)) == value:
            # repr of the (short) decimal re-reads it as f64, whose shortest repr has the
            # same digits, and lays it out the way Python does ("1e+20", "16777216.0").
            return repr(float(text))
    return repr(value)  # unreachable: 9 significant digits always round-trip binary32


# -- the imports -----------------------------------------------------------------------------

def host_input_len(ctx: HostContext) -> int:
    return len(ctx.input)


def host_input_read(ctx: HostContext, dst: int) -> None:
    ctx.write_bytes(dst, ctx.input)


def host_write(ctx: HostContext, ptr: int, length: int) -> None:
    ctx.emit(ctx.read_bytes(ptr, length))


def host_write_i64(ctx: HostContext, value: int) -> None:
    ctx.emit(str(value).encode())


def host_write_f64(ctx: HostContext, value: float) -> None:
    ctx.emit(format_f64(value).encode())


def host_write_f32(ctx: HostContext, value: float) -> None:
    ctx.emit(format_f32(value).encode())


def host_fmt_f64(ctx: HostContext, value: float, dst: int) -> int:
    text = format_f64(value).encode()[:FMT_MAX_BYTES]
    ctx.write_bytes(dst, text)
    return len(text)


def host_fmt_f32(ctx: HostContext, value: float, dst: int) -> int:
    text = format_f32(value).encode()[:FMT_MAX_BYTES]
    ctx.write_bytes(dst, text)
    return len(text)


def trap_message(ctx: HostContext, kind: int, msg: int, a: int, b: int) -> HostTrap:
    """The user-facing message for a `syn.trap(kind, msg, a, b)` call (LANGUAGE.md)."""
    if kind == TRAP_CONTRACT:
        return HostTrap(ctx.read_str(msg), kind="contract")
    if kind == TRAP_INDEX:
        return HostTrap(f"index out of bounds: index {a}, length {b} at {ctx.read_str(msg)}",
                        kind="index")
    if kind == TRAP_ARENA:
        return HostTrap(
            f"arena exhausted: requested {a} bytes with {b} of {ctx.arena_size} bytes in use",
            status="exhausted", exhausted="arena")
    if kind == TRAP_PANIC:
        return HostTrap(f"panic: {ctx.read_str(msg)}", kind="panic")
    if kind == TRAP_MAP_KEY:
        return HostTrap(f'map key not found: "{ctx.read_str(msg)}"', kind="map_key")
    if kind == TRAP_EMPTY_POP:
        return HostTrap(f"pop from empty vector at {ctx.read_str(msg)}", kind="empty_pop")
    return HostTrap(f"invalid trap kind {kind}", kind="invalid_trap")


def host_trap(ctx: HostContext, kind: int, msg: int, a: int, b: int) -> None:
    raise trap_message(ctx, kind, msg, a, b)


HostImpl = Callable[..., object]
HostSignature = tuple[tuple[str, ...], tuple[str, ...], HostImpl]

# The whitelist: name -> (param types, result types, implementation). The sandbox checks every
# import of module "syn" against this table, name and signature exactly.
HOST_FUNCTIONS: dict[str, HostSignature] = {
    "input_len": ((), ("i32",), host_input_len),
    "input_read": (("i32",), (), host_input_read),
    "write": (("i32", "i32"), (), host_write),
    "write_i64": (("i64",), (), host_write_i64),
    "write_f64": (("f64",), (), host_write_f64),
    "write_f32": (("f32",), (), host_write_f32),
    "fmt_f64": (("f64", "i32"), ("i32",), host_fmt_f64),
    "fmt_f32": (("f32", "i32"), ("i32",), host_fmt_f32),
    "trap": (("i32", "i32", "i64", "i64"), (), host_trap),
}

HOST_MODULE = "syn"
# Reserved for the tensor host module; modules importing from it are refused until it exists.
RESERVED_MODULES = ("tensor",)


# -- the registry of import modules -----------------------------------------------------------

@dataclass(frozen=True)
class HostModule:
    """One import module the sandbox links: its whitelist and its per-run state factory."""

    name: str
    functions: Mapping[str, HostSignature]
    new_state: Callable[[HostContext], Any] | None = None


HOST_MODULES: dict[str, HostModule] = {HOST_MODULE: HostModule(HOST_MODULE, HOST_FUNCTIONS)}

# Reserved modules implemented in an optional Python module, imported on first use.
_PROVIDERS = {"tensor": "synapse.runtime.tensors"}
_providers_tried = False
# Bumped by every registration, so sandboxes know to re-link.
registry_version = 0


def register_host_module(name: str, functions: Mapping[str, HostSignature], *,
                         new_state: Callable[[HostContext], Any] | None = None) -> HostModule:
    """Add (or replace) import module `name`; every later link of a module sees it."""
    global registry_version
    if name == HOST_MODULE:
        raise ValueError(f"host module {name!r} is built in")
    module = HostModule(name, dict(functions), new_state)
    HOST_MODULES[name] = module
    registry_version += 1
    return module


def unregister_host_module(name: str) -> None:
    """Remove import module `name` (for tests); modules loaded before keep their links."""
    global registry_version
    if name == HOST_MODULE:
        raise ValueError(f"host module {name!r} is built in")
    if HOST_MODULES.pop(name, None) is not None:
        registry_version += 1


def host_modules() -> dict[str, HostModule]:
    """Every registered import module, after importing the providers that exist."""
    global _providers_tried
    if not _providers_tried:
        _providers_tried = True
        for name, provider in _PROVIDERS.items():
            if name in HOST_MODULES:
                continue
            try:
                importlib.import_module(provider)
            except ModuleNotFoundError as err:
                if err.name != provider:  # the provider exists but is broken: say so
                    raise
    return HOST_MODULES

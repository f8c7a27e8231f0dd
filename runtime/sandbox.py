"""The sandbox: runs a compiled `.syn` module under wasmtime with hard limits.

Takes the Wasm bytes the compiler produced (or any Wasm module) and a request input; produces a
`RunResult`: status "ok" | "trap" | "exhausted", the program's output, and for failures a
human message and the `.syn` function where it happened (from the Wasm name section).

What must stay true:
- a module reaches nothing but the host imports whitelisted in `host.HOST_FUNCTIONS` and in the
  tables of registered host modules (`host.register_host_module`, e.g. "tensor"); any other
  import (another module, another name, the wrong signature, a memory or global) is refused
  before instantiation;
- linear memory is fixed: the module must export "memory" with min == max, and the store limit
  is set to that size so `memory.grow` fails;
- every run gets a fuel budget and a wall-clock limit (epoch interruption), and starts from the
  module's pristine state: nothing leaks from one run into the next. A run gets either a fresh
  Store and Instance, or, for modules whose whole mutable state is their memory and mutable
  globals (no tables, no start function, no passive-segment instructions), a kept instance that
  was wiped when its previous run ended: memory restored to the image a fresh instance has
  (zeros plus the data segments) and every mutable global reset to its initial value. The
  globals are reached through exports the sandbox adds to its own compiled copy of the module;
  `Sandbox(verify_wipe=True)` re-reads memory and globals after each wipe and checks them;
- compiled code is cached by the SHA-256 of the module bytes, in memory and on disk; the disk
  cache only ever deserializes files this module wrote for the same wasmtime version and engine
  configuration (`Module.deserialize` trusts its input).
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import math
import os
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import wasmtime
from wasmtime import _ffi as ffi  # the call path below needs the raw C API (see _call_main)
from wasmtime import _func as wasmtime_func
from wasmtime._trap import Frame, FrameList

from synapse.runtime import host
from synapse.runtime.hostlink import define_unchecked
from synapse.runtime.host import (
    DEFAULT_OUTPUT_LIMIT, RESERVED_MODULES, HostContext, HostTrap,
)

DEFAULT_FUEL = 10_000_000_000
# Wall-clock limit of one run, in seconds, beside fuel: a program that spends its time in host
# calls uses little fuel per second. None disables it.
DEFAULT_TIME_LIMIT: float | None = 60.0
MAX_WASM_STACK = 512 * 1024
WASM_PAGE = 65536
MEMORY_CACHE_ENTRIES = 256
# Kept (wiped) instances per thread, and the largest arena worth keeping: restoring memory
# costs a copy of the whole arena, cheap for small arenas, not for large ones.
WARM_INSTANCES = 64
WARM_MAX_ARENA = 1024 * 1024
# The epoch clock: one tick every EPOCH_TICK seconds while any sandbox exists.
EPOCH_TICK = 0.005
_NO_DEADLINE = 1 << 48
# Fuel given to instantiation alone when a kept instance is made (data segments cost fuel).
_INSTANTIATE_FUEL = 1 << 40

_WASM_MAGIC = b"\0asm"
_CACHE_MAGIC = b"SYNCWASM1\n"

# Human messages for Wasm's own traps, worded as in the WebAssembly spec tests.
_TRAP_MESSAGES: dict[wasmtime.TrapCode, str] = {
    wasmtime.TrapCode.INTEGER_DIVISION_BY_ZERO: "integer divide by zero",
    wasmtime.TrapCode.INTEGER_OVERFLOW: "integer overflow",
    wasmtime.TrapCode.UNREACHABLE: "unreachable",
    wasmtime.TrapCode.MEMORY_OUT_OF_BOUNDS: "out of bounds memory access",
    wasmtime.TrapCode.BAD_CONVERSION_TO_INTEGER: "invalid conversion to integer",
    wasmtime.TrapCode.TABLE_OUT_OF_BOUNDS: "undefined element",
    wasmtime.TrapCode.INDIRECT_CALL_TO_NULL: "uninitialized element",
    wasmtime.TrapCode.BAD_SIGNATURE: "indirect call type mismatch",
    wasmtime.TrapCode.HEAP_MISALIGNED: "unaligned atomic",
}

# Stable short names of Wasm traps (recorded in receipts as the trap kind).
_TRAP_KINDS: dict[wasmtime.TrapCode, str] = {
    wasmtime.TrapCode.INTEGER_DIVISION_BY_ZERO: "divide_by_zero",
    wasmtime.TrapCode.INTEGER_OVERFLOW: "integer_overflow",
    wasmtime.TrapCode.UNREACHABLE: "unreachable",
    wasmtime.TrapCode.MEMORY_OUT_OF_BOUNDS: "memory_bounds",
    wasmtime.TrapCode.BAD_CONVERSION_TO_INTEGER: "invalid_conversion",
    wasmtime.TrapCode.TABLE_OUT_OF_BOUNDS: "table_bounds",
    wasmtime.TrapCode.INDIRECT_CALL_TO_NULL: "null_call",
    wasmtime.TrapCode.BAD_SIGNATURE: "signature",
    wasmtime.TrapCode.HEAP_MISALIGNED: "misaligned",
}


class SandboxError(Exception):
    """The module cannot be run at all: malformed, or asks for something not allowed."""


@dataclass
class RunResult:
    status: str                 # "ok" | "trap" | "exhausted"
    output: bytes
    message: str | None         # trap/exhaustion message
    function: str | None        # innermost function of the trap ("main.fib"), from the name section
    exhausted: str | None       # "fuel" | "arena" | "stack" | "output" | "time" | None
    fuel_used: int
    frames: list[str] = field(default_factory=list)   # backtrace, innermost first
    # Stable short name of how a failed run ended ("divide_by_zero", "index", "fuel", ...).
    trap_kind: str | None = None
    # Digest of the host-call transcript (tensor calls) when the program used such imports.
    transcript: str | None = None
    # The limits and mode the run had (receipts record them): output bytes, wall-clock
    # seconds (None: none), the kernel mode, and the tensor module's live-element limit
    # (None when the run made no tensor call).
    output_limit: int | None = None
    time_limit: float | None = None
    deterministic_kernels: bool = False
    tensor_limit: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass
class LoadedModule:
    """A checked, compiled module, pre-linked against the host imports."""

    sha256: str
    module: wasmtime.Module
    pre: wasmtime.InstancePre
    arena: int                  # linear memory size in bytes (min == max)
    # Export names (added by the sandbox) of the mutable globals, when instances of this module
    # may be wiped and reused; None when every run needs a fresh instance.
    wipe_globals: tuple[bytes, ...] | None = None
    # What memory holds in a fresh instance: this prefix, then zeros (set by the first run).
    image: bytes | None = None
    # Fuel that instantiation consumes (data segments cost fuel): a reused instance's run is
    # charged it too, so fuel figures do not depend on whether the instance was fresh.
    instantiate_fuel: int | None = None


# -- the engine ------------------------------------------------------------------------------

def _make_config() -> wasmtime.Config:
    config = wasmtime.Config()
    config.consume_fuel = True
    # Float results must not depend on the host CPU: one canonical NaN everywhere.
    config.cranelift_nan_canonicalization = True
    config.max_wasm_stack = MAX_WASM_STACK
    # Memories never grow. Reserving no address space beyond the arena (and no guard pages)
    # makes creating and dropping a store cheap (no 4 GiB mmap/munmap per run: cold start fell
    # from ~85 to ~50 us) and lets many sandboxes live at once; the price is explicit bounds
    # checks in compiled code. Copy-on-write images for data segments cost an mmap per
    # instance, more than copying our small data segments.
    config.memory_reservation = 0
    config.memory_guard_size = 0
    config.memory_reservation_for_growth = 0
    config.memory_may_move = False
    config.memory_init_cow = False
    # Features Synapse modules never use stay off, so a module using them is refused.
    config.wasm_threads = False
    config.wasm_memory64 = False
    config.wasm_multi_memory = False
    config.parallel_compilation = False
    # The wall-clock limit: compiled code checks the engine's epoch at loop heads and calls.
    config.epoch_interruption = True
    return config


# What the engine configuration is, as a string: part of the disk cache key, since a module
# serialized under one configuration must not be loaded under another. "wipe-exports" names
# the sandbox's rewrite of modules (exports added for mutable globals).
_ENGINE_FINGERPRINT = (
    f"wasmtime-py {getattr(wasmtime, '__version__', '?')}; fuel; nan-canonical; "
    f"stack {MAX_WASM_STACK}; no reservation, no guard, no cow; "
    "no threads/memory64/multi-memory; epochs; wipe-exports 2"
)

_engine: wasmtime.Engine | None = None
_engine_lock = threading.Lock()


def shared_engine() -> wasmtime.Engine:
    """The one engine every sandbox in the process compiles and runs with."""
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = wasmtime.Engine(_make_config())
            _start_epoch_clock(_engine)
        return _engine


# Ticks the clock has completed: incremented right after each engine epoch increment, so the
# engine's epoch is always this count or one more. A kept instance whose deadline was set at
# the count it still reads need not set it again (see `LiveInstance._arm_deadline`).
epoch_count = 0


def _start_epoch_clock(engine: wasmtime.Engine) -> None:
    """Advance the engine's epoch every EPOCH_TICK seconds, for the process's lifetime."""
    def tick() -> None:
        global epoch_count
        while True:
            time.sleep(EPOCH_TICK)
            engine.increment_epoch()
            epoch_count += 1
    threading.Thread(target=tick, name="syn-epoch-clock", daemon=True).start()


@functools.lru_cache(maxsize=64)
def deadline_ticks(seconds: float | None) -> int:
    """Epoch ticks for a wall-clock limit (one more than needed: the current tick is partial)."""
    if seconds is None:
        return _NO_DEADLINE
    return max(1, math.ceil(seconds / EPOCH_TICK)) + 1


def _wasmtime_version() -> str:
    try:
        from importlib.metadata import version
        return version("wasmtime")
    except Exception:  # metadata missing in odd installs: the fingerprint still separates
        return "unknown"


@functools.lru_cache(maxsize=1)
def _cache_key_suffix() -> str:
    text = f"{_wasmtime_version()}|{_ENGINE_FINGERPRINT}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def default_cache_dir() -> Path | None:
    """`SYN_CACHE_DIR` (empty or "off" disables the disk cache), else ~/.cache/synapse."""
    env = os.environ.get("SYN_CACHE_DIR")
    if env is not None:
        return None if env.strip() in ("", "off", "0") else Path(env)
    return Path.home() / ".cache" / "synapse"


# -- module checks ---------------------------------------------------------------------------

def _valtypes(types: Any) -> tuple[str, ...]:
    return tuple(str(t) for t in types)


def check_imports(module: wasmtime.Module) -> None:
    """Refuse every import that is not a whitelisted host function with its exact signature.

    The whitelist is `host.HOST_FUNCTIONS` for module "syn" plus the tables of registered host
    modules ("tensor" once `runtime/tensors.py` provides it).
    """
    modules = host.host_modules()
    for imp in module.imports:
        where = f"{imp.module}.{imp.name}"
        table = modules[imp.module].functions if imp.module in modules else None
        if table is None and imp.module in RESERVED_MODULES:
            raise SandboxError(
                f"import not allowed: {where} (host module {imp.module!r} is not available)")
        if table is None or imp.name not in table:
            raise SandboxError(f"import not allowed: {where}")
        ty = imp.type
        if not isinstance(ty, wasmtime.FuncType):
            raise SandboxError(f"import not allowed: {where} must be a function")
        params, results, _ = table[imp.name]
        got = (_valtypes(ty.params), _valtypes(ty.results))
        if got != (params, results):
            raise SandboxError(
                f"import {where} has the wrong signature: expected {_sig(params, results)}, "
                f"found {_sig(*got)}")


def _sig(params: tuple[str, ...], results: tuple[str, ...]) -> str:
    return f"({', '.join(params)}) -> ({', '.join(results)})"


def check_exports(module: wasmtime.Module) -> int:
    """Check `main: () -> ()` and a fixed-size `memory`; return the memory size in bytes."""
    exports = {exp.name: exp.type for exp in module.exports}
    main = exports.get("main")
    if not isinstance(main, wasmtime.FuncType):
        raise SandboxError("module does not export a function \"main\"")
    if list(main.params) or list(main.results):
        raise SandboxError("exported \"main\" must take no parameters and return nothing")
    memory = exports.get("memory")
    if not isinstance(memory, wasmtime.MemoryType):
        raise SandboxError("module does not export a memory \"memory\"")
    limits = memory.limits
    if limits.max is None or limits.max != limits.min:
        raise SandboxError("exported memory must have a fixed size (minimum == maximum)")
    return int(limits.min) * WASM_PAGE


# -- preparing modules for wiped reuse -------------------------------------------------------
# A kept instance may serve another run only if everything a run can change is restored by the
# wipe: linear memory and mutable globals. Tables (table.set/grow), a start function (it would
# have to run again), element segments and the data-count section (which memory.init/data.drop
# need; data.drop changes state) exclude a module. Mutable globals are not reachable from the
# host unless exported, so the sandbox compiles its own copy of the module with one export
# added per mutable global; the module's bytes, its hash and its code are otherwise unchanged.

_STATEFUL_SECTIONS = {4: "table", 8: "start", 9: "element", 12: "data count", 13: "tag"}
_NUMERIC_VALTYPES = {0x7F, 0x7E, 0x7D, 0x7C}        # i32 i64 f32 f64
_WIPE_EXPORT_PREFIX = "syn.wipe.global."
_EXPORT_GLOBAL = 0x03


def _uleb(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def _encode_uleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


# Constant-expression opcodes: immediate kind ("s" LEB128, "u" LEB128, or a byte count).
_CONST_EXPR_OPS: dict[int, str | int] = {
    0x41: "s", 0x42: "s", 0x43: 4, 0x44: 8, 0x23: "u",
    0x6A: 0, 0x6B: 0, 0x6C: 0, 0x7C: 0, 0x7D: 0, 0x7E: 0,   # extended-const arithmetic
}


def _skip_const_expr(data: bytes, pos: int) -> int | None:
    while True:
        op = data[pos]
        pos += 1
        if op == 0x0B:
            return pos
        imm = _CONST_EXPR_OPS.get(op)
        if imm is None:
            return None
        if isinstance(imm, int):
            pos += imm
        else:
            _, pos = _uleb(data, pos)  # a signed LEB128 has the same length rule


def _mutable_globals(payload: bytes) -> list[int] | None:
    count, pos = _uleb(payload, 0)
    mutable: list[int] = []
    for index in range(count):
        valtype, mut = payload[pos], payload[pos + 1]
        if valtype not in _NUMERIC_VALTYPES:
            return None
        end = _skip_const_expr(payload, pos + 2)
        if end is None:
            return None
        if mut:
            mutable.append(index)
        pos = end
    return mutable


def _export_names(payload: bytes) -> tuple[int, set[str], int]:
    """(count, names, offset of the first entry) of an export section's payload."""
    count, first = _uleb(payload, 0)
    pos, names = first, set()
    for _ in range(count):
        length, pos = _uleb(payload, pos)
        names.add(payload[pos:pos + length].decode("utf-8", errors="replace"))
        pos += length + 1
        _, pos = _uleb(payload, pos)
    return count, names, first


def _has_exports(module: wasmtime.Module, names: tuple[bytes, ...]) -> bool:
    present = {export.name for export in module.exports}
    return all(name.decode() in present for name in names)


def plan_wipe(wasm: bytes) -> tuple[bytes, tuple[bytes, ...]] | None:
    """The module with an export per mutable global, and those export names; or None when a
    kept instance of it could hold state that a wipe does not restore. `wasm` must be valid."""
    try:
        return _plan_wipe(wasm)
    except IndexError:  # a module that validated is never truncated; stay safe regardless
        return None


def _plan_wipe(wasm: bytes) -> tuple[bytes, tuple[bytes, ...]] | None:
    sections: list[tuple[int, int, int, int]] = []   # (id, header, payload start, payload end)
    pos = 8
    while pos < len(wasm):
        section_id = wasm[pos]
        size, start = _uleb(wasm, pos + 1)
        sections.append((section_id, pos, start, start + size))
        pos = start + size
    if any(section[0] in _STATEFUL_SECTIONS for section in sections):
        return None
    mutable: list[int] = []
    export_at = None
    for number, (sid, _, start, end) in enumerate(sections):
        if sid == 6:
            found = _mutable_globals(wasm[start:end])
            if found is None:
                return None
            mutable = found
        elif sid == 7:
            export_at = number
    if export_at is None:
        return None
    _, header, start, end = sections[export_at]
    payload = wasm[start:end]
    count, names, first = _export_names(payload)
    added = [f"{_WIPE_EXPORT_PREFIX}{index}" for index in mutable]
    if names.intersection(added):
        return None
    entries = b"".join(_encode_uleb(len(name)) + name.encode() + bytes([_EXPORT_GLOBAL])
                       + _encode_uleb(index) for name, index in zip(added, mutable))
    new_payload = _encode_uleb(count + len(added)) + payload[first:] + entries
    rewritten = (wasm[:header] + bytes([7]) + _encode_uleb(len(new_payload)) + new_payload
                 + wasm[end:])
    return rewritten, tuple(name.encode() for name in added)


# -- the sandbox -----------------------------------------------------------------------------
class _Unset:
    """The type of `_UNSET`: "argument not given" where None is a meaningful value."""


_UNSET = _Unset()


class Sandbox:
    """Compiles (with caching), checks and runs modules; every run starts from a pristine instance.

    Counters `compiled`, `memory_hits` and `disk_hits` say where each loaded module came from;
    `fresh_instances` and `reused_instances` count how runs got their instance.
    `reuse=False` gives every run a fresh Store and Instance; `verify_wipe=True` checks every
    wipe by reading memory and globals back (for tests and audits: it costs a full compare).
    """

    def __init__(self, *, cache_dir: str | os.PathLike[str] | None | bool = True,
                 output_limit: int = DEFAULT_OUTPUT_LIMIT,
                 time_limit: float | None = DEFAULT_TIME_LIMIT,
                 reuse: bool = True, verify_wipe: bool = False,
                 deterministic_kernels: bool = False) -> None:
        self.engine = shared_engine()
        if cache_dir is True:
            self.cache_dir = default_cache_dir()
        elif cache_dir is False or cache_dir is None:
            self.cache_dir = None
        else:
            self.cache_dir = Path(cache_dir)
        self.output_limit = output_limit
        self.time_limit = time_limit
        self.reuse = reuse
        self.verify_wipe = verify_wipe
        # The kernel mode of runs that do not choose one (spec/14-tensors.md).
        self.deterministic_kernels = deterministic_kernels
        self.compiled = 0
        self.memory_hits = 0
        self.disk_hits = 0
        self.fresh_instances = 0
        self.reused_instances = 0
        self._modules: OrderedDict[str, LoadedModule] = OrderedDict()
        self._by_bytes: dict[bytes, LoadedModule] = {}
        self._lock = threading.Lock()
        # The host functions are linked once; each run points them at its own context.
        self._local = threading.local()
        self._linker_version = -1
        self._linker = self._make_linker()

    # -- linking ---------------------------------------------------------------------------

    def _make_linker(self) -> wasmtime.Linker:
        linker = wasmtime.Linker(self.engine)
        modules = host.host_modules()
        self._linker_version = host.registry_version
        # Every host function is linked through the raw path (`hostlink`): about 10x cheaper
        # per call than wasmtime-py's generic trampoline, with the same trap behaviour.
        for module_name, module in modules.items():
            for name, (params, results, impl) in module.functions.items():
                define_unchecked(linker, module_name, name, params, results, self._bind(impl))
        return linker

    def _bind(self, impl: Any) -> Any:
        local = self._local

        def call(*args: Any) -> Any:
            try:
                return impl(local.ctx, *args)
            except BaseException as exc:
                _host_exceptions.exc = exc
                raise
        return call

    # -- loading ---------------------------------------------------------------------------

    def load(self, wasm: bytes | bytearray | memoryview) -> LoadedModule:
        """Check and compile `wasm` (or fetch it from the cache). Raises `SandboxError`."""
        if not isinstance(wasm, (bytes, bytearray, memoryview)):
            raise SandboxError(f"expected module bytes, got {type(wasm).__name__}")
        wasm = bytes(wasm)
        # Fast path: the same bytes again (a bytes object caches its hash, so a repeated
        # lookup costs no hashing of the module).
        loaded = self._by_bytes.get(wasm)
        if loaded is not None:
            self.memory_hits += 1
            return loaded
        sha = hashlib.sha256(wasm).hexdigest()
        with self._lock:
            loaded = self._modules.get(sha)
            if loaded is not None:
                self._modules.move_to_end(sha)
                self.memory_hits += 1
                return loaded
        module = self._load_from_disk(sha)
        if module is None:
            self._validate(wasm)
        plan = plan_wipe(wasm)
        if module is not None and plan is not None and not _has_exports(module, plan[1]):
            module = None  # a cached copy compiled without the wipe exports: compile again
        if module is None:
            module = self._compile(plan[0] if plan is not None else wasm)
            self._save_to_disk(sha, module)
        check_imports(module)
        arena = check_exports(module)
        if host.registry_version != self._linker_version:
            self._linker = self._make_linker()
        try:
            pre = self._linker.instantiate_pre(module)
        except wasmtime.WasmtimeError as err:
            raise SandboxError(f"cannot link module: {_error_summary(str(err))}") from None
        loaded = LoadedModule(sha, module, pre, arena, plan[1] if plan is not None else None)
        with self._lock:
            self._modules[sha] = loaded
            self._by_bytes[wasm] = loaded
            while len(self._modules) > MEMORY_CACHE_ENTRIES:
                evicted = self._modules.popitem(last=False)[1]
                self._by_bytes = {b: m for b, m in self._by_bytes.items() if m is not evicted}
        return loaded

    def _validate(self, wasm: bytes) -> None:
        # wasmtime would read non-binary input as WAT text: only binary modules are accepted.
        if not wasm.startswith(_WASM_MAGIC):
            raise SandboxError("malformed module: not a WebAssembly binary (bad magic number)")
        try:
            wasmtime.Module.validate(self.engine, wasm)
        except wasmtime.WasmtimeError as err:
            raise SandboxError(f"malformed module: {_error_summary(str(err))}") from None

    def _compile(self, wasm: bytes) -> wasmtime.Module:
        try:
            module = wasmtime.Module(self.engine, wasm)
        except wasmtime.WasmtimeError as err:
            raise SandboxError(f"malformed module: {_error_summary(str(err))}") from None
        self.compiled += 1
        return module

    def _cache_path(self, sha: str) -> Path | None:
        if self.cache_dir is None:
            return None
        return self.cache_dir / f"{sha}-{_cache_key_suffix()}.cwasm"

    def _load_from_disk(self, sha: str) -> wasmtime.Module | None:
        path = self._cache_path(sha)
        if path is None:
            return None
        try:
            blob = path.read_bytes()
        except OSError:
            return None
        # File layout: magic, sha256 of the payload, payload (our own `Module.serialize()`).
        # A torn or altered file fails the digest and is recompiled, never deserialized.
        head = len(_CACHE_MAGIC)
        if not blob.startswith(_CACHE_MAGIC) or len(blob) < head + 32:
            return None
        digest, payload = blob[head:head + 32], blob[head + 32:]
        if hashlib.sha256(payload).digest() != digest:
            return None
        try:
            module = wasmtime.Module.deserialize(self.engine, payload)
        except wasmtime.WasmtimeError:
            return None
        self.disk_hits += 1
        return module

    def _save_to_disk(self, sha: str, module: wasmtime.Module) -> None:
        path = self._cache_path(sha)
        if path is None:
            return
        try:
            payload = module.serialize()
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".cwasm")
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(_CACHE_MAGIC + hashlib.sha256(payload).digest() + payload)
                os.replace(tmp, path)  # atomic: readers see the old file or the whole new one
            except BaseException:
                os.unlink(tmp)
                raise
        except OSError:
            pass  # the disk cache is an optimisation; a read-only home must not stop a run

    # -- running ---------------------------------------------------------------------------

    def run(self, wasm: bytes | LoadedModule, input: bytes = b"", *, fuel: int = DEFAULT_FUEL,
            output_limit: int | None = None,
            time_limit: float | None | _Unset = _UNSET,
            deterministic_kernels: bool | None = None) -> RunResult:
        """Run `main` once from the module's pristine state. Raises `SandboxError` only for
        unusable modules. `time_limit` (seconds, None for none) and `deterministic_kernels`
        override the sandbox's."""
        # The hot path (the same module bytes again) skips `load` and its checks.
        loaded = self._by_bytes.get(wasm) if type(wasm) is bytes else None
        if loaded is not None:
            self.memory_hits += 1
        elif isinstance(wasm, LoadedModule):
            loaded = wasm
        else:
            loaded = self.load(wasm)
        if type(input) is not bytes:
            input = bytes(input)
        if output_limit is None:
            output_limit = self.output_limit
        if deterministic_kernels is None:
            deterministic_kernels = self.deterministic_kernels
        limit = self.time_limit if isinstance(time_limit, _Unset) else time_limit
        if (self.reuse and loaded.wipe_globals is not None and loaded.arena <= WARM_MAX_ARENA
                and fuel > (loaded.instantiate_fuel or 0)):
            try:
                pool = self._local.warm
            except AttributeError:
                pool = self._warm_pool()
            live = pool.pop(loaded.sha256, None)
            if live is None:
                live = self._new_live(loaded)
                if fuel <= (loaded.instantiate_fuel or 0):  # a fresh instance would run out
                    pool[loaded.sha256] = live               # while instantiating: let it, as
                    return self._run_fresh(loaded, self._new_context(  # the reference path does
                        input, output_limit, deterministic_kernels), fuel, limit)
            else:
                self.reused_instances += 1
            result = live.run_once(input, fuel, output_limit, limit, deterministic_kernels)
            if live.usable:
                pool[loaded.sha256] = live
                while len(pool) > WARM_INSTANCES:
                    pool.popitem(last=False)[1].close()
            return result
        ctx = self._new_context(input, output_limit, deterministic_kernels)
        return self._run_fresh(loaded, ctx, fuel, limit)

    @staticmethod
    def _new_context(input: bytes, output_limit: int, deterministic: bool) -> HostContext:
        return HostContext(input=bytes(input), output_limit=output_limit,
                           deterministic=deterministic)

    def hold(self, wasm: bytes | LoadedModule) -> LiveInstance:
        """A live instance of `wasm` that the caller keeps (e.g. to hold many sandboxes at once).

        `live.run(input)` runs `main` in it; it is wiped after every run, like the instances the
        sandbox keeps itself. Only for modules whose instances can be wiped.
        """
        loaded = wasm if isinstance(wasm, LoadedModule) else self.load(wasm)
        if loaded.wipe_globals is None:
            raise SandboxError("instances of this module cannot be wiped, so cannot be held")
        return self._new_live(loaded)

    def drop_warm(self) -> None:
        """Release this thread's kept instances."""
        pool = self._warm_pool()
        while pool:
            pool.popitem()[1].close()

    def _warm_pool(self) -> OrderedDict[str, LiveInstance]:
        pool = getattr(self._local, "warm", None)
        if pool is None:
            pool = self._local.warm = OrderedDict()
        return pool

    def _new_store(self, loaded: LoadedModule) -> wasmtime.Store:
        store = wasmtime.Store(self.engine)
        store.set_limits(memory_size=loaded.arena, instances=1, memories=1, tables=1)
        store.set_epoch_deadline(_NO_DEADLINE)  # a new store's deadline is "now"
        return store

    def _new_live(self, loaded: LoadedModule) -> LiveInstance:
        """A fresh instance kept for wiped reuse; records the pristine image on first use."""
        store = self._new_store(loaded)
        store.set_fuel(_INSTANTIATE_FUEL)
        try:
            instance = loaded.pre.instantiate(store)
        except (wasmtime.Trap, wasmtime.WasmtimeError) as err:  # no start function: no trap
            raise SandboxError(f"cannot instantiate module: {_error_summary(str(err))}") from None
        used = _INSTANTIATE_FUEL - store.get_fuel()
        if loaded.instantiate_fuel is None:
            loaded.instantiate_fuel = used
        elif used != loaded.instantiate_fuel:
            raise SandboxError("instantiation used a different amount of fuel than before")
        self.fresh_instances += 1
        live = LiveInstance(self, loaded, store, instance)
        image = live.read_memory().rstrip(b"\0")
        if loaded.image is None:
            loaded.image = image
        elif image != loaded.image:  # every fresh instance of a module starts the same
            raise SandboxError("a fresh instance differs from the module's recorded image")
        return live

    def _run_fresh(self, loaded: LoadedModule, ctx: HostContext, fuel: int,
                   limit: float | None) -> RunResult:
        store = self._new_store(loaded)
        store.set_fuel(fuel)
        store.set_epoch_deadline(deadline_ticks(limit))
        self._local.ctx = ctx
        try:
            trap, host_exc, frames = self._instantiate_and_call(store, loaded, ctx)
            remaining = store.get_fuel()
        finally:
            ctx.memory = None  # the view points into the store's memory, which dies with it
            self._local.ctx = None
        self.fresh_instances += 1
        return _finish(ctx, trap, host_exc, frames, fuel, fuel - remaining, limit)

    def _instantiate_and_call(self, store: wasmtime.Store, loaded: LoadedModule,
                              ctx: HostContext) -> Outcome:
        try:
            instance = loaded.pre.instantiate(store)
        except wasmtime.Trap as trap:  # only a start function can trap here
            return trap, None, _frame_names(trap.frames)
        except HostTrap as exc:
            return None, exc, []
        except wasmtime.WasmtimeError as err:
            raise SandboxError(f"cannot instantiate module: {_error_summary(str(err))}") from None
        context = store._context()
        main = _export(context, instance, b"main")
        memory = _export(context, instance, b"memory")
        ctx.memory = _memory_view(context, memory.of.memory, loaded.arena)
        return _call_main(context, main.of.func)


class LiveInstance:
    """One instance kept alive between runs, with what its wipe needs.

    The wipe restores memory to the module's pristine image (its non-zero prefix copied back,
    the rest zeroed) and every mutable global to the value it had when the instance was new.
    The C-level arguments of the per-run calls, and the run's `HostContext`, are made once here:
    a run only sets values in them.
    """

    def __init__(self, sandbox: Sandbox, loaded: LoadedModule, store: wasmtime.Store,
                 instance: wasmtime.Instance) -> None:
        self.sandbox = sandbox
        self.loaded = loaded
        self.store = store
        self.instance = instance
        self.context = store._context()
        self._context = ctypes.cast(self.context, ctypes.c_void_p).value
        self.main = _export(self.context, instance, b"main").of.func
        self._main = ctypes.addressof(self.main)
        memory = _export(self.context, instance, b"memory").of.memory
        self.view = _memory_view(self.context, memory, loaded.arena)
        self.base = ctypes.addressof(ctypes.c_ubyte.from_buffer(self.view))
        self._fuel = ctypes.c_uint64(0)
        self._fuel_at = ctypes.addressof(self._fuel)
        self._trap = ctypes.c_void_p(None)
        self._trap_at = ctypes.addressof(self._trap)
        self.globals: list[tuple[Any, Any]] = []
        for name in loaded.wipe_globals or ():
            glob = _export(self.context, instance, name).of.global_
            initial = ffi.wasmtime_val_t()
            ffi.wasmtime_global_get(self.context, ctypes.byref(glob), ctypes.byref(initial))
            self.globals.append((glob, initial))
        self._global_args = [(_vp(ctypes.addressof(g)), _vp(ctypes.addressof(v)))
                             for g, v in self.globals]
        # The per-run C calls take these ready-made ctypes objects (see `_untyped`).
        self._context_arg = _vp(self._context)
        self._main_arg = _vp(self._main)
        self._trap_arg = _vp(self._trap_at)
        self._fuel_arg = _vp(self._fuel_at)
        self._budget = ctypes.c_uint64(0)        # the fuel a run starts with
        self._deadline = ctypes.c_uint64(0)      # epoch ticks from now
        # `main` takes and returns nothing: the raw-value buffer is never read or written.
        self._values = (ffi.wasmtime_val_raw_t * 1)()
        self._values_arg = _vp(ctypes.addressof(self._values))
        # The clock count and limit the store's epoch deadline was last set for (-1: unset).
        self._deadline_epoch = -1
        self._deadline_limit: float | None = None
        # One HostContext serves every run of this instance: its fields are set per run, and
        # what a run left in it (input, output, host-module states) is dropped when it ends.
        self._ctx = HostContext(memory=self.view)
        self._head: memoryview | None = None   # the image part of memory, set on first wipe
        self._tail_at = self._tail_size = 0
        self._tail_arg = _vp(0)
        self._tail_size_arg = ctypes.c_size_t(0)
        self._sliced = False
        self._setup = loaded.instantiate_fuel or 0
        self._local = sandbox._local
        self.usable = True

    def _slice_views(self) -> None:
        image = self.loaded.image or b""
        self._head = self.view[:len(image)] if image else None
        self._tail_at = self.base + len(image)
        self._tail_size = self.loaded.arena - len(image)
        self._tail_arg = _vp(self._tail_at)
        self._tail_size_arg = ctypes.c_size_t(self._tail_size)
        self._sliced = True

    def run(self, input: bytes = b"", *, fuel: int = DEFAULT_FUEL,
            output_limit: int | None = None,
            time_limit: float | None | _Unset = _UNSET) -> RunResult:
        """Run `main` in this instance (which is wiped afterwards)."""
        if not self.usable:
            raise SandboxError("this instance was closed or its last run did not finish")
        sandbox = self.sandbox
        limit = sandbox.time_limit if isinstance(time_limit, _Unset) else time_limit
        sandbox.reused_instances += 1
        return self.run_once(input, fuel, sandbox.output_limit if output_limit is None
                             else output_limit, limit, sandbox.deterministic_kernels)

    def run_once(self, input: bytes, fuel: int, output_limit: int, limit: float | None,
                 deterministic: bool) -> RunResult:
        """Run `main` under the given limits, then wipe the instance (it stays unusable if the
        run or the wipe fails). The hot path of every reused run: C calls with prepared
        arguments, no objects made but the result."""
        # Charged as if this run had instantiated the module itself (see instantiate_fuel).
        setup = self._setup
        if fuel <= setup:
            raise SandboxError("fuel budget does not cover instantiating the module")
        if type(input) is not bytes:
            input = bytes(input)
        self.usable = False  # until the wipe below succeeds
        ctx = self._ctx
        ctx.input = input
        ctx.output_limit = output_limit
        ctx.deterministic = deterministic
        context = self._context_arg
        self._budget.value = fuel - setup
        error = _set_fuel_u(context, self._budget)
        if error:
            raise _error_from(error)
        if epoch_count != self._deadline_epoch or limit != self._deadline_limit:
            self._arm_deadline(limit)
        local = self._local
        local.ctx = ctx
        try:
            error = _func_call_unchecked_u(context, self._main_arg, self._values_arg, _ZERO,
                                           self._trap_arg)
            if error or self._trap.value:
                trap, host_exc, frames = self._failure(error)
            else:  # a host function that raised would have made the call fail
                trap = host_exc = None
                frames = []
            error = _get_fuel_u(context, self._fuel_arg)
            if error:
                raise _error_from(error)
        finally:
            local.ctx = None
        used = fuel - self._fuel.value
        self.wipe()
        self.usable = True
        ctx.input = b""
        output = ctx.output
        if trap is None and host_exc is None and ctx.states is None:
            result = RunResult("ok", bytes(output), None, None, None, used, frames, None, None,
                               output_limit, limit, deterministic, None)
            output.clear()
            return result
        result = _finish(ctx, trap, host_exc, frames, fuel, used, limit)
        ctx.output = bytearray()
        ctx.states = None
        return result

    def _arm_deadline(self, limit: float | None) -> None:
        """Set the store's epoch deadline for a run under `limit`.

        Set at clock count c, the deadline is one tick later than a run's limit needs, as the
        engine's epoch may already be c + 1. A later run that still reads count c starts at
        epoch c or c + 1, so the deadline set then still gives it its whole limit; once the
        count moves on, or the limit differs, the deadline is set again.
        """
        epoch = epoch_count   # read before setting: the engine's epoch is at least this
        self._deadline.value = deadline_ticks(limit) + 1
        _set_deadline_u(self._context_arg, self._deadline)
        self._deadline_epoch = epoch
        self._deadline_limit = limit

    def _failure(self, error: int | None) -> Outcome:
        """The outcome of a call that returned an error or a trap (see `_outcome`)."""
        self._deadline_epoch = -1  # the next run sets its deadline afresh, whatever ended this
        host_exc = _take_host_exception()
        trap = self._trap.value
        self._trap.value = None
        return _outcome(
            ctypes.cast(error, ctypes.POINTER(ffi.wasmtime_error_t)) if error else None,
            ctypes.cast(trap, ctypes.POINTER(ffi.wasm_trap_t)) if trap else None, host_exc)

    def read_memory(self) -> bytes:
        return ctypes.string_at(self.base, self.loaded.arena)

    def read_globals(self) -> list[bytes]:
        """The raw bits of every mutable global, in order."""
        values = []
        for glob, _ in self.globals:
            value = ffi.wasmtime_val_t()
            ffi.wasmtime_global_get(self.context, ctypes.byref(glob), ctypes.byref(value))
            values.append(_val_bits(value))
        return values

    def wipe(self) -> None:
        """Restore the pristine state; with the sandbox's `verify_wipe`, read it back and check."""
        if not self._sliced:
            self._slice_views()
        # The image by a memoryview copy (no ctypes call), the zeros by memset (no source to
        # read: it beat copying from a zero buffer by ~15% for 64 KiB).
        head = self._head
        if head is not None:
            assert self.loaded.image is not None  # the head is set only for a recorded image
            head[:] = self.loaded.image
        _memset_u(self._tail_arg, _ZERO_INT, self._tail_size_arg)
        context = self._context_arg
        for glob, initial in self._global_args:
            error = _global_set_u(context, glob, initial)
            if error:
                raise _error_from(error)
        if self.sandbox.verify_wipe:
            self.check_wiped()

    def check_wiped(self) -> None:
        """Raise SandboxError unless memory and globals are exactly as in a fresh instance."""
        image = self.loaded.image or b""
        memory = self.read_memory()
        if memory[:len(image)] != image or memory[len(image):].count(0) != len(memory) - len(image):
            self.usable = False
            raise SandboxError("wipe failed: memory differs from a fresh instance")
        if self.read_globals() != [_val_bits(initial) for _, initial in self.globals]:
            self.usable = False
            raise SandboxError("wipe failed: a global differs from a fresh instance")

    def close(self) -> None:
        self.usable = False
        self._ctx.memory = None
        self.view = memoryview(b"")
        self._head = None
        self._sliced = False
        self._tail_size = 0
        self.store.close()


def _val_bits(value: Any) -> bytes:
    size = 4 if value.kind in (0, 2) else 8   # WASMTIME_I32, WASMTIME_F32: 4 bytes
    return ctypes.string_at(ctypes.addressof(value.of), size)


def _finish(ctx: HostContext, trap: wasmtime.Trap | None, host_exc: BaseException | None,
            frames: list[str], budget: int, fuel_used: int, limit: float | None) -> RunResult:
    """The RunResult of a finished call; ends the run's host-module states."""
    transcript = tensor_limit = None
    if ctx.states:
        transcript = ctx.transcript_hash()
        tensor_state = ctx.states.get("tensor")
        if tensor_state is not None:
            tensor_limit = tensor_state.config.max_elements
        ctx.close_states()
    output = bytes(ctx.output)
    if trap is None and host_exc is None:
        result = RunResult("ok", output, None, None, None, fuel_used, [], None, transcript)
    else:
        result = _classify(trap, host_exc, frames, output, budget, fuel_used, limit)
        result.transcript = transcript
    result.output_limit = ctx.output_limit
    result.time_limit = limit
    result.deterministic_kernels = ctx.deterministic
    result.tensor_limit = tensor_limit
    return result


# -- the raw call path ------------------------------------------------------------------------
# wasmtime-py's `Func.__call__` re-raises a Python exception from a host function in place of the
# Wasm trap that carried it, dropping the trap's backtrace; and `instance.exports()` builds a
# table of every export. Looking up two exports by name and calling `main` through the C API
# keeps the backtrace of host traps (for "in function ...") and most of the per-run overhead away.

def _export(context: Any, instance: wasmtime.Instance, name: bytes) -> Any:
    item = ffi.wasmtime_extern_t()
    if not ffi.wasmtime_instance_export_get(context, ctypes.byref(instance._instance),
                                            name, len(name), ctypes.byref(item)):
        raise SandboxError(f"module has no export {name.decode()!r}")
    return item


def _memory_view(context: Any, memory: Any, arena: int) -> memoryview:
    base = ffi.wasmtime_memory_data(context, ctypes.byref(memory))
    size = ffi.wasmtime_memory_data_size(context, ctypes.byref(memory))
    if size != arena:  # cannot happen with min == max, but the view must never overhang memory
        raise SandboxError(f"memory is {size} bytes, expected {arena}")
    array = (ctypes.c_ubyte * size).from_address(ctypes.addressof(base.contents))
    return memoryview(array).cast("B")


Outcome = tuple["wasmtime.Trap | None", "BaseException | None", list[str]]

# wasmtime-py parks a host function's exception in one process-wide variable, which another
# thread's run can read or clear while this thread's Wasm runs without the GIL (a cross-run,
# cross-tenant leak). Each host function's wrapper parks it per thread instead.
_host_exceptions = threading.local()


def _take_host_exception() -> BaseException | None:
    exc = getattr(_host_exceptions, "exc", None)
    _host_exceptions.exc = None
    wasmtime_func.LAST_EXCEPTION = None  # never read: only keeps the object from lingering
    return exc


def _call_main(context: Any, func: Any) -> Outcome:
    """Call `main`; return (Wasm trap, host exception, backtrace names innermost first)."""
    trap_ptr = ctypes.POINTER(ffi.wasm_trap_t)()
    error = ffi.wasmtime_func_call(context, ctypes.byref(func), None, 0, None, 0,
                                   ctypes.byref(trap_ptr))
    # A host function's exception comes back as an error carrying the Wasm backtrace; the
    # exception itself was parked by the host function's wrapper (see `_bind`).
    return _outcome(error, trap_ptr, _take_host_exception())


def _outcome(error: Any, trap_ptr: Any, host_exc: BaseException | None) -> Outcome:
    if error:
        err = wasmtime.WasmtimeError._from_ptr(error)
        frames = _error_frames(err)
        if host_exc is None:
            raise SandboxError(f"call failed: {_first_line(str(err))}")
    elif trap_ptr:
        trap = wasmtime.Trap._from_ptr(trap_ptr)
        return trap, host_exc, _frame_names(trap.frames)
    else:
        return None, host_exc, []
    if not isinstance(host_exc, HostTrap):
        raise host_exc  # a bug in a host function (or Ctrl-C): never disguise it as a trap
    return None, host_exc, frames


# The per-run calls on kept instances, with arguments prepared once per instance: wasmtime-py's
# wrappers convert and check every argument on every call, which is most of a run's cost.
def _untyped(library: Any, name: str, restype: Any) -> Any:
    """A prototype with no argtypes, called with ready-made ctypes objects only: ctypes then
    skips converting and checking each argument (~0.5 us of ~1 us per call). Every argument
    must be a ctypes instance of the C parameter's exact width (or None for NULL)."""
    function = library[name]
    function.restype = restype
    function.argtypes = None
    return function


_vp = _ptr = ctypes.c_void_p
_ZERO = ctypes.c_size_t(0)
_ZERO_INT = ctypes.c_int(0)
_set_fuel_u = _untyped(ffi.dll, "wasmtime_context_set_fuel", _ptr)
_get_fuel_u = _untyped(ffi.dll, "wasmtime_context_get_fuel", _ptr)
_set_deadline_u = _untyped(ffi.dll, "wasmtime_context_set_epoch_deadline", None)
# `main` is `() -> ()` and belongs to the instance's own store (both checked when the instance
# was made), which is all the unchecked call skips checking.
_func_call_unchecked_u = _untyped(ffi.dll, "wasmtime_func_call_unchecked", _ptr)
_global_set_u = _untyped(ffi.dll, "wasmtime_global_set", _ptr)
_memset_u = _untyped(ctypes.CDLL(None), "memset", None)


def _error_from(address: int) -> wasmtime.WasmtimeError:
    return wasmtime.WasmtimeError._from_ptr(
        ctypes.cast(address, ctypes.POINTER(ffi.wasmtime_error_t)))


def _error_frames(err: wasmtime.WasmtimeError) -> list[str]:
    frames = FrameList(err)
    ffi.wasmtime_error_wasm_trace(err.ptr(), ctypes.byref(frames.vec))
    return _frame_names([Frame._from_ptr(frames.vec.data[i], frames)
                         for i in range(frames.vec.size)])


# -- classification ---------------------------------------------------------------------------

def _frame_names(frames: list[Frame]) -> list[str]:
    return [frame.func_name or f"wasm-function[{frame.func_index}]" for frame in frames]


def _classify(trap: wasmtime.Trap | None, host_exc: BaseException | None, frames: list[str],
              output: bytes, budget: int, fuel_used: int,
              limit: float | None = None) -> RunResult:
    function = frames[0] if frames else None
    if isinstance(host_exc, HostTrap):
        return RunResult(host_exc.status, output, host_exc.message, function,
                         host_exc.exhausted, fuel_used, frames, trap_kind=host_exc.kind)
    assert trap is not None
    code = trap.trap_code
    if code == wasmtime.TrapCode.OUT_OF_FUEL:
        return RunResult("exhausted", output, f"out of fuel: used {fuel_used} of budget {budget}",
                         function, "fuel", fuel_used, frames, trap_kind="fuel")
    if code == wasmtime.TrapCode.STACK_OVERFLOW:
        return RunResult("exhausted", output, "call stack exhausted", function, "stack",
                         fuel_used, frames, trap_kind="stack")
    if code == wasmtime.TrapCode.INTERRUPT:
        return RunResult("exhausted", output, f"time limit exceeded: ran longer than {limit} s",
                         function, "time", fuel_used, frames, trap_kind="time")
    message = _TRAP_MESSAGES.get(code) if code is not None else None
    if message is None:
        message = _first_line(trap.message)
    kind = _TRAP_KINDS.get(code, "other") if code is not None else "other"
    return RunResult("trap", output, message, function, None, fuel_used, frames, trap_kind=kind)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "unknown error"


def _error_summary(text: str) -> str:
    """wasmtime's "what failed" line joined with its innermost "Caused by" line."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return "unknown error"
    if "Caused by:" in lines and lines[-1] != "Caused by:":
        return f"{lines[0]}: {' '.join(lines[-1].split())}"
    return lines[0]


# Wasm value types by name (the benchmarks link host functions with these).
_VALTYPES = {
    "i32": wasmtime.ValType.i32(),
    "i64": wasmtime.ValType.i64(),
    "f32": wasmtime.ValType.f32(),
    "f64": wasmtime.ValType.f64(),
}

_default_sandbox: Sandbox | None = None


def default_sandbox() -> Sandbox:
    """The process-wide sandbox behind `run_module` (disk cache per `SYN_CACHE_DIR`)."""
    global _default_sandbox
    if _default_sandbox is None:
        _default_sandbox = Sandbox()
    return _default_sandbox


def run_module(wasm: bytes, input: bytes = b"", *, fuel: int = DEFAULT_FUEL,
               output_limit: int | None = None,
               deterministic_kernels: bool | None = None) -> RunResult:
    """Run a module's `main` once with the given input and fuel budget."""
    return default_sandbox().run(wasm, input, fuel=fuel, output_limit=output_limit,
                                 deterministic_kernels=deterministic_kernels)

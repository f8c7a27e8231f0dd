"""The sandbox: runs a compiled `.syn` module under wasmtime with hard limits.

Takes the Wasm bytes the compiler produced (or any Wasm module) and a request input; produces a
`RunResult`: status "ok" | "trap" | "exhausted", the program's output, and for failures a
human message and the `.syn` function where it happened (from the Wasm name section).

What must stay true:
- a module reaches nothing but the host imports whitelisted in `host.HOST_FUNCTIONS`; any other
  import (another module, another name, the wrong signature, a memory or global) is refused
  before instantiation;
- linear memory is fixed: the module must export "memory" with min == max, and the store limit
  is set to that size so `memory.grow` fails;
- every run gets a fresh Store and Instance and a fuel budget; nothing leaks from one run into
  the next;
- compiled code is cached by the SHA-256 of the module bytes, in memory and on disk; the disk
  cache only ever deserializes files this module wrote for the same wasmtime version and engine
  configuration (`Module.deserialize` trusts its input).
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import wasmtime
from wasmtime import _ffi as ffi  # the call path below needs the raw C API (see _call_main)
from wasmtime import _func as wasmtime_func
from wasmtime._trap import Frame, FrameList

from synapse.runtime.host import (
    DEFAULT_OUTPUT_LIMIT, HOST_FUNCTIONS, HOST_MODULE, RESERVED_MODULES, HostContext, HostTrap,
)

DEFAULT_FUEL = 10_000_000_000
MAX_WASM_STACK = 512 * 1024
WASM_PAGE = 65536
MEMORY_CACHE_ENTRIES = 256

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


class SandboxError(Exception):
    """The module cannot be run at all: malformed, or asks for something not allowed."""


@dataclass
class RunResult:
    status: str                 # "ok" | "trap" | "exhausted"
    output: bytes
    message: str | None         # trap/exhaustion message
    function: str | None        # innermost function of the trap ("main.fib"), from the name section
    exhausted: str | None       # "fuel" | "arena" | "stack" | "output" | None
    fuel_used: int
    frames: list[str] = field(default_factory=list)   # backtrace, innermost first

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
    return config


# What the engine configuration is, as a string: part of the disk cache key, since a module
# serialized under one configuration must not be loaded under another.
_ENGINE_FINGERPRINT = (
    f"wasmtime-py {getattr(wasmtime, '__version__', '?')}; fuel; nan-canonical; "
    f"stack {MAX_WASM_STACK}; no reservation, no guard, no cow; "
    "no threads/memory64/multi-memory"
)

_engine: wasmtime.Engine | None = None
_engine_lock = threading.Lock()


def shared_engine() -> wasmtime.Engine:
    """The one engine every sandbox in the process compiles and runs with."""
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = wasmtime.Engine(_make_config())
        return _engine


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
    """Refuse every import that is not a whitelisted `syn` function with its exact signature."""
    for imp in module.imports:
        where = f"{imp.module}.{imp.name}"
        if imp.module in RESERVED_MODULES:
            raise SandboxError(
                f"import not allowed: {where} (host module {imp.module!r} is not available)")
        if imp.module != HOST_MODULE or imp.name not in HOST_FUNCTIONS:
            raise SandboxError(f"import not allowed: {where}")
        ty = imp.type
        if not isinstance(ty, wasmtime.FuncType):
            raise SandboxError(f"import not allowed: {where} must be a function")
        params, results, _ = HOST_FUNCTIONS[imp.name]
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


# -- the sandbox -----------------------------------------------------------------------------

class Sandbox:
    """Compiles (with caching), checks and runs modules; one fresh instance per run.

    Counters `compiled`, `memory_hits` and `disk_hits` say where each loaded module came from.
    """

    def __init__(self, *, cache_dir: str | os.PathLike[str] | None | bool = True,
                 output_limit: int = DEFAULT_OUTPUT_LIMIT) -> None:
        self.engine = shared_engine()
        if cache_dir is True:
            self.cache_dir = default_cache_dir()
        elif cache_dir is False or cache_dir is None:
            self.cache_dir = None
        else:
            self.cache_dir = Path(cache_dir)
        self.output_limit = output_limit
        self.compiled = 0
        self.memory_hits = 0
        self.disk_hits = 0
        self._modules: OrderedDict[str, LoadedModule] = OrderedDict()
        self._lock = threading.Lock()
        # The host functions are linked once; each run points them at its own context.
        self._local = threading.local()
        self._linker = self._make_linker()

    # -- linking ---------------------------------------------------------------------------

    def _make_linker(self) -> wasmtime.Linker:
        linker = wasmtime.Linker(self.engine)
        for name, (params, results, impl) in HOST_FUNCTIONS.items():
            ty = wasmtime.FuncType([_VALTYPES[p] for p in params],
                                   [_VALTYPES[r] for r in results])
            linker.define_func(HOST_MODULE, name, ty, self._bind(impl))
        return linker

    def _bind(self, impl: Any) -> Any:
        local = self._local

        def call(*args: Any) -> Any:
            return impl(local.ctx, *args)
        return call

    # -- loading ---------------------------------------------------------------------------

    def load(self, wasm: bytes | bytearray | memoryview) -> LoadedModule:
        """Check and compile `wasm` (or fetch it from the cache). Raises `SandboxError`."""
        if not isinstance(wasm, (bytes, bytearray, memoryview)):
            raise SandboxError(f"expected module bytes, got {type(wasm).__name__}")
        wasm = bytes(wasm)
        sha = hashlib.sha256(wasm).hexdigest()
        with self._lock:
            loaded = self._modules.get(sha)
            if loaded is not None:
                self._modules.move_to_end(sha)
                self.memory_hits += 1
                return loaded
        module = self._load_from_disk(sha)
        if module is None:
            module = self._compile(wasm)
            self._save_to_disk(sha, module)
        check_imports(module)
        arena = check_exports(module)
        try:
            pre = self._linker.instantiate_pre(module)
        except wasmtime.WasmtimeError as err:
            raise SandboxError(f"cannot link module: {_error_summary(str(err))}") from None
        loaded = LoadedModule(sha, module, pre, arena)
        with self._lock:
            self._modules[sha] = loaded
            while len(self._modules) > MEMORY_CACHE_ENTRIES:
                self._modules.popitem(last=False)
        return loaded

    def _compile(self, wasm: bytes) -> wasmtime.Module:
        # wasmtime would read non-binary input as WAT text: only binary modules are accepted.
        if not wasm.startswith(_WASM_MAGIC):
            raise SandboxError("malformed module: not a WebAssembly binary (bad magic number)")
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
            output_limit: int | None = None) -> RunResult:
        """Run `main` once in a fresh instance. Raises `SandboxError` only for unusable modules."""
        loaded = wasm if isinstance(wasm, LoadedModule) else self.load(wasm)
        ctx = HostContext(input=bytes(input),
                          output_limit=self.output_limit if output_limit is None else output_limit)
        store = wasmtime.Store(self.engine)
        store.set_limits(memory_size=loaded.arena, instances=1, memories=1, tables=1)
        store.set_fuel(fuel)
        self._local.ctx = ctx
        try:
            trap, host_exc, frames = self._instantiate_and_call(store, loaded, ctx)
            remaining = store.get_fuel()
        finally:
            ctx.memory = None  # the view points into the store's memory, which dies with it
            self._local.ctx = None
        fuel_used = fuel - remaining
        output = bytes(ctx.output)
        if trap is None and host_exc is None:
            return RunResult("ok", output, None, None, None, fuel_used)
        return _classify(trap, host_exc, frames, output, fuel, fuel_used)

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


def _call_main(context: Any, func: Any) -> Outcome:
    """Call `main`; return (Wasm trap, host exception, backtrace names innermost first)."""
    trap_ptr = ctypes.POINTER(ffi.wasm_trap_t)()
    error = ffi.wasmtime_func_call(context, ctypes.byref(func), None, 0, None, 0,
                                   ctypes.byref(trap_ptr))
    # A host function's exception comes back as an error carrying the Wasm backtrace, with the
    # exception itself parked in wasmtime-py's module state.
    host_exc = wasmtime_func.LAST_EXCEPTION
    wasmtime_func.LAST_EXCEPTION = None
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


def _error_frames(err: wasmtime.WasmtimeError) -> list[str]:
    frames = FrameList(err)
    ffi.wasmtime_error_wasm_trace(err.ptr(), ctypes.byref(frames.vec))
    return _frame_names([Frame._from_ptr(frames.vec.data[i], frames)
                         for i in range(frames.vec.size)])


# -- classification ---------------------------------------------------------------------------

def _frame_names(frames: list[Frame]) -> list[str]:
    return [frame.func_name or f"wasm-function[{frame.func_index}]" for frame in frames]


def _classify(trap: wasmtime.Trap | None, host_exc: BaseException | None, frames: list[str],
              output: bytes, budget: int, fuel_used: int) -> RunResult:
    function = frames[0] if frames else None
    if isinstance(host_exc, HostTrap):
        return RunResult(host_exc.status, output, host_exc.message, function,
                         host_exc.exhausted, fuel_used, frames)
    assert trap is not None
    code = trap.trap_code
    if code == wasmtime.TrapCode.OUT_OF_FUEL:
        return RunResult("exhausted", output, f"out of fuel: used {fuel_used} of budget {budget}",
                         function, "fuel", fuel_used, frames)
    if code == wasmtime.TrapCode.STACK_OVERFLOW:
        return RunResult("exhausted", output, "call stack exhausted", function, "stack",
                         fuel_used, frames)
    message = _TRAP_MESSAGES.get(code) if code is not None else None
    if message is None:
        message = _first_line(trap.message)
    return RunResult("trap", output, message, function, None, fuel_used, frames)


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
               output_limit: int | None = None) -> RunResult:
    """Run a module's `main` once with the given input and fuel budget."""
    return default_sandbox().run(wasm, input, fuel=fuel, output_limit=output_limit)

"""Binaryen optimizer hook (`syn build -O`, `compile_file(..., optimize=True)`).

Place in the pipeline: the last, optional step after `wasm.Module.encode()`. Takes module bytes,
returns optimised module bytes with the same behaviour.

Binaryen comes from the optional `icpp-binaryen` package (cffi over the Binaryen C API, shipped
for Linux x86_64 and macOS arm64). Without it `optimize` raises `OptimizerUnavailable`.

What must stay true:
- Binaryen terminates the whole process on malformed input, so every byte string is validated
  with wasmtime (restricted to the features Synapse emits) before Binaryen sees it; invalid input
  raises `OptimizerError` instead.
- Binaryen is told the feature set explicitly (MVP, mutable globals, bulk memory, sign
  extension, non-trapping float-to-int): without a `target_features` section it would assume
  plain MVP and reject `memory.copy`.
- The function names of the "name" section survive (Binaryen's debug-info flag is set while
  reading, optimising and writing), so traps in optimised code still name the `.syn` function.
  Functions that the optimizer inlines away no longer appear in trap frames, of course.
"""

from __future__ import annotations

import platform
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import wasmtime

INSTALL_HINT = "pip install 'synapse-lang[opt]'"

# Binaryen keeps its optimise/shrink/debug settings in process-wide globals.
_BINARYEN_LOCK = threading.Lock()

# The subset of binaryen-c.h this module calls, checked against Binaryen 116's header.
_CDEF = """
typedef uint32_t BinaryenFeatures;
typedef struct BinaryenModule *BinaryenModuleRef;
BinaryenFeatures BinaryenFeatureMVP(void);
BinaryenFeatures BinaryenFeatureMutableGlobals(void);
BinaryenFeatures BinaryenFeatureBulkMemory(void);
BinaryenFeatures BinaryenFeatureSignExt(void);
BinaryenFeatures BinaryenFeatureNontrappingFPToInt(void);
BinaryenModuleRef BinaryenModuleRead(char *input, size_t inputSize);
void BinaryenModuleDispose(BinaryenModuleRef module);
void BinaryenModuleSetFeatures(BinaryenModuleRef module, BinaryenFeatures features);
bool BinaryenModuleValidate(BinaryenModuleRef module);
void BinaryenModuleOptimize(BinaryenModuleRef module);
void BinaryenSetOptimizeLevel(int level);
void BinaryenSetShrinkLevel(int level);
void BinaryenSetDebugInfo(bool on);
typedef struct BinaryenModuleAllocateAndWriteResult {
  void *binary;
  size_t binaryBytes;
  char *sourceMap;
} BinaryenModuleAllocateAndWriteResult;
BinaryenModuleAllocateAndWriteResult
BinaryenModuleAllocateAndWrite(BinaryenModuleRef module, const char *sourceMapUrl);
"""


class OptimizerUnavailable(RuntimeError):
    """Binaryen (the optional `opt` extra) is not installed or cannot load on this platform."""


class OptimizerError(ValueError):
    """The input is not a valid module for Synapse's feature set, or Binaryen produced one."""


class _Binaryen:
    """The loaded library: cffi `ffi`, Binaryen `lib`, libc `free` for Binaryen's buffers."""

    def __init__(self, ffi: Any, lib: Any, libc: Any) -> None:
        self.ffi, self.lib, self.libc = ffi, lib, libc

    def features(self) -> int:
        lib = self.lib
        return int(lib.BinaryenFeatureMVP() | lib.BinaryenFeatureMutableGlobals()
                   | lib.BinaryenFeatureBulkMemory() | lib.BinaryenFeatureSignExt()
                   | lib.BinaryenFeatureNontrappingFPToInt())


@lru_cache(maxsize=1)
def load_binaryen() -> _Binaryen:
    """Open the Binaryen library bundled with icpp-binaryen, with our own cdef (the package's
    declares no feature or debug-info functions)."""
    try:
        import icpp_binaryen
        from cffi import FFI
    except ImportError as err:  # also covers an unsupported platform or a missing library
        raise OptimizerUnavailable(
            f"the Binaryen optimizer is not installed ({err}); run: {INSTALL_HINT} "
            "(available for Linux x86_64 and macOS arm64)") from err
    suffix = "dylib" if platform.system() == "Darwin" else "so"
    path = Path(icpp_binaryen.__file__).parent / "lib" / f"libbinaryen.{suffix}"
    ffi = FFI()
    ffi.cdef(_CDEF)
    libc_ffi = FFI()
    libc_ffi.cdef("void free(void *ptr);")
    try:
        lib = ffi.dlopen(str(path))
        libc = libc_ffi.dlopen(None)
    except OSError as err:
        raise OptimizerUnavailable(f"cannot load Binaryen from the icpp-binaryen package "
                                   f"({err}); run: {INSTALL_HINT}") from err
    return _Binaryen(ffi, lib, libc)


def optimizer_available() -> bool:
    try:
        load_binaryen()
    except OptimizerUnavailable:
        return False
    return True


@lru_cache(maxsize=1)
def _validation_engine() -> wasmtime.Engine:
    """A wasmtime engine that accepts exactly the features Synapse emits and Binaryen is told
    about, so nothing it passes can surprise Binaryen's reader. Reference types stay on:
    wasmtime 51 builds a null engine (and then crashes) when they are turned off; Binaryen's
    validator rejects them under our feature set instead."""
    config = wasmtime.Config()
    config.wasm_bulk_memory = True
    for name in ("wasm_simd", "wasm_relaxed_simd", "wasm_threads", "wasm_tail_call",
                 "wasm_multi_memory", "wasm_memory64", "wasm_gc", "wasm_function_references",
                 "wasm_exceptions", "wasm_multi_value"):
        setattr(config, name, False)
    return wasmtime.Engine(config)


def check_with_wasmtime(wasm: bytes) -> None:
    """Raise OptimizerError unless `wasm` is a valid module for Synapse's feature set."""
    if not isinstance(wasm, (bytes, bytearray)):
        raise OptimizerError(f"expected module bytes, got {type(wasm).__name__}")
    try:
        wasmtime.Module.validate(_validation_engine(), bytes(wasm))
    except wasmtime.WasmtimeError as err:
        raise OptimizerError(f"not a valid WebAssembly module: {err}") from None


def _read(bn: _Binaryen, wasm: bytes) -> tuple[Any, Any]:
    """Parse into a Binaryen module; the returned buffer must outlive the module."""
    buf = bn.ffi.new("char[]", bytes(wasm))
    ref = bn.lib.BinaryenModuleRead(buf, len(wasm))
    if ref == bn.ffi.NULL:
        raise OptimizerError("Binaryen could not read the module")
    bn.lib.BinaryenModuleSetFeatures(ref, bn.features())
    return ref, buf


def _write(bn: _Binaryen, ref: Any) -> bytes:
    result = bn.lib.BinaryenModuleAllocateAndWrite(ref, bn.ffi.NULL)
    try:
        return bytes(bn.ffi.buffer(result.binary, result.binaryBytes))
    finally:
        bn.libc.free(result.binary)
        if result.sourceMap != bn.ffi.NULL:
            bn.libc.free(result.sourceMap)


def validate_with_binaryen(wasm: bytes) -> bool:
    """Binaryen's own validator (with Synapse's feature set). Never exits the process: input
    that wasmtime rejects is reported as invalid without reaching Binaryen."""
    try:
        check_with_wasmtime(wasm)
    except OptimizerError:
        return False
    bn = load_binaryen()
    with _BINARYEN_LOCK:
        ref, _buf = _read(bn, wasm)
        try:
            return bool(bn.lib.BinaryenModuleValidate(ref))
        finally:
            bn.lib.BinaryenModuleDispose(ref)


def optimize(wasm: bytes, level: int = 2) -> bytes:
    """Binaryen's default pass pipeline at optimize level `level` (0..4, as `wasm-opt -O<level>`;
    shrink level 0). Returns new module bytes, validated by Binaryen and wasmtime."""
    if not 0 <= level <= 4:
        raise ValueError(f"optimization level must be 0..4, got {level}")
    check_with_wasmtime(wasm)
    bn = load_binaryen()
    with _BINARYEN_LOCK:
        bn.lib.BinaryenSetDebugInfo(True)  # keep the name section
        bn.lib.BinaryenSetOptimizeLevel(level)
        bn.lib.BinaryenSetShrinkLevel(0)
        ref, _buf = _read(bn, wasm)
        try:
            if not bn.lib.BinaryenModuleValidate(ref):
                raise OptimizerError("Binaryen rejected the module before optimisation")
            bn.lib.BinaryenModuleOptimize(ref)
            if not bn.lib.BinaryenModuleValidate(ref):
                raise OptimizerError("Binaryen produced an invalid module (Binaryen bug)")
            out = _write(bn, ref)
        finally:
            bn.lib.BinaryenModuleDispose(ref)
    check_with_wasmtime(out)
    return out

"""Fast linking of Python host functions into a wasmtime Linker, for host modules called often.

wasmtime-py's `Linker.define_func` wraps each call in a generic trampoline that builds a
`Caller` and a `Val` per argument: about 30 us per call, measured from Wasm. A training step
makes hundreds of tensor calls, so the tensor module links its functions here instead, through
the C API's unchecked callbacks: the arguments arrive as one array of raw values, which a small
adapter generated per signature reads directly (about 3 us per call).

What must stay true:
- an exception raised by a host function ends the run exactly as wasmtime-py's own trampoline
  does: the exception is parked in `wasmtime._func.LAST_EXCEPTION` and a trap is returned, so
  the sandbox reports a `HostTrap` with the Wasm backtrace and re-raises anything else;
- the callbacks stay referenced for as long as anything linked from them can call them.
"""

from __future__ import annotations

import ctypes
from typing import Any, Callable

import wasmtime
from wasmtime import _ffi as ffi
from wasmtime import _func as wasmtime_func
from wasmtime._trap import Trap

_VALTYPES = {
    "i32": wasmtime.ValType.i32(),
    "i64": wasmtime.ValType.i64(),
    "f32": wasmtime.ValType.f32(),
    "f64": wasmtime.ValType.f64(),
}

_NO_FINALIZER = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(0)

# The C side keeps pointers to every callback, in the linker and in every `InstancePre` made
# from it, which may outlive the linker: callbacks are kept for the life of the process.
_KEEP_ALIVE: list[Any] = []


def _trap_pointer(exc: BaseException) -> int:
    wasmtime_func.LAST_EXCEPTION = exc  # type: ignore[assignment]  # wasmtime-py parks any exception
    trap = Trap("python exception")._consume()
    return ctypes.cast(trap, ctypes.c_void_p).value or 0


def make_adapter(impl: Callable[..., Any], params: tuple[str, ...],
                 results: tuple[str, ...]) -> Callable[[Any], None]:
    """`adapter(vals)` calls `impl` with the raw arguments and stores its result in `vals[0]`."""
    args = ", ".join(f"vals[{i}].{kind}" for i, kind in enumerate(params))
    call = f"impl({args})"
    body = f"    vals[0].{results[0]} = {call}\n" if results else f"    {call}\n"
    namespace: dict[str, Any] = {"impl": impl}
    exec(f"def adapter(vals):\n{body}", namespace)  # one straight-line reader per signature
    return namespace["adapter"]


def define_unchecked(linker: wasmtime.Linker, module: str, name: str, params: tuple[str, ...],
                     results: tuple[str, ...], impl: Callable[..., Any]) -> None:
    """Define `module.name` in `linker` as `impl(*args) -> result`, called through the raw path."""
    if len(results) > 1:
        raise ValueError("host functions return at most one value")
    adapter = make_adapter(impl, params, results)

    @ffi.wasmtime_func_unchecked_callback_t
    def callback(env: Any, caller: Any, vals: Any, count: int) -> int:
        try:
            adapter(vals)
            return 0
        except BaseException as exc:  # noqa: BLE001 - handed to the sandbox, as wasmtime-py does
            return _trap_pointer(exc)

    ty = wasmtime.FuncType([_VALTYPES[p] for p in params], [_VALTYPES[r] for r in results])
    module_bytes = module.encode()
    name_bytes = name.encode()
    error = ffi.wasmtime_linker_define_func_unchecked(
        linker.ptr(), module_bytes, len(module_bytes), name_bytes, len(name_bytes), ty.ptr(),
        callback, None, _NO_FINALIZER)
    if error:
        raise wasmtime.WasmtimeError._from_ptr(error)
    _KEEP_ALIVE.append((callback, ty))

"""The names the language provides before any declaration: primitive types, builtin
functions, prelude-only intrinsics, and the checker's error type.

Shared by the checker (check.py, check_calls.py) and by the tools that read the typed IR.
"""

from __future__ import annotations

from . import ir
from .diagnostics import Span

PRIMS = {"i32": ir.I32, "i64": ir.I64, "u8": ir.U8, "f32": ir.F32, "f64": ir.F64,
         "bool": ir.BOOL, "str": ir.STR}
INT_BITS: dict[ir.Type, int] = {ir.I32: 32, ir.I64: 64, ir.U8: 8}
BUILTIN_FUNCS = ("print", "println", "panic")
INTRINSICS: dict[str, tuple[tuple[ir.Type | None, ...], ir.Type]] = {
    # name: (parameter types, None = any reference; result type)
    "__alloc": ((ir.I32,), ir.I32),
    "__load_u8": ((ir.I32,), ir.U8), "__store_u8": ((ir.I32, ir.U8), ir.UNIT),
    "__load_i32": ((ir.I32,), ir.I32), "__store_i32": ((ir.I32, ir.I32), ir.UNIT),
    "__load_i64": ((ir.I32,), ir.I64), "__store_i64": ((ir.I32, ir.I64), ir.UNIT),
    "__load_f32": ((ir.I32,), ir.F32), "__store_f32": ((ir.I32, ir.F32), ir.UNIT),
    "__load_f64": ((ir.I32,), ir.F64), "__store_f64": ((ir.I32, ir.F64), ir.UNIT),
    "__memcpy": ((ir.I32, ir.I32, ir.I32), ir.UNIT),
    "__addr": ((None,), ir.I32),
    "__str_at": ((ir.I32,), ir.STR),
    "__heap_ptr": ((), ir.I32),
    "__arena_size": ((), ir.I32),
}
TO_STR: dict[ir.Type, str] = {
    ir.I32: "__i32_to_str", ir.I64: "__i64_to_str", ir.U8: "__u8_to_str",
    ir.BOOL: "__bool_to_str", ir.F64: "__f64_to_str", ir.F32: "__f32_to_str"}


# The type of an expression that failed to check. It matches every expectation silently, so
# one mistake gives one diagnostic, not a cascade; programs with errors are never lowered.
ERROR = ir.Prim("<error>")


def poison(span: Span) -> ir.Expr:
    return ir.Unit(ERROR, span)

# Float methods that are single WebAssembly instructions (spec/10-builtins.md, 10.10):
# method name -> ir.Unary / ir.Binary op.
FLOAT_UNARY = {"sqrt": "sqrt", "abs": "abs", "floor": "floor", "ceil": "ceil",
               "trunc": "trunc", "round": "nearest"}
FLOAT_BINARY = {"min": "min", "max": "max", "copysign": "copysign"}

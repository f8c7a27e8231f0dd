"""Constant folding: compile-time evaluation of constant IR expressions.

Used by the checker for `const` initializers, array lengths and `[value; count]`. Folding
follows the run-time semantics exactly (two's complement wrap-around, f32 rounding after each
operation), and leaves anything that would trap (division by zero) to the emitted code.
"""

from __future__ import annotations

import math
import struct as _struct

from . import ir
from .builtins import INT_BITS
from .diagnostics import Span

COMPARE_OPS = ("eq", "ne", "lt", "le", "gt", "ge")

def wrap(value: int, t: ir.Type) -> int:
    """Two's complement wrap-around into the range of an integer type."""
    bits = INT_BITS[t]
    value &= (1 << bits) - 1
    if t != ir.U8 and value >= 1 << (bits - 1):
        value -= 1 << bits
    return value


def round_f32(x: float) -> float:
    try:
        return _struct.unpack("<f", _struct.pack("<f", x))[0]
    except OverflowError:
        return float("inf") if x > 0 else float("-inf")


def zero_of(t: ir.Type, span: Span) -> ir.Expr:
    if t in ir.INTEGER_TYPES:
        return ir.IntConst(t, span, 0)
    if t in ir.FLOAT_TYPES:
        return ir.FloatConst(t, span, 0.0)
    if t == ir.BOOL:
        return ir.BoolConst(t, span, False)
    if t == ir.STR:
        return ir.StrConst(t, span, b"")
    return ir.Unit(ir.UNIT, span)


def fold_constant(e: ir.Expr) -> ir.Expr | None:
    """Evaluate a constant expression at compile time, or None when it is not constant."""
    if isinstance(e, (ir.IntConst, ir.FloatConst, ir.BoolConst, ir.StrConst)):
        return e
    if isinstance(e, ir.Unary):
        v = fold_constant(e.operand)
        if v is None:
            return None
        if e.op == "neg" and isinstance(v, ir.IntConst):
            return ir.IntConst(e.type, e.span, wrap(-v.value, e.type))
        if e.op == "neg" and isinstance(v, ir.FloatConst):
            return ir.FloatConst(e.type, e.span, -v.value)
        if e.op == "bitnot" and isinstance(v, ir.IntConst):
            return ir.IntConst(e.type, e.span, wrap(~v.value, e.type))
        if e.op == "not" and isinstance(v, ir.BoolConst):
            return ir.BoolConst(e.type, e.span, not v.value)
        return None
    if isinstance(e, ir.Binary):
        a, b = fold_constant(e.left), fold_constant(e.right)
        if isinstance(a, ir.IntConst) and isinstance(b, ir.IntConst):
            return _fold_int(e, a.value, b.value)
        if isinstance(a, ir.FloatConst) and isinstance(b, ir.FloatConst):
            return _fold_float(e, a.value, b.value)
        if isinstance(a, ir.BoolConst) and isinstance(b, ir.BoolConst):
            ops = {"eq": a.value == b.value, "ne": a.value != b.value,
                   "and": a.value and b.value, "or": a.value or b.value,
                   "xor": a.value != b.value}
            if e.op in ops:
                return ir.BoolConst(ir.BOOL, e.span, ops[e.op])
        return None
    if isinstance(e, ir.If):
        c = fold_constant(e.cond)
        if isinstance(c, ir.BoolConst) and e.else_ is not None:
            return fold_constant(e.then if c.value else e.else_)
        return None
    if isinstance(e, ir.Block) and not e.stmts and e.value is not None:
        return fold_constant(e.value)
    if isinstance(e, ir.Cast):
        v = fold_constant(e.operand)
        if isinstance(v, ir.IntConst) and e.type in ir.INTEGER_TYPES:
            value = v.value if v.type != ir.U8 else v.value & 255
            return ir.IntConst(e.type, e.span, wrap(value, e.type))
        if isinstance(v, ir.IntConst) and e.type in ir.FLOAT_TYPES:
            x = float(v.value)
            return ir.FloatConst(e.type, e.span, round_f32(x) if e.type == ir.F32 else x)
        if isinstance(v, ir.BoolConst) and e.type in ir.INTEGER_TYPES:
            return ir.IntConst(e.type, e.span, int(v.value))
        if isinstance(v, ir.FloatConst) and e.type in ir.FLOAT_TYPES:
            return ir.FloatConst(e.type, e.span,
                                 round_f32(v.value) if e.type == ir.F32 else v.value)
        return None
    return None


def _fold_int(e: ir.Binary, a: int, b: int) -> ir.Expr | None:
    t = e.operand_type
    bits = INT_BITS[t]
    if e.op in ("div", "rem"):
        if b == 0 or (t != ir.U8 and a == -(1 << (bits - 1)) and b == -1 and e.op == "div"):
            return None      # traps at run time: leave it to the emitted code
        q = abs(a) // abs(b) * (1 if (a >= 0) == (b >= 0) else -1)
        value = q if e.op == "div" else a - q * b
        return ir.IntConst(t, e.span, wrap(value, t))
    if e.op in COMPARE_OPS:
        result = {"eq": a == b, "ne": a != b, "lt": a < b, "le": a <= b, "gt": a > b,
                  "ge": a >= b}[e.op]
        return ir.BoolConst(ir.BOOL, e.span, result)
    count = b % bits
    unsigned = a & ((1 << bits) - 1)
    value = {"add": a + b, "sub": a - b, "mul": a * b, "and": a & b, "or": a | b,
             "xor": a ^ b, "shl": a << count,
             "shr": (unsigned >> count) if t == ir.U8 else (a >> count)}[e.op]
    return ir.IntConst(t, e.span, wrap(value, t))


def _fold_float(e: ir.Binary, a: float, b: float) -> ir.Expr | None:
    if e.op in COMPARE_OPS:
        result = {"eq": a == b, "ne": a != b, "lt": a < b, "le": a <= b, "gt": a > b,
                  "ge": a >= b}[e.op]
        return ir.BoolConst(ir.BOOL, e.span, result)
    if e.op == "div" and b == 0.0:
        if a == 0.0 or math.isnan(a):
            value = math.nan
        else:
            value = math.copysign(math.inf, a) * math.copysign(1.0, b)
    elif e.op in ("add", "sub", "mul", "div"):
        value = {"add": a + b, "sub": a - b, "mul": a * b, "div": a / b if b else 0.0}[e.op]
    else:
        return None    # min, max, copysign: left to the engine's instructions
    # An f32 operation computed in f64 and rounded once is exact (f64 has more than twice
    # the precision), so folding matches the engine bit for bit.
    return ir.FloatConst(e.type, e.span, round_f32(value) if e.type == ir.F32 else value)

"""Random well-typed `.syn` programs, rendered as source and paired with their expected outcome.

Place in the test pipeline: the property tests draw a `GeneratedProgram` (source text plus the
`Outcome` that `evaluator.evaluate` computes from the same AST), compile the source with the real
compiler, run it in the sandbox and compare. The generator only produces programs that the spec
types unambiguously: literals of type i64/u8 always carry a suffix, every compound expression is
parenthesised, indices are reduced modulo the length, loops have fixed trip counts, and the only
recursion is a template whose depth argument is a small literal.

Choices go through a `Chooser`, so the same generator runs under hypothesis (`programs()`,
shrinkable) and from a plain seeded `random.Random` (`generate_from_seed`, for long campaigns).

The module also holds what the fuzz tests and `scripts/fuzz_long.py` share: malformed-input
generators (token mutations, truncations, deep nesting, huge literals) and the checks applied to
a compiler result (diagnostic well-formedness, Wasm validity, run outcome vs expectation). These
take the compiler's objects as plain values; nothing here imports the compiler.

Loops, helpers and `main` may also carry contract clauses that the evaluator never sees
(`Clauses`, rendered beside their nodes): `ghost requires/ensures/invariant/assert`, never
checked at run time, and checked clauses that are always `true`.
"""

from __future__ import annotations

import functools
import itertools
import os
import random
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence, TypeVar

from hypothesis import assume
from hypothesis import strategies as st

from evaluator import (
    BOOL, F64, I32, I64, INT_TYPES, MAX, MIN, NUMERIC_TYPES, SCALAR_TYPES, U8,
    ArrayLit, ArrayRepeat, ArrayType, Assign, Binary, Break, Call, CallStmt, Cast, Continue,
    Expr, FieldGet, FloatMethod, ForEach, ForRange, Function, If, IfExpr, Index, Len, Let, Lit, Logic,
    Outcome, Print, Program, Push, Return, Stmt, StructDef, StructLit, StructType, Type, Unary,
    Unspecified, Var, VecNew, VecType, While, evaluate,
)

T = TypeVar("T")

ARITHMETIC_OPS = ("+", "-", "*", "/", "%")
BITWISE_OPS = ("&", "|", "^", "<<", ">>")
COMPARISON_OPS = ("==", "!=", "<", "<=", ">", ">=")
FLOAT_OPS = ("+", "-", "*", "/")
FLOAT_METHODS = ("sqrt", "abs", "floor", "ceil", "trunc", "round")
FLOAT_METHODS_OF_TWO = ("min", "max", "copysign")

INT_EDGES = {
    I32: (0, 1, -1, 2, 7, 31, 32, 33, -32, MIN[I32], MAX[I32], MIN[I32] + 1, MAX[I32] - 1, 65536),
    I64: (0, 1, -1, 2, 63, 64, 65, -64, MIN[I64], MAX[I64], MIN[I64] + 1, 2**32, -(2**32)),
    U8: (0, 1, 2, 7, 8, 9, 127, 128, 254, 255),
}
FLOAT_EDGES = (
    0.0, -0.0, 1.0, -1.0, 0.5, 0.1, 0.2, 3.0, 1.5, -2.5, 1e300, -1e300, 1e-300, 5e-324,
    2147483647.0, 2147483647.5, -2147483648.0, -2147483648.5, 2147483648.0, -2147483649.0,
    9.2e18, -9.3e18, 255.9, 256.0, 123456.789, 1e16, 1e-7,
)
CHAR_ESCAPES = {10: "\\n", 9: "\\t", 13: "\\r", 0: "\\0", 92: "\\\\", 39: "\\'", 34: '\\"'}

# ---------------------------------------------------------------------------------------------
# Choosers: where the randomness comes from
# ---------------------------------------------------------------------------------------------


class Chooser(Protocol):
    def integer(self, lo: int, hi: int) -> int: ...

    def floating(self) -> float: ...


class HypothesisChooser:
    """Draws through hypothesis, so failing programs shrink."""

    def __init__(self, draw: Callable) -> None:
        self.draw = draw

    def integer(self, lo: int, hi: int) -> int:
        return self.draw(integers_between(lo, hi))

    def floating(self) -> float:
        return self.draw(FINITE_FLOATS)


@functools.lru_cache(maxsize=None)
def integers_between(lo: int, hi: int) -> st.SearchStrategy[int]:
    # Building a strategy per draw costs more than the draw itself; the ranges repeat.
    return st.integers(lo, hi)


FINITE_FLOATS = st.floats(allow_nan=False, allow_infinity=False)


class RandomChooser:
    """Draws from a seeded `random.Random`: fast and reproducible by seed."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)

    def floating(self) -> float:
        while True:
            value = struct.unpack("<d", self.rng.getrandbits(64).to_bytes(8, "little"))[0]
            if value == value and abs(value) != float("inf"):
                return value


def choose(chooser: Chooser, options: Sequence[T]) -> T:
    return options[chooser.integer(0, len(options) - 1)]


def chance(chooser: Chooser, percent: int) -> bool:
    return chooser.integer(0, 99) < percent


def weighted(chooser: Chooser, options: Sequence[tuple[int, T]]) -> T:
    total = sum(weight for weight, _ in options)
    pick = chooser.integer(0, total - 1)
    for weight, option in options:
        if pick < weight:
            return option
        pick -= weight
    raise AssertionError("unreachable")


# ---------------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------------


@dataclass
class Binding:
    name: str
    ty: Type
    mutable: bool
    obj: int | None = None  # identity of the aggregate a reference binding points at


@dataclass
class Helper:
    function: Function
    small_first_arg: bool = False  # the recursion template: first argument bounds the depth


@dataclass
class Clauses:
    """Contract text a loop, a helper or `main` is rendered with, beside its evaluator node.

    The evaluator never sees them: the ghost clauses (`ghost requires/ensures/invariant/assert`)
    are never checked at run time, and the checked ones are always `true`, so they change the
    compiled module but not what the program does."""

    header: str = ""                                      # before the body's `{`
    first: list[str] = field(default_factory=list)        # statements at the body's start
    last: list[str] = field(default_factory=list)         # before a helper's result / at main's end
    after: list[str] = field(default_factory=list)        # statements right after a loop's `}`


@dataclass
class GeneratedProgram:
    source: str
    program: Program
    expected: Outcome

    def __repr__(self) -> str:
        # What a failing example report should show: the source and what it must do.
        return f"GeneratedProgram(expected={self.expected!r}, source=\n{self.source})"


@dataclass
class ProgramGenerator:
    chooser: Chooser
    max_depth: int = 3
    statement_budget: int = 30
    scopes: list[dict[str, Binding]] = field(default_factory=list)
    structs: dict[str, StructDef] = field(default_factory=dict)
    helpers: list[Helper] = field(default_factory=list)
    loop_depth: int = 0
    return_type: str | None = None
    in_helper: bool = False
    frozen: set[int] = field(default_factory=set)
    taps: dict[str, str] = field(default_factory=dict)
    counter: itertools.count = field(default_factory=itertools.count)
    # Contract clauses by the unique name of their loop (counter or variable), helper or "main".
    clauses: dict[str, Clauses] = field(default_factory=dict)

    # -- small utilities ----------------------------------------------------------------------

    def fresh(self, prefix: str) -> str:
        return f"{prefix}{next(self.counter)}"

    def visible(self) -> dict[str, Binding]:
        merged: dict[str, Binding] = {}
        for scope in self.scopes:
            merged.update(scope)
        return merged

    def bindings_of(self, predicate: Callable[[Binding], bool]) -> list[Binding]:
        return [binding for binding in self.visible().values() if predicate(binding)]

    def pick(self, options: Sequence[T]) -> T:
        return choose(self.chooser, options)

    def percent(self, value: int) -> bool:
        return chance(self.chooser, value)

    # -- literals -----------------------------------------------------------------------------

    def literal(self, ty: str) -> Lit:
        if ty == BOOL:
            return Lit(BOOL, self.percent(50))
        if ty == F64:
            return Lit(F64, self.float_value())
        kind = self.chooser.integer(0, 2)
        if kind == 0:
            value = self.pick(INT_EDGES[ty])
        elif kind == 1:
            value = self.chooser.integer(max(MIN[ty], -100), min(MAX[ty], 100))
        else:
            value = self.chooser.integer(MIN[ty], MAX[ty])
        return Lit(ty, value, self.spelling(ty, value))

    def float_value(self) -> float:
        kind = self.chooser.integer(0, 7)
        if kind <= 2:
            return self.pick(FLOAT_EDGES)
        if kind <= 5:
            return self.chooser.integer(-1000, 1000) / 4
        if kind == 6:
            return float(self.chooser.integer(-(2**40), 2**40))
        return self.chooser.floating()

    def spelling(self, ty: str, value: int) -> str:
        options = ["dec", "dec", "dec", "sep", "hex", "bin"]
        if ty == I32:
            options.append("suffix")
        if ty == U8 and (32 <= value < 127 or value in CHAR_ESCAPES):
            options += ["char", "char"]
        return self.pick(options)

    # -- expressions --------------------------------------------------------------------------

    def expr(self, ty: str, depth: int) -> Expr:
        if depth <= 0 or self.percent(25):
            return self.leaf(ty)
        if ty in self.taps and self.percent(10):
            # `tap(tag, e)` prints tag and returns e: evaluation order becomes visible output.
            return Call(self.taps[ty], (Lit(I32, next(self.counter)), self.expr(ty, depth - 1)))
        builders: list[tuple[int, Callable[[str, int], Expr | None]]] = [
            (2, lambda t, d: self.leaf(t)),
            (6, self.operator_expr),
            (3, self.cast_expr),
            (1, self.if_expr),
            (2, self.call_expr),
            (2, self.element_expr),
            (1, self.len_expr),
            (1, self.float_method_expr),
        ]
        for _ in range(4):
            result = weighted(self.chooser, builders)(ty, depth)
            if result is not None:
                return result
        return self.leaf(ty)

    def leaf(self, ty: str) -> Expr:
        candidates = self.bindings_of(lambda b: b.ty == ty)
        if candidates and self.percent(60):
            return Var(self.pick(candidates).name)
        return self.literal(ty)

    def operator_expr(self, ty: str, depth: int) -> Expr:
        if ty == BOOL:
            return self.bool_operator(depth)
        if self.percent(15):
            return self.unary_expr(ty, depth)
        ops = FLOAT_OPS if ty == F64 else ARITHMETIC_OPS + BITWISE_OPS
        op = self.pick(ops)
        left = self.expr(ty, depth - 1)
        right = self.divisor(ty, depth) if op in ("/", "%") else self.expr(ty, depth - 1)
        return Binary(op, left, right, ty)

    def float_method_expr(self, ty: str, depth: int) -> Expr | None:
        """`(x).sqrt()`, `(x).min(y)`...; a literal receiver now and then (`(2.5).round()`),
        which the compilers fold or leave to the engine."""
        if ty != F64:
            return None
        receiver = self.literal(F64) if self.percent(20) else self.expr(F64, depth - 1)
        if self.percent(35):
            name = self.pick(FLOAT_METHODS_OF_TWO)
            return FloatMethod(name, receiver, self.expr(F64, depth - 1))
        return FloatMethod(self.pick(FLOAT_METHODS), receiver, None)

    def divisor(self, ty: str, depth: int) -> Expr:
        # Deliberately divide by zero and by -1 (MIN / -1) now and then.
        if ty != F64 and self.percent(3):
            return Lit(ty, 0)
        if ty in (I32, I64) and self.percent(5):
            return Lit(ty, -1)
        return self.expr(ty, depth - 1)

    def unary_expr(self, ty: str, depth: int) -> Expr:
        ops = {I32: ("-", "~"), I64: ("-", "~"), U8: ("~",), F64: ("-",), BOOL: ("!",)}[ty]
        return Unary(self.pick(ops), self.expr(ty, depth - 1), ty)

    def bool_operator(self, depth: int) -> Expr:
        kind = self.chooser.integer(0, 5)
        if kind <= 2:
            operand_ty = self.pick(SCALAR_TYPES)
            ops = ("==", "!=") if operand_ty == BOOL else COMPARISON_OPS
            return Binary(
                self.pick(ops), self.expr(operand_ty, depth - 1), self.expr(operand_ty, depth - 1),
                operand_ty,
            )
        if kind <= 4:
            return Logic(
                self.pick(("&&", "||")), self.expr(BOOL, depth - 1), self.expr(BOOL, depth - 1)
            )
        return Unary("!", self.expr(BOOL, depth - 1), BOOL)

    def cast_expr(self, ty: str, depth: int) -> Expr | None:
        if ty == BOOL:
            return None
        sources = [t for t in NUMERIC_TYPES if t != ty]
        if ty in INT_TYPES:
            sources.append(BOOL)
        source = self.pick(sources)
        return Cast(self.expr(source, depth - 1), source, ty)

    def if_expr(self, ty: str, depth: int) -> Expr:
        return IfExpr(
            self.expr(BOOL, depth - 1), self.expr(ty, depth - 1), self.expr(ty, depth - 1)
        )

    def call_expr(self, ty: str, depth: int) -> Expr | None:
        candidates = [h for h in self.helpers if h.function.ret == ty]
        if not candidates:
            return None
        return self.call_of(self.pick(candidates), depth)

    def call_of(self, helper: Helper, depth: int) -> Call:
        args: list[Expr] = []
        for position, (_, param_ty) in enumerate(helper.function.params):
            if position == 0 and helper.small_first_arg:
                args.append(Lit(I32, self.chooser.integer(0, 6)))
            else:
                args.append(self.expr(param_ty, depth - 1))
        return Call(helper.function.name, tuple(args))

    def element_expr(self, ty: str, depth: int) -> Expr | None:
        if self.percent(50):
            records = self.bindings_of(
                lambda b: isinstance(b.ty, StructType)
                and any(f_ty == ty for _, f_ty in self.structs[b.ty.name].fields)
            )
            if records:
                record = self.pick(records)
                fields = [n for n, f_ty in self.structs[record.ty.name].fields if f_ty == ty]  # type: ignore[union-attr]
                return FieldGet(Var(record.name), self.pick(fields))
        containers = self.bindings_of(
            lambda b: isinstance(b.ty, (ArrayType, VecType)) and b.ty.elem == ty
        )
        if not containers:
            return None
        return self.index_of(self.pick(containers), depth)

    def index_of(self, container: Binding, depth: int) -> Index:
        is_vec = isinstance(container.ty, VecType)
        length = 0 if is_vec else container.ty.length  # type: ignore[union-attr]
        return Index(Var(container.name), self.expr(I32, depth - 1), is_vec, length)

    def len_expr(self, ty: str, depth: int) -> Expr | None:
        containers = self.bindings_of(lambda b: isinstance(b.ty, (ArrayType, VecType)))
        if ty != I32 or not containers:
            return None
        return Len(Var(self.pick(containers).name))

    # -- statements ---------------------------------------------------------------------------

    def block(self, count: int, depth: int, prelude: dict[str, Binding] | None = None) -> tuple[Stmt, ...]:
        self.scopes.append(dict(prelude or {}))
        stmts: list[Stmt] = []
        try:
            for _ in range(count):
                if self.statement_budget <= 0:
                    break
                self.statement_budget -= 1
                stmts.extend(self.stmt(depth))
        finally:
            self.scopes.pop()
        return tuple(stmts)

    def stmt(self, depth: int) -> list[Stmt]:
        builders: list[tuple[int, Callable[[int], list[Stmt] | None]]] = [
            (5, self.let_scalar),
            (2, self.let_aggregate),
            (4, self.assign_stmt),
            (5, self.print_stmt),
            (2, self.if_stmt),
            (1, self.while_stmt),
            (1, self.for_range_stmt),
            (1, self.for_each_stmt),
            (1, self.push_stmt),
            (1, self.call_stmt),
            (1, self.jump_stmt),
        ]
        for _ in range(6):
            result = weighted(self.chooser, builders)(depth)
            if result is not None:
                return result
        return self.print_stmt(depth)

    def new_name(self, prefix: str) -> str:
        # Now and then shadow a binding of an enclosing block (never one of this block).
        if len(self.scopes) > 1 and self.percent(10):
            outer = [name for name in self.visible() if name not in self.scopes[-1]]
            if outer:
                return self.pick(outer)
        return self.fresh(prefix)

    def let_scalar(self, depth: int) -> list[Stmt]:
        ty = self.pick(SCALAR_TYPES)
        value = self.expr(ty, self.max_depth)
        name = self.new_name("v")
        mutable = self.percent(60)
        self.scopes[-1][name] = Binding(name, ty, mutable)
        return [Let(name, ty, value, mutable, annotate=self.percent(50))]

    def let_aggregate(self, depth: int) -> list[Stmt] | None:
        kind = self.chooser.integer(0, 3)
        name = self.new_name("a")
        mutable = self.percent(80)
        if kind == 3:
            return self.let_alias(name)
        if kind == 2:
            return self.let_struct(name, mutable)
        elem = self.pick(SCALAR_TYPES)
        stmts: list[Stmt]
        if kind == 0:
            length = self.chooser.integer(1, 5)
            ty: Type = ArrayType(elem, length)
            if self.percent(30):
                value: Expr = ArrayRepeat(elem, self.literal(elem), length)
            else:
                value = ArrayLit(elem, tuple(self.expr(elem, 2) for _ in range(length)))
            stmts = [Let(name, ty, value, mutable, annotate=self.percent(50))]
        else:
            ty = VecType(elem)
            if self.percent(30):
                stmts = [Let(name, ty, VecNew(elem, None, None), True, annotate=self.percent(50))]
                # The pushes come after the `let`, so the new name (which may shadow an outer
                # one) already means the vector; it is not indexed before its first push.
                self.scopes[-1][name] = Binding(name, "empty vector", False)
                stmts.append(Push(Var(name), self.expr(elem, 2)))
                self.scopes[-1][name] = Binding(name, ty, True, next(self.counter))
                stmts += [Push(Var(name), self.expr(elem, 2)) for _ in range(self.chooser.integer(0, 2))]
                return stmts
            else:
                count = Lit(I32, self.chooser.integer(1, 4))
                value = VecNew(elem, count, self.expr(elem, 2))
                stmts = [Let(name, ty, value, mutable, annotate=self.percent(50))]
        self.scopes[-1][name] = Binding(name, ty, mutable, next(self.counter))
        return stmts

    def let_struct(self, name: str, mutable: bool) -> list[Stmt] | None:
        if not self.structs:
            return None
        definition = self.structs[self.pick(sorted(self.structs))]
        order = list(definition.fields)
        shuffled = [order.pop(self.chooser.integer(0, len(order) - 1)) for _ in range(len(order))]
        value = StructLit(
            definition.name, tuple((f, self.expr(f_ty, 2)) for f, f_ty in shuffled)
        )
        ty = StructType(definition.name)
        self.scopes[-1][name] = Binding(name, ty, mutable, next(self.counter))
        return [Let(name, ty, value, mutable, annotate=self.percent(50))]

    def let_alias(self, name: str) -> list[Stmt] | None:
        originals = self.bindings_of(lambda b: b.obj is not None)
        if not originals:
            return None
        original = self.pick(originals)
        self.scopes[-1][name] = Binding(name, original.ty, True, original.obj)
        return [Let(name, original.ty, Var(original.name), True, annotate=False)]

    def assign_stmt(self, depth: int) -> list[Stmt] | None:
        kind = self.chooser.integer(0, 2)
        if kind == 0:
            targets = self.bindings_of(lambda b: b.mutable and b.obj is None)
            if not targets:
                return None
            binding = self.pick(targets)
            return [self.assignment(Var(binding.name), binding.ty)]  # type: ignore[arg-type]
        if kind == 1:
            containers = self.bindings_of(
                lambda b: b.mutable and isinstance(b.ty, (ArrayType, VecType))
                and b.obj not in self.frozen
            )
            if not containers:
                return None
            container = self.pick(containers)
            return [self.assignment(self.index_of(container, 2), container.ty.elem)]  # type: ignore[union-attr]
        records = self.bindings_of(
            lambda b: b.mutable and isinstance(b.ty, StructType) and b.obj not in self.frozen
        )
        if not records:
            return None
        record = self.pick(records)
        field_name, field_ty = self.pick(self.structs[record.ty.name].fields)  # type: ignore[union-attr]
        return [self.assignment(FieldGet(Var(record.name), field_name), field_ty)]

    def assignment(self, target: Var | Index | FieldGet, ty: str) -> Assign:
        compound = {
            I32: ARITHMETIC_OPS + BITWISE_OPS, I64: ARITHMETIC_OPS + BITWISE_OPS,
            U8: ARITHMETIC_OPS + BITWISE_OPS, F64: FLOAT_OPS, BOOL: (),
        }[ty]
        if compound and self.percent(50):
            op = self.pick(compound)
            value = self.divisor(ty, self.max_depth) if op in ("/", "%") else self.expr(ty, self.max_depth)
            return Assign(target, op, value, ty)
        return Assign(target, None, self.expr(ty, self.max_depth), ty)

    def print_stmt(self, depth: int) -> list[Stmt]:
        ty = self.pick(SCALAR_TYPES)
        return [Print(self.expr(ty, self.max_depth), ty)]

    def if_stmt(self, depth: int) -> list[Stmt] | None:
        if depth <= 0:
            return None
        cond = self.expr(BOOL, 2)
        then = self.block(self.chooser.integer(1, 3), depth - 1)
        else_ = self.block(self.chooser.integer(1, 3), depth - 1) if self.percent(50) else None
        return [If(cond, then, else_)]

    def loop_block(self, depth: int, prelude: dict[str, Binding] | None = None) -> tuple[Stmt, ...]:
        self.loop_depth += 1
        try:
            return self.block(self.chooser.integer(1, 4), depth - 1, prelude)
        finally:
            self.loop_depth -= 1

    def while_stmt(self, depth: int) -> list[Stmt] | None:
        if depth <= 0:
            return None
        counter = self.fresh("w")  # never entered in a scope: the body cannot touch it
        limit = self.chooser.integer(0, 5)
        self.loop_clauses(counter, {}, f"{limit} - {counter}")
        return [While(counter, limit, self.loop_block(depth))]

    def for_range_stmt(self, depth: int) -> list[Stmt] | None:
        if depth <= 0:
            return None
        ty = self.pick((I32, I32, I64))
        lo = self.chooser.integer(-3, 3)
        hi = lo + self.chooser.integer(-1, 5)
        var = self.fresh("i")
        self.loop_clauses(var, {var: Binding(var, ty, False)})
        body = self.loop_block(depth, {var: Binding(var, ty, False)})
        return [ForRange(var, ty, lo, hi, body)]

    def for_each_stmt(self, depth: int) -> list[Stmt] | None:
        containers = self.bindings_of(lambda b: isinstance(b.ty, (ArrayType, VecType)))
        if depth <= 0 or not containers:
            return None
        container = self.pick(containers)
        var = self.fresh("e")
        elem = container.ty.elem  # type: ignore[union-attr]
        self.loop_clauses(var, {var: Binding(var, elem, False)})
        # The body must not write the collection being walked (the spec fixes only the length).
        already_frozen = container.obj in self.frozen
        self.frozen.add(container.obj)  # type: ignore[arg-type]
        try:
            body = self.loop_block(depth, {var: Binding(var, container.ty.elem, False)})  # type: ignore[union-attr]
        finally:
            if not already_frozen:
                self.frozen.discard(container.obj)  # type: ignore[arg-type]
        return [ForEach(var, Var(container.name), body)]

    def push_stmt(self, depth: int) -> list[Stmt] | None:
        vectors = self.bindings_of(
            lambda b: b.mutable and isinstance(b.ty, VecType) and b.obj not in self.frozen
        )
        if not vectors:
            return None
        vector = self.pick(vectors)
        return [Push(Var(vector.name), self.expr(vector.ty.elem, 2))]  # type: ignore[union-attr]

    def call_stmt(self, depth: int) -> list[Stmt] | None:
        units = [h for h in self.helpers if h.function.ret is None]
        if not units:
            return None
        return [CallStmt(self.call_of(self.pick(units), 2))]

    def jump_stmt(self, depth: int) -> list[Stmt] | None:
        # Jumps sit under a condition so that no statement after them is dead code.
        options: list[Stmt] = []
        if self.loop_depth > 0:
            options += [Break(), Continue()]
        if self.in_helper:
            value = None if self.return_type is None else self.expr(self.return_type, 2)
            options.append(Return(value))
        if not options:
            return None
        return [If(self.expr(BOOL, 2), (self.pick(options),), None)]

    # -- contract clauses (rendered beside the nodes, see Clauses) -----------------------------

    def ghost_condition(self, extra: dict[str, Binding] | None = None) -> str:
        """A bool condition over the visible bindings (and `extra`), now and then quantified: it
        is type-checked like any condition but never evaluated (and its callees never compiled)."""
        self.scopes.append(dict(extra or {}))
        try:
            if self.percent(25):
                var = self.fresh("g")
                quantifier = self.pick(("forall", "exists"))
                hi = self.chooser.integer(0, 4)
                self.scopes.append({var: Binding(var, I32, False)})
                try:
                    body = render_expr(self.expr(BOOL, 2))
                finally:
                    self.scopes.pop()
                return f"({quantifier} {var} in 0..{hi}: {body})"
            return render_expr(self.expr(BOOL, 2))
        finally:
            self.scopes.pop()

    def ghost_asserts(self, extra: dict[str, Binding] | None = None) -> list[str]:
        out = []
        for _ in range(self.chooser.integer(1, 2)):
            message = f', "{self.fresh("ghost ")}"' if self.percent(30) else ""
            out.append(f"ghost assert {self.ghost_condition(extra)}{message};")
        return out

    def loop_clauses(self, name: str, bound: dict[str, Binding],
                     measure: str | None = None) -> None:
        """Sometimes give the loop `name` invariants (a checked `true` and ghost ones), a
        `decreases` (while loops), ghost asserts at its body's start and after it."""
        if not self.percent(30):
            return
        clauses = Clauses()
        if self.percent(30):
            clauses.header += " invariant true"
        if self.percent(80):
            conds = [self.ghost_condition(bound) for _ in range(self.chooser.integer(1, 2))]
            clauses.header += " ghost invariant " + ", ".join(conds)
        if measure is not None and self.percent(30):
            clauses.header += f" decreases {measure}"
        if self.percent(40):
            clauses.first = self.ghost_asserts(bound)
        if self.percent(30):
            clauses.after = self.ghost_asserts()
        self.clauses[name] = clauses

    def function_clauses(self, name: str, ret: str | None, measure: str | None = None) -> Clauses:
        """Contract clauses for a helper whose parameters are in scope: ghost `requires` and
        `ensures` (on `result` too), now and then a checked `true` one or a `decreases`."""
        clauses = self.clauses.setdefault(name, Clauses())
        if not self.percent(35):
            return clauses
        result = {} if ret is None else {"result": Binding("result", ret, False)}
        parts = []
        for _ in range(self.chooser.integer(1, 4)):
            kind = self.chooser.integer(0, 9)
            if kind <= 3:
                parts.append(f"ghost requires {self.ghost_condition()}")
            elif kind <= 7:
                parts.append(f"ghost ensures {self.ghost_condition(result)}")
            elif kind == 8:
                parts.append(self.pick(("requires true", "ensures true")))
            elif measure is not None:
                parts.append(f"decreases {measure}")
        clauses.header = "".join(f"\n    {part}" for part in parts)
        return clauses

    # -- items --------------------------------------------------------------------------------

    def struct_defs(self) -> None:
        for _ in range(self.chooser.integer(0, 2)):
            name = self.fresh("S")
            fields = tuple(
                (self.fresh("f"), self.pick(SCALAR_TYPES)) for _ in range(self.chooser.integer(1, 4))
            )
            self.structs[name] = StructDef(name, fields)

    def helper(self) -> Helper:
        if self.percent(15):
            return self.recursive_helper()
        name = self.fresh("h")
        params = tuple((self.fresh("p"), self.pick(SCALAR_TYPES)) for _ in range(self.chooser.integer(0, 3)))
        ret = None if self.percent(20) else self.pick(SCALAR_TYPES)
        saved = self.enter_function(params, ret)
        self.statement_budget = 8
        try:
            clauses = self.function_clauses(name, ret)
            # Body bindings share the parameters' scope, so the result can use them and no
            # top-level `let` shadows a parameter.
            body = tuple(self.block_in_place(self.chooser.integer(0, 4), 2))
            if self.percent(20):
                clauses.last = self.ghost_asserts()
            result = None if ret is None else self.expr(ret, self.max_depth)
        finally:
            self.leave_function(saved)
        return Helper(Function(name, params, ret, body, result))

    def recursive_helper(self) -> Helper:
        """`fn r(n: i32, x: T) -> T { if n <= 0 { x } else { r(n - 1, E) } }`, n a small literal."""
        name = self.fresh("r")
        depth_param, value_param = self.fresh("p"), self.fresh("p")
        ty = self.pick(SCALAR_TYPES)
        params = ((depth_param, I32), (value_param, ty))
        saved = self.enter_function(params, ty)
        try:
            self.function_clauses(name, ty, measure=depth_param)
            step = self.expr(ty, 2)
        finally:
            self.leave_function(saved)
        result = IfExpr(
            Binary("<=", Var(depth_param), Lit(I32, 0), I32),
            Var(value_param),
            Call(name, (Binary("-", Var(depth_param), Lit(I32, 1), I32), step)),
        )
        return Helper(Function(name, params, ty, (), result), small_first_arg=True)

    def enter_function(self, params: tuple[tuple[str, str], ...], ret: str | None) -> tuple:
        saved = (self.scopes, self.loop_depth, self.return_type, self.in_helper)
        self.scopes = [{name: Binding(name, ty, False) for name, ty in params}]
        self.loop_depth, self.return_type, self.in_helper = 0, ret, True
        return saved

    def leave_function(self, saved: tuple) -> None:
        self.scopes, self.loop_depth, self.return_type, self.in_helper = saved

    def tap_functions(self) -> list[Function]:
        """`fn tap_T(tag: i32, x: T) -> T { println(tag); x }` for each scalar type."""
        functions = []
        for ty in SCALAR_TYPES:
            name = f"tap_{ty}"
            body = (Print(Var("tag"), I32),)
            functions.append(Function(name, (("tag", I32), ("x", ty)), ty, body, Var("x")))
            self.taps[ty] = name
        return functions

    def program(self, deliberate_trap: bool = False) -> Program:
        self.struct_defs()
        taps = self.tap_functions()
        for _ in range(self.chooser.integer(0, 4)):
            self.helpers.append(self.helper())
        self.scopes = [{}]
        self.statement_budget = 30
        main = list(self.block_in_place(self.chooser.integer(3, 14), 3))
        if deliberate_trap:
            main.append(self.trap_stmt())
        main += self.final_prints()
        if self.percent(25):
            self.clauses["main"] = Clauses(last=self.ghost_asserts())
        functions = taps + [h.function for h in self.helpers]
        return Program(tuple(self.structs.values()), tuple(functions), tuple(main))

    def block_in_place(self, count: int, depth: int) -> list[Stmt]:
        """Statements of main's outermost block, leaving their bindings visible afterwards."""
        stmts: list[Stmt] = []
        for _ in range(count):
            if self.statement_budget <= 0:
                break
            self.statement_budget -= 1
            stmts.extend(self.stmt(depth))
        return stmts

    def final_prints(self) -> list[Stmt]:
        scalars = self.bindings_of(lambda b: b.obj is None)
        return [Print(Var(b.name), b.ty) for b in scalars[-8:]]  # type: ignore[misc]

    def trap_stmt(self) -> Stmt:
        """A print whose operand traps (or sits exactly at a trap's edge, e.g. MIN % -1)."""
        ty = self.pick((I32, I64))
        kind = self.chooser.integer(0, 5)
        if kind == 0:
            same = self.leaf(ty)
            zero = Binary("-", same, same, ty) if self.percent(50) else Lit(ty, 0)
            return Print(Binary(self.pick(("/", "%")), self.expr(ty, 2), zero, ty), ty)
        if kind == 1:
            return Print(Binary(self.pick(("/", "%")), Lit(ty, MIN[ty]), Lit(ty, -1), ty), ty)
        if kind == 2:
            nan = Binary("/", Lit(F64, 0.0), Lit(F64, 0.0), F64)
            return Print(Cast(nan, F64, ty), ty)
        if kind == 3:
            big = self.pick((2.0**31, -(2.0**31) - 1.0, 2.0**63, -(2.0**64), 1e300))
            value = Binary("*", Lit(F64, big), self.literal(F64), F64) if self.percent(30) else Lit(F64, big)
            return Print(Cast(value, F64, ty), ty)
        if kind == 4:
            inf = Binary("/", Lit(F64, 1.0), Lit(F64, 0.0), F64)
            return Print(Cast(inf, F64, ty), ty)
        return Print(Binary("/", self.expr(ty, 2), self.divisor(ty, 2), ty), ty)


# ---------------------------------------------------------------------------------------------
# Rendering to `.syn` source
# ---------------------------------------------------------------------------------------------


def render_type(ty: Type) -> str:
    if isinstance(ty, ArrayType):
        return f"[{ty.elem}; {ty.length}]"
    if isinstance(ty, VecType):
        return f"Vec[{ty.elem}]"
    if isinstance(ty, StructType):
        return ty.name
    return ty


def render_literal(lit: Lit) -> str:
    if lit.ty == BOOL:
        return "true" if lit.value else "false"
    if lit.ty == F64:
        return render_float(lit.value)  # type: ignore[arg-type]
    return render_int(lit.value, lit.ty, lit.spelling)  # type: ignore[arg-type]


def render_float(value: float) -> str:
    magnitude = render_float_magnitude(abs(value))
    negative = value < 0 or (value == 0.0 and str(value).startswith("-"))
    return f"(-{magnitude})" if negative else magnitude


def render_float_magnitude(value: float) -> str:
    """A literal with digits on both sides of `.` and an unsigned-or-minus exponent."""
    mantissa, _, exponent = repr(value).partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    return f"{mantissa}e{int(exponent)}" if exponent else mantissa


def render_int(value: int, ty: str, spelling: str) -> str:
    if spelling == "char" and ty == U8:
        return render_char(value)
    if value == MIN[ty] and ty != U8:
        # The magnitude of MIN does not fit the type, so spell it as an expression.
        return f"({render_int(value + 1, ty, spelling)} - {render_int(1, ty, 'dec')})"
    if value < 0:
        return f"(-{render_int(-value, ty, spelling)})"
    if spelling == "hex":
        digits = f"0x{value:X}"
    elif spelling == "bin":
        digits = f"0b{value:b}"
    elif spelling == "sep":
        digits = f"{value:_}"
    else:
        digits = str(value)
    suffix = ty if ty != I32 or spelling == "suffix" else ""
    return digits + suffix


def render_char(value: int) -> str:
    if value in CHAR_ESCAPES:
        return f"'{CHAR_ESCAPES[value]}'"
    if 32 <= value < 127:
        return f"'{chr(value)}'"
    return f"'\\x{value:02x}'"


def render_expr(expr: Expr) -> str:
    if isinstance(expr, Lit):
        return render_literal(expr)
    if isinstance(expr, Var):
        return expr.name
    if isinstance(expr, Unary):
        return f"({expr.op}{render_expr(expr.operand)})"
    if isinstance(expr, (Binary, Logic)):
        return f"({render_expr(expr.left)} {expr.op} {render_expr(expr.right)})"
    if isinstance(expr, Cast):
        return f"({render_expr(expr.operand)} as {expr.to_ty})"
    if isinstance(expr, IfExpr):
        return (
            f"(if {render_expr(expr.cond)} {{ {render_expr(expr.then)} }} "
            f"else {{ {render_expr(expr.else_)} }})"
        )
    if isinstance(expr, Call):
        return f"{expr.func}({', '.join(render_expr(arg) for arg in expr.args)})"
    if isinstance(expr, FloatMethod):
        arg = "" if expr.arg is None else render_expr(expr.arg)
        return f"({render_expr(expr.receiver)}).{expr.name}({arg})"
    if isinstance(expr, Index):
        target = render_expr(expr.target)
        n = f"{target}.len()" if expr.is_vec else str(expr.length)
        return f"{target}[((({render_expr(expr.index)} % {n}) + {n}) % {n})]"
    if isinstance(expr, Len):
        return f"{render_expr(expr.target)}.len()"
    if isinstance(expr, FieldGet):
        return f"{render_expr(expr.target)}.{expr.field}"
    if isinstance(expr, StructLit):
        fields = ", ".join(f"{name}: {render_expr(value)}" for name, value in expr.fields)
        return f"{expr.name}({fields})"
    if isinstance(expr, ArrayLit):
        return f"[{', '.join(render_expr(item) for item in expr.items)}]"
    if isinstance(expr, ArrayRepeat):
        return f"[{render_literal(expr.value)}; {expr.count}]"
    if isinstance(expr, VecNew):
        if expr.count is None:
            return f"Vec[{expr.elem}]()"
        return f"Vec[{expr.elem}]({render_expr(expr.count)}, {render_expr(expr.value)})"  # type: ignore[arg-type]
    raise TypeError(f"cannot render {expr!r}")


def render_block(stmts: Sequence[Stmt], indent: int,
                 clauses: dict[str, Clauses] | None = None) -> list[str]:
    lines: list[str] = []
    for stmt in stmts:
        lines.extend(render_stmt(stmt, indent, clauses))
    return lines


def render_stmt(stmt: Stmt, indent: int, clauses: dict[str, Clauses] | None = None) -> list[str]:
    """The statement's lines; a loop gets its `Clauses` (by its counter or variable name)."""
    pad = "    " * indent
    if isinstance(stmt, (While, ForRange, ForEach)):
        name = stmt.counter if isinstance(stmt, While) else stmt.var
        extra = (clauses or {}).get(name, Clauses())
        return [*render_loop(stmt, indent, extra.header, extra.first, clauses),
                *(pad + line for line in extra.after)]
    return render_simple_stmt(stmt, indent, clauses)


def render_loop(stmt: While | ForRange | ForEach, indent: int, header: str, first: list[str],
                clauses: dict[str, Clauses] | None) -> list[str]:
    pad = "    " * indent
    inner = [pad + "    " + line for line in first]
    if isinstance(stmt, While):
        return [
            f"{pad}var {stmt.counter} = 0;",
            f"{pad}while {stmt.counter} < {stmt.limit}{header} {{",
            *inner,
            f"{pad}    {stmt.counter} += 1;",
            *render_block(stmt.body, indent + 1, clauses),
            f"{pad}}}",
        ]
    if isinstance(stmt, ForRange):
        lo, hi = (render_int(bound, stmt.ty, "dec") for bound in (stmt.lo, stmt.hi))
        return [
            f"{pad}for {stmt.var} in {lo}..{hi}{header} {{",
            *inner,
            *render_block(stmt.body, indent + 1, clauses),
            f"{pad}}}",
        ]
    return [
        f"{pad}for {stmt.var} in {render_expr(stmt.target)}{header} {{",
        *inner,
        *render_block(stmt.body, indent + 1, clauses),
        f"{pad}}}",
    ]


def render_simple_stmt(stmt: Stmt, indent: int, clauses: dict[str, Clauses] | None) -> list[str]:
    pad = "    " * indent
    if isinstance(stmt, Let):
        keyword = "var" if stmt.mutable else "let"
        annotation = f": {render_type(stmt.ty)}" if stmt.annotate else ""
        return [f"{pad}{keyword} {stmt.name}{annotation} = {render_expr(stmt.value)};"]
    if isinstance(stmt, Assign):
        op = "=" if stmt.op is None else stmt.op + "="
        return [f"{pad}{render_expr(stmt.target)} {op} {render_expr(stmt.value)};"]
    if isinstance(stmt, Print):
        return [f"{pad}println({render_expr(stmt.value)});"]
    if isinstance(stmt, If):
        lines = [f"{pad}if {render_expr(stmt.cond)} {{",
                 *render_block(stmt.then, indent + 1, clauses)]
        if stmt.else_ is not None:
            lines += [f"{pad}}} else {{", *render_block(stmt.else_, indent + 1, clauses)]
        return lines + [f"{pad}}}"]
    if isinstance(stmt, Push):
        return [f"{pad}{render_expr(stmt.target)}.push({render_expr(stmt.value)});"]
    if isinstance(stmt, CallStmt):
        return [f"{pad}{render_expr(stmt.call)};"]
    if isinstance(stmt, Break):
        return [f"{pad}break;"]
    if isinstance(stmt, Continue):
        return [f"{pad}continue;"]
    if isinstance(stmt, Return):
        value = "" if stmt.value is None else " " + render_expr(stmt.value)
        return [f"{pad}return{value};"]
    raise TypeError(f"cannot render {stmt!r}")


def render_function(function: Function, clauses: dict[str, Clauses] | None = None) -> list[str]:
    params = ", ".join(f"{name}: {ty}" for name, ty in function.params)
    ret = "" if function.ret is None else f" -> {function.ret}"
    extra = (clauses or {}).get(function.name, Clauses())
    lines = [f"fn {function.name}({params}){ret}{extra.header} {{",
             *render_block(function.body, 1, clauses), *("    " + line for line in extra.last)]
    if function.result is not None:
        lines.append(f"    {render_expr(function.result)}")
    return lines + ["}"]


def render_program(program: Program, clauses: dict[str, Clauses] | None = None) -> str:
    """The program's source; `clauses` (ProgramGenerator.clauses) adds contract clauses."""
    lines: list[str] = []
    for struct_def in program.structs:
        fields = ", ".join(f"{name}: {ty}" for name, ty in struct_def.fields)
        lines += [f"struct {struct_def.name} {{ {fields} }}", ""]
    for function in program.functions:
        lines += [*render_function(function, clauses), ""]
    main_last = (clauses or {}).get("main", Clauses()).last
    lines += ["fn main() {", *render_block(program.main, 1, clauses),
              *("    " + line for line in main_last), "}"]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------------


def generate(chooser: Chooser, *, deliberate_trap: bool = False) -> GeneratedProgram | None:
    """One program and its expected outcome, or None when the spec leaves the outcome open."""
    generator = ProgramGenerator(chooser)
    program = generator.program(deliberate_trap)
    try:
        expected = evaluate(program)
    except Unspecified:
        return None
    return GeneratedProgram(render_program(program, generator.clauses), program, expected)


def generate_from_seed(seed: int, *, deliberate_trap: bool = False) -> GeneratedProgram:
    """A program from a seeded `random.Random`; retries (deterministically) past unusable ones."""
    rng = random.Random(seed)
    while True:
        generated = generate(RandomChooser(rng), deliberate_trap=deliberate_trap)
        if generated is not None:
            return generated


def seeded_programs(deliberate_trap: bool = False) -> st.SearchStrategy[GeneratedProgram]:
    """Hypothesis strategy over seeds: a program costs one draw instead of hundreds.

    Faster than `programs()` by about twenty times, but a failure does not shrink; the report
    shows the whole program, and `generate_from_seed(seed)` reproduces it.
    """
    return st.integers(0, 2**32 - 1).map(
        lambda seed: generate_from_seed(seed, deliberate_trap=deliberate_trap)
    )


@st.composite
def programs(draw: Callable, deliberate_trap: bool | None = None) -> GeneratedProgram:
    """Hypothesis strategy: a well-typed program with its expected stdout/trap."""
    if deliberate_trap is None:
        deliberate_trap = draw(st.integers(0, 4)) == 0
    generated = generate(HypothesisChooser(draw), deliberate_trap=deliberate_trap)
    assume(generated is not None)
    return generated  # type: ignore[return-value]


def example_count(ci: int) -> int:
    """Examples per property: `ci` normally, twenty times that under HYPOTHESIS_PROFILE=long."""
    return ci * 20 if os.environ.get("HYPOTHESIS_PROFILE") == "long" else ci


# ---------------------------------------------------------------------------------------------
# Malformed inputs for robustness fuzzing
# ---------------------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]

TOKEN = re.compile(
    r"""\s+|//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|[A-Za-z_]\w*|\d[\w.]*"""
    r"""|\.\.|->|=>|&&|\|\||<<=?|>>=?|[-+*/%&|^=!<>]=|.""",
    re.DOTALL,
)
KEYWORDS = (
    "fn let var if else while for in match return break continue struct enum import extern "
    "const requires ensures invariant assert as true false and arena Vec Map result main"
).split()
OPERATORS = (
    "+ - * / % & | ^ << >> ~ ! && || == != < <= > >= = += -= *= /= %= &= |= ^= <<= >>= "
    ".. -> => ( ) [ ] { } , ; : . as ' \" // /* */ \\ 0x 1e 9999999999999999999999"
).split()


def corpus_sources(limit: int | None = None) -> list[str]:
    """Valid-ish programs to mutate: the golden programs and examples, in a stable order."""
    paths = sorted((ROOT / "tests" / "programs").rglob("*.syn")) + sorted(
        (ROOT / "examples").rglob("*.syn")
    )
    texts = [path.read_text(encoding="utf-8", errors="replace") for path in paths[:limit]]
    return texts


def tokens_of(text: str) -> list[str]:
    return TOKEN.findall(text)


def mutate_tokens(text: str, rng: random.Random, mutations: int = 3) -> str:
    """Delete, duplicate, swap or replace tokens, or insert operators and keywords."""
    tokens = tokens_of(text) or [""]
    for _ in range(rng.randint(1, mutations)):
        position = rng.randrange(len(tokens))
        kind = rng.randrange(6)
        if kind == 0 and len(tokens) > 1:
            del tokens[position]
        elif kind == 1:
            tokens.insert(position, tokens[position])
        elif kind == 2:
            other = rng.randrange(len(tokens))
            tokens[position], tokens[other] = tokens[other], tokens[position]
        elif kind == 3:
            identifiers = [t for t in tokens if re.fullmatch(r"[A-Za-z_]\w*", t)] or ["x"]
            tokens[position] = rng.choice(identifiers + KEYWORDS)
        elif kind == 4:
            tokens.insert(position, " " + rng.choice(OPERATORS) + " ")
        else:
            tokens[position] = rng.choice(("9" * rng.randint(10, 60), "0x" + "F" * 40, "1e999", "'\\q'"))
    return "".join(tokens)


def truncate(text: str, rng: random.Random) -> str:
    return text[: rng.randint(0, len(text))]


def random_printable(rng: random.Random, length: int = 200) -> str:
    alphabet = "abcdefxyz_019 \n\t{}()[];:,.=+-*/%<>!&|^~'\"\\@#$`?"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, length)))


def deep_nesting_inputs(depth: int = 5000) -> dict[str, str]:
    """Inputs that nest far past the E0007 limit, or chain very long, in many constructs."""
    def main(body: str) -> str:
        return f"fn main() {{\n{body}\n}}\n"

    return {
        "parens": main("let x = " + "(" * depth + "1" + ")" * depth + ";"),
        "blocks": main("{" * depth + "}" * depth),
        "unary_minus": main("let x = " + "- " * depth + "1;"),
        "unary_not": main("let x = " + "!" * depth + "true;"),
        "ifs": main("if true { " * depth + "}" * depth),
        "whiles": main("while false { " * depth + "}" * depth),
        "arrays": main("let x = " + "[" * depth + "1" + "]" * depth + ";"),
        "calls": "fn f(x: i32) -> i32 { x }\n" + main("let x = " + "f(" * depth + "1" + ")" * depth + ";"),
        "casts": main("let x = 1" + " as i64 as i32" * depth + ";"),
        "flat_sum": main("let x = " + " + ".join(["1"] * (depth * 4)) + ";"),
        "flat_and": main("let x = " + " && ".join(["true"] * (depth * 4)) + ";"),
        "fields": main("let x = y" + ".a" * depth + ";"),
        "types": main("let x: " + "Vec[" * depth + "i32" + "]" * depth + " = 0;"),
        "unclosed_parens": main("let x = " + "(" * depth),
        "unclosed_blocks": "fn main() " + "{" * depth,
        "closers": "}" * depth + ")" * depth,
        "match_arms": main("let y = match 1 { " + "1 => 1, " * depth + "_ => 0 };"),
        "many_functions": "".join(f"fn f{i}() -> i32 {{ {i} }}\n" for i in range(depth)) + main(""),
    }


def huge_literal_inputs() -> dict[str, str]:
    def main(body: str) -> str:
        return f"fn main() {{\n{body}\n}}\n"

    return {
        "decimal": main("let x = 1" + "0" * 5000 + ";"),
        "decimal_i64": main("let x = 99999999999999999999i64;"),
        "hex": main("let x: i64 = 0x" + "F" * 1000 + "i64;"),
        "binary": main("let x = 0b" + "1" * 5000 + ";"),
        "u8": main("let x: u8 = 256u8;"),
        "negative_min": main("let x = -2147483648;"),
        "float_overflow": main("let x = 1e999999;"),
        "float_underflow": main("let x = 1e-999999;"),
        "float_long": main("let x = 0." + "0" * 10000 + "1;"),
        "empty_hex": main("let x = 0x;"),
        "bad_suffix": main("let x = 123abc;"),
        "dangling_exponent": main("let x = 1.5e;"),
        "separators": main("let x = 1_____0;"),
        "arena": "arena " + "9" * 500 + " MiB;\n" + main(""),
        "array_length": main("let x = [0; " + "9" * 100 + "];"),
        "string": main('let s = "' + "a" * 100_000 + '";'),
        "identifier": main("let " + "x" * 100_000 + " = 1;"),
        "long_line": " " * 200_000 + main(""),
        "long_comment": "// " + "c" * 200_000 + "\n" + main(""),
        "unterminated_comment": "/* " + main(""),
        "unterminated_string": main('let s = "abc'),
        "nul_bytes": main("let x\0 = 1;\0"),
        "bad_escape": main('let s = "\\q\\x4";'),
        "lone_surrogate_free_unicode": main('let s = "\u00e9\u4e2d\U0001F600"; let \u00e9 = 1;'),
    }


INVALID_UTF8_INPUTS: dict[str, bytes] = {
    "lone_continuation": b"fn main() {\n    // caf\xe9\n}\n",
    "truncated_sequence": b"fn main() { let s = \"\xe4\xb8\"; }\n",
    "overlong": b"fn main() {}\n\xc0\xaf\n",
    "surrogate": b"fn main() { \xed\xa0\x80 }\n",
    "ff": b"\xff\xfe\x00",
}


# ---------------------------------------------------------------------------------------------
# Checks on the compiler's results (duck-typed: CompileResult, Diagnostic, RunResult)
# ---------------------------------------------------------------------------------------------

DIAGNOSTIC_CODE = re.compile(r"E\d{4}")


def diagnostic_problems(result: Any, line_count: int) -> list[str]:
    """What is wrong with a failed CompileResult's diagnostics (empty when all is well)."""
    problems: list[str] = []
    if result.wasm is not None:
        problems.append("result has errors but also Wasm bytes")
    if not result.diagnostics:
        problems.append("compilation failed without any diagnostic")
    for diagnostic in result.diagnostics:
        where = f"{diagnostic.code} {diagnostic.message!r}"
        if not DIAGNOSTIC_CODE.fullmatch(diagnostic.code):
            problems.append(f"{where}: code is not E followed by four digits")
        span = diagnostic.span
        if not 1 <= span.line <= line_count:
            problems.append(f"{where}: line {span.line} outside 1..{line_count}")
        if span.col < 1:
            problems.append(f"{where}: column {span.col} < 1")
        try:
            diagnostic.render(result.sources.get(span.file))
            diagnostic.to_json()
        except Exception as error:  # noqa: BLE001 -- any exception here is the finding
            problems.append(f"{where}: rendering raised {error!r}")
    return problems


def line_count_of(text: str | bytes) -> int:
    newline = b"\n" if isinstance(text, bytes) else "\n"
    return text.count(newline) + 1  # type: ignore[arg-type]


def outcome_problem(expected: Outcome, run: Any) -> str | None:
    """How a sandbox RunResult differs from the evaluator's Outcome, or None when it matches."""
    output = run.output.decode("utf-8", errors="replace")
    if expected.trap is None:
        if run.status != "ok":
            return f"expected a clean run, got {run.status}: {run.message} (output {output!r})"
    elif run.status != "trap" or not expected.trap_matches(run.message):
        return f"expected trap {expected.trap!r}, got {run.status}: {run.message}"
    if output != expected.stdout:
        return f"stdout differs:\n--- expected\n{expected.stdout}--- got\n{output}"
    return None

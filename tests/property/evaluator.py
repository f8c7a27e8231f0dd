"""Reference evaluator for the subset of `.syn` that the property tests generate.

Place in the test pipeline: `gen_programs.py` builds a small AST (defined here), renders it to
`.syn` source for the compiler, and hands the same AST to `evaluate`, which computes the stdout
and trap that LANGUAGE.md's semantics demand. The compiler's output, run in the sandbox, must
match. Nothing here imports the compiler: the two implementations share only the spec.

What must stay true: every arithmetic rule is written out from the spec (two's complement
wrap-around, u8 mod 256, shift counts modulo the bit width, truncating division, `%` with the
sign of the dividend, traps on division by zero and MIN / -1, IEEE floats with Python `repr`
printing, float->int truncation that traps on NaN or out of range, left-to-right evaluation,
short-circuit `&&`/`||`). Where the spec leaves a result open (f64 -> u8 outside 0..255),
`Unspecified` is raised and the generator discards the program.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Union

# ---------------------------------------------------------------------------------------------
# Types
# ---------------------------------------------------------------------------------------------

I32, I64, U8, F64, BOOL = "i32", "i64", "u8", "f64", "bool"
INT_TYPES = (I32, I64, U8)
NUMERIC_TYPES = (I32, I64, U8, F64)
SCALAR_TYPES = (I32, I64, U8, F64, BOOL)

BITS = {I32: 32, I64: 64, U8: 8}
MIN = {I32: -(2**31), I64: -(2**63), U8: 0}
MAX = {I32: 2**31 - 1, I64: 2**63 - 1, U8: 255}


@dataclass(frozen=True)
class ArrayType:
    elem: str
    length: int


@dataclass(frozen=True)
class VecType:
    elem: str


@dataclass(frozen=True)
class StructType:
    name: str


Type = Union[str, ArrayType, VecType, StructType]

# Trap messages as LANGUAGE.md names them.
DIVIDE_BY_ZERO = "integer divide by zero"
INTEGER_OVERFLOW = "integer overflow"
INVALID_CONVERSION = "invalid conversion to integer"
# LANGUAGE.md words a float->int cast out of range as "invalid conversion to integer"; Wasm's
# own trap for that case (i32.trunc_f64_s on 1e10) is reported by wasmtime as integer overflow,
# so both texts are accepted there. NaN is "invalid conversion to integer" in both.
OUT_OF_RANGE_ALTERNATIVES = (INTEGER_OVERFLOW,)

# ---------------------------------------------------------------------------------------------
# AST: expressions
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lit:
    ty: str
    value: int | float | bool
    spelling: str = "dec"  # how the renderer writes it: dec, hex, bin, sep, suffix, char


@dataclass(frozen=True)
class Var:
    name: str


@dataclass(frozen=True)
class Unary:
    op: str  # "-", "!", "~"
    operand: "Expr"
    ty: str  # operand type (also the result type)


@dataclass(frozen=True)
class Binary:
    op: str  # arithmetic, bitwise, shift or comparison operator
    left: "Expr"
    right: "Expr"
    ty: str  # operand type; comparisons yield bool


@dataclass(frozen=True)
class Logic:
    op: str  # "&&" or "||"
    left: "Expr"
    right: "Expr"


@dataclass(frozen=True)
class Cast:
    operand: "Expr"
    from_ty: str
    to_ty: str


@dataclass(frozen=True)
class IfExpr:
    cond: "Expr"
    then: "Expr"
    else_: "Expr"


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple["Expr", ...]


@dataclass(frozen=True)
class FloatMethod:
    """`(receiver).name()` or `(receiver).name(arg)`: the f64 methods of spec 10.10."""

    name: str
    receiver: "Expr"
    arg: "Expr | None"


@dataclass(frozen=True)
class Index:
    """`target[i]` where the rendered index is `((i % len) + len) % len`, always in bounds."""

    target: "Expr"
    index: "Expr"
    is_vec: bool
    length: int  # the fixed length for arrays; unused for vectors (read at run time)


@dataclass(frozen=True)
class Len:
    target: "Expr"


@dataclass(frozen=True)
class FieldGet:
    target: "Expr"
    field: str


@dataclass(frozen=True)
class StructLit:
    name: str
    fields: tuple[tuple[str, "Expr"], ...]  # in the order written (= evaluation order)


@dataclass(frozen=True)
class ArrayLit:
    elem: str
    items: tuple["Expr", ...]


@dataclass(frozen=True)
class ArrayRepeat:
    elem: str
    value: Lit
    count: int


@dataclass(frozen=True)
class VecNew:
    elem: str
    count: "Expr | None"  # None: `Vec[T]()`
    value: "Expr | None"


Expr = Union[
    Lit, Var, Unary, Binary, Logic, Cast, IfExpr, Call, FloatMethod, Index, Len, FieldGet,
    StructLit, ArrayLit, ArrayRepeat, VecNew,
]

# ---------------------------------------------------------------------------------------------
# AST: statements, functions, program
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Let:
    name: str
    ty: Type
    value: Expr
    mutable: bool
    annotate: bool


@dataclass(frozen=True)
class Assign:
    target: Union[Var, Index, FieldGet]
    op: str | None  # None for `=`, else the binary operator of a compound assignment
    value: Expr
    ty: str  # the scalar type being assigned


@dataclass(frozen=True)
class Print:
    value: Expr
    ty: str


@dataclass(frozen=True)
class If:
    cond: Expr
    then: tuple["Stmt", ...]
    else_: tuple["Stmt", ...] | None


@dataclass(frozen=True)
class While:
    """`var c = 0; while c < limit { c += 1; body }`: the counter is private to the loop."""

    counter: str
    limit: int
    body: tuple["Stmt", ...]


@dataclass(frozen=True)
class ForRange:
    var: str
    ty: str  # i32 or i64
    lo: int
    hi: int
    body: tuple["Stmt", ...]


@dataclass(frozen=True)
class ForEach:
    var: str
    target: Expr
    body: tuple["Stmt", ...]


@dataclass(frozen=True)
class Push:
    target: Expr
    value: Expr


@dataclass(frozen=True)
class CallStmt:
    call: Call


@dataclass(frozen=True)
class Break:
    pass


@dataclass(frozen=True)
class Continue:
    pass


@dataclass(frozen=True)
class Return:
    value: Expr | None


Stmt = Union[Let, Assign, Print, If, While, ForRange, ForEach, Push, CallStmt, Break, Continue, Return]


@dataclass(frozen=True)
class Function:
    name: str
    params: tuple[tuple[str, str], ...]
    ret: str | None
    body: tuple[Stmt, ...]
    result: Expr | None  # trailing expression (None for unit functions)


@dataclass(frozen=True)
class StructDef:
    name: str
    fields: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Program:
    structs: tuple[StructDef, ...]
    functions: tuple[Function, ...]
    main: tuple[Stmt, ...]


# ---------------------------------------------------------------------------------------------
# Outcome and control flow signals
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    stdout: str
    trap: str | None  # a substring the trap message must contain; None when the run succeeds
    trap_alternatives: tuple[str, ...] = ()  # other substrings accepted in place of `trap`

    def trap_matches(self, message: str | None) -> bool:
        if self.trap is None or message is None:
            return False
        return any(text in message for text in (self.trap, *self.trap_alternatives))


class Trap(Exception):
    def __init__(self, message: str, alternatives: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.alternatives = alternatives


class Unspecified(Exception):
    """The spec does not pin down this result; the program must not be used."""


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class _Return(Exception):
    def __init__(self, value: object) -> None:
        super().__init__()
        self.value = value


# ---------------------------------------------------------------------------------------------
# Scalar semantics (LANGUAGE.md "Semantics")
# ---------------------------------------------------------------------------------------------


def wrap(value: int, ty: str) -> int:
    """Two's complement wrap-around for i32/i64; mod 256 for u8."""
    if ty == U8:
        return value % 256
    bits = BITS[ty]
    return (value + 2 ** (bits - 1)) % 2**bits - 2 ** (bits - 1)


def int_div(a: int, b: int, ty: str) -> int:
    """Division truncating toward zero; traps on zero divisor and on MIN / -1."""
    if b == 0:
        raise Trap(DIVIDE_BY_ZERO)
    if ty != U8 and a == MIN[ty] and b == -1:
        raise Trap(INTEGER_OVERFLOW)
    quotient = abs(a) // abs(b)
    return quotient if (a < 0) == (b < 0) else -quotient


def int_rem(a: int, b: int, ty: str) -> int:
    """Remainder with the sign of the dividend (Wasm rem_s / rem_u); MIN % -1 == 0."""
    if b == 0:
        raise Trap(DIVIDE_BY_ZERO)
    remainder = abs(a) % abs(b)
    return -remainder if a < 0 else remainder


def shift_left(a: int, count: int, ty: str) -> int:
    return wrap(a << (count % BITS[ty]), ty)


def shift_right(a: int, count: int, ty: str) -> int:
    # Signed values are stored as Python ints with their sign, so `>>` is arithmetic for
    # i32/i64; u8 values are never negative, so the same shift is logical for u8.
    return a >> (count % BITS[ty])


def float_div(a: float, b: float) -> float:
    """IEEE division, including the cases Python refuses (division by a zero)."""
    if b != 0.0 or math.isnan(b):
        return a / b
    if math.isnan(a) or a == 0.0:
        return math.nan
    sign = math.copysign(1.0, a) * math.copysign(1.0, b)
    return math.copysign(math.inf, sign)


def int_binary(op: str, a: int, b: int, ty: str) -> int | bool:
    if op == "+":
        return wrap(a + b, ty)
    if op == "-":
        return wrap(a - b, ty)
    if op == "*":
        return wrap(a * b, ty)
    if op == "/":
        return wrap(int_div(a, b, ty), ty)
    if op == "%":
        return int_rem(a, b, ty)
    if op == "&":
        return wrap(a & b, ty)
    if op == "|":
        return wrap(a | b, ty)
    if op == "^":
        return wrap(a ^ b, ty)
    if op == "<<":
        return shift_left(a, b, ty)
    if op == ">>":
        return shift_right(a, b, ty)
    return compare(op, a, b)


def float_binary(op: str, a: float, b: float) -> float | bool:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return float_div(a, b)
    return compare(op, a, b)


def compare(op: str, a: object, b: object) -> bool:
    # Python's comparisons on floats follow IEEE (every comparison with NaN is false except !=).
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    if op == "<":
        return a < b  # type: ignore[operator]
    if op == "<=":
        return a <= b  # type: ignore[operator]
    if op == ">":
        return a > b  # type: ignore[operator]
    if op == ">=":
        return a >= b  # type: ignore[operator]
    raise ValueError(f"unknown operator {op}")


def binary(op: str, a: object, b: object, ty: str) -> object:
    if ty == F64:
        return float_binary(op, a, b)  # type: ignore[arg-type]
    if ty == BOOL:
        return compare(op, a, b)
    return int_binary(op, a, b, ty)  # type: ignore[arg-type]


def unary(op: str, value: object, ty: str) -> object:
    if op == "!":
        return not value
    if op == "-":
        return -value if ty == F64 else wrap(-value, ty)  # type: ignore[operator]
    if op == "~":
        return wrap(~value, ty)  # type: ignore[operator]
    raise ValueError(f"unknown unary operator {op}")


def cast(value: object, from_ty: str, to_ty: str) -> object:
    """`e as T` (LANGUAGE.md "Casts")."""
    if to_ty == F64:
        return float(value)  # type: ignore[arg-type]  # ints round to nearest, ties to even
    if from_ty == BOOL:
        return 1 if value else 0
    if from_ty == F64:
        return float_to_int(value, to_ty)  # type: ignore[arg-type]
    return wrap(value, to_ty)  # type: ignore[arg-type]  # int->int: wrap or sign/zero-extend


def float_method(name: str, x: float, y: float | None) -> float:
    """The f64 methods (spec 10.10), each the WebAssembly instruction IEEE 754 defines."""
    if name in ("min", "max"):
        assert y is not None
        if math.isnan(x) or math.isnan(y):
            return math.nan
        if x == y == 0.0:
            # -0.0 < 0.0 here, though they compare equal.
            negative = math.copysign(1.0, x) < 0 or math.copysign(1.0, y) < 0
            positive = math.copysign(1.0, x) > 0 or math.copysign(1.0, y) > 0
            if name == "min":
                return -0.0 if negative else 0.0
            return 0.0 if positive else -0.0
        return min(x, y) if name == "min" else max(x, y)
    if name == "copysign":
        assert y is not None
        if math.isnan(y):
            # The sign of a NaN that arithmetic produced is not fixed by the spec.
            raise Unspecified("copysign from a NaN")
        return math.copysign(x, y)
    if name == "abs":
        return math.fabs(x)
    if name == "sqrt":
        return math.nan if x < 0 else math.sqrt(x)
    if math.isnan(x) or math.isinf(x):
        return x
    rounded = {"floor": math.floor, "ceil": math.ceil, "trunc": math.trunc,
               "round": round}[name](x)
    # An integral result of zero keeps the sign of x (ceil(-0.5) is -0.0).
    return float(rounded) if rounded != 0 else math.copysign(0.0, x)


def float_to_int(value: float, ty: str) -> int:
    if math.isnan(value):
        raise Trap(INVALID_CONVERSION)
    if math.isinf(value):
        raise Unspecified("f64 -> u8 of an infinity") if ty == U8 else Trap(
            INVALID_CONVERSION, OUT_OF_RANGE_ALTERNATIVES
        )
    truncated = math.trunc(value)
    if MIN[ty] <= truncated <= MAX[ty]:
        return truncated
    if ty == U8:
        raise Unspecified("f64 -> u8 outside 0..255")
    raise Trap(INVALID_CONVERSION, OUT_OF_RANGE_ALTERNATIVES)


def format_value(value: object, ty: str) -> str:
    """The text `println` writes for one scalar."""
    if ty == BOOL:
        return "true" if value else "false"
    if ty == F64:
        return format_f64(value)  # type: ignore[arg-type]
    return str(value)


def format_f64(value: float) -> str:
    """Shortest round-trip text, Python `repr` style; NaN is canonical, so always `nan`."""
    if math.isnan(value):
        return "nan"
    return repr(value)


# ---------------------------------------------------------------------------------------------
# The interpreter
# ---------------------------------------------------------------------------------------------


@dataclass
class Frame:
    """One function activation: a stack of block scopes mapping names to values."""

    scopes: list[dict[str, object]] = field(default_factory=lambda: [{}])

    def lookup(self, name: str) -> object:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        raise KeyError(name)

    def assign(self, name: str, value: object) -> None:
        for scope in reversed(self.scopes):
            if name in scope:
                scope[name] = value
                return
        raise KeyError(name)

    def define(self, name: str, value: object) -> None:
        self.scopes[-1][name] = value


class Interpreter:
    def __init__(self, program: Program) -> None:
        self.functions = {function.name: function for function in program.functions}
        self.out: list[str] = []

    # -- expressions --------------------------------------------------------------------------

    def eval(self, expr: Expr, frame: Frame) -> object:
        method = getattr(self, "eval_" + type(expr).__name__)
        return method(expr, frame)

    def eval_Lit(self, expr: Lit, frame: Frame) -> object:
        return expr.value

    def eval_Var(self, expr: Var, frame: Frame) -> object:
        return frame.lookup(expr.name)

    def eval_Unary(self, expr: Unary, frame: Frame) -> object:
        return unary(expr.op, self.eval(expr.operand, frame), expr.ty)

    def eval_Binary(self, expr: Binary, frame: Frame) -> object:
        left = self.eval(expr.left, frame)
        right = self.eval(expr.right, frame)
        return binary(expr.op, left, right, expr.ty)

    def eval_Logic(self, expr: Logic, frame: Frame) -> object:
        left = self.eval(expr.left, frame)
        if expr.op == "&&":
            return self.eval(expr.right, frame) if left else False
        return True if left else self.eval(expr.right, frame)

    def eval_Cast(self, expr: Cast, frame: Frame) -> object:
        return cast(self.eval(expr.operand, frame), expr.from_ty, expr.to_ty)

    def eval_IfExpr(self, expr: IfExpr, frame: Frame) -> object:
        branch = expr.then if self.eval(expr.cond, frame) else expr.else_
        return self.eval(branch, frame)

    def eval_Call(self, expr: Call, frame: Frame) -> object:
        args = [self.eval(arg, frame) for arg in expr.args]
        return self.call(self.functions[expr.func], args)

    def eval_FloatMethod(self, expr: FloatMethod, frame: Frame) -> object:
        receiver = self.eval(expr.receiver, frame)
        arg = None if expr.arg is None else self.eval(expr.arg, frame)
        return float_method(expr.name, receiver, arg)  # type: ignore[arg-type]

    def eval_Index(self, expr: Index, frame: Frame) -> object:
        target = self.eval(expr.target, frame)
        return target[self.wrapped_index(expr, target, frame)]  # type: ignore[index]

    def wrapped_index(self, expr: Index, target: object, frame: Frame) -> int:
        """Evaluate `((i % n) + n) % n` with the i32 rules, as the rendered source does."""
        raw = self.eval(expr.index, frame)
        length = len(target) if expr.is_vec else expr.length  # type: ignore[arg-type]
        inner = int_binary("+", int_rem(raw, length, I32), length, I32)  # type: ignore[arg-type]
        return int_rem(inner, length, I32)  # type: ignore[arg-type]

    def eval_Len(self, expr: Len, frame: Frame) -> object:
        return len(self.eval(expr.target, frame))  # type: ignore[arg-type]

    def eval_FieldGet(self, expr: FieldGet, frame: Frame) -> object:
        return self.eval(expr.target, frame)[expr.field]  # type: ignore[index]

    def eval_StructLit(self, expr: StructLit, frame: Frame) -> object:
        return {name: self.eval(value, frame) for name, value in expr.fields}

    def eval_ArrayLit(self, expr: ArrayLit, frame: Frame) -> object:
        return [self.eval(item, frame) for item in expr.items]

    def eval_ArrayRepeat(self, expr: ArrayRepeat, frame: Frame) -> object:
        return [expr.value.value] * expr.count

    def eval_VecNew(self, expr: VecNew, frame: Frame) -> object:
        if expr.count is None:
            return []
        count = self.eval(expr.count, frame)
        value = self.eval(expr.value, frame)  # type: ignore[arg-type]
        return [value] * count  # type: ignore[operator]

    # -- statements ---------------------------------------------------------------------------

    def run_block(self, stmts: tuple[Stmt, ...], frame: Frame) -> None:
        frame.scopes.append({})
        try:
            for stmt in stmts:
                self.exec(stmt, frame)
        finally:
            frame.scopes.pop()

    def exec(self, stmt: Stmt, frame: Frame) -> None:
        getattr(self, "exec_" + type(stmt).__name__)(stmt, frame)

    def exec_Let(self, stmt: Let, frame: Frame) -> None:
        frame.define(stmt.name, self.eval(stmt.value, frame))

    def exec_Assign(self, stmt: Assign, frame: Frame) -> None:
        target = stmt.target
        if isinstance(target, Var):
            old = frame.lookup(target.name) if stmt.op else None
            value = self.combine(stmt, old, frame)
            frame.assign(target.name, value)
        elif isinstance(target, Index):
            container = self.eval(target.target, frame)
            position = self.wrapped_index(target, container, frame)
            old = container[position] if stmt.op else None  # type: ignore[index]
            container[position] = self.combine(stmt, old, frame)  # type: ignore[index]
        else:
            record = self.eval(target.target, frame)
            old = record[target.field] if stmt.op else None  # type: ignore[index]
            record[target.field] = self.combine(stmt, old, frame)  # type: ignore[index]

    def combine(self, stmt: Assign, old: object, frame: Frame) -> object:
        value = self.eval(stmt.value, frame)
        return value if stmt.op is None else binary(stmt.op, old, value, stmt.ty)

    def exec_Print(self, stmt: Print, frame: Frame) -> None:
        self.out.append(format_value(self.eval(stmt.value, frame), stmt.ty) + "\n")

    def exec_If(self, stmt: If, frame: Frame) -> None:
        if self.eval(stmt.cond, frame):
            self.run_block(stmt.then, frame)
        elif stmt.else_ is not None:
            self.run_block(stmt.else_, frame)

    def exec_While(self, stmt: While, frame: Frame) -> None:
        counter = 0
        while counter < stmt.limit:
            counter += 1
            if not self.loop_body(stmt.body, frame):
                break

    def exec_ForRange(self, stmt: ForRange, frame: Frame) -> None:
        for value in range(stmt.lo, stmt.hi):
            frame.scopes.append({stmt.var: value})
            try:
                if not self.loop_body(stmt.body, frame):
                    break
            finally:
                frame.scopes.pop()

    def exec_ForEach(self, stmt: ForEach, frame: Frame) -> None:
        container = self.eval(stmt.target, frame)
        length = len(container)  # type: ignore[arg-type]  # read once at loop start
        for position in range(length):
            frame.scopes.append({stmt.var: container[position]})  # type: ignore[index]
            try:
                if not self.loop_body(stmt.body, frame):
                    break
            finally:
                frame.scopes.pop()

    def loop_body(self, body: tuple[Stmt, ...], frame: Frame) -> bool:
        """Run one iteration; False when the loop must stop (`break`)."""
        try:
            self.run_block(body, frame)
        except _Break:
            return False
        except _Continue:
            pass
        return True

    def exec_Push(self, stmt: Push, frame: Frame) -> None:
        container = self.eval(stmt.target, frame)
        container.append(self.eval(stmt.value, frame))  # type: ignore[union-attr]

    def exec_CallStmt(self, stmt: CallStmt, frame: Frame) -> None:
        self.eval(stmt.call, frame)

    def exec_Break(self, stmt: Break, frame: Frame) -> None:
        raise _Break()

    def exec_Continue(self, stmt: Continue, frame: Frame) -> None:
        raise _Continue()

    def exec_Return(self, stmt: Return, frame: Frame) -> None:
        raise _Return(None if stmt.value is None else self.eval(stmt.value, frame))

    # -- functions ----------------------------------------------------------------------------

    def call(self, function: Function, args: list[object]) -> object:
        # Parameters, body statements and the trailing expression share one scope chain, so
        # the trailing expression sees the body's bindings.
        frame = Frame([dict(zip((name for name, _ in function.params), args)), {}])
        try:
            for stmt in function.body:
                self.exec(stmt, frame)
            return None if function.result is None else self.eval(function.result, frame)
        except _Return as signal:
            return signal.value


def evaluate(program: Program) -> Outcome:
    """Run `program` and return its stdout and trap. Raises `Unspecified` when the spec is silent."""
    interpreter = Interpreter(program)
    main = Function("main", (), None, program.main, None)
    try:
        interpreter.call(main, [])
    except Trap as trap:
        return Outcome("".join(interpreter.out), trap.message, trap.alternatives)
    return Outcome("".join(interpreter.out), None)

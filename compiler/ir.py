"""Typed intermediate representation: what the checker produces and the lowering consumes.

The checker (check.py) resolves every name and type of the AST and writes the program out in
this form: each expression carries its type, every variable is a numbered `Local` of its
function, every call names its callee by qualified name (`module.func`), constants are folded,
and the sugar that needs no layout knowledge is gone (`&&`/`||` become `If`, string operators
become prelude calls, `Map[V]` operations become prelude calls on 64-bit slots).

What stays for lowering (lower.py) is what depends on memory layout: allocation, field offsets,
vector and array access with bounds checks, enum tags and `match`, contracts, printing.
Nothing here depends on dict order or object identity, so lowering is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .diagnostics import Span


# --- Types -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Type:
    """Base of all types. Types compare by value."""


@dataclass(frozen=True)
class Prim(Type):
    name: str  # "i32" "i64" "u8" "f32" "f64" "bool" "str" "unit"

    def __str__(self) -> str:
        return "()" if self.name == "unit" else self.name


@dataclass(frozen=True)
class ArrayT(Type):
    elem: Type
    size: int

    def __str__(self) -> str:
        return f"[{self.elem}; {self.size}]"


@dataclass(frozen=True)
class VecT(Type):
    elem: Type

    def __str__(self) -> str:
        return f"Vec[{self.elem}]"


@dataclass(frozen=True)
class MapT(Type):
    value: Type

    def __str__(self) -> str:
        return f"Map[{self.value}]"


@dataclass(frozen=True)
class StructT(Type):
    name: str  # qualified: "module.Name"

    def __str__(self) -> str:
        return self.name.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class EnumT(Type):
    name: str  # qualified: "module.Name"

    def __str__(self) -> str:
        return self.name.rsplit(".", 1)[-1]


I32 = Prim("i32")
I64 = Prim("i64")
U8 = Prim("u8")
F32 = Prim("f32")
F64 = Prim("f64")
BOOL = Prim("bool")
STR = Prim("str")
UNIT = Prim("unit")

INTEGER_TYPES = (I32, I64, U8)
FLOAT_TYPES = (F32, F64)
NUMERIC_TYPES = INTEGER_TYPES + FLOAT_TYPES
SCALAR_TYPES = NUMERIC_TYPES + (BOOL,)


def is_reference(t: Type) -> bool:
    """True for types represented as an i32 pointer into the arena."""
    return not (isinstance(t, Prim) and t.name != "str")


# --- Declarations ------------------------------------------------------------------------

@dataclass
class Local:
    index: int          # unique within its function; parameters come first
    name: str
    type: Type
    mutable: bool = False


@dataclass
class StructDef:
    name: str                              # qualified
    fields: list[tuple[str, Type]]


@dataclass
class Variant:
    name: str
    tag: int
    fields: list[Type]


@dataclass
class EnumDef:
    name: str                              # qualified
    variants: list[Variant]


@dataclass
class Contract:
    kind: str          # "requires" "ensures" "assert" "invariant"
    cond: "Expr"
    message: str       # full trap message, e.g. "requires failed: n >= 0 at fib.syn:3"
    span: Span
    ghost: bool = False    # proved by the verifier only: never compiled into a check


@dataclass
class Function:
    name: str                              # qualified: "module.func"
    params: list[Local]
    result: Type
    locals: list[Local]                    # every local, parameters first, in index order
    body: "Expr | None"                    # None for externs
    requires: list[Contract] = field(default_factory=list)
    ensures: list[Contract] = field(default_factory=list)
    result_local: Local | None = None      # the `result` binding of ensures clauses
    decreases: list["Expr"] = field(default_factory=list)  # recursion measure (verifier)
    has_ghosts: bool = False               # some contract of it or in its body is `ghost`
    extern_module: str | None = None       # set for `extern` host imports
    extern_name: str | None = None
    span: Span | None = None


@dataclass
class Program:
    functions: dict[str, Function]         # insertion order = declaration order
    structs: dict[str, StructDef]
    enums: dict[str, EnumDef]
    entry: str | None                      # "main.main", or None for a library
    arena_bytes: int
    exports: list[str] = field(default_factory=list)  # extra functions to export (libraries)


# --- Expressions -------------------------------------------------------------------------
# Every expression has a `type` and a `span`. Statements are expressions of type unit.

@dataclass
class Expr:
    type: Type
    span: Span


@dataclass
class IntConst(Expr):
    value: int                             # already wrapped into the type's range


@dataclass
class FloatConst(Expr):
    value: float


@dataclass
class BoolConst(Expr):
    value: bool


@dataclass
class StrConst(Expr):
    value: bytes


@dataclass
class Unit(Expr):
    pass


@dataclass
class LocalGet(Expr):
    local: Local


@dataclass
class Let(Expr):                           # type unit
    local: Local
    value: Expr


@dataclass
class LocalSet(Expr):                      # type unit
    local: Local
    value: Expr


@dataclass
class Binary(Expr):
    """Arithmetic, bitwise and comparison on numbers and bools; `type` is the result type.

    op: add sub mul div rem and or xor shl shr eq ne lt le gt ge; on floats also min max
    copysign.
    Both operands have `operand_type` (a numeric type, or bool for eq/ne/and/or/xor).
    """
    op: str
    left: Expr
    right: Expr
    operand_type: Type


@dataclass
class Unary(Expr):
    op: str     # "neg" "not" (bool) "bitnot" (integers); on floats also "sqrt" "abs" "floor"
                #  "ceil" "trunc" "nearest"
    operand: Expr


@dataclass
class Cast(Expr):
    operand: Expr                          # numeric or bool -> numeric; `type` is the target


@dataclass
class ToSlot(Expr):
    """Encode a value of any type into an i64 map slot (type is i64)."""
    operand: Expr


@dataclass
class FromSlot(Expr):
    """Decode an i64 map slot into `type`."""
    operand: Expr


@dataclass
class Call(Expr):
    func: str                              # qualified function name (user, prelude or extern)
    args: list[Expr]


@dataclass
class Intrinsic(Expr):
    """Prelude-only primitives: __alloc, __load_u8/__store_u8, __load_i32/__store_i32,
    __load_i64/__store_i64, __load_f32/__store_f32, __load_f64/__store_f64, __memcpy,
    __addr (reference -> i32), __str_at / __vec_at (i32 -> reference, `type` says which),
    __heap_ptr, __arena_size."""
    name: str
    args: list[Expr]


@dataclass
class If(Expr):
    cond: Expr
    then: Expr
    else_: Expr | None                     # None only when type is unit


@dataclass
class Block(Expr):
    stmts: list[Expr]
    value: Expr | None                     # trailing expression; None means unit


@dataclass
class While(Expr):                         # type unit
    cond: Expr
    body: Expr
    invariants: list[Contract]
    decreases: list[Expr] = field(default_factory=list)   # termination measure (verifier)


@dataclass
class ForRange(Expr):                      # type unit; var runs start..end (exclusive)
    var: Local
    start: Expr
    end: Expr
    end_local: Local                       # holds `end`, evaluated once
    body: Expr
    invariants: list[Contract]


@dataclass
class ForEach(Expr):                       # type unit; over a Vec or array
    var: Local
    seq: Expr
    seq_local: Local                       # holds the sequence reference
    index_local: Local                     # hidden counter
    len_local: Local                       # length read once at loop start
    body: Expr
    invariants: list[Contract]


@dataclass
class Forall(Expr):                        # type bool: `forall var in start..end: body`
    var: Local
    start: Expr
    end: Expr
    end_local: Local
    result_local: Local
    body: Expr


@dataclass
class Exists(Forall):                      # type bool: `exists var in start..end: body`
    pass


@dataclass
class Break(Expr):
    pass


@dataclass
class Continue(Expr):
    pass


@dataclass
class Return(Expr):                        # type is "never"; represented as unit
    value: Expr | None


@dataclass
class Check(Expr):                         # type unit: `assert` and other contract checks
    contract: Contract


@dataclass
class Print(Expr):                         # type unit
    args: list[Expr]                       # scalars and str
    newline: bool


@dataclass
class Panic(Expr):                         # type unit (never returns)
    message: Expr                          # str


# Sequences: Vec[T] and [T; N] share one layout.

@dataclass
class ArrayLit(Expr):                      # type ArrayT or VecT
    elems: list[Expr]


@dataclass
class ArrayRepeat(Expr):                   # [value; count] -> ArrayT, Vec[T](count, value) -> VecT
    value: Expr
    count: Expr                            # i32


@dataclass
class VecNew(Expr):                        # empty Vec[T]
    pass


@dataclass
class Index(Expr):                         # seq[i] on Vec/array; str[i] gives u8
    seq: Expr
    index: Expr
    location: str                          # "FILE:LINE:COL" for the bounds-check message


@dataclass
class IndexSet(Expr):                      # type unit
    seq: Expr
    index: Expr
    value: Expr
    location: str


@dataclass
class SeqMethod(Expr):
    """Built-in methods of Vec/array/str: len, push, pop, clear."""
    method: str
    target: Expr
    args: list[Expr]
    location: str


# Structs and enums.

@dataclass
class StructNew(Expr):
    struct: str                            # qualified
    fields: list[tuple[int, Expr]]         # (field index, value) in source order


@dataclass
class FieldGet(Expr):
    obj: Expr
    struct: str
    field_index: int


@dataclass
class FieldSet(Expr):                      # type unit
    obj: Expr
    struct: str
    field_index: int
    value: Expr


@dataclass
class EnumNew(Expr):
    enum: str                              # qualified
    tag: int
    args: list[Expr]


# Patterns for `match`.

@dataclass
class Pattern:
    span: Span


@dataclass
class PWild(Pattern):
    pass


@dataclass
class PBind(Pattern):
    local: Local


@dataclass
class PLit(Pattern):
    value: Expr                            # IntConst, BoolConst or StrConst


@dataclass
class PVariant(Pattern):
    enum: str
    tag: int
    fields: list[Pattern]


@dataclass
class Arm:
    pattern: Pattern
    body: Expr


@dataclass
class Match(Expr):
    scrutinee: Expr
    scrutinee_local: Local                 # holds the scrutinee while arms are tested
    arms: list[Arm]

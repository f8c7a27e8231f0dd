"""Abstract syntax tree: what the parser produces from one `.syn` file.

One frozen dataclass per grammar rule of syntax.lark, named after the rule in PascalCase.
Every node carries the `Span` of the source it came from. The tree is untyped and unresolved:
names are plain strings; the checker (check.py) resolves them and builds the typed IR.
"""

from __future__ import annotations

from dataclasses import dataclass

from .diagnostics import Span


@dataclass(frozen=True)
class Node:
    span: Span


# --- Types ------------------------------------------------------------------------------

@dataclass(frozen=True)
class TypeName(Node):
    name: str


@dataclass(frozen=True)
class VecType(Node):
    elem: "TypeExpr"


@dataclass(frozen=True)
class MapType(Node):
    value: "TypeExpr"


@dataclass(frozen=True)
class ArrayType(Node):
    elem: "TypeExpr"
    size: int | str          # a literal, or the name of a constant
    size_span: Span


TypeExpr = TypeName | VecType | MapType | ArrayType


# --- Expressions ------------------------------------------------------------------------

@dataclass(frozen=True)
class IntLit(Node):
    value: int
    suffix: str | None


@dataclass(frozen=True)
class FloatLit(Node):
    value: float
    suffix: str | None


@dataclass(frozen=True)
class StrLit(Node):
    value: bytes


@dataclass(frozen=True)
class CharLit(Node):
    value: int


@dataclass(frozen=True)
class BoolLit(Node):
    value: bool


@dataclass(frozen=True)
class UnitLit(Node):
    pass


@dataclass(frozen=True)
class Name(Node):
    name: str


@dataclass(frozen=True)
class Binary(Node):
    op: str
    left: "Expr"
    right: "Expr"


@dataclass(frozen=True)
class Unary(Node):
    op: str                  # "-" "!" "~" "+"
    operand: "Expr"


@dataclass(frozen=True)
class Cast(Node):
    operand: "Expr"
    target: TypeExpr


@dataclass(frozen=True)
class Arg(Node):
    name: str | None         # set for `name: value` arguments (struct literals)
    value: "Expr"


@dataclass(frozen=True)
class Call(Node):
    callee: "Expr"
    args: tuple[Arg, ...]


@dataclass(frozen=True)
class Index(Node):
    target: "Expr"
    index: "Expr"


@dataclass(frozen=True)
class Field(Node):
    target: "Expr"
    name: str
    name_span: Span


@dataclass(frozen=True)
class ArrayLit(Node):
    elems: tuple["Expr", ...]


@dataclass(frozen=True)
class ArrayRepeat(Node):
    value: "Expr"
    count: "Expr"


@dataclass(frozen=True)
class VecNew(Node):
    elem: TypeExpr
    args: tuple[Arg, ...]


@dataclass(frozen=True)
class MapNew(Node):
    value: TypeExpr
    args: tuple[Arg, ...]


@dataclass(frozen=True)
class Block(Node):
    stmts: tuple["Stmt", ...]
    tail: "Expr | None"


@dataclass(frozen=True)
class IfExpr(Node):
    cond: "Expr"
    then: Block
    else_: "Block | IfExpr | None"


@dataclass(frozen=True)
class PatWild(Node):
    pass


@dataclass(frozen=True)
class PatName(Node):
    name: str                # a binding, or a nullary variant when one is in scope


@dataclass(frozen=True)
class PatVariant(Node):
    enum: str | None         # `Expr.Num(...)` gives "Expr"
    name: str
    name_span: Span
    fields: tuple["Pattern", ...] | None   # None: written without parentheses


@dataclass(frozen=True)
class PatLit(Node):
    value: "IntLit | CharLit | StrLit | BoolLit"


Pattern = PatWild | PatName | PatVariant | PatLit


@dataclass(frozen=True)
class Arm(Node):
    pattern: Pattern
    body: "Expr"


@dataclass(frozen=True)
class Quantifier(Node):
    kind: str                # "forall" | "exists"
    var: str
    var_span: Span
    start: "Expr"
    end: "Expr"
    body: "Expr"


@dataclass(frozen=True)
class MatchExpr(Node):
    scrutinee: "Expr"
    arms: tuple[Arm, ...]


Expr = (IntLit | FloatLit | StrLit | CharLit | BoolLit | UnitLit | Name | Binary | Unary | Cast
        | Call | Index | Field | ArrayLit | ArrayRepeat | VecNew | MapNew | Block | IfExpr
        | MatchExpr | Quantifier)


# --- Statements -------------------------------------------------------------------------

@dataclass(frozen=True)
class LetStmt(Node):
    name: str
    name_span: Span
    type: TypeExpr | None
    value: Expr
    mutable: bool


@dataclass(frozen=True)
class AssignStmt(Node):
    target: Expr
    op: str                  # "=" "+=" ...
    value: Expr


@dataclass(frozen=True)
class ExprStmt(Node):
    expr: Expr
    semicolon: bool          # False for block-like expressions standing alone


@dataclass(frozen=True)
class Invariant(Node):
    cond: Expr
    text: str
    ghost: bool = False      # `ghost invariant`: read by the verifier, never checked at run time


@dataclass(frozen=True)
class WhileStmt(Node):
    cond: Expr
    invariants: tuple[Invariant, ...]
    body: Block
    decreases: tuple[Expr, ...] = ()


@dataclass(frozen=True)
class ForRangeStmt(Node):
    var: str
    var_span: Span
    start: Expr
    end: Expr
    invariants: tuple[Invariant, ...]
    body: Block


@dataclass(frozen=True)
class ForEachStmt(Node):
    var: str
    var_span: Span
    seq: Expr
    invariants: tuple[Invariant, ...]
    body: Block


@dataclass(frozen=True)
class ReturnStmt(Node):
    value: Expr | None


@dataclass(frozen=True)
class BreakStmt(Node):
    pass


@dataclass(frozen=True)
class ContinueStmt(Node):
    pass


@dataclass(frozen=True)
class AssertStmt(Node):
    cond: Expr
    message: bytes | None
    text: str
    ghost: bool = False


@dataclass(frozen=True)
class EmptyStmt(Node):
    pass


Stmt = (LetStmt | AssignStmt | ExprStmt | WhileStmt | ForRangeStmt | ForEachStmt | ReturnStmt
        | BreakStmt | ContinueStmt | AssertStmt | EmptyStmt)


# --- Items ------------------------------------------------------------------------------

@dataclass(frozen=True)
class ImportDecl(Node):
    path: tuple[str, ...]
    path_span: Span


@dataclass(frozen=True)
class ArenaDecl(Node):
    size: int
    size_span: Span


@dataclass(frozen=True)
class ConstDecl(Node):
    name: str
    name_span: Span
    type: TypeExpr
    value: Expr


@dataclass(frozen=True)
class FieldDecl(Node):
    name: str
    type: TypeExpr


@dataclass(frozen=True)
class StructDecl(Node):
    name: str
    name_span: Span
    fields: tuple[FieldDecl, ...]


@dataclass(frozen=True)
class VariantDecl(Node):
    name: str
    fields: tuple[TypeExpr, ...]


@dataclass(frozen=True)
class EnumDecl(Node):
    name: str
    name_span: Span
    variants: tuple[VariantDecl, ...]


@dataclass(frozen=True)
class Param(Node):
    name: str
    type: TypeExpr


@dataclass(frozen=True)
class Contract(Node):
    kind: str                # "requires" | "ensures" | "decreases"
    cond: Expr
    text: str
    measures: tuple[Expr, ...] = ()   # `decreases a, b`: every measure, `cond` is the first
    ghost: bool = False


@dataclass(frozen=True)
class FnDecl(Node):
    name: str
    name_span: Span
    params: tuple[Param, ...]
    result: TypeExpr | None
    contracts: tuple[Contract, ...]
    body: Block


@dataclass(frozen=True)
class ExternDecl(Node):
    module: str
    module_span: Span
    name: str
    name_span: Span
    params: tuple[Param, ...]
    result: TypeExpr | None


Item = ImportDecl | ArenaDecl | ConstDecl | StructDecl | EnumDecl | FnDecl | ExternDecl


@dataclass(frozen=True)
class Module:
    file: str                # the file name as given (relative paths stay relative)
    name: str                # module name: the file's stem (`strings` for strings.syn)
    items: tuple[Item, ...]


def path_of(e: Expr) -> list[str] | None:
    """`a.b.c` as ["a", "b", "c"] when the expression is made of names only."""
    parts: list[str] = []
    while isinstance(e, Field):
        parts.append(e.name)
        e = e.target
    if not isinstance(e, Name):
        return None
    parts.append(e.name)
    return parts[::-1]

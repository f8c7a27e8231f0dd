"""Parsing: `.syn` source text to the AST of one module.

Input is the text of one file (already decoded from UTF-8 by the loader); output is an
`ast.Module`, or a `CompileError` with located diagnostics (E00xx). The grammar is
syntax.lark, run by lark's LALR parser with the contextual lexer; this module turns lark's
tree into frozen AST dataclasses, decodes literals, and enforces the lexical rules the grammar
cannot say (keywords are not names, literal ranges, escapes, nesting depth).
"""

from __future__ import annotations

import dataclasses
import functools
import threading
from pathlib import Path
from typing import Any, cast

import lark
from lark import Lark, Token, Tree

from . import ast
from .diagnostics import CompileError, Diagnostic, Span

PRECEDENCE = {"||": 1, "&&": 2, "==": 3, "!=": 3, "<": 3, "<=": 3, ">": 3, ">=": 3,
              "|": 4, "^": 5, "&": 6, "<<": 7, ">>": 7, "+": 8, "-": 8, "*": 9, "/": 9, "%": 9}
COMPARISON_LEVEL = 3
KEYWORDS = frozenset(
    "fn let var if else while for in match return break continue struct enum import extern "
    "const requires ensures invariant decreases ghost forall exists assert as true false and arena "
    "Vec Map".split()
)
MAX_NESTING = 200        # brackets open at once
MAX_TREE_DEPTH = 1000    # syntax tree depth (long chains of casts, calls, fields)
INT_LIMITS = {"i32": (-(2**31), 2**32 - 1), "i64": (-(2**63), 2**64 - 1), "u8": (0, 255)}


_lock = threading.Lock()


@functools.cache
def _grammar() -> str:
    return (Path(__file__).parent / "syntax.lark").read_text()


@functools.cache
def _parser() -> Lark:
    """The plain parser: builds a lark tree (used for error reporting and tooling)."""
    return Lark(_grammar(), parser="lalr", lexer="contextual", propagate_positions=True,
                maybe_placeholders=True, start="start")


@functools.cache
def _builder() -> "_AstBuilder":
    return _AstBuilder("", "")


def parse_file(file: str, text: str, module_name: str | None = None) -> ast.Module:
    """Parse one file. Raises CompileError with every diagnostic found."""
    name = module_name or Path(file).stem
    deep = _nesting_error(file, text)
    if deep is not None:
        raise CompileError([deep])
    try:
        tree = _parser().parse(text)
    except lark.exceptions.UnexpectedInput as e:
        raise CompileError([_syntax_diagnostic(file, text, e)]) from None
    if len(text) > MAX_TREE_DEPTH:   # a shorter text cannot make a tree that deep
        deep = _tree_too_deep(file, tree)
        if deep is not None:
            raise CompileError([deep])
    with _lock:
        builder = _builder()
        builder.reset(file, text)
        items = cast("list[ast.Item]", builder.transform(tree))  # the `start` rule's list
        errors = builder.errors
    if errors:
        raise CompileError(errors)
    return ast.Module(file=file, name=name, items=tuple(items))


_OPENERS = {"(": ")", "[": "]", "{": "}"}


def _tree_too_deep(file: str, tree: Tree) -> Diagnostic | None:
    """E0007 for trees deeper than MAX_TREE_DEPTH (long chains of casts or calls)."""
    stack: list[tuple[Tree, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_TREE_DEPTH:
            meta = node.meta
            line, col = (meta.line, meta.column) if not meta.empty else (1, 1)
            return _too_deep(file, line, col)
        for child in node.children:
            if isinstance(child, Tree):
                stack.append((child, depth + 1))
    return None


def _nesting_error(file: str, text: str) -> Diagnostic | None:
    """E0007 when brackets nest deeper than MAX_NESTING or operators chain absurdly deep.

    A quick scan that skips comments and literals; the parser itself is iterative, but the
    later phases walk the tree recursively, so their depth is bounded here.
    """
    depth = 0
    line, col = 1, 1
    i, n = 0, len(text)
    unary_run = 0
    while i < n:
        ch = text[i]
        if ch == "\n":
            line, col = line + 1, 1
            i += 1
            continue
        if ch == "/" and text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            col += j - i
            i = j
            continue
        if ch == "/" and text.startswith("/*", i):
            j = text.find("*/", i + 2)
            if j < 0:
                return Diagnostic("E0003", "unterminated block comment",
                                  Span.point(file, line, col))
            newlines = text.count("\n", i, j)
            if newlines:
                line += newlines
                col = j + 2 - text.rfind("\n", i, j)
            else:
                col += j + 2 - i
            i = j + 2
            continue
        if ch in "\"'":
            j = i + 1
            while j < n and text[j] != ch and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            col += j + 1 - i
            i = j + 1
            continue
        if ch in _OPENERS:
            depth += 1
            if depth > MAX_NESTING:
                return _too_deep(file, line, col)
        elif ch in ")]}":
            depth = max(0, depth - 1)
        if ch in "-!~":
            unary_run += 1
            if unary_run > MAX_NESTING:
                return _too_deep(file, line, col)
        elif not ch.isspace():
            unary_run = 0
        i += 1
        col += 1
    return None


def _too_deep(file: str, line: int, col: int) -> Diagnostic:
    return Diagnostic("E0007", f"nesting too deep (more than {MAX_NESTING} levels)",
                      Span.point(file, line, col))


def _syntax_diagnostic(file: str, text: str, e: lark.exceptions.UnexpectedInput) -> Diagnostic:
    if isinstance(e, lark.exceptions.UnexpectedEOF) or (
            isinstance(e, lark.exceptions.UnexpectedToken) and e.token.type == "$END"):
        line, col = _end_position(text)
        return Diagnostic("E0008", "unexpected end of file", Span.point(file, line, col))
    if isinstance(e, lark.exceptions.UnexpectedCharacters):
        line, col = e.line, e.column
        assert e.pos_in_stream is not None  # the lexer always says where it stopped
        ch = text[e.pos_in_stream] if e.pos_in_stream < len(text) else ""
        rest = text[e.pos_in_stream:e.pos_in_stream + 2]
        if ch in "\"'":
            kind = "string" if ch == '"' else "character"
            return Diagnostic("E0003", f"unterminated {kind} literal", Span.point(file, line, col))
        if rest == "/*":
            return Diagnostic("E0003", "unterminated block comment", Span.point(file, line, col))
        shown = repr(ch) if ch.isprintable() else f"U+{ord(ch):04X}" if ch else "end of input"
        return Diagnostic("E0002", f"unexpected character {shown}", Span.point(file, line, col))
    assert isinstance(e, lark.exceptions.UnexpectedToken)
    tok = e.token
    expected = sorted(_describe_terminal(t) for t in (e.expected or ()))
    hint = ""
    if expected:
        shown = ", ".join(expected[:8]) + (", ..." if len(expected) > 8 else "")
        hint = f"; expected {shown}"
    width = max(1, len(str(tok)))
    span = Span(file, tok.line, tok.column, tok.line, tok.column + width)
    return Diagnostic("E0001", f"unexpected {_describe_token(tok)}{hint}", span)


_TERMINAL_TEXT = {
    "LPAR": "'('", "RPAR": "')'", "LBRACE": "'{'", "RBRACE": "'}'", "LSQB": "'['",
    "RSQB": "']'", "SEMICOLON": "';'", "COMMA": "','", "COLON": "':'", "DOT": "'.'",
    "EQUAL": "'='", "NAME": "a name", "INT": "an integer", "FLOAT": "a float",
    "STRING": "a string", "CHAR": "a character", "MORETHAN": "'>'", "LESSTHAN": "'<'",
}


def _describe_terminal(name: str) -> str:
    if name in _TERMINAL_TEXT:
        return _TERMINAL_TEXT[name]
    try:
        pattern = _parser().get_terminal(name).pattern
        if pattern.type == "str":
            return repr(pattern.value)
    except KeyError:
        pass
    return name.lower().replace("_", " ")


def _describe_token(tok: Token) -> str:
    if tok.type in ("NAME",):
        return f"name '{tok}'"
    if tok.type in ("INT", "FLOAT", "STRING", "CHAR"):
        return f"{tok.type.lower()} {str(tok)[:20]}"
    return f"'{tok}'"


def _end_position(text: str) -> tuple[int, int]:
    lines = text.split("\n")
    return len(lines), len(lines[-1]) + 1


# --- Tree to AST ------------------------------------------------------------------------

def _unescape(raw: str, file: str, line: int, col: int, errors: list[Diagnostic]) -> bytes:
    """Decode the body of a string or char literal (quotes removed) to UTF-8 bytes."""
    out = bytearray()
    i = 0
    simple = {"n": 10, "t": 9, "r": 13, "0": 0, "\\": 92, '"': 34, "'": 39}
    while i < len(raw):
        c = raw[i]
        if c != "\\":
            out += c.encode("utf-8", "surrogatepass")
            i += 1
            continue
        nxt = raw[i + 1] if i + 1 < len(raw) else ""
        if nxt in simple:
            out.append(simple[nxt])
            i += 2
        elif nxt == "x" and len(raw) >= i + 4 and all(h in "0123456789abcdefABCDEF"
                                                      for h in raw[i + 2:i + 4]):
            out.append(int(raw[i + 2:i + 4], 16))
            i += 4
        else:
            errors.append(Diagnostic("E0004", f"invalid escape sequence '\\{nxt}'",
                                     Span.point(file, line, col + 1 + i)))
            i += 2
    return bytes(out)


class _AstBuilder:
    """Builds AST nodes bottom-up; one method per grammar rule (or alias)."""

    def __init__(self, file: str, text: str):
        self.reset(file, text)

    def transform(self, tree: Tree) -> object:
        """Build the AST bottom-up: each rule's method gets its meta and built children.

        An explicit stack instead of recursion (and instead of lark's Transformer, whose
        per-call wrappers cost a third of the parse time)."""
        methods: dict[str, Any] = {}
        results: list[object] = []
        stack: list[tuple[object, bool]] = [(tree, False)]
        while stack:
            node, built = stack.pop()
            if not isinstance(node, Tree):      # a token, or None for an absent [optional]
                results.append(node)
            elif built:
                n = len(node.children)
                children = results[len(results) - n:]
                del results[len(results) - n:]
                method = methods.get(node.data)
                if method is None:
                    method = methods[node.data] = getattr(self, node.data)
                results.append(method(node.meta, children))
            else:
                stack.append((node, True))
                stack.extend((child, False) for child in reversed(node.children))
        return results[0]

    def reset(self, file: str, text: str) -> None:
        self.file = file
        self.text = text
        self.errors: list[Diagnostic] = []
        self._line_starts = [0]
        pos = text.find("\n")
        while pos >= 0:
            self._line_starts.append(pos + 1)
            pos = text.find("\n", pos + 1)

    # Spans and names.

    def span(self, meta) -> Span:
        if meta.empty:
            return Span.point(self.file, 1, 1)
        return Span(self.file, meta.line, meta.column, meta.end_line, meta.end_column)

    def tspan(self, tok: Token) -> Span:
        assert tok.line is not None and tok.column is not None  # every token is from the lexer
        return Span(self.file, tok.line, tok.column, tok.end_line or tok.line,
                    tok.end_column or tok.column + len(tok))

    def source_of(self, span: Span) -> str:
        start = self._line_starts[span.line - 1] + span.col - 1
        end = self._line_starts[span.end_line - 1] + span.end_col - 1
        return " ".join(self.text[start:end].split())

    def name(self, tok: Token) -> str:
        if str(tok) in KEYWORDS:
            self.errors.append(Diagnostic(
                "E0001", f"unexpected keyword '{tok}'; expected a name", self.tspan(tok)))
        return str(tok)

    # Items.

    def start(self, meta, items):
        return items

    def import_decl(self, meta, children):
        (path, path_span), = children
        return ast.ImportDecl(self.span(meta), path, path_span)

    def module_path(self, meta, names):
        return tuple(self.name(n) for n in names), self.span(meta)

    def arena_decl(self, meta, children):
        size_tok, unit = children
        size = self.int_value(size_tok)[0]
        scale = {None: 1, "KiB": 1024, "MiB": 1024 * 1024}
        unit_text = str(unit) if unit is not None else None
        if unit_text not in scale:
            self.errors.append(Diagnostic("E0009", f"unknown size unit '{unit_text}' "
                                          "(use KiB or MiB)", self.tspan(unit)))
            unit_text = None
        return ast.ArenaDecl(self.span(meta), size * scale[unit_text], self.tspan(size_tok))

    def const_decl(self, meta, children):
        name, typ, _, value = children
        return ast.ConstDecl(self.span(meta), self.name(name), self.tspan(name), typ, value)

    def struct_decl(self, meta, children):
        name, *fields = children
        return ast.StructDecl(self.span(meta), self.name(name), self.tspan(name),
                              tuple(f for f in fields if f is not None))

    def field_decl(self, meta, children):
        name, typ = children
        return ast.FieldDecl(self.tspan(name), self.name(name), typ)

    def enum_decl(self, meta, children):
        name, *variants = children
        return ast.EnumDecl(self.span(meta), self.name(name), self.tspan(name),
                            tuple(v for v in variants if v is not None))

    def variant_decl(self, meta, children):
        name, *types = children
        return ast.VariantDecl(self.tspan(name), self.name(name),
                               tuple(t for t in types if t is not None))

    def fn_decl(self, meta, children):
        name, params, result, *rest = children
        *contracts, body = rest
        return ast.FnDecl(self.span(meta), self.name(name), self.tspan(name), params, result,
                          tuple(contracts), body)

    def extern_decl(self, meta, children):
        module, name, params, result = children
        mod = _unescape(str(module)[1:-1], self.file, module.line, module.column, self.errors)
        return ast.ExternDecl(self.span(meta), mod.decode("utf-8", "replace"),
                              self.tspan(module), self.name(name), self.tspan(name),
                              params, result)

    def params(self, meta, children):
        return tuple(p for p in children if p is not None)

    def param(self, meta, children):
        name, typ = children
        return ast.Param(self.tspan(name), self.name(name), typ)

    def contract(self, meta, children):
        ghost = children[0].type == "GHOST"
        kw, cond, *more = children[1:] if ghost else children
        return ast.Contract(self.span(meta), str(kw), cond, self.source_of(cond.span),
                            (cond, *more), ghost)

    def decreases(self, meta, children):
        return tuple(c for c in children if not isinstance(c, Token))

    def quantifier(self, meta, children):
        kind, var, start, end, body = children
        return ast.Quantifier(self.span(meta), str(kind), self.name(var), self.tspan(var),
                              start, end, body)

    # Types.

    def type_name(self, meta, children):
        (name,) = children
        return ast.TypeName(self.span(meta), self.name(name))

    def qualified_type_name(self, meta, children):
        module, name = children
        return ast.TypeName(self.span(meta), f"{self.name(module)}.{self.name(name)}")

    def vec_type(self, meta, children):
        return ast.VecType(self.span(meta), children[0])

    def map_type(self, meta, children):
        return ast.MapType(self.span(meta), children[0])

    def array_type(self, meta: Any, children: list[Any]) -> ast.ArrayType:
        elem, size = children
        value: int | str = self.int_value(size)[0] if size.type == "INT" else str(size)
        return ast.ArrayType(self.span(meta), elem, value, self.tspan(size))

    # Statements.

    def block(self, meta, children):
        *stmts, tail = children
        out = []
        for s in stmts:
            if isinstance(s, (ast.IfExpr, ast.MatchExpr, ast.Block)):
                s = ast.ExprStmt(s.span, s, semicolon=False)
            out.append(s)
        return ast.Block(self.span(meta), tuple(out), tail)

    def let_stmt(self, meta, children):
        kw, name, typ, _, value = children
        return ast.LetStmt(self.span(meta), self.name(name), self.tspan(name), typ, value,
                           mutable=str(kw) == "var")

    def assign_stmt(self, meta, children):
        target, op, value = children
        return ast.AssignStmt(self.span(meta), target, str(op), value)

    def expr_stmt(self, meta, children):
        return ast.ExprStmt(self.span(meta), children[0], semicolon=True)

    def invariants(self, meta, children):
        out, ghost = [], False
        for c in children:
            if isinstance(c, Token):
                ghost = ghost or c.type == "GHOST"
            else:
                out.append(ast.Invariant(c.span, c, self.source_of(c.span), ghost))
        return tuple(out)

    def while_stmt(self, meta, children):
        cond, invariants, decreases, body = children
        return ast.WhileStmt(self.span(meta), cond, invariants, body, decreases)

    def for_range_stmt(self, meta, children):
        var, start, end, invariants, body = children
        return ast.ForRangeStmt(self.span(meta), self.name(var), self.tspan(var), start, end,
                                invariants, body)

    def for_each_stmt(self, meta, children):
        var, seq, invariants, body = children
        return ast.ForEachStmt(self.span(meta), self.name(var), self.tspan(var), seq,
                               invariants, body)

    def return_stmt(self, meta, children):
        return ast.ReturnStmt(self.span(meta), children[0] if children else None)

    def break_stmt(self, meta, children):
        return ast.BreakStmt(self.span(meta))

    def continue_stmt(self, meta, children):
        return ast.ContinueStmt(self.span(meta))

    def assert_stmt(self, meta, children):
        ghost = children[0].type == "GHOST"
        cond = children[2 if ghost else 1]
        message = None
        tok = children[-1]
        if isinstance(tok, Token) and tok.type == "STRING":
            message = _unescape(str(tok)[1:-1], self.file, tok.line, tok.column, self.errors)
        return ast.AssertStmt(self.span(meta), cond, message, self.source_of(cond.span),
                              ghost)

    def empty_stmt(self, meta, children):
        return ast.EmptyStmt(self.span(meta))

    # Expressions.

    def if_expr(self, meta, children):
        cond, then = children[1], children[2]
        else_ = children[4] if len(children) > 4 else None
        return ast.IfExpr(self.span(meta), cond, then, else_)

    def match_expr(self, meta, children):
        scrutinee = children[1]
        arms = tuple(a for a in children[2:] if a is not None)
        return ast.MatchExpr(self.span(meta), scrutinee, arms)

    def arm(self, meta, children):
        return ast.Arm(self.span(meta), children[0], children[1])

    last_arm = arm

    def pat_wild(self, meta, children):
        return ast.PatWild(self.span(meta))

    def pat_name(self, meta, children):
        return ast.PatName(self.span(meta), self.name(children[0]))

    def pat_variant(self, meta, children):
        name, *fields = children
        subs = tuple(f for f in fields if f is not None)
        return ast.PatVariant(self.span(meta), None, self.name(name), self.tspan(name), subs)

    def pat_qualified(self, meta, children):
        enum, name = children
        return ast.PatVariant(self.span(meta), self.name(enum), self.name(name),
                              self.tspan(name), None)

    def pat_qualified_variant(self, meta, children):
        enum, name, *fields = children
        subs = tuple(f for f in fields if f is not None)
        return ast.PatVariant(self.span(meta), self.name(enum), self.name(name),
                              self.tspan(name), subs)

    def pat_int(self, meta, children):
        return ast.PatLit(self.span(meta), self.int_lit(meta, children))

    def pat_neg_int(self, meta, children):
        sign, tok = children
        if str(sign) != "-":
            self.errors.append(Diagnostic("E0001", "unexpected '+' in pattern", self.tspan(sign)))
        value, suffix = self.int_value(tok, negative=True)
        return ast.PatLit(self.span(meta), ast.IntLit(self.span(meta), -value, suffix))

    def pat_char(self, meta, children):
        return ast.PatLit(self.span(meta), self.char_lit(meta, children))

    def pat_str(self, meta, children):
        return ast.PatLit(self.span(meta), self.str_lit(meta, children))

    def pat_true(self, meta, children):
        return ast.PatLit(self.span(meta), ast.BoolLit(self.span(meta), True))

    def pat_false(self, meta, children):
        return ast.PatLit(self.span(meta), ast.BoolLit(self.span(meta), False))

    def binary_chain(self, meta, children):
        """Group `a op b op c ...` by precedence (spec/03-expressions.md, precedence table)."""
        operands = children[0::2]
        ops = children[1::2]
        if len(ops) > MAX_TREE_DEPTH:
            tok = ops[MAX_TREE_DEPTH]
            self.errors.append(_too_deep(self.file, tok.line, tok.column))
            return operands[0]
        pos = 0

        def climb(min_level: int) -> ast.Expr:
            nonlocal pos
            left = operands[pos]
            while pos < len(ops) and PRECEDENCE[str(ops[pos])] >= min_level:
                op = ops[pos]
                level = PRECEDENCE[str(op)]
                pos += 1
                right = climb(level + 1)
                if level == COMPARISON_LEVEL and pos < len(ops) and \
                        PRECEDENCE[str(ops[pos])] == COMPARISON_LEVEL:
                    nxt = ops[pos]
                    self.errors.append(Diagnostic(
                        "E0001", f"comparison operators cannot be chained; use parentheses "
                        f"or `&&` before '{nxt}'", self.tspan(nxt)))
                left = ast.Binary(Span(self.file, left.span.line, left.span.col,
                                       right.span.end_line, right.span.end_col),
                                  str(op), left, right)
            return left

        return climb(0)

    def unary(self, meta, children):
        op, operand = children
        # A negative literal is one literal, so `-2147483648` fits in i32.
        if str(op) == "-" and isinstance(operand, ast.IntLit) and operand.value >= 0 \
                and not getattr(operand, "_negated", False):
            return ast.IntLit(self.span(meta), -operand.value, operand.suffix)
        if str(op) == "-" and isinstance(operand, ast.FloatLit):
            return ast.FloatLit(self.span(meta), -operand.value, operand.suffix)
        return ast.Unary(self.span(meta), str(op), operand)

    def cast(self, meta, children):
        operand, target = children
        return ast.Cast(self.span(meta), operand, target)

    def call(self, meta, children):
        callee, args = children
        return ast.Call(self.span(meta), callee, args)

    def args(self, meta, children):
        out = []
        for a in children:
            if a is None:
                continue
            if not isinstance(a, ast.Arg):
                a = ast.Arg(a.span, None, a)
            out.append(a)
        return tuple(out)

    def named_arg(self, meta, children):
        name, value = children
        return ast.Arg(self.span(meta), self.name(name), value)

    def index(self, meta, children):
        target, idx = children
        return ast.Index(self.span(meta), target, idx)

    def field(self, meta, children):
        target, name = children
        return ast.Field(self.span(meta), target, self.name(name), self.tspan(name))

    def int_value(self, tok: Token, negative: bool = False) -> tuple[int, str | None]:
        text = str(tok).replace("_", "")
        suffix = None
        for s in ("i32", "i64", "u8"):
            if text.endswith(s):
                suffix, text = s, text[: -len(s)]
                break
        try:
            if text.startswith("0x"):
                value = int(text[2:], 16)
            elif text.startswith("0b"):
                value = int(text[2:], 2)
            else:
                value = int(text)
        except ValueError:
            self.errors.append(Diagnostic("E0006", f"malformed integer literal '{tok}'",
                                          self.tspan(tok)))
            return 0, suffix
        limit = 2**64 if suffix is None else INT_LIMITS[suffix][1] + 1
        if negative and suffix is not None:
            limit = -INT_LIMITS[suffix][0] + 1
        if value >= limit:
            kind = suffix or "any integer type"
            self.errors.append(Diagnostic("E0006", f"integer literal {tok} is out of range "
                                          f"for {kind}", self.tspan(tok)))
            return 0, suffix
        return value, suffix

    def int_lit(self, meta, children):
        (tok,) = children
        value, suffix = self.int_value(tok)
        return ast.IntLit(self.tspan(tok), value, suffix)

    def float_lit(self, meta, children):
        (tok,) = children
        text = str(tok).replace("_", "")
        suffix = None
        if text.endswith(("f32", "f64")):
            suffix, text = text[-3:], text[:-3]
        return ast.FloatLit(self.tspan(tok), float(text), suffix)

    def str_lit(self, meta, children):
        (tok,) = children
        value = _unescape(str(tok)[1:-1], self.file, tok.line, tok.column, self.errors)
        return ast.StrLit(self.tspan(tok), value)

    def char_lit(self, meta, children):
        (tok,) = children
        value = _unescape(str(tok)[1:-1], self.file, tok.line, tok.column, self.errors)
        if len(value) != 1:
            self.errors.append(Diagnostic("E0006", "a character literal must be one byte",
                                          self.tspan(tok)))
            value = b"\0"
        return ast.CharLit(self.tspan(tok), value[0])

    def true_lit(self, meta, children):
        return ast.BoolLit(self.span(meta), True)

    def false_lit(self, meta, children):
        return ast.BoolLit(self.span(meta), False)

    def name_expr(self, meta, children):
        (tok,) = children
        return ast.Name(self.tspan(tok), self.name(tok))

    def paren_expr(self, meta, children):
        # The parentheses belong to the expression's span, so quoted source text
        # (contract messages) and carets include them.
        return dataclasses.replace(children[0], span=self.span(meta))

    def unit_lit(self, meta, children):
        return ast.UnitLit(self.span(meta))

    def array_lit(self, meta, children):
        return ast.ArrayLit(self.span(meta), tuple(c for c in children if c is not None))

    def array_repeat(self, meta, children):
        value, count = children
        return ast.ArrayRepeat(self.span(meta), value, count)

    def vec_new(self, meta, children):
        elem, args = children
        return ast.VecNew(self.span(meta), elem, args)

    def map_new(self, meta, children):
        value, args = children
        return ast.MapNew(self.span(meta), value, args)


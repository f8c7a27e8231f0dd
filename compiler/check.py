"""Names and types: from the parsed modules of a program to the typed IR.

Input is the `LoadedProgram` of loader.py (ASTs of every module, prelude included); output is
an `ir.Program` in which every name is resolved, every expression typed, constants folded and
the operator sugar of strings, maps, `&&` and `||` expanded (see ir.py for what remains).
Errors are E01xx (names) and E02xx (types); checking goes on after an error where it can, so
one run reports several.

Rules implemented here are those of spec/02-types.md to spec/05-items.md: no implicit
conversions; integer literals take the expected integer type (else i32), float literals f32
when expected (else f64); `if`/`match` branches agree in type unless they diverge.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import ast, ir
from .builtins import BUILTIN_FUNCS, ERROR, INT_BITS, PRIMS, poison
from .check_calls import CallChecker
from .diagnostics import CompileError, DiagnosticSink, Span
from .fold import fold_constant, round_f32, wrap, zero_of
from .loader import LoadedProgram
from .patterns import PError, has_error, missing_pattern, useful

EXTERN_MODULES = ("syn", "tensor")
DEFAULT_ARENA = 65536
MAX_ARENA = 4 * 1024 * 1024 * 1024 - 65536
ARITH = {"+": "add", "-": "sub", "*": "mul", "/": "div", "%": "rem"}
BITWISE = {"&": "and", "|": "or", "^": "xor"}
SHIFTS = {"<<": "shl", ">>": "shr"}
COMPARE = {"==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}


@dataclass
class _Symbols:
    """The items of one module, by name."""
    module: str
    structs: dict[str, ast.StructDecl] = field(default_factory=dict)
    enums: dict[str, ast.EnumDecl] = field(default_factory=dict)
    functions: dict[str, ast.FnDecl | ast.ExternDecl] = field(default_factory=dict)
    consts: dict[str, ast.ConstDecl] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)   # import alias -> module


def check_program(loaded: LoadedProgram, *, lib: bool = False,
                  arena: int | None = None) -> ir.Program:
    """Resolve and type the whole program. Raises CompileError with all diagnostics."""
    checker = _Checker(loaded)
    try:
        program = checker.run(lib=lib, arena=arena)
    except CompileError:
        raise
    checker.sink.raise_if_any()
    return program


class _Checker:
    def __init__(self, loaded: LoadedProgram):
        self.loaded = loaded
        self.sink = DiagnosticSink()
        self.symbols: dict[str, _Symbols] = {}
        self.structs: dict[str, ir.StructDef] = {}
        self.enums: dict[str, ir.EnumDef] = {}
        self.functions: dict[str, ir.Function] = {}
        self.consts: dict[str, ir.Expr] = {}
        self._const_busy: set[str] = set()

    # --- Driver --------------------------------------------------------------------------

    def run(self, *, lib: bool, arena: int | None) -> ir.Program:
        for name, module in self.loaded.modules.items():
            self.collect(name, module)
        for name, module in self.loaded.modules.items():
            self.declare_types(name, module)
        for name, module in self.loaded.modules.items():
            self.declare_functions(name, module)
        for name, module in self.loaded.modules.items():
            for item in module.items:
                if isinstance(item, ast.ConstDecl):
                    self.const_value(name, item.name, item.name_span)
        for name in self.loaded.modules:
            for decl in list(self.symbols[name].functions.values()):
                if isinstance(decl, ast.FnDecl):
                    _FunctionChecker(self, name, decl).run()
        entry = self.find_entry(lib)
        return ir.Program(functions=self.functions, structs=self.structs, enums=self.enums,
                          entry=entry, arena_bytes=self.arena_size(arena))

    def find_entry(self, lib: bool) -> str | None:
        entry_module = self.loaded.entry
        fn = self.symbols[entry_module].functions.get("main") \
            if entry_module in self.symbols else None
        if fn is None or isinstance(fn, ast.ExternDecl):
            if not lib:
                file = self.loaded.modules[entry_module].file \
                    if entry_module in self.loaded.modules else "main.syn"
                self.sink.error("E0215", "the program has no `fn main()`",
                                Span.point(file, 1, 1))
            return None
        if fn.params or fn.result is not None:
            self.sink.error("E0215", "`main` takes no parameters and returns nothing",
                            fn.name_span)
        return f"{entry_module}.main"

    def arena_size(self, override: int | None) -> int:
        size = DEFAULT_ARENA
        for name, module in self.loaded.modules.items():
            for item in module.items:
                if not isinstance(item, ast.ArenaDecl):
                    continue
                if name != self.loaded.entry:
                    self.sink.error("E0219", "`arena` may be declared only in the entry file",
                                    item.span)
                elif size != DEFAULT_ARENA or getattr(self, "_arena_seen", False):
                    self.sink.error("E0219", "duplicate `arena` declaration", item.span)
                elif item.size <= 0 or item.size % 65536 or item.size > MAX_ARENA:
                    self.sink.error("E0009", f"arena size {item.size} must be a positive "
                                    "multiple of 64 KiB (65536 bytes), at most 4 GiB - 64 KiB",
                                    item.size_span)
                else:
                    size = item.size
                    self._arena_seen = True
        return override if override is not None else size

    # --- Declarations --------------------------------------------------------------------

    def collect(self, name: str, module: ast.Module) -> None:
        syms = _Symbols(name, aliases=dict(self.loaded.imports.get(name, {})))
        self.symbols[name] = syms
        seen: dict[str, Span] = {}
        for item in module.items:
            if isinstance(item, (ast.ImportDecl, ast.ArenaDecl)):
                continue
            item_name = item.name
            span = item.name_span
            self.check_reserved(name, item_name, span)
            if item_name in seen or item_name in BUILTIN_FUNCS:
                self.sink.error("E0102", f"'{item_name}' is already defined", span)
                continue
            seen[item_name] = span
            if isinstance(item, ast.StructDecl):
                syms.structs[item_name] = item
            elif isinstance(item, ast.EnumDecl):
                syms.enums[item_name] = item
            elif isinstance(item, (ast.FnDecl, ast.ExternDecl)):
                syms.functions[item_name] = item
            elif isinstance(item, ast.ConstDecl):
                syms.consts[item_name] = item

    def check_reserved(self, module: str, name: str, span: Span) -> None:
        if name.startswith("__") and module != "prelude":
            self.sink.error("E0109", f"names beginning with '__' are reserved: '{name}'", span)

    def declare_types(self, name: str, module: ast.Module) -> None:
        syms = self.symbols[name]
        for decl in syms.structs.values():
            self.structs[f"{name}.{decl.name}"] = ir.StructDef(f"{name}.{decl.name}", [])
        for enum_decl in syms.enums.values():
            self.enums[f"{name}.{enum_decl.name}"] = ir.EnumDef(f"{name}.{enum_decl.name}", [])
        for decl in syms.structs.values():
            fields = self.structs[f"{name}.{decl.name}"].fields
            seen: set[str] = set()
            for f in decl.fields:
                if f.name in seen:
                    self.sink.error("E0102", f"duplicate field '{f.name}'", f.span)
                    continue
                seen.add(f.name)
                fields.append((f.name, self.resolve_type(name, f.type)))
        for enum_decl in syms.enums.values():
            variants = self.enums[f"{name}.{enum_decl.name}"].variants
            seen = set()
            for v in enum_decl.variants:
                if v.name in seen:
                    self.sink.error("E0102", f"duplicate variant '{v.name}'", v.span)
                    continue
                seen.add(v.name)
                variants.append(ir.Variant(v.name, len(variants),
                                           [self.resolve_type(name, t) for t in v.fields]))

    def declare_functions(self, name: str, module: ast.Module) -> None:
        for decl in self.symbols[name].functions.values():
            qualified = f"{name}.{decl.name}"
            params: list[ir.Local] = []
            seen: set[str] = set()
            for p in decl.params:
                if p.name in seen:
                    self.sink.error("E0102", f"duplicate parameter '{p.name}'", p.span)
                seen.add(p.name)
                params.append(ir.Local(len(params), p.name, self.resolve_type(name, p.type)))
            result = self.resolve_type(name, decl.result) if decl.result else ir.UNIT
            fn = ir.Function(qualified, params, result, list(params), None, span=decl.name_span)
            if isinstance(decl, ast.ExternDecl):
                self.declare_extern(decl, fn)
            self.functions[qualified] = fn

    def declare_extern(self, decl: ast.ExternDecl, fn: ir.Function) -> None:
        if decl.module not in EXTERN_MODULES:
            self.sink.error("E0214", f"extern module '{decl.module}' is not allowed "
                            f"(allowed: {', '.join(EXTERN_MODULES)})", decl.module_span)
        allowed = ir.SCALAR_TYPES + (ir.STR,)
        for p, local in zip(decl.params, fn.params):
            if local.type not in allowed:
                self.sink.error("E0214", f"extern parameters must be scalars or str, "
                                f"not {local.type}", p.type.span)
        if fn.result not in ir.SCALAR_TYPES + (ir.UNIT,):
            self.sink.error("E0214", f"extern results must be scalars, not {fn.result}",
                            decl.result.span if decl.result else decl.name_span)
        fn.extern_module, fn.extern_name = decl.module, decl.name

    # --- Types ---------------------------------------------------------------------------

    def resolve_type(self, module: str, t: ast.TypeExpr) -> ir.Type:
        if isinstance(t, ast.VecType):
            return ir.VecT(self.resolve_type(module, t.elem))
        if isinstance(t, ast.MapType):
            return ir.MapT(self.resolve_type(module, t.value))
        if isinstance(t, ast.ArrayType):
            elem = self.resolve_type(module, t.elem)
            size = t.size if isinstance(t.size, int) else self.const_int(module, t.size,
                                                                         t.size_span)
            if size < 0:
                self.sink.error("E0216", "array size must not be negative", t.size_span)
                size = 0
            return ir.ArrayT(elem, size)
        name = t.name
        if name in PRIMS:
            return PRIMS[name]
        found = self.lookup_type(module, name)
        if found is None:
            self.sink.error("E0103", f"unknown type '{name}'", t.span)
            return ir.I32
        return found

    def lookup_type(self, module: str, name: str) -> ir.Type | None:
        if "." in name:
            alias, inner = name.split(".", 1)
            target = self.symbols[module].aliases.get(alias)
            if target is None or target not in self.symbols:
                return None
            return self.lookup_type_in(target, inner)
        return self.lookup_type_in(module, name) or self.lookup_type_in("prelude", name)

    def lookup_type_in(self, module: str, name: str) -> ir.Type | None:
        syms = self.symbols.get(module)
        if syms is None:
            return None
        if name in syms.structs:
            return ir.StructT(f"{module}.{name}")
        if name in syms.enums:
            return ir.EnumT(f"{module}.{name}")
        return None

    # --- Constants -----------------------------------------------------------------------

    def const_value(self, module: str, name: str, span: Span) -> ir.Expr | None:
        key = f"{module}.{name}"
        if key in self.consts:
            return self.consts[key]
        decl = self.symbols[module].consts.get(name)
        if decl is None:
            return None
        if key in self._const_busy:
            self.sink.error("E0216", f"constant '{name}' depends on itself", span)
            return None
        self._const_busy.add(key)
        typ = self.resolve_type(module, decl.type)
        checker = _FunctionChecker(self, module, None)
        value = checker.expect(decl.value, typ)
        folded = fold_constant(value)
        self._const_busy.discard(key)
        if folded is None:
            self.sink.error("E0216", "a constant needs a constant expression", decl.value.span)
            folded = zero_of(typ, decl.value.span)
        self.consts[key] = folded
        return folded

    def const_int(self, module: str, name: str, span: Span) -> int:
        value = self.const_value(module, name, span) if name in self.symbols[module].consts \
            else None
        if isinstance(value, ir.IntConst):
            return value.value
        self.sink.error("E0216", f"'{name}' is not an integer constant", span)
        return 0


# --- Function bodies ----------------------------------------------------------------------

class _FunctionChecker(CallChecker):
    """Checks one function body (or one constant initializer) and builds its IR."""

    def __init__(self, checker: _Checker, module: str, decl: ast.FnDecl | None):
        self.c = checker
        self.sink = checker.sink
        self.module = module
        self.syms = checker.symbols[module]
        self.decl = decl
        self.fn = checker.functions.get(f"{module}.{decl.name}") if decl else None
        self.scopes: list[dict[str, ir.Local]] = [{}]
        self.locals: list[ir.Local] = list(self.fn.params) if self.fn else []
        self.loop_depth = 0
        self.in_ensures = False
        self.result_local: ir.Local | None = None

    @property
    def prelude(self) -> bool:
        return self.module == "prelude"

    def run(self) -> None:
        fn, decl = self.fn, self.decl
        assert fn is not None and decl is not None
        for p in fn.params:
            self.scopes[0][p.name] = p
        for contract in decl.contracts:
            if contract.kind == "requires":
                fn.requires.append(self.contract(contract.cond, "requires", contract.text,
                                                 contract.span, ghost=contract.ghost))
            elif contract.kind == "decreases":
                fn.decreases.extend(self.measures(contract.measures))
        if any(c.kind == "ensures" for c in decl.contracts):
            self.result_local = self.new_local("result", fn.result)
            fn.result_local = self.result_local
            self.in_ensures = True
            for contract in decl.contracts:
                if contract.kind == "ensures":
                    fn.ensures.append(self.contract(contract.cond, "ensures", contract.text,
                                                    contract.span, ghost=contract.ghost))
            self.in_ensures = False
        body = self.block(decl.body, fn.result, tail_context=True)
        if not self.diverges(body) and not self.same(body.type, fn.result):
            if fn.result != ir.UNIT and body.value is None:
                self.sink.error("E0210", f"function '{decl.name}' must return a value of "
                                f"type {fn.result}", decl.name_span)
            else:
                where = body.value.span if body.value is not None else decl.body.span
                self.sink.error("E0201", f"expected {fn.result}, found {body.type}", where)
        fn.body = body
        fn.locals = self.locals

    # Scopes and locals.

    def new_local(self, name: str, t: ir.Type, mutable: bool = False) -> ir.Local:
        local = ir.Local(len(self.locals), name, t, mutable)
        self.locals.append(local)
        return local

    def bind(self, name: str, t: ir.Type, span: Span, mutable: bool = False) -> ir.Local:
        self.c.check_reserved(self.module, name, span)
        local = self.new_local(name, t, mutable)
        self.scopes[-1][name] = local
        return local

    def lookup_local(self, name: str) -> ir.Local | None:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        return None

    def location(self, span: Span) -> str:
        shown = self.c.loaded.display.get(span.file, span.file)
        return f"{shown}:{span.line}:{span.col}"

    def contract(self, cond: ast.Expr, kind: str, text: str, span: Span,
                 message: bytes | None = None, ghost: bool = False) -> ir.Contract:
        expr = self.condition(cond)
        if ghost and self.fn is not None:
            self.fn.has_ghosts = True
        shown = self.c.loaded.display.get(span.file, span.file)
        what = message.decode("utf-8", "replace") if message is not None else text
        return ir.Contract(kind, expr, f"{kind} failed: {what} at {shown}:{span.line}", span,
                           ghost)

    # Type helpers.

    @staticmethod
    def same(a: ir.Type, b: ir.Type) -> bool:
        return a == b or ERROR in (a, b)

    def mismatch(self, expected: ir.Type, found: ir.Type, span: Span) -> None:
        self.sink.error("E0201", f"expected {expected}, found {found}", span)

    def diverges(self, e: ir.Expr) -> bool:
        if isinstance(e, (ir.Return, ir.Break, ir.Continue, ir.Panic)):
            return True
        if isinstance(e, ir.Block):
            return any(self.diverges(s) for s in e.stmts) or (
                e.value is not None and self.diverges(e.value))
        if isinstance(e, ir.If):
            return e.else_ is not None and self.diverges(e.then) and self.diverges(e.else_)
        if isinstance(e, ir.Match):
            return bool(e.arms) and all(self.diverges(a.body) for a in e.arms)
        if isinstance(e, (ir.Let, ir.LocalSet)):
            return self.diverges(e.value)
        return False

    def expect(self, e: ast.Expr, t: ir.Type) -> ir.Expr:
        """Check `e` against an expected type, reporting E0201 on a mismatch."""
        out = self.expr(e, t)
        if out.type != t and out.type != ERROR and not self.diverges(out):
            if out.type == ir.UNIT:
                self.sink.error("E0220", f"expected {t}, found a unit value", e.span)
            else:
                self.mismatch(t, out.type, e.span)
        return out

    def condition(self, e: ast.Expr) -> ir.Expr:
        out = self.expr(e, ir.BOOL)
        if out.type not in (ir.BOOL, ERROR) and not self.diverges(out):
            self.sink.error("E0206", f"condition must be bool, found {out.type}", e.span)
        return out

    def value(self, e: ast.Expr, expected: ir.Type | None = None) -> ir.Expr:
        """An expression used for its value: unit is an error (E0220)."""
        out = self.expr(e, expected)
        if out.type == ir.UNIT and not self.diverges(out):
            self.sink.error("E0220", "this expression has no value (unit)", e.span)
            return poison(e.span)
        return out

    # --- Blocks and statements -----------------------------------------------------------

    def block(self, b: ast.Block, expected: ir.Type | None, tail_context: bool = False) \
            -> ir.Block:
        self.scopes.append({})
        stmts: list[ir.Expr] = []
        tail_ast = b.tail
        body = list(b.stmts)
        last = body[-1] if body else None
        if tail_ast is None and isinstance(last, ast.ExprStmt) and not last.semicolon:
            body.pop()
            tail_ast = last.expr
        for s in body:
            stmts.append(self.stmt(s))
        value = None
        if tail_ast is not None:
            value = self.expr(tail_ast, expected)
            if value.type == ir.UNIT and not isinstance(value, ir.Unit):
                stmts.append(value)
                value = None
        self.scopes.pop()
        if value is not None:
            t = value.type
            if self.diverges(value) and expected is not None:
                t = expected
        else:
            diverging = any(self.diverges(s) for s in stmts)
            t = expected if diverging and expected is not None else ir.UNIT
        return ir.Block(t, b.span, stmts, value)

    def stmt(self, s: ast.Stmt) -> ir.Expr:
        if isinstance(s, ast.LetStmt):
            return self.let_stmt(s)
        if isinstance(s, ast.AssignStmt):
            return self.assign_stmt(s)
        if isinstance(s, ast.ExprStmt):
            return self.expr_stmt(s)
        if isinstance(s, ast.WhileStmt):
            return self.while_stmt(s)
        if isinstance(s, ast.ForRangeStmt):
            return self.for_range_stmt(s)
        if isinstance(s, ast.ForEachStmt):
            return self.for_each_stmt(s)
        if isinstance(s, ast.ReturnStmt):
            return self.return_stmt(s)
        if isinstance(s, (ast.BreakStmt, ast.ContinueStmt)):
            if self.loop_depth == 0:
                word = "break" if isinstance(s, ast.BreakStmt) else "continue"
                self.sink.error("E0209", f"`{word}` outside a loop", s.span)
            cls = ir.Break if isinstance(s, ast.BreakStmt) else ir.Continue
            return cls(ir.UNIT, s.span)
        if isinstance(s, ast.AssertStmt):
            return ir.Check(ir.UNIT, s.span,
                            self.contract(s.cond, "assert", s.text, s.span, s.message, s.ghost))
        assert isinstance(s, ast.EmptyStmt)
        return ir.Unit(ir.UNIT, s.span)

    def expr_stmt(self, s: ast.ExprStmt) -> ir.Expr:
        out = self.expr(s.expr, None, statement=True)
        return out

    def let_stmt(self, s: ast.LetStmt) -> ir.Expr:
        declared = self.c.resolve_type(self.module, s.type) if s.type is not None else None
        value = self.expect(s.value, declared) if declared is not None else self.value(s.value)
        t = declared if declared is not None else value.type
        local = self.bind(s.name, t, s.name_span, mutable=s.mutable)
        return ir.Let(ir.UNIT, s.span, local, value)

    def assign_stmt(self, s: ast.AssignStmt) -> ir.Expr:
        op = s.op[:-1] if s.op != "=" else None
        target = s.target
        if isinstance(target, ast.Name):
            local = self.lookup_local(target.name)
            if local is None:
                if self.syms.consts.get(target.name) or self.lookup_function(target.name):
                    self.sink.error("E0212", f"cannot assign to '{target.name}'", target.span)
                else:
                    self.sink.error("E0101", f"unknown name '{target.name}'", target.span)
                self.expr(s.value, None)
                return ir.Unit(ir.UNIT, s.span)
            if not local.mutable:
                self.sink.error("E0212", f"cannot assign twice to immutable binding "
                                f"'{target.name}' (declare it with `var`)", target.span)
            current: ir.Expr = ir.LocalGet(local.type, target.span, local)
            value = self.compound(op, current, s.value, s.span) if op else \
                self.expect(s.value, local.type)
            return ir.LocalSet(ir.UNIT, s.span, local, value)
        if isinstance(target, ast.Index):
            seq = self.value(target.target)
            if seq.type == ir.STR:
                self.sink.error("E0212", "strings are immutable", target.span)
                return ir.Unit(ir.UNIT, s.span)
            if not isinstance(seq.type, (ir.VecT, ir.ArrayT)):
                if seq.type != ERROR:
                    self.sink.error("E0203", f"cannot index into {seq.type}",
                                    target.target.span)
                return ir.Unit(ir.UNIT, s.span)
            index = self.expect(target.index, ir.I32)
            elem = seq.type.elem
            loc = self.location(target.span)
            if op is None:
                return ir.IndexSet(ir.UNIT, s.span, seq, index, self.expect(s.value, elem), loc)
            seq_tmp = self.new_local("$seq", seq.type)
            idx_tmp = self.new_local("$idx", ir.I32)
            current = ir.Index(elem, target.span, ir.LocalGet(seq.type, s.span, seq_tmp),
                               ir.LocalGet(ir.I32, s.span, idx_tmp), loc)
            value = self.compound(op, current, s.value, s.span)
            return ir.Block(ir.UNIT, s.span, [
                ir.Let(ir.UNIT, s.span, seq_tmp, seq), ir.Let(ir.UNIT, s.span, idx_tmp, index),
                ir.IndexSet(ir.UNIT, s.span, ir.LocalGet(seq.type, s.span, seq_tmp),
                            ir.LocalGet(ir.I32, s.span, idx_tmp), value, loc)], None)
        if isinstance(target, ast.Field):
            obj = self.value(target.target)
            found = self.field_of(obj, target)
            if found is None:
                self.expr(s.value, None)
                return ir.Unit(ir.UNIT, s.span)
            struct, field_index, ftype = found
            if op is None:
                return ir.FieldSet(ir.UNIT, s.span, obj, struct, field_index,
                                   self.expect(s.value, ftype))
            tmp = self.new_local("$obj", obj.type)
            current = ir.FieldGet(ftype, target.span, ir.LocalGet(obj.type, s.span, tmp),
                                  struct, field_index)
            value = self.compound(op, current, s.value, s.span)
            return ir.Block(ir.UNIT, s.span, [
                ir.Let(ir.UNIT, s.span, tmp, obj),
                ir.FieldSet(ir.UNIT, s.span, ir.LocalGet(obj.type, s.span, tmp), struct,
                            field_index, value)], None)
        self.sink.error("E0212", "this expression cannot be assigned to", target.span)
        return ir.Unit(ir.UNIT, s.span)

    def compound(self, op: str, current: ir.Expr, rhs: ast.Expr, span: Span) -> ir.Expr:
        right = self.expr(rhs, current.type)
        return self.binary_typed(op, current, right, span, rhs.span)

    def loop_body(self, body: ast.Block) -> ir.Block:
        self.loop_depth += 1
        out = self.block(body, None)
        self.loop_depth -= 1
        if out.value is not None:
            out = ir.Block(ir.UNIT, out.span, out.stmts + [out.value], None)
        return out

    def invariants(self, invs: tuple[ast.Invariant, ...]) -> list[ir.Contract]:
        return [self.contract(i.cond, "invariant", i.text, i.span, ghost=i.ghost) for i in invs]

    def while_stmt(self, s: ast.WhileStmt) -> ir.Expr:
        cond = self.condition(s.cond)
        invs = self.invariants(s.invariants)
        measures = self.measures(s.decreases)
        return ir.While(ir.UNIT, s.span, cond, self.loop_body(s.body), invs, measures)

    def measures(self, exprs: tuple[ast.Expr, ...]) -> list[ir.Expr]:
        """`decreases` measures: integers the verifier proves go down (spec/11)."""
        out = []
        for e in exprs:
            m = self.value(e)
            if m.type not in ir.INTEGER_TYPES + (ERROR,):
                self.sink.error("E0201", f"a `decreases` measure must be an integer, found "
                                f"{m.type}", e.span)
            out.append(m)
        return out

    def expr_Quantifier(self, e: ast.Quantifier, expected: ir.Type | None) -> ir.Expr:
        """`forall i in a..b: cond` / `exists ...`: a bool, computed by a loop at run time."""
        start, end = self.range_bounds(e.start, e.end)
        t = start.type
        self.scopes.append({})
        var = self.bind(e.var, t, e.var_span)
        end_local = self.new_local("$end", t)
        result_local = self.new_local("$q", ir.BOOL, mutable=True)
        depth, self.loop_depth = self.loop_depth, 0   # `break` cannot leave a quantifier
        body = self.condition(e.body)
        self.loop_depth = depth
        self.scopes.pop()
        cls = ir.Forall if e.kind == "forall" else ir.Exists
        return cls(ir.BOOL, e.span, var, start, end, end_local, result_local, body)

    def range_bounds(self, start_ast: ast.Expr, end_ast: ast.Expr) -> tuple[ir.Expr, ir.Expr]:
        """`a..b` of a `for` or a quantifier: both i32 or both i64; an unsuffixed literal
        bound takes the other bound's type."""
        start = self.value(start_ast)
        if isinstance(start_ast, ast.IntLit) and start_ast.suffix is None:
            end = self.value(end_ast)
            if end.type in (ir.I32, ir.I64):
                start = self.expect(start_ast, end.type)
        else:
            end = self.expr(end_ast, start.type)
        t = start.type
        if ERROR not in (t, end.type):
            if t not in (ir.I32, ir.I64):
                self.sink.error("E0201", f"a range runs over i32 or i64, not {t}", start_ast.span)
            elif end.type != t:
                self.mismatch(t, end.type, end_ast.span)
        return start, end

    def for_range_stmt(self, s: ast.ForRangeStmt) -> ir.Expr:
        start, end = self.range_bounds(s.start, s.end)
        t = start.type
        self.scopes.append({})
        var = self.bind(s.var, t, s.var_span)
        end_local = self.new_local("$end", t)
        invs = self.invariants(s.invariants)
        body = self.loop_body(s.body)
        self.scopes.pop()
        return ir.ForRange(ir.UNIT, s.span, var, start, end, end_local, body, invs)

    def for_each_stmt(self, s: ast.ForEachStmt) -> ir.Expr:
        seq = self.value(s.seq)
        if isinstance(seq.type, (ir.VecT, ir.ArrayT)):
            elem = seq.type.elem
        elif seq.type == ERROR:
            elem = ERROR
        else:
            self.sink.error("E0201", f"`for ... in` needs a Vec or an array, found {seq.type}",
                            s.seq.span)
            elem = ir.I32
        self.scopes.append({})
        var = self.bind(s.var, elem, s.var_span)
        seq_local = self.new_local("$seq", seq.type)
        index_local = self.new_local("$i", ir.I32)
        len_local = self.new_local("$len", ir.I32)
        invs = self.invariants(s.invariants)
        body = self.loop_body(s.body)
        self.scopes.pop()
        return ir.ForEach(ir.UNIT, s.span, var, seq, seq_local, index_local, len_local, body,
                          invs)

    def return_stmt(self, s: ast.ReturnStmt) -> ir.Expr:
        expected = self.fn.result if self.fn else ir.UNIT
        if s.value is None:
            if expected != ir.UNIT:
                self.sink.error("E0210", f"`return` needs a value of type {expected}", s.span)
            return ir.Return(ir.UNIT, s.span, None)
        value = self.expect(s.value, expected)
        return ir.Return(ir.UNIT, s.span, value)

    # --- Expressions ---------------------------------------------------------------------

    def expr(self, e: ast.Expr, expected: ir.Type | None, statement: bool = False) -> ir.Expr:
        method = getattr(self, "expr_" + type(e).__name__)
        if isinstance(e, (ast.IfExpr, ast.MatchExpr)):
            return method(e, expected, statement)
        return method(e, expected)

    def expr_IntLit(self, e: ast.IntLit, expected: ir.Type | None) -> ir.Expr:
        t = PRIMS[e.suffix] if e.suffix else (
            expected if expected in ir.INTEGER_TYPES else ir.I32)
        bits = INT_BITS[t]
        low, high = (0, 256) if t == ir.U8 else (-(1 << (bits - 1)), 1 << (bits - 1))
        if not low <= e.value < high:
            self.sink.error("E0006", f"integer literal {e.value} is out of range for {t}",
                            e.span)
            return ir.IntConst(t, e.span, 0)
        return ir.IntConst(t, e.span, wrap(e.value, t))

    def expr_FloatLit(self, e: ast.FloatLit, expected: ir.Type | None) -> ir.Expr:
        t = PRIMS[e.suffix] if e.suffix else (ir.F32 if expected == ir.F32 else ir.F64)
        return ir.FloatConst(t, e.span, round_f32(e.value) if t == ir.F32 else e.value)

    def expr_StrLit(self, e: ast.StrLit, expected: ir.Type | None) -> ir.Expr:
        return ir.StrConst(ir.STR, e.span, e.value)

    def expr_CharLit(self, e: ast.CharLit, expected: ir.Type | None) -> ir.Expr:
        return ir.IntConst(ir.U8, e.span, e.value)

    def expr_BoolLit(self, e: ast.BoolLit, expected: ir.Type | None) -> ir.Expr:
        return ir.BoolConst(ir.BOOL, e.span, e.value)

    def expr_UnitLit(self, e: ast.UnitLit, expected: ir.Type | None) -> ir.Expr:
        return ir.Unit(ir.UNIT, e.span)

    def expr_Name(self, e: ast.Name, expected: ir.Type | None) -> ir.Expr:
        local = self.lookup_local(e.name)
        if local is not None:
            return ir.LocalGet(local.type, e.span, local)
        if e.name == "result":
            if self.result_local is not None and self.in_ensures:
                return ir.LocalGet(self.result_local.type, e.span, self.result_local)
            self.sink.error("E0211", "`result` names the return value only inside `ensures`",
                            e.span)
            return poison(e.span)
        if e.name.startswith("__") and not self.prelude:
            self.sink.error("E0109", f"names beginning with '__' are reserved: '{e.name}'",
                            e.span)
            return poison(e.span)
        const = self.find_const(self.module, e.name, e.span)
        if const is not None:
            return _respan(const, e.span)
        variant = self.find_variant(None, e.name, e.span, expected)
        if variant is not None:
            enum, v = variant
            if v.fields:
                self.sink.error("E0202", f"variant '{v.name}' takes {len(v.fields)} "
                                "argument(s)", e.span)
            return ir.EnumNew(ir.EnumT(enum), e.span, enum, v.tag, [])
        if self.lookup_function(e.name) or e.name in BUILTIN_FUNCS:
            self.sink.error("E0201", f"function '{e.name}' is not a value; call it", e.span)
        else:
            self.sink.error("E0101", f"unknown name '{e.name}'", e.span)
        return ir.IntConst(expected if expected in ir.INTEGER_TYPES else ir.I32, e.span, 0)

    def find_const(self, module: str, name: str, span: Span) -> ir.Expr | None:
        for m in (module, "prelude"):
            if name in self.c.symbols[m].consts:
                return self.c.const_value(m, name, span)
        return None

    def lookup_function(self, name: str, module: str | None = None) -> str | None:
        """Qualified name of a function visible as `name` (module first, then prelude)."""
        modules = (module,) if module else (self.module, "prelude")
        for m in modules:
            decl = self.c.symbols[m].functions.get(name)
            if decl is not None:
                # The prelude's `__` items and its host imports are its own business.
                if m == "prelude" and not self.prelude and (
                        name.startswith("__") or isinstance(decl, ast.ExternDecl)):
                    continue
                return f"{m}.{name}"
        return None

    def find_variant(self, enum_name: str | None, name: str, span: Span,
                     expected: ir.Type | None, module: str | None = None) \
            -> tuple[str, ir.Variant] | None:
        """Resolve a variant: qualified by its enum, or bare when exactly one enum has it."""
        if enum_name is not None:
            t = self.c.lookup_type_in(module, enum_name) if module else \
                self.c.lookup_type(self.module, enum_name)
            if not isinstance(t, ir.EnumT):
                return None
            for v in self.c.enums[t.name].variants:
                if v.name == name:
                    return t.name, v
            self.sink.error("E0107", f"enum '{enum_name}' has no variant '{name}'", span)
            return None
        if isinstance(expected, ir.EnumT):
            for v in self.c.enums[expected.name].variants:
                if v.name == name:
                    return expected.name, v
        matches = []
        for m in (self.module, "prelude"):
            for ename in self.c.symbols[m].enums:
                for v in self.c.enums[f"{m}.{ename}"].variants:
                    if v.name == name:
                        matches.append((f"{m}.{ename}", v))
        if len(matches) > 1:
            enums = ", ".join(sorted(m[0].rsplit(".", 1)[-1] for m in matches))
            self.sink.error("E0108", f"variant '{name}' is ambiguous (in {enums}); "
                            "write Enum.Variant", span)
            return matches[0]
        return matches[0] if matches else None

    def expr_Unary(self, e: ast.Unary, expected: ir.Type | None) -> ir.Expr:
        operand = self.value(e.operand, expected)
        t = operand.type
        if t == ERROR:
            return operand
        if e.op == "-" and t in ir.NUMERIC_TYPES and t != ir.U8:
            return ir.Unary(t, e.span, "neg", operand)
        if e.op == "+" and t in ir.NUMERIC_TYPES:
            return operand
        if e.op == "!" and t == ir.BOOL:
            return ir.Unary(t, e.span, "not", operand)
        if e.op == "~" and t in ir.INTEGER_TYPES:
            return ir.Unary(t, e.span, "bitnot", operand)
        self.sink.error("E0203", f"unary '{e.op}' is not defined for {t}", e.span)
        return operand

    def expr_Binary(self, e: ast.Binary, expected: ir.Type | None) -> ir.Expr:
        if e.op in ("&&", "||"):
            left = self.condition(e.left)
            right = self.condition(e.right)
            if e.op == "&&":
                return ir.If(ir.BOOL, e.span, left, right, ir.BoolConst(ir.BOOL, e.span, False))
            return ir.If(ir.BOOL, e.span, left, ir.BoolConst(ir.BOOL, e.span, True), right)
        hint = expected if e.op in ARITH or e.op in BITWISE or e.op in SHIFTS else None
        if _is_untyped_literal(e.left) and not _is_untyped_literal(e.right):
            # Type the literal from the other side; the IR keeps left-to-right order.
            right = self.value(e.right, hint)
            left = self.value(e.left, right.type)
        else:
            left = self.value(e.left, hint)
            right = self.value(e.right, left.type if e.op not in SHIFTS else left.type)
        return self.binary_typed(e.op, left, right, e.span, e.right.span, e.left.span)

    def binary_typed(self, op: str, left: ir.Expr, right: ir.Expr, span: Span,
                     right_span: Span, left_span: Span | None = None) -> ir.Expr:
        lt, rt = left.type, right.type
        left_span = left_span or left.span
        if ERROR in (lt, rt):
            return poison(span)
        if lt == ir.STR and rt == ir.STR and (op == "+" or op in COMPARE):
            return self.string_op(op, left, right, span)
        if lt != rt:
            if lt in ir.NUMERIC_TYPES + (ir.BOOL, ir.STR) and rt in ir.NUMERIC_TYPES + (
                    ir.BOOL, ir.STR):
                self.sink.error("E0201", f"expected {lt}, found {rt} (no implicit "
                                "conversions; use `as`)", right_span)
            else:
                self.sink.error("E0203", f"operator '{op}' is not defined for {lt} and {rt}",
                                left_span)
            return left
        t = lt
        if op in ARITH and t in ir.NUMERIC_TYPES:
            if op == "%" and t in ir.FLOAT_TYPES:
                self.sink.error("E0203", f"operator '%' is not defined for {t}", left_span)
                return left
            return ir.Binary(t, span, ARITH[op], left, right, t)
        if op in BITWISE and (t in ir.INTEGER_TYPES or t == ir.BOOL):
            return ir.Binary(t, span, BITWISE[op], left, right, t)
        if op in SHIFTS and t in ir.INTEGER_TYPES:
            return ir.Binary(t, span, SHIFTS[op], left, right, t)
        if op in COMPARE and (t in ir.NUMERIC_TYPES or (t == ir.BOOL and op in ("==", "!="))):
            return ir.Binary(ir.BOOL, span, COMPARE[op], left, right, t)
        self.sink.error("E0203", f"operator '{op}' is not defined for {t}", left_span)
        return left if op not in COMPARE else ir.BoolConst(ir.BOOL, span, False)

    def string_op(self, op: str, left: ir.Expr, right: ir.Expr, span: Span) -> ir.Expr:
        if op == "+":
            return self.prelude_call("__str_concat", [left, right], ir.STR, span)
        if op in ("==", "!="):
            eq = self.prelude_call("__str_eq", [left, right], ir.BOOL, span)
            return eq if op == "==" else ir.Unary(ir.BOOL, span, "not", eq)
        cmp = self.prelude_call("__str_cmp", [left, right], ir.I32, span)
        return ir.Binary(ir.BOOL, span, COMPARE[op], cmp, ir.IntConst(ir.I32, span, 0), ir.I32)

    def prelude_call(self, name: str, args: list[ir.Expr], t: ir.Type, span: Span) -> ir.Expr:
        return ir.Call(t, span, f"prelude.{name}", args)

    def expr_Cast(self, e: ast.Cast, expected: ir.Type | None) -> ir.Expr:
        target = self.c.resolve_type(self.module, e.target)
        hint: ir.Type | None = None
        if isinstance(e.operand, ast.FloatLit) and target in ir.FLOAT_TYPES:
            hint = target
        elif isinstance(e.operand, ast.IntLit) and e.operand.suffix is None:
            # `300 as u8` converts the i32 300; a literal too big for i32 is an i64.
            hint = ir.I32 if -(2**31) <= e.operand.value < 2**31 else ir.I64
        operand = self.value(e.operand, hint)
        src = operand.type
        ok = src == ERROR or (src in ir.NUMERIC_TYPES and target in ir.NUMERIC_TYPES) or (
            src == ir.BOOL and target in ir.INTEGER_TYPES) or (src == target)
        if not ok:
            self.sink.error("E0207", f"cannot cast {src} to {target}", e.span)
            return zero_of(target, e.span)
        if src == target:
            return operand
        return ir.Cast(target, e.span, operand)

    def expr_Block(self, e: ast.Block, expected: ir.Type | None) -> ir.Expr:
        return self.block(e, expected)

    def expr_IfExpr(self, e: ast.IfExpr, expected: ir.Type | None,
                    statement: bool = False) -> ir.Expr:
        cond = self.condition(e.cond)
        then: ir.Expr = self.block(e.then, expected)
        if e.else_ is None:
            if then.type != ir.UNIT and not self.diverges(then):
                if not statement:
                    self.sink.error("E0201", f"`if` without `else` has type (), but its "
                                    f"block gives {then.type}", e.then.span)
                then = _as_statement(then)
            return ir.If(ir.UNIT, e.span, cond, then, None)
        else_ = self.expr(e.else_, expected, statement) if isinstance(e.else_, ast.IfExpr) \
            else self.block(e.else_, expected)
        return self.join_branches(e.span, cond, then, else_, statement, e.else_.span)

    def join_branches(self, span: Span, cond: ir.Expr, then: ir.Expr, else_: ir.Expr,
                      statement: bool, else_span: Span) -> ir.Expr:
        if self.diverges(then) and not self.diverges(else_):
            t = else_.type
        elif self.diverges(else_) or then.type == else_.type:
            t = then.type
        elif statement:
            return ir.If(ir.UNIT, span, cond, _as_statement(then), _as_statement(else_))
        else:
            self.sink.error("E0201", f"`if` and `else` have different types: {then.type} "
                            f"and {else_.type}", else_span)
            t = then.type
        if self.diverges(then) and self.diverges(else_) and t == ir.UNIT:
            pass
        return ir.If(t, span, cond, then, else_)

    def expr_MatchExpr(self, e: ast.MatchExpr, expected: ir.Type | None,
                       statement: bool = False) -> ir.Expr:
        scrutinee = self.value(e.scrutinee)
        st = scrutinee.type
        holder = self.new_local("$match", st)
        arms: list[ir.Arm] = []
        result: ir.Type | None = None
        for arm in e.arms:
            self.scopes.append({})
            pattern = self.pattern(arm.pattern, st)
            if not has_error(pattern) and not useful([[a.pattern] for a in arms], [pattern],
                                                     [st], self.c.enums):
                self.sink.error("E0218", "this arm is never reached: earlier arms already "
                                "match everything it matches", arm.pattern.span)
            body = self.expr(arm.body, expected if expected is not None else result, statement)
            self.scopes.pop()
            if not self.diverges(body):
                if result is None:
                    result = body.type
                elif body.type != result:
                    if statement:
                        result = ir.UNIT
                    else:
                        self.sink.error("E0201", f"match arms have different types: {result} "
                                        f"and {body.type}", arm.body.span)
            arms.append(ir.Arm(pattern, body))
        if result is None:
            result = expected if expected is not None else ir.UNIT
        if statement and result == ir.UNIT:
            for a in arms:
                if a.body.type != ir.UNIT:
                    a.body = _as_statement(a.body)
        missing = missing_pattern([a.pattern for a in arms], st, self.c.enums)
        if missing is not None:
            self.sink.error("E0208", f"match is not exhaustive: {missing} is not covered",
                            e.span)
        return ir.Match(result, e.span, scrutinee, holder, arms)

    def pattern(self, p: ast.Pattern, t: ir.Type) -> ir.Pattern:
        if isinstance(p, ast.PatWild):
            return PError(p.span)
        if isinstance(p, ast.PatName):
            if isinstance(t, ir.EnumT):
                for v in self.c.enums[t.name].variants:
                    if v.name == p.name:
                        if v.fields:
                            self.sink.error("E0217", f"variant '{v.name}' has {len(v.fields)} "
                                            "field(s); write its pattern with parentheses",
                                            p.span)
                        return ir.PVariant(p.span, t.name, v.tag,
                                           [ir.PWild(p.span) for _ in v.fields])
            local = self.bind(p.name, t, p.span)
            return ir.PBind(p.span, local)
        if isinstance(p, ast.PatVariant):
            if not isinstance(t, ir.EnumT):
                self.sink.error("E0217", f"a variant pattern cannot match a value of type {t}",
                                p.span)
                return PError(p.span)
            if p.enum is not None and self.c.lookup_type(self.module, p.enum) != t:
                self.sink.error("E0217", f"pattern of enum '{p.enum}' cannot match {t}", p.span)
                return PError(p.span)
            variant = next((v for v in self.c.enums[t.name].variants if v.name == p.name), None)
            if variant is None:
                self.sink.error("E0107", f"enum {t} has no variant '{p.name}'", p.name_span)
                return PError(p.span)
            subs = p.fields if p.fields is not None else ()
            if len(subs) != len(variant.fields):
                self.sink.error("E0217", f"variant '{p.name}' has {len(variant.fields)} "
                                f"field(s), the pattern has {len(subs)}", p.span)
                return PError(p.span)
            return ir.PVariant(p.span, t.name, variant.tag,
                               [self.pattern(s, ft) for s, ft in zip(subs, variant.fields)])
        assert isinstance(p, ast.PatLit)
        lit = p.value
        ok = (isinstance(lit, ast.IntLit) and t in ir.INTEGER_TYPES) or (
            isinstance(lit, ast.CharLit) and t == ir.U8) or (
            isinstance(lit, ast.StrLit) and t == ir.STR) or (
            isinstance(lit, ast.BoolLit) and t == ir.BOOL)
        if not ok:
            self.sink.error("E0217", f"this literal pattern cannot match a value of type {t}",
                            p.span)
            return PError(p.span)
        return ir.PLit(p.span, self.expr(lit, t))

    # Other expressions.

    def field_of(self, obj: ir.Expr, f: ast.Field) -> tuple[str, int, ir.Type] | None:
        t = obj.type
        if not isinstance(t, ir.StructT):
            if t not in (ir.UNIT, ERROR):
                self.sink.error("E0106", f"type {t} has no field '{f.name}'", f.name_span)
            return None
        fields = self.c.structs[t.name].fields
        for i, (name, ftype) in enumerate(fields):
            if name == f.name:
                return t.name, i, ftype
        self.sink.error("E0106", f"struct {t} has no field '{f.name}'", f.name_span)
        return None

    def expr_Field(self, e: ast.Field, expected: ir.Type | None) -> ir.Expr:
        path = ast.path_of(e)
        if path is not None and self.lookup_local(path[0]) is None:
            resolved = self.value_path(e, path, expected)
            if resolved is not None:
                return resolved
        obj = self.value(e.target)
        found = self.field_of(obj, e)
        if found is None:
            if isinstance(obj.type, (ir.VecT, ir.ArrayT, ir.MapT)) or obj.type == ir.STR:
                self.sink.error("E0205", f"'{e.name}' is a method of {obj.type}: call it "
                                f"with ()", e.name_span)
            return poison(e.span)
        struct, index, ftype = found
        return ir.FieldGet(ftype, e.span, obj, struct, index)

    def value_path(self, e: ast.Field, path: list[str], expected: ir.Type | None) \
            -> ir.Expr | None:
        """`Enum.Variant`, `module.CONST`, `module.Enum.Variant` used as values."""
        head, rest = path[0], path[1:]
        module = self.syms.aliases.get(head)
        if module is not None and module in self.c.symbols:
            if len(rest) == 1:
                value = self.find_const(module, rest[0], e.span) \
                    if rest[0] in self.c.symbols[module].consts else None
                if value is not None:
                    return _respan(value, e.span)
                self.sink.error("E0101", f"module '{head}' has no constant '{rest[0]}'",
                                e.name_span)
                return poison(e.span)
            if len(rest) == 2:
                found = self.find_variant(rest[0], rest[1], e.name_span, None, module)
                if found is not None:
                    return self.nullary(e, *found)
            return None
        if len(rest) == 1 and isinstance(self.c.lookup_type(self.module, head), ir.EnumT):
            found = self.find_variant(head, rest[0], e.name_span, None)
            if found is not None:
                return self.nullary(e, *found)
            return poison(e.span)
        return None

    def nullary(self, e: ast.Node, enum: str, v: ir.Variant) -> ir.Expr:
        if v.fields:
            self.sink.error("E0202", f"variant '{v.name}' takes {len(v.fields)} argument(s)",
                            e.span)
        return ir.EnumNew(ir.EnumT(enum), e.span, enum, v.tag, [])

    def expr_Index(self, e: ast.Index, expected: ir.Type | None) -> ir.Expr:
        seq = self.value(e.target)
        index = self.expect(e.index, ir.I32)
        loc = self.location(e.span)
        if seq.type == ir.STR:
            return ir.Index(ir.U8, e.span, seq, index, loc)
        if isinstance(seq.type, (ir.VecT, ir.ArrayT)):
            return ir.Index(seq.type.elem, e.span, seq, index, loc)
        if isinstance(seq.type, ir.MapT):
            self.sink.error("E0203", "maps are read with .get(key)", e.target.span)
        elif seq.type != ERROR:
            self.sink.error("E0203", f"cannot index into {seq.type}", e.target.span)
        return poison(e.span)

    def expr_ArrayLit(self, e: ast.ArrayLit, expected: ir.Type | None) -> ir.Expr:
        hint = expected.elem if isinstance(expected, (ir.ArrayT, ir.VecT)) else None
        elems: list[ir.Expr] = []
        for x in e.elems:
            if not elems:
                elems.append(self.value(x, hint))
            else:
                elems.append(self.expect(x, elems[0].type))
        if not elems:
            if hint is None:
                self.sink.error("E0201", "cannot infer the element type of an empty array; "
                                "write its type", e.span)
            return ir.ArrayLit(ir.ArrayT(hint or ir.I32, 0), e.span, [])
        return ir.ArrayLit(ir.ArrayT(elems[0].type, len(elems)), e.span, elems)

    def expr_ArrayRepeat(self, e: ast.ArrayRepeat, expected: ir.Type | None) -> ir.Expr:
        hint = expected.elem if isinstance(expected, (ir.ArrayT, ir.VecT)) else None
        value = self.value(e.value, hint)
        count = fold_constant(self.expect(e.count, ir.I32))
        if not isinstance(count, ir.IntConst) or count.value < 0:
            self.sink.error("E0216", "the length of `[value; length]` must be a non-negative "
                            "constant (use Vec[T](n, value) for a run-time length)",
                            e.count.span)
            count = ir.IntConst(ir.I32, e.count.span, 0)
        return ir.ArrayRepeat(ir.ArrayT(value.type, count.value), e.span, value, count)

    def expr_VecNew(self, e: ast.VecNew, expected: ir.Type | None) -> ir.Expr:
        elem = self.c.resolve_type(self.module, e.elem)
        t = ir.VecT(elem)
        if not e.args:
            return ir.VecNew(t, e.span)
        args = self.check_args(ast.Call(e.span, ast.Name(e.span, "Vec"), e.args),
                               [ir.I32, elem], "Vec[T](length, value)")
        if len(args) != 2:
            return ir.VecNew(t, e.span)
        return ir.ArrayRepeat(t, e.span, args[1], args[0])

    def expr_MapNew(self, e: ast.MapNew, expected: ir.Type | None) -> ir.Expr:
        t = ir.MapT(self.c.resolve_type(self.module, e.value))
        if e.args:
            self.sink.error("E0202", "Map[V]() takes no arguments", e.span)
        return ir.Call(t, e.span, "prelude.__map_new", [])


def _is_untyped_literal(e: ast.Expr) -> bool:
    return isinstance(e, (ast.IntLit, ast.FloatLit)) and e.suffix is None


def _respan(e: ir.Expr, span: Span) -> ir.Expr:
    """A copy of a folded constant located at its use."""
    if isinstance(e, ir.IntConst):
        return ir.IntConst(e.type, span, e.value)
    if isinstance(e, ir.FloatConst):
        return ir.FloatConst(e.type, span, e.value)
    if isinstance(e, ir.BoolConst):
        return ir.BoolConst(e.type, span, e.value)
    if isinstance(e, ir.StrConst):
        return ir.StrConst(e.type, span, e.value)
    return e


def _as_statement(e: ir.Expr) -> ir.Expr:
    """Discard a value: the expression becomes a unit statement."""
    if e.type == ir.UNIT:
        return e
    return ir.Block(ir.UNIT, e.span, [e], None)


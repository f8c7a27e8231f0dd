"""Names and types of calls: the call forms of check.py, as a mixin of its function checker.

A call's callee decides what it is: a function (module or prelude, or a `module.f` path), a
struct literal (`Point(x: 1, y: 2)`), an enum variant (`Num(3)`, `Expr.Num(3)`), a builtin
(`print`, `println`, `panic`), a prelude intrinsic (`__load_u8`, prelude only), a built-in
method of str/Vec/array/Map/scalars, or a function called with method syntax (uniform call
syntax: `x.f(a)` is `f(x, a)` when `f`'s first parameter has x's type).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import ast, ir
from .builtins import (BUILTIN_FUNCS, ERROR, FLOAT_BINARY, FLOAT_UNARY, INTRINSICS, TO_STR,
                       poison)

if TYPE_CHECKING:
    from .check import _Checker, _Symbols
    from .diagnostics import DiagnosticSink, Span


class CallChecker:
    """Methods of `_FunctionChecker` that check calls (split out by construct)."""

    if TYPE_CHECKING:
        # What the mixin uses of `_FunctionChecker` (defined there).
        c: _Checker
        sink: DiagnosticSink
        module: str
        syms: _Symbols

        @property
        def prelude(self) -> bool: ...
        def lookup_local(self, name: str) -> ir.Local | None: ...
        def lookup_function(self, name: str, module: str | None = None) -> str | None: ...
        def find_variant(self, enum_name: str | None, name: str, span: Span,
                         expected: ir.Type | None, module: str | None = None) \
            -> tuple[str, ir.Variant] | None: ...
        def location(self, span: Span) -> str: ...
        def diverges(self, e: ir.Expr) -> bool: ...
        def expect(self, e: ast.Expr, t: ir.Type) -> ir.Expr: ...
        def expr(self, e: ast.Expr, expected: ir.Type | None,
                 statement: bool = False) -> ir.Expr: ...
        def value(self, e: ast.Expr, expected: ir.Type | None = None) -> ir.Expr: ...
        def prelude_call(self, name: str, args: list[ir.Expr], t: ir.Type,
                         span: Span) -> ir.Expr: ...

    def expr_Call(self, e: ast.Call, expected: ir.Type | None) -> ir.Expr:
        callee = e.callee
        if isinstance(callee, ast.Name):
            return self.call_name(e, callee, expected)
        if isinstance(callee, ast.Field):
            path = ast.path_of(callee)
            if path is not None and self.lookup_local(path[0]) is None:
                resolved = self.call_path(e, path, callee, expected)
                if resolved is not None:
                    return resolved
            return self.call_method(e, callee, expected)
        self.sink.error("E0204", "this expression cannot be called", callee.span)
        for a in e.args:
            self.expr(a.value, None)
        return poison(e.span)

    def call_name(self, e: ast.Call, callee: ast.Name, expected: ir.Type | None) -> ir.Expr:
        name = callee.name
        if self.lookup_local(name) is not None:
            self.sink.error("E0204", f"'{name}' is a variable, not a function", callee.span)
            return poison(e.span)
        if name in BUILTIN_FUNCS:
            return self.call_builtin(e, name)
        if name.startswith("__"):
            if not self.prelude:
                self.sink.error("E0109", f"names beginning with '__' are reserved: '{name}'",
                                callee.span)
                return poison(e.span)
            if name in INTRINSICS:
                return self.call_intrinsic(e, name)
        struct = self.c.lookup_type(self.module, name)
        if isinstance(struct, ir.StructT):
            return self.struct_literal(e, struct)
        fn = self.lookup_function(name)
        if fn is not None:
            return self.call_function(e, fn, list(e.args))
        variant = self.find_variant(None, name, callee.span, expected)
        if variant is not None:
            return self.enum_literal(e, *variant)
        self.sink.error("E0101", f"unknown function '{name}'", callee.span)
        for a in e.args:
            self.expr(a.value, None)
        return poison(e.span)

    def call_path(self, e: ast.Call, path: list[str], callee: ast.Field,
                  expected: ir.Type | None) -> ir.Expr | None:
        """`module.f(..)`, `module.Struct(..)`, `Enum.Variant(..)`, `module.Enum.Variant(..)`."""
        head, rest = path[0], path[1:]
        module = self.syms.aliases.get(head)
        if module is not None and module in self.c.symbols:
            if len(rest) == 1:
                name = rest[0]
                t = self.c.lookup_type_in(module, name)
                if isinstance(t, ir.StructT):
                    return self.struct_literal(e, t)
                fn = self.lookup_function(name, module)
                if fn is not None and not name.startswith("__"):
                    return self.call_function(e, fn, list(e.args))
                self.sink.error("E0101", f"module '{head}' has no function '{name}'",
                                callee.name_span)
                return poison(e.span)
            if len(rest) == 2:
                found = self.find_variant(rest[0], rest[1], callee.name_span, None, module)
                if found is not None:
                    return self.enum_literal(e, *found)
                self.sink.error("E0107", f"unknown variant '{'.'.join(path)}'", callee.span)
                return poison(e.span)
            return None
        if len(rest) == 1 and isinstance(self.c.lookup_type(self.module, head), ir.EnumT):
            found = self.find_variant(head, rest[0], callee.name_span, None)
            if found is not None:
                return self.enum_literal(e, *found)
            return poison(e.span)
        return None

    def check_args(self, e: ast.Call, params: list[ir.Type], what: str) -> list[ir.Expr]:
        args = list(e.args)
        if len(args) != len(params):
            self.sink.error("E0202", f"{what} takes {len(params)} argument(s), "
                            f"{len(args)} given", e.callee.span)
        out = []
        for i, a in enumerate(args):
            if a.name is not None:
                self.sink.error("E0201", "named arguments are only for struct literals",
                                a.span)
            if i < len(params):
                out.append(self.expect(a.value, params[i]))
            else:
                out.append(self.value(a.value))
        return out

    def call_function(self, e: ast.Call, qualified: str, args: list[ast.Arg],
                      receiver: ir.Expr | None = None) -> ir.Expr:
        fn = self.c.functions[qualified]
        params = [p.type for p in fn.params]
        short = qualified.rsplit(".", 1)[-1]
        if receiver is not None:
            rest = params[1:]
            if len(args) != len(rest):
                self.sink.error("E0202", f"'{short}' takes {len(rest)} argument(s) after the "
                                f"receiver, {len(args)} given", e.callee.span)
            values = [receiver] + [self.expect(a.value, t) if i < len(rest) else
                                   self.value(a.value) for i, (a, t) in
                                   enumerate(zip(args, rest + [ir.UNIT] * len(args)))]
        else:
            values = self.check_args(e, params, f"'{short}'")
        return ir.Call(fn.result, e.span, qualified, values)

    def struct_literal(self, e: ast.Call, t: ir.StructT) -> ir.Expr:
        sdef = self.c.structs[t.name]
        names = [f[0] for f in sdef.fields]
        values: list[tuple[int, ir.Expr]] = []
        seen: set[int] = set()
        positional = all(a.name is None for a in e.args) and e.args
        for i, a in enumerate(e.args):
            if positional:
                index = i if i < len(names) else None
            elif a.name is None:
                self.sink.error("E0201", "struct literal fields are written `name: value`",
                                a.span)
                self.expr(a.value, None)
                continue
            else:
                index = names.index(a.name) if a.name in names else None
                if index is None:
                    self.sink.error("E0106", f"struct {t} has no field '{a.name}'", a.span)
            if index is None:
                if positional:
                    self.sink.error("E0202", f"struct {t} has {len(names)} field(s)", a.span)
                self.expr(a.value, None)
                continue
            if index in seen:
                self.sink.error("E0102", f"field '{names[index]}' is given twice", a.span)
            seen.add(index)
            values.append((index, self.expect(a.value, sdef.fields[index][1])))
        missing = [n for i, n in enumerate(names) if i not in seen]
        if missing:
            self.sink.error("E0213", f"missing field(s) {', '.join(missing)} in {t}",
                            e.callee.span)
        return ir.StructNew(t, e.span, t.name, values)

    def enum_literal(self, e: ast.Call, enum: str, v: ir.Variant) -> ir.Expr:
        args = self.check_args(e, v.fields, f"variant '{v.name}'")
        return ir.EnumNew(ir.EnumT(enum), e.span, enum, v.tag, args)

    def call_builtin(self, e: ast.Call, name: str) -> ir.Expr:
        if name in ("print", "println"):
            args = []
            for a in e.args:
                v = self.value(a.value)
                if v.type not in ir.SCALAR_TYPES + (ir.STR, ERROR) and not self.diverges(v):
                    self.sink.error("E0201", f"print takes numbers, bools and strings, "
                                    f"not {v.type}", a.value.span)
                args.append(v)
            return ir.Print(ir.UNIT, e.span, args, name == "println")
        if name == "panic":
            (msg,) = self.check_args(e, [ir.STR], "'panic'") or [ir.StrConst(ir.STR, e.span,
                                                                             b"")]
            return ir.Panic(ir.UNIT, e.span, msg)
        raise AssertionError(name)

    def call_intrinsic(self, e: ast.Call, name: str) -> ir.Expr:
        params, result = INTRINSICS[name]
        args = []
        if len(e.args) != len(params):
            self.sink.error("E0202", f"'{name}' takes {len(params)} argument(s)", e.callee.span)
        for a, p in zip(e.args, params):
            args.append(self.value(a.value) if p is None else self.expect(a.value, p))
        return ir.Intrinsic(result, e.span, name, args)

    def call_method(self, e: ast.Call, callee: ast.Field, expected: ir.Type | None) -> ir.Expr:
        receiver = self.value(callee.target)
        t = receiver.type
        name = callee.name
        if t == ERROR:
            for a in e.args:
                self.expr(a.value, None)
            return poison(e.span)
        loc = self.location(callee.name_span)
        builtin = self.builtin_method(e, receiver, name, loc)
        if builtin is not None:
            return builtin
        for module in self.ufcs_modules(t):
            fn = self.c.symbols[module].functions.get(name)
            if fn is None or (name.startswith("__") and not self.prelude):
                continue
            qualified = f"{module}.{name}"
            params = self.c.functions[qualified].params
            if params and params[0].type == t:
                return self.call_function(e, qualified, list(e.args), receiver)
        self.sink.error("E0205", f"no method '{name}' for type {t}", callee.name_span)
        for a in e.args:
            self.expr(a.value, None)
        return poison(e.span)

    def ufcs_modules(self, t: ir.Type) -> list[str]:
        modules = [self.module]
        if isinstance(t, (ir.StructT, ir.EnumT)):
            home = t.name.rsplit(".", 1)[0]
            if home not in modules:
                modules.append(home)
        if "prelude" not in modules:
            modules.append("prelude")
        return modules

    def builtin_method(self, e: ast.Call, receiver: ir.Expr, name: str, loc: str) \
            -> ir.Expr | None:
        t = receiver.type
        span = e.span
        if t in ir.FLOAT_TYPES and name in FLOAT_UNARY:
            self.check_args(e, [], f"'{name}'")
            return ir.Unary(t, span, FLOAT_UNARY[name], receiver)
        if t in ir.FLOAT_TYPES and name in FLOAT_BINARY:
            args = self.check_args(e, [t], f"'{name}'")
            other = args[0] if args else receiver
            return ir.Binary(t, span, FLOAT_BINARY[name], receiver, other, t)
        if name == "to_str" and t in TO_STR:
            self.check_args(e, [], "'to_str'")
            return self.prelude_call(TO_STR[t], [receiver], ir.STR, span)
        if t == ir.STR:
            if name == "len":
                self.check_args(e, [], "'len'")
                return ir.SeqMethod(ir.I32, span, "len", receiver, [], loc)
            if name == "slice":
                a, b = self.check_args(e, [ir.I32, ir.I32], "'slice'") + [None, None][
                    len(e.args):]
                if a is None or b is None:
                    return ir.StrConst(ir.STR, span, b"")
                return self.prelude_call("__str_slice", [receiver, a, b], ir.STR, span)
            return None
        if isinstance(t, (ir.VecT, ir.ArrayT)):
            elem = t.elem
            if name == "len":
                self.check_args(e, [], "'len'")
                return ir.SeqMethod(ir.I32, span, "len", receiver, [], loc)
            if isinstance(t, ir.VecT):
                if name == "push":
                    args = self.check_args(e, [elem], "'push'")
                    return ir.SeqMethod(ir.UNIT, span, "push", receiver, args, loc)
                if name == "pop":
                    self.check_args(e, [], "'pop'")
                    return ir.SeqMethod(elem, span, "pop", receiver, [], loc)
                if name == "clear":
                    self.check_args(e, [], "'clear'")
                    return ir.SeqMethod(ir.UNIT, span, "clear", receiver, [], loc)
            return None
        if isinstance(t, ir.MapT):
            v = t.value
            if name == "set":
                args = self.check_args(e, [ir.STR, v], "'set'")
                if len(args) == 2:
                    args[1] = ir.ToSlot(ir.I64, args[1].span, args[1])
                return self.prelude_call("__map_set", [receiver] + args, ir.UNIT, span)
            if name == "get":
                args = self.check_args(e, [ir.STR], "'get'")
                raw = self.prelude_call("__map_get", [receiver] + args, ir.I64, span)
                return ir.FromSlot(v, span, raw)
            if name == "has":
                args = self.check_args(e, [ir.STR], "'has'")
                return self.prelude_call("__map_has", [receiver] + args, ir.BOOL, span)
            if name == "len":
                self.check_args(e, [], "'len'")
                return self.prelude_call("__map_len", [receiver], ir.I32, span)
            if name == "keys":
                self.check_args(e, [], "'keys'")
                return self.prelude_call("__map_keys", [receiver], ir.VecT(ir.STR), span)
            return None
        return None

"""Canonical text dump of the reference compiler's typed IR, and the harness that compares it
with the self-hosted checker (bootstrap/check.syn).

The dump is what bootstrap/tests/dump_ir.syn prints for an `ir.Program` of bootstrap/ir.syn;
two checkers agree exactly when their dumps are equal. bootstrap/tests/check_driver.syn reads
a program in the input format below, runs check.check_program, and prints `ok` and the dump,
or the diagnostics.

    python bootstrap/tests/dump_ir.py FILE.syn                 the reference dump of FILE
    python bootstrap/tests/dump_ir.py FILE.syn --input ast     check_driver's input for FILE
    python bootstrap/tests/dump_ir.py FILE.syn --compare [--mode ast|text]
        builds check_driver.syn beside the bootstrap modules (in a temporary folder), runs it
        on FILE and diffs its output with the reference; exit status 0 when they agree.
    Options: --lib (a library: no `fn main()` needed), --arena BYTES.

Dump format (one line per declaration and per IR node; a child is indented two spaces more
than its parent; fields are separated by one space):

    entry ENTRY arena ARENA_BYTES              ENTRY is `-` for a library (entry None)
    struct KEY NAME                            each struct, in dict order
      field NAME TYPE                          each field, in order
    enum KEY NAME
      variant NAME TAG (TYPE, TYPE, ...)       `()` for a variant without fields
    fn KEY NAME -> RESULT SPAN[ extern MODULE.NAME]     each function, in dict order;
                                               SPAN is `-` when the function has none
      param LOCALDECL                          each parameter
      local LOCALDECL                          each local (parameters included), in order
      result LOCAL                             when the function has a result_local
      ghosts                                   when the function has_ghosts
      requires                                 per requires contract, then the CONTRACT
      ensures                                  per ensures contract, then the CONTRACT
      decreases                                per measure, then the EXPR
      body                                     unless extern, then the EXPR

    TYPE       bootstrap/ir.syn's type_key: `i32` ... `str` `unit` `<error>`, `[T; N]`,
               `Vec[T]`, `Map[T]`, `struct QUALIFIED`, `enum QUALIFIED`
    SPAN       FILE:LINE:COL-END_LINE:END_COL
    LOCAL      #INDEX:NAME          LOCALDECL: LOCAL TYPE let|var
    STR        `"`, each byte 0x20..0x7e other than `"` and `\\` as itself and any other byte
               as `\\xHH` (lowercase hex), `"` (str values are UTF-8 encoded)
    FLOAT      the runtime's text of an f64 (runtime/host.py's format_f64: repr, `nan`)
    CONTRACT   `contract KIND STR(message) SPAN[ ghost]`, then its condition EXPR one level
               deeper
    EXPR       `CLASS TYPE SPAN[ EXTRA]` (CLASS: the ir.py class name), then one level deeper
               its child expressions in order (`none` for a missing optional one), then its
               CONTRACTs. EXTRA and children per class:
        IntConst VALUE / FloatConst FLOAT / BoolConst true|false / StrConst STR / Unit
        LocalGet LOCAL / Let LOCAL, LocalSet LOCAL: value
        Binary OP OPERAND_TYPE: left right / Unary OP: operand / Cast, ToSlot, FromSlot: operand
        Call FUNC, Intrinsic NAME: args / If: cond then else / Block NSTMTS: stmts, value
        While NDECREASES: cond body decreases...; invariants as CONTRACTs
        ForRange VAR END_LOCAL: start end body; invariants
        ForEach VAR SEQ_LOCAL INDEX_LOCAL LEN_LOCAL: seq body; invariants
        Forall|Exists VAR END_LOCAL RESULT_LOCAL: start end body
        Break / Continue / Return: value / Check: its CONTRACT / Print true|false: args
        Panic: message / ArrayLit: elems / ArrayRepeat: value count / VecNew
        Index STR(location): seq index / IndexSet STR: seq index value
        SeqMethod METHOD STR: target args / StructNew STRUCT I,J,...: values (field indices
        comma-separated, in source order) / FieldGet STRUCT INDEX: obj
        FieldSet STRUCT INDEX: obj value / EnumNew ENUM TAG: args
        Match TYPE SPAN HOLDER_LOCAL: scrutinee, then per arm a line `arm` and, one level
        deeper, the PATTERN and the body EXPR
    PATTERN    `PWild SPAN`, `PError SPAN`, `PBind SPAN LOCAL`, `PLit SPAN` (then the EXPR),
               `PVariant SPAN ENUM TAG` (then the field PATTERNs)

check_driver's input: whitespace-separated tokens. A string is `sLEN:BYTES` (LEN bytes taken
as they are), an int `iN` (an IntLit of 2**63 or more is `wN`, N its low 64 bits as a signed
number), a bool `b1`/`b0`, None `N`, a tuple `LCOUNT` then its elements, a float `fnan`, `finf`,
`f-inf`, `f0`, `f-0` or `fM E` (M * 2**E, M odd), a node its class name then its fields in
dataclass order (a Span: `Span` file line col end_line end_col). The input is: the mode (`ast`
or `text`), lib (`i1`/`i0`), the arena (`i-1` for none), the entry module's name, the number of
modules, then per module (dependencies first): its name, the number of its imports and each
(alias, module) pair, then in mode `ast` the Module node (as compiler/parse.py parsed it), in
mode `text` its file name and source text; then the number of display names and each
(file, display name) pair.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import shutil
import sys
import tempfile
from pathlib import Path

from synapse.compiler import ast, ir
from synapse.compiler.check import check_program
from synapse.compiler.diagnostics import CompileError, Span
from synapse.compiler.driver import compile_file
from synapse.compiler.loader import LoadedProgram, load_program
from synapse.runtime.host import format_f64
from synapse.runtime.sandbox import run_module

BOOTSTRAP = Path(__file__).resolve().parent.parent
RECURSION_LIMIT = 20000


# --- the IR dump ----------------------------------------------------------------------------

def quote(value: str | bytes) -> str:
    data = value.encode() if isinstance(value, str) else value
    out = ['"']
    for b in data:
        out.append(chr(b) if 32 <= b < 127 and b not in (34, 92) else f"\\x{b:02x}")
    out.append('"')
    return "".join(out)


def type_key(t: ir.Type) -> str:
    """bootstrap/ir.syn's type_key: qualified names, unlike str(t)."""
    if isinstance(t, ir.Prim):
        return t.name
    if isinstance(t, ir.ArrayT):
        return f"[{type_key(t.elem)}; {t.size}]"
    if isinstance(t, ir.VecT):
        return f"Vec[{type_key(t.elem)}]"
    if isinstance(t, ir.MapT):
        return f"Map[{type_key(t.value)}]"
    if isinstance(t, ir.StructT):
        return f"struct {t.name}"
    if isinstance(t, ir.EnumT):
        return f"enum {t.name}"
    raise TypeError(f"not an ir type: {t!r}")


def span_text(s: Span) -> str:
    return f"{s.file}:{s.line}:{s.col}-{s.end_line}:{s.end_col}"


def loc(local: ir.Local) -> str:
    return f"#{local.index}:{local.name}"


def decl_local(local: ir.Local) -> str:
    return f"{loc(local)} {type_key(local.type)} {'var' if local.mutable else 'let'}"


def bool_text(b: bool) -> str:
    return "true" if b else "false"


class Dumper:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def line(self, depth: int, text: str) -> None:
        self.lines.append("  " * depth + text)

    def contract(self, c: ir.Contract, d: int) -> None:
        ghost = " ghost" if c.ghost else ""
        self.line(d, f"contract {c.kind} {quote(c.message)} {span_text(c.span)}{ghost}")
        self.expr(c.cond, d + 1)

    def opt(self, e: ir.Expr | None, d: int) -> None:
        if e is None:
            self.line(d, "none")
        else:
            self.expr(e, d)

    def pattern(self, p: ir.Pattern, d: int) -> None:
        # patterns.PError subclasses PWild: its class name tells them apart.
        head = f"{type(p).__name__} {span_text(p.span)}"
        if isinstance(p, ir.PBind):
            self.line(d, f"{head} {loc(p.local)}")
        elif isinstance(p, ir.PLit):
            self.line(d, head)
            self.expr(p.value, d + 1)
        elif isinstance(p, ir.PVariant):
            self.line(d, f"{head} {p.enum} {p.tag}")
            for f in p.fields:
                self.pattern(f, d + 1)
        else:
            self.line(d, head)

    def expr(self, e: ir.Expr, d: int) -> None:
        if isinstance(e, ir.Match):
            self.line(d, f"Match {type_key(e.type)} {span_text(e.span)} {loc(e.scrutinee_local)}")
            self.expr(e.scrutinee, d + 1)
            for arm in e.arms:
                self.line(d + 1, "arm")
                self.pattern(arm.pattern, d + 2)
                self.expr(arm.body, d + 2)
            return
        extra, kids, contracts = expr_parts(e)
        head = f"{type(e).__name__} {type_key(e.type)} {span_text(e.span)}"
        self.line(d, f"{head} {extra}" if extra != "" else head)
        for k in kids:
            self.opt(k, d + 1)
        for c in contracts:
            self.contract(c, d + 1)

    def program(self, p: ir.Program) -> None:
        self.line(0, f"entry {p.entry if p.entry is not None else '-'} arena {p.arena_bytes}")
        for key, s in p.structs.items():
            self.line(0, f"struct {key} {s.name}")
            for name, t in s.fields:
                self.line(1, f"field {name} {type_key(t)}")
        for key, en in p.enums.items():
            self.line(0, f"enum {key} {en.name}")
            for v in en.variants:
                types = ", ".join(type_key(t) for t in v.fields)
                self.line(1, f"variant {v.name} {v.tag} ({types})")
        for key, f in p.functions.items():
            ext = f" extern {f.extern_module}.{f.extern_name}" if f.extern_module else ""
            span = span_text(f.span) if f.span is not None else "-"
            self.line(0, f"fn {key} {f.name} -> {type_key(f.result)} {span}{ext}")
            for local in f.params:
                self.line(1, f"param {decl_local(local)}")
            for local in f.locals:
                self.line(1, f"local {decl_local(local)}")
            if f.result_local is not None:
                self.line(1, f"result {loc(f.result_local)}")
            if f.has_ghosts:
                self.line(1, "ghosts")
            for c in f.requires:
                self.line(1, "requires")
                self.contract(c, 2)
            for c in f.ensures:
                self.line(1, "ensures")
                self.contract(c, 2)
            for m in f.decreases:
                self.line(1, "decreases")
                self.expr(m, 2)
            if f.body is not None:
                self.line(1, "body")
                self.expr(f.body, 2)


def expr_parts(e: ir.Expr) -> tuple[str, list[ir.Expr | None], list[ir.Contract]]:
    """The EXTRA text, the child expressions and the contracts of a node (not Match)."""
    if isinstance(e, ir.IntConst):
        return str(e.value), [], []
    if isinstance(e, ir.FloatConst):
        return format_f64(e.value), [], []
    if isinstance(e, ir.BoolConst):
        return bool_text(e.value), [], []
    if isinstance(e, ir.StrConst):
        return quote(e.value), [], []
    if isinstance(e, (ir.Unit, ir.Break, ir.Continue, ir.VecNew)):
        return "", [], []
    if isinstance(e, ir.LocalGet):
        return loc(e.local), [], []
    if isinstance(e, (ir.Let, ir.LocalSet)):
        return loc(e.local), [e.value], []
    if isinstance(e, ir.Binary):
        return f"{e.op} {type_key(e.operand_type)}", [e.left, e.right], []
    if isinstance(e, ir.Unary):
        return e.op, [e.operand], []
    if isinstance(e, (ir.Cast, ir.ToSlot, ir.FromSlot)):
        return "", [e.operand], []
    if isinstance(e, ir.Call):
        return e.func, list(e.args), []
    if isinstance(e, ir.Intrinsic):
        return e.name, list(e.args), []
    if isinstance(e, ir.If):
        return "", [e.cond, e.then, e.else_], []
    if isinstance(e, ir.Block):
        return str(len(e.stmts)), [*e.stmts, e.value], []
    if isinstance(e, ir.While):
        return str(len(e.decreases)), [e.cond, e.body, *e.decreases], list(e.invariants)
    if isinstance(e, ir.ForRange):
        return (f"{loc(e.var)} {loc(e.end_local)}", [e.start, e.end, e.body],
                list(e.invariants))
    if isinstance(e, ir.ForEach):
        return (f"{loc(e.var)} {loc(e.seq_local)} {loc(e.index_local)} {loc(e.len_local)}",
                [e.seq, e.body], list(e.invariants))
    if isinstance(e, ir.Forall):           # and Exists
        return (f"{loc(e.var)} {loc(e.end_local)} {loc(e.result_local)}",
                [e.start, e.end, e.body], [])
    if isinstance(e, ir.Return):
        return "", [e.value], []
    if isinstance(e, ir.Check):
        return "", [], [e.contract]
    if isinstance(e, ir.Print):
        return bool_text(e.newline), list(e.args), []
    if isinstance(e, ir.Panic):
        return "", [e.message], []
    if isinstance(e, ir.ArrayLit):
        return "", list(e.elems), []
    if isinstance(e, ir.ArrayRepeat):
        return "", [e.value, e.count], []
    if isinstance(e, ir.Index):
        return quote(e.location), [e.seq, e.index], []
    if isinstance(e, ir.IndexSet):
        return quote(e.location), [e.seq, e.index, e.value], []
    if isinstance(e, ir.SeqMethod):
        return f"{e.method} {quote(e.location)}", [e.target, *e.args], []
    if isinstance(e, ir.StructNew):
        indices = ",".join(str(i) for i, _ in e.fields)
        return f"{e.struct} {indices}", [v for _, v in e.fields], []
    if isinstance(e, ir.FieldGet):
        return f"{e.struct} {e.field_index}", [e.obj], []
    if isinstance(e, ir.FieldSet):
        return f"{e.struct} {e.field_index}", [e.obj, e.value], []
    if isinstance(e, ir.EnumNew):
        return f"{e.enum} {e.tag}", list(e.args), []
    raise TypeError(f"unexpected IR node {type(e).__name__}")


def dump_program(program: ir.Program) -> str:
    d = Dumper()
    d.program(program)
    return "".join(line + "\n" for line in d.lines)


# --- check_driver's input -------------------------------------------------------------------

class AstWriter:
    """The token stream of check_driver.syn's reader (see the module docstring)."""

    def __init__(self) -> None:
        self.out: list[bytes] = []

    def word(self, text: str) -> None:
        self.out.append(text.encode())

    def string(self, value: str | bytes) -> None:
        data = value.encode() if isinstance(value, str) else value
        self.out.append(b"s%d:" % len(data) + data)

    def float(self, x: float) -> None:
        if x != x:
            self.word("fnan")
        elif x in (float("inf"), float("-inf")):
            self.word("finf" if x > 0 else "f-inf")
        elif x == 0.0:
            self.word("f-0" if str(x).startswith("-") else "f0")
        else:
            m, d = x.as_integer_ratio()
            e = -(d.bit_length() - 1)
            while m % 2 == 0:
                m //= 2
                e += 1
            self.word(f"f{m}")
            self.word(str(e))

    def value(self, v: object) -> None:
        if v is None:
            self.word("N")
        elif isinstance(v, bool):
            self.word("b1" if v else "b0")
        elif isinstance(v, int):
            self.word(f"i{v}")
        elif isinstance(v, float):
            self.float(v)
        elif isinstance(v, (str, bytes)):
            self.string(v)
        elif isinstance(v, (tuple, list)):
            self.word(f"L{len(v)}")
            for item in v:
                self.value(item)
        elif dataclasses.is_dataclass(v):
            self.node(v)
        else:
            raise TypeError(f"cannot write {v!r}")

    def node(self, n: object) -> None:
        self.word(type(n).__name__)
        for f in dataclasses.fields(n):
            v = getattr(n, f.name)
            if isinstance(n, ast.IntLit) and f.name == "value" and v >= 1 << 63:
                low = v & ((1 << 64) - 1)
                self.word(f"w{low - (1 << 64) if low >= 1 << 63 else low}")
            else:
                self.value(v)

    def data(self) -> bytes:
        return b" ".join(self.out)


def driver_input(loaded: LoadedProgram, mode: str, lib: bool, arena: int | None) -> bytes:
    w = AstWriter()
    w.word(mode)
    w.value(1 if lib else 0)
    w.value(-1 if arena is None else arena)
    w.string(loaded.entry)
    w.value(len(loaded.modules))
    for name, module in loaded.modules.items():
        w.string(name)
        aliases = loaded.imports.get(name, {})
        w.value(len(aliases))
        for alias, target in aliases.items():
            w.string(alias)
            w.string(target)
        if mode == "ast":
            w.node(module)
        else:
            w.string(module.file)
            w.string(loaded.sources[module.file])
    w.value(len(loaded.display))
    for file, shown in loaded.display.items():
        w.string(file)
        w.string(shown)
    return w.data()


# --- the reference side and the comparison --------------------------------------------------

def reference_output(file: str, lib: bool = False, arena: int | None = None) -> str:
    """What check_driver prints for FILE when check.syn agrees with compiler/check.py:
    `ok` and the dump, or `error` and one line per diagnostic (`CODE LINE COL\\tMESSAGE`)."""
    try:
        program = check_program(load_program(file), lib=lib, arena=arena)
    except CompileError as e:
        return "error\n" + "".join(f"{d.code} {d.span.line} {d.span.col}\t{d.message}\n"
                                   for d in e.diagnostics)
    return "ok\n" + dump_program(program)


def build_driver() -> bytes:
    """check_driver.syn compiled beside copies of the bootstrap modules."""
    with tempfile.TemporaryDirectory() as tmp:
        for src in BOOTSTRAP.glob("*.syn"):
            shutil.copy(src, tmp)
        for name in ("dump_ir.syn", "check_driver.syn"):
            shutil.copy(BOOTSTRAP / "tests" / name, tmp)
        result = compile_file(str(Path(tmp) / "check_driver.syn"))
        if not result.ok:
            raise SystemExit("check_driver.syn does not compile:\n"
                             + "\n".join(str(d) for d in result.diagnostics))
        return result.wasm


def without_messages(text: str) -> str:
    """Diagnostics compare by code and position only (messages may differ)."""
    return "\n".join(line.split("\t", 1)[0] for line in text.split("\n"))


def compare(file: str, mode: str, lib: bool, arena: int | None) -> int:
    expected = reference_output(file, lib, arena)
    try:
        loaded = load_program(file)
    except CompileError as e:
        print("the reference loader rejects the program:", *e.diagnostics, sep="\n")
        return 1
    run = run_module(build_driver(), driver_input(loaded, mode, lib, arena), fuel=10**12,
                     output_limit=1 << 30)
    got = run.output.decode(errors="replace")
    if not run.ok:
        got += f"\n<{run.status}: {run.message}>\n"
    if without_messages(got) == without_messages(expected):
        print("same")
        return 0
    sys.stdout.writelines(difflib.unified_diff(expected.splitlines(True), got.splitlines(True),
                                               "reference", "bootstrap"))
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Dump or compare the typed IR of a program.")
    parser.add_argument("file")
    parser.add_argument("--lib", action="store_true", help="a library: no `fn main()` needed")
    parser.add_argument("--arena", type=int, default=None, help="arena size in bytes")
    parser.add_argument("--input", choices=("ast", "text"),
                        help="write check_driver's input in this mode instead of the dump")
    parser.add_argument("--compare", action="store_true",
                        help="run check_driver on the program and diff with the reference")
    parser.add_argument("--mode", choices=("ast", "text"), default="ast",
                        help="with --compare: give check_driver the AST or the source text")
    args = parser.parse_args(argv)
    sys.setrecursionlimit(max(sys.getrecursionlimit(), RECURSION_LIMIT))
    if args.compare:
        return compare(args.file, args.mode, args.lib, args.arena)
    if args.input:
        sys.stdout.buffer.write(driver_input(load_program(args.file), args.input, args.lib,
                                             args.arena))
        return 0
    out = reference_output(args.file, args.lib, args.arena)
    sys.stdout.write(out if out.startswith("error") else out[len("ok\n"):])
    return 0 if out.startswith("ok") else 1


if __name__ == "__main__":
    sys.exit(main())

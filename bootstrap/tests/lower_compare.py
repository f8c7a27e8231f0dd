"""Compare bootstrap/lower*.syn with compiler/lower.py on the same typed IR.

The IR comes from the reference checker, so that lowering is tested apart from check.syn: this
script checks a `.syn` program with compiler/check.py, writes the `ir.Program` out as a token
stream (`serialize`), and runs bootstrap/tests/lower_driver.syn (built by the reference
compiler beside lower*.syn, ir.syn, wasm.syn and diagnostics.syn) on it. The driver reads the
IR back, lowers it with `lower.lower_program`, encodes it with wasm.syn and prints the bytes;
they must equal compiler/lower.py + compiler/wasm.py's (or, for a program whose static data
does not fit its arena, the same E0009 diagnostic). On a difference, the instruction lists of
the first differing function are printed side by side (mode `dump`).

Usage: python bootstrap/tests/lower_compare.py [--lib] FILE.syn... (or `--all DIR` for every
program under DIR); `--lib` checks them as libraries, with every function exported. Exit status 0
when every program gives identical bytes.
"""

from __future__ import annotations

import math
import os
import struct
import sys
from pathlib import Path

from synapse.compiler import ir, patterns
from synapse.compiler.check import check_program
from synapse.compiler.diagnostics import CompileError
from synapse.compiler.loader import load_program
from synapse.compiler.lower import lower_program
from synapse.runtime.sandbox import run_module
from synapse.runtime.selfhost import compile_test_driver

ROOT = Path(__file__).resolve().parents[2]
FUEL = 10**11


# --- the token stream ------------------------------------------------------------------------

class Writer:
    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def tok(self, value: object) -> None:
        self.parts.append(str(value).encode())

    def text(self, value: str | bytes) -> None:
        raw = value.encode() if isinstance(value, str) else value
        self.parts.append(b"s" + str(len(raw)).encode() + b":" + raw)

    def flag(self, value: bool) -> None:
        self.tok(1 if value else 0)

    def float(self, value: float) -> None:
        if math.isnan(value):
            self.tok("nan")
        elif math.isinf(value):
            self.tok("inf" if value > 0 else "-inf")
        elif value == 0.0:
            self.tok("-0" if math.copysign(1.0, value) < 0 else "0")
        else:
            m, e = math.frexp(value)
            self.tok(f"{int(m * 2**53)}:{e - 53}")

    def type(self, t: ir.Type) -> None:
        if isinstance(t, ir.Prim):
            self.tok("P")
            self.text(t.name)
        elif isinstance(t, ir.ArrayT):
            self.tok("A")
            self.type(t.elem)
            self.tok(t.size)
        elif isinstance(t, ir.VecT):
            self.tok("V")
            self.type(t.elem)
        elif isinstance(t, ir.MapT):
            self.tok("M")
            self.type(t.value)
        elif isinstance(t, ir.StructT):
            self.tok("S")
            self.text(t.name)
        elif isinstance(t, ir.EnumT):
            self.tok("E")
            self.text(t.name)
        else:
            raise TypeError(t)

    def local(self, local: ir.Local) -> None:
        self.tok(local.index)
        self.text(local.name)
        self.type(local.type)
        self.flag(local.mutable)

    def maybe_expr(self, e: ir.Expr | None) -> None:
        if e is None:
            self.tok("-")
        else:
            self.expr(e)

    def exprs(self, es: list[ir.Expr]) -> None:
        self.tok(len(es))
        for e in es:
            self.expr(e)

    def contract(self, c: ir.Contract) -> None:
        self.text(c.kind)
        self.expr(c.cond)
        self.text(c.message)
        self.flag(c.ghost)

    def contracts(self, cs: list[ir.Contract]) -> None:
        self.tok(len(cs))
        for c in cs:
            self.contract(c)

    def expr(self, e: ir.Expr) -> None:
        self.tok(type(e).__name__)
        self.type(e.type)
        if isinstance(e, ir.IntConst):
            self.tok(int(e.value))
        elif isinstance(e, ir.FloatConst):
            self.float(e.value)
        elif isinstance(e, ir.BoolConst):
            self.flag(e.value)
        elif isinstance(e, ir.StrConst):
            self.text(e.value)
        elif isinstance(e, ir.Unit | ir.Break | ir.Continue | ir.VecNew):
            pass
        elif isinstance(e, ir.LocalGet):
            self.local(e.local)
        elif isinstance(e, ir.Let | ir.LocalSet):
            self.local(e.local)
            self.expr(e.value)
        elif isinstance(e, ir.Binary):
            self.text(e.op)
            self.expr(e.left)
            self.expr(e.right)
            self.type(e.operand_type)
        elif isinstance(e, ir.Unary):
            self.text(e.op)
            self.expr(e.operand)
        elif isinstance(e, ir.Cast | ir.ToSlot | ir.FromSlot):
            self.expr(e.operand)
        elif isinstance(e, ir.Call):
            self.text(e.func)
            self.exprs(e.args)
        elif isinstance(e, ir.Intrinsic):
            self.text(e.name)
            self.exprs(e.args)
        elif isinstance(e, ir.If):
            self.expr(e.cond)
            self.expr(e.then)
            self.maybe_expr(e.else_)
        elif isinstance(e, ir.Block):
            self.exprs(e.stmts)
            self.maybe_expr(e.value)
        elif isinstance(e, ir.While):
            self.expr(e.cond)
            self.expr(e.body)
            self.contracts(e.invariants)
        elif isinstance(e, ir.ForRange):
            self.local(e.var)
            self.expr(e.start)
            self.expr(e.end)
            self.local(e.end_local)
            self.expr(e.body)
            self.contracts(e.invariants)
        elif isinstance(e, ir.ForEach):
            self.local(e.var)
            self.expr(e.seq)
            self.local(e.seq_local)
            self.local(e.index_local)
            self.local(e.len_local)
            self.expr(e.body)
            self.contracts(e.invariants)
        elif isinstance(e, ir.Forall):  # Exists too (a subclass): the kind token tells them apart
            self.local(e.var)
            self.expr(e.start)
            self.expr(e.end)
            self.local(e.end_local)
            self.local(e.result_local)
            self.expr(e.body)
        elif isinstance(e, ir.Return):
            self.maybe_expr(e.value)
        elif isinstance(e, ir.Check):
            self.contract(e.contract)
        elif isinstance(e, ir.Print):
            self.exprs(e.args)
            self.flag(e.newline)
        elif isinstance(e, ir.Panic):
            self.expr(e.message)
        elif isinstance(e, ir.ArrayLit):
            self.exprs(e.elems)
        elif isinstance(e, ir.ArrayRepeat):
            self.expr(e.value)
            self.expr(e.count)
        elif isinstance(e, ir.Index):
            self.expr(e.seq)
            self.expr(e.index)
            self.text(e.location)
        elif isinstance(e, ir.IndexSet):
            self.expr(e.seq)
            self.expr(e.index)
            self.expr(e.value)
            self.text(e.location)
        elif isinstance(e, ir.SeqMethod):
            self.text(e.method)
            self.expr(e.target)
            self.exprs(e.args)
            self.text(e.location)
        elif isinstance(e, ir.StructNew):
            self.text(e.struct)
            self.tok(len(e.fields))
            for index, value in e.fields:
                self.tok(index)
                self.expr(value)
        elif isinstance(e, ir.FieldGet):
            self.expr(e.obj)
            self.text(e.struct)
            self.tok(e.field_index)
        elif isinstance(e, ir.FieldSet):
            self.expr(e.obj)
            self.text(e.struct)
            self.tok(e.field_index)
            self.expr(e.value)
        elif isinstance(e, ir.EnumNew):
            self.text(e.enum)
            self.tok(e.tag)
            self.exprs(e.args)
        elif isinstance(e, ir.Match):
            self.expr(e.scrutinee)
            self.local(e.scrutinee_local)
            self.tok(len(e.arms))
            for arm in e.arms:
                self.pattern(arm.pattern)
                self.expr(arm.body)
        else:
            raise TypeError(type(e).__name__)

    def pattern(self, p: ir.Pattern) -> None:
        if isinstance(p, patterns.PError):
            self.tok("PError")
        elif isinstance(p, ir.PWild):
            self.tok("PWild")
        elif isinstance(p, ir.PBind):
            self.tok("PBind")
            self.local(p.local)
        elif isinstance(p, ir.PLit):
            self.tok("PLit")
            self.expr(p.value)
        elif isinstance(p, ir.PVariant):
            self.tok("PVariant")
            self.text(p.enum)
            self.tok(p.tag)
            self.tok(len(p.fields))
            for f in p.fields:
                self.pattern(f)
        else:
            raise TypeError(type(p).__name__)

    def function(self, f: ir.Function) -> None:
        self.text(f.name)
        self.tok(len(f.params))
        for p in f.params:
            self.local(p)
        self.type(f.result)
        self.tok(len(f.locals))
        for p in f.locals:
            self.local(p)
        self.maybe_expr(f.body)
        self.contracts(f.requires)
        self.contracts(f.ensures)
        if f.result_local is None:
            self.tok("-")
        else:
            self.tok("L")
            self.local(f.result_local)
        self.flag(f.has_ghosts)
        self.text(f.extern_module or "")
        self.text(f.extern_name or "")
        self.flag(f.span is not None)
        self.text(f.span.file if f.span is not None else "")

    def program(self, p: ir.Program) -> None:
        self.tok(len(p.functions))
        for f in p.functions.values():
            self.function(f)
        self.tok(len(p.structs))
        for s in p.structs.values():
            self.text(s.name)
            self.tok(len(s.fields))
            for name, t in s.fields:
                self.text(name)
                self.type(t)
        self.tok(len(p.enums))
        for en in p.enums.values():
            self.text(en.name)
            self.tok(len(en.variants))
            for v in en.variants:
                self.text(v.name)
                self.tok(v.tag)
                self.tok(len(v.fields))
                for t in v.fields:
                    self.type(t)
        self.text(p.entry or "")
        self.tok(p.arena_bytes)
        self.tok(len(p.exports))
        for name in p.exports:
            self.text(name)


def serialize(program: ir.Program, mode: str) -> bytes:
    w = Writer()
    w.tok(mode)
    w.program(program)
    return b" ".join(w.parts) + b"\n"


# --- running both ----------------------------------------------------------------------------

def build_driver() -> bytes:
    try:
        return compile_test_driver(ROOT / "bootstrap" / "tests" / "lower_driver.syn")
    except ValueError as err:
        raise SystemExit(str(err)) from None


def reference(path: str, lib: bool = False) -> tuple[ir.Program | None, bytes | str]:
    """The checked IR and the reference bytes (or the reference's error text)."""
    try:
        loaded = load_program(path)
        program = check_program(loaded, lib=lib, arena=None)
    except CompileError as e:
        return None, "check: " + "; ".join(str(d) for d in e.diagnostics)
    if lib:
        # The checker exports nothing yet: export every function with a body, so that the
        # roots, the reachability from them and the export names are exercised.
        program.exports = [n for n, f in program.functions.items() if f.body is not None]
    try:
        module = lower_program(program)
    except CompileError as e:
        d = e.diagnostics[0]
        return program, f"error {d.code} {d.span.file} {d.span.line} {d.span.col}"
    return program, module.encode()


def reference_dump(program: ir.Program) -> list[str]:
    """Each function's instructions as the driver's `dump` prints them: `op a b`."""
    module = lower_program(program)
    lines = []
    for f in module.funcs:
        lines.append(f"func {f.debug_name} locals {' '.join(f.locals or [])}".rstrip())
        for ins in f.body or []:
            lines.append("  " + dump_instr(ins))
    return lines


def dump_instr(ins: tuple) -> str:
    op, args = ins[0], list(ins[1:])
    if op in ("f32.const", "f64.const"):  # lower.syn writes these as raw bits
        width = "<f" if op == "f32.const" else "<d"
        bits = int.from_bytes(struct.pack(width, args[0]), "little")
        if op == "f64.const" and bits >= 1 << 63:
            bits -= 1 << 64
        op, args = op + "_bits", [bits]
    elif op == "f64.const_bits" and args[0] >= 1 << 63:
        args = [args[0] - (1 << 64)]
    vals = []
    for x in args:
        if x is None:
            vals.append(0)
        elif isinstance(x, str):
            vals.append({"i32": 1, "i64": 2, "f32": 3, "f64": 4}[x])
        else:
            vals.append(int(x))
    vals += [0] * (2 - len(vals))
    return f"{op} {vals[0]} {vals[1]}"


def run_driver(driver: bytes, data: bytes) -> bytes:
    run = run_module(driver, data, fuel=FUEL, output_limit=1 << 28)
    if not run.ok:
        raise RuntimeError(f"driver failed: {run.message} in {run.function}")
    return run.output


def compare(driver: bytes, path: str, lib: bool = False) -> bool:
    program, expected = reference(path, lib)
    if program is None:
        print(f"skip {path}: {expected}")
        return True
    got = run_driver(driver, serialize(program, "bytes"))
    if isinstance(expected, str):
        ok = got.decode(errors="replace").strip() == expected
        print(f"{'ok  ' if ok else 'FAIL'} {path}: {expected}" + ("" if ok else f" got {got[:200]!r}"))
        return ok
    if got == expected:
        print(f"ok   {path} ({len(expected)} bytes)")
        return True
    print(f"FAIL {path}: {len(got)} bytes vs {len(expected)}")
    mine = run_driver(driver, serialize(program, "dump")).decode(errors="replace").splitlines()
    theirs = reference_dump(program)
    for i, (a, b) in enumerate(zip(mine, theirs)):
        if a != b:
            lo = max(0, i - 6)
            print(f"  first difference at dump line {i}:")
            for j in range(lo, min(i + 4, len(mine), len(theirs))):
                print(f"    {'!' if mine[j] != theirs[j] else ' '} syn: {mine[j]:40} py: {theirs[j]}")
            break
    else:
        print(f"  dumps agree for {min(len(mine), len(theirs))} lines "
              f"({len(mine)} vs {len(theirs)}); difference in the module sections")
    return False


def main(argv: list[str]) -> int:
    paths: list[str] = []
    lib = argv[:1] == ["--lib"]
    if lib:
        argv = argv[1:]
    if argv[:1] == ["--all"]:
        for d in argv[1:]:
            for root, _, files in os.walk(d):
                paths += [os.path.join(root, f) for f in sorted(files) if f.endswith(".syn")]
    else:
        paths = argv
    driver = build_driver()
    failures = 0
    for p in paths:
        try:
            if not compare(driver, p, lib):
                failures += 1
        except Exception as e:  # a crash in one program should not hide the others
            print(f"FAIL {p}: {e}")
            failures += 1
    print(f"{len(paths) - failures}/{len(paths)} identical")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

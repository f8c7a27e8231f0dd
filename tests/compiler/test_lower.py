"""Tests of the lowering phase (compiler/lower.py) on hand-built typed IR.

Each test builds a small `ir.Program`, lowers and encodes it, runs `main` in the sandbox and
checks what it printed or how it trapped. Expected values are worked out by hand or with Python
arithmetic beside the assertion, never copied from a run.
"""

from __future__ import annotations

import struct

import pytest

from synapse.compiler import ir
from synapse.compiler.diagnostics import CompileError, Span
from synapse.compiler.lower import LoweringError, lower_program
from synapse.runtime.sandbox import RunResult, Sandbox

SP = Span("t.syn", 1, 1, 1, 2)
UNIT = ir.UNIT


# --- IR builders -----------------------------------------------------------------------------

def i32(v: int) -> ir.IntConst:
    return ir.IntConst(ir.I32, SP, v)


def i64(v: int) -> ir.IntConst:
    return ir.IntConst(ir.I64, SP, v)


def u8(v: int) -> ir.IntConst:
    return ir.IntConst(ir.U8, SP, v)


def f64(v: float) -> ir.FloatConst:
    return ir.FloatConst(ir.F64, SP, v)


def f32(v: float) -> ir.FloatConst:
    return ir.FloatConst(ir.F32, SP, v)


def boolean(v: bool) -> ir.BoolConst:
    return ir.BoolConst(ir.BOOL, SP, v)


def text(v: str) -> ir.StrConst:
    return ir.StrConst(ir.STR, SP, v.encode())


def get(local: ir.Local) -> ir.LocalGet:
    return ir.LocalGet(local.type, SP, local)


COMPARISONS = ("eq", "ne", "lt", "le", "gt", "ge")


def binop(op: str, left: ir.Expr, right: ir.Expr) -> ir.Binary:
    result = ir.BOOL if op in COMPARISONS else left.type
    return ir.Binary(result, SP, op, left, right, left.type)


def unop(op: str, operand: ir.Expr) -> ir.Unary:
    return ir.Unary(operand.type, SP, op, operand)


def cast(e: ir.Expr, t: ir.Type) -> ir.Cast:
    return ir.Cast(t, SP, e)


def let(local: ir.Local, value: ir.Expr) -> ir.Let:
    return ir.Let(UNIT, SP, local, value)


def assign(local: ir.Local, value: ir.Expr) -> ir.LocalSet:
    return ir.LocalSet(UNIT, SP, local, value)


def block(*stmts: ir.Expr, value: ir.Expr | None = None) -> ir.Block:
    return ir.Block(value.type if value is not None else UNIT, SP, list(stmts), value)


def if_(cond: ir.Expr, then: ir.Expr, else_: ir.Expr | None = None,
        t: ir.Type = UNIT) -> ir.If:
    return ir.If(t, SP, cond, then, else_)


def println(*args: ir.Expr) -> ir.Print:
    return ir.Print(UNIT, SP, list(args), True)


def print_(*args: ir.Expr) -> ir.Print:
    return ir.Print(UNIT, SP, list(args), False)


def call(name: str, result: ir.Type, *args: ir.Expr) -> ir.Call:
    return ir.Call(result, SP, name, list(args))


def contract(kind: str, cond: ir.Expr, source: str) -> ir.Contract:
    return ir.Contract(kind, cond, f"{kind} failed: {source} at t.syn:1", SP)


class Fn:
    """Builds one ir.Function; locals are numbered in creation order, parameters first."""

    def __init__(self, name: str, params: list[tuple[str, ir.Type]] = (),
                 result: ir.Type = UNIT) -> None:
        self.name = name
        self.result = result
        self.locals: list[ir.Local] = []
        self.params = [self.local(n, t) for n, t in params]

    def local(self, name: str, t: ir.Type) -> ir.Local:
        loc = ir.Local(len(self.locals), name, t, True)
        self.locals.append(loc)
        return loc

    def build(self, body: ir.Expr, **extra: object) -> ir.Function:
        return ir.Function(self.name, self.params, self.result, self.locals, body,
                           **extra)  # type: ignore[arg-type]


def program(*funcs: ir.Function, structs: list[ir.StructDef] = (),
            enums: list[ir.EnumDef] = (), arena: int = 65536,
            entry: str | None = "main.main", exports: list[str] = ()) -> ir.Program:
    return ir.Program({f.name: f for f in funcs}, {s.name: s for s in structs},
                      {e.name: e for e in enums}, entry, arena, list(exports))


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return Sandbox(cache_dir=False)


def run(sandbox: Sandbox, prog: ir.Program) -> RunResult:
    return sandbox.run(lower_program(prog).encode())


def run_main(sandbox: Sandbox, main: Fn, body: ir.Expr, *others: ir.Function,
             **kw: object) -> RunResult:
    return run(sandbox, program(main.build(body), *others, **kw))  # type: ignore[arg-type]


def output_lines(result: RunResult) -> list[str]:
    assert result.status == "ok", result.message
    return result.output.decode().split("\n")[:-1]


# --- arithmetic ----------------------------------------------------------------------------

def test_integer_arithmetic_wraps_and_follows_signedness(sandbox: Sandbox) -> None:
    m = Fn("main.main")
    body = block(
        println(binop("add", i32(2**31 - 1), i32(1))),          # wraps
        println(binop("rem", i32(-7), i32(2))),                  # rem_s keeps the sign
        println(binop("div", i32(-7), i32(2))),                  # truncates toward zero
        println(binop("shr", i32(-8), i32(1))),                  # arithmetic shift
        println(binop("shl", i32(1), i32(33))),                  # count modulo 32
        println(binop("mul", i64(3_000_000_000), i64(3))),
        println(binop("add", u8(200), u8(100))),                 # mod 256
        println(binop("sub", u8(3), u8(5))),
        println(binop("shl", u8(1), u8(9))),                     # count modulo 8
        println(binop("shr", u8(200), u8(1))),                   # logical
        println(binop("div", u8(200), u8(3))),                   # unsigned
        println(binop("gt", u8(200), u8(100))),                  # unsigned comparison
        println(unop("neg", u8(1))),
        println(unop("bitnot", u8(0))),
        println(unop("bitnot", i32(0))),
        println(unop("neg", i64(5))),
        println(binop("xor", boolean(True), boolean(True))),
        println(unop("not", boolean(False))),
    )
    expected = [-2**31, -1, -3, -4, 2, 9_000_000_000, 44, 254, 2, 100, 66, "true", 255, 255,
                -1, -5, "false", "true"]
    assert output_lines(run_main(sandbox, m, body)) == [str(x) for x in expected]


def test_float_arithmetic(sandbox: Sandbox) -> None:
    m = Fn("main.main")
    body = block(
        println(binop("mul", f64(1.5), f64(2.0))),
        println(binop("div", f64(1.0), f64(3.0))),
        println(binop("add", f32(0.1), f32(0.2))),
        println(unop("neg", f64(2.5))),
        println(binop("lt", f64(1.0), f64(2.0))),
    )
    # f32: 0.1f + 0.2f rounds to the binary32 value nearest 0.3, printed "0.3" (shortest).
    assert output_lines(run_main(sandbox, m, body)) == ["3.0", repr(1.0 / 3.0), "0.3", "-2.5",
                                                        "true"]


def test_division_by_zero_is_a_native_trap(sandbox: Sandbox) -> None:
    m = Fn("main.main")
    x = m.local("x", ir.I32)
    body = block(let(x, i32(0)), println(binop("div", i32(1), get(x))))
    result = run_main(sandbox, m, body)
    assert result.status == "trap"
    assert result.message == "integer divide by zero"
    assert result.function == "main.main"


def test_casts(sandbox: Sandbox) -> None:
    m = Fn("main.main")
    body = block(
        println(cast(f64(3.9), ir.I32)),
        println(cast(f64(-3.9), ir.I64)),
        println(cast(i32(-1), ir.U8)),
        println(cast(u8(255), ir.I64)),
        println(cast(i32(-1), ir.I64)),
        println(cast(i64(2**32 + 7), ir.I32)),
        println(cast(i64(-1), ir.U8)),
        println(cast(boolean(True), ir.I64)),
        println(cast(i32(7), ir.F64)),
        println(cast(u8(200), ir.F32)),
        println(cast(f64(0.1), ir.F32)),
        println(cast(f32(0.5), ir.F64)),
        println(cast(f64(255.9), ir.U8)),
    )
    assert output_lines(run_main(sandbox, m, body)) == [
        "3", "-3", "255", "255", "-1", "7", "255", "1", "7.0", "200.0", "0.1", "0.5", "255"]


def test_float_to_int_conversion_at_the_range_limits(sandbox: Sandbox) -> None:
    m = Fn("main.main")
    body = block(
        println(cast(f64(-2147483648.9), ir.I32)),
        println(cast(f64(2147483647.9), ir.I32)),
        println(cast(f32(-2147483648.0), ir.I32)),
        println(cast(f64(-0.9), ir.U8)),
        println(cast(f32(9.2e18), ir.I64)),
    )
    # 9.2e18 as binary32 is 9200000222161862656 (exactly representable in i64).
    f32_value = int(struct.unpack("<f", struct.pack("<f", 9.2e18))[0])
    assert output_lines(run_main(sandbox, m, body)) == [
        "-2147483648", "2147483647", "-2147483648", "0", str(f32_value)]


@pytest.mark.parametrize("value, target", [
    (f64(300.0), ir.U8), (f64(-1.0), ir.U8), (f64(float("nan")), ir.I32),
    (f64(3e9), ir.I32), (f64(-2147483649.0), ir.I32), (f32(256.0), ir.U8),
    (f32(2147483648.0), ir.I32), (f32(float("inf")), ir.I64), (f64(2.0**63), ir.I64)])
def test_bad_float_to_int_conversion_traps(sandbox: Sandbox, value: ir.Expr,
                                           target: ir.Type) -> None:
    m = Fn("main.main")
    result = run_main(sandbox, m, block(println(cast(value, target))))
    assert result.status == "trap"
    assert result.message == "invalid conversion to integer"


def test_map_slots_round_trip(sandbox: Sandbox) -> None:
    def round_trip(e: ir.Expr) -> ir.Expr:
        return ir.FromSlot(e.type, SP, ir.ToSlot(ir.I64, SP, e))
    m = Fn("main.main")
    body = block(*(println(round_trip(e)) for e in (
        i32(-5), f64(-0.25), f32(1.5), boolean(True), u8(200), i64(-2**63))))
    assert output_lines(run_main(sandbox, m, body)) == [
        "-5", "-0.25", "1.5", "true", "200", str(-2**63)]


# --- calls, printing ---------------------------------------------------------------------------

def fib_function() -> ir.Function:
    f = Fn("main.fib", [("n", ir.I32)], ir.I32)
    n = f.params[0]
    body = if_(binop("lt", get(n), i32(2)), get(n),
               binop("add", call("main.fib", ir.I32, binop("sub", get(n), i32(1))),
                     call("main.fib", ir.I32, binop("sub", get(n), i32(2)))), ir.I32)
    return f.build(body)


def test_recursive_calls_and_name_section(sandbox: Sandbox) -> None:
    m = Fn("main.main")
    result = run_main(sandbox, m, println(call("main.fib", ir.I32, i32(20))), fib_function())
    assert output_lines(result) == ["6765"]


def test_print_each_scalar_type(sandbox: Sandbox) -> None:
    m = Fn("main.main")
    s = m.local("s", ir.STR)
    body = block(
        let(s, text("dyn")),
        print_(i32(-5), text(" "), i64(-2**63), text(" "), u8(255), text(" ")),
        print_(boolean(True), text(" "), boolean(False), text(" "), f64(0.1), text(" "),
               f32(0.1), text(" "), f64(1e100), text(" "), get(s)),
        println(),
        println(text("é")),
    )
    result = run_main(sandbox, m, body)
    assert result.output == f"-5 {-2**63} 255 true false 0.1 0.1 1e+100 dyn\né\n".encode()


def test_extern_function_becomes_an_import(sandbox: Sandbox) -> None:
    param = ir.Local(0, "v", ir.I64)
    ext = ir.Function("main.write_i64", [param], UNIT, [param], None, extern_module="syn",
                      extern_name="write_i64")
    m = Fn("main.main")
    prog = program(m.build(call("main.write_i64", UNIT, i64(42))), ext)
    module = lower_program(prog)
    assert [(imp.module, imp.name, imp.debug_name) for imp in module.imports] == [
        ("syn", "write_i64", "syn.write_i64")]
    assert sandbox.run(module.encode()).output == b"42"


def test_only_reachable_functions_are_emitted_imports_first() -> None:
    unused = Fn("main.unused").build(println(text("never")))
    m = Fn("main.main")
    prog = program(m.build(block(println(call("main.fib", ir.I32, i32(3))),
                                 ir.VecNew(ir.VecT(ir.I32), SP))),
                   unused, fib_function())
    module = lower_program(prog)
    names = [module.func_name(i) for i in range(module.num_funcs)]
    assert names == ["syn.write_i64", "syn.write", "syn.trap", "main.main", "main.fib",
                     "rt.alloc"]
    assert [e.name for e in module.exports] == ["memory", "main"]
    # Deterministic: the same IR gives the same bytes.
    assert lower_program(prog).encode() == module.encode()


def test_panic(sandbox: Sandbox) -> None:
    m = Fn("main.main")
    result = run_main(sandbox, m, block(print_(text("before")),
                                        ir.Panic(UNIT, SP, text("boom"))))
    assert result.status == "trap"
    assert result.message == "panic: boom"
    assert result.output == b"before"


# --- control flow ----------------------------------------------------------------------------

def test_for_range_with_break_and_continue(sandbox: Sandbox) -> None:
    m = Fn("main.main")
    total, i, end = m.local("total", ir.I32), m.local("i", ir.I32), m.local("end", ir.I32)
    loop = ir.ForRange(UNIT, SP, i, i32(0), i32(20), end, block(
        if_(binop("eq", get(i), i32(15)), ir.Break(UNIT, SP)),
        if_(binop("eq", binop("rem", get(i), i32(3)), i32(0)), ir.Continue(UNIT, SP)),
        assign(total, binop("add", get(total), get(i))),
    ), [])
    body = block(let(total, i32(0)), loop, println(get(total)))
    expected = sum(k for k in range(15) if k % 3)
    assert output_lines(run_main(sandbox, m, body)) == [str(expected)]


def test_while_with_continue_and_nested_loops(sandbox: Sandbox) -> None:
    m = Fn("main.main")
    i, j, s = m.local("i", ir.I32), m.local("j", ir.I32), m.local("s", ir.I64)
    inner = ir.While(UNIT, SP, boolean(True), block(
        assign(j, binop("add", get(j), i32(1))),
        if_(binop("gt", get(j), get(i)), ir.Break(UNIT, SP)),
        assign(s, binop("add", get(s), i64(1))),
    ), [])
    outer = ir.While(UNIT, SP, binop("lt", get(i), i32(10)), block(
        assign(i, binop("add", get(i), i32(1))),
        if_(binop("eq", binop("rem", get(i), i32(2)), i32(0)), ir.Continue(UNIT, SP)),
        assign(j, i32(0)),
        inner,
    ), [])
    body = block(let(i, i32(0)), let(s, i64(0)), outer, println(get(s)))
    # The inner loop adds i for each odd i in 1..10.
    assert output_lines(run_main(sandbox, m, body)) == [str(1 + 3 + 5 + 7 + 9)]


def test_if_with_value_and_early_return(sandbox: Sandbox) -> None:
    f = Fn("main.sign", [("x", ir.I32)], ir.I32)
    x = f.params[0]
    sign = f.build(block(
        if_(binop("lt", get(x), i32(0)), ir.Return(UNIT, SP, i32(-1))),
        value=if_(binop("eq", get(x), i32(0)), i32(0), i32(1), ir.I32)))
    m = Fn("main.main")
    body = block(*(println(call("main.sign", ir.I32, i32(v))) for v in (-7, 0, 9)))
    assert output_lines(run_main(sandbox, m, body, sign)) == ["-1", "0", "1"]


# --- contracts -------------------------------------------------------------------------------

def checked_sqrt() -> ir.Function:
    """isqrt(n) requires n >= 0 ensures result * result <= n; returns early for n < 2."""
    f = Fn("main.isqrt", [("n", ir.I32)], ir.I32)
    n = f.params[0]
    r = f.local("r", ir.I32)
    res = f.local("result", ir.I32)
    loop = ir.While(UNIT, SP, binop("le", binop("mul", binop("add", get(r), i32(1)),
                                                binop("add", get(r), i32(1))), get(n)),
                    assign(r, binop("add", get(r), i32(1))),
                    [contract("invariant", binop("le", binop("mul", get(r), get(r)), get(n)),
                              "r * r <= n")])
    body = block(
        if_(binop("lt", get(n), i32(2)), ir.Return(UNIT, SP, get(n))),
        let(r, i32(0)), loop, value=get(r))
    return f.build(body,
                   requires=[contract("requires", binop("ge", get(n), i32(0)), "n >= 0")],
                   ensures=[contract("ensures", binop("le", binop("mul", get(res), get(res)),
                                                      get(n)), "result * result <= n")],
                   result_local=res)


def test_contracts_hold(sandbox: Sandbox) -> None:
    m = Fn("main.main")
    body = block(*(println(call("main.isqrt", ir.I32, i32(v))) for v in (0, 1, 15, 16, 99)),
                 ir.Check(UNIT, SP, contract("assert", boolean(True), "true")))
    assert output_lines(run_main(sandbox, m, body, checked_sqrt())) == ["0", "1", "3", "4", "9"]


def test_failed_requires_traps_with_its_message(sandbox: Sandbox) -> None:
    m = Fn("main.main")
    result = run_main(sandbox, m, println(call("main.isqrt", ir.I32, i32(-4))), checked_sqrt())
    assert result.status == "trap"
    assert result.message == "requires failed: n >= 0 at t.syn:1"
    assert result.function == "main.isqrt"


def test_failed_ensures_runs_after_return(sandbox: Sandbox) -> None:
    f = Fn("main.bad", [("x", ir.I32)], ir.I32)
    res = f.local("result", ir.I32)
    bad = f.build(block(ir.Return(UNIT, SP, binop("add", get(f.params[0]), i32(1)))),
                  ensures=[contract("ensures", binop("eq", get(res), get(f.params[0])),
                                    "result == x")], result_local=res)
    m = Fn("main.main")
    result = run_main(sandbox, m, println(call("main.bad", ir.I32, i32(1))), bad)
    assert result.status == "trap"
    assert result.message == "ensures failed: result == x at t.syn:1"


def test_invariant_checked_after_each_iteration_including_continue(sandbox: Sandbox) -> None:
    m = Fn("main.main")
    i, end = m.local("i", ir.I32), m.local("end", ir.I32)
    loop = ir.ForRange(UNIT, SP, i, i32(0), i32(10), end,
                       block(print_(get(i)), ir.Continue(UNIT, SP)),
                       [contract("invariant", binop("lt", get(i), i32(3)), "i < 3")])
    result = run_main(sandbox, m, loop)
    assert result.status == "trap"
    assert result.message == "invariant failed: i < 3 at t.syn:1"
    assert result.output == b"012"  # i = 3 after the third iteration breaks the invariant


def test_failed_assert(sandbox: Sandbox) -> None:
    m = Fn("main.main")
    result = run_main(sandbox, m, ir.Check(UNIT, SP, contract(
        "assert", binop("eq", i32(1), i32(2)), "1 == 2")))
    assert (result.status, result.message) == ("trap", "assert failed: 1 == 2 at t.syn:1")


# --- sequences -------------------------------------------------------------------------------

VEC_I64 = ir.VecT(ir.I64)


def seq_method(method: str, target: ir.Expr, t: ir.Type, *args: ir.Expr) -> ir.SeqMethod:
    return ir.SeqMethod(t, SP, method, target, list(args), "t.syn:7:3")


def test_vector_push_index_pop_and_growth(sandbox: Sandbox) -> None:
    m = Fn("main.main")
    v, i, end, s = (m.local("v", VEC_I64), m.local("i", ir.I32), m.local("end", ir.I32),
                    m.local("s", ir.I64))
    fill = ir.ForRange(UNIT, SP, i, i32(0), i32(10), end, seq_method(
        "push", get(v), UNIT, binop("mul", cast(get(i), ir.I64), i64(1_000_000_000_000))), [])
    total = ir.ForRange(UNIT, SP, i, i32(0), seq_method("len", get(v), ir.I32), end, assign(
        s, binop("add", get(s), ir.Index(ir.I64, SP, get(v), get(i), "t.syn:5:9"))), [])
    body = block(
        let(v, ir.VecNew(VEC_I64, SP)), fill, let(s, i64(0)), total,
        println(get(s)),
        println(seq_method("pop", get(v), ir.I64)),
        println(seq_method("len", get(v), ir.I32)),
        ir.IndexSet(UNIT, SP, get(v), i32(0), i64(-1), "t.syn:6:1"),
        println(ir.Index(ir.I64, SP, get(v), i32(0), "t.syn:6:1")),
        println(ir.Index(ir.I64, SP, get(v), i32(9), "t.syn:8:13")),
    )
    result = run_main(sandbox, m, body)
    assert result.status == "trap"
    assert result.message == "index out of bounds: index 9, length 9 at t.syn:8:13"
    assert result.output.decode().split("\n")[:-1] == [
        str(45 * 10**12), str(9 * 10**12), "9", "-1"]


def test_negative_index_traps(sandbox: Sandbox) -> None:
    m = Fn("main.main")
    arr = ir.ArrayLit(ir.ArrayT(ir.U8, 3), SP, [u8(1), u8(2), u8(3)])
    result = run_main(sandbox, m, println(ir.Index(ir.U8, SP, arr, i32(-1), "t.syn:2:2")))
    assert result.message == "index out of bounds: index -1, length 3 at t.syn:2:2"


def test_pop_from_empty_vector_traps(sandbox: Sandbox) -> None:
    m = Fn("main.main")
    vec = ir.VecNew(ir.VecT(ir.BOOL), SP)
    result = run_main(sandbox, m, println(seq_method("pop", vec, ir.BOOL)))
    assert (result.status, result.message) == ("trap", "pop from empty vector at t.syn:7:3")


def test_arrays_foreach_and_repeat(sandbox: Sandbox) -> None:
    m = Fn("main.main")
    arr_t = ir.ArrayT(ir.F64, 4)
    a, x, seq, idx, n, s = (m.local("a", arr_t), m.local("x", ir.F64), m.local("seq", arr_t),
                            m.local("idx", ir.I32), m.local("n", ir.I32), m.local("s", ir.F64))
    b_t = ir.VecT(ir.U8)
    b = m.local("b", b_t)
    body = block(
        let(a, ir.ArrayRepeat(arr_t, SP, f64(0.5), i32(4))),
        ir.IndexSet(UNIT, SP, get(a), i32(2), f64(4.0), "t.syn:1:1"),
        let(s, f64(0.0)),
        ir.ForEach(UNIT, SP, x, get(a), seq, idx, n,
                   assign(s, binop("add", get(s), get(x))), []),
        println(get(s), text(" "), seq_method("len", get(a), ir.I32)),
        let(b, ir.ArrayRepeat(b_t, SP, u8(0), i32(-3))),   # negative count: empty
        println(seq_method("len", get(b), ir.I32)),
        let(b, ir.ArrayRepeat(b_t, SP, u8(7), i32(5))),
        seq_method("push", get(b), UNIT, u8(9)),
        println(ir.Index(ir.U8, SP, get(b), i32(4), "t.syn:1:1"),
                ir.Index(ir.U8, SP, get(b), i32(5), "t.syn:1:1"),
                seq_method("len", get(b), ir.I32)),
        seq_method("clear", get(b), UNIT),
        println(seq_method("len", get(b), ir.I32)),
    )
    assert output_lines(run_main(sandbox, m, body)) == ["5.5 4", "0", "796", "0"]


def test_string_index_and_len(sandbox: Sandbox) -> None:
    m = Fn("main.main")
    s = m.local("s", ir.STR)
    body = block(let(s, text("abc")),
                 println(ir.Index(ir.U8, SP, get(s), i32(1), "t.syn:1:1"), text(" "),
                         seq_method("len", get(s), ir.I32)),
                 println(ir.Index(ir.U8, SP, get(s), i32(3), "t.syn:3:4")))
    result = run_main(sandbox, m, body)
    assert result.output == b"98 3\n"
    assert result.message == "index out of bounds: index 3, length 3 at t.syn:3:4"


def test_arena_exhaustion(sandbox: Sandbox) -> None:
    m = Fn("main.main")
    body = ir.While(UNIT, SP, boolean(True),
                    ir.ArrayRepeat(ir.VecT(ir.I64), SP, i64(0), i32(1000)), [])
    result = run_main(sandbox, m, body)
    assert (result.status, result.exhausted) == ("exhausted", "arena")
    assert result.message.startswith("arena exhausted: requested 8012 bytes")
    huge = run_main(sandbox, m, ir.ArrayRepeat(ir.VecT(ir.I64), SP, i64(1), i32(2**31 - 1)))
    assert huge.exhausted == "arena"


def test_intrinsics(sandbox: Sandbox) -> None:
    m = Fn("main.main")
    p, q = m.local("p", ir.I32), m.local("q", ir.I32)

    def intr(name: str, t: ir.Type, *args: ir.Expr) -> ir.Intrinsic:
        return ir.Intrinsic(t, SP, name, list(args))
    body = block(
        let(p, intr("__alloc", ir.I32, i32(16))),
        intr("__store_i32", UNIT, get(p), i32(3)),
        intr("__store_u8", UNIT, binop("add", get(p), i32(4)), u8(ord("x"))),
        intr("__store_u8", UNIT, binop("add", get(p), i32(5)), u8(ord("y"))),
        intr("__store_u8", UNIT, binop("add", get(p), i32(6)), u8(ord("z"))),
        let(q, intr("__alloc", ir.I32, i32(8))),
        intr("__memcpy", UNIT, get(q), get(p), i32(7)),
        println(intr("__str_at", ir.STR, get(q))),
        intr("__store_f64", UNIT, get(q), f64(2.5)),
        println(intr("__load_f64", ir.F64, get(q)), text(" "),
                binop("sub", get(q), get(p)), text(" "),
                binop("eq", intr("__heap_ptr", ir.I32), binop("add", get(q), i32(8))), text(" "),
                intr("__arena_size", ir.I32)),
    )
    assert output_lines(run_main(sandbox, m, body, arena=2 * 65536)) == [
        "xyz", "2.5 16 true 131072"]


# --- structs and enums -------------------------------------------------------------------------

RECORD = ir.StructDef("main.Record", [("flag", ir.BOOL), ("big", ir.I64), ("small", ir.U8),
                                      ("ratio", ir.F32), ("name", ir.STR)])


def test_struct_fields_with_mixed_sizes(sandbox: Sandbox) -> None:
    rt = ir.StructT("main.Record")
    m = Fn("main.main")
    r = m.local("r", rt)

    def field(i: int, t: ir.Type) -> ir.FieldGet:
        return ir.FieldGet(t, SP, get(r), "main.Record", i)
    new = ir.StructNew(rt, SP, "main.Record", [
        (4, text("rec")), (1, i64(-2**40)), (0, boolean(True)), (3, f32(0.25)), (2, u8(250))])
    body = block(
        let(r, new),
        ir.FieldSet(UNIT, SP, get(r), "main.Record", 2,
                    binop("add", field(2, ir.U8), u8(10))),
        println(field(0, ir.BOOL), text(" "), field(1, ir.I64), text(" "), field(2, ir.U8),
                text(" "), field(3, ir.F32), text(" "), field(4, ir.STR)))
    result = run_main(sandbox, m, body, structs=[RECORD])
    assert output_lines(result) == [f"true {-2**40} 4 0.25 rec"]


EXPR = ir.EnumDef("main.Expr", [
    ir.Variant("Num", 0, [ir.I64]),
    ir.Variant("Add", 1, [ir.EnumT("main.Expr"), ir.EnumT("main.Expr")]),
    ir.Variant("Neg", 2, [ir.EnumT("main.Expr")]),
    ir.Variant("Nil", 3, []),
])
EXPR_T = ir.EnumT("main.Expr")


def num(v: int) -> ir.EnumNew:
    return ir.EnumNew(EXPR_T, SP, "main.Expr", 0, [i64(v)])


def eval_function() -> ir.Function:
    """eval(e) = match e { Num(n) => n, Add(a, Neg(Num(0))) => eval(a) (nested test),
    Add(a, b) => eval(a) + eval(b), Neg(x) => -eval(x), Nil => 0 }"""
    f = Fn("main.eval", [("e", EXPR_T)], ir.I64)
    e = f.params[0]
    n, a, b, x, s = (f.local("n", ir.I64), f.local("a", EXPR_T), f.local("b", EXPR_T),
                     f.local("x", EXPR_T), f.local("s", EXPR_T))

    def ev(local: ir.Local) -> ir.Call:
        return call("main.eval", ir.I64, get(local))
    arms = [
        ir.Arm(ir.PVariant(SP, "main.Expr", 0, [ir.PBind(SP, n)]), get(n)),
        ir.Arm(ir.PVariant(SP, "main.Expr", 1, [
            ir.PBind(SP, a),
            ir.PVariant(SP, "main.Expr", 2, [ir.PVariant(SP, "main.Expr", 0, [
                ir.PLit(SP, i64(0))])])]), binop("mul", ev(a), i64(1000))),
        ir.Arm(ir.PVariant(SP, "main.Expr", 1, [ir.PBind(SP, a), ir.PBind(SP, b)]),
               binop("add", ev(a), ev(b))),
        ir.Arm(ir.PVariant(SP, "main.Expr", 2, [ir.PBind(SP, x)]), unop("neg", ev(x))),
        ir.Arm(ir.PVariant(SP, "main.Expr", 3, []), i64(0)),
    ]
    return f.build(ir.Match(ir.I64, SP, get(e), s, arms))


def test_enum_construction_and_nested_match(sandbox: Sandbox) -> None:
    m = Fn("main.main")

    def add(l: ir.Expr, r: ir.Expr) -> ir.EnumNew:
        return ir.EnumNew(EXPR_T, SP, "main.Expr", 1, [l, r])

    def neg(x: ir.Expr) -> ir.EnumNew:
        return ir.EnumNew(EXPR_T, SP, "main.Expr", 2, [x])
    nil = ir.EnumNew(EXPR_T, SP, "main.Expr", 3, [])
    cases = [
        num(7),                                   # 7
        add(num(2), neg(num(5))),                 # 2 + -5 = -3
        add(num(2), neg(num(0))),                 # nested pattern arm: 2 * 1000
        add(nil, add(num(1), nil)),               # 0 + 1 + 0
        neg(neg(num(-2**63))),                    # wraps twice
    ]
    body = block(*(println(call("main.eval", ir.I64, c)) for c in cases))
    result = run_main(sandbox, m, body, eval_function(), enums=[EXPR])
    assert output_lines(result) == ["7", "-3", "2000", "1", str(-2**63)]


def test_nullary_variants_share_a_static_cell() -> None:
    m = Fn("main.main")
    nil = ir.EnumNew(EXPR_T, SP, "main.Expr", 3, [])
    module = lower_program(program(m.build(block(nil, nil)), enums=[EXPR]))
    # Only the cell [3:i32] at offset 8; no allocation function was needed.
    assert [(d.offset, d.data) for d in module.data] == [(8, (3).to_bytes(4, "little"))]
    assert module.globals[0].init == 16
    assert [module.func_name(i) for i in range(module.num_funcs)] == ["main.main"]


def str_eq_function() -> ir.Function:
    """prelude.__str_eq written in IR with intrinsics, as the prelude does in `.syn`."""
    f = Fn("prelude.__str_eq", [("a", ir.STR), ("b", ir.STR)], ir.BOOL)
    a, b = f.params
    i = f.local("i", ir.I32)

    def byte(s: ir.Local) -> ir.Index:
        return ir.Index(ir.U8, SP, get(s), get(i), "prelude.syn:1:1")
    loop = ir.While(UNIT, SP, binop("lt", get(i), seq_method("len", get(a), ir.I32)), block(
        if_(binop("ne", byte(a), byte(b)), ir.Return(UNIT, SP, boolean(False))),
        assign(i, binop("add", get(i), i32(1)))), [])
    body = block(
        if_(binop("ne", seq_method("len", get(a), ir.I32), seq_method("len", get(b), ir.I32)),
            ir.Return(UNIT, SP, boolean(False))),
        let(i, i32(0)), loop, value=boolean(True))
    return f.build(body)


def test_match_on_strings_integers_and_bools(sandbox: Sandbox) -> None:
    f = Fn("main.classify", [("s", ir.STR), ("k", ir.I32), ("b", ir.BOOL)], ir.STR)
    s, k, b = f.params
    t1, t2, t3 = f.local("t1", ir.STR), f.local("t2", ir.I32), f.local("t3", ir.BOOL)
    other = f.local("other", ir.I32)
    by_str = ir.Match(ir.STR, SP, get(s), t1, [
        ir.Arm(ir.PLit(SP, text("one")), text("1")),
        ir.Arm(ir.PLit(SP, text("two")), text("2")),
        ir.Arm(ir.PWild(SP), ir.Match(ir.STR, SP, get(k), t2, [
            ir.Arm(ir.PLit(SP, i32(-1)), text("minus one")),
            ir.Arm(ir.PBind(SP, other), ir.Match(ir.STR, SP, get(b), t3, [
                ir.Arm(ir.PLit(SP, boolean(True)), text("yes")),
                ir.Arm(ir.PLit(SP, boolean(False)), text("no")),
            ])),
        ])),
    ])
    classify = f.build(by_str)
    m = Fn("main.main")
    body = block(*(println(call("main.classify", ir.STR, text(a), i32(c), boolean(d)))
                   for a, c, d in (("one", 0, False), ("two", -1, True), ("tw", -1, True),
                                   ("", 5, True), ("three", 5, False))))
    result = run_main(sandbox, m, body, classify, str_eq_function())
    assert output_lines(result) == ["1", "2", "minus one", "yes", "no"]


def test_string_literals_are_deduplicated() -> None:
    m = Fn("main.main")
    module = lower_program(program(m.build(block(
        print_(text("ab")), print_(text("ab")), print_(text("c"))))))
    data = module.data[0].data
    assert data == (b"\x02\x00\x00\x00ab\x00\x00" b"\x01\x00\x00\x00c")


def test_static_data_larger_than_the_arena_is_a_diagnostic() -> None:
    m = Fn("main.main")
    body = print_(text("x" * 70_000))
    with pytest.raises(CompileError) as info:
        lower_program(program(m.build(body, span=Span("big.syn", 3, 1, 3, 5))))
    [diag] = info.value.diagnostics
    assert (diag.code, diag.span.file, diag.span.line, diag.span.col) == ("E0009", "big.syn", 1, 1)
    assert "70012 bytes of static data" in diag.message  # 8 reserved + 4 length + 70000 bytes


def test_unknown_function_is_a_lowering_error() -> None:
    m = Fn("main.main")
    with pytest.raises(LoweringError):
        lower_program(program(m.build(call("main.nope", UNIT))))


def test_library_exports(sandbox: Sandbox) -> None:
    m = Fn("main.main")
    prog = program(m.build(block()), fib_function(), exports=["main.fib"])
    module = lower_program(prog)
    assert [e.name for e in module.exports] == ["memory", "main", "fib"]
    assert module.memory is not None and module.memory.min_pages == module.memory.max_pages == 1


# --- the prelude, through the whole compiler ------------------------------------------------

PRELUDE_PROGRAM = """
arena 1 MiB;
fn main() {
    println(parse_i64("-9223372036854775808"), " ", parse_i64("9223372036854775807"), " ",
            parse_i64("+17"), " ", parse_i64("0"));
    println(find("hello world", "o w"), " ", find("abc", ""), " ", find("abc", "abcd"), " ",
            find("aab", "ab"));
    println(starts_with("hello", "he"), " ", starts_with("he", "hello"), " ",
            ends_with("hello", "llo"), " ", ends_with("hello", "hello!"));
    println(str_repeat("ab", 3), "|", str_repeat("ab", 0), "|", str_repeat("", 5), "|");
    let b = bytes("xyz");
    b[1] = 'Y';
    b.push('!');
    println(str_from_bytes(b), " ", b.len());
    let m: i64 = -9223372036854775807 - 1;
    println(m.to_str(), " ", (0).to_str(), " ", (-5).to_str(), " ", (255u8).to_str());
    println("abc" < "abd", " ", "ab" < "abc", " ", "b" > "abc", " ", "abc" == "abc", " ",
            "abc" != "abd", " ", "" < "a", " ", "a" <= "a", " ", "b" <= "a");
    var mp = Map[i32]();
    for i in 0..1000 {
        mp.set("k" + i.to_str(), i * i);
    }
    mp.set("k7", -1);
    var total: i64 = 0;
    for k in mp.keys() {
        total += mp.get(k) as i64;
    }
    println(mp.len(), " ", mp.has("k999"), " ", mp.has("k1000"), " ", total, " ",
            mp.keys()[0], " ", mp.keys()[999]);
    println(abs_i64(-4), " ", min_i32(3, -2), " ", max_i64(5, 9), " ", (1.5f32).to_str(), " ",
            (0.1).to_str(), " ", true.to_str(), " ", arena_size());
    println(input(), "|", "h\\xC3\\xA9llo".slice(1, 3).len());
}
"""


def compile_and_run(sandbox: Sandbox, source: str, stdin: bytes = b"") -> RunResult:
    from synapse.compiler.driver import compile_source
    result = compile_source(source)
    assert result.ok, [d.header() for d in result.diagnostics]
    assert result.wasm is not None
    return sandbox.run(result.wasm, stdin)


def test_prelude_functions(sandbox: Sandbox) -> None:
    squares = sum(i * i for i in range(1000)) - 7 * 7 + (-1)   # k7 was overwritten with -1
    assert output_lines(compile_and_run(sandbox, PRELUDE_PROGRAM, b"in put")) == [
        f"{-2**63} {2**63 - 1} 17 0",
        "4 0 -1 1",
        "true false true false",
        "ababab|||",
        "xYz! 4",
        f"{-2**63} 0 -5 255",
        "true true true true true true true false",
        f"1000 true false {squares} k0 k999",
        "4 -2 9 1.5 0.1 true 1048576",
        "in put|2",
    ]


@pytest.mark.parametrize("body, message", [
    ('println(parse_i64("12a"));', 'panic: parse_i64: invalid number "12a"'),
    ('println(parse_i64("-"));', 'panic: parse_i64: invalid number "-"'),
    ('println(parse_i64("9223372036854775808"));',
     'panic: parse_i64: number out of range "9223372036854775808"'),
    ('println(parse_i64("-9223372036854775809"));',
     'panic: parse_i64: number out of range "-9223372036854775809"'),
    ('println("abc".slice(2, 5));', "index out of bounds: index 5, length 3 at str.slice"),
    ('println("abc".slice(-1, 2));', "index out of bounds: index -1, length 3 at str.slice"),
    ('println("abc".slice(2, 1));', "index out of bounds: index 1, length 3 at str.slice"),
    ('var m = Map[f64](); m.set("a", 1.5); println(m.get("b"));', 'map key not found: "b"'),
])
def test_prelude_traps(sandbox: Sandbox, body: str, message: str) -> None:
    result = compile_and_run(sandbox, "fn main() {\n" + body + "\n}\n")
    assert (result.status, result.message) == ("trap", message)

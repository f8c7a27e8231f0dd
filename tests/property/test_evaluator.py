"""Unit tests for the reference evaluator and the source renderer of the property tests.

The evaluator is the oracle the compiler is compared against, so its arithmetic is checked here
against values worked out by hand from LANGUAGE.md (two's complement, Wasm division and shift
rules, IEEE floats, Python-repr printing), independently of any compiler code.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass

import pytest

from evaluator import (
    BOOL, DIVIDE_BY_ZERO, F64, I32, I64, INTEGER_OVERFLOW, INVALID_CONVERSION, U8,
    ArrayLit, ArrayType, Assign, Binary, Break, Call, Cast, Continue, FieldGet, ForEach, ForRange,
    Function, If, IfExpr, Index, Let, Lit, Logic, Outcome, Print, Program, Push, Return, StructDef,
    StructLit, StructType, Trap, Unary, Unspecified, Var, VecNew, VecType, While, binary, cast,
    evaluate, format_f64, unary, wrap,
)
from gen_programs import (
    RandomChooser, deep_nesting_inputs, diagnostic_problems, generate, generate_from_seed,
    line_count_of, mutate_tokens, outcome_problem, render_expr, render_float, render_int,
    tokens_of,
)

I32_MIN, I32_MAX = -2147483648, 2147483647
I64_MIN, I64_MAX = -9223372036854775808, 9223372036854775807


# -- integer wrap-around ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, ty, expected",
    [
        (2147483648, I32, -2147483648),
        (4294967295, I32, -1),
        (-2147483649, I32, 2147483647),
        (9223372036854775808, I64, -9223372036854775808),
        (-1, U8, 255),
        (261, U8, 5),
        (12345, I32, 12345),
    ],
)
def test_wrap(value: int, ty: str, expected: int) -> None:
    assert wrap(value, ty) == expected


@pytest.mark.parametrize(
    "op, a, b, ty, expected",
    [
        ("+", I32_MAX, 1, I32, I32_MIN),
        ("-", I32_MIN, 1, I32, I32_MAX),
        ("*", 65536, 65536, I32, 0),
        ("*", 65537, 65537, I32, 131073),  # 2^32 + 2^17 + 1 wraps to 2^17 + 1
        ("+", I64_MAX, 1, I64, I64_MIN),
        ("*", 4294967296, 4294967296, I64, 0),
        ("+", 200, 100, U8, 44),
        ("-", 3, 5, U8, 254),
        ("*", 16, 17, U8, 16),
    ],
)
def test_wrapping_arithmetic(op: str, a: int, b: int, ty: str, expected: int) -> None:
    assert binary(op, a, b, ty) == expected


# -- division and remainder -------------------------------------------------------------------


@pytest.mark.parametrize(
    "op, a, b, ty, expected",
    [
        ("/", 7, 2, I32, 3),
        ("/", -7, 2, I32, -3),
        ("/", 7, -2, I32, -3),
        ("/", -7, -2, I32, 3),
        ("%", -7, 2, I32, -1),
        ("%", 7, -2, I32, 1),
        ("%", -7, -2, I32, -1),
        ("%", I32_MIN, -1, I32, 0),
        ("%", I64_MIN, -1, I64, 0),
        ("/", I32_MIN, 1, I32, I32_MIN),
        ("/", 200, 7, U8, 28),
        ("%", 200, 7, U8, 4),
        ("/", -9223372036854775807, 10, I64, -922337203685477580),
    ],
)
def test_division(op: str, a: int, b: int, ty: str, expected: int) -> None:
    assert binary(op, a, b, ty) == expected


@pytest.mark.parametrize(
    "op, a, b, ty, message",
    [
        ("/", 1, 0, I32, DIVIDE_BY_ZERO),
        ("%", 1, 0, I64, DIVIDE_BY_ZERO),
        ("/", 0, 0, U8, DIVIDE_BY_ZERO),
        ("/", I32_MIN, -1, I32, INTEGER_OVERFLOW),
        ("/", I64_MIN, -1, I64, INTEGER_OVERFLOW),
    ],
)
def test_division_traps(op: str, a: int, b: int, ty: str, message: str) -> None:
    with pytest.raises(Trap) as raised:
        binary(op, a, b, ty)
    assert raised.value.message == message


# -- shifts and bitwise -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "op, a, b, ty, expected",
    [
        ("<<", 1, 31, I32, I32_MIN),
        ("<<", 1, 32, I32, 1),  # count modulo 32
        ("<<", 1, 33, I32, 2),
        ("<<", 1, -1, I32, I32_MIN),  # -1 & 31 == 31
        (">>", -8, 1, I32, -4),  # arithmetic
        (">>", -1, 31, I32, -1),
        (">>", I32_MIN, 63, I32, -1),  # 63 & 31 == 31
        ("<<", 1, 63, I64, I64_MIN),
        ("<<", 1, 64, I64, 1),
        (">>", I64_MIN, 62, I64, -2),
        ("<<", 255, 1, U8, 254),
        ("<<", 1, 9, U8, 2),  # count modulo 8
        (">>", 200, 1, U8, 100),  # logical
        (">>", 128, 7, U8, 1),
        (">>", 128, 8, U8, 128),
        ("&", -1, 255, I32, 255),
        ("|", I32_MIN, 1, I32, -2147483647),
        ("^", I32_MAX, -1, I32, I32_MIN),
        ("^", 0b1010, 0b0110, U8, 0b1100),
    ],
)
def test_shifts_and_bitwise(op: str, a: int, b: int, ty: str, expected: int) -> None:
    assert binary(op, a, b, ty) == expected


@pytest.mark.parametrize(
    "op, value, ty, expected",
    [
        ("~", 0, I32, -1),
        ("~", 0, U8, 255),
        ("~", 200, U8, 55),
        ("~", I64_MAX, I64, I64_MIN),
        ("-", I32_MIN, I32, I32_MIN),
        ("-", 5, I64, -5),
        ("!", True, BOOL, False),
    ],
)
def test_unary(op: str, value: object, ty: str, expected: object) -> None:
    assert unary(op, value, ty) == expected


def test_unsigned_comparison_of_u8() -> None:
    assert binary("<", 127, 128, U8) is True  # u8 values are 0..255, compared unsigned
    assert binary(">", 255, 0, U8) is True


# -- floats -----------------------------------------------------------------------------------


def test_float_division_by_zero_is_ieee() -> None:
    assert binary("/", 1.0, 0.0, F64) == math.inf
    assert binary("/", -1.0, 0.0, F64) == -math.inf
    assert binary("/", 1.0, -0.0, F64) == -math.inf
    assert math.isnan(binary("/", 0.0, 0.0, F64))
    assert math.isnan(binary("/", math.nan, 0.0, F64))


def test_float_arithmetic_is_binary64() -> None:
    assert binary("+", 0.1, 0.2, F64) == 0.30000000000000004
    assert binary("*", 1e308, 10.0, F64) == math.inf
    assert math.isnan(binary("-", math.inf, math.inf, F64))
    assert binary("==", math.nan, math.nan, F64) is False
    assert binary("!=", math.nan, math.nan, F64) is True
    assert binary("<", math.nan, 1.0, F64) is False


@pytest.mark.parametrize(
    "value, text",
    [
        (1.0, "1.0"),
        (0.1, "0.1"),
        (1e100, "1e+100"),
        (1e16, "1e+16"),
        (1e-7, "1e-07"),
        (123456789.0, "123456789.0"),
        (0.30000000000000004, "0.30000000000000004"),
        (-0.0, "-0.0"),
        (math.inf, "inf"),
        (-math.inf, "-inf"),
        (math.nan, "nan"),
        (-math.nan, "nan"),
        (5e-324, "5e-324"),
    ],
)
def test_float_printing(value: float, text: str) -> None:
    assert format_f64(value) == text


# -- casts ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, from_ty, to_ty, expected",
    [
        (2.9, F64, I32, 2),
        (-2.9, F64, I32, -2),
        (2147483647.9, F64, I32, I32_MAX),
        (-2147483648.9, F64, I32, I32_MIN),
        (-0.5, F64, U8, 0),
        (255.99, F64, U8, 255),
        (9.2e18, F64, I64, 9200000000000000000),
        (-1, I32, U8, 255),
        (255, U8, I32, 255),
        (4294967301, I64, I32, 5),
        (2147483648 + 2**32, I64, I32, I32_MIN),
        (-1, I32, I64, -1),
        (300, I64, U8, 44),
        (True, BOOL, I32, 1),
        (False, BOOL, U8, 0),
        (True, BOOL, I64, 1),
        (2**53 + 1, I64, F64, 2.0**53),  # round to nearest, ties to even
        (2**53 + 3, I64, F64, 2.0**53 + 4),
        (I32_MIN, I32, F64, -2147483648.0),
        (200, U8, F64, 200.0),
    ],
)
def test_casts(value: object, from_ty: str, to_ty: str, expected: object) -> None:
    assert cast(value, from_ty, to_ty) == expected


@pytest.mark.parametrize(
    "value, to_ty, out_of_range",
    [
        (math.nan, I32, False),
        (math.nan, U8, False),
        (math.inf, I32, True),
        (-math.inf, I64, True),
        (2147483648.0, I32, True),
        (-2147483649.0, I32, True),
        (9223372036854775808.0, I64, True),
    ],
)
def test_float_to_int_traps(value: float, to_ty: str, out_of_range: bool) -> None:
    with pytest.raises(Trap) as raised:
        cast(value, F64, to_ty)
    assert raised.value.message == INVALID_CONVERSION
    # Out of range, Wasm's native trap says "integer overflow"; NaN is always a bad conversion.
    assert raised.value.alternatives == ((INTEGER_OVERFLOW,) if out_of_range else ())


def test_outcome_trap_matching() -> None:
    outcome = Outcome("", INVALID_CONVERSION, (INTEGER_OVERFLOW,))
    assert outcome.trap_matches("trap: integer overflow")
    assert outcome.trap_matches("invalid conversion to integer")
    assert not outcome.trap_matches("integer divide by zero")
    assert not Outcome("", None).trap_matches("integer overflow")


def test_float_to_u8_out_of_range_is_left_open() -> None:
    with pytest.raises(Unspecified):
        cast(256.0, F64, U8)
    with pytest.raises(Unspecified):
        cast(-1.0, F64, U8)
    with pytest.raises(Unspecified):
        cast(math.inf, F64, U8)


# -- whole programs ---------------------------------------------------------------------------


def tracer(name: str, tag: int, ty: str, value: object) -> Function:
    """`fn name() -> ty { println(tag); value }`: makes evaluation order visible."""
    return Function(name, (), ty, (Print(Lit(I32, tag), I32),), Lit(ty, value))


def run(main: tuple, functions: tuple = (), structs: tuple = ()) -> Outcome:
    return evaluate(Program(structs, functions, main))


def test_operands_are_evaluated_left_to_right() -> None:
    functions = (tracer("a", 1, I32, 6), tracer("b", 2, I32, 3))
    main = (Print(Binary("-", Call("a", ()), Call("b", ()), I32), I32),)
    assert run(main, functions) == Outcome("1\n2\n3\n", None)


def test_trap_after_both_operands() -> None:
    functions = (tracer("a", 1, I32, 6), tracer("z", 2, I32, 0))
    main = (Print(Binary("/", Call("a", ()), Call("z", ()), I32), I32), Print(Lit(I32, 9), I32))
    assert run(main, functions) == Outcome("1\n2\n", DIVIDE_BY_ZERO)


@pytest.mark.parametrize(
    "op, left, expected",
    [("&&", False, "false\n"), ("&&", True, "7\ntrue\n"), ("||", True, "true\n"), ("||", False, "7\ntrue\n")],
)
def test_short_circuit(op: str, left: bool, expected: str) -> None:
    functions = (tracer("t", 7, BOOL, True),)
    main = (Print(Logic(op, Lit(BOOL, left), Call("t", ())), BOOL),)
    assert run(main, functions) == Outcome(expected, None)


def test_arguments_left_to_right_and_struct_fields_as_written() -> None:
    functions = (
        tracer("a", 1, I32, 10),
        tracer("b", 2, I32, 20),
        Function("sub", (("x", I32), ("y", I32)), I32, (), Binary("-", Var("x"), Var("y"), I32)),
    )
    structs = (StructDef("P", (("x", I32), ("y", I32))),)
    main = (
        Print(Call("sub", (Call("b", ()), Call("a", ()))), I32),
        Let("p", StructType("P"), StructLit("P", (("y", Call("a", ())), ("x", Call("b", ())))), True, False),
        Print(Binary("-", FieldGet(Var("p"), "x"), FieldGet(Var("p"), "y"), I32), I32),
    )
    assert run(main, functions, structs) == Outcome("2\n1\n10\n1\n2\n10\n", None)


def test_index_wraps_negative_indices_into_range() -> None:
    array = ArrayLit(I32, (Lit(I32, 10), Lit(I32, 20), Lit(I32, 30)))
    main = (
        Let("a", ArrayType(I32, 3), array, True, True),
        Print(Index(Var("a"), Lit(I32, -1), False, 3), I32),  # ((-1 % 3) + 3) % 3 == 2
        Print(Index(Var("a"), Lit(I32, I32_MIN), False, 3), I32),  # MIN % 3 == -2 -> 1
        Assign(Index(Var("a"), Lit(I32, 7), False, 3), "+", Lit(I32, 5), I32),  # a[1] += 5
        Print(Index(Var("a"), Lit(I32, 1), False, 3), I32),
    )
    assert run(main) == Outcome("30\n20\n25\n", None)


def test_references_alias() -> None:
    main = (
        Let("v", VecType(I64), VecNew(I64, Lit(I32, 2), Lit(I64, 4)), True, False),
        Let("w", VecType(I64), Var("v"), True, False),
        Push(Var("w"), Lit(I64, 9)),
        Assign(Index(Var("w"), Lit(I32, 0), True, 0), "*", Lit(I64, 3), I64),
        ForEach("x", Var("v"), (Print(Var("x"), I64),)),
    )
    assert run(main) == Outcome("12\n4\n9\n", None)


def test_loops_break_continue_and_shadowing() -> None:
    main = (
        Let("s", I32, Lit(I32, 0), True, False),
        ForRange("i", I32, -2, 5, (
            If(Binary("==", Var("i"), Lit(I32, 0), I32), (Continue(),), None),
            If(Binary("==", Var("i"), Lit(I32, 3), I32), (Break(),), None),
            Let("s", I64, Lit(I64, 100), False, False),  # shadows the outer `s` in this block
            Print(Var("s"), I64),
        )),
        While("w", 4, (Assign(Var("s"), "+", Lit(I32, 2), I32),)),
        Print(Var("s"), I32),
    )
    assert run(main) == Outcome("100\n100\n100\n100\n8\n", None)


def test_early_return_and_bounded_recursion() -> None:
    fact = Function(
        "fact", (("n", I32), ("acc", I64)), I64, (),
        IfExpr(
            Binary("<=", Var("n"), Lit(I32, 0), I32),
            Var("acc"),
            Call("fact", (Binary("-", Var("n"), Lit(I32, 1), I32),
                          Binary("*", Var("acc"), Cast(Var("n"), I32, I64), I64))),
        ),
    )
    first_positive = Function(
        "clamp", (("x", I32),), I32,
        (If(Binary("<", Var("x"), Lit(I32, 0), I32), (Return(Lit(I32, 0)),), None),),
        Var("x"),
    )
    main = (
        Print(Call("fact", (Lit(I32, 5), Lit(I64, 1))), I64),
        Print(Call("fact", (Lit(I32, 21), Lit(I64, 1))), I64),  # 21! wraps in i64
        Print(Call("clamp", (Lit(I32, -4),)), I32),
        Print(Call("clamp", (Lit(I32, 4),)), I32),
    )
    # 21! = 51090942171709440000; minus 2^64 (18446744073709551616) * 2 = 14197454024290336768,
    # which is above i64 MAX, so minus 2^64 once more: -4249290049419214848.
    assert run(main, (fact, first_positive)) == Outcome(
        "120\n-4249290049419214848\n0\n4\n", None
    )


def test_compound_assignment_traps_on_zero_divisor() -> None:
    main = (
        Let("x", U8, Lit(U8, 7), True, False),
        Assign(Var("x"), "%", Lit(U8, 0), U8),
    )
    assert run(main) == Outcome("", DIVIDE_BY_ZERO)


# -- rendering --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, ty, spelling, text",
    [
        (5, I32, "dec", "5"),
        (5, I32, "suffix", "5i32"),
        (5, I64, "dec", "5i64"),
        (255, U8, "hex", "0xFFu8"),
        (5, U8, "bin", "0b101u8"),
        (1000000, I32, "sep", "1_000_000"),
        (-7, I32, "dec", "(-7)"),
        (I32_MIN, I32, "dec", "((-2147483647) - 1)"),
        (I64_MIN, I64, "dec", "((-9223372036854775807i64) - 1i64)"),
        (97, U8, "char", "'a'"),
        (10, U8, "char", "'\\n'"),
        (39, U8, "char", "'\\''"),
    ],
)
def test_render_int(value: int, ty: str, spelling: str, text: str) -> None:
    assert render_int(value, ty, spelling) == text


@pytest.mark.parametrize(
    "value, text",
    [(1.5, "1.5"), (1e100, "1.0e100"), (1e-7, "1.0e-7"), (2.5e-3, "0.0025"), (-0.0, "(-0.0)"),
     (-1.5, "(-1.5)"), (5e-324, "5.0e-324"), (1.2345e300, "1.2345e300")],
)
def test_render_float(value: float, text: str) -> None:
    assert render_float(value) == text


def test_render_parenthesises_every_operator() -> None:
    expr = Binary("*", Unary("-", Lit(I32, 2), I32), Cast(Lit(BOOL, True), BOOL, I32), I32)
    assert render_expr(expr) == "((-2) * (true as i32))"


def test_generated_programs_are_deterministic_per_seed() -> None:
    assert generate_from_seed(17).source == generate_from_seed(17).source


def test_generated_programs_evaluate_and_render() -> None:
    """A smoke test of the generator itself: programs render with balanced brackets and have main."""
    produced = 0
    for seed in range(60):
        generated = generate(RandomChooser(random.Random(seed)), deliberate_trap=seed % 3 == 0)
        if generated is None:
            continue
        produced += 1
        source = re.sub(r"'(\\.|[^\\'])'", "c", generated.source)  # drop char literals
        assert "fn main() {" in source
        for opening, closing in ("()", "[]", "{}"):
            assert source.count(opening) == source.count(closing)
    assert produced > 30


# -- the checks applied to compiler results ---------------------------------------------------


@dataclass
class StubSpan:
    file: str
    line: int
    col: int


@dataclass
class StubDiagnostic:
    code: str
    span: StubSpan
    message: str = "msg"
    broken: bool = False

    def render(self, source: str | None) -> str:
        if self.broken:
            raise IndexError("line out of range")
        return f"{self.span.file}:{self.span.line}:{self.span.col}: error[{self.code}]: {self.message}"

    def to_json(self) -> dict:
        return {"code": self.code}


@dataclass
class StubResult:
    wasm: bytes | None
    diagnostics: list
    sources: dict


@dataclass
class StubRun:
    status: str
    output: bytes
    message: str | None


def test_well_formed_diagnostics_pass() -> None:
    result = StubResult(None, [StubDiagnostic("E0001", StubSpan("main.syn", 3, 1))], {})
    assert diagnostic_problems(result, line_count_of("a\nb\nc")) == []


@pytest.mark.parametrize(
    "diagnostic, fragment",
    [
        (StubDiagnostic("E001", StubSpan("main.syn", 1, 1)), "four digits"),
        (StubDiagnostic("W0001", StubSpan("main.syn", 1, 1)), "four digits"),
        (StubDiagnostic("E0001", StubSpan("main.syn", 0, 1)), "line 0"),
        (StubDiagnostic("E0001", StubSpan("main.syn", 4, 1)), "line 4"),
        (StubDiagnostic("E0001", StubSpan("main.syn", 1, 0)), "column 0"),
        (StubDiagnostic("E0001", StubSpan("main.syn", 1, 1), broken=True), "rendering raised"),
    ],
)
def test_malformed_diagnostics_are_reported(diagnostic: StubDiagnostic, fragment: str) -> None:
    problems = diagnostic_problems(StubResult(None, [diagnostic], {}), 3)
    assert len(problems) == 1 and fragment in problems[0]


def test_failure_without_diagnostics_is_reported() -> None:
    assert diagnostic_problems(StubResult(None, [], {}), 1) == [
        "compilation failed without any diagnostic"
    ]


@pytest.mark.parametrize(
    "expected, run, verdict",
    [
        (Outcome("1\n", None), StubRun("ok", b"1\n", None), None),
        (Outcome("1\n", None), StubRun("ok", b"2\n", None), "stdout differs"),
        (Outcome("1\n", None), StubRun("trap", b"1\n", "integer overflow"), "expected a clean run"),
        (Outcome("", DIVIDE_BY_ZERO), StubRun("trap", b"", "trap: integer divide by zero"), None),
        (Outcome("", DIVIDE_BY_ZERO), StubRun("ok", b"", None), "expected trap"),
        (Outcome("", DIVIDE_BY_ZERO), StubRun("trap", b"", "integer overflow"), "expected trap"),
        (Outcome("x\n", DIVIDE_BY_ZERO), StubRun("trap", b"", "integer divide by zero"), "stdout differs"),
        (Outcome("", INVALID_CONVERSION, (INTEGER_OVERFLOW,)), StubRun("trap", b"", "integer overflow"), None),
    ],
)
def test_outcome_comparison(expected: Outcome, run: StubRun, verdict: str | None) -> None:
    problem = outcome_problem(expected, run)
    assert (problem is None) if verdict is None else (verdict in problem)  # type: ignore[operator]


def test_token_mutation_keeps_tokens_and_is_seeded() -> None:
    text = "fn main() { let x = 1 + 2; }"
    assert "".join(tokens_of(text)) == text  # tokenizing loses nothing
    assert mutate_tokens(text, random.Random(3)) == mutate_tokens(text, random.Random(3))
    assert any(mutate_tokens(text, random.Random(seed)) != text for seed in range(5))


def test_deep_inputs_pass_the_nesting_limit() -> None:
    inputs = deep_nesting_inputs(300)
    assert inputs["parens"].count("(") == 300 + 1  # plus the `main()` parenthesis
    assert all(len(text) >= 300 for text in inputs.values())

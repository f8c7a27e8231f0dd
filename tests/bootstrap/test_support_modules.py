"""The self-hosted compiler's support modules (bootstrap/builtins.syn, fold.syn, patterns.syn)
against the reference modules they port (compiler/builtins.py, fold.py, patterns.py).

bootstrap/tests/support_driver.syn reads commands (its header documents them), builds IR by
hand, calls the `.syn` functions and prints one line per command. This test builds the same IR
in Python from the same commands, asks the Python functions, and compares line by line. Float
results are compared by their bits (a NaN by its sign, the only part of a NaN either side can
produce), since the two sides print floats differently.
"""

from __future__ import annotations

import functools
import math
import random
import re
import struct
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synapse.compiler import builtins as py_builtins
from synapse.compiler import fold as py_fold
from synapse.compiler import ir
from synapse.compiler import patterns as py_patterns
from synapse.compiler.diagnostics import Span
from synapse.runtime.sandbox import run_module
from synapse.runtime.selfhost import compile_test_driver

ROOT = Path(__file__).resolve().parents[2]
DRIVER = ROOT / "bootstrap" / "tests" / "support_driver.syn"
SPAN = Span("t.syn", 1, 1, 1, 2)
INT_TYPES = ("i32", "i64", "u8")
RANGES = {"i32": (-(1 << 31), (1 << 31) - 1), "i64": (-(1 << 63), (1 << 63) - 1), "u8": (0, 255)}
INT_OPS = ("add", "sub", "mul", "div", "rem", "and", "or", "xor", "shl", "shr",
           "eq", "ne", "lt", "le", "gt", "ge")
FLOAT_OPS = ("add", "sub", "mul", "div", "eq", "ne", "lt", "le", "gt", "ge")
COMPARE = ("eq", "ne", "lt", "le", "gt", "ge")
SETTINGS = dict(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


# --- running the driver ---------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def driver_wasm() -> bytes:
    return compile_test_driver(DRIVER)


def run_driver(commands: list[str]) -> list[str]:
    result = run_module(driver_wasm(), "\n".join(commands).encode(), fuel=10**11)
    assert result.ok, result.message
    return [normalize_syn_line(line) for line in result.output.decode().splitlines()]


def check(commands: list[str]) -> None:
    expected = [reference(c) for c in commands]
    expected = [line for line in expected if line is not None]
    got = run_driver(commands)
    assert len(got) == len(expected)
    for command, want, have in zip((c for c in commands if not c.startswith("enum")),
                                   expected, got):
        if BOTH_NAN_COMMUTATIVE.match(command):
            want, have = want.rstrip("+-"), have.rstrip("+-")
        assert have == want, command


# Of two NaN operands of + or *, which one CPython returns depends on whether the interpreter
# has specialized the operation yet (its two code paths order the operands differently), so
# only NaN-ness is compared there.
BOTH_NAN_COMMUTATIVE = re.compile(r"fold bin \S+ (add|mul) \S+ float \S+ -?nan float \S+ -?nan$")


# --- floats ---------------------------------------------------------------------------------

def float_bits(x: float) -> str:
    if math.isnan(x):
        return "nan-" if math.copysign(1.0, x) < 0 else "nan+"
    return struct.pack(">d", x).hex()


def encode_float(x: float) -> str:
    """The driver's exact float token: M:E for M * 2**E."""
    if math.isnan(x):
        return "-nan" if math.copysign(1.0, x) < 0 else "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0.0:
        return "-0" if math.copysign(1.0, x) < 0 else "0:0"
    m, d = x.as_integer_ratio()
    e = -(d.bit_length() - 1)
    while m % 2 == 0:
        m //= 2
        e += 1
    return f"{m}:{e}"


def decode_float(tok: str) -> float:
    special = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan, "-nan": -math.nan,
               "-0": -0.0}
    if tok in special:
        return special[tok]
    m, e = tok.split(":")
    return math.ldexp(float(int(m)), int(e))


def normalize_syn_line(line: str) -> str:
    """A driver line with its floats ("TEXT SIGN") replaced by their bits."""
    parts = line.split(" ")
    if parts[0] == "float":            # float TYPE TEXT SIGN
        x = math.copysign(float(parts[2]), float(parts[3]))
        return f"float {parts[1]} {float_bits(x)}"
    if len(parts) == 2 and parts[1] in ("1.0", "-1.0"):   # round_f32: TEXT SIGN
        return float_bits(math.copysign(float(parts[0]), float(parts[1])))
    return line


# --- the reference side: the same commands through compiler/*.py ----------------------------

class Tokens:
    def __init__(self, text: str) -> None:
        self.toks = text.split()
        self.pos = 0

    def next(self) -> str:
        self.pos += 1
        return self.toks[self.pos - 1]


ENUMS: dict[str, ir.EnumDef] = {}


def parse_type(tok: str) -> ir.Type:
    return ir.EnumT(tok[2:]) if tok.startswith("E:") else (
        ir.UNIT if tok == "unit" else py_builtins.PRIMS.get(tok, ir.Prim(tok)))


def parse_expr(r: Tokens) -> ir.Expr:
    head = r.next()
    if head == "int":
        t = parse_type(r.next())
        return ir.IntConst(t, SPAN, int(r.next()))
    if head == "float":
        t = parse_type(r.next())
        return ir.FloatConst(t, SPAN, decode_float(r.next()))
    if head == "bool":
        return ir.BoolConst(ir.BOOL, SPAN, r.next() == "true")
    if head == "str":
        s = r.next()
        return ir.StrConst(ir.STR, SPAN, b"" if s == "-" else s.encode())
    if head == "unit":
        return ir.Unit(ir.UNIT, SPAN)
    t = parse_type(r.next())
    if head == "local":
        return ir.LocalGet(t, SPAN, ir.Local(0, "x", t))
    if head == "un":
        op = r.next()
        return ir.Unary(t, SPAN, op, parse_expr(r))
    if head == "bin":
        op, ot = r.next(), parse_type(r.next())
        left = parse_expr(r)
        return ir.Binary(t, SPAN, op, left, parse_expr(r), ot)
    if head == "cast":
        return ir.Cast(t, SPAN, parse_expr(r))
    if head in ("if", "if1"):
        c, a = parse_expr(r), parse_expr(r)
        return ir.If(t, SPAN, c, a, parse_expr(r) if head == "if" else None)
    if head == "blockn":
        return ir.Block(t, SPAN, [], None)
    stmts = [parse_expr(r)] if head == "blocks" else []
    return ir.Block(t, SPAN, stmts, parse_expr(r))


def show_const(e: ir.Expr | None) -> str:
    if e is None:
        return "none"
    t = str(e.type)
    if isinstance(e, ir.IntConst):
        return f"int {t} {e.value}"
    if isinstance(e, ir.FloatConst):
        return f"float {t} {float_bits(e.value)}"
    if isinstance(e, ir.BoolConst):
        return f"bool {t} {'true' if e.value else 'false'}"
    if isinstance(e, ir.StrConst):
        return f"str {t} {e.value.decode() or '-'}"
    assert isinstance(e, ir.Unit)
    return f"unit {t}"


def parse_pattern(r: Tokens, t: ir.Type) -> ir.Pattern:
    tok = r.next()
    if tok == "_":
        return ir.PWild(SPAN)
    if tok == "!":
        return py_patterns.PError(SPAN)
    if tok == "x":
        return ir.PBind(SPAN, ir.Local(0, "x", t))
    if tok.startswith("i:"):
        return ir.PLit(SPAN, ir.IntConst(t, SPAN, int(tok[2:])))
    if tok.startswith("b:"):
        return ir.PLit(SPAN, ir.BoolConst(t, SPAN, tok == "b:true"))
    if tok.startswith("s:"):
        return ir.PLit(SPAN, ir.StrConst(t, SPAN, tok[2:].encode()))
    tag, count = int(r.next()), int(r.next())
    assert isinstance(t, ir.EnumT)
    fields = next(v.fields for v in ENUMS[t.name].variants if v.tag == tag)
    return ir.PVariant(SPAN, t.name, tag, [parse_pattern(r, fields[i]) for i in range(count)])


def show_builtin(name: str) -> str:
    text = name
    if name in py_builtins.PRIMS:
        t = py_builtins.PRIMS[name]
        text += (f" prim {t} bits {py_builtins.INT_BITS.get(t, 0)} to_str "
                 f"{py_builtins.TO_STR.get(t, '')}")
    if name in py_builtins.BUILTIN_FUNCS:
        text += " builtin"
    if name in py_builtins.INTRINSICS:
        params, result = py_builtins.INTRINSICS[name]
        shown = ",".join("ANY" if p is None else str(p) for p in params) or "-"
        text += f" intrinsic {shown} -> {result}"
    if name in py_builtins.FLOAT_UNARY:
        text += f" unary {py_builtins.FLOAT_UNARY[name]}"
    if name in py_builtins.FLOAT_BINARY:
        text += f" binary {py_builtins.FLOAT_BINARY[name]}"
    return text


def reference(command: str) -> str | None:
    """What the Python modules answer to one driver command (None for a declaration)."""
    r = Tokens(command)
    cmd = r.next()
    if cmd == "wrap":
        t = parse_type(r.next())
        return str(py_fold.wrap(int(r.next()), t))
    if cmd == "f32":
        return float_bits(py_fold.round_f32(decode_float(r.next())))
    if cmd == "fold":
        return show_const(py_fold.fold_constant(parse_expr(r)))
    if cmd == "zero":
        return show_const(py_fold.zero_of(parse_type(r.next()), SPAN))
    if cmd == "enum":
        name, count = r.next(), int(r.next())
        variants = []
        for tag in range(count):
            vname, nf = r.next(), int(r.next())
            variants.append(ir.Variant(vname, tag, [parse_type(r.next()) for _ in range(nf)]))
        ENUMS[name] = ir.EnumDef(name, variants)
        return None
    if cmd in ("missing", "useful"):
        t = parse_type(r.next())
        pats = [parse_pattern(r, t) for _ in range(int(r.next()))]
        if cmd == "missing":
            return f"missing {py_patterns.missing_pattern(pats, t, ENUMS) or '-'}"
        p = parse_pattern(r, t)
        useful = py_patterns.useful([[q] for q in pats], [p], [t], ENUMS)
        return f"useful {str(useful).lower()} {str(py_patterns.has_error(p)).lower()}"
    assert cmd == "builtin"
    return show_builtin(r.next())


# --- builtins -------------------------------------------------------------------------------

def test_builtins_tables() -> None:
    names = (list(py_builtins.PRIMS) + list(py_builtins.BUILTIN_FUNCS)
             + list(py_builtins.INTRINSICS) + list(py_builtins.FLOAT_UNARY)
             + list(py_builtins.FLOAT_BINARY)
             + ["unit", "<error>", "__vec_at", "__load_x", "nearest", "len", "to_str", "Vec"])
    check([f"builtin {n}" for n in names])


def test_builtins_error_type_and_poison() -> None:
    # poison(span) is ir.Unit of the error type: zero_of shows the same shape for unit.
    assert str(py_builtins.poison(SPAN).type) == "<error>"
    src = DRIVER.parent.parent / "builtins.syn"
    text = src.read_text()
    assert 'ir.prim(ir.ERROR)' in text and "ir.ExprKind.Unit" in text


# --- fold: wrap and round_f32 ---------------------------------------------------------------

i64s = st.integers(min_value=RANGES["i64"][0], max_value=RANGES["i64"][1])
EDGE_INTS = [0, 1, -1, 2, 7, 8, 9, 31, 32, 33, 63, 64, 65, 127, 128, 255, 256, -128, -129,
             (1 << 31) - 1, -(1 << 31), 1 << 31, (1 << 32) - 1, (1 << 63) - 1, -(1 << 63)]


@settings(max_examples=5, **SETTINGS)
@given(st.lists(st.tuples(st.sampled_from(INT_TYPES), st.one_of(i64s, st.sampled_from(EDGE_INTS))),
                min_size=50, max_size=150))
def test_wrap(cases: list[tuple[str, int]]) -> None:
    check([f"wrap {t} {v}" for t, v in cases])


floats64 = st.floats(allow_nan=True, allow_infinity=True)
EDGE_FLOATS = [0.0, -0.0, 1.0, -1.5, math.inf, -math.inf, math.nan, -math.nan, 3.4028234663852886e38,
               3.4028235677973366e38, 3.4028235677973362e38, 1e300, -1e300, 1e-45, 7e-46, 1.4e-45,
               2.0 ** -149, 2.0 ** -150, 3 * 2.0 ** -151, 5e-324, 16777217.0, 0.1, 1.1]


@settings(max_examples=5, **SETTINGS)
@given(st.lists(st.one_of(floats64, st.sampled_from(EDGE_FLOATS)), min_size=50, max_size=150))
def test_round_f32(xs: list[float]) -> None:
    check([f"f32 {encode_float(x)}" for x in xs])


# --- fold: operators on constants -----------------------------------------------------------

@st.composite
def int_operand(draw: st.DrawFn, t: str) -> int:
    low, high = RANGES[t]
    edges = [v for v in EDGE_INTS if low <= v <= high] + [low, high, low + 1, high - 1]
    return draw(st.one_of(st.integers(low, high), st.sampled_from(edges)))


@st.composite
def int_binary(draw: st.DrawFn) -> str:
    t, op = draw(st.sampled_from(INT_TYPES)), draw(st.sampled_from(INT_OPS))
    a, b = draw(int_operand(t)), draw(int_operand(t))
    if draw(st.booleans()) and op in ("div", "rem"):
        b = draw(st.sampled_from([0, -1, 1]) if t != "u8" else st.sampled_from([0, 1]))
    if draw(st.booleans()) and op in ("shl", "shr"):
        b = draw(st.sampled_from([v for v in EDGE_INTS if RANGES[t][0] <= v <= RANGES[t][1]]))
    result = "bool" if op in COMPARE else t
    return f"fold bin {result} {op} {t} int {t} {a} int {t} {b}"


@settings(max_examples=5, **SETTINGS)
@given(st.lists(int_binary(), min_size=100, max_size=200))
def test_fold_int_binary(commands: list[str]) -> None:
    check(commands)


def test_fold_int_binary_exhaustive_edges() -> None:
    commands = []
    for t in INT_TYPES:
        low, high = RANGES[t]
        edges = sorted({v for v in EDGE_INTS if low <= v <= high} | {low, high})
        for op in INT_OPS:
            for a in edges:
                for b in edges:
                    result = "bool" if op in COMPARE else t
                    commands.append(f"fold bin {result} {op} {t} int {t} {a} int {t} {b}")
    check(commands)


@st.composite
def float_binary(draw: st.DrawFn) -> str:
    t, op = draw(st.sampled_from(("f32", "f64"))), draw(st.sampled_from(FLOAT_OPS))
    width = 32 if t == "f32" else 64
    operand = st.one_of(st.floats(width=width), st.sampled_from(
        [0.0, -0.0, 1.0, -2.0, math.inf, -math.inf, math.nan, -math.nan, 3.0e38, 1e-40]))
    a, b = draw(operand), draw(operand)
    if t == "f32":
        a, b = py_fold.round_f32(a), py_fold.round_f32(b)
    result = "bool" if op in COMPARE else t
    return (f"fold bin {result} {op} {t} float {t} {encode_float(a)} "
            f"float {t} {encode_float(b)}")


@settings(max_examples=5, **SETTINGS)
@given(st.lists(float_binary(), min_size=100, max_size=200))
def test_fold_float_binary(commands: list[str]) -> None:
    check(commands)


def test_fold_float_nan_signs_and_division_by_zero() -> None:
    values = ["0:0", "-0", "1:0", "-3:-1", "inf", "-inf", "nan", "-nan"]
    commands = [f"fold bin {t} {op} {t} float {t} {a} float {t} {b}"
                for t in ("f32", "f64") for op in ("add", "sub", "mul", "div")
                for a in values for b in values]
    commands += [f"fold un {t} neg float {t} {a}" for t in ("f32", "f64") for a in values]
    check(commands)


def test_fold_unary_bool_and_casts() -> None:
    commands = []
    for t in INT_TYPES:
        low, high = RANGES[t]
        for v in sorted({x for x in EDGE_INTS if low <= x <= high} | {low, high}):
            commands += [f"fold un {t} neg int {t} {v}", f"fold un {t} bitnot int {t} {v}",
                         f"fold un {t} not int {t} {v}"]
            commands += [f"fold cast {to} int {t} {v}" for to in INT_TYPES + ("f32", "f64")]
    # u8 constants outside 0..255 are masked before a cast, as in fold.py.
    commands += [f"fold cast {to} int u8 {v}" for to in INT_TYPES for v in (-1, 300, -200)]
    # i64 values that round twice (to f64, then to f32) differently from once.
    commands += [f"fold cast f32 int i64 {v}" for v in
                 ((1 << 60) + (1 << 36) + 1, (1 << 60) + (1 << 36), -(1 << 53) - 1,
                  (1 << 63) - 1, -(1 << 63), 16777217, 16777219)]
    for b in ("true", "false"):
        commands += [f"fold un bool not bool {b}", f"fold un bool neg bool {b}"]
        commands += [f"fold cast {to} bool {b}" for to in INT_TYPES + ("f32", "f64")]
        for c in ("true", "false"):
            commands += [f"fold bin bool {op} bool bool {b} bool {c}"
                         for op in ("eq", "ne", "and", "or", "xor", "lt", "add")]
    for x in ("0:0", "-0", "1:-1", "-7:-3", "inf", "-inf", "nan", "-nan", "1:200", "3:-160",
              "16777217:0", "5:-1074"):
        for t in ("f32", "f64"):
            commands += [f"fold cast {to} float {t} {x}" for to in ("f32", "f64", "i32", "u8")]
            commands += [f"fold un {t} sqrt float {t} {x}", f"fold un {t} neg float {t} {x}"]
    commands += ["fold str abc", "fold str -", "fold unit", "fold local i32",
                 "fold bin str add str str a str b", "fold bin bool eq str str a str a",
                 "fold bin i32 add i32 int i32 1 bool true",
                 "fold bin f64 min f64 local f64 float f64 1:0"]
    commands += [f"zero {t}" for t in ("i32", "i64", "u8", "f32", "f64", "bool", "str", "unit",
                                        "E:Opt")]
    check(commands)


# Random trees of constant and non-constant i32 / bool expressions, with if, blocks, casts.
def gen_expr(rng: random.Random, t: str, depth: int) -> str:
    choice = rng.randrange(9 if depth > 0 else 2)
    if choice == 0 or (choice == 1 and rng.random() < 0.9):
        if t == "bool":
            return f"bool {rng.choice(['true', 'false'])}"
        low, high = RANGES[t]
        return f"int {t} {rng.choice([rng.randint(low, high), rng.choice([0, 1, -1, 31, low, high])])}" \
            if t != "u8" else f"int u8 {rng.randint(0, 255)}"
    if choice == 1:
        return f"local {t}"
    if choice in (2, 3) and t != "bool":
        op = rng.choice(INT_OPS[:10])
        return f"bin {t} {op} {t} {gen_expr(rng, t, depth - 1)} {gen_expr(rng, t, depth - 1)}"
    if choice in (2, 3):
        if rng.random() < 0.5:
            ot = rng.choice(INT_TYPES)
            return (f"bin bool {rng.choice(COMPARE)} {ot} {gen_expr(rng, ot, depth - 1)} "
                    f"{gen_expr(rng, ot, depth - 1)}")
        return (f"bin bool {rng.choice(['and', 'or', 'xor', 'eq', 'ne'])} bool "
                f"{gen_expr(rng, 'bool', depth - 1)} {gen_expr(rng, 'bool', depth - 1)}")
    if choice == 4:
        op = "not" if t == "bool" else rng.choice(["neg", "bitnot"])
        return f"un {t} {op} {gen_expr(rng, t, depth - 1)}"
    if choice == 5:
        c = gen_expr(rng, "bool", depth - 1)
        a = gen_expr(rng, t, depth - 1)
        if rng.random() < 0.2:
            return f"if1 {t} {c} {a}"
        return f"if {t} {c} {a} {gen_expr(rng, t, depth - 1)}"
    if choice == 6:
        kind = rng.choice(["block", "block", "blocks", "blockn"])
        if kind == "blockn":
            return f"blockn {t}"
        if kind == "blocks":
            return f"blocks {t} unit {gen_expr(rng, t, depth - 1)}"
        return f"block {t} {gen_expr(rng, t, depth - 1)}"
    if t == "bool":
        return f"bool {rng.choice(['true', 'false'])}"
    src = rng.choice(INT_TYPES + ("bool",))
    return f"cast {t} {gen_expr(rng, src, depth - 1)}"


def test_fold_nested_expressions() -> None:
    rng = random.Random(20240611)
    commands = [f"fold {gen_expr(rng, rng.choice(INT_TYPES + ('bool',)), 4)}"
                for _ in range(600)]
    check(commands)


# --- patterns -------------------------------------------------------------------------------

ENUM_DECLS = [
    "enum Opt 2 Nothing 0 Some 1 i32",
    "enum Color 3 Red 0 Green 0 Blue 0",
    "enum Tree 2 Leaf 0 Node 3 E:Tree i32 E:Tree",
    "enum Pair 2 P 2 E:Color bool Q 1 E:Opt",
    "enum Never 0",
]
ARITY = {"Opt": [[], ["i32"]], "Color": [[], [], []],
         "Tree": [[], ["E:Tree", "i32", "E:Tree"]], "Pair": [["E:Color", "bool"], ["E:Opt"]],
         "Never": []}


def gen_pattern(rng: random.Random, t: str, depth: int) -> str:
    r = rng.random()
    if r < 0.15 or (depth == 0 and r < 0.5):
        return rng.choice(["_", "!", "x"])
    if t.startswith("E:"):
        variants = ARITY[t[2:]]
        if not variants or depth == 0:
            return "_"
        tag = rng.randrange(len(variants))
        subs = [gen_pattern(rng, ft, depth - 1) for ft in variants[tag]]
        return " ".join([f"v {tag} {len(subs)}"] + subs)
    if t == "bool":
        return rng.choice(["b:true", "b:false"])
    if t == "str":
        return rng.choice(["s:a", "s:b", "s:", "s:abc"])
    if t == "u8":
        return f"i:{rng.choice([0, 1, 97, 255])}"
    return f"i:{rng.choice([0, 1, -1, 2, 1 << 40])}"


def pattern_commands(t: str, pats: list[str]) -> list[str]:
    out = [f"missing {t} {len(pats)} {' '.join(pats)}"]
    out += [f"useful {t} {i} {' '.join(pats[:i + 1])}" for i in range(len(pats))]
    return out


def test_patterns_hand_written() -> None:
    cases = {
        "E:Opt": [["v 1 1 x"], ["v 0 0"], ["v 1 1 x", "v 0 0"], ["v 1 1 i:0", "v 0 0"],
                  ["v 1 1 i:0", "v 1 1 _", "v 0 0", "_"], ["!"], ["x", "v 0 0"], [],
                  ["v 1 1 !", "v 1 1 x", "v 0 0"]],
        "E:Color": [["v 0 0", "v 2 0"], ["v 1 0"], ["v 0 0", "v 1 0", "v 2 0", "_"]],
        "E:Tree": [["v 0 0", "v 1 3 v 0 0 x v 1 3 _ _ _"],
                   ["v 1 3 _ i:0 _", "v 0 0"], ["v 0 0", "v 1 3 v 1 3 _ _ _ _ v 0 0"]],
        "E:Pair": [["v 0 2 v 0 0 b:true", "v 1 1 v 1 1 x"],
                   ["v 0 2 _ b:true", "v 0 2 v 2 0 b:false", "v 1 1 _"]],
        "E:Never": [[], ["_"]],
        "bool": [["b:true"], ["b:false", "b:true"], ["b:true", "b:true"], ["x"], ["!", "b:true"],
                 []],
        "i32": [["i:0", "i:1"], ["i:0", "_"], ["i:0", "i:0", "x"], []],
        "u8": [["i:97", "i:255"], ["i:1", "x", "i:1"]],
        "i64": [["i:1099511627776", "i:1"]],
        "str": [["s:a", "s:b"], ["s:a", "s:a", "_"], ["s:", "x"]],
    }
    commands = list(ENUM_DECLS)
    for t, lists in cases.items():
        for pats in lists:
            commands += pattern_commands(t, pats)
    check(commands)


def test_patterns_random() -> None:
    rng = random.Random(7)
    commands = list(ENUM_DECLS)
    types = ["E:Opt", "E:Color", "E:Tree", "E:Pair", "bool", "i32", "u8", "str"]
    for _ in range(250):
        t = rng.choice(types)
        pats = [gen_pattern(rng, t, 3) for _ in range(rng.randint(0, 5))]
        commands += pattern_commands(t, pats)
    check(commands)

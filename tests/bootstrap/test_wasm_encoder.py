"""The self-hosted encoder (bootstrap/wasm.syn) gives the same bytes as compiler/wasm.py.

bootstrap/tests/wasm_selftest.syn builds a few modules through the `.syn` `Module` API and
prints their hex, then the IEEE bits its arithmetic `f64_bits`/`f32_bits` compute. Here the same
modules are built with compiler/wasm.py, call for call, and every line is compared; the bits are
checked against `struct.pack`. Every module must also be valid Wasm.
"""
from __future__ import annotations

import math
import struct
from pathlib import Path
from typing import Callable

import pytest
import wasmtime

from synapse.compiler import wasm as wasm_py
from synapse.compiler.driver import compile_file
from synapse.compiler.wasm import Module
from synapse.runtime.sandbox import run_module
from synapse.runtime.selfhost import compile_test_driver

ROOT = Path(__file__).resolve().parents[2]
SELFTEST = ROOT / "bootstrap" / "tests" / "wasm_selftest.syn"


@pytest.fixture(scope="module")
def selftest_lines() -> list[str]:
    run = run_module(compile_test_driver(SELFTEST))
    assert run.ok, run.message
    return run.output.decode().splitlines()


def selftest_modules(lines: list[str]) -> dict[str, bytes]:
    return {parts[1]: bytes.fromhex(parts[2])
            for parts in (line.split(" ") for line in lines) if parts[0] == "module"}


def t(spec: str) -> list[str]:
    return spec.split()


# --- the modules of wasm_selftest.syn, built with wasm.py -----------------------------------

def module_locals() -> Module:
    m = Module()
    f = m.add_func("main.f", t("i32 i64"), t("i64"), t("i32 i32 i64 f32 f32 f32 f64 i32"), [
        ("local.get", 0), ("local.set", 2), ("local.get", 1), ("local.tee", 4),
        ("i64.const", 3), ("i64.add",), ("local.set", 4),
        ("f32.const", 1.5), ("local.set", 5), ("f64.const", 2.0), ("local.set", 8),
        ("local.get", 8), ("f64.sqrt",), ("drop",),
        ("local.get", 4), ("local.get", 2), ("i64.extend_i32_s",), ("i64.mul",)])
    m.add_func("main.g", [], [], [], [])
    h = m.reserve_func("main.h", t("f32"), t("f32"))
    k = m.reserve_func("main.k", [], t("i32"))
    m.set_func_body(k, [], [("f32.const", 3), ("call", h), ("i32.trunc_sat_f32_s",)])
    m.set_func_body(h, [], [("local.get", 0), ("f32.neg",)])
    m.export_func("f", f)
    m.export_func("k", k)
    return m


def module_control() -> Module:
    m = Module()
    sw = m.add_func("main.switch", t("i32"), t("i32"), t("i32"), [
        ("block", None), ("block", None), ("block", None),
        ("local.get", 0), ("br_table", [0, 1, 0], 2), ("end",),
        ("i32.const", 100), ("return",), ("end",),
        ("i32.const", 200), ("return",), ("end",),
        ("loop", None), ("local.get", 1), ("i32.const", 1), ("i32.add",), ("local.tee", 1),
        ("i32.const", 1000), ("i32.lt_s",), ("br_if", 0), ("end",),
        ("nop",), ("local.get", 1), ("local.get", 0), ("i32.eqz",),
        ("if", "i32"), ("i32.const", 1), ("else",), ("i32.const", 2), ("end",),
        ("i32.add",), ("local.get", 0), ("i32.const", -1), ("local.get", 0), ("select",),
        ("i32.add",)])
    m.add_func("main.ops64", t("i64"), t("i64"), [], [
        ("local.get", 0), ("i64.const", -1), ("i64.xor",), ("i64.popcnt",),
        ("local.get", 0), ("i64.clz",), ("i64.rotl",), ("i64.const", 7), ("i64.rem_u",),
        ("block", "i64"), ("local.get", 0), ("br", 0), ("end",), ("i64.shr_s",),
        ("block", "f64"), ("f64.const", 1), ("end",),
        ("block", "f32"), ("f32.const", -1), ("end",),
        ("f64.promote_f32",), ("f64.add",), ("i64.trunc_f64_s",), ("i64.add",), ("br", 0)])
    m.add_func("main.never", [], t("i32"), [], [("unreachable",)])
    m.export_func("switch", sw)
    return m


F64_CONSTS = [0.0, -0.0, 1.0, -2.5, 0.1, 1e308, -1.7976931348623157e308, 5e-324,
              -2.2250738585072014e-308, 2.225073858507201e-308, math.inf, -math.inf, math.nan,
              -math.nan]
F32_CONSTS = [0.0, -0.0, 1.5, -0.1, 3.4028235e38, 1e-45, 1.1754942e-38, -1.1754944e-38,
              math.inf, -math.inf, math.nan, -math.nan]


def module_consts() -> Module:
    body: list[tuple] = []
    for x in [0, 1, -1, 63, 64, -64, -65, 127, 128, 8191, 8192, -8193, 2147483647, -2147483648,
              2147483648, 4294967295]:
        body += [("i32.const", x), ("drop",)]
    for x in [0, -1, 63, -65, 1 << 40, -(1 << 40), 2**63 - 1, -2**63]:
        body += [("i64.const", x), ("drop",)]
    for f in F64_CONSTS:
        body += [("f64.const", f), ("drop",)]
    for f in F32_CONSTS:
        body += [("f32.const", f), ("drop",)]
    for n in [0, -1, 256, -2147483649, 2147483648, 16777217, 9007199254740993, -2**63]:
        body += [("f64.const", n), ("drop",), ("f32.const", n), ("drop",)]
    body += [("f64.const_bits", 0x7FF4000000000001), ("drop",),
             ("f32.const_bits", 0xFFC00001), ("drop",)]
    m = Module()
    m.add_func("main.consts", [], [], [], body)
    return m


def module_memory() -> Module:
    m = Module()
    write = m.import_func("syn", "write", t("i32 i32"), (), "syn.write")
    trap = m.import_func("syn", "trap", t("i32 i32 i64 i64"), (), "syn.trap")
    other = m.import_func("env", "f", t("f64"), t("f64"), "custom.name")
    m.set_memory(2, 16, "memory")
    m.add_global("i32", True, 1024)
    m.add_global("i64", False, -5)
    m.add_global("f64", False, 3)
    m.add_global("f32", True, -7)
    m.add_global("i32", False, 4294967295)
    m.add_data(8, b"hello\x00\xff\n")
    m.add_data(300, b"")
    m.add_data(70000, b"abc")
    f = m.add_func("main.mem", t("i32"), t("i32"), t("i64 f64 f32"), [
        ("local.get", 0), ("local.get", 0), ("i32.load", 2, 0), ("i32.store", 2, 4),
        ("local.get", 0), ("i64.load", 3, 8), ("local.set", 1),
        ("local.get", 0), ("local.get", 1), ("i64.store", 3, 100000),
        ("local.get", 0), ("f64.load", 3, 16), ("local.set", 2),
        ("local.get", 0), ("local.get", 2), ("f64.store", 2, 24),
        ("local.get", 0), ("f32.load", 2, 32), ("local.set", 3),
        ("local.get", 0), ("local.get", 3), ("f32.store", 2, 36),
        ("local.get", 0), ("i32.load8_s", 0, 1), ("drop",),
        ("local.get", 0), ("i32.load16_u", 1, 2), ("drop",),
        ("local.get", 0), ("i64.load32_s", 2, 4294967295), ("drop",),
        ("local.get", 0), ("i32.const", 7), ("i32.store8", 0, 128),
        ("local.get", 0), ("i64.const", 9), ("i64.store32", 2, 129),
        ("local.get", 0), ("i32.const", 8), ("i32.const", 16), ("memory.copy",),
        ("local.get", 0), ("i32.const", 0), ("i32.const", 16), ("memory.fill",),
        ("memory.size",), ("drop",), ("i32.const", 1), ("memory.grow",), ("drop",),
        ("local.get", 2), ("i32.trunc_sat_f64_s",), ("drop",),
        ("local.get", 3), ("i64.trunc_sat_f32_u",), ("drop",),
        ("global.get", 0), ("i32.const", 8), ("i32.add",), ("global.set", 0),
        ("global.get", 1), ("drop",),
        ("i32.const", 8), ("i32.const", 5), ("call", write),
        ("local.get", 2), ("call", other), ("drop",),
        ("i32.const", 1), ("i32.const", 0), ("i64.const", 0), ("i64.const", 0), ("call", trap),
        ("global.get", 0)])
    m.export_func("mem", f)
    m.export_func("write", write)
    return m


def module_many() -> Module:
    m = Module()
    m.type_index(t("f32"), t("f64"))
    m.type_index(t("i32"), [])
    m.type_index(t("f32"), t("f64"))
    kinds = ["i32", "i64", "f32", "f64"]
    for i in range(150):
        params = [kinds[(i + j) % 4] for j in range(i % 5)]
        name = f"main.é{i}" if i % 7 == 0 else f"main.f{i}"
        m.add_func(name, params, t("i32"), [], [("i32.const", i * 1000)])
    local_types = ["i32"] * 200 + ["i64"] * 130 + ["f32", "i32"]
    body: list[tuple] = []
    for k in range(300):
        body += [("local.get", k % 333), ("drop",)]
    body += [("call", 145), ("drop",), ("call", 140)]
    big = m.add_func("main.big", [], t("i32"), local_types, body)
    m.export_func("big", big)
    m.export_func("first", 0)
    return m


def module_nomax() -> Module:
    m = Module()
    m.set_memory(1, None, None)
    m.add_data(0, b"x")
    return m


PYTHON_MODULES: dict[str, Callable[[], Module]] = {
    "locals": module_locals, "control": module_control, "consts": module_consts,
    "memory": module_memory, "many": module_many, "nomax": module_nomax, "empty": Module,
}


# --- tests ----------------------------------------------------------------------------------

def test_selftest_prints_every_module(selftest_lines: list[str]) -> None:
    assert list(selftest_modules(selftest_lines)) == list(PYTHON_MODULES)


@pytest.mark.parametrize("name", list(PYTHON_MODULES))
def test_same_bytes_as_reference_encoder(selftest_lines: list[str], name: str) -> None:
    ours = selftest_modules(selftest_lines)[name]
    reference = PYTHON_MODULES[name]().encode()
    assert ours.hex() == reference.hex()


@pytest.mark.parametrize("name", list(PYTHON_MODULES))
def test_modules_are_valid_wasm(selftest_lines: list[str], name: str) -> None:
    wasmtime.Module.validate(wasmtime.Engine(), selftest_modules(selftest_lines)[name])


def test_modules_run(selftest_lines: list[str]) -> None:
    """Behaviour, not just bytes: the br_table dispatch and the loop compute what they say."""
    modules = selftest_modules(selftest_lines)
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)

    def export(module: str, name: str) -> Callable[..., object]:
        instance = wasmtime.Instance(store, wasmtime.Module(engine, modules[module]), [])
        func = instance.exports(store)[name]
        assert isinstance(func, wasmtime.Func)
        return lambda *args: func(store, *args)

    switch = export("control", "switch")
    # Index 0 and 2 leave the innermost block (100), 1 the middle one (200), anything else the
    # outer one: the loop counts local 1 up to 1000, plus 2 (input non-zero) plus the input.
    assert [switch(i) for i in (0, 1, 2, 3, 7)] == [100, 200, 100, 1000 + 2 + 3, 1000 + 2 + 7]
    # f(6, 10) = (10 + 3) * 6; k() = trunc(-(3.0)).
    assert export("locals", "f")(6, 10) == 78
    assert export("locals", "k")() == -3


def f64_pack(x: float) -> int:
    return int.from_bytes(struct.pack("<d", x), "little")


def f32_pack(x: float) -> int:
    return int.from_bytes(struct.pack("<f", x), "little")


def bits_lines(lines: list[str], kind: str) -> list[tuple[str, int]]:
    return [(p[1], int(p[2])) for p in (line.split(" ") for line in lines) if p[0] == kind]


def test_f64_bits_of_literals(selftest_lines: list[str]) -> None:
    seen = bits_lines(selftest_lines, "f64")
    assert len(seen) == 20
    for text, bits in seen:
        assert bits & (2**64 - 1) == f64_pack(float(text)), text


def test_f32_bits_of_literals(selftest_lines: list[str]) -> None:
    seen = bits_lines(selftest_lines, "f32")
    assert len(seen) == 13
    for text, bits in seen:
        assert -2**31 <= bits < 2**31
        assert bits & (2**32 - 1) == f32_pack(float(text)), text


def test_nan_and_infinity_bits(selftest_lines: list[str]) -> None:
    f64 = dict(bits_lines(selftest_lines, "f64"))
    f32 = dict(bits_lines(selftest_lines, "f32"))
    assert f64["nan"] == 0x7FF8000000000000
    assert f64["-nan"] == -(2**63) + 0x7FF8000000000000
    assert f64["-inf"] == -(2**63) + 0x7FF0000000000000
    assert f32["nan"] == 0x7FC00000
    assert f32["-nan"] == -(2**31) + 0x7FC00000
    assert f32["inf"] == 0x7F800000


def test_f64_bits_of_random_values(selftest_lines: list[str]) -> None:
    seen = bits_lines(selftest_lines, "rf64")
    assert len(seen) == 3000
    exponents = set()
    for text, bits in seen:
        assert bits & (2**64 - 1) == f64_pack(float(text)), text
        exponents.add((bits >> 52) & 0x7FF)
    # The values cover subnormals (exponent field 0), infinities and most exponents between.
    assert 0 in exponents and 0x7FF in exponents and len(exponents) > 1000


def test_f32_bits_of_random_values(selftest_lines: list[str]) -> None:
    seen = bits_lines(selftest_lines, "rf32")
    assert len(seen) == 3000
    exponents = set()
    for text, bits in seen:
        assert bits & (2**32 - 1) == f32_pack(float(text)), text
        exponents.add((bits >> 23) & 0xFF)
    assert 0 in exponents and 0xFF in exponents and len(exponents) > 200


# --- replaying real modules -----------------------------------------------------------------

REPLAY = ROOT / "bootstrap" / "tests" / "wasm_replay.syn"
REPLAYED_PROGRAMS = ["tests/programs/casts/float_casts.syn",
                     "tests/programs/floats/f32_vs_f64.syn",
                     "examples/expr_eval.syn", "examples/bank_contracts.syn"]
_BLOCK_TYPES = {None: 0, "i32": 1, "i64": 2, "f32": 3, "f64": 4}


def signed(value: int, bits: int) -> int:
    return value - (1 << bits) if value >= 1 << (bits - 1) else value


def replay_instr(ins: tuple) -> str:
    """An instruction tuple as wasm.syn's `Instr` holds it: "OP A B LABELS"."""
    name, args = ins[0], ins[1:]
    if name in ("block", "loop", "if"):
        return f"{name} {_BLOCK_TYPES[args[0]]} 0 -"
    if name == "br_table":
        return f"{name} {args[1]} 0 {','.join(map(str, args[0])) or '-'}"
    if name in ("f32.const", "f64.const"):
        value = float(args[0])
        if value.is_integer() and abs(value) < 2**63:
            return f"{name} {int(value)} 0 -"
        # Otherwise the Instr carries raw bits (the same bytes, by wasm.py's definition).
        raw = wasm_py.f32_bytes(value) if name == "f32.const" else wasm_py.f64_bytes(value)
        return f"{name}_bits {signed(int.from_bytes(raw, 'little'), 8 * len(raw))} 0 -"
    if name == "f64.const_bits" or name == "i64.const":
        return f"{name} {signed(args[0], 64)} 0 -"
    values = [int(a) for a in args] + [0, 0]
    return f"{name} {values[0]} {values[1]} -"


def replay_script(m: Module) -> str:
    """The builder calls lower.py makes, in its order (see `wasm_replay.syn` for the format)."""
    def types(ts: tuple[str, ...] | list[str]) -> str:
        return ",".join(ts) or "-"

    out = []
    for imp in m.imports:
        ft = m.types[imp.type_idx]
        out.append(f"import {imp.module} {imp.name} {types(ft.params)} {types(ft.results)} "
                   f"{imp.debug_name}")
    for func in m.funcs:
        ft = m.types[func.type_idx]
        out.append(f"func {func.debug_name} {types(ft.params)} {types(ft.results)}")
    assert m.memory is not None
    max_pages = -1 if m.memory.max_pages is None else m.memory.max_pages
    out.append(f"memory {m.memory.min_pages} {max_pages} {m.memory.export or '-'}")
    for g in m.globals:
        out.append(f"global {g.valtype} {int(g.mutable)} {g.init}")
    for d in m.data:
        out.append(f"data {d.offset} {d.data.hex() or '-'}")
    for i, func in enumerate(m.funcs):
        assert func.body is not None and func.locals is not None
        out.append(f"body {len(m.imports) + i} {types(func.locals)} {len(func.body)}")
        out += [replay_instr(ins) for ins in func.body]
    for e in m.exports:
        if e.kind == wasm_py.EXTERNAL_FUNC:
            out.append(f"export {e.name} {e.index}")
    return "\n".join(out) + "\n"


@pytest.fixture(scope="module")
def replayer() -> bytes:
    return compile_test_driver(REPLAY)


@pytest.mark.parametrize("program", REPLAYED_PROGRAMS)
def test_replayed_real_modules_encode_identically(replayer: bytes, program: str) -> None:
    """The calls lower.py made for a real program, replayed through wasm.syn, give the bytes
    the reference compiler wrote."""
    compiled = compile_file(ROOT / program)
    assert compiled.ok and compiled.module is not None and compiled.wasm is not None
    script = replay_script(compiled.module)
    run = run_module(replayer, script.encode())
    assert run.ok, run.message
    assert run.output.decode().strip() == compiled.wasm.hex()

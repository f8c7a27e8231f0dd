"""WAT printer (compiler/wat.py): the text assembles with wasmtime's `wat2wasm` to the same
bytes as `Module.encode()` (names included when debug names are valid identifiers), or at least
to a module that behaves the same."""
from __future__ import annotations

import math

import numpy as np
import pytest
import wasmtime
from hypothesis import given
from hypothesis import strategies as st

from synapse.compiler.wasm import Module
from synapse.compiler.wat import f32_bits_text, f64_bits_text, string_text, to_wat


def run(binary: bytes, name: str, *args: object) -> object:
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    module = wasmtime.Module(engine, binary)
    stubs = [wasmtime.Func(store, imp.type, lambda *a: None) for imp in module.imports]
    instance = wasmtime.Instance(store, module, stubs)
    return instance.exports(store)[name](store, *args)


def full_module() -> Module:
    """Imports, memory, globals of every type, data with awkward bytes, control flow, floats."""
    m = Module()
    m.import_func("syn", "write", ("i32", "i32"), (), "syn.write")
    m.set_memory(1, 2)
    m.add_global("i32", True, 1024)
    m.add_global("i64", False, -2**63)
    m.add_global("f32", False, 0.1)
    m.add_global("f64", True, -0.0)
    m.add_data(8, b'say "hi"\\\n\x00\xff')
    clamp = m.add_func("main.clamp", ("i32",), ("i32",), [], [
        ("local.get", 0), ("i32.const", 0), ("i32.lt_s",),
        ("if", "i32"), ("i32.const", 0),
        ("else",), ("local.get", 0), ("i32.const", 0xFFFFFFFF), ("i32.and",), ("end",)])
    main = m.add_func("main.main", (), ("i64",), ["i32", "i32", "i64", "f64"], [
        ("i32.const", 8), ("i32.const", 13), ("call", 0),
        ("block", None), ("loop", None),
        ("local.get", 0), ("i32.const", 10), ("i32.ge_s",), ("br_if", 1),
        ("local.get", 2), ("local.get", 0), ("call", clamp), ("i64.extend_i32_u",), ("i64.add",),
        ("local.set", 2),
        ("local.get", 0), ("i32.const", 1), ("i32.add",), ("local.set", 0),
        ("br", 0), ("end",), ("end",),
        ("i32.const", 100), ("i32.const", 8), ("i32.const", 4), ("memory.copy",),
        ("i32.const", 200), ("i32.const", 7), ("i32.const", 2), ("memory.fill",),
        ("i32.const", 100), ("i64.load32_u", 2, 0), ("local.get", 2), ("i64.add",),
        ("i32.const", 0), ("i32.load8_u", 0, 200), ("i64.extend_i32_u",), ("i64.add",),
        ("f64.const_bits", 0x7FF0_0000_0000_0001), ("local.set", 3),
        ("f32.const", math.inf), ("f32.const_bits", 0xFFC0_0000), ("f32.min",), ("drop",),
        ("f64.const", 2.5e-310), ("drop",),
        ("i32.const", 1), ("br_table", [0], 0),
    ])
    m.export_func("main", main)
    m.export_func("clamp", clamp)
    return m


def test_round_trip_is_byte_equal() -> None:
    m = full_module()
    assert wasmtime.wat2wasm(to_wat(m)) == m.encode()


def test_round_trip_behaves_the_same() -> None:
    m = full_module()
    # sum 0..9 = 45, plus the first four data bytes "say " as a little-endian u32, plus 7.
    expected = 45 + int.from_bytes(b"say ", "little") + 7
    assert run(m.encode(), "main") == expected
    assert run(wasmtime.wat2wasm(to_wat(m)), "main") == expected


def test_layout_is_indented_by_block_depth() -> None:
    lines = to_wat(full_module()).splitlines()
    assert lines[0] == "(module"
    assert lines[-1] == ")"
    assert '  (import "syn" "write" (func $syn.write (type 0) (param i32 i32)))' in lines
    assert "  (func $main.clamp (type 1) (param i32) (result i32)" in lines
    assert "    if (result i32)" in lines
    assert "      i32.const 0" in lines
    assert "    else" in lines
    assert "        local.get 0" in lines  # inside block and loop
    assert "    call $syn.write" in lines
    assert "        call $main.clamp" in lines
    assert '  (data (;0;) (i32.const 8) "say \\22hi\\22\\5c\\0a\\00\\ff")' in lines


def test_awkward_and_duplicate_names_are_sanitised() -> None:
    m = Module()
    a = m.add_func("main.f", (), ("i32",), [], [("i32.const", 1)])
    b = m.add_func("main.f", (), ("i32",), [], [("call", a), ("i32.const", 1), ("i32.add",)])
    c = m.add_func("weird name (x)", (), ("i32",), [], [("call", b), ("i32.const", 1),
                                                         ("i32.add",)])
    m.export_func("c", c)
    text = to_wat(m)
    assert "$main.f_1" in text and "$weird_name__x_" in text
    assert run(wasmtime.wat2wasm(text), "c") == run(m.encode(), "c") == 3


@pytest.mark.parametrize("bits, text", [
    (0x7FC0_0000, "nan:0x400000"), (0xFF80_0000, "-inf"), (0x7F80_0001, "nan:0x1"),
    (0x3F80_0000, "0x1.0000000000000p+0"), (0x8000_0000, "-0x0.0p+0"),
])
def test_f32_bits_text(bits: int, text: str) -> None:
    assert f32_bits_text(bits) == text


def test_f64_bits_text_specials() -> None:
    assert f64_bits_text(0x7FF8_0000_0000_0000) == "nan:0x8000000000000"
    assert f64_bits_text(0xFFF0_0000_0000_0000) == "-inf"
    assert f64_bits_text(0x4000_0000_0000_0000) == "0x1.0000000000000p+1"


def test_string_text_escapes() -> None:
    assert string_text(b'a"\\\x7f ') == '"a\\22\\5c\\7f "'


def const_module(instr: tuple, result: str) -> Module:
    m = Module()
    m.export_func("f", m.add_func("t.f", (), (result,), [], [instr]))
    return m


@given(st.integers(min_value=-2**31, max_value=2**32 - 1))
def test_i32_consts_round_trip(value: int) -> None:
    m = const_module(("i32.const", value), "i32")
    assert wasmtime.wat2wasm(to_wat(m)) == m.encode()


@given(st.integers(min_value=-2**63, max_value=2**64 - 1))
def test_i64_consts_round_trip(value: int) -> None:
    m = const_module(("i64.const", value), "i64")
    assert wasmtime.wat2wasm(to_wat(m)) == m.encode()


@given(st.integers(min_value=0, max_value=2**64 - 1))
def test_f64_bit_patterns_round_trip(bits: int) -> None:
    m = const_module(("f64.const_bits", bits), "f64")
    assert wasmtime.wat2wasm(to_wat(m)) == m.encode()


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_f32_bit_patterns_round_trip(bits: int) -> None:
    m = const_module(("f32.const_bits", bits), "f32")
    assert wasmtime.wat2wasm(to_wat(m)) == m.encode()


@given(st.floats(allow_nan=False, width=64))
def test_f32_consts_from_python_floats_round_trip(value: float) -> None:
    m = const_module(("f32.const", value), "f32")
    binary = m.encode()
    assert wasmtime.wat2wasm(to_wat(m)) == binary
    # The encoded constant is numpy's IEEE round-to-nearest binary32 of the value.
    with np.errstate(over="ignore"):
        expected = np.float32(value).tobytes()
    assert b"\x43" + expected in binary

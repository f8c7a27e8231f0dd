"""Binary encoder (compiler/wasm.py): modules built with the `Module` API are valid Wasm, run
with the expected results under wasmtime, encode deterministically, and every opcode agrees with
wasmtime's own text assembler."""
from __future__ import annotations

import math
import struct
from typing import Any, Callable

import pytest
import wasmtime
from hypothesis import given
from hypothesis import strategies as st

from synapse.compiler import wasm
from synapse.compiler.wasm import Module, WasmEncodeError, sleb128, to_signed, uleb128

# --- helpers ------------------------------------------------------------------------------

_WT_TYPES = {"i32": wasmtime.ValType.i32, "i64": wasmtime.ValType.i64,
             "f32": wasmtime.ValType.f32, "f64": wasmtime.ValType.f64}


def instantiate(binary: bytes, stubs: dict[tuple[str, str], Callable[..., Any]] | None = None,
                ) -> tuple[wasmtime.Store, wasmtime.Instance]:
    """Instantiate with a Python stub for each import (a missing stub fails the test)."""
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    module = wasmtime.Module(engine, binary)
    imports = []
    for imp in module.imports:
        ftype = imp.type
        assert isinstance(ftype, wasmtime.FuncType)
        imports.append(wasmtime.Func(store, ftype, (stubs or {})[(imp.module, imp.name)]))
    return store, wasmtime.Instance(store, module, imports)


def call(binary: bytes, name: str, *args: Any) -> Any:
    store, instance = instantiate(binary)
    return instance.exports(store)[name](store, *args)


def single(params: tuple[str, ...], results: tuple[str, ...], body: list[tuple],
           locals: list[str] | None = None, memory: bool = False) -> bytes:
    """A module with one exported function "f"."""
    m = Module()
    if memory:
        m.set_memory(1, 1)
    m.export_func("f", m.add_func("test.f", params, results, locals or [], body))
    return m.encode()


def sections(binary: bytes) -> list[tuple[int, bytes]]:
    """Split a module into (section id, payload): a decoder independent of the encoder."""
    assert binary[:8] == b"\x00asm\x01\x00\x00\x00"
    pos, out = 8, []
    while pos < len(binary):
        sid = binary[pos]
        size, pos = decode_uleb(binary, pos + 1)
        out.append((sid, binary[pos:pos + size]))
        pos += size
    return out


def decode_uleb(data: bytes, pos: int = 0) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, pos


def decode_sleb(data: bytes) -> int:
    result = shift = 0
    for i, byte in enumerate(data):
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            assert i == len(data) - 1, "bytes after the last LEB128 byte"
            if byte & 0x40:
                result -= 1 << shift
            return result
    raise AssertionError("unterminated LEB128")


# --- LEB128 -------------------------------------------------------------------------------

@pytest.mark.parametrize("value, encoded", [
    (0, "00"), (63, "3f"), (64, "40"), (127, "7f"), (128, "8001"),
    (624485, "e58e26"),            # the classic worked example
    (2**32 - 1, "ffffffff0f"),
])
def test_uleb128_known_values(value: int, encoded: str) -> None:
    assert uleb128(value).hex() == encoded


@pytest.mark.parametrize("value, encoded", [
    (0, "00"), (63, "3f"),
    (64, "c000"),                  # bit 6 set would read as negative: needs a second byte
    (-64, "40"), (-65, "bf7f"), (-1, "7f"),
    (-123456, "c0bb78"),           # the classic worked example
    (2**31 - 1, "ffffffff07"), (-2**31, "8080808078"),
    (2**63 - 1, "ff" * 9 + "00"), (-2**63, "80" * 9 + "7f"),
])
def test_sleb128_known_values(value: int, encoded: str) -> None:
    assert sleb128(value).hex() == encoded


def test_uleb128_rejects_negative() -> None:
    with pytest.raises(WasmEncodeError):
        uleb128(-1)


@pytest.mark.parametrize("value, bits, signed", [
    (0xFFFFFFFF, 32, -1), (0x80000000, 32, -2**31), (2**31 - 1, 32, 2**31 - 1),
    (-2**31, 32, -2**31), (2**64 - 1, 64, -1), (2**63, 64, -2**63), (-5, 64, -5),
])
def test_to_signed_normalises_both_ranges(value: int, bits: int, signed: int) -> None:
    assert to_signed(value, bits) == signed


@pytest.mark.parametrize("value, bits", [(2**32, 32), (-2**31 - 1, 32), (2**64, 64), (1.5, 32)])
def test_to_signed_rejects_out_of_range(value: Any, bits: int) -> None:
    with pytest.raises(WasmEncodeError):
        to_signed(value, bits)


@given(st.integers(min_value=0, max_value=2**64))
def test_uleb128_round_trip(value: int) -> None:
    encoded = uleb128(value)
    assert decode_uleb(encoded) == (value, len(encoded))
    assert len(encoded) == max(1, math.ceil(value.bit_length() / 7))


@given(st.integers(min_value=-2**63, max_value=2**63 - 1))
def test_sleb128_round_trip(value: int) -> None:
    encoded = sleb128(value)
    assert decode_sleb(encoded) == value
    assert len(encoded) <= 10
    # Minimal: one byte fewer would not hold the value's two's complement bits (magnitude
    # bits of the value, or of its complement when negative, plus the sign bit).
    magnitude = value if value >= 0 else ~value
    assert len(encoded) == max(1, math.ceil((magnitude.bit_length() + 1) / 7))


@given(st.integers(min_value=-2**31, max_value=2**32 - 1))
def test_i32_const_runs_as_its_signed_value(value: int) -> None:
    binary = single((), ("i32",), [("i32.const", value)])
    expected = value - 2**32 if value >= 2**31 else value
    assert call(binary, "f") == expected


# --- running small modules ----------------------------------------------------------------

def test_add() -> None:
    binary = single(("i32", "i32"), ("i32",),
                    [("local.get", 0), ("local.get", 1), ("i32.add",)])
    assert call(binary, "f", 2, 40) == 42
    assert call(binary, "f", 2**31 - 1, 1) == -2**31  # wraps


def test_loop_sums_one_to_n() -> None:
    # acc = 0; i = 1; while i <= n { acc += i; i += 1 }
    body = [
        ("i32.const", 1), ("local.set", 2),
        ("block", None), ("loop", None),
        ("local.get", 2), ("local.get", 0), ("i32.gt_s",), ("br_if", 1),
        ("local.get", 1), ("local.get", 2), ("i64.extend_i32_s",), ("i64.add",), ("local.set", 1),
        ("local.get", 2), ("i32.const", 1), ("i32.add",), ("local.set", 2),
        ("br", 0),
        ("end",), ("end",),
        ("local.get", 1),
    ]
    binary = single(("i32",), ("i64",), body, locals=["i64", "i32"])
    assert call(binary, "f", 100) == 5050
    assert call(binary, "f", 100_000) == 100_000 * 100_001 // 2
    assert call(binary, "f", 0) == 0


def test_if_else_with_result() -> None:
    body = [("local.get", 0), ("i32.const", 0), ("i32.lt_s",),
            ("if", "i32"), ("i32.const", 0), ("local.get", 0), ("i32.sub",),
            ("else",), ("local.get", 0), ("end",)]
    binary = single(("i32",), ("i32",), body)
    assert [call(binary, "f", x) for x in (-7, 0, 9)] == [7, 0, 9]


def test_br_table_switch() -> None:
    # block $d block $c block $b  (br_table $b $c [default $d] x)  end ->10  end ->20  end ->30
    body = [("block", None), ("block", None), ("block", None),
            ("local.get", 0), ("br_table", [0, 1], 2),
            ("end",), ("i32.const", 10), ("return",),
            ("end",), ("i32.const", 20), ("return",),
            ("end",), ("i32.const", 30)]
    binary = single(("i32",), ("i32",), body)
    assert [call(binary, "f", x) for x in (0, 1, 2, 99, -1)] == [10, 20, 30, 30, 30]


def test_memory_store_load_and_widths() -> None:
    body = [("i32.const", 16), ("i32.const", 0x1234_80FF), ("i32.store", 2, 0),
            ("i32.const", 16), ("i32.load8_s", 0, 0),          # 0xFF -> -1
            ("i32.const", 12), ("i32.load8_u", 0, 5),          # byte 17 = 0x80 -> 128
            ("i32.add",),
            ("i32.const", 0), ("i32.load16_s", 1, 16),         # 0x80FF -> -32513
            ("i32.add",)]
    binary = single((), ("i32",), body, memory=True)
    assert call(binary, "f") == -1 + 128 - 32513


def test_memory_i64_f64_round_trip() -> None:
    body = [("i32.const", 8), ("i64.const", -2**63), ("i64.store", 3, 0),
            ("i32.const", 16), ("f64.const", -2.5), ("f64.store", 3, 0),
            ("i32.const", 8), ("i64.load", 3, 0), ("i64.const", 1), ("i64.sub",),  # wraps
            ("i32.const", 16), ("f64.load", 3, 0), ("i64.trunc_f64_s",), ("i64.add",)]
    binary = single((), ("i64",), body, memory=True)
    assert call(binary, "f") == 2**63 - 1 - 2


def test_bulk_memory_copy_and_fill_with_data_segment() -> None:
    m = Module()
    m.set_memory(1, 1)
    m.add_data(8, b"hello")
    body = [("i32.const", 100), ("i32.const", 8), ("i32.const", 5), ("memory.copy",),
            ("i32.const", 105), ("i32.const", ord("!")), ("i32.const", 3), ("memory.fill",)]
    m.export_func("run", m.add_func("test.run", (), (), [], body))
    store, instance = instantiate(m.encode())
    instance.exports(store)["run"](store)
    memory = instance.exports(store)["memory"]
    assert isinstance(memory, wasmtime.Memory)
    assert memory.read(store, 8, 13) == b"hello"
    assert memory.read(store, 100, 109) == b"hello!!!\x00"
    assert memory.size(store) == 1


def test_memory_size_and_export_name() -> None:
    m = Module()
    m.set_memory(2, 3, export="mem")
    m.export_func("f", m.add_func("test.f", (), ("i32",), [], [("memory.size",)]))
    store, instance = instantiate(m.encode())
    assert instance.exports(store)["f"](store) == 2
    assert "memory" not in instance.exports(store)
    assert isinstance(instance.exports(store)["mem"], wasmtime.Memory)


def test_globals() -> None:
    m = Module()
    counter = m.add_global("i32", True, 40)
    big = m.add_global("i64", False, -2**63)
    half = m.add_global("f64", False, 0.5)
    single_prec = m.add_global("f32", True, 1.25)
    m.export_func("bump", m.add_func("test.bump", (), ("i32",), [], [
        ("global.get", counter), ("i32.const", 1), ("i32.add",), ("global.set", counter),
        ("global.get", counter)]))
    m.export_func("big", m.add_func("test.big", (), ("i64",), [], [("global.get", big)]))
    m.export_func("floats", m.add_func("test.floats", (), ("f64",), [], [
        ("global.get", half), ("global.get", single_prec), ("f64.promote_f32",), ("f64.add",)]))
    store, instance = instantiate(m.encode())
    exports = instance.exports(store)
    assert [exports["bump"](store) for _ in range(2)] == [41, 42]
    assert exports["big"](store) == -2**63
    assert exports["floats"](store) == 1.75


def test_imports_are_called_with_arguments_and_results() -> None:
    seen: list[tuple[int, int]] = []
    m = Module()
    write = m.import_func("syn", "write", ("i32", "i32"), (), "syn.write")
    double = m.import_func("syn", "double", ("i64",), ("i64",), "syn.double")
    body = [("i32.const", 3), ("i32.const", 4), ("call", write),
            ("i64.const", 21), ("call", double)]
    m.export_func("main", m.add_func("main.main", (), ("i64",), [], body))
    store, instance = instantiate(m.encode(), {
        ("syn", "write"): lambda ptr, length: seen.append((ptr, length)),
        ("syn", "double"): lambda v: v * 2,
    })
    assert instance.exports(store)["main"](store) == 42
    assert seen == [(3, 4)]


def test_function_indices_count_imports_and_reserve_allows_forward_calls() -> None:
    m = Module()
    m.import_func("syn", "nop", (), (), "syn.nop")
    first = m.reserve_func("main.first", (), ("i32",))
    second = m.add_func("main.second", (), ("i32",), [], [("i32.const", 7)])
    assert (first, second) == (1, 2)
    m.set_func_body(first, [], [("call", second), ("i32.const", 1), ("i32.add",)])
    m.export_func("first", first)
    store, instance = instantiate(m.encode(), {("syn", "nop"): lambda: None})
    assert instance.exports(store)["first"](store) == 8


def test_recursion() -> None:
    m = Module()
    fib = m.reserve_func("main.fib", ("i32",), ("i32",))
    m.set_func_body(fib, [], [
        ("local.get", 0), ("i32.const", 2), ("i32.lt_s",),
        ("if", "i32"), ("local.get", 0),
        ("else",),
        ("local.get", 0), ("i32.const", 1), ("i32.sub",), ("call", fib),
        ("local.get", 0), ("i32.const", 2), ("i32.sub",), ("call", fib), ("i32.add",),
        ("end",)])
    m.export_func("fib", fib)
    assert call(m.encode(), "fib", 20) == 6765


# --- constants, conversions, extensions ---------------------------------------------------

def test_float_consts() -> None:
    assert call(single((), ("f32",), [("f32.const", 1.5)]), "f") == 1.5
    assert call(single((), ("f64",), [("f64.const", 0.1)]), "f") == 0.1
    # 0.1 rounded to binary32 is 13421773 * 2**-27
    assert call(single((), ("f32",), [("f32.const", 0.1)]), "f") == 13421773 * 2.0**-27
    # Finite values beyond the f32 range round to infinity.
    assert call(single((), ("f32",), [("f32.const", -1e300)]), "f") == -math.inf
    assert call(single((), ("f32",), [("f32.const", 7)]), "f") == 7.0  # ints accepted


def test_const_bits_preserve_nan_payloads() -> None:
    bits64 = 0x7FF0_0000_0000_0123  # a signalling NaN
    body = [("f64.const_bits", bits64), ("i64.reinterpret_f64",)]
    assert call(single((), ("i64",), body), "f") == bits64
    bits32 = 0xFFC0_0042
    body = [("f32.const_bits", bits32), ("i32.reinterpret_f32",)]
    assert call(single((), ("i32",), body), "f") == to_signed(bits32, 32)


def test_encoded_float_bytes_are_little_endian_ieee() -> None:
    binary = single((), ("f64",), [("f64.const", 1.0)])
    assert bytes([wasm.F64_CONST]) + struct.pack("<d", 1.0) in binary
    assert bytes.fromhex("44000000000000f03f") in binary  # 1.0 = 0x3FF0000000000000


def test_sign_extension_and_saturating_truncation() -> None:
    assert call(single((), ("i32",), [("i32.const", 0x80), ("i32.extend8_s",)]), "f") == -128
    assert call(single((), ("i64",), [("i64.const", 0xFFFF_FFFF), ("i64.extend32_s",)]),
                "f") == -1
    sat = single(("f64",), ("i32",), [("local.get", 0), ("i32.trunc_sat_f64_s",)])
    assert [call(sat, "f", x) for x in (math.nan, 1e10, -1e10, -3.9)] == [
        0, 2**31 - 1, -2**31, -3]
    sat_u = single(("f32",), ("i64",), [("local.get", 0), ("i64.trunc_sat_f32_u",)])
    assert [call(sat_u, "f", x) for x in (-5.0, 1e30)] == [0, -1]  # 2**64 - 1 as signed


def test_trapping_truncation_traps() -> None:
    binary = single(("f64",), ("i32",), [("local.get", 0), ("i32.trunc_f64_s",)])
    with pytest.raises(wasmtime.Trap, match="invalid conversion to integer"):
        call(binary, "f", math.nan)


# --- opcode tables against wasmtime's assembler -------------------------------------------

_SAMPLE_IMMEDIATES: dict[str, tuple[tuple, str]] = {
    "block": (("block", "i32"), "block (result i32)"),
    "loop": (("loop", "f64"), "loop (result f64)"),
    "if": (("if", None), "if"),
    "br": (("br", 0), "br 0"),
    "br_if": (("br_if", 0), "br_if 0"),
    "br_table": (("br_table", [0, 0, 0], 0), "br_table 0 0 0 0"),
    "call": (("call", 0), "call 0"),
    "local.get": (("local.get", 1), "local.get 1"),
    "local.set": (("local.set", 1), "local.set 1"),
    "local.tee": (("local.tee", 1), "local.tee 1"),
    "global.get": (("global.get", 0), "global.get 0"),
    "global.set": (("global.set", 0), "global.set 0"),
    "i32.const": (("i32.const", -123456), "i32.const -123456"),
    "i64.const": (("i64.const", 2**63 - 1), "i64.const 9223372036854775807"),
    "f32.const": (("f32.const", 0.5), "f32.const 0.5"),
    "f64.const": (("f64.const", -2.25), "f64.const -2.25"),
}
_STRUCTURAL = {"else", "end"}


@pytest.mark.parametrize("name", sorted(n for n in wasm.OPCODES if n not in _STRUCTURAL))
def test_every_opcode_matches_wat2wasm(name: str) -> None:
    """Each instruction after `unreachable` (so any operand types validate) encodes exactly as
    wasmtime's assembler encodes the same text."""
    if name in _SAMPLE_IMMEDIATES:
        instr, text = _SAMPLE_IMMEDIATES[name]
    elif name in wasm.MEMARG_NATURAL_ALIGN:
        instr, text = (name, 0, 1234), f"{name} offset=1234 align=1"
    else:
        instr, text = (name,), name
    closes = name in ("block", "loop", "if")
    m = Module()
    m.set_memory(1, 1, export=None)
    m.add_global("i32", True, 0)
    # The trailing `unreachable` discards whatever the instruction left on the stack.
    body = [("unreachable",), instr, ("unreachable",)] + (
        [("end",), ("unreachable",)] if closes else [])
    m.add_func("f", (), (), ["i32", "i32"], body)
    tail = "end unreachable" if closes else ""
    wat_text = (f"(module (memory 1 1) (global (mut i32) (i32.const 0)) "
                f"(func (local i32 i32) unreachable {text} unreachable {tail}))")
    ours = [s for s in sections(m.encode()) if s[0] != 0]
    theirs = [s for s in sections(wasmtime.wat2wasm(wat_text)) if s[0] != 0]
    assert ours == theirs
    wasmtime.Module.validate(wasmtime.Engine(), m.encode())


def test_opcode_constants_spot_checks() -> None:
    # Values from the binary format chapter of the Wasm specification.
    assert (wasm.I32_ADD, wasm.I64_ADD, wasm.F32_ADD, wasm.F64_ADD) == (0x6A, 0x7C, 0x92, 0xA0)
    assert (wasm.UNREACHABLE, wasm.END, wasm.CALL, wasm.LOCAL_GET) == (0x00, 0x0B, 0x10, 0x20)
    assert (wasm.I32_LOAD, wasm.I64_STORE32, wasm.I32_CONST, wasm.F64_CONST) == (
        0x28, 0x3E, 0x41, 0x44)
    assert wasm.OPCODES["i32.add"] == b"\x6a"
    assert wasm.OPCODES["memory.copy"] == b"\xfc\x0a"
    assert wasm.OPCODES["memory.fill"] == b"\xfc\x0b"
    assert wasm.OPCODES["i64.trunc_sat_f64_u"] == b"\xfc\x07"
    assert wasm.OPCODES["i64.extend32_s"] == b"\xc4"
    assert len(wasm.OPCODES) == 186


# --- module structure ---------------------------------------------------------------------

def build_sample() -> Module:
    m = Module()
    m.import_func("syn", "write", ("i32", "i32"), (), "syn.write")
    m.import_func("syn", "write_i64", ("i64",), (), "syn.write_i64")
    m.set_memory(1, 1)
    m.add_global("i32", True, 1024)
    main = m.add_func("main.main", (), (), ["i32"], [("i32.const", 8), ("i32.const", 2),
                                                       ("call", 0)])
    m.add_func("main.helper", ("i32", "i32"), (), [], [])
    m.add_data(8, b"hi")
    m.export_func("main", main)
    return m


def test_encoding_is_deterministic() -> None:
    assert build_sample().encode() == build_sample().encode()
    m = build_sample()
    assert m.encode() == m.encode()


def test_types_are_deduplicated_in_first_use_order() -> None:
    m = build_sample()
    assert [(t.params, t.results) for t in m.types] == [
        (("i32", "i32"), ()), (("i64",), ()), ((), ())]


def test_sections_in_binary_format_order() -> None:
    ids = [sid for sid, _ in sections(build_sample().encode())]
    assert ids == [1, 2, 3, 5, 6, 7, 10, 11, 0]
    # An empty module still has a type section and a name section.
    assert [sid for sid, _ in sections(Module().encode())] == [1, 0]


def test_exports_keep_insertion_order() -> None:
    m = Module()
    f = m.add_func("a.f", (), (), [], [])
    m.export_func("zeta", f)
    m.set_memory(1, 1)
    m.export_func("alpha", f)
    module = wasmtime.Module(wasmtime.Engine(), m.encode())
    assert [e.name for e in module.exports] == ["zeta", "memory", "alpha"]


def test_name_section_lists_every_function() -> None:
    custom = [payload for sid, payload in sections(build_sample().encode()) if sid == 0]
    assert len(custom) == 1
    payload = custom[0]
    assert payload.startswith(b"\x04name\x01")
    for name in (b"syn.write", b"syn.write_i64", b"main.main", b"main.helper"):
        assert bytes([len(name)]) + name in payload


def test_trap_frame_shows_debug_name() -> None:
    m = Module()
    boom = m.add_func("main.boom", (), (), [], [("unreachable",)])
    m.export_func("main", m.add_func("main.main", (), (), [], [("call", boom)]))
    store, instance = instantiate(m.encode())
    with pytest.raises(wasmtime.Trap) as info:
        instance.exports(store)["main"](store)
    frames = info.value.frames
    assert [f.func_name for f in frames[:2]] == ["main.boom", "main.main"]


# --- structural errors are compiler bugs, reported in Python ------------------------------

@pytest.mark.parametrize("body, message", [
    ([("end",)], "without an open block"),
    ([("block", None)], "not closed"),
    ([("else",)], "outside an `if`"),
    ([("if", None), ("else",), ("else",), ("end",)], "second `else`"),
    ([("i32.bogus",)], "unknown instruction"),
    ([("br", 1)], "branch depth"),
    ([("block", None), ("br_table", [0, 2], 0), ("end",)], "branch depth"),
    ([("local.get", 1)], "local index"),
    ([("call", 5)], "function index"),
    ([("global.get", 0)], "global index"),
    ([("i32.const",)], "immediate"),
    ([("i32.const", 2**32)], "out of range"),
    ([("i32.add", 1)], "immediate"),
    ([("block", "v128"), ("end",)], "block type"),
    ("i32.add", "tuple"),
    ([("f32.const_bits", 2**32)], "raw bits"),
])
def test_malformed_bodies_raise(body: Any, message: str) -> None:
    m = Module()
    m.add_func("bad.f", ("i32",), (), [], list(body))
    with pytest.raises(WasmEncodeError, match=message):
        m.encode()


def test_memory_instructions_need_a_memory() -> None:
    m = Module()
    m.add_func("bad.f", (), ("i32",), [], [("i32.const", 0), ("i32.load", 2, 0)])
    with pytest.raises(WasmEncodeError, match="without memory"):
        m.encode()


def test_alignment_above_natural_is_rejected() -> None:
    m = Module()
    m.set_memory(1, 1)
    m.add_func("bad.f", (), ("i32",), [], [("i32.const", 0), ("i32.load8_u", 1, 0)])
    with pytest.raises(WasmEncodeError, match="alignment"):
        m.encode()


def test_global_set_of_immutable_global_is_rejected() -> None:
    m = Module()
    m.add_global("i32", False, 0)
    m.add_func("bad.f", (), (), [], [("i32.const", 1), ("global.set", 0)])
    with pytest.raises(WasmEncodeError, match="immutable"):
        m.encode()


def test_module_level_misuse_raises() -> None:
    m = Module()
    m.add_func("a.f", (), (), [], [])
    with pytest.raises(WasmEncodeError, match="after a defined function"):
        m.import_func("syn", "write", (), (), "syn.write")
    with pytest.raises(WasmEncodeError, match="duplicate export"):
        m.export_func("f", 0)
        m.export_func("f", 0)
    with pytest.raises(WasmEncodeError, match="unknown value type"):
        m.add_func("a.g", ("i8",), (), [], [])
    with pytest.raises(WasmEncodeError, match="unknown function"):
        m.export_func("g", 9)
    reserved = Module()
    reserved.reserve_func("a.later", (), ())
    with pytest.raises(WasmEncodeError, match="no body"):
        reserved.encode()
    data_only = Module()
    data_only.add_data(8, b"x")
    with pytest.raises(WasmEncodeError, match="without a memory"):
        data_only.encode()

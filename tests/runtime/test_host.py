"""Host imports of module "syn": number formatting, guest memory access, trap messages."""

from __future__ import annotations

import math
import struct
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, strategies as st

from synapse.runtime.host import (
    HOST_FUNCTIONS, HostContext, HostTrap, format_f32, format_f64, trap_message,
)


def f32(x: float) -> float:
    """Round a Python float to the nearest binary32 value (independently of host.py)."""
    return float(np.float32(x))


# -- f64: Python repr rules ------------------------------------------------------------------

@pytest.mark.parametrize("value, text", [
    (1.0, "1.0"),
    (0.1, "0.1"),
    (1e100, "1e+100"),
    (-0.0, "-0.0"),
    (1e16, "1e+16"),
    (1e15, "1000000000000000.0"),
    (0.0001, "0.0001"),
    (0.00001, "1e-05"),
    (float("inf"), "inf"),
    (float("-inf"), "-inf"),
    (float("nan"), "nan"),
    (-float("nan"), "nan"),
    (2.5e-3, "0.0025"),
])
def test_format_f64(value: float, text: str) -> None:
    assert format_f64(value) == text


# -- f32: shortest round-trip digits in repr style --------------------------------------------

@pytest.mark.parametrize("value, text", [
    (1.5, "1.5"),
    (0.1, "0.1"),                   # f32(0.1) = 0.100000001490116...: "0.1" reads back the same
    (16777217.0, "16777216.0"),     # 2**24 + 1 is not a binary32 value: it rounds to 2**24
    (1e20, "1e+20"),
    (1.0, "1.0"),
    (-0.0, "-0.0"),
    (1 / 3, "0.33333334"),          # 0.3333333 reads back as a different f32 (7 digits short)
    (3.4028234663852886e38, "3.4028235e+38"),   # largest finite binary32
    (2.0 ** -149, "1e-45"),         # smallest subnormal
    (float("inf"), "inf"),
    (float("-inf"), "-inf"),
    (float("nan"), "nan"),
])
def test_format_f32(value: float, text: str) -> None:
    assert format_f32(f32(value)) == text


def test_format_f32_digit_count_is_minimal() -> None:
    # 0.33333334 has 8 significant digits; check by hand that no 7-digit decimal round-trips.
    x = f32(1 / 3)
    assert all(f32(float(f"0.{d:07d}")) != x for d in range(3333330, 3333340))


@given(st.integers(min_value=0, max_value=0x7F7FFFFF), st.booleans())
def test_format_f32_matches_numpy_shortest(bits: int, negative: bool) -> None:
    # Oracle: numpy's Dragon4 "unique" mode gives the shortest correctly rounded digits.
    value = struct.unpack("<f", struct.pack("<I", bits | (0x80000000 if negative else 0)))[0]
    ours = format_f32(value)
    assert f32(float(ours)) == value or (value == 0 and float(ours) == 0)
    theirs = np.format_float_scientific(np.float32(value), unique=True)
    assert Decimal(ours) == Decimal(theirs)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_format_f64_round_trips(value: float) -> None:
    assert float(format_f64(value)) == value
    assert math.copysign(1, float(format_f64(value))) == math.copysign(1, value)


# -- guest memory access ------------------------------------------------------------------------

def context_with(data: bytes, size: int = 64, **kw: object) -> HostContext:
    memory = bytearray(size)
    memory[8:8 + len(data)] = data
    return HostContext(memory=memoryview(memory), **kw)  # type: ignore[arg-type]


def guest_str(text: str) -> bytes:
    raw = text.encode()
    return len(raw).to_bytes(4, "little") + raw


def test_read_str() -> None:
    ctx = context_with(guest_str("héllo"))
    assert ctx.read_str(8) == "héllo"


@pytest.mark.parametrize("ptr", [-1, 61, 64, 1 << 31, 0xFFFF_FFFF])
def test_read_str_bad_pointer(ptr: int) -> None:
    ctx = context_with(b"")
    with pytest.raises(HostTrap, match="invalid pointer"):
        ctx.read_str(ptr)


def test_read_str_length_past_memory() -> None:
    ctx = context_with((1000).to_bytes(4, "little") + b"abc")
    with pytest.raises(HostTrap, match="invalid pointer"):
        ctx.read_str(8)


def test_read_str_negative_length() -> None:
    ctx = context_with((-5).to_bytes(4, "little", signed=True))
    with pytest.raises(HostTrap, match="invalid pointer"):
        ctx.read_str(8)


def test_write_bytes_bounds() -> None:
    ctx = context_with(b"", size=16)
    ctx.write_bytes(12, b"abcd")
    assert ctx.read_bytes(12, 4) == b"abcd"
    with pytest.raises(HostTrap, match="invalid pointer"):
        ctx.write_bytes(13, b"abcd")


def test_output_cap() -> None:
    ctx = HostContext(output_limit=10)
    ctx.emit(b"12345678")
    with pytest.raises(HostTrap) as info:
        ctx.emit(b"abcd")
    assert info.value.status == "exhausted" and info.value.exhausted == "output"
    assert bytes(ctx.output) == b"12345678ab"


# -- the import implementations ---------------------------------------------------------------

def call(ctx: HostContext, name: str, *args: object) -> object:
    return HOST_FUNCTIONS[name][2](ctx, *args)


def test_write_numbers() -> None:
    ctx = context_with(b"")
    call(ctx, "write_i64", -9223372036854775808)
    call(ctx, "write_f64", 0.1)
    call(ctx, "write_f32", f32(0.1))
    assert bytes(ctx.output) == b"-92233720368547758080.10.1"


def test_fmt_writes_into_memory() -> None:
    ctx = context_with(b"")
    n = call(ctx, "fmt_f64", 1e100, 16)
    assert n == 6 and ctx.read_bytes(16, 6) == b"1e+100"
    n = call(ctx, "fmt_f32", f32(16777217.0), 40)
    assert n == 10 and ctx.read_bytes(40, 10) == b"16777216.0"
    with pytest.raises(HostTrap, match="invalid pointer"):
        call(ctx, "fmt_f64", 0.1, 62)   # "0.1" does not fit in the last 2 bytes


def test_input() -> None:
    ctx = context_with(b"", input=b"xyz")
    assert call(ctx, "input_len") == 3
    call(ctx, "input_read", 20)
    assert ctx.read_bytes(20, 3) == b"xyz"


@pytest.mark.parametrize("kind, text, a, b, message, status", [
    (1, "requires failed: n >= 0 at main.syn:3:5", 0, 0,
     "requires failed: n >= 0 at main.syn:3:5", "trap"),
    (2, "main.syn:4:9", 5, 3, "index out of bounds: index 5, length 3 at main.syn:4:9", "trap"),
    (3, "", 100, 65000, "arena exhausted: requested 100 bytes with 65000 of 256 bytes in use",
     "exhausted"),
    (4, "boom", 0, 0, "panic: boom", "trap"),
    (5, "k", 0, 0, 'map key not found: "k"', "trap"),
    (6, "main.syn:7:3", 0, 0, "pop from empty vector at main.syn:7:3", "trap"),
    (99, "", 0, 0, "invalid trap kind 99", "trap"),
])
def test_trap_messages(kind: int, text: str, a: int, b: int, message: str, status: str) -> None:
    ctx = context_with(guest_str(text), size=256)
    trap = trap_message(ctx, kind, 8 if kind != 3 else 0, a, b)
    assert trap.message == message
    assert trap.status == status
    assert trap.exhausted == ("arena" if kind == 3 else None)


def test_whitelist_signatures() -> None:
    # The table is the ABI of LANGUAGE.md; a change here is a change to every compiled module.
    sigs = {name: (p, r) for name, (p, r, _) in HOST_FUNCTIONS.items()}
    assert sigs == {
        "input_len": ((), ("i32",)),
        "input_read": (("i32",), ()),
        "write": (("i32", "i32"), ()),
        "write_i64": (("i64",), ()),
        "write_f64": (("f64",), ()),
        "write_f32": (("f32",), ()),
        "fmt_f64": (("f64", "i32"), ("i32",)),
        "fmt_f32": (("f32", "i32"), ("i32",)),
        "trap": (("i32", "i32", "i64", "i64"), ()),
    }

"""WebAssembly module builder and binary encoder.

Place in the pipeline: `lower.py` builds a `Module` out of instruction tuples; `encode()` turns it
into the bytes that `runtime/sandbox.py` runs, `wat.py` prints for humans and `optimize.py` hands
to binaryen.

Instructions are tuples named after the Wasm text format: `("i32.const", 5)`,
`("i32.load", align_log2, offset)`, `("block", None)`, `("br_table", [0, 1], 2)`, `("end",)`.
Two pseudo-instructions, `("f32.const_bits", n)` and `("f64.const_bits", n)`, emit a float
constant from its raw IEEE bits so that NaN payloads survive.

What must stay true:
- the same sequence of calls gives the same bytes (types are numbered in first-use order, exports
  keep insertion order, nothing iterates over an unordered container);
- sections come in the order the binary format requires (type, import, function, memory, global,
  export, code, data, then the custom "name" section);
- malformed input from the lowering phase (an unknown instruction, unbalanced `end`, a branch out
  of range) raises `WasmEncodeError` here rather than producing bytes wasmtime rejects later:
  such an error is a compiler bug, not a user error.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from typing import Callable, Sequence

# --- value and block types ------------------------------------------------------------------

VALTYPES: dict[str, int] = {"i32": 0x7F, "i64": 0x7E, "f32": 0x7D, "f64": 0x7C}
BLOCKTYPE_EMPTY = 0x40
FUNCTYPE_TAG = 0x60

# --- section ids ----------------------------------------------------------------------------

SECTION_CUSTOM = 0
SECTION_TYPE = 1
SECTION_IMPORT = 2
SECTION_FUNCTION = 3
SECTION_MEMORY = 5
SECTION_GLOBAL = 6
SECTION_EXPORT = 7
SECTION_CODE = 10
SECTION_DATA = 11

EXTERNAL_FUNC = 0x00
EXTERNAL_MEMORY = 0x02

NAME_SUBSECTION_FUNCTIONS = 1

MAGIC = b"\x00asm"
VERSION = b"\x01\x00\x00\x00"

# --- opcodes: control -----------------------------------------------------------------------

UNREACHABLE = 0x00
NOP = 0x01
BLOCK = 0x02
LOOP = 0x03
IF = 0x04
ELSE = 0x05
END = 0x0B
BR = 0x0C
BR_IF = 0x0D
BR_TABLE = 0x0E
RETURN = 0x0F
CALL = 0x10

# --- opcodes: parametric and variable -------------------------------------------------------

DROP = 0x1A
SELECT = 0x1B
LOCAL_GET = 0x20
LOCAL_SET = 0x21
LOCAL_TEE = 0x22
GLOBAL_GET = 0x23
GLOBAL_SET = 0x24

# --- opcodes: memory ------------------------------------------------------------------------

I32_LOAD = 0x28
I64_LOAD = 0x29
F32_LOAD = 0x2A
F64_LOAD = 0x2B
I32_LOAD8_S = 0x2C
I32_LOAD8_U = 0x2D
I32_LOAD16_S = 0x2E
I32_LOAD16_U = 0x2F
I64_LOAD8_S = 0x30
I64_LOAD8_U = 0x31
I64_LOAD16_S = 0x32
I64_LOAD16_U = 0x33
I64_LOAD32_S = 0x34
I64_LOAD32_U = 0x35
I32_STORE = 0x36
I64_STORE = 0x37
F32_STORE = 0x38
F64_STORE = 0x39
I32_STORE8 = 0x3A
I32_STORE16 = 0x3B
I64_STORE8 = 0x3C
I64_STORE16 = 0x3D
I64_STORE32 = 0x3E
MEMORY_SIZE = 0x3F
MEMORY_GROW = 0x40

# --- opcodes: constants ---------------------------------------------------------------------

I32_CONST = 0x41
I64_CONST = 0x42
F32_CONST = 0x43
F64_CONST = 0x44

# --- opcodes: comparisons -------------------------------------------------------------------

I32_EQZ = 0x45
I32_EQ = 0x46
I32_NE = 0x47
I32_LT_S = 0x48
I32_LT_U = 0x49
I32_GT_S = 0x4A
I32_GT_U = 0x4B
I32_LE_S = 0x4C
I32_LE_U = 0x4D
I32_GE_S = 0x4E
I32_GE_U = 0x4F
I64_EQZ = 0x50
I64_EQ = 0x51
I64_NE = 0x52
I64_LT_S = 0x53
I64_LT_U = 0x54
I64_GT_S = 0x55
I64_GT_U = 0x56
I64_LE_S = 0x57
I64_LE_U = 0x58
I64_GE_S = 0x59
I64_GE_U = 0x5A
F32_EQ = 0x5B
F32_NE = 0x5C
F32_LT = 0x5D
F32_GT = 0x5E
F32_LE = 0x5F
F32_GE = 0x60
F64_EQ = 0x61
F64_NE = 0x62
F64_LT = 0x63
F64_GT = 0x64
F64_LE = 0x65
F64_GE = 0x66

# --- opcodes: integer arithmetic ------------------------------------------------------------

I32_CLZ = 0x67
I32_CTZ = 0x68
I32_POPCNT = 0x69
I32_ADD = 0x6A
I32_SUB = 0x6B
I32_MUL = 0x6C
I32_DIV_S = 0x6D
I32_DIV_U = 0x6E
I32_REM_S = 0x6F
I32_REM_U = 0x70
I32_AND = 0x71
I32_OR = 0x72
I32_XOR = 0x73
I32_SHL = 0x74
I32_SHR_S = 0x75
I32_SHR_U = 0x76
I32_ROTL = 0x77
I32_ROTR = 0x78
I64_CLZ = 0x79
I64_CTZ = 0x7A
I64_POPCNT = 0x7B
I64_ADD = 0x7C
I64_SUB = 0x7D
I64_MUL = 0x7E
I64_DIV_S = 0x7F
I64_DIV_U = 0x80
I64_REM_S = 0x81
I64_REM_U = 0x82
I64_AND = 0x83
I64_OR = 0x84
I64_XOR = 0x85
I64_SHL = 0x86
I64_SHR_S = 0x87
I64_SHR_U = 0x88
I64_ROTL = 0x89
I64_ROTR = 0x8A

# --- opcodes: float arithmetic --------------------------------------------------------------

F32_ABS = 0x8B
F32_NEG = 0x8C
F32_CEIL = 0x8D
F32_FLOOR = 0x8E
F32_TRUNC = 0x8F
F32_NEAREST = 0x90
F32_SQRT = 0x91
F32_ADD = 0x92
F32_SUB = 0x93
F32_MUL = 0x94
F32_DIV = 0x95
F32_MIN = 0x96
F32_MAX = 0x97
F32_COPYSIGN = 0x98
F64_ABS = 0x99
F64_NEG = 0x9A
F64_CEIL = 0x9B
F64_FLOOR = 0x9C
F64_TRUNC = 0x9D
F64_NEAREST = 0x9E
F64_SQRT = 0x9F
F64_ADD = 0xA0
F64_SUB = 0xA1
F64_MUL = 0xA2
F64_DIV = 0xA3
F64_MIN = 0xA4
F64_MAX = 0xA5
F64_COPYSIGN = 0xA6

# --- opcodes: conversions -------------------------------------------------------------------

I32_WRAP_I64 = 0xA7
I32_TRUNC_F32_S = 0xA8
I32_TRUNC_F32_U = 0xA9
I32_TRUNC_F64_S = 0xAA
I32_TRUNC_F64_U = 0xAB
I64_EXTEND_I32_S = 0xAC
I64_EXTEND_I32_U = 0xAD
I64_TRUNC_F32_S = 0xAE
I64_TRUNC_F32_U = 0xAF
I64_TRUNC_F64_S = 0xB0
I64_TRUNC_F64_U = 0xB1
F32_CONVERT_I32_S = 0xB2
F32_CONVERT_I32_U = 0xB3
F32_CONVERT_I64_S = 0xB4
F32_CONVERT_I64_U = 0xB5
F32_DEMOTE_F64 = 0xB6
F64_CONVERT_I32_S = 0xB7
F64_CONVERT_I32_U = 0xB8
F64_CONVERT_I64_S = 0xB9
F64_CONVERT_I64_U = 0xBA
F64_PROMOTE_F32 = 0xBB
I32_REINTERPRET_F32 = 0xBC
I64_REINTERPRET_F64 = 0xBD
F32_REINTERPRET_I32 = 0xBE
F64_REINTERPRET_I64 = 0xBF

# --- opcodes: sign extension ----------------------------------------------------------------

I32_EXTEND8_S = 0xC0
I32_EXTEND16_S = 0xC1
I64_EXTEND8_S = 0xC2
I64_EXTEND16_S = 0xC3
I64_EXTEND32_S = 0xC4

# --- opcodes behind the 0xFC prefix (values are the sub-opcodes) ----------------------------

PREFIX_FC = 0xFC
I32_TRUNC_SAT_F32_S = 0x00
I32_TRUNC_SAT_F32_U = 0x01
I32_TRUNC_SAT_F64_S = 0x02
I32_TRUNC_SAT_F64_U = 0x03
I64_TRUNC_SAT_F32_S = 0x04
I64_TRUNC_SAT_F32_U = 0x05
I64_TRUNC_SAT_F64_S = 0x06
I64_TRUNC_SAT_F64_U = 0x07
MEMORY_COPY = 0x0A
MEMORY_FILL = 0x0B

_FC_NAMES = {
    "i32.trunc_sat_f32_s", "i32.trunc_sat_f32_u", "i32.trunc_sat_f64_s", "i32.trunc_sat_f64_u",
    "i64.trunc_sat_f32_s", "i64.trunc_sat_f32_u", "i64.trunc_sat_f64_s", "i64.trunc_sat_f64_u",
    "memory.copy", "memory.fill",
}


def _constant_name(instr: str) -> str:
    return instr.replace(".", "_").upper()


def _opcode_table() -> dict[str, bytes]:
    """Instruction name -> encoded opcode bytes, derived from the constants above so the two
    can never disagree."""
    names = [
        "unreachable", "nop", "block", "loop", "if", "else", "end", "br", "br_if", "br_table",
        "return", "call", "drop", "select", "local.get", "local.set", "local.tee", "global.get",
        "global.set", "memory.size", "memory.grow", "i32.const", "i64.const", "f32.const",
        "f64.const",
    ]
    for ty in ("i32", "i64"):
        names += [f"{ty}.{op}" for op in (
            "eqz", "eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u",
            "clz", "ctz", "popcnt", "add", "sub", "mul", "div_s", "div_u", "rem_s", "rem_u",
            "and", "or", "xor", "shl", "shr_s", "shr_u", "rotl", "rotr")]
    for ty in ("f32", "f64"):
        names += [f"{ty}.{op}" for op in (
            "eq", "ne", "lt", "gt", "le", "ge", "abs", "neg", "ceil", "floor", "trunc",
            "nearest", "sqrt", "add", "sub", "mul", "div", "min", "max", "copysign")]
    names += list(MEMARG_NATURAL_ALIGN)
    names += [
        "i32.wrap_i64", "i32.trunc_f32_s", "i32.trunc_f32_u", "i32.trunc_f64_s",
        "i32.trunc_f64_u", "i64.extend_i32_s", "i64.extend_i32_u", "i64.trunc_f32_s",
        "i64.trunc_f32_u", "i64.trunc_f64_s", "i64.trunc_f64_u", "f32.convert_i32_s",
        "f32.convert_i32_u", "f32.convert_i64_s", "f32.convert_i64_u", "f32.demote_f64",
        "f64.convert_i32_s", "f64.convert_i32_u", "f64.convert_i64_s", "f64.convert_i64_u",
        "f64.promote_f32", "i32.reinterpret_f32", "i64.reinterpret_f64", "f32.reinterpret_i32",
        "f64.reinterpret_i64", "i32.extend8_s", "i32.extend16_s", "i64.extend8_s",
        "i64.extend16_s", "i64.extend32_s",
    ]
    names += sorted(_FC_NAMES)
    table: dict[str, bytes] = {}
    for name in names:
        value = globals()[_constant_name(name)]
        table[name] = bytes([PREFIX_FC]) + uleb128(value) if name in _FC_NAMES else bytes([value])
    return table


# Loads and stores: natural alignment as log2 of the access width in bytes. An immediate
# alignment above this is invalid Wasm.
MEMARG_NATURAL_ALIGN: dict[str, int] = {
    "i32.load": 2, "i64.load": 3, "f32.load": 2, "f64.load": 3,
    "i32.load8_s": 0, "i32.load8_u": 0, "i32.load16_s": 1, "i32.load16_u": 1,
    "i64.load8_s": 0, "i64.load8_u": 0, "i64.load16_s": 1, "i64.load16_u": 1,
    "i64.load32_s": 2, "i64.load32_u": 2,
    "i32.store": 2, "i64.store": 3, "f32.store": 2, "f64.store": 3,
    "i32.store8": 0, "i32.store16": 1, "i64.store8": 0, "i64.store16": 1, "i64.store32": 2,
}


class WasmEncodeError(Exception):
    """The lowering phase handed the encoder something that is not valid Wasm (a compiler bug)."""


# --- LEB128 and constants -------------------------------------------------------------------

def uleb128(value: int) -> bytes:
    """Unsigned LEB128: 7 bits a byte, low bits first, high bit set on all but the last byte."""
    if value < 0:
        raise WasmEncodeError(f"uleb128 of a negative number: {value}")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def sleb128(value: int) -> bytes:
    """Signed LEB128: stop once the remaining bits are all copies of the last byte's sign bit."""
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7  # arithmetic shift: Python ints keep their sign
        if (value == 0 and not byte & 0x40) or (value == -1 and byte & 0x40):
            out.append(byte)
            return bytes(out)
        out.append(byte | 0x80)


def to_signed(value: object, bits: int) -> int:
    """Accept an integer in the signed or the unsigned range of `bits` and return it as signed
    two's complement (the form the `i32.const`/`i64.const` immediates are encoded in)."""
    if not isinstance(value, int):  # bool is an int too: True encodes as 1
        raise WasmEncodeError(f"i{bits} constant must be an int, got {value!r}")
    if not -(1 << (bits - 1)) <= value < (1 << bits):
        raise WasmEncodeError(f"i{bits} constant out of range: {value}")
    return value - (1 << bits) if value >= (1 << (bits - 1)) else value


def f32_bytes(value: float) -> bytes:
    """Little-endian binary32 of a Python float, rounded to nearest (overflow gives infinity)."""
    try:
        return struct.pack("<f", value)
    except OverflowError:
        # struct refuses finite values that round past the largest f32; IEEE rounding says inf.
        return struct.pack("<f", math.copysign(math.inf, value))


def f64_bytes(value: float) -> bytes:
    return struct.pack("<d", value)


def name_bytes(text: str) -> bytes:
    """A Wasm `name`: length-prefixed UTF-8."""
    raw = text.encode("utf-8")
    return uleb128(len(raw)) + raw


def vector(items: Sequence[bytes]) -> bytes:
    return uleb128(len(items)) + b"".join(items)


def section(section_id: int, payload: bytes) -> bytes:
    return bytes([section_id]) + uleb128(len(payload)) + payload


# --- module contents ------------------------------------------------------------------------

@dataclass(frozen=True)
class FuncType:
    params: tuple[str, ...]
    results: tuple[str, ...]


@dataclass(frozen=True)
class Import:
    module: str
    name: str
    type_idx: int
    debug_name: str


@dataclass
class Func:
    debug_name: str
    type_idx: int
    locals: list[str] | None = None  # None while only reserved
    body: list[tuple] | None = None


@dataclass(frozen=True)
class Memory:
    min_pages: int
    max_pages: int | None
    export: str | None


@dataclass(frozen=True)
class Global:
    valtype: str
    mutable: bool
    init: int | float


@dataclass(frozen=True)
class DataSegment:
    offset: int
    data: bytes


@dataclass(frozen=True)
class Export:
    name: str
    kind: int  # EXTERNAL_FUNC or EXTERNAL_MEMORY
    index: int


def _check_valtype(valtype: str) -> str:
    if valtype not in VALTYPES:
        raise WasmEncodeError(f"unknown value type {valtype!r}")
    return valtype


@dataclass
class Module:
    """A Wasm module under construction. Function indices count imports first."""

    types: list[FuncType] = field(default_factory=list)
    imports: list[Import] = field(default_factory=list)
    funcs: list[Func] = field(default_factory=list)
    memory: Memory | None = None
    globals: list[Global] = field(default_factory=list)
    data: list[DataSegment] = field(default_factory=list)
    exports: list[Export] = field(default_factory=list)

    # --- building -------------------------------------------------------------------------

    def type_index(self, params: Sequence[str], results: Sequence[str]) -> int:
        """Index of a function type, adding it on first use (so numbering is first-use order)."""
        ftype = FuncType(tuple(map(_check_valtype, params)), tuple(map(_check_valtype, results)))
        if ftype in self.types:
            return self.types.index(ftype)
        self.types.append(ftype)
        return len(self.types) - 1

    def func_type(self, func_idx: int) -> FuncType:
        """The signature of any function, imported or defined."""
        if 0 <= func_idx < len(self.imports):
            return self.types[self.imports[func_idx].type_idx]
        return self.types[self._defined(func_idx).type_idx]

    def func_name(self, func_idx: int) -> str:
        if 0 <= func_idx < len(self.imports):
            return self.imports[func_idx].debug_name
        return self._defined(func_idx).debug_name

    @property
    def num_funcs(self) -> int:
        return len(self.imports) + len(self.funcs)

    def import_func(self, module: str, name: str, params: tuple[str, ...],
                    results: tuple[str, ...], debug_name: str) -> int:
        if self.funcs:
            # Imported functions take the low indices; adding one later would renumber calls.
            raise WasmEncodeError(f"import {module}.{name} added after a defined function")
        self.imports.append(Import(module, name, self.type_index(params, results), debug_name))
        return len(self.imports) - 1

    def reserve_func(self, debug_name: str, params: Sequence[str],
                     results: Sequence[str]) -> int:
        self.funcs.append(Func(debug_name, self.type_index(params, results)))
        return self.num_funcs - 1

    def set_func_body(self, idx: int, locals: list[str], body: list[tuple]) -> None:
        func = self._defined(idx)
        if func.body is not None:
            raise WasmEncodeError(f"function {func.debug_name} already has a body")
        func.locals = [_check_valtype(t) for t in locals]
        func.body = list(body)

    def add_func(self, debug_name: str, params: Sequence[str], results: Sequence[str],
                 locals: list[str], body: list[tuple]) -> int:
        idx = self.reserve_func(debug_name, params, results)
        self.set_func_body(idx, locals, body)
        return idx

    def set_memory(self, min_pages: int, max_pages: int | None,
                   export: str | None = "memory") -> None:
        if self.memory is not None:
            raise WasmEncodeError("memory already set")
        if min_pages < 0 or (max_pages is not None and max_pages < min_pages):
            raise WasmEncodeError(f"bad memory limits {min_pages}..{max_pages}")
        self.memory = Memory(min_pages, max_pages, export)
        if export is not None:
            self._add_export(Export(export, EXTERNAL_MEMORY, 0))

    def add_global(self, valtype: str, mutable: bool, init: int | float) -> int:
        self.globals.append(Global(_check_valtype(valtype), mutable, init))
        return len(self.globals) - 1

    def add_data(self, offset: int, data: bytes) -> None:
        if offset < 0:
            raise WasmEncodeError(f"negative data offset {offset}")
        self.data.append(DataSegment(offset, bytes(data)))

    def export_func(self, name: str, idx: int) -> None:
        if not 0 <= idx < self.num_funcs:
            raise WasmEncodeError(f"export {name!r} of unknown function {idx}")
        self._add_export(Export(name, EXTERNAL_FUNC, idx))

    def _add_export(self, export: Export) -> None:
        if any(e.name == export.name for e in self.exports):
            raise WasmEncodeError(f"duplicate export name {export.name!r}")
        self.exports.append(export)

    def _defined(self, func_idx: int) -> Func:
        local_idx = func_idx - len(self.imports)
        if not 0 <= local_idx < len(self.funcs):
            raise WasmEncodeError(f"no defined function with index {func_idx}")
        return self.funcs[local_idx]

    # --- encoding -------------------------------------------------------------------------

    def encode(self) -> bytes:
        parts = [MAGIC, VERSION]
        parts.append(section(SECTION_TYPE, vector([encode_functype(t) for t in self.types])))
        if self.imports:
            parts.append(section(SECTION_IMPORT, vector([encode_import(i) for i in self.imports])))
        if self.funcs:
            parts.append(section(SECTION_FUNCTION,
                                 vector([uleb128(f.type_idx) for f in self.funcs])))
        if self.memory is not None:
            parts.append(section(SECTION_MEMORY, vector([encode_limits(self.memory)])))
        if self.globals:
            parts.append(section(SECTION_GLOBAL, vector([encode_global(g) for g in self.globals])))
        if self.exports:
            parts.append(section(SECTION_EXPORT, vector([encode_export(e) for e in self.exports])))
        if self.funcs:
            bodies = [self._encode_func_body(idx) for idx in range(len(self.imports),
                                                                   self.num_funcs)]
            parts.append(section(SECTION_CODE, vector(bodies)))
        if self.data:
            if self.memory is None:
                raise WasmEncodeError("data segment without a memory")
            parts.append(section(SECTION_DATA, vector([encode_data(d) for d in self.data])))
        parts.append(self._encode_name_section())
        return b"".join(parts)

    def _encode_func_body(self, func_idx: int) -> bytes:
        func = self._defined(func_idx)
        if func.body is None or func.locals is None:
            raise WasmEncodeError(f"function {func.debug_name} was reserved but has no body")
        ftype = self.types[func.type_idx]
        ctx = _BodyContext(self, func.debug_name, len(ftype.params) + len(func.locals))
        code = encode_locals(func.locals) + ctx.encode(func.body)
        return uleb128(len(code)) + code

    def _encode_name_section(self) -> bytes:
        names = [uleb128(i) + name_bytes(self.func_name(i)) for i in range(self.num_funcs)]
        func_names = vector(names)
        payload = (name_bytes("name") + bytes([NAME_SUBSECTION_FUNCTIONS])
                   + uleb128(len(func_names)) + func_names)
        return section(SECTION_CUSTOM, payload)


# --- section entries ------------------------------------------------------------------------

def encode_functype(ftype: FuncType) -> bytes:
    return (bytes([FUNCTYPE_TAG]) + vector([bytes([VALTYPES[t]]) for t in ftype.params])
            + vector([bytes([VALTYPES[t]]) for t in ftype.results]))


def encode_import(imp: Import) -> bytes:
    return name_bytes(imp.module) + name_bytes(imp.name) + bytes([EXTERNAL_FUNC]) + uleb128(
        imp.type_idx)


def encode_limits(memory: Memory) -> bytes:
    if memory.max_pages is None:
        return b"\x00" + uleb128(memory.min_pages)
    return b"\x01" + uleb128(memory.min_pages) + uleb128(memory.max_pages)


def const_instr_bytes(valtype: str, value: int | float) -> bytes:
    """A constant instruction of the given type (used in global initialisers)."""
    if valtype == "i32":
        return bytes([I32_CONST]) + sleb128(to_signed(int(value), 32))
    if valtype == "i64":
        return bytes([I64_CONST]) + sleb128(to_signed(int(value), 64))
    if valtype == "f32":
        return bytes([F32_CONST]) + f32_bytes(float(value))
    return bytes([F64_CONST]) + f64_bytes(float(value))


def encode_global(glob: Global) -> bytes:
    if glob.valtype in ("i32", "i64") and not isinstance(glob.init, int):
        raise WasmEncodeError(f"{glob.valtype} global initialised with {glob.init!r}")
    return (bytes([VALTYPES[glob.valtype], 1 if glob.mutable else 0])
            + const_instr_bytes(glob.valtype, glob.init) + bytes([END]))


def encode_export(export: Export) -> bytes:
    return name_bytes(export.name) + bytes([export.kind]) + uleb128(export.index)


def encode_data(seg: DataSegment) -> bytes:
    # Flag 0: active segment in memory 0 with an offset expression.
    offset_expr = bytes([I32_CONST]) + sleb128(to_signed(seg.offset, 32)) + bytes([END])
    return b"\x00" + offset_expr + uleb128(len(seg.data)) + seg.data


def encode_locals(local_types: Sequence[str]) -> bytes:
    """Locals as (count, type) runs of consecutive equal types."""
    runs: list[tuple[int, str]] = []
    for t in local_types:
        if runs and runs[-1][1] == t:
            runs[-1] = (runs[-1][0] + 1, t)
        else:
            runs.append((1, t))
    return vector([uleb128(n) + bytes([VALTYPES[t]]) for n, t in runs])


# --- instructions ---------------------------------------------------------------------------

OPCODES: dict[str, bytes] = _opcode_table()

# Instruction names grouped by the immediates they take.
_NO_IMMEDIATE = frozenset(
    n for n in OPCODES
    if n not in MEMARG_NATURAL_ALIGN and n not in {
        "block", "loop", "if", "br", "br_if", "br_table", "call", "local.get", "local.set",
        "local.tee", "global.get", "global.set", "memory.size", "memory.grow", "memory.copy",
        "memory.fill", "i32.const", "i64.const", "f32.const", "f64.const"})
_MEMORY_INSTRS = frozenset(MEMARG_NATURAL_ALIGN) | {
    "memory.size", "memory.grow", "memory.copy", "memory.fill"}


class _BodyContext:
    """Encodes one function body while checking what is cheap to check: arity of each tuple,
    block nesting, branch depths and local/global/function indices."""

    def __init__(self, module: Module, func_name: str, num_locals: int) -> None:
        self.module = module
        self.func_name = func_name
        self.num_locals = num_locals
        # The opener of each open block; an `if` becomes "else" once its `else` is seen.
        self.blocks: list[str] = []

    def fail(self, pos: int, instr: tuple, why: str) -> WasmEncodeError:
        return WasmEncodeError(f"in {self.func_name}, instruction {pos} {instr!r}: {why}")

    def encode(self, body: Sequence[tuple]) -> bytes:
        out = bytearray()
        for pos, instr in enumerate(body):
            if not isinstance(instr, tuple) or not instr or not isinstance(instr[0], str):
                raise self.fail(pos, instr, "an instruction is a tuple starting with its name")
            out += self.encode_instr(pos, instr)
        if self.blocks:
            raise WasmEncodeError(f"in {self.func_name}: {len(self.blocks)} block(s) not closed "
                                  "with `end`")
        out.append(END)
        return bytes(out)

    def encode_instr(self, pos: int, instr: tuple) -> bytes:
        name, args = instr[0], instr[1:]

        def expect(count: int) -> None:
            if len(args) != count:
                raise self.fail(pos, instr, f"expects {count} immediate(s), got {len(args)}")

        def index(value: object, limit: int, what: str) -> bytes:
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < limit:
                raise self.fail(pos, instr, f"{what} index out of range (0..{limit - 1})")
            return uleb128(value)

        if name == "f32.const_bits" or name == "f64.const_bits":
            expect(1)
            width = 4 if name == "f32.const_bits" else 8
            bits = args[0]
            if not isinstance(bits, int) or not 0 <= bits < (1 << (8 * width)):
                raise self.fail(pos, instr, f"raw bits must fit in {8 * width} bits")
            return OPCODES[name[:9]] + bits.to_bytes(width, "little")
        if name not in OPCODES:
            raise self.fail(pos, instr, "unknown instruction")
        op = OPCODES[name]
        if name in _MEMORY_INSTRS and self.module.memory is None:
            raise self.fail(pos, instr, "memory instruction in a module without memory")
        if name in _NO_IMMEDIATE:
            expect(0)
            return op + self.track_structure(pos, instr)
        if name in ("block", "loop", "if"):
            expect(1)
            self.blocks.append(name)
            return op + blocktype_bytes(args[0], lambda why: self.fail(pos, instr, why))
        if name in ("br", "br_if"):
            expect(1)
            return op + self.label(pos, instr, args[0])
        if name == "br_table":
            expect(2)
            targets = args[0]
            if not isinstance(targets, (list, tuple)):
                raise self.fail(pos, instr, "br_table takes (list_of_depths, default)")
            return op + vector([self.label(pos, instr, d) for d in targets]) + self.label(
                pos, instr, args[1])
        if name == "call":
            expect(1)
            return op + index(args[0], self.module.num_funcs, "function")
        if name.startswith("local."):
            expect(1)
            return op + index(args[0], self.num_locals, "local")
        if name.startswith("global."):
            expect(1)
            encoded = index(args[0], len(self.module.globals), "global")
            if name == "global.set" and not self.module.globals[args[0]].mutable:
                raise self.fail(pos, instr, "global.set of an immutable global")
            return op + encoded
        if name in MEMARG_NATURAL_ALIGN:
            expect(2)
            align, offset = args
            if not isinstance(align, int) or not 0 <= align <= MEMARG_NATURAL_ALIGN[name]:
                raise self.fail(pos, instr, f"alignment 2**{align} above the natural "
                                            f"2**{MEMARG_NATURAL_ALIGN[name]}")
            if not isinstance(offset, int) or not 0 <= offset < (1 << 32):
                raise self.fail(pos, instr, "offset must be a u32")
            return op + uleb128(align) + uleb128(offset)
        if name in ("memory.size", "memory.grow", "memory.fill"):
            expect(0)
            return op + b"\x00"  # memory index 0
        if name == "memory.copy":
            expect(0)
            return op + b"\x00\x00"  # destination and source memory 0
        expect(1)
        return op + self.const_immediate(pos, instr, name, args[0])

    def const_immediate(self, pos: int, instr: tuple, name: str, value: object) -> bytes:
        if name in ("i32.const", "i64.const"):
            try:
                return sleb128(to_signed(value, 32 if name == "i32.const" else 64))
            except WasmEncodeError as err:
                raise self.fail(pos, instr, str(err)) from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(pos, instr, "float constant must be a float")
        return f32_bytes(float(value)) if name == "f32.const" else f64_bytes(float(value))

    def label(self, pos: int, instr: tuple, depth: object) -> bytes:
        # Depth len(self.blocks) is the function body's own label (a branch to it returns).
        if isinstance(depth, bool) or not isinstance(depth, int) or not 0 <= depth <= len(
                self.blocks):
            raise self.fail(pos, instr, f"branch depth {depth!r} outside the "
                                        f"{len(self.blocks) + 1} enclosing label(s)")
        return uleb128(depth)

    def track_structure(self, pos: int, instr: tuple) -> bytes:
        if instr[0] == "end":
            if not self.blocks:
                raise self.fail(pos, instr, "`end` without an open block (the encoder adds "
                                            "the function's final `end`)")
            self.blocks.pop()
        elif instr[0] == "else":
            if not self.blocks or self.blocks[-1] != "if":
                raise self.fail(pos, instr, "`else` outside an `if` (or a second `else`)")
            self.blocks[-1] = "else"
        return b""


def blocktype_bytes(bt: object, fail: Callable[[str], Exception]) -> bytes:
    if bt is None:
        return bytes([BLOCKTYPE_EMPTY])
    if isinstance(bt, str) and bt in VALTYPES:
        return bytes([VALTYPES[bt]])
    raise fail(f"block type must be None or a value type, got {bt!r}")

"""WebAssembly text printer for humans (`syn build --wat`).

Place in the pipeline: takes the `wasm.Module` that `lower.py` built (the same object `encode()`
turns into bytes) and prints it in the flat text format, one instruction per line, indented by
block depth, with `$names` taken from the functions' debug names.

What must stay true: the text is valid WAT that assembles (e.g. with `wasmtime.wat2wasm`) to a
module that behaves like `module.encode()`; when every debug name is a valid WAT identifier and
names are unique, the bytes are the same as well. Types, imports, functions, memory, globals,
exports and data are printed in index order so that text indices equal binary indices.
"""

from __future__ import annotations

import re
import struct

from synapse.compiler.wasm import (EXTERNAL_MEMORY, MEMARG_NATURAL_ALIGN, FuncType, Global,
                                   Module, f32_bytes)

INDENT = "  "

# WAT identifier characters (the `idchar` production of the text format).
_IDCHARS = re.compile(r"[0-9A-Za-z!#$%&'*+\-./:<=>?@\\^_`|~]+")


def to_wat(module: Module) -> str:
    names = function_identifiers(module)
    lines = ["(module"]
    for idx, ftype in enumerate(module.types):
        lines.append(f"{INDENT}(type (;{idx};) (func{signature_text(ftype)}))")
    for idx, imp in enumerate(module.imports):
        lines.append(f"{INDENT}(import {string_text(imp.module.encode())} "
                     f"{string_text(imp.name.encode())} (func {names[idx]} (type {imp.type_idx})"
                     f"{signature_text(module.types[imp.type_idx])}))")
    if module.memory is not None:
        limits = str(module.memory.min_pages)
        if module.memory.max_pages is not None:
            limits += f" {module.memory.max_pages}"
        lines.append(f"{INDENT}(memory (;0;) {limits})")
    for idx, glob in enumerate(module.globals):
        lines.append(f"{INDENT}(global (;{idx};) {global_type_text(glob)} "
                     f"({const_text(glob.valtype, glob.init)}))")
    for export in module.exports:
        target = "memory 0" if export.kind == EXTERNAL_MEMORY else f"func {names[export.index]}"
        lines.append(f"{INDENT}(export {string_text(export.name.encode())} ({target}))")
    for idx in range(len(module.imports), module.num_funcs):
        lines += func_lines(module, idx, names)
    for idx, seg in enumerate(module.data):
        lines.append(f"{INDENT}(data (;{idx};) (i32.const {seg.offset}) "
                     f"{string_text(seg.data)})")
    lines.append(")")
    return "\n".join(lines) + "\n"


def function_identifiers(module: Module) -> list[str]:
    """`$name` for every function: the debug name when it is a valid, unused identifier,
    otherwise a sanitised variant made unique with a numeric suffix."""
    used: set[str] = set()
    result = []
    for idx in range(module.num_funcs):
        base = module.func_name(idx)
        if not _IDCHARS.fullmatch(base):
            base = re.sub(r"[^0-9A-Za-z!#$%&'*+\-./:<=>?@\\^_`|~]", "_", base) or f"f{idx}"
        name, n = base, 1
        while name in used:
            name, n = f"{base}_{n}", n + 1
        used.add(name)
        result.append("$" + name)
    return result


def signature_text(ftype: FuncType) -> str:
    text = ""
    if ftype.params:
        text += " (param " + " ".join(ftype.params) + ")"
    if ftype.results:
        text += " (result " + " ".join(ftype.results) + ")"
    return text


def global_type_text(glob: Global) -> str:
    return f"(mut {glob.valtype})" if glob.mutable else glob.valtype


def string_text(data: bytes) -> str:
    """A WAT string literal: printable ASCII as is, everything else as `\\hh`."""
    out = []
    for byte in data:
        if 0x20 <= byte < 0x7F and byte not in (0x22, 0x5C):
            out.append(chr(byte))
        else:
            out.append(f"\\{byte:02x}")
    return '"' + "".join(out) + '"'


def const_text(valtype: str, value: int | float) -> str:
    if valtype in ("i32", "i64"):
        bits = 32 if valtype == "i32" else 64
        value = int(value)
        return f"{valtype}.const {value - (1 << bits) if value >= 1 << (bits - 1) else value}"
    if valtype == "f32":
        return "f32.const " + f32_bits_text(struct.unpack("<I", f32_bytes(float(value)))[0])
    return "f64.const " + f64_bits_text(struct.unpack("<Q", struct.pack("<d", float(value)))[0])


def f32_bits_text(bits: int) -> str:
    sign = "-" if bits >> 31 else ""
    exponent, mantissa = (bits >> 23) & 0xFF, bits & 0x7FFFFF
    if exponent == 0xFF:
        return f"{sign}nan:0x{mantissa:x}" if mantissa else f"{sign}inf"
    # Every f32 is exactly an f64, and hex floats are exact: the assembler rounds nothing.
    return struct.unpack("<f", bits.to_bytes(4, "little"))[0].hex()


def f64_bits_text(bits: int) -> str:
    sign = "-" if bits >> 63 else ""
    exponent, mantissa = (bits >> 52) & 0x7FF, bits & ((1 << 52) - 1)
    if exponent == 0x7FF:
        return f"{sign}nan:0x{mantissa:x}" if mantissa else f"{sign}inf"
    return struct.unpack("<d", bits.to_bytes(8, "little"))[0].hex()


def func_lines(module: Module, idx: int, names: list[str]) -> list[str]:
    func = module.funcs[idx - len(module.imports)]
    header = f"{INDENT}(func {names[idx]} (type {func.type_idx})"
    header += signature_text(module.types[func.type_idx])
    if func.locals:
        header += " (local " + " ".join(func.locals) + ")"
    lines = [header]
    depth = 2
    for instr in func.body or []:
        name = instr[0]
        if name in ("end", "else"):
            depth -= 1
        lines.append(INDENT * depth + instr_text(instr, names))
        if name in ("block", "loop", "if", "else"):
            depth += 1
    lines.append(f"{INDENT})")
    return lines


def instr_text(instr: tuple, names: list[str]) -> str:
    name, args = instr[0], instr[1:]
    if name in ("block", "loop", "if"):
        return name if args[0] is None else f"{name} (result {args[0]})"
    if name == "call":
        return f"call {names[args[0]]}"
    if name == "br_table":
        return "br_table " + " ".join(str(d) for d in [*args[0], args[1]])
    if name in MEMARG_NATURAL_ALIGN:
        align, offset = args
        return f"{name} offset={offset} align={1 << align}"
    if name in ("i32.const", "i64.const", "f32.const", "f64.const"):
        return const_text(name[:3], args[0])
    if name == "f32.const_bits":
        return "f32.const " + f32_bits_text(args[0])
    if name == "f64.const_bits":
        return "f64.const " + f64_bits_text(args[0])
    return " ".join([name, *(str(a) for a in args)])

"""Lowering: typed IR -> Wasm module (the phase between check.py and the encoder in wasm.py).

Takes the `ir.Program` the checker produced and builds a `wasm.Module` out of instruction tuples,
following LANGUAGE.md "Memory model and Wasm ABI":
- memory 0 of `arena_bytes` (min == max), exported "memory"; global 0 is the heap pointer;
- one data segment at offset 8 with every string literal ([len:i32][bytes], 4-aligned,
  deduplicated, first-use order) and one static cell ([tag:i32]) per nullary enum variant used;
- vectors and arrays are [len @0][cap @4][data @8]; structs and enum payloads use natural
  alignment; everything is allocated by bump allocation in `rt.alloc`, never freed;
- runtime errors the user can see (bounds, contracts, panics, arena exhaustion, empty pop) call
  the host's `syn.trap`; integer division and float->int conversion use Wasm's own traps.

Only what is reachable from the entry point and the exported functions is emitted. Function
bodies are lowered with symbolic call targets first, so that the set of imports (extern
functions plus the host functions the lowering itself calls) is known before any index is
assigned: imports take the low indices in first-reached order, then defined functions in
first-reached order. Everything is walked in list order, so the output is deterministic.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any, Callable

from . import ir
from .diagnostics import CompileError, Diagnostic, Span
from .wasm import Module

PAGE_SIZE = 65536
DATA_START = 8          # addresses 0..7 stay unused so that 0 can act as null
HEAP_GLOBAL = 0
HOST_MODULE = "syn"

# `syn.trap` kinds (LANGUAGE.md, "Host imports").
TRAP_CONTRACT = 1
TRAP_INDEX = 2
TRAP_ARENA = 3
TRAP_PANIC = 4
TRAP_EMPTY_POP = 6

# Signatures of the host functions the lowering calls by itself.
HOST_SIGNATURES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "write": (("i32", "i32"), ()),
    "write_i64": (("i64",), ()),
    "write_f64": (("f64",), ()),
    "write_f32": (("f32",), ()),
    "trap": (("i32", "i32", "i64", "i64"), ()),
}

# Functions the lowering generates itself (not written in `.syn`).
RT_ALLOC = "rt.alloc"
RT_VEC_PUSH_SLOT = "rt.vec_push_slot"
STR_EQ = "prelude.__str_eq"

SEQ_HEADER = 12          # [len][cap][data]
SEQ_LEN, SEQ_CAP, SEQ_DATA = 0, 4, 8
STR_BYTES = 4            # str: [len][bytes]

Instr = tuple
Code = list[Instr]


class LoweringError(Exception):
    """The IR asks for something the lowering cannot express: a compiler bug, not a user error."""


# --- types and memory layout -------------------------------------------------------------

def valtype(t: ir.Type) -> str | None:
    """The Wasm value type representing `t`; None for unit (no value)."""
    if isinstance(t, ir.Prim):
        if t.name == "unit":
            return None
        if t.name in ("i64", "f32", "f64"):
            return t.name
    return "i32"


def size_of(t: ir.Type) -> int:
    """Bytes a value of `t` takes inside a vector, array, struct or enum payload."""
    if t in (ir.U8, ir.BOOL):
        return 1
    if t in (ir.I64, ir.F64):
        return 8
    return 4


def load_instr(t: ir.Type, offset: int = 0) -> Instr:
    size = size_of(t)
    if size == 1:
        return ("i32.load8_u", 0, offset)
    vt = valtype(t)
    return (f"{vt}.load", 3 if size == 8 else 2, offset)


def store_instr(t: ir.Type, offset: int = 0) -> Instr:
    size = size_of(t)
    if size == 1:
        return ("i32.store8", 0, offset)
    vt = valtype(t)
    return (f"{vt}.store", 3 if size == 8 else 2, offset)


def shift_for_size(size: int) -> Code:
    """Multiply the i32 on the stack by an element size (1, 4 or 8)."""
    if size == 1:
        return []
    return [("i32.const", size.bit_length() - 1), ("i32.shl",)]


def field_offsets(types: list[ir.Type], start: int) -> tuple[list[int], int]:
    """Offsets of fields laid out in order, each aligned to its size; and the end offset."""
    offsets = []
    pos = start
    for t in types:
        size = size_of(t)
        pos = (pos + size - 1) // size * size
        offsets.append(pos)
        pos += size
    return offsets, pos


def elem_type(t: ir.Type) -> ir.Type:
    if isinstance(t, (ir.VecT, ir.ArrayT)):
        return t.elem
    if t == ir.STR:
        return ir.U8
    raise LoweringError(f"not a sequence type: {t}")


def f32_bits(value: float) -> int:
    try:
        return int.from_bytes(struct.pack("<f", value), "little")
    except OverflowError:  # beyond binary32's range: rounds to infinity
        return 0xFF800000 if value < 0 else 0x7F800000


def f64_bits(value: float) -> int:
    return int.from_bytes(struct.pack("<d", value), "little")


F64_NAN_BITS = 0x7FF8000000000000

# Float -> integer conversions: (comparison for the lower bound, lower bound, upper bound);
# valid iff `x <op> lower and x < upper`. Bounds are exact in the source float type.
FLOAT_TO_INT_RANGES: dict[tuple[str, str], tuple[str, float, float]] = {
    ("f64", "i32"): ("gt", -2.0**31 - 1, 2.0**31),
    ("f32", "i32"): ("ge", -2.0**31, 2.0**31),
    ("f64", "i64"): ("ge", -2.0**63, 2.0**63),
    ("f32", "i64"): ("ge", -2.0**63, 2.0**63),
    ("f64", "u8"): ("gt", -1.0, 256.0),
    ("f32", "u8"): ("gt", -1.0, 256.0),
}


# --- program-wide state ------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """A call target before indices exist: an import (module, name) or a defined function."""
    kind: str     # "import" or "func"
    name: str     # "syn.write" for imports, the qualified name for functions


class StaticData:
    """The data segment: string literals and nullary-variant cells, in first-use order."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.strings: dict[bytes, int] = {}
        self.cells: dict[tuple[str, int], int] = {}

    def _place(self, payload: bytes) -> int:
        while len(self.buffer) % 4:
            self.buffer.append(0)
        addr = DATA_START + len(self.buffer)
        self.buffer += payload
        return addr

    def string(self, value: bytes) -> int:
        addr = self.strings.get(value)
        if addr is None:
            addr = self._place(len(value).to_bytes(4, "little") + value)
            self.strings[value] = addr
        return addr

    def cell(self, enum: str, tag: int) -> int:
        addr = self.cells.get((enum, tag))
        if addr is None:
            addr = self._place(tag.to_bytes(4, "little"))
            self.cells[(enum, tag)] = addr
        return addr

    @property
    def end(self) -> int:
        return DATA_START + len(self.buffer)


class Layouts:
    """Field offsets of structs and enum variants, computed once per type."""

    def __init__(self, program: ir.Program) -> None:
        self.program = program
        self._structs: dict[str, tuple[list[int], int]] = {}
        self._variants: dict[tuple[str, int], tuple[list[int], int]] = {}

    def struct_def(self, name: str) -> ir.StructDef:
        if name not in self.program.structs:
            raise LoweringError(f"unknown struct {name}")
        return self.program.structs[name]

    def struct(self, name: str) -> tuple[list[int], int]:
        if name not in self._structs:
            types = [t for _, t in self.struct_def(name).fields]
            self._structs[name] = field_offsets(types, 0)
        return self._structs[name]

    def field_type(self, name: str, index: int) -> ir.Type:
        return self.struct_def(name).fields[index][1]

    def variant_def(self, enum: str, tag: int) -> ir.Variant:
        if enum not in self.program.enums:
            raise LoweringError(f"unknown enum {enum}")
        for v in self.program.enums[enum].variants:
            if v.tag == tag:
                return v
        raise LoweringError(f"enum {enum} has no variant with tag {tag}")

    def variant(self, enum: str, tag: int) -> tuple[list[int], int]:
        key = (enum, tag)
        if key not in self._variants:
            self._variants[key] = field_offsets(self.variant_def(enum, tag).fields, 4)
        return self._variants[key]


@dataclass
class ProgramLowerer:
    """Walks the reachable functions, collects imports, data and helpers, builds the module."""

    program: ir.Program
    check_ghosts: bool = False      # compile `ghost` clauses as checks (counterexample replays)
    data: StaticData = field(default_factory=StaticData)
    layouts: Layouts = field(init=False)
    imports: list[Target] = field(default_factory=list)
    import_sigs: dict[Target, tuple[tuple[str, ...], tuple[str, ...]]] = field(
        default_factory=dict)
    funcs: list[Target] = field(default_factory=list)
    bodies: dict[Target, tuple[list[str], list[str], list[str], Code]] = field(
        default_factory=dict)

    def __post_init__(self) -> None:
        self.layouts = Layouts(self.program)
        if self.program.arena_bytes % PAGE_SIZE or not 0 < self.program.arena_bytes < 1 << 32:
            raise LoweringError(f"arena size {self.program.arena_bytes} is not a whole number "
                                "of pages below 4 GiB")

    # -- reaching call targets --------------------------------------------------------------

    def function(self, name: str) -> ir.Function:
        func = self.program.functions.get(name)
        if func is None:
            raise LoweringError(f"call to unknown function {name}")
        return func

    def call_target(self, name: str) -> Target:
        """The target of a call to the `.syn` function `name`, marking it reached."""
        func = self.function(name)
        if func.extern_module is not None:
            ext_name = func.extern_name or name.rsplit(".", 1)[-1]
            sig = (tuple(_valtype_of_param(p) for p in func.params), _results(func.result))
            return self.import_target(func.extern_module, ext_name, sig)
        return self.func_target(name)

    def func_target(self, name: str) -> Target:
        target = Target("func", name)
        if target not in self.funcs:
            self.funcs.append(target)
        return target

    def import_target(self, module: str, name: str,
                      sig: tuple[tuple[str, ...], tuple[str, ...]]) -> Target:
        target = Target("import", f"{module}.{name}")
        known = self.import_sigs.get(target)
        if known is None:
            self.imports.append(target)
            self.import_sigs[target] = sig
        elif known != sig:
            raise LoweringError(f"import {target.name} declared with two signatures")
        return target

    def host(self, name: str) -> Target:
        return self.import_target(HOST_MODULE, name, HOST_SIGNATURES[name])

    # -- driving ------------------------------------------------------------------------------

    def roots(self) -> list[str]:
        names = []
        if self.program.entry is not None:
            names.append(self.program.entry)
        names += [n for n in self.program.exports if n not in names]
        return names

    def lower(self) -> Module:
        for name in self.roots():
            self.call_target(name)
        # `funcs` grows while bodies are lowered: a worklist in first-reached order.
        done = 0
        while done < len(self.funcs):
            target = self.funcs[done]
            done += 1
            self.bodies[target] = self.lower_target(target)
        return self.build_module()

    def lower_target(self, target: Target) -> tuple[list[str], list[str], list[str], Code]:
        if target.name == RT_ALLOC:
            return lower_rt_alloc(self)
        if target.name == RT_VEC_PUSH_SLOT:
            return lower_rt_vec_push_slot(self)
        func = self.function(target.name)
        if func.body is None:
            raise LoweringError(f"function {func.name} has no body")
        return FunctionLowerer(self, func).lower()

    def build_module(self) -> Module:
        module = Module()
        index: dict[Target, int] = {}
        for target in self.imports:
            import_params, import_results = self.import_sigs[target]
            mod, name = target.name.split(".", 1)
            index[target] = module.import_func(mod, name, import_params, import_results,
                                               target.name)
        for target in self.funcs:
            params, results, _, _ = self.bodies[target]
            index[target] = module.reserve_func(target.name, params, results)
        pages = self.program.arena_bytes // PAGE_SIZE
        module.set_memory(pages, pages, "memory")
        heap_base = (self.data.end + 7) // 8 * 8
        if heap_base > self.program.arena_bytes:
            raise CompileError([self.arena_too_small(self.data.end)])
        module.add_global("i32", True, heap_base)
        if self.data.buffer:
            module.add_data(DATA_START, bytes(self.data.buffer))
        for target in self.funcs:
            _, _, locals_, code = self.bodies[target]
            module.set_func_body(index[target], locals_, resolve_calls(code, index))
        self.add_exports(module, index)
        return module

    def arena_too_small(self, needed: int) -> Diagnostic:
        """The program's own string literals do not fit: no run could even start. Reported
        as an invalid arena size, at the start of the entry file (the size may have come
        from the default or a compiler option rather than a declaration)."""
        file = "<program>"
        for name in self.roots():
            span = self.function(name).span
            if span is not None:
                file = span.file
                break
        return Diagnostic("E0009", f"arena of {self.program.arena_bytes} bytes is too small "
                          f"for the program's {needed} bytes of static data",
                          Span.point(file, 1, 1))

    def add_exports(self, module: Module, index: dict[Target, int]) -> None:
        exported: set[str] = set()
        if self.program.entry is not None:
            module.export_func("main", index[self.call_target(self.program.entry)])
            exported.add("main")
        for name in self.program.exports:
            if name == self.program.entry:
                continue
            # Exported under the name without its module prefix; the qualified name when two
            # modules export the same short name.
            short = name.split(".", 1)[-1]
            export_name = name if short in exported else short
            module.export_func(export_name, index[self.call_target(name)])
            exported.add(export_name)


def _valtype_of_param(local: ir.Local) -> str:
    vt = valtype(local.type)
    if vt is None:
        raise LoweringError(f"parameter {local.name} has type unit")
    return vt


def _results(t: ir.Type) -> tuple[str, ...]:
    vt = valtype(t)
    return () if vt is None else (vt,)


def resolve_calls(code: Code, index: dict[Target, int]) -> Code:
    return [("call", index[ins[1]]) if ins[0] == "call" and isinstance(ins[1], Target) else ins
            for ins in code]


# --- runtime helpers written directly in Wasm --------------------------------------------

def lower_rt_alloc(pl: ProgramLowerer) -> tuple[list[str], list[str], list[str], Code]:
    """rt.alloc(n: i32) -> i32: bump allocation, 8-byte aligned; traps when the arena is full.

    `n` counts as unsigned, and is compared with the room left before rounding so that no
    addition can wrap."""
    n, hp = 0, 1
    trap = pl.host("trap")
    code: Code = [
        ("global.get", HEAP_GLOBAL), ("local.set", hp),
        ("local.get", n), ("i32.const", pl.program.arena_bytes), ("local.get", hp), ("i32.sub",),
        ("i32.gt_u",),
        ("if", None),
        ("i32.const", TRAP_ARENA), ("i32.const", 0),
        ("local.get", n), ("i64.extend_i32_u",), ("local.get", hp), ("i64.extend_i32_u",),
        ("call", trap), ("unreachable",),
        ("end",),
        ("local.get", hp),
        ("local.get", n), ("i32.const", 7), ("i32.add",), ("i32.const", -8), ("i32.and",),
        ("i32.add",), ("global.set", HEAP_GLOBAL),
        ("local.get", hp),
    ]
    return ["i32"], ["i32"], ["i32"], code


def lower_rt_vec_push_slot(pl: ProgramLowerer) -> tuple[list[str], list[str], list[str], Code]:
    """rt.vec_push_slot(v: i32, size: i32) -> i32: grows `v` when full (capacity doubles, at
    least 4), increments its length and returns the address of the new last element."""
    v, size, length, cap, data = 0, 1, 2, 3, 4
    alloc = pl.func_target(RT_ALLOC)
    code: Code = [
        ("local.get", v), ("i32.load", 2, SEQ_LEN), ("local.set", length),
        ("local.get", v), ("i32.load", 2, SEQ_CAP), ("local.set", cap),
        ("local.get", length), ("local.get", cap), ("i32.eq",),
        ("if", None),
        ("local.get", cap), ("i32.const", 1), ("i32.shl",), ("local.tee", cap),
        ("i32.const", 4), ("i32.lt_u",),
        ("if", None), ("i32.const", 4), ("local.set", cap), ("end",),
        ("local.get", cap), ("local.get", size), ("i32.mul",), ("call", alloc),
        ("local.tee", data),
        ("local.get", v), ("i32.load", 2, SEQ_DATA),
        ("local.get", length), ("local.get", size), ("i32.mul",),
        ("memory.copy",),
        ("local.get", v), ("local.get", data), ("i32.store", 2, SEQ_DATA),
        ("local.get", v), ("local.get", cap), ("i32.store", 2, SEQ_CAP),
        ("end",),
        ("local.get", v), ("local.get", length), ("i32.const", 1), ("i32.add",),
        ("i32.store", 2, SEQ_LEN),
        ("local.get", v), ("i32.load", 2, SEQ_DATA),
        ("local.get", length), ("local.get", size), ("i32.mul",), ("i32.add",),
    ]
    return ["i32", "i32"], ["i32"], ["i32", "i32", "i32"], code


# --- one function ----------------------------------------------------------------------------

@dataclass
class Loop:
    break_label: int       # positions in FunctionLowerer.labels
    continue_label: int


class FunctionLowerer:
    """Lowers one `.syn` function body to a flat instruction list.

    Keeps the open structured-control labels (to compute branch depths for break, continue
    and return) and a pool of scratch locals per value type."""

    def __init__(self, pl: ProgramLowerer, func: ir.Function) -> None:
        self.pl = pl
        self.func = func
        self.code: Code = []
        self.params = [_valtype_of_param(p) for p in func.params]
        self.local_types: list[str] = []          # Wasm locals after the parameters
        self.local_index: dict[int, int] = {}
        for pos, p in enumerate(func.params):
            self.local_index[p.index] = pos
        used = _locals_of_checked_code(func, pl.check_ghosts) if func.has_ghosts else None
        for local in func.locals:
            if local.index not in self.local_index and (used is None or local.index in used):
                self.wasm_local(local)
        self.free_scratch: dict[str, list[int]] = {}
        self.labels: list[str] = []
        self.loops: list[Loop] = []
        self.exit_label: int | None = None        # the ensures exit block, when there is one
        self.result_type = valtype(func.result)

    # -- locals -------------------------------------------------------------------------------

    def wasm_local(self, local: ir.Local) -> int:
        idx = self.local_index.get(local.index)
        if idx is None:
            idx = self.new_local(valtype(local.type) or "i32")
            self.local_index[local.index] = idx
        return idx

    def new_local(self, vt: str) -> int:
        self.local_types.append(vt)
        return len(self.params) + len(self.local_types) - 1

    def scratch(self, vt: str) -> int:
        pool = self.free_scratch.setdefault(vt, [])
        return pool.pop() if pool else self.new_local(vt)

    def release(self, vt: str, idx: int) -> None:
        self.free_scratch[vt].append(idx)

    # -- emitting -----------------------------------------------------------------------------

    def emit(self, *instrs: Instr) -> None:
        self.code.extend(instrs)

    def open(self, kind: str, bt: str | None) -> int:
        self.emit((kind, bt))
        self.labels.append(kind)
        return len(self.labels) - 1

    def close(self) -> None:
        self.emit(("end",))
        self.labels.pop()

    def depth(self, label: int) -> int:
        return len(self.labels) - 1 - label

    def call(self, target: Target) -> None:
        self.emit(("call", target))

    def string_addr(self, value: bytes) -> int:
        return self.pl.data.string(value)

    def trap(self, kind: int, msg: Code, a: Code | None = None, b: Code | None = None) -> None:
        """Call syn.trap(kind, msg, a, b), which never returns."""
        self.emit(("i32.const", kind), *msg)
        self.emit(*(a if a is not None else [("i64.const", 0)]))
        self.emit(*(b if b is not None else [("i64.const", 0)]))
        self.call(self.pl.host("trap"))
        self.emit(("unreachable",))

    # -- function structure -------------------------------------------------------------------

    def lower(self) -> tuple[list[str], list[str], list[str], Code]:
        func = self.func
        for contract in func.requires:
            self.lower_contract(contract)
        assert func.body is not None
        ensures = [c for c in func.ensures if self.checked(c)]
        if ensures:
            self.exit_label = self.open("block", self.result_type)
            self.lower_value(func.body, self.result_type)
            self.close()
            result = self.result_slot()
            if result is not None:
                self.emit(("local.set", result))
            for contract in ensures:
                self.lower_contract(contract)
            if result is not None:
                self.emit(("local.get", result))
        else:
            self.lower_value(func.body, self.result_type)
        return self.params, list(_results(func.result)), self.local_types, self.code

    def result_slot(self) -> int | None:
        if self.result_type is None:
            return None
        if self.func.result_local is not None:
            return self.wasm_local(self.func.result_local)
        return self.new_local(self.result_type)

    def checked(self, contract: ir.Contract) -> bool:
        """Whether the contract becomes a run-time check: a ghost clause compiles to nothing
        at all (its callees are not even reached), except in counterexample replays."""
        return not contract.ghost or self.pl.check_ghosts

    def lower_contract(self, contract: ir.Contract) -> None:
        if not self.checked(contract):
            return
        self.lower_value(contract.cond, "i32")
        self.emit(("i32.eqz",))
        self.open("if", None)
        self.trap(TRAP_CONTRACT, [("i32.const", self.string_addr(contract.message.encode()))])
        self.close()

    # -- expressions --------------------------------------------------------------------------

    def lower_value(self, expr: ir.Expr, want: str | None) -> None:
        """Lower `expr` so that it leaves exactly `want` on the stack (nothing when None).

        A value nobody wants is dropped; an expression without a value where one is wanted can
        only be one that never completes (return, break, panic), so `unreachable` stands in."""
        self.lower_expr(expr)
        got = valtype(expr.type)
        if got is not None and want is None:
            self.emit(("drop",))
        elif got is None and want is not None:
            self.emit(("unreachable",))

    def lower_expr(self, expr: ir.Expr) -> None:
        method = _DISPATCH.get(type(expr))
        if method is None:
            raise LoweringError(f"cannot lower {type(expr).__name__}")
        method(self, expr)

    def lower_int_const(self, e: ir.IntConst) -> None:
        if valtype(e.type) == "i64":
            self.emit(("i64.const", e.value))
        else:
            self.emit(("i32.const", e.value))

    def lower_float_const(self, e: ir.FloatConst) -> None:
        if e.type == ir.F32:
            self.emit(("f32.const_bits", f32_bits(e.value)))
        else:
            self.emit(("f64.const_bits", f64_bits(e.value)))

    def lower_bool_const(self, e: ir.BoolConst) -> None:
        self.emit(("i32.const", 1 if e.value else 0))

    def lower_str_const(self, e: ir.StrConst) -> None:
        self.emit(("i32.const", self.string_addr(e.value)))

    def lower_unit(self, e: ir.Unit) -> None:
        pass

    def lower_local_get(self, e: ir.LocalGet) -> None:
        if valtype(e.local.type) is not None:
            self.emit(("local.get", self.wasm_local(e.local)))

    def lower_let(self, e: ir.Let | ir.LocalSet) -> None:
        vt = valtype(e.local.type)
        self.lower_value(e.value, vt)
        if vt is not None:
            self.emit(("local.set", self.wasm_local(e.local)))

    lower_local_set = lower_let

    # -- arithmetic ---------------------------------------------------------------------------

    def lower_binary(self, e: ir.Binary) -> None:
        t = e.operand_type
        self.lower_value(e.left, valtype(t))
        if t == ir.U8 and e.op in ("shl", "shr"):
            self.lower_value(e.right, "i32")
            self.emit(("i32.const", 7), ("i32.and",))
        else:
            self.lower_value(e.right, valtype(t))
        self.emit(*binary_ops(e.op, t))

    def lower_unary(self, e: ir.Unary) -> None:
        t = e.operand.type
        vt = valtype(t)
        if e.op == "neg" and t in ir.FLOAT_TYPES:
            self.lower_value(e.operand, vt)
            self.emit((f"{vt}.neg",))
        elif e.op == "neg":
            self.emit((f"{vt}.const", 0))
            self.lower_value(e.operand, vt)
            self.emit((f"{vt}.sub",))
            if t == ir.U8:
                self.emit(("i32.const", 255), ("i32.and",))
        elif e.op in FLOAT_UNARY_OPS and t in ir.FLOAT_TYPES:
            self.lower_value(e.operand, vt)
            self.emit((f"{vt}.{e.op}",))
        elif e.op == "not":
            self.lower_value(e.operand, "i32")
            self.emit(("i32.eqz",))
        elif e.op == "bitnot":
            self.lower_value(e.operand, vt)
            self.emit((f"{vt}.const", 255 if t == ir.U8 else -1), (f"{vt}.xor",))
        else:
            raise LoweringError(f"unknown unary operator {e.op}")

    def lower_cast(self, e: ir.Cast) -> None:
        self.lower_value(e.operand, valtype(e.operand.type))
        self.emit(*self.cast_ops(e.operand.type, e.type))

    def cast_ops(self, src: ir.Type, dst: ir.Type) -> Code:
        if src == dst:
            return []
        if src == ir.BOOL:
            src = ir.U8  # 0 or 1: every integer conversion of u8 is right for it
        s, d = valtype(src), valtype(dst)
        if src in ir.FLOAT_TYPES and dst in ir.INTEGER_TYPES:
            return self.float_to_int_ops(src, dst)
        if src in ir.FLOAT_TYPES and dst in ir.FLOAT_TYPES:
            return [("f64.promote_f32",)] if dst == ir.F64 else [("f32.demote_f64",)]
        if src in ir.INTEGER_TYPES and dst in ir.FLOAT_TYPES:
            sign = "u" if src == ir.U8 else "s"
            return [(f"{d}.convert_{s}_{sign}",)]
        if src in ir.INTEGER_TYPES and dst in ir.INTEGER_TYPES:
            return int_cast_ops(src, dst)
        raise LoweringError(f"invalid cast {src} -> {dst}")

    def float_to_int_ops(self, src: ir.Type, dst: ir.Type) -> Code:
        """Truncate toward zero. NaN and values out of the target's range trap with Wasm's
        "invalid conversion to integer" (by converting a NaN), not "integer overflow" as a
        plain out-of-range `trunc` would, so that every bad conversion reads the same."""
        s = valtype(src)
        d = valtype(dst) if dst != ir.U8 else "u8"
        assert s is not None and d is not None  # a float and an integer: neither is unit
        lower_op, lower, upper = FLOAT_TO_INT_RANGES[(s, d)]
        tmp = self.scratch(s)
        self.release(s, tmp)  # used only inside this fixed sequence
        trunc = "i64.trunc_" if dst == ir.I64 else "i32.trunc_"
        return [
            ("local.tee", tmp), (f"{s}.const", lower), (f"{s}.{lower_op}",),
            ("local.get", tmp), (f"{s}.const", upper), (f"{s}.lt",),
            ("i32.and",), ("i32.eqz",),
            ("if", None), ("f64.const_bits", F64_NAN_BITS), ("i32.trunc_f64_s",), ("drop",),
            ("end",),
            ("local.get", tmp), (f"{trunc}{s}_s",),
        ]

    def lower_to_slot(self, e: ir.ToSlot) -> None:
        t = e.operand.type
        self.lower_value(e.operand, valtype(t))
        vt = valtype(t)
        if vt == "f64":
            self.emit(("i64.reinterpret_f64",))
        elif vt == "f32":
            self.emit(("i32.reinterpret_f32",), ("i64.extend_i32_u",))
        elif vt == "i32":
            self.emit(("i64.extend_i32_u",))
        elif vt is None:
            self.emit(("i64.const", 0))

    def lower_from_slot(self, e: ir.FromSlot) -> None:
        self.lower_value(e.operand, "i64")
        vt = valtype(e.type)
        if vt == "f64":
            self.emit(("f64.reinterpret_i64",))
        elif vt == "f32":
            self.emit(("i32.wrap_i64",), ("f32.reinterpret_i32",))
        elif vt == "i32":
            self.emit(("i32.wrap_i64",))
        elif vt is None:
            self.emit(("drop",))

    # -- calls --------------------------------------------------------------------------------

    def lower_call(self, e: ir.Call) -> None:
        func = self.pl.function(e.func)
        if len(func.params) != len(e.args):
            raise LoweringError(f"call to {e.func} with {len(e.args)} arguments")
        for arg, param in zip(e.args, func.params):
            self.lower_value(arg, valtype(param.type))
        self.call(self.pl.call_target(e.func))

    def lower_intrinsic(self, e: ir.Intrinsic) -> None:
        name = e.name
        for arg in e.args:
            self.lower_value(arg, valtype(arg.type))
        ops = INTRINSIC_OPS.get(name)
        if ops is not None:
            self.emit(*ops)
        elif name == "__alloc":
            self.call(self.pl.func_target(RT_ALLOC))
        elif name == "__heap_ptr":
            self.emit(("global.get", HEAP_GLOBAL))
        elif name == "__arena_size":
            self.emit(("i32.const", self.pl.program.arena_bytes))
        else:
            raise LoweringError(f"unknown intrinsic {name}")

    # -- control flow -------------------------------------------------------------------------

    def lower_if(self, e: ir.If) -> None:
        vt = valtype(e.type)
        self.lower_value(e.cond, "i32")
        self.open("if", vt)
        self.lower_value(e.then, vt)
        if e.else_ is not None:
            self.emit(("else",))
            self.lower_value(e.else_, vt)
        elif vt is not None:
            raise LoweringError("`if` with a value needs an `else`")
        self.close()

    def lower_block(self, e: ir.Block) -> None:
        for stmt in e.stmts:
            self.lower_value(stmt, None)
        vt = valtype(e.type)
        if e.value is not None:
            self.lower_value(e.value, vt)
        elif vt is not None:
            self.emit(("unreachable",))

    def lower_loop(self, cond: Callable[[], None] | None, before_body: Callable[[], None],
                   body: ir.Expr, step: Callable[[], None],
                   invariants: list[ir.Contract]) -> None:
        """The shape shared by all loops:

            invariants
            block $break
              loop $top
                <exit test: br_if $break>    (cond emits it)
                before_body
                block $continue  body  end
                step; invariants
                br $top
              end
            end
        """
        for inv in invariants:
            self.lower_contract(inv)
        brk = self.open("block", None)
        top = self.open("loop", None)
        if cond is not None:
            cond()
            self.emit(("br_if", self.depth(brk)))
        before_body()
        cont = self.open("block", None)
        self.loops.append(Loop(brk, cont))
        self.lower_value(body, None)
        self.loops.pop()
        self.close()
        step()
        for inv in invariants:
            self.lower_contract(inv)
        self.emit(("br", self.depth(top)))
        self.close()
        self.close()

    def lower_while(self, e: ir.While) -> None:
        def exit_test() -> None:
            self.lower_value(e.cond, "i32")
            self.emit(("i32.eqz",))
        self.lower_loop(exit_test, lambda: None, e.body, lambda: None, e.invariants)

    def lower_for_range(self, e: ir.ForRange) -> None:
        vt = valtype(e.var.type)
        var = self.wasm_local(e.var)
        end = self.wasm_local(e.end_local)
        self.lower_value(e.start, vt)
        self.emit(("local.set", var))
        self.lower_value(e.end, vt)
        self.emit(("local.set", end))

        def exit_test() -> None:
            self.emit(("local.get", var), ("local.get", end), (f"{vt}.ge_s",))

        def step() -> None:
            self.emit(("local.get", var), (f"{vt}.const", 1), (f"{vt}.add",), ("local.set", var))
        self.lower_loop(exit_test, lambda: None, e.body, step, e.invariants)

    def lower_for_each(self, e: ir.ForEach) -> None:
        seq = self.wasm_local(e.seq_local)
        idx = self.wasm_local(e.index_local)
        length = self.wasm_local(e.len_local)
        var = self.wasm_local(e.var)
        et = elem_type(e.seq.type)
        self.lower_value(e.seq, "i32")
        self.emit(("local.tee", seq), ("i32.load", 2, SEQ_LEN), ("local.set", length),
                  ("i32.const", 0), ("local.set", idx))

        def exit_test() -> None:
            self.emit(("local.get", idx), ("local.get", length), ("i32.ge_s",))

        def load_element() -> None:
            self.emit(("local.get", seq), ("i32.load", 2, SEQ_DATA), ("local.get", idx),
                      *shift_for_size(size_of(et)), ("i32.add",), load_instr(et),
                      ("local.set", var))

        def step() -> None:
            self.emit(("local.get", idx), ("i32.const", 1), ("i32.add",), ("local.set", idx))
        self.lower_loop(exit_test, load_element, e.body, step, e.invariants)

    def lower_break(self, e: ir.Break) -> None:
        if not self.loops:
            raise LoweringError("break outside a loop")
        self.emit(("br", self.depth(self.loops[-1].break_label)))

    def lower_continue(self, e: ir.Continue) -> None:
        if not self.loops:
            raise LoweringError("continue outside a loop")
        self.emit(("br", self.depth(self.loops[-1].continue_label)))

    def lower_return(self, e: ir.Return) -> None:
        if e.value is not None:
            self.lower_value(e.value, self.result_type)
        elif self.result_type is not None:
            raise LoweringError(f"return without a value in {self.func.name}")
        if self.exit_label is not None:
            self.emit(("br", self.depth(self.exit_label)))
        else:
            self.emit(("return",))

    def lower_check(self, e: ir.Check) -> None:
        self.lower_contract(e.contract)

    def lower_panic(self, e: ir.Panic) -> None:
        msg = self.scratch("i32")
        self.lower_value(e.message, "i32")
        self.emit(("local.set", msg))
        self.trap(TRAP_PANIC, [("local.get", msg)])
        self.release("i32", msg)

    # -- printing -----------------------------------------------------------------------------

    def lower_print(self, e: ir.Print) -> None:
        for arg in e.args:
            self.print_value(arg)
        if e.newline:
            self.write_static(b"\n")

    def write_static(self, text: bytes) -> None:
        addr = self.string_addr(text)
        self.emit(("i32.const", addr + STR_BYTES), ("i32.const", len(text)))
        self.call(self.pl.host("write"))

    def print_value(self, arg: ir.Expr) -> None:
        t = arg.type
        if isinstance(arg, ir.StrConst):
            self.write_static(arg.value)
        elif t == ir.STR:
            s = self.scratch("i32")
            self.lower_value(arg, "i32")
            self.emit(("local.tee", s), ("i32.const", STR_BYTES), ("i32.add",),
                      ("local.get", s), ("i32.load", 2, 0))
            self.call(self.pl.host("write"))
            self.release("i32", s)
        elif t == ir.BOOL:
            self.lower_value(arg, "i32")
            self.open("if", None)
            self.write_static(b"true")
            self.emit(("else",))
            self.write_static(b"false")
            self.close()
        elif t in (ir.I32, ir.U8):
            self.lower_value(arg, "i32")
            self.emit(("i64.extend_i32_s" if t == ir.I32 else "i64.extend_i32_u",))
            self.call(self.pl.host("write_i64"))
        elif t == ir.I64:
            self.lower_value(arg, "i64")
            self.call(self.pl.host("write_i64"))
        elif t == ir.F64:
            self.lower_value(arg, "f64")
            self.call(self.pl.host("write_f64"))
        elif t == ir.F32:
            self.lower_value(arg, "f32")
            self.call(self.pl.host("write_f32"))
        else:
            raise LoweringError(f"cannot print a value of type {t}")

    # -- sequences ----------------------------------------------------------------------------

    def lower_quantifier(self, e: ir.Forall) -> None:
        """`forall`/`exists` run as the loop they abbreviate: the first counterexample (or
        witness) stops it."""
        universal = not isinstance(e, ir.Exists)
        span = e.span
        res = e.result_local
        found = e.body if not universal else ir.Unary(ir.BOOL, span, "not", e.body)
        stop = ir.Block(ir.UNIT, span, [
            ir.LocalSet(ir.UNIT, span, res, ir.BoolConst(ir.BOOL, span, not universal)),
            ir.Break(ir.UNIT, span)], None)
        loop = ir.ForRange(ir.UNIT, span, e.var, e.start, e.end, e.end_local,
                           ir.If(ir.UNIT, span, found, stop, None), [])
        self.lower_expr(ir.Block(ir.BOOL, span, [
            ir.Let(ir.UNIT, span, res, ir.BoolConst(ir.BOOL, span, universal)), loop],
            ir.LocalGet(ir.BOOL, span, res)))

    def alloc_const(self, size: int) -> None:
        """Allocate `size` bytes; the address is left on the stack.

        The common case is inline (bump the heap pointer, compare with the arena's end), so
        allocation-heavy code pays no call; only a full arena goes to `rt.alloc`, which traps
        with the sizes involved. Sizes of 64 KiB or more always call it: below that, the
        addition cannot wrap, since the arena ends at least 64 KiB below 4 GiB."""
        rounded = (size + 7) & ~7
        if rounded >= 65536:
            self.emit(("i32.const", size))
            self.call(self.pl.func_target(RT_ALLOC))
            return
        p, q = self.scratch("i32"), self.scratch("i32")
        self.emit(("global.get", HEAP_GLOBAL), ("local.tee", p), ("i32.const", rounded),
                  ("i32.add",), ("local.tee", q), ("i32.const", self.pl.program.arena_bytes),
                  ("i32.gt_u",))
        self.open("if", "i32")
        self.emit(("i32.const", size))
        self.call(self.pl.func_target(RT_ALLOC))
        self.emit(("else",), ("local.get", q), ("global.set", HEAP_GLOBAL), ("local.get", p))
        self.close()
        self.release("i32", p)
        self.release("i32", q)

    def lower_vec_new(self, e: ir.VecNew) -> None:
        # Fresh arena memory is zero: len 0, cap 0, data 0 need no stores.
        self.alloc_const(SEQ_HEADER)

    def lower_array_lit(self, e: ir.ArrayLit) -> None:
        et = elem_type(e.type)
        size = size_of(et)
        n = len(e.elems)
        p = self.scratch("i32")
        self.alloc_const(SEQ_HEADER + n * size)
        self.emit(("local.tee", p), ("i32.const", n), ("i32.store", 2, SEQ_LEN),
                  ("local.get", p), ("i32.const", n), ("i32.store", 2, SEQ_CAP),
                  ("local.get", p), ("local.get", p), ("i32.const", SEQ_HEADER), ("i32.add",),
                  ("i32.store", 2, SEQ_DATA))
        for i, elem in enumerate(e.elems):
            self.emit(("local.get", p))
            self.lower_value(elem, valtype(et))
            self.emit(store_instr(et, SEQ_HEADER + i * size))
        self.emit(("local.get", p))
        self.release("i32", p)

    def lower_array_repeat(self, e: ir.ArrayRepeat) -> None:
        """[value; count] and Vec[T](count, value). A negative count gives an empty sequence;
        a count too large for the arena asks `rt.alloc` for more than there is (so it traps)."""
        et = elem_type(e.type)
        vt = valtype(et)
        assert vt is not None
        size = size_of(et)
        count, p, value, i = (self.scratch("i32"), self.scratch("i32"), self.scratch(vt),
                              self.scratch("i32"))
        limit = self.pl.program.arena_bytes // size + 1
        self.lower_value(e.count, "i32")
        self.emit(("local.tee", count), ("i32.const", 0), ("local.get", count),
                  ("i32.const", 0), ("i32.gt_s",), ("select",), ("local.set", count),
                  ("i32.const", limit), ("local.get", count), ("local.get", count),
                  ("i32.const", limit), ("i32.gt_u",), ("select",))
        self.emit(*shift_for_size(size), ("i32.const", SEQ_HEADER), ("i32.add",))
        self.call(self.pl.func_target(RT_ALLOC))
        self.emit(("local.tee", p), ("local.get", count), ("i32.store", 2, SEQ_LEN),
                  ("local.get", p), ("local.get", count), ("i32.store", 2, SEQ_CAP),
                  ("local.get", p), ("local.get", p), ("i32.const", SEQ_HEADER), ("i32.add",),
                  ("i32.store", 2, SEQ_DATA))
        self.lower_value(e.value, vt)
        if not is_zero_const(e.value):  # fresh memory is already zero
            self.emit(("local.set", value), ("i32.const", 0), ("local.set", i))
            brk = self.open("block", None)
            top = self.open("loop", None)
            self.emit(("local.get", i), ("local.get", count), ("i32.ge_s",),
                      ("br_if", self.depth(brk)),
                      ("local.get", p), ("local.get", i), *shift_for_size(size), ("i32.add",),
                      ("local.get", value), store_instr(et, SEQ_HEADER),
                      ("local.get", i), ("i32.const", 1), ("i32.add",), ("local.set", i),
                      ("br", self.depth(top)))
            self.close()
            self.close()
        else:
            self.emit(("drop",))
        self.emit(("local.get", p))
        for idx, t in ((count, "i32"), (p, "i32"), (value, vt), (i, "i32")):
            self.release(t, idx)

    def bounds_check(self, seq: int, idx: int, location: str) -> None:
        """Trap with kind 2 unless 0 <= idx < len (one unsigned comparison)."""
        self.emit(("local.get", idx), ("local.get", seq), ("i32.load", 2, SEQ_LEN),
                  ("i32.ge_u",))
        self.open("if", None)
        self.trap(TRAP_INDEX, [("i32.const", self.string_addr(location.encode()))],
                  [("local.get", idx), ("i64.extend_i32_s",)],
                  [("local.get", seq), ("i32.load", 2, SEQ_LEN), ("i64.extend_i32_s",)])
        self.close()

    def element_address(self, seq: int, idx: int, t: ir.Type) -> Code:
        """Instructions leaving the address of element `idx`; the load/store offset to use
        with it is returned by `element_offset`."""
        if t == ir.STR:
            return [("local.get", seq), ("local.get", idx), ("i32.add",)]
        return [("local.get", seq), ("i32.load", 2, SEQ_DATA), ("local.get", idx),
                *shift_for_size(size_of(elem_type(t))), ("i32.add",)]

    @staticmethod
    def element_offset(t: ir.Type) -> int:
        return STR_BYTES if t == ir.STR else 0

    def lower_index(self, e: ir.Index) -> None:
        st = e.seq.type
        seq, idx = self.scratch("i32"), self.scratch("i32")
        self.lower_value(e.seq, "i32")
        self.emit(("local.set", seq))
        self.lower_value(e.index, "i32")
        self.emit(("local.set", idx))
        self.bounds_check(seq, idx, e.location)
        self.emit(*self.element_address(seq, idx, st),
                  load_instr(elem_type(st), self.element_offset(st)))
        self.release("i32", seq)
        self.release("i32", idx)

    def lower_index_set(self, e: ir.IndexSet) -> None:
        """Operands left to right, then the bounds check, then the store; the data pointer is
        read last because evaluating the value may have grown the vector."""
        st = e.seq.type
        et = elem_type(st)
        vt = valtype(et)
        assert vt is not None
        seq, idx, value = self.scratch("i32"), self.scratch("i32"), self.scratch(vt)
        self.lower_value(e.seq, "i32")
        self.emit(("local.set", seq))
        self.lower_value(e.index, "i32")
        self.emit(("local.set", idx))
        self.lower_value(e.value, vt)
        self.emit(("local.set", value))
        self.bounds_check(seq, idx, e.location)
        self.emit(*self.element_address(seq, idx, st), ("local.get", value),
                  store_instr(et, self.element_offset(st)))
        self.release("i32", seq)
        self.release("i32", idx)
        self.release(vt, value)

    def lower_seq_method(self, e: ir.SeqMethod) -> None:
        method = {"len": self.seq_len, "push": self.seq_push, "pop": self.seq_pop,
                  "clear": self.seq_clear}.get(e.method)
        if method is None:
            raise LoweringError(f"unknown sequence method {e.method}")
        method(e)

    def seq_len(self, e: ir.SeqMethod) -> None:
        # Vectors, arrays and strings all keep their length at offset 0.
        self.lower_value(e.target, "i32")
        self.emit(("i32.load", 2, SEQ_LEN))

    def seq_push(self, e: ir.SeqMethod) -> None:
        et = elem_type(e.target.type)
        vt = valtype(et)
        assert vt is not None
        seq, value = self.scratch("i32"), self.scratch(vt)
        self.lower_value(e.target, "i32")
        self.emit(("local.set", seq))
        self.lower_value(e.args[0], vt)
        self.emit(("local.set", value), ("local.get", seq), ("i32.const", size_of(et)))
        self.call(self.pl.func_target(RT_VEC_PUSH_SLOT))
        self.emit(("local.get", value), store_instr(et))
        self.release("i32", seq)
        self.release(vt, value)

    def seq_pop(self, e: ir.SeqMethod) -> None:
        et = elem_type(e.target.type)
        seq, last = self.scratch("i32"), self.scratch("i32")
        self.lower_value(e.target, "i32")
        self.emit(("local.tee", seq), ("i32.load", 2, SEQ_LEN), ("i32.eqz",))
        self.open("if", None)
        self.trap(TRAP_EMPTY_POP, [("i32.const", self.string_addr(e.location.encode()))])
        self.close()
        self.emit(("local.get", seq), ("local.get", seq), ("i32.load", 2, SEQ_LEN),
                  ("i32.const", 1), ("i32.sub",), ("local.tee", last), ("i32.store", 2, SEQ_LEN),
                  *self.element_address(seq, last, e.target.type), load_instr(et))
        self.release("i32", seq)
        self.release("i32", last)

    def seq_clear(self, e: ir.SeqMethod) -> None:
        self.lower_value(e.target, "i32")
        self.emit(("i32.const", 0), ("i32.store", 2, SEQ_LEN))

    # -- structs and enums --------------------------------------------------------------------

    def lower_struct_new(self, e: ir.StructNew) -> None:
        offsets, size = self.pl.layouts.struct(e.struct)
        p = self.scratch("i32")
        self.alloc_const(max(size, 1))
        self.emit(("local.set", p))
        for index, value in e.fields:  # source order: evaluation is left to right
            ft = self.pl.layouts.field_type(e.struct, index)
            self.emit(("local.get", p))
            self.lower_value(value, valtype(ft))
            self.emit(store_instr(ft, offsets[index]))
        self.emit(("local.get", p))
        self.release("i32", p)

    def lower_field_get(self, e: ir.FieldGet) -> None:
        offsets, _ = self.pl.layouts.struct(e.struct)
        self.lower_value(e.obj, "i32")
        self.emit(load_instr(self.pl.layouts.field_type(e.struct, e.field_index),
                             offsets[e.field_index]))

    def lower_field_set(self, e: ir.FieldSet) -> None:
        offsets, _ = self.pl.layouts.struct(e.struct)
        ft = self.pl.layouts.field_type(e.struct, e.field_index)
        self.lower_value(e.obj, "i32")
        self.lower_value(e.value, valtype(ft))
        self.emit(store_instr(ft, offsets[e.field_index]))

    def lower_enum_new(self, e: ir.EnumNew) -> None:
        variant = self.pl.layouts.variant_def(e.enum, e.tag)
        if not variant.fields:
            self.emit(("i32.const", self.pl.data.cell(e.enum, e.tag)))
            return
        offsets, size = self.pl.layouts.variant(e.enum, e.tag)
        p = self.scratch("i32")
        self.alloc_const(size)
        self.emit(("local.tee", p), ("i32.const", e.tag), ("i32.store", 2, 0))
        for arg, ft, off in zip(e.args, variant.fields, offsets):
            self.emit(("local.get", p))
            self.lower_value(arg, valtype(ft))
            self.emit(store_instr(ft, off))
        self.emit(("local.get", p))
        self.release("i32", p)

    def lower_match(self, e: ir.Match) -> None:
        """block $match
             block $arm1  <tests: br_if $arm1 on failure>  <bindings>  body  br $match  end
             ...
             unreachable
           end"""
        vt = valtype(e.type)
        scrut = self.wasm_local(e.scrutinee_local)
        self.lower_value(e.scrutinee, valtype(e.scrutinee.type))
        if valtype(e.scrutinee.type) is not None:
            self.emit(("local.set", scrut))
        done = self.open("block", vt)
        for arm in e.arms:
            next_arm = self.open("block", None)
            binds: list[tuple[ir.Local, Code]] = []
            self.test_pattern(arm.pattern, e.scrutinee.type, [("local.get", scrut)],
                              next_arm, binds)
            for local, path in binds:
                self.emit(*path, ("local.set", self.wasm_local(local)))
            self.lower_value(arm.body, vt)
            self.emit(("br", self.depth(done)))
            self.close()
        self.emit(("unreachable",))
        self.close()

    def test_pattern(self, pat: ir.Pattern, t: ir.Type, path: Code, fail: int,
                     binds: list[tuple[ir.Local, Code]]) -> None:
        """Branch to label `fail` unless the value at `path` (instructions computing it)
        matches `pat`; collect the bindings to make once the whole pattern matched."""
        if isinstance(pat, ir.PWild):
            return
        if isinstance(pat, ir.PBind):
            binds.append((pat.local, path))
            return
        if isinstance(pat, ir.PLit):
            self.test_literal(pat.value, t, path, fail)
            return
        if isinstance(pat, ir.PVariant):
            self.emit(*path, ("i32.load", 2, 0), ("i32.const", pat.tag), ("i32.ne",),
                      ("br_if", self.depth(fail)))
            variant = self.pl.layouts.variant_def(pat.enum, pat.tag)
            offsets, _ = self.pl.layouts.variant(pat.enum, pat.tag)
            for sub, ft, off in zip(pat.fields, variant.fields, offsets):
                self.test_pattern(sub, ft, path + [load_instr(ft, off)], fail, binds)
            return
        raise LoweringError(f"unknown pattern {type(pat).__name__}")

    def test_literal(self, value: ir.Expr, t: ir.Type, path: Code, fail: int) -> None:
        if isinstance(value, ir.StrConst):
            self.emit(*path, ("i32.const", self.string_addr(value.value)))
            self.call(self.pl.call_target(STR_EQ))
            self.emit(("i32.eqz",))
        elif isinstance(value, (ir.IntConst, ir.BoolConst)):
            vt = valtype(t)
            const = int(value.value)
            self.emit(*path, (f"{vt}.const", const), (f"{vt}.ne",))
        else:
            raise LoweringError(f"literal pattern of kind {type(value).__name__}")
        self.emit(("br_if", self.depth(fail)))


def is_zero_const(e: ir.Expr) -> bool:
    """An all-zero-bits constant (positive zero for floats)."""
    if isinstance(e, (ir.IntConst, ir.BoolConst)):
        return int(e.value) == 0
    if isinstance(e, ir.FloatConst):
        return f64_bits(e.value) == 0
    return False


# --- operator tables -----------------------------------------------------------------------

_SIGNED_INT_OPS = {
    "add": "add", "sub": "sub", "mul": "mul", "div": "div_s", "rem": "rem_s", "and": "and",
    "or": "or", "xor": "xor", "shl": "shl", "shr": "shr_s", "eq": "eq", "ne": "ne",
    "lt": "lt_s", "le": "le_s", "gt": "gt_s", "ge": "ge_s",
}
_UNSIGNED_INT_OPS = dict(_SIGNED_INT_OPS, div="div_u", rem="rem_u", shr="shr_u", lt="lt_u",
                         le="le_u", gt="gt_u", ge="ge_u")
_FLOAT_OPS = {
    "add": "add", "sub": "sub", "mul": "mul", "div": "div", "eq": "eq", "ne": "ne",
    "lt": "lt", "le": "le", "gt": "gt", "ge": "ge",
    "min": "min", "max": "max", "copysign": "copysign",
}
# u8 results that can leave 0..255 and must be reduced mod 256.
_U8_WRAPPING = ("add", "sub", "mul", "shl")


# Float methods that are one instruction each (spec/10-builtins.md, 10.10).
FLOAT_UNARY_OPS = ("sqrt", "abs", "floor", "ceil", "trunc", "nearest")


def binary_ops(op: str, t: ir.Type) -> Code:
    vt = valtype(t)
    if t in ir.FLOAT_TYPES:
        table = _FLOAT_OPS
    elif t in (ir.U8, ir.BOOL):
        table = _UNSIGNED_INT_OPS
    else:
        table = _SIGNED_INT_OPS
    name = table.get(op)
    if name is None:
        raise LoweringError(f"operator {op} not defined on {t}")
    ops: Code = [(f"{vt}.{name}",)]
    if t == ir.U8 and op in _U8_WRAPPING:
        ops += [("i32.const", 255), ("i32.and",)]
    return ops


def int_cast_ops(src: ir.Type, dst: ir.Type) -> Code:
    if dst == ir.I64:
        return [("i64.extend_i32_u",)] if src == ir.U8 else [("i64.extend_i32_s",)]
    ops: Code = [("i32.wrap_i64",)] if src == ir.I64 else []
    if dst == ir.U8:
        ops += [("i32.const", 255), ("i32.and",)]
    return ops


INTRINSIC_OPS: dict[str, Code] = {
    "__load_u8": [("i32.load8_u", 0, 0)],
    "__store_u8": [("i32.store8", 0, 0)],
    "__load_i32": [("i32.load", 2, 0)],
    "__store_i32": [("i32.store", 2, 0)],
    "__load_i64": [("i64.load", 3, 0)],
    "__store_i64": [("i64.store", 3, 0)],
    "__load_f32": [("f32.load", 2, 0)],
    "__store_f32": [("f32.store", 2, 0)],
    "__load_f64": [("f64.load", 3, 0)],
    "__store_f64": [("f64.store", 3, 0)],
    "__memcpy": [("memory.copy",)],
    # Pointers and references share one representation: these only change the static type.
    "__addr": [],
    "__str_at": [],
    "__vec_at": [],
}


# Each handler takes the node class it is keyed by, which a dict's type cannot say.
_DISPATCH: dict[type, Callable[[FunctionLowerer, Any], None]] = {
    ir.IntConst: FunctionLowerer.lower_int_const,
    ir.FloatConst: FunctionLowerer.lower_float_const,
    ir.BoolConst: FunctionLowerer.lower_bool_const,
    ir.StrConst: FunctionLowerer.lower_str_const,
    ir.Unit: FunctionLowerer.lower_unit,
    ir.LocalGet: FunctionLowerer.lower_local_get,
    ir.Let: FunctionLowerer.lower_let,
    ir.LocalSet: FunctionLowerer.lower_local_set,
    ir.Binary: FunctionLowerer.lower_binary,
    ir.Unary: FunctionLowerer.lower_unary,
    ir.Cast: FunctionLowerer.lower_cast,
    ir.ToSlot: FunctionLowerer.lower_to_slot,
    ir.FromSlot: FunctionLowerer.lower_from_slot,
    ir.Call: FunctionLowerer.lower_call,
    ir.Intrinsic: FunctionLowerer.lower_intrinsic,
    ir.If: FunctionLowerer.lower_if,
    ir.Block: FunctionLowerer.lower_block,
    ir.While: FunctionLowerer.lower_while,
    ir.Forall: FunctionLowerer.lower_quantifier,
    ir.Exists: FunctionLowerer.lower_quantifier,
    ir.ForRange: FunctionLowerer.lower_for_range,
    ir.ForEach: FunctionLowerer.lower_for_each,
    ir.Break: FunctionLowerer.lower_break,
    ir.Continue: FunctionLowerer.lower_continue,
    ir.Return: FunctionLowerer.lower_return,
    ir.Check: FunctionLowerer.lower_check,
    ir.Print: FunctionLowerer.lower_print,
    ir.Panic: FunctionLowerer.lower_panic,
    ir.ArrayLit: FunctionLowerer.lower_array_lit,
    ir.ArrayRepeat: FunctionLowerer.lower_array_repeat,
    ir.VecNew: FunctionLowerer.lower_vec_new,
    ir.Index: FunctionLowerer.lower_index,
    ir.IndexSet: FunctionLowerer.lower_index_set,
    ir.SeqMethod: FunctionLowerer.lower_seq_method,
    ir.StructNew: FunctionLowerer.lower_struct_new,
    ir.FieldGet: FunctionLowerer.lower_field_get,
    ir.FieldSet: FunctionLowerer.lower_field_set,
    ir.EnumNew: FunctionLowerer.lower_enum_new,
    ir.Match: FunctionLowerer.lower_match,
}


def _locals_of_checked_code(func: ir.Function, check_ghosts: bool) -> set[int]:
    """The locals that code which is compiled mentions: a local that only a ghost clause
    uses (a quantifier's bound name, `result` of ghost `ensures`) gets no Wasm slot, so
    that ghost clauses change nothing in the module."""
    used: set[int] = set()
    stack: list[object] = [c for c in func.requires + func.ensures if check_ghosts or not c.ghost]
    stack.append(func.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ir.Local):
            used.add(node.index)
        elif isinstance(node, ir.Contract):
            if check_ghosts or not node.ghost:
                stack.append(node.cond)
        elif isinstance(node, (list, tuple)):
            stack.extend(node)
        elif isinstance(node, (ir.Expr, ir.Arm, ir.Pattern)):
            stack.extend(vars(node).values())
    return used


def lower_program(program: ir.Program, check_ghosts: bool = False) -> Module:
    """Lower a checked program to a Wasm module (see the module docstring for the layout)."""
    return ProgramLowerer(program, check_ghosts).lower()

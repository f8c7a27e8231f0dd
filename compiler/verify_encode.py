"""Symbolic execution of one function of the typed IR into Z3 proof obligations.

Part of the static verifier: verify.py calls `encode_function` for each function of the checked
program (`check_program` output) and hands every `Obligation` it returns to the solver. This
module and verify.py are the only ones that import z3.

The model (spec/11-verification.md states it for users):
- integers are bit-vectors of their width, with Wasm's wrap-around, signed division and
  remainder, and shift counts taken modulo the width; floats use Z3's IEEE 754 theory with
  round-to-nearest-even, as Wasm computes them;
- a reference (str, Vec, array, struct, enum, map) is a 32-bit address; the heap is a set of
  regions (verify_effects.py): `len:Vec[T]` maps a vector to its length, `data:S` maps a
  sequence to its elements (an array from i32 indices), `field:S.i` maps a struct to a field;
  strings and enums are immutable, so their length, bytes, tag and payloads are functions of
  the reference;
- execution follows every path: branches are merged with if-then-else terms, a failed check
  ends its path (so later code may assume it passed), loops are cut at their invariants
  (modified locals and written regions are havocked; see `exec_loop`), and calls are modular
  (prove `requires`, havoc what the callee may write, assume `ensures`), except that small
  loop-free functions without contracts are inlined (until the function has taken
  INLINE_STEPS steps: inlining multiplies), and calls of write-free functions are
  uninterpreted functions of their arguments and of the heap regions they read.
Budgets are counts, never time (spec 11.7): a function that takes more than MAX_STEPS steps
raises TooLarge, and its obligations are reported unknown.
Whatever is not modelled raises `Unsupported` or makes an obligation whose result is
"unknown"; nothing unmodelled is assumed to hold.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace
from collections.abc import Callable, Iterable

import z3

from . import ir
from .diagnostics import Span
from .lower import size_of
from .replay import MEASURE_TRAP
from .verify_loops import LoopEncoder
from .verify_terms import dag_size_at_most
from .verify_prelude import PRELUDE_SPECS
from .verify_state import (Event, Flow, Frame, Heap, LoopCtx, Obligation, State, TooLarge,
                           Unsupported, contract_text)
from .verify_effects import (ALL, MAP_REGION, PRELUDE_EFFECTS, Effects, decreases_of,
                             ghost_with_effects,
                             region_data, region_field, region_len, type_key, walk)

INT_BITS: dict[ir.Type, int] = {ir.I32: 32, ir.I64: 64, ir.U8: 8}
MAX_INLINE_NODES = 150
MAX_INLINE_DEPTH = 4
INLINE_STEPS = 2_000       # evaluation steps of a function after which calls are not inlined
MAX_STEPS = 100_000        # evaluation steps of a function after which it is not verified
STRING_LIMIT = 64          # string literals longer than this get length facts only
ATOM_NODES = 16            # a term larger than this is named before it goes under a binder
ARENA_LIMIT = 2**31 - 2**16  # bytes: every object lies in the arena, under 2048 MiB and a
                             # multiple of 64 KiB (spec 7.1)
STR_HEADER = 4             # a string's length field precedes its bytes (spec 7.4)

# float -> integer conversions that do not trap (lower.py FLOAT_TO_INT_RANGES)
FLOAT_TO_INT_RANGES: dict[tuple[str, ir.Type], tuple[str, float, float]] = {
    ("f64", ir.I32): ("gt", -2.0**31 - 1, 2.0**31),
    ("f32", ir.I32): ("ge", -2.0**31, 2.0**31),
    ("f64", ir.I64): ("ge", -2.0**63, 2.0**63),
    ("f32", ir.I64): ("ge", -2.0**63, 2.0**63),
    ("f64", ir.U8): ("gt", -1.0, 256.0),
    ("f32", ir.U8): ("gt", -1.0, 256.0),
}


_FLOAT_BINARY = ("add", "sub", "mul", "div", "eq", "ne", "lt", "le", "gt", "ge")




def arbitrary_region(term: z3.ExprRef) -> bool:
    """A region that is some whole heap's (a constant, or a choice between such), not one
    this function changed: facts true of every heap hold of it unconditionally."""
    if z3.is_const(term):
        return True
    if z3.is_app_of(term, z3.Z3_OP_ITE):
        return arbitrary_region(term.arg(1)) and arbitrary_region(term.arg(2))
    return False


def contract_free(fn: ir.Function) -> bool:
    return not fn.requires and not fn.ensures and not decreases_of(fn)


def inlinable(fn: ir.Function) -> bool:
    """Small loop-free functions without contracts are inlined at their calls (exact)."""
    if fn.body is None or fn.extern_module is not None or not contract_free(fn):
        return False
    if fn.name in PRELUDE_EFFECTS:
        return False
    count = 0
    for node in walk(fn.body):
        count += 1
        if count > MAX_INLINE_NODES or isinstance(node, (ir.While, ir.ForRange, ir.ForEach,
                                                         ir.Intrinsic)):
            return False
    return True


class FunctionEncoder(LoopEncoder):
    """Runs one function symbolically; `obligations` collects what must be proved."""

    def __init__(self, program: ir.Program, effects: dict[str, Effects],
                 groups: dict[str, frozenset[str]], fn: ir.Function, ctx: z3.Context):
        self.program = program
        self.effects = effects
        self.groups = groups
        self.fn = fn
        self.ctx = ctx
        self.obligations: list[Obligation] = []
        self.facts: list[z3.BoolRef] = []        # true in every execution (definitions)
        self.assume_depth = 0
        self.frames: list[Frame] = []
        self.loops: list[LoopCtx | None] = []
        self.local_types: dict[tuple[int, int], ir.Type] = {}
        self.local_names: dict[tuple[int, int], str] = {}
        self.region_sorts: dict[str, z3.SortRef] = {}
        self.epochs: list[list[tuple[z3.BoolRef, int]] | None] = [None]
        self._epoch_terms: dict[tuple[str, int], z3.ExprRef] = {}
        self._names = itertools.count()
        self._events = itertools.count()
        self._frame_ids = itertools.count()
        self._ufs: dict[str, z3.FuncDeclRef] = {}
        self._atoms: dict[int, z3.ExprRef] = {}     # term id -> its name (see `atom`)
        self.steps = 0                              # expressions evaluated (with inlining)
        self.entry: list[tuple[ir.Local, z3.ExprRef]] = []
        self.entry_measure: list[z3.ExprRef] | None = None
        self.uses_floats = False
        self.float_memo: dict[int, bool] = {}
        self.bits_memo: dict[int, bool] = {}     # verify._costly_in_bits, per subterm
        self.quant_memo: dict[int, bool] = {}    # verify._quantified, per subterm
        self.ref_sort = z3.BitVecSort(32, ctx)
        self.str_len = z3.Function("str_len", self.ref_sort, self.ref_sort)
        self.str_bytes = z3.Function("str_bytes", self.ref_sort,
                                     z3.ArraySort(self.ref_sort, z3.BitVecSort(8, ctx)))

    # --- small helpers -------------------------------------------------------------------

    def true(self) -> z3.BoolRef:
        return z3.BoolVal(True, self.ctx)

    def false(self) -> z3.BoolRef:
        return z3.BoolVal(False, self.ctx)

    def conj(self, items: list[z3.BoolRef]) -> z3.BoolRef:
        items = [c for c in items if not z3.is_true(c)]
        if not items:
            return self.true()
        return items[0] if len(items) == 1 else z3.And(*items)

    def disj(self, items: list[z3.BoolRef]) -> z3.BoolRef:
        if not items:
            return self.false()
        return items[0] if len(items) == 1 else z3.Or(*items)

    def i32(self, v: int) -> z3.BitVecRef:
        return z3.BitVecVal(v, 32, self.ctx)

    def sort(self, t: ir.Type) -> z3.SortRef:
        if t in INT_BITS:
            return z3.BitVecSort(INT_BITS[t], self.ctx)
        if t == ir.BOOL:
            return z3.BoolSort(self.ctx)
        if t == ir.F32:
            self.uses_floats = True
            return z3.FPSort(8, 24, self.ctx)
        if t == ir.F64:
            self.uses_floats = True
            return z3.FPSort(11, 53, self.ctx)
        if t == ir.UNIT:
            raise Unsupported("a unit value")
        return self.ref_sort

    def fresh(self, name: str, t: ir.Type | z3.SortRef) -> z3.ExprRef:
        sort = t if isinstance(t, z3.SortRef) else self.sort(t)
        return z3.Const(f"{name}!{next(self._names)}", sort)

    def zero(self, t: ir.Type) -> z3.ExprRef:
        if t in INT_BITS:
            return z3.BitVecVal(0, INT_BITS[t], self.ctx)
        if t == ir.BOOL:
            return self.false()
        if t in ir.FLOAT_TYPES:
            return z3.FPVal(0.0, None, self.sort(t), self.ctx)
        return self.i32(0)

    def uf(self, name: str, *sorts: z3.SortRef) -> z3.FuncDeclRef:
        key = name + "/" + ",".join(str(s) for s in sorts)
        if key not in self._ufs:
            self._ufs[key] = z3.Function(f"{name}#{len(self._ufs)}", *sorts)
        return self._ufs[key]

    def atom(self, term: z3.ExprRef | None) -> z3.ExprRef | None:
        """`term` itself when it is small, else a fresh constant defined equal to it. The
        string models put their operands under binders (lambdas), and Z3's simplifier walks
        a binder's body afresh each time it meets the binder: a merged value (an if-then-else
        over many paths, whose guards compare strings in turn) would be walked once per path
        through the nested binders. Naming it keeps every binder's body small."""
        if term is None or dag_size_at_most(term, ATOM_NODES):
            return term
        key = term.get_id()
        named = self._atoms.get(key)
        if named is None:
            named = self.fresh("v", term.sort())
            self.facts.append(named == term)
            self._atoms[key] = named
        return named

    def ite_chain(self, guards: list[z3.BoolRef], values: list[z3.ExprRef]) -> z3.ExprRef:
        out = values[-1]
        for g, v in zip(reversed(guards[:-1]), reversed(values[:-1])):
            if not v.eq(out):
                out = z3.If(g, v, out)
        return out

    def event(self, st: State, span: Span, name: str, term: z3.ExprRef, t: ir.Type,
              note: str = "") -> State:
        if self.assume_depth or len(self.frames) > 1:
            return st
        ev = Event(next(self._events), st.pc, span, name, term, t, note)
        return replace(st, trace=st.trace + (ev,))

    # --- obligations ---------------------------------------------------------------------

    def require(self, st: State, cond: z3.BoolRef, kind: str, span: Span, message: str,
                expect: tuple[str, ...] = (), note: str = "") -> State:
        """A check the program makes at run time: prove it, then assume it passed."""
        if self.assume_depth == 0:
            self.obligations.append(Obligation(kind, span, message, st.pc, cond, st.trace,
                                               expect, note, uses_floats=self.uses_floats))
        return st.assume(cond)

    def unmodelled(self, st: State, kind: str, span: Span, message: str, why: str) -> None:
        if self.assume_depth == 0:
            self.obligations.append(Obligation(kind, span, message, st.pc, self.false(),
                                               st.trace, (), "", unmodelled=why))

    # --- heap ----------------------------------------------------------------------------

    def region(self, heap: Heap, name: str, sort: z3.SortRef) -> z3.ExprRef:
        self.region_sorts.setdefault(name, sort)
        if name in heap.regions:
            return heap.regions[name]
        return self.epoch_base(name, heap.epoch)

    def epoch_base(self, name: str, epoch: int) -> z3.ExprRef:
        key = (name, epoch)
        if key not in self._epoch_terms:
            recipe = self.epochs[epoch]
            sort = self.region_sorts[name]
            if recipe is None:
                term = z3.Const(f"{name}@{epoch}", sort)
            else:
                term = self.ite_chain([g for g, _ in recipe],
                                      [self.epoch_base(name, e) for _, e in recipe])
            self._epoch_terms[key] = term
        return self._epoch_terms[key]

    def with_region(self, st: State, name: str, value: z3.ExprRef) -> State:
        regions = dict(st.heap.regions)
        regions[name] = value
        return replace(st, heap=Heap(regions, st.heap.epoch))

    def havoc_all(self, st: State) -> State:
        self.epochs.append(None)
        return replace(st, heap=Heap({}, len(self.epochs) - 1))

    def seq_regions(self, seq: ir.Type) -> tuple[z3.SortRef, z3.SortRef]:
        assert isinstance(seq, (ir.VecT, ir.ArrayT))  # strings are immutable: no regions
        elem = self.sort(seq.elem)
        data = z3.ArraySort(self.ref_sort, z3.ArraySort(self.ref_sort, elem))
        return z3.ArraySort(self.ref_sort, self.ref_sort), data

    def seq_len(self, st: State, seq: ir.Type, ref: z3.ExprRef) -> z3.ExprRef:
        if seq == ir.STR:
            n = self.str_len(ref)
        elif isinstance(seq, ir.ArrayT):
            return self.i32(seq.size)
        else:
            assert isinstance(seq, ir.VecT)
            len_sort, _ = self.seq_regions(seq)
            lens = self.region(st.heap, region_len(seq), len_sort)
            n = z3.Select(lens, ref)
            # The elements of a vector lie in the arena, which is under 2^31 bytes (spec 7.1).
            bound = z3.And(n >= 0, n <= ARENA_LIMIT // size_of(seq.elem))
            # A length read from an arbitrary heap is a real length in every execution; one
            # this path computed (after a push or pop) is one only where the path runs.
            self.facts.append(bound if arbitrary_region(lens) else z3.Implies(st.pc, bound))
            return n
        self.facts.append(z3.And(n >= 0, n <= ARENA_LIMIT - STR_HEADER))
        return n

    def seq_data(self, st: State, seq: ir.Type) -> z3.ExprRef:
        _, data_sort = self.seq_regions(seq)
        return self.region(st.heap, region_data(seq), data_sort)

    def field_sort(self, struct: str, index: int) -> tuple[ir.Type, z3.SortRef]:
        t = self.program.structs[struct].fields[index][1]
        return t, z3.ArraySort(self.ref_sort, self.sort(t))

    def fresh_ref(self, st: State, t: ir.Type, name: str) -> z3.ExprRef:
        """A newly allocated object: distinct from every object a local refers to."""
        r = self.fresh(name, self.ref_sort)
        if not (t == ir.STR or isinstance(t, ir.EnumT)):
            key = type_key(t)
            others = [v for k, v in st.env.items() if type_key(self.local_types[k]) == key]
            if others:
                self.facts.append(z3.And(*[r != o for o in others]))
        self.facts.append(r != 0)
        return r

    # --- entry point ---------------------------------------------------------------------

    def run(self) -> list[Obligation]:
        fn = self.fn
        frame = self.push_frame(fn)
        st: State | None  # None once the path ends
        st = State(self.true(), {}, Heap({}, 0), ())
        for p in fn.params:
            v = z3.Const(p.name, self.sort(p.type)) if p.type != ir.UNIT else None
            key = self.declare(frame, p)
            st = st.bind(key, v)
            self.entry.append((p, v))
        self.assume_depth += 1
        for c in fn.requires:
            st = self.assume_contract(st, c)
            if st is None:
                break
        measure = decreases_of(fn)
        if st is not None and measure:
            st, self.entry_measure = self.exec_all(measure, st)
        self.assume_depth -= 1
        if st is None:
            return self.obligations
        assert fn.body is not None  # only functions with bodies are verified
        end, value = self.exec(fn.body, st)
        exits = list(frame.returns)
        if end is not None:
            exits.append((end, value))
        self.frames.pop()
        if fn.ensures and exits:
            merged = self.merge([s for s, _ in exits])
            if fn.result != ir.UNIT and fn.result_local is not None:
                result = self.ite_chain([s.pc for s, _ in exits], [v for _, v in exits])
                self.frames.append(frame)
                key = self.declare(frame, fn.result_local)
                merged = merged.bind(key, result)
                merged = self.event(merged, fn.span or fn.ensures[0].span, "result", result,
                                    fn.result)
            else:
                self.frames.append(frame)
            st = merged
            for c in fn.ensures:
                st, cond = self.exec(c.cond, st)
                if st is None:
                    break
                st = self.require(st, cond, "ensures", c.span, contract_text(c), (c.message,))
            self.frames.pop()
        return self.obligations

    def push_frame(self, fn: ir.Function) -> Frame:
        frame = Frame(next(self._frame_ids), fn)
        self.frames.append(frame)
        return frame

    def declare(self, frame: Frame, local: ir.Local) -> tuple[int, int]:
        key = (frame.id, local.index)
        self.local_types[key] = local.type
        self.local_names[key] = local.name
        return key

    def key(self, local: ir.Local) -> tuple[int, int]:
        frame = self.frames[-1]
        return self.declare(frame, local)

    def assume_contract(self, st: State, c: ir.Contract) -> State | None:
        self.assume_depth += 1
        st2, v = self.exec(c.cond, st)
        self.assume_depth -= 1
        return None if st2 is None else st2.assume(v)

    # --- merging -------------------------------------------------------------------------

    def merge(self, states: list[State]) -> State:
        if len(states) == 1:
            return states[0]
        guards = [s.pc for s in states]
        pc = self.disj(guards)
        keys = list(dict.fromkeys(k for s in states for k in s.env))
        env = {}
        for k in keys:
            have = [(s.pc, s.env[k]) for s in states if k in s.env]
            env[k] = self.ite_chain([g for g, _ in have], [v for _, v in have])
        epochs = {s.heap.epoch for s in states}
        if len(epochs) == 1:
            epoch = states[0].heap.epoch
        else:
            self.epochs.append([(s.pc, s.heap.epoch) for s in states])
            epoch = len(self.epochs) - 1
        names = list(dict.fromkeys(n for s in states for n in s.heap.regions))
        regions = {}
        for n in names:
            vals = [self.region(s.heap, n, self.region_sorts[n]) for s in states]
            regions[n] = self.ite_chain(guards, vals)
        events: dict[int, Event] = {}
        for s in states:
            for ev in s.trace:
                events.setdefault(ev.seq, ev)
        trace = tuple(events[k] for k in sorted(events))
        return State(pc, env, Heap(regions, epoch), trace)

    def merge_flows(self, flows: list[tuple[State, z3.ExprRef | None]]) -> Flow:
        if not flows:
            return None, None
        st = self.merge([s for s, _ in flows])
        values = [v for _, v in flows]
        if any(v is None for v in values):
            return st, None
        return st, self.ite_chain([s.pc for s, _ in flows], values)

    # --- expressions ---------------------------------------------------------------------

    def exec(self, e: ir.Expr, st: State) -> Flow:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise TooLarge(f"the function takes more than {MAX_STEPS} steps to encode",
                           self.fn.span)
        method = getattr(self, "x_" + type(e).__name__, None)
        if method is None:
            raise Unsupported(f"{type(e).__name__} is not modelled", e.span)
        return method(e, st)

    def exec_all(self, exprs: Iterable[ir.Expr], st0: State) -> tuple[State | None, list]:
        """Evaluate operands left to right; (None, []) once a path ends (a trap, a return)."""
        values = []
        st: State | None  # None once the path ends
        st = st0
        for x in exprs:
            st, v = self.exec(x, st)
            if st is None:
                return None, []
            values.append(v)
        return st, values

    def x_IntConst(self, e: ir.IntConst, st: State) -> Flow:
        return st, z3.BitVecVal(e.value, INT_BITS[e.type], self.ctx)

    def x_FloatConst(self, e: ir.FloatConst, st: State) -> Flow:
        sort = self.sort(e.type)
        v = e.value
        if math.isnan(v):
            return st, z3.fpNaN(sort)
        if math.isinf(v):
            return st, z3.fpPlusInfinity(sort) if v > 0 else z3.fpMinusInfinity(sort)
        if v == 0.0 and math.copysign(1.0, v) < 0:
            return st, z3.fpMinusZero(sort)
        return st, z3.FPVal(v, None, sort, self.ctx)

    def x_BoolConst(self, e: ir.BoolConst, st: State) -> Flow:
        return st, z3.BoolVal(e.value, self.ctx)

    def x_StrConst(self, e: ir.StrConst, st: State) -> Flow:
        r = self.fresh("str", self.ref_sort)
        data = e.value
        self.facts.append(self.str_len(r) == len(data))
        if len(data) <= STRING_LIMIT:
            arr = z3.K(self.ref_sort, z3.BitVecVal(0, 8, self.ctx))
            for i, b in enumerate(data):
                arr = z3.Store(arr, self.i32(i), z3.BitVecVal(b, 8, self.ctx))
            self.facts.append(self.str_bytes(r) == arr)
        return st, r

    def x_Unit(self, e: ir.Unit, st: State) -> Flow:
        return st, None

    def x_LocalGet(self, e: ir.LocalGet, st: State) -> Flow:
        if e.local.type == ir.UNIT:
            return st, None
        key = (self.frames[-1].id, e.local.index)
        if key not in st.env:
            raise Unsupported(f"local '{e.local.name}' read before it is set", e.span)
        return st, st.env[key]

    def x_Let(self, e: ir.Let | ir.LocalSet, st0: State) -> Flow:
        st, v = self.exec(e.value, st0)
        if st is None or e.local.type == ir.UNIT:
            return st, None
        key = self.key(e.local)
        st = st.bind(key, v)
        if not e.local.name.startswith("$"):
            st = self.event(st, e.span, e.local.name, v, e.local.type)
        return st, None

    x_LocalSet = x_Let

    def x_Block(self, e: ir.Block, st0: State) -> Flow:
        st: State | None  # None once the path ends
        st = st0
        for s in e.stmts:
            st, _ = self.exec(s, st)
            if st is None:
                return None, None
        if e.value is None:
            return st, None
        return self.exec(e.value, st)

    def x_If(self, e: ir.If, st0: State) -> Flow:
        st, c = self.exec(e.cond, st0)
        if st is None:
            return None, None
        flows = []
        t_st, t_v = self.branch(e.then, st.assume(c))
        if t_st is not None:
            flows.append((t_st, t_v))
        if e.else_ is not None:
            f_st, f_v = self.branch(e.else_, st.assume(z3.Not(c)))
        else:
            f_st, f_v = st.assume(z3.Not(c)), None
        if f_st is not None:
            flows.append((f_st, f_v))
        if e.type == ir.UNIT:
            flows = [(s, None) for s, _ in flows]
        return self.merge_flows(flows)

    def branch(self, e: ir.Expr, st: State) -> Flow:
        return self.exec(e, st)

    # Operators.

    def x_Binary(self, e: ir.Binary, st0: State) -> Flow:
        st, operands = self.exec_all((e.left, e.right), st0)
        if st is None:
            return None, None
        a, b = operands
        t = e.operand_type
        if t in ir.FLOAT_TYPES:
            return st, self.float_binary(e.op, a, b)
        if t == ir.BOOL:
            ops = {"eq": lambda: a == b, "ne": lambda: a != b, "and": lambda: z3.And(a, b),
                   "or": lambda: z3.Or(a, b), "xor": lambda: z3.Xor(a, b)}
            return st, ops[e.op]()
        bits = INT_BITS[t]
        unsigned = t == ir.U8
        op = e.op
        if op in ("div", "rem"):
            zero = z3.BitVecVal(0, bits, self.ctx)
            st = self.require(st, b != zero, "division", e.span, "divisor is not zero",
                              ("integer divide by zero",))
            if op == "div" and not unsigned:
                minimum = z3.BitVecVal(-(1 << (bits - 1)), bits, self.ctx)
                st = self.require(st, z3.Not(z3.And(a == minimum, b == -1)), "overflow",
                                  e.span, f"the quotient fits {t} (not {t} minimum / -1)",
                                  ("integer overflow",))
            if op == "div":
                return st, z3.UDiv(a, b) if unsigned else a / b
            return st, z3.URem(a, b) if unsigned else z3.SRem(a, b)
        if op in ("shl", "shr"):
            count = b & (bits - 1)
            if op == "shl":
                return st, a << count
            return st, z3.LShR(a, count) if unsigned else a >> count
        table: dict[str, Callable[[], z3.ExprRef]] = {
            "add": lambda: a + b, "sub": lambda: a - b, "mul": lambda: a * b,
            "and": lambda: a & b, "or": lambda: a | b, "xor": lambda: a ^ b,
            "eq": lambda: a == b, "ne": lambda: a != b,
            "lt": lambda: z3.ULT(a, b) if unsigned else a < b,
            "le": lambda: z3.ULE(a, b) if unsigned else a <= b,
            "gt": lambda: z3.UGT(a, b) if unsigned else a > b,
            "ge": lambda: z3.UGE(a, b) if unsigned else a >= b,
        }
        return st, table[op]()

    def float_binary(self, op: str, a: z3.ExprRef, b: z3.ExprRef) -> z3.ExprRef:
        if op in ("min", "max"):
            return self.float_min_max(op, a, b)
        if op == "copysign":
            return self.float_copysign(a, b)
        rm = z3.RNE(self.ctx)
        if op not in _FLOAT_BINARY:
            raise Unsupported(f"float operation {op}")
        table: dict[str, Callable[[], z3.ExprRef]] = {
            "add": lambda: z3.fpAdd(rm, a, b, ctx=self.ctx), "sub": lambda: z3.fpSub(rm, a, b, ctx=self.ctx),
            "mul": lambda: z3.fpMul(rm, a, b, ctx=self.ctx), "div": lambda: z3.fpDiv(rm, a, b, ctx=self.ctx),
            "eq": lambda: z3.fpEQ(a, b, ctx=self.ctx),
            "ne": lambda: z3.Not(z3.fpEQ(a, b, ctx=self.ctx)),
            "lt": lambda: z3.fpLT(a, b, ctx=self.ctx), "le": lambda: z3.fpLEQ(a, b, ctx=self.ctx),
            "gt": lambda: z3.fpGT(a, b, ctx=self.ctx), "ge": lambda: z3.fpGEQ(a, b, ctx=self.ctx),
        }
        return table[op]()

    def float_min_max(self, op: str, a: z3.ExprRef, b: z3.ExprRef) -> z3.ExprRef:
        """Wasm's fmin/fmax: NaN if either is NaN, and -0 below +0 (SMT-LIB leaves the
        zeros open, so the choice is spelled out)."""
        c = self.ctx
        nan = z3.fpNaN(a.sort())
        first, second = (z3.fpLT(a, b, ctx=c), z3.fpLT(b, a, ctx=c)) if op == "min" else \
            (z3.fpGT(a, b, ctx=c), z3.fpGT(b, a, ctx=c))
        neg_a = z3.fpIsNegative(a, ctx=c)
        tie = z3.If(neg_a, a, b) if op == "min" else z3.If(neg_a, b, a)
        either_nan = z3.Or(z3.fpIsNaN(a, ctx=c), z3.fpIsNaN(b, ctx=c))
        return z3.If(either_nan, nan, z3.If(first, a, z3.If(second, b, tie)))

    def float_copysign(self, a: z3.ExprRef, b: z3.ExprRef) -> z3.ExprRef:
        """|a| with b's sign; a NaN's sign bit is not modelled, so either sign may come."""
        c = self.ctx
        mag = z3.fpAbs(a, ctx=c)
        neg = z3.fpNeg(mag, ctx=c)
        unknown = self.fresh("nan_sign", ir.BOOL)
        negative = z3.If(z3.fpIsNaN(b, ctx=c), unknown, z3.fpIsNegative(b, ctx=c))
        return z3.If(negative, neg, mag)

    def float_unary(self, op: str, a: z3.ExprRef) -> z3.ExprRef:
        c = self.ctx
        if op == "neg":
            return z3.fpNeg(a, ctx=c)
        if op == "abs":
            return z3.fpAbs(a, ctx=c)
        if op == "sqrt":
            return z3.fpSqrt(z3.RNE(c), a, ctx=c)
        modes = {"floor": z3.RTN, "ceil": z3.RTP, "trunc": z3.RTZ, "nearest": z3.RNE}
        if op in modes:
            return z3.fpRoundToIntegral(modes[op](c), a, ctx=c)
        raise Unsupported(f"float operation {op}")

    def x_Unary(self, e: ir.Unary, st0: State) -> Flow:
        st, a = self.exec(e.operand, st0)
        if st is None:
            return None, None
        assert a is not None  # the operand is a bool or a number, never unit
        if e.op == "not":
            return st, z3.Not(a)
        if e.op == "bitnot":
            return st, ~a
        if e.type in ir.FLOAT_TYPES:
            return st, self.float_unary(e.op, a)
        if e.op != "neg":
            raise Unsupported(f"unary operation {e.op}", e.span)
        return st, -a

    def x_Cast(self, e: ir.Cast, st0: State) -> Flow:
        st, a = self.exec(e.operand, st0)
        if st is None:
            return None, None
        src, dst = e.operand.type, e.type
        if src == dst:
            return st, a
        if src == ir.BOOL:
            return st, z3.If(a, z3.BitVecVal(1, INT_BITS[dst], self.ctx),
                             z3.BitVecVal(0, INT_BITS[dst], self.ctx)) if dst in INT_BITS \
                else self.int_to_float(z3.If(a, self.i32(1), self.i32(0)), ir.I32, dst)
        if src in INT_BITS and dst in INT_BITS:
            return st, self.int_cast(a, src, dst)
        if src in INT_BITS:
            return st, self.int_to_float(a, src, dst)
        if dst in ir.FLOAT_TYPES:
            return st, z3.fpFPToFP(z3.RNE(self.ctx), a, self.sort(dst), ctx=self.ctx)
        key = ("f64" if src == ir.F64 else "f32", dst)
        op, lower, upper = FLOAT_TO_INT_RANGES[key]
        sort = self.sort(src)
        lo = z3.FPVal(lower, None, sort, self.ctx)
        hi = z3.FPVal(upper, None, sort, self.ctx)
        ok = z3.And(z3.fpGT(a, lo, ctx=self.ctx) if op == "gt" else z3.fpGEQ(a, lo, ctx=self.ctx),
                    z3.fpLT(a, hi, ctx=self.ctx))
        st = self.require(st, ok, "conversion", e.span,
                          f"the value is in the range of {dst} (not NaN or out of range)",
                          ("invalid conversion to integer",))
        rtz = z3.RTZ(self.ctx)
        if dst == ir.U8:
            return st, z3.Extract(7, 0, z3.fpToSBV(rtz, a, z3.BitVecSort(32, self.ctx), ctx=self.ctx))
        return st, z3.fpToSBV(rtz, a, self.sort(dst), ctx=self.ctx)

    def int_cast(self, a: z3.ExprRef, src: ir.Type, dst: ir.Type) -> z3.ExprRef:
        sb, db = INT_BITS[src], INT_BITS[dst]
        if db < sb:
            return z3.Extract(db - 1, 0, a)
        if src == ir.U8:
            return z3.ZeroExt(db - sb, a)
        return z3.SignExt(db - sb, a)

    def int_to_float(self, a: z3.ExprRef, src: ir.Type, dst: ir.Type) -> z3.ExprRef:
        rm = z3.RNE(self.ctx)
        if src == ir.U8:
            return z3.fpUnsignedToFP(rm, a, self.sort(dst), ctx=self.ctx)
        return z3.fpSignedToFP(rm, a, self.sort(dst), ctx=self.ctx)

    def x_ToSlot(self, e: ir.ToSlot, st0: State) -> Flow:
        st, a = self.exec(e.operand, st0)
        if st is None:
            return None, None
        if a is None:
            return st, z3.BitVecVal(0, 64, self.ctx)
        f = self.uf(f"to_slot_{type_key(e.operand.type)}", a.sort(),
                    z3.BitVecSort(64, self.ctx))
        return st, f(a)

    def x_FromSlot(self, e: ir.FromSlot, st0: State) -> Flow:
        st, a = self.exec(e.operand, st0)
        if st is None or e.type == ir.UNIT:
            return st, None
        f = self.uf(f"from_slot_{type_key(e.type)}", z3.BitVecSort(64, self.ctx),
                    self.sort(e.type))
        return st, f(a)

    def x_Intrinsic(self, e: ir.Intrinsic, st: State) -> Flow:
        raise Unsupported(f"the raw-memory intrinsic {e.name} is not modelled", e.span)

    # Control flow.

    def x_Break(self, e: ir.Break, st: State) -> Flow:
        self.innermost_loop("break", e.span).breaks.append(st)
        return None, None

    def x_Continue(self, e: ir.Continue, st: State) -> Flow:
        self.innermost_loop("continue", e.span).continues.append(st)
        return None, None

    def innermost_loop(self, jump: str, span: Span) -> LoopCtx:
        loop = self.loops[-1]
        if loop is None:
            raise Unsupported(f"{jump} outside a loop", span)
        return loop

    def x_Return(self, e: ir.Return, st0: State) -> Flow:
        st: State | None  # None once the path ends
        st = st0
        v = None
        if e.value is not None:
            st, v = self.exec(e.value, st)
            if st is None:
                return None, None
        self.frames[-1].returns.append((st, v))
        return None, None

    def x_Check(self, e: ir.Check, st0: State) -> Flow:
        c = e.contract
        st, v = self.exec(c.cond, st0)
        if st is None:
            return None, None
        return self.require(st, v, c.kind, c.span, contract_text(c), (c.message,)), None

    def x_Print(self, e: ir.Print, st0: State) -> Flow:
        st, _ = self.exec_all(e.args, st0)
        return st, None

    def x_Panic(self, e: ir.Panic, st0: State) -> Flow:
        st, _ = self.exec(e.message, st0)
        if st is None:
            return None, None
        self.require(st, self.false(), "panic", e.span, "this panic is unreachable")
        return None, None

    # Sequences.

    def new_sequence(self, st: State, t: ir.Type, length: z3.ExprRef,
                     data: z3.ExprRef) -> Flow:
        r = self.fresh_ref(st, t, "seq")
        len_sort, data_sort = self.seq_regions(t)
        if isinstance(t, ir.VecT):
            st = self.with_region(st, region_len(t), z3.Store(
                self.region(st.heap, region_len(t), len_sort), r, length))
        st = self.with_region(st, region_data(t), z3.Store(
            self.region(st.heap, region_data(t), data_sort), r, data))
        return st, r

    def x_VecNew(self, e: ir.VecNew, st: State) -> Flow:
        assert isinstance(e.type, ir.VecT)
        return self.new_sequence(st, e.type, self.i32(0),
                                 z3.K(self.ref_sort, self.zero(e.type.elem)))

    def x_ArrayLit(self, e: ir.ArrayLit, st0: State) -> Flow:
        st, values = self.exec_all(e.elems, st0)
        if st is None:
            return None, None
        assert isinstance(e.type, ir.ArrayT)
        arr = z3.K(self.ref_sort, self.zero(e.type.elem))
        for i, v in enumerate(values):
            arr = z3.Store(arr, self.i32(i), v)
        return self.new_sequence(st, e.type, self.i32(len(values)), arr)

    def x_ArrayRepeat(self, e: ir.ArrayRepeat, st0: State) -> Flow:
        st, operands = self.exec_all((e.value, e.count), st0)
        if st is None:
            return None, None
        v, n = operands
        length = z3.If(n > 0, n, self.i32(0))
        return self.new_sequence(st, e.type, length, z3.K(self.ref_sort, v))

    def x_Index(self, e: ir.Index, st0: State) -> Flow:
        st, operands = self.exec_all((e.seq, e.index), st0)
        if st is None:
            return None, None
        seq, i = operands
        n = self.seq_len(st, e.seq.type, seq)
        st = self.require(st, z3.ULT(i, n), "index", e.span, "the index is within bounds",
                          ("index out of bounds", e.location))
        if e.seq.type == ir.STR:
            return st, self.str_bytes(seq)[i]
        return st, self.seq_data(st, e.seq.type)[seq][i]

    def x_IndexSet(self, e: ir.IndexSet, st0: State) -> Flow:
        st, operands = self.exec_all((e.seq, e.index, e.value), st0)
        if st is None:
            return None, None
        seq, i, v = operands
        n = self.seq_len(st, e.seq.type, seq)
        st = self.require(st, z3.ULT(i, n), "index", e.span, "the index is within bounds",
                          ("index out of bounds", e.location))
        data = self.seq_data(st, e.seq.type)
        return self.with_region(st, region_data(e.seq.type),
                                z3.Store(data, seq, z3.Store(data[seq], i, v))), None

    def x_SeqMethod(self, e: ir.SeqMethod, st0: State) -> Flow:
        st, seq = self.exec(e.target, st0)
        if st is None:
            return None, None
        t = e.target.type
        if e.method == "len":
            return st, self.seq_len(st, t, seq)
        len_sort, _ = self.seq_regions(t)
        lens = self.region(st.heap, region_len(t), len_sort)
        n = self.seq_len(st, t, seq)
        if e.method == "clear":
            return self.with_region(st, region_len(t), z3.Store(lens, seq, self.i32(0))), None
        if e.method == "push":
            st, v = self.exec(e.args[0], st)
            if st is None:
                return None, None
            lens = self.region(st.heap, region_len(t), len_sort)
            n = self.seq_len(st, t, seq)
            data = self.seq_data(st, t)
            # A push beyond i32's range would need more memory than any arena has.
            st = st.assume(n < 0x7FFFFFFF)
            st = self.with_region(st, region_data(t),
                                  z3.Store(data, seq, z3.Store(data[seq], n, v)))
            return self.with_region(st, region_len(t), z3.Store(lens, seq, n + 1)), None
        if e.method == "pop":
            st = self.require(st, n != 0, "pop", e.span, "the vector is not empty",
                              ("pop from empty vector", e.location))
            value = self.seq_data(st, t)[seq][n - 1]
            return self.with_region(st, region_len(t), z3.Store(lens, seq, n - 1)), value
        raise Unsupported(f"sequence method {e.method}", e.span)

    # Structs and enums.

    def x_StructNew(self, e: ir.StructNew, st0: State) -> Flow:
        st, values = self.exec_all((x for _, x in e.fields), st0)
        if st is None:
            return None, None
        r = self.fresh_ref(st, e.type, "struct")
        for (index, _), v in zip(e.fields, values):
            _, sort = self.field_sort(e.struct, index)
            name = region_field(e.struct, index)
            st = self.with_region(st, name, z3.Store(self.region(st.heap, name, sort), r, v))
        return st, r

    def x_FieldGet(self, e: ir.FieldGet, st0: State) -> Flow:
        st, obj = self.exec(e.obj, st0)
        if st is None:
            return None, None
        _, sort = self.field_sort(e.struct, e.field_index)
        return st, self.region(st.heap, region_field(e.struct, e.field_index), sort)[obj]

    def x_FieldSet(self, e: ir.FieldSet, st0: State) -> Flow:
        st, operands = self.exec_all((e.obj, e.value), st0)
        if st is None:
            return None, None
        obj, v = operands
        _, sort = self.field_sort(e.struct, e.field_index)
        name = region_field(e.struct, e.field_index)
        return self.with_region(st, name, z3.Store(self.region(st.heap, name, sort), obj,
                                                   v)), None

    def enum_tag(self, enum: str) -> z3.FuncDeclRef:
        return self.uf(f"tag_{enum}", self.ref_sort, self.ref_sort)

    def enum_payload(self, enum: str, tag: int, i: int) -> z3.FuncDeclRef:
        t = self.variant(enum, tag).fields[i]
        return self.uf(f"payload_{enum}_{tag}_{i}", self.ref_sort, self.sort(t))

    def variant(self, enum: str, tag: int) -> ir.Variant:
        return self.program.enums[enum].variants[tag]

    def x_EnumNew(self, e: ir.EnumNew, st0: State) -> Flow:
        st, values = self.exec_all(e.args, st0)
        if st is None:
            return None, None
        r = self.fresh_ref(st, e.type, "enum")
        facts = [self.enum_tag(e.enum)(r) == e.tag]
        for i, v in enumerate(values):
            facts.append(self.enum_payload(e.enum, e.tag, i)(r) == v)
        self.facts.append(self.conj(facts))
        return st, r

    # Quantifiers over index ranges: `forall i in a..b: cond` / `exists ...`, read from IR
    # nodes named Forall / Exists with `var` (the bound i32 or i64 local), `start`, `end` and
    # `body`, once the front end provides them.

    def x_Forall(self, e: ir.Expr, st: State) -> Flow:
        return self.quantifier(e, st, universal=True)

    def x_Exists(self, e: ir.Expr, st: State) -> Flow:
        return self.quantifier(e, st, universal=False)

    def quantifier(self, e: ir.Expr, st0: State, universal: bool) -> Flow:
        var: ir.Local = getattr(e, "var")
        st, bounds = self.exec_all((getattr(e, "start"), getattr(e, "end")), st0)
        if st is None:
            return None, None
        lo, hi = bounds
        body: ir.Expr = getattr(e, "body")
        for node in walk(body):
            if isinstance(node, (ir.IndexSet, ir.FieldSet, ir.LocalSet)) or (
                    isinstance(node, ir.SeqMethod) and node.method != "len"):
                raise Unsupported("a quantifier whose body changes state", e.span)
        i = z3.Const(f"{var.name}!q{next(self._names)}", self.sort(var.type))
        in_range = z3.And(lo <= i, i < hi)
        # The body is checked for every index in the range (evaluation stops at the first
        # index that decides the result, so this may ask for more than the run needs).
        inner = st.assume(in_range).bind(self.key(var), i)
        after, value = self.exec(body, inner)
        if after is None:
            return None, None
        facts = after.pc
        if universal:
            result = z3.ForAll([i], z3.Implies(z3.And(in_range, facts), value))
        else:
            result = z3.Exists([i], z3.And(in_range, facts, value))
        return st, result

    def x_Match(self, e: ir.Match, st0: State) -> Flow:
        st, scrut = self.exec(e.scrutinee, st0)
        if st is None:
            return None, None
        t = e.scrutinee.type
        if t != ir.UNIT:
            st = st.bind(self.key(e.scrutinee_local), scrut)
        flows: list[tuple[State, z3.ExprRef | None]] = []
        rest = st
        for arm in e.arms:
            test, binds = self.pattern(arm.pattern, t, scrut)
            arm_st = rest.assume(test)
            for local, value in binds:
                arm_st = arm_st.bind(self.key(local), value)
            out_st, out_value = self.exec(arm.body, arm_st)
            if out_st is not None:
                flows.append((out_st, out_value))
            rest = rest.assume(z3.Not(test))
        if e.type == ir.UNIT:
            flows = [(s, None) for s, _ in flows]
        return self.merge_flows(flows)

    def pattern(self, p: ir.Pattern, t: ir.Type, value: z3.ExprRef) \
            -> tuple[z3.BoolRef, list[tuple[ir.Local, z3.ExprRef]]]:
        if isinstance(p, ir.PBind):
            return self.true(), [(p.local, value)]
        if isinstance(p, ir.PLit):
            lit = p.value
            if isinstance(lit, ir.StrConst):
                _, r = self.x_StrConst(lit, None)  # type: ignore[arg-type]
                return self.str_eq(value, r), []
            if isinstance(lit, ir.BoolConst):
                return value == z3.BoolVal(lit.value, self.ctx), []
            assert isinstance(lit, ir.IntConst)
            return value == z3.BitVecVal(lit.value, INT_BITS[t], self.ctx), []
        if isinstance(p, ir.PVariant):
            tests = [self.enum_tag(p.enum)(value) == p.tag]
            binds: list[tuple[ir.Local, z3.ExprRef]] = []
            variant = self.variant(p.enum, p.tag)
            for i, (sub, ft) in enumerate(zip(p.fields, variant.fields)):
                payload = self.enum_payload(p.enum, p.tag, i)(value)
                test, b = self.pattern(sub, ft, payload)
                tests.append(test)
                binds.extend(b)
            return self.conj(tests), binds
        return self.true(), []

    # Strings.

    def str_upto(self, s: z3.ExprRef, n: z3.ExprRef, offset: z3.ExprRef | None = None) \
            -> z3.ExprRef:
        """The first n bytes of s (from `offset`), as an array that is 0 beyond them."""
        i = z3.BitVec("k", 32, self.ctx)
        at = i if offset is None else offset + i
        return z3.Lambda([i], z3.If(z3.ULT(i, n), self.str_bytes(s)[at],
                                    z3.BitVecVal(0, 8, self.ctx)))

    def str_eq(self, a: z3.ExprRef, b: z3.ExprRef) -> z3.BoolRef:
        a, b = self.atom(a), self.atom(b)
        la, lb = self.str_len(a), self.str_len(b)
        return z3.And(la == lb, self.str_upto(a, la) == self.str_upto(b, la))

    # --- calls ---------------------------------------------------------------------------

    def x_Call(self, e: ir.Call, st0: State) -> Flow:
        st, args = self.exec_all(e.args, st0)
        if st is None:
            return None, None
        spec = PRELUDE_SPECS.get(e.func)
        if spec is not None:
            return spec(self, st, e, [self.atom(v) for v in args])
        callee = self.program.functions[e.func]
        if callee.extern_module is not None:
            st = self.havoc_all(st)
            return st, self.fresh(f"{e.func}()", callee.result) if callee.result != ir.UNIT \
                else None
        # Inlining is exact but multiplies: past a budget of steps, calls are modular (as
        # precise as the callee's effects allow), which keeps large functions linear.
        if inlinable(callee) and len(self.frames) <= MAX_INLINE_DEPTH and \
                self.steps < INLINE_STEPS and all(f.fn is not callee for f in self.frames):
            return self.inline(callee, args, st)
        return self.modular_call(e, callee, args, st)

    def bind_params(self, callee: ir.Function, args: list, st: State) -> tuple[Frame, State]:
        frame = self.push_frame(callee)
        for p, v in zip(callee.params, args):
            if v is not None:
                st = st.bind(self.declare(frame, p), v)
        return frame, st

    def inline(self, callee: ir.Function, args: list, st: State) -> Flow:
        frame, st = self.bind_params(callee, args, st)
        self.loops.append(None)
        self.assume_depth += 1      # the callee's own checks are proved where it is defined
        assert callee.body is not None  # inlinable() holds
        try:
            end, value = self.exec(callee.body, st)
        finally:
            self.assume_depth -= 1
            self.loops.pop()
            self.frames.pop()
        flows = list(frame.returns)
        if end is not None:
            flows.append((end, value))
        if callee.result == ir.UNIT:
            flows = [(s, None) for s, _ in flows]
        st2, v = self.merge_flows(flows)
        if st2 is None:
            return None, None
        return self.drop_frame(st2, frame), v

    def drop_frame(self, st: State, frame: Frame) -> State:
        env = {k: v for k, v in st.env.items() if k[0] != frame.id}
        return replace(st, env=env)

    def modular_call(self, e: ir.Call, callee: ir.Function, args: list, st0: State) -> Flow:
        st: State | None  # None once the path ends
        frame, st = self.bind_params(callee, args, st0)
        try:
            for c in callee.requires:
                st, v = self.exec(c.cond, st)
                if st is None:
                    return None, None
                st = self.require(st, v, "requires", e.span, contract_text(c), (c.message,),
                                  note=f"precondition of {callee.name} "
                                       f"({c.span.file}:{c.span.line})")
            st = self.check_call_measure(st, e, callee, frame)
            if st is None:
                return None, None
            eff = self.effects.get(callee.name)
            result = self.call_result(st, callee, args, eff)
            st = self.havoc_writes(st, eff)
            if callee.result_local is not None and result is not None:
                st = st.bind(self.declare(frame, callee.result_local), result)
            for c in callee.ensures:
                st = self.assume_contract(st, c)
                if st is None:
                    return None, None
        finally:
            self.frames.pop()
        return self.drop_frame(st, frame), result

    def call_result(self, st: State, callee: ir.Function, args: list,
                    eff: Effects | None) -> z3.ExprRef | None:
        if callee.result == ir.UNIT:
            return None
        pure = eff is not None and not eff.writes and not eff.impure and ALL not in eff.reads \
            and (callee.result in ir.SCALAR_TYPES or callee.result == ir.STR)
        if not pure or eff is None:
            return self.fresh(f"{callee.name.rsplit('.', 1)[-1]}()", callee.result)
        inputs = [v for v in args if v is not None]
        for name in sorted(eff.reads):
            if name == MAP_REGION or name not in self.region_sorts:
                if name == MAP_REGION or not self.known_region(name):
                    return self.fresh(f"{callee.name.rsplit('.', 1)[-1]}()", callee.result)
            inputs.append(self.region(st.heap, name, self.region_sorts[name]))
        f = self.uf(f"fn_{callee.name}", *[x.sort() for x in inputs],
                    self.sort(callee.result))
        return f(*inputs) if inputs else f()

    def known_region(self, name: str) -> bool:
        """Register the sort of a region named in an effect set (to read it for a call)."""
        kind, _, rest = name.partition(":")
        sort = self.region_sort_from_name(kind, rest)
        if sort is None:
            return False
        self.region_sorts[name] = sort
        return True

    def region_sort_from_name(self, kind: str, rest: str) -> z3.SortRef | None:
        if kind == "field":
            struct, _, index = rest.rpartition(".")
            if struct not in self.program.structs:
                return None
            return self.field_sort(struct, int(index))[1]
        t = self.type_from_key(rest)
        if t is None:
            return None
        len_sort, data_sort = self.seq_regions(t)
        return len_sort if kind == "len" else data_sort

    def type_from_key(self, key: str) -> ir.Type | None:
        for t in self.known_types():
            if type_key(t) == key:
                return t
        return None

    def known_types(self):
        seen = set()
        for fn in self.program.functions.values():
            for local in fn.locals:
                t = local.type
                while isinstance(t, (ir.VecT, ir.ArrayT)):
                    k = type_key(t)
                    if k not in seen:
                        seen.add(k)
                        yield t
                    t = t.elem
        for s in self.program.structs.values():
            for _, t in s.fields:
                while isinstance(t, (ir.VecT, ir.ArrayT)):
                    k = type_key(t)
                    if k not in seen:
                        seen.add(k)
                        yield t
                    t = t.elem

    def havoc_writes(self, st: State, eff: Effects | None) -> State:
        if eff is None or ALL in eff.writes:
            return self.havoc_all(st)
        for name in sorted(eff.writes):
            if name == MAP_REGION:
                continue
            if name not in self.region_sorts and not self.known_region(name):
                return self.havoc_all(st)
            st = self.with_region(st, name, self.fresh(name, self.region_sorts[name]))
        return st

    def check_call_measure(self, st: State, e: ir.Call, callee: ir.Function,
                           frame: Frame) -> State | None:
        """`decreases`: a call back into the function's recursion group must go down."""
        if self.entry_measure is None or len(self.frames) != 2:
            return st
        if callee.name not in self.groups.get(self.fn.name, frozenset()):
            return st
        measure = decreases_of(callee)
        if not measure:
            return self.require(st, self.false(), "decreases", e.span,
                                f"{callee.name} has a decreases clause",
                                note="a recursive call needs a decreasing measure")
        self.assume_depth += 1
        after, values = self.exec_all(measure, st)
        self.assume_depth -= 1
        if after is None:
            return None
        return self.require(after, self.lex_less(values, self.entry_measure), "decreases",
                            e.span, "the measure decreases and stays non-negative",
                            (MEASURE_TRAP,))

    def lex_less(self, new: list, old: list) -> z3.BoolRef:
        """(new) < (old) lexicographically, each decreasing component bounded below by 0."""
        options = []
        for j in range(min(len(new), len(old))):
            same = [new[i] == old[i] for i in range(j)]
            options.append(self.conj(same + [new[j] < old[j], old[j] >= 0]))
        return self.disj(options)

def encode_function(program: ir.Program, effects: dict[str, Effects],
                    groups: dict[str, frozenset[str]], fn: ir.Function,
                    ctx: z3.Context) -> FunctionEncoder:
    """Run `fn` symbolically in `ctx`; the encoder holds obligations, facts and entry values.
    Raises Unsupported for constructs the verifier does not model."""
    impure = ghost_with_effects(fn, effects)
    if impure is not None:
        raise Unsupported("a ghost clause must not change the state, read input or print",
                          impure.span)
    enc = FunctionEncoder(program, effects, groups, fn, ctx)
    enc.run()
    return enc

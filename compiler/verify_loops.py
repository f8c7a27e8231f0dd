"""Loops for the symbolic executor: cut at the invariants, one iteration checked.

Part of the static verifier; `LoopEncoder` is mixed into verify_encode.FunctionEncoder. At a
loop the executor checks the invariants on entry, then continues from the loop *head*: a state
in which every local the loop assigns and every heap region it writes holds an arbitrary value,
constrained only by the invariants, by the implicit facts of `for` loops (the counter runs from
its start to its end), and by a frame rule: an object the loop provably does not write keeps
its contents. From the head it runs the exit test and one iteration, and checks that the
invariants hold again (and that a `decreases` measure went down). The state after the loop is
the head with the exit test false, merged with every `break`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

import z3

from . import ir
from .replay import MEASURE_TRAP
from .verify_effects import (ALL, MAP_REGION, PRELUDE_EFFECTS, decreases_of, region_data,
                             region_field, region_len, type_key, walk)
from .verify_state import Flow, LoopCtx, State, contract_text

if TYPE_CHECKING:
    from .diagnostics import Span
    from .verify_effects import Effects
    from .verify_state import Frame, Heap


class LoopEncoder:
    """Loop handling; expects the attributes and helpers of FunctionEncoder."""

    if TYPE_CHECKING:
        # What the mixin uses of `FunctionEncoder` (defined there).
        effects: dict[str, Effects]
        facts: list[z3.BoolRef]
        assume_depth: int
        frames: list[Frame]
        loops: list[LoopCtx | None]
        local_types: dict[tuple[int, int], ir.Type]
        local_names: dict[tuple[int, int], str]
        region_sorts: dict[str, z3.SortRef]

        def exec(self, e: ir.Expr, st: State) -> Flow: ...
        def key(self, local: ir.Local) -> tuple[int, int]: ...
        def i32(self, v: int) -> z3.BitVecRef: ...
        def conj(self, items: list[z3.BoolRef]) -> z3.BoolRef: ...
        def fresh(self, name: str, t: ir.Type | z3.SortRef) -> z3.ExprRef: ...
        def event(self, st: State, span: Span, name: str, term: z3.ExprRef, t: ir.Type,
                  note: str = "") -> State: ...
        def require(self, st: State, cond: z3.BoolRef, kind: str, span: Span, message: str,
                    expect: tuple[str, ...] = (), note: str = "") -> State: ...
        def region(self, heap: Heap, name: str, sort: z3.SortRef) -> z3.ExprRef: ...
        def with_region(self, st: State, name: str, value: z3.ExprRef) -> State: ...
        def havoc_all(self, st: State) -> State: ...
        def seq_len(self, st: State, seq: ir.Type, ref: z3.ExprRef) -> z3.ExprRef: ...
        def seq_data(self, st: State, seq: ir.Type) -> z3.ExprRef: ...
        def assume_contract(self, st: State, c: ir.Contract) -> State | None: ...
        def exec_all(self, exprs: Iterable[ir.Expr], st0: State) -> tuple[State | None, list]: ...
        def merge(self, states: list[State]) -> State: ...
        def known_region(self, name: str) -> bool: ...
        def lex_less(self, new: list, old: list) -> z3.BoolRef: ...

    def x_While(self, e: ir.While, st: State) -> Flow:
        return self.exec_loop(e, st)

    def x_ForRange(self, e: ir.ForRange, st0: State) -> Flow:
        st, start = self.exec(e.start, st0)
        if st is None:
            return None, None
        st, end = self.exec(e.end, st)
        if st is None:
            return None, None
        st = st.bind(self.key(e.var), start).bind(self.key(e.end_local), end)
        return self.exec_loop(e, st, start=start, end=end)

    def x_ForEach(self, e: ir.ForEach, st0: State) -> Flow:
        st, seq = self.exec(e.seq, st0)
        if st is None:
            return None, None
        n = self.seq_len(st, e.seq.type, seq)
        st = st.bind(self.key(e.seq_local), seq).bind(self.key(e.len_local), n)
        st = st.bind(self.key(e.index_local), self.i32(0))
        return self.exec_loop(e, st, start=self.i32(0), end=n)

    def exec_loop(self, e: ir.While | ir.ForRange | ir.ForEach, st0: State,
                  start: z3.ExprRef | None = None, end: z3.ExprRef | None = None) -> Flow:
        """Cut the loop at its head: check the invariants on entry, continue from a state
        where every local the loop assigns and every region it writes is arbitrary except for
        the invariants, run one iteration, and check that the invariants hold again."""
        st: State | None  # None once the path ends
        st = st0
        for inv in e.invariants:
            st, v = self.exec(inv.cond, st)
            if st is None:
                return None, None
            st = self.require(st, v, "invariant", inv.span, contract_text(inv),
                              (inv.message,), note="on entry to the loop")
        head: State | None  # None once the path ends
        head = self.havoc_loop(e, st)
        counter = None
        if isinstance(e, ir.ForRange):
            counter = (self.key(e.var), e.var.type)
        elif isinstance(e, ir.ForEach):
            counter = (self.key(e.index_local), ir.I32)
        if counter is not None:
            i = head.env[counter[0]]
            head = head.assume(z3.Or(i == start, z3.And(start < i, i <= end)))
        for inv in e.invariants:
            head = self.assume_contract(head, inv)
            if head is None:
                return None, None
        # exit test
        if isinstance(e, ir.While):
            body_st, c = self.exec(e.cond, head)
            if body_st is None:
                return None, None
        else:
            assert counter is not None  # a `for` loop: set above
            body_st, c = head, head.env[counter[0]] < end
        exit_st = body_st.assume(z3.Not(c))
        body_st = body_st.assume(c)
        if isinstance(e, ir.ForEach):
            body_st = self.load_element(e, body_st)
        measure = decreases_of(e)
        before = None
        if measure:
            self.assume_depth += 1
            body_st, before = self.exec_all(measure, body_st)
            self.assume_depth -= 1
        ctx = LoopCtx()
        self.loops.append(ctx)
        try:
            end_st, _ = self.exec(e.body, body_st) if body_st is not None else (None, None)
        finally:
            self.loops.pop()
        again = ctx.continues + ([end_st] if end_st is not None else [])
        if again:
            it: State | None  # None once the path ends
            it = self.merge(again)
            if counter is not None:
                it = it.bind(counter[0], it.env[counter[0]] + 1)
            for inv in e.invariants:
                it, v = self.exec(inv.cond, it)
                if it is None:
                    break
                it = self.require(it, v, "invariant", inv.span, contract_text(inv),
                                  (inv.message,), note="after an iteration")
            if it is not None and measure and before is not None:
                self.assume_depth += 1
                it, after = self.exec_all(measure, it)
                self.assume_depth -= 1
                if it is not None:
                    self.require(it, self.lex_less(after, before), "decreases", e.span,
                                 "the loop's measure decreases and stays non-negative",
                                 (MEASURE_TRAP, f"loop at line {e.span.line} "))
        exits = [exit_st] + ctx.breaks
        return self.merge(exits), None

    def load_element(self, e: ir.ForEach, st: State) -> State:
        """The element of a `for x in seq` iteration: read without a bounds check below the
        length taken at loop start; if the body shrank the vector, the slot may hold
        anything, so the model only fixes it below the current length."""
        seq = st.env[self.key(e.seq_local)]
        i = st.env[self.key(e.index_local)]
        now = self.seq_len(st, e.seq.type, seq)
        stored = self.seq_data(st, e.seq.type)[seq][i]
        value = z3.If(z3.ULT(i, now), stored, self.fresh(e.var.name, e.var.type))
        st = st.bind(self.key(e.var), value)
        return self.event(st, e.span, e.var.name, value, e.var.type, "element")

    def havoc_loop(self, e: ir.Expr, st: State) -> State:
        """The state at the loop head, for any number of iterations done."""
        frame = self.frames[-1].id
        nodes = list(walk(e))
        assigned: list[tuple[int, int]] = []
        fresh_locals: set[int] = set()
        for node in nodes:
            if isinstance(node, ir.LocalSet):
                k = (frame, node.local.index)
                if k in st.env and k not in assigned:
                    assigned.append(k)
            elif isinstance(node, ir.Let) and isinstance(
                    node.value, (ir.VecNew, ir.ArrayLit, ir.ArrayRepeat, ir.StructNew)):
                fresh_locals.add(node.local.index)
        if isinstance(e, ir.ForRange):
            assigned.append((frame, e.var.index))
        if isinstance(e, ir.ForEach):
            assigned.append((frame, e.index_local.index))
        reassigned = {k[1] for k in assigned}
        fresh_locals -= reassigned
        targets = self.loop_write_targets(nodes, st, frame, set(reassigned), fresh_locals)
        old = st
        for k in assigned:
            v = self.fresh(self.local_names.get(k, "v"), self.local_types[k])
            st = st.bind(k, v)
            name = self.local_names.get(k, "v")
            if not name.startswith("$"):
                st = self.event(st, e.span, name, v, self.local_types[k], "at the loop head")
        if targets is None:
            return self.havoc_all(st)
        for name in sorted(targets):
            if name == MAP_REGION:
                continue
            if name not in self.region_sorts and not self.known_region(name):
                return self.havoc_all(st)
            sort = self.region_sorts[name]
            before = self.region(old.heap, name, sort)
            after = self.fresh(name, sort)
            st = self.with_region(st, name, after)
            outer = targets[name]
            if outer is None:
                continue
            owner = name.split(":", 1)[1].rsplit(".", 1)[0] if name.startswith("field:") \
                else name.split(":", 1)[1]
            for k, u in old.env.items():
                if type_key(self.local_types[k]) != owner or k in assigned:
                    continue
                distinct = [u != t for t in outer]
                self.facts.append(z3.Implies(self.conj(distinct), after[u] == before[u]))
        return st

    def loop_write_targets(self, nodes: list[ir.Expr], st: State, frame: int,
                           reassigned: set[int], fresh_locals: set[int]) \
            -> dict[str, list[z3.ExprRef] | None] | None:
        """Regions the loop writes, each with the objects written (values at loop entry of
        locals the loop does not reassign), or None for a region written through unknown
        objects. Objects allocated inside the loop are new, so writes to them are left out.
        None overall when the loop may write anything."""
        out: dict[str, list[z3.ExprRef] | None] = {}

        def add(region: str, target: ir.Expr) -> None:
            if region in out and out[region] is None:
                return
            if isinstance(target, ir.LocalGet):
                idx = target.local.index
                if idx in fresh_locals:
                    out.setdefault(region, [])
                    return
                k = (frame, idx)
                if k in st.env and idx not in reassigned:
                    lst = out.setdefault(region, [])
                    if lst is not None:
                        lst.append(st.env[k])
                    return
            out[region] = None

        for node in nodes:
            if isinstance(node, ir.IndexSet):
                add(region_data(node.seq.type), node.seq)
            elif isinstance(node, ir.SeqMethod) and node.method in ("push", "pop", "clear"):
                add(region_len(node.target.type), node.target)
                if node.method == "push":
                    add(region_data(node.target.type), node.target)
            elif isinstance(node, ir.FieldSet):
                add(region_field(node.struct, node.field_index), node.obj)
            elif isinstance(node, ir.Call):
                eff = PRELUDE_EFFECTS.get(node.func) or self.effects.get(node.func)
                if eff is None or ALL in eff.writes:
                    return None
                for region in eff.writes:
                    out[region] = None
        return out

"""Heap effects of functions: which parts of the heap a call may read or write.

Part of the static verifier (verify.py). The verifier models the heap as separate *regions*,
one per kind of mutable cell, named by `region_*` below: the length of every `Vec[T]`, the
elements of every sequence type, and each field of each struct. A call havocs (forgets) only
the regions the callee may write, so a call that only reads, or writes other regions, keeps
what the caller knew. This module computes those sets for every function of a program, as a
least fixpoint over the call graph; it needs no solver and imports no z3.

Soundness rests on the type system: a reference of type `Vec[i32]` can only ever point to a
`Vec[i32]`, so a write through one region never changes another. Code that reaches raw memory
(the prelude's `__store_*` and `__memcpy` intrinsics, host functions) writes `ALL`; the prelude
functions the verifier models by hand (see `PRELUDE_EFFECTS`) declare their effects instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import ir

ALL = "*"                      # every region
MAP_REGION = "map"             # the contents of every Map (maps are modelled opaquely)


def type_key(t: ir.Type) -> str:
    """A stable, fully qualified spelling of a type, used in region names and hashes."""
    if isinstance(t, ir.Prim):
        return t.name
    if isinstance(t, ir.VecT):
        return f"Vec[{type_key(t.elem)}]"
    if isinstance(t, ir.ArrayT):
        return f"[{type_key(t.elem)}; {t.size}]"
    if isinstance(t, ir.MapT):
        return f"Map[{type_key(t.value)}]"
    if isinstance(t, (ir.StructT, ir.EnumT)):
        return t.name
    return repr(t)


def region_len(seq: ir.Type) -> str:
    return f"len:{type_key(seq)}"


def region_data(seq: ir.Type) -> str:
    return f"data:{type_key(seq)}"


def region_field(struct: str, index: int) -> str:
    return f"field:{struct}.{index}"


@dataclass(frozen=True)
class Effects:
    writes: frozenset[str] = frozenset()
    reads: frozenset[str] = frozenset()
    impure: bool = False        # depends on more than its arguments and the heap (input, host)
    allocates: bool = False
    prints: bool = False

    def union(self, other: "Effects") -> "Effects":
        return Effects(_join(self.writes, other.writes), _join(self.reads, other.reads),
                       self.impure or other.impure, self.allocates or other.allocates,
                       self.prints or other.prints)

    def describe(self) -> str:
        """Deterministic text for cache keys."""
        return (f"w={','.join(sorted(self.writes))};r={','.join(sorted(self.reads))};"
                f"i={int(self.impure)};a={int(self.allocates)};p={int(self.prints)}")


def _join(a: frozenset[str], b: frozenset[str]) -> frozenset[str]:
    if ALL in a or ALL in b:
        return frozenset({ALL})
    return a | b


NONE = Effects()
_ALLOC = Effects(allocates=True)

# Prelude functions whose behaviour the verifier states by hand (verify_encode.PRELUDE_SPECS):
# their bodies use raw memory, which the verifier does not model, so their effects are given.
PRELUDE_EFFECTS: dict[str, Effects] = {
    "prelude.__str_concat": _ALLOC,
    "prelude.__str_eq": NONE,
    "prelude.__str_cmp": NONE,
    "prelude.__str_slice": _ALLOC,
    "prelude.__i64_to_str": _ALLOC,
    "prelude.__i32_to_str": _ALLOC,
    "prelude.__u8_to_str": _ALLOC,
    "prelude.__bool_to_str": NONE,
    "prelude.__f64_to_str": _ALLOC,
    "prelude.__f32_to_str": _ALLOC,
    "prelude.input": Effects(impure=True, allocates=True),
    "prelude.arena_used": Effects(impure=True),
    "prelude.arena_size": NONE,
    "prelude.__map_new": _ALLOC,
    "prelude.__map_set": Effects(writes=frozenset({MAP_REGION}), reads=frozenset({MAP_REGION}),
                                 allocates=True),
    "prelude.__map_get": Effects(reads=frozenset({MAP_REGION})),
    "prelude.__map_has": Effects(reads=frozenset({MAP_REGION})),
    "prelude.__map_len": Effects(reads=frozenset({MAP_REGION})),
    "prelude.__map_keys": Effects(reads=frozenset({MAP_REGION}), allocates=True),
    "prelude.str_from_bytes": Effects(reads=frozenset({"len:Vec[u8]", "data:Vec[u8]"}),
                                      allocates=True),
    "prelude.bytes": _ALLOC,
    "prelude.starts_with": NONE,
    "prelude.ends_with": NONE,
    "prelude.find": NONE,
    "prelude.parse_i64": NONE,
    "prelude.str_repeat": _ALLOC,
}

_RAW_WRITES = {"__store_u8", "__store_i32", "__store_i64", "__store_f32", "__store_f64",
               "__memcpy"}
_RAW_READS = {"__load_u8", "__load_i32", "__load_i64", "__load_f32", "__load_f64"}


def children(e: object) -> list[ir.Expr]:
    """The direct sub-expressions of an IR node (for scans; not in evaluation order)."""
    out: list[ir.Expr] = []
    if isinstance(e, ir.Binary):
        return [e.left, e.right]
    if isinstance(e, ir.Match):
        return [e.scrutinee] + [a.body for a in e.arms]
    if isinstance(e, ir.StructNew):
        return [v for _, v in e.fields]
    if isinstance(e, (ir.While, ir.ForRange, ir.ForEach)):
        heads = [e.cond] if isinstance(e, ir.While) else (
            [e.start, e.end] if isinstance(e, ir.ForRange) else [e.seq])
        return heads + [c.cond for c in e.invariants] + [e.body] + decreases_of(e)
    if isinstance(e, ir.Check):
        return [e.contract.cond]
    for name in ("operand", "value", "cond", "then", "else_", "seq", "index", "target", "obj",
                 "message", "count", "start", "end", "body"):
        v = getattr(e, name, None)
        if isinstance(v, ir.Expr):
            out.append(v)
    for name in ("args", "stmts", "elems"):
        v = getattr(e, name, None)
        if isinstance(v, list):
            out.extend(x for x in v if isinstance(x, ir.Expr))
    return out


def decreases_of(node: object) -> list[ir.Expr]:
    """The `decreases` measure of a loop or function, when the front end provides one."""
    items = getattr(node, "decreases", None) or []
    return [x.cond if isinstance(x, ir.Contract) else x for x in items]


def walk(e: ir.Expr):
    """Every node of an expression tree, parents first."""
    stack = [e]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(children(node)))


def local_effects(e: ir.Expr, calls: list[str]) -> Effects:
    """Effects of the code itself (not of its callees, whose names are appended to `calls`)."""
    writes: set[str] = set()
    reads: set[str] = set()
    impure = allocates = prints = False
    for node in walk(e):
        if isinstance(node, ir.IndexSet):
            writes.add(region_data(node.seq.type))
        elif isinstance(node, ir.Index) and node.seq.type != ir.STR:
            reads.update({region_data(node.seq.type), region_len(node.seq.type)})
        elif isinstance(node, ir.SeqMethod) and node.target.type != ir.STR:
            t = node.target.type
            if node.method in ("push", "pop", "clear"):
                writes.add(region_len(t))
                if node.method == "push":
                    writes.add(region_data(t))
                    allocates = True
            reads.update({region_len(t), region_data(t)})
        elif isinstance(node, ir.ForEach):
            reads.update({region_len(node.seq.type), region_data(node.seq.type)})
        elif isinstance(node, ir.FieldSet):
            writes.add(region_field(node.struct, node.field_index))
        elif isinstance(node, ir.FieldGet):
            reads.add(region_field(node.struct, node.field_index))
        elif isinstance(node, (ir.StructNew, ir.ArrayLit, ir.ArrayRepeat, ir.VecNew,
                               ir.EnumNew)):
            allocates = True
        elif isinstance(node, ir.Intrinsic):
            if node.name in _RAW_WRITES:
                writes.add(ALL)
            elif node.name in _RAW_READS:
                reads.add(ALL)
            elif node.name in ("__alloc",):
                allocates = True
            elif node.name == "__heap_ptr":
                impure = True
        elif isinstance(node, ir.Call):
            calls.append(node.func)
        elif isinstance(node, ir.Print):
            prints = True
    w = frozenset({ALL}) if ALL in writes else frozenset(writes)
    r = frozenset({ALL}) if ALL in reads else frozenset(reads)
    return Effects(w, r, impure, allocates, prints)


def ghost_contracts(fn: ir.Function) -> list[ir.Contract]:
    """Every `ghost` clause of `fn`: its own, its loops' and its `ghost assert`s."""
    out = [c for c in fn.requires + fn.ensures if c.ghost]
    for node in walk(fn.body) if fn.body is not None else ():
        if isinstance(node, ir.Check) and node.contract.ghost:
            out.append(node.contract)
        elif isinstance(node, (ir.While, ir.ForRange, ir.ForEach)):
            out.extend(c for c in node.invariants if c.ghost)
    return out


def ghost_with_effects(fn: ir.Function, effects: dict[str, Effects]) -> ir.Contract | None:
    """The first ghost clause whose condition could change the state or print. A ghost clause
    is never run, so proving it while modelling its effects would describe another program."""
    for contract in ghost_contracts(fn):
        calls: list[str] = []
        eff = local_effects(contract.cond, calls)
        for callee in calls:
            eff = eff.union(effects.get(callee, Effects(frozenset({ALL}), frozenset(), True)))
        if eff.writes or eff.impure or eff.prints:
            return contract
    return None


def function_code(fn: ir.Function) -> list[ir.Expr]:
    return ([fn.body] if fn.body is not None else []) + [c.cond for c in fn.requires] + \
        [c.cond for c in fn.ensures]


def analyze_effects(program: ir.Program) -> dict[str, Effects]:
    """Effects of every function of the program, callees included (least fixpoint)."""
    own: dict[str, Effects] = {}
    callees: dict[str, list[str]] = {}
    for name, fn in program.functions.items():
        if name in PRELUDE_EFFECTS:
            own[name], callees[name] = PRELUDE_EFFECTS[name], []
            continue
        if fn.extern_module is not None:
            own[name] = Effects(frozenset({ALL}), frozenset({ALL}), True, False)
            callees[name] = []
            continue
        calls: list[str] = []
        eff = NONE
        for code in function_code(fn):
            eff = eff.union(local_effects(code, calls))
        own[name], callees[name] = eff, sorted(set(calls))
    result = dict(own)
    changed = True
    while changed:
        changed = False
        for name in program.functions:
            eff = result[name]
            for callee in callees[name]:
                eff = eff.union(result.get(callee, Effects(frozenset({ALL}), frozenset({ALL}),
                                                           True, True)))
            if eff != result[name]:
                result[name] = eff
                changed = True
    return result


def call_graph(program: ir.Program) -> dict[str, set[str]]:
    """Direct callees of each function (body and contracts)."""
    graph: dict[str, set[str]] = {}
    for name, fn in program.functions.items():
        calls: list[str] = []
        for code in function_code(fn):
            local_effects(code, calls)
        graph[name] = set(calls)
    return graph


def recursive_groups(graph: dict[str, set[str]]) -> dict[str, frozenset[str]]:
    """For each function, the set of functions it is mutually recursive with (its strongly
    connected component when that has a cycle; empty otherwise). Tarjan's algorithm,
    iterative, over the names in sorted order so the result is deterministic."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: dict[str, frozenset[str]] = {}
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, it = work[-1]
            advanced = False
            for nxt in it:
                if nxt not in graph:
                    continue
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, ())))))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                members = []
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    members.append(m)
                    if m == node:
                        break
                cyclic = len(members) > 1 or node in graph.get(node, ())
                group = frozenset(members) if cyclic else frozenset()
                for m in members:
                    groups[m] = group
    return groups

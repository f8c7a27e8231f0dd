"""Static verification of contracts: every obligation of every function proved with Z3.

Where it sits: after the checker. `verify_file` loads and checks a program (loader.py,
check.py), then verifies it function by function; it never lowers or changes the program, so
the compiled bytes are the same whether or not it runs. verify_encode.py turns a function into
obligations (what must hold, under which path condition); this module proves them, turns
failures into counterexamples in source terms, confirms them by running the compiled function
(replay.py), and caches results. Only the verify_* modules import z3.

Determinism: each function is solved in a fresh Z3 context, with fixed seeds and a resource
limit (`rlimit`, counted in Z3's deterministic steps, not seconds), obligations in source order.
A result depends only on the function, the contracts and effects of what it calls, the verifier
version and the Z3 version, which is exactly what the cache key hashes.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import z3

from . import ir
from .check import check_program
from .diagnostics import CompileError, Diagnostic, Span, printable, snippet
from .loader import STDLIB_DIR, LoadedProgram, load_program
from .verify_effects import (Effects, analyze_effects, call_graph, decreases_of,
                             function_code, recursive_groups, region_data, region_field,
                             region_len, type_key, walk)
from .verify_encode import (INT_BITS, FunctionEncoder, Obligation, Unsupported,
                            encode_function, inlinable)
from .verify_state import TooLarge
from .verify_terms import RawAst, Terms, has_node
from .verify_lia import IntTranslator, NotLinear

VERIFIER_VERSION = "5"
DEFAULT_RLIMIT = 400_000          # Z3 resource units per obligation
MODEL_RLIMIT = 100_000            # for each search of a smaller counterexample
SMALL_MODEL_RLIMIT = 50_000       # for each search of a small counterexample to a quantified
                                  # claim the full search left unknown
QUICK_RLIMIT = 20_000             # the first, short bit-vector attempt
FLOAT_RLIMIT = 200_000            # for obligations that compare or convert floats
INT_RLIMIT = 300_000              # for the integer attempt that comes first
MAX_FORMULA_NODES = 200_000       # terms of an obligation with its facts, beyond which it is
                                  # not attempted (Z3 simplifies what it is given before any
                                  # rlimit applies, so the size is bounded up front)
SEED = 0
SMALL_LENGTH = 6                  # counterexamples prefer vectors and strings this short
SMALL_INT = 100                   # and integers this small, when the failure allows
MAX_REPLAY_ELEMENTS = 4096
CACHE_ENV = "SYN_CACHE_DIR"

RESULTS = ("proved", "failed", "unknown", "unsupported")


# --- reports ------------------------------------------------------------------------------

@dataclass
class ObligationResult:
    function: str
    kind: str
    file: str
    line: int
    col: int
    end_line: int
    end_col: int
    message: str
    result: str                       # proved | failed | unknown | unsupported
    reason: str = ""                  # why unknown/unsupported
    note: str = ""
    rlimit: int = 0
    time_ms: float = 0.0
    expect: list[str] = field(default_factory=list)
    counterexample: dict[str, Any] | None = None
    replay: dict[str, Any] | None = None
    cached: bool = False

    @property
    def span(self) -> Span:
        return Span(self.file, self.line, self.col, self.end_line, self.end_col)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["time_ms"] = round(self.time_ms, 3)
        return out


@dataclass
class FunctionReport:
    name: str
    key: str
    obligations: list[ObligationResult]
    time_ms: float = 0.0
    cached: bool = False


@dataclass
class VerifyReport:
    functions: list[FunctionReport]
    sources: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    diagnostics: list[Diagnostic] = field(default_factory=list)   # compile errors

    @property
    def obligations(self) -> list[ObligationResult]:
        return [o for f in self.functions for o in f.obligations]

    @property
    def ok(self) -> bool:
        return not self.diagnostics and all(o.result == "proved" for o in self.obligations)

    def counts(self) -> dict[str, int]:
        counts = {r: 0 for r in RESULTS}
        for o in self.obligations:
            counts[o.result] += 1
        return counts

    def summary(self) -> str:
        c = self.counts()
        total = sum(c.values())
        cached = sum(1 for f in self.functions if f.cached)
        parts = [f"{c['proved']} proved"] + [f"{c[r]} {r}" for r in RESULTS[1:] if c[r]]
        return (f"verify: {total} obligations in {len(self.functions)} functions: "
                f"{', '.join(parts)} ({cached} functions from the cache, "
                f"{self.seconds:.2f} s)")

    def render(self, verbose: bool = False) -> str:
        blocks = []
        for o in self.obligations:
            if o.result != "proved" or verbose:
                blocks.append(render_obligation(o, self.sources))
        blocks.append(self.summary())
        return "\n".join(blocks)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "summary": self.counts(),
            "seconds": round(self.seconds, 4),
            "functions": [{"name": f.name, "cached": f.cached, "time_ms": round(f.time_ms, 3),
                           "obligations": len(f.obligations)} for f in self.functions],
            "obligations": [o.to_json() for o in self.obligations],
        }


def render_obligation(o: ObligationResult, sources: dict[str, str]) -> str:
    head = {"proved": "proved", "failed": "cannot prove", "unknown": "unknown",
            "unsupported": "not verifiable"}[o.result]
    lines = [f"{o.file}:{o.line}:{o.col}: verify: {head}: {o.message} [{o.kind}]"]
    if o.note:
        lines.append(f"  note: {o.note}")
    if o.reason:
        lines.append(f"  reason: {o.reason}")
    lines.extend(snippet(sources.get(o.file), o.span, rest_of_line=True))
    cx = o.counterexample
    if cx:
        lines.append(f"  counterexample (inputs of {o.function}):")
        for name, text in cx.get("inputs", []):
            lines.append(f"    {name} = {text}")
        if cx.get("path"):
            lines.append("  along the path:")
            for line, name, text, note in cx["path"]:
                suffix = f"  ({note})" if note else ""
                lines.append(f"    line {line}: {name} = {text}{suffix}")
    if o.replay:
        detail = printable(o.replay.get("detail", ""))    # a trap message the program chose
        lines.append(f"  replay: {o.replay['status']}: {detail}".rstrip())
    return "\n".join(lines)


# --- cache --------------------------------------------------------------------------------

def default_cache_dir() -> Path:
    base = os.environ.get(CACHE_ENV)
    return (Path(base) / "verify") if base else Path(".syn-cache") / "verify"


class VerifyCache:
    """Function reports on disk, one JSON file per content hash."""

    def __init__(self, directory: Path | str | None = None):
        self.dir = Path(directory) if directory is not None else default_cache_dir()

    def get(self, key: str) -> list[ObligationResult] | None:
        path = self.dir / f"{key}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        try:
            return [ObligationResult(**item) for item in data]
        except TypeError:
            return None

    def put(self, key: str, results: list[ObligationResult]) -> None:
        self._write(key, [dict(r.to_json(), replay=None, cached=False) for r in results])

    def get_replays(self, key: str) -> list[dict[str, Any]] | None:
        try:
            data = json.loads((self.dir / f"{key}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, list) else None

    def put_replays(self, key: str, outcomes: list[dict[str, Any]]) -> None:
        self._write(key, outcomes)

    def _write(self, key: str, payload: Any) -> None:
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            tmp = self.dir / f".{key}.{os.getpid()}.tmp"
            tmp.write_text(json.dumps(payload), encoding="utf-8")
            os.replace(tmp, self.dir / f"{key}.json")
        except OSError:
            pass    # a cache that cannot be written only costs time


def function_key(program: ir.Program, effects: dict[str, Effects],
                 groups: dict[str, frozenset[str]], fn: ir.Function, rlimit: int) -> str:
    """Hash of everything the verification of `fn` depends on."""
    h = hashlib.sha256()

    def put(text: str) -> None:
        h.update(text.encode("utf-8", "surrogatepass"))
        h.update(b"\0")

    put(f"{VERIFIER_VERSION}|{z3.get_version_string()}|{rlimit}")
    put(repr(fn))
    put(repr(decreases_of(fn)))
    put(",".join(sorted(groups.get(fn.name, ()))))
    for name in sorted(program.structs):
        put(repr(program.structs[name]))
    for name in sorted(program.enums):
        put(repr(program.enums[name]))
    seen: set[str] = set()
    todo = sorted(_calls_of(function_code(fn) + decreases_of(fn)))
    while todo:
        name = todo.pop()
        if name in seen or name not in program.functions:
            continue
        seen.add(name)
        callee = program.functions[name]
        put(name)
        put(effects[name].describe() if name in effects else "?")
        put(repr((callee.params, callee.result, callee.requires, callee.ensures,
                  callee.result_local, decreases_of(callee), callee.extern_module)))
        if inlinable(callee):
            put(repr(callee.body))
            todo.extend(sorted(_calls_of(function_code(callee))))
        else:
            todo.extend(sorted(_calls_of([c.cond for c in callee.requires + callee.ensures])))
    return h.hexdigest()


def _calls_of(exprs: list[ir.Expr]) -> set[str]:
    out = set()
    for e in exprs:
        for node in walk(e):
            if isinstance(node, ir.Call):
                out.add(node.func)
    return out


# --- solving ------------------------------------------------------------------------------

class _Rlimit:
    """Reads the solver's cumulative 'rlimit count' statistic. An obligation's count is the
    difference from the previous reading (the end of the obligation before it, or zero): the
    statistics are not read at the start, since a first read costs a fresh solver a good part
    of a millisecond."""

    def __init__(self, solver: z3.Solver):
        self.solver = solver
        self.last = 0

    def read(self) -> int:
        stats = self.solver.statistics()
        for key in stats.keys():
            if key == "rlimit count":
                self.last = int(stats.get_key_value(key))
                return self.last
        return self.last


def solve_function(program: ir.Program, effects: dict[str, Effects],
                   groups: dict[str, frozenset[str]], fn: ir.Function,
                   rlimit: int = DEFAULT_RLIMIT) -> list[ObligationResult]:
    """Encode and prove every obligation of `fn`, in a context of its own."""
    ctx = z3.Context()
    start = time.perf_counter()
    try:
        enc = encode_function(program, effects, groups, fn, ctx)
    except Unsupported as u:
        span = u.span or fn.span or Span("?", 1, 1, 1, 2)
        return [_result(fn, "function", span, f"{fn.name} is not verified", "unsupported",
                        reason=f"not verifiable: {u.reason}",
                        time_ms=(time.perf_counter() - start) * 1000)]
    except TooLarge as t:
        span = t.span or fn.span or Span("?", 1, 1, 1, 2)
        return [_result(fn, "function", span, f"{fn.name} is not verified", "unknown",
                        reason=f"resource limit: {t.reason}",
                        time_ms=(time.perf_counter() - start) * 1000)]
    encode_ms = (time.perf_counter() - start) * 1000
    if not enc.obligations:
        return []
    solver = z3.SimpleSolver(ctx=ctx)
    solver.set("random_seed", SEED)
    solver.set("rlimit", rlimit)
    meter = _Rlimit(solver)
    ints = _IntSolver(ctx)
    slicer = FactSlicer(enc.facts, Terms(ctx))
    share = encode_ms / len(enc.obligations)
    results = []
    for ob in enc.obligations:
        results.append(_prove(enc, solver, ints, slicer, meter, ob, fn, share, rlimit))
    return results


class FactSlicer:
    """The facts that bear on one obligation: those connected to it by shared constants.

    A function's facts define its fresh constants (a string literal's bytes, a new object's
    distinctness, a vector length's range); most obligations mention few of them, and a large
    function has thousands. A fact whose constants are all disconnected from an obligation's
    (through every other fact) constrains values the obligation cannot see, and each such
    group of definitions is satisfiable on its own, so leaving it out changes no answer: it
    only spares the solver the work. The groups are the connected components of a union-find
    over constants, built once per function."""

    def __init__(self, facts: list[z3.BoolRef], terms: Terms):
        self.facts = facts
        self.terms = terms
        self.parent: dict[int, int] = {}
        self.rep: dict[int, int] = {}         # node id -> a constant of its DAG, or -1
        self.fact_nodes: list[int] = []      # terms each fact adds to those before it
        self.fact_rep = [self._scan(_consequent(f)) for f in facts]
        self.given: set[int] = set()
        self.given_nodes = 0

    def find(self, c: int) -> int:
        root = c
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[c] != root:
            self.parent[c], c = root, self.parent[c]
        return root

    def union(self, a: int, b: int) -> int:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)
        return min(ra, rb)

    def _scan(self, fact: z3.ExprRef) -> int:
        """Register a fact: union every constant it mentions; returns one of them, or -1."""
        terms = self.terms
        known = len(self.rep)
        stack = [(fact.as_ast(), False)]
        while stack:
            node, expanded = stack.pop()
            key = terms.id(node)
            if not expanded:
                if key in self.rep:
                    continue
                if terms.is_constant(node):
                    self.rep[key] = key
                    self.parent[key] = key
                    continue
                stack.append((node, True))
                stack.extend((c, False) for c in terms.children(node))
                continue
            found = -1
            for c in terms.children(node):
                r = self.rep[terms.id(c)]
                if r >= 0:
                    found = r if found < 0 else self.union(found, r)
            self.rep[key] = found
        self.fact_nodes.append(len(self.rep) - known)
        return self.rep[fact.get_id()]

    def new_relevant(self, *goal: z3.ExprRef) -> tuple[list[int], int]:
        """The facts in the components of the goal's constants (their indices, in order),
        with every fact that mentions no constant at all, less those given before (see
        `give`): the solver keeps the facts of earlier obligations, which cost a later one
        nothing, since each component is satisfiable on its own. Also the size of the whole
        formula the solver would then hold: terms of the facts given and to give, and of the
        goal outside them."""
        terms = self.terms
        roots: set[int] = set()
        goal_nodes = 0
        # Below a term of the facts, its component is known already.
        for key, _ in terms.nodes(*goal, descend=lambda key, node: key not in self.rep
                                  and not terms.is_constant(node)):
            goal_nodes += 1
            r = self.rep.get(key, -1)
            if r >= 0:
                roots.add(self.find(r))
        out = [index for index, r in enumerate(self.fact_rep)
               if index not in self.given and (r < 0 or self.find(r) in roots)]
        size = self.given_nodes + sum(self.fact_nodes[i] for i in out) + goal_nodes
        return out, size

    def give(self, indices: list[int]) -> list[z3.BoolRef]:
        """Record facts as held by the solver; returns them."""
        self.given.update(indices)
        self.given_nodes += sum(self.fact_nodes[i] for i in indices)
        return [self.facts[i] for i in indices]


def _consequent(fact: z3.BoolRef) -> z3.BoolRef:
    """What ties a fact to others: `guard -> body` only through its body. Such a fact is
    true wherever its guard is false, and where the guard holds, its body is satisfiable
    with the rest of its own component, so an obligation that sees only the guard needs it
    not."""
    if z3.is_app_of(fact, z3.Z3_OP_IMPLIES):
        return fact.arg(1)
    return fact


class _IntSolver:
    """The integer translation of facts and obligations, ready to prove them (verify_lia).
    Built lazily: most obligations are settled by the bit-vector search and never need it."""

    def __init__(self, ctx: z3.Context):
        self.ctx = ctx
        self.tr: IntTranslator | None = None
        self.solver: z3.Solver | None = None
        self.pending: list[z3.BoolRef] = []
        self.added = 0

    def assume(self, fact: z3.BoolRef) -> None:
        """A fact of the function, for this obligation and every later one."""
        self.pending.append(fact)

    def prove(self, pc: z3.BoolRef, cond: z3.BoolRef) -> bool:
        """True when the integer translation shows pc -> cond under the facts assumed so
        far; False proves nothing."""
        if self.tr is None or self.solver is None:
            self.tr = IntTranslator(self.ctx)
            self.solver = z3.Solver(ctx=self.ctx)
            self.solver.set("random_seed", SEED)
            self.solver.set("rlimit", INT_RLIMIT)
        for fact in self.pending:
            self.solver.add(*self.tr.assumptions(fact))
        self.pending = []
        try:
            goal = self.tr.formula(z3.Not(cond))
        except NotLinear:
            return False
        hyps = self.tr.assumptions(pc)
        self.flush()
        self.solver.push()
        self.solver.add(*hyps)
        self.solver.add(goal)
        answer = self.solver.check()
        self.solver.pop()
        return answer == z3.unsat

    def flush(self) -> None:
        """Definitions of the wrap-around and quotient variables stay for good: memoized
        translations refer to them."""
        assert self.tr is not None and self.solver is not None
        side = self.tr.side
        for c in side[self.added:]:
            self.solver.add(c)
        self.added = len(side)


def _result(fn: ir.Function, kind: str, span: Span, message: str, result: str,
            **extra: Any) -> ObligationResult:
    return ObligationResult(fn.name, kind, span.file, span.line, span.col, span.end_line,
                            span.end_col, message, result, **extra)


def _prove(enc: FunctionEncoder, solver: z3.Solver, ints: _IntSolver, slicer: FactSlicer,
           meter: _Rlimit, ob: Obligation, fn: ir.Function, share_ms: float,
           rlimit: int) -> ObligationResult:
    t0 = time.perf_counter()
    extra: dict[str, Any] = {"note": ob.note, "expect": list(ob.expect)}
    if ob.unmodelled:
        return _result(fn, ob.kind, ob.span, ob.message, "unknown",
                       reason=f"not modelled: {ob.unmodelled}", **extra)
    goal = z3.Implies(ob.pc, ob.cond)
    if z3.is_true(z3.simplify(goal)):
        ms = (time.perf_counter() - t0) * 1000 + share_ms
        return _result(fn, ob.kind, ob.span, ob.message, "proved", time_ms=ms, **extra)
    before = meter.last
    heavy_float = ob.uses_floats and _float_arithmetic(ob, enc.float_memo, slicer.terms)
    facts, size = slicer.new_relevant(ob.pc, ob.cond)
    if size > MAX_FORMULA_NODES:
        ms = (time.perf_counter() - t0) * 1000 + share_ms
        return _result(fn, ob.kind, ob.span, ob.message, "unknown",
                       reason=f"resource limit: the formula has {size} terms (the limit is "
                              f"{MAX_FORMULA_NODES})", time_ms=ms, **extra)
    for fact in slicer.give(facts):
        solver.add(fact)
        ints.assume(fact)
    solver.push()
    solver.add(ob.pc)
    solver.add(z3.Not(ob.cond))
    answer = z3.unknown
    reason = ""
    integers_first = not heavy_float and _costly_in_bits(ob, enc.bits_memo, slicer.terms)
    if integers_first and ints.prove(ob.pc, ob.cond):
        answer = z3.unsat
    elif not heavy_float:
        # Most obligations are settled by a short bit-vector search.
        solver.set("rlimit", QUICK_RLIMIT)
        answer = solver.check()
    if answer == z3.unknown and not integers_first and ints.prove(ob.pc, ob.cond):
        answer = z3.unsat
    elif answer == z3.unknown and heavy_float:
        reason = ("not verifiable: float reasoning (the proof needs IEEE arithmetic, which "
                  "the verifier does not attempt)")
    elif answer == z3.unknown:
        solver.set("rlimit", min(FLOAT_RLIMIT, rlimit) if ob.uses_floats else rlimit)
        answer = solver.check()
        if answer == z3.unknown:
            why = solver.reason_unknown()
            reason = f"resource limit reached ({why})" if "cancel" in why or "limit" in why \
                else f"solver gave up ({why})"
            if ob.uses_floats:
                reason = "not verifiable: float reasoning exceeded the resource limit"
    model = None
    if answer == z3.unknown and not ob.uses_floats and \
            _quantified(ob, enc.quant_memo, slicer.terms):
        # Z3 rarely refutes a false quantified claim over unbounded vectors, but with every
        # vector and string of the inputs short, the quantifiers range over a few indices:
        # a model found then is a model of the unbounded formula too.
        model = _small_model(enc, solver, SMALL_MODEL_RLIMIT)
        if model is not None:
            answer, reason = z3.sat, ""
    cx = None
    if answer == z3.sat:
        cx = _counterexample(enc, solver, ob, model)
        result = "failed"
    else:
        result = "proved" if answer == z3.unsat else "unknown"
    used = meter.read() - before
    solver.pop()
    ms = (time.perf_counter() - t0) * 1000 + share_ms
    return _result(fn, ob.kind, ob.span, ob.message, result, reason=reason, rlimit=used,
                   time_ms=ms, counterexample=cx, **extra)


_FLOAT_ARITHMETIC = frozenset({
    z3.Z3_OP_FPA_ADD, z3.Z3_OP_FPA_SUB, z3.Z3_OP_FPA_MUL, z3.Z3_OP_FPA_DIV,
    z3.Z3_OP_FPA_REM, z3.Z3_OP_FPA_FMA, z3.Z3_OP_FPA_SQRT, z3.Z3_OP_FPA_ROUND_TO_INTEGRAL,
})


def _costly_in_bits(ob: Obligation, memo: dict[int, bool], terms: Terms) -> bool:
    """Whether bit-blasting the obligation is costly enough that the integer translation
    should come first: a quantifier (bit-vector quantifier instantiation rarely ends within
    the short budget) or a 64-bit division or product of two variables (its circuit alone
    takes a good part of a second to build)."""
    return _obligation_has(ob, memo, terms, _is_costly_in_bits)


def _is_costly_in_bits(terms: Terms, node: RawAst) -> bool:
    if terms.is_quantifier(node):
        return True
    if terms.op(node) not in _WIDE_OPERATIONS:
        return False
    a, b = terms.children(node)[:2]
    return terms.bv_size(a) == 64 and not terms.is_numeral(a) and not terms.is_numeral(b)


_WIDE_OPERATIONS = frozenset({
    z3.Z3_OP_BMUL, z3.Z3_OP_BSDIV, z3.Z3_OP_BSDIV_I, z3.Z3_OP_BUDIV, z3.Z3_OP_BUDIV_I,
    z3.Z3_OP_BSREM, z3.Z3_OP_BSREM_I, z3.Z3_OP_BUREM, z3.Z3_OP_BUREM_I, z3.Z3_OP_BSMOD,
    z3.Z3_OP_BSMOD_I,
})


def _quantified(ob: Obligation, memo: dict[int, bool], terms: Terms) -> bool:
    return _obligation_has(ob, memo, terms, _is_quantifier)


def _obligation_has(ob: Obligation, memo: dict[int, bool], terms: Terms,
                    test: Callable[[Terms, RawAst], bool]) -> bool:
    """Whether a node of the obligation's path condition or claim passes `test`."""
    return has_node(terms, ob.pc, memo, test) or has_node(terms, ob.cond, memo, test)


def _is_quantifier(terms: Terms, node: RawAst) -> bool:
    return terms.is_quantifier(node)


def _float_arithmetic(ob: Obligation, memo: dict[int, bool], terms: Terms) -> bool:
    """Whether the obligation's formula does IEEE arithmetic (bit-blasting one f64 product
    already takes Z3 about a second, so such proofs are declined, not attempted)."""
    return _obligation_has(ob, memo, terms, _is_float_arithmetic)


def _is_float_arithmetic(terms: Terms, node: RawAst) -> bool:
    return terms.op(node) in _FLOAT_ARITHMETIC


# --- counterexamples ----------------------------------------------------------------------

def _small_model(enc: FunctionEncoder, solver: z3.Solver, rlimit: int) -> z3.ModelRef | None:
    """A model of the solver's formula with short vectors and strings (and small integers,
    when that is possible) among the inputs, or None when none is found within `rlimit`."""
    solver.set("rlimit", rlimit)
    for bounds in (_small_bounds(enc, ints=True), _small_bounds(enc, ints=False)):
        if not bounds:
            continue
        solver.push()
        solver.add(*bounds)
        found = solver.check() == z3.sat
        model = solver.model() if found else None
        solver.pop()
        if model is not None:
            return model
    return None


def _counterexample(enc: FunctionEncoder, solver: z3.Solver, ob: Obligation,
                    model: z3.ModelRef | None = None) -> dict[str, Any]:
    """Inputs at entry and values along the path, preferring small ones (`model`, when the
    caller has found a small one already)."""
    if model is None:
        found = solver.model()          # taken first: the searches below replace it
        model = _small_model(enc, solver, MODEL_RLIMIT) or found
    reader = _ModelReader(enc, model)
    inputs = []
    args = []
    for p, term in enc.entry:
        value = reader.value(term, p.type)
        args.append(value)
        inputs.append([p.name, render_value(value)])
    path = []
    holds = _GuardReader(model, ob.pc)
    for ev in ob.trace:
        if not holds(ev.guard):
            continue
        if is_mutable_ref(ev.type):
            continue
        value = reader.value(ev.term, ev.type)
        path.append([ev.span.line, ev.name, render_value(value), ev.note])
    return {"inputs": inputs, "path": path, "args": args}


class _GuardReader:
    """Whether a path condition holds in a model. A model does not evaluate quantifiers, so
    a guard that assumes a quantified invariant stays open; the quantified conjuncts of the
    obligation's own path condition hold in its model, so they are replaced by true first."""

    def __init__(self, model: z3.ModelRef, pc: z3.BoolRef):
        self.model = model
        conjuncts, stack = [], [pc]
        while stack:
            c = stack.pop()
            if z3.is_and(c):
                stack.extend(c.children())
            elif z3.is_quantifier(c):
                conjuncts.append(c)
        self.true = [(c, z3.BoolVal(True, c.ctx)) for c in conjuncts]

    def __call__(self, guard: z3.BoolRef) -> bool:
        value = self.model.eval(guard, model_completion=True)
        if not z3.is_true(value) and not z3.is_false(value) and self.true:
            value = self.model.eval(z3.substitute(guard, *self.true), model_completion=True)
        return z3.is_true(value)


def is_mutable_ref(t: ir.Type) -> bool:
    return isinstance(t, (ir.VecT, ir.ArrayT, ir.StructT, ir.MapT))


def _small_bounds(enc: FunctionEncoder, ints: bool) -> list[z3.BoolRef]:
    """Constraints that make a counterexample short: small vectors and strings among the
    parameters and the fields of struct parameters (and small integers, when `ints`)."""
    out: list[z3.BoolRef] = []
    for p, term in enc.entry:
        if term is not None:
            _bound_value(enc, term, p.type, ints, out, depth=0)
    return out


def _bound_value(enc: FunctionEncoder, term: z3.ExprRef, t: ir.Type, ints: bool,
                 out: list[z3.BoolRef], depth: int) -> None:
    if t == ir.STR:
        out.append(z3.ULE(enc.str_len(term), SMALL_LENGTH * 2))
    elif isinstance(t, ir.VecT):
        len_sort, _ = enc.seq_regions(t)
        enc.region_sorts.setdefault(region_len(t), len_sort)
        out.append(z3.ULE(z3.Select(enc.epoch_base(region_len(t), 0), term), SMALL_LENGTH))
    elif ints and t in (ir.I32, ir.I64):
        out.append(z3.And(term >= -SMALL_INT, term <= SMALL_INT))
    elif isinstance(t, ir.StructT) and depth < 2:
        for i, (_, ft) in enumerate(enc.program.structs[t.name].fields):
            _, sort = enc.field_sort(t.name, i)
            enc.region_sorts.setdefault(region_field(t.name, i), sort)
            cell = enc.epoch_base(region_field(t.name, i), 0)[term]
            _bound_value(enc, cell, ft, ints, out, depth + 1)


class _OpenValue(Exception):
    """A value the model does not fix (see `_ModelReader.number`)."""


class _ModelReader:
    """Values of the entry state in a model, as JSON-able trees (see render_value)."""

    def __init__(self, enc: FunctionEncoder, model: z3.ModelRef):
        self.enc = enc
        self.model = model
        self.seen: dict[tuple[str, int], int] = {}

    def eval(self, term: z3.ExprRef) -> z3.ExprRef:
        return self.model.eval(term, model_completion=True)

    def number(self, term: z3.ExprRef, signed: bool = True) -> int:
        """The integer a bit-vector term has in the model. A model of a formula with
        quantifiers may leave a term open (an expression, not a value): _OpenValue then."""
        v = self.eval(term)
        if not z3.is_bv_value(v):
            raise _OpenValue()
        return v.as_signed_long() if signed else v.as_long()

    def value(self, term: z3.ExprRef | None, t: ir.Type, depth: int = 0) -> dict[str, Any]:
        try:
            return self._value(term, t, depth)
        except _OpenValue:
            return {"t": "opaque", "why": "the solver's model leaves this value open"}

    def _value(self, term: z3.ExprRef | None, t: ir.Type, depth: int) -> dict[str, Any]:
        if term is None:
            return {"t": "unit"}
        if t in INT_BITS:
            n = self.number(term, signed=t != ir.U8)
            return {"t": str(t), "v": n}  # str of a Prim other than unit: its name
        if t == ir.BOOL:
            return {"t": "bool", "v": z3.is_true(self.eval(term))}
        if t in ir.FLOAT_TYPES:
            return {"t": str(t), "v": self.float_value(term, t)}
        if t == ir.STR:
            n = self.number(self.enc.str_len(term))
            if n < 0 or n > MAX_REPLAY_ELEMENTS:
                return {"t": "opaque", "why": f"a string of {n} bytes"}
            data = self.enc.str_bytes(term)
            return {"t": "str", "v": bytes(self.number(data[self.enc.i32(i)], signed=False)
                                           for i in range(n)).hex()}
        if depth > 6:
            return {"t": "opaque", "why": "nested too deeply"}
        ref = self.number(term, signed=False)
        key = (type_key(t), ref)
        if key in self.seen:
            return {"t": "ref", "id": self.seen[key]}
        self.seen[key] = len(self.seen)
        ident = self.seen[key]
        if isinstance(t, (ir.VecT, ir.ArrayT)):
            return self.sequence(term, t, ident, depth)
        if isinstance(t, ir.StructT):
            fields = []
            for i, (name, ft) in enumerate(self.enc.program.structs[t.name].fields):
                _, sort = self.enc.field_sort(t.name, i)
                self.enc.region_sorts.setdefault(region_field(t.name, i), sort)
                cell = self.enc.epoch_base(region_field(t.name, i), 0)[term]
                fields.append([name, self.value(cell, ft, depth + 1)])
            return {"t": "struct", "name": t.name, "id": ident, "fields": fields}
        if isinstance(t, ir.EnumT):
            tag = self.number(self.enc.enum_tag(t.name)(term))
            variants = self.enc.program.enums[t.name].variants
            if not 0 <= tag < len(variants):
                tag = 0
            v = variants[tag]
            args = [self.value(self.enc.enum_payload(t.name, tag, i)(term), ft, depth + 1)
                    for i, ft in enumerate(v.fields)]
            return {"t": "enum", "name": t.name, "variant": v.name, "tag": tag, "id": ident,
                    "args": args}
        return {"t": "opaque", "why": f"values of type {t} are not modelled"}

    def sequence(self, term: z3.ExprRef, t: ir.VecT | ir.ArrayT, ident: int,
                 depth: int) -> dict[str, Any]:
        enc = self.enc
        len_sort, data_sort = enc.seq_regions(t)
        if isinstance(t, ir.ArrayT):
            n = t.size
        else:
            enc.region_sorts.setdefault(region_len(t), len_sort)
            n = self.number(z3.Select(enc.epoch_base(region_len(t), 0), term))
        if n < 0 or n > MAX_REPLAY_ELEMENTS:
            return {"t": "opaque", "why": f"a sequence of {n} elements"}
        enc.region_sorts.setdefault(region_data(t), data_sort)
        data = enc.epoch_base(region_data(t), 0)[term]
        elems = [self.value(data[enc.i32(i)], t.elem, depth + 1) for i in range(n)]
        kind = "vec" if isinstance(t, ir.VecT) else "array"
        return {"t": kind, "type": type_key(t), "elem": type_key(t.elem), "id": ident,
                "elems": elems}

    def float_value(self, term: z3.ExprRef, t: ir.Type) -> str:
        v = self.eval(term)
        if z3.is_true(self.eval(z3.fpIsNaN(term, ctx=self.enc.ctx))):
            return "nan"
        bits = self.number(z3.fpToIEEEBV(v, ctx=self.enc.ctx), signed=False)
        if t == ir.F32:
            x = struct.unpack("<f", struct.pack("<I", bits))[0]
        else:
            x = struct.unpack("<d", struct.pack("<Q", bits))[0]
        return repr(x)


def render_value(v: dict[str, Any]) -> str:
    """A value tree in source syntax."""
    kind = v["t"]
    if kind in ("i32", "i64", "u8"):
        return str(v["v"])
    if kind == "bool":
        return "true" if v["v"] else "false"
    if kind in ("f32", "f64"):
        return v["v"]
    if kind == "str":
        return _str_literal(bytes.fromhex(v["v"]))
    if kind in ("vec", "array"):
        return "[" + ", ".join(render_value(e) for e in v["elems"]) + "]"
    if kind == "struct":
        short = v["name"].rsplit(".", 1)[-1]
        return f"{short}(" + ", ".join(f"{n}: {render_value(x)}" for n, x in v["fields"]) + ")"
    if kind == "enum":
        if not v["args"]:
            return v["variant"]
        return f"{v['variant']}(" + ", ".join(render_value(a) for a in v["args"]) + ")"
    if kind == "ref":
        return f"(the same object as above, #{v['id']})"
    if kind == "unit":
        return "()"
    return f"<{v.get('why', 'unknown')}>"


def _str_literal(data: bytes) -> str:
    out = []
    for b in data:
        c = chr(b)
        if c == '"' or c == "\\":
            out.append("\\" + c)
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif 32 <= b < 127:
            out.append(c)
        else:
            out.append(f"\\x{b:02x}")
    return '"' + "".join(out) + '"'


# --- programs -----------------------------------------------------------------------------

def functions_to_verify(program: ir.Program, skip: frozenset[str] = frozenset()) \
        -> list[ir.Function]:
    """Every function with a body outside the prelude and the `skip` modules, in declaration
    order."""
    return [fn for name, fn in program.functions.items()
            if fn.body is not None and fn.extern_module is None
            and not name.startswith("prelude.") and name.rsplit(".", 1)[0] not in skip]


def imported_stdlib_modules(loaded: LoadedProgram) -> frozenset[str]:
    """Modules that come from stdlib/ by import (the entry module never counts)."""
    out = set()
    for name, module in loaded.modules.items():
        if name in ("main", "prelude"):
            continue
        try:
            if Path(module.file).resolve().is_relative_to(STDLIB_DIR):
                out.add(name)
        except (OSError, ValueError):
            continue
    return frozenset(out)


def verify_program(program: ir.Program, *, cache: VerifyCache | None = None,
                   read_cache: bool = True, rlimit: int = DEFAULT_RLIMIT,
                   only: set[str] | None = None,
                   skip: frozenset[str] = frozenset()) -> list[FunctionReport]:
    """Verify every function of a checked program (or those named in `only`). With a cache,
    results are stored; they are also reused unless `read_cache` is false."""
    effects = analyze_effects(program)
    groups = recursive_groups(call_graph(program))
    reports: list[FunctionReport] = []
    todo: list[tuple[int, ir.Function, str]] = []
    for fn in functions_to_verify(program, skip):
        if only is not None and fn.name not in only:
            continue
        t0 = time.perf_counter()
        key = function_key(program, effects, groups, fn, rlimit)
        cached = cache.get(key) if cache is not None and read_cache else None
        if cached is not None:
            for r in cached:
                r.cached = True
            reports.append(FunctionReport(fn.name, key, cached,
                                          (time.perf_counter() - t0) * 1000, True))
            continue
        todo.append((len(reports), fn, key))
        reports.append(FunctionReport(fn.name, key, []))
    solved = _solve_all(program, effects, groups, [fn for _, fn, _ in todo], rlimit)
    for (at, fn, key), (results, ms) in zip(todo, solved):
        if cache is not None:
            cache.put(key, results)
        reports[at] = FunctionReport(fn.name, key, results, ms, False)
    return reports


# Functions are proved in separate solver contexts, so they can be proved in separate
# processes: each result depends only on its function (11.7), never on which process or in
# what order, and the reports are put back in program order.
MIN_FUNCTIONS_PER_JOB = 8
_shared: tuple[Any, ...] = ()


def verify_jobs() -> int:
    """How many processes prove functions: SYN_VERIFY_JOBS, or the CPUs this process may use."""
    configured = os.environ.get("SYN_VERIFY_JOBS", "")
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def _solve_all(program: ir.Program, effects: dict[str, Effects],
               groups: dict[str, frozenset[str]], todo: list[ir.Function],
               rlimit: int) -> list[tuple[list[ObligationResult], float]]:
    keep_freed_memory()
    jobs = min(verify_jobs(), len(todo) // MIN_FUNCTIONS_PER_JOB)
    if jobs < 2 or sys.platform == "win32":
        return [_solve_timed(program, effects, groups, fn, rlimit) for fn in todo]
    import multiprocessing
    global _shared
    # Forked workers inherit the checked program instead of receiving it pickled.
    _shared = (program, effects, groups, rlimit)
    try:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            return pool.map(_solve_by_name, [fn.name for fn in todo], chunksize=1)
    finally:
        _shared = ()


# Each Z3 context allocates a block of some megabytes that glibc's malloc serves by mmap and
# unmaps when the context is deleted, so every function paid ~10 ms of page faults to make its
# context (and cost 8x its solving for small functions). Raising the mmap and trim thresholds
# keeps that memory in the heap for the next context: ~1.3 ms instead. It changes no result.
MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 64 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3     # glibc's mallopt parameters


def keep_freed_memory() -> None:
    """Ask glibc's malloc to reuse freed blocks (a no-op where malloc is not glibc's)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is not None:
        mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)


def _solve_by_name(name: str) -> tuple[list[ObligationResult], float]:
    program, effects, groups, rlimit = _shared
    return _solve_timed(program, effects, groups, program.functions[name], rlimit)


def _solve_timed(program: ir.Program, effects: dict[str, Effects],
                 groups: dict[str, frozenset[str]], fn: ir.Function,
                 rlimit: int) -> tuple[list[ObligationResult], float]:
    t0 = time.perf_counter()
    results = solve_function(program, effects, groups, fn, rlimit)
    return results, (time.perf_counter() - t0) * 1000


def load_checked(path: str, text: str | None = None, *, lib: bool = False) \
        -> tuple[LoadedProgram | None, ir.Program | None, list[Diagnostic]]:
    """Parse and check a program for verification: (loaded modules, program, diagnostics)."""
    if sys.getrecursionlimit() < 20000:
        sys.setrecursionlimit(20000)
    loaded = None
    try:
        loaded = load_program(path, text)
        program = check_program(loaded, lib=lib)
    except CompileError as e:
        return loaded, None, list(e.diagnostics)
    return loaded, program, []


def verify_file(path: str, text: str | None = None, *, lib: bool = False,
                cache: VerifyCache | None = None, read_cache: bool = True,
                rlimit: int = DEFAULT_RLIMIT, replay: bool = True,
                only: set[str] | None = None, stdlib: bool = False) -> VerifyReport:
    """Check, verify and (for failures) replay the program whose entry file is `path`.
    Imported stdlib modules are verified only with `stdlib` (they are verified on their own,
    in CI; a program relies on their contracts like on any callee's)."""
    start = time.perf_counter()
    loaded, program, diagnostics = load_checked(path, text, lib=lib)
    sources = loaded.sources if loaded is not None else ({path: text} if text else {})
    if program is None or loaded is None:
        return VerifyReport([], sources, time.perf_counter() - start, diagnostics)
    skip = frozenset() if stdlib else imported_stdlib_modules(loaded)
    functions = verify_program(program, cache=cache, read_cache=read_cache, rlimit=rlimit,
                               only=only, skip=skip)
    report = VerifyReport(functions, sources, 0.0)
    if replay:
        from .replay import replay_failures
        replay_failures(report, path, loaded, program, cache)
    report.seconds = time.perf_counter() - start
    return report

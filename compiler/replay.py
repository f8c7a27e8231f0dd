"""Replay: run a function of a compiled program on concrete inputs, to confirm counterexamples.

The verifier (verify.py) reports a failed proof with the inputs a Z3 model gives at function
entry. This module builds those inputs in `.syn` source, appended to the program's own entry
file as small "case" functions (so every trap message keeps its file and line), plus an entry
point that picks a case by the request input. It compiles that program once (check.py,
lower.py, with `ir.Program.entry` pointed at the chooser), runs each case in the sandbox, and
says whether the run really fails the way the proof said it could:

- confirmed: the run traps with the expected message (the contract's, or the bounds, division,
  conversion or pop message at the expected place);
- different: it traps, but otherwise (another check fails first);
- spurious: it runs to completion, so the model was not a real execution (typically a loop
  invariant or callee contract too weak to carry the facts the proof needed);
- inconclusive / not run: it ran out of fuel or memory, or the inputs cannot be built.

A failed `decreases` obligation usually means a run that never ends, which the sandbox can only
stop for want of fuel. Such cases are run in a harness of their own in which the loops of the
function check their measure at the back edge (`check_measures`), as the verifier does: the run
traps with `decreases failed: ...` at the first iteration whose measure does not go down, which
confirms the failure. The program the user builds never has these checks.
"""

from __future__ import annotations

import copy
import hashlib
import sys
from dataclasses import dataclass
from typing import Any, TYPE_CHECKING

from . import ir
from .check import check_program
from .diagnostics import CompileError
from .loader import LoadedProgram, load_program
from .lower import lower_program
from .verify_effects import call_graph, decreases_of, recursive_groups, walk

if TYPE_CHECKING:
    from .verify import ObligationResult, VerifyCache, VerifyReport

REPLAY_FUEL = 200_000_000
ENTRY = "syn_replay_main"
CASE = "syn_replay_case_"
MEASURE = "syn_replay_measure_"
MEASURE_TRAP = "decreases failed"       # verify_loops.py expects this in the trap message


class NotBuildable(Exception):
    """An input the harness cannot write in source (a map, a string too long, a cycle)."""


@dataclass
class Case:
    function: ir.Function
    args: list[dict[str, Any]]
    expect: list[str]


def replay_failures(report: "VerifyReport", path: str, loaded: LoadedProgram,
                    program: ir.Program, cache: "VerifyCache | None" = None) -> None:
    """Replay every failed obligation that has a counterexample; fill in `replay`.

    Outcomes are cached per function under the function's verification key and a hash of
    every source file (a run depends on the code of everything it calls)."""
    digest = hashlib.sha256()
    for name in sorted(loaded.sources):
        digest.update(name.encode() + b"\0" + loaded.sources[name].encode() + b"\0")
    entry_text = loaded.sources.get(path, "")
    aliases = {module: alias for alias, module in loaded.imports.get("main", {}).items()}
    cases: list[tuple["ObligationResult", Case]] = []
    pending: list[tuple[str, list["ObligationResult"]]] = []
    for f in report.functions:
        todo = [o for o in f.obligations if o.result == "failed" and o.counterexample]
        if not todo:
            continue
        key = hashlib.sha256(f"{f.key}|{digest.hexdigest()}|replay".encode()).hexdigest()
        stored = cache.get_replays(key) if cache is not None else None
        if stored is not None and len(stored) == len(todo):
            for o, outcome in zip(todo, stored):
                o.replay = outcome
            continue
        fn = program.functions.get(f.name)
        for o in todo:
            if fn is None:
                o.replay = {"status": "not run", "detail": f"{o.function} not found"}
            else:
                args = (o.counterexample or {}).get("args", [])
                cases.append((o, Case(fn, list(args), o.expect)))
        pending.append((key, todo))
    if cases:
        outcomes = run_cases(path, entry_text, aliases, program, [c for _, c in cases])
        for (o, _), outcome in zip(cases, outcomes):
            o.replay = outcome
    if cache is not None:
        for key, todo in pending:
            cache.put_replays(key, [o.replay or {} for o in todo])


def run_cases(path: str, entry_text: str, aliases: dict[str, str], program: ir.Program,
              cases: list[Case]) -> list[dict[str, Any]]:
    """Run every case; one outcome dict per case. Cases of `decreases` obligations get a
    harness of their own, whose loops check their measures."""
    outcomes: list[dict[str, Any]] = [{} for _ in cases]
    measured = [k for k, c in enumerate(cases) if MEASURE_TRAP in c.expect]
    plain = [k for k in range(len(cases)) if k not in measured]
    for group, checked in ((plain, False), (measured, True)):
        if group:
            results = _run_harness(path, entry_text, aliases, program,
                                   [cases[k] for k in group], checked)
            for k, outcome in zip(group, results):
                outcomes[k] = outcome
    return outcomes


def _run_harness(path: str, entry_text: str, aliases: dict[str, str], program: ir.Program,
                 cases: list[Case], measures: bool) -> list[dict[str, Any]]:
    """Build one harness for all cases, run each; one outcome dict per case."""
    harness = _Harness(aliases, program)
    bodies: list[str | None] = []
    outcomes: list[dict[str, Any] | None] = []
    for k, case in enumerate(cases):
        try:
            bodies.append(harness.case(k, case))
            outcomes.append(None)
        except NotBuildable as e:
            bodies.append(None)
            outcomes.append({"status": "not run", "detail": f"cannot build the inputs: {e}"})
    runnable = [k for k, b in enumerate(bodies) if b is not None]
    if not runnable:
        return [o or {} for o in outcomes]
    source = entry_text + "\n" + harness.imports() + "\n".join(
        b for b in bodies if b is not None) + "\n" + _chooser(runnable)
    checked = sorted({c.function.name for c in cases}) if measures else []
    wasm, error = _compile(path, source, checked)
    if wasm is None:
        for k in runnable:
            outcomes[k] = {"status": "not run", "detail": f"the replay does not compile: {error}"}
        return [o or {} for o in outcomes]
    from synapse.runtime.sandbox import run_module
    for k in runnable:
        run = run_module(wasm, str(k).encode(), fuel=REPLAY_FUEL)
        outcomes[k] = classify(run, cases[k].expect)
    return [o or {} for o in outcomes]


def classify(run: Any, expect: list[str]) -> dict[str, Any]:
    if run.status == "ok":
        return {"status": "spurious", "detail": "the compiled function runs to completion on "
                "these inputs; the model is not a real execution (a loop invariant or a "
                "callee's contract may be too weak)"}
    if run.status == "exhausted":
        return {"status": "inconclusive", "detail": f"the run exhausted its {run.exhausted}"}
    message = run.message or ""
    where = f" in {run.function}" if run.function else ""
    if all(e in message for e in expect):
        return {"status": "confirmed", "detail": f"trap: {message}{where}", "message": message}
    return {"status": "different", "detail": f"the run traps otherwise: {message}{where}",
            "message": message}


def _chooser(cases: list[int]) -> str:
    lines = [f"fn {ENTRY}() {{", "    let which = input();"]
    for k in cases:
        lines.append(f'    if which == "{k}" {{ {CASE}{k}(); }}')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _compile(path: str, source: str, measured: list[str]) -> tuple[bytes | None, str]:
    if sys.getrecursionlimit() < 20000:
        sys.setrecursionlimit(20000)
    try:
        loaded = load_program(path, source)
        program = check_program(loaded, lib=True)
        program.entry = f"main.{ENTRY}"
        for name in measured:
            if name in program.functions:
                check_measures(program.functions[name], program)
        return lower_program(program, check_ghosts=True).encode(), ""
    except CompileError as e:
        return None, "; ".join(d.message for d in e.diagnostics[:3])


# --- measures checked at run time (replays of `decreases` failures only) ---------------------

def check_measures(fn: ir.Function, program: ir.Program) -> None:
    """Give every `while` loop of `fn` that has a `decreases` measure a check at its back edge
    (the end of the body and each `continue`): the measure, taken again, must be below its value
    at the start of the iteration, lexicographically, each decreasing part non-negative. When
    `fn` itself has a measure, every call back into its recursion group checks, before the
    call, that the callee's measure on the arguments is below the measure `fn` had on entry."""
    for loop in _loops(fn.body):
        if loop.decreases:
            _check_loop(fn, loop)
    if fn.decreases and fn.body is not None:
        _check_recursion(fn, program)


def _check_recursion(fn: ir.Function, program: ir.Program) -> None:
    group = recursive_groups(call_graph(program)).get(fn.name, frozenset())
    assert fn.body is not None  # the caller checks
    span = fn.body.span
    saved = [_new_local(fn, f"{MEASURE}entry{k}", m.type)
             for k, m in enumerate(decreases_of(fn))]
    entry: list[ir.Expr] = [ir.Let(ir.UNIT, span, local, m)
                            for local, m in zip(saved, decreases_of(fn))]

    def guarded(x: Any) -> Any:
        if isinstance(x, (ir.Expr, ir.Arm)):
            _rewrite_children(x, guarded)
        if isinstance(x, ir.Call) and x.func in group:
            return _measured_call(fn, program.functions[x.func], x, saved)
        return x

    fn.body = ir.Block(fn.body.type, span, entry, guarded(fn.body))


def _measured_call(fn: ir.Function, callee: ir.Function, call: ir.Call,
                   saved: list[ir.Local]) -> ir.Expr:
    """`{ let a0 = arg0; ...; check measure(callee)[params := a] < saved; callee(a0, ...) }`,
    or the call unchanged when the callee's measure mentions more than its parameters."""
    span = call.span
    temps = [_new_local(fn, f"{MEASURE}arg{k}", a.type) for k, a in enumerate(call.args)]
    mapping = {p.index: t for p, t in zip(callee.params, temps)}
    try:
        measure = [_substitute(m, mapping) for m in decreases_of(callee)]
    except NotBuildable:
        return call
    message = (f"{MEASURE_TRAP}: the measure of {callee.name} does not go down at the call "
               f"at {span.file}:{span.line}")
    check = ir.Check(ir.UNIT, span, ir.Contract("assert", _lex_less(measure, saved, span),
                                                message, span))
    lets: list[ir.Expr] = [ir.Let(ir.UNIT, span, t, a) for t, a in zip(temps, call.args)]
    args: list[ir.Expr] = [ir.LocalGet(t.type, span, t) for t in temps]
    return ir.Block(call.type, span, lets + [check],
                    ir.Call(call.type, span, call.func, args))


def _substitute(e: ir.Expr, mapping: dict[int, ir.Local]) -> ir.Expr:
    """A copy of the callee's measure `e` reading `mapping[param]` for each parameter."""
    out = copy.deepcopy(e)
    for node in walk(out):
        if isinstance(node, ir.LocalGet):
            if node.local.index not in mapping:
                raise NotBuildable("a measure reading more than the parameters")
            node.local = mapping[node.local.index]
        elif isinstance(node, (ir.Let, ir.LocalSet, ir.Forall, ir.Exists, ir.Match)):
            raise NotBuildable("a measure with local bindings")
    return out


def _new_local(fn: ir.Function, name: str, t: ir.Type) -> ir.Local:
    local = ir.Local(len(fn.locals), name, t, True)
    fn.locals.append(local)
    return local


def _rewrite_children(e: ir.Expr | ir.Arm, rewrite: Any) -> None:
    for name, value in vars(e).items():
        if isinstance(value, list):
            value[:] = [rewrite(x) for x in value]
        elif isinstance(value, (ir.Expr, ir.Arm)):
            setattr(e, name, rewrite(value))


def _loops(e: Any):
    if isinstance(e, ir.While):
        yield e
    for child in _children(e):
        yield from _loops(child)


def _children(e: Any):
    if not isinstance(e, (ir.Expr, ir.Arm)):
        return
    for value in vars(e).values():
        if isinstance(value, (ir.Expr, ir.Arm)):
            yield value
        elif isinstance(value, list):
            yield from (x for x in value if isinstance(x, (ir.Expr, ir.Arm)))


def _check_loop(fn: ir.Function, loop: ir.While) -> None:
    span = loop.span
    measure = [x.cond if isinstance(x, ir.Contract) else x for x in loop.decreases]
    saved = []
    for k, m in enumerate(measure):
        local = ir.Local(len(fn.locals), f"{MEASURE}{k}", m.type, True)
        fn.locals.append(local)
        saved.append(local)
    message = (f"{MEASURE_TRAP}: the measure of the loop at line {span.line} does not go down "
               f"at {span.file}:{span.line}")
    check = ir.Check(ir.UNIT, span, ir.Contract("assert", _lex_less(measure, saved, span),
                                                message, span))
    _guard_continues(loop.body, check)
    starts: list[ir.Expr] = [ir.Let(ir.UNIT, span, local, m) for local, m in zip(saved, measure)]
    loop.body = ir.Block(ir.UNIT, span, starts + [loop.body, check], None)


def _lex_less(measure: list[ir.Expr], saved: list[ir.Local], span: Any) -> ir.Expr:
    """The IR of verify_encode's `lex_less(now, before)`."""
    options: list[ir.Expr] = []
    for j, (now, local) in enumerate(zip(measure, saved)):
        before = ir.LocalGet(local.type, span, local)
        parts: list[ir.Expr] = [
            ir.Binary(ir.BOOL, span, "eq", measure[i],
                      ir.LocalGet(saved[i].type, span, saved[i]), saved[i].type)
            for i in range(j)]
        parts.append(ir.Binary(ir.BOOL, span, "lt", now, before, local.type))
        parts.append(ir.Binary(ir.BOOL, span, "ge", before, ir.IntConst(local.type, span, 0),
                               local.type))
        options.append(_fold(parts, "and", span))
    return _fold(options, "or", span)


def _fold(items: list[ir.Expr], op: str, span: Any) -> ir.Expr:
    out = items[0]
    for item in items[1:]:
        out = ir.Binary(ir.BOOL, span, op, out, item, ir.BOOL)
    return out


def _guard_continues(e: ir.Expr | ir.Arm, check: ir.Check) -> None:
    """Put `check` before every `continue` of this loop (not of loops nested in it)."""
    def guarded(x: Any) -> Any:
        if isinstance(x, ir.Continue):
            return ir.Block(x.type, x.span, [check, x], None)
        if isinstance(x, (ir.Expr, ir.Arm)) and not _is_loop(x):
            _guard_continues(x, check)
        return x

    for name, value in vars(e).items():
        if isinstance(value, list):
            value[:] = [guarded(x) for x in value]
        else:
            setattr(e, name, guarded(value))


def _is_loop(e: ir.Expr | ir.Arm) -> bool:
    return isinstance(e, (ir.While, ir.ForRange, ir.ForEach, ir.Forall))


class _Harness:
    """Writes values as `.syn` statements."""

    def __init__(self, aliases: dict[str, str], program: ir.Program):
        self.aliases = dict(aliases)
        self.program = program
        self.extra_imports: list[str] = []
        self.lines: list[str] = []
        self.names: dict[int, str] = {}
        self.counter = 0

    def imports(self) -> str:
        return "".join(f"import {m};\n" for m in self.extra_imports)

    def qualify(self, qualified: str) -> str:
        module, _, name = qualified.rpartition(".")
        if module in ("main", "prelude"):
            return name
        if module not in self.aliases:
            alias = module.rsplit(".", 1)[-1]
            if alias in self.aliases.values():
                raise NotBuildable(f"module {module} is not reachable by name")
            self.aliases[module] = alias
            self.extra_imports.append(module)
        return f"{self.aliases[module]}.{name}"

    def type_text(self, t: ir.Type) -> str:
        if isinstance(t, ir.Prim):
            return t.name
        if isinstance(t, ir.VecT):
            return f"Vec[{self.type_text(t.elem)}]"
        if isinstance(t, ir.ArrayT):
            return f"[{self.type_text(t.elem)}; {t.size}]"
        if isinstance(t, (ir.StructT, ir.EnumT)):
            return self.qualify(t.name)
        raise NotBuildable(f"values of type {t}")

    def case(self, k: int, case: Case) -> str:
        self.lines = []
        self.names = {}
        fn = case.function
        if len(case.args) != len(fn.params):
            raise NotBuildable("the counterexample does not give every parameter")
        args = [self.build(v, p.type) for v, p in zip(case.args, fn.params)]
        call = f"{self.qualify(fn.name)}({', '.join(args)})"
        stmt = f"let syn_replay_result = {call};" if fn.result != ir.UNIT else f"{call};"
        body = "\n".join("    " + line for line in self.lines + [stmt])
        return f"fn {CASE}{k}() {{\n{body}\n}}\n"

    def temp(self, type_text: str, expr: str) -> str:
        name = f"syn_replay_v{self.counter}"
        self.counter += 1
        self.lines.append(f"let {name}: {type_text} = {expr};")
        return name

    def build(self, v: dict[str, Any], t: ir.Type) -> str:
        kind = v.get("t")
        if kind == "opaque":
            raise NotBuildable(v.get("why", "an unmodelled value"))
        if kind == "ref":
            if v["id"] not in self.names:
                raise NotBuildable("a cyclic structure")
            return self.names[v["id"]]
        if t in (ir.I32, ir.I64, ir.U8):
            return _int_text(v["v"], t)
        if t == ir.BOOL:
            return "true" if v["v"] else "false"
        if t in ir.FLOAT_TYPES:
            return _float_text(v["v"], t)
        if t == ir.STR:
            return _str_text(bytes.fromhex(v["v"]))
        if isinstance(t, ir.VecT):
            elems = [self.build(e, t.elem) for e in v["elems"]]
            name = self.temp(self.type_text(t), f"{self.type_text(t)}()")
            self.names[v["id"]] = name
            for e in elems:
                self.lines.append(f"{name}.push({e});")
            return name
        if isinstance(t, ir.ArrayT):
            elems = [self.build(e, t.elem) for e in v["elems"]]
            name = self.temp(self.type_text(t), "[" + ", ".join(elems) + "]")
            self.names[v["id"]] = name
            return name
        if isinstance(t, ir.StructT):
            sdef = self.program.structs[t.name]
            fields = [f"{n}: {self.build(fv, ft)}"
                      for (n, fv), (_, ft) in zip(v["fields"], sdef.fields)]
            name = self.temp(self.type_text(t), f"{self.type_text(t)}({', '.join(fields)})")
            self.names[v["id"]] = name
            return name
        if isinstance(t, ir.EnumT):
            variant = self.program.enums[t.name].variants[v["tag"]]
            args = [self.build(a, ft) for a, ft in zip(v["args"], variant.fields)]
            head = f"{self.type_text(t)}.{variant.name}"
            expr = f"{head}({', '.join(args)})" if variant.fields else head
            name = self.temp(self.type_text(t), expr)
            self.names[v["id"]] = name
            return name
        raise NotBuildable(f"values of type {t}")


def _int_text(n: int, t: ir.Type) -> str:
    if t == ir.U8:
        return f"{n}u8"
    suffix = "i64" if t == ir.I64 else ""
    bits = 64 if t == ir.I64 else 32
    if n == -(1 << (bits - 1)):
        return f"(-{(1 << (bits - 1)) - 1}{suffix} - 1{suffix})"
    if n < 0:
        return f"(-{-n}{suffix})"
    return f"{n}{suffix}"


def _float_text(text: str, t: ir.Type) -> str:
    suffix = "f32" if t == ir.F32 else ""
    zero = f"0.0{suffix}"
    if text == "nan":
        return f"({zero} / {zero})"
    if text in ("inf", "-inf"):
        sign = "-" if text.startswith("-") else ""
        return f"({sign}1.0{suffix} / {zero})"
    body = text.replace("e+", "e")
    if "." not in body and "e" not in body:
        body += ".0"
    if body.startswith("-"):
        return f"(-{body[1:]}{suffix})"
    return f"{body}{suffix}"


def _str_text(data: bytes) -> str:
    out = []
    for b in data:
        c = chr(b)
        if c in '"\\':
            out.append("\\" + c)
        elif 32 <= b < 127:
            out.append(c)
        else:
            out.append(f"\\x{b:02x}")
    return '"' + "".join(out) + '"'

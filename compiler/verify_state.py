"""The state of symbolic execution, and the obligations it produces (static verifier).

Shared by verify_encode.py (expressions and calls), verify_loops.py (loops) and
verify_prelude.py (hand-written models of prelude functions); verify.py reads `Obligation`s.
A `State` is one set of paths: its path condition, the value of every local, the heap regions
(verify_effects.py) and the values seen along the way, for counterexamples.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import z3

from . import ir
from .diagnostics import Span



class Unsupported(Exception):
    """The function uses something the verifier does not model."""

    def __init__(self, reason: str, span: Span | None = None):
        super().__init__(reason)
        self.reason = reason
        self.span = span


class TooLarge(Exception):
    """The function exceeds a deterministic budget of the verifier (spec 11.7): its
    obligations are not attempted and are reported as unknown."""

    def __init__(self, reason: str, span: Span | None = None):
        super().__init__(reason)
        self.reason = reason
        self.span = span


@dataclass(frozen=True)
class Event:
    """A value along a path, for counterexamples: `name = term` at `span`, when `guard`."""
    seq: int
    guard: z3.BoolRef
    span: Span
    name: str
    term: z3.ExprRef
    type: ir.Type
    note: str = ""


@dataclass
class Obligation:
    """One fact to prove: `pc -> cond`, with what a failure means for users."""
    kind: str            # requires ensures assert invariant index division overflow pop
                         # conversion panic decreases unmodelled
    span: Span           # where the failure shows (the caret)
    message: str         # what must hold, in source terms
    pc: z3.BoolRef
    cond: z3.BoolRef
    trace: tuple[Event, ...]
    expect: tuple[str, ...] = ()     # substrings of the trap a concrete run must show
    note: str = ""
    unmodelled: str = ""             # why this cannot be decided (result "unknown")
    uses_floats: bool = False


def contract_text(c: ir.Contract) -> str:
    """`requires n >= 0` from the contract's trap message `requires failed: n >= 0 at f:3`."""
    prefix = f"{c.kind} failed: "
    text = c.message[len(prefix):] if c.message.startswith(prefix) else c.message
    cut = text.rfind(" at ")
    return f"{c.kind} {text[:cut] if cut >= 0 else text}"


@dataclass
class Heap:
    regions: dict[str, z3.ExprRef]
    epoch: int


@dataclass
class State:
    pc: z3.BoolRef
    env: dict[tuple[int, int], z3.ExprRef]
    heap: Heap
    trace: tuple[Event, ...]

    def assume(self, cond: z3.BoolRef) -> "State":
        if z3.is_true(cond):
            return self
        return replace(self, pc=z3.And(self.pc, cond))

    def bind(self, key: tuple[int, int], value: z3.ExprRef) -> "State":
        env = dict(self.env)
        env[key] = value
        return replace(self, env=env)


@dataclass
class Frame:
    id: int
    fn: ir.Function
    returns: list[tuple[State, z3.ExprRef | None]] = field(default_factory=list)


@dataclass
class LoopCtx:
    breaks: list[State] = field(default_factory=list)
    continues: list[State] = field(default_factory=list)


Flow = tuple[State | None, z3.ExprRef | None]

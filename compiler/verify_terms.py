"""Fast read-only walks over Z3 term DAGs (static verifier).

verify.py slices facts and classifies obligations, and verify_encode.py sizes terms, by
walking the DAGs Z3 built. Through z3's Python classes every node visited costs a wrapper
object, a reference count taken and dropped, and several checked calls: about 30 µs a node,
more than the solver spends on a simple obligation. These walks call the C API on the raw
AST handles instead (about 7 µs a node). A handle is valid while the root it was reached from
is alive, which the callers guarantee by holding the root.

Nodes are named by their Z3 ids, the keys the callers memoize on.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

import z3
from z3 import z3core as api

_APP, _QUANTIFIER, _NUMERAL = z3.Z3_APP_AST, z3.Z3_QUANTIFIER_AST, z3.Z3_NUMERAL_AST

RawAst = Any      # a ctypes handle of a Z3 AST


class Terms:
    """The C-level view of one context's terms."""

    def __init__(self, ctx: z3.Context):
        self.ref = ctx.ref()

    def id(self, a: RawAst) -> int:
        return api.Z3_get_ast_id(self.ref, a)

    def children(self, a: RawAst) -> list[RawAst]:
        """Arguments of an application, the body of a quantifier, nothing for the rest."""
        kind = api.Z3_get_ast_kind(self.ref, a)
        if kind == _APP:
            c, app = self.ref, api.Z3_to_app(self.ref, a)
            return [api.Z3_get_app_arg(c, app, i) for i in range(api.Z3_get_app_num_args(c, app))]
        if kind == _QUANTIFIER:
            return [api.Z3_get_quantifier_body(self.ref, a)]
        return []

    def is_quantifier(self, a: RawAst) -> bool:
        return api.Z3_get_ast_kind(self.ref, a) == _QUANTIFIER

    def is_numeral(self, a: RawAst) -> bool:
        return api.Z3_get_ast_kind(self.ref, a) == _NUMERAL

    def op(self, a: RawAst) -> int:
        """The operation of an application (a Z3_OP_* kind), or -1 for any other node."""
        if api.Z3_get_ast_kind(self.ref, a) != _APP:
            return -1
        return api.Z3_get_decl_kind(self.ref,
                                    api.Z3_get_app_decl(self.ref, api.Z3_to_app(self.ref, a)))

    def is_constant(self, a: RawAst) -> bool:
        """An uninterpreted constant (a symbol the model chooses), not a literal value."""
        return self.op(a) == z3.Z3_OP_UNINTERPRETED and \
            api.Z3_get_app_num_args(self.ref, api.Z3_to_app(self.ref, a)) == 0

    def bv_size(self, a: RawAst) -> int:
        """Width of a bit-vector term; 0 for a term of another sort."""
        sort = api.Z3_get_sort(self.ref, a)
        if api.Z3_get_sort_kind(self.ref, sort) != z3.Z3_BV_SORT:
            return 0
        return api.Z3_get_bv_sort_size(self.ref, sort)

    def nodes(self, *roots: z3.ExprRef,
              descend: Callable[[int, RawAst], bool] | None = None) \
            -> Iterator[tuple[int, RawAst]]:
        """Each node of the roots' DAG once, as (id, handle), parents before children; below
        a node only when `descend(id, handle)` allows."""
        seen: set[int] = set()
        stack = [r.as_ast() for r in roots]
        while stack:
            a = stack.pop()
            key = self.id(a)
            if key in seen:
                continue
            seen.add(key)
            yield key, a
            if descend is None or descend(key, a):
                stack.extend(self.children(a))


def dag_size_at_most(term: z3.ExprRef, limit: int) -> bool:
    """Whether the term's DAG has at most `limit` nodes."""
    count = 0
    for _ in Terms(term.ctx).nodes(term):
        count += 1
        if count > limit:
            return False
    return True


def has_node(terms: Terms, e: z3.ExprRef, memo: dict[int, bool],
             test: Callable[[Terms, RawAst], bool]) -> bool:
    """Whether some node of `e` passes `test`; `memo` (one per test) spares shared subterms
    across calls."""
    stack: list[tuple[RawAst, bool]] = [(e.as_ast(), False)]
    while stack:
        a, done = stack.pop()
        key = terms.id(a)
        if done:
            memo[key] = any(memo.get(terms.id(c), False) for c in terms.children(a))
            continue
        if key in memo:
            if memo[key]:
                return True
            continue
        if test(terms, a):
            memo[key] = True
            return True
        stack.append((a, True))
        stack.extend((c, False) for c in terms.children(a))
    return memo.get(terms.id(e.as_ast()), False)

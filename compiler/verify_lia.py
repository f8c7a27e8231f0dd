"""A fast first attempt at bit-vector obligations: the same formula over mathematical integers.

Part of the static verifier (verify.py tries this before the bit-vector solver). Bit-blasting
a bound such as `lo + (hi - lo) / 2 < v.len()` costs the SAT solver thousands of times more
than linear integer arithmetic does. So each obligation is first translated, exactly, into
integer arithmetic: a w-bit value becomes an integer in its range (signed for i32/i64 and
references, unsigned for u8), and every operation that can wrap is reduced into the range,
which is precisely two's complement wrap-around: a sum or difference of two values, or a
negation, is off by at most one 2^w and becomes `if exact > max then exact - 2^w else if
exact < min then exact + 2^w else exact`; any other operation gets an integer `k` with
`result = exact - k * 2^w` and `result` in range. Division and remainder by constants,
shifts by constants, complement, casts and comparisons translate exactly too; so does
`x & (2^k - 1)`, and any other bitwise and becomes a value bounded by its operands (an
over-approximation, which keeps "unsat" a proof). Floats become numbers in the order of
floats, one per float (see `IntTranslator.fp`), so equalities and comparisons of floats
translate too. A formula using anything else (bitwise or/xor, shifts or division by
variables, float arithmetic, lambdas) is left to the bit-vector solver.

The translation keeps satisfiability in the direction that matters: every bit-vector model
gives an integer model (arrays indexed by integers agree with the bit-vector arrays on every
in-range index, and indices are always in range), so "unsat" here is a proof of the original.
A "sat" or "unknown" proves nothing and the caller falls back to bit-vectors.

Quantifiers over bit-vector variables (`forall i in a..b: cond` and `exists`, see
verify_encode.py) translate too: the bound variables become integers in their range and the
body is translated in a scope of its own (see `IntTranslator.quantifier`).
"""

from __future__ import annotations

from collections.abc import Callable

import z3


class NotLinear(Exception):
    """The formula uses an operation this translation does not cover."""


class _Scope:
    """The tables of one quantifier body (the root scope is outside every quantifier).

    A term is translated in the innermost scope whose bound variables it mentions, so what a
    body shares with the formula around it is translated (and memoized) once, outside, and
    nothing that mentions a bound variable is ever seen outside its quantifier."""

    def __init__(self, parent: "_Scope | None" = None):
        self.parent = parent
        self.depth: int = 0 if parent is None else parent.depth + 1
        self.memo: dict[int, z3.ExprRef] = {}
        self.failed: set[int] = set()
        self.conj_memo: dict[int, tuple[z3.BoolRef, ...]] = {}
        self.side: list[z3.BoolRef] = []
        self.fresh: list[z3.ArithRef] = []      # bound by the quantifier, with the side facts
        # Every term whose id keys a table: Z3 reuses the id of a deleted term, so a table
        # keyed by the id of a term that may die (`Not(cond)`, built only to be translated)
        # would later answer for an unrelated term.
        self.alive: list[z3.ExprRef] = []


class IntTranslator:
    """Translates bit-vector formulas of one context; side constraints accumulate (those of
    terms outside every quantifier in `side`, for the caller to assert)."""

    def __init__(self, ctx: z3.Context):
        self.ctx = ctx
        self.symbols: dict[str, z3.FuncDeclRef] = {}
        self.count = 0
        self.root = _Scope()
        self.current = self.root
        # A term in a body -> the scope it belongs to (a bound variable's constant: its own).
        self.owner: dict[int, _Scope] = {}
        self.keep: list[z3.ExprRef] = []        # terms made here: their ids stay theirs

    # The tables of the scope in use.

    @property
    def memo(self) -> dict[int, z3.ExprRef]:
        return self.current.memo

    @property
    def failed(self) -> set[int]:
        return self.current.failed

    @property
    def conj_memo(self) -> dict[int, tuple[z3.BoolRef, ...]]:
        return self.current.conj_memo

    @property
    def side(self) -> list[z3.BoolRef]:
        return self.current.side

    # Value ranges: u8 unsigned, wider widths signed.

    @staticmethod
    def bounds(width: int) -> tuple[int, int]:
        if width == 8:
            return 0, 255
        return -(1 << (width - 1)), (1 << (width - 1)) - 1

    def in_range(self, x: z3.ArithRef, width: int) -> z3.BoolRef:
        lo, hi = self.bounds(width)
        return z3.And(x >= lo, x <= hi)

    def fresh_int(self, prefix: str) -> z3.ArithRef:
        self.count += 1
        x = z3.Int(f"{prefix}%{self.count}", self.ctx)
        if self.current is not self.root:
            self.current.fresh.append(x)
        return x

    def wrap(self, exact: z3.ArithRef, width: int, near: bool = False) -> z3.ArithRef:
        """exact reduced into the range of `width` bits (two's complement or unsigned).
        `near`: exact is less than 2^width away from the range (a sum or difference of two
        values in range), so one conditional correction suffices. It needs no fresh integer,
        so `v[k - 1]` in a quantifier body and `v[j - 1]` outside are the same term once `k`
        is `j`: the solver's instantiation of quantifiers (E-matching on array reads) then
        meets the program's own reads. A wrap-around multiple would differ in each."""
        if near:
            lo, hi = self.bounds(width)
            m = 1 << width
            return z3.If(exact > hi, exact - m, z3.If(exact < lo, exact + m, exact))
        k = self.fresh_int("k")
        r = self.fresh_int("w")
        self.side.append(r == exact - k * (1 << width))
        self.side.append(self.in_range(r, width))
        return r

    def signed(self, x: z3.ArithRef, width: int) -> z3.ArithRef:
        if width != 8:
            return x
        return z3.If(x >= 128, x - 256, x)

    def unsigned(self, x: z3.ArithRef, width: int) -> z3.ArithRef:
        if width == 8:
            return x
        return z3.If(x < 0, x + (1 << width), x)

    # Sorts.

    def sort(self, s: z3.SortRef) -> z3.SortRef:
        if isinstance(s, z3.BitVecSortRef):
            return z3.IntSort(self.ctx)
        if isinstance(s, z3.ArraySortRef):
            return z3.ArraySort(self.sort(s.domain()), self.sort(s.range()))
        if isinstance(s, z3.BoolSortRef):
            return s
        if isinstance(s, z3.FPSortRef):
            return z3.RealSort(self.ctx)
        raise NotLinear(f"sort {s}")

    def symbol(self, decl: z3.FuncDeclRef) -> z3.FuncDeclRef:
        name = decl.name() + "%" + str(decl.get_id())
        if name not in self.symbols:
            doms = [self.sort(decl.domain(i)) for i in range(decl.arity())]
            self.symbols[name] = z3.Function(name, *doms, self.sort(decl.range()))
        return self.symbols[name]

    def constrain(self, value: z3.ExprRef, sort: z3.SortRef) -> None:
        if isinstance(sort, z3.BitVecSortRef):
            self.side.append(self.in_range(value, sort.size()))
        elif isinstance(sort, z3.FPSortRef):
            self.side.append(self.float_domain(value, sort))

    # Terms.

    def formula(self, e: z3.BoolRef) -> z3.BoolRef:
        return self.term(e)

    def assumptions(self, e: z3.BoolRef) -> list[z3.BoolRef]:
        """The translatable conjuncts of an assumption (dropping one only weakens it).
        Path conditions grow by one conjunct at a time, so results are memoized per node."""
        key = e.get_id()
        if key in self.conj_memo:
            return list(self.conj_memo[key])
        out: list[z3.BoolRef] = []
        if z3.is_and(e):
            for c in e.children():
                out.extend(self.assumptions(c))
        else:
            try:
                out.append(self.term(e))
            except NotLinear:
                pass
        self.conj_memo[key] = tuple(out)
        self.current.alive.append(e)
        return out

    def term(self, e: z3.ExprRef) -> z3.ExprRef:
        if self.current is not self.root:
            owner = self.scope_of(e)
            if owner is not self.current:
                return self.in_scope(owner, self.term, e)
        key = e.get_id()
        if key in self.memo:
            return self.memo[key]
        if key in self.failed:
            raise NotLinear("seen")
        try:
            out = self.translate(e)
        except NotLinear:
            self.failed.add(key)
            self.current.alive.append(e)
            raise
        self.memo[key] = out
        self.current.alive.append(e)
        return out

    def translate(self, e: z3.ExprRef) -> z3.ExprRef:
        if z3.is_quantifier(e):
            return self.quantifier(e)
        if z3.is_bv_value(e):
            w = e.size()
            return z3.IntVal(e.as_long() if w == 8 else e.as_signed_long(), self.ctx)
        if not z3.is_app(e):
            raise NotLinear("not an application")
        k = e.decl().kind()
        args = e.children()
        if k in _BOOL_OPS:
            return _BOOL_OPS[k](*[self.term(a) for a in args])
        if k == z3.Z3_OP_TRUE or k == z3.Z3_OP_FALSE:
            return e
        if k == z3.Z3_OP_EQ:
            return self.term(args[0]) == self.term(args[1])
        if k == z3.Z3_OP_DISTINCT:
            return z3.Distinct(*[self.term(a) for a in args])
        if k == z3.Z3_OP_ITE:
            return z3.If(self.term(args[0]), self.term(args[1]), self.term(args[2]))
        if k == z3.Z3_OP_UNINTERPRETED:
            f = self.symbol(e.decl())
            out = f(*[self.term(a) for a in args]) if args else f()
            self.constrain(out, e.sort())
            return out
        if k == z3.Z3_OP_SELECT:
            out = z3.Select(self.term(args[0]), self.term(args[1]))
            self.constrain(out, e.sort())
            return out
        if k == z3.Z3_OP_STORE:
            return z3.Store(self.term(args[0]), self.term(args[1]), self.term(args[2]))
        if k == z3.Z3_OP_CONST_ARRAY:
            return z3.K(self.sort(e.sort().domain()), self.term(args[0]))
        if z3.is_bv(e) or k in _COMPARE:
            return self.bitvector(e, k, args)
        if k in _FP_COMPARE:
            (na, ra), (nb, rb) = self.fp(args[0]), self.fp(args[1])
            return z3.And(z3.Not(na), z3.Not(nb), _FP_COMPARE[k](ra, rb))
        if k in _FP_TESTS:
            return self.float_test(k, args[0])
        if z3.is_fp(e):
            return self.float_value(e, k, args)
        raise NotLinear(f"operator {e.decl().name()}")

    # Quantifiers.
    #
    # `ForAll([i], body)` over an i32 `i` becomes `ForAll([n, fresh...], Implies(And(n in
    # range, side...), body'))`, and `Exists([i], body)` becomes `Exists([n, fresh...], And(n
    # in range, side..., body'))`, where body' is the body translated with the integer `n`
    # for `i`, and `side`/`fresh` are the side constraints made while translating it and the
    # integers they introduce (wrap-around multiples, quotients and remainders). The side
    # constraints mention `n`, so they must stay inside the quantifier, and their integers
    # must be bound by it: one integer outside cannot stand for `i + 1` at every `i`.
    #
    # Binding them is exact because each is *functional*: for every value of `n` (and of
    # the variables of enclosing quantifiers) exactly one value of each fresh integer
    # satisfies the side constraints (the wrapped result and its multiple of 2^w; a quotient
    # and remainder by a constant; a shift or mask by a constant), or the side constraint is
    # a fact true of every value it speaks about (the range of an array element or of a
    # function's result: every integer model built from a bit-vector model satisfies it).
    # Then "for all fresh values satisfying the side constraints, body'" and "for some fresh
    # values satisfying them, body'" both say "body' at the one right value", so either form
    # is exact whatever the polarity of the quantifier in the formula, and every bit-vector
    # model still gives an integer model. A side constraint that only bounds its variable
    # (bitwise and by a non-mask) is not functional: under a universal quantifier it would
    # have to hold for every bounded value, which is stronger than the original, so inside
    # a body it raises NotLinear (as does everything else not listed here).
    #
    # Conjuncts of the body's hypotheses (a forall) or of the body itself (an exists) that
    # do not mention the bound variables are moved out of the quantifier (the path condition
    # the encoder puts in each body is mostly such facts): `forall i: P && A(i) -> B(i)` is
    # `P -> forall i: A(i) -> B(i)`, `exists i: P && A(i)` is `P && exists i: A(i)`. Inside,
    # a hypothesis repeated in the rest of the body is true there (see `assuming`). Both keep
    # the body small, and other quantifiers of the path condition out of it.
    #
    # No instantiation patterns are given: Z3 picks the body's array reads (`v[k]`), which
    # meet the program's own reads thanks to the form of wrap-around in `wrap`; leaving the
    # quantifiers to model-based instantiation alone was slower on the sorting proofs.

    def quantifier(self, q: z3.QuantifierRef) -> z3.BoolRef:
        if q.is_lambda():
            raise NotLinear("lambda")
        sorts = [q.var_sort(i) for i in range(q.num_vars())]
        if not all(isinstance(s, z3.BitVecSortRef) for s in sorts):
            raise NotLinear("a quantifier over a sort other than bit-vectors")
        scope = _Scope(self.current)
        body, ints = self.instantiate(q, sorts, scope)
        universal = q.is_forall()
        if universal and z3.is_implies(body):
            hyps, goal = self.conjuncts(body.arg(0), scope), body.arg(1)
        elif universal:
            hyps, goal = [], body
        else:
            hyps, goal = self.conjuncts(body, scope), None
        outside = [h for h in hyps if self.scope_of(h) is not scope]
        inside = [self.assuming(h, outside) for h in hyps if self.scope_of(h) is scope]
        if goal is not None:
            goal = self.assuming(goal, hyps)
        outer, self.current = self.current, scope
        try:
            parts = [self.term(h) for h in inside]
            value = self.term(goal) if goal is not None else None
        finally:
            self.current = outer
        facts = [self.in_range(n, s.size()) for n, s in zip(ints, sorts)] + scope.side
        bound = ints + scope.fresh
        if universal:
            inner = z3.Implies(z3.And(*parts), value) if parts else value
            result = z3.ForAll(bound, z3.Implies(z3.And(*facts), inner))
            if outside:
                result = z3.Implies(z3.And(*[self.term(h) for h in outside]), result)
        else:
            result = z3.Exists(bound, z3.And(*facts, *parts))
            if outside:
                result = z3.And(*[self.term(h) for h in outside], result)
        return result

    def instantiate(self, q: z3.QuantifierRef, sorts: list[z3.SortRef],
                    scope: _Scope) -> tuple[z3.BoolRef, list[z3.ArithRef]]:
        """The body of `q` with a fresh bit-vector constant for each bound variable, and the
        integers that stand for those constants in `scope`."""
        consts, ints = [], []
        for i, s in enumerate(sorts):
            self.count += 1
            c = z3.Const(f"{q.var_name(i)}!q{self.count}", s)
            n = z3.Int(f"{q.var_name(i)}%{self.count}", self.ctx)
            consts.append(c)
            ints.append(n)
            scope.memo[c.get_id()] = n
            self.owner[c.get_id()] = scope
        # Var(0) is the last bound variable (de Bruijn indices count from the innermost).
        body = z3.substitute_vars(q.body(), *reversed(consts))
        self.keep.append(body)
        return body, ints

    def conjuncts(self, e: z3.BoolRef, scope: _Scope) -> list[z3.BoolRef]:
        """The conjuncts of `e`, without repeats. A conjunction that does not mention the
        variables of `scope` stays whole (it is translated once, outside). What every
        disjunct of a disjunction has is a conjunct too: `(P && A) || (P && B)` is
        `P && (A || B)` (paths that join after a branch share the path before it)."""
        out: list[z3.BoolRef] = []
        seen: set[int] = set()
        stack = [e]
        while stack:
            c = stack.pop()
            if c.get_id() in seen:
                continue
            seen.add(c.get_id())
            if self.scope_of(c) is scope and z3.is_and(c):
                stack.extend(reversed(c.children()))
            elif self.scope_of(c) is scope and z3.is_or(c) and self.factor(c, scope, stack):
                pass
            elif not z3.is_true(c):
                out.append(c)
        return out

    def assuming(self, e: z3.BoolRef, facts: list[z3.BoolRef]) -> z3.BoolRef:
        """`e` with each of `facts` (conjuncts of the hypotheses under which `e` is read)
        replaced by true. The path condition of a branch inside the body (in the conditions
        of its if-then-else terms) repeats the path to the quantifier, other quantifiers
        included; under the hypotheses that part is true, and dropping it keeps the body
        small and free of nested copies of those quantifiers."""
        pairs = [(f, z3.BoolVal(True, self.ctx)) for f in facts if not f.eq(e)]
        if not pairs:
            return e
        out = z3.substitute(e, *pairs)
        self.keep.append(out)
        return out

    def factor(self, e: z3.BoolRef, scope: _Scope, stack: list[z3.BoolRef]) -> bool:
        """Push the conjuncts shared by every disjunct of `e`, and the disjunction of what is
        left, onto `stack`; False when the disjuncts share nothing."""
        parts = [self.conjuncts(d, scope) for d in e.children()]
        shared = set.intersection(*[{c.get_id() for c in p} for p in parts])
        if not shared:
            return False
        rests = [[c for c in p if c.get_id() not in shared] for p in parts]
        stack.extend(reversed([c for c in parts[0] if c.get_id() in shared]))
        if all(rests):          # otherwise some disjunct is the shared part alone: true
            rest = z3.Or(*[z3.And(*r) if len(r) > 1 else r[0] for r in rests])
            self.keep.append(rest)
            stack.append(rest)
        return True

    def scope_of(self, e: z3.ExprRef) -> _Scope:
        """The innermost scope whose bound variables `e` mentions (the root when none)."""
        key = e.get_id()
        if key in self.owner:
            return self.owner[key]
        stack = [(e, False)]
        while stack:
            node, expanded = stack.pop()
            k = node.get_id()
            if k in self.owner:
                continue
            kids = node.children()
            if not expanded:
                stack.append((node, True))
                stack.extend((c, False) for c in kids if c.get_id() not in self.owner)
                continue
            best = self.root
            for c in kids:
                s = self.owner[c.get_id()]
                if s.depth > best.depth:
                    best = s
            self.owner[k] = best
        return self.owner[key]

    def in_scope(self, scope: _Scope, translate, e: z3.ExprRef):
        """`translate(e)` with the tables of an enclosing scope."""
        inner, self.current = self.current, scope
        try:
            return translate(e)
        finally:
            self.current = inner

    # Floats. A float becomes a number that keeps its place in the order of floats, and
    # different floats different numbers: its bit pattern read as a signed magnitude (so
    # +0 is 0 and the infinities are the ends of the range), with -0 and NaN (SMT floats have
    # one NaN) two numbers of their own beyond the range (see `float_codes`). So equality of
    # floats, and of arrays of floats, keeps its meaning exactly, and the comparisons, which
    # read -0 as 0 and are false on NaN, keep theirs: every float model of a formula made of
    # equalities, comparisons, negation, absolute value and if-then-else is also a model
    # here. (The numbers are not the floats' values, which no comparison needs; values up to
    # 2^1024 would slow the arithmetic down.) Float arithmetic is left to the bit-vector
    # solver.

    def fp(self, e: z3.ExprRef) -> tuple[z3.BoolRef, z3.ArithRef]:
        """(is NaN, a number in the order of the value, -0 read as 0) of a float term."""
        r = self.term(e)
        _, nan, neg_zero = float_codes(e.sort())
        return r == nan, z3.If(r == neg_zero, z3.RealVal(0, self.ctx), r)

    def float_domain(self, r: z3.ArithRef, sort: z3.FPSortRef) -> z3.BoolRef:
        inf, nan, neg_zero = float_codes(sort)
        return z3.Or(z3.And(r >= -inf, r <= inf), r == nan, r == neg_zero)

    def float_test(self, k: int, arg: z3.ExprRef) -> z3.BoolRef:
        r = self.term(arg)
        inf, nan, neg_zero = float_codes(arg.sort())
        if k == z3.Z3_OP_FPA_IS_NAN:
            return r == nan
        if k == z3.Z3_OP_FPA_IS_ZERO:
            return z3.Or(r == 0, r == neg_zero)
        if k == z3.Z3_OP_FPA_IS_INF:
            return z3.Or(r == inf, r == -inf)
        if k == z3.Z3_OP_FPA_IS_NEGATIVE:
            return z3.Or(r < 0, r == neg_zero)
        return z3.And(r >= 0, r <= inf)                           # is positive

    def float_value(self, e: z3.ExprRef, k: int, args: list[z3.ExprRef]) -> z3.ArithRef:
        inf, nan, neg_zero = float_codes(e.sort())
        real = lambda v: z3.RealVal(v, self.ctx)   # noqa: E731
        if k == z3.Z3_OP_FPA_NUM:
            return real(float_code(e))
        constants = {z3.Z3_OP_FPA_PLUS_ZERO: 0, z3.Z3_OP_FPA_MINUS_ZERO: neg_zero,
                     z3.Z3_OP_FPA_PLUS_INF: inf, z3.Z3_OP_FPA_MINUS_INF: -inf,
                     z3.Z3_OP_FPA_NAN: nan}
        if k in constants:
            return real(constants[k])
        if k in (z3.Z3_OP_FPA_NEG, z3.Z3_OP_FPA_ABS):
            r = self.term(args[0])
            flip = -r if k == z3.Z3_OP_FPA_NEG else z3.If(r < 0, -r, r)
            zero = real(neg_zero) if k == z3.Z3_OP_FPA_NEG else real(0)
            return z3.If(r == nan, r, z3.If(r == neg_zero, real(0), z3.If(r == 0, zero, flip)))
        raise NotLinear(f"float operator {e.decl().name()}")

    def bitvector(self, e: z3.ExprRef, k: int, args: list[z3.ExprRef]) -> z3.ExprRef:
        if k in _COMPARE:
            w = args[0].size()
            a, b = self.term(args[0]), self.term(args[1])
            signed, op = _COMPARE[k]
            if signed:
                a, b = self.signed(a, w), self.signed(b, w)
            elif w != 8:
                # Unsigned order on two's complement values: the signed order when the signs
                # agree; otherwise the non-negative one is the smaller. (Comparing the
                # unsigned values themselves would make two if-then-else terms.)
                first_smaller = a >= 0 if k in (z3.Z3_OP_ULT, z3.Z3_OP_ULEQ) else b >= 0
                return z3.If((a >= 0) == (b >= 0), op(a, b), first_smaller)
            return op(a, b)
        w = e.size()
        if k == z3.Z3_OP_BADD:
            return self.wrap(z3.Sum(*[self.term(a) for a in args]), w, near=len(args) == 2)
        if k == z3.Z3_OP_BSUB:
            return self.wrap(self.term(args[0]) - self.term(args[1]), w, near=True)
        if k == z3.Z3_OP_BNEG:
            return self.wrap(-self.term(args[0]), w, near=True)
        if k == z3.Z3_OP_BNOT:
            return (255 - self.term(args[0])) if w == 8 else -self.term(args[0]) - 1
        if k == z3.Z3_OP_BMUL:
            product = self.term(args[0])
            for a in args[1:]:
                product = product * self.term(a)
            return self.wrap(product, w)
        if k in _DIVISIONS:
            divisor = z3.simplify(args[1])
            if not z3.is_bv_value(divisor) or divisor.as_long() == 0:
                return self.opaque_division(k, args, w)
        if k in (z3.Z3_OP_BSDIV, z3.Z3_OP_BSDIV_I, z3.Z3_OP_BSREM, z3.Z3_OP_BSREM_I):
            c = self.constant(args[1])
            if c == 0:
                raise NotLinear("division by zero")
            a = self.signed(self.term(args[0]), w)
            q, r = self.fresh_int("q"), self.fresh_int("r")
            m = abs(c)
            self.side.append(a == q * c + r)
            self.side.append(z3.Or(z3.And(a >= 0, r >= 0, r < m), z3.And(a < 0, r <= 0, r > -m)))
            if k in (z3.Z3_OP_BSDIV, z3.Z3_OP_BSDIV_I):
                return self.wrap(q, w) if c == -1 else q
            return r
        if k in (z3.Z3_OP_BUDIV, z3.Z3_OP_BUDIV_I, z3.Z3_OP_BUREM, z3.Z3_OP_BUREM_I):
            c = self.constant(args[1])
            c = c % (1 << w)
            if c == 0:
                raise NotLinear("division by zero")
            a = self.unsigned(self.term(args[0]), w)
            q, r = self.fresh_int("q"), self.fresh_int("r")
            self.side.append(z3.And(a == q * c + r, r >= 0, r < c))
            out = q if k in (z3.Z3_OP_BUDIV, z3.Z3_OP_BUDIV_I) else r
            return self.wrap(out, w) if w != 8 else out
        if k == z3.Z3_OP_BSHL:
            s = self.constant(args[1]) % (1 << w)
            if s >= w:
                return z3.IntVal(0, self.ctx)
            return self.wrap(self.term(args[0]) * (1 << s), w)
        if k in (z3.Z3_OP_BASHR, z3.Z3_OP_BLSHR):
            s = self.constant(args[1]) % (1 << w)
            arith = k == z3.Z3_OP_BASHR
            a = self.signed(self.term(args[0]), w) if arith else \
                self.unsigned(self.term(args[0]), w)
            if s >= w:
                return z3.If(a < 0, z3.IntVal(-1, self.ctx), z3.IntVal(0, self.ctx)) \
                    if arith else z3.IntVal(0, self.ctx)
            q, r = self.fresh_int("q"), self.fresh_int("r")
            self.side.append(z3.And(a == q * (1 << s) + r, r >= 0, r < (1 << s)))
            return q if arith or w == 8 else self.wrap(q, w)
        if k == z3.Z3_OP_BAND and len(args) == 2:
            return self.bit_and(self.term(args[0]), self.term(args[1]), args[1], w)
        if k == z3.Z3_OP_EXTRACT:
            hi, lo = e.params()
            if lo != 0:
                raise NotLinear("extract of high bits")
            return self.wrap(self.term(args[0]), hi + 1)
        if k == z3.Z3_OP_ZERO_EXT:
            src = args[0].size()
            return self.unsigned(self.term(args[0]), src)
        if k == z3.Z3_OP_SIGN_EXT:
            src = args[0].size()
            value = self.signed(self.term(args[0]), src)
            return value if w != 8 else self.wrap(value, w)
        raise NotLinear(f"operator {e.decl().name()}")

    def bit_and(self, a: z3.ExprRef, b: z3.ExprRef, b_bv: z3.ExprRef, w: int) -> z3.ExprRef:
        """`a & b`: exact for a mask 2^k - 1 (the remainder modulo 2^k); otherwise a fresh
        value bounded as two's complement bounds it (between 0 and a non-negative operand;
        negative and below both when both are negative). Bounds only weaken the formula, so
        "unsat" still proves the original."""
        mask = z3.simplify(b_bv)
        if z3.is_bv_value(mask):
            m = mask.as_long()
            if m > 0 and m & (m + 1) == 0 and m < (1 << w) - 1:
                q, r = self.fresh_int("q"), self.fresh_int("r")
                self.side.append(z3.And(self.unsigned(a, w) == q * (m + 1) + r,
                                        r >= 0, r <= m))
                return r
        if self.current is not self.root:
            # Bounds do not determine the value: bound by a quantifier, `r` would range over
            # every bounded value instead of standing for `a & b` (see `quantifier`).
            raise NotLinear("bitwise and inside a quantifier")
        r = self.fresh_int("and")
        self.side.append(self.in_range(r, w))
        a_s, b_s = self.signed(a, w), self.signed(b, w)
        r_s = self.signed(r, w)
        self.side.append(z3.Implies(a_s >= 0, z3.And(r_s >= 0, r_s <= a_s)))
        self.side.append(z3.Implies(b_s >= 0, z3.And(r_s >= 0, r_s <= b_s)))
        self.side.append(z3.Implies(z3.And(a_s < 0, b_s < 0),
                                    z3.And(r_s < 0, r_s <= a_s, r_s <= b_s)))
        return r

    def opaque_division(self, k: int, args: list[z3.ExprRef], w: int) -> z3.ExprRef:
        """`a / b` or `a % b` by a variable: an uninterpreted function of the two operands, so
        the same operands give the same result (which is what `n / mid < mid` carried from a
        branch into an invariant needs), with what holds of every truncating division of a
        non-negative value by a positive one: 0 <= a / b <= a and 0 <= a % b < b. Both are
        true of each value (no fresh variable to define), so they may stand inside a
        quantifier; every bit-vector model interprets the function by the real division."""
        signed = k not in _UNSIGNED_DIVISIONS
        quotient = k in _QUOTIENTS
        a, b = self.term(args[0]), self.term(args[1])
        a, b = (self.signed(a, w), self.signed(b, w)) if signed else \
            (self.unsigned(a, w), self.unsigned(b, w))
        name = f"{'s' if signed else 'u'}{'div' if quotient else 'rem'}{w}"
        if name not in self.symbols:
            int_sort = z3.IntSort(self.ctx)
            self.symbols[name] = z3.Function(name, int_sort, int_sort, int_sort)
        out = self.symbols[name](a, b)
        bound = z3.And(out >= 0, out <= a) if quotient else z3.And(out >= 0, out < b)
        self.side.append(z3.Implies(z3.And(a >= 0, b > 0), bound))
        self.side.append(self.in_range(out if signed or w == 8 else self.signed(out, w), w))
        return out

    def constant(self, e: z3.ExprRef) -> int:
        v = z3.simplify(e)
        if not z3.is_bv_value(v):
            raise NotLinear("a non-constant divisor or shift")
        return v.as_signed_long()


def float_codes(sort: z3.FPSortRef) -> tuple[int, int, int]:
    """The numbers of +infinity, NaN and -0 for floats of `sort` (see `IntTranslator.fp`):
    +infinity's bit pattern (the largest magnitude), then the next two numbers."""
    inf = ((1 << sort.ebits()) - 1) << (sort.sbits() - 1)
    return inf, inf + 1, inf + 2


def float_code(e: z3.FPNumRef) -> int:
    """The number of a float literal: its magnitude bits, negated for a negative value."""
    inf, nan, neg_zero = float_codes(e.sort())
    if e.isNaN():
        return nan
    bits = z3.simplify(z3.fpToIEEEBV(e, ctx=e.ctx)).as_long()
    width = e.sort().ebits() + e.sort().sbits()
    magnitude = bits & ((1 << (width - 1)) - 1)
    if bits >> (width - 1):
        return -magnitude if magnitude else neg_zero
    return magnitude

_QUOTIENTS = {z3.Z3_OP_BSDIV, z3.Z3_OP_BSDIV_I, z3.Z3_OP_BUDIV, z3.Z3_OP_BUDIV_I}
_UNSIGNED_DIVISIONS = {z3.Z3_OP_BUDIV, z3.Z3_OP_BUDIV_I, z3.Z3_OP_BUREM, z3.Z3_OP_BUREM_I}
_DIVISIONS = _QUOTIENTS | _UNSIGNED_DIVISIONS | {z3.Z3_OP_BSREM, z3.Z3_OP_BSREM_I}

_FP_TESTS = frozenset({z3.Z3_OP_FPA_IS_NAN, z3.Z3_OP_FPA_IS_ZERO, z3.Z3_OP_FPA_IS_INF,
                       z3.Z3_OP_FPA_IS_NEGATIVE, z3.Z3_OP_FPA_IS_POSITIVE})

_FP_COMPARE = {
    z3.Z3_OP_FPA_LT: lambda a, b: a < b,
    z3.Z3_OP_FPA_GT: lambda a, b: a > b,
    z3.Z3_OP_FPA_LE: lambda a, b: a <= b,
    z3.Z3_OP_FPA_GE: lambda a, b: a >= b,
    z3.Z3_OP_FPA_EQ: lambda a, b: a == b,
}

_BOOL_OPS: dict[int, Callable[..., z3.BoolRef]] = {
    z3.Z3_OP_AND: lambda *a: z3.And(*a),
    z3.Z3_OP_OR: lambda *a: z3.Or(*a),
    z3.Z3_OP_NOT: lambda a: z3.Not(a),
    z3.Z3_OP_IMPLIES: lambda a, b: z3.Implies(a, b),
    z3.Z3_OP_XOR: lambda a, b: z3.Xor(a, b),
}

_COMPARE = {
    z3.Z3_OP_SLEQ: (True, lambda a, b: a <= b),
    z3.Z3_OP_SLT: (True, lambda a, b: a < b),
    z3.Z3_OP_SGEQ: (True, lambda a, b: a >= b),
    z3.Z3_OP_SGT: (True, lambda a, b: a > b),
    z3.Z3_OP_ULEQ: (False, lambda a, b: a <= b),
    z3.Z3_OP_ULT: (False, lambda a, b: a < b),
    z3.Z3_OP_UGEQ: (False, lambda a, b: a >= b),
    z3.Z3_OP_UGT: (False, lambda a, b: a > b),
}

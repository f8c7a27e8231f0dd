"""A fast first attempt at bit-vector obligations: the same formula over mathematical integers.

Part of the static verifier (verify.py tries this before the bit-vector solver). Bit-blasting
a bound such as `lo + (hi - lo) / 2 < v.len()` costs the SAT solver thousands of times more
than linear integer arithmetic does. So each obligation is first translated, exactly, into
integer arithmetic: a w-bit value becomes an integer in its range (signed for i32/i64 and
references, unsigned for u8), and every operation that can wrap gets an integer `k` with
`result = exact - k * 2^w` and `result` in range, which is precisely two's complement
wrap-around. Division and remainder by constants, shifts by constants, complement, casts
and comparisons translate exactly too; so does `x & (2^k - 1)`, and any other bitwise and
becomes a value bounded by its operands (an over-approximation, which keeps "unsat" a proof).
A formula using anything else (bitwise or/xor, shifts or division by variables, floats,
lambdas) is left to the bit-vector solver.

The translation keeps satisfiability in the direction that matters: every bit-vector model
gives an integer model (arrays indexed by integers agree with the bit-vector arrays on every
in-range index, and indices are always in range), so "unsat" here is a proof of the original.
A "sat" or "unknown" proves nothing and the caller falls back to bit-vectors.
"""

from __future__ import annotations

import z3


class NotLinear(Exception):
    """The formula uses an operation this translation does not cover."""


class IntTranslator:
    """Translates bit-vector formulas of one context; side constraints accumulate."""

    def __init__(self, ctx: z3.Context):
        self.ctx = ctx
        self.memo: dict[int, z3.ExprRef] = {}
        self.side: list[z3.BoolRef] = []
        self.symbols: dict[str, z3.FuncDeclRef] = {}
        self.count = 0
        self.failed: set[int] = set()
        self.fp_memo: dict[int, tuple[z3.BoolRef, z3.ArithRef]] = {}
        self.conj_memo: dict[int, tuple[z3.BoolRef, ...]] = {}

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
        return z3.Int(f"{prefix}%{self.count}", self.ctx)

    def wrap(self, exact: z3.ArithRef, width: int) -> z3.ArithRef:
        """exact reduced into the range of `width` bits (two's complement or unsigned)."""
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
        return out

    def term(self, e: z3.ExprRef) -> z3.ExprRef:
        key = e.get_id()
        if key in self.memo:
            return self.memo[key]
        if key in self.failed:
            raise NotLinear("seen")
        try:
            out = self.translate(e)
        except NotLinear:
            self.failed.add(key)
            raise
        self.memo[key] = out
        return out

    def translate(self, e: z3.ExprRef) -> z3.ExprRef:
        if z3.is_quantifier(e):     # quantifiers and lambdas
            raise NotLinear("quantifier")
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
        if k == z3.Z3_OP_FPA_IS_NAN:
            return self.fp(args[0])[0]
        raise NotLinear(f"operator {e.decl().name()}")

    # Floats, when only compared: a float becomes (is NaN, real value), infinities beyond
    # every finite value. This embedding keeps the order (and -0 == +0), so every float model
    # of a formula made of comparisons, negation and if-then-else is also a model here.

    def fp(self, e: z3.ExprRef) -> tuple[z3.BoolRef, z3.ArithRef]:
        key = e.get_id()
        if key in self.fp_memo:
            return self.fp_memo[key]
        out = self.fp_translate(e)
        self.fp_memo[key] = out
        return out

    def fp_translate(self, e: z3.ExprRef) -> tuple[z3.BoolRef, z3.ArithRef]:
        no = z3.BoolVal(False, self.ctx)
        if not z3.is_app(e):
            raise NotLinear("float")
        k = e.decl().kind()
        args = e.children()
        if k == z3.Z3_OP_FPA_NUM:
            text = z3.simplify(z3.fpToReal(e, ctx=self.ctx))
            return no, text
        if k in (z3.Z3_OP_FPA_PLUS_ZERO, z3.Z3_OP_FPA_MINUS_ZERO):
            return no, z3.RealVal(0, self.ctx)
        if k == z3.Z3_OP_FPA_PLUS_INF:
            return no, z3.RealVal(FP_INF, self.ctx)
        if k == z3.Z3_OP_FPA_MINUS_INF:
            return no, z3.RealVal(-FP_INF, self.ctx)
        if k == z3.Z3_OP_FPA_NAN:
            return z3.BoolVal(True, self.ctx), z3.RealVal(0, self.ctx)
        if k == z3.Z3_OP_FPA_NEG:
            n, r = self.fp(args[0])
            return n, -r
        if k == z3.Z3_OP_FPA_ABS:
            n, r = self.fp(args[0])
            return n, z3.If(r < 0, -r, r)
        if k == z3.Z3_OP_ITE:
            c = self.term(args[0])
            (n1, r1), (n2, r2) = self.fp(args[1]), self.fp(args[2])
            return z3.If(c, n1, n2), z3.If(c, r1, r2)
        if k == z3.Z3_OP_UNINTERPRETED and not args:
            self.count += 1
            name = f"{e.decl().name()}%{e.decl().get_id()}"
            r = z3.Real(name, self.ctx)
            self.side.append(z3.And(r >= -FP_INF, r <= FP_INF))
            return z3.Bool(name + ".nan", self.ctx), r
        raise NotLinear(f"float operator {e.decl().name()}")

    def bitvector(self, e: z3.ExprRef, k: int, args: list[z3.ExprRef]) -> z3.ExprRef:
        if k in _COMPARE:
            w = args[0].size()
            a, b = self.term(args[0]), self.term(args[1])
            signed, op = _COMPARE[k]
            if signed:
                a, b = self.signed(a, w), self.signed(b, w)
            else:
                a, b = self.unsigned(a, w), self.unsigned(b, w)
            return op(a, b)
        w = e.size()
        if k == z3.Z3_OP_BADD:
            return self.wrap(z3.Sum(*[self.term(a) for a in args]), w)
        if k == z3.Z3_OP_BSUB:
            return self.wrap(self.term(args[0]) - self.term(args[1]), w)
        if k == z3.Z3_OP_BNEG:
            return self.wrap(-self.term(args[0]), w)
        if k == z3.Z3_OP_BNOT:
            return (255 - self.term(args[0])) if w == 8 else -self.term(args[0]) - 1
        if k == z3.Z3_OP_BMUL:
            product = self.term(args[0])
            for a in args[1:]:
                product = product * self.term(a)
            return self.wrap(product, w)
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
        r = self.fresh_int("and")
        self.side.append(self.in_range(r, w))
        a_s, b_s = self.signed(a, w), self.signed(b, w)
        r_s = self.signed(r, w)
        self.side.append(z3.Implies(a_s >= 0, z3.And(r_s >= 0, r_s <= a_s)))
        self.side.append(z3.Implies(b_s >= 0, z3.And(r_s >= 0, r_s <= b_s)))
        self.side.append(z3.Implies(z3.And(a_s < 0, b_s < 0),
                                    z3.And(r_s < 0, r_s <= a_s, r_s <= b_s)))
        return r

    def constant(self, e: z3.ExprRef) -> int:
        v = z3.simplify(e)
        if not z3.is_bv_value(v):
            raise NotLinear("a non-constant divisor or shift")
        return v.as_signed_long()


FP_INF = 2 ** 1100          # beyond every finite f64 (and f32)

_FP_COMPARE = {
    z3.Z3_OP_FPA_LT: lambda a, b: a < b,
    z3.Z3_OP_FPA_GT: lambda a, b: a > b,
    z3.Z3_OP_FPA_LE: lambda a, b: a <= b,
    z3.Z3_OP_FPA_GE: lambda a, b: a >= b,
    z3.Z3_OP_FPA_EQ: lambda a, b: a == b,
}

_BOOL_OPS = {
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

"""Hand-written models of the prelude functions whose bodies use raw memory.

Part of the static verifier. The prelude implements strings and maps with intrinsics the
verifier does not model (`__load_*`, `__store_*`, `__memcpy`), so calls to those functions
are replaced by what they do, stated over the verifier's string model (a length and an array
of bytes per string reference): concatenation, comparison, slicing (with its bounds as an
obligation), conversion to text (only the length is known), byte views. Map contents are not
modelled: results of map reads are arbitrary, and `m.get(k)` makes an "unknown" obligation,
since it traps on a missing key. Each model takes (encoder, state, call, argument values) and
returns (state, result); verify_effects.PRELUDE_EFFECTS lists what each may write.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import z3

from . import ir
from .verify_effects import PRELUDE_EFFECTS, region_len

if TYPE_CHECKING:
    from .verify_encode import FunctionEncoder


# Each takes (encoder, state, call, argument values) and returns (state, result).

def _fresh_str(enc: FunctionEncoder, length: z3.ExprRef | None = None,
               at_least: int = 0) -> z3.ExprRef:
    r = enc.fresh("str", enc.ref_sort)
    if length is not None:
        enc.facts.append(enc.str_len(r) == length)
    enc.facts.append(enc.str_len(r) >= at_least)
    return r


def _spec_concat(enc, st, e, args):
    a, b = args
    la, lb = enc.str_len(a), enc.str_len(b)
    r = _fresh_str(enc, la + lb)
    i = z3.BitVec("k", 32, enc.ctx)
    enc.facts.append(enc.str_bytes(r) == z3.Lambda([i], z3.If(
        z3.ULT(i, la), enc.str_bytes(a)[i], enc.str_bytes(b)[i - la])))
    return st, r


def _spec_str_eq(enc, st, e, args):
    return st, enc.str_eq(*args)


def _spec_str_cmp(enc, st, e, args):
    a, b = args
    fresh = "str_cmp/" + ",".join(str(enc.ref_sort) for _ in range(3)) not in enc._ufs
    f = enc.uf("str_cmp", enc.ref_sort, enc.ref_sort, enc.ref_sort)
    if fresh:
        # Comparing the other way round gives the opposite answer, for every pair of strings:
        # what a proof about an order (a sorted vector of strings) needs of the comparison.
        x, y = z3.Consts("cmp_a cmp_b", enc.ref_sort)
        enc.facts.append(z3.ForAll([x, y], f(y, x) == -f(x, y)))
    r = f(a, b)
    enc.facts.append(z3.Or(r == -1, r == 0, r == 1))
    enc.facts.append((r == 0) == enc.str_eq(a, b))
    return st, r


def _spec_slice(enc, st, e, args):
    s, a, b = args
    n = enc.str_len(s)
    st = enc.require(st, z3.And(a >= 0, a <= n, b >= a, b <= n), "index", e.span,
                     "0 <= start <= end <= length for slice", ("index out of bounds",
                                                                 "str.slice"))
    r = _fresh_str(enc, b - a)
    i = z3.BitVec("k", 32, enc.ctx)
    enc.facts.append(enc.str_bytes(r) == z3.Lambda([i], enc.str_bytes(s)[a + i]))
    return st, r


def _spec_to_str(enc, st, e, args):
    return st, _fresh_str(enc, at_least=1)


def _spec_bool_to_str(enc, st, e, args):
    r = _fresh_str(enc, z3.If(args[0], enc.i32(4), enc.i32(5)))
    return st, r


def _spec_input(enc, st, e, args):
    return st, _fresh_str(enc)


def _spec_nonneg_i32(enc, st, e, args):
    v = enc.fresh(e.func.rsplit(".", 1)[-1], ir.I32)
    return st.assume(v >= 0), v


def _spec_map_new(enc, st, e, args):
    return st, enc.fresh_ref(st, e.type, "map")


def _spec_map_opaque(enc, st, e, args):
    if e.type == ir.UNIT:
        return st, None
    v = enc.fresh(e.func.rsplit(".", 1)[-1], e.type)
    if e.type == ir.I32:
        st = st.assume(v >= 0)
    return st, v


def _spec_map_get(enc, st, e, args):
    enc.unmodelled(st, "unmodelled", e.span, "the key is in the map",
                   "map contents are not modelled")
    return st, enc.fresh("map_get", ir.I64)


def _spec_map_keys(enc, st, e, args):
    r = enc.fresh_ref(st, e.type, "keys")
    len_sort, _ = enc.seq_regions(e.type)
    lens = enc.region(st.heap, region_len(e.type), len_sort)
    n = enc.fresh("keys_len", ir.I32)
    st = st.assume(n >= 0)
    return enc.with_region(st, region_len(e.type), z3.Store(lens, r, n)), r


def _spec_str_from_bytes(enc, st, e, args):
    (v,) = args
    t = ir.VecT(ir.U8)
    n = enc.seq_len(st, t, v)
    r = _fresh_str(enc, n)
    enc.facts.append(enc.str_bytes(r) == enc.seq_data(st, t)[v])
    return st, r


def _spec_bytes(enc, st, e, args):
    (s,) = args
    return enc.new_sequence(st, ir.VecT(ir.U8), enc.str_len(s), enc.str_bytes(s))


def _spec_starts_with(enc, st, e, args):
    s, p = args
    ls, lp = enc.str_len(s), enc.str_len(p)
    return st, z3.And(lp <= ls, enc.str_upto(s, lp) == enc.str_upto(p, lp))


def _spec_ends_with(enc, st, e, args):
    s, p = args
    ls, lp = enc.str_len(s), enc.str_len(p)
    return st, z3.And(lp <= ls, enc.str_upto(s, lp, ls - lp) == enc.str_upto(p, lp))


def _spec_find(enc, st, e, args):
    s, p = args
    ls, lp = enc.str_len(s), enc.str_len(p)
    f = enc.uf("find", enc.ref_sort, enc.ref_sort, enc.ref_sort)
    r = f(s, p)
    enc.facts.append(z3.Or(r == -1, z3.And(r >= 0, r + lp <= ls,
                                           enc.str_upto(s, lp, r) == enc.str_upto(p, lp))))
    return st, r


def _spec_parse_i64(enc, st, e, args):
    enc.unmodelled(st, "unmodelled", e.span, "the text is a decimal i64",
                   "parse_i64 panics on malformed text, which is not modelled")
    f = enc.uf("parse_i64", enc.ref_sort, z3.BitVecSort(64, enc.ctx))
    return st, f(args[0])


def _spec_str_repeat(enc, st, e, args):
    s, n = args
    return st, _fresh_str(enc, z3.If(n <= 0, enc.i32(0), enc.str_len(s) * n))


PRELUDE_SPECS: dict[str, Callable] = {
    "prelude.__str_concat": _spec_concat,
    "prelude.__str_eq": _spec_str_eq,
    "prelude.__str_cmp": _spec_str_cmp,
    "prelude.__str_slice": _spec_slice,
    "prelude.__i64_to_str": _spec_to_str,
    "prelude.__i32_to_str": _spec_to_str,
    "prelude.__u8_to_str": _spec_to_str,
    "prelude.__f64_to_str": _spec_to_str,
    "prelude.__f32_to_str": _spec_to_str,
    "prelude.__bool_to_str": _spec_bool_to_str,
    "prelude.input": _spec_input,
    "prelude.arena_used": _spec_nonneg_i32,
    "prelude.arena_size": _spec_nonneg_i32,
    "prelude.__map_new": _spec_map_new,
    "prelude.__map_set": _spec_map_opaque,
    "prelude.__map_get": _spec_map_get,
    "prelude.__map_has": _spec_map_opaque,
    "prelude.__map_len": _spec_map_opaque,
    "prelude.__map_keys": _spec_map_keys,
    "prelude.str_from_bytes": _spec_str_from_bytes,
    "prelude.bytes": _spec_bytes,
    "prelude.starts_with": _spec_starts_with,
    "prelude.ends_with": _spec_ends_with,
    "prelude.find": _spec_find,
    "prelude.parse_i64": _spec_parse_i64,
    "prelude.str_repeat": _spec_str_repeat,
}

assert set(PRELUDE_SPECS) == set(PRELUDE_EFFECTS)

"""Exhaustiveness and reachability of `match` arms (Maranget's usefulness algorithm).

The checker builds `ir.Pattern`s for each arm; this module answers two questions about them:
which value shape no arm covers (E0208, reported with an example in source syntax), and
whether an arm can ever be reached after the arms before it (E0218). Enums and bool have
finitely many constructors; integers and strings are open, so only a wildcard covers them.
"""

from __future__ import annotations

from . import ir

Enums = dict[str, ir.EnumDef]

def missing_pattern(patterns: list[ir.Pattern], t: ir.Type, enums: Enums) -> str | None:
    """A value shape no pattern covers (as source text), or None when the match is total."""
    witness = _missing([[p] for p in patterns], [t], enums)
    return None if witness is None else witness[0]


def _missing(rows: list[list[ir.Pattern]], types: list[ir.Type], enums: Enums) \
        -> list[str] | None:
    """Maranget's usefulness check of the wildcard row, returning a witness."""
    if not types:
        return None if rows else []
    t, rest = types[0], types[1:]
    heads = [r[0] for r in rows]
    constructors = _constructors(t, enums)
    present = {_ctor_of(h) for h in heads if _ctor_of(h) is not None}
    if constructors is not None and all(k in present for k, _, _ in constructors):
        for key, label, fields in constructors:
            spec = []
            for r in rows:
                h = r[0]
                if _ctor_of(h) == key:
                    subs = h.fields if isinstance(h, ir.PVariant) else []
                    spec.append(list(subs) + r[1:])
                elif _ctor_of(h) is None:
                    spec.append([ir.PWild(h.span) for _ in fields] + r[1:])
            w = _missing(spec, fields + rest, enums)
            if w is not None:
                args = w[: len(fields)]
                shown = f"{label}({', '.join(args)})" if fields else label
                return [shown] + w[len(fields):]
        return None
    default = [r[1:] for r in rows if _ctor_of(r[0]) is None]
    w = _missing(default, rest, enums)
    if w is None:
        return None
    if constructors is None:
        return ["_"] + w
    for key, label, fields in constructors:
        if key not in present:
            shown = f"{label}({', '.join('_' for _ in fields)})" if fields else label
            return [shown] + w
    return ["_"] + w


def _specialize(rows: list[list[ir.Pattern]], key: object, arity: int) \
        -> list[list[ir.Pattern]]:
    out = []
    for r in rows:
        k = _ctor_of(r[0])
        if k == key:
            subs = list(r[0].fields) if isinstance(r[0], ir.PVariant) else []
            out.append(subs + r[1:])
        elif k is None:
            out.append([ir.PWild(r[0].span) for _ in range(arity)] + r[1:])
    return out


def useful(rows: list[list[ir.Pattern]], vec: list[ir.Pattern], types: list[ir.Type],
            enums: Enums) -> bool:
    """Whether some value matched by `vec` is matched by none of `rows` (Maranget)."""
    if not types:
        return not rows
    t, rest = types[0], types[1:]
    head = vec[0]
    key = _ctor_of(head)
    ctors = _constructors(t, enums) or []
    if key is not None:
        fields = next((f for k, _, f in ctors if k == key), [])
        subs = list(head.fields) if isinstance(head, ir.PVariant) else []
        return useful(_specialize(rows, key, len(fields)), subs + vec[1:], fields + rest, enums)
    present = {_ctor_of(r[0]) for r in rows} - {None}
    if ctors and all(k in present for k, _, _ in ctors):
        return any(useful(_specialize(rows, k, len(f)), [ir.PWild(head.span) for _ in f]
                           + vec[1:], f + rest, enums) for k, _, f in ctors)
    return useful([r[1:] for r in rows if _ctor_of(r[0]) is None], vec[1:], rest, enums)


class PError(ir.PWild):
    """A pattern that failed to check: matches like `_` but is never reported unreachable."""


def has_error(p: ir.Pattern) -> bool:
    if isinstance(p, PError):
        return True
    return isinstance(p, ir.PVariant) and any(has_error(f) for f in p.fields)


def _ctor_of(p: ir.Pattern) -> object | None:
    if isinstance(p, ir.PVariant):
        return ("variant", p.tag)
    if isinstance(p, ir.PLit):
        v = p.value
        return ("lit", getattr(v, "value", None))
    return None


def _constructors(t: ir.Type, enums: Enums) -> list[tuple[object, str, list[ir.Type]]] | None:
    if isinstance(t, ir.EnumT):
        return [(("variant", v.tag), v.name, list(v.fields)) for v in enums[t.name].variants]
    if t == ir.BOOL:
        return [(("lit", True), "true", []), (("lit", False), "false", [])]
    return None

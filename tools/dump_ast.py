"""Print the reference parser's AST of a `.syn` file as canonical text, one node per line.

The self-hosted parser's twin (bootstrap/tests/dump_ast.syn) prints the same text for the
bootstrap AST, so the two parsers can be compared file by file
(bootstrap/tests/compare_ast.py). Each line is `LABEL=Class L:C-L:C field=value ...`, indented
by depth; child nodes follow their parent, a tuple of nodes as `name[N]` and its elements.
A file the parser rejects prints `error CODE L:C-L:C` per diagnostic.

Usage: python tools/dump_ast.py FILE [FILE...]   (or -  to read `PATH\\nTEXT` from stdin)
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from synapse.compiler import ast
from synapse.compiler.diagnostics import CompileError, Span
from synapse.compiler.parse import parse_file


def quote(data: bytes) -> str:
    """Printable ASCII as is; other bytes, `"` and `\\` as \\xHH."""
    return '"' + "".join(chr(c) if 0x20 <= c < 0x7F and c not in (0x22, 0x5C) else f"\\x{c:02x}"
                         for c in data) + '"'


def span_text(s: Span) -> str:
    return f"{s.line}:{s.col}-{s.end_line}:{s.end_col}"


def scalar(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return quote(value.encode("utf-8", "surrogatepass"))
    if isinstance(value, bytes):
        return quote(value)
    if isinstance(value, Span):
        return span_text(value)
    raise TypeError(type(value))


def is_node(value: object) -> bool:
    return dataclasses.is_dataclass(value) and not isinstance(value, Span)


def dump_node(node: object, depth: int, label: str, out: list[str]) -> None:
    fields = [(f.name, getattr(node, f.name)) for f in dataclasses.fields(node)]
    head = "  " * depth + (label + "=" if label else "") + type(node).__name__
    parts = [head]
    children: list[tuple[str, object]] = []
    for name, value in fields:
        if name == "span":
            parts.append(span_text(value))
        elif is_node(value) or (isinstance(value, tuple) and name not in ("path",)):
            children.append((name, value))
        elif isinstance(value, tuple):
            parts.append(f"{name}=" + ".".join(value))
        else:
            parts.append(f"{name}={scalar(value)}")
    out.append(" ".join(parts))
    for name, value in children:
        if isinstance(value, tuple):
            out.append("  " * (depth + 1) + f"{name}[{len(value)}]")
            for element in value:
                dump_node(element, depth + 2, "", out)
        else:
            dump_node(value, depth + 1, name, out)


def dump_module(file: str, text: str) -> str:
    out: list[str] = []
    try:
        module = parse_file(file, text, Path(file).stem)
    except CompileError as e:
        for d in e.diagnostics:
            out.append(f"error {d.code} {span_text(d.span)}")
        return "\n".join(out) + "\n"
    out.append(f"module {module.name} items={len(module.items)}")
    for item in module.items:
        dump_node(item, 1, "", out)
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    if argv == ["-"]:
        data = sys.stdin.buffer.read()
        path, _, rest = data.partition(b"\n")
        sys.stdout.write(dump_module(path.decode(), rest.decode("utf-8")))
        return 0
    for name in argv:
        sys.stdout.write(dump_module(name, Path(name).read_bytes().decode("utf-8")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

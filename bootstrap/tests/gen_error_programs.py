"""Write mutated copies of the repository's `.syn` files, most of them syntax errors.

Each copy has one random edit: a token deleted or duplicated, a keyword, operator or literal
inserted or put in a token's place, the text cut short, a token glued to the next one (the space
between them removed: `fn main` becomes `fnmain`, which lark's contextual lexer may cut as `fn`
`main`), or a space put inside a token. compare_ast.py run over the output
folder checks that the bootstrap parser reports the reference's diagnostics at the same place.

Usage: python bootstrap/tests/gen_error_programs.py OUT_DIR [--count N] [--seed S]
"""

from __future__ import annotations

import argparse
import random
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9][0-9_.eExa-fA-F]*|\"[^\"\n]*\"|'[^'\n]*'|"
                   r"<<=|>>=|\.\.|->|=>|[=!<>+\-*/%&|^]=|&&|\|\||<<|>>|\S")
INSERTS = ["fn", "let", "if", "else", "match", "in", "as", "_", "=>", "->", "..", "=", "==",
           "<<=", "+=", "-", "!", "(", ")", "{", "}", "[", "]", ";", ",", ":", ".", "1.5",
           "1e5", "0x", "42", "'a'", '"s"', "true", "Vec", "for", "while", "return", "struct",
           "#", "'", '"', "/*", "and", "forall", "requires", "$", "é"]


def mutate(text: str, rng: random.Random) -> str:
    tokens = [m.span() for m in TOKEN.finditer(text)]
    if not tokens:
        return text + "}"
    a, b = tokens[rng.randrange(len(tokens))]
    kind = rng.randrange(7)
    if kind == 5:
        return text[:b] + text[b:].lstrip(" \t\n")
    if kind == 6 and b - a > 1:
        cut = rng.randrange(a + 1, b)
        return text[:cut] + " " + text[cut:]
    if kind == 0:
        return text[:a] + text[b:]
    if kind == 1:
        return text[:b] + " " + text[a:b] + text[b:]
    if kind == 2:
        return text[:a] + rng.choice(INSERTS) + " " + text[a:]
    if kind == 3:
        return text[:a] + rng.choice(INSERTS) + text[b:]
    return text[:b]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    sources = sorted(p for folder in ("tests", "examples", "stdlib")
                     for p in (ROOT / folder).rglob("*.syn"))
    texts = []
    for p in sources:
        try:
            texts.append(p.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            pass
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for i in range(args.count):
        (out / f"m{i:04d}.syn").write_text(mutate(rng.choice(texts), rng), encoding="utf-8")


if __name__ == "__main__":
    main()

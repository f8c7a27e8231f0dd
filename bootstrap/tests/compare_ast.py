"""Compare the bootstrap parser (bootstrap/parse.syn) with the reference (compiler/parse.py).

Runs tools/dump_ast.py's printer over every `.syn` file of the repository (tests, examples,
stdlib, bench, the prelude, bootstrap itself) and bootstrap/tests/dump_ast.syn over the same
files in one run, then prints how many dumps are equal: accepted files (same AST, spans and
values) and rejected ones (same diagnostics: code and span). Extra files or directories given
on the command line are compared too (e.g. generated error programs).

Usage: python bootstrap/tests/compare_ast.py [--show N] [PATH...]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

from dump_ast import dump_module  # noqa: E402

SEARCHED = ["tests", "examples", "stdlib", "bench", "bootstrap"]
BOOTSTRAP_MODULES = ["ast.syn", "diagnostics.syn", "lex.syn", "literals.syn", "parse.syn",
                     "parse_body.syn", "parse_limits.syn"]


def corpus(extra: list[str]) -> list[Path]:
    files = [ROOT / "compiler" / "prelude.syn"]
    for folder in SEARCHED:
        files.extend(sorted((ROOT / folder).rglob("*.syn")))
    for name in extra:
        p = Path(name)
        files.extend(sorted(p.rglob("*.syn")) if p.is_dir() else [p])
    return files


def readable(files: list[Path]) -> list[tuple[str, bytes]]:
    out = []
    for f in files:
        data = f.read_bytes()
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            continue      # E0005 belongs to the loader, not the parser
        name = os.path.relpath(f, ROOT) if f.is_absolute() else str(f)
        out.append((name, data))
    return out


BATCH_BYTES = 150_000   # source bytes per run: the sandbox caps a run's output at 16 MiB


def batches(files: list[tuple[str, bytes]]) -> list[list[tuple[str, bytes]]]:
    out: list[list[tuple[str, bytes]]] = [[]]
    size = 0
    for name, data in files:
        if out[-1] and size + len(data) > BATCH_BYTES:
            out.append([])
            size = 0
        out[-1].append((name, data))
        size += len(data)
    return out


def bootstrap_dumps(files: list[tuple[str, bytes]]) -> dict[str, str]:
    """Compile dump_ast.syn once, run it over bundles of the files; its output split per file.

    A bundle whose run fails (a trap, an exhausted limit) is run again one file at a time, so
    only the file that fails has no dump."""
    dumps: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for module in BOOTSTRAP_MODULES:
            os.symlink(ROOT / "bootstrap" / module, Path(tmp) / module)
        os.symlink(ROOT / "bootstrap" / "tests" / "dump_ast.syn", Path(tmp) / "dump_ast.syn")
        wasm = Path(tmp) / "dump_ast.wasm"
        subprocess.run([sys.executable, "-m", "synapse.runtime", "build",
                        str(Path(tmp) / "dump_ast.syn"), "-o", str(wasm)], check=True, cwd=ROOT)
        pending = batches(files)
        while pending:
            batch = pending.pop()
            run = run_dumper(wasm, batch, Path(tmp) / "bundle")
            if run.returncode != 0 and len(batch) > 1:
                pending.extend([f] for f in batch)   # find the file that fails, run alone
                continue
            if run.returncode != 0:
                sys.stderr.write(f"{batch[0][0]}: {run.stderr[-3000:]}")
                continue
            current: list[str] = []
            for line in run.stdout.splitlines():
                if line.startswith("=== "):
                    current = dumps.setdefault(line[4:], [])
                else:
                    current.append(line)
    return {name: "\n".join(lines) + "\n" for name, lines in dumps.items()}


def run_dumper(wasm: Path, batch: list[tuple[str, bytes]],
               bundle: Path) -> subprocess.CompletedProcess[str]:
    with open(bundle, "wb") as out:
        for name, data in batch:
            out.write(name.encode() + b"\n" + str(len(data)).encode() + b"\n" + data)
    return subprocess.run(
        [sys.executable, "-m", "synapse.runtime", "run", str(wasm),
         "--input-file", str(bundle), "--fuel", str(10**12)],
        capture_output=True, text=True, cwd=ROOT)


def first_difference(a: str, b: str) -> str:
    la, lb = a.splitlines(), b.splitlines()
    for i, (x, y) in enumerate(zip(la, lb)):
        if x != y:
            return f"line {i + 1}:\n  reference: {x}\n  bootstrap: {y}"
    return f"lengths differ: {len(la)} vs {len(lb)} lines"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*")
    parser.add_argument("--show", type=int, default=10, help="differences to print")
    args = parser.parse_args()
    files = readable(corpus(args.paths))
    ours = bootstrap_dumps(files)
    counts = {"ok": [0, 0], "error": [0, 0]}
    shown = 0
    for name, data in files:
        ref = dump_module(name, data.decode("utf-8"))
        kind = "error" if ref.startswith("error") else "ok"
        counts[kind][1] += 1
        got = ours.get(name, "<no output>\n")
        if got == ref:
            counts[kind][0] += 1
        elif shown < args.show:
            shown += 1
            print(f"DIFF {name}: {first_difference(ref, got)}")
    print(f"accepted files equal: {counts['ok'][0]} / {counts['ok'][1]}")
    print(f"rejected files equal: {counts['error'][0]} / {counts['error'][1]}")
    return 0 if counts["ok"][0] == counts["ok"][1] and counts["error"][0] == counts["error"][1] else 1


if __name__ == "__main__":
    sys.exit(main())

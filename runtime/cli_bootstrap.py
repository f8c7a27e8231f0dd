"""`syn bootstrap`: verify the self-hosted compiler against the reference compiler.

Builds the stages of the bootstrap (stage1 = the reference compiler's build of
`bootstrap/main.syn`, stage2 = stage1's build of it, stage3 = stage2's) and checks they are
byte-identical, then compiles every program of the repository (`selfhost.corpus()`, or those
whose id contains a PATTERN) with both compilers and compares the outcomes. Prints a summary:
the stages, how many programs were compared and how many came out identical, each mismatch
with its first differing offset and the section/function holding it, the time of each stage,
and the self-compile's peak arena and fuel. Exit codes: 0 everything identical, 1 not, 2 usage.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_commands(sub: Any) -> None:
    cmd = sub.add_parser(
        "bootstrap", help="check the self-hosted compiler against the reference compiler",
        description="Build the bootstrap's three stages and compare them; compile every "
                    "program of the repository with both compilers and compare the outcomes.")
    cmd.add_argument("patterns", nargs="*", metavar="PATTERN",
                     help="compare only the programs whose id contains a PATTERN")
    cmd.add_argument("--json", action="store_true", help="print the report as JSON")
    only = cmd.add_mutually_exclusive_group()
    only.add_argument("--stages-only", action="store_true", help="build and compare the stages only")
    only.add_argument("--corpus-only", action="store_true",
                      help="compare the corpus only (with stage1), skipping stage2 and stage3")
    cmd.set_defaults(handler=cmd_bootstrap)


def cmd_bootstrap(args: argparse.Namespace) -> int:
    from synapse.runtime import selfhost
    report: dict[str, Any] = {}
    start = time.perf_counter()
    try:
        stage1 = selfhost.compile_stage1()
    except selfhost.SelfhostError as err:
        report["error"] = str(err)
        _emit(args, report, [str(err)])
        return EXIT_FAILED
    report["stage1_seconds"] = round(time.perf_counter() - start, 3)
    lines: list[str] = []
    ok = True
    if not args.corpus_only:
        stages = selfhost.stages(stage1)
        stages.seconds["stage1"] = report["stage1_seconds"]
        report["stages"] = stages.to_json()
        lines += _stage_lines(stages)
        ok = ok and stages.identical
    if not args.stages_only:
        programs = selfhost.select(selfhost.corpus(), args.patterns)
        if args.patterns and not programs:
            print(f"syn: error: no program matches {' '.join(args.patterns)}", file=sys.stderr)
            return EXIT_USAGE
        results = [selfhost.compare(p, stage1) for p in programs]
        report["corpus"] = _corpus_json(results)
        lines += _corpus_lines(results)
        ok = ok and all(r.identical for r in results)
    report["identical"] = ok
    _emit(args, report, lines)
    return EXIT_OK if ok else EXIT_FAILED


def _emit(args: argparse.Namespace, report: dict[str, Any], lines: list[str]) -> None:
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for line in lines:
            print(line)


def _stage_lines(stages: Any) -> list[str]:
    sizes = stages.stage_bytes
    secs = stages.seconds
    shown = []
    for n, name in enumerate(("stage1", "stage2", "stage3")):
        size = f"{sizes[n]} bytes" if sizes[n] else "not built"
        took = f", {secs[name]:.2f} s" if name in secs else ""
        shown.append(f"{name} {size}{took}")
    verdict = "identical" if stages.identical else "NOT identical"
    lines = [f"stages: {verdict}: " + "; ".join(shown)]
    if stages.problem:
        lines.append(f"  {stages.problem}")
    arena = "-" if stages.peak_arena is None else f"{stages.peak_arena} bytes"
    fuel = "-" if stages.fuel is None else str(stages.fuel)
    lines.append(f"self-compile: peak arena {arena}, fuel {fuel}")
    return lines


def _corpus_json(results: list[Any]) -> dict[str, Any]:
    return {
        "compared": len(results),
        "identical": sum(r.identical for r in results),
        "mismatches": [r.to_json() for r in results if not r.identical],
        "reference_seconds": round(sum(r.reference_seconds for r in results), 3),
        "selfhost_seconds": round(sum(r.selfhost_seconds for r in results), 3),
    }


def _corpus_lines(results: list[Any]) -> list[str]:
    same = sum(r.identical for r in results)
    ref = sum(r.reference_seconds for r in results)
    own = sum(r.selfhost_seconds for r in results)
    lines = [f"corpus: {len(results)} programs compared, {same} identical, "
             f"{_plural(len(results) - same, 'mismatch', 'mismatches')} "
             f"(reference {ref:.1f} s, self-hosted {own:.1f} s)"]
    for r in results:
        if not r.identical:
            lines.append(f"  MISMATCH {r.program}: {r.detail}")
    return lines


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"

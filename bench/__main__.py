"""Command line for the benchmarks: `python -m bench [--json] [--quick] [SUITE ...]`.

Without suite names every registered suite except the aliases runs. `--json` prints ONE JSON
object holding the figures of all suites run; otherwise a readable table. The exit status is 1
when any suite found a wrong result (e.g. a kernel checksum mismatch) or crashed, 2 for an
unknown suite name, else 0. Figures that could not be measured are null, which is not a failure.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import traceback
from collections.abc import Callable

from bench import ALIASES, SUITES
from bench.harness import BenchFailure, Figures, format_table


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Synapse benchmarks")
    parser.add_argument("suites", nargs="*", metavar="SUITE",
                        help=f"suites to run (default: all but aliases); known: {', '.join(SUITES)}")
    parser.add_argument("--json", action="store_true", help="print one JSON object of figures")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, smaller inputs")
    return parser.parse_args(argv)


def load_suite(name: str) -> Callable[[bool], Figures]:
    module_name, _, function_name = SUITES[name].partition(":")
    return getattr(importlib.import_module(module_name), function_name)


def run_suite(name: str, quick: bool) -> tuple[Figures, bool]:
    """Run one suite; return its figures and whether it succeeded. Reasons go to stderr."""
    try:
        return load_suite(name)(quick), True
    except BenchFailure as failure:
        print(f"bench: {name}: FAILED: {failure}", file=sys.stderr)
        return failure.figures, False
    except Exception:
        print(f"bench: {name}: crashed", file=sys.stderr)
        traceback.print_exc(file=sys.stderr)
        return {}, False


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    names = args.suites or [name for name in SUITES if name not in ALIASES]
    unknown = [name for name in names if name not in SUITES]
    if unknown:
        print(f"bench: unknown suite(s): {', '.join(unknown)}; known: {', '.join(SUITES)}",
              file=sys.stderr)
        return 2
    sections: dict[str, Figures] = {}
    all_ok = True
    for name in names:
        figures, ok = run_suite(name, args.quick)
        sections[name] = figures
        all_ok = all_ok and ok
    if args.json:
        merged: Figures = {}
        for figures in sections.values():
            merged.update(figures)
        print(json.dumps(merged, indent=2))
    else:
        print(format_table(sections))
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())

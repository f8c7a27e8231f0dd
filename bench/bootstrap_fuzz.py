"""A long differential campaign: the self-hosted compiler against the reference compiler.

    python -m bench.bootstrap_fuzz --count 10000 [--seed S] [--mutated PERCENT] [--save DIR]

Builds stage1 (bootstrap/main.syn compiled by the reference compiler), then compiles COUNT
programs with both compilers and compares the outcomes (identical bytes, or the same rejected
(code, line, col) list). Most programs are well-typed random programs from the property tests'
generator (tests/property/gen_programs.py, one per seed: `generate_from_seed(S + i)`); PERCENT
of them (default 25) are instead golden programs with a few tokens deleted, duplicated or
replaced, which exercises the diagnostics. Prints how many programs it compared and every
mismatch with the seed that reproduces it (`--save DIR` also writes each mismatching program's
source there); exits 1 when there is a mismatch.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path
from types import ModuleType

from synapse.runtime import selfhost

PROPERTY_TESTS = Path(__file__).resolve().parent.parent / "tests" / "property"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.bootstrap_fuzz",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, required=True, help="programs to compare")
    parser.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    parser.add_argument("--mutated", type=int, default=25, metavar="PERCENT",
                        help="share of programs made by mutating golden programs (default 25)")
    parser.add_argument("--save", metavar="DIR",
                        help="write the source of each mismatching program to DIR/seed_S.syn")
    return parser.parse_args(argv)


def program_for(seed: int, mutated_percent: int, corpus: list[str], gen: ModuleType) -> str:
    """The program of one seed: a generated one, or a mutated golden program."""
    rng = random.Random(seed)
    if corpus and rng.randrange(100) < mutated_percent:
        return gen.mutate_tokens(rng.choice(corpus), rng)
    return gen.generate_from_seed(seed).source


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(PROPERTY_TESTS))
    import gen_programs as gen
    try:
        stage1 = selfhost.compile_stage1()
    except selfhost.SelfhostError as err:
        print(f"cannot build stage1: {err}")
        return 1
    corpus = gen.corpus_sources()
    mismatches = 0
    start = time.perf_counter()
    for i in range(args.count):
        seed = args.seed + i
        source = program_for(seed, args.mutated, corpus, gen)
        made = selfhost.compare_source(source, stage1)
        if not made.identical:
            mismatches += 1
            print(f"MISMATCH seed {seed}: {made.detail}", flush=True)
            if args.save:
                Path(args.save).mkdir(parents=True, exist_ok=True)
                (Path(args.save) / f"seed_{seed}.syn").write_text(source, encoding="utf-8")
        if (i + 1) % 100 == 0:
            print(f"... {i + 1} compared, {mismatches} mismatches, "
                  f"{time.perf_counter() - start:.0f} s", flush=True)
    print(f"compared {args.count} programs (seeds {args.seed}..{args.seed + args.count - 1}): "
          f"{args.count - mismatches} identical, {mismatches} mismatches")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())

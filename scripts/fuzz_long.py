"""Long fuzzing campaign for the compiler, for use outside CI.

Runs `--count N` random programs from `tests/property/gen_programs.py` (seeded, reproducible by
seed): each is compiled, validated by wasmtime, run in the sandbox and compared with the reference
evaluator; and, with `--mutations`, a token-mutated or truncated copy of each goes through the
robustness check (no exception, well-formed diagnostics). Prints how many programs ran and every
failure with its seed, and writes failing sources to `--out` when given.

    python scripts/fuzz_long.py --count 20000 --seed 1 --mutations --out fuzz-failures
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "property"))

import wasmtime  # noqa: E402

from gen_programs import (  # noqa: E402
    corpus_sources, diagnostic_problems, generate_from_seed, line_count_of, mutate_tokens,
    outcome_problem, truncate,
)

FUEL = 10**8


def check_semantics(source: str, expected: object, engine: wasmtime.Engine) -> str | None:
    from synapse.compiler.driver import compile_source
    from synapse.runtime.sandbox import run_module

    first = compile_source(source)
    if not first.ok:
        rendered = "\n".join(d.render(first.sources.get(d.span.file)) for d in first.diagnostics)
        return f"rejected a well-typed program:\n{rendered}"
    wasmtime.Module.validate(engine, first.wasm)
    if compile_source(source).wasm != first.wasm:
        return "two compiles gave different bytes"
    return outcome_problem(expected, run_module(first.wasm, fuel=FUEL))  # type: ignore[arg-type]


def check_robustness(text: str, engine: wasmtime.Engine) -> str | None:
    from synapse.compiler.driver import compile_source

    result = compile_source(text)
    if result.ok:
        wasmtime.Module.validate(engine, result.wasm)
        return None
    problems = diagnostic_problems(result, line_count_of(text))
    return "\n".join(problems) or None


def guarded(check: object, *args: object) -> str | None:
    try:
        return check(*args)  # type: ignore[operator]
    except Exception:  # noqa: BLE001 -- an exception is a finding, reported with its traceback
        return "raised:\n" + traceback.format_exc()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000, help="programs to generate")
    parser.add_argument("--seed", type=int, default=0, help="first seed")
    parser.add_argument("--mutations", action="store_true", help="also fuzz damaged copies")
    parser.add_argument("--max-failures", type=int, default=20, help="stop after this many")
    parser.add_argument("--out", type=Path, help="folder for failing sources")
    args = parser.parse_args(argv)

    engine = wasmtime.Engine()
    corpus = corpus_sources()
    failures = ran = damaged = 0
    started = time.monotonic()
    for seed in range(args.seed, args.seed + args.count):
        generated = generate_from_seed(seed)
        checks = [("semantics", generated.source, guarded(check_semantics, generated.source, generated.expected, engine))]
        if args.mutations:
            rng = random.Random(seed)
            base = rng.choice(corpus + [generated.source])
            text = mutate_tokens(base, rng) if rng.random() < 0.7 else truncate(base, rng)
            checks.append(("robustness", text, guarded(check_robustness, text, engine)))
            damaged += 1
        ran += 1
        for kind, source, problem in checks:
            if problem is None:
                continue
            failures += 1
            print(f"FAIL seed={seed} ({kind}): {problem}\n{source}\n", flush=True)
            if args.out:
                args.out.mkdir(parents=True, exist_ok=True)
                (args.out / f"{kind}-{seed}.syn").write_text(source, encoding="utf-8")
        if failures >= args.max_failures:
            print(f"stopping after {failures} failures")
            break
        if ran % 500 == 0:
            print(f"... {ran} programs, {failures} failures, {time.monotonic() - started:.0f} s", flush=True)
    print(f"ran {ran} programs ({damaged} damaged copies): {failures} failures "
          f"in {time.monotonic() - started:.1f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

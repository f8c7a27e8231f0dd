"""Verifier suite: time and Z3 resource use per proof obligation, and the whole stdlib.

Figures (all from cold verifications, i.e. without the result cache, unless named "cached"):
- `verify_simple_obligation_ms_median`: a *simple property* obligation: a precondition proved
  at a call site or a comparison postcondition (the generated SIMPLE program);
- `verify_expression_ms_median`: an *expression proof*: a postcondition or assertion about
  arithmetic (wrap-around, division, shifts, mid-points; the generated EXPRESSION program);
- `verify_stdlib_cold_s` / `verify_stdlib_cached_s`: every function of every stdlib module
  (replaying the counterexamples of failures included), without and with the cache, proved
  by as many processes as the machine gives (spec 11.7);
- `verify_<kind>_ms_median` and `verify_<kind>_rlimit_median`: per obligation kind over the
  corpus in tests/verify (ok and bad programs);
- `verify_corpus_obligations`, `verify_corpus_proved`;
- `verify_bootstrap_cold_s`, `verify_bootstrap_obligations`, `verify_bootstrap_proved`,
  `verify_bootstrap_failed`, `verify_bootstrap_unknown`: the whole self-hosted compiler
  (bootstrap/main.syn and every module it imports) verified without the cache and without
  replays, by as many processes as the machine gives (null with --quick).
The time of an obligation is what verify.py records for it: its share of encoding the function
plus its own solving. rlimit is Z3's deterministic resource count for the obligation.
The parser is warmed first, so the figures are the verifier's, not lark's grammar build.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

from bench.harness import Figures

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "verify"
STDLIB_MODULES = ("math", "sort", "strings", "collections")


def simple_program(count: int) -> str:
    """Functions whose obligations are single comparisons (call-site preconditions,
    sign postconditions)."""
    parts = []
    for k in range(count):
        parts.append(f"""
fn pos{k}(x: i32) -> i32 requires x > {k} ensures result > {k} {{ x }}
fn use{k}(y: i32) -> i32 requires y >= {k + 5} ensures result > {k} {{
    pos{k}(y)
}}
""")
    return "".join(parts)


def expression_program(count: int) -> str:
    """Functions whose obligations are facts about arithmetic expressions."""
    parts = []
    for k in range(count):
        parts.append(f"""
fn mid{k}(lo: i32, hi: i32) -> i32
    requires 0 <= lo && lo <= hi
    ensures lo <= result && result <= hi
{{
    lo + (hi - lo) / {2 + k % 3}
}}
fn scale{k}(a: i32, b: i32) -> i32
    requires 0 <= a && a <= 10000 && 0 <= b && b <= 10000
    ensures result == {k + 3} * a + b
{{
    var s = b;
    s += a * {k + 3};
    assert s - b == a * {k + 3};
    s
}}
fn bits{k}(x: i32) -> i32 ensures result >= 0 && result <= 255 {{
    (x >> {k % 24}) & 255
}}
""")
    return "".join(parts)


def _times(report, kinds: set[str] | None = None) -> list[float]:
    return [o.time_ms for o in report.obligations
            if o.result == "proved" and (kinds is None or o.kind in kinds)]


def _verify_text(text: str, name: str, directory: Path):
    """Verified in this process: the time of one obligation is a property of its proof, not
    of how many processes share the work (the stdlib figures below use them all)."""
    from synapse.compiler.verify import verify_file
    path = directory / name
    path.write_text(text)
    saved = os.environ.get("SYN_VERIFY_JOBS")
    os.environ["SYN_VERIFY_JOBS"] = "1"
    try:
        return verify_file(str(path), lib=True, replay=False)
    finally:
        if saved is None:
            del os.environ["SYN_VERIFY_JOBS"]
        else:
            os.environ["SYN_VERIFY_JOBS"] = saved


def _warm_up() -> None:
    from synapse.compiler.driver import compile_source
    compile_source("fn main() { println(1); }")


def run(quick: bool) -> Figures:
    from synapse.compiler.verify import VerifyCache, verify_file
    _warm_up()
    figures: Figures = {}
    repeats = 1 if quick else 3
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        n = 10 if quick else 30
        simple = _verify_text(simple_program(n), "simple.syn", work)
        expr = _verify_text(expression_program(n // 2), "expression.syn", work)
        figures["verify_simple_obligation_ms_median"] = _median(_times(simple))
        figures["verify_simple_obligation_rlimit_median"] = _median(
            [o.rlimit for o in simple.obligations])
        figures["verify_expression_ms_median"] = _median(
            _times(expr, {"ensures", "assert", "index", "division", "overflow"}))
        figures["verify_expression_rlimit_median"] = _median(
            [o.rlimit for o in expr.obligations if o.kind in ("ensures", "assert")])
        figures["verify_unproved_in_generated"] = sum(
            1 for o in simple.obligations + expr.obligations if o.result != "proved")

        entry = work / "stdlib_all.syn"
        entry.write_text("".join(f"import {m};\n" for m in STDLIB_MODULES))
        cold, cached = [], []
        for i in range(repeats):
            cache = VerifyCache(work / f"cache{i}")
            t0 = time.perf_counter()
            report = verify_file(str(entry), lib=True, cache=cache, stdlib=True)
            cold.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            again = verify_file(str(entry), lib=True, cache=cache, stdlib=True)
            cached.append(time.perf_counter() - t0)
        figures["verify_stdlib_cold_s"] = round(statistics.median(cold), 4)
        figures["verify_stdlib_cached_s"] = round(statistics.median(cached), 4)
        figures["verify_stdlib_obligations"] = len(report.obligations)
        figures["verify_stdlib_proved"] = sum(1 for o in report.obligations
                                              if o.result == "proved")
        figures["verify_stdlib_functions_cached"] = sum(1 for f in again.functions if f.cached)

        per_kind: dict[str, list] = {}
        total = proved = 0
        for path in sorted(CORPUS.glob("*/*.syn")):
            report = verify_file(str(path), replay=False)
            for o in report.obligations:
                total += 1
                proved += o.result == "proved"
                per_kind.setdefault(o.kind, []).append(o)
        for kind in sorted(per_kind):
            obs = per_kind[kind]
            figures[f"verify_{kind}_ms_median"] = _median([o.time_ms for o in obs])
            figures[f"verify_{kind}_rlimit_median"] = _median([o.rlimit for o in obs])
            figures[f"verify_{kind}_count"] = len(obs)
        figures["verify_corpus_obligations"] = total
        figures["verify_corpus_proved"] = proved
        figures.update(_bootstrap(work, quick))
    return figures


def _bootstrap(work: Path, quick: bool) -> Figures:
    """The self-hosted compiler verified cold (about a minute and a half on two cores)."""
    from synapse.compiler.verify import VerifyCache, verify_file
    keys = ("verify_bootstrap_cold_s", "verify_bootstrap_obligations", "verify_bootstrap_proved",
            "verify_bootstrap_failed", "verify_bootstrap_unknown")
    if quick:
        return dict.fromkeys(keys)
    t0 = time.perf_counter()
    report = verify_file(str(ROOT / "bootstrap" / "main.syn"),
                         cache=VerifyCache(work / "bootstrap_cache"), read_cache=False,
                         replay=False)
    seconds = time.perf_counter() - t0
    return {"verify_bootstrap_cold_s": round(seconds, 2),
            "verify_bootstrap_obligations": len(report.obligations),
            "verify_bootstrap_proved": sum(1 for o in report.obligations
                                           if o.result == "proved"),
            "verify_bootstrap_failed": sum(1 for o in report.obligations
                                           if o.result == "failed"),
            "verify_bootstrap_unknown": sum(1 for o in report.obligations
                                            if o.result == "unknown")}


def _median(values: list) -> float | None:
    if not values:
        return None
    return round(float(statistics.median(values)), 4)

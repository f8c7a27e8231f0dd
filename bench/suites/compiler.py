"""Compiler suite: reference-compiler throughput, end to end, on a large generated program.

`generate_program(target_lines)` builds a deterministic, realistic `.syn` program (structs,
enums with payloads, recursive enums, matches with nested patterns, loops with invariants,
contracts, vectors, fixed arrays, maps, string building and slicing, uniform call syntax) by
repeating one self-contained unit with varying names and constants. The suite compiles it with
`synapse.compiler.driver.compile_source` (parse, check, lower, encode) and reports lines per
second from the median of several runs. A per-phase breakdown is measured through each phase's
public entry point (`load_program`, `check_program`, `lower_program`, `Module.encode`); any
figure that cannot be measured is null.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from string import Template
from types import ModuleType
from typing import Any

from bench.harness import Figures, median, ns_to_ms, sample_ns

FULL_TARGET_LINES = 4_000
QUICK_TARGET_LINES = 600

PHASES = ("load", "check", "lower", "encode")

# One unit of the generated program. `$k` makes every name unique; `$limit`, `$mul`, `$div`
# and `$salt` vary the constants so units are not byte-identical.
UNIT = Template("""\
// ---- unit $k ----
const LIMIT_$k: i32 = $limit;

struct Item$k {
    id: i32,
    weight: i64,
    ratio: f64,
    name: str,
    active: bool
}

enum Shape$k { Circle(f64), Rect(f64, f64), Tri(f64, f64, f64), Empty }

enum Token$k { Num(i64), Word(str), Sym(u8), End }

enum Expr$k { Lit(i64), Add(Expr$k, Expr$k), Mul(Expr$k, Expr$k), Neg(Expr$k) }

fn make_items$k(n: i32) -> Vec[Item$k] requires n >= 0 {
    var items = Vec[Item$k]();
    for i in 0..n {
        let w = (i * $mul % 97) as i64;
        let it = Item$k(id: i, weight: w, ratio: (i as f64) / $div.0,
                        name: "item" + i.to_str(), active: i % 3 != 0);
        items.push(it);
    }
    items
}

fn total_weight$k(items: Vec[Item$k]) -> i64 {
    var total: i64 = 0;
    for it in items {
        if it.active {
            total += it.weight;
        } else if it.id % 2 == 0 {
            total -= 1;
        } else {
            total += it.weight / 2;
        }
    }
    total
}

fn describe$k(it: Item$k) -> str {
    var s = it.name + ":" + it.weight.to_str();
    if it.ratio > 1.5 {
        s = s + " big";
    }
    if s.len() > 12 {
        s = s.slice(0, 12);
    }
    s
}

fn classify$k(c: u8) -> i32 {
    match c {
        'a' => 1,
        'e' => 1,
        ' ' => 0,
        '0' => 2,
        _ => 3
    }
}

fn count_classes$k(text: str) -> i32 {
    var i = 0;
    var score = 0;
    while i < text.len() invariant i >= 0 {
        let c = text[i];
        score += classify$k(c);
        if c == ':' {
            score = score * 2 % 1000;
        }
        i += 1;
    }
    score
}

fn tokenize$k(text: str) -> Vec[Token$k] {
    var out = Vec[Token$k]();
    var i = 0;
    while i < text.len() {
        let c = text[i];
        if c >= '0' && c <= '9' {
            var v: i64 = 0;
            while i < text.len() && text[i] >= '0' && text[i] <= '9' {
                v = v * 10 + (text[i] - '0') as i64;
                i += 1;
            }
            out.push(Token$k.Num(v));
        } else if c >= 'a' && c <= 'z' {
            let start = i;
            while i < text.len() && text[i] >= 'a' && text[i] <= 'z' {
                i += 1;
            }
            out.push(Token$k.Word(text.slice(start, i)));
        } else {
            out.push(Token$k.Sym(c));
            i += 1;
        }
    }
    out.push(Token$k.End);
    out
}

fn token_value$k(t: Token$k) -> i64 {
    match t {
        Token$k.Num(v) => v,
        Token$k.Word(w) => w.len() as i64,
        Token$k.Sym(' ') => 0,
        Token$k.Sym(c) => c as i64,
        Token$k.End => 0
    }
}

fn area$k(s: Shape$k) -> f64 {
    match s {
        Shape$k.Circle(r) => 3.14159 * r * r,
        Shape$k.Rect(w, h) => w * h,
        Shape$k.Tri(a, b, c) => {
            let p = (a + b + c) / 2.0;
            p * (p - a) * (p - b) * (p - c)
        },
        Shape$k.Empty => 0.0
    }
}

fn shapes$k(n: i32) -> f64 {
    var total = 0.0;
    for i in 0..n {
        let s = if i % 4 == 0 {
            Shape$k.Circle(i as f64)
        } else if i % 4 == 1 {
            Shape$k.Rect(i as f64, 2.0)
        } else if i % 4 == 2 {
            Shape$k.Tri(3.0, 4.0, 5.0)
        } else {
            Shape$k.Empty
        };
        total += area$k(s);
    }
    total
}

fn eval$k(e: Expr$k) -> i64 {
    match e {
        Expr$k.Lit(v) => v,
        Expr$k.Add(a, b) => eval$k(a) + eval$k(b),
        Expr$k.Mul(Expr$k.Lit(0), _) => 0,
        Expr$k.Mul(a, b) => eval$k(a) * eval$k(b),
        Expr$k.Neg(a) => -eval$k(a)
    }
}

fn grid$k() -> i32 {
    var cells = [0; 16];
    for i in 0..16 {
        cells[i] = (i * i + $salt) % 11;
    }
    var best = 0;
    for c in cells {
        if c > best {
            best = c;
        }
    }
    best
}

fn tally$k(words: Vec[str]) -> i32 {
    var counts = Map[i32]();
    for w in words {
        if counts.has(w) {
            counts.set(w, counts.get(w) + 1);
        } else {
            counts.set(w, 1);
        }
    }
    var most = 0;
    for key in counts.keys() {
        let c = counts.get(key);
        if c > most {
            most = c;
        }
    }
    most
}

fn gcd$k(a: i32, b: i32) -> i32 requires a >= 0 && b >= 0 ensures result >= 0 {
    var x = a;
    var y = b;
    while y != 0 invariant x >= 0, y >= 0 {
        let t = x % y;
        x = y;
        y = t;
    }
    x
}

fn run$k() -> i64 {
    let items = make_items$k(LIMIT_$k);
    var acc = total_weight$k(items);
    for it in items {
        acc += count_classes$k(it.describe$k()) as i64;
    }
    let toks = tokenize$k("let x1 = 42 + y * $salt; foo(bar, 13)");
    for t in toks {
        acc += token_value$k(t);
    }
    acc += shapes$k(LIMIT_$k) as i64;
    let e = Expr$k.Add(Expr$k.Lit($salt), Expr$k.Mul(Expr$k.Lit(3), Expr$k.Neg(Expr$k.Lit(-4))));
    acc += eval$k(e);
    acc += grid$k() as i64;
    var words = Vec[str]();
    words.push("alpha");
    words.push("beta");
    words.push("alpha");
    acc += tally$k(words) as i64;
    acc += gcd$k(LIMIT_$k * 6, 84) as i64;
    assert acc >= 0, "unit $k: accumulator went negative";
    acc
}

""")

HEADER = """\
// Generated benchmark program for the compiler suite (bench/suites/compiler.py).
arena 4 MiB;

"""


def render_unit(k: int) -> str:
    return UNIT.substitute(k=k, limit=10 + k % 7, mul=k % 50 + 3, div=k % 5 + 2, salt=k % 13 + 1)


def render_main(units: int) -> str:
    calls = "".join(f"    total += run{k}();\n" for k in range(units))
    return f"fn main() {{\n    var total: i64 = 0;\n{calls}    println(\"checksum \", total);\n}}\n"


def generate_program(target_lines: int) -> str:
    """A deterministic program of at least `target_lines` lines (whole units, then `main`)."""
    unit_lines = render_unit(0).count("\n")
    units = max(1, -(-(target_lines - HEADER.count("\n")) // (unit_lines + 1)))
    return HEADER + "".join(render_unit(k) for k in range(units)) + render_main(units)


def count_lines(text: str) -> int:
    return text.count("\n") + (0 if text.endswith("\n") else 1)


def import_driver() -> ModuleType | None:
    try:
        from synapse.compiler import driver
    except ImportError as error:
        print(f"bench: compiler: driver not available ({error}); figures are null",
              file=sys.stderr)
        return None
    return driver


def report_failure(result: Any) -> None:
    print("bench: compiler: the generated program did not compile:", file=sys.stderr)
    sources = getattr(result, "sources", {}) or {}
    for diagnostic in list(result.diagnostics)[:20]:
        try:
            print(diagnostic.render(sources.get(diagnostic.span.file)), file=sys.stderr)
        except Exception:
            print(f"  {diagnostic}", file=sys.stderr)


def measure_end_to_end(driver: ModuleType, text: str, repeat: int) -> float | None:
    """Median ms of `compile_source(text)`, or None when the program does not compile."""
    first = driver.compile_source(text, filename="main.syn")  # warm-up: grammar, prelude
    if first.wasm is None:
        report_failure(first)
        return None
    # The collector stays on: compiling allocates heavily and collections are part of its cost.
    samples = sample_ns(lambda: driver.compile_source(text, filename="main.syn"),
                        repeat=repeat, warmup=0, pause_gc=False)
    return ns_to_ms(median(samples))


def run_phases_once(text_path: Path) -> dict[str, int]:
    """Nanoseconds per phase for one compile through the phases' public entry points."""
    from synapse.compiler.check import check_program
    from synapse.compiler.loader import load_program
    from synapse.compiler.lower import lower_program

    clock = time.perf_counter_ns
    t0 = clock()
    program = load_program(str(text_path))
    t1 = clock()
    typed = check_program(program)
    t2 = clock()
    module = lower_program(typed)
    t3 = clock()
    wasm = module.encode()
    t4 = clock()
    if not wasm:
        raise RuntimeError("encode produced no bytes")
    return {"load": t1 - t0, "check": t2 - t1, "lower": t3 - t2, "encode": t4 - t3}


def measure_phases(text: str, repeat: int) -> dict[str, float | None]:
    """Median ms per phase; all null when any phase entry point is missing or fails."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "main.syn"
        path.write_text(text, encoding="utf-8")
        try:
            run_phases_once(path)  # warm-up
            runs = [run_phases_once(path) for _ in range(repeat)]
        except Exception as error:  # a phase missing or its interface different: no breakdown
            print(f"bench: compiler: no per-phase breakdown ({type(error).__name__}: {error})",
                  file=sys.stderr)
            return dict.fromkeys(PHASES)
    return {phase: ns_to_ms(median(run[phase] for run in runs)) for phase in PHASES}


def run(quick: bool) -> Figures:
    """The `compiler` suite."""
    text = generate_program(QUICK_TARGET_LINES if quick else FULL_TARGET_LINES)
    lines = count_lines(text)
    repeat = 3 if quick else 5
    figures: Figures = {
        "compiler_lines": lines,
        "compiler_lines_per_s": None,
        "compiler_ms_median": None,
        **{f"compiler_{phase}_ms": None for phase in PHASES},
    }
    driver = import_driver()
    if driver is None:
        return figures
    ms = measure_end_to_end(driver, text, repeat)
    if ms is None:
        return figures
    figures["compiler_ms_median"] = ms
    figures["compiler_lines_per_s"] = lines / (ms / 1000.0) if ms > 0 else None
    for phase, phase_ms in measure_phases(text, repeat).items():
        figures[f"compiler_{phase}_ms"] = phase_ms
    return figures

"""The standard library (`stdlib/*.syn`): golden programs, numeric accuracy, and the reference.

- Every `tests/stdlib/programs/*.syn` imports stdlib modules and states its expected output,
  trap or exhaustion inline (`// expect:` etc., see tests/golden_support.py); each is compiled, run in
  the sandbox and compared.
- `math`'s sqrt, exp, ln and tanh are evaluated at tens of thousands of points swept over their
  whole range by generated programs, and compared with CPython's `math` within the ulp bounds
  that `stdlib/README.md` documents. The sample points are computed by the same IEEE operations
  on both sides, so they agree bit for bit.
- `stdlib/README.md` lists every public function (name not starting with `_`) of every module
  with its exact signature, and nothing else.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path

import pytest


import golden_support as helpers  # noqa: E402  (tests/ is on the path: pyproject)
ROOT = helpers.ROOT
STDLIB = ROOT / "stdlib"
PROGRAMS = Path(__file__).parent / "programs"
MODULES = sorted(p.stem for p in STDLIB.glob("*.syn"))


@pytest.fixture
def at_root(monkeypatch):
    # Paths are given relative to the repository root so file names in messages stay relative.
    monkeypatch.chdir(ROOT)


def _require_driver() -> None:
    if not helpers.driver_available():
        pytest.skip("compiler driver not available")


# --- golden programs --------------------------------------------------------------------------

@pytest.mark.parametrize("path", sorted(PROGRAMS.glob("*.syn")), ids=lambda p: p.name)
def test_program(path: Path, at_root) -> None:
    _require_driver()
    exp = helpers.parse_expectations(path.read_text(encoding="utf-8"))
    result, run = helpers.compile_and_run(
        Path(path.relative_to(ROOT)), input=exp.stdin, fuel=exp.fuel, arena=exp.arena)
    assert run is not None, helpers.render_diagnostics(result)
    if exp.exhausted:
        assert (run.status, run.exhausted) == ("exhausted", exp.exhausted), run.message
    elif exp.trap:
        assert run.status == "trap", f"expected a trap, got {run.status}: {run.message}"
        assert exp.trap in (run.message or ""), run.message
    else:
        assert run.status == "ok", f"{run.status}: {run.message} in {run.function}"
    assert run.output.decode("utf-8", "replace") == exp.stdout.decode()


def test_every_module_has_a_program() -> None:
    used = {m for p in PROGRAMS.glob("*.syn")
            for m in re.findall(r"^import (\w+);", p.read_text(encoding="utf-8"), re.M)}
    assert set(MODULES) <= used


# --- math accuracy ------------------------------------------------------------------------------
# A sweep is (first, step, count, geometric): points first + i * step, or first * step^i computed
# by repeated multiplication. Literals are written with repr(), which round-trips exactly.

Sweep = tuple[float, float, int, bool]


def sweep_points(sweep: Sweep) -> list[float]:
    first, step, count, geometric = sweep
    points = []
    x = first
    for i in range(count):
        if geometric:
            points.append(x)
            x = x * step
        else:
            points.append(first + float(i) * step)
    return points


def sweep_program(func: str, sweeps: list[Sweep]) -> str:
    """A program printing math.<func> at every point of the sweeps, one result per line."""
    blocks = []
    for first, step, count, geometric in sweeps:
        if geometric:
            blocks.append(f"    {{\n        var x = {first!r};\n        for i in 0..{count} {{\n"
                          f"            println(math.{func}(x));\n            x = x * {step!r};\n"
                          f"        }}\n    }}")
        else:
            blocks.append(f"    for i in 0..{count} {{\n"
                          f"        println(math.{func}({first!r} + (i as f64) * {step!r}));\n    }}")
    return "import math;\n\nfn main() {\n" + "\n".join(blocks) + "\n}\n"


def reference(f: Callable[[float], float], x: float) -> float:
    try:
        return f(x)
    except OverflowError:
        return math.inf
    except ValueError:  # math raises where IEEE gives NaN or -inf
        return -math.inf if x == 0.0 and f is math.log else math.nan


def ulp_error(got: float, want: float) -> float:
    if math.isnan(want) or math.isnan(got):
        return 0.0 if math.isnan(want) and math.isnan(got) else math.inf
    if got == want:
        return 0.0
    if math.isinf(want) or math.isinf(got):
        return math.inf
    return abs(got - want) / math.ulp(want)


# Every binade from subnormals to near the largest f64 (a smaller start would not grow: the
# product rounds back to it), and the smallest subnormals one by one.
GEOMETRIC_ALL = (1e-321, 1.0173, 84_400, True)
SUBNORMALS = (5e-324, 5e-324, 1_000, False)

ACCURACY = {
    # name: (reference, documented ulp bound, sweeps)
    "sqrt_f64": (math.sqrt, 1, [GEOMETRIC_ALL, SUBNORMALS, (0.0, 0.0001, 40_000, False),
                                (0.0, 1.0, 20_000, False)]),
    "exp_f64": (math.exp, 1, [(-746.0, 0.0293, 49_000, False), (-1.0, 0.0001, 20_000, False),
                              (-1e-6, 1e-10, 20_000, False)]),
    "ln_f64": (math.log, 2, [GEOMETRIC_ALL, SUBNORMALS, (0.5, 0.00003, 50_000, False),
                             (0.999999, 1e-10, 20_000, False)]),
    "tanh_f64": (math.tanh, 4, [(-25.0, 0.001, 50_000, False), (-1.0, 0.00004, 50_000, False),
                                (-1e-6, 1e-10, 20_000, False)]),
}


@pytest.mark.parametrize("func", sorted(ACCURACY))
def test_math_accuracy(func: str, at_root) -> None:
    _require_driver()
    ref, bound, sweeps = ACCURACY[func]
    source = sweep_program(func, sweeps)
    result, run = helpers.compile_and_run(source, filename="accuracy.syn")
    assert run is not None, helpers.render_diagnostics(result)
    assert run.status == "ok", f"{run.status}: {run.message}"
    got = [float(line) for line in run.output.decode().split()]
    points = [x for s in sweeps for x in sweep_points(s)]
    assert len(got) == len(points)
    worst = max(range(len(points)), key=lambda i: ulp_error(got[i], reference(ref, points[i])))
    x = points[worst]
    err = ulp_error(got[worst], reference(ref, x))
    assert err <= bound, f"{func}({x!r}) = {got[worst]!r}, want {reference(ref, x)!r} ({err} ulp)"


def test_sweeps_cover_the_ranges() -> None:
    # The geometric sweep spans subnormals to near the largest finite f64.
    points = sweep_points(GEOMETRIC_ALL)
    assert points[0] < 1e-320 and 1e307 < points[-1] < math.inf
    assert all(a < b for a, b in zip(points, points[1:]))
    assert sweep_points(SUBNORMALS)[-1] == 1000 * 5e-324


# --- the reference agrees with the modules --------------------------------------------------------

_FN = re.compile(r"^fn\s+(\w+)\s*\(([^)]*)\)\s*(?:->\s*(.+?))?\s*(?:requires|ensures|\{|$)", re.M)
_ENTRY = re.compile(r"^- `(\w+\([^`]*\)(?: -> [^`]+)?)`: ")
_SECTION = re.compile(r"^## (\w+) \(`import \1;`\)")


def normalize(name: str, params: str, ret: str | None) -> str:
    params = ", ".join(p.strip() for p in params.split(",") if p.strip())
    return f"{name}({params})" + (f" -> {ret.strip()}" if ret else "")


def module_signatures(module: str) -> dict[str, str]:
    text = (STDLIB / f"{module}.syn").read_text(encoding="utf-8")
    return {m.group(1): normalize(m.group(1), m.group(2), m.group(3))
            for m in _FN.finditer(text) if not m.group(1).startswith("_")}


def readme_signatures() -> dict[str, dict[str, str]]:
    sections: dict[str, dict[str, str]] = {}
    current = None
    for line in (STDLIB / "README.md").read_text(encoding="utf-8").splitlines():
        if match := _SECTION.match(line):
            current = sections.setdefault(match.group(1), {})
        elif (match := _ENTRY.match(line)) and current is not None:
            sig = match.group(1)
            current[sig.split("(")[0]] = sig
    return sections


def test_readme_has_a_section_per_module() -> None:
    assert sorted(readme_signatures()) == MODULES


@pytest.mark.parametrize("module", MODULES)
def test_readme_matches_module(module: str) -> None:
    documented = readme_signatures().get(module, {})
    defined = module_signatures(module)
    assert sorted(documented) == sorted(defined), "functions listed in README.md differ from the module"
    for name, sig in defined.items():
        assert documented[name] == sig, f"README.md says {documented[name]!r}, the module has {sig!r}"


@pytest.mark.parametrize("module", MODULES)
def test_no_reserved_names(module: str) -> None:
    text = (STDLIB / f"{module}.syn").read_text(encoding="utf-8")
    assert not re.search(r"\b__\w", text)


@pytest.mark.parametrize("module", MODULES)
def test_module_compiles_as_library(module: str, at_root) -> None:
    _require_driver()
    from synapse.compiler.driver import compile_file
    result = compile_file(f"stdlib/{module}.syn", lib=True)
    assert result.ok, helpers.render_diagnostics(result)


@pytest.mark.parametrize("module", MODULES)
def test_every_public_function_is_exercised(module: str) -> None:
    calls = "\n".join(p.read_text(encoding="utf-8") for p in PROGRAMS.glob("*.syn"))
    for name in module_signatures(module):
        assert re.search(rf"[.]{name}\(", calls), f"{module}.{name} is never called"

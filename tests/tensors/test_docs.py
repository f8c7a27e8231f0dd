"""The tensor ABI, its declarations and its documentation agree; the schedule's cosine is right.

- every function of `tensors.ABI` has a row in spec/14-tensors.md's tables, and every row names
  a function of the ABI;
- stdlib/tensor.syn declares every function as an extern whose Wasm signature is the ABI's;
- the `nn.*` and `optim.adamw` entries of stdlib/README.md are exactly the public functions of
  those modules, with their signatures;
- `adamw.lr_at` and `adamw.cos_pi` agree with Python's math within 1e-15.
"""

from __future__ import annotations

import math
import re

from synapse.runtime.tensors import ABI
from tensor_support import ROOT, compile_text, run_wasm

SPEC = ROOT / "spec" / "14-tensors.md"
STDLIB = ROOT / "stdlib"
_WASM_TYPE = {"i32": "i32", "bool": "i32", "str": "i32", "u8": "i32", "i64": "i64",
              "f32": "f32", "f64": "f64"}


def test_every_abi_function_has_a_row_in_the_spec() -> None:
    rows = set(re.findall(r"^\| `(\w+)` \|", SPEC.read_text(encoding="utf-8"), re.M))
    assert sorted(set(ABI) - rows) == [], "functions without a row in spec/14-tensors.md"
    assert sorted(rows - set(ABI)) == [], "rows naming no function of the ABI"


def test_tensor_syn_declares_the_abi() -> None:
    text = (STDLIB / "tensor.syn").read_text(encoding="utf-8")
    declared = {}
    for name, params, result in re.findall(
            r'^extern "tensor" fn (\w+)\(([^)]*)\)(?: -> (\w+))?;', text, re.M):
        types = tuple(_WASM_TYPE[p.split(":")[1].strip()] for p in params.split(",") if p.strip())
        declared[name] = (types, (_WASM_TYPE[result],) if result else ())
    assert declared == ABI


_FN = re.compile(r"^fn\s+(\w+)\s*\(([^)]*)\)\s*(?:->\s*([^{\n]+?))?\s*(?:requires|ensures|\{|$)",
                 re.M)
_ENTRY = re.compile(r"^- `(\w+)\.(\w+\([^`]*\)(?: -> [^`]+)?)`: ")
_SECTION = re.compile(r"^### ((?:nn|optim)\.(\w+))$")


def _module_signatures(path) -> dict[str, str]:
    found = {}
    for name, params, ret in _FN.findall(path.read_text(encoding="utf-8")):
        if name.startswith("_"):
            continue
        params = ", ".join(p.strip() for p in params.split(",") if p.strip())
        found[name] = f"{name}({params})" + (f" -> {ret.strip()}" if ret else "")
    return found


def test_readme_lists_the_nn_and_optim_modules_exactly() -> None:
    sections: dict[str, dict[str, str]] = {}
    current = None
    for line in (STDLIB / "README.md").read_text(encoding="utf-8").splitlines():
        if m := _SECTION.match(line):
            current = sections.setdefault(m.group(1), {})
        elif line.startswith("## "):
            current = None
        elif (m := _ENTRY.match(line)) and current is not None:
            current[m.group(2).split("(")[0]] = m.group(2)
    modules = {f"nn.{p.stem}": p for p in (STDLIB / "nn").glob("*.syn")}
    modules.update({f"optim.{p.stem}": p for p in (STDLIB / "optim").glob("*.syn")})
    assert sorted(sections) == sorted(modules)
    for name, path in modules.items():
        assert sections[name] == _module_signatures(path), name


def test_the_schedule_matches_python() -> None:
    wasm = compile_text("""import optim.adamw;

fn main() {
    let opt = adamw.new(0.01, 0.1, 10, 110);
    for t in [1, 5, 10, 11, 30, 60, 100, 109, 110, 200] {
        println(adamw.lr_at(opt, t));
    }
    for i in 0..21 {
        println(adamw.cos_pi((i as f64) / 20.0));
    }
}
""")
    result, _ = run_wasm(wasm)
    assert result.status == "ok", result.message
    values = [float(v) for v in result.output.decode().split()]

    def lr(t: int) -> float:
        if t <= 10:
            return 0.01 * t / 10
        if t >= 110:
            return 0.001
        return 0.001 + 0.009 * 0.5 * (1 + math.cos(math.pi * (t - 10) / 100))
    expected = [lr(t) for t in (1, 5, 10, 11, 30, 60, 100, 109, 110, 200)]
    expected += [math.cos(math.pi * i / 20) for i in range(21)]
    for got, want in zip(values, expected, strict=True):
        # Absolute 1e-15: reducing x to [0, 1/4] costs a few ulps of 1 (x = 0.55 is 1 - 0.45).
        assert abs(got - want) <= 1e-15, (got, want)

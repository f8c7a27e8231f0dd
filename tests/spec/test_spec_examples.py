"""Every `syn` example in spec/ compiled and run against the expectation written beside it.

Each fenced block tagged `syn` is one test (id `chapter-file:line`, the line of its opening
fence). The block is compiled as the whole entry file `example.syn` and run in the sandbox;
its comments state the outcome with the golden-test conventions: `// expect: TEXT` (stdout,
one comment per line), `// trap: SUBSTRING`, `// exhausted: fuel|arena|stack|output`,
`// error: E0201 at 3:7` (line and column counted from the first line of the block),
`// input: TEXT`, `// fuel: N`, `// arena: SIZE`. Blocks tagged `syn,ignore-run` must compile
cleanly and are not run; `syn,fragment` blocks are not compiled. The reader of the examples
lives in test_spec_structure.py, which runs even when the compiler does not exist yet.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest


def _load_reader() -> ModuleType:
    path = Path(__file__).with_name("test_spec_structure.py")
    spec = importlib.util.spec_from_file_location("_spec_example_reader", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


reader = _load_reader()

try:
    from synapse.compiler.driver import compile_source
    from synapse.runtime.sandbox import run_module
except ImportError:
    pytest.skip("compiler driver not available", allow_module_level=True)

EXAMPLE_FILENAME = "example.syn"
EXAMPLES = [ex for ex in reader.all_examples() if ex.kind != "fragment"]


def _render(result: Any) -> str:
    return "\n".join(d.render(result.sources.get(d.span.file)) for d in result.diagnostics)


def _compile(example: Any, exp: Any) -> Any:
    kwargs: dict[str, Any] = {"filename": EXAMPLE_FILENAME}
    if exp.arena is not None:
        kwargs["arena"] = exp.arena
    return compile_source(example.text, **kwargs)


def _check_errors(result: Any, exp: Any) -> None:
    assert not result.ok, "expected compile errors, but the example compiled"
    found = {(d.code, d.span.line, d.span.col) for d in result.diagnostics}
    found_codes = {d.code for d in result.diagnostics}
    for err in exp.errors:
        if err.line is None:
            assert err.code in found_codes, f"missing {err.code}; got:\n{_render(result)}"
        else:
            assert (err.code, err.line, err.col) in found, (
                f"missing {err.code} at {err.line}:{err.col}; got:\n{_render(result)}")
    extra = found_codes - {e.code for e in exp.errors}
    assert not extra, f"unexpected diagnostics {sorted(extra)}:\n{_render(result)}"


def _check_run(result: Any, exp: Any) -> None:
    kwargs: dict[str, Any] = {}
    if exp.fuel is not None:
        kwargs["fuel"] = exp.fuel
    run = run_module(result.wasm, exp.input, **kwargs)
    where = f"status={run.status} message={run.message!r} output={run.output!r}"
    if exp.trap is not None:
        assert run.status == "trap", where
        assert run.message is not None and exp.trap in run.message, where
    elif exp.exhausted is not None:
        assert run.status == "exhausted" and run.exhausted == exp.exhausted, where
    else:
        assert run.status == "ok", where
    assert run.output == exp.stdout, where


@pytest.mark.parametrize("example", EXAMPLES, ids=[ex.id for ex in EXAMPLES])
def test_spec_example(example: Any) -> None:
    exp = reader.parse_expectations(example.text)
    result = _compile(example, exp)
    if exp.errors:
        _check_errors(result, exp)
        return
    assert result.ok, f"example does not compile:\n{_render(result)}"
    if example.kind == "ignore-run":
        return
    _check_run(result, exp)

"""Shared test helpers: compile-and-run a `.syn` program and parse inline expectations.

Golden programs (`tests/programs`, `examples`) and diagnostics programs (`tests/errors`) state what
they must do in comments, Crafting Interpreters style (LANGUAGE.md, "Tests conventions"):

    // expect: TEXT        one line of stdout, in order
    // input: TEXT         one line of request input (lines joined by "\n")
    // trap: SUBSTRING     the run traps with a message containing SUBSTRING
    // exhausted: KIND     the run stops on a limit: fuel, arena, stack or output
    // fuel: N             fuel budget for the run
    // arena: SIZE         arena size passed to the compiler (bytes, or "N KiB" / "N MiB")
    // error: E0201 at 3:7 a diagnostic (code, line, column; `at b.syn:3:7` names another file;
                           a bare code leaves the position unchecked)

The compiler and runtime are imported lazily so that this file loads while they are missing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

_DIRECTIVE = re.compile(r"(?:^|\s)//\s*(expect|input|trap|exhausted|fuel|arena|error):(.*)$")
_ERROR = re.compile(r"^(E\d{4})(?:\s+at\s+(?:(\S+):)?(\d+):(\d+))?$")
_SIZE = re.compile(r"^(\d[\d_]*)\s*(KiB|MiB)?$")
_UNITS = {None: 1, "KiB": 1024, "MiB": 1024 * 1024}


@dataclass(frozen=True)
class ExpectedError:
    """One `// error:` line; line/col are None when only the code is pinned."""

    code: str
    line: int | None = None
    col: int | None = None
    file: str | None = None  # base name of the file the diagnostic is in; None: the entry file


@dataclass
class Expectations:
    """Everything a corpus file says about its own compilation and run."""

    output: list[str] = field(default_factory=list)
    input: list[str] = field(default_factory=list)
    trap: str | None = None
    exhausted: str | None = None
    fuel: int | None = None
    arena: int | None = None
    errors: list[ExpectedError] = field(default_factory=list)

    @property
    def stdout(self) -> bytes:
        return "".join(line + "\n" for line in self.output).encode()

    @property
    def stdin(self) -> bytes:
        return "\n".join(self.input).encode()

    @property
    def category(self) -> str:
        """WebAssembly spec-test style outcome class: ok, malformed, ill-typed, trap, exhausted."""
        if self.errors:
            return "malformed" if self.errors[0].code.startswith("E00") else "ill-typed"
        if self.exhausted:
            return "exhausted"
        if self.trap:
            return "trap"
        return "ok"


def parse_size(text: str) -> int:
    """`65536`, `128 KiB`, `1 MiB` -> bytes."""
    match = _SIZE.match(text.strip())
    if not match:
        raise ValueError(f"bad size {text!r}")
    return int(match.group(1).replace("_", "")) * _UNITS[match.group(2)]


def parse_error(text: str) -> ExpectedError:
    """`E0201 at 3:7`, `E0105 at b.syn:1:8` or a bare `E0007`."""
    match = _ERROR.match(text.strip())
    if not match:
        raise ValueError(f"bad error expectation {text!r}")
    code, file, line, col = match.groups()
    if line is None:
        return ExpectedError(code)
    return ExpectedError(code, int(line), int(col), file)


def parse_expectations(text: str) -> Expectations:
    """Collect the directives of one source text, in order of appearance."""
    exp = Expectations()
    for line in text.splitlines():
        match = _DIRECTIVE.search(line)
        if not match:
            continue
        kind, value = match.group(1), match.group(2)
        value = value[1:] if value.startswith(" ") else value  # one space after the colon
        if kind == "expect":
            exp.output.append(value)
        elif kind == "input":
            exp.input.append(value)
        elif kind == "trap":
            exp.trap = value.strip()
        elif kind == "exhausted":
            exp.exhausted = value.strip()
        elif kind == "fuel":
            exp.fuel = int(value.strip().replace("_", ""))
        elif kind == "arena":
            exp.arena = parse_size(value)
        else:
            exp.errors.append(parse_error(value))
    return exp


def is_helper_module(path: Path) -> bool:
    """Imported helper modules are not entry points: they live under `lib/` or start `// module`."""
    if "lib" in path.parts[:-1]:
        return True
    with path.open("rb") as f:
        return f.readline().strip() == b"// module"


def driver_available() -> bool:
    try:
        import synapse.compiler.driver  # noqa: F401
        import synapse.runtime.sandbox  # noqa: F401
    except ImportError:
        return False
    return True


def compile_and_run(
    path_or_text: str | Path,
    *,
    input: bytes = b"",
    fuel: int | None = None,
    arena: int | None = None,
    filename: str = "main.syn",
) -> tuple[Any, Any]:
    """Compile a file (a `Path`) or source text (a `str`), then run it when it compiled.

    Returns `(CompileResult, RunResult | None)`; the run is None when compilation failed.
    """
    from synapse.compiler.driver import compile_file, compile_source
    from synapse.runtime.sandbox import DEFAULT_FUEL, run_module

    if isinstance(path_or_text, Path):
        result = compile_file(str(path_or_text), arena=arena)
    else:
        result = compile_source(path_or_text, filename=filename, arena=arena)
    if result.wasm is None:
        return result, None
    run = run_module(result.wasm, input, fuel=DEFAULT_FUEL if fuel is None else fuel)
    return result, run


def render_diagnostics(result: Any) -> str:
    """All diagnostics of a CompileResult as the user would see them."""
    return "\n".join(d.render(result.sources.get(d.span.file)) for d in result.diagnostics)

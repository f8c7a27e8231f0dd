"""The compiler driver: one call from a `.syn` entry file to WebAssembly bytes.

Runs the phases in order (see compiler/README.md): load and parse every module (loader.py,
parse.py), resolve names and types (check.py), lower to Wasm instructions (lower.py), encode
(wasm.py), and at `-O` hand the bytes to binaryen (optimize.py). It never raises for a bad
program: problems come back as diagnostics in the `CompileResult`.
"""

from __future__ import annotations

import gc
import os
import sys
import time
from dataclasses import dataclass, field

from .check import check_program
from .diagnostics import CompileError, Diagnostic
from .loader import load_program
from .lower import lower_program
from .wasm import Module

# Deeply nested programs are refused by the parser (E0007) long before this; the limit only
# gives the tree walks of the later phases the room those accepted programs need.
_RECURSION_LIMIT = 20000
# `-O` is binaryen's -O3: its inlining of small functions (which -O2 skips) made the
# numeric kernels up to 2.5x faster, and no kernel slower (bench/game, measured).
OPTIMIZE_LEVEL = 3


@dataclass
class CompileResult:
    wasm: bytes | None
    diagnostics: list[Diagnostic]
    sources: dict[str, str] = field(default_factory=dict)
    module: Module | None = None
    timings: dict[str, float] = field(default_factory=dict)   # phase -> seconds

    @property
    def ok(self) -> bool:
        return self.wasm is not None and not self.diagnostics


def compile_file(path: str | os.PathLike[str], *, arena: int | None = None,
                 optimize: bool = False, lib: bool = False) -> CompileResult:
    """Compile the program whose entry file is `path`."""
    return _compile(os.fspath(path), None, arena=arena, optimize=optimize, lib=lib)


def compile_source(text: str, *, filename: str = "main.syn", arena: int | None = None,
                   optimize: bool = False, lib: bool = False) -> CompileResult:
    """Compile program text; imports resolve beside `filename` and in stdlib/."""
    return _compile(filename, text, arena=arena, optimize=optimize, lib=lib)


def _compile(file: str, text: str | None, *, arena: int | None, optimize: bool,
             lib: bool) -> CompileResult:
    # A compilation allocates many small objects that all live until it ends: the cyclic
    # garbage collector would only rescan them, again and again.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _compile_phases(file, text, arena=arena, optimize=optimize, lib=lib)
    finally:
        if collecting:
            gc.enable()


def _compile_phases(file: str, text: str | None, *, arena: int | None, optimize: bool,
                    lib: bool) -> CompileResult:
    if sys.getrecursionlimit() < _RECURSION_LIMIT:
        sys.setrecursionlimit(_RECURSION_LIMIT)
    timings: dict[str, float] = {}
    sources: dict[str, str] = {}
    if text is not None:
        sources[file] = text
    try:
        t0 = time.perf_counter()
        loaded = load_program(file, text)
        sources = loaded.sources
        t1 = time.perf_counter()
        program = check_program(loaded, lib=lib, arena=arena)
        t2 = time.perf_counter()
        module = lower_program(program)
        t3 = time.perf_counter()
        binary = module.encode()
        t4 = time.perf_counter()
    except CompileError as e:
        return CompileResult(None, e.diagnostics, sources, timings=timings)
    timings.update(parse=t1 - t0, check=t2 - t1, lower=t3 - t2, encode=t4 - t3)
    if optimize:
        from .optimize import optimize as run_binaryen
        t5 = time.perf_counter()
        binary = run_binaryen(binary, OPTIMIZE_LEVEL)
        timings["optimize"] = time.perf_counter() - t5
    return CompileResult(binary, [], sources, module, timings)

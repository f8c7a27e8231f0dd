"""The Benchmarks Game kernels and how to build and run each of their three versions.

Place: shared by the `kernels` benchmark suite (`bench/suites/kernels.py`) and the output tests
(`tests/bench/test_game_outputs.py`). A kernel reads its size as decimal text from the request
input and writes its result to the output; the three versions of a kernel must print the same
bytes for the same size.

- `.syn`: compiled with `synapse.compiler.driver.compile_file`, optionally optimised
  (`optimize=True`, Binaryen), run in `synapse.runtime.sandbox.Sandbox`.
- C: compiled by clang for wasm32 without libc, writing through the same `syn` host imports
  (see `common.c`), linked with a fixed-size memory equal to the `.syn` program's arena, so the
  sandbox runs it exactly like a `.syn` module. `ClangMissing` says how to install clang.
- CPython: `NAME.py`'s `main(n)`, its standard output captured as bytes.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from bench.harness import load_module_file, run_python_main
from bench.suites import sandbox as sandbox_suite

GAME_DIR = Path(__file__).resolve().parent
EXPECTED_DIR = GAME_DIR / "expected"

CLANG_INSTALL_HINT = "apt-get install -y clang lld  (Debian/Ubuntu: clang and wasm-ld for wasm32)"
CLANG_FLAGS = ("--target=wasm32", "-O2", "-nostdlib", "-fno-builtin", "-Wl,--no-entry")


@dataclass(frozen=True)
class Kernel:
    """One kernel: its file stem, the standard small size, and the sizes the benchmark runs."""

    name: str
    small: int          # the Benchmarks Game's small standard input (checked byte for byte)
    size: int           # the benchmark size
    quick_size: int     # the size for `--quick`


KERNELS: tuple[Kernel, ...] = (
    Kernel("nbody", 1000, 200_000, 10_000),
    Kernel("spectral_norm", 100, 500, 100),
    Kernel("fannkuch_redux", 7, 9, 7),
    Kernel("mandelbrot", 200, 600, 200),
    Kernel("binary_trees", 10, 15, 10),
    Kernel("fasta", 1000, 250_000, 1000),
    Kernel("fib", 20, 32, 20),
    Kernel("sieve", 1000, 5_000_000, 100_000),
)

KERNELS_BY_NAME: dict[str, Kernel] = {kernel.name: kernel for kernel in KERNELS}


class ClangMissing(RuntimeError):
    """clang (with wasm-ld) is not installed; the message says how to install it."""


class BuildError(RuntimeError):
    """A kernel did not compile; the message carries the compiler's diagnostics."""


def syn_path(kernel: Kernel) -> Path:
    return GAME_DIR / f"{kernel.name}.syn"


def c_path(kernel: Kernel) -> Path:
    return GAME_DIR / f"{kernel.name}.c"


def expected_path(kernel: Kernel) -> Path:
    return EXPECTED_DIR / f"{kernel.name}-{kernel.small}.out"


def size_input(size: int) -> bytes:
    return str(size).encode()


def display_path(path: Path) -> str:
    """`path` relative to the working directory when possible, for messages."""
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


# --- .syn ------------------------------------------------------------------------------------

def build_syn(kernel: Kernel, *, optimize: bool = False) -> bytes:
    """The kernel's `.syn` module (Binaryen-optimised when `optimize`); raises BuildError."""
    from synapse.compiler import driver

    result = driver.compile_file(display_path(syn_path(kernel)), optimize=optimize)
    if result.wasm is None:
        rendered = []
        for diagnostic in result.diagnostics:
            rendered.append(diagnostic.render(result.sources.get(diagnostic.span.file)))
        raise BuildError(f"{kernel.name}.syn did not compile:\n" + "\n".join(rendered))
    return bytes(result.wasm)


def memory_size(wasm: bytes) -> int:
    """The fixed linear memory size in bytes of a module (its exported memory's minimum)."""
    import wasmtime

    module = wasmtime.Module(wasmtime.Engine(), wasm)
    for export in module.exports:
        if export.name == "memory":
            return int(export.type.limits.min) * 65536
    raise BuildError("module exports no memory")


# --- C ---------------------------------------------------------------------------------------

def find_clang() -> str:
    """The clang executable able to link wasm32, or ClangMissing saying how to install it."""
    clang = shutil.which("clang")
    if clang is None:
        raise ClangMissing(f"clang is not installed; install it with: {CLANG_INSTALL_HINT}")
    if shutil.which("wasm-ld") is None:
        raise ClangMissing(f"wasm-ld (lld) is not installed; install it with: {CLANG_INSTALL_HINT}")
    return clang


def clang_available() -> bool:
    try:
        find_clang()
    except ClangMissing:
        return False
    return True


def clang_command(clang: str, source: Path, output: Path, memory: int) -> list[str]:
    """clang's command line: wasm32, -O2, no libc; memory fixed at `memory` bytes (min == max),
    exports only `main` (by attribute) and `memory`, as the sandbox requires."""
    return [clang, *CLANG_FLAGS, f"-Wl,--initial-memory={memory}", f"-Wl,--max-memory={memory}",
            "-o", str(output), str(source)]


@functools.lru_cache(maxsize=None)
def build_c(kernel: Kernel, memory: int) -> bytes:
    """The kernel's C peer as a wasm32 module with `memory` bytes of fixed memory."""
    clang = find_clang()
    with tempfile.TemporaryDirectory(prefix="synapse-game-") as tmp:
        output = Path(tmp) / f"{kernel.name}.wasm"
        process = subprocess.run(clang_command(clang, c_path(kernel), output, memory),
                                 capture_output=True, text=True)
        if process.returncode != 0:
            raise BuildError(f"{kernel.name}.c did not compile:\n{process.stderr}")
        return output.read_bytes()


# --- CPython ---------------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def load_python(kernel: Kernel) -> ModuleType:
    return load_module_file(GAME_DIR / f"{kernel.name}.py", f"bench_game_{kernel.name}")


def run_python(module: ModuleType, size: int) -> bytes:
    """Call the peer's `main(size)` with standard output captured; the bytes it wrote."""
    return run_python_main(module, size)


# --- running modules -------------------------------------------------------------------------

def make_runner(**options: Any) -> Callable[[bytes, bytes], Any]:
    """A `(wasm, input) -> RunResult` callable: one long-lived sandbox in its production
    configuration (fuel on, the default budget), as the `sandbox` suite runs its kernels.
    `options` go to `Sandbox` (tests pass `cache_dir=False` to stay off the disk cache)."""
    from synapse.runtime import sandbox

    return sandbox_suite.make_runner(sandbox, **options)


def summarize_run(result: Any) -> str:
    """How a run ended, in one line (the output only by its length), for failure messages."""
    if result.status == "ok":
        return f"ok, {len(result.output)} bytes of output"
    return sandbox_suite.describe_run(result)

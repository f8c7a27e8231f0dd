"""Shared pieces of the bootstrap tests: the stage1 compiler and the stand-in compilers.

`stage1` is `bootstrap/main.syn` built by the reference compiler, once per session; while the
bootstrap does not compile, every test that needs it fails with the reference's diagnostics.
The stand-ins (`standins/*.syn`) are tiny programs that speak the self-hosted compiler's I/O
ABI (or break it on purpose), so the harness itself is tested without the bootstrap.
"""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

import pytest

from synapse.compiler.driver import compile_file
from synapse.runtime import selfhost

HERE = Path(__file__).resolve().parent
STANDINS = HERE / "standins"


@functools.cache
def standin(name: str) -> bytes:
    """A stand-in compiler (`standins/NAME.syn`) built by the reference compiler."""
    result = compile_file(STANDINS / f"{name}.syn")
    assert result.ok and result.wasm is not None, [str(d) for d in result.diagnostics]
    return result.wasm


def build_with_standin_parser(driver: str, folder: Path) -> bytes:
    """`bootstrap/loader.syn` and its support modules with `standins/parse.syn` for the parser,
    driven by `standins/DRIVER.syn`: loader.syn tested before the real parser exists."""
    for name in ("loader.syn", "ast.syn", "diagnostics.syn"):
        shutil.copy(selfhost.ROOT / "bootstrap" / name, folder / name)
    shutil.copy(STANDINS / "parse.syn", folder / "parse.syn")
    shutil.copy(STANDINS / f"{driver}.syn", folder / "main.syn")
    result = compile_file(folder / "main.syn")
    assert result.ok and result.wasm is not None, [str(d) for d in result.diagnostics]
    return result.wasm


@pytest.fixture(scope="session")
def stage1() -> bytes:
    """The self-hosted compiler, built by the reference compiler."""
    return selfhost.compile_stage1()

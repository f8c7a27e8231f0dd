"""The `syn` command line: exit codes, output streams, and no tracebacks for user errors.

Most tests run compiled `.wasm` files (hand-written WAT) or a stand-in compiler driver, so they
need nothing from the compiler; the tests at the end use the real driver when it exists.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import wasmtime

import synapse.compiler
from synapse.runtime.cli import main, parse_size

HELLO_WAT = """(module
  (import "syn" "write" (func $write (param i32 i32)))
  (import "syn" "input_len" (func $input_len (result i32)))
  (import "syn" "input_read" (func $input_read (param i32)))
  (memory (export "memory") 1 1)
  (data (i32.const 8) "hello\\n")
  (func $main (export "main")
    (call $write (i32.const 8) (i32.const 6))
    (call $input_read (i32.const 100))
    (call $write (i32.const 100) (call $input_len))))"""

DIVIDE_WAT = """(module
  (memory (export "memory") 1 1)
  (func $main.divide (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func $main (export "main") (drop (call $main.divide (i32.const 1) (i32.const 0)))))"""

LOOP_WAT = """(module (memory (export "memory") 1 1) (func $main (export "main") (loop $l (br $l))))"""

WASI_WAT = """(module
  (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
  (memory (export "memory") 1 1) (func (export "main")))"""


def wasm_file(tmp_path: Path, wat: str, name: str = "prog.wasm") -> str:
    path = tmp_path / name
    path.write_bytes(wasmtime.wat2wasm(wat))
    return str(path)


@pytest.fixture(autouse=True)
def private_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SYN_CACHE_DIR", str(tmp_path / "cache"))
    import synapse.runtime.sandbox as sandbox_mod
    monkeypatch.setattr(sandbox_mod, "_default_sandbox", None)


# -- help and usage -------------------------------------------------------------------------------

@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"], ["build", "--help"],
                                  ["check", "--help"], ["demo", "--help"]])
def test_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 0
    assert "usage: syn" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [[], ["frobnicate"], ["run"], ["run", "x.syn", "--fuel", "lots"],
                                  ["run", "x.syn", "--fuel", "0"],
                                  ["build", "x.syn", "--arena", "1 furlong"]])
def test_bad_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("command", ["run", "build", "check"])
def test_missing_file(command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([command, str(tmp_path / "nope.syn")]) == 2
    err = capsys.readouterr().err
    assert "nope.syn" in err and "no such file" in err


def test_directory_given(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err


def test_missing_input_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prog = wasm_file(tmp_path, HELLO_WAT)
    assert main(["run", prog, "--input-file", str(tmp_path / "absent.txt")]) == 2
    assert "absent.txt" in capsys.readouterr().err


@pytest.mark.parametrize("text, size", [("65536", 65536), ("64KiB", 65536), ("1MiB", 1 << 20),
                                        ("2 MiB", 2 << 20), ("1_048_576", 1 << 20)])
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


# -- running .wasm modules ------------------------------------------------------------------------

def test_run_wasm(tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    prog = wasm_file(tmp_path, HELLO_WAT)
    (tmp_path / "in.txt").write_bytes(b"\xffbinary\x00input")
    assert main(["run", prog, "--input-file", str(tmp_path / "in.txt")]) == 0
    out = capsysbinary.readouterr()
    assert out.out == b"hello\n\xffbinary\x00input"
    assert out.err == b""


def test_run_input_from_stdin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    prog = wasm_file(tmp_path, HELLO_WAT)
    fake_stdin = io.TextIOWrapper(io.BytesIO(b"from stdin"))
    monkeypatch.setattr(sys, "stdin", fake_stdin)
    assert main(["run", prog, "--input-file", "-"]) == 0
    assert capsysbinary.readouterr().out == b"hello\nfrom stdin"


def test_run_trap(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", wasm_file(tmp_path, DIVIDE_WAT)]) == 3
    err = capsys.readouterr().err
    assert err == "trap: integer divide by zero\n  in function main.divide\n"


def test_run_out_of_fuel(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", wasm_file(tmp_path, LOOP_WAT), "--fuel", "5_000"]) == 3
    assert "out of fuel: used 5000 of budget 5000" in capsys.readouterr().err


def test_run_refused_module(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", wasm_file(tmp_path, WASI_WAT)]) == 1
    err = capsys.readouterr().err
    assert "wasi_snapshot_preview1.proc_exit" in err and "Traceback" not in err


def test_run_malformed_wasm(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.wasm"
    bad.write_bytes(b"\0asm\x01\0\0\0\xff\xff")
    assert main(["run", str(bad)]) == 1
    assert "malformed module" in capsys.readouterr().err


def test_python_m_entry_point(tmp_path: Path) -> None:
    prog = wasm_file(tmp_path, HELLO_WAT)
    proc = subprocess.run([sys.executable, "-m", "synapse.runtime", "run", prog],
                          capture_output=True, input=b"", timeout=60)
    assert (proc.returncode, proc.stdout) == (0, b"hello\n")


# -- a stand-in driver: tests the CLI's side of the driver interface ----------------------------

@dataclass(frozen=True)
class FakeSpan:
    file: str
    line: int
    col: int


@dataclass(frozen=True)
class FakeDiagnostic:
    code: str
    message: str
    span: FakeSpan

    def render(self, source: str | None) -> str:
        line = source.splitlines()[self.span.line - 1] if source else "?"
        return f"{self.span.file}:{self.span.line}:{self.span.col}: error[{self.code}]: " \
               f"{self.message}\n  {line}"

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "file": self.span.file,
                "line": self.span.line, "col": self.span.col}


@dataclass
class FakeResult:
    wasm: bytes | None
    diagnostics: list[FakeDiagnostic]
    sources: dict[str, str]
    module: Any = None
    calls: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.wasm is not None and not self.diagnostics


class OptimizerUnavailable(Exception):
    pass


def install_driver(monkeypatch: pytest.MonkeyPatch, compile_file: Any) -> list[tuple[str, dict[str, Any]]]:
    calls: list[tuple[str, dict[str, Any]]] = []

    def recording(path: str, **kwargs: Any) -> Any:
        calls.append((path, kwargs))
        return compile_file(path, **kwargs)

    fake = types.ModuleType("synapse.compiler.driver")
    fake.compile_file = recording  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "synapse.compiler.driver", fake)
    monkeypatch.setattr(synapse.compiler, "driver", fake, raising=False)
    return calls


def compile_by_content(path: str, **kwargs: Any) -> FakeResult:
    """`.syn` files in these tests hold WAT, or the word ERROR to produce a diagnostic."""
    text = Path(path).read_text()
    if text.startswith("ERROR"):
        diag = FakeDiagnostic("E0201", "type mismatch (expected i32, found str)",
                              FakeSpan(path, 1, 7))
        return FakeResult(None, [diag], {path: text})
    return FakeResult(wasmtime.wat2wasm(text), [], {path: text}, module=("module-of", path))


def test_run_through_driver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                            capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    calls = install_driver(monkeypatch, compile_by_content)
    src = tmp_path / "hello.syn"
    src.write_text(HELLO_WAT)
    assert main(["run", str(src), "--arena", "128KiB", "-O"]) == 0
    assert capsysbinary.readouterr().out == b"hello\n"
    assert calls == [(str(src), {"arena": 131072, "optimize": True})]


def test_compile_errors_exit_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    install_driver(monkeypatch, compile_by_content)
    src = tmp_path / "bad.syn"
    src.write_text("ERROR here\n")
    assert main(["run", str(src)]) == 1
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err == (f"{src}:1:7: error[E0201]: type mismatch (expected i32, found str)\n"
                       "  ERROR here\n")


def test_check_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                    capsys: pytest.CaptureFixture[str]) -> None:
    calls = install_driver(monkeypatch, compile_by_content)
    src = tmp_path / "bad.syn"
    src.write_text("ERROR\n")
    assert main(["check", str(src), "--json", "--lib"]) == 1
    listed = json.loads(capsys.readouterr().out)
    assert listed == [{"code": "E0201", "message": "type mismatch (expected i32, found str)",
                       "file": str(src), "line": 1, "col": 7}]
    assert calls[0][1]["lib"] is True


def test_check_clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                     capsys: pytest.CaptureFixture[str]) -> None:
    install_driver(monkeypatch, compile_by_content)
    src = tmp_path / "ok.syn"
    src.write_text(HELLO_WAT)
    assert main(["check", str(src), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_build_writes_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install_driver(monkeypatch, compile_by_content)
    src = tmp_path / "hello.syn"
    src.write_text(HELLO_WAT)
    out = tmp_path / "out.wasm"
    assert main(["build", str(src), "-o", str(out)]) == 0
    assert out.read_bytes() == wasmtime.wat2wasm(HELLO_WAT)
    assert main(["build", str(src)]) == 0   # default: beside the source
    assert (tmp_path / "hello.wasm").read_bytes() == out.read_bytes()


def test_build_wat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                   capsys: pytest.CaptureFixture[str]) -> None:
    install_driver(monkeypatch, compile_by_content)
    fake_wat = types.ModuleType("synapse.compiler.wat")
    fake_wat.to_wat = lambda module: f"(;; {module[0]} ;)\n"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "synapse.compiler.wat", fake_wat)
    monkeypatch.setattr(synapse.compiler, "wat", fake_wat, raising=False)
    src = tmp_path / "hello.syn"
    src.write_text(HELLO_WAT)
    assert main(["build", str(src), "--wat"]) == 0
    assert capsys.readouterr().out == "(;; module-of ;)\n"
    assert not (tmp_path / "hello.wasm").exists()


def test_build_optimizer_unavailable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    def no_optimizer(path: str, **kwargs: Any) -> Any:
        raise OptimizerUnavailable("binaryen is not installed: -O needs icpp-binaryen")
    install_driver(monkeypatch, no_optimizer)
    src = tmp_path / "hello.syn"
    src.write_text(HELLO_WAT)
    assert main(["build", str(src), "-O", "-o", str(tmp_path / "o.wasm")]) == 2
    assert "binaryen is not installed" in capsys.readouterr().err


def test_demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
              capsys: pytest.CaptureFixture[str]) -> None:
    install_driver(monkeypatch, compile_by_content)
    (tmp_path / "b_hello.syn").write_text(HELLO_WAT)
    (tmp_path / "a_hello.syn").write_text(HELLO_WAT)
    assert main(["demo", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.index("== a_hello.syn") < out.index("== b_hello.syn")
    assert out.count("hello\n") == 2 and "2 of 2 programs ran ok" in out
    (tmp_path / "c_div.syn").write_text(DIVIDE_WAT)
    assert main(["demo", "--dir", str(tmp_path)]) == 1
    assert "trap: integer divide by zero" in capsys.readouterr().err


# -- with the real compiler -------------------------------------------------------------------------

def test_real_driver_run_and_trap(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("synapse.compiler.driver")
    monkeypatch.chdir(tmp_path)
    Path("main.syn").write_text(
        'fn div(a: i32, b: i32) -> i32 { a / b }\n'
        'fn main() {\n  println("hello");\n  println(div(7, 2));\n  println(div(1, 0));\n}\n')
    assert main(["run", "main.syn"]) == 3
    out = capsys.readouterr()
    assert out.out == "hello\n3\n"
    assert out.err == "trap: integer divide by zero\n  in function main.div\n"


def test_a_panic_message_cannot_write_escapes_to_the_terminal(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("synapse.compiler.driver")
    monkeypatch.chdir(tmp_path)
    # ESC [ 2 J clears the screen; a newline would forge a line of the report.
    Path("main.syn").write_text(
        'fn main() {\n  let esc = str_from_bytes(Vec[u8](1, 27u8));\n'
        '  panic("x" + esc + "[2J\\nin function forged");\n}\n')
    assert main(["run", "main.syn"]) == 3
    err = capsys.readouterr().err
    assert err == "trap: panic: x\\x1b[2J\\nin function forged\n  in function main.main\n"


def test_real_driver_check_error(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("synapse.compiler.driver")
    monkeypatch.chdir(tmp_path)
    Path("bad.syn").write_text('fn main() {\n  let x: i32 = "no";\n}\n')
    assert main(["check", "bad.syn", "--json"]) == 1
    (diag,) = json.loads(capsys.readouterr().out)
    assert (diag["code"], diag["file"], diag["line"], diag["col"]) == ("E0201", "bad.syn", 2, 16)

"""The `syn` command line: `syn run | build | check | demo`.

Sits at the end of the pipeline: it calls the compiler driver (`synapse.compiler.driver`) to turn
a `.syn` file into Wasm bytes and diagnostics, and the sandbox (`synapse.runtime.sandbox`) to run
them. `syn run` also accepts a compiled `.wasm` file.

Exit codes: 0 success, 1 compile errors (or a module the sandbox refuses), 2 usage errors
(bad arguments, unreadable file), 3 the program trapped or hit a limit. User errors never show a
Python traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any, BinaryIO, Sequence

EXIT_OK = 0
EXIT_COMPILE = 1
EXIT_USAGE = 2
EXIT_TRAP = 3


class UsageError(Exception):
    """A problem with how `syn` was called (bad file, bad option value): exit code 2."""


# -- helpers ---------------------------------------------------------------------------------

def _err(text: str) -> None:
    print(text, file=sys.stderr)


def _stdout_bytes(data: bytes) -> None:
    out: BinaryIO | None = getattr(sys.stdout, "buffer", None)
    if out is not None:
        out.write(data)
        out.flush()
    else:  # a text-only stdout (embedding, some test harnesses)
        sys.stdout.write(data.decode("utf-8", errors="replace"))
        sys.stdout.flush()


_SIZE = re.compile(r"^\s*(\d[\d_]*)\s*(B|KiB|MiB|GiB)?\s*$")
_UNITS = {None: 1, "B": 1, "KiB": 1024, "MiB": 1024 ** 2, "GiB": 1024 ** 3}


def parse_size(text: str) -> int:
    """`65536`, `64KiB`, `1 MiB` -> bytes (argparse type for --arena)."""
    match = _SIZE.match(text)
    if not match:
        raise argparse.ArgumentTypeError(f"invalid size {text!r} (use e.g. 65536, 64KiB, 1MiB)")
    return int(match.group(1).replace("_", "")) * _UNITS[match.group(2)]


def parse_fuel(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid fuel {text!r} (a positive integer)") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"invalid fuel {text!r} (a positive integer)")
    return value


def _check_source(path: str) -> Path:
    """Fail early, as a usage error, for a path that is not a readable file."""
    p = Path(path)
    if not p.exists():
        raise UsageError(f"cannot read {path}: no such file")
    if p.is_dir():
        raise UsageError(f"cannot read {path}: is a directory")
    if not os.access(p, os.R_OK):
        raise UsageError(f"cannot read {path}: permission denied")
    return p


def _read_input(spec: str | None) -> bytes:
    if spec is None:
        return b""
    if spec == "-":
        if sys.stdin.isatty():
            _err("syn: reading input from the terminal; end it with Ctrl-D")
        stream = getattr(sys.stdin, "buffer", None)
        return stream.read() if stream is not None else sys.stdin.read().encode()
    try:
        return _check_source(spec).read_bytes()
    except OSError as err:
        raise UsageError(f"cannot read {spec}: {err.strerror or err}") from None


# -- compiling -------------------------------------------------------------------------------

def _compile(path: str, *, arena: int | None = None, optimize: bool = False,
             lib: bool = False) -> Any:
    """Compile through the driver; raise UsageError for file/optimizer problems."""
    _check_source(path)
    try:
        from synapse.compiler import driver
    except ImportError as err:
        raise UsageError(f"the compiler is not available: {err}") from None
    kwargs: dict[str, Any] = {"arena": arena, "optimize": optimize}
    if lib:
        kwargs["lib"] = True
    try:
        return driver.compile_file(path, **kwargs)
    except OSError as err:
        raise UsageError(f"cannot read {path}: {err.strerror or err}") from None
    except Exception as err:
        if type(err).__name__ == "OptimizerUnavailable":
            raise UsageError(str(err)) from None
        diagnostics = getattr(err, "diagnostics", None)
        if diagnostics is None:  # not a CompileError: a compiler bug, which must stay visible
            raise
        return _FailedCompile(list(diagnostics), getattr(err, "sources", {}) or {})


class _FailedCompile:
    """Stands in for a CompileResult when the driver raised CompileError instead of returning."""

    def __init__(self, diagnostics: list[Any], sources: dict[str, str]) -> None:
        self.wasm = None
        self.diagnostics = diagnostics
        self.sources = sources
        self.ok = False


def _print_diagnostics(result: Any) -> None:
    sources = getattr(result, "sources", {}) or {}
    for diag in result.diagnostics:
        _err(diag.render(sources.get(diag.span.file)))


def _compiled_ok(result: Any) -> bool:
    return result.wasm is not None and not result.diagnostics


# -- subcommands -----------------------------------------------------------------------------

def cmd_run(args: argparse.Namespace) -> int:
    data = _read_input(args.input_file)
    if args.file.endswith(".wasm"):
        wasm = _check_source(args.file).read_bytes()
    else:
        result = _compile(args.file, arena=args.arena, optimize=args.optimize)
        _print_diagnostics(result)
        if not _compiled_ok(result):
            return EXIT_COMPILE
        wasm = result.wasm
    from synapse.runtime.sandbox import DEFAULT_FUEL, SandboxError, run_module
    try:
        from synapse.runtime.cli_receipt import kernel_mode
        run = run_module(wasm, data, fuel=args.fuel or DEFAULT_FUEL,
                         deterministic_kernels=kernel_mode(args))
    except SandboxError as err:
        _err(f"syn: error: module refused: {err}")
        return EXIT_COMPILE
    _stdout_bytes(run.output)
    if getattr(args, "receipt", None):
        from synapse.runtime.cli_receipt import write_receipt
        if failed := write_receipt(args, wasm, data, run):
            return failed
    if run.status == "ok":
        return EXIT_OK
    _print_failure(run)
    return EXIT_TRAP


def _print_failure(run: Any) -> None:
    from synapse.compiler.diagnostics import printable
    # The message can hold text the program chose (a panic's): escaped for the terminal.
    if run.status == "exhausted":
        _err(f"exhausted: {run.exhausted}: {printable(run.message)}")
    else:
        _err(f"trap: {printable(run.message)}")
    if run.function:
        _err(f"  in function {run.function}")


def cmd_build(args: argparse.Namespace) -> int:
    result = _compile(args.file, arena=args.arena, optimize=args.optimize)
    _print_diagnostics(result)
    if not _compiled_ok(result):
        return EXIT_COMPILE
    if args.wat:
        module = getattr(result, "module", None)
        if module is None:
            raise UsageError("--wat needs the compiled module, which the compiler did not return")
        from synapse.compiler.wat import to_wat
        sys.stdout.write(to_wat(module))
        sys.stdout.flush()
    if args.output or not args.wat:
        out = Path(args.output) if args.output else Path(args.file).with_suffix(".wasm")
        try:
            out.write_bytes(result.wasm)
        except OSError as err:
            raise UsageError(f"cannot write {out}: {err.strerror or err}") from None
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    result = _compile(args.file, lib=args.lib)
    if args.json:
        print(json.dumps([d.to_json() for d in result.diagnostics], indent=2))
    else:
        _print_diagnostics(result)
    return EXIT_OK if not result.diagnostics else EXIT_COMPILE


def _examples_dir() -> Path:
    # Installed editable from the repository: runtime/ sits beside examples/.
    beside = Path(__file__).resolve().parent.parent / "examples"
    return beside if beside.is_dir() else Path("examples")


_DEMO_INPUT = re.compile(r"^//\s*demo input:\s?(.*)$", re.M)


def _demo_input(path: Path) -> bytes:
    """A program may give the demo its input: a `// demo input: TEXT` line."""
    found = _DEMO_INPUT.search(path.read_text(encoding="utf-8", errors="replace"))
    return found.group(1).encode() if found else b""


def cmd_demo(args: argparse.Namespace) -> int:
    folder = Path(args.dir) if args.dir else _examples_dir()
    programs = sorted(folder.glob("*.syn"))
    if not programs:
        raise UsageError(f"no .syn programs in {folder}")
    from synapse.runtime.sandbox import SandboxError, run_module
    failures = 0
    for path in programs:
        _stdout_bytes(f"== {path.name}\n".encode())
        start = time.perf_counter()
        result = _compile(str(path))
        compiled = time.perf_counter()
        if not _compiled_ok(result):
            _print_diagnostics(result)
            failures += 1
            continue
        try:
            run = run_module(result.wasm, _demo_input(path))
        except SandboxError as err:
            _err(f"syn: error: module refused: {err}")
            failures += 1
            continue
        finished = time.perf_counter()
        _stdout_bytes(run.output)
        if run.status != "ok":
            _print_failure(run)
            failures += 1
        _stdout_bytes(
            f"-- compile {1000 * (compiled - start):.1f} ms, run {1000 * (finished - compiled):.1f} ms,"
            f" fuel {run.fuel_used}\n".encode())
    print(f"{len(programs) - failures} of {len(programs)} programs ran ok")
    return EXIT_OK if failures == 0 else EXIT_COMPILE


# -- argument parsing ------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="syn", description="Compile, check and run Synapse (.syn) programs in a sandbox.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    run = sub.add_parser("run", help="compile and run a program (or run a .wasm module)",
                         description="Compile FILE and run its main in the sandbox.")
    run.add_argument("file", metavar="FILE", help=".syn source (or a compiled .wasm module)")
    run.add_argument("--input-file", metavar="F",
                     help="request input for input(); '-' reads standard input")
    run.add_argument("--fuel", type=parse_fuel, metavar="N", help="fuel budget")
    run.add_argument("--arena", type=parse_size, metavar="BYTES",
                     help="linear memory size (e.g. 1MiB), overriding the program's `arena`")
    run.add_argument("-O", dest="optimize", action="store_true", help="optimize with binaryen")
    run.set_defaults(handler=cmd_run)
    from synapse.runtime.cli_receipt import register as register_receipts
    register_receipts(sub, run)

    build = sub.add_parser("build", help="compile a program to a .wasm module",
                           description="Compile FILE to a WebAssembly module.")
    build.add_argument("file", metavar="FILE", help=".syn source")
    build.add_argument("-o", dest="output", metavar="OUT.wasm",
                       help="output path (default: FILE with .wasm)")
    build.add_argument("-O", dest="optimize", action="store_true", help="optimize with binaryen")
    build.add_argument("--wat", action="store_true", help="print the module as WebAssembly text")
    build.add_argument("--arena", type=parse_size, metavar="BYTES",
                       help="linear memory size (e.g. 1MiB), overriding the program's `arena`")
    build.set_defaults(handler=cmd_build)

    check = sub.add_parser("check", help="report diagnostics without running",
                           description="Parse and type-check FILE; print its diagnostics.")
    check.add_argument("file", metavar="FILE", help=".syn source")
    check.add_argument("--json", action="store_true", help="print diagnostics as a JSON list")
    check.add_argument("--lib", action="store_true", help="a library: no `fn main()` needed")
    check.set_defaults(handler=cmd_check)

    from synapse.runtime import cli_verify
    cli_verify.register(check, build)

    demo = sub.add_parser("demo", help="compile and run every program in examples/",
                          description="Compile and run each examples/*.syn, with timings.")
    demo.add_argument("--dir", metavar="DIR", help="folder of programs (default: examples/)")
    demo.set_defaults(handler=cmd_demo)
    from synapse.runtime.cli_serve import add_serve_commands
    add_serve_commands(sub)
    from synapse.runtime.cli_train import add_commands as add_train_commands
    add_train_commands(sub)
    from synapse.runtime.cli_prove import add_commands as add_prove_commands
    add_prove_commands(sub)
    from synapse.runtime.cli_bootstrap import add_commands as add_bootstrap_commands
    add_bootstrap_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except UsageError as err:
        _err(f"syn: error: {err}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        _err("syn: interrupted")
        return 130
    except BrokenPipeError:  # `syn run x.syn | head`: the reader left; not an error of ours
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())

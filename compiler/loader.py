"""Loading: from an entry file to every module of the program, parsed, in dependency order.

`load_program` reads the entry file, follows `import` declarations (relative to the importing
file's folder first, then `stdlib/`), adds the prelude, and returns the parsed modules with
dependencies before dependents. It reports unreadable or non-UTF-8 files (E0005), missing
modules (E0104) and import cycles (E0105). File names keep the spelling they were given in, so
diagnostics and output never depend on the machine's absolute paths.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path

from . import ast
from .diagnostics import CompileError, Diagnostic, DiagnosticSink, Span
from .parse import parse_file

PRELUDE_FILE = "prelude.syn"
STDLIB_DIR = Path(__file__).resolve().parent.parent / "stdlib"
ENTRY_MODULE = "main"


@dataclass
class LoadedProgram:
    modules: dict[str, ast.Module]                  # module name -> AST, dependencies first
    entry: str                                      # the entry module's name
    sources: dict[str, str] = field(default_factory=dict)   # file name -> text
    imports: dict[str, dict[str, str]] = field(default_factory=dict)  # module -> alias -> module
    # file name -> the name compiled into the module's bytes (messages of traps): independent
    # of the working directory and of how the path was spelled.
    display: dict[str, str] = field(default_factory=dict)


def decode_source(file: str, data: bytes) -> str:
    """UTF-8 text of a source file, or a CompileError E0005 at the first bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        before = data[: e.start]
        line = before.count(b"\n") + 1
        col = e.start - (before.rfind(b"\n") + 1) + 1
        raise CompileError([Diagnostic("E0005", "source is not valid UTF-8",
                                       Span.point(file, line, col))]) from None


@functools.cache
def _prelude() -> tuple[ast.Module, str]:
    text = (Path(__file__).parent / PRELUDE_FILE).read_text(encoding="utf-8")
    return parse_file(PRELUDE_FILE, text, module_name="prelude"), text


def load_program(entry_file: str, text: str | None = None) -> LoadedProgram:
    """Parse the entry file and everything it imports. Raises CompileError."""
    loader = _Loader()
    if text is None:
        text = loader.read(entry_file, None)
    prelude, prelude_text = _prelude()
    loader.program.sources[PRELUDE_FILE] = prelude_text
    loader.program.display[PRELUDE_FILE] = PRELUDE_FILE
    loader.program.display[entry_file] = os.path.basename(entry_file)
    loader.program.modules["prelude"] = prelude
    loader.program.imports["prelude"] = {}
    loader.visit(ENTRY_MODULE, entry_file, text, stack=[])
    loader.sink.raise_if_any()
    return loader.program


class _Loader:
    def __init__(self) -> None:
        self.program = LoadedProgram(modules={}, entry=ENTRY_MODULE)
        self.sink = DiagnosticSink()
        self._file_of: dict[str, str] = {}

    def read(self, file: str, at: Span | None) -> str:
        try:
            data = Path(file).read_bytes()
        except (OSError, ValueError) as e:
            reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
            span = at or Span.point(file, 1, 1)
            raise CompileError([Diagnostic("E0104", f"cannot read '{file}': {reason}", span)]) \
                from None
        return decode_source(file, data)

    def visit(self, name: str, file: str, text: str, stack: list[str]) -> None:
        self.program.sources[file] = text
        try:
            module = parse_file(file, text, module_name=name)
        except CompileError as e:
            for d in e.diagnostics:
                self.sink.error(d.code, d.message, d.span, *d.notes)
            return
        self._file_of[name] = file
        aliases: dict[str, str] = {}
        self.program.imports[name] = aliases
        for item in module.items:
            if isinstance(item, ast.ImportDecl):
                self.visit_import(name, file, item, aliases, stack + [name])
        self.program.modules[name] = module

    def visit_import(self, importer: str, importer_file: str, item: ast.ImportDecl,
                     aliases: dict[str, str], stack: list[str]) -> None:
        dotted = ".".join(item.path)
        alias = item.path[-1]
        if alias in aliases:
            self.sink.error("E0102", f"module '{alias}' is imported twice", item.path_span)
            return
        aliases[alias] = dotted
        if dotted in stack or dotted == importer:
            cycle = " -> ".join(stack[stack.index(dotted):] + [dotted]) if dotted in stack \
                else f"{dotted} -> {dotted}"
            self.sink.error("E0105", f"import cycle: {cycle}", item.path_span)
            return
        if dotted in self.program.modules or dotted == "prelude":
            return
        found = self.locate(importer_file, item.path)
        if found is None:
            self.sink.error("E0104", f"module '{dotted}' not found", item.path_span,
                            f"looked for {'/'.join(item.path)}.syn beside "
                            f"{importer_file} and in stdlib/")
            return
        file, display = found
        try:
            text = self.read(file, item.path_span)
        except CompileError as e:
            for d in e.diagnostics:
                self.sink.error(d.code, d.message, d.span)
            return
        self.program.display.setdefault(file, display)
        self.visit(dotted, file, text, stack)

    def locate(self, importer_file: str, path: tuple[str, ...]) -> tuple[str, str] | None:
        """(file to read, display name) of an imported module."""
        rel = "/".join(path) + ".syn"
        beside = os.path.join(os.path.dirname(importer_file), rel)
        if os.path.isfile(beside):
            base = self.program.display.get(importer_file, os.path.basename(importer_file))
            return beside, "/".join(filter(None, [os.path.dirname(base), rel]))
        in_stdlib = STDLIB_DIR / rel
        if in_stdlib.is_file():
            shown = "stdlib/" + rel
            return (shown if _stdlib_is_relative() else str(in_stdlib)), shown
        return None


def _stdlib_is_relative() -> bool:
    """Name stdlib files relative to the working directory when it holds the stdlib."""
    try:
        return (Path.cwd() / "stdlib").resolve() == STDLIB_DIR
    except OSError:
        return False

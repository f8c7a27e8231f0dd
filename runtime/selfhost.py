"""The self-hosted compiler's harness: bundles its input, runs it, compares it with the reference.

`bootstrap/main.syn` is a compiler for `.syn` written in `.syn`. Compiled by the reference
compiler (`compiler/*.py`) it becomes a Wasm module that runs in the sandbox like any program:
it reads one *bundle* (every source file the program could need) from `input()` and prints one
*output frame* (the Wasm bytes, or the diagnostics). This module

- builds bundles (`bundle_for`) and parses output frames (`parse_frame`): the I/O ABI of
  spec/16-bootstrap.md;
- runs a compiled self-hosted compiler on a bundle (`run_selfhost`), with a large fuel budget,
  reporting a trap or exhaustion with the function it happened in;
- builds the three stages (`stages`): stage1 = reference(bootstrap), stage2 = stage1(bootstrap),
  stage3 = stage2(bootstrap), which must be byte-identical;
- lists the corpus every program of the repository belongs to (`corpus`) and compares the two
  compilers on one program (`compare`): identical bytes, or the same rejected (code, line, col)
  list, or a described mismatch.

Reference compilations run with the repository root as working directory and relative paths,
the way the golden tests run them, so file names agree with the bundle's spelling
(`stdlib/REL`, `os.path.join(dirname(importer), REL)`).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator

from synapse.runtime import wasm_diff

ROOT = Path(__file__).resolve().parent.parent
STDLIB_DIR = ROOT / "stdlib"
PRELUDE_PATH = ROOT / "compiler" / "prelude.syn"
PRELUDE_FILE = "prelude.syn"
BOOTSTRAP_MAIN = "bootstrap/main.syn"
BUNDLE_HEADER = b"#syn-bundle"

# A self-compile executes billions of Wasm instructions; the budget is a guard against a
# compiler that loops, not a limit a correct compile should come near.
SELFHOST_FUEL = 4 * 10**12
SELFHOST_TIME_LIMIT = 900.0
# The frame holds the whole module (the bootstrap's own is several hundred KiB).
SELFHOST_OUTPUT_LIMIT = 256 * 1024 * 1024

# `import a.b;` anywhere in a file (comments and strings included: an extra file in the bundle
# is harmless, a missing one would change the outcome).
_IMPORT = re.compile(rb"\bimport\s+([A-Za-z_]\w*(?:\s*\.\s*[A-Za-z_]\w*)*)\s*;")


class SelfhostError(Exception):
    """The harness cannot go on: the reference compiler rejects the bootstrap, a file is missing."""


# -- the bundle ------------------------------------------------------------------------------

def encode_record(name: str, data: bytes) -> bytes:
    """One record: `PATH \\n DECIMAL_LENGTH \\n BYTES`."""
    return name.encode("utf-8") + b"\n" + str(len(data)).encode() + b"\n" + data


def bundle_header(arena: int | None, lib: bool) -> bytes:
    """The optional first line `#syn-bundle arena=N lib=1`; empty when neither is set."""
    options = []
    if arena is not None:
        options.append(f"arena={arena}")
    if lib:
        options.append("lib=1")
    return BUNDLE_HEADER + b" " + " ".join(options).encode() + b"\n" if options else b""


def imported_paths(data: bytes) -> list[tuple[str, ...]]:
    """Every `import a.b;` path written in a file, in order, repeats included."""
    return [tuple(part.strip().decode() for part in m.group(1).split(b"."))
            for m in _IMPORT.finditer(data)]


def bundle_files(entry_path: str, text: str | bytes | None = None) -> dict[str, bytes]:
    """Bundle name -> bytes: the entry, the prelude, and every file the program could import.

    Imports resolve as compiler/loader.py resolves them: beside the importing file first
    (named `os.path.join(os.path.dirname(importer), rel)`), then `stdlib/rel`. Files are read
    from where the reference compiler would read them; stdlib files from the real stdlib folder
    whatever the working directory.
    """
    if text is None:
        entry_data = Path(entry_path).read_bytes()
    else:
        entry_data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    files: dict[str, bytes] = {entry_path: entry_data, PRELUDE_FILE: PRELUDE_PATH.read_bytes()}
    real: dict[str, str] = {entry_path: entry_path}     # bundle name -> path on this machine
    pending = [entry_path]
    while pending:
        importer = pending.pop(0)
        for path in imported_paths(files[importer]):
            rel = "/".join(path) + ".syn"
            found = _locate(importer, real[importer], rel)
            if found is None or found[0] in files:
                continue
            name, location = found
            try:
                files[name] = Path(location).read_bytes()
            except OSError:
                continue
            real[name] = location
            pending.append(name)
    return files


def _locate(importer: str, importer_real: str, rel: str) -> tuple[str, str] | None:
    """(bundle name, real path) of `rel` imported from `importer`, or None when neither exists."""
    beside_real = os.path.join(os.path.dirname(importer_real), rel)
    if os.path.isfile(beside_real):
        return os.path.join(os.path.dirname(importer), rel), beside_real
    in_stdlib = STDLIB_DIR / rel
    if in_stdlib.is_file():
        return "stdlib/" + rel, str(in_stdlib)
    return None


def bundle_for(entry_path: str, text: str | bytes | None = None, arena: int | None = None,
               lib: bool = False) -> bytes:
    """The input of the self-hosted compiler for the program whose entry file is `entry_path`.

    `text` stands for the entry file's content (as `compile_source` takes it); the entry record
    keeps `entry_path` spelled as given.
    """
    files = bundle_files(entry_path, text)
    return bundle_header(arena, lib) + b"".join(encode_record(n, d) for n, d in files.items())


def parse_bundle(data: bytes) -> tuple[dict[str, str], dict[str, bytes]]:
    """(header options, files) of a bundle; the inverse of `bundle_for` (for tests and tools)."""
    options: dict[str, str] = {}
    pos = 0
    if data.startswith(BUNDLE_HEADER):
        end = data.index(b"\n")
        for word in data[len(BUNDLE_HEADER):end].decode().split():
            key, _, value = word.partition("=")
            options[key] = value
        pos = end + 1
    files: dict[str, bytes] = {}
    while pos < len(data):
        name_end = data.index(b"\n", pos)
        len_end = data.index(b"\n", name_end + 1)
        length = int(data[name_end + 1:len_end])
        start = len_end + 1
        if start + length > len(data):
            raise ValueError(f"record {data[pos:name_end]!r} is cut short")
        files[data[pos:name_end].decode("utf-8")] = data[start:start + length]
        pos = start + length
    return options, files


# -- the output frame ------------------------------------------------------------------------

@dataclass(frozen=True)
class Diag:
    """One diagnostic as the output frame carries it."""
    code: str
    file: str
    line: int
    col: int
    end_line: int
    end_col: int
    message: str

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.code, self.line, self.col)


@dataclass
class Frame:
    """A parsed output frame: Wasm bytes, or diagnostics; `problem` when it is malformed."""
    wasm: bytes | None = None
    diagnostics: list[Diag] = field(default_factory=list)
    arena_used: int | None = None
    problem: str | None = None


def parse_frame(output: bytes) -> Frame:
    """`ok ARENA LEN\\n BYTES` or `error ARENA COUNT\\n` + COUNT tab-separated lines."""
    head, newline, rest = output.partition(b"\n")
    words = head.split(b" ")
    if not newline or len(words) != 3 or words[0] not in (b"ok", b"error"):
        return Frame(problem=f"no output frame: starts {output[:60]!r}")
    try:
        arena, count = int(words[1]), int(words[2])
    except ValueError:
        return Frame(problem=f"bad frame header {head[:60]!r}")
    if words[0] == b"ok":
        if len(rest) != count:
            return Frame(arena_used=arena,
                         problem=f"frame says {count} Wasm bytes, {len(rest)} follow")
        return Frame(wasm=bytes(rest), arena_used=arena)
    lines = rest.decode("utf-8", "replace").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) != count:
        return Frame(arena_used=arena, problem=f"frame says {count} diagnostics, {len(lines)} follow")
    diagnostics = []
    for line in lines:
        parts = line.split("\t", 6)
        if len(parts) != 7:
            return Frame(arena_used=arena, problem=f"bad diagnostic line {line[:80]!r}")
        try:
            line_no, col, end_line, end_col = (int(p) for p in parts[2:6])
        except ValueError:
            return Frame(arena_used=arena, problem=f"bad diagnostic line {line[:80]!r}")
        diagnostics.append(Diag(parts[0], parts[1], line_no, col, end_line, end_col, parts[6]))
    return Frame(diagnostics=diagnostics, arena_used=arena)


def encode_frame_ok(wasm: bytes, arena_used: int = 0) -> bytes:
    """The frame a successful compile prints (for tests of the reader)."""
    return f"ok {arena_used} {len(wasm)}\n".encode() + wasm


# -- running the self-hosted compiler --------------------------------------------------------

@dataclass
class SelfhostResult:
    """One run of a self-hosted compiler on one bundle.

    status: "ok" (Wasm bytes), "rejected" (diagnostics), "trap", "exhausted", or "bad-frame"
    (the run ended but printed no well-formed frame).
    """
    status: str
    wasm: bytes | None
    diagnostics: list[Diag]
    arena_used: int | None           # what the compiler reported at its end (its peak: a bump arena)
    fuel_used: int
    seconds: float
    message: str | None = None       # trap, exhaustion or frame problem
    function: str | None = None      # where a trap or exhaustion happened
    exhausted: str | None = None     # fuel | arena | stack | output | time

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def describe(self) -> str:
        if self.status == "ok":
            return f"ok: {len(self.wasm or b'')} bytes"
        if self.status == "rejected":
            return f"rejected: {len(self.diagnostics)} diagnostics"
        where = f" in {self.function}" if self.function else ""
        return f"{self.status}: {self.message}{where}"


_sandbox: Any = None


def _selfhost_sandbox() -> Any:
    global _sandbox
    if _sandbox is None:
        from synapse.runtime.sandbox import Sandbox
        _sandbox = Sandbox(time_limit=SELFHOST_TIME_LIMIT, output_limit=SELFHOST_OUTPUT_LIMIT,
                           reuse=False)
    return _sandbox


def run_selfhost(wasm: bytes, bundle: bytes, *, fuel: int = SELFHOST_FUEL,
                 time_limit: float | None = SELFHOST_TIME_LIMIT) -> SelfhostResult:
    """Run a compiled self-hosted compiler (its arena is the one it declares) on one bundle."""
    sandbox = _selfhost_sandbox()
    loaded = sandbox.load(wasm)
    start = time.perf_counter()
    run = sandbox.run(loaded, bundle, fuel=fuel, time_limit=time_limit)
    seconds = time.perf_counter() - start
    if run.status != "ok":
        frame = parse_frame(run.output)
        return SelfhostResult(run.status, None, [], frame.arena_used, run.fuel_used, seconds,
                              run.message, run.function, run.exhausted)
    frame = parse_frame(run.output)
    if frame.problem is not None:
        return SelfhostResult("bad-frame", None, [], frame.arena_used, run.fuel_used, seconds,
                              frame.problem)
    status = "ok" if frame.wasm is not None else "rejected"
    return SelfhostResult(status, frame.wasm, frame.diagnostics, frame.arena_used,
                          run.fuel_used, seconds)


# -- the reference compiler ------------------------------------------------------------------

@contextlib.contextmanager
def at_root() -> Iterator[None]:
    """Run with the repository root as working directory (relative file names, stdlib/...)."""
    before = os.getcwd()
    os.chdir(ROOT)
    try:
        yield
    finally:
        os.chdir(before)


@dataclass
class ReferenceResult:
    wasm: bytes | None
    diagnostics: list[Diag]
    seconds: float

    @property
    def ok(self) -> bool:
        return self.wasm is not None and not self.diagnostics


def compile_reference(path: str, text: str | None = None, arena: int | None = None,
                      lib: bool = False) -> ReferenceResult:
    """The reference compiler's outcome for one program (paths relative to the root)."""
    from synapse.compiler import driver
    with at_root():
        start = time.perf_counter()
        if text is None:
            result = driver.compile_file(path, arena=arena, lib=lib)
        else:
            result = driver.compile_source(text, filename=path, arena=arena, lib=lib)
        seconds = time.perf_counter() - start
    diags = [Diag(d.code, d.span.file, d.span.line, d.span.col, d.span.end_line, d.span.end_col,
                  d.message) for d in result.diagnostics]
    return ReferenceResult(result.wasm if not diags else None, diags, seconds)


# sha256 of a stage1 module -> the bundle of the sources it was built from: stage2 must be
# built from the very same sources, even when the files change while the stages are built.
_stage1_sources: dict[str, bytes] = {}


def compile_stage1() -> bytes:
    """The bootstrap compiled by the reference compiler."""
    for _ in range(3):
        before = bootstrap_bundle()
        result = compile_reference(BOOTSTRAP_MAIN)
        if bootstrap_bundle() == before:   # no file changed during the compile
            break
    if not result.ok or result.wasm is None:
        shown = "; ".join(f"{d.file}:{d.line}:{d.col}: {d.code} {d.message}"
                          for d in result.diagnostics[:5])
        raise SelfhostError(f"the reference compiler rejects {BOOTSTRAP_MAIN}: {shown}")
    _stage1_sources[hashlib.sha256(result.wasm).hexdigest()] = before
    return result.wasm


def bootstrap_bundle(stage1: bytes | None = None) -> bytes:
    """The bootstrap's sources as a bundle: those `stage1` was built from, when known."""
    if stage1 is not None:
        known = _stage1_sources.get(hashlib.sha256(stage1).hexdigest())
        if known is not None:
            return known
    with at_root():
        return bundle_for(BOOTSTRAP_MAIN)


def compile_test_driver(driver: Path) -> bytes:
    """A test driver of bootstrap/tests (or elsewhere) compiled as if it lay in bootstrap/, so
    that its imports find the self-hosted compiler's modules beside it. Raises ValueError with
    the diagnostics when it does not compile."""
    from synapse.compiler import driver as reference
    result = reference.compile_source(driver.read_text(encoding="utf-8"),
                                      filename=str(ROOT / "bootstrap" / driver.name))
    if not result.ok or result.wasm is None:
        raise ValueError(f"{driver.name} does not compile:\n"
                         + "\n".join(d.render() for d in result.diagnostics))
    return result.wasm


# -- differences between two modules ---------------------------------------------------------

def first_difference(a: bytes, b: bytes) -> str:
    """Where two modules first differ: the offset and the section/function holding it."""
    found = wasm_diff.first_difference(a, b)
    return "identical" if found is None else found.describe()


def first_differing_offset(a: bytes, b: bytes) -> int | None:
    found = wasm_diff.first_difference(a, b)
    return None if found is None else found.offset


# -- the stages ------------------------------------------------------------------------------

@dataclass
class StagesReport:
    identical: bool
    stage_bytes: list[int]                      # sizes of stage1, stage2, stage3 (0: none)
    seconds: dict[str, float]                   # stage -> seconds to build it
    peak_arena: int | None                      # the self-compile's arena use
    fuel: int | None                            # fuel of the self-compile (stage1 building stage2)
    problem: str | None = None                  # why a stage is missing, or where they differ

    def to_json(self) -> dict[str, Any]:
        return {"identical": self.identical, "stage_bytes": self.stage_bytes,
                "seconds": self.seconds, "peak_arena_bytes": self.peak_arena,
                "self_compile_fuel": self.fuel, "problem": self.problem}


def stages(stage1: bytes | None = None) -> StagesReport:
    """stage1 = reference(bootstrap), stage2 = stage1(bootstrap), stage3 = stage2(bootstrap)."""
    seconds: dict[str, float] = {}
    if stage1 is None:
        start = time.perf_counter()
        try:
            stage1 = compile_stage1()
        except SelfhostError as err:
            return StagesReport(False, [0, 0, 0], seconds, None, None, str(err))
        seconds["stage1"] = time.perf_counter() - start
    bundle = bootstrap_bundle(stage1)
    second = run_selfhost(stage1, bundle)
    seconds["stage2"] = second.seconds
    report = StagesReport(False, [len(stage1), 0, 0], seconds, second.arena_used,
                          second.fuel_used)
    if not second.ok or second.wasm is None:
        report.problem = f"stage1 compiling the bootstrap: {_failure(second)}"
        return report
    report.stage_bytes[1] = len(second.wasm)
    if second.wasm != stage1:
        report.problem = "stage2 differs from stage1: " + first_difference(stage1, second.wasm)
        return report
    third = run_selfhost(second.wasm, bundle)
    seconds["stage3"] = third.seconds
    if not third.ok or third.wasm is None:
        report.problem = f"stage2 compiling the bootstrap: {_failure(third)}"
        return report
    report.stage_bytes[2] = len(third.wasm)
    if third.wasm != second.wasm:
        report.problem = "stage3 differs from stage2: " + first_difference(second.wasm, third.wasm)
        return report
    report.identical = True
    return report


def _failure(result: SelfhostResult) -> str:
    if result.status == "rejected":
        shown = "; ".join(f"{d.file}:{d.line}:{d.col}: {d.code} {d.message}"
                          for d in result.diagnostics[:5])
        return f"rejected it: {shown}"
    return result.describe()


# -- the corpus ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Program:
    """One compilation of the corpus: an entry file (relative to the root) or example text."""
    id: str
    path: str
    text: str | None = None
    arena: int | None = None
    lib: bool = False

    def bundle(self) -> bytes:
        with at_root():
            return bundle_for(self.path, self.text, self.arena, self.lib)


_ARENA_DIRECTIVE = re.compile(r"(?:^|\s)//\s*arena:\s*(\d[\d_]*)\s*(B|KiB|MiB|GiB)?\s*$", re.M)
_UNITS = {None: 1, "B": 1, "KiB": 1024, "MiB": 1024 ** 2, "GiB": 1024 ** 3}


def _arena_directive(text: str) -> int | None:
    """The `// arena: SIZE` the golden tests pass to the compiler, if any."""
    match = _ARENA_DIRECTIVE.search(text)
    if match is None:
        return None
    return int(match.group(1).replace("_", "")) * _UNITS[match.group(2)]


def _is_helper_module(path: Path) -> bool:
    """An imported module of a test program (as tests/golden_support.py decides)."""
    if "lib" in path.parts[:-1]:
        return True
    with path.open("rb") as f:
        return f.readline().strip() == b"// module"


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _file_program(path: Path, lib: bool = False) -> Program:
    text = path.read_bytes().decode("utf-8", "replace")
    return Program(_rel(path), _rel(path), None, _arena_directive(text), lib)


def _spec_reader() -> ModuleType | None:
    """tests/spec's example reader, loaded by path (tests/ is not a package)."""
    path = ROOT / "tests" / "spec" / "test_spec_structure.py"
    if not path.is_file():
        return None
    name = "_selfhost_spec_reader"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception:  # pytest missing, or the file changed shape: no spec examples
        del sys.modules[name]
        return None
    return module


def spec_programs() -> list[Program]:
    """Every compiled ```syn example of spec/, as tests/spec compiles it (`example.syn`)."""
    reader = _spec_reader()
    if reader is None:
        return []
    found = []
    for example in reader.all_examples():
        if example.kind == "fragment":
            continue
        exp = reader.parse_expectations(example.text)
        found.append(Program(f"spec/{example.id}", "example.syn", example.text, exp.arena))
    return found


def corpus() -> list[Program]:
    """Every program of the repository, each compiled as its own tests compile it."""
    programs: list[Program] = []
    tests = ROOT / "tests"
    for folder in ("programs", "golden"):
        for path in sorted((tests / folder).rglob("*.syn")):
            if not _is_helper_module(path):
                programs.append(_file_program(path))
    errors = tests / "errors"
    for path in sorted(errors.glob("*.syn")) + sorted(errors.glob("*/main.syn")):
        programs.append(_file_program(path))
    programs += [_file_program(p) for p in sorted((ROOT / "examples").glob("*.syn"))]
    for library in (STDLIB_DIR, STDLIB_DIR / "nn", STDLIB_DIR / "optim"):
        programs += [_file_program(p, lib=True) for p in sorted(library.glob("*.syn"))]
    for path in sorted((ROOT / "bootstrap").glob("*.syn")):
        programs.append(_file_program(path, lib=path.name != "main.syn"))
    programs += spec_programs()
    # Every other .syn file of the repository (benchmarks, the verifier's corpus, the sandbox's
    # hostile programs, test drivers...): a program when it has a `main`, else a library.
    covered = {p.id for p in programs}
    for folder in ("bench", "tests", "bootstrap/tests"):
        for path in sorted((ROOT / folder).rglob("*.syn")):
            if _rel(path) in covered or _is_helper_module(path):
                continue
            text = path.read_bytes().decode("utf-8", "replace")
            programs.append(_file_program(path, lib=_MAIN.search(text) is None))
            covered.add(_rel(path))
    return programs


_MAIN = re.compile(r"^fn main\(", re.MULTILINE)


def select(programs: list[Program], patterns: list[str]) -> list[Program]:
    """The programs whose id contains one of the patterns (all of them without patterns)."""
    if not patterns:
        return programs
    return [p for p in programs if any(pat in p.id for pat in patterns)]


# -- comparing the two compilers -------------------------------------------------------------

@dataclass
class Comparison:
    program: str
    identical: bool
    outcome: str                    # "same-bytes" | "same-errors" | "mismatch"
    detail: str = ""                # for a mismatch: what differs, where
    offset: int | None = None       # first differing byte, when both produced modules
    reference_seconds: float = 0.0
    selfhost_seconds: float = 0.0
    selfhost_fuel: int = 0
    selfhost_arena: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"program": self.program, "identical": self.identical, "outcome": self.outcome,
                "detail": self.detail, "offset": self.offset,
                "reference_ms": round(1000 * self.reference_seconds, 3),
                "selfhost_ms": round(1000 * self.selfhost_seconds, 3),
                "selfhost_fuel": self.selfhost_fuel, "selfhost_arena": self.selfhost_arena}


def _keys(diags: list[Diag]) -> list[tuple[str, int, int]]:
    return [d.key for d in diags]


def compare_outcomes(program: str, ref: ReferenceResult, own: SelfhostResult) -> Comparison:
    """Judge one program: same bytes, same (code, line, col) list, or a described mismatch."""
    made = Comparison(program, False, "mismatch", reference_seconds=ref.seconds,
                      selfhost_seconds=own.seconds, selfhost_fuel=own.fuel_used,
                      selfhost_arena=own.arena_used)
    if own.status not in ("ok", "rejected"):
        made.detail = f"self-hosted compiler {own.describe()}"
        return made
    if ref.ok and own.ok:
        assert ref.wasm is not None and own.wasm is not None
        if ref.wasm == own.wasm:
            made.identical, made.outcome = True, "same-bytes"
        else:
            made.offset = first_differing_offset(ref.wasm, own.wasm)
            made.detail = first_difference(ref.wasm, own.wasm)
        return made
    if not ref.ok and not own.ok:
        if _keys(ref.diagnostics) == _keys(own.diagnostics):
            made.identical, made.outcome = True, "same-errors"
        else:
            made.detail = (f"both reject, reference {_show_keys(ref.diagnostics)}, "
                           f"self-hosted {_show_keys(own.diagnostics)}")
        return made
    if ref.ok:
        made.detail = f"reference accepts, self-hosted rejects: {_show_keys(own.diagnostics)}"
    else:
        made.detail = f"reference rejects {_show_keys(ref.diagnostics)}, self-hosted accepts"
    return made


def _show_keys(diags: list[Diag], limit: int = 4) -> str:
    shown = ", ".join(f"{c} at {line}:{col}" for c, line, col in _keys(diags)[:limit])
    more = f" (+{len(diags) - limit} more)" if len(diags) > limit else ""
    return "[" + shown + more + "]"


def compare(program: Program, compiler: bytes) -> Comparison:
    """Compile `program` with the reference and with `compiler` (a self-hosted module)."""
    ref = compile_reference(program.path, program.text, program.arena, program.lib)
    own = run_selfhost(compiler, program.bundle())
    return compare_outcomes(program.id, ref, own)


def compare_source(source: str, compiler: bytes, *, filename: str = "main.syn",
                   arena: int | None = None, lib: bool = False) -> Comparison:
    """Compare the two compilers on program text (the differential tests)."""
    return compare(Program(filename, filename, source, arena, lib), compiler)


# -- the skip list ---------------------------------------------------------------------------

SKIP_FILE = ROOT / "tests" / "bootstrap" / "skip.txt"


def read_skip_list(path: Path = SKIP_FILE) -> dict[str, str]:
    """Program id -> reason, from lines `ID  REASON` (blank lines and `#` comments ignored)."""
    skipped: dict[str, str] = {}
    if not path.is_file():
        return skipped
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        program, _, reason = line.partition(" ")
        skipped[program] = reason.strip()
    return skipped

"""Diagnostics: located, coded compiler errors and their rendering.

Every phase reports problems as `Diagnostic` values (a stable code such as `E0201`, a message,
and a `Span` in the source). Codes are listed in `CODES` and documented in spec/09-errors.md;
a code is never reused for another meaning. Rendering gives `file:line:col`, the source line
and a caret under the offending text; `to_json` gives the same for tools.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CODES: dict[str, str] = {
    "E0001": "syntax error",
    "E0002": "unexpected character",
    "E0003": "unterminated literal or comment",
    "E0004": "invalid escape sequence",
    "E0005": "source is not valid UTF-8",
    "E0006": "integer literal out of range",
    "E0007": "nesting too deep",
    "E0008": "unexpected end of file",
    "E0009": "invalid arena size",
    "E0101": "unknown name",
    "E0102": "duplicate definition",
    "E0103": "unknown type",
    "E0104": "module not found",
    "E0105": "import cycle",
    "E0106": "unknown field",
    "E0107": "unknown variant",
    "E0108": "ambiguous variant name",
    "E0109": "reserved name",
    "E0201": "type mismatch",
    "E0202": "wrong number of arguments",
    "E0203": "operator not defined for these types",
    "E0204": "not callable",
    "E0205": "no such method",
    "E0206": "condition must be bool",
    "E0207": "invalid cast",
    "E0208": "non-exhaustive match",
    "E0209": "break or continue outside a loop",
    "E0210": "missing result value",
    "E0211": "`result` outside `ensures`",
    "E0212": "assignment to immutable binding",
    "E0213": "missing field",
    "E0214": "extern not allowed",
    "E0215": "missing or invalid main",
    "E0216": "constant expression required",
    "E0217": "pattern does not fit the scrutinee",
    "E0218": "unreachable match arm",
    "E0219": "misplaced arena declaration",
    "E0220": "unit value used",
}

MAX_ERRORS = 50


@dataclass(frozen=True)
class Span:
    file: str
    line: int
    col: int
    end_line: int
    end_col: int

    @staticmethod
    def point(file: str, line: int, col: int) -> "Span":
        return Span(file, line, col, line, col + 1)


@dataclass(frozen=True)
class Diagnostic:
    code: str
    message: str
    span: Span
    notes: tuple[str, ...] = field(default=())

    def header(self) -> str:
        s = self.span
        return f"{s.file}:{s.line}:{s.col}: error[{self.code}]: {self.message}"

    def render(self, source: str | None = None) -> str:
        """The header, then the source line with a caret under the span (when available)."""
        lines = [self.header()]
        lines.extend(snippet(source, self.span))
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)

    def to_json(self) -> dict[str, object]:
        s = self.span
        return {
            "code": self.code, "message": self.message, "file": s.file,
            "line": s.line, "col": s.col, "end_line": s.end_line, "end_col": s.end_col,
            "notes": list(self.notes),
        }


def printable(text: str) -> str:
    """Text a program chose (a trap message, a string value) made safe for a terminal: every
    character that does not print (control characters, escape sequences, line breaks) is
    written as an escape, so a program cannot move the cursor or restyle the terminal."""
    return "".join(_shown(c) for c in text)


_NAMED_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _shown(c: str) -> str:
    """One character as `printable` shows it."""
    if c.isprintable():
        return c
    if c in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[c]
    code = ord(c)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def snippet(source: str | None, span: Span, *, rest_of_line: bool = False) -> list[str]:
    """The span's source line and a caret line under the span: none without the source. A
    span that goes on past its line is underlined to the end of the line with `rest_of_line`,
    else at its first character. Characters that do not print are shown escaped (see
    `printable`), and the carets follow the escapes' widths."""
    text = _source_line(source, span.line)
    if text is None:
        return []
    shown = [_shown(c) for c in text]
    starts = [0]
    for piece in shown:
        starts.append(starts[-1] + len(piece))

    def column(index: int) -> int:      # where the character at `index` is shown
        return starts[index] if index <= len(text) else starts[-1] + index - len(text)

    first = max(0, span.col - 1)
    if span.end_line == span.line and span.end_col > span.col:
        last = min(span.end_col - 1, len(text))
    elif rest_of_line:
        last = len(text)
    else:
        last = min(first + 1, len(text))
    width = max(1, column(last) - column(first))
    gutter = f"{span.line:>4} | "
    return [gutter + "".join(shown),
            " " * (len(gutter) - 2) + "| " + " " * column(first) + "^" * width]


def _source_line(source: str | None, line: int) -> str | None:
    if source is None or line < 1:
        return None
    lines = source.split("\n")
    if line > len(lines):
        return None
    return lines[line - 1].rstrip("\r").replace("\t", " ")


class CompileError(Exception):
    """Raised by a phase that cannot go on; carries every diagnostic found so far."""

    def __init__(self, diagnostics: list[Diagnostic]):
        super().__init__("; ".join(d.header() for d in diagnostics[:3]))
        self.diagnostics = diagnostics


class DiagnosticSink:
    """Collects diagnostics of one compilation, in the order found, without duplicates."""

    def __init__(self) -> None:
        self.items: list[Diagnostic] = []
        self._seen: set[tuple[str, str, int, int]] = set()

    def error(self, code: str, message: str, span: Span, *notes: str) -> None:
        assert code in CODES, code
        key = (code, span.file, span.line, span.col)
        if key in self._seen:
            return
        self._seen.add(key)
        self.items.append(Diagnostic(code, message, span, tuple(notes)))
        if len(self.items) >= MAX_ERRORS:
            raise CompileError(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise CompileError(self.items)

"""Where two Wasm modules first differ, in terms a compiler writer can act on.

Used when comparing the self-hosted compiler's output (bootstrap/) with the reference
compiler's: `first_difference(a, b)` finds the first byte at which the two modules differ and
says where it falls in module `a`: the header, a section (type, import, function, memory,
global, export, code, data, the custom "name" section, ...), and inside the code section the
function (its index, counting imports, and its name from `a`'s name section) and the byte
within that function's body. `Difference.describe()` puts that on one line:
"offset 1234: code section, function 17 main.fib (byte 23 of its body)".

What must stay true: this never raises on malformed or truncated input. The structure is read
only as far as it can be; where it cannot, the description falls back to what is known, at
worst "offset N".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

HEADER_SIZE = 8   # b"\0asm" and the version

SECTION_NAMES: dict[int, str] = {
    0: "custom", 1: "type", 2: "import", 3: "function", 4: "table", 5: "memory", 6: "global",
    7: "export", 8: "start", 9: "element", 10: "code", 11: "data", 12: "data count", 13: "tag",
}
SECTION_IMPORT = 2
SECTION_FUNCTION = 3
SECTION_CODE = 10

_IMPORT_FUNC, _IMPORT_TABLE, _IMPORT_MEMORY, _IMPORT_GLOBAL, _IMPORT_TAG = range(5)
_NAME_SUBSECTION_FUNCTIONS = 1
_MAX_LEB_BYTES = 10


@dataclass(frozen=True)
class Difference:
    """The first differing byte and where it falls in the first module (or, past its end, in
    the second). Fields that could not be worked out are None."""

    offset: int
    section: str | None = None          # "header", "type", ..., 'custom "name"'
    function: int | None = None         # function index, imports counted
    function_name: str | None = None
    body_offset: int | None = None      # byte within the function's body (after its size)
    detail: str | None = None           # "section header", "its size", "its name entry", ...
    ended: str | None = None            # "a" or "b": that module ends at `offset`

    def describe(self) -> str:
        text = f"offset {self.offset}"
        where = self._where()
        if where:
            text += ": " + where
        if self.ended is not None:
            other = "b" if self.ended == "a" else "a"
            text += f" ({self.ended} ends here, {other} goes on)"
        return text

    def _where(self) -> str:
        if self.section is None:
            return ""
        parts = [self.section if self.section == "header" else self.section + " section"]
        if self.function is not None:
            func = f"function {self.function}"
            if self.function_name:
                func += " " + self.function_name
            if self.body_offset is not None:
                func += f" (byte {self.body_offset} of its body)"
            elif self.detail:
                func += f" ({self.detail})"
            parts.append(func)
        elif self.detail:
            parts.append(self.detail)
        return ", ".join(parts)


class _Malformed(Exception):
    """The bytes stop making sense as a module at this point."""


class _Reader:
    """Bounds-checked reading of Wasm's basic encodings."""

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else min(end, len(data))

    def byte(self) -> int:
        if self.pos >= self.end:
            raise _Malformed
        self.pos += 1
        return self.data[self.pos - 1]

    def uleb(self) -> int:
        value = shift = 0
        for _ in range(_MAX_LEB_BYTES):
            b = self.byte()
            value |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return value
        raise _Malformed

    def skip(self, count: int) -> None:
        if count < 0 or self.pos + count > self.end:
            raise _Malformed
        self.pos += count

    def name(self) -> str:
        length = self.uleb()
        start = self.pos
        self.skip(length)
        return self.data[start:self.pos].decode("utf-8", errors="replace")


@dataclass(frozen=True)
class _Section:
    id: int
    start: int           # offset of the id byte
    payload: int         # offset of the first payload byte
    end: int             # one past the last payload byte
    custom_name: str | None

    @property
    def label(self) -> str:
        if self.id == 0:
            return f'custom "{self.custom_name}"' if self.custom_name is not None else "custom"
        return SECTION_NAMES.get(self.id, f"unknown (id {self.id})")


def first_difference(a: bytes, b: bytes) -> Difference | None:
    """The first byte where `a` and `b` differ, located in `a`; None when they are equal."""
    a, b = bytes(a), bytes(b)
    if a == b:
        return None
    offset = _first_differing_offset(a, b)
    ended = "a" if offset == len(a) else "b" if offset == len(b) else None
    # Past the end of `a` the only structure to describe is the one of `b`.
    where = a if offset < len(a) else b
    names = b if where is b else a
    try:
        return _locate(where, names, offset, ended)
    except Exception:  # a diagnostic aid must not fail: fall back to the bare offset
        return Difference(offset, ended=ended)


def _first_differing_offset(a: bytes, b: bytes) -> int:
    n = min(len(a), len(b))
    # Compare in halves so that long equal prefixes cost slices, not a Python loop per byte.
    lo, hi = 0, n
    while hi - lo > 64:
        mid = (lo + hi) // 2
        if a[lo:mid] == b[lo:mid]:
            lo = mid
        else:
            hi = mid
    for i in range(lo, hi):
        if a[i] != b[i]:
            return i
    return n


def _locate(data: bytes, names_from: bytes, offset: int, ended: str | None) -> Difference:
    if offset < HEADER_SIZE:
        return Difference(offset, "header", ended=ended)
    sections = _sections(data)
    section = next((s for s in sections if s.start <= offset < s.end), None)
    if section is None:
        return Difference(offset, ended=ended)
    if offset < section.payload:
        return Difference(offset, section.label, detail="section header", ended=ended)
    if section.id == SECTION_CODE:
        return _locate_in_code(data, names_from, sections, section, offset, ended)
    if section.id == SECTION_FUNCTION:
        return _locate_in_function_section(data, names_from, sections, section, offset, ended)
    if section.id == 0 and section.custom_name == "name":
        return _locate_in_names(data, section, offset, ended)
    return Difference(offset, section.label, ended=ended)


def _sections(data: bytes) -> list[_Section]:
    """The sections as far as they can be read (a truncated last one ends at the data's end)."""
    sections: list[_Section] = []
    r = _Reader(data, HEADER_SIZE)
    while r.pos < len(data):
        start = r.pos
        try:
            section_id = r.byte()
            size = r.uleb()
        except _Malformed:
            sections.append(_Section(data[start], start, len(data), len(data), None))
            break
        payload = r.pos
        end = min(payload + size, len(data))
        sections.append(_Section(section_id, start, payload, end,
                                 _custom_name(data, payload, end) if section_id == 0 else None))
        r.pos = end
    return sections


def _custom_name(data: bytes, payload: int, end: int) -> str | None:
    try:
        return _Reader(data, payload, end).name()
    except _Malformed:
        return None


def _imported_funcs(data: bytes, sections: list[_Section]) -> int | None:
    """How many functions are imported (they come first in the function index space)."""
    section = next((s for s in sections if s.id == SECTION_IMPORT), None)
    if section is None:
        return 0
    try:
        r = _Reader(data, section.payload, section.end)
        count = 0
        for _ in range(r.uleb()):
            r.name()
            r.name()
            kind = r.byte()
            if kind == _IMPORT_FUNC:
                r.uleb()
                count += 1
            elif kind == _IMPORT_TABLE:
                r.byte()
                _skip_limits(r)
            elif kind == _IMPORT_MEMORY:
                _skip_limits(r)
            elif kind == _IMPORT_GLOBAL:
                r.skip(2)
            elif kind == _IMPORT_TAG:
                r.byte()
                r.uleb()
            else:
                return None
        return count
    except _Malformed:
        return None


def _skip_limits(r: _Reader) -> None:
    flags = r.byte()
    r.uleb()
    if flags & 1:
        r.uleb()


def _function_names(data: bytes, sections: list[_Section]) -> dict[int, str]:
    """Function index -> name, from the "name" section's function subsection (what could be
    read of it)."""
    names: dict[int, str] = {}
    for entry in _name_entries(data, sections):
        names[entry[0]] = entry[1]
    return names


def _name_entries(data: bytes, sections: list[_Section]) -> list[tuple[int, str, int, int]]:
    """(function index, name, entry start, entry end) of every function-name entry."""
    section = next((s for s in sections if s.id == 0 and s.custom_name == "name"), None)
    entries: list[tuple[int, str, int, int]] = []
    if section is None:
        return entries
    r = _Reader(data, section.payload, section.end)
    try:
        r.name()
        while r.pos < r.end:
            sub_id = r.byte()
            size = r.uleb()
            sub_end = min(r.pos + size, r.end)
            if sub_id != _NAME_SUBSECTION_FUNCTIONS:
                r.pos = sub_end
                continue
            sub = _Reader(data, r.pos, sub_end)
            for _ in range(sub.uleb()):
                start = sub.pos
                idx = sub.uleb()
                name = sub.name()
                entries.append((idx, name, start, sub.pos))
            r.pos = sub_end
    except _Malformed:
        pass
    return entries


def _function_label(names_from: bytes, idx: int) -> str | None:
    try:
        return _function_names(names_from, _sections(names_from)).get(idx)
    except Exception:
        return None


def _locate_per_function(data: bytes, names_from: bytes, sections: list[_Section],
                         section: _Section, offset: int, ended: str | None,
                         entry: Callable[[_Reader, int, int | None], Difference | None]
                         ) -> Difference:
    """Walk a vector with one entry per defined function (the function and code sections);
    `entry(reader, i, imported)` reads entry i and says whether `offset` falls in it."""
    r = _Reader(data, section.payload, section.end)
    try:
        count = r.uleb()
        if offset < r.pos:
            return Difference(offset, section.label, detail="function count", ended=ended)
        imported = _imported_funcs(data, sections)
        for i in range(count):
            found = entry(r, i, imported)
            if found is not None:
                return found
    except _Malformed:
        pass
    return Difference(offset, section.label, ended=ended)


def _locate_in_code(data: bytes, names_from: bytes, sections: list[_Section],
                    section: _Section, offset: int, ended: str | None) -> Difference:
    label = section.label

    def body_entry(r: _Reader, i: int, imported: int | None) -> Difference | None:
        size = r.uleb()
        body = r.pos
        if offset >= body + size:
            r.skip(size)
            return None
        if imported is None:
            return Difference(offset, label, detail=f"body {i}", ended=ended)
        idx = imported + i
        name = _function_label(names_from, idx)
        if offset < body:
            return Difference(offset, label, idx, name, detail="its size", ended=ended)
        return Difference(offset, label, idx, name, body_offset=offset - body, ended=ended)

    return _locate_per_function(data, names_from, sections, section, offset, ended, body_entry)


def _locate_in_function_section(data: bytes, names_from: bytes, sections: list[_Section],
                                section: _Section, offset: int,
                                ended: str | None) -> Difference:
    """An entry of the function section is the type index of one defined function."""

    def type_entry(r: _Reader, i: int, imported: int | None) -> Difference | None:
        r.uleb()
        if offset < r.pos and imported is not None:
            idx = imported + i
            return Difference(offset, section.label, idx, _function_label(names_from, idx),
                              detail="its type index", ended=ended)
        return None

    return _locate_per_function(data, names_from, sections, section, offset, ended, type_entry)


def _locate_in_names(data: bytes, section: _Section, offset: int,
                     ended: str | None) -> Difference:
    label = section.label
    for idx, name, start, end in _name_entries(data, [section]):
        if start <= offset < end:
            return Difference(offset, label, idx, name, detail="its name entry", ended=ended)
    return Difference(offset, label, ended=ended)

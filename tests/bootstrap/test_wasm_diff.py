"""runtime/wasm_diff.py: the first differing byte of two modules, located by section, function
and byte of the function body, on modules compiled by the reference compiler with one byte
changed; and never an exception, whatever the input.

Expected locations are computed independently of wasm_diff's parser: each section's bytes are
rebuilt with compiler/wasm.py's own encoding functions and their offsets summed.
"""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synapse.compiler import wasm
from synapse.compiler.driver import compile_source
from synapse.runtime.wasm_diff import Difference, first_difference

PROGRAM = """
struct Point { x: i32, y: i32 }

fn fib(n: i32) -> i32 {
    if n < 2 { n } else { fib(n - 1) + fib(n - 2) }
}

fn norm1(p: Point) -> i32 {
    p.x + p.y
}

fn main() {
    let p = Point(x: fib(10), y: 3);
    println("fib and norm: ", fib(20), " ", norm1(p), " ", 2.5);
}
"""


@pytest.fixture(scope="module")
def compiled() -> tuple[bytes, wasm.Module]:
    result = compile_source(PROGRAM)
    assert result.ok and result.wasm is not None and result.module is not None
    return result.wasm, result.module


def reference_sections(m: wasm.Module) -> dict[str, bytes]:
    """Each section's bytes, encoded piece by piece with wasm.py, in module order."""
    assert m.memory is not None
    bodies = [m._encode_func_body(i) for i in range(len(m.imports), m.num_funcs)]
    return {
        "type": wasm.section(wasm.SECTION_TYPE,
                             wasm.vector([wasm.encode_functype(t) for t in m.types])),
        "import": wasm.section(wasm.SECTION_IMPORT,
                               wasm.vector([wasm.encode_import(i) for i in m.imports])),
        "function": wasm.section(wasm.SECTION_FUNCTION,
                                 wasm.vector([wasm.uleb128(f.type_idx) for f in m.funcs])),
        "memory": wasm.section(wasm.SECTION_MEMORY, wasm.vector([wasm.encode_limits(m.memory)])),
        "global": wasm.section(wasm.SECTION_GLOBAL,
                               wasm.vector([wasm.encode_global(g) for g in m.globals])),
        "export": wasm.section(wasm.SECTION_EXPORT,
                               wasm.vector([wasm.encode_export(e) for e in m.exports])),
        "code": wasm.section(wasm.SECTION_CODE, wasm.vector(bodies)),
        "data": wasm.section(wasm.SECTION_DATA,
                             wasm.vector([wasm.encode_data(d) for d in m.data])),
        'custom "name"': m._encode_name_section(),
    }


def section_starts(binary: bytes, m: wasm.Module) -> dict[str, int]:
    sections = reference_sections(m)
    assert wasm.MAGIC + wasm.VERSION + b"".join(sections.values()) == binary
    starts, pos = {}, 8
    for label, data in sections.items():
        starts[label] = pos
        pos += len(data)
    return starts


def changed(binary: bytes, offset: int) -> bytes:
    out = bytearray(binary)
    out[offset] ^= 0x01
    return bytes(out)


def func_index(m: wasm.Module, name: str) -> int:
    return next(i for i in range(m.num_funcs) if m.func_name(i) == name)


def body_offsets(binary: bytes, m: wasm.Module) -> dict[int, tuple[int, int]]:
    """Function index -> (offset of its code entry, offset of its body after the size)."""
    start = section_starts(binary, m)["code"]
    code = reference_sections(m)["code"]
    payload_len = len(code) - 1 - len(wasm.uleb128(len(code) - 1))
    # The size field is the shortest LEB of the payload's length.
    pos = start + 1 + len(wasm.uleb128(payload_len)) + len(wasm.uleb128(len(m.funcs)))
    out = {}
    for idx in range(len(m.imports), m.num_funcs):
        entry = m._encode_func_body(idx)
        body_len = len(entry) - len(wasm.uleb128(len(entry)))
        size_len = len(wasm.uleb128(body_len))
        out[idx] = (pos, pos + size_len)
        pos += len(entry)
    return out


# --- tests ----------------------------------------------------------------------------------

def test_equal_modules_have_no_difference(compiled: tuple[bytes, wasm.Module]) -> None:
    binary, _ = compiled
    assert first_difference(binary, bytes(binary)) is None


def test_header(compiled: tuple[bytes, wasm.Module]) -> None:
    binary, _ = compiled
    diff = first_difference(binary, changed(binary, 5))
    assert diff == Difference(5, "header")
    assert diff.describe() == "offset 5: header"


@pytest.mark.parametrize("label", ["type", "import", "function", "memory", "global", "export",
                                   "code", "data", 'custom "name"'])
def test_a_changed_byte_is_placed_in_its_section(compiled: tuple[bytes, wasm.Module],
                                                 label: str) -> None:
    binary, m = compiled
    start = section_starts(binary, m)[label]
    length = len(reference_sections(m)[label])
    # The id byte, then the last byte of the section.
    diff = first_difference(binary, changed(binary, start))
    assert diff is not None and diff.section == label and diff.detail == "section header"
    last = start + length - 1
    diff = first_difference(binary, changed(binary, last))
    assert diff is not None and diff.offset == last and diff.section == label
    assert diff.describe().startswith(f"offset {last}: {label} section")


def test_code_section_names_the_function_and_body_byte(
        compiled: tuple[bytes, wasm.Module]) -> None:
    binary, m = compiled
    fib = func_index(m, "main.fib")
    entry, body = body_offsets(binary, m)[fib]
    diff = first_difference(binary, changed(binary, body + 23))
    assert diff == Difference(body + 23, "code", fib, "main.fib", body_offset=23)
    assert diff.describe() == (f"offset {body + 23}: code section, function {fib} main.fib "
                               "(byte 23 of its body)")
    diff = first_difference(binary, changed(binary, entry))
    assert diff is not None and diff.function == fib and diff.detail == "its size"
    assert diff.describe() == f"offset {entry}: code section, function {fib} main.fib (its size)"


def test_every_body_byte_maps_to_its_function(compiled: tuple[bytes, wasm.Module]) -> None:
    binary, m = compiled
    for idx, (entry, body) in body_offsets(binary, m).items():
        body_len = len(m._encode_func_body(idx)) - (body - entry)
        for k in (0, body_len // 2, body_len - 1):
            diff = first_difference(binary, changed(binary, body + k))
            assert diff is not None
            assert (diff.function, diff.function_name, diff.body_offset) == (
                idx, m.func_name(idx), k)


def test_function_section_entry_names_the_function(compiled: tuple[bytes, wasm.Module]) -> None:
    binary, m = compiled
    start = section_starts(binary, m)["function"]
    defined = len(m.funcs)
    # id, size (one byte: the section is small), count, then one LEB byte per type index.
    assert len(reference_sections(m)["function"]) == 3 + defined
    last_entry = start + 3 + defined - 1
    diff = first_difference(binary, changed(binary, last_entry))
    idx = m.num_funcs - 1
    assert diff == Difference(last_entry, "function", idx, m.func_name(idx),
                              detail="its type index")


def test_name_section_entry_names_the_function(compiled: tuple[bytes, wasm.Module]) -> None:
    binary, m = compiled
    fib = func_index(m, "main.fib")
    entry = wasm.uleb128(fib) + wasm.name_bytes("main.fib")
    start = section_starts(binary, m)['custom "name"']
    pos = binary.index(entry, start)
    diff = first_difference(binary, changed(binary, pos + len(entry) - 1))
    assert diff is not None and diff.section == 'custom "name"'
    assert (diff.function, diff.function_name) == (fib, "main.fib")


def test_names_come_from_the_first_module(compiled: tuple[bytes, wasm.Module]) -> None:
    binary, m = compiled
    fib = func_index(m, "main.fib")
    _, body = body_offsets(binary, m)[fib]
    other = bytearray(changed(binary, body + 2))
    # Rename main.fib to main.fix in the second module: the description keeps a's name.
    pos = other.index(b"main.fib")
    other[pos + 7] = ord("x")
    diff = first_difference(binary, bytes(other))
    assert diff is not None and diff.function_name == "main.fib" and diff.offset == body + 2


def test_every_truncation(compiled: tuple[bytes, wasm.Module]) -> None:
    binary, _ = compiled
    for n in range(len(binary)):
        short = binary[:n]
        diff = first_difference(binary, short)
        assert diff is not None and diff.offset == n and diff.ended == "b"
        assert diff.describe().startswith(f"offset {n}")
        assert diff.describe().endswith("(b ends here, a goes on)")
        back = first_difference(short, binary)
        assert back is not None and back.offset == n and back.ended == "a"
        # A truncated first module still describes what it can, and never raises.
        flipped = first_difference(short, changed(binary, n))
        assert flipped is not None and flipped.offset == n


def test_truncated_first_module_locates_in_the_second(
        compiled: tuple[bytes, wasm.Module]) -> None:
    binary, m = compiled
    fib = func_index(m, "main.fib")
    _, body = body_offsets(binary, m)[fib]
    diff = first_difference(binary[:body + 4], binary)
    assert diff is not None
    assert diff.describe() == (f"offset {body + 4}: code section, function {fib} main.fib "
                               "(byte 4 of its body) (a ends here, b goes on)")


def test_broken_section_sizes_fall_back(compiled: tuple[bytes, wasm.Module]) -> None:
    binary, m = compiled
    starts = section_starts(binary, m)
    for label, start in starts.items():
        # A size LEB that never ends, and one that claims far more than there is.
        broken = binary[:start + 1] + b"\xff" * 12
        diff = first_difference(broken, binary)
        assert diff is not None and diff.offset == start + 1
        huge = binary[:start + 1] + b"\xff\xff\xff\x0f" + binary[start + 2:]
        diff = first_difference(huge, binary)
        assert diff is not None and diff.offset == start + 1, label
        diff.describe()


HEADER = wasm.MAGIC + wasm.VERSION


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80), st.binary(max_size=80), st.booleans())
def test_never_raises_on_garbage(a: bytes, b: bytes, with_header: bool) -> None:
    if with_header:
        a, b = HEADER + a, HEADER + b
    diff = first_difference(a, b)
    if a == b:
        assert diff is None
        return
    assert diff is not None
    expected = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    assert diff.offset == expected
    assert diff.describe().startswith(f"offset {expected}")


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_never_raises_on_corrupted_modules(compiled: tuple[bytes, wasm.Module],
                                           data: st.DataObject) -> None:
    binary, _ = compiled
    corrupt = bytearray(binary)
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(8, len(binary) - 1))
        corrupt[pos] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(8, len(binary)))
    a = bytes(corrupt[:cut])
    diff = first_difference(a, binary)
    if diff is not None:
        assert diff.describe().startswith(f"offset {diff.offset}")
    diff = first_difference(binary, a)
    if diff is not None:
        assert diff.describe().startswith(f"offset {diff.offset}")

"""The Benchmarks Game kernels (`bench/game/`) print the game's expected output, byte for byte.

For each kernel at its small standard input: the `.syn` program (as compiled, and with `-O`
when Binaryen is installed), its C peer (clang, wasm32, in the same sandbox) and its CPython peer
must all print exactly the bytes of `bench/game/expected/NAME-SIZE.out`. Those files are checked
here against independent sources: the outputs the Benchmarks Game publishes (n-body,
spectral-norm, fannkuch-redux, binary-trees, lines of fasta), and computations written afresh in
this file (mandelbrot with numpy, the repeated part of fasta, binary-tree node counts, fib, the
prime count). The C checks skip, saying how to install clang, when clang or wasm-ld is missing;
the `.syn` checks always run.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `bench` is run from the repository root, not installed

from bench.game import programs  # noqa: E402
from bench.game.programs import KERNELS, Kernel  # noqa: E402

try:
    from synapse.compiler.optimize import optimizer_available

    HAVE_OPTIMIZER = optimizer_available()
except ImportError:
    HAVE_OPTIMIZER = False

NAMES = [kernel.name for kernel in KERNELS]
needs_clang = pytest.mark.skipif(
    not programs.clang_available(),
    reason=f"clang/wasm-ld not installed; install with: {programs.CLANG_INSTALL_HINT}")
needs_optimizer = pytest.mark.skipif(not HAVE_OPTIMIZER, reason="Binaryen (icpp-binaryen) not installed")

# Published by the Computer Language Benchmarks Game for the small standard inputs.
PUBLISHED = {
    "nbody": b"-0.169075164\n-0.169087605\n",
    "spectral_norm": b"1.274219991\n",
    "fannkuch_redux": b"228\nPfannkuchen(7) = 16\n",
    "binary_trees": (b"stretch tree of depth 11\t check: 4095\n"
                     b"1024\t trees of depth 4\t check: 31744\n"
                     b"256\t trees of depth 6\t check: 32512\n"
                     b"64\t trees of depth 8\t check: 32704\n"
                     b"16\t trees of depth 10\t check: 32752\n"
                     b"long lived tree of depth 10\t check: 2047\n"),
}

# Lines of the game's published fasta output for n = 1000, by line number (1-based).
FASTA_PUBLISHED_LINES = {
    1: b">ONE Homo sapiens alu",
    35: b"GGCGACAGAGCGAGACTCCG",
    36: b">TWO IUB ambiguity codes",
    37: b"cttBtatcatatgctaKggNcataaaSatgtaaaDcDRtBggDtctttataattcBgtcg",
    38: b"tactDtDagcctatttSVHtHttKtgtHMaSattgWaHKHttttagacatWatgtRgaaa",
    86: b"tHNaaatctBBtcttaYaBWHgtVtgacagcaRcataWctcaBcYacYgatDgtDHccta",
    87: b">THREE Homo sapiens frequency",
    88: b"aacacttcaccaggtatcgtgaaggctcaagattacccagagaacctttgcaatataaga",
    171: b"ggaagtgaaaagataaatat",
}


def expected(kernel: Kernel) -> bytes:
    return programs.expected_path(kernel).read_bytes()


@pytest.fixture(scope="module")
def runner():
    return programs.make_runner(cache_dir=False)


def assert_same_bytes(actual: bytes, wanted: bytes, what: str) -> None:
    if actual != wanted:
        at = next((i for i, (a, b) in enumerate(zip(actual, wanted)) if a != b),
                  min(len(actual), len(wanted)))
        pytest.fail(f"{what}: {len(actual)} bytes vs {len(wanted)} expected; first difference "
                    f"at byte {at}: {actual[at:at + 40]!r} vs {wanted[at:at + 40]!r}")


def run_ok(runner, wasm: bytes, kernel: Kernel) -> bytes:
    result = runner(wasm, programs.size_input(kernel.small))
    assert result.status == "ok", programs.summarize_run(result)
    return bytes(result.output)


# --- the three versions against the expected files ------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_syn_output_is_expected(name: str, runner) -> None:
    kernel = programs.KERNELS_BY_NAME[name]
    output = run_ok(runner, programs.build_syn(kernel), kernel)
    assert_same_bytes(output, expected(kernel), f"{name}.syn")


@needs_optimizer
@pytest.mark.parametrize("name", NAMES)
def test_optimized_syn_output_is_expected(name: str, runner) -> None:
    kernel = programs.KERNELS_BY_NAME[name]
    output = run_ok(runner, programs.build_syn(kernel, optimize=True), kernel)
    assert_same_bytes(output, expected(kernel), f"{name}.syn -O")


@needs_clang
@pytest.mark.parametrize("name", NAMES)
def test_c_output_is_expected(name: str, runner) -> None:
    kernel = programs.KERNELS_BY_NAME[name]
    wasm = programs.build_c(kernel, programs.memory_size(programs.build_syn(kernel)))
    assert_same_bytes(run_ok(runner, wasm, kernel), expected(kernel), f"{name}.c")


@pytest.mark.parametrize("name", NAMES)
def test_cpython_output_is_expected(name: str) -> None:
    kernel = programs.KERNELS_BY_NAME[name]
    output = programs.run_python(programs.load_python(kernel), kernel.small)
    assert_same_bytes(output, expected(kernel), f"{name}.py")


def test_every_kernel_has_all_versions() -> None:
    for kernel in KERNELS:
        for path in (programs.syn_path(kernel), programs.c_path(kernel),
                     programs.GAME_DIR / f"{kernel.name}.py", programs.expected_path(kernel)):
            assert path.is_file(), path


# --- the expected files against independent sources ----------------------------------------

@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_expected_file_is_the_published_output(name: str) -> None:
    assert expected(programs.KERNELS_BY_NAME[name]) == PUBLISHED[name]


def test_binary_trees_counts_follow_from_tree_sizes() -> None:
    def nodes(depth: int) -> int:  # a perfect binary tree of this depth
        return 2 ** (depth + 1) - 1

    lines = [f"stretch tree of depth 11\t check: {nodes(11)}"]
    for depth in range(4, 11, 2):
        iterations = 2 ** (10 - depth + 4)
        lines.append(f"{iterations}\t trees of depth {depth}\t check: {iterations * nodes(depth)}")
    lines.append(f"long lived tree of depth 10\t check: {nodes(10)}")
    assert expected(programs.KERNELS_BY_NAME["binary_trees"]) == ("\n".join(lines) + "\n").encode()


def test_fasta_expected_matches_published_lines_and_the_alu_repeat() -> None:
    lines = expected(programs.KERNELS_BY_NAME["fasta"]).split(b"\n")
    assert lines[-1] == b"" and len(lines) == 172
    for number, line in FASTA_PUBLISHED_LINES.items():
        assert lines[number - 1] == line, number
    # Section ONE is 2000 bases of ALU repeated, 60 to a line.
    alu = (b"GGCCGGGCGCGGTGGCTCACGCCTGTAATCCCAGCACTTTGGGAGGCCGAGGCGGGCGGATCACCTGAGGTCAGGAGTTCGAGAC"
           b"CAGCCTGGCCAACATGGTGAAACCCCGTCTCTACTAAAAATACAAAAATTAGCCGGGCGTGGTGGCGCGCGCCTGTAATCCCAG"
           b"CTACTCGGGAGGCTGAGGCAGGAGAATCGCTTGAACCCGGGAGGCGGAGGTTGCAGTGAGCCGAGATCGCGCCACTGCACTCCA"
           b"GCCTGGGCGACAGAGCGAGACTCCGTCTCAAAAA")
    assert len(alu) == 287
    bases = (alu * 7)[:2000]
    assert lines[1:35] == [bases[i:i + 60] for i in range(0, 2000, 60)]
    # Sections TWO and THREE: 3000 and 5000 bases from their alphabets, 60 to a line.
    two, three = lines[36:86], lines[87:171]
    assert sum(map(len, two)) == 3000 and set(b"".join(two)) <= set(b"acgtBDHKMNRSVWY")
    assert sum(map(len, three)) == 5000 and set(b"".join(three)) <= set(b"acgt")


def test_mandelbrot_expected_matches_an_independent_computation() -> None:
    n = 200
    coords = np.arange(n, dtype=np.float64)
    cr = np.broadcast_to(2.0 * coords / n - 1.5, (n, n))
    ci = np.broadcast_to((2.0 * coords / n - 1.0)[:, None], (n, n))
    zr, zi, tr, ti = (np.zeros((n, n)) for _ in range(4))
    for _ in range(50):  # a point that escaped keeps its values (the C loop stops there)
        live = tr + ti <= 4.0
        new_zi = 2.0 * zr * zi + ci
        new_zr = tr - ti + cr
        zi = np.where(live, new_zi, zi)
        zr = np.where(live, new_zr, zr)
        tr = np.where(live, zr * zr, tr)
        ti = np.where(live, zi * zi, ti)
    inside = tr + ti <= 4.0
    image = b"P4\n200 200\n" + np.packbits(inside, axis=1).tobytes()
    assert expected(programs.KERNELS_BY_NAME["mandelbrot"]) == image
    # Points known to be in the set (the origin, -1) and far outside it (0.5 + i).
    assert inside[100, 75] and inside[100, 25] and not inside[199, 199]


def test_fib_and_sieve_expected() -> None:
    a, b = 0, 1
    for _ in range(20):
        a, b = b, a + b
    assert expected(programs.KERNELS_BY_NAME["fib"]) == f"{a}\n".encode()
    primes = [p for p in range(2, 1001) if all(p % d for d in range(2, math.isqrt(p) + 1))]
    assert len(primes) == 168  # pi(1000), a published value
    assert expected(programs.KERNELS_BY_NAME["sieve"]) == b"168\n"


# --- the benchmark command -------------------------------------------------------------------

def test_missing_clang_is_reported_with_the_install_command(monkeypatch) -> None:
    monkeypatch.setattr(programs.shutil, "which", lambda name: None)
    with pytest.raises(programs.ClangMissing, match="apt-get install -y clang lld"):
        programs.find_clang()


# (value, decimals): exact ties (1/1024 at 9 decimals, 2.5 and 3.5 at 0) go to even as in
# printf; a tiny negative keeps its sign; 99.96 carries into the integer part.
FORMAT_CASES = ((0.0, 9), (-1e-10, 9), (2.5, 0), (3.5, 0), (1 / 1024, 9), (-1.23456789016, 9),
                (1234.5, 9), (99.96, 1), (-0.169075164, 9), (1e-9, 9), (123456.0, 3))


def format_program(call: str, separator: str) -> str:
    """A program printing every FORMAT_CASES value with `call` (`%s` for value, decimals)."""
    lines = [call % (repr(value), decimals) + separator for value, decimals in FORMAT_CASES]
    return "\n".join(lines)


def test_fixed_formatter_rounds_like_printf(runner) -> None:
    from synapse.compiler import driver

    body = format_program("    out.put_fixed(%s, %d);", "\n    out.put_byte(' ');")
    source = f"import common;\nfn main() {{\n    let out = common.out_new();\n{body}\n    out.flush();\n}}\n"
    result = driver.compile_source(source, filename=str(programs.GAME_DIR / "format_check.syn"))
    assert result.wasm is not None, result.diagnostics
    wanted = "".join("%.*f " % (decimals, value) for value, decimals in FORMAT_CASES).encode()
    assert runner(bytes(result.wasm), b"").output == wanted


@needs_clang
def test_c_fixed_formatter_matches(runner, tmp_path) -> None:
    body = format_program("    put_fixed(%s, %d);", "\n    put_byte(' ');")
    source = tmp_path / "format_check.c"
    source.write_text(f'#include "{programs.GAME_DIR / "common.c"}"\n'
                      f'EXPORT("main") void run(void) {{\n{body}\n    flush();\n}}\n')
    output = tmp_path / "format_check.wasm"
    command = programs.clang_command(programs.find_clang(), source, output, 1 << 20)
    subprocess.run(command, check=True, capture_output=True)
    wanted = "".join("%.*f " % (decimals, value) for value, decimals in FORMAT_CASES).encode()
    assert runner(output.read_bytes(), b"").output == wanted


def test_kernels_suite_reports_the_required_figures() -> None:
    env = {**os.environ, "SYN_CACHE_DIR": "off"}  # independent of compiled modules on disk
    process = subprocess.run([sys.executable, "-m", "bench", "--json", "--quick", "kernels"],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert process.returncode == 0, process.stderr
    figures = json.loads(process.stdout)
    for key in ("kernels_ratio_vs_clang_geomean", "kernels_ratio_vs_clang_max",
                "kernels_speedup_vs_cpython_geomean"):
        assert key in figures
    for kernel in KERNELS:
        for name in ("syn_ms", "syn_opt_ms", "clang_ms", "cpython_ms", "ratio_vs_clang",
                     "speedup_vs_cpython", "syn_bytes", "clang_bytes"):
            key = f"game_{kernel.name}_{name}"
            assert key in figures, key
            value = figures[key]
            assert value is None or (isinstance(value, (int, float)) and value > 0), (key, value)
        assert isinstance(figures[f"game_{kernel.name}_syn_ms"], float)
    if programs.clang_available():
        assert isinstance(figures["kernels_ratio_vs_clang_unopt_geomean"], float)
    else:
        assert "apt-get install" in process.stderr
    assert figures["kernels_game_matched"] == len(KERNELS)

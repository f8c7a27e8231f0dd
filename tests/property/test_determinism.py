"""The compiler's output depends only on the source: not on hash seeds, working directory or run.

Generated programs (and the golden corpus) are compiled twice in this process, then in a child
process started with another PYTHONHASHSEED from another working directory, once from source text
and once from a file named by a relative path; every compile must give the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

try:
    from synapse.compiler.driver import compile_source
except ImportError:
    pytest.skip("compiler driver not available", allow_module_level=True)

from hypothesis import HealthCheck, given, settings

from gen_programs import (
    GeneratedProgram, corpus_sources, example_count, generate_from_seed, seeded_programs,
)

SEEDED_PROGRAMS = 25
CORPUS_PROGRAMS = 25

# Compiles each source twice in the child: as text named "main.syn", and as the file
# "main.syn" relative to the child's working directory. Prints one digest pair per source.
CHILD = r"""
import hashlib, json, sys
from pathlib import Path
from synapse.compiler.driver import compile_file, compile_source

def digest(result):
    return None if result.wasm is None else hashlib.sha256(result.wasm).hexdigest()

digests = []
for text in json.load(sys.stdin):
    Path("main.syn").write_text(text, encoding="utf-8")
    digests.append([digest(compile_source(text, filename="main.syn")), digest(compile_file("main.syn"))])
json.dump(digests, sys.stdout)
"""


def digest(source: str) -> str | None:
    result = compile_source(source, filename="main.syn")
    return None if result.wasm is None else hashlib.sha256(result.wasm).hexdigest()


def sources_under_test() -> list[str]:
    generated = [generate_from_seed(seed).source for seed in range(SEEDED_PROGRAMS)]
    # Corpus programs that import siblings cannot compile from another directory; keep the rest.
    corpus = [text for text in corpus_sources() if "import " not in text][:CORPUS_PROGRAMS]
    return generated + corpus


def child_digests(sources: list[str], hash_seed: str, workdir: Path) -> list[list[str | None]]:
    env = dict(os.environ, PYTHONHASHSEED=hash_seed)
    completed = subprocess.run(
        [sys.executable, "-c", CHILD], input=json.dumps(sources), capture_output=True, text=True,
        cwd=workdir, env=env, timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


@settings(max_examples=example_count(50), deadline=None, suppress_health_check=list(HealthCheck))
@given(seeded_programs())
def test_compiling_twice_in_process_is_identical(generated: GeneratedProgram) -> None:
    first = compile_source(generated.source)
    second = compile_source(generated.source)
    assert first.wasm == second.wasm
    assert first.wasm is not None


def other_hash_seed() -> str:
    """A PYTHONHASHSEED different from this process's (which is random unless set)."""
    mine = os.environ.get("PYTHONHASHSEED", "random")
    return "4242" if mine != "4242" else "7"


def test_other_process_hash_seed_and_directory_give_identical_bytes(tmp_path: Path) -> None:
    sources = sources_under_test()
    here = [digest(source) for source in sources]
    assert here == [digest(source) for source in sources], "two in-process compiles differ"
    workdir = tmp_path / "elsewhere" / "deeper"
    workdir.mkdir(parents=True)
    there = child_digests(sources, other_hash_seed(), workdir)
    for source, mine, (from_text, from_file) in zip(sources, here, there):
        assert mine == from_text == from_file, f"bytes differ between processes for:\n{source}"
    assert sum(d is not None for d in here) >= SEEDED_PROGRAMS, "generated programs must compile"

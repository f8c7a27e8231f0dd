"""Generated programs: the self-hosted compiler agrees with the reference compiler.

Two kinds of program, both drawn by seed (a failure shows the whole program and its seed):
well-typed random programs from the property tests' generator (tests/property/gen_programs.py;
`generate_from_seed(seed)` reproduces one), which must compile to identical bytes; and golden
programs with a few tokens deleted, duplicated or replaced (`mutate_tokens`), most of them
rejected, which must give identical bytes or the same (code, line, col) list. Set
HYPOTHESIS_PROFILE=long for twenty times the examples; `python -m bench.bootstrap_fuzz` runs
long campaigns.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from synapse.runtime import selfhost

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "property"))
from gen_programs import (  # noqa: E402
    GeneratedProgram, corpus_sources, example_count, mutate_tokens, seeded_programs,
)

GENERATED = 300
MUTATED = 100
# A seed is not worth shrinking: the report shows the program, and the seed reproduces it.
SETTINGS = dict(deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
GOLDEN = corpus_sources()


@settings(max_examples=example_count(GENERATED), **SETTINGS)  # type: ignore[arg-type]
@given(generated=seeded_programs())
def test_generated_programs_compile_identically(generated: GeneratedProgram,
                                                stage1: bytes) -> None:
    made = selfhost.compare_source(generated.source, stage1)
    assert made.identical, made.detail


@settings(max_examples=example_count(MUTATED), **SETTINGS)  # type: ignore[arg-type]
@given(seed=st.integers(0, 2**32 - 1))
def test_mutated_programs_get_the_same_outcome(seed: int, stage1: bytes) -> None:
    rng = random.Random(seed)
    source = mutate_tokens(rng.choice(GOLDEN), rng)
    made = selfhost.compare_source(source, stage1)
    assert made.identical, f"{made.detail}\n--- program (seed {seed}):\n{source}"

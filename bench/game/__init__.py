"""Computer Language Benchmarks Game kernels in three languages, side by side.

Each kernel NAME has `NAME.syn` (the Synapse program), `NAME.c` (its C peer, compiled by clang
to wasm32 and run in the same sandbox) and `NAME.py` (its CPython peer), plus the expected output
for the small standard input in `expected/`. `programs.py` lists the kernels and builds and runs
each version; `bench/suites/kernels.py` times them.
"""

"""Synapse: the `.syn` language toolchain (compiler, sandboxed runtime, verifier)."""

__version__ = "0.1.0"

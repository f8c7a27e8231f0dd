"""Registers the gateway tests' fixtures (defined in gateway_support.py, which tests import)."""

from gateway_support import gateway  # noqa: F401

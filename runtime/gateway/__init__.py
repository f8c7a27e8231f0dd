"""The gateway: `syn serve`, an HTTP service that compiles and runs `.syn` for many tenants.

Sits after the compiler and the sandbox: tenants submit sources (compiled once, cached by content
hash), run them with an input and limits on a pool of worker threads, and fetch and verify the
receipt of every run. The parts, one job each:

- `app`      the HTTP routes (Starlette), request parsing, JSON errors;
- `service`  the operations (submit, run, verify) over the parts below;
- `store`    SQLite (WAL): tenants, modules, runs, receipts; one group-committing writer;
- `auth`     API keys (stored hashed) to tenants;
- `quotas`   per-tenant limits and the gates that enforce fuel rate and concurrency;
- `workers`  the compile thread and the run lanes;
- `errors`   the stable error codes; `openapi` the OpenAPI description.

The HTTP interface is specified in spec/13-gateway.md.
"""

from __future__ import annotations

from typing import Any

DEFAULT_PORT = 8470

__all__ = ["DEFAULT_PORT", "GatewayConfig", "create_app"]


def __getattr__(name: str) -> Any:
    # Imported on first use, so `syn` builds its argument parser without loading the web stack.
    if name == "create_app":
        from synapse.runtime.gateway.app import create_app
        return create_app
    if name == "GatewayConfig":
        from synapse.runtime.gateway.service import GatewayConfig
        return GatewayConfig
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

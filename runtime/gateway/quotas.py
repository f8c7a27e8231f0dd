"""Per-tenant quotas and the in-memory gates that enforce them.

A tenant's `Quotas` live in the store beside its key (defaults fill unset columns). The gateway
keeps one `TenantGate` per tenant in memory, touched only from the event-loop thread, so it
needs no lock. Limits per run (fuel, output, arena, request size) are checked where the request
is read; the gate enforces the two rates:

- concurrent runs: a run is admitted only while fewer than `concurrent_runs` are in flight;
- fuel per second: a token bucket holding at most one second of fuel. A run is admitted while
  the bucket is not in debt and is charged the fuel it really used when it ends, so the bucket
  can go negative by at most `concurrent_runs * max_fuel_per_run`; a tenant in debt is refused
  (`quota_fuel`, with the seconds until the debt is repaid) and over any long stretch uses no
  more than `fuel_per_second` on average.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, fields

from synapse.runtime.gateway.errors import ApiError


@dataclass(frozen=True)
class Quotas:
    fuel_per_second: int = 4_000_000_000
    max_fuel_per_run: int = 1_000_000_000      # about a second of Wasm on one core
    concurrent_runs: int = 4
    max_request_bytes: int = 1 << 20
    max_output_bytes: int = 1 << 20
    max_arena_bytes: int = 64 << 20

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def to_json(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.names()}

    def __post_init__(self) -> None:
        for name in self.names():
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"quota {name} must be a positive integer, got {value!r}")


class TenantGate:
    """Admission for one tenant's runs: concurrency and the fuel-rate bucket."""

    def __init__(self, quotas: Quotas, clock: Callable[[], float] = time.monotonic) -> None:
        self.quotas = quotas
        self.clock = clock
        self.active = 0
        self.tokens = float(quotas.fuel_per_second)
        self.stamp = clock()

    def _refill(self) -> None:
        now = self.clock()
        rate = self.quotas.fuel_per_second
        self.tokens = min(float(rate), self.tokens + (now - self.stamp) * rate)
        self.stamp = now

    def admit(self) -> None:
        """Take a run slot or raise `ApiError` (429) saying which quota refused it."""
        if self.active >= self.quotas.concurrent_runs:
            raise ApiError("quota_concurrency",
                           f"{self.active} runs in flight; the limit is {self.quotas.concurrent_runs}",
                           headers={"Retry-After": "1"}, limit="concurrent_runs")
        self._refill()
        if self.tokens < 0:
            wait = -self.tokens / self.quotas.fuel_per_second
            raise ApiError("quota_fuel",
                           f"fuel rate exceeded ({self.quotas.fuel_per_second} per second); "
                           f"retry in {wait:.2f} s",
                           headers={"Retry-After": str(max(1, math.ceil(wait)))},
                           retry_after_s=round(wait, 3))
        self.active += 1

    def release(self, fuel_used: int) -> None:
        """End a run admitted by `admit`, charging the fuel it used."""
        self.active -= 1
        self._refill()
        self.tokens -= fuel_used


class Gates:
    """The gate of every tenant seen so far, following changes to its quotas."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._gates: dict[int, TenantGate] = {}

    def get(self, tenant_id: int, quotas: Quotas) -> TenantGate:
        gate = self._gates.get(tenant_id)
        if gate is None:
            gate = self._gates[tenant_id] = TenantGate(quotas, self.clock)
        elif gate.quotas != quotas:
            # Changed in place, so runs in flight release into the same gate and debt is kept.
            gate._refill()
            gate.quotas = quotas
            gate.tokens = min(gate.tokens, float(quotas.fuel_per_second))
        return gate

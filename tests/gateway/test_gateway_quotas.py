"""Per-tenant quotas: the gate's arithmetic on a fake clock, and concurrency over HTTP.

The fuel bucket holds one second of fuel; a run is admitted while the bucket is not in debt and
is charged what it used when it ends. Expected values below follow from that rule by hand.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from gateway_support import SEVEN, SPIN, make_db

from synapse.runtime.gateway import GatewayConfig, create_app
from synapse.runtime.gateway.auth import hash_key, new_api_key
from synapse.runtime.gateway.errors import ApiError
from synapse.runtime.gateway.quotas import Gates, Quotas, TenantGate
from synapse.runtime.gateway.store import add_tenant, connect

httpx = pytest.importorskip("httpx2")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_concurrency_is_limited_and_released() -> None:
    gate = TenantGate(Quotas(concurrent_runs=2), Clock())
    gate.admit()
    gate.admit()
    with pytest.raises(ApiError) as refused:
        gate.admit()
    assert refused.value.code == "quota_concurrency" and refused.value.status == 429
    gate.release(0)
    gate.admit()  # a slot came free
    assert gate.active == 2


def test_fuel_debt_is_repaid_at_the_quota_rate() -> None:
    clock = Clock()
    gate = TenantGate(Quotas(fuel_per_second=1000, max_fuel_per_run=5000, concurrent_runs=10),
                      clock)
    gate.admit()
    gate.release(3500)            # 1000 in the bucket - 3500 used = 2500 in debt
    with pytest.raises(ApiError) as refused:
        gate.admit()
    assert refused.value.code == "quota_fuel"
    assert refused.value.details["retry_after_s"] == 2.5
    assert refused.value.headers["Retry-After"] == "3"
    clock.now += 2.25             # 2250 repaid: still 250 in debt
    with pytest.raises(ApiError):
        gate.admit()
    clock.now += 0.25             # exactly repaid (binary-exact times): admitted again
    gate.admit()
    gate.release(0)
    clock.now += 60               # refilling stops at one second's worth
    gate._refill()
    assert gate.tokens == 1000


def test_changed_quotas_apply_to_the_same_gate() -> None:
    clock = Clock()
    gates = Gates(clock)
    gate = gates.get(1, Quotas(concurrent_runs=1))
    gate.admit()
    widened = gates.get(1, Quotas(concurrent_runs=3))
    assert widened is gate and gate.active == 1
    gate.admit()
    assert gates.get(2, Quotas()) is not gate


def test_quotas_must_be_positive_integers() -> None:
    with pytest.raises(ValueError):
        Quotas(concurrent_runs=0)
    with pytest.raises(ValueError):
        Quotas(max_output_bytes=True)


def test_runs_beyond_the_concurrency_quota_are_refused_while_others_run(tmp_path: Path) -> None:
    db = make_db(tmp_path)
    keys = {}
    conn = connect(db)
    for name, quotas in (("single", {"concurrent_runs": 1}), ("other", {})):
        keys[name] = new_api_key()
        add_tenant(conn, name, hash_key(keys[name]), quotas)
    conn.close()
    app = create_app(GatewayConfig(db_path=db, workers=4, sync="normal", cache_dir=False))
    gateway = app.state.gateway

    async def scenario() -> tuple[list[int], int, list[str]]:
        gateway.start()
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1",
                                         timeout=60) as client:
                def auth(name: str) -> dict[str, str]:
                    return {"Authorization": f"Bearer {keys[name]}"}
                spin = (await client.post("/v1/modules", json={"source": SPIN},
                                          headers=auth("single"))).json()["id"]
                seven = (await client.post("/v1/modules", json={"source": SEVEN},
                                           headers=auth("other"))).json()["id"]
                long_run = client.post("/v1/runs", json={"module": spin, "fuel": 300_000_000},
                                       headers=auth("single"))
                first = asyncio.ensure_future(long_run)
                for _ in range(2000):  # until the long run is admitted and running
                    me = (await client.get("/v1/tenant", headers=auth("single"))).json()
                    if me["runs_in_flight"] == 1:
                        break
                    await asyncio.sleep(0.005)
                second = await client.post("/v1/runs", json={"module": spin, "fuel": 1000},
                                           headers=auth("single"))
                # Another tenant's runs are not refused meanwhile.
                others = [await client.post("/v1/runs", json={"module": seven},
                                            headers=auth("other")) for _ in range(3)]
                done = await first
                statuses = [done.status_code, second.status_code]
                codes = [second.json()["error"]["code"], done.json()["exhausted"]]
                return statuses, sum(r.status_code == 200 for r in others), codes
        finally:
            gateway.stop()

    statuses, others_ok, codes = asyncio.run(asyncio.wait_for(scenario(), 120))
    assert statuses == [200, 429]
    assert codes == ["quota_concurrency", "fuel"]
    assert others_ok == 3

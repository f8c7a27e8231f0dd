"""Runs of different tenants in parallel never see each other: output, traps and limits stay
with the run that produced them, however many runs share the worker threads at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from gateway_support import ECHO, FLOOD, PANIC, make_db

from synapse.runtime.gateway import GatewayConfig, create_app
from synapse.runtime.gateway.auth import hash_key, new_api_key
from synapse.runtime.gateway.store import add_tenant, connect

httpx = pytest.importorskip("httpx2")

ROUNDS = 150


def test_parallel_runs_of_two_tenants_keep_their_own_results(tmp_path: Path) -> None:
    db = make_db(tmp_path)
    keys = {name: new_api_key() for name in ("benign", "hostile")}
    conn = connect(db)
    for name, key in keys.items():
        add_tenant(conn, name, hash_key(key), {"concurrent_runs": 64})
    conn.close()
    app = create_app(GatewayConfig(db_path=db, workers=8, sync="normal", cache_dir=False))
    gateway = app.state.gateway

    async def scenario() -> list[str]:
        gateway.start()
        problems: list[str] = []
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1",
                                         timeout=60) as client:
                def auth(name: str) -> dict[str, str]:
                    return {"Authorization": f"Bearer {keys[name]}"}

                async def submit(name: str, source: str) -> str:
                    reply = await client.post("/v1/modules", json={"source": source},
                                              headers=auth(name))
                    return str(reply.json()["id"])
                echo = await submit("benign", ECHO)
                panic, flood = await submit("hostile", PANIC), await submit("hostile", FLOOD)

                async def benign(number: int) -> None:
                    reply = await client.post("/v1/runs", headers=auth("benign"), json={
                        "module": echo, "input": f"mine {number}", "fuel": 1_000_000})
                    run = reply.json()
                    if reply.status_code != 200 or run["output"] != f"mine {number}\n":
                        problems.append(f"benign {number}: {reply.status_code} {run}")

                async def hostile(number: int) -> None:
                    module = panic if number % 2 else flood
                    reply = await client.post("/v1/runs", headers=auth("hostile"), json={
                        "module": module, "fuel": 5_000_000, "output_limit": 64})
                    run = reply.json()
                    want = ("trap", None) if number % 2 else ("exhausted", "output")
                    if reply.status_code != 200 or (run["status"], run["exhausted"]) != want:
                        problems.append(f"hostile {number}: {reply.status_code} {run}")

                for start in range(0, ROUNDS, 30):
                    await asyncio.gather(*(f(n) for n in range(start, start + 30)
                                           for f in (benign, hostile)))
        finally:
            gateway.stop()
        return problems

    problems = asyncio.run(asyncio.wait_for(scenario(), 120))
    assert problems == [], f"{len(problems)} runs got a wrong result: {problems[:3]}"

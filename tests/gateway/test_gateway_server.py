"""`syn serve` as a process: tenants from the CLI, crash safety under load, a short load slice.

The crash test starts the server, loads it with concurrent clients, kills it with SIGKILL in the
middle of the load, and then checks the database as left on disk: `PRAGMA integrity_check` is
ok, and every receipt a client was answered with is there, byte for byte, re-verifies by
re-running its module on its input, and sits in an unbroken chain. The restarted server serves
the same receipts and continues the chain. All traffic stays on 127.0.0.1; every subprocess and
request has a timeout.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from gateway_support import ROOT, load_loadtest

from synapse.runtime import receipts
from synapse.runtime.sandbox import Sandbox

pytest.importorskip("uvicorn")
lt = load_loadtest()


def syn(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "synapse.runtime.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def test_tenant_add_prints_a_new_key_once(tmp_path: Path) -> None:
    db = str(tmp_path / "g.db")
    added = syn("tenant", "add", "alice", "--db", db, "--concurrent-runs", "3",
                "--max-output-bytes", "64KiB")
    assert added.returncode == 0, added.stderr
    [key] = added.stdout.split()
    assert key.startswith("syn_") and len(key) > 40
    assert "only this once" in added.stderr
    again = syn("tenant", "add", "alice", "--db", db)
    assert again.returncode == 2 and "already exists" in again.stderr
    listed = syn("tenant", "list", "--db", db)
    assert "alice\t" in listed.stdout
    assert "concurrent_runs=3" in listed.stdout and "max_output_bytes=65536" in listed.stdout
    assert key not in listed.stdout


def receipts_on_disk(db: str) -> dict[str, tuple[int, bytes, str, bytes, bytes, int]]:
    """hash -> (tenant, body, run id, module wasm, run input, output limit), as stored."""
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            "SELECT r.hash, r.tenant_id, r.body, r.run_id, m.wasm, u.input, u.output_limit"
            " FROM receipts r JOIN runs u ON u.id = r.run_id JOIN modules m ON m.id = u.module_id"
        ).fetchall()
    finally:
        conn.close()
    return {row[0]: tuple(row[1:]) for row in rows}  # type: ignore[misc]


def integrity(db: str) -> str:
    conn = sqlite3.connect(db)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def chains(db: str) -> dict[int, list[dict]]:
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT tenant_id, body FROM receipts ORDER BY seq").fetchall()
    finally:
        conn.close()
    by_tenant: dict[int, list[dict]] = {}
    for tenant, body in rows:
        by_tenant.setdefault(tenant, []).append(json.loads(body))
    return by_tenant


async def load_then_kill(server: object, url: str, keys: dict[str, str], kill_after: float):
    config = lt.LoadConfig(duration_s=kill_after + 0.3, clients=8, hostile=0.0,
                           programs=("trivial", "echo"), record_receipts=True)
    # Compiled before the clock starts (the first compile loads the compiler), so the kill
    # lands among runs, not among submissions.
    host, port = lt.check_loopback(url)
    setup = lt.Connection(host, port)
    await asyncio.wait_for(lt.submit_programs(setup, keys["benign"], config.programs), 60)
    await setup.close()
    load = asyncio.ensure_future(lt.run_load(url, keys, config))
    await asyncio.sleep(kill_after)
    await asyncio.get_running_loop().run_in_executor(None, server.kill)  # type: ignore[attr-defined]
    return await asyncio.wait_for(load, 60)


def test_kill_9_under_load_loses_no_answered_receipt(tmp_path: Path) -> None:
    server = lt.ServerProcess(str(tmp_path), workers=4, sync="full",
                              tenants={"benign": ["--concurrent-runs", "16"]})
    try:
        url = server.start()
        # A second server on the same database is refused while the first runs.
        second = syn("serve", "--port", "0", "--db", server.db, timeout=60)
        assert second.returncode == 1 and "in use" in second.stderr
        report = asyncio.run(load_then_kill(server, url, server.keys, kill_after=1.5))
    finally:
        server.stop()
    acknowledged = report.acknowledged
    assert len(acknowledged) >= 20, report.summary()
    assert report.failed > 0  # the kill really happened while clients were sending

    assert integrity(server.db) == "ok"
    stored = receipts_on_disk(server.db)
    for ack in acknowledged:
        assert ack["receipt_hash"] in stored, f"answered receipt lost: {ack['receipt_hash']}"
        _, body, run_id, wasm, input_bytes, output_limit = stored[ack["receipt_hash"]]
        assert run_id == ack["run"]
        assert body == receipts.canonical_json(ack["receipt"])
        assert receipts.receipt_hash(ack["receipt"]) == ack["receipt_hash"]
    # Re-execution check of every answered receipt, independently of the server.
    sandbox = Sandbox(cache_dir=False, time_limit=None)
    for ack in acknowledged:
        _, _, _, wasm, input_bytes, _ = stored[ack["receipt_hash"]]
        assert receipts.verify_receipt(ack["receipt"], wasm, input_bytes, sandbox=sandbox) == []
    for chain in chains(server.db).values():
        assert receipts.verify_chain(chain) == []

    # Restarted on the same database: the receipts are served as they were, the chain goes on.
    restarted = lt.ServerProcess(str(tmp_path), workers=2, sync="full")
    restarted.keys = server.keys
    try:
        url = restarted.start()
        last = chains(server.db)[1][-1]

        async def after_restart() -> tuple[list[bytes], dict]:
            host, port = lt.check_loopback(url)
            conn = lt.Connection(host, port)
            key = server.keys["benign"]
            bodies = []
            for ack in acknowledged[-10:]:
                status, body = await lt.json_request(
                    conn, "GET", f"/v1/receipts/{ack['receipt_hash']}", key)
                assert status == 200
                bodies.append(body)
            ids = await lt.submit_programs(conn, key, ("trivial",))
            status, body = await lt.json_request(conn, "POST", "/v1/runs", key,
                                                 {"module": ids["trivial"]})
            assert status == 200, body
            await conn.close()
            return bodies, json.loads(body)

        bodies, run = asyncio.run(asyncio.wait_for(after_restart(), 60))
    finally:
        stderr = restarted.stop()
    assert bodies == [receipts.canonical_json(a["receipt"]) for a in acknowledged[-10:]]
    assert run["receipt"]["prev"] == receipts.receipt_hash(last)
    assert "Traceback" not in stderr
    assert integrity(server.db) == "ok"


def test_a_short_load_slice_with_hostile_programs_has_no_failures(tmp_path: Path) -> None:
    server = lt.ServerProcess(str(tmp_path), workers=4, sync="full",
                              tenants=lt.default_tenants(8))
    try:
        url = server.start()
        config = lt.LoadConfig(duration_s=2.0, clients=8, hostile=0.3, max_requests=5000)
        report = asyncio.run(asyncio.wait_for(lt.run_load(url, server.keys, config), 120))
    finally:
        stderr = server.stop()
    summary = report.summary()
    assert report.failed == 0, summary
    assert summary["by_program"].get("trivial", 0) + summary["by_program"].get("echo", 0) >= 10
    assert sum(summary["by_program"].get(p, 0) for p in lt.HOSTILE) >= 5, summary
    # Hostile runs (up to 0.2 s of fuel each) never hold benign ones up for long.
    assert summary["benign_p99_ms"] < 5000, summary
    assert "Traceback" not in stderr


def test_serve_refuses_a_port_in_use(tmp_path: Path) -> None:
    import socket
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        env = dict(os.environ, SYN_CACHE_DIR="off")
        done = subprocess.run([sys.executable, "-m", "synapse.runtime.cli", "serve", "--port",
                               str(port), "--db", str(tmp_path / "g.db")], cwd=ROOT,
                              capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 1 and "cannot listen" in done.stderr

"""The gateway's SQLite store: group commits, job isolation, receipt chains, the server lock."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from gateway_support import make_db

from synapse.runtime import receipts
from synapse.runtime.gateway.store import (
    NewRun, Store, StoreError, add_module_job, add_tenant, connect, list_tenants, record_run_job,
)
from synapse.runtime.sandbox import RunResult

WASM = b"\0asm\x01\0\0\0"  # stands in for module bytes: the store only hashes and keeps them


def open_store(tmp_path: Path, tenants: tuple[str, ...] = ("alice", "bob")) -> Store:
    db = make_db(tmp_path)
    conn = connect(db)
    for name in tenants:
        add_tenant(conn, name, f"hash-of-{name}")
    conn.close()
    store = Store(db, sync="normal")
    store.open()
    store.submit(add_module_job(1, "m", WASM, "sha", 65536, "fn main() {}")).result(timeout=30)
    return store


def new_run(tenant_id: int, number: int) -> NewRun:
    result = RunResult("ok", f"{number}\n".encode(), None, None, None, 10 + number)
    return NewRun(tenant_id, f"run_{tenant_id}_{number}", "m", WASM, 65536, b"", 1000, 100, result)


def test_concurrent_runs_are_all_recorded_with_chained_receipts(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    futures = []
    lock = threading.Lock()

    def submit(thread: int) -> None:
        tenant_id = 1 + thread % 2
        for number in range(50):
            run = new_run(tenant_id, 1000 * thread + number)
            future = store.submit(record_run_job(store, run))
            with lock:
                futures.append(future)
    try:
        threads = [threading.Thread(target=submit, args=(t,)) for t in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert [f.exception(timeout=60) for f in futures] == [None] * 200
    finally:
        store.close()
    conn = sqlite3.connect(str(tmp_path / "gateway.db"))
    for tenant_id in (1, 2):
        bodies = [row[0] for row in conn.execute(
            "SELECT body FROM receipts WHERE tenant_id = ? ORDER BY seq", (tenant_id,))]
        assert len(bodies) == 100
        assert receipts.verify_chain([receipts_from(b) for b in bodies]) == []
    conn.close()


def test_each_tenants_chain_links_every_receipt_to_the_one_before(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    try:
        for number in range(6):
            store.submit(record_run_job(store, new_run(1 + number % 2, number))).result(timeout=30)
    finally:
        store.close()
    conn = sqlite3.connect(str(tmp_path / "gateway.db"))
    for tenant_id in (1, 2):
        rows = conn.execute("SELECT hash, prev, body FROM receipts WHERE tenant_id = ?"
                            " ORDER BY seq", (tenant_id,)).fetchall()
        chain = [receipts_from(body) for _, _, body in rows]
        assert receipts.verify_chain(chain) == []
        assert [prev for _, prev, _ in rows] == [None, rows[0][0], rows[1][0]]
        assert [receipts.receipt_hash(r) for r in chain] == [h for h, _, _ in rows]
    conn.close()


def receipts_from(body: bytes) -> dict:
    import json
    return json.loads(body)


def test_a_chain_continues_from_disk_after_reopening(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    last = store.submit(record_run_job(store, new_run(1, 0))).result(timeout=30)
    store.close()
    reopened = Store(str(tmp_path / "gateway.db"), sync="normal")
    reopened.open()
    try:
        after = reopened.submit(record_run_job(reopened, new_run(1, 1))).result(timeout=30)
    finally:
        reopened.close()
    assert after.receipt["prev"] == last.receipt_hash


def test_a_failing_job_is_undone_alone(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    try:
        def half_then_fail(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT INTO module_owners (tenant_id, module_id, created) VALUES (2, 'm', 0)")
            raise RuntimeError("the job fails after its first write")
        good = store.submit(record_run_job(store, new_run(1, 0)))
        bad = store.submit(half_then_fail)
        also_good = store.submit(record_run_job(store, new_run(1, 1)))
        assert isinstance(bad.exception(timeout=30), RuntimeError)
        assert good.result(timeout=30).receipt_hash
        assert also_good.result(timeout=30).receipt["prev"] == good.result().receipt_hash
        assert store.owned_module(2, "m") is None  # the failed job's first write is gone too
        assert store.run(1, "run_1_1") is not None
    finally:
        store.close()


def test_one_database_serves_one_gateway_at_a_time(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    try:
        with pytest.raises(StoreError, match="in use"):
            Store(str(tmp_path / "gateway.db")).open()
    finally:
        store.close()
    again = Store(str(tmp_path / "gateway.db"))
    again.open()  # free once the first has closed
    again.close()


def test_tenant_names_are_unique_and_quotas_are_checked(tmp_path: Path) -> None:
    db = make_db(tmp_path)
    conn = connect(db)
    try:
        add_tenant(conn, "alice", "h1", {"concurrent_runs": 2})
        with pytest.raises(ValueError, match="already exists"):
            add_tenant(conn, "alice", "h2")
        with pytest.raises((ValueError, TypeError)):
            add_tenant(conn, "carol", "h3", {"no_such_quota": 1})
        with pytest.raises(ValueError):
            add_tenant(conn, "dave", "h4", {"concurrent_runs": -1})
        [alice] = list_tenants(conn)
        assert alice.quotas.concurrent_runs == 2 and alice.quotas.max_request_bytes == 1 << 20
    finally:
        conn.close()

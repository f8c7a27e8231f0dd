"""The gateway's state in SQLite (WAL): tenants, modules, runs and receipts.

Takes what the app hands it (tenants from `syn tenant add`, compiled modules, finished runs) and
keeps it in one database file. Reads run on the caller's thread through a read connection;
every write goes through one writer thread that commits in groups: it takes whatever jobs are
waiting (up to `MAX_BATCH`), runs each in a savepoint, commits once and only then resolves the
jobs' futures. A client is therefore answered only after its run and receipt are on disk, and
many concurrent requests share one fsync.

What must stay true:
- a run and its receipt are written in the same transaction: either both are there or neither;
  an answered receipt survives a crash or `kill -9` of the server (WAL; `sync="full"` also
  survives power loss, `"normal"` only a crash of the process);
- each tenant's receipts form a chain: a receipt's `prev` is the hash of that tenant's previous
  receipt (None for the first). Only the writer thread extends chains, one job at a time, and it
  reloads the chain heads from disk after any failed commit;
- only one server uses a database at a time (`lock()`: an exclusive `flock` on `PATH.lock`, which
  the kernel drops when the process dies, even by `kill -9`);
- every read that returns a tenant's data filters by that tenant's id.
"""

from __future__ import annotations

import concurrent.futures
import fcntl
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from synapse.runtime import receipts
from synapse.runtime.gateway.quotas import Quotas
from synapse.runtime.sandbox import RunResult

log = logging.getLogger("synapse.gateway")

SCHEMA_VERSION = 1
MAX_BATCH = 256
BUSY_TIMEOUT_MS = 10_000

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS tenants (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    key_hash    TEXT NOT NULL UNIQUE,      -- sha256 of the API key; the key itself is never stored
    created     REAL NOT NULL,
    {", ".join(f"{name} INTEGER" for name in Quotas.names())}   -- NULL: the default
);
CREATE TABLE IF NOT EXISTS modules (        -- compiled once per content hash, shared by tenants
    id          TEXT PRIMARY KEY,          -- sha256 of the source and compile options
    wasm        BLOB NOT NULL,
    wasm_sha256 TEXT NOT NULL,
    arena       INTEGER NOT NULL,          -- linear memory size in bytes
    source      TEXT NOT NULL,
    created     REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS module_owners (  -- which tenant submitted which module
    tenant_id   INTEGER NOT NULL REFERENCES tenants(id),
    module_id   TEXT NOT NULL REFERENCES modules(id),
    created     REAL NOT NULL,
    PRIMARY KEY (tenant_id, module_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS runs (
    seq         INTEGER PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    tenant_id   INTEGER NOT NULL REFERENCES tenants(id),
    module_id   TEXT NOT NULL REFERENCES modules(id),
    input       BLOB NOT NULL,
    fuel_budget INTEGER NOT NULL,
    output_limit INTEGER NOT NULL,
    status      TEXT NOT NULL,
    output      BLOB NOT NULL,
    message     TEXT,
    function    TEXT,
    exhausted   TEXT,
    fuel_used   INTEGER NOT NULL,
    receipt_hash TEXT NOT NULL,
    created     REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_tenant ON runs(tenant_id, seq);
CREATE TABLE IF NOT EXISTS receipts (
    seq         INTEGER PRIMARY KEY,
    tenant_id   INTEGER NOT NULL REFERENCES tenants(id),
    hash        TEXT NOT NULL,
    run_id      TEXT NOT NULL REFERENCES runs(id),
    prev        TEXT,
    body        BLOB NOT NULL,             -- the receipt as canonical JSON
    UNIQUE (tenant_id, hash)
);
CREATE INDEX IF NOT EXISTS receipts_by_tenant ON receipts(tenant_id, seq);
PRAGMA user_version = {SCHEMA_VERSION};
"""


class StoreError(Exception):
    """The database cannot be used: locked by another server, or from a newer schema."""


@dataclass(frozen=True)
class Tenant:
    id: int
    name: str
    quotas: Quotas


@dataclass(frozen=True)
class ModuleRow:
    id: str
    wasm: bytes
    wasm_sha256: str
    arena: int
    source: str
    created: float


@dataclass(frozen=True)
class RunRow:
    seq: int
    id: str
    module_id: str
    input: bytes
    fuel_budget: int
    output_limit: int
    status: str
    output: bytes
    message: str | None
    function: str | None
    exhausted: str | None
    fuel_used: int
    receipt_hash: str
    created: float


@dataclass(frozen=True)
class ReceiptRow:
    seq: int
    hash: str
    run_id: str
    prev: str | None
    body: bytes


_RUN_COLUMNS = ("seq, id, module_id, input, fuel_budget, output_limit, status, output, message, "
                "function, exhausted, fuel_used, receipt_hash, created")


def connect(path: str, *, sync: str = "full") -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL, foreign keys on."""
    if sync not in ("full", "normal"):
        raise ValueError(f"sync must be 'full' or 'normal', not {sync!r}")
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                           timeout=BUSY_TIMEOUT_MS / 1000)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {sync.upper()}")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def create_schema(conn: sqlite3.Connection) -> None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StoreError(f"database schema {version} is newer than this gateway's ({SCHEMA_VERSION})")
    conn.executescript(_SCHEMA)


def _tenant_from_row(row: tuple[Any, ...]) -> Tenant:
    tenant_id, name, *limits = row
    given = {n: v for n, v in zip(Quotas.names(), limits) if v is not None}
    return Tenant(tenant_id, name, Quotas(**given))


_TENANT_COLUMNS = "id, name, " + ", ".join(Quotas.names())


# -- administration (any process, synchronous) ------------------------------------------------

def add_tenant(conn: sqlite3.Connection, name: str, key_hash: str,
               quotas: dict[str, int] | None = None) -> Tenant:
    """Insert a tenant; `quotas` overrides defaults. Raises ValueError for a taken name."""
    if not name or len(name) > 100 or not name.isprintable():
        raise ValueError("a tenant name is 1 to 100 printable characters")
    given = dict(quotas or {})
    Quotas(**given)  # validates names and values
    columns = ["name", "key_hash", "created", *given]
    marks = ", ".join("?" for _ in columns)
    try:
        with _transaction(conn):
            cursor = conn.execute(f"INSERT INTO tenants ({', '.join(columns)}) VALUES ({marks})",
                                  [name, key_hash, time.time(), *given.values()])
    except sqlite3.IntegrityError:
        raise ValueError(f"a tenant named {name!r} already exists") from None
    return Tenant(int(cursor.lastrowid or 0), name, Quotas(**given))


def list_tenants(conn: sqlite3.Connection) -> list[Tenant]:
    rows = conn.execute(f"SELECT {_TENANT_COLUMNS} FROM tenants ORDER BY id").fetchall()
    return [_tenant_from_row(row) for row in rows]


class _transaction:
    """`BEGIN IMMEDIATE ... COMMIT`, rolled back on any exception."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, kind: Any, value: Any, tb: Any) -> None:
        if kind is None:
            self.conn.execute("COMMIT")
        else:
            self.conn.execute("ROLLBACK")


# -- the store the server uses ---------------------------------------------------------------

Job = Callable[[sqlite3.Connection], Any]
Done = Callable[[Any, "BaseException | None"], None]


class Store:
    """Reads on the calling thread; writes through the group-committing writer thread."""

    def __init__(self, path: str, *, sync: str = "full") -> None:
        self.path = path
        self.sync = sync
        self._reader: sqlite3.Connection | None = None
        self._writer: _Writer | None = None
        self._lock_file: int | None = None

    # -- life cycle ------------------------------------------------------------------------

    def open(self) -> None:
        self._take_lock()
        conn = connect(self.path, sync=self.sync)
        create_schema(conn)
        conn.close()
        self._reader = connect(self.path, sync=self.sync)
        self._writer = _Writer(self.path, self.sync)
        self._writer.start()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.stop()
            self._writer = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._lock_file is not None:
            os.close(self._lock_file)  # closing drops the flock
            self._lock_file = None

    def _take_lock(self) -> None:
        fd = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StoreError(f"{self.path} is in use by another gateway") from None
        self._lock_file = fd

    @property
    def reader(self) -> sqlite3.Connection:
        if self._reader is None:
            raise StoreError("the store is not open")
        return self._reader

    # -- writes ----------------------------------------------------------------------------

    def submit(self, job: Job) -> concurrent.futures.Future[Any]:
        """Run `job(conn)` inside the next group commit; the future resolves after COMMIT."""
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self.submit_then(job, lambda result, error: _resolve(future, result, error))
        return future

    def submit_then(self, job: Job, then: Done) -> None:
        """Run `job(conn)` in the next group commit, then call `then(result, error)` on the
        writer thread once the outcome is final (after COMMIT, or after the rollback)."""
        if self._writer is None:
            then(None, StoreError("the store is not open"))
            return
        self._writer.submit(_Pending(job, then))

    def chain_head(self, conn: sqlite3.Connection, tenant_id: int) -> str | None:
        """The hash that a tenant's next receipt links to (writer thread only)."""
        assert self._writer is not None
        return self._writer.chain_head(conn, tenant_id)

    def set_chain_head(self, tenant_id: int, receipt_hash: str) -> None:
        assert self._writer is not None
        self._writer.heads[tenant_id] = receipt_hash

    # -- reads -----------------------------------------------------------------------------

    def tenant_by_key_hash(self, key_hash: str) -> Tenant | None:
        row = self.reader.execute(f"SELECT {_TENANT_COLUMNS} FROM tenants WHERE key_hash = ?",
                                  (key_hash,)).fetchone()
        return _tenant_from_row(row) if row else None

    def module(self, module_id: str) -> ModuleRow | None:
        """A compiled module by id, whoever submitted it (for the compile cache only)."""
        row = self.reader.execute(
            "SELECT id, wasm, wasm_sha256, arena, source, created FROM modules WHERE id = ?",
            (module_id,)).fetchone()
        return ModuleRow(*row) if row else None

    def owned_module(self, tenant_id: int, module_id: str) -> ModuleRow | None:
        row = self.reader.execute(
            "SELECT m.id, m.wasm, m.wasm_sha256, m.arena, m.source, o.created FROM module_owners o"
            " JOIN modules m ON m.id = o.module_id WHERE o.tenant_id = ? AND o.module_id = ?",
            (tenant_id, module_id)).fetchone()
        return ModuleRow(*row) if row else None

    def list_modules(self, tenant_id: int, limit: int) -> list[tuple[str, int, float]]:
        """(id, arena, created) of a tenant's modules, newest first."""
        return self.reader.execute(
            "SELECT m.id, m.arena, o.created FROM module_owners o JOIN modules m"
            " ON m.id = o.module_id WHERE o.tenant_id = ? ORDER BY o.created DESC LIMIT ?",
            (tenant_id, limit)).fetchall()

    def run(self, tenant_id: int, run_id: str) -> RunRow | None:
        row = self.reader.execute(
            f"SELECT {_RUN_COLUMNS} FROM runs WHERE tenant_id = ? AND id = ?",
            (tenant_id, run_id)).fetchone()
        return RunRow(*row) if row else None

    def list_runs(self, tenant_id: int, limit: int, before: int | None) -> list[RunRow]:
        rows = self.reader.execute(
            f"SELECT {_RUN_COLUMNS} FROM runs WHERE tenant_id = ? AND seq < ?"
            " ORDER BY seq DESC LIMIT ?",
            (tenant_id, before if before is not None else 2**62, limit)).fetchall()
        return [RunRow(*row) for row in rows]

    def receipt(self, tenant_id: int, receipt_hash: str) -> ReceiptRow | None:
        row = self.reader.execute(
            "SELECT seq, hash, run_id, prev, body FROM receipts WHERE tenant_id = ? AND hash = ?",
            (tenant_id, receipt_hash)).fetchone()
        return ReceiptRow(*row) if row else None

    def previous_receipt_hash(self, tenant_id: int, seq: int) -> str | None:
        """The hash of the tenant's receipt before the one at `seq`: what its `prev` must be."""
        row = self.reader.execute(
            "SELECT hash FROM receipts WHERE tenant_id = ? AND seq < ? ORDER BY seq DESC LIMIT 1",
            (tenant_id, seq)).fetchone()
        return row[0] if row else None


# -- writes of the server ---------------------------------------------------------------------

@dataclass(frozen=True)
class NewRun:
    """A finished run, to be recorded with its receipt."""

    tenant_id: int
    run_id: str
    module_id: str
    wasm: bytes
    arena: int
    input: bytes
    fuel_budget: int
    output_limit: int
    result: RunResult


@dataclass(frozen=True)
class RecordedRun:
    run_id: str
    receipt: dict[str, Any]
    receipt_hash: str
    body: bytes            # the receipt as canonical JSON, exactly as stored
    created: float


def add_module_job(tenant_id: int, module_id: str, wasm: bytes, wasm_sha256: str, arena: int,
                   source: str) -> Job:
    """Store a compiled module (once) and make `tenant_id` an owner; returns whether it was new."""
    def job(conn: sqlite3.Connection) -> bool:
        now = time.time()
        conn.execute("INSERT OR IGNORE INTO modules (id, wasm, wasm_sha256, arena, source, created)"
                     " VALUES (?, ?, ?, ?, ?, ?)", (module_id, wasm, wasm_sha256, arena, source, now))
        cursor = conn.execute("INSERT OR IGNORE INTO module_owners (tenant_id, module_id, created)"
                              " VALUES (?, ?, ?)", (tenant_id, module_id, now))
        return cursor.rowcount == 1
    return job


def record_run_job(store: Store, run: NewRun, signer: Any = None) -> Job:
    """Make the run's receipt, linked to the tenant's chain, and insert run and receipt."""
    def job(conn: sqlite3.Connection) -> RecordedRun:
        prev = store.chain_head(conn, run.tenant_id)
        receipt = receipts.make_receipt(run.wasm, run.input, run.result,
                                        fuel_budget=run.fuel_budget, arena=run.arena,
                                        prev=prev, signer=signer)
        body = receipts.canonical_json(receipt)
        digest = receipt.get("receipt_sha256")  # make_receipt embeds receipt_hash(receipt)
        if not isinstance(digest, str):
            digest = receipts.receipt_hash(receipt)
        result, now = run.result, time.time()
        conn.execute(
            "INSERT INTO runs (id, tenant_id, module_id, input, fuel_budget, output_limit, status,"
            " output, message, function, exhausted, fuel_used, receipt_hash, created)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (run.run_id, run.tenant_id, run.module_id, run.input, run.fuel_budget,
             run.output_limit, result.status, result.output, result.message, result.function,
             result.exhausted, result.fuel_used, digest, now))
        conn.execute("INSERT INTO receipts (tenant_id, hash, run_id, prev, body)"
                     " VALUES (?, ?, ?, ?, ?)", (run.tenant_id, digest, run.run_id, prev, body))
        store.set_chain_head(run.tenant_id, digest)  # last: only once both rows are in
        return RecordedRun(run.run_id, receipt, digest, body, now)
    return job


# -- the writer thread ------------------------------------------------------------------------

@dataclass
class _Pending:
    job: Job
    then: Done


_STOP = object()


class _Writer(threading.Thread):
    """One connection, one thread: takes the waiting jobs, commits them as one transaction."""

    def __init__(self, path: str, sync: str) -> None:
        super().__init__(name="syn-gateway-writer", daemon=True)
        self.path = path
        self.sync = sync
        self.jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.heads: dict[int, str | None] = {}
        self.ready = threading.Event()
        self.failure: BaseException | None = None

    def submit(self, pending: _Pending) -> None:
        if not self.is_alive():
            _finish(pending, None, StoreError("the store's writer has stopped"))
            return
        self.jobs.put(pending)

    def stop(self) -> None:
        self.jobs.put(_STOP)
        self.join(timeout=30)

    def chain_head(self, conn: sqlite3.Connection, tenant_id: int) -> str | None:
        if tenant_id not in self.heads:
            row = conn.execute("SELECT hash FROM receipts WHERE tenant_id = ?"
                               " ORDER BY seq DESC LIMIT 1", (tenant_id,)).fetchone()
            self.heads[tenant_id] = row[0] if row else None
        return self.heads[tenant_id]

    def run(self) -> None:
        conn = connect(self.path, sync=self.sync)
        try:
            while True:
                first = self.jobs.get()
                if first is _STOP:
                    return
                batch = [first]
                stopping = False
                while len(batch) < MAX_BATCH:
                    try:
                        item = self.jobs.get_nowait()
                    except queue.Empty:
                        break
                    if item is _STOP:
                        stopping = True
                        break
                    batch.append(item)
                self._commit(conn, batch)
                if stopping:
                    return
        finally:
            self._fail_waiting()
            conn.close()

    def _commit(self, conn: sqlite3.Connection, batch: list[_Pending]) -> None:
        outcomes: list[tuple[_Pending, Any, BaseException | None]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for pending in batch:
                outcomes.append(self._run_job(conn, pending))
            conn.execute("COMMIT")
        except Exception as err:  # the whole batch is lost: say so to every waiter
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            self.heads.clear()  # chain heads are re-read from what is really on disk
            for pending in batch:
                _finish(pending, None, err)
            return
        for pending, result, error in outcomes:
            _finish(pending, result, error)

    @staticmethod
    def _run_job(conn: sqlite3.Connection, pending: _Pending) -> tuple[_Pending, Any, BaseException | None]:
        conn.execute("SAVEPOINT job")
        try:
            result = pending.job(conn)
        except Exception as err:  # this job alone is undone; the others still commit
            conn.execute("ROLLBACK TO job")
            conn.execute("RELEASE job")
            return pending, None, err
        conn.execute("RELEASE job")
        return pending, result, None

    def _fail_waiting(self) -> None:
        while True:
            try:
                item = self.jobs.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, _Pending):
                _finish(item, None, StoreError("the store is closing"))


def _finish(pending: _Pending, result: Any, error: BaseException | None) -> None:
    try:
        pending.then(result, error)
    except Exception:  # a waiter's callback must not stop the writer
        log.exception("callback of a store job failed")


def _resolve(future: concurrent.futures.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # the waiter gave up (cancelled); the write stands regardless
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)

"""The gateway's operations, between the HTTP handlers and the store, auth, quotas and workers.

Takes a tenant (already authenticated) and the parsed fields of a request; produces the rows and
results the handlers format, or raises `ApiError`. Everything here runs on the event-loop
thread: the in-memory state (quota gates, caches, the count of requests in flight) needs no
lock, and blocking work is handed to the workers (compile, run) or the store's writer (commit).

What must stay true:
- a tenant reaches only modules it submitted, and runs and receipts it made: every lookup goes
  through the tenant's id, and what is not the tenant's is "not found", exactly like what does
  not exist;
- a run that started is recorded with its receipt even when the client goes away meanwhile
  (the run and the write are shielded from the request's cancellation), and its fuel is charged;
- a source is compiled once per content hash: concurrent submissions of the same source share
  one compile, and a stored module is never compiled again.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import OrderedDict
from dataclasses import dataclass, replace
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from synapse.runtime import receipts
from synapse.runtime.gateway.auth import Authenticator
from synapse.runtime.gateway.errors import ApiError
from synapse.runtime.gateway.quotas import Gates, TenantGate
from synapse.runtime.gateway.store import (
    ModuleRow, NewRun, RecordedRun, Store, Tenant, add_module_job, record_run_job,
)
from synapse.runtime.gateway.workers import (
    CompiledModule, CompileFailed, SandboxError, Workers, module_id_for, settle_in_loop,
)
from synapse.runtime.sandbox import RunResult

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LRU(Generic[K, V]):
    """A small least-recently-used map (event-loop thread only)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)


@dataclass(frozen=True)
class GatewayConfig:
    db_path: str
    workers: int = 8
    sync: str = "full"             # "full": receipts survive power loss; "normal": a crash only
    max_inflight: int = 1024       # runs in flight over all tenants before `overloaded`
    cache_dir: Any = True          # the sandbox's compiled-module disk cache (see Sandbox)


@dataclass(frozen=True)
class RunOutcome:
    module_id: str
    fuel_budget: int
    output_limit: int
    result: RunResult
    recorded: RecordedRun


class Gateway:
    """Store, authenticator, quota gates and workers, and the operations over them."""

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self.store = Store(config.db_path, sync=config.sync)
        self.auth = Authenticator(self.store)
        self.gates = Gates()
        self._workers: Workers | None = None
        self.inflight = 0
        self._modules: LRU[tuple[int, str], ModuleRow] = LRU(4096)
        self._failed_compiles: LRU[str, CompileFailed] = LRU(256)
        self._compiling: dict[str, asyncio.Future[CompiledModule]] = {}
        self._ids = _Ids()

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> None:
        self.store.open()
        self._workers = Workers(self.config.workers, cache_dir=self.config.cache_dir)

    def stop(self) -> None:
        if self._workers is not None:
            self._workers.close()  # waits for runs in flight, whose writes then still commit
            self._workers = None
        self.store.close()

    @property
    def workers(self) -> Workers:
        if self._workers is None:
            raise ApiError("internal", "the gateway is not running")
        return self._workers

    async def _write(self, job: Any) -> Any:
        return await asyncio.wrap_future(self.store.submit(job))

    # -- modules ---------------------------------------------------------------------------

    def owned_module(self, tenant: Tenant, module_id: str) -> ModuleRow:
        key = (tenant.id, module_id)
        row = self._modules.get(key)
        if row is None:
            row = self.store.owned_module(tenant.id, module_id)
            if row is None:
                raise ApiError("not_found", f"no module {module_id!r}")
            self._modules.put(key, row)
        return row

    async def submit_module(self, tenant: Tenant, source: str,
                            arena: int | None) -> tuple[ModuleRow, bool]:
        """Compile (once per content hash) and store a source; returns (module, newly added)."""
        module_id = module_id_for(source, arena)
        cached = self._modules.get((tenant.id, module_id))
        if cached is not None:
            return cached, False
        stored = self.store.module(module_id)
        if stored is not None:
            compiled = CompiledModule(stored.wasm, stored.wasm_sha256, stored.arena)
        else:
            compiled = await self._compile_once(module_id, source, arena)
        limit = tenant.quotas.max_arena_bytes
        if compiled.arena > limit:
            raise ApiError("limit_exceeded",
                           f"the module's arena is {compiled.arena} bytes; the limit is {limit}",
                           limit="max_arena_bytes")
        try:
            added = await self._write(add_module_job(tenant.id, module_id, compiled.wasm,
                                                     compiled.wasm_sha256, compiled.arena, source))
        except Exception as err:
            raise ApiError("internal", f"the module could not be stored: {err}") from None
        return self.owned_module(tenant, module_id), bool(added)

    async def _compile_once(self, module_id: str, source: str,
                            arena: int | None) -> CompiledModule:
        failed = self._failed_compiles.get(module_id)
        if failed is None:
            pending = self._compiling.get(module_id)
            if pending is None:
                pending = asyncio.ensure_future(self.workers.compile(source, arena))
                self._compiling[module_id] = pending
                pending.add_done_callback(lambda _: self._compiling.pop(module_id, None))
            try:
                return await asyncio.shield(pending)
            except CompileFailed as err:
                self._failed_compiles.put(module_id, err)
                failed = err
            except SandboxError as err:
                raise ApiError("module_refused", str(err)) from None
        raise ApiError("compile_error", "the source has errors", diagnostics=failed.diagnostics,
                       rendered=failed.rendered)

    # -- runs ------------------------------------------------------------------------------

    async def run(self, tenant: Tenant, module_id: str, input: bytes, *, fuel: int | None,
                  output_limit: int | None) -> RunOutcome:
        module = self.owned_module(tenant, module_id)
        quotas = tenant.quotas
        fuel = quotas.max_fuel_per_run if fuel is None else fuel
        output_limit = quotas.max_output_bytes if output_limit is None else output_limit
        _check_limit("fuel", fuel, quotas.max_fuel_per_run, "max_fuel_per_run")
        _check_limit("output_limit", output_limit, quotas.max_output_bytes, "max_output_bytes")
        _check_limit("the module's arena", module.arena, quotas.max_arena_bytes, "max_arena_bytes")
        if self.inflight >= self.config.max_inflight:
            raise ApiError("overloaded", "too many runs in flight; retry later",
                           headers={"Retry-After": "1"})
        gate = self.gates.get(tenant.id, quotas)
        gate.admit()
        self.inflight += 1
        new = NewRun(tenant.id, self._ids.next("run_"), module.id, module.wasm, module.arena,
                     input, fuel, output_limit, _PENDING)
        loop = asyncio.get_running_loop()
        done: asyncio.Future[tuple[RunResult, RecordedRun]] = loop.create_future()
        settle = settle_in_loop(loop, done)

        def recorded(result: RunResult) -> Callable[[Any, BaseException | None], None]:
            def then(row: Any, error: BaseException | None) -> None:
                settle((result, row), None if error is None else RecordFailed(result, error))
            return then

        def after_run(result: Any, error: BaseException | None) -> None:  # on the worker
            if error is not None:
                settle(None, error)
            else:  # straight to the writer: the event loop hears back once, after COMMIT
                self.store.submit_then(record_run_job(self.store, replace(new, result=result)),
                                       recorded(result))

        self.workers.start_run(new.module_id, new.wasm, new.input, fuel=fuel,
                               output_limit=output_limit, then=after_run)
        # Shielded: a request cancelled meanwhile still has its run recorded and charged.
        return await asyncio.shield(self._finish_run(done, gate, new))

    async def _finish_run(self, done: asyncio.Future[tuple[RunResult, RecordedRun]],
                          gate: TenantGate, new: NewRun) -> RunOutcome:
        try:
            result, row = await done
        except SandboxError as err:
            gate.release(0)
            raise ApiError("module_refused", str(err)) from None
        except RecordFailed as err:
            gate.release(err.result.fuel_used)
            raise ApiError("internal", f"the run could not be recorded: {err}") from None
        except BaseException:
            gate.release(0)
            raise
        finally:
            self.inflight -= 1
        gate.release(result.fuel_used)
        return RunOutcome(new.module_id, new.fuel_budget, new.output_limit, result, row)

    # -- receipts --------------------------------------------------------------------------

    async def verify(self, tenant: Tenant, receipt_hash: str) -> dict[str, Any]:
        """Re-run a stored receipt's run and compare; also check its hash and chain link."""
        row = self.store.receipt(tenant.id, receipt_hash)
        if row is None:
            raise ApiError("not_found", f"no receipt {receipt_hash!r}")
        run = self.store.run(tenant.id, row.run_id)
        if run is None:  # cannot happen: a receipt and its run are written together
            raise ApiError("internal", f"the run of receipt {receipt_hash!r} is missing")
        module = self.owned_module(tenant, run.module_id)
        receipt = json.loads(row.body)
        expected_prev = self.store.previous_receipt_hash(tenant.id, row.seq)
        gate = self.gates.get(tenant.id, tenant.quotas)
        gate.admit()
        try:
            mismatches = await self.workers.verify(receipt, module.wasm, run.input,
                                                   output=run.output, prev=expected_prev,
                                                   output_limit=run.output_limit)
        finally:
            gate.release(run.fuel_used)
        hash_ok = receipts.receipt_hash(receipt) == row.hash
        return {"receipt": row.hash, "ok": not mismatches and hash_ok,
                "mismatches": list(mismatches), "hash_ok": hash_ok, "prev": expected_prev}


class RecordFailed(Exception):
    """The run happened but its record could not be committed."""

    def __init__(self, result: RunResult, error: BaseException) -> None:
        super().__init__(str(error))
        self.result = result


class _Ids:
    """Unguessable ids from a pool of random bytes (one `os.urandom` call per 256 ids)."""

    def __init__(self) -> None:
        self._pool = b""

    def next(self, prefix: str) -> str:
        if not self._pool:
            self._pool = os.urandom(12 * 256)
        chunk, self._pool = self._pool[:12], self._pool[12:]
        return prefix + chunk.hex()


_PENDING = RunResult("ok", b"", None, None, None, 0)  # placeholder until the run has happened


def _check_limit(what: str, value: int, limit: int, quota: str) -> None:
    if value > limit:
        raise ApiError("limit_exceeded", f"{what} is {value}; the tenant's limit is {limit}",
                       limit=quota)

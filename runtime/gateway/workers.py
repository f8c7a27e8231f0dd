"""Where the gateway compiles and runs programs: thread pools beside the event loop.

Takes a tenant's `.syn` source (to compile) or a stored module with an input and limits (to run
or to re-run for verification); produces Wasm bytes or diagnostics, a `RunResult`, or a
receipt's mismatching fields. The event loop only awaits these; it never compiles or runs.

What must stay true:
- runs happen on threads, and wasmtime releases the GIL while Wasm executes, so runs proceed in
  parallel with each other and with the event loop;
- a hostile run cannot stall the others: every run has a fuel budget, and runs whose budget is
  above `SHORT_RUN_FUEL` go to a separate, smaller pool (the long lane), so long runs queue
  behind each other, never in front of short ones;
- compiling happens on its own single thread (the compiler is Python and holds the GIL; one at a
  time bounds how much of the process compiling can take);
- a submitted source sees no files of the server: it is compiled as `main.syn` in an empty
  directory, so its imports resolve only to `stdlib/`; file names in diagnostics are shown
  relative (`main.syn`, `stdlib/...`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import queue
import shutil
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synapse.runtime.sandbox import LoadedModule, RunResult, Sandbox, SandboxError

log = logging.getLogger("synapse.gateway")

SHORT_RUN_FUEL = 50_000_000     # about 50 ms of Wasm: above this a run takes the long lane
LOADED_CACHE_ENTRIES = 512
VERIFIER_SANDBOXES = 4

@dataclass(frozen=True)
class CompiledModule:
    wasm: bytes
    wasm_sha256: str
    arena: int


class CompileFailed(Exception):
    """The source has errors: `diagnostics` as JSON objects, `rendered` as the CLI shows them."""

    def __init__(self, diagnostics: list[dict[str, Any]], rendered: str) -> None:
        super().__init__(rendered)
        self.diagnostics = diagnostics
        self.rendered = rendered


Done = Callable[[Any, "BaseException | None"], None]


class Lane:
    """Threads taking calls from one queue; each call's outcome goes to its `then` callback.

    Lighter than `ThreadPoolExecutor` (no future per call, no locks on the way in), and the
    callback runs on the worker thread, so a run can hand its result straight to the store's
    writer without a round trip through the event loop.
    """

    def __init__(self, name: str, threads: int) -> None:
        self._calls: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True)
                         for i in range(threads)]
        for thread in self._threads:
            thread.start()

    def call(self, fn: Callable[[], Any], then: Done) -> None:
        self._calls.put((fn, then))

    def close(self) -> None:
        for _ in self._threads:
            self._calls.put(None)
        for thread in self._threads:
            thread.join(timeout=60)

    def _work(self) -> None:
        while True:
            item = self._calls.get()
            if item is None:
                return
            fn, then = item
            try:
                value, error = fn(), None
            except BaseException as err:  # handed to the waiter, who decides what it means
                value, error = None, err
            try:
                then(value, error)
            except Exception:
                log.exception("callback of a gateway worker failed")


def settle_in_loop(loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any]) -> Done:
    """A `then` callback (any thread) that settles an asyncio future on its loop."""
    def settle(value: Any, error: BaseException | None) -> None:
        if not future.done():
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(value)

    def then(value: Any, error: BaseException | None) -> None:
        loop.call_soon_threadsafe(settle, value, error)
    return then


class Workers:
    """The compile thread, the short and long run lanes, and the loaded-module cache."""

    def __init__(self, workers: int, *, cache_dir: Any = True) -> None:
        if workers < 1:
            raise ValueError("at least one worker is needed")
        self.sandbox = Sandbox(cache_dir=cache_dir)
        self._cache_dir = cache_dir
        self._verifiers: OrderedDict[int, Sandbox] = OrderedDict()
        self.short = Lane("syn-run", workers)
        self.long = Lane("syn-run-long", max(1, workers // 2))
        self.compiler = ThreadPoolExecutor(1, thread_name_prefix="syn-compile")
        self._loaded: OrderedDict[str, LoadedModule] = OrderedDict()
        self._loaded_lock = threading.Lock()
        # An empty, read-only folder: the only place a submitted program's imports could reach.
        self._source_dir = tempfile.mkdtemp(prefix="syn-gateway-src-")
        os.chmod(self._source_dir, 0o500)
        self._entry = os.path.join(self._source_dir, "main.syn")

    def close(self) -> None:
        self.compiler.shutdown(wait=True, cancel_futures=True)
        self.short.close()
        self.long.close()
        shutil.rmtree(self._source_dir, ignore_errors=True)

    def lane(self, fuel: int) -> Lane:
        return self.short if fuel <= SHORT_RUN_FUEL else self.long

    # -- compiling -------------------------------------------------------------------------

    async def compile(self, source: str, arena: int | None) -> CompiledModule:
        """Compile and check a source; raises `CompileFailed` or `SandboxError`."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.compiler, self._compile, source, arena)

    def _compile(self, source: str, arena: int | None) -> CompiledModule:
        from synapse.compiler.driver import compile_source
        result = compile_source(source, filename=self._entry, arena=arena)
        if result.wasm is None or result.diagnostics:
            raise CompileFailed([self._diagnostic_json(d) for d in result.diagnostics],
                                self._render(result))
        loaded = self.sandbox.load(result.wasm)  # refuses what the sandbox could not run
        return CompiledModule(result.wasm, loaded.sha256, loaded.arena)

    def _shown(self, file: str) -> str:
        if file == self._entry:
            return "main.syn"
        if file.startswith(_STDLIB + os.sep):
            return "stdlib/" + file[len(_STDLIB) + 1:]
        return file

    def _diagnostic_json(self, diagnostic: Any) -> dict[str, Any]:
        data = dict(diagnostic.to_json())
        data["file"] = self._shown(str(data.get("file", "")))
        return data

    def _render(self, result: Any) -> str:
        sources = getattr(result, "sources", {}) or {}
        text = "\n".join(d.render(sources.get(d.span.file)) for d in result.diagnostics)
        return text.replace(self._entry, "main.syn").replace(_STDLIB + os.sep, "stdlib/")

    # -- running ---------------------------------------------------------------------------

    def _load(self, module_id: str, wasm: bytes) -> LoadedModule:
        with self._loaded_lock:
            loaded = self._loaded.get(module_id)
        if loaded is None:
            loaded = self.sandbox.load(wasm)  # outside the lock: compiling may take a while
            with self._loaded_lock:
                self._loaded[module_id] = loaded
                while len(self._loaded) > LOADED_CACHE_ENTRIES:
                    self._loaded.popitem(last=False)
        return loaded

    def start_run(self, module_id: str, wasm: bytes, input: bytes, *, fuel: int,
                  output_limit: int, then: Done) -> None:
        """Run a module's `main` once on a worker; `then(RunResult, error)` on that worker.

        The error is a `SandboxError` for a module the sandbox cannot run."""
        def run() -> RunResult:
            loaded = self._load(module_id, wasm)
            return self.sandbox.run(loaded, input, fuel=fuel, output_limit=output_limit)
        self.lane(fuel).call(run, then)

    async def verify(self, receipt: dict[str, Any], wasm: bytes, input: bytes, *,
                     output: bytes, prev: str | None, output_limit: int) -> list[str]:
        """Re-run and compare: the names of the receipt's fields that do not match.

        The re-run gets the original run's output limit (which decides where a flooding run
        stops, and is not a field of the receipt)."""
        from synapse.runtime.receipts import verify_receipt
        loop = asyncio.get_running_loop()
        done: asyncio.Future[list[str]] = loop.create_future()
        budget = receipt.get("fuel_budget")
        fuel = budget if isinstance(budget, int) else SHORT_RUN_FUEL + 1

        def verify() -> list[str]:
            return verify_receipt(receipt, wasm, input, output=output, prev=prev,
                                  sandbox=self._verifier(output_limit))
        self.lane(fuel).call(verify, settle_in_loop(loop, done))
        return await done

    def _verifier(self, output_limit: int) -> Sandbox:
        """A sandbox whose runs stop output at `output_limit` (a few are kept)."""
        with self._loaded_lock:
            box = self._verifiers.get(output_limit)
            if box is None:
                box = self._verifiers[output_limit] = Sandbox(cache_dir=self._cache_dir,
                                                              output_limit=output_limit)
                while len(self._verifiers) > VERIFIER_SANDBOXES:
                    self._verifiers.popitem(last=False)
            self._verifiers.move_to_end(output_limit)
            return box


_STDLIB = str(Path(__file__).resolve().parents[2] / "stdlib")


def module_id_for(source: str, arena: int | None) -> str:
    """The content hash that names a submitted module: its source and compile options."""
    digest = hashlib.sha256(b"syn-module-v1\0")
    digest.update(b"arena=" + str(arena).encode() + b"\0")
    digest.update(source.encode("utf-8"))
    return digest.hexdigest()


__all__ = ["CompileFailed", "CompiledModule", "Lane", "SandboxError", "Workers", "module_id_for",
           "settle_in_loop"]

"""Load test for the gateway (`syn serve`): concurrent clients on loopback, benign and hostile.

Usage:
    python scripts/loadtest.py [--duration S] [--clients N] [--hostile FRACTION] [--json]
    python scripts/loadtest.py --url http://127.0.0.1:PORT --key KEY [--hostile-key KEY] ...

Without `--url` it starts its own server (`syn serve --port 0`) on a fresh database in a temporary
folder, with two tenants: "benign" (allowed as many concurrent runs as there are clients) and
"hostile" (4 concurrent runs, 200 million fuel per run, 500 million fuel per second). With
`--url` the server must be on a loopback address; any other address is refused.

Each client keeps one HTTP/1.1 connection and sends runs back to back. A benign run is a trivial
program (prints a number) or an echo of its input; a hostile run (the `--hostile` fraction) spins
until its fuel is gone, panics, floods its output, exhausts its arena, or recurses without end.
Every answer is checked: the right HTTP status and the right run status and output. Refusals of
the hostile tenant by its quotas (429) are expected and counted as throttled; anything else
unexpected is a failure.

The run is bounded: it stops after `--duration` seconds or `--max-requests` requests, whichever
comes first, and every request has a timeout. It prints requests per second, p50 and p99 latency
(all requests, and benign runs alone) and the failures. Exit status 1 when any request failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
REQUEST_TIMEOUT_S = 30.0
START_TIMEOUT_S = 60.0

# name -> (source, input, fuel, output_limit, expected status, expected output or exhaustion/trap)
PROGRAMS: dict[str, tuple[str, str, int | None, int | None, str, str]] = {
    "trivial": ("fn main() {\n    println(7);\n}\n", "", 1_000_000, None, "ok", "7\n"),
    "echo": ("fn main() {\n    println(input());\n}\n", "", 1_000_000, None, "ok", ""),
    "spin": ("fn main() {\n    var i = 0;\n    while true {\n        i += 1;\n    }\n}\n",
             "", 200_000_000, None, "exhausted", "fuel"),
    "panic": ('fn main() {\n    panic("boom");\n}\n', "", 1_000_000, None, "trap", "panic: boom"),
    "flood": ('fn main() {\n    while true {\n        print("0123456789abcdef");\n    }\n}\n',
              "", 50_000_000, 4096, "exhausted", "output"),
    "hog": ("fn main() {\n    var v = Vec[i64]();\n    while true {\n        v.push(1i64);\n"
            "    }\n}\n", "", 50_000_000, None, "exhausted", "arena"),
    "recurse": ("fn down(n: i32) -> i32 {\n    down(n + 1) + 1\n}\n\nfn main() {\n"
                "    println(down(0));\n}\n", "", 50_000_000, None, "exhausted", "stack"),
}
BENIGN = ("trivial", "echo")
HOSTILE = ("spin", "panic", "flood", "hog", "recurse")


# -- a minimal HTTP/1.1 client (keep-alive, Content-Length bodies) ---------------------------
# Small on purpose: on a 2-core machine the client shares the CPU with the server, and a general
# HTTP library would spend several times more of it per request.

class HttpError(Exception):
    pass


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def request(self, method: str, path: str, body: bytes | None = None,
                      headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}")
        if body is not None:
            lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b""))
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError) as err:
            await self.close()
            raise HttpError(f"connection closed: {err}") from None
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        length, close = 0, False
        for line in header_lines:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value.strip().lower() == "close":
                close = True
            elif name == "transfer-encoding":
                raise HttpError("chunked responses are not expected")
        data = await self.reader.readexactly(length)
        if close:
            await self.close()
        return status, data


def json_request(conn: Connection, method: str, path: str, key: str,
                 payload: dict[str, Any] | None = None) -> Any:
    body = None if payload is None else json.dumps(payload).encode()
    return conn.request(method, path, body, {"Authorization": f"Bearer {key}"})


# -- results ---------------------------------------------------------------------------------

@dataclass
class Report:
    elapsed_s: float = 0.0
    requests: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    benign_latencies_ms: list[float] = field(default_factory=list)
    by_program: Counter[str] = field(default_factory=Counter)
    throttled: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    acknowledged: list[dict[str, Any]] = field(default_factory=list)  # with record_receipts

    @property
    def failed(self) -> int:
        return sum(self.failures.values())

    def summary(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "elapsed_s": round(self.elapsed_s, 3),
            "requests_per_s": round(self.requests / self.elapsed_s, 1) if self.elapsed_s else None,
            "p50_ms": _round(percentile(self.latencies_ms, 50)),
            "p99_ms": _round(percentile(self.latencies_ms, 99)),
            "benign_p50_ms": _round(percentile(self.benign_latencies_ms, 50)),
            "benign_p99_ms": _round(percentile(self.benign_latencies_ms, 99)),
            "by_program": dict(sorted(self.by_program.items())),
            "throttled": self.throttled,
            "failures": self.failed,
            "failure_kinds": dict(self.failures.most_common(10)),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (an observed value); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


# -- the load --------------------------------------------------------------------------------

@dataclass(frozen=True)
class LoadConfig:
    duration_s: float = 10.0
    clients: int = 32
    hostile: float = 0.2
    max_requests: int = 1_000_000
    seed: int = 1
    record_receipts: bool = False
    programs: tuple[str, ...] = BENIGN + HOSTILE


def check_loopback(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme != "http" or parts.port is None:
        raise SystemExit(f"loadtest: {url!r}: give http://HOST:PORT")
    if host != "localhost":
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise SystemExit(f"loadtest: {host} is not a loopback address; refusing to send load")
    return host, parts.port


async def submit_programs(conn: Connection, key: str, names: tuple[str, ...]) -> dict[str, str]:
    ids: dict[str, str] = {}
    for name in names:
        status, body = await asyncio.wait_for(
            json_request(conn, "POST", "/v1/modules", key, {"source": PROGRAMS[name][0]}),
            REQUEST_TIMEOUT_S)
        if status not in (200, 201):
            raise SystemExit(f"loadtest: submitting {name} failed: {status} {body[:500]!r}")
        ids[name] = json.loads(body)["id"]
    return ids


def check_run(name: str, status: int, body: bytes, input_text: str) -> str | None:
    """None when the answer is what the program must give, else what is wrong."""
    if status != 200:
        return f"{name}: HTTP {status}"
    run = json.loads(body)
    _, _, _, _, want_status, want = PROGRAMS[name]
    if run["status"] != want_status:
        return f"{name}: status {run['status']} ({run.get('message')})"
    if want_status == "ok":
        expected = want or (input_text + "\n")
        if run["output"] != expected:
            return f"{name}: wrong output"
    elif want_status == "exhausted" and run["exhausted"] != want:
        return f"{name}: exhausted {run['exhausted']}"
    elif want_status == "trap" and want not in (run["message"] or ""):
        return f"{name}: trap {run['message']}"
    if not run.get("receipt_hash"):
        return f"{name}: no receipt"
    return None


async def run_load(url: str, keys: dict[str, str], config: LoadConfig) -> Report:
    """Send load for a bounded time; `keys` has "benign" and, for hostile runs, "hostile"."""
    host, port = check_loopback(url)
    benign = tuple(p for p in config.programs if p in BENIGN)
    hostile = tuple(p for p in config.programs if p in HOSTILE) if "hostile" in keys else ()
    setup = Connection(host, port)
    ids = await submit_programs(setup, keys["benign"], benign)
    if hostile:
        ids.update(await submit_programs(setup, keys["hostile"], hostile))
    await setup.close()

    report = Report()
    budget = [config.max_requests]
    start = time.perf_counter()
    deadline = start + config.duration_s
    hostile_share = config.hostile if hostile else 0.0

    async def client(number: int) -> None:
        rng = random.Random(config.seed * 1000 + number)
        conn = Connection(host, port)
        try:
            while time.perf_counter() < deadline and budget[0] > 0:
                budget[0] -= 1
                is_hostile = rng.random() < hostile_share
                name = rng.choice(hostile if is_hostile else benign)
                await one_request(conn, name, is_hostile, rng)
        finally:
            await conn.close()

    async def one_request(conn: Connection, name: str, is_hostile: bool,
                          rng: random.Random) -> None:
        _, input_text, fuel, output_limit, _, _ = PROGRAMS[name]
        if name == "echo":
            input_text = f"request {rng.randrange(10**9)}"
        payload: dict[str, Any] = {"module": ids[name], "input": input_text, "fuel": fuel}
        if output_limit is not None:
            payload["output_limit"] = output_limit
        key = keys["hostile" if is_hostile else "benign"]
        sent = time.perf_counter()
        try:
            status, body = await asyncio.wait_for(
                json_request(conn, "POST", "/v1/runs", key, payload), REQUEST_TIMEOUT_S)
        except (OSError, HttpError, asyncio.TimeoutError, asyncio.IncompleteReadError) as err:
            await conn.close()
            report.requests += 1
            report.failures[f"{name}: {type(err).__name__}"] += 1
            await asyncio.sleep(0.01)  # a dead server refuses at once: do not spin
            return
        latency = (time.perf_counter() - sent) * 1000
        report.requests += 1
        report.latencies_ms.append(latency)
        report.by_program[name] += 1
        if is_hostile and status == 429:
            report.throttled += 1
            return
        problem = check_run(name, status, body, input_text)
        if problem is not None:
            report.failures[problem] += 1
            return
        if not is_hostile:
            report.benign_latencies_ms.append(latency)
        if config.record_receipts:
            run = json.loads(body)
            report.acknowledged.append({"tenant": "hostile" if is_hostile else "benign",
                                        "receipt_hash": run["receipt_hash"],
                                        "receipt": run["receipt"], "run": run["id"]})

    await asyncio.gather(*(client(i) for i in range(config.clients)))
    report.elapsed_s = time.perf_counter() - start
    return report


# -- a server of our own ---------------------------------------------------------------------

class ServerProcess:
    """`syn serve --port 0` on a database in `folder`, with tenants made beforehand."""

    def __init__(self, folder: str, *, workers: int = 8, sync: str = "full",
                 tenants: dict[str, list[str]] | None = None) -> None:
        self.folder = folder
        self.db = os.path.join(folder, "gateway.db")
        self.workers = workers
        self.sync = sync
        self.keys: dict[str, str] = {}
        self.process: subprocess.Popen[str] | None = None
        self.url = ""
        for name, options in (tenants or {}).items():
            self.keys[name] = add_tenant(self.db, name, options)

    def start(self) -> str:
        env = dict(os.environ, SYN_CACHE_DIR=os.path.join(self.folder, "cache"))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "synapse.runtime.cli", "serve", "--port", "0",
             "--db", self.db, "--workers", str(self.workers), "--sync", self.sync],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        line = _read_line(self.process, START_TIMEOUT_S)
        if "listening on" not in line:
            self.stop()
            raise RuntimeError(f"the server did not start: {line!r}")
        self.url = line.split("listening on ", 1)[1].split()[0]
        return self.url

    def kill(self) -> None:
        """`kill -9`: no shutdown of any kind."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> str:
        """SIGTERM (graceful), then SIGKILL after 15 s; returns what the server wrote to stderr."""
        if self.process is None:
            return ""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            _, err = self.process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate(timeout=10)
        self.process = None
        return err or ""


def _read_line(process: subprocess.Popen[str], timeout: float) -> str:
    """The server's first stdout line, or "" if it exits or stays silent past `timeout`."""
    import selectors
    assert process.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(process.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            return ""
    return process.stdout.readline()


def add_tenant(db: str, name: str, options: list[str]) -> str:
    """`syn tenant add NAME OPTIONS --db DB`; returns the API key it printed."""
    done = subprocess.run([sys.executable, "-m", "synapse.runtime.cli", "tenant", "add", name,
                           "--db", db, *options], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"syn tenant add failed: {done.stderr}")
    return done.stdout.strip().splitlines()[-1]


def default_tenants(clients: int) -> dict[str, list[str]]:
    return {
        "benign": ["--concurrent-runs", str(max(clients, 1))],
        "hostile": ["--max-fuel-per-run", "200000000", "--fuel-per-second", "500000000"],
    }


# -- command line ----------------------------------------------------------------------------

def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/loadtest.py", description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="a running gateway on loopback (default: start one)")
    parser.add_argument("--key", help="the benign tenant's API key (with --url)")
    parser.add_argument("--hostile-key", help="the hostile tenant's API key (with --url)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds (default: 10)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (default: 32)")
    parser.add_argument("--hostile", type=float, default=0.2,
                        help="fraction of hostile runs (default: 0.2)")
    parser.add_argument("--max-requests", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=8, help="server worker threads (own server)")
    parser.add_argument("--sync", choices=("full", "normal"), default="full")
    parser.add_argument("--trivial-only", action="store_true", help="only the trivial program")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if not 0 < args.duration <= 3600 or args.clients < 1 or not 0 <= args.hostile <= 1:
        parser.error("need 0 < duration <= 3600, clients >= 1, 0 <= hostile <= 1")
    return args


def _install_uvloop() -> None:
    with contextlib.suppress(ImportError):
        import uvloop
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    config = LoadConfig(duration_s=args.duration, clients=args.clients,
                        hostile=0.0 if args.trivial_only else args.hostile,
                        max_requests=args.max_requests,
                        programs=("trivial",) if args.trivial_only else BENIGN + HOSTILE)
    _install_uvloop()
    server: ServerProcess | None = None
    with tempfile.TemporaryDirectory(prefix="syn-loadtest-") as folder:
        try:
            if args.url:
                if not args.key:
                    raise SystemExit("loadtest: --url needs --key")
                url, keys = args.url, {"benign": args.key}
                if args.hostile_key:
                    keys["hostile"] = args.hostile_key
            else:
                server = ServerProcess(folder, workers=args.workers, sync=args.sync,
                                       tenants=default_tenants(args.clients))
                url, keys = server.start(), server.keys
            report = asyncio.run(run_load(url, keys, config))
        finally:
            if server is not None:
                server.stop()
    summary = report.summary()
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"{summary['requests']} requests in {summary['elapsed_s']} s with "
              f"{args.clients} clients: {summary['requests_per_s']} requests/s")
        print(f"latency p50 {summary['p50_ms']} ms, p99 {summary['p99_ms']} ms "
              f"(benign runs: p50 {summary['benign_p50_ms']} ms, p99 {summary['benign_p99_ms']} ms)")
        print(f"programs: {summary['by_program']}")
        print(f"throttled (hostile tenant, 429): {summary['throttled']}; "
              f"failures: {summary['failures']}")
        for kind, count in summary["failure_kinds"].items():
            print(f"  {count} x {kind}")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())

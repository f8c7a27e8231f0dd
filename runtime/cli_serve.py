"""`syn serve` (the gateway) and `syn tenant add | list` (its tenants), for runtime/cli.py.

`syn serve` binds the listening socket itself (so `--port 0` picks a free port), starts uvicorn
on it with the gateway app, and prints one line `syn serve: listening on http://HOST:PORT` on
standard output once the app has started and requests are being answered. `syn tenant add NAME`
creates a tenant in the database and prints its API key on standard output: the only time the
key is ever shown (the database keeps its SHA-256).

Exit codes follow runtime/cli.py: 0 success, 1 the server could not start, 2 usage errors.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import socket
import sys
from typing import Any

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

DEFAULT_DB = "syn-gateway.db"
DEFAULT_WORKERS = 8


def _err(text: str) -> None:
    print(text, file=sys.stderr)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _quota_value(text: str) -> int:
    from synapse.runtime.cli import parse_size  # sizes like 1MiB; plain integers too
    value = parse_size(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"invalid value {text!r} (a positive integer)")
    return value


# -- syn serve --------------------------------------------------------------------------------

def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from synapse.runtime.gateway import GatewayConfig, create_app
        from synapse.runtime.gateway.store import Store, StoreError
    except ImportError as err:
        _err(f"syn: error: the gateway needs the 'serve' extra "
             f"(pip install 'synapse-lang[serve]'): {err}")
        return EXIT_USAGE
    if args.workers < 1:
        _err("syn: error: --workers must be at least 1")
        return EXIT_USAGE
    if not _is_loopback(args.host):
        _err(f"syn serve: warning: listening on {args.host}, reachable beyond this machine")
    try:  # fail here, with a plain message, rather than inside the server's startup
        probe = Store(args.db, sync=args.sync)
        probe.open()
        probe.close()
    except (StoreError, OSError, Exception) as err:
        _err(f"syn: error: cannot use database {args.db}: {err}")
        return EXIT_FAILED
    try:
        sock = _bind(args.host, args.port)
    except OSError as err:
        _err(f"syn: error: cannot listen on {args.host}:{args.port}: {err.strerror or err}")
        return EXIT_FAILED
    host, port = sock.getsockname()[:2]
    config = GatewayConfig(db_path=args.db, workers=args.workers, sync=args.sync)
    shown = f"[{host}]" if ":" in host else host
    banner = (f"syn serve: listening on http://{shown}:{port} "
              f"(database {args.db}, {args.workers} workers, sync {args.sync})")

    class Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets=sockets)
            if self.started:
                print(banner, flush=True)

    server = Server(uvicorn.Config(create_app(config), log_level=args.log_level,
                                   access_log=False, lifespan="on",
                                   timeout_graceful_shutdown=10))
    server.run(sockets=[sock])
    return EXIT_OK if server.started else EXIT_FAILED


# -- syn tenant -------------------------------------------------------------------------------

def cmd_tenant_add(args: argparse.Namespace) -> int:
    from synapse.runtime.gateway.auth import hash_key, new_api_key
    from synapse.runtime.gateway.quotas import Quotas
    from synapse.runtime.gateway.store import StoreError, add_tenant, connect, create_schema
    quotas = {name: getattr(args, name) for name in Quotas.names()
              if getattr(args, name) is not None}
    key = new_api_key()
    try:
        conn = connect(args.db)
        try:
            create_schema(conn)
            add_tenant(conn, args.name, hash_key(key), quotas)
        finally:
            conn.close()
    except ValueError as err:
        _err(f"syn: error: {err}")
        return EXIT_USAGE
    except (StoreError, OSError, Exception) as err:
        _err(f"syn: error: cannot use database {args.db}: {err}")
        return EXIT_FAILED
    _err(f"syn tenant: added {args.name!r}; its API key (shown only this once):")
    print(key, flush=True)
    return EXIT_OK


def cmd_tenant_list(args: argparse.Namespace) -> int:
    from synapse.runtime.gateway.store import connect, create_schema, list_tenants
    if not os.path.exists(args.db):
        _err(f"syn: error: no database {args.db}")
        return EXIT_USAGE
    conn = connect(args.db)
    try:
        create_schema(conn)
        for tenant in list_tenants(conn):
            limits = " ".join(f"{k}={v}" for k, v in tenant.quotas.to_json().items())
            print(f"{tenant.name}\t{limits}")
    finally:
        conn.close()
    return EXIT_OK


# -- argument parsing ------------------------------------------------------------------------

def add_serve_commands(sub: Any) -> None:
    """Add `serve` and `tenant` to the `syn` subcommand parsers."""
    serve = sub.add_parser("serve", help="run the gateway: an HTTP service running .syn for tenants",
                           description="Serve the gateway HTTP API (spec/13-gateway.md).")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    serve.add_argument("--port", type=int, default=None,
                       help="port (default: 8470; 0 picks a free one)")
    serve.add_argument("--db", default=DEFAULT_DB, metavar="PATH",
                       help="SQLite database (default: %(default)s)")
    serve.add_argument("--workers", type=int, default=DEFAULT_WORKERS, metavar="N",
                       help="threads running programs (default: %(default)s)")
    serve.add_argument("--sync", choices=("full", "normal"), default="full",
                       help="full: answered receipts survive power loss; normal: only a crash "
                            "of the server (default: %(default)s)")
    serve.add_argument("--log-level", default="warning",
                       choices=("critical", "error", "warning", "info", "debug"))
    serve.set_defaults(handler=_serve_with_default_port)

    tenant = sub.add_parser("tenant", help="add or list the gateway's tenants",
                            description="Manage the tenants of a gateway database.")
    actions = tenant.add_subparsers(dest="tenant_command", metavar="ACTION")
    actions.required = True
    add = actions.add_parser("add", help="add a tenant and print its new API key once",
                             description="Add a tenant; its API key is printed once.")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--db", default=DEFAULT_DB, metavar="PATH",
                     help="SQLite database (default: %(default)s)")
    from synapse.runtime.gateway.quotas import Quotas
    defaults = Quotas()
    for name in Quotas.names():
        add.add_argument("--" + name.replace("_", "-"), dest=name, type=_quota_value,
                         metavar="N", help=f"quota (default: {getattr(defaults, name)})")
    add.set_defaults(handler=cmd_tenant_add)
    listing = actions.add_parser("list", help="list tenants and their quotas")
    listing.add_argument("--db", default=DEFAULT_DB, metavar="PATH")
    listing.set_defaults(handler=cmd_tenant_list)


def _serve_with_default_port(args: argparse.Namespace) -> int:
    if args.port is None:
        from synapse.runtime.gateway import DEFAULT_PORT
        args.port = DEFAULT_PORT
    return cmd_serve(args)

"""Helpers for the gateway tests: an app on a fresh database, tenants, and a loaded client.

`gateway` starts the app in process (Starlette's TestClient runs its lifespan), on a database in
the test's temporary folder, and offers `tenant(name, **quotas)` that adds a tenant and returns
a client whose requests carry its API key. Sources are compiled by the real compiler.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

from starlette.testclient import TestClient  # noqa: E402

from synapse.runtime.gateway import GatewayConfig, create_app  # noqa: E402
from synapse.runtime.gateway.auth import hash_key, new_api_key  # noqa: E402
from synapse.runtime.gateway.store import add_tenant, connect, create_schema  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]

ECHO = "fn main() {\n    println(input());\n}\n"
SEVEN = "fn main() {\n    println(7);\n}\n"
SPIN = "fn main() {\n    var i = 0;\n    while true {\n        i += 1;\n    }\n}\n"
PANIC = 'fn main() {\n    panic("boom");\n}\n'
FLOOD = 'fn main() {\n    while true {\n        print("0123456789");\n    }\n}\n'


class TenantClient:
    """Requests on behalf of one tenant (its key in every request)."""

    def __init__(self, client: TestClient, name: str, key: str) -> None:
        self.client, self.name, self.key = client, name, key
        self.headers = {"Authorization": f"Bearer {key}"}

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(path, headers=self.headers, **kw)

    def post(self, path: str, payload: Any = None, **kw: Any) -> Any:
        return self.client.post(path, json=payload, headers=self.headers, **kw)

    def submit(self, source: str, **fields: Any) -> str:
        response = self.post("/v1/modules", {"source": source, **fields})
        assert response.status_code in (200, 201), response.text
        return str(response.json()["id"])

    def run(self, module: str, **fields: Any) -> Any:
        return self.post("/v1/runs", {"module": module, **fields})


class Gateway:
    def __init__(self, client: TestClient, db: str) -> None:
        self.client, self.db = client, db

    def tenant(self, name: str, **quotas: int) -> TenantClient:
        key = new_api_key()
        conn = connect(self.db)
        try:
            add_tenant(conn, name, hash_key(key), quotas)
        finally:
            conn.close()
        return TenantClient(self.client, name, key)


def make_db(path: Path) -> str:
    db = str(path / "gateway.db")
    conn = connect(db)
    create_schema(conn)
    conn.close()
    return db


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    db = make_db(tmp_path)
    app = create_app(GatewayConfig(db_path=db, workers=4, sync="normal", cache_dir=False))
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as client:
        yield Gateway(client, db)


def load_loadtest() -> ModuleType:
    """scripts/loadtest.py as a module (its server helper and client)."""
    name = "synapse_loadtest"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / "loadtest.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


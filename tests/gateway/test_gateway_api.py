"""The gateway's HTTP API in process: modules, runs, receipts, auth, isolation, errors, OpenAPI.

Every test starts the app on a fresh database (the `gateway` fixture) and talks to it as tenants
would. Receipts are checked with `synapse.runtime.receipts`, independently of the gateway.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sqlite3
from pathlib import Path

import pytest

from gateway_support import ECHO, FLOOD, PANIC, ROOT, SEVEN, SPIN, Gateway

from synapse.runtime import receipts
from synapse.runtime.gateway.app import ROUTES
from synapse.runtime.gateway.errors import ERROR_CODES


def error_code(response: object) -> str:
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"}, body
    return str(body["error"]["code"])


# -- modules ----------------------------------------------------------------------------------

def test_a_source_is_compiled_once_and_named_by_its_content(gateway: Gateway) -> None:
    alice = gateway.tenant("alice")
    first = alice.post("/v1/modules", {"source": ECHO})
    assert first.status_code == 201
    again = alice.post("/v1/modules", {"source": ECHO})
    assert again.status_code == 200  # already there: not added twice
    assert first.json()["id"] == again.json()["id"]
    assert len(first.json()["id"]) == 64
    wasm = alice.get(f"/v1/modules/{first.json()['id']}").json()
    assert wasm["source"] == ECHO and wasm["arena"] == 65536
    assert alice.post("/v1/modules", {"source": SEVEN}).json()["id"] != first.json()["id"]
    listed = alice.get("/v1/modules").json()["modules"]
    assert {m["id"] for m in listed} == {first.json()["id"],
                                         alice.post("/v1/modules", {"source": SEVEN}).json()["id"]}


def test_compile_errors_come_back_as_diagnostics_of_main_syn(gateway: Gateway) -> None:
    alice = gateway.tenant("alice")
    response = alice.post("/v1/modules", {"source": "fn main() {\n    let x: i32 = true;\n}\n"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "compile_error"
    [diagnostic] = error["diagnostics"]
    # `true` starts at column 18 of line 2 ("    let x: i32 = " is 17 characters).
    assert (diagnostic["code"], diagnostic["file"], diagnostic["line"], diagnostic["col"]) == (
        "E0201", "main.syn", 2, 18)
    assert error["rendered"].startswith("main.syn:2:18: error[E0201]")
    # The same broken source again is answered from the cache of failed compiles, identically.
    assert alice.post("/v1/modules", {"source": "fn main() {\n    let x: i32 = true;\n}\n"}
                      ).json() == response.json()


def test_imports_reach_the_stdlib_but_no_file_of_the_server(
        gateway: Gateway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    alice = gateway.tenant("alice")
    uses_stdlib = "import strings;\n\nfn main() {\n    println(\"ok\");\n}\n"
    assert alice.post("/v1/modules", {"source": uses_stdlib}).status_code == 201
    # A module in the server's working directory: a program compiled as a plain "main.syn"
    # would import it from there; a submitted program must not reach it.
    (tmp_path / "secret.syn").write_text("fn value() -> i32 {\n    42\n}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    response = alice.post("/v1/modules", {"source": "import secret;\n\nfn main() {}\n"})
    assert response.status_code == 422
    assert response.json()["error"]["diagnostics"][0]["code"] == "E0104"


# -- runs and receipts ------------------------------------------------------------------------

def test_a_run_answers_its_output_and_a_receipt_that_verifies(gateway: Gateway) -> None:
    alice = gateway.tenant("alice")
    module = alice.submit(ECHO)
    response = alice.run(module, input="hello gateway", fuel=1_000_000)
    assert response.status_code == 200, response.text
    run = response.json()
    assert (run["status"], run["output"], run["output_encoding"]) == ("ok", "hello gateway\n", "utf-8")
    assert run["fuel_budget"] == 1_000_000 and 0 < run["fuel_used"] < 1_000_000
    receipt = run["receipt"]
    assert receipts.receipt_hash(receipt) == run["receipt_hash"]
    assert receipt["input_sha256"] == hashlib.sha256(b"hello gateway").hexdigest()
    assert receipt["output_sha256"] == hashlib.sha256(b"hello gateway\n").hexdigest()
    assert receipt["fuel_budget"] == 1_000_000 and receipt["prev"] is None
    wasm_sha = alice.get(f"/v1/modules/{module}").json()["wasm_sha256"]
    assert receipt["module_sha256"] == wasm_sha
    # Fetched, the receipt is the canonical bytes its hash is computed over.
    fetched = alice.get(f"/v1/receipts/{run['receipt_hash']}")
    assert fetched.status_code == 200
    assert fetched.content == receipts.canonical_json(receipt)
    verdict = alice.post(f"/v1/receipts/{run['receipt_hash']}/verify").json()
    assert verdict == {"receipt": run["receipt_hash"], "ok": True, "mismatches": [],
                       "hash_ok": True, "prev": None}
    stored = alice.get(f"/v1/runs/{run['id']}").json()
    assert stored["output"] == "hello gateway\n" and stored["receipt_hash"] == run["receipt_hash"]


def test_each_tenants_receipts_form_a_chain(gateway: Gateway) -> None:
    alice, bob = gateway.tenant("alice"), gateway.tenant("bob")
    module_a, module_b = alice.submit(SEVEN), bob.submit(SEVEN)
    hashes = []
    for number in range(4):
        hashes.append(alice.run(module_a).json()["receipt_hash"])
        if number == 1:
            bob_first = bob.run(module_b).json()["receipt"]
    chain = [json.loads(alice.get(f"/v1/receipts/{h}").content) for h in hashes]
    assert [r["prev"] for r in chain] == [None, *hashes[:-1]]
    assert receipts.verify_chain(chain) == []
    assert bob_first["prev"] is None  # bob's chain is his own
    verdict = alice.post(f"/v1/receipts/{hashes[2]}/verify").json()
    assert verdict["ok"] and verdict["prev"] == hashes[1]


def test_traps_and_limits_are_results_with_receipts(gateway: Gateway) -> None:
    alice = gateway.tenant("alice")
    panic = alice.run(alice.submit(PANIC), fuel=1_000_000).json()
    assert (panic["status"], panic["message"], panic["function"]) == ("trap", "panic: boom", "main.main")
    assert panic["receipt"]["trap"] == "panic"
    spin = alice.run(alice.submit(SPIN), fuel=100_000).json()
    assert (spin["status"], spin["exhausted"], spin["fuel_used"]) == ("exhausted", "fuel", 100_000)
    flood = alice.run(alice.submit(FLOOD), fuel=10_000_000, output_limit=100).json()
    assert (flood["status"], flood["exhausted"]) == ("exhausted", "output")
    assert len(flood["output"]) <= 100
    for run in (panic, spin, flood):
        verdict = alice.post(f"/v1/receipts/{run['receipt_hash']}/verify").json()
        assert verdict["ok"], verdict


def test_binary_input_and_output_travel_as_base64(gateway: Gateway) -> None:
    alice = gateway.tenant("alice")
    module = alice.submit(ECHO)
    raw = bytes([0xFF, 0x00, 0x80])
    run = alice.run(module, input_b64=base64.b64encode(raw).decode()).json()
    assert run["output_encoding"] == "base64"
    assert base64.b64decode(run["output"]) == raw + b"\n"


def test_runs_are_listed_newest_first_in_pages(gateway: Gateway) -> None:
    alice = gateway.tenant("alice")
    module = alice.submit(ECHO)
    ids = [alice.run(module, input=str(n)).json()["id"] for n in range(5)]
    page = alice.get("/v1/runs", params={"limit": 3}).json()
    assert [r["id"] for r in page["runs"]] == ids[::-1][:3]
    rest = alice.get("/v1/runs", params={"limit": 3, "before": page["next"]}).json()
    assert [r["id"] for r in rest["runs"]] == ids[::-1][3:]


# -- authentication and isolation -------------------------------------------------------------

def test_requests_without_a_valid_key_are_unauthorized(gateway: Gateway) -> None:
    gateway.tenant("alice")
    client = gateway.client
    for headers in ({}, {"Authorization": "Bearer syn_not-a-key"}, {"Authorization": "Basic x"}):
        response = client.post("/v1/modules", json={"source": SEVEN}, headers=headers)
        assert response.status_code == 401 and error_code(response) == "unauthorized"
        assert response.headers["www-authenticate"] == "Bearer"
    assert client.get("/v1/health").json() == {"status": "ok"}  # public
    assert client.get("/v1/tenant").status_code == 401


def test_a_tenant_can_read_its_own_quotas(gateway: Gateway) -> None:
    small = gateway.tenant("small", concurrent_runs=2)
    me = small.get("/v1/tenant").json()
    assert me["name"] == "small" and me["runs_in_flight"] == 0
    assert me["quotas"]["concurrent_runs"] == 2 and me["quotas"]["max_request_bytes"] == 1 << 20


def test_api_keys_are_stored_only_as_hashes(gateway: Gateway) -> None:
    alice = gateway.tenant("alice")
    conn = sqlite3.connect(gateway.db)
    try:
        stored = conn.execute("SELECT key_hash FROM tenants WHERE name = 'alice'").fetchone()[0]
    finally:
        conn.close()
    assert stored == hashlib.sha256(alice.key.encode()).hexdigest()
    with open(gateway.db, "rb") as f:
        assert alice.key.encode() not in f.read()


def test_a_tenant_sees_only_its_own_modules_runs_and_receipts(gateway: Gateway) -> None:
    alice, bob = gateway.tenant("alice"), gateway.tenant("bob")
    module = alice.submit(ECHO)
    run = alice.run(module, input="secret").json()
    for path in (f"/v1/modules/{module}", f"/v1/runs/{run['id']}",
                 f"/v1/receipts/{run['receipt_hash']}"):
        response = bob.get(path)
        assert response.status_code == 404 and error_code(response) == "not_found", path
    assert error_code(bob.run(module)) == "not_found"
    assert error_code(bob.post(f"/v1/receipts/{run['receipt_hash']}/verify")) == "not_found"
    assert bob.get("/v1/runs").json()["runs"] == []
    assert bob.get("/v1/modules").json()["modules"] == []
    # Submitting the same source gives bob the same content hash, and then it is his too,
    # but alice's runs stay hers.
    assert bob.submit(ECHO) == module
    assert bob.run(module, input="mine").json()["output"] == "mine\n"
    assert [r["id"] for r in bob.get("/v1/runs").json()["runs"]] != [run["id"]]
    assert bob.get(f"/v1/runs/{run['id']}").status_code == 404


# -- errors and limits ------------------------------------------------------------------------

def test_malformed_requests_have_stable_error_codes(gateway: Gateway) -> None:
    alice = gateway.tenant("alice")
    client, headers = gateway.client, alice.headers
    assert error_code(client.get("/v1/nowhere")) == "not_found"
    assert error_code(client.delete("/v1/modules", headers=headers)) == "method_not_allowed"
    assert error_code(client.post("/v1/modules", content=b"{", headers={
        **headers, "Content-Type": "application/json"})) == "bad_request"
    assert error_code(client.post("/v1/modules", content=b"source=x", headers={
        **headers, "Content-Type": "text/plain"})) == "unsupported_media_type"
    assert error_code(alice.post("/v1/modules", [1, 2])) == "bad_request"
    assert error_code(alice.post("/v1/modules", {"source": 5})) == "bad_request"
    assert error_code(alice.post("/v1/runs", {})) == "bad_request"
    module = alice.submit(ECHO)
    assert error_code(alice.run(module, fuel=0)) == "bad_request"
    assert error_code(alice.run(module, fuel=True)) == "bad_request"
    assert error_code(alice.run(module, input="a", input_b64="YQ==")) == "bad_request"
    assert error_code(alice.run(module, input_b64="***")) == "bad_request"
    assert error_code(alice.get("/v1/runs", params={"limit": 0})) == "bad_request"
    assert error_code(alice.get("/v1/runs/run_0")) == "not_found"


def test_error_codes_are_the_documented_table() -> None:
    # spec/13-gateway.md documents every code with its HTTP status; a code is never renamed.
    text = (ROOT / "spec" / "13-gateway.md").read_text(encoding="utf-8")
    documented = dict(re.findall(r"^\| `([a-z_]+)` \| (\d{3}) \|", text, flags=re.M))
    assert documented == {code: str(status) for code, (status, _) in ERROR_CODES.items()}
    assert {"not_found": 404, "unauthorized": 401, "quota_fuel": 429}.items() <= {
        code: status for code, (status, _) in ERROR_CODES.items()}.items()


def test_per_run_limits_above_the_quota_are_refused(gateway: Gateway) -> None:
    small = gateway.tenant("small", max_fuel_per_run=1_000_000, max_output_bytes=1000,
                           max_arena_bytes=65536)
    module = small.submit(SEVEN)
    response = small.run(module, fuel=1_000_001)
    assert response.status_code == 422 and response.json()["error"]["limit"] == "max_fuel_per_run"
    assert small.run(module, output_limit=1001).json()["error"]["limit"] == "max_output_bytes"
    assert small.run(module).json()["fuel_budget"] == 1_000_000  # the default is the quota
    big_arena = "arena 1 MiB;\n\nfn main() {}\n"
    response = small.post("/v1/modules", {"source": big_arena})
    assert response.status_code == 422 and response.json()["error"]["limit"] == "max_arena_bytes"


def test_request_bodies_above_the_quota_are_refused(gateway: Gateway) -> None:
    small = gateway.tenant("small", max_request_bytes=200)
    response = small.post("/v1/modules", {"source": SEVEN + "// " + "x" * 300 + "\n"})
    assert response.status_code == 413 and error_code(response) == "request_too_large"
    assert small.post("/v1/modules", {"source": SEVEN}).status_code == 201


def test_fuel_rate_quota_refuses_a_tenant_in_debt_until_it_is_repaid(gateway: Gateway) -> None:
    # One million fuel per second, each spin burns one million: the bucket (one second's fuel)
    # is empty after the first run and in debt after the second, whatever the timing.
    slow = gateway.tenant("slow", fuel_per_second=1_000_000, max_fuel_per_run=1_000_000)
    module = slow.submit(SPIN)
    codes = [slow.run(module).status_code for _ in range(3)]
    assert codes[0] == 200 and codes[-1] == 429, codes
    refused = slow.run(module)
    assert refused.status_code == 429 and error_code(refused) == "quota_fuel"
    assert int(refused.headers["retry-after"]) >= 1
    # Another tenant is unaffected.
    other = gateway.tenant("other")
    assert other.run(other.submit(SPIN), fuel=1_000_000).status_code == 200


# -- OpenAPI ----------------------------------------------------------------------------------

def test_the_openapi_document_describes_every_route(gateway: Gateway) -> None:
    document = gateway.client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    described = {(path, method.upper()) for path, item in document["paths"].items()
                 for method in item}
    served = {(route.path, method) for route in ROUTES for method in route.methods or ()
              if method != "HEAD"}
    assert described == served
    enum = document["components"]["schemas"]["Error"]["properties"]["error"]["properties"][
        "code"]["enum"]
    assert enum == list(ERROR_CODES)
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status in operation["responses"]:
                assert status.isdigit(), (path, method, status)

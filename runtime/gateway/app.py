"""The gateway's HTTP interface: a Starlette app over `Gateway` (see spec/13-gateway.md).

Takes HTTP requests, authenticates them by API key, reads and checks their JSON bodies within the
tenant's request-size limit, calls the `Gateway` operation, and answers JSON. Every error is a
JSON body with a stable code from `errors.ERROR_CODES`, including unknown routes, wrong methods
and unexpected failures (which never show a traceback to the client).

Starlette on uvicorn: ASGI keeps the app a plain function of requests that tests drive in
process (`TestClient`) and uvicorn serves with its C parser (httptools) and uvloop when present;
the framework adds little beyond routing, so the per-request cost is the gateway's own.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from synapse.runtime.gateway.errors import ApiError
from synapse.runtime.gateway.openapi import openapi_document
from synapse.runtime.gateway.service import Gateway, GatewayConfig, RunOutcome
from synapse.runtime.gateway.store import RunRow, Tenant

log = logging.getLogger("synapse.gateway")

MAX_LIST = 100


# -- request helpers --------------------------------------------------------------------------

def _gateway(request: Request) -> Gateway:
    return request.app.state.gateway  # type: ignore[no-any-return]


def _tenant(request: Request) -> Tenant:
    return _gateway(request).auth.tenant(request.headers.get("authorization"))


async def read_json(request: Request, limit: int) -> dict[str, Any]:
    """The body as a JSON object, read no further than `limit` bytes."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/json":
        raise ApiError("unsupported_media_type", "send the body as application/json")
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise ApiError("bad_request", "invalid Content-Length")
        if int(declared) > limit:
            raise _too_large(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _too_large(limit)
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError) as err:
        raise ApiError("bad_request", f"the body is not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise ApiError("bad_request", "the body must be a JSON object")
    return data


def _too_large(limit: int) -> ApiError:
    return ApiError("request_too_large", f"the body is larger than {limit} bytes", limit=limit)


def _field(data: dict[str, Any], name: str, kind: type, *, required: bool = False) -> Any:
    value = data.get(name)
    if value is None:
        if required:
            raise ApiError("bad_request", f"missing field {name!r}")
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ApiError("bad_request", f"field {name!r} must be {_KIND_NAMES[kind]}")
    return value


_KIND_NAMES = {str: "a string", int: "an integer", dict: "an object"}


def _positive(data: dict[str, Any], name: str) -> int | None:
    value = _field(data, name, int)
    if value is not None and value <= 0:
        raise ApiError("bad_request", f"field {name!r} must be a positive integer")
    return value


def _input_bytes(data: dict[str, Any]) -> bytes:
    text = _field(data, "input", str)
    encoded = _field(data, "input_b64", str)
    if text is not None and encoded is not None:
        raise ApiError("bad_request", "give 'input' or 'input_b64', not both")
    if encoded is not None:
        try:
            return base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise ApiError("bad_request", "field 'input_b64' is not valid base64") from None
    try:
        return (text or "").encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate escape in the JSON string
        raise ApiError("bad_request", "field 'input' is not valid Unicode; use 'input_b64'") from None


def _limit(request: Request) -> int:
    text = request.query_params.get("limit", "20")
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIST:
        raise ApiError("bad_request", f"limit must be an integer from 1 to {MAX_LIST}")
    return int(text)


def _output_json(output: bytes) -> dict[str, str]:
    try:
        return {"output": output.decode("utf-8"), "output_encoding": "utf-8"}
    except UnicodeDecodeError:
        return {"output": base64.b64encode(output).decode("ascii"), "output_encoding": "base64"}


def _run_json(row: RunRow) -> dict[str, Any]:
    return {"id": row.id, "module": row.module_id, "status": row.status, **_output_json(row.output),
            "message": row.message, "function": row.function, "exhausted": row.exhausted,
            "fuel_used": row.fuel_used, "fuel_budget": row.fuel_budget,
            "output_limit": row.output_limit, "receipt_hash": row.receipt_hash,
            "created": row.created}


def _outcome_json(outcome: RunOutcome) -> dict[str, Any]:
    result, recorded = outcome.result, outcome.recorded
    return {"id": recorded.run_id, "module": outcome.module_id, "status": result.status,
            **_output_json(result.output), "message": result.message,
            "function": result.function, "exhausted": result.exhausted,
            "fuel_used": result.fuel_used, "fuel_budget": outcome.fuel_budget,
            "output_limit": outcome.output_limit, "receipt_hash": recorded.receipt_hash,
            "receipt": recorded.receipt, "created": recorded.created}


# -- handlers ---------------------------------------------------------------------------------

async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def openapi(request: Request) -> Response:
    return JSONResponse(openapi_document())


async def whoami(request: Request) -> Response:
    tenant = _tenant(request)
    gate = _gateway(request).gates.get(tenant.id, tenant.quotas)
    return JSONResponse({"name": tenant.name, "quotas": tenant.quotas.to_json(),
                         "runs_in_flight": gate.active})


async def submit_module(request: Request) -> Response:
    tenant = _tenant(request)
    data = await read_json(request, tenant.quotas.max_request_bytes)
    source = _field(data, "source", str, required=True)
    arena = _positive(data, "arena")
    module, added = await _gateway(request).submit_module(tenant, source, arena)
    return JSONResponse({"id": module.id, "arena": module.arena, "wasm_bytes": len(module.wasm),
                         "wasm_sha256": module.wasm_sha256, "created": module.created},
                        status_code=201 if added else 200)


async def list_modules(request: Request) -> Response:
    tenant = _tenant(request)
    rows = _gateway(request).store.list_modules(tenant.id, _limit(request))
    return JSONResponse({"modules": [{"id": i, "arena": a, "created": c} for i, a, c in rows]})


async def get_module(request: Request) -> Response:
    tenant = _tenant(request)
    module = _gateway(request).owned_module(tenant, request.path_params["module_id"])
    return JSONResponse({"id": module.id, "arena": module.arena, "wasm_bytes": len(module.wasm),
                         "wasm_sha256": module.wasm_sha256, "created": module.created,
                         "source": module.source})


async def create_run(request: Request) -> Response:
    tenant = _tenant(request)
    data = await read_json(request, tenant.quotas.max_request_bytes)
    module_id = _field(data, "module", str, required=True)
    outcome = await _gateway(request).run(
        tenant, module_id, _input_bytes(data), fuel=_positive(data, "fuel"),
        output_limit=_positive(data, "output_limit"))
    return JSONResponse(_outcome_json(outcome))


async def list_runs(request: Request) -> Response:
    tenant = _tenant(request)
    before_text = request.query_params.get("before")
    if before_text is not None and not before_text.isdigit():
        raise ApiError("bad_request", "before must be a cursor from a previous page ('next')")
    rows = _gateway(request).store.list_runs(tenant.id, _limit(request),
                                             int(before_text) if before_text else None)
    return JSONResponse({"runs": [_run_json(row) for row in rows],
                         "next": rows[-1].seq if rows else None})


async def get_run(request: Request) -> Response:
    tenant = _tenant(request)
    row = _gateway(request).store.run(tenant.id, request.path_params["run_id"])
    if row is None:
        raise ApiError("not_found", f"no run {request.path_params['run_id']!r}")
    return JSONResponse(_run_json(row))


async def get_receipt(request: Request) -> Response:
    tenant = _tenant(request)
    row = _gateway(request).store.receipt(tenant.id, request.path_params["receipt_hash"])
    if row is None:
        raise ApiError("not_found", f"no receipt {request.path_params['receipt_hash']!r}")
    # The stored canonical bytes, unchanged: hashing them gives the receipt's hash.
    return Response(row.body, media_type="application/json")


async def verify_receipt(request: Request) -> Response:
    tenant = _tenant(request)
    report = await _gateway(request).verify(tenant, request.path_params["receipt_hash"])
    return JSONResponse(report)


ROUTES = [  # the hot route first: routes are matched in order
    Route("/v1/runs", create_run, methods=["POST"]),
    Route("/v1/runs", list_runs, methods=["GET"]),
    Route("/v1/runs/{run_id}", get_run, methods=["GET"]),
    Route("/v1/modules", submit_module, methods=["POST"]),
    Route("/v1/modules", list_modules, methods=["GET"]),
    Route("/v1/modules/{module_id}", get_module, methods=["GET"]),
    Route("/v1/receipts/{receipt_hash}", get_receipt, methods=["GET"]),
    Route("/v1/receipts/{receipt_hash}/verify", verify_receipt, methods=["POST"]),
    Route("/v1/tenant", whoami, methods=["GET"]),
    Route("/v1/health", health, methods=["GET"]),
    Route("/openapi.json", openapi, methods=["GET"]),
]


# -- errors -----------------------------------------------------------------------------------

async def on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "request_too_large",
               415: "unsupported_media_type"}


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "bad_request")
    message = "no such route" if code == "not_found" else str(exc.detail)
    error = ApiError(code, message)
    return JSONResponse(error.body(), status_code=error.status, headers=exc.headers)


async def on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    error = ApiError("internal", "unexpected error; nothing was recorded for this request")
    return JSONResponse(error.body(), status_code=error.status)


# -- the app ----------------------------------------------------------------------------------

def create_app(config: GatewayConfig) -> Starlette:
    """The gateway app; the store opens when the app starts (ASGI lifespan) and closes after."""
    gateway = Gateway(config)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        gateway.start()
        try:
            yield
        finally:
            gateway.stop()

    app = Starlette(routes=ROUTES, lifespan=lifespan, exception_handlers={
        ApiError: on_api_error, HTTPException: on_http_error, Exception: on_unexpected})
    app.state.gateway = gateway
    return app

"""The gateway's OpenAPI 3.1 description, served at `GET /openapi.json`.

Written by hand beside the routes in `app.py` (a test checks that the two list the same paths
and methods, and that the error-code enum is `errors.ERROR_CODES`), so it says what each
operation takes and answers without tying the app to a schema library.
"""

from __future__ import annotations

import functools
from typing import Any

from synapse.runtime.gateway.errors import ERROR_CODES
from synapse.runtime.gateway.quotas import Quotas

VERSION = "1.0.0"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: str) -> dict[str, Any]:
    """Response entries for the HTTP statuses of the given error codes."""
    by_status: dict[str, list[str]] = {}
    for code in codes:
        by_status.setdefault(str(ERROR_CODES[code][0]), []).append(code)
    return {status: _json(_ref("Error"), "error: " + ", ".join(names))
            for status, names in sorted(by_status.items())}


_AUTH_ERRORS = ("unauthorized", "internal")
_BODY_ERRORS = ("bad_request", "request_too_large", "unsupported_media_type")


def _operation(summary: str, ok: dict[str, Any], *errors: str, body: str | None = None,
               params: tuple[str, ...] = (), query: tuple[str, ...] = (),
               public: bool = False) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {**ok, **_errors(*errors)}}
    if public:
        op["security"] = []
    parameters = [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                  for p in params]
    parameters += [_QUERY[q] for q in query]
    if parameters:
        op["parameters"] = parameters
    if body is not None:
        op["requestBody"] = {"required": True,
                             "content": {"application/json": {"schema": _ref(body)}}}
    return op


_QUERY = {
    "limit": {"name": "limit", "in": "query", "required": False,
              "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}},
    "before": {"name": "before", "in": "query", "required": False,
               "description": "the `next` cursor of the previous page",
               "schema": {"type": "integer"}},
}

_NULLABLE_STR = {"type": ["string", "null"]}

_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object", "required": ["error"],
        "properties": {"error": {
            "type": "object", "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "enum": list(ERROR_CODES)},
                "message": {"type": "string"},
                "diagnostics": {"type": "array", "items": _ref("Diagnostic"),
                                "description": "compile_error only"},
                "rendered": {"type": "string", "description": "compile_error only"},
                "limit": {"description": "the quota or limit that refused the request"},
                "retry_after_s": {"type": "number", "description": "quota_fuel only"},
            }}},
    },
    "Diagnostic": {
        "type": "object",
        "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                       "file": {"type": "string"}, "line": {"type": "integer"},
                       "col": {"type": "integer"}, "end_line": {"type": "integer"},
                       "end_col": {"type": "integer"}},
    },
    "Quotas": {
        "type": "object",
        "properties": {name: {"type": "integer"} for name in Quotas.names()},
    },
    "Tenant": {
        "type": "object",
        "properties": {"name": {"type": "string"}, "quotas": _ref("Quotas"),
                       "runs_in_flight": {"type": "integer"}},
    },
    "ModuleSubmission": {
        "type": "object", "required": ["source"],
        "properties": {"source": {"type": "string", "description": "the `.syn` program"},
                       "arena": {"type": "integer", "minimum": 1,
                                 "description": "linear memory size in bytes, overriding the "
                                                "program's `arena`"}},
    },
    "Module": {
        "type": "object",
        "properties": {"id": {"type": "string", "description": "content hash (hex SHA-256)"},
                       "arena": {"type": "integer"}, "wasm_bytes": {"type": "integer"},
                       "wasm_sha256": {"type": "string"}, "created": {"type": "number"},
                       "source": {"type": "string"}},
    },
    "RunRequest": {
        "type": "object", "required": ["module"],
        "properties": {
            "module": {"type": "string"},
            "input": {"type": "string", "description": "request input as UTF-8 text"},
            "input_b64": {"type": "string", "description": "request input as base64"},
            "fuel": {"type": "integer", "minimum": 1,
                     "description": "fuel budget; default and maximum: max_fuel_per_run"},
            "output_limit": {"type": "integer", "minimum": 1,
                             "description": "output cap in bytes; default and maximum: "
                                            "max_output_bytes"},
        },
    },
    "Run": {
        "type": "object",
        "properties": {
            "id": {"type": "string"}, "module": {"type": "string"},
            "status": {"type": "string", "enum": ["ok", "trap", "exhausted"]},
            "output": {"type": "string"},
            "output_encoding": {"type": "string", "enum": ["utf-8", "base64"]},
            "message": _NULLABLE_STR, "function": _NULLABLE_STR,
            "exhausted": {"type": ["string", "null"],
                          "enum": ["fuel", "arena", "stack", "output", "time", None]},
            "fuel_used": {"type": "integer"}, "fuel_budget": {"type": "integer"},
            "output_limit": {"type": "integer"}, "receipt_hash": {"type": "string"},
            "receipt": {"type": "object", "description": "POST /v1/runs only: the receipt"},
            "created": {"type": "number"},
        },
    },
    "RunList": {"type": "object",
                "properties": {"runs": {"type": "array", "items": _ref("Run")},
                               "next": {"type": ["integer", "null"]}}},
    "ModuleList": {"type": "object",
                   "properties": {"modules": {"type": "array", "items": _ref("Module")}}},
    "Receipt": {"type": "object", "description": "the receipt as canonical JSON (runtime/receipts)"},
    "Verification": {
        "type": "object",
        "properties": {"receipt": {"type": "string"}, "ok": {"type": "boolean"},
                       "mismatches": {"type": "array", "items": {"type": "string"}},
                       "hash_ok": {"type": "boolean"},
                       "prev": {"type": ["string", "null"],
                                "description": "the hash the receipt's prev must have: the "
                                               "tenant's receipt before it"}},
    },
    "Health": {"type": "object", "properties": {"status": {"type": "string"}}},
}

_RUN_ERRORS = ("not_found", "limit_exceeded", "module_refused", "quota_fuel",
               "quota_concurrency", "overloaded")


@functools.lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    paths: dict[str, Any] = {
        "/v1/health": {"get": _operation(
            "liveness", {"200": _json(_ref("Health"), "the server is up")}, public=True)},
        "/openapi.json": {"get": _operation(
            "this document", {"200": _json({"type": "object"}, "OpenAPI 3.1")}, public=True)},
        "/v1/tenant": {"get": _operation(
            "the calling tenant and its quotas", {"200": _json(_ref("Tenant"), "the tenant")},
            *_AUTH_ERRORS)},
        "/v1/modules": {
            "post": _operation(
                "submit a .syn source: compiled once per content hash",
                {"200": _json(_ref("Module"), "already submitted by this tenant"),
                 "201": _json(_ref("Module"), "added")},
                *_AUTH_ERRORS, *_BODY_ERRORS, "compile_error", "module_refused",
                "limit_exceeded", body="ModuleSubmission"),
            "get": _operation(
                "the tenant's modules, newest first",
                {"200": _json(_ref("ModuleList"), "modules")}, *_AUTH_ERRORS, "bad_request",
                query=("limit",)),
        },
        "/v1/modules/{module_id}": {"get": _operation(
            "one module, with its source", {"200": _json(_ref("Module"), "the module")},
            *_AUTH_ERRORS, "not_found", params=("module_id",))},
        "/v1/runs": {
            "post": _operation(
                "run a module's main once with an input and limits; answers after the run "
                "and its receipt are committed",
                {"200": _json(_ref("Run"), "the run, finished (ok, trap or exhausted)")},
                *_AUTH_ERRORS, *_BODY_ERRORS, *_RUN_ERRORS, body="RunRequest"),
            "get": _operation(
                "the tenant's runs, newest first", {"200": _json(_ref("RunList"), "runs")},
                *_AUTH_ERRORS, "bad_request", query=("limit", "before")),
        },
        "/v1/runs/{run_id}": {"get": _operation(
            "one run", {"200": _json(_ref("Run"), "the run")}, *_AUTH_ERRORS, "not_found",
            params=("run_id",))},
        "/v1/receipts/{receipt_hash}": {"get": _operation(
            "a receipt, as the canonical JSON its hash is computed over",
            {"200": _json(_ref("Receipt"), "the receipt")}, *_AUTH_ERRORS, "not_found",
            params=("receipt_hash",))},
        "/v1/receipts/{receipt_hash}/verify": {"post": _operation(
            "re-run the receipt's run and compare; check its hash and chain link",
            {"200": _json(_ref("Verification"), "the verdict")}, *_AUTH_ERRORS, "not_found",
            "module_refused", "quota_fuel", "quota_concurrency", params=("receipt_hash",))},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Synapse gateway", "version": VERSION,
                 "description": "Compile and run .syn programs in a sandbox, for many tenants, "
                                "with a receipt for every run. See spec/13-gateway.md."},
        "servers": [{"url": "http://127.0.0.1:8470"}],
        "security": [{"apiKey": []}],
        "paths": paths,
        "components": {
            "schemas": _SCHEMAS,
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer",
                                           "description": "a tenant's API key, syn_..."}},
        },
    }

"""The gateway's errors: one table of stable codes, each with its HTTP status and meaning.

Every error the gateway answers is JSON: `{"error": {"code": CODE, "message": TEXT, ...}}`,
where CODE is a key of `ERROR_CODES`. Codes are part of the API (spec/13-gateway.md lists them):
a code always means the same thing and is never reused or renamed; messages are for people and
may change. Handlers raise `ApiError`; the app turns it into the response.
"""

from __future__ import annotations

from typing import Any

# code -> (HTTP status, meaning). Adding a code is fine; changing or removing one is not.
ERROR_CODES: dict[str, tuple[int, str]] = {
    "bad_request": (400, "the request is malformed: not JSON, a missing or mistyped field"),
    "unauthorized": (401, "no API key, or an API key that belongs to no tenant"),
    "not_found": (404, "no such route, or no such module, run or receipt for this tenant"),
    "method_not_allowed": (405, "the route exists but not with this HTTP method"),
    "request_too_large": (413, "the request body is larger than the tenant's limit"),
    "unsupported_media_type": (415, "the request body is not `application/json`"),
    "compile_error": (422, "the source did not compile; `diagnostics` lists why"),
    "module_refused": (422, "the compiled module cannot be run by the sandbox"),
    "limit_exceeded": (422, "a requested limit (fuel, output, arena) is above the tenant's quota"),
    "quota_fuel": (429, "the tenant used more fuel than its rate allows; retry after `Retry-After`"),
    "quota_concurrency": (429, "the tenant already has its maximum number of runs in flight"),
    "internal": (500, "the gateway failed; nothing was recorded for this request"),
    "overloaded": (503, "the gateway has too many requests in flight; retry later"),
}


class ApiError(Exception):
    """An error answered to the client as JSON with a stable `code`."""

    def __init__(self, code: str, message: str, *, headers: dict[str, str] | None = None,
                 **details: Any) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = ERROR_CODES[code][0]
        self.headers = headers or {}
        self.details = details

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, **self.details}}

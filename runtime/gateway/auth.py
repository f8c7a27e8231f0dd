"""API keys: how they are made, stored and checked.

A key is `syn_` followed by 32 random bytes (base64url): it is shown once, when the tenant is
created, and only its SHA-256 is stored. A fast hash is enough because the key is 256 random bits,
not a password: there is nothing to guess from the digest, and a slow KDF would cost milliseconds
on every request. Lookups go by digest, so comparing secrets never happens in Python at all.

`Authenticator` maps the `Authorization: Bearer KEY` header to a `Tenant`, keeping recent
answers for a few seconds so the store is not read on every request (a tenant added by
`syn tenant add` while the server runs is found at once, since misses are never cached).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable

from synapse.runtime.gateway.errors import ApiError
from synapse.runtime.gateway.store import Store, Tenant

KEY_PREFIX = "syn_"
KEY_BYTES = 32
CACHE_SECONDS = 5.0
CACHE_ENTRIES = 4096


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(KEY_BYTES)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def bearer_key(header: str | None) -> str | None:
    """The key of an `Authorization: Bearer KEY` header, or None."""
    if not header:
        return None
    scheme, _, key = header.partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    return key


class Authenticator:
    """Finds the tenant of a request's API key (read-only; runs on the event-loop thread)."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.clock = clock
        self._cache: OrderedDict[str, tuple[Tenant, float]] = OrderedDict()

    def tenant(self, header: str | None) -> Tenant:
        key = bearer_key(header)
        if key is None:
            raise ApiError("unauthorized", "missing API key: send 'Authorization: Bearer syn_...'",
                           headers={"WWW-Authenticate": "Bearer"})
        digest = hash_key(key)
        now = self.clock()
        hit = self._cache.get(digest)
        if hit is not None and hit[1] > now:
            return hit[0]
        tenant = self.store.tenant_by_key_hash(digest)
        if tenant is None:
            self._cache.pop(digest, None)
            raise ApiError("unauthorized", "unknown API key", headers={"WWW-Authenticate": "Bearer"})
        self._cache[digest] = (tenant, now + CACHE_SECONDS)
        self._cache.move_to_end(digest)
        while len(self._cache) > CACHE_ENTRIES:
            self._cache.popitem(last=False)
        return tenant

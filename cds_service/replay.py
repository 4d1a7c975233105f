"""JWT replay protection: each (iss, jti) is accepted once within the token's lifetime.

`InProcessReplayCache` protects one process only (each gunicorn worker has its own). `RedisReplayCache`, used when
OSTEO_CDS_REDIS_URL is set, is shared by every worker and replica: `SET key 1 NX EX ttl` is atomic, so two replicas
racing on the same jti cannot both accept it. Any Redis error fails closed (ReplayCacheUnavailable: the call is
refused), because accepting unchecked tokens would silently turn replay protection off.
"""

from __future__ import annotations

import hashlib
import heapq
import threading
import time
from collections.abc import Callable
from typing import Protocol

import redis


class ReplayCacheUnavailable(Exception):
    """The replay cache cannot answer (Redis unreachable, or the in-process cache is full)."""


class ReplayCache(Protocol):
    def first_use(self, issuer: str, jti: str, ttl_seconds: int) -> bool:
        """Record (issuer, jti) for `ttl_seconds`; True if it was not already recorded. Raises
        ReplayCacheUnavailable when the answer is unknown."""
        ...

    def ping(self) -> None:
        """Raise ReplayCacheUnavailable if the cache cannot be used."""
        ...

    def close(self) -> None: ...


def replay_key(issuer: str, jti: str) -> str:
    """A fixed-length key: jti values are only unique per issuer, and may be long or contain any character."""
    digest = hashlib.sha256(f"{issuer}\n{jti}".encode("utf-8", "surrogatepass")).hexdigest()
    return f"osteo-cds:jti:{digest}"


class InProcessReplayCache:
    """Thread-safe, expiring, bounded. When full of unexpired entries it refuses (fails closed) rather than evict
    an entry, since evicting one would let that token be replayed."""

    def __init__(self, max_entries: int = 200_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_entries = max_entries
        self.clock = clock
        self._expiry: dict[str, float] = {}
        self._by_expiry: list[tuple[float, str]] = []  # heap, for purging in expiry order
        self._lock = threading.Lock()

    def first_use(self, issuer: str, jti: str, ttl_seconds: int) -> bool:
        key = replay_key(issuer, jti)
        with self._lock:
            now = self.clock()
            self._purge(now)
            expires = self._expiry.get(key)
            if expires is not None and expires > now:
                return False
            if len(self._expiry) >= self.max_entries:
                raise ReplayCacheUnavailable("in-process replay cache is full")
            self._expiry[key] = now + ttl_seconds
            heapq.heappush(self._by_expiry, (now + ttl_seconds, key))
            return True

    def _purge(self, now: float) -> None:
        while self._by_expiry and self._by_expiry[0][0] <= now:
            expires, key = heapq.heappop(self._by_expiry)
            if self._expiry.get(key) == expires:
                del self._expiry[key]

    def __len__(self) -> int:
        with self._lock:
            self._purge(self.clock())
            return len(self._expiry)

    def ping(self) -> None:
        return None

    def close(self) -> None:
        return None


class RedisReplayCache:
    def __init__(self, url: str, timeout: float = 0.5) -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)

    def first_use(self, issuer: str, jti: str, ttl_seconds: int) -> bool:
        try:
            return bool(self.client.set(replay_key(issuer, jti), 1, nx=True, ex=max(1, ttl_seconds)))
        except redis.RedisError as exc:
            raise ReplayCacheUnavailable(type(exc).__name__) from None

    def ping(self) -> None:
        try:
            self.client.ping()
        except redis.RedisError as exc:
            raise ReplayCacheUnavailable(type(exc).__name__) from None

    def close(self) -> None:
        self.client.close()

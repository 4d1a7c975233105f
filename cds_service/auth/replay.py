"""JWT replay protection: each (iss, jti) is accepted once within the token's lifetime.

`RedisReplayCache`, used when OSTEO_CDS_REDIS_URL is set, is shared by every worker and replica: `SET key 1 NX EX
ttl` is atomic, so two replicas racing on the same jti cannot both accept it. Without Redis, `DatabaseReplayCache`
uses the service's database (SQLite shared by the workers of one host, or PostgreSQL shared by every replica): a
primary-key insert is just as atomic. `InProcessReplayCache` (one process only) is for tests and embedding. Any
cache error fails closed (ReplayCacheUnavailable: the call is refused), because accepting unchecked tokens would
silently turn replay protection off.
"""

from __future__ import annotations

import hashlib
import heapq
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import redis
from sqlalchemy import Column, Float, MetaData, String, Table, delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from cds_service.store import make_engine

# JWT ids already accepted, when no Redis is configured: a digest of (iss, jti) and when the record may be
# forgotten (epoch seconds). No token and no claim value is stored.
replay_metadata = MetaData()
jti_seen = Table(
    "jti_seen",
    replay_metadata,
    Column("key", String(96), primary_key=True),
    Column("expires_at", Float, nullable=False, index=True),
)


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


def replay_database_url(database_url: str) -> str:
    """Where replay records go without Redis: PostgreSQL keeps them beside the feedback; SQLite gets a file of its
    own next to the feedback database, so a hook call's replay check never waits behind a feedback commit (SQLite
    has one writer per file, and feedback commits wait for the disk)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return database_url
    return url.set(database=str(Path(url.database).with_name("replay-cache.db"))).render_as_string(hide_password=False)


class DatabaseReplayCache:
    """Replay records in the service's database, shared by all workers (and replicas, with PostgreSQL)."""

    _PURGE_EVERY = 500  # inserts between deletions of expired records

    def __init__(self, url: str, clock: Callable[[], float] = time.time) -> None:
        self.engine = make_engine(url, durable=False)
        try:
            replay_metadata.create_all(self.engine)
        except SQLAlchemyError:
            replay_metadata.create_all(self.engine)  # another worker created it first
        self.clock = clock
        self._insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        self._since_purge = 0
        self._lock = threading.Lock()

    def first_use(self, issuer: str, jti: str, ttl_seconds: int) -> bool:
        key = replay_key(issuer, jti)
        now = self.clock()
        expires = now + max(1, ttl_seconds)
        try:
            with self.engine.begin() as connection:
                inserted = connection.execute(
                    self._insert(jti_seen)
                    .values(key=key, expires_at=expires)
                    .on_conflict_do_nothing(index_elements=["key"])
                    .returning(jti_seen.c.key)
                ).first()
                if inserted is None:  # seen before: accept only if that record has expired (one winner)
                    reused = connection.execute(
                        update(jti_seen)
                        .where(jti_seen.c.key == key, jti_seen.c.expires_at <= now)
                        .values(expires_at=expires)
                    )
                    return reused.rowcount == 1
                if self._due_for_purge():
                    connection.execute(delete(jti_seen).where(jti_seen.c.expires_at <= now))
                return True
        except SQLAlchemyError as exc:
            raise ReplayCacheUnavailable(type(exc).__name__) from None

    def _due_for_purge(self) -> bool:
        with self._lock:
            self._since_purge += 1
            if self._since_purge < self._PURGE_EVERY:
                return False
            self._since_purge = 0
            return True

    def ping(self) -> None:
        try:
            with self.engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
        except SQLAlchemyError as exc:
            raise ReplayCacheUnavailable(type(exc).__name__) from None

    def close(self) -> None:
        self.engine.dispose()

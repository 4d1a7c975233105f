"""JWT replay protection: each (iss, jti) is accepted once within the token's lifetime.

`RedisReplayCache`, used when OSTEO_CDS_REDIS_URL is set, is shared by every worker and replica: `SET key 1 NX EX
ttl` is atomic, so two replicas racing on the same jti cannot both accept it. Without Redis, `DatabaseReplayCache`
uses the service's database (SQLite shared by the workers of one host, or PostgreSQL shared by every replica): a
primary-key insert is just as atomic. For SQLite, `SqliteReplayCache` does that insert with the sqlite3 module
directly (one cached prepared statement per thread's connection): it is on every hook call's path, and going
through SQLAlchemy's connection pool, transaction and statement compiler cost about as much as the JWT check.
`InProcessReplayCache` (one process only) is for tests and embedding. Any cache error fails closed
(ReplayCacheUnavailable: the call is refused), because accepting unchecked tokens would silently turn replay
protection off.
"""

from __future__ import annotations

import hashlib
import heapq
import os
import sqlite3
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


class PurgeSchedule:
    """Every `every`-th accepted insert is due to delete expired records: the table stays small without a
    deletion on every call. Thread-safe; one per cache."""

    def __init__(self, every: int = 500) -> None:
        self.every = every
        self._count = 0
        self._lock = threading.Lock()

    def due(self) -> bool:
        with self._lock:
            self._count += 1
            if self._count < self.every:
                return False
            self._count = 0
            return True


class DatabaseReplayCache:
    """Replay records in the service's database, shared by all workers (and replicas, with PostgreSQL)."""

    def __init__(self, url: str, clock: Callable[[], float] = time.time) -> None:
        self.engine = make_engine(url, durable=False)
        try:
            replay_metadata.create_all(self.engine)
        except SQLAlchemyError:
            replay_metadata.create_all(self.engine)  # another worker created it first
        self.clock = clock
        self._insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        self._purge_schedule = PurgeSchedule()

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
                if self._purge_schedule.due():
                    connection.execute(delete(jti_seen).where(jti_seen.c.expires_at <= now))
                return True
        except SQLAlchemyError as exc:
            raise ReplayCacheUnavailable(type(exc).__name__) from None

    def ping(self) -> None:
        try:
            with self.engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
        except SQLAlchemyError as exc:
            raise ReplayCacheUnavailable(type(exc).__name__) from None

    def close(self) -> None:
        self.engine.dispose()


class SqliteReplayCache:
    """The database replay cache for a SQLite file, on the sqlite3 module: one upsert statement per call, atomic
    across the workers of a host (SQLite serialises writers on the file). Each thread keeps its own connection
    (opened after a fork, never inherited), in autocommit mode with the same pragmas as the store's engine."""

    # Inserted, or reused when the earlier record has expired; 0 rows changed means seen and still valid.
    _FIRST_USE = (
        "INSERT INTO jti_seen (key, expires_at) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at WHERE jti_seen.expires_at <= ?"
    )
    _PURGE = "DELETE FROM jti_seen WHERE expires_at <= ?"

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.clock = clock
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._purge_schedule = PurgeSchedule()
        try:
            connection = self._connect()
            try:  # the same table DatabaseReplayCache creates, so either can read a file the other wrote
                connection.execute(
                    "CREATE TABLE IF NOT EXISTS jti_seen "
                    "(key VARCHAR(96) NOT NULL PRIMARY KEY, expires_at FLOAT NOT NULL)"
                )
                connection.execute("CREATE INDEX IF NOT EXISTS ix_jti_seen_expires_at ON jti_seen (expires_at)")
            finally:
                connection.close()
        except sqlite3.Error as exc:
            raise ReplayCacheUnavailable(type(exc).__name__) from None

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")  # records expire within minutes: no fsync per insert
        connection.execute("PRAGMA busy_timeout=10000")
        return connection

    def _connection(self) -> sqlite3.Connection:
        owned: tuple[int, sqlite3.Connection] | None = getattr(self._local, "connection", None)
        if owned is not None and owned[0] == os.getpid():
            return owned[1]
        connection = self._connect()
        self._local.connection = (os.getpid(), connection)
        with self._lock:
            self._connections.append(connection)
        return connection

    def first_use(self, issuer: str, jti: str, ttl_seconds: int) -> bool:
        key = replay_key(issuer, jti)
        now = self.clock()
        try:
            connection = self._connection()
            accepted = connection.execute(self._FIRST_USE, (key, now + max(1, ttl_seconds), now)).rowcount == 1
            if accepted and self._purge_schedule.due():
                connection.execute(self._PURGE, (now,))
            return accepted
        except sqlite3.Error as exc:
            raise ReplayCacheUnavailable(type(exc).__name__) from None

    def ping(self) -> None:
        try:
            self._connection().execute("SELECT 1").fetchone()
        except sqlite3.Error as exc:
            raise ReplayCacheUnavailable(type(exc).__name__) from None

    def close(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            connection.close()
        self._local = threading.local()


def database_replay_cache(url: str) -> SqliteReplayCache | DatabaseReplayCache:
    """The replay cache on the service's database: sqlite3 directly for a SQLite file, SQLAlchemy otherwise."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        return SqliteReplayCache(Path(parsed.database))
    return DatabaseReplayCache(url)

"""Without Redis the replay cache lives in the service's database, so every worker (and, with PostgreSQL, every
replica) shares it: a token accepted by one is refused by another."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask

from cds_service.auth.replay import (
    DatabaseReplayCache,
    ReplayCacheUnavailable,
    SqliteReplayCache,
    database_replay_cache,
)
from testkit.postgres import PostgresServer
from tests.security.conftest import SERVICE_PATH, Signer, hook_body


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


SqliteCache = SqliteReplayCache | DatabaseReplayCache

# Both ways of keeping replay records in a SQLite file: sqlite3 directly (what the service uses for SQLite) and
# through SQLAlchemy (what it uses for PostgreSQL); they share one table layout.
SQLITE_CACHES: dict[str, Callable[..., SqliteCache]] = {
    "sqlite3": lambda path, **kw: SqliteReplayCache(path, **kw),
    "sqlalchemy": lambda path, **kw: DatabaseReplayCache(f"sqlite:///{path}", **kw),
}


def count_records(path: Path) -> int:
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT count(*) FROM jti_seen").fetchone()[0]


@pytest.mark.parametrize("kind", SQLITE_CACHES)
def test_a_jti_is_accepted_once_until_its_record_expires(tmp_path: Path, kind: str) -> None:
    clock = FakeClock()
    cache = SQLITE_CACHES[kind](tmp_path / "db.sqlite", clock=clock)

    assert cache.first_use("https://a", "jti-1", 60)
    assert not cache.first_use("https://a", "jti-1", 60)
    assert cache.first_use("https://b", "jti-1", 60)  # jti values are unique per issuer only
    clock.now += 59
    assert not cache.first_use("https://a", "jti-1", 60)
    clock.now += 1
    assert cache.first_use("https://a", "jti-1", 60)
    cache.close()


@pytest.mark.parametrize("kind", SQLITE_CACHES)
def test_two_workers_racing_on_one_jti_accept_it_exactly_once(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "db.sqlite"
    workers = [SQLITE_CACHES[kind](path), SQLITE_CACHES[kind](path)]  # separate connections, like processes
    jti = str(uuid.uuid4())
    accepted: list[bool] = []
    barrier = threading.Barrier(16)

    def use(cache: SqliteCache) -> None:
        barrier.wait()
        accepted.append(cache.first_use("https://a", jti, 60))

    threads = [threading.Thread(target=use, args=(workers[i % 2],)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert accepted.count(True) == 1 and len(accepted) == 16
    for cache in workers:
        cache.close()


@pytest.mark.parametrize("kind", SQLITE_CACHES)
def test_expired_records_are_purged(tmp_path: Path, kind: str) -> None:
    clock = FakeClock()
    cache = SQLITE_CACHES[kind](tmp_path / "db.sqlite", clock=clock)
    for index in range(cache._purge_schedule.every - 1):
        cache.first_use("https://a", f"old-{index}", 10)
    clock.now += 11

    cache.first_use("https://a", "the-one-that-purges", 10)

    assert count_records(tmp_path / "db.sqlite") == 1
    cache.close()


def test_a_file_written_by_either_implementation_is_honoured_by_the_other(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    direct, orm = SqliteReplayCache(path), DatabaseReplayCache(f"sqlite:///{path}")

    assert direct.first_use("https://a", "jti-x", 60) and not orm.first_use("https://a", "jti-x", 60)
    assert orm.first_use("https://a", "jti-y", 60) and not direct.first_use("https://a", "jti-y", 60)
    direct.close(), orm.close()


def test_a_sqlite_url_gets_the_sqlite3_cache_and_an_unwritable_file_fails_closed(tmp_path: Path) -> None:
    cache = database_replay_cache(f"sqlite:///{tmp_path / 'replay-cache.db'}")
    assert isinstance(cache, SqliteReplayCache) and cache.first_use("https://a", "jti-1", 60)
    cache.close()

    (tmp_path / "not-a-database.db").write_bytes(b"this is not a SQLite file" * 100)
    with pytest.raises(ReplayCacheUnavailable):
        SqliteReplayCache(tmp_path / "not-a-database.db").first_use("https://a", "jti-1", 60)


def test_postgresql_is_shared_and_a_lost_database_fails_closed(tmp_path: Path) -> None:
    server = PostgresServer(tmp_path / "pg").start()
    try:
        one, other = DatabaseReplayCache(server.url), DatabaseReplayCache(server.url)  # two replicas
        assert one.first_use("https://a", "jti-pg", 60)
        assert not other.first_use("https://a", "jti-pg", 60)
    finally:
        server.stop()

    with pytest.raises(ReplayCacheUnavailable):
        one.first_use("https://a", "jti-after-outage", 60)
    with pytest.raises(ReplayCacheUnavailable):
        other.ping()


def test_a_token_accepted_by_one_app_instance_is_refused_by_another_sharing_the_database(
    make_app: Callable[..., Flask], required_env: dict[str, str], signer: Signer
) -> None:
    first, second = make_app(**required_env), make_app(**required_env)  # same data directory, no Redis
    token = {"Authorization": f"Bearer {signer.token()}"}

    accepted = first.test_client().post(SERVICE_PATH, json=hook_body(first), headers=token)
    replayed = second.test_client().post(SERVICE_PATH, json=hook_body(second), headers=token)

    assert (accepted.status_code, replayed.status_code) == (200, 401)


def test_sqlite_replay_records_live_in_their_own_file_next_to_the_feedback_database() -> None:
    from cds_service.auth.replay import replay_database_url

    assert replay_database_url("sqlite:///data/feedback.db") == "sqlite:///data/replay-cache.db"
    assert replay_database_url("postgresql+psycopg://u:pw@db/osteo") == "postgresql+psycopg://u:pw@db/osteo"
    assert replay_database_url("sqlite:///:memory:") == "sqlite:///:memory:"

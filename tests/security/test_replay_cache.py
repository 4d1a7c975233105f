"""A jti is accepted once: in one process by default, across replicas with Redis (a real redis-server)."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable

import pytest
import redis
from flask import Flask

from cds_service.auth.replay import InProcessReplayCache, RedisReplayCache, ReplayCacheUnavailable, replay_key
from testkit.processes import free_port
from testkit.redis_server import RedisServer
from tests.security.conftest import (
    DISCOVERY_PATH,
    DISCOVERY_URL,
    EC_ISSUER,
    SERVICE_PATH,
    Signer,
    auth_reasons,
    hook_body,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


# --- in-process ---------------------------------------------------------------------------------------------


def test_in_process_cache_accepts_a_jti_once_until_it_expires() -> None:
    clock = FakeClock()
    cache = InProcessReplayCache(clock=clock)

    assert cache.first_use("https://a", "jti-1", 60)
    assert not cache.first_use("https://a", "jti-1", 60)
    assert cache.first_use("https://b", "jti-1", 60)  # jti values are unique per issuer only
    clock.now += 59
    assert not cache.first_use("https://a", "jti-1", 60)
    clock.now += 1
    assert cache.first_use("https://a", "jti-1", 60)


def test_in_process_cache_purges_expired_entries_and_refuses_when_full() -> None:
    clock = FakeClock()
    cache = InProcessReplayCache(max_entries=3, clock=clock)
    for index in range(3):
        assert cache.first_use("https://a", f"j{index}", 10 + index)

    with pytest.raises(ReplayCacheUnavailable):
        cache.first_use("https://a", "one-too-many", 10)  # full: refuse rather than forget a jti
    clock.now += 10
    assert len(cache) == 2
    assert cache.first_use("https://a", "one-too-many", 10)


def test_in_process_cache_is_thread_safe() -> None:
    cache = InProcessReplayCache()
    accepted: list[bool] = []
    barrier = threading.Barrier(32)

    def use() -> None:
        barrier.wait()
        accepted.append(cache.first_use("https://a", "raced", 60))

    threads = [threading.Thread(target=use) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert accepted.count(True) == 1 and len(accepted) == 32


# --- Redis --------------------------------------------------------------------------------------------------


def test_redis_cache_records_the_jti_with_the_ttl_given(redis_server: RedisServer) -> None:
    cache = RedisReplayCache(redis_server.url)
    jti = str(uuid.uuid4())

    assert cache.first_use("https://a", jti, 120)
    assert not cache.first_use("https://a", jti, 120)
    assert cache.first_use("https://b", jti, 120)
    ttl = redis.Redis.from_url(redis_server.url).ttl(replay_key("https://a", jti))
    assert 110 <= ttl <= 120
    cache.close()


def test_two_replicas_racing_on_one_jti_accept_it_exactly_once(redis_server: RedisServer) -> None:
    replicas = [RedisReplayCache(redis_server.url), RedisReplayCache(redis_server.url)]
    jti = str(uuid.uuid4())
    accepted: list[bool] = []
    barrier = threading.Barrier(16)

    def use(cache: RedisReplayCache) -> None:
        barrier.wait()
        accepted.append(cache.first_use(EC_ISSUER, jti, 60))

    threads = [threading.Thread(target=use, args=(replicas[i % 2],)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert accepted.count(True) == 1 and len(accepted) == 16
    for cache in replicas:
        cache.close()


def test_an_unreachable_redis_fails_closed() -> None:
    cache = RedisReplayCache(f"redis://127.0.0.1:{free_port()}/0")

    with pytest.raises(ReplayCacheUnavailable):
        cache.first_use("https://a", "jti", 60)
    with pytest.raises(ReplayCacheUnavailable):
        cache.ping()


@pytest.fixture
def make_replica(
    make_app: Callable[..., Flask], required_env: dict[str, str], redis_server: RedisServer
) -> Callable[[], Flask]:
    """A "replica": one more app instance with its own process state, sharing the Redis replay cache."""
    return lambda: make_app(**required_env, REDIS_URL=redis_server.url)


def test_a_token_accepted_by_one_replica_is_refused_by_another(
    make_replica: Callable[[], Flask], signer: Signer, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = make_replica(), make_replica()
    token = {"Authorization": f"Bearer {signer.token()}"}

    with caplog.at_level(logging.INFO):
        accepted = first.test_client().post(SERVICE_PATH, json=hook_body(first), headers=token)
        replayed = second.test_client().post(SERVICE_PATH, json=hook_body(second), headers=token)
        fresh = second.test_client().post(SERVICE_PATH, json=hook_body(second), headers=signer.auth())

    assert (accepted.status_code, replayed.status_code, fresh.status_code) == (200, 401, 200)
    assert auth_reasons(caplog.records) == ["replayed-jti"]


def test_the_replay_ttl_covers_the_token_lifetime_and_the_leeway(
    make_replica: Callable[[], Flask], signer: Signer, redis_server: RedisServer
) -> None:
    app = make_replica()
    jti = str(uuid.uuid4())

    response = app.test_client().get(DISCOVERY_PATH, headers=signer.auth(url=DISCOVERY_URL, jti=jti, lifetime=300))

    assert response.status_code == 200
    ttl = redis.Redis.from_url(redis_server.url).ttl(replay_key(EC_ISSUER, jti))
    assert 300 < ttl <= 300 + 60 + 1


def test_with_redis_down_valid_tokens_are_refused_and_readyz_says_so(
    make_app: Callable[..., Flask], required_env: dict[str, str], signer: Signer, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(**required_env, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    client = app.test_client()

    with caplog.at_level(logging.INFO):
        refused = client.get(DISCOVERY_PATH, headers=signer.auth(url=DISCOVERY_URL))
    ready = client.get("/readyz")

    assert refused.status_code == 401
    (record,) = [r for r in caplog.records if getattr(r, "event", None) == "auth"]
    assert record.reason == "replay-cache-unavailable" and record.levelno == logging.ERROR
    assert ready.status_code == 503
    assert ready.get_json()["issue"][0]["diagnostics"] == "The JWT replay cache is not reachable."

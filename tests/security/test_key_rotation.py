"""Key rotation without a restart, the rate limit on refetches, TTL expiry, and how the JWKS is fetched.

The key cache's clock is injected, so "later" is deterministic: no sleeping, no flaky windows.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cds_service.auth.jwks import HttpJwksFetcher, JwksFetchError, KeyCache, KeyLookupError
from cds_service.auth.trusted_clients import TrustedClient
from cds_service.json_body import MAX_JSON_DEPTH
from testkit.jwt_clients import SigningKey, generate_key, jwks
from tests.security.conftest import (
    DISCOVERY_PATH,
    DISCOVERY_URL,
    EC_JWKS_PATH,
    MIN_REFETCH_INTERVAL,
    Signer,
    auth_reasons,
)
from tests.support.recording_server import RecordingServer

ISSUER = "https://ehr.example.org"
JWKS_URL = "https://ehr.example.org/jwks.json"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeJwksEndpoint:
    """Stands in for HTTP in the unit tests: serves `document`, or raises when `failing`; counts calls."""

    def __init__(self, document: Any) -> None:
        self.document = document
        self.failing = False
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, url: str) -> Any:
        with self._lock:
            self.calls.append(url)
        if self.failing:
            raise JwksFetchError("HTTP 503")
        return self.document


def client_with(**fields: Any) -> TrustedClient:
    return TrustedClient(
        issuer=ISSUER, **{"jwks_url": JWKS_URL, "jwks_ttl_seconds": 100, "min_refetch_interval_seconds": 10, **fields}
    )


@pytest.fixture
def old_key() -> SigningKey:
    return generate_key("ES384", kid="old")


@pytest.fixture
def new_key() -> SigningKey:
    return generate_key("ES384", kid="new")


# --- over HTTP, through the app -------------------------------------------------------------------------------


@pytest.fixture
def clock(secure_app: Flask) -> FakeClock:
    clock = FakeClock()
    secure_app.extensions["osteo_cds"].authenticator.keys.clock = clock
    return clock


def _discovery(client: FlaskClient, signer: Signer, key: SigningKey) -> int:
    return client.get(DISCOVERY_PATH, headers=signer.auth(key, url=DISCOVERY_URL)).status_code


def test_a_rotated_key_is_picked_up_without_a_restart_and_the_removed_key_stops_working(
    secure_client: FlaskClient,
    signer: Signer,
    clock: FakeClock,
    jwks_server: RecordingServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    rotated = generate_key("ES384", kid="rotated-key")
    assert _discovery(secure_client, signer, signer.ec_key) == 200

    jwks_server.serve(EC_JWKS_PATH, jwks(rotated))  # the client rotates: new kid, old key withdrawn
    with caplog.at_level(logging.INFO):
        too_soon = _discovery(secure_client, signer, rotated)
        reasons = auth_reasons(caplog.records)
    clock.advance(MIN_REFETCH_INTERVAL + 1)
    after_the_window = _discovery(secure_client, signer, rotated)
    old_after_rotation = _discovery(secure_client, signer, signer.ec_key)

    assert too_soon == 401 and reasons == ["unknown-kid"]  # within the refetch limit
    assert after_the_window == 200
    assert old_after_rotation == 401
    assert len(jwks_server.requests_to(EC_JWKS_PATH)) == 2


def test_during_an_overlapping_rotation_both_keys_work(
    secure_client: FlaskClient, signer: Signer, clock: FakeClock, jwks_server: RecordingServer
) -> None:
    rotated = generate_key("ES384", kid="rotated-key")
    assert _discovery(secure_client, signer, signer.ec_key) == 200

    jwks_server.serve(EC_JWKS_PATH, jwks(signer.ec_key, rotated))
    clock.advance(MIN_REFETCH_INTERVAL)

    assert _discovery(secure_client, signer, rotated) == 200
    assert _discovery(secure_client, signer, signer.ec_key) == 200


# --- the key cache ----------------------------------------------------------------------------------------------


def test_fetched_keys_are_reused_until_the_ttl_then_refetched(old_key: SigningKey) -> None:
    endpoint, clock = FakeJwksEndpoint(jwks(old_key)), FakeClock()
    client = client_with()
    cache = KeyCache({ISSUER: client}, fetch=endpoint, clock=clock)

    for _ in range(3):
        cache.key_for(client, "old", None)
    clock.advance(99)
    cache.key_for(client, "old", None)
    assert endpoint.calls == [JWKS_URL]

    clock.advance(1)
    cache.key_for(client, "old", None)
    assert endpoint.calls == [JWKS_URL, JWKS_URL]


def test_unknown_kids_refetch_at_most_once_per_interval(old_key: SigningKey, new_key: SigningKey) -> None:
    endpoint, clock = FakeJwksEndpoint(jwks(old_key)), FakeClock()
    client = client_with()
    cache = KeyCache({ISSUER: client}, fetch=endpoint, clock=clock)
    cache.key_for(client, "old", None)

    for index in range(20):
        with pytest.raises(KeyLookupError, match="unknown-kid"):
            cache.key_for(client, f"made-up-{index}", None)
    assert len(endpoint.calls) == 1

    endpoint.document = jwks(old_key, new_key)
    clock.advance(10)
    assert cache.key_for(client, "new", None).kid == "new"
    assert len(endpoint.calls) == 2


def test_concurrent_lookups_of_an_unknown_kid_fetch_once(old_key: SigningKey) -> None:
    endpoint, clock = FakeJwksEndpoint(jwks(old_key)), FakeClock()
    client = client_with()
    cache = KeyCache({ISSUER: client}, fetch=endpoint, clock=clock)
    barrier = threading.Barrier(16)
    failures: list[str] = []

    def look_up() -> None:
        barrier.wait()
        try:
            cache.key_for(client, "unknown", None)
        except KeyLookupError as exc:
            failures.append(exc.reason)

    threads = [threading.Thread(target=look_up) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == ["unknown-kid"] * 16
    assert len(endpoint.calls) == 1


def test_when_a_refresh_fails_the_last_keys_serve_one_more_ttl_then_calls_are_refused(old_key: SigningKey) -> None:
    endpoint, clock = FakeJwksEndpoint(jwks(old_key)), FakeClock()
    client = client_with()
    cache = KeyCache({ISSUER: client}, fetch=endpoint, clock=clock)
    cache.key_for(client, "old", None)

    endpoint.failing = True
    clock.advance(100)
    assert cache.key_for(client, "old", None).kid == "old"  # expired, refresh failed: stale keys still usable
    clock.advance(99)
    assert cache.key_for(client, "old", None).kid == "old"
    clock.advance(1)
    with pytest.raises(KeyLookupError, match="jwks-unavailable"):
        cache.key_for(client, "old", None)  # two TTLs old: a withdrawn key must not live on

    endpoint.failing = False
    clock.advance(10)
    assert cache.key_for(client, "old", None).kid == "old"


def test_a_jwks_endpoint_down_at_first_use_refuses_until_it_answers(old_key: SigningKey) -> None:
    endpoint, clock = FakeJwksEndpoint(jwks(old_key)), FakeClock()
    endpoint.failing = True
    client = client_with()
    cache = KeyCache({ISSUER: client}, fetch=endpoint, clock=clock)

    with pytest.raises(KeyLookupError, match="jwks-unavailable"):
        cache.key_for(client, "old", None)
    endpoint.failing = False
    with pytest.raises(KeyLookupError, match="jwks-unavailable"):
        cache.key_for(client, "old", None)  # no hammering: the next try waits for the interval
    clock.advance(10)

    assert cache.key_for(client, "old", None).kid == "old"
    assert len(endpoint.calls) == 2


def test_pinned_keys_are_never_fetched_and_a_jku_is_still_checked(old_key: SigningKey) -> None:
    endpoint = FakeJwksEndpoint(jwks(old_key))
    client = TrustedClient(issuer=ISSUER, jwks=jwks(old_key), jku_allowlist=(JWKS_URL,))
    cache = KeyCache({ISSUER: client}, fetch=endpoint)

    assert cache.key_for(client, "old", JWKS_URL).kid == "old"
    with pytest.raises(KeyLookupError, match="unknown-kid"):
        cache.key_for(client, "other", None)
    with pytest.raises(KeyLookupError, match="jku-not-allowed"):
        cache.key_for(client, "old", "https://evil.example/jwks.json")
    assert endpoint.calls == []


def test_keys_from_allowlisted_jkus_are_cached_per_url(old_key: SigningKey) -> None:
    endpoint, clock = FakeJwksEndpoint(jwks(old_key)), FakeClock()
    urls = ("https://keys.example.org/a", "https://keys.example.org/b")
    client = TrustedClient(issuer=ISSUER, jku_allowlist=urls)
    cache = KeyCache({ISSUER: client}, fetch=endpoint, clock=clock)

    for url in (*urls, *urls):
        cache.key_for(client, "old", url)
    with pytest.raises(KeyLookupError, match="jku-not-allowed"):
        cache.key_for(client, "old", urls[0] + "/")

    assert endpoint.calls == list(urls)


def test_a_jwks_file_is_reread_after_rotation(tmp_path: Path, old_key: SigningKey, new_key: SigningKey) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks(old_key)))
    client = TrustedClient(issuer=ISSUER, jwks_file=path, jwks_ttl_seconds=100, min_refetch_interval_seconds=10)
    clock = FakeClock()
    cache = KeyCache({ISSUER: client}, clock=clock)
    assert cache.key_for(client, "old", None).kid == "old"

    path.write_text(json.dumps(jwks(new_key)))
    clock.advance(10)

    assert cache.key_for(client, "new", None).kid == "new"


def test_unusable_keys_in_a_fetched_set_are_skipped(old_key: SigningKey, new_key: SigningKey) -> None:
    private = {**json.loads(json.dumps(new_key.public_jwk())), "d": "c2VjcmV0"}
    document = {
        "keys": [
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            private,
            {"kty": "EC"},
            {**old_key.public_jwk(), "use": "enc", "kid": "enc"},
            old_key.public_jwk(),
        ]
    }
    client = client_with()
    cache = KeyCache({ISSUER: client}, fetch=FakeJwksEndpoint(document), clock=FakeClock())

    assert cache.key_for(client, "old", None).kid == "old"
    for kid in ("hmac", "new", "enc"):
        with pytest.raises(KeyLookupError):
            cache.key_for(client, kid, None)


# --- fetching over HTTP ---------------------------------------------------------------------------------------


@pytest.fixture
def keys_server(old_key: SigningKey) -> Any:
    server = RecordingServer().start()
    server.serve("/jwks.json", jwks(old_key))
    yield server
    server.stop()


def test_the_fetcher_does_not_follow_redirects(keys_server: RecordingServer) -> None:
    keys_server.serve("/moved", {}, status=302, headers={"Location": keys_server.url("/jwks.json")})

    with pytest.raises(JwksFetchError, match="HTTP 302"):
        HttpJwksFetcher()(keys_server.url("/moved"))
    assert keys_server.requests_to("/jwks.json") == []


def test_the_fetcher_ignores_proxy_settings_from_the_environment(
    keys_server: RecordingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)

    assert HttpJwksFetcher()(keys_server.url("/jwks.json"))["keys"]


@pytest.mark.parametrize(
    ("serve", "message"),
    [
        (lambda s: s.serve("/big.json", {"keys": [], "pad": "x" * 300_000}), "larger than"),
        (lambda s: s.serve("/error.json", {}, status=500), "HTTP 500"),
        (lambda s: None, "HTTP 404"),
        (lambda s: s.serve("/deep.json", {"keys": [_nested(MAX_JSON_DEPTH + 10)]}), "not JSON"),  # too deep
    ],
)
def test_the_fetcher_refuses_oversized_and_failed_answers(
    keys_server: RecordingServer, serve: Callable[[RecordingServer], None], message: str
) -> None:
    serve(keys_server)
    path = {
        "larger than": "/big.json",
        "HTTP 500": "/error.json",
        "HTTP 404": "/missing.json",
        "not JSON": "/deep.json",
    }[message]

    with pytest.raises(JwksFetchError, match=message):
        HttpJwksFetcher()(keys_server.url(path))


def _nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


def test_the_fetcher_times_out_quickly() -> None:
    import socket
    import time

    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        started = time.monotonic()
        with pytest.raises(JwksFetchError, match="Timeout"):
            HttpJwksFetcher(timeout=0.3)(f"http://127.0.0.1:{silent.getsockname()[1]}/jwks.json")
        assert time.monotonic() - started < 2

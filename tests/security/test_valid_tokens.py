"""Tokens a real CDS client sends are accepted on discovery, service and feedback; keys are fetched once and cached."""

from __future__ import annotations

import logging
import time

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cds_service.logs import JsonFormatter
from cds_service.validation import response_problems
from testkit.cds_client import feedback_for
from tests.security.conftest import (
    DISCOVERY_PATH,
    DISCOVERY_URL,
    EC_JWKS_PATH,
    FEEDBACK_PATH,
    FEEDBACK_URL,
    JKU_ISSUER,
    JKU_JWKS_PATH,
    RS_JWKS_PATH,
    SERVICE_PATH,
    SERVICE_URL,
    TENANT_ISSUER,
    Signer,
    auth_reasons,
    hook_body,
)
from tests.support.recording_server import RecordingServer

OVERRIDE_REASON = {"system": "urn:osteo-cds:override-reason", "code": "patient-declined", "display": "Patient declined"}


@pytest.mark.parametrize("algorithm", ["ES384", "RS384"])
def test_a_valid_token_is_accepted_on_discovery_service_and_feedback(
    algorithm: str,
    secure_app: Flask,
    secure_client: FlaskClient,
    signer: Signer,
    jwks_server: RecordingServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    key = signer.ec_key if algorithm == "ES384" else signer.rs_key

    with caplog.at_level(logging.DEBUG):
        discovery = secure_client.get(DISCOVERY_PATH, headers=signer.auth(key, url=DISCOVERY_URL))
        call = secure_client.post(SERVICE_PATH, json=hook_body(secure_app), headers=signer.auth(key, url=SERVICE_URL))
        card = call.get_json()["cards"][0]
        feedback = secure_client.post(
            FEEDBACK_PATH,
            headers=signer.auth(key, url=FEEDBACK_URL),
            json=feedback_for(card, "overridden", reason=OVERRIDE_REASON),
        )

    assert discovery.status_code == 200 and discovery.get_json()["services"]
    assert call.status_code == 200 and response_problems(call.get_json()) == []
    assert feedback.status_code == 200
    assert auth_reasons(caplog.records) == []
    path = EC_JWKS_PATH if algorithm == "ES384" else RS_JWKS_PATH
    assert len(jwks_server.requests_to(path)) == 1  # fetched once, then cached
    assert all("Authorization" not in r.headers and "Cookie" not in r.headers for r in jwks_server.requests)


def test_success_is_logged_at_debug_without_the_token(
    secure_client: FlaskClient, signer: Signer, caplog: pytest.LogCaptureFixture
) -> None:
    token = signer.token(url=DISCOVERY_URL)

    with caplog.at_level(logging.DEBUG, logger="osteo_cds"):
        assert secure_client.get(DISCOVERY_PATH, headers={"Authorization": f"Bearer {token}"}).status_code == 200

    auth_lines = [r for r in caplog.records if getattr(r, "event", None) == "auth"]
    assert [r.levelno for r in auth_lines] == [logging.DEBUG]
    assert token not in "\n".join(JsonFormatter().format(r) for r in caplog.records)


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param({"url": [DISCOVERY_URL, "https://other.example.org/cds-services"]}, id="aud-as-array"),
        pytest.param({"headers": {"typ": "jwt"}}, id="typ-lowercase"),
        # Times are offsets from the moment the token is signed (not from test collection, which may be minutes
        # earlier in a full run).
        pytest.param({"nbf": -300, "sub": "epic-cds-client"}, id="epic-style-nbf-and-sub"),
        pytest.param({"issued_at": 30}, id="iat-ahead-within-leeway"),
        pytest.param({"issued_at": -320, "lifetime": 300}, id="exp-passed-within-leeway"),
        pytest.param({"issuer": TENANT_ISSUER, "tenant": "org-1"}, id="allowlisted-tenant"),
        pytest.param({"lifetime": 3600}, id="lifetime-of-one-hour"),
    ],
)
def test_valid_variants_are_accepted(variant: dict[str, object], secure_client: FlaskClient, signer: Signer) -> None:
    options: dict[str, object] = {"url": DISCOVERY_URL, **variant}
    now = time.time()
    for name in ("nbf", "issued_at"):
        if name in options:
            options[name] = int(now + options[name])  # type: ignore[operator]
    response = secure_client.get(DISCOVERY_PATH, headers=signer.auth(**options))  # type: ignore[arg-type]

    assert response.status_code == 200


def test_keys_named_by_an_allowlisted_jku_are_fetched_from_it_and_cached(
    secure_client: FlaskClient, signer: Signer, jwks_server: RecordingServer
) -> None:
    jku = jwks_server.url(JKU_JWKS_PATH)

    for _ in range(3):
        response = secure_client.get(
            DISCOVERY_PATH, headers=signer.auth(issuer=JKU_ISSUER, url=DISCOVERY_URL, headers={"jku": jku})
        )
        assert response.status_code == 200

    assert len(jwks_server.requests_to(JKU_JWKS_PATH)) == 1


def test_an_issuer_whose_keys_come_only_from_jku_refuses_a_token_without_jku(
    secure_client: FlaskClient, signer: Signer, jwks_server: RecordingServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        response = secure_client.get(DISCOVERY_PATH, headers=signer.auth(issuer=JKU_ISSUER, url=DISCOVERY_URL))

    assert response.status_code == 401
    assert auth_reasons(caplog.records) == ["unknown-kid"]
    assert jwks_server.requests == []


def test_development_mode_accepts_calls_without_a_token_and_says_so(make_app: object) -> None:
    app = make_app()  # type: ignore[operator]
    client = app.test_client()

    assert client.get(DISCOVERY_PATH).status_code == 200
    assert any("NOT verified" in w for w in client.get("/readyz").get_json()["warnings"])

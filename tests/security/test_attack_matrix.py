"""Every way a call can fail authentication answers the same 401, names the reason only in the log, and never
makes the service contact a URL taken from the token."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives import serialization
from flask import Flask
from flask.testing import FlaskClient

from cds_service.logs import JsonFormatter
from testkit.jwt_clients import b64url, generate_key, unsigned_token
from tests.security.conftest import (
    DISCOVERY_URL,
    EC_ISSUER,
    EC_JWKS_PATH,
    FEEDBACK_URL,
    RS_ISSUER,
    SERVICE_PATH,
    SERVICE_URL,
    TENANT_ISSUER,
    Signer,
    auth_reasons,
    hook_body,
)
from tests.support.recording_server import RecordingServer

UNAUTHORIZED_BODY = {
    "resourceType": "OperationOutcome",
    "issue": [{"severity": "error", "code": "login", "diagnostics": "Authentication failed."}],
}


@dataclass
class Attack:
    """What an attack can use: the signer of the trusted clients, the service, and the attacker's own server."""

    signer: Signer
    client: FlaskClient
    app: Flask
    evil_server: RecordingServer


@dataclass(frozen=True)
class Case:
    name: str
    reason: str
    authorization: Callable[[Attack], str | None]  # the Authorization header value, or None for no header


def _now() -> int:
    return int(time.time())


def _hs256_with_public_key(a: Attack) -> str:
    """The classic key-confusion attack: HMAC-sign with the issuer's public key (which anyone can get)."""
    header = {"alg": "HS256", "typ": "JWT", "kid": a.signer.ec_key.kid}
    claims = json.loads(base64.urlsafe_b64decode(a.signer.token().split(".")[1] + "=="))
    public_pem = a.signer.ec_key.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = unsigned_token(header, claims).rsplit(".", 1)[0]
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"Bearer {signing_input}.{b64url(signature)}"


def _alg_none(a: Attack) -> str:
    claims = json.loads(base64.urlsafe_b64decode(a.signer.token().split(".")[1] + "=="))
    return f"Bearer {unsigned_token({'alg': 'none', 'typ': 'JWT', 'kid': a.signer.ec_key.kid}, claims)}"


def _tampered_payload(a: Attack) -> str:
    header, payload, signature = a.signer.token().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["tenant"] = "org-admin"  # any change at all
    return f"Bearer {header}.{b64url(json.dumps(claims).encode())}.{signature}"


def _tampered_signature(a: Attack) -> str:
    header, payload, signature = a.signer.token().split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=="))
    raw[10] ^= 0x01
    return f"Bearer {header}.{payload}.{b64url(bytes(raw))}"


def _replayed(a: Attack) -> str:
    authorization = f"Bearer {a.signer.token()}"
    first = a.client.post(SERVICE_PATH, json=hook_body(a.app), headers={"Authorization": authorization})
    assert first.status_code == 200  # accepted once...
    return authorization  # ...and sent again


def _allowlisted_jku(a: Attack) -> str:
    return next(
        c for c in a.app.extensions["osteo_cds"].authenticator.clients.values() if c.issuer == EC_ISSUER
    ).jku_allowlist[0]


def _bearer(make: Callable[[Attack], str]) -> Callable[[Attack], str]:
    return lambda a: f"Bearer {make(a)}"


ATTACKS = [
    Case("no-header", "no-bearer-token", lambda a: None),
    Case("basic-scheme", "no-bearer-token", lambda a: "Basic dXNlcjpwYXNz"),
    Case("bearer-without-token", "malformed-token", lambda a: "Bearer"),
    Case("bearer-not-a-jwt", "malformed-token", lambda a: "Bearer not-a-jwt"),
    Case("bearer-garbage-segments", "malformed-token", lambda a: "Bearer e30.e30.!!!"),
    Case("bearer-two-tokens", "malformed-token", lambda a: f"Bearer {a.signer.token()} {a.signer.token()}"),
    Case("bearer-undecodable-header", "malformed-token", lambda a: "Bearer AAAA.e30.AAAA"),
    Case("alg-none", "algorithm-not-allowed", _alg_none),
    Case("hs256-signed-with-public-key", "algorithm-not-allowed", _hs256_with_public_key),
    Case("unknown-iss", "untrusted-issuer", _bearer(lambda a: a.signer.token(issuer="https://evil.example"))),
    Case("missing-iss", "missing-claim", _bearer(lambda a: a.signer.token(issuer="", iss=None))),
    Case(
        "unknown-kid",
        "unknown-kid",
        _bearer(
            lambda a: generate_key("ES384", kid="attacker").sign(
                {"iss": EC_ISSUER, "aud": SERVICE_URL, "iat": _now(), "exp": _now() + 300, "jti": "attacker-jti"}
            )
        ),
    ),
    Case("missing-kid", "unknown-kid", _bearer(lambda a: a.signer.token(headers={"kid": None}))),
    Case(
        "jku-not-on-allowlist",
        "jku-not-allowed",
        _bearer(lambda a: a.signer.token(headers={"jku": a.evil_server.url("/jwks.json")})),
    ),
    Case(
        "jku-allowlisted-path-on-another-host",
        "jku-not-allowed",
        _bearer(lambda a: a.signer.token(headers={"jku": a.evil_server.url(EC_JWKS_PATH)})),
    ),
    Case(
        "jku-allowlisted-url-with-a-suffix",
        "jku-not-allowed",
        _bearer(lambda a: a.signer.token(headers={"jku": _allowlisted_jku(a) + "?next=https://evil.example"})),
    ),
    Case("tampered-payload", "bad-signature", _tampered_payload),
    Case("tampered-signature", "bad-signature", _tampered_signature),
    Case(
        "signed-by-another-key-with-the-trusted-kid",
        "bad-signature",
        _bearer(
            lambda a: generate_key("ES384", kid=a.signer.ec_key.kid).sign(
                {"iss": EC_ISSUER, "aud": SERVICE_URL, "iat": _now(), "exp": _now() + 300, "jti": "forged"}
            )
        ),
    ),
    Case("expired", "expired", _bearer(lambda a: a.signer.token(issued_at=_now() - 600, lifetime=300))),
    Case("iat-in-future", "issued-in-future", _bearer(lambda a: a.signer.token(issued_at=_now() + 600))),
    Case("nbf-in-future", "not-yet-valid", _bearer(lambda a: a.signer.token(nbf=_now() + 600))),
    Case("lifetime-over-an-hour", "lifetime-too-long", _bearer(lambda a: a.signer.token(lifetime=7200))),
    Case(
        "wrong-aud",
        "wrong-audience",
        _bearer(lambda a: a.signer.token(url="https://other.example.org/cds-services/osteoporosis-management")),
    ),
    Case(
        "aud-plain-http",
        "wrong-audience",
        _bearer(lambda a: a.signer.token(url="http://cds.example.org/cds-services/osteoporosis-management")),
    ),
    Case("aud-of-another-endpoint", "wrong-audience", _bearer(lambda a: a.signer.token(url=FEEDBACK_URL))),
    Case("discovery-token-on-service", "wrong-audience", _bearer(lambda a: a.signer.token(url=DISCOVERY_URL))),
    Case(
        "aud-array-without-this-endpoint",
        "wrong-audience",
        _bearer(lambda a: a.signer.token(url=[DISCOVERY_URL, FEEDBACK_URL])),
    ),
    Case("missing-aud", "missing-claim", _bearer(lambda a: a.signer.token(aud=None))),
    Case("missing-exp", "missing-claim", _bearer(lambda a: a.signer.token(exp=None))),
    Case("missing-iat", "missing-claim", _bearer(lambda a: a.signer.token(iat=None))),
    Case("missing-jti", "missing-claim", _bearer(lambda a: a.signer.token(jti=None))),
    Case("empty-jti", "missing-claim", _bearer(lambda a: a.signer.token(jti=""))),
    Case("replayed-jti", "replayed-jti", _replayed),
    Case(
        "rs256-for-an-rs384-only-issuer",
        "algorithm-not-allowed",
        _bearer(lambda a: a.signer.token(a.signer.rs_key, algorithm="RS256")),
    ),
    Case(
        "es384-for-an-rs384-only-issuer",
        "algorithm-not-allowed",
        _bearer(lambda a: a.signer.token(a.signer.ec_key, issuer=RS_ISSUER)),
    ),
    Case(
        "rs384-with-the-kid-of-an-ec-key",
        "algorithm-not-allowed",
        _bearer(
            lambda a: a.signer.token(
                a.signer.rs_key, issuer=TENANT_ISSUER, tenant="org-1", headers={"kid": a.signer.ec_key.kid}
            )
        ),
    ),
    Case(
        "tenant-not-allowed",
        "tenant-not-allowed",
        _bearer(lambda a: a.signer.token(issuer=TENANT_ISSUER, tenant="org-2")),
    ),
    Case("tenant-missing", "tenant-not-allowed", _bearer(lambda a: a.signer.token(issuer=TENANT_ISSUER))),
    Case("typ-missing", "wrong-typ", _bearer(lambda a: a.signer.token(headers={"typ": None}))),
    Case("typ-not-jwt", "wrong-typ", _bearer(lambda a: a.signer.token(headers={"typ": "at+jwt"}))),
]


@pytest.mark.parametrize("case", ATTACKS, ids=lambda case: case.name)
def test_attack_is_refused_with_the_one_401_and_its_reason_only_in_the_log(
    case: Case, secure_app: Flask, signer: Signer, evil_server: RecordingServer, caplog: pytest.LogCaptureFixture
) -> None:
    client = secure_app.test_client()
    authorization = case.authorization(Attack(signer, client, secure_app, evil_server))
    caplog.clear()

    with caplog.at_level(logging.DEBUG):
        response = client.post(
            SERVICE_PATH,
            json=hook_body(secure_app),
            headers={"Authorization": authorization} if authorization is not None else {},
        )

    assert auth_reasons(caplog.records) == [case.reason]
    log_text = "\n".join(JsonFormatter().format(r) for r in caplog.records)
    token = (authorization or "").partition(" ")[2]
    assert not token or token not in log_text
    assert response.status_code == 401
    assert response.get_json() == UNAUTHORIZED_BODY
    assert response.get_data() == _no_header_body(client, secure_app)  # byte-identical, whatever failed
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="osteo-cds"'
    assert evil_server.requests == []  # nothing taken from a token was ever fetched


def _no_header_body(client: FlaskClient, app: Flask) -> bytes:
    return client.post(SERVICE_PATH, json=hook_body(app)).get_data()


def test_the_refusal_log_line_names_iss_kid_and_jti_but_not_the_token(
    secure_client: FlaskClient, secure_app: Flask, signer: Signer, caplog: pytest.LogCaptureFixture
) -> None:
    token = signer.token(url=DISCOVERY_URL, jti="jti-for-the-log")  # a discovery token on the service endpoint

    with caplog.at_level(logging.INFO):
        response = secure_client.post(
            SERVICE_PATH, json=hook_body(secure_app), headers={"Authorization": f"Bearer {token}"}
        )

    assert response.status_code == 401
    (line,) = [json.loads(JsonFormatter().format(r)) for r in caplog.records if getattr(r, "event", None) == "auth"]
    assert line["reason"] == "wrong-audience"
    assert (line["iss"], line["kid"], line["jti"]) == (EC_ISSUER, signer.ec_key.kid, "jti-for-the-log")
    assert token not in json.dumps(line)
    for segment in token.split(".")[1:]:
        assert segment not in json.dumps(line)


def test_unprintable_or_huge_claims_are_not_copied_into_the_log(
    secure_client: FlaskClient, signer: Signer, caplog: pytest.LogCaptureFixture
) -> None:
    token = signer.token(issuer='https://evil.example/\n{"forged": "log line"}', jti="x" * 5000)

    with caplog.at_level(logging.INFO):
        secure_client.get("/cds-services", headers={"Authorization": f"Bearer {token}"})

    (record,) = [r for r in caplog.records if getattr(r, "event", None) == "auth"]
    assert record.reason == "untrusted-issuer"
    assert not hasattr(record, "iss")  # a newline: not printable, left out
    assert record.jti == "x" * 200  # truncated


def test_health_and_preflight_need_no_token(secure_client: FlaskClient) -> None:
    assert secure_client.get("/healthz").status_code == 200
    assert secure_client.get("/readyz").status_code == 200
    assert (
        secure_client.options(
            SERVICE_PATH, headers={"Origin": "https://ehr.example.org", "Access-Control-Request-Method": "POST"}
        ).status_code
        == 204
    )


def test_unknown_kids_within_the_refetch_interval_cause_one_jwks_request_only(
    secure_client: FlaskClient, jwks_server: RecordingServer
) -> None:
    for index in range(5):
        token = generate_key("ES384", kid=f"made-up-{index}").sign(
            {"iss": EC_ISSUER, "aud": DISCOVERY_URL, "iat": _now(), "exp": _now() + 300, "jti": f"j{index}"}
        )
        assert secure_client.get("/cds-services", headers={"Authorization": f"Bearer {token}"}).status_code == 401

    assert len(jwks_server.requests_to(EC_JWKS_PATH)) == 1


@pytest.mark.parametrize(
    "path",
    ["/no-such-endpoint", "/cds-services/", "/index.html", "/cds-services/other/catalog", "/openapi.yaml"],
)
def test_every_path_but_probes_metrics_catalog_root_and_openapi_needs_a_token(
    secure_client: FlaskClient, path: str
) -> None:
    response = secure_client.get(path)

    assert response.status_code == 401
    assert response.get_json() == UNAUTHORIZED_BODY


def test_the_service_reached_through_a_doubled_slash_needs_a_token_for_that_url(
    secure_client: FlaskClient, signer: Signer
) -> None:
    body = {"hook": "patient-view", "hookInstance": "x", "context": {"userId": "Practitioner/1", "patientId": "p"}}
    doubled = "/cds-services//osteoporosis-management"

    assert secure_client.post(doubled, json=body).status_code == 401
    refused = secure_client.post(doubled, json=body, headers=signer.auth(url=SERVICE_URL))
    assert refused.status_code == 401  # aud is the exact URL called, doubled slash included
    as_called = SERVICE_URL.replace("/cds-services/", "/cds-services//")
    accepted = secure_client.post(doubled, json=body, headers=signer.auth(url=as_called))
    assert accepted.status_code == 412  # authenticated; this body has no prefetch and no FHIR server


def test_the_root_page_and_the_openapi_document_are_public(secure_client: FlaskClient) -> None:
    assert secure_client.get("/").get_json()["links"]["discovery"].endswith("/cds-services")
    assert secure_client.get("/openapi.json").get_json()["openapi"].startswith("3.1")


def test_the_card_catalog_is_public_reference_text(secure_client: FlaskClient) -> None:
    response = secure_client.get("/cds-services/osteoporosis-management/catalog")

    assert response.status_code == 200 and "TX-01" in response.get_data(as_text=True)


def test_metrics_need_the_metrics_token_when_one_is_set(
    make_app: Callable[..., Flask], required_env: dict[str, str], signer: Signer
) -> None:
    open_client = make_app(**required_env).test_client()
    guarded = make_app(**required_env, METRICS_TOKEN="scrape-secret").test_client()

    assert open_client.get("/metrics").status_code == 200
    assert guarded.get("/metrics").status_code == 401
    assert guarded.get("/metrics", headers=signer.auth(url=DISCOVERY_URL)).status_code == 401  # a CDS JWT is no key
    assert guarded.get("/metrics", headers={"Authorization": "Bearer scrape-secret"}).status_code == 200

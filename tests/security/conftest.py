"""A production-mode service trusting three CDS clients whose keys are generated per test run.

- EC_ISSUER (ES384 only): JWKS served by a local recording HTTP server (`jwks_url`), its URL also on the jku allowlist.
- RS_ISSUER (RS384 only): likewise, at another path.
- TENANT_ISSUER (defaults ES384 + RS384): the EC public key inline, tenant `org-1` only.
- JKU_ISSUER: no configured keys; keys come from the token's `jku`, which must be on its allowlist.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cds_service.discovery import service_definition
from cds_service.services import PATIENT_VIEW
from testkit.cds_client import hook_request, prefetch_from_chart
from testkit.charts import PATIENT_ID, osteoporosis_chart
from testkit.jwt_clients import SigningKey, claims_for, generate_key, jwks, write_trusted_clients
from testkit.redis_server import RedisServer
from tests.support.recording_server import RecordingServer

PUBLIC_BASE_URL = "https://cds.example.org"
DISCOVERY_PATH = "/cds-services"
SERVICE_PATH = "/cds-services/osteoporosis-management"
FEEDBACK_PATH = SERVICE_PATH + "/feedback"
DISCOVERY_URL = PUBLIC_BASE_URL + DISCOVERY_PATH
SERVICE_URL = PUBLIC_BASE_URL + SERVICE_PATH
FEEDBACK_URL = PUBLIC_BASE_URL + FEEDBACK_PATH

EC_ISSUER = "https://ehr-ec.example.org/fhir"
RS_ISSUER = "https://ehr-rs.example.org/fhir"
TENANT_ISSUER = "https://tenant-ehr.example.org"
JKU_ISSUER = "https://jku-ehr.example.org"
EC_JWKS_PATH = "/ec/.well-known/jwks.json"
RS_JWKS_PATH = "/rs/.well-known/jwks.json"
JKU_JWKS_PATH = "/jku/.well-known/jwks.json"
MIN_REFETCH_INTERVAL = 30


@pytest.fixture(scope="session")
def ec_key() -> SigningKey:
    return generate_key("ES384")


@pytest.fixture(scope="session")
def rs_key() -> SigningKey:
    return generate_key("RS384")


@pytest.fixture
def jwks_server(ec_key: SigningKey, rs_key: SigningKey) -> Iterator[RecordingServer]:
    """The trusted clients' JWKS endpoints, recording every request."""
    server = RecordingServer().start()
    server.serve(EC_JWKS_PATH, jwks(ec_key))
    server.serve(RS_JWKS_PATH, jwks(rs_key))
    server.serve(JKU_JWKS_PATH, jwks(ec_key))
    yield server
    server.stop()


@pytest.fixture
def evil_server(ec_key: SigningKey) -> Iterator[RecordingServer]:
    """An attacker's endpoint (serving a JWKS, to make fetching it tempting) that must never be contacted."""
    server = RecordingServer().start()
    server.serve("/jwks.json", jwks(ec_key))
    yield server
    server.stop()


def trusted_clients(jwks_server: RecordingServer, ec_key: SigningKey) -> list[dict[str, Any]]:
    return [
        {
            "issuer": EC_ISSUER,
            "jwks_url": jwks_server.url(EC_JWKS_PATH),
            "jku_allowlist": [jwks_server.url(EC_JWKS_PATH)],
            "algorithms": ["ES384"],
            "jwks_ttl_seconds": 3600,
            "min_refetch_interval_seconds": MIN_REFETCH_INTERVAL,
        },
        {
            "issuer": RS_ISSUER,
            "jwks_url": jwks_server.url(RS_JWKS_PATH),
            "algorithms": ["RS384"],
            "jwks_ttl_seconds": 3600,
            "min_refetch_interval_seconds": MIN_REFETCH_INTERVAL,
        },
        {"issuer": TENANT_ISSUER, "jwks": jwks(ec_key), "tenants": ["org-1"]},
        {"issuer": JKU_ISSUER, "jku_allowlist": [jwks_server.url(JKU_JWKS_PATH)]},
    ]


@pytest.fixture
def trusted_clients_file(tmp_path: Path, jwks_server: RecordingServer, ec_key: SigningKey) -> Path:
    return write_trusted_clients(tmp_path / "trusted-clients.yaml", trusted_clients(jwks_server, ec_key))


@pytest.fixture
def required_env(trusted_clients_file: Path) -> dict[str, str]:
    return {"AUTH_MODE": "required", "PUBLIC_BASE_URL": PUBLIC_BASE_URL, "TRUSTED_CLIENTS": str(trusted_clients_file)}


@pytest.fixture
def secure_app(make_app: Callable[..., Flask], required_env: dict[str, str]) -> Flask:
    return make_app(**required_env)


@pytest.fixture
def secure_client(secure_app: Flask) -> FlaskClient:
    return secure_app.test_client()


@dataclass
class Signer:
    """Signs tokens as the trusted clients would; the issuer follows from the key unless given."""

    ec_key: SigningKey
    rs_key: SigningKey

    def token(
        self,
        key: SigningKey | None = None,
        *,
        url: str | list[str] = SERVICE_URL,
        issuer: str | None = None,
        headers: dict[str, Any] | None = None,
        algorithm: str | None = None,
        **claims: Any,
    ) -> str:
        key = key or self.ec_key
        issuer = issuer or (RS_ISSUER if key is self.rs_key else EC_ISSUER)
        return key.sign(claims_for(url, issuer, **claims), algorithm=algorithm, headers=headers)

    def auth(self, key: SigningKey | None = None, **kwargs: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(key, **kwargs)}"}


@pytest.fixture
def signer(ec_key: SigningKey, rs_key: SigningKey) -> Signer:
    return Signer(ec_key, rs_key)


def hook_body(app: Flask, **extra: Any) -> dict[str, Any]:
    """A complete patient-view request, prefetch filled from the osteoporosis chart."""
    templates = service_definition(app.extensions["osteo_cds"].queries[PATIENT_VIEW.id])["prefetch"]
    return hook_request(PATIENT_ID, prefetch=prefetch_from_chart(templates, osteoporosis_chart(), PATIENT_ID), **extra)


def auth_reasons(records: list[Any]) -> list[str]:
    return [r.reason for r in records if getattr(r, "event", None) == "auth" and hasattr(r, "reason")]


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One real Redis for the session; jti keys are unique per token, so tests do not interfere."""
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()

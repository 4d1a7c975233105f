"""Fixtures in the Flask tutorial's shape: `settings` → `app` → `client`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cds_service import create_app
from cds_service.config import Settings
from cds_service.logs import JsonFormatter
from testkit import traffic_secrets
from testkit.jwt_clients import generate_key, jwks, write_trusted_clients
from testkit.secrets_scan import find_secrets

EVALUATION_TIME = "2026-11-25T09:00:00Z"


class _ServiceLogCapture(logging.Handler):
    """Everything the service logs in this test process, formatted exactly as it is written in production."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.formatter_ = JsonFormatter()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("osteo_cds"):
            self.lines.append(self.formatter_.format(record))


@pytest.fixture(scope="session", autouse=True)
def no_secret_in_any_service_log() -> Iterator[None]:
    """Issue 7: the whole suite's traffic — every token, JWT, patient id, name and birth date any test sent — is
    looked for in every line the service logged, in-process and from each gunicorn service started."""
    capture = _ServiceLogCapture()
    root = logging.getLogger()
    root.addHandler(capture)
    yield
    root.removeHandler(capture)
    logs = [path.read_text("utf-8", errors="replace") for path in traffic_secrets.SERVICE_LOGS if path.exists()]
    text = "\n".join([*capture.lines, *logs])
    if not text:
        return  # a run that started no service (e.g. one pure unit test file) has no log to scan
    found = find_secrets(text, traffic_secrets.SECRETS)
    assert not found, f"service logs contain: {', '.join(found)}"


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings as the environment would give them, development mode and a pinned clock unless overridden."""

    def make(**env: str) -> Settings:
        base = {
            "OSTEO_CDS_AUTH_MODE": "development",
            "OSTEO_CDS_DATA_DIR": str(tmp_path / "data"),
            "OSTEO_CDS_NOW": EVALUATION_TIME,
        }
        base.update({f"OSTEO_CDS_{k}": v for k, v in env.items()})
        return Settings.from_env(base)

    return make


@pytest.fixture
def required_auth_env(tmp_path: Path) -> dict[str, str]:
    """The least a required-mode (production) app needs: its public base URL and a trusted-clients file, here with
    one client whose public key is inline. Pass as `make_app(**required_auth_env)`."""
    key = generate_key("ES384", kid="conftest-key")
    path = write_trusted_clients(
        tmp_path / "trusted-clients.yaml", [{"issuer": "https://ehr.example.org", "jwks": jwks(key)}]
    )
    return {"AUTH_MODE": "required", "PUBLIC_BASE_URL": "https://cds.example.org", "TRUSTED_CLIENTS": str(path)}


@pytest.fixture
def make_app(make_settings: Callable[..., Settings]) -> Iterator[Callable[..., Flask]]:
    apps: list[Flask] = []

    def make(**env: str) -> Flask:
        app = create_app(make_settings(**env))
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["osteo_cds"].close()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()

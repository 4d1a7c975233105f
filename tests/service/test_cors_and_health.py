"""CORS preflight before any auth; health and readiness checks."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

SANDBOX = "https://sandbox.cds-hooks.org"


def test_preflight_is_answered_before_authentication(
    make_app: Callable[..., Flask], required_auth_env: dict[str, str]
) -> None:
    client = make_app(**required_auth_env, CORS_ORIGINS=SANDBOX).test_client()

    response = client.options(
        "/cds-services/osteoporosis-management",
        headers={
            "Origin": SANDBOX,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )

    assert response.status_code == 204
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]
    assert "Content-Type" in response.headers["Access-Control-Allow-Headers"]
    assert "POST" in response.headers["Access-Control-Allow-Methods"]


def test_an_origin_not_on_the_list_gets_no_cors_headers(
    make_app: Callable[..., Flask], required_auth_env: dict[str, str]
) -> None:
    client = make_app(**required_auth_env, CORS_ORIGINS=SANDBOX).test_client()

    preflight = client.options(
        "/cds-services", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
    )
    call = client.get("/healthz", headers={"Origin": "https://evil.example"})

    assert "Access-Control-Allow-Methods" not in preflight.headers
    assert "Access-Control-Allow-Origin" not in call.headers


def test_production_mode_allows_no_origin_by_default(
    make_app: Callable[..., Flask], required_auth_env: dict[str, str]
) -> None:
    client = make_app(**required_auth_env).test_client()

    response = client.options("/cds-services", headers={"Origin": SANDBOX, "Access-Control-Request-Method": "GET"})

    assert response.status_code == 204 and "Access-Control-Allow-Methods" not in response.headers


def test_development_mode_allows_any_origin_on_real_calls(client: FlaskClient) -> None:
    response = client.get("/cds-services", headers={"Origin": SANDBOX})

    assert response.headers["Access-Control-Allow-Origin"] == SANDBOX
    assert response.headers["Vary"] == "Origin"


def test_required_mode_refuses_unauthenticated_calls_but_not_health(
    make_app: Callable[..., Flask], required_auth_env: dict[str, str]
) -> None:
    client = make_app(**required_auth_env).test_client()

    refused = client.get("/cds-services")

    assert refused.status_code == 401
    assert refused.get_json()["resourceType"] == "OperationOutcome"
    assert client.get("/healthz").status_code == 200


def test_readyz_reports_the_database_and_the_auth_mode(client: FlaskClient) -> None:
    response = client.get("/readyz")

    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ready" and body["authMode"] == "development"
    assert any("development" in w for w in body["warnings"])


def test_readyz_is_503_when_the_database_is_unreachable(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    store = app.extensions["osteo_cds"].store
    store.engine.dispose()
    from sqlalchemy import create_engine

    store.engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:9/none", connect_args={"connect_timeout": 1})

    response = app.test_client().get("/readyz")

    assert response.status_code == 503
    assert response.get_json()["resourceType"] == "OperationOutcome"

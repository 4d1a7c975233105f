"""The trusted-clients file and the required-mode settings: refused at start-up, with a message naming the problem."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask

from cds_service.auth.trusted_clients import DEFAULT_ALGORITHMS, load_trusted_clients
from cds_service.cli import main
from cds_service.config import ConfigError, Settings
from testkit.jwt_clients import SigningKey, generate_key, jwks, write_trusted_clients
from testkit.redis_server import RedisServer

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return generate_key("ES384", kid="k1")


def load(tmp_path: Path, clients: Any) -> Any:
    path = tmp_path / "clients.yaml"
    if isinstance(clients, str):
        path.write_text(clients)
    elif isinstance(clients, dict):
        path.write_text(yaml.safe_dump(clients))
    else:
        write_trusted_clients(path, clients)
    return load_trusted_clients(path)


def test_a_minimal_client_gets_the_recommended_algorithms(tmp_path: Path, key: SigningKey) -> None:
    clients = load(tmp_path, [{"issuer": "https://ehr.example.org", "jwks": jwks(key)}])

    client = clients["https://ehr.example.org"]
    assert client.algorithms == DEFAULT_ALGORITHMS == ("ES384", "RS384")
    assert client.tenants == () and client.jku_allowlist == ()


def test_a_top_level_list_is_accepted_too(tmp_path: Path, key: SigningKey) -> None:
    path = tmp_path / "clients.yaml"
    path.write_text(json.dumps([{"issuer": "https://ehr.example.org", "jwks": jwks(key)}]))

    assert list(load_trusted_clients(path)) == ["https://ehr.example.org"]


def test_a_jwks_file_is_read_relative_to_the_trusted_clients_file(tmp_path: Path, key: SigningKey) -> None:
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "ehr.json").write_text(json.dumps(jwks(key)))

    clients = load(tmp_path, [{"issuer": "https://ehr.example.org", "jwks_file": "keys/ehr.json"}])

    assert clients["https://ehr.example.org"].jwks_file == tmp_path / "keys" / "ehr.json"


def test_the_shipped_example_file_loads(tmp_path: Path) -> None:
    clients = load_trusted_clients(REPO / "examples" / "trusted-clients.example.yaml")

    assert set(clients) == {"https://fhir.example-health.org/api/FHIR/R4", "https://cds-hooks.cerner.com"}
    assert clients["https://fhir.example-health.org/api/FHIR/R4"].algorithms == ("RS384",)
    assert "https://sandbox.cds-hooks.org" not in clients  # development only: commented out


def _private_jwk(key: SigningKey) -> dict[str, Any]:
    import jwt

    return {**jwt.algorithms.ECAlgorithm.to_jwk(key.private_key, as_dict=True), "kid": key.kid}


BAD_FILES: list[tuple[str, Callable[[SigningKey], Any], str]] = [
    ("hs256", lambda k: [{"issuer": "https://a", "jwks": jwks(k), "algorithms": ["HS256"]}], "'HS256' is refused"),
    ("none", lambda k: [{"issuer": "https://a", "jwks": jwks(k), "algorithms": ["none"]}], "'none' is refused"),
    ("unknown-alg", lambda k: [{"issuer": "https://a", "jwks": jwks(k), "algorithms": ["XS1"]}], "'XS1' is refused"),
    (
        "typo-field",
        lambda k: [{"issuer": "https://a", "jwks": jwks(k), "algorithm": ["ES384"]}],
        "unknown field(s) algorithm",
    ),
    ("no-issuer", lambda k: [{"jwks": jwks(k)}], "clients[0].issuer must be a non-empty string"),
    ("no-keys", lambda k: [{"issuer": "https://a"}], "no keys"),
    (
        "two-key-sources",
        lambda k: [{"issuer": "https://a", "jwks": jwks(k), "jwks_url": "https://a/jwks"}],
        "only one of jwks, jwks_file, jwks_url",
    ),
    ("private-key", lambda k: [{"issuer": "https://a", "jwks": {"keys": [_private_jwk(k)]}}], "PRIVATE key"),
    (
        "symmetric-key",
        lambda k: [{"issuer": "https://a", "jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "s"}]}}],
        "kty must be EC or RSA",
    ),
    (
        "key-without-kid",
        lambda k: [{"issuer": "https://a", "jwks": {"keys": [{**k.public_jwk(), "kid": None}]}}],
        "no kid",
    ),
    ("duplicate-issuer", lambda k: [{"issuer": "https://a", "jwks": jwks(k)}] * 2, "listed twice"),
    (
        "http-jku",
        lambda k: [{"issuer": "https://a", "jku_allowlist": ["http://keys.example.org/jwks"]}],
        "must be an https URL",
    ),
    (
        "http-jwks-url",
        lambda k: [{"issuer": "https://a", "jwks_url": "http://keys.example.org/jwks"}],
        "must be an https URL",
    ),
    (
        "tenants-not-strings",
        lambda k: [{"issuer": "https://a", "jwks": jwks(k), "tenants": [1]}],
        "tenants must be a list of non-empty strings",
    ),
    (
        "refetch-slower-than-ttl",
        lambda k: [
            {"issuer": "https://a", "jwks": jwks(k), "jwks_ttl_seconds": 30, "min_refetch_interval_seconds": 60}
        ],
        "must not exceed jwks_ttl_seconds",
    ),
    ("missing-jwks-file", lambda k: [{"issuer": "https://a", "jwks_file": "nope.json"}], "cannot be read"),
    ("empty", lambda k: {"clients": []}, "at least one client"),
    (
        "other-top-level-key",
        lambda k: {"clients": [{"issuer": "https://a", "jwks": jwks(k)}], "extra": 1},
        "only top-level key",
    ),
    (
        "not-yaml",
        lambda k: "clients: [\n  - {issuer: 'https://a', jwks: {keys: [{d: 'SECRET-PART'}]\n",
        "is not valid YAML at line",
    ),
]


@pytest.mark.parametrize(
    ("content", "message"), [(make, message) for _, make, message in BAD_FILES], ids=[name for name, _, _ in BAD_FILES]
)
def test_a_bad_trusted_clients_file_is_refused_with_a_clear_message(
    tmp_path: Path, key: SigningKey, content: Callable[[SigningKey], Any], message: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        load(tmp_path, content(key))

    assert message in str(refused.value)
    assert "OSTEO_CDS_TRUSTED_CLIENTS" in str(refused.value)
    assert "SECRET-PART" not in str(refused.value)


def test_the_private_key_message_does_not_repeat_the_key(tmp_path: Path, key: SigningKey) -> None:
    private = _private_jwk(key)

    with pytest.raises(ConfigError) as refused:
        load(tmp_path, [{"issuer": "https://a", "jwks": {"keys": [private]}}])

    assert private["d"] not in str(refused.value)


def test_settings_load_without_auth_settings_for_the_cli_commands() -> None:
    settings = Settings.from_env({"OSTEO_CDS_AUTH_MODE": "required"})

    assert settings.public_base_url is None and settings.trusted_clients is None


@pytest.mark.parametrize("missing", ["PUBLIC_BASE_URL", "TRUSTED_CLIENTS"])
def test_required_mode_refuses_to_start_without_its_settings(
    make_app: Callable[..., Flask], required_auth_env: dict[str, str], missing: str
) -> None:
    env = {name: value for name, value in required_auth_env.items() if name != missing}

    with pytest.raises(ConfigError, match=f"OSTEO_CDS_{missing} must be set"):
        make_app(**env)


def test_serve_reports_a_bad_trusted_clients_file_before_starting_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "clients.yaml"
    bad.write_text("clients:\n  - issuer: https://a\n    jwks_url: https://a/jwks\n    algorithms: [HS256]\n")
    monkeypatch.setenv("OSTEO_CDS_AUTH_MODE", "required")
    monkeypatch.setenv("OSTEO_CDS_PUBLIC_BASE_URL", "https://cds.example.org")
    monkeypatch.setenv("OSTEO_CDS_TRUSTED_CLIENTS", str(bad))
    monkeypatch.setenv("OSTEO_CDS_DATA_DIR", str(tmp_path))

    assert main(["serve", "--port", "1"]) == 2
    assert "'HS256' is refused" in capsys.readouterr().err


def test_readyz_warns_about_unauthenticated_metrics_until_a_token_is_set(
    make_app: Callable[..., Flask], required_auth_env: dict[str, str]
) -> None:
    open_metrics = make_app(**required_auth_env).test_client().get("/readyz").get_json()
    guarded = make_app(**required_auth_env, METRICS_TOKEN="s").test_client().get("/readyz").get_json()

    assert open_metrics["authMode"] == "required"
    assert any("OSTEO_CDS_METRICS_TOKEN is not set" in w for w in open_metrics["warnings"])
    assert not any("METRICS_TOKEN" in w for w in guarded.get("warnings", ()))


def test_trusting_the_sandbox_is_logged_loudly_but_not_advertised_by_readyz(
    make_app: Callable[..., Flask],
    tmp_path: Path,
    key: SigningKey,
    redis_server: RedisServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = write_trusted_clients(
        tmp_path / "sandbox.yaml",
        [{"issuer": "https://sandbox.cds-hooks.org", "jwks": jwks(key), "algorithms": ["ES384"]}],
    )
    with caplog.at_level(logging.WARNING):
        app = make_app(
            AUTH_MODE="required",
            PUBLIC_BASE_URL="https://cds.example.org",
            TRUSTED_CLIENTS=str(path),
            REDIS_URL=redis_server.url,
        )

    assert any("sandbox" in r.getMessage() and "never in production" in r.getMessage() for r in caplog.records)
    body = app.test_client().get("/readyz").get_json()
    assert body["status"] == "ready"
    assert not any("sandbox" in w for w in body.get("warnings", ()))

"""Secrets and PHI never reach logs, error bodies or the database: a realistic batch of traffic (successes, 401s,
400s carrying the token in a bad field, 412 after a FHIR fetch with the token, 404) through the app and through the
real gunicorn service, then a scan of everything written."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask

from cds_service.discovery import service_definition
from cds_service.logs import JsonFormatter
from cds_service.services import PATIENT_VIEW
from testkit import fhir
from testkit.cds_client import feedback_for, hook_request, prefetch_from_chart
from testkit.jwt_clients import SigningKey, write_trusted_clients
from testkit.processes import ServiceProcess
from testkit.secrets_scan import assert_no_secrets, database_bytes, find_secrets, jwt_secrets
from tests.security.conftest import (
    DISCOVERY_PATH,
    DISCOVERY_URL,
    FEEDBACK_PATH,
    FEEDBACK_URL,
    PUBLIC_BASE_URL,
    SERVICE_PATH,
    SERVICE_URL,
    Signer,
    trusted_clients,
)
from tests.support.recording_server import RecordingServer

PATIENT_ID = "pt-7q2x9k4w"
FAMILY_NAME = "Quillfeather"
GIVEN_NAME = "Agathe"
BIRTH_DATE = "1949-07-23"
ACCESS_TOKEN = "fhir-at-Zk93LmQpT0xR8vW2"
PHI = {"patient id": PATIENT_ID, "family name": FAMILY_NAME, "given name": GIVEN_NAME, "birth date": BIRTH_DATE}


def chart() -> list[dict[str, Any]]:
    patient = {
        **fhir.patient(PATIENT_ID, birth_date=BIRTH_DATE),
        "name": [{"use": "official", "family": FAMILY_NAME, "given": [GIVEN_NAME]}],
    }
    return [
        patient,
        fhir.t_score("dxa-ls", PATIENT_ID, "38267-1", -2.8, "2026-06-15", display="DXA Lumbar spine T-score"),
        fhir.t_score("dxa-th", PATIENT_ID, "38264-8", -2.1, "2026-06-15", display="DXA Hip T-score"),
    ]


@dataclass
class Exchange:
    status: int
    body: Any
    text: str


@dataclass
class Traffic:
    """Sends the batch through `send(method, path, json, authorization)` and remembers every secret it used."""

    send: Callable[[str, str, Any, str | None], Exchange]
    signer: Signer
    fhir_server: str
    secrets: dict[str, str] = field(default_factory=dict)
    exchanges: list[tuple[str, Exchange]] = field(default_factory=list)

    def jwt(self, url: str, **claims: Any) -> str:
        token = self.signer.token(url=url, **claims)
        self.secrets.update(jwt_secrets(f"JWT #{len(self.secrets) // 3 + 1}", token))
        return token

    def call(self, label: str, method: str, path: str, body: Any = None, token: str | None = None) -> Exchange:
        exchange = self.send(method, path, body, f"Bearer {token}" if token else None)
        self.exchanges.append((label, exchange))
        return exchange

    def run(self, templates: dict[str, str]) -> None:
        prefetch = prefetch_from_chart(templates, chart(), PATIENT_ID)

        def request(**extra: Any) -> dict[str, Any]:
            body = hook_request(PATIENT_ID, prefetch=prefetch, fhir_server=self.fhir_server, access_token=ACCESS_TOKEN)
            return {**body, **extra}

        assert self.call("discovery", "GET", DISCOVERY_PATH, token=self.jwt(DISCOVERY_URL)).status == 200
        service_token = self.jwt(SERVICE_URL)
        answered = self.call("service call", "POST", SERVICE_PATH, request(), service_token)
        assert answered.status == 200 and answered.body["cards"]
        card = answered.body["cards"][0]
        feedback = feedback_for(
            card,
            "overridden",
            reason={"system": "urn:osteo-cds:override-reason", "code": "patient-declined", "display": "Declined"},
        )
        feedback["feedback"][0]["overrideReason"]["userComment"] = (
            f"{GIVEN_NAME} {FAMILY_NAME} ({BIRTH_DATE}, {PATIENT_ID}) declined; token {ACCESS_TOKEN}"
        )
        assert self.call("feedback", "POST", FEEDBACK_PATH, feedback, self.jwt(FEEDBACK_URL)).status == 200

        expected = {
            "replayed JWT": (401, "POST", SERVICE_PATH, request(), service_token),
            "no JWT": (401, "POST", SERVICE_PATH, request(), None),
            "expired JWT": (401, "POST", SERVICE_PATH, request(), self.jwt(SERVICE_URL, issued_at=1_700_000_000)),
            "discovery JWT on the service": (401, "POST", SERVICE_PATH, request(), self.jwt(DISCOVERY_URL)),
            "token as the hook": (400, "POST", SERVICE_PATH, request(hook=ACCESS_TOKEN), self.jwt(SERVICE_URL)),
            "token as the token_type": (400, "POST", SERVICE_PATH, _with_token_type(request()), self.jwt(SERVICE_URL)),
            "token in the fhirServer": (
                400,
                "POST",
                SERVICE_PATH,
                request(fhirServer=f"ftp://{ACCESS_TOKEN}"),
                self.jwt(SERVICE_URL),
            ),
            "token and patient id as a prefetch key": (
                400,
                "POST",
                SERVICE_PATH,
                request(prefetch={f"{ACCESS_TOKEN}-{PATIENT_ID}": 1}),
                self.jwt(SERVICE_URL),
            ),
            "JWT as the hookInstance": (
                400,
                "POST",
                SERVICE_PATH,
                request(hookInstance=service_token),
                self.jwt(SERVICE_URL),
            ),
            "patient id in a non-string context": (
                400,
                "POST",
                SERVICE_PATH,
                {**request(), "context": {"patientId": [PATIENT_ID], "userId": 7}},
                self.jwt(SERVICE_URL),
            ),
            "FHIR fetch with the token fails": (
                412,
                "POST",
                SERVICE_PATH,
                {**request(), "prefetch": {}},
                self.jwt(SERVICE_URL),
            ),
            "unknown service": (
                404,
                "POST",
                "/cds-services/no-such-service",
                request(),
                self.jwt(PUBLIC_BASE_URL + "/cds-services/no-such-service"),
            ),
            "feedback naming the patient, invalid": (
                400,
                "POST",
                FEEDBACK_PATH,
                {"feedback": [{"card": PATIENT_ID, "outcome": ACCESS_TOKEN}]},
                self.jwt(FEEDBACK_URL),
            ),
        }
        for label, (status, method, path, body, token) in expected.items():
            exchange = self.call(label, method, path, body, token)
            assert exchange.status == status, f"{label}: {exchange.status} {exchange.text}"

    def check_responses(self) -> None:
        for label, exchange in self.exchanges:
            assert_no_secrets(exchange.text, self.secrets | {"access token": ACCESS_TOKEN}, f"the {label} response")
            if exchange.status >= 400:
                assert_no_secrets(exchange.text, PHI, f"the {label} error body")


def _with_token_type(body: dict[str, Any]) -> dict[str, Any]:
    body["fhirAuthorization"]["token_type"] = ACCESS_TOKEN
    return body


@pytest.fixture
def fhir_server() -> Iterator[RecordingServer]:
    """Answers every FHIR request with 404 (so the hook gets 412) and records the Authorization header it got."""
    server = RecordingServer().start()
    yield server
    server.stop()


def assert_the_token_was_used_against_the_fhir_server(fhir_server: RecordingServer) -> None:
    """The scan only means something if the secrets really went through the service."""
    assert any(r.headers.get("Authorization") == f"Bearer {ACCESS_TOKEN}" for r in fhir_server.requests)
    assert any(PATIENT_ID in r.path for r in fhir_server.requests)


def test_no_token_jwt_or_phi_in_logs_error_bodies_or_the_database_in_process(
    make_app: Callable[..., Flask],
    required_env: dict[str, str],
    signer: Signer,
    fhir_server: RecordingServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = make_app(**required_env, LOG_LEVEL="DEBUG", ALLOW_HTTP_FHIR="true")
    client = app.test_client()

    def send(method: str, path: str, body: Any, authorization: str | None) -> Exchange:
        response = client.open(
            path, method=method, json=body, headers={"Authorization": authorization} if authorization else {}
        )
        return Exchange(response.status_code, response.get_json(silent=True), response.get_data(as_text=True))

    traffic = Traffic(send, signer, fhir_server.url("/fhir"))
    with caplog.at_level(logging.DEBUG):
        traffic.run(service_definition(app.extensions["osteo_cds"].queries[PATIENT_VIEW.id])["prefetch"])
    app.extensions["osteo_cds"].store.dispose()

    formatter = JsonFormatter()
    logged = "\n".join(f"{formatter.format(r)}\n{r.getMessage()}" for r in caplog.records)
    assert '"reason":"replayed-jti"' in logged and logged.count('"event":"request"') == len(traffic.exchanges)
    assert_the_token_was_used_against_the_fhir_server(fhir_server)
    everything = traffic.secrets | PHI | {"access token": ACCESS_TOKEN}
    assert_no_secrets(logged, everything, "the log records")
    traffic.check_responses()
    assert_no_secrets(database_bytes(tmp_path / "data" / "feedback.db"), everything, "the feedback database")


def test_no_token_jwt_or_phi_in_the_gunicorn_service_log_or_database(
    tmp_path: Path, jwks_server: RecordingServer, ec_key: SigningKey, signer: Signer, fhir_server: RecordingServer
) -> None:
    clients_file = write_trusted_clients(tmp_path / "trusted-clients.yaml", trusted_clients(jwks_server, ec_key))
    service = ServiceProcess(
        tmp_path / "data",
        {
            "OSTEO_CDS_AUTH_MODE": "required",
            "OSTEO_CDS_PUBLIC_BASE_URL": PUBLIC_BASE_URL,
            "OSTEO_CDS_TRUSTED_CLIENTS": str(clients_file),
            "OSTEO_CDS_LOG_LEVEL": "DEBUG",
            "OSTEO_CDS_ALLOW_HTTP_FHIR": "true",
        },
        workers=1,
    )
    (tmp_path / "data").mkdir()
    session = requests.Session()

    def send(method: str, path: str, body: Any, authorization: str | None) -> Exchange:
        response = session.request(
            method,
            service.base_url + path,
            json=body,
            timeout=10,
            headers={"Authorization": authorization} if authorization else {},
        )
        try:
            parsed = response.json()
        except ValueError:
            parsed = None
        return Exchange(response.status_code, parsed, response.text)

    service.start()
    try:
        traffic = Traffic(send, signer, fhir_server.url("/fhir"))
        discovery = send("GET", DISCOVERY_PATH, None, f"Bearer {traffic.jwt(DISCOVERY_URL)}")
        traffic.run(discovery.body["services"][0]["prefetch"])
    finally:
        service.stop()

    log_text = service.log_text()
    assert '"reason":"replayed-jti"' in log_text and '"level":"DEBUG"' in log_text
    assert_the_token_was_used_against_the_fhir_server(fhir_server)
    everything = traffic.secrets | PHI | {"access token": ACCESS_TOKEN}
    assert_no_secrets(log_text, everything, "the gunicorn service log")
    traffic.check_responses()
    assert_no_secrets(database_bytes(tmp_path / "data" / "feedback.db"), everything, "the feedback database")


def test_the_scanner_finds_secrets_in_every_encoding_it_claims() -> None:
    token = "aaa.bbb.ccc"
    secrets = jwt_secrets("jwt", token) | {"name": "Zoë Doe"}

    assert find_secrets('{"msg": "token aaa.bbb.ccc"}', secrets) == list(jwt_secrets("jwt", token))
    assert find_secrets("sig=ccc", secrets) == ["jwt (signature segment)"]
    assert find_secrets('{"n": "Zo\\u00eb Doe"}', secrets) == ["name"]
    assert find_secrets("q=Zo%C3%AB%20Doe", secrets) == ["name"]
    assert find_secrets("Zoë Doe".encode("utf-16-le"), secrets) == ["name"]
    assert find_secrets(b"nothing here", secrets) == []
    with pytest.raises(AssertionError, match="the log contains: name"):
        assert_no_secrets("Zoë Doe", {"name": "Zoë Doe"}, "the log")


def test_validation_messages_never_echo_member_names_chosen_by_the_client(secure_app: Flask, signer: Signer) -> None:
    body = hook_request(PATIENT_ID, prefetch={ACCESS_TOKEN: 1, "patient": 2})

    response = secure_app.test_client().post(SERVICE_PATH, json=body, headers=signer.auth())

    assert response.status_code == 400
    diagnostics = [issue["diagnostics"] for issue in response.get_json()["issue"]]
    assert "'prefetch.*' must be of type object or null." in diagnostics
    assert_no_secrets(response.get_data(as_text=True), {"access token": ACCESS_TOKEN}, "the 400 body")


def test_a_parsed_hook_request_does_not_show_its_token_or_patient() -> None:
    from cds_service.validation import parse_hook_request

    hook = parse_hook_request(
        hook_request(PATIENT_ID, fhir_server="https://ehr.example.org/fhir", access_token=ACCESS_TOKEN),
        expected_hook="patient-view",
    )

    assert hook.access_token == ACCESS_TOKEN  # it is there, for the FHIR client...
    assert_no_secrets(f"{hook!r} {hook!s}", {"access token": ACCESS_TOKEN, "patient id": PATIENT_ID}, "repr")

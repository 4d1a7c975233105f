"""Long bearer tokens through the HTTP servers in front of the app: gunicorn as deployed (`osteo-cds serve`), and
nginx with the proxy configuration the deployment documents.

The service reads tokens up to 16 KiB (cds_service.auth.MAX_TOKEN_CHARS). gunicorn's default header-line limit
(8190 bytes) and nginx's (8 KiB buffers) are below that, so a 12 KB token used to get gunicorn's 431 HTML page or
nginx's 400 page instead of the service's answer. A token up to the cap now gets the service's own answer (200 when
it is valid, a 401 OperationOutcome when it is not); longer header lines may get the server's own 431 or 400.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator

import pytest

from cds_service.auth import MAX_TOKEN_CHARS
from cds_service.cli import MAX_HEADER_FIELD_BYTES
from testkit.cds_client import hook_request, prefetch_from_chart
from testkit.charts import PATIENT_ID, osteoporosis_chart
from testkit.fuzz import discovery_templates
from testkit.jwt_clients import SigningKey, claims_for, generate_key, jwks, write_trusted_clients
from testkit.nginx import NginxProxy
from testkit.processes import ServiceProcess

ISSUER = "https://ehr.header-limits.test"
SERVICE_PATH = "/cds-services/osteoporosis-management"
NOW = "2026-11-25T09:00:00Z"


class Deployment:
    def __init__(self, port: int, public_base_url: str, key: SigningKey, behind: str) -> None:
        self.port, self.public_base_url, self.key, self.behind = port, public_base_url, key, behind

    def post(self, authorization: str) -> tuple[int, str, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        try:
            prefetch = prefetch_from_chart(discovery_templates(), osteoporosis_chart(), PATIENT_ID)
            body = json.dumps(hook_request(PATIENT_ID, prefetch=prefetch))
            connection.request(
                "POST",
                SERVICE_PATH,
                body=body,
                headers={"Content-Type": "application/json", "Authorization": authorization},
            )
            answer = connection.getresponse()
            return answer.status, answer.getheader("Content-Type") or "", answer.read()
        finally:
            connection.close()

    def padded_token(self, length: int) -> str:
        """A valid JWT for the service endpoint, padded with a claim to exactly `length` characters."""
        claims = claims_for(self.public_base_url + SERVICE_PATH, ISSUER, padding="")
        unpadded = len(self.key.sign(claims))
        # base64url: 4 characters per 3 bytes of the claims JSON; adjust until the length is exact.
        padding = "p" * ((length - unpadded) * 3 // 4)
        while len(token := self.key.sign({**claims, "padding": padding})) != length:
            padding = padding[:-1] if len(token) > length else padding + "p"
        return token


@pytest.fixture(scope="module", params=["gunicorn", "nginx"])
def deployment(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    tmp_path = tmp_path_factory.mktemp(f"header-limits-{request.param}")
    key = generate_key("ES384")
    trusted = write_trusted_clients(tmp_path / "trusted-clients.yaml", [{"issuer": ISSUER, "jwks": jwks(key)}])
    service = ServiceProcess(
        tmp_path,
        {"OSTEO_CDS_AUTH_MODE": "required", "OSTEO_CDS_TRUSTED_CLIENTS": str(trusted), "OSTEO_CDS_NOW": NOW},
        workers=1,
    )
    proxy = NginxProxy(tmp_path / "nginx", [service.port]) if request.param == "nginx" else None
    service.env["OSTEO_CDS_PUBLIC_BASE_URL"] = proxy.base_url if proxy else service.base_url
    try:
        service.start()
        if proxy:
            proxy.start()
            yield Deployment(proxy.port, proxy.base_url, key, "nginx")
        else:
            yield Deployment(service.port, service.base_url, key, "gunicorn")
    finally:
        if proxy:
            proxy.stop()
        service.stop()


def assert_outcome(status: int, content_type: str, body: bytes, expected: int) -> None:
    assert status == expected, body[:300]
    assert content_type.startswith("application/json"), (content_type, body[:300])
    assert json.loads(body)["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize("length", [12_000, MAX_TOKEN_CHARS])
def test_a_malformed_token_up_to_the_cap_gets_the_services_401(deployment: Deployment, length: int) -> None:
    assert_outcome(*deployment.post("Bearer " + "x" * length), expected=401)


@pytest.mark.parametrize("length", [12_288, MAX_TOKEN_CHARS])
def test_a_valid_token_up_to_the_cap_is_accepted(deployment: Deployment, length: int) -> None:
    token = deployment.padded_token(length)

    status, _, body = deployment.post(f"Bearer {token}")

    assert status == 200, body[:300]
    assert "DX-01" in {card["source"]["topic"]["code"] for card in json.loads(body)["cards"]}


def test_a_token_one_character_over_the_cap_is_refused_by_the_service(deployment: Deployment) -> None:
    assert_outcome(*deployment.post(f"Bearer {deployment.padded_token(MAX_TOKEN_CHARS + 1)}"), expected=401)


def test_a_header_line_over_the_servers_limit_gets_the_servers_own_refusal(deployment: Deployment) -> None:
    status, _, _ = deployment.post("Bearer " + "x" * (MAX_HEADER_FIELD_BYTES + 1024))

    assert status == (431 if deployment.behind == "gunicorn" else 400)


def test_the_header_limit_leaves_room_for_the_longest_token_line() -> None:
    assert len("Authorization: Bearer  \r\n") + MAX_TOKEN_CHARS < MAX_HEADER_FIELD_BYTES

"""A request refused before its body is read (a 401 comes before the body is looked at) leaves the client's
connection usable and gets its own answer, directly on gunicorn and through nginx.

gunicorn closes a connection whose unread body is over 64 KiB, after answering and without saying so. Before the
service read such bodies itself, a client reusing the connection had its next request aborted, and nginx, still
sending the body when the connection was reset, answered 502 instead of the service's 401.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit.cds_client import hook_request
from testkit.charts import PATIENT_ID
from testkit.jwt_clients import SigningKey, claims_for, generate_key, jwks, write_trusted_clients
from testkit.nginx import NginxProxy
from testkit.processes import ServiceProcess

ISSUER = "https://ehr.unread-bodies.test"
SERVICE_PATH = "/cds-services/osteoporosis-management"
LARGE = json.dumps(hook_request(PATIENT_ID, prefetch={"padding": "x" * 1_000_000})).encode()  # < MAX_BODY_BYTES


class Deployment:
    def __init__(self, port: int, public_base_url: str, key: SigningKey) -> None:
        self.port, self.public_base_url, self.key = port, public_base_url, key

    def auth(self, path: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key.sign(claims_for(self.public_base_url + path, ISSUER))}"}


@pytest.fixture(params=["gunicorn", "nginx"])
def deployment(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployment]:
    """One production-mode instance, called directly or through the nginx configuration of the scale-out test."""
    key = generate_key("ES384")
    trusted = write_trusted_clients(tmp_path / "trusted-clients.yaml", [{"issuer": ISSUER, "jwks": jwks(key)}])
    service = ServiceProcess(tmp_path, {"OSTEO_CDS_AUTH_MODE": "required", "OSTEO_CDS_TRUSTED_CLIENTS": str(trusted)})
    proxy = NginxProxy(tmp_path / "nginx", [service.port]) if request.param == "nginx" else None
    service.env["OSTEO_CDS_PUBLIC_BASE_URL"] = proxy.base_url if proxy else service.base_url
    try:
        service.start()
        if proxy:
            proxy.start()
            yield Deployment(proxy.port, proxy.base_url, key)
        else:
            yield Deployment(service.port, service.base_url, key)
    finally:
        if proxy:
            proxy.stop()
        service.stop()


def test_a_refused_large_request_gets_its_401_and_the_connection_stays_usable(deployment: Deployment) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", deployment.port, timeout=10)
    try:
        for _ in range(5):
            connection.request("POST", SERVICE_PATH, body=LARGE, headers={"Content-Type": "application/json"})
            refused = connection.getresponse()
            body = refused.read()
            assert refused.status == 401, body[:300]
            assert json.loads(body)["resourceType"] == "OperationOutcome"
            # The next request on the same connection: it would be aborted if the service had left the body unread.
            connection.request("GET", "/cds-services", headers=deployment.auth("/cds-services"))
            accepted = connection.getresponse()
            assert accepted.status == 200, accepted.read()[:300]
            accepted.read()
    finally:
        connection.close()

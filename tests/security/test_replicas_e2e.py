"""Two real gunicorn services (as deployed) sharing a real Redis: a token replayed to the other replica is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from testkit.cds_client import hook_request, prefetch_from_chart
from testkit.charts import PATIENT_ID, osteoporosis_chart
from testkit.jwt_clients import SigningKey, write_trusted_clients
from testkit.processes import ServiceProcess
from testkit.redis_server import RedisServer
from tests.security.conftest import (
    DISCOVERY_PATH,
    DISCOVERY_URL,
    PUBLIC_BASE_URL,
    SERVICE_PATH,
    Signer,
    trusted_clients,
)
from tests.support.recording_server import RecordingServer


@pytest.fixture
def replicas(
    tmp_path: Path, jwks_server: RecordingServer, ec_key: SigningKey, redis_server: RedisServer
) -> Iterator[list[ServiceProcess]]:
    clients_file = write_trusted_clients(tmp_path / "trusted-clients.yaml", trusted_clients(jwks_server, ec_key))
    env = {
        "OSTEO_CDS_AUTH_MODE": "required",
        "OSTEO_CDS_PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "OSTEO_CDS_TRUSTED_CLIENTS": str(clients_file),
        "OSTEO_CDS_REDIS_URL": redis_server.url,
    }
    started: list[ServiceProcess] = []
    try:
        for name in ("replica-a", "replica-b"):
            (tmp_path / name).mkdir()
            # One worker each: two workers creating a fresh SQLite schema at once can race (reported to the lead).
            started.append(ServiceProcess(tmp_path / name, env, workers=1).start())
        yield started
    finally:
        for process in started:
            process.stop()


def test_a_token_replayed_to_another_gunicorn_replica_is_refused(
    replicas: list[ServiceProcess], signer: Signer
) -> None:
    a, b = replicas
    templates = requests.get(a.base_url + DISCOVERY_PATH, headers=signer.auth(url=DISCOVERY_URL), timeout=5).json()[
        "services"
    ][0]["prefetch"]
    body = hook_request(PATIENT_ID, prefetch=prefetch_from_chart(templates, osteoporosis_chart(), PATIENT_ID))
    token = signer.token()

    def call(replica: ServiceProcess, authorization: str) -> int:
        return requests.post(
            replica.base_url + SERVICE_PATH, json=body, timeout=10, headers={"Authorization": f"Bearer {authorization}"}
        ).status_code

    assert call(a, token) == 200
    assert call(b, token) == 401
    assert call(a, token) == 401  # and on the same replica
    assert call(b, signer.token()) == 200

    a.stop()
    b.stop()
    assert '"reason":"replayed-jti"' in b.log_text()
    for replica in replicas:
        assert token not in replica.log_text()

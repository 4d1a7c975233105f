"""Two instances behind nginx, sharing PostgreSQL (feedback) and Redis (JWT replay cache), in production auth mode:
one instance is SIGKILLed under load, and the run keeps working without losing acknowledged feedback.

What an EHR sees at the kill: a request that had already reached the dying instance gets a 502 (an
OperationOutcome from nginx) or nothing at all — never a 200 for work that was not done, and never a 401 — and its
retry with a fresh JWT succeeds on the surviving instance. New requests are moved by nginx to the survivor when the
dead one refuses the connection, so they do not fail.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from tests.service.charts import PATIENT_ID
from tests.support.cds_client import hook_request
from tests.support.jwt_clients import SigningKey, claims_for, generate_key, jwks, write_trusted_clients
from tests.support.nginx import NginxProxy
from tests.support.processes import ServiceProcess
from tests.support.scale_out import (
    ISSUER,
    SERVICE_PATH,
    EhrTraffic,
    ScaleOutTopology,
    log_events,
    served_hook_calls,
)

CLIENT_THREADS = 4


@pytest.fixture
def topology(tmp_path: Path) -> Iterator[ScaleOutTopology]:
    running = ScaleOutTopology(tmp_path / "scale-out", instances=2, workers=2)
    try:
        yield running.start()
    finally:
        running.stop()


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.05)


def test_killing_one_instance_under_load_loses_nothing_and_the_run_keeps_working(
        topology: ScaleOutTopology) -> None:
    doomed, survivor = topology.instances
    traffic = EhrTraffic(topology, threads=CLIENT_THREADS)
    # A token used on the doomed instance before it dies: the survivor must refuse it afterwards (shared Redis).
    used_on_doomed = topology.token(SERVICE_PATH)
    first_use = requests.post(doomed.base_url + SERVICE_PATH, timeout=10,
                              headers={"Authorization": f"Bearer {used_on_doomed}"},
                              json=hook_request(PATIENT_ID, prefetch=traffic.prefetch))
    assert first_use.status_code == 200

    traffic.start()
    try:
        # Both instances must really be serving through nginx before one is killed.
        wait_for(lambda: served_hook_calls(doomed) >= 20 and served_hook_calls(survivor) >= 20, 20,
                 "nginx did not spread hook calls over both instances")
        killed_at = time.monotonic()  # taken before the signal: failures may arrive before kill() returns
        doomed.kill()  # SIGKILL of master and workers, mid-load
        time.sleep(3.0)  # keep going for a while on one instance
    finally:
        report = traffic.stop()

    failures = report.failures()
    # The run kept working: calls completed after the kill, and no call failed for good.
    assert report.successes_after(killed_at + 0.5) >= 20, f"too little traffic after the kill: {failures}"
    assert report.gave_up == []
    # Failures only at the kill, only of kinds a client can tell apart from success and retry: a 502 carrying an
    # OperationOutcome, or a broken connection. At most one per client thread (one call in flight each).
    assert all(a.at >= killed_at for a in failures), failures
    assert all((a.status == 502 and a.outcome_body) or a.status is None for a in failures), failures
    assert len(failures) <= CLIENT_THREADS, failures

    # No acknowledged feedback is lost: every item answered 200 is in PostgreSQL.
    assert len(report.acknowledged_feedback) >= 20
    assert report.acknowledged_feedback <= topology.stored_feedback_cards()

    # The survivor shares the replay cache: the token already used on the dead instance is refused...
    replayed = requests.post(survivor.base_url + SERVICE_PATH, timeout=10,
                             headers={"Authorization": f"Bearer {used_on_doomed}"},
                             json=hook_request(PATIENT_ID, prefetch=traffic.prefetch))
    assert replayed.status_code == 401
    wait_for(lambda: any(e.get("reason") == "replayed-jti" for e in log_events(survivor)), 5,
             "the survivor did not log the refusal as a replay")
    # ...while a fresh token is accepted, and nginx reports the service ready on the survivor alone.
    fresh = requests.post(survivor.base_url + SERVICE_PATH, timeout=10, headers=topology.auth(SERVICE_PATH),
                          json=hook_request(PATIENT_ID, prefetch=traffic.prefetch))
    assert fresh.status_code == 200
    assert requests.get(topology.public_base_url + "/readyz", timeout=5).status_code == 200


@pytest.fixture
def one_instance_behind_nginx(tmp_path: Path) -> Iterator[tuple[NginxProxy, SigningKey]]:
    """One production-mode instance (SQLite) behind the same nginx configuration."""
    key = generate_key("ES384")
    trusted = write_trusted_clients(tmp_path / "trusted-clients.yaml", [{"issuer": ISSUER, "jwks": jwks(key)}])
    service = ServiceProcess(tmp_path, {"OSTEO_CDS_AUTH_MODE": "required", "OSTEO_CDS_TRUSTED_CLIENTS": str(trusted)})
    proxy = NginxProxy(tmp_path / "nginx", [service.port])
    service.env["OSTEO_CDS_PUBLIC_BASE_URL"] = proxy.base_url
    try:
        service.start()
        yield proxy.start(), key
    finally:
        proxy.stop()
        service.stop()


def test_a_refused_large_request_does_not_break_the_clients_connection(
        one_instance_behind_nginx: tuple[NginxProxy, SigningKey]) -> None:
    """gunicorn closes a connection after answering a request whose body (over 64 KiB) the app did not read — a
    401 comes before the body is read — without announcing it, so a client reusing the connection has its next
    request aborted. Behind nginx (which reads the whole body and uses a new upstream connection per request) the
    client's connection stays usable: this is why the deployment puts a buffering proxy in front."""
    proxy, key = one_instance_behind_nginx
    connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
    try:
        large = json.dumps(hook_request(PATIENT_ID, prefetch={"padding": "x" * 200_000})).encode()
        for _ in range(5):
            connection.request("POST", SERVICE_PATH, body=large, headers={"Content-Type": "application/json"})
            refused = connection.getresponse()
            assert refused.status == 401 and json.loads(refused.read())["resourceType"] == "OperationOutcome"
            token = key.sign(claims_for(proxy.base_url + "/cds-services", ISSUER))
            connection.request("GET", "/cds-services", headers={"Authorization": f"Bearer {token}"})
            accepted = connection.getresponse()
            assert accepted.status == 200, accepted.read()[:300]
            accepted.read()
    finally:
        connection.close()

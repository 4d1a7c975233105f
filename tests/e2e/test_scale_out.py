"""Two instances behind nginx, sharing PostgreSQL (feedback) and Redis (JWT replay cache), in production auth mode:
one instance is SIGKILLed under load, and the run keeps working without losing acknowledged feedback.

What an EHR sees at the kill: a request that had already reached the dying instance gets a 502 (an
OperationOutcome from nginx) or nothing at all — never a 200 for work that was not done, and never a 401 — and its
retry with a fresh JWT succeeds on the surviving instance. New requests are moved by nginx to the survivor when the
dead one refuses the connection, so they do not fail.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from testkit.cds_client import hook_request
from testkit.charts import PATIENT_ID
from testkit.scale_out import (
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


def test_killing_one_instance_under_load_loses_nothing_and_the_run_keeps_working(topology: ScaleOutTopology) -> None:
    doomed, survivor = topology.instances
    traffic = EhrTraffic(topology, threads=CLIENT_THREADS)
    # A token used on the doomed instance before it dies: the survivor must refuse it afterwards (shared Redis).
    used_on_doomed = topology.token(SERVICE_PATH)
    first_use = requests.post(
        doomed.base_url + SERVICE_PATH,
        timeout=10,
        headers={"Authorization": f"Bearer {used_on_doomed}"},
        json=hook_request(PATIENT_ID, prefetch=traffic.prefetch),
    )
    assert first_use.status_code == 200

    traffic.start()
    try:
        # Both instances must really be serving through nginx before one is killed.
        wait_for(
            lambda: served_hook_calls(doomed) >= 20 and served_hook_calls(survivor) >= 20,
            20,
            "nginx did not spread hook calls over both instances",
        )
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
    replayed = requests.post(
        survivor.base_url + SERVICE_PATH,
        timeout=10,
        headers={"Authorization": f"Bearer {used_on_doomed}"},
        json=hook_request(PATIENT_ID, prefetch=traffic.prefetch),
    )
    assert replayed.status_code == 401
    wait_for(
        lambda: any(e.get("reason") == "replayed-jti" for e in log_events(survivor)),
        5,
        "the survivor did not log the refusal as a replay",
    )
    # ...while a fresh token is accepted, and nginx reports the service ready on the survivor alone.
    fresh = requests.post(
        survivor.base_url + SERVICE_PATH,
        timeout=10,
        headers=topology.auth(SERVICE_PATH),
        json=hook_request(PATIENT_ID, prefetch=traffic.prefetch),
    )
    assert fresh.status_code == 200
    assert requests.get(topology.public_base_url + "/readyz", timeout=5).status_code == 200

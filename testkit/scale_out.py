"""The scale-out topology on one machine: PostgreSQL (feedback), Redis (JWT replay cache), several `osteo-cds serve`
instances in production auth mode, and nginx in front — plus an EHR-like client that drives mixed traffic through
nginx. Used by tests/e2e/test_scale_out.py (bounded) and `python -m bench.scale_out` (manual trials).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import create_engine, text

from testkit.cds_client import hook_request, prefetch_from_chart
from testkit.charts import PATIENT_ID, osteoporosis_chart
from testkit.jwt_clients import SigningKey, claims_for, generate_key, jwks, write_trusted_clients
from testkit.nginx import NginxProxy
from testkit.postgres import PostgresServer
from testkit.processes import ServiceProcess, free_port
from testkit.redis_server import RedisServer

ISSUER = "https://ehr.scale-out.test"
SERVICE_PATH = "/cds-services/osteoporosis-management"
FEEDBACK_PATH = SERVICE_PATH + "/feedback"


class ScaleOutTopology:
    """Start with `start()`, always `stop()` (it stops whatever did start, in reverse order)."""

    def __init__(self, directory: Path, instances: int = 2, workers: int = 2) -> None:
        self.directory = directory
        self.instance_count = instances
        self.workers = workers
        self.key: SigningKey = generate_key("ES384", kid=f"scale-out-{uuid.uuid4()}")
        self.postgres = PostgresServer(directory / "postgres")
        self.redis = RedisServer(directory / "redis")
        self.nginx_port = free_port()  # known before the instances start: it is their PUBLIC_BASE_URL
        self.public_base_url = f"http://127.0.0.1:{self.nginx_port}"
        self.instances: list[ServiceProcess] = []
        self.nginx: NginxProxy | None = None

    def start(self) -> ScaleOutTopology:
        self.directory.mkdir(parents=True, exist_ok=True)
        with ThreadPoolExecutor(2) as pool:  # independent servers: start them side by side
            for started in [pool.submit(self.postgres.start), pool.submit(self.redis.start)]:
                started.result()
        trusted = write_trusted_clients(
            self.directory / "trusted-clients.yaml",
            [{"issuer": ISSUER, "jwks": jwks(self.key), "algorithms": ["ES384"]}],
        )
        env = {
            "OSTEO_CDS_AUTH_MODE": "required",
            "OSTEO_CDS_PUBLIC_BASE_URL": self.public_base_url,
            "OSTEO_CDS_TRUSTED_CLIENTS": str(trusted),
            "OSTEO_CDS_DATABASE_URL": self.postgres.url,
            "OSTEO_CDS_REDIS_URL": self.redis.url,
            "OSTEO_CDS_METRICS_TOKEN": "scale-out-metrics",
        }
        for number in range(self.instance_count):
            data_dir = self.directory / f"instance-{number}"
            data_dir.mkdir(exist_ok=True)
            self.instances.append(ServiceProcess(data_dir, env, workers=self.workers))
        with ThreadPoolExecutor(len(self.instances)) as pool:
            for started in [pool.submit(instance.start) for instance in self.instances]:
                started.result()
        self.nginx = NginxProxy(self.directory / "nginx", [i.port for i in self.instances], port=self.nginx_port)
        self.nginx.start()
        return self

    def stop(self) -> None:
        servers: list[Any] = [self.nginx, *self.instances, self.redis, self.postgres]
        for server in servers:
            if server is not None:
                server.stop()

    def token(self, path: str) -> str:
        """A fresh ES384 JWT for one call to `path`, valid on every instance (aud = the nginx URL)."""
        return self.key.sign(claims_for(self.public_base_url + path, ISSUER))

    def auth(self, path: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(path)}"}

    def stored_feedback_cards(self) -> set[str]:
        engine = create_engine(self.postgres.url)
        try:
            with engine.connect() as connection:
                return {row[0] for row in connection.execute(text("SELECT card_uuid FROM feedback"))}
        finally:
            engine.dispose()


def log_events(instance: ServiceProcess) -> list[dict[str, Any]]:
    """The instance's JSON log lines (gunicorn's own lines, not JSON, are skipped)."""
    events = []
    for line in instance.log_text().splitlines():
        if line.startswith("{"):
            try:
                events.append(json.loads(line))
            except ValueError:
                continue  # a line cut short by SIGKILL
    return events


def served_hook_calls(instance: ServiceProcess) -> int:
    """How many hook calls this instance has answered with 200, from its request log."""
    return sum(
        1
        for e in log_events(instance)
        if e.get("event") == "request" and e.get("status") == 200 and e.get("path") == "/cds-services/<service_id>"
    )


@dataclass(frozen=True)
class Attempt:
    """One HTTP attempt as the client saw it: `status` is None when the connection itself failed."""

    kind: str  # "hook" or "feedback"
    at: float  # time.monotonic() when the answer (or the failure) arrived
    status: int | None
    outcome_body: bool  # the body is a FHIR OperationOutcome (always expected for a non-200)
    detail: str = ""


@dataclass
class TrafficReport:
    attempts: list[Attempt] = field(default_factory=list)
    acknowledged_feedback: set[str] = field(default_factory=set)  # card uuids whose feedback got a 200
    gave_up: list[str] = field(default_factory=list)  # calls that failed on every attempt

    def failures(self) -> list[Attempt]:
        return [a for a in self.attempts if a.status != 200]

    def successes_after(self, moment: float) -> int:
        return sum(1 for a in self.attempts if a.status == 200 and a.at > moment)


class EhrTraffic:
    """Client threads acting as an EHR: open a chart (hook call, fresh JWT, full prefetch), then send feedback on its
    first card (a unique item). A call answered 502 or whose connection failed is retried with a NEW JWT — the
    first one may already be recorded in the shared replay cache — up to `retries` times."""

    def __init__(self, topology: ScaleOutTopology, threads: int = 4, retries: int = 3) -> None:
        self.topology = topology
        self.threads = threads
        self.retries = retries
        self.report = TrafficReport()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []
        discovery = requests.get(
            topology.public_base_url + "/cds-services", timeout=10, headers=topology.auth("/cds-services")
        )
        discovery.raise_for_status()
        templates = discovery.json()["services"][0]["prefetch"]
        self.prefetch = prefetch_from_chart(templates, osteoporosis_chart(), PATIENT_ID)

    def start(self) -> EhrTraffic:
        self._workers = [threading.Thread(target=self._run, name=f"ehr-{n}", daemon=True) for n in range(self.threads)]
        for worker in self._workers:
            worker.start()
        return self

    def stop(self, timeout: float = 30.0) -> TrafficReport:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout)
        return self.report

    def _run(self) -> None:
        session = requests.Session()
        while not self._stop.is_set():
            answer = self._call(session, "hook", SERVICE_PATH, hook_request(PATIENT_ID, prefetch=self.prefetch))
            if answer is None or not answer["cards"]:
                continue
            card = answer["cards"][0]
            item = {
                "card": card["uuid"],
                "outcome": "overridden",
                "outcomeTimestamp": "2026-11-25T10:00:00Z",
                "overrideReason": {"reason": {"system": "urn:osteo-cds:override-reason", "code": "already-addressed"}},
            }
            if self._call(session, "feedback", FEEDBACK_PATH, {"feedback": [item]}) is not None:
                with self._lock:
                    self.report.acknowledged_feedback.add(card["uuid"])

    def _call(self, session: requests.Session, kind: str, path: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        """POST `payload` until a 200; every retry sends the same body (same hookInstance, same feedback item)."""
        for _ in range(1 + self.retries):
            try:
                response = session.post(
                    self.topology.public_base_url + path, json=payload, timeout=15, headers=self.topology.auth(path)
                )
            except requests.RequestException as exc:
                self._record(Attempt(kind, time.monotonic(), None, False, type(exc).__name__))
                time.sleep(0.05)
                continue
            parsed = _json_or_none(response)
            is_outcome = isinstance(parsed, dict) and parsed.get("resourceType") == "OperationOutcome"
            self._record(
                Attempt(
                    kind,
                    time.monotonic(),
                    response.status_code,
                    is_outcome,
                    "" if response.status_code == 200 else response.text[:300],
                )
            )
            if response.status_code == 200:
                return parsed
            if response.status_code != 502:
                break  # anything else is not a transient failure: do not retry, let the test see it
            time.sleep(0.05)
        with self._lock:
            self.report.gave_up.append(kind)
        return None

    def _record(self, attempt: Attempt) -> None:
        with self._lock:
            self.report.attempts.append(attempt)


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None

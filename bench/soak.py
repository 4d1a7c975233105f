"""Soak: the service in its production configuration under N minutes of mixed traffic.

    python -m bench.soak [--minutes 10] [--threads 4] [--workers N] [--out bench/results]
    python -m bench.soak --minutes 0.2          # a quick check of the harness itself

Starts `osteo-cds serve` (gunicorn, exactly the Dockerfile's command) in required auth mode — one fresh ES384 JWT
per request from a trusted client whose key is made for the run, SQLite feedback store and replay cache — and
sekmet-fhir loaded with the seed and Synthea charts (tests/fixtures). Client threads then send, at random:
discovery; hook calls with full prefetch; hook calls without prefetch (the service queries sekmet-fhir); feedback
on cards received; /metrics and /readyz; and requests that must be refused (malformed JSON → 400; no token,
a replayed token, a token for another endpoint → 401).

Reports the error count (any unexpected status or failed connection), latency p50/p99 per kind of call, the
service's RSS (gunicorn master + workers, from /proc) at start, after warm-up and at the end, its open file
descriptors, worker restarts and ERROR lines in its log. Writes bench/results/soak-<date>.json and .md; exits 1
if there was any error.

Differences from a production deployment, on purpose: the FHIR server is plain http on 127.0.0.1, so
OSTEO_CDS_ALLOW_HTTP_FHIR=true; everything shares this machine's cores with the load generator.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import requests

from bench.proctree import tree_open_fds, tree_pids, tree_rss_kib
from bench.progress import Progress, Ticker
from testkit.cds_client import hook_request, prefetch_from_chart
from testkit.jwt_clients import SigningKey, claims_for, generate_key, jwks, write_trusted_clients
from testkit.processes import ServiceProcess
from testkit.sekmet import SekmetServer

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "tests" / "fixtures"
ISSUER = "https://ehr.soak.test"
DISCOVERY_PATH = "/cds-services"
SERVICE_PATH = "/cds-services/osteoporosis-management"
FEEDBACK_PATH = SERVICE_PATH + "/feedback"
METRICS_TOKEN = "soak-metrics-token"
RSS_SAMPLE_SECONDS = 5.0
SLOW_SECONDS = 1.0

# Kind of call → (relative weight, expected status). The mix is dominated by what an EHR does per chart opened.
MIX: dict[str, tuple[int, int]] = {
    "hook-prefetch": (50, 200),
    "hook-fhir-fallback": (12, 200),
    "feedback": (15, 200),
    "discovery": (5, 200),
    "metrics": (2, 200),
    "readyz": (2, 200),
    "malformed-json": (4, 400),
    "no-token": (4, 401),
    "replayed-token": (3, 401),
    "wrong-audience": (3, 401),
}


@dataclass(frozen=True)
class Chart:
    name: str
    patient_id: str
    resources: list[dict[str, Any]]
    transaction: dict[str, Any]


def load_charts() -> list[Chart]:
    charts = []
    for path in sorted((FIXTURES / "seeds").glob("*.json")) + sorted((FIXTURES / "synthea").glob("*.json")):
        document = json.loads(path.read_text("utf-8"))
        bundle = document.get("bundle", document)  # seed files wrap the bundle with their expected cards
        resources = [entry["resource"] for entry in bundle["entry"]]
        patient = next(r["id"] for r in resources if r["resourceType"] == "Patient")
        charts.append(Chart(path.stem, patient, resources, bundle))
    return charts


class Soak:
    def __init__(
        self,
        service: ServiceProcess,
        sekmet: SekmetServer,
        key: SigningKey,
        charts: list[Chart],
        seconds: float,
        threads: int,
        seed: int,
    ) -> None:
        self.service = service
        self.sekmet = sekmet
        self.key = key
        self.charts = charts
        self.seconds = seconds
        self.threads = threads
        self.seed = seed
        self.latencies: dict[str, list[float]] = collections.defaultdict(list)
        self.statuses: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
        self.errors: list[dict[str, Any]] = []
        self.slow: list[dict[str, Any]] = []  # calls over SLOW_SECONDS, to tell a stall from steady slowness
        self.recent_cards: collections.deque[dict[str, Any]] = collections.deque(maxlen=500)
        self.lock = threading.Lock()
        self.prefetch: dict[str, dict[str, Any]] = {}
        self.started = time.monotonic()

    def requests_so_far(self) -> int:
        with self.lock:
            return sum(len(v) for v in self.latencies.values())

    def token(self, path: str) -> str:
        # Not SigningKey.sign: that also records each token for the test suite's log scan, a dict that would grow
        # by three entries per request over a soak.
        return jwt.encode(
            claims_for(self.service.base_url + path, ISSUER),
            self.key.private_key,
            algorithm="ES384",
            headers={"typ": "JWT", "kid": self.key.kid},
        )

    def auth(self, path: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(path)}"}

    def prepare(self) -> None:
        discovery = requests.get(self.service.base_url + DISCOVERY_PATH, headers=self.auth(DISCOVERY_PATH), timeout=10)
        discovery.raise_for_status()
        templates = discovery.json()["services"][0]["prefetch"]
        for chart in self.charts:
            self.prefetch[chart.name] = prefetch_from_chart(templates, chart.resources, chart.patient_id)

    def run(self) -> None:
        self.started = time.monotonic()
        deadline = time.monotonic() + self.seconds
        workers = [
            threading.Thread(
                target=self._client, args=(deadline, random.Random(self.seed + n)), name=f"soak-{n}", daemon=True
            )
            for n in range(self.threads)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    def _client(self, deadline: float, rng: random.Random) -> None:
        session = requests.Session()
        kinds = list(MIX)
        weights = [MIX[k][0] for k in kinds]
        while time.monotonic() < deadline:
            kind = rng.choices(kinds, weights)[0]
            request = self._request(kind, rng, session)
            if request is None:
                continue
            method, path, headers, body = request
            started = time.perf_counter()
            try:
                response = session.request(method, self.service.base_url + path, headers=headers, data=body, timeout=30)
            except requests.RequestException as exc:
                self._record(kind, time.perf_counter() - started, type(exc).__name__, None, detail=str(exc))
                continue
            self._record(kind, time.perf_counter() - started, str(response.status_code), response)

    def _request(
        self, kind: str, rng: random.Random, session: requests.Session
    ) -> tuple[str, str, dict[str, str], bytes | None] | None:
        json_type = {"Content-Type": "application/json"}
        chart = rng.choice(self.charts)
        if kind == "hook-prefetch":
            body = hook_request(chart.patient_id, prefetch=self.prefetch[chart.name])
            return "POST", SERVICE_PATH, {**json_type, **self.auth(SERVICE_PATH)}, json.dumps(body).encode()
        if kind == "hook-fhir-fallback":
            body = hook_request(chart.patient_id, fhir_server=self.sekmet.base_url)
            return "POST", SERVICE_PATH, {**json_type, **self.auth(SERVICE_PATH)}, json.dumps(body).encode()
        if kind == "feedback":
            with self.lock:
                card = self.recent_cards.popleft() if self.recent_cards else None
            if card is None:
                return None  # nothing to give feedback on yet
            item: dict[str, Any] = {"card": card["uuid"], "outcomeTimestamp": datetime.now(UTC).isoformat()}
            if card.get("suggestions") and rng.random() < 0.5:
                item.update(outcome="accepted", acceptedSuggestions=[{"id": card["suggestions"][0]["uuid"]}])
            else:
                item.update(
                    outcome="overridden",
                    overrideReason={"reason": {"system": "urn:osteo-cds:override-reason", "code": "already-addressed"}},
                )
            return (
                "POST",
                FEEDBACK_PATH,
                {**json_type, **self.auth(FEEDBACK_PATH)},
                json.dumps({"feedback": [item]}).encode(),
            )
        if kind == "discovery":
            return "GET", DISCOVERY_PATH, self.auth(DISCOVERY_PATH), None
        if kind == "metrics":
            return "GET", "/metrics", {"Authorization": f"Bearer {METRICS_TOKEN}"}, None
        if kind == "readyz":
            return "GET", "/readyz", {}, None
        if kind == "malformed-json":
            return "POST", SERVICE_PATH, {**json_type, **self.auth(SERVICE_PATH)}, b'{"hook": "patient-view", '
        body = json.dumps(hook_request(chart.patient_id, prefetch=self.prefetch[chart.name])).encode()
        if kind == "no-token":
            return "POST", SERVICE_PATH, json_type, body
        if kind == "replayed-token":
            token = self.token(SERVICE_PATH)
            started = time.perf_counter()
            first = session.post(
                self.service.base_url + SERVICE_PATH,
                data=body,
                timeout=30,
                headers={**json_type, "Authorization": f"Bearer {token}"},
            )
            self._record("replayed-token(first use)", time.perf_counter() - started, str(first.status_code), first)
            return "POST", SERVICE_PATH, {**json_type, "Authorization": f"Bearer {token}"}, body
        if kind == "wrong-audience":
            return "POST", SERVICE_PATH, {**json_type, **self.auth(DISCOVERY_PATH)}, body
        raise ValueError(kind)

    def _record(
        self, kind: str, seconds: float, status: str, response: requests.Response | None, detail: str = ""
    ) -> None:
        expected = str(MIX[kind][1]) if kind in MIX else "200"
        cards: list[dict[str, Any]] = []
        problem = None
        if status != expected:
            problem = {
                "kind": kind,
                "status": status,
                "body": response.text[:300] if response is not None else detail[:300],
            }
        elif response is not None and status != "200":
            body = _json_or_none(response)
            if not (isinstance(body, dict) and body.get("resourceType") == "OperationOutcome"):
                problem = {"kind": kind, "status": status, "body": "error body is not an OperationOutcome"}
        elif response is not None and kind.startswith("hook"):
            cards = (_json_or_none(response) or {}).get("cards", [])
        with self.lock:
            self.latencies[kind].append(seconds)
            self.statuses[kind][status] += 1
            at = round(time.monotonic() - self.started - seconds, 2)
            if problem is not None:
                problem["at_seconds"] = at
                self.errors.append(problem)
            if seconds > SLOW_SECONDS:
                self.slow.append(
                    {"kind": kind, "status": status, "started_at_seconds": at, "seconds": round(seconds, 3)}
                )
            self.recent_cards.extend(cards[:2])


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class RssSampler:
    """RSS and open file descriptors of the service's process tree every RSS_SAMPLE_SECONDS."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.samples: list[tuple[float, int]] = []
        self.fd_samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._started = time.monotonic()

    def start(self) -> RssSampler:
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(RSS_SAMPLE_SECONDS):
            at = round(time.monotonic() - self._started, 1)
            self.samples.append((at, tree_rss_kib(self.root)))
            self.fd_samples.append((at, tree_open_fds(self.root)))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def worker_boots(log_text: str) -> int:
    return log_text.count("Booting worker with pid")


def log_errors(log_text: str) -> list[str]:
    found = []
    for line in log_text.splitlines():
        if line.startswith("{"):
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("level") in ("ERROR", "CRITICAL"):
                found.append(line[:300])
        elif "Traceback" in line or "[ERROR]" in line or "[CRITICAL]" in line:
            found.append(line[:300])
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=4, help="client threads (each sends one request at a time)")
    parser.add_argument(
        "--workers", type=int, default=None, help="gunicorn workers (default: the service's own default, 2 x cores + 1)"
    )
    parser.add_argument("--seed", type=int, default=20261125, help="seed of the traffic mix")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--keep-work", action="store_true", help="keep the temp directory (service and sekmet logs)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="osteo-soak-"))
    key = generate_key("ES384", kid=f"soak-{uuid.uuid4()}")
    trusted = write_trusted_clients(
        work / "trusted-clients.yaml", [{"issuer": ISSUER, "jwks": jwks(key), "algorithms": ["ES384"]}]
    )
    env = {
        "OSTEO_CDS_AUTH_MODE": "required",
        "OSTEO_CDS_TRUSTED_CLIENTS": str(trusted),
        "OSTEO_CDS_ALLOW_HTTP_FHIR": "true",
        "OSTEO_CDS_METRICS_TOKEN": METRICS_TOKEN,
    }
    service = ServiceProcess(work / "service", env)
    service.env["OSTEO_CDS_PUBLIC_BASE_URL"] = service.base_url  # the port is chosen when the object is made
    if args.workers is None:
        del service.env["OSTEO_CDS_WORKERS"]  # ServiceProcess pins 2 for tests; the soak runs the real default
    else:
        service.env["OSTEO_CDS_WORKERS"] = str(args.workers)
    (work / "service").mkdir()
    sekmet = SekmetServer(work / "sekmet")
    charts = load_charts()
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "minutes": args.minutes,
        "client_threads": args.threads,
        "seed": args.seed,
        "charts": [c.name for c in charts],
        "mix": {k: v[0] for k, v in MIX.items()},
    }
    try:
        sekmet.start()
        for chart in charts:
            sekmet.load(chart.transaction)
        service.start()
        assert service.process is not None
        root = service.process.pid
        soak = Soak(service, sekmet, key, charts, args.minutes * 60, args.threads, args.seed)
        soak.prepare()
        results["workers"] = len(tree_pids(root)) - 1
        results["rss_start_kib"] = tree_rss_kib(root)
        results["open_fds_start"] = tree_open_fds(root)
        sampler = RssSampler(root).start()
        print(
            f"soak: {args.minutes} min, {args.threads} client threads, {results['workers']} workers; "
            f"RSS at start {results['rss_start_kib'] // 1024} MiB",
            flush=True,
        )
        progress = Progress("bench.soak", None, "requests", quiet=args.quiet, time_bound=args.minutes * 60)
        with Ticker(progress, soak.requests_so_far, lambda: f"{len(soak.errors)} errors"):
            soak.run()
        sampler.stop()
        results["rss_end_kib"] = tree_rss_kib(root)
        results["open_fds_end"] = tree_open_fds(root)
        results["rss_samples_kib"] = sampler.samples
        results["open_fds_samples"] = sampler.fd_samples
        results["open_fds_peak"] = max([n for _, n in sampler.fd_samples] + [results["open_fds_end"]])
        warm = [kib for at, kib in sampler.samples if at >= min(60.0, args.minutes * 60 / 4)]
        results["rss_after_warmup_kib"] = warm[0] if warm else results["rss_end_kib"]
        results["rss_peak_kib"] = max([kib for _, kib in sampler.samples] + [results["rss_end_kib"]])
        results["worker_pids_end"] = len(tree_pids(root)) - 1
    finally:
        service.stop()
        sekmet.stop()
    log_text = service.log_text()
    results["worker_restarts"] = max(0, worker_boots(log_text) - results.get("workers", 0))
    results["log_errors"] = log_errors(log_text)
    total = sum(len(v) for v in soak.latencies.values())
    everything = [x for v in soak.latencies.values() for x in v]
    results["requests"] = total
    results["requests_per_second"] = total / (args.minutes * 60)
    results["errors"] = len(soak.errors)
    results["error_samples"] = soak.errors[:20]
    results["slow_calls"] = len(soak.slow)
    results["slow_samples"] = soak.slow[:50]
    results["latency_ms"] = {"all": _latency(everything)} | {k: _latency(v) for k, v in sorted(soak.latencies.items())}
    results["statuses"] = {k: dict(v) for k, v in sorted(soak.statuses.items())}

    args.out.mkdir(parents=True, exist_ok=True)
    stamp = results["date"][:10]
    (args.out / f"soak-{stamp}.json").write_text(json.dumps(results, indent=2) + "\n")
    report = markdown(results)
    (args.out / f"soak-{stamp}.md").write_text(report)
    print("\n" + report)
    if args.keep_work:
        print(f"work directory kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if results["errors"] else 0


def _latency(values: list[float]) -> dict[str, float]:
    if not values:
        return {"count": 0}
    return {
        "count": len(values),
        "p50": round(statistics.median(values) * 1000, 2),
        "p99": round(percentile(values, 0.99) * 1000, 2),
        "max": round(max(values) * 1000, 2),
    }


def markdown(results: dict[str, Any]) -> str:
    mib = 1024
    lines = [
        f"Soak {results['date']} on {results['machine']}: {results['minutes']} min, {results['client_threads']} "
        f"client threads, gunicorn {results['workers']} workers (required auth, ES384 JWT per request, SQLite "
        f"feedback store and replay cache, sekmet-fhir for the fallback calls).",
        "",
        f"- Requests: {results['requests']} ({results['requests_per_second']:.1f}/s); **errors (unexpected status "
        f"or failed connection): {results['errors']}**",
        f"- Service RSS (master + workers): start {results['rss_start_kib'] // mib} MiB, after warm-up "
        f"{results['rss_after_warmup_kib'] // mib} MiB, end {results['rss_end_kib'] // mib} MiB, peak "
        f"{results['rss_peak_kib'] // mib} MiB",
        f"- Open file descriptors (master + workers): start {results['open_fds_start']}, end "
        f"{results['open_fds_end']}, peak {results['open_fds_peak']}",
        f"- Worker restarts: {results['worker_restarts']}; ERROR lines in the service log: "
        f"{len(results['log_errors'])}",
        f"- Calls slower than {SLOW_SECONDS:g} s: {results['slow_calls']}",
        "",
        "| kind | count | statuses | p50 ms | p99 ms | max ms |",
        "|---|---|---|---|---|---|",
    ]
    for kind, latency in results["latency_ms"].items():
        if latency["count"] == 0:
            continue
        statuses = ", ".join(f"{s}×{n}" for s, n in sorted(results["statuses"].get(kind, {}).items()))
        lines.append(
            f"| {kind} | {latency['count']} | {statuses or '-'} | {latency['p50']} | {latency['p99']} | "
            f"{latency['max']} |"
        )
    if results["error_samples"]:
        lines += ["", "First errors:", ""] + [f"- {json.dumps(e)}" for e in results["error_samples"]]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())

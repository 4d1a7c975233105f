"""Benchmark: the service in its production configuration against two floors, interleaved, in one run.

    .venv/bin/python -m bench.run [--seconds 3] [--rounds 5] [--out bench/results] [--quiet]
    .venv/bin/python -m bench.run --seconds 2 --rounds 2 --out /tmp/bench-check    # a quick check of the harness

Three servers under the same gunicorn settings (gthread, the same workers × threads, the same garbage-collector
tuning), loaded one after another by wrk on 127.0.0.1 with the same request bytes:
- the parse floor (bench/floor.py): reads and parses the JSON body, answers `{"cards": []}`;
- the auth floor (bench/auth_floor.py): also verifies the ES384 JWT (trusted-client JWKS, kid lookup, PyJWT) and
  records its jti with one atomic SQLite insert — the least a conformant CDS service does;
- the service: `osteo-cds serve` exactly as the Dockerfile starts it, AUTH_MODE=required.
Every measurement cell (a request kind at a concurrency) runs `--rounds` short rounds of floor, auth floor,
service, floor, auth floor, service, … so that the load of a shared machine falls on all three alike; the table
gives medians over rounds and their spread (min–max). CPU per request is read from /proc for the whole process
tree of each server (master + workers, every thread) before and after each round.

Also measured: cost against chart size (50 to 10,000 resources, concurrency 1), and the FHIR fallback (no
prefetch: the service queries sekmet-fhir) against a plain client that fetches the same queries in parallel
from the same server. The table ends with the goal lines of issue 16, each with its measured value and met /
not met. Writes `<date>.md` and `<date>.json` to `--out`.

The request set is pluggable: REQUEST_KINDS is a list of named request makers (patient-view charts, and the
sandbox-shaped order-sign call of issue 13).
Needs the test extras (`pip install -e '.[test]'`: sekmet-fhir) and the Debian package wrk.
"""

from __future__ import annotations

import argparse
import copy
import functools
import gzip
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from bench.auth import TokenFactory, TokenPool
from bench.proctree import tree_cpu_seconds, tree_rss_kib
from bench.progress import Progress
from cds_service.config import Settings
from cds_service.workers import cpu_budget, default_workers
from testkit.cds_client import hook_request, prefetch_from_chart
from testkit.orders import ALENDRONATE_70, draft_orders, draft_request, order_request
from testkit.processes import dockerfile_command, free_port, wait_until_up
from testkit.sekmet import SekmetServer

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SERVICE_PATH = "/cds-services/osteoporosis-management"
ORDER_SIGN_PATH = "/cds-services/bone-safety-order-sign"
CONCURRENCY = (1, 8, 32)
SCALE = (50, 200, 2000, 10000)
GOAL_RATIO = 1.5  # the service within 1.5 × the auth floor
HEAVY_P99_MS = 100.0
FALLBACK_RATIO = 1.2
LINEAR_TOLERANCE = 1.25  # marginal cost per resource may grow this much from 200–2,000 to 2,000–10,000
FLOOR, AUTH_FLOOR, SERVICE = "floor", "auth floor", "service"


# --- what is sent ------------------------------------------------------------------------------------------


@functools.cache
def load_chart(name: str) -> tuple[dict[str, Any], ...]:
    path = HERE / "data" / f"{name}-chart.json.gz"
    bundle = json.loads(gzip.decompress(path.read_bytes()))
    return tuple(entry["resource"] for entry in bundle["entry"])


def patient_id(chart: Sequence[dict[str, Any]]) -> str:
    return next(r["id"] for r in chart if r["resourceType"] == "Patient")


def scaled_chart(base: Sequence[dict[str, Any]], size: int) -> list[dict[str, Any]]:
    """A chart of `size` resources: the Patient, then the base chart's records repeated with new ids."""
    patient = next(r for r in base if r["resourceType"] == "Patient")
    records = [r for r in base if r["resourceType"] != "Patient"]
    chart = [patient]
    copy_number = 0
    while len(chart) < size:
        for record in records:
            if len(chart) >= size:
                break
            clone = copy.deepcopy(record)
            clone["id"] = f"{record['id']}-{copy_number}"
            chart.append(clone)
        copy_number += 1
    return chart


@dataclass(frozen=True)
class HookCall:
    """One request body and what it carries."""

    body: bytes
    resources: int


@dataclass(frozen=True)
class RequestKind:
    """A named request maker: `make(templates)` builds the call from the service's discovery prefetch templates."""

    name: str
    path: str
    make: Callable[[dict[str, str]], HookCall]
    description: str


def patient_view(chart: Sequence[dict[str, Any]]) -> Callable[[dict[str, str]], HookCall]:
    def make(templates: dict[str, str]) -> HookCall:
        pid = patient_id(chart)
        body = hook_request(pid, prefetch=prefetch_from_chart(templates, chart, pid))
        return HookCall(json.dumps(body).encode(), len(chart))

    return make


def chart_call(name: str) -> Callable[[dict[str, str]], HookCall]:
    return lambda templates: patient_view(load_chart(name))(templates)


def order_sign(chart: Sequence[dict[str, Any]]) -> Callable[[dict[str, str]], HookCall]:
    """The sandbox's Rx Sign call: one alendronate 70 mg draft (no Bundle type, no intent, `1 {pill}`), with the
    order-sign service's prefetch filled from the chart."""

    def make(templates: dict[str, str]) -> HookCall:
        pid = patient_id(chart)
        draft = draft_request(
            "request-123", pid, ALENDRONATE_70, timing={"frequency": 1, "period": 1, "periodUnit": "wk"}
        )
        prefetch = prefetch_from_chart(templates, chart, pid)
        body = order_request("order-sign", pid, draft_orders(draft), prefetch=prefetch)
        return HookCall(json.dumps(body).encode(), len(chart) + 1)

    return make


REQUEST_KINDS: list[RequestKind] = [
    RequestKind("typical", SERVICE_PATH, chart_call("typical"), "patient-view, full prefetch, typical chart"),
    RequestKind("heavy", SERVICE_PATH, chart_call("heavy"), "patient-view, full prefetch, heavy chart"),
    RequestKind(
        "order-sign",
        ORDER_SIGN_PATH,
        lambda templates: order_sign(load_chart("typical"))(templates),
        "order-sign, one sandbox-shaped alendronate draft, full prefetch, typical chart",
    ),
]


def service_templates(services: Sequence[dict[str, Any]], path: str) -> dict[str, str]:
    """The discovery prefetch templates of the service a request kind calls."""
    service_id = path.rsplit("/", 1)[-1]
    return next(s["prefetch"] for s in services if s["id"] == service_id)


# --- the servers -------------------------------------------------------------------------------------------


class Server:
    """A gunicorn server (the service or a floor), with its process tree's CPU time and RSS."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], port: int, log: Path) -> None:
        self.name, self.argv, self.env, self.port, self.log = name, argv, env, port, log
        self.base_url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.peak_rss_kib = 0
        self._sampling = threading.Event()

    def start(self) -> Server:
        self.process = subprocess.Popen(
            self.argv, env=self.env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True
        )
        wait_until_up(self.base_url + "/healthz", self.process)
        threading.Thread(target=self._sample, daemon=True).start()
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.name} is not started"
        return self.process.pid

    def cpu_seconds(self) -> float:
        return tree_cpu_seconds(self.pid)

    def rss_kib(self) -> int:
        return tree_rss_kib(self.pid)

    def _sample(self) -> None:
        while not self._sampling.wait(0.2) and self.process and self.process.poll() is None:
            self.peak_rss_kib = max(self.peak_rss_kib, tree_rss_kib(self.process.pid))

    def stop(self) -> None:
        self._sampling.set()
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def floor_server(name: str, app: str, env: dict[str, str], workers: int, threads: int, work: Path) -> Server:
    """A floor under the service's gunicorn settings (cds_service/cli.py: gthread, timeout 30, keep-alive 5, no
    access log, no control socket, the per-worker GC tuning)."""
    port = free_port()
    argv = [
        str(Path(sys.executable).parent / "gunicorn"),
        *("-k", "gthread", "-w", str(workers), "--threads", str(threads)),
        *("--timeout", "30", "--graceful-timeout", "10", "--keep-alive", "5", "--limit-request-line", "8190"),
        *("-b", f"127.0.0.1:{port}", "--no-control-socket", "-c", "python:bench.floor_gunicorn", app),
    ]
    log = work / f"{name.replace(' ', '-')}.log"
    return Server(name, argv, {**os.environ, "PYTHONPATH": str(REPO), **env}, port, log)


# --- one measurement ---------------------------------------------------------------------------------------


def wrk(
    server: Server, path: str, body: Path, connections: int, seconds: int, pool: TokenPool | None
) -> dict[str, Any]:
    threads = 1 if connections == 1 else 2
    env = {
        **os.environ,
        "BENCH_BODY": str(body),
        "BENCH_PATH": path,
        "BENCH_TOKENS": str(pool.path) if pool else "",
        "BENCH_TOKEN_OFFSET": str(pool.offset if pool else 0),
        "BENCH_THREADS": str(threads),
    }
    argv = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s"]
    cpu_before = server.cpu_seconds()
    result = subprocess.run(
        [*argv, "-s", str(HERE / "post.lua"), server.base_url + path],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    )
    cpu_after = server.cpu_seconds()
    line = next((x for x in result.stdout.splitlines() if x.startswith("{")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result for {server.name}: {result.stdout[-500:]} {result.stderr[-500:]}")
    measured: dict[str, Any] = json.loads(line)
    requests_done = max(measured["requests"], 1)
    measured["rps"] = measured["requests"] / (measured["duration_us"] / 1e6)
    measured["cpu_ms_per_request"] = (cpu_after - cpu_before) * 1000 / requests_done
    if pool and measured["tokens_used"] > measured["tokens_available"]:
        measured["errors"] += measured["tokens_used"] - measured["tokens_available"]  # reused tokens: refused
    return measured


def _initial_token_estimate(connections: int, seconds: int, body_bytes: int) -> int:
    per_second = 3000 if body_bytes < 500_000 else 300
    return int(per_second * seconds * min(connections, 8) ** 0.5) + 500


class Cell:
    """One request kind at one concurrency, measured in interleaved rounds on every server."""

    def __init__(self, kind: str, resources: int, body_bytes: int, connections: int) -> None:
        self.kind, self.resources, self.body_bytes, self.connections = kind, resources, body_bytes, connections
        self.rounds: dict[str, list[dict[str, Any]]] = {}

    def run(
        self,
        servers: Sequence[Server],
        path: str,
        body: Path,
        seconds: int,
        rounds: int,
        pool: TokenPool,
        progress: Progress,
    ) -> Cell:
        estimate = _initial_token_estimate(self.connections, seconds, self.body_bytes)
        for number in range(rounds):
            pool.ensure(estimate)
            used = 0
            for server in servers:
                measured = wrk(server, path, body, self.connections, seconds, pool)
                self.rounds.setdefault(server.name, []).append(measured)
                used = max(used, measured["tokens_used"])
                progress.advance(1, f"{self.kind} c={self.connections} round {number + 1}/{rounds} {server.name}")
            pool.consume(used)
            estimate = max(estimate, int(used * 1.5) + 200)
        return self

    def values(self, server: str, field: str) -> list[float]:
        return [r[field] for r in self.rounds.get(server, [])]

    def median(self, server: str, field: str) -> float:
        return statistics.median(self.values(server, field))

    def ratios(self, field: str, server: str = SERVICE, reference: str = AUTH_FLOOR) -> list[float]:
        """Per-round ratios: each round's service figure against the same round's reference figure."""
        return [
            a[field] / b[field] if b[field] else float("inf")
            for a, b in zip(self.rounds[server], self.rounds[reference], strict=True)
        ]

    def errors(self, server: str) -> int:
        return sum(r["errors"] + r["non_200"] for r in self.rounds.get(server, []))

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "resources": self.resources,
            "body_bytes": self.body_bytes,
            "concurrency": self.connections,
            "rounds": self.rounds,
        }


# --- the FHIR fallback -------------------------------------------------------------------------------------


class PlainParallelClient:
    """What any client can do: the same queries as the service's prefetch templates, all at once, each read to
    its last page and parsed."""

    def __init__(self, base_url: str, templates: dict[str, str]) -> None:
        self.base_url, self.templates = base_url, templates
        self.pool = ThreadPoolExecutor(max_workers=len(templates), thread_name_prefix="plain-fhir")
        self._local = threading.local()

    def _session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    def _fetch(self, url: str) -> int:
        session = self._session()
        count = 0
        while url:
            response = session.get(url, timeout=30, headers={"Accept": "application/fhir+json"})
            response.raise_for_status()
            page = response.json()
            if page.get("resourceType") != "Bundle":
                return count + 1
            count += len(page.get("entry") or ())
            url = next((link["url"] for link in page.get("link", []) if link["relation"] == "next"), "")
        return count

    def fetch_all(self, pid: str) -> tuple[float, int]:
        """(seconds until every query's last page is in, resources read)."""
        urls = [f"{self.base_url}/{t.replace('{{context.patientId}}', pid)}" for t in self.templates.values()]
        started = time.perf_counter()
        counts = list(self.pool.map(self._fetch, urls))
        return time.perf_counter() - started, sum(counts)

    def close(self) -> None:
        self.pool.shutdown()


def fallback(
    service: Server,
    templates: dict[str, str],
    kinds: Sequence[str],
    work: Path,
    tokens: TokenFactory,
    public_base: str,
    rounds: int,
    progress: Progress,
) -> list[dict[str, Any]]:
    """No prefetch: the service fetches everything from sekmet-fhir; compared, round by round, with the plain
    parallel client fetching the same queries from the same server."""
    sekmet = SekmetServer(work / "sekmet").start()
    plain = PlainParallelClient(sekmet.base_url, templates)
    session = requests.Session()
    found: list[dict[str, Any]] = []
    try:
        for name in kinds:
            chart = load_chart(name)
            transaction = {
                "resourceType": "Bundle",
                "type": "transaction",
                "entry": [
                    {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
                    for r in chart
                ],
            }
            requests.post(sekmet.base_url, json=transaction, timeout=600).raise_for_status()
            pid = patient_id(chart)
            plain_seconds: list[float] = []
            hook_seconds: list[float] = []
            read = 0

            body = json.dumps(hook_request(pid, fhir_server=sekmet.base_url)).encode()

            def hook_call(body: bytes = body) -> float:
                # The request is ready (token signed, body encoded) before the clock starts, as the plain client's
                # URLs are: both clocks time only the work the server side does.
                headers = {"Content-Type": "application/json", **tokens.header(public_base + SERVICE_PATH)}
                started = time.perf_counter()
                answer = session.post(service.base_url + SERVICE_PATH, timeout=60, data=body, headers=headers)
                if answer.status_code != 200:
                    raise RuntimeError(f"fallback hook answered {answer.status_code}: {answer.text[:300]}")
                return time.perf_counter() - started

            plain.fetch_all(pid)  # warm-up, not counted: the FHIR server's first answers for a patient are slower
            hook_call()
            for number in range(rounds):
                if number % 2:  # alternate who goes first, so neither always meets a just-warmed server
                    hook_seconds.append(hook_call())
                    seconds, read = plain.fetch_all(pid)
                else:
                    seconds, read = plain.fetch_all(pid)
                    hook_seconds.append(hook_call())
                plain_seconds.append(seconds)
                progress.advance(1, f"FHIR fallback {name} round {number + 1}/{rounds}")
            found.append(
                {
                    "kind": name,
                    "resources": len(chart),
                    "resources_read_by_plain_client": read,
                    "hook_ms": [s * 1000 for s in hook_seconds],
                    "plain_parallel_ms": [s * 1000 for s in plain_seconds],
                    "ratios": [h / p for h, p in zip(hook_seconds, plain_seconds, strict=True)],
                }
            )
    finally:
        plain.close()
        sekmet.stop()
    return found


# --- goals -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Goal:
    text: str
    measured: str
    met: bool | None  # None: not measured in this run


def _spread(values: Sequence[float], fmt: str = ".2f") -> str:
    return f"{min(values):{fmt}}–{max(values):{fmt}}"


def _budget_lines(cells: Sequence[Cell]) -> list[str]:
    """What the CPU goal leaves for the service's own work (everything beyond verifying the token and parsing the
    body): (GOAL_RATIO - 1) x the auth floor's CPU per request, against what the service spends beyond it."""
    rows = [c for c in cells if c.connections == 1 and SERVICE in c.rounds and AUTH_FLOOR in c.rounds]
    if not rows:
        return []
    lines = [
        "",
        f"The CPU goal as a budget (concurrency 1): at {GOAL_RATIO} × the auth floor, the service may spend "
        f"{GOAL_RATIO - 1:g} × the auth floor's CPU on everything the floor does not do (validation, prefetch, "
        "facts, rules, cards, logs and metrics).",
        "",
        "| kind | auth floor CPU ms/req | budget ms | service CPU beyond the auth floor, ms | over budget |",
        "|---|---:|---:|---:|---:|",
    ]
    for cell in rows:
        floor_cpu = cell.median(AUTH_FLOOR, "cpu_ms_per_request")
        own = cell.median(SERVICE, "cpu_ms_per_request") - floor_cpu
        budget = (GOAL_RATIO - 1) * floor_cpu
        lines.append(f"| {cell.kind} | {floor_cpu:.2f} | {budget:.2f} | {own:.2f} | {own / budget:.1f} × |")
    return lines


def goals(cells: Sequence[Cell], scale: Sequence[Cell], fallbacks: Sequence[dict[str, Any]]) -> list[Goal]:
    def cell(kind: str, connections: int) -> Cell | None:
        return next((c for c in cells if c.kind == kind and c.connections == connections), None)

    out: list[Goal] = []
    typical1, typical8, heavy1 = cell("typical", 1), cell("typical", 8), cell("heavy", 1)
    text = f"Typical chart, c=1: p50 ≤ {GOAL_RATIO} × the auth floor's"
    if typical1:
        out.append(_ratio_goal(text, typical1.ratios("p50_us")))
    else:
        out.append(Goal(text, "not measured", None))
    text = f"Typical chart, c=8: throughput ≥ 1/{GOAL_RATIO} of the auth floor's"
    text_cpu = f"Typical chart, c=8: CPU per request ≤ {GOAL_RATIO} × the auth floor's"
    if typical8:
        ratios = typical8.ratios("rps")
        median = statistics.median(ratios)
        out.append(Goal(text, f"{median:.2f} (rounds {_spread(ratios)})", median >= 1 / GOAL_RATIO))
        out.append(_ratio_goal(text_cpu, typical8.ratios("cpu_ms_per_request")))
    else:
        out += [Goal(text, "not measured", None), Goal(text_cpu, "not measured", None)]
    text = f"Heavy chart, c=1: p99 < {HEAVY_P99_MS:.0f} ms"
    text_ratio = f"Heavy chart, c=1: p99 ≤ {GOAL_RATIO} × the auth floor's"
    if heavy1:
        p99 = [v / 1000 for v in heavy1.values(SERVICE, "p99_us")]
        median = statistics.median(p99)
        out.append(Goal(text, f"{median:.1f} ms (rounds {_spread(p99, '.1f')})", median < HEAVY_P99_MS))
        out.append(_ratio_goal(text_ratio, heavy1.ratios("p99_us")))
    else:
        out += [Goal(text, "not measured", None), Goal(text_ratio, "not measured", None)]
    out.append(_linear_goal(scale))
    for found in fallbacks:
        ratios = found["ratios"]
        median = statistics.median(ratios)
        out.append(
            Goal(
                f"FHIR fallback ({found['kind']} chart): hook ≤ {FALLBACK_RATIO} × a plain parallel client",
                f"{median:.2f} × ({statistics.median(found['hook_ms']):.0f} vs "
                f"{statistics.median(found['plain_parallel_ms']):.0f} ms; rounds {_spread(ratios)})",
                median <= FALLBACK_RATIO,
            )
        )
    if not fallbacks:
        out.append(Goal(f"FHIR fallback ≤ {FALLBACK_RATIO} × a plain parallel client", "not measured", None))
    return out


def _ratio_goal(text: str, ratios: Sequence[float], limit: float = GOAL_RATIO) -> Goal:
    median = statistics.median(ratios)
    return Goal(text, f"{median:.2f} × (rounds {_spread(ratios)})", median <= limit)


def _linear_goal(scale: Sequence[Cell]) -> Goal:
    """Service CPU per request at 200, 2,000 and 10,000 resources: the cost of a resource between 2,000 and
    10,000 may be at most LINEAR_TOLERANCE × its cost between 200 and 2,000."""
    text = f"Cost linear in chart size (per-resource CPU, 2,000→10,000 ≤ {LINEAR_TOLERANCE} × 200→2,000)"
    cpu = {c.resources: c.median(SERVICE, "cpu_ms_per_request") for c in scale}
    if not {200, 2000, 10000} <= cpu.keys():
        return Goal(text, "not measured (needs the 200, 2,000 and 10,000 sizes)", None)
    low = (cpu[2000] - cpu[200]) / 1800 * 1000
    high = (cpu[10000] - cpu[2000]) / 8000 * 1000
    ratio = high / low if low > 0 else float("inf")
    return Goal(text, f"{low:.1f} → {high:.1f} µs per resource ({ratio:.2f} ×)", ratio <= LINEAR_TOLERANCE)


# --- the report --------------------------------------------------------------------------------------------


def markdown(results: dict[str, Any], cells: Sequence[Cell], scale: Sequence[Cell], goal_list: list[Goal]) -> str:
    servers = (FLOOR, AUTH_FLOOR, SERVICE)
    lines = [
        f"Measured {results['date']} on {results['machine']}; gunicorn gthread, {results['workers']} workers × "
        f"{results['threads']} threads for all three servers; auth {results['auth']}; {results['rounds']} "
        f"interleaved rounds of {results['seconds']} s per cell; load average {results['load_before']} before, "
        f"{results['load_after']} after. Medians over rounds, spread min–max.",
        "",
        "| kind | resources | c | server | p50 ms | p95 ms | p99 ms | req/s | CPU ms/req | p50 spread | req/s spread "
        "| errors |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---|---|---:|",
    ]
    for cell in cells:
        for server in servers:
            if server not in cell.rounds:
                continue
            p50 = [v / 1000 for v in cell.values(server, "p50_us")]
            lines.append(
                f"| {cell.kind} | {cell.resources} | {cell.connections} | {server} | {statistics.median(p50):.2f} | "
                f"{cell.median(server, 'p95_us') / 1000:.2f} | {cell.median(server, 'p99_us') / 1000:.2f} | "
                f"{cell.median(server, 'rps'):.0f} | {cell.median(server, 'cpu_ms_per_request'):.2f} | "
                f"{_spread(p50)} | {_spread(cell.values(server, 'rps'), '.0f')} | {cell.errors(server)} |"
            )
    lines += [
        "",
        "Service against the auth floor (median of per-round ratios):",
        "",
        "| kind | c | p50 ratio | p99 ratio | throughput ratio | CPU/request ratio | vs parse floor: p50 | CPU |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for cell in cells:
        if SERVICE not in cell.rounds or AUTH_FLOOR not in cell.rounds:
            continue
        med = statistics.median
        lines.append(
            f"| {cell.kind} | {cell.connections} | {med(cell.ratios('p50_us')):.2f} | {med(cell.ratios('p99_us')):.2f} "
            f"| {med(cell.ratios('rps')):.2f} | {med(cell.ratios('cpu_ms_per_request')):.2f} | "
            f"{med(cell.ratios('p50_us', reference=FLOOR)):.2f} | "
            f"{med(cell.ratios('cpu_ms_per_request', reference=FLOOR)):.2f} |"
        )
    lines += _budget_lines(cells)
    if scale:
        lines += [
            "",
            "Cost against chart size (the heavy chart's records repeated; concurrency 1):",
            "",
            "| resources | body KiB | floor p50 ms | auth floor p50 ms | service p50 ms | floor CPU ms/req "
            "| auth floor CPU ms/req | service CPU ms/req |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for cell in scale:
            lines.append(
                f"| {cell.resources} | {cell.body_bytes // 1024} | "
                + " | ".join(f"{cell.median(s, 'p50_us') / 1000:.2f}" for s in servers)
                + " | "
                + " | ".join(f"{cell.median(s, 'cpu_ms_per_request'):.2f}" for s in servers)
                + " |"
            )
    for found in results["fallback"]:
        lines += [
            "",
            f"FHIR fallback, {found['kind']} chart ({found['resources']} resources in sekmet-fhir, no prefetch): "
            f"hook p50 {statistics.median(found['hook_ms']):.1f} ms; a plain client fetching the same "
            f"{len(results['prefetch_keys'])} queries in parallel p50 "
            f"{statistics.median(found['plain_parallel_ms']):.1f} ms; ratio {statistics.median(found['ratios']):.2f} "
            f"(rounds {_spread(found['ratios'])}).",
        ]
    lines += [
        "",
        f"Service RSS: {results['rss_idle_kib'] // 1024} MiB idle, {results['rss_peak_kib'] // 1024} MiB peak "
        f"(master + workers); floor {results['floor_rss_idle_kib'] // 1024} MiB, auth floor "
        f"{results['auth_floor_rss_idle_kib'] // 1024} MiB idle.",
        f"Errors or non-200 answers: service {results['errors'][SERVICE]}, auth floor "
        f"{results['errors'][AUTH_FLOOR]}, floor {results['errors'][FLOOR]}.",
        "",
        "| Goal (issue 16; ratios to the auth floor, same run, interleaved) | Measured | Met? |",
        "|---|---|---|",
    ]
    for goal in goal_list:
        verdict = "not measured" if goal.met is None else ("met" if goal.met else "**not met**")
        lines.append(f"| {goal.text} | {goal.measured} | {verdict} |")
    return "\n".join(lines) + "\n"


# --- main --------------------------------------------------------------------------------------------------


def _int_list(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",") if x.strip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=3, help="length of one wrk round (whole seconds)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds per cell")
    parser.add_argument("--kinds", default=",".join(k.name for k in REQUEST_KINDS), help="request kinds to run")
    parser.add_argument("--concurrency", type=_int_list, default=CONCURRENCY)
    parser.add_argument("--scale", type=_int_list, default=SCALE, help="chart sizes; empty to skip")
    parser.add_argument("--fallback-rounds", type=int, default=10, help="0 skips the FHIR-fallback measurement")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("bench: wrk is required (Debian package 'wrk')", file=sys.stderr)
        return 2
    chosen = [k for k in REQUEST_KINDS if k.name in args.kinds.split(",")]
    unknown = set(args.kinds.split(",")) - {k.name for k in REQUEST_KINDS}
    if unknown:
        print(f"bench: unknown request kinds {sorted(unknown)}", file=sys.stderr)
        return 2

    work = Path(tempfile.mkdtemp(prefix="osteo-bench-"))
    # The service's own defaults (cgroup-aware worker count, threads per worker) unless overridden, for all three.
    workers = int(os.environ.get("BENCH_WORKERS", str(default_workers(cpu_budget()).workers)))
    threads = int(os.environ.get("BENCH_THREADS_PER_WORKER", str(Settings.threads)))
    tokens = TokenFactory(work)
    service_port = free_port()
    public_base = f"http://127.0.0.1:{service_port}"
    service = Server(
        SERVICE,
        dockerfile_command("127.0.0.1"),
        {
            **os.environ,
            "OSTEO_CDS_PORT": str(service_port),  # the image's way of giving the port
            **tokens.service_env(public_base),
            "OSTEO_CDS_DATA_DIR": str(work / "data"),
            "OSTEO_CDS_WORKERS": str(workers),
            "OSTEO_CDS_THREADS": str(threads),
            "OSTEO_CDS_LOG_LEVEL": "WARNING",
            "OSTEO_CDS_MAX_BODY_BYTES": str(32 * 1024 * 1024),
        },
        service_port,
        work / "service.log",
    )
    floor = floor_server(FLOOR, "bench.floor:app", {}, workers, threads, work)
    # The auth floor expects the service's audience, so the same tokens (and request bytes) go to both.
    auth_floor = floor_server(
        AUTH_FLOOR,
        "bench.auth_floor:create_app()",
        tokens.auth_floor_env(public_base, work / "auth-floor"),
        workers,
        threads,
        work,
    )
    servers = (floor, auth_floor, service)
    runs = len(chosen) * len(args.concurrency) * args.rounds * len(servers) + len(args.scale) * args.rounds * 3
    progress = Progress("bench.run", runs + args.fallback_rounds * len(chosen), "measurements", quiet=args.quiet)
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "workers": workers,
        "threads": threads,
        "seconds": args.seconds,
        "rounds": args.rounds,
        "auth": tokens.mode,
        "load_before": " ".join(f"{x:.1f}" for x in os.getloadavg()),
    }
    cells: list[Cell] = []
    scale: list[Cell] = []
    for server in servers:
        server.start()
    try:
        results["rss_idle_kib"] = service.rss_kib()
        results["floor_rss_idle_kib"] = floor.rss_kib()
        results["auth_floor_rss_idle_kib"] = auth_floor.rss_kib()
        services = requests.get(
            service.base_url + "/cds-services", timeout=10, headers=tokens.header(public_base + "/cds-services")
        ).json()["services"]
        templates = service_templates(services, SERVICE_PATH)
        results["prefetch_keys"] = list(templates)
        for kind in chosen:
            call = kind.make(service_templates(services, kind.path))
            body = work / f"{kind.name}.json"
            body.write_bytes(call.body)
            pool = tokens.pool(public_base + kind.path)
            for connections in args.concurrency:
                cell = Cell(kind.name, call.resources, len(call.body), connections)
                cells.append(cell.run(servers, kind.path, body, args.seconds, args.rounds, pool, progress))
        if args.scale:
            pool = tokens.pool(public_base + SERVICE_PATH)
            for size in args.scale:
                call = patient_view(scaled_chart(load_chart("heavy"), size))(templates)
                body = work / f"scale-{size}.json"
                body.write_bytes(call.body)
                cell = Cell(f"scale-{size}", size, len(call.body), 1)
                scale.append(cell.run(servers, SERVICE_PATH, body, args.seconds, args.rounds, pool, progress))
        results["rss_peak_kib"] = service.peak_rss_kib
        results["fallback"] = (
            fallback(
                service,
                templates,
                [k.name for k in chosen if k.path == SERVICE_PATH],  # charts of their own: patient-view kinds
                work,
                tokens,
                public_base,
                args.fallback_rounds,
                progress,
            )
            if args.fallback_rounds
            else []
        )
    finally:
        for server in servers:
            server.stop()
    results["load_after"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
    results["errors"] = {s.name: sum(c.errors(s.name) for c in cells + scale) for s in servers}
    results["cells"] = [c.as_json() for c in cells]
    results["scale"] = [c.as_json() for c in scale]
    goal_list = goals(cells, scale, results["fallback"])
    results["goals"] = [goal.__dict__ for goal in goal_list]

    args.out.mkdir(parents=True, exist_ok=True)
    stamp = results["date"][:10]
    (args.out / f"{stamp}.json").write_text(json.dumps(results, indent=2) + "\n")
    report = markdown(results, cells, scale, goal_list)
    (args.out / f"{stamp}.md").write_text(report)
    print(report)
    shutil.rmtree(work, ignore_errors=True)
    return 1 if any(results["errors"].values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())

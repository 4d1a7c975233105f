"""Benchmark: the service in its production configuration against a physical floor, in one run.

    python -m bench.run [--seconds 8] [--out bench/results]

Measures, on 127.0.0.1 with wrk as the load generator:
- patient-view with full prefetch on a typical (~200 resources) and a heavy (~2,000 resources) chart: p50/p95/p99
  latency and requests/s at concurrency 1, 8 and 32, and peak RSS of the service (master + workers);
- the floor: a trivial Flask app under the same gunicorn settings that parses the same body and answers
  `{"cards": []}` — our cost is reported as a ratio to it;
- how cost grows with chart size (50, 200, 2,000 and 10,000 resources);
- the FHIR-fallback path (no prefetch) against sekmet-fhir, against the slowest single FHIR query it makes.
Writes a markdown table and JSON to the output folder and prints the ratios.
"""

from __future__ import annotations

import argparse
import copy
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from bench.auth import TokenFactory
from testkit.cds_client import hook_request, prefetch_from_chart
from testkit.processes import free_port, wait_until_up
from testkit.sekmet import SekmetServer

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SERVICE_PATH = "/cds-services/osteoporosis-management"
CONCURRENCY = (1, 8, 32)
SCALE = (50, 200, 2000, 10000)


def load_chart(name: str) -> list[dict[str, Any]]:
    bundle = json.loads(gzip.decompress((HERE / "data" / f"{name}-chart.json.gz").read_bytes()))
    return [entry["resource"] for entry in bundle["entry"]]


def patient_id(chart: list[dict[str, Any]]) -> str:
    return next(r["id"] for r in chart if r["resourceType"] == "Patient")


def scaled_chart(base: list[dict[str, Any]], size: int) -> list[dict[str, Any]]:
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


class Server:
    """A gunicorn server (ours or the floor) with RSS sampling of the whole process tree."""

    def __init__(self, argv: list[str], env: dict[str, str], port: int, log: Path) -> None:
        self.argv, self.env, self.port, self.log = argv, env, port, log
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

    def _sample(self) -> None:
        while not self._sampling.is_set() and self.process and self.process.poll() is None:
            self.peak_rss_kib = max(self.peak_rss_kib, _tree_rss_kib(self.process.pid))
            time.sleep(0.2)

    def rss_kib(self) -> int:
        return _tree_rss_kib(self.process.pid) if self.process else 0

    def stop(self) -> None:
        self._sampling.set()
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


def _tree_rss_kib(root: int) -> int:
    total = 0
    for pid in [root, *_children(root)]:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def _children(pid: int) -> list[int]:
    try:
        found = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []
    return found + [g for c in found for g in _children(c)]


def wrk(url: str, body: Path, connections: int, seconds: float, tokens: Path | None) -> dict[str, Any]:
    threads = 1 if connections == 1 else 2
    env = {**os.environ, "BENCH_BODY": str(body), "BENCH_TOKENS": str(tokens or ""), "BENCH_THREADS": str(threads)}
    result = subprocess.run(
        [
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            str(HERE / "post.lua"),
            url,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(x for x in result.stdout.splitlines() if x.startswith("{"))
    measured = json.loads(line)
    measured["rps"] = measured["requests"] / (measured["duration_us"] / 1e6)
    return measured


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=8.0, help="duration of each wrk measurement")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("bench: wrk is required (Debian package 'wrk')", file=sys.stderr)
        return 2

    work = Path(tempfile.mkdtemp(prefix="osteo-bench-"))
    workers = int(os.environ.get("BENCH_WORKERS", str(2 * (os.cpu_count() or 1) + 1)))
    threads = int(os.environ.get("BENCH_THREADS_PER_WORKER", "4"))
    bin_dir = Path(sys.executable).parent
    tokens = TokenFactory(work)
    service_port, floor_port = free_port(), free_port()
    public_base = f"http://127.0.0.1:{service_port}"
    service_env = {
        **os.environ,
        **tokens.service_env(public_base),
        "OSTEO_CDS_DATA_DIR": str(work / "data"),
        "OSTEO_CDS_WORKERS": str(workers),
        "OSTEO_CDS_THREADS": str(threads),
        "OSTEO_CDS_LOG_LEVEL": "WARNING",
        "OSTEO_CDS_MAX_BODY_BYTES": str(32 * 1024 * 1024),
    }
    service = Server(
        [str(bin_dir / "osteo-cds"), "serve", "--host", "127.0.0.1", "--port", str(service_port)],
        service_env,
        service_port,
        work / "service.log",
    )
    floor = Server(
        [
            str(bin_dir / "gunicorn"),
            "-k",
            "gthread",
            "-w",
            str(workers),
            "--threads",
            str(threads),
            "-b",
            f"127.0.0.1:{floor_port}",
            "--no-control-socket",
            "-c",
            "python:bench.floor_gunicorn",
            "bench.floor:app",
        ],
        {**os.environ, "PYTHONPATH": str(REPO)},
        floor_port,
        work / "floor.log",
    )
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "workers": workers,
        "threads": threads,
        "seconds": args.seconds,
        "auth": tokens.mode,
        "load": [],
        "scale": [],
        "fallback": {},
    }
    service.start()
    floor.start()
    try:
        results["rss_idle_kib"] = service.rss_kib()
        templates = requests.get(
            service.base_url + "/cds-services", timeout=10, headers=tokens.header(public_base + "/cds-services")
        ).json()["services"][0]["prefetch"]
        charts = {"typical": load_chart("typical"), "heavy": load_chart("heavy")}

        def body_for(chart: list[dict[str, Any]], name: str) -> Path:
            pid = patient_id(chart)
            path = work / f"{name}.json"
            path.write_text(json.dumps(hook_request(pid, prefetch=prefetch_from_chart(templates, chart, pid))))
            return path

        for name, chart in charts.items():
            body = body_for(chart, name)
            for connections in CONCURRENCY:
                token_file = tokens.file(public_base + SERVICE_PATH, count=_tokens_needed(connections, args.seconds))
                ours = wrk(service.base_url + SERVICE_PATH, body, connections, args.seconds, token_file)
                base = wrk(floor.base_url + SERVICE_PATH, body, connections, args.seconds, None)
                results["load"].append(
                    {"chart": name, "resources": len(chart), "concurrency": connections, "service": ours, "floor": base}
                )
                print(
                    f"{name:8} c={connections:<3} service p50 {ours['p50_us'] / 1000:7.2f} ms "
                    f"p99 {ours['p99_us'] / 1000:7.2f} ms {ours['rps']:8.1f}/s | floor p50 "
                    f"{base['p50_us'] / 1000:6.2f} ms {base['rps']:8.1f}/s",
                    flush=True,
                )

        for size in SCALE:
            body = body_for(scaled_chart(charts["heavy"], size), f"scale-{size}")
            token_file = tokens.file(public_base + SERVICE_PATH, count=_tokens_needed(1, args.seconds / 2))
            ours = wrk(service.base_url + SERVICE_PATH, body, 1, args.seconds / 2, token_file)
            base = wrk(floor.base_url + SERVICE_PATH, body, 1, args.seconds / 2, None)
            results["scale"].append(
                {"resources": size, "body_bytes": body.stat().st_size, "service": ours, "floor": base}
            )
            print(
                f"scale {size:>6} resources: service p50 {ours['p50_us'] / 1000:7.2f} ms, floor p50 "
                f"{base['p50_us'] / 1000:6.2f} ms",
                flush=True,
            )
        results["rss_peak_kib"] = service.peak_rss_kib
        results["fallback"] = fallback(service, templates, charts["heavy"], work, tokens, public_base)
    finally:
        service.stop()
        floor.stop()

    args.out.mkdir(parents=True, exist_ok=True)
    stamp = results["date"][:10]
    (args.out / f"{stamp}.json").write_text(json.dumps(results, indent=2) + "\n")
    report = markdown(results)
    (args.out / f"{stamp}.md").write_text(report)
    print("\n" + report)
    shutil.rmtree(work, ignore_errors=True)
    return 0


def _tokens_needed(connections: int, seconds: float) -> int:
    return int(min(4000 * seconds, 1500 * seconds * max(connections, 1) ** 0.5)) + 500


def fallback(
    service: Server,
    templates: dict[str, str],
    chart: list[dict[str, Any]],
    work: Path,
    tokens: TokenFactory,
    public_base: str,
    rounds: int = 15,
) -> dict[str, Any]:
    """No prefetch: the service fetches everything from sekmet-fhir. Compared with the slowest single query."""
    sekmet = SekmetServer(work / "sekmet").start()
    try:
        bundle = {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}} for r in chart
            ],
        }
        requests.post(sekmet.base_url, json=bundle, timeout=120).raise_for_status()
        pid = patient_id(chart)
        session = requests.Session()
        slowest: list[float] = []
        hook: list[float] = []
        for _ in range(rounds):
            times = []
            for template in templates.values():
                url = f"{sekmet.base_url}/{template.replace('{{context.patientId}}', pid)}"
                started = time.perf_counter()
                response = session.get(url, timeout=30, headers={"Accept": "application/fhir+json"})
                while True:  # a query's cost includes reading all its pages, as the service does
                    page = response.json()
                    next_url = next((link["url"] for link in page.get("link", []) if link["relation"] == "next"), None)
                    if page.get("resourceType") != "Bundle" or next_url is None:
                        break
                    response = session.get(next_url, timeout=30)
                times.append(time.perf_counter() - started)
            slowest.append(max(times))
            started = time.perf_counter()
            answer = session.post(
                service.base_url + SERVICE_PATH,
                timeout=30,
                json=hook_request(pid, fhir_server=sekmet.base_url),
                headers=tokens.header(public_base + SERVICE_PATH),
            )
            hook.append(time.perf_counter() - started)
            if answer.status_code != 200:
                raise RuntimeError(f"fallback hook answered {answer.status_code}")
        return {
            "resources": len(chart),
            "hook_p50_ms": statistics.median(hook) * 1000,
            "slowest_query_p50_ms": statistics.median(slowest) * 1000,
            "ratio": statistics.median(hook) / statistics.median(slowest),
        }
    finally:
        sekmet.stop()


def markdown(results: dict[str, Any]) -> str:
    lines = [
        f"Measured {results['date']} on {results['machine']}; gunicorn gthread, {results['workers']} workers × "
        f"{results['threads']} threads for both; auth {results['auth']}; {results['seconds']} s per cell.",
        "",
        "| chart | resources | concurrency | p50 ms | p95 ms | p99 ms | req/s | floor p50 ms | floor req/s "
        "| p50 ratio | throughput ratio |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in results["load"]:
        ours, base = row["service"], row["floor"]
        lines.append(
            f"| {row['chart']} | {row['resources']} | {row['concurrency']} | {ours['p50_us'] / 1000:.2f} | "
            f"{ours['p95_us'] / 1000:.2f} | {ours['p99_us'] / 1000:.2f} | {ours['rps']:.0f} | "
            f"{base['p50_us'] / 1000:.2f} | {base['rps']:.0f} | {ours['p50_us'] / base['p50_us']:.2f} | "
            f"{ours['rps'] / base['rps']:.2f} |"
        )
    lines += [
        "",
        "| resources | body KiB | service p50 ms | floor p50 ms | service − floor ms |",
        "|---|---|---|---|---|",
    ]
    for row in results["scale"]:
        ours, base = row["service"]["p50_us"] / 1000, row["floor"]["p50_us"] / 1000
        lines.append(
            f"| {row['resources']} | {row['body_bytes'] // 1024} | {ours:.2f} | {base:.2f} | {ours - base:.2f} |"
        )
    fb = results["fallback"]
    lines += [
        "",
        f"FHIR fallback (no prefetch, {fb['resources']} resources in sekmet-fhir): hook p50 "
        f"{fb['hook_p50_ms']:.1f} ms vs slowest single query p50 {fb['slowest_query_p50_ms']:.1f} ms "
        f"(ratio {fb['ratio']:.2f}).",
        f"Service RSS: {results['rss_idle_kib'] // 1024} MiB idle, {results['rss_peak_kib'] // 1024} MiB peak "
        "(master + workers).",
    ]
    errors = sum(r["service"]["errors"] + r["service"]["non_200"] for r in results["load"] + results["scale"])
    lines.append(f"Errors or non-200 answers from the service during the run: {errors}.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())

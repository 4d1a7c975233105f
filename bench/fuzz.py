"""The long fuzz run: hostile requests from the suite's hypothesis strategies (testkit/fuzz.py), 10,000 by
default, spread evenly over the kinds of input.

    python -m bench.fuzz [--cases 10000] [--seed N] [--http] [--kind KIND ...]

Fails loudly — exit status 1, with hypothesis' shrunk falsifying example and its `@reproduce_failure` blob — on
any 5xx or other undocumented status, any error body that is not a FHIR OperationOutcome, or any answer slower
than the hook deadline (OSTEO_CDS_HOOK_DEADLINE, 3 s).

By default the requests go to the real app in-process through Flask's test client: the same app factory, settings,
error handlers and pipeline as production, at a few milliseconds per case, so 10,000 cases take minutes and each
failure shrinks quickly. What that skips is gunicorn's HTTP parsing, which is not our code and which the e2e
tests exercise. `--http` sends the same cases over HTTP to `osteo-cds serve` (gunicorn, exactly the Dockerfile's
command) for a run that includes it. Both use development auth mode: with a required JWT every hostile body would
stop at the 401 before it is parsed, and the 401 path is covered by the security tests.
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from bench.progress import Progress
from cds_service import create_app
from cds_service.config import Settings
from cds_service.discovery import service_definition
from cds_service.queries import queries_for
from fhir_mappings.terminology import load_terminology
from testkit.cds_client import hook_request, prefetch_from_chart
from testkit.charts import PATIENT_ID, osteoporosis_chart
from testkit.fuzz import FuzzCase, fuzz_targets, response_problem
from testkit.processes import ServiceProcess

NOW = "2026-11-25T09:00:00Z"
# (status, content type, body) for the POST of one case.
Transport = Callable[[FuzzCase], tuple[int, str | None, bytes]]


class FuzzFailure(AssertionError):
    pass


def in_process_transport(data_dir: Path) -> tuple[Transport, Callable[[], None], float]:
    settings = Settings.from_env(
        {
            "OSTEO_CDS_AUTH_MODE": "development",
            "OSTEO_CDS_DATA_DIR": str(data_dir),
            "OSTEO_CDS_NOW": NOW,
            "OSTEO_CDS_LOG_LEVEL": "ERROR",
        }
    )
    app = create_app(settings)
    client = app.test_client()

    def post(case: FuzzCase) -> tuple[int, str | None, bytes]:
        response = client.post(case.path, data=case.body, headers={"Content-Type": "application/json", **case.headers})
        return response.status_code, response.content_type, response.get_data()

    return post, app.extensions["osteo_cds"].close, settings.hook_deadline


def http_transport(data_dir: Path) -> tuple[Transport, Callable[[], None], float]:
    service = ServiceProcess(data_dir, {"OSTEO_CDS_NOW": NOW, "OSTEO_CDS_LOG_LEVEL": "ERROR"}).start()
    session = requests.Session()

    def post(case: FuzzCase) -> tuple[int, str | None, bytes]:
        headers = {"Content-Type": "application/json", **case.headers}
        try:
            response = session.post(service.base_url + case.path, data=case.body, timeout=30, headers=headers)
        except requests.ConnectionError:
            if not case.over_server_limits:
                raise
            return 431, None, b""  # gunicorn may close the connection on a request over its header limits
        return response.status_code, response.headers.get("Content-Type"), response.content

    return post, service.stop, Settings.from_env(service.env).hook_deadline


def run_kind(
    kind: str,
    strategy: st.SearchStrategy[FuzzCase],
    post: Transport,
    cases: int,
    deadline: float,
    run_seed: int,
    statuses: collections.Counter[str],
    progress: Progress,
) -> None:
    @seed(run_seed)
    @settings(
        max_examples=cases,
        deadline=None,
        database=None,
        print_blob=True,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(request=strategy)
    def case(request: FuzzCase) -> None:
        started = time.perf_counter()
        status, content_type, answer = post(request)
        elapsed = time.perf_counter() - started
        statuses[f"{kind} {status}"] += 1
        progress.advance(1, kind)
        problem = response_problem(request, status, content_type, answer)
        if problem is None and elapsed > deadline:
            problem = f"answered in {elapsed:.2f} s, over the hook deadline of {deadline} s"
        if problem is not None:
            raise FuzzFailure(f"{kind}: {problem}; POST {request.path}; answer {answer[:300]!r}")

    case()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.fuzz", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=10_000, help="total cases, split evenly over the kinds")
    parser.add_argument("--seed", type=int, default=None, help="hypothesis seed (default: random, printed)")
    parser.add_argument("--http", action="store_true", help="over HTTP to `osteo-cds serve` instead of in-process")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    parser.add_argument("--kind", action="append", help="only this kind of input (repeatable; default: every kind)")
    args = parser.parse_args(argv)
    run_seed = args.seed if args.seed is not None else int(time.time())

    with tempfile.TemporaryDirectory(prefix="osteo-fuzz-") as work:
        post, close, deadline = (http_transport if args.http else in_process_transport)(Path(work))
        try:
            kinds = fuzz_targets(full_request())
            if args.kind:
                unknown = sorted(set(args.kind) - set(kinds))
                if unknown:
                    parser.error(f"unknown kind {', '.join(unknown)}; kinds: {', '.join(kinds)}")
                kinds = {kind: kinds[kind] for kind in args.kind}
            per_kind = max(1, args.cases // len(kinds))
            print(
                f"fuzz: {per_kind * len(kinds)} cases ({per_kind} per kind × {len(kinds)} kinds), "
                f"{'HTTP to osteo-cds serve' if args.http else 'in-process'}, seed {run_seed}, "
                f"deadline {deadline} s",
                flush=True,
            )
            statuses: collections.Counter[str] = collections.Counter()
            # counts every case hypothesis runs, shrinking included, so a failing run may pass its total
            progress = Progress("bench.fuzz", per_kind * len(kinds), "cases", quiet=args.quiet)
            started = time.monotonic()
            for kind, strategy in kinds.items():
                kind_started = time.monotonic()
                try:
                    run_kind(kind, strategy, post, per_kind, deadline, run_seed, statuses, progress)
                except Exception:
                    traceback.print_exc()
                    print(
                        f"\nFUZZ FAILURE in {kind!r} (seed {run_seed}); the falsifying example and the "
                        "@reproduce_failure blob are printed above.",
                        file=sys.stderr,
                    )
                    return 1
                counted = {k.split(" ", 1)[1]: n for k, n in statuses.items() if k.startswith(kind + " ")}
                print(
                    f"  {kind}: {sum(counted.values())} requests in {time.monotonic() - kind_started:.1f} s, "
                    f"statuses {dict(sorted(counted.items()))}",
                    flush=True,
                )
        finally:
            close()
    print(f"fuzz: passed, {sum(statuses.values())} requests in {time.monotonic() - started:.1f} s")
    return 0


def full_request() -> dict[str, Any]:
    """A complete patient-view request with every prefetch key of discovery (computed by the service's own code),
    filled from a small chart."""
    templates = service_definition(queries_for(load_terminology(None)))["prefetch"]
    return hook_request(PATIENT_ID, prefetch=prefetch_from_chart(templates, osteoporosis_chart(), PATIENT_ID))


if __name__ == "__main__":
    raise SystemExit(main())

"""The scale-out topology on this machine, for manual trials: PostgreSQL + Redis + N instances of `osteo-cds serve`
(production auth mode) + nginx, all on 127.0.0.1 (the same topology tests/e2e/test_scale_out.py runs).

    python -m bench.scale_out [--instances 2] [--workers 2] [--dir DIR]
        Start everything, print the URLs, the process group of each instance (kill -9 -PGID to crash one) and
        a curl command; run until Ctrl-C. The CDS client's private key is written to DIR/client-key.pem.
    python -m bench.scale_out --demo [--seconds 10]
        The same, plus EHR-like traffic through nginx; instance 0 is SIGKILLed halfway. Prints what the client
        saw and checks that every acknowledged feedback is in PostgreSQL (exit status 1 if not).
    python -m bench.scale_out token --dir DIR URL
        Print a fresh JWT for one call to URL (e.g. http://127.0.0.1:PORT/cds-services), signed with DIR's key.

Needs the Debian packages nginx, redis-server and postgresql (as the test suite does).
"""

from __future__ import annotations

import argparse
import collections
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from bench.progress import Progress, Ticker
from testkit.jwt_clients import SigningKey, claims_for
from testkit.scale_out import ISSUER, EhrTraffic, ScaleOutTopology, served_hook_calls

KEY_FILE = "client-key.pem"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["token"]:
        return _token(argv[1:])
    parser = argparse.ArgumentParser(
        prog="python -m bench.scale_out", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--instances", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per instance")
    parser.add_argument("--dir", type=Path, default=None, help="working directory (default: a new temp dir)")
    parser.add_argument("--demo", action="store_true", help="run traffic, kill instance 0 halfway, report")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the --demo traffic")
    parser.add_argument("--threads", type=int, default=4, help="client threads in --demo")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr in --demo")
    args = parser.parse_args(argv)

    directory = args.dir or Path(tempfile.mkdtemp(prefix="osteo-scale-out-"))
    topology = ScaleOutTopology(directory, instances=args.instances, workers=args.workers)
    try:
        topology.start()
        (directory / KEY_FILE).write_bytes(
            topology.key.private_key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        (directory / KEY_FILE).chmod(0o600)
        (directory / "client-kid").write_text(topology.key.kid)
        _describe(topology, directory)
        if args.demo:
            return _demo(topology, args.seconds, args.threads, args.quiet)
        print("\nRunning; Ctrl-C stops everything.", flush=True)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        topology.stop()
        if args.dir is None:
            shutil.rmtree(directory, ignore_errors=True)


def _describe(topology: ScaleOutTopology, directory: Path) -> None:
    print(f"working directory: {directory}")
    print(f"nginx (the PUBLIC_BASE_URL): {topology.public_base_url}")
    for number, instance in enumerate(topology.instances):
        pgid = instance.process.pid if instance.process else "?"
        print(f"instance {number}: {instance.base_url}  log {instance.log_path}  crash it: kill -9 -{pgid}")
    print(f"PostgreSQL: {topology.postgres.url}")
    print(f"Redis: {topology.redis.url}")
    print(f"trusted client: iss {ISSUER}, ES384, key {directory / KEY_FILE}")
    url = topology.public_base_url + "/cds-services"
    print(f'try: curl -s {url} -H "Authorization: Bearer $(python -m bench.scale_out token --dir {directory} {url})"')


def _demo(topology: ScaleOutTopology, seconds: float, threads: int, quiet: bool = False) -> int:
    traffic = EhrTraffic(topology, threads=threads).start()
    started = time.monotonic()
    progress = Progress("bench.scale_out", None, "attempts", quiet=quiet, time_bound=seconds)
    with Ticker(progress, lambda: len(traffic.report.attempts)):
        time.sleep(seconds / 2)
        served_before = [served_hook_calls(i) for i in topology.instances]
        killed_at = time.monotonic()
        topology.instances[0].kill()
        print(
            f"\n{killed_at - started:.1f} s: SIGKILL instance 0 (hook calls served so far per instance: "
            f"{served_before})",
            flush=True,
        )
        time.sleep(seconds / 2)
    report = traffic.stop()
    stored = topology.stored_feedback_cards()
    lost = report.acknowledged_feedback - stored
    statuses = collections.Counter(a.status for a in report.attempts)
    print(f"attempts: {len(report.attempts)} ({dict(statuses)}; None = connection failed)")
    print(
        f"successful after the kill: {report.successes_after(killed_at)}; calls that failed every retry: "
        f"{len(report.gave_up)}"
    )
    for failure in report.failures():
        print(
            f"  {failure.kind} at kill{failure.at - killed_at:+.3f} s: {failure.status} "
            f"{'OperationOutcome' if failure.outcome_body else failure.detail[:80]}"
        )
    print(
        f"feedback acknowledged: {len(report.acknowledged_feedback)}, in PostgreSQL: {len(stored)}, "
        f"acknowledged but missing: {len(lost)}"
    )
    return 1 if lost or report.gave_up else 0


def _token(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale_out token")
    parser.add_argument("--dir", type=Path, required=True, help="the working directory of a running topology")
    parser.add_argument("url", help="the exact URL the token is for (its aud)")
    args = parser.parse_args(argv)
    private_key = serialization.load_pem_private_key((args.dir / KEY_FILE).read_bytes(), password=None)
    key = SigningKey((args.dir / "client-kid").read_text().strip(), "ES384", private_key)  # type: ignore[arg-type]
    print(key.sign(claims_for(args.url, ISSUER)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""`osteo-cds` (also `python -m cds_service`): serve, evaluate a FHIR Bundle file, report feedback, show config."""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import sys
import tempfile
import textwrap
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cds_service.config import PREFIX, SETTINGS, ConfigError, Settings, parse_datetime

# The largest request header line accepted (by gunicorn here, and by nginx in front, see deploy/): the service's
# bearer-token cap (cds_service.auth.MAX_TOKEN_CHARS, 16 KiB) plus 1 KiB for the header name, scheme and spaces.
MAX_HEADER_FIELD_BYTES = 16_384 + 1024


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="osteo-cds", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the service under gunicorn (production server)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--workers", type=int, default=None, help=f"default: {PREFIX}WORKERS or 2 x cores + 1")

    evaluate = commands.add_parser("evaluate", help="run the decision pipeline on a FHIR Bundle file")
    evaluate.add_argument("bundle", type=Path, help="FHIR R4 Bundle JSON (collection, searchset or transaction)")
    evaluate.add_argument("--now", help="evaluation time, ISO 8601 (default: now)")
    evaluate.add_argument("--json", action="store_true", help="print the exact CDS Hooks response")

    catalog = commands.add_parser("catalog", help="write the card catalog (index.html and example cards as JSON)")
    catalog.add_argument("--out", type=Path, required=True, help="directory to write (created if missing)")

    report = commands.add_parser("feedback-report", help="accepted/overridden counts per card rule")
    report.add_argument("--json", action="store_true")

    config = commands.add_parser("config", help="print every setting (OSTEO_CDS_*) and its value")
    config.add_argument("--markdown", action="store_true", help="print the README's settings table")

    args = parser.parse_args(argv)
    try:
        if args.command == "serve":
            return _serve(args.host, args.port, args.workers)
        if args.command == "evaluate":
            return _evaluate(args.bundle, args.now, args.json)
        if args.command == "catalog":
            return _catalog(args.out)
        if args.command == "feedback-report":
            return _feedback_report(args.json)
        return _config(args.markdown)
    except ConfigError as exc:
        print(f"osteo-cds: configuration error: {exc}", file=sys.stderr)
        return 2


def _serve(host: str, port: int, workers: int | None) -> int:
    # Prometheus multiprocess mode must be chosen before prometheus_client is first imported.
    metrics_dir = tempfile.mkdtemp(prefix="osteo-cds-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir

    from gunicorn.app.base import BaseApplication
    from prometheus_client import multiprocess

    from cds_service import create_app
    from cds_service.auth import Authenticator
    from cds_service.store import Store
    from fhir_mappings.terminology import load_terminology

    settings = Settings.from_env()
    load_terminology(settings.extra_codes)  # fail here, clearly, rather than in every worker
    Authenticator.from_settings(settings).close()  # likewise for the auth settings and the trusted-clients file
    Store(settings.database_url).dispose()  # create the schema once, before workers race to do it
    count = workers or settings.workers or (2 * (os.cpu_count() or 1) + 1)

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", count)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", settings.threads)
            self.cfg.set("timeout", 30)
            self.cfg.set("graceful_timeout", 10)
            self.cfg.set("keepalive", 5)
            self.cfg.set("accesslog", None)  # our JSON request log replaces it (it would print query strings)
            self.cfg.set("limit_request_line", 8190)
            # One header line may carry "Authorization: Bearer " and a token up to the service's own cap, so that
            # the service's 401 OperationOutcome answers it, not gunicorn's 431 page (default 8190 bytes).
            self.cfg.set("limit_request_field_size", MAX_HEADER_FIELD_BYTES)
            # One shared control socket in $HOME would collide between instances (replicas, tests): not needed.
            self.cfg.set("control_socket_disable", True)
            self.cfg.set("child_exit", lambda _server, worker: multiprocess.mark_process_dead(worker.pid))
            self.cfg.set("post_worker_init", lambda _worker: tune_garbage_collector())

        def load(self) -> Any:
            return create_app(settings)

    master = os.getpid()
    try:
        Server().run()
    finally:
        # Workers are forked inside run() and unwind through this frame when they exit: only the master cleans up.
        if os.getpid() == master:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def tune_garbage_collector() -> None:
    """Per worker, once the app is loaded: the objects alive now (code, models, terminology) are never garbage,
    so they leave the collector's view (`gc.freeze`), and young-generation collections run every 50,000 new
    container objects instead of every 700. Parsing a large prefetch body allocates hundreds of thousands of
    dicts and lists; with the default thresholds the collector rescans them over and over, which made a
    10,000-resource hook call cost 2.4 times as much (python -m bench.run measures it)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def _evaluate(bundle_path: Path, now_text: str | None, as_json: bool) -> int:
    from cards.catalog import default_catalog
    from cds_service.pipeline import evaluate_resources
    from cds_service.render import RenderOptions
    from fhir_mappings.terminology import load_terminology

    try:
        bundle = json.loads(bundle_path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        print(f"osteo-cds: cannot read {bundle_path}: {exc}", file=sys.stderr)
        return 2
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        print(f"osteo-cds: {bundle_path} is not a FHIR Bundle", file=sys.stderr)
        return 2
    now = parse_datetime(now_text, "--now") if now_text else datetime.now(UTC)
    resources = [
        e["resource"] for e in bundle.get("entry") or () if isinstance(e, dict) and isinstance(e.get("resource"), dict)
    ]
    patients = [r for r in resources if r.get("resourceType") == "Patient"]
    if len(patients) != 1:
        print(f"osteo-cds: {bundle_path} must hold exactly one Patient (found {len(patients)})", file=sys.stderr)
        return 2
    settings = Settings.from_env()
    evaluation = evaluate_resources(
        resources,
        now,
        str(patients[0].get("id", "unknown")),
        load_terminology(settings.extra_codes),
        default_catalog(),
        render_options=RenderOptions.from_settings(settings),
    )
    cards = [c.card for c in evaluation.cards]
    if as_json:
        print(json.dumps({"cards": cards}, indent=2, ensure_ascii=False))
    else:
        print(format_cards(cards, now))
    return 0


def format_cards(cards: Sequence[dict[str, Any]], now: datetime) -> str:
    """Cards as a clinician would read them in a terminal."""
    if not cards:
        return f"No cards (evaluated {now.isoformat()})."
    blocks = [f"{len(cards)} card(s), evaluated {now.isoformat()}"]
    for card in cards:
        lines = [f"[{card['indicator'].upper()}] {card['summary']}", f"  rule {card['source']['topic']['code']}"]
        if card.get("detail"):
            lines.append(textwrap.indent(card["detail"], "  | ", predicate=lambda _line: True))
        for suggestion in card.get("suggestions", ()):
            lines.append(f"  -> suggestion: {suggestion['label']}")
            lines.extend(
                f"       draft {a['resource']['resourceType']}: {a['description']}"
                for a in suggestion.get("actions", ())
            )
        for link in card.get("links", ()):
            lines.append(f"  -> link: {link['label']} <{link['url']}>")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _catalog(out: Path) -> int:
    from cards.catalog import default_catalog
    from cds_service.catalog_page import write_catalog
    from cds_service.render import RenderOptions

    written = write_catalog(out, default_catalog(), RenderOptions.from_settings(Settings.from_env()))
    print(f"Wrote {written[0]} and {len(written) - 1} example files in {out / 'examples'}")
    return 0


def _feedback_report(as_json: bool) -> int:
    from cds_service.store import Store

    settings = Settings.from_env()
    rows = Store(settings.database_url).feedback_report()
    if as_json:
        print(json.dumps([row.__dict__ for row in rows], indent=2))
        return 0
    if not rows:
        print("No feedback recorded.")
        return 0
    print(f"{'rule':<10} {'accepted':>8} {'overridden':>10}  override reasons")
    for row in rows:
        reasons = ", ".join(f"{code} x{n}" for code, n in sorted(row.override_reasons.items()))
        print(f"{row.rule_id:<10} {row.accepted:>8} {row.overridden:>10}  {reasons}")
    return 0


def _config(markdown: bool) -> int:
    if markdown:
        print("| Variable | Default | Meaning |")
        print("|---|---|---|")
        for setting in SETTINGS:
            print(f"| `{PREFIX}{setting.name}` | {setting.default} | {setting.meaning} |")
        return 0
    settings = Settings.from_env()
    for setting in SETTINGS:
        value = getattr(settings, setting.name.lower(), None)
        if setting.name == "DATABASE_URL" and value:
            value = _redact_url(str(value))
        print(f"{PREFIX}{setting.name}={'' if value is None else value}")
    return 0


def _redact_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":
    raise SystemExit(main())

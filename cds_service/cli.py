"""osteo-cds (also python -m cds_service): serve the CDS Hooks service, evaluate a FHIR Bundle or a hook request
file, write the card catalog, report feedback, show the effective configuration, check a running instance."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import shutil
import sys
import tempfile
import textwrap
import urllib.error
import urllib.request
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from cds_service.config import (
    PREFIX,
    SETTINGS,
    ConfigError,
    SettingDoc,
    Settings,
    check_required_mode,
    parse_datetime,
    required_mode_problems,
)
from cds_service.gc_tuning import tune_garbage_collector

_EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a C tool reports when `| head` stops reading
_MASK = "***"
# Query parameters that carry a credential in a URL (libpq `password`, cloud tokens, signed URLs, ...).
_CREDENTIAL_PARAMETERS = ("password", "passwd", "pwd", "token", "secret", "key", "signature", "sig", "auth")

# The largest request header line accepted (by gunicorn here, and by nginx in front, see deploy/): the service's
# bearer-token cap (cds_service.auth.MAX_TOKEN_CHARS, 16 KiB) plus 1 KiB for the header name, scheme and spaces.
MAX_HEADER_FIELD_BYTES = 16_384 + 1024


def _package_version() -> str:
    try:
        return version("osteo-cds")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="osteo-cds", description=__doc__)
    parser.add_argument("--version", action="version", version=f"osteo-cds {_package_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="run the service under gunicorn (the production server)",
        description="Run the service under gunicorn (gthread workers). Settings come from the OSTEO_CDS_* "
        "environment (see: osteo-cds config).",
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on, 0.0.0.0 for every interface (default: 127.0.0.1)"
    )
    serve.add_argument("--port", type=int, default=None, help=f"port to listen on (default: {PREFIX}PORT, else 8080)")
    serve.add_argument(
        "--workers",
        type=int,
        default=None,
        help=f"gunicorn worker processes (default: {PREFIX}WORKERS, else ceil(2 x CPUs + 1) at most 8, "
        "CPUs from the container's cgroup quota or the CPU affinity mask)",
    )

    evaluate = commands.add_parser(
        "evaluate",
        help="run the decision pipeline on a FHIR Bundle or a CDS Hooks request file",
        description="Print the cards for one patient, without HTTP. FILE is a FHIR R4 Bundle (collection, "
        "searchset or transaction) holding exactly one Patient, or a CDS Hooks patient-view request whose prefetch "
        "holds the data (like examples/patient-view-request.json; its fhirServer is not contacted).",
    )
    evaluate.add_argument("file", type=Path, metavar="FILE", help="FHIR R4 Bundle or CDS Hooks request, JSON")
    evaluate.add_argument("--now", help="evaluation time, ISO 8601 (default: now)")
    evaluate.add_argument("--json", action="store_true", help="print the exact CDS Hooks response")

    catalog = commands.add_parser("catalog", help="write the card catalog (index.html and example cards as JSON)")
    catalog.add_argument("--out", type=Path, required=True, help="directory to write (created if missing)")

    report = commands.add_parser("feedback-report", help="accepted/overridden counts per card rule")
    report.add_argument("--json", action="store_true", help="print the counts as JSON")

    config = commands.add_parser(
        "config",
        help="print the effective settings in env-file syntax (secrets masked)",
        description="Print every OSTEO_CDS_* setting with the value the service would use, in env-file syntax, "
        "secrets masked.",
    )
    shape = config.add_mutually_exclusive_group()
    shape.add_argument("--markdown", action="store_true", help="print the README's settings table")
    shape.add_argument(
        "--env-example", action="store_true", help="print examples/osteo-cds.env.example (every setting, documented)"
    )

    healthcheck = commands.add_parser(
        "healthcheck",
        help="exit 0 when the local service answers GET /healthz (the image's HEALTHCHECK)",
    )
    healthcheck.add_argument("--port", type=int, default=None, help=f"(default: {PREFIX}PORT, else 8080)")
    healthcheck.add_argument("--timeout", type=float, default=4.0, help="seconds (default: 4)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        status = _dispatch(args)
        sys.stdout.flush()  # here, where a closed pipe is caught, not at exit
        return status
    except ConfigError as exc:
        print(f"osteo-cds: configuration error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader (`| head`) stopped reading: that is no error worth a traceback. Point stdout at /dev/null so
        # that the interpreter's final flush does not raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return _EXIT_BROKEN_PIPE


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "serve":
        return _serve(args.host, args.port, args.workers)
    if args.command == "evaluate":
        return _evaluate(args.file, args.now, args.json)
    if args.command == "catalog":
        return _catalog(args.out)
    if args.command == "feedback-report":
        return _feedback_report(args.json)
    if args.command == "healthcheck":
        return _healthcheck(args.port, args.timeout)
    if args.markdown:
        return _config_markdown()
    if args.env_example:
        print(env_example(), end="")
        return 0
    return _config()


def _serve(host: str, port: int | None, workers: int | None) -> int:
    from cds_service import log_startup_warnings
    from cds_service.auth import Authenticator
    from cds_service.logs import configure_logging
    from cds_service.server import JsonGunicornLogger, PortUnavailable, check_port, worker_count
    from cds_service.store import Store
    from fhir_mappings.terminology import load_terminology

    settings = Settings.from_env()
    configure_logging(settings.log_level)
    port = port or settings.port
    check_required_mode(settings)  # every missing setting at once, before anything else is tried
    load_terminology(settings.extra_codes)  # fail here, clearly, rather than in every worker
    authenticator = Authenticator.from_settings(settings)  # likewise for the auth settings and the trusted-clients file
    log_startup_warnings(settings, authenticator)  # once, here in the master: the workers build the app silently
    authenticator.close()
    Store(settings.database_url).dispose()  # create the schema once, before workers race to do it
    try:
        check_port(host, port)
    except PortUnavailable as exc:
        print(f"osteo-cds: {exc}", file=sys.stderr)
        return 1
    count = worker_count(settings, workers)
    logging.getLogger("osteo_cds").info(
        f"serving on http://{host}:{port} with {count.workers} workers ({count.explanation})",
        extra={"event": "startup", "workers": count.workers, "auth_mode": settings.auth_mode},
    )

    # Prometheus multiprocess mode must be chosen before prometheus_client is first imported.
    metrics_dir = tempfile.mkdtemp(prefix="osteo-cds-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir

    from gunicorn.app.base import BaseApplication
    from prometheus_client import multiprocess

    from cds_service import create_app

    class Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", count.workers)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", settings.threads)
            self.cfg.set("timeout", 30)
            self.cfg.set("graceful_timeout", 10)
            self.cfg.set("keepalive", 5)
            self.cfg.set("accesslog", None)  # our JSON request log replaces it (it would print query strings)
            self.cfg.set("logger_class", JsonGunicornLogger)  # gunicorn's own lines as JSON too
            self.cfg.set("limit_request_line", 8190)
            # One header line may carry "Authorization: Bearer " and a token up to the service's own cap, so that
            # the service's 401 OperationOutcome answers it, not gunicorn's 431 page (default 8190 bytes).
            self.cfg.set("limit_request_field_size", MAX_HEADER_FIELD_BYTES)
            # One shared control socket in $HOME would collide between instances (replicas, tests): not needed.
            self.cfg.set("control_socket_disable", True)
            self.cfg.set("child_exit", lambda _server, worker: multiprocess.mark_process_dead(worker.pid))
            self.cfg.set("post_worker_init", lambda _worker: tune_garbage_collector())

        def load(self) -> Any:
            return create_app(settings, log_warnings=False)

    master = os.getpid()
    try:
        Server().run()
    finally:
        # Workers are forked inside run() and unwind through this frame when they exit: only the master cleans up.
        if os.getpid() == master:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


_ACCEPTED_FILES = (
    "evaluate reads a FHIR R4 Bundle (collection, searchset or transaction) holding exactly one Patient, or a "
    "CDS Hooks patient-view request with its prefetch (like examples/patient-view-request.json)"
)


def _evaluate(path: Path, now_text: str | None, as_json: bool) -> int:
    from cards.catalog import default_catalog
    from cds_service.errors import CdsError
    from cds_service.json_body import JsonRejected, parse_json
    from cds_service.runtime import render_options
    from cds_service.services import PATIENT_VIEW, SERVICES
    from fhir_mappings.terminology import load_terminology

    try:
        document = parse_json(path.read_bytes())  # as strict as the service: no traceback on a hostile file
    except OSError as exc:
        print(f"osteo-cds: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except JsonRejected as exc:
        print(f"osteo-cds: cannot read {path}: the file {exc}", file=sys.stderr)
        return 2
    now = parse_datetime(now_text, "--now") if now_text else datetime.now(UTC)
    settings = Settings.from_env()
    terminology = load_terminology(settings.extra_codes)
    # A CDS Hooks request goes to the service of its hook (order-select / order-sign files too); a Bundle to
    # patient-view.
    hook = document.get("hook") if isinstance(document, dict) else None
    service = next((s for s in SERVICES if s.hook == hook), PATIENT_VIEW)
    options = render_options(settings, service.id)
    try:
        if isinstance(document, dict) and document.get("resourceType") == "Bundle":
            cards = _cards_of_bundle(path, document, now, terminology, default_catalog(), options, settings)
        elif isinstance(document, dict) and "hook" in document and "context" in document:
            cards = _cards_of_hook_request(document, now, settings, terminology, default_catalog(), options, service)
        else:
            print(
                f"osteo-cds: {path} is neither a FHIR Bundle nor a CDS Hooks request; {_ACCEPTED_FILES}.",
                file=sys.stderr,
            )
            return 2
    except CdsError as exc:  # the request's own problems, worded as the service would answer them
        problems = "; ".join(issue.diagnostics for issue in exc.issues)
        print(f"osteo-cds: {path}: {problems}", file=sys.stderr)
        return 2
    if as_json:
        print(json.dumps({"cards": cards}, indent=2, ensure_ascii=False))
    else:
        print(format_cards(cards, now))
    return 0


def _cards_of_bundle(
    path: Path, bundle: dict[str, Any], now: datetime, terminology: Any, catalog: Any, options: Any, settings: Settings
) -> list[dict[str, Any]]:
    from cds_service.errors import CdsError
    from cds_service.pipeline import evaluate_resources
    from cds_service.services import PATIENT_VIEW
    from fhir_mappings.scope import this_patient_only

    resources = [
        e["resource"] for e in bundle.get("entry") or () if isinstance(e, dict) and isinstance(e.get("resource"), dict)
    ]
    patients = [r for r in resources if r.get("resourceType") == "Patient"]
    if len(patients) != 1:
        raise CdsError(400, f"a Bundle must hold exactly one Patient (found {len(patients)}); {_ACCEPTED_FILES}")
    patient_id = str(patients[0].get("id", "unknown"))
    screened = this_patient_only(resources, patient_id)  # the same filter as the service's prefetch and fetch
    evaluation = evaluate_resources(
        PATIENT_VIEW,
        screened.resources,
        now,
        patient_id,
        terminology,
        catalog,
        render_options=options,
        excluded=screened.excluded,
        site_rules=settings.site_rules,
        parsing=settings.fhir_parsing,
    )
    return [c.card for c in evaluation.cards]


def _cards_of_hook_request(
    body: dict[str, Any],
    now: datetime,
    settings: Settings,
    terminology: Any,
    catalog: Any,
    options: Any,
    service: Any,
) -> list[dict[str, Any]]:
    """The service's own pipeline on the request, with its prefetch only: a file is evaluated offline, so the
    fhirServer it names is not contacted and data missing from the prefetch counts as unavailable."""
    from cds_service.fhir_client import FhirClient
    from cds_service.pipeline import run_hook
    from cds_service.validation import parse_hook_request

    hook = dataclasses.replace(
        parse_hook_request(body, service.hook, service.context_schema), fhir_server=None, access_token=None
    )
    client = FhirClient(  # never calls out (no fhirServer); its limits apply to the prefetch as in the service
        timeout=settings.fhir_timeout,
        max_pages=settings.fhir_max_pages,
        max_resources=settings.fhir_max_resources,
        max_bytes=settings.fhir_max_bytes,
    )
    try:
        evaluation = run_hook(
            service,
            hook,
            now,
            service.queries(terminology),
            client,
            settings.hook_deadline,
            terminology,
            catalog,
            options,
            settings.site_rules,
            parsing=settings.fhir_parsing,
        )
    finally:
        client.close()
    return [c.card for c in evaluation.cards]


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
                f"       delete {a['resourceId']}: {a['description']}"
                if a["type"] == "delete"
                else f"       draft {a['resource']['resourceType']}: {a['description']}"
                for a in suggestion.get("actions", ())
            )
        for link in card.get("links", ()):
            lines.append(f"  -> link: {link['label']} <{link['url']}>")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _catalog(out: Path) -> int:
    from cards.catalog import default_catalog
    from cards.catalog_page import write_catalog
    from cds_service.runtime import render_options
    from cds_service.services import PATIENT_VIEW

    settings = Settings.from_env()
    written = write_catalog(
        out, default_catalog(), render_options(settings, PATIENT_VIEW.id), site_changes=settings.site_rules.changes()
    )
    print(f"Wrote {written[0]} and {len(written) - 1} example files in {out / 'examples'}")
    return 0


def _feedback_report(as_json: bool) -> int:
    from sqlalchemy.engine import make_url

    from cds_service.store import Store

    settings = Settings.from_env()
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).is_file():
        # Opening it would create an empty database here and report "no feedback": say where we looked instead.
        origin = f"{PREFIX}DATABASE_URL" if os.environ.get(f"{PREFIX}DATABASE_URL") else f"{PREFIX}DATA_DIR"
        print(
            f"osteo-cds: there is no feedback database at {url.database} (from {origin}): run this where the "
            f"service keeps its data, or set {PREFIX}DATA_DIR or {PREFIX}DATABASE_URL as the service has them.",
            file=sys.stderr,
        )
        return 1
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


def _healthcheck(port: int | None, timeout: float) -> int:
    port = port or Settings.from_env().port
    url = f"http://127.0.0.1:{port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            healthy = answer.status == 200
    except (urllib.error.URLError, OSError) as exc:
        print(f"osteo-cds: {url} did not answer: {getattr(exc, 'reason', exc)}", file=sys.stderr)
        return 1
    print(f"{url}: {'ok' if healthy else 'unhealthy'}")
    return 0 if healthy else 1


def _config_markdown() -> int:
    print("| Variable | Default | Meaning |")
    print("|---|---|---|")
    for setting in SETTINGS:
        print(f"| `{PREFIX}{setting.name}` | {setting.default} | {setting.meaning} |")
    return 0


def _config() -> int:
    from cds_service.server import worker_count

    settings = Settings.from_env()
    print(f"# osteo-cds {_package_version()}: the effective settings, in env-file syntax; secrets are masked.")
    for problem in required_mode_problems(settings):
        print(f"# cannot start: {problem}")
    for setting in SETTINGS:
        name = PREFIX + setting.name
        if setting.name == "WORKERS":
            count = worker_count(settings)
            print(f"# {name}: {count.workers} workers, {count.explanation}")
            print(f"{name}={count.workers}")
            continue
        value = env_value(getattr(settings, setting.name.lower()))
        print(f"{name}={masked(setting, value)}")
    return 0


def env_value(value: Any) -> str:
    """A setting's value as the environment variable would spell it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return ",".join(str(v) for v in value)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def masked(setting: SettingDoc, value: str) -> str:
    """Nothing that works as a credential is printed: secret settings entirely, and the password and credential
    parameters of any URL (database, Redis, SMART app, ...)."""
    if not value:
        return value
    if setting.secret:
        return _MASK
    return mask_url_credentials(value) if "://" in value else value


def mask_url_credentials(url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user, has_password, _password = userinfo.partition(":")
        if has_password:  # `user:password@` and Redis' `:password@`; a user name alone is no secret
            netloc = f"{user}:{_MASK}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(k, _MASK if any(word in k.lower() for word in _CREDENTIAL_PARAMETERS) else v) for k, v in pairs],
            safe="*",
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def env_example() -> str:
    """examples/osteo-cds.env.example: every setting with its meaning and default; production-like values set,
    secrets as CHANGE-ME placeholders (a test keeps the file identical to this)."""
    lines = [
        "# osteo-cds settings, one OSTEO_CDS_* variable each (docker run --env-file, Kubernetes ConfigMap/Secret,",
        "# systemd EnvironmentFile). Generated by `osteo-cds config --env-example`; a test keeps them identical.",
        "# Uncommented lines are the values a production deployment sets; replace every CHANGE-ME, and keep the",
        "# secrets (passwords in URLs, the metrics token) in a secret store rather than in this file.",
        "# Lines left commented out take the default shown.",
    ]
    for setting in SETTINGS:
        lines.append("")
        meaning = setting.meaning.replace("`", "")
        lines.extend(f"# {line}" for line in textwrap.wrap(meaning, width=110))
        lines.append(f"# Default: {setting.default.replace('`', '')}")
        if setting.example is None:
            lines.append(f"# {PREFIX}{setting.name}=")
        else:
            lines.append(f"{PREFIX}{setting.name}={setting.example}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())

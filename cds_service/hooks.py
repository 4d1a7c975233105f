"""The CDS Hooks endpoints: discovery, the patient-view service, feedback; plus health checks."""

from __future__ import annotations

import hmac
import json
import logging
import time
from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, current_app, g, request
from werkzeug.exceptions import HTTPException

from cards.catalog_page import CSP as CATALOG_CSP
from cards.catalog_page import render_catalog_html
from cds_service import metrics
from cds_service.auth import unauthorized
from cds_service.discovery import SERVICE_ID, service_definition
from cds_service.errors import CdsError, Issue, outcome_response
from cds_service.json_body import request_json
from cds_service.pipeline import run_hook
from cds_service.runtime import Runtime
from cds_service.store import IssuedCard
from cds_service.validation import parse_feedback, parse_hook_request

bp = Blueprint("cds", __name__)
log = logging.getLogger("osteo_cds.http")

_CORS_METHODS = "GET, POST, OPTIONS"
_CORS_HEADERS = "Authorization, Content-Type"
# Paths without CDS client authentication: the probes, the Prometheus endpoint (no PHI; its own optional token,
# OSTEO_CDS_METRICS_TOKEN) and the card catalog (static reference text for CDS committees and for card source links,
# no PHI), the root page and the OpenAPI document (root.py: links and the API description, no PHI). CORS preflight
# is answered before auth too. Any other path, including future ones, needs a JWT.
_UNAUTHENTICATED_PATHS = frozenset(
    {"/healthz", "/readyz", "/metrics", f"/cds-services/{SERVICE_ID}/catalog", "/", "/openapi.json"}
)


def runtime() -> Runtime:
    return current_app.extensions["osteo_cds"]


def _json(payload: Any, status: int = 200) -> Response:
    return Response(
        json.dumps(payload, separators=(",", ":"), default=_default), status=status, mimetype="application/json"
    )


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(type(value).__name__)


def _known_service(service_id: str) -> None:
    if service_id != SERVICE_ID:
        raise CdsError(404, f"No CDS service with this id. Discovery at /cds-services lists '{SERVICE_ID}'.")


@bp.before_app_request
def _start() -> Response | None:
    g.started = time.perf_counter()
    if request.method == "OPTIONS":
        return _preflight()
    if request.path not in _UNAUTHENTICATED_PATHS:  # secure by default: a new endpoint needs a JWT unless listed
        runtime().authenticator.check(request, request.path)
    return None


def _preflight() -> Response:
    """CORS preflight, answered before any authentication (browsers never send credentials on it)."""
    response = Response(status=204)
    origin = request.headers.get("Origin")
    if origin and runtime().origin_allowed(origin):
        response.headers["Access-Control-Allow-Methods"] = _CORS_METHODS
        response.headers["Access-Control-Allow-Headers"] = _CORS_HEADERS
        response.headers["Access-Control-Max-Age"] = "600"
    return response


def _discard_unread_body() -> None:
    """Read whatever the app left of the request body, e.g. after a 401 answered before the body is looked at.

    gunicorn (gthread) does not keep a connection whose unread body is over 64 KiB: it closes it after the answer
    without having said so. A client reusing the connection then has its next request aborted, a client keeping it
    open freezes the worker's event loop for 2 s, and a proxy still sending the body gets a reset and answers 502
    instead of our 401. Bodies over MAX_BODY_BYTES (413) are not read: refusing to read them is the point.
    """
    length = request.content_length
    if not length or length > runtime().settings.max_body_bytes:
        return
    try:
        while request.stream.read(65536):
            pass
    except (OSError, HTTPException):  # the client went away: nothing left to protect
        return


@bp.after_app_request
def _finish(response: Response) -> Response:
    _discard_unread_body()
    origin = request.headers.get("Origin")
    if origin and runtime().origin_allowed(origin):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers["X-Content-Type-Options"] = "nosniff"
    started = g.get("started")
    elapsed = time.perf_counter() - started if started else 0.0
    endpoint = request.url_rule.rule if request.url_rule else "(unmatched)"
    fields: dict[str, Any] = {
        "event": "request",
        "method": request.method,
        "path": endpoint,
        "status": response.status_code,
        "duration_ms": round(elapsed * 1000, 2),
    }
    if endpoint != "/metrics":
        metrics.REQUESTS.labels(endpoint, str(response.status_code)).inc()
        metrics.REQUEST_SECONDS.labels(endpoint).observe(elapsed)
    for name in ("service", "hook_instance", "cards", "rules", "feedback_items"):
        if name in g:
            fields[name] = g.get(name)
    log.info("request", extra=fields)
    return response


@bp.get("/cds-services")
def discovery() -> Response:
    return _json({"services": [service_definition(runtime().queries)]})


@bp.post("/cds-services/<service_id>")
def call_service(service_id: str) -> Response:
    g.service = service_id
    _known_service(service_id)
    rt = runtime()
    body = request_json()
    hook = parse_hook_request(body, expected_hook="patient-view")
    g.hook_instance = hook.hook_instance
    if hook.fhir_server and hook.fhir_server.lower().startswith("http://") and not rt.settings.allow_http_fhir:
        raise CdsError(400, [Issue("'fhirServer' must use https.", code="security", expression=("fhirServer",))])
    evaluation = run_hook(
        hook,
        rt.now(),
        rt.queries,
        rt.fhir_client,
        rt.settings.hook_deadline,
        rt.terminology,
        rt.catalog,
        rt.render_options(service_id),
    )
    cards = [rendered.card for rendered in evaluation.cards]
    rt.store.record_issued(
        service_id, [IssuedCard(c.card["uuid"], c.rule_id, c.suggestion_uuids) for c in evaluation.cards]
    )
    g.cards = len(cards)
    g.rules = [c.rule_id for c in evaluation.cards]
    for rule_id in g.rules:
        metrics.CARDS.labels(rule_id).inc()
    return _json({"cards": cards})


@bp.get("/cds-services/<service_id>/catalog")
def card_catalog(service_id: str) -> Response:
    """Every card this service can send, with examples and evidence, for a CDS committee (no PHI)."""
    _known_service(service_id)
    rt = runtime()
    page = render_catalog_html(rt.catalog, rt.render_options(service_id))
    response = Response(page, mimetype="text/html")
    response.headers["Content-Security-Policy"] = CATALOG_CSP
    return response


@bp.post("/cds-services/<service_id>/feedback")
def feedback(service_id: str) -> Response:
    g.service = service_id
    _known_service(service_id)
    items = parse_feedback(request_json())
    store = runtime().store
    stored = store.record_feedback(service_id, items)
    g.feedback_items = len(items)
    rules = store.rules_of([item.card for item in items] + [s for item in items for s in item.accepted_suggestions])
    for item in items:
        rule = rules.get(item.card) or next((rules[s] for s in item.accepted_suggestions if s in rules), "unknown")
        metrics.FEEDBACK.labels(rule, item.outcome).inc()
    return _json({"received": len(items), "stored": stored})


@bp.get("/metrics")
def prometheus_metrics() -> Response:
    expected = runtime().settings.metrics_token
    if expected is not None:
        presented = request.headers.get("Authorization", "")
        if not hmac.compare_digest(presented.encode(), f"Bearer {expected}".encode()):
            raise unauthorized()
    body, content_type = metrics.render()
    return Response(body, content_type=content_type)


@bp.get("/healthz")
def healthz() -> Response:
    return _json({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    rt = runtime()
    try:
        rt.store.ping()
    except Exception as exc:  # any database failure means "not ready"; the type only, no connection string
        log.warning("database not reachable", extra={"event": "readyz", "error_type": type(exc).__name__})
        return outcome_response(503, [Issue("The feedback database is not reachable.", code="transient")])
    auth_problem = rt.authenticator.ready()
    if auth_problem is not None:
        log.warning("authentication not ready", extra={"event": "readyz", "reason": "replay-cache-unavailable"})
        return outcome_response(503, [Issue(auth_problem, code="transient")])
    payload: dict[str, Any] = {"status": "ready", "authMode": rt.settings.auth_mode}
    if rt.warnings:
        payload["warnings"] = list(rt.warnings)
    return _json(payload)

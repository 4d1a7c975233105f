"""What every request goes through, whichever blueprint answers it: the CDS client JWT check (secure by default),
CORS, the response headers, the request log line and the request metrics; and the JSON answer all blueprints use."""

from __future__ import annotations

import json
import logging
import time
from decimal import Decimal
from typing import Any

from flask import Flask, Response, current_app, g, request
from werkzeug.exceptions import HTTPException

from cds_service import metrics
from cds_service.runtime import Runtime

log = logging.getLogger("osteo_cds.http")

_CORS_METHODS = "GET, POST, OPTIONS"
_CORS_HEADERS = "Authorization, Content-Type"
# Paths without CDS client authentication: the probes, the Prometheus endpoint (no PHI; its own optional token,
# OSTEO_CDS_METRICS_TOKEN), each service's card catalog (static reference text for CDS committees and for card source
# links, no PHI), the root page and the OpenAPI document (root.py: links and the API description, no PHI). CORS
# preflight is answered before auth too. Any other path, including future ones, needs a JWT.
_OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/", "/openapi.json"})


def runtime() -> Runtime:
    return current_app.extensions["osteo_cds"]


def unauthenticated_paths(rt: Runtime) -> frozenset[str]:
    return _OPEN_PATHS | {f"/cds-services/{service.id}/catalog" for service in rt.services}


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(
        json.dumps(payload, separators=(",", ":"), default=_default), status=status, mimetype="application/json"
    )


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(type(value).__name__)


def _start() -> Response | None:
    g.started = time.perf_counter()
    if request.method == "OPTIONS":
        return _preflight()
    rt = runtime()
    if request.path not in rt.open_paths:  # secure by default: a new endpoint needs a JWT unless listed
        rt.authenticator.check(request, request.path)
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


def init_app(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_finish)

"""Operations endpoints: liveness, readiness and the Prometheus metrics."""

from __future__ import annotations

import hmac
import logging
from typing import Any

from flask import Blueprint, Response, request

from cds_service import metrics
from cds_service.auth import unauthorized
from cds_service.errors import Issue, outcome_response
from cds_service.request_cycle import json_response, runtime

bp = Blueprint("operations", __name__)
log = logging.getLogger("osteo_cds.http")


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
    return json_response({"status": "ok"})


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
    return json_response(payload)

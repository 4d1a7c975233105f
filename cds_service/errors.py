"""Every non-2xx answer is a FHIR OperationOutcome: never HTML, never a stack trace."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, json, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger("osteo_cds")
refusals = logging.getLogger("osteo_cds.refused")

# FHIR issue-type codes (http://hl7.org/fhir/issue-type) per HTTP status.
_ISSUE_CODE = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    412: "processing",
    413: "too-costly",
    415: "not-supported",
    429: "throttled",
    500: "exception",
    503: "transient",
}


# The `reason` of the log line written for each refused call, per status (401: the authentication check's own code).
REFUSAL_REASONS = {
    400: "invalid-request",
    401: "authentication-failed",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    412: "required-data-unavailable",
    413: "body-too-large",
    415: "unsupported-media-type",
    429: "throttled",
}
_LOGGED_DETAIL_CHARS = 500


@dataclass(frozen=True)
class Issue:
    diagnostics: str
    code: str = "invalid"
    severity: str = "error"
    expression: Sequence[str] = field(default_factory=tuple)

    def as_fhir(self) -> dict[str, Any]:
        issue: dict[str, Any] = {"severity": self.severity, "code": self.code, "diagnostics": self.diagnostics}
        if self.expression:
            issue["expression"] = list(self.expression)
        return issue


class CdsError(Exception):
    """An error answer with its status and OperationOutcome issues."""

    def __init__(self, status: int, issues: Iterable[Issue] | str, headers: dict[str, str] | None = None):
        if isinstance(issues, str):
            issues = [Issue(issues, code=_ISSUE_CODE.get(status, "processing"))]
        self.status = status
        self.issues = tuple(issues)
        self.headers = headers or {}
        super().__init__(f"{status}: {'; '.join(i.diagnostics for i in self.issues)}")


def operation_outcome(issues: Iterable[Issue]) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": [i.as_fhir() for i in issues]}


def outcome_response(status: int, issues: Iterable[Issue], headers: dict[str, str] | None = None) -> Response:
    response = Response(
        json.dumps(operation_outcome(issues)), status=status, mimetype="application/json", headers=headers
    )
    return response


def log_refusal(status: int, issues: Sequence[Issue], reason: str | None = None) -> None:
    """One JSON line per refused call, so that whoever sees only "no cards" can find out why: the status, a reason
    code and the answer's own diagnostics (which never carry a value the client sent), never the token or PHI."""
    refusals.info(
        "refused",
        extra={
            "event": "refused",
            "method": request.method,
            "path": request.url_rule.rule if request.url_rule else "(unmatched)",
            "status": status,
            "reason": reason or REFUSAL_REASONS.get(status, f"http-{status}"),
            "detail": " ".join(issue.diagnostics for issue in issues)[:_LOGGED_DETAIL_CHARS],
        },
    )


def init_app(app: Flask) -> None:
    """Every error answers with an OperationOutcome; nothing else of an exception reaches the client or the log."""

    @app.errorhandler(CdsError)
    def _cds_error(error: CdsError) -> Response:
        # A failed JWT check raises its 401 from the AuthFailure whose reason code it has just logged: repeat it.
        auth_reason = getattr(error.__context__, "reason", None) if error.status == 401 else None
        log_refusal(error.status, error.issues, auth_reason if isinstance(auth_reason, str) else None)
        return outcome_response(error.status, error.issues, error.headers)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        status = error.code or 500
        message = _HTTP_MESSAGES.get(status, error.name)
        headers = {}
        if status == 405 and error.valid_methods:  # type: ignore[attr-defined]
            headers["Allow"] = ", ".join(error.valid_methods)  # type: ignore[attr-defined]
        issues = [Issue(message, code=_ISSUE_CODE.get(status, "processing"))]
        log_refusal(status, issues)
        return outcome_response(status, issues, headers)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        # The exception type only: messages may carry request data, which must never reach the log.
        log.error("unhandled error", extra={"event": "error", "error_type": type(error).__name__})
        return outcome_response(500, [Issue("Internal error; the request was not processed.", code="exception")])


_HTTP_MESSAGES = {
    400: "The request is malformed.",
    401: "Authentication is required.",
    404: "No such endpoint. Discovery is at /cds-services.",
    405: "Method not allowed on this endpoint.",
    413: "The request body is too large.",
    415: "The request body must be JSON (Content-Type: application/json).",
}

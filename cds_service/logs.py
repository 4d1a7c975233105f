"""Structured JSON logs, one object per line.

Only allow-listed fields ever reach the output: a log call cannot leak a token, a JWT, a patient id or a request
body by accident, because unknown `extra` fields are dropped rather than printed.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from cds_service.config import Settings

ALLOWED_FIELDS = frozenset(
    {
        "event",
        "method",
        "path",
        "service",
        "status",
        "duration_ms",
        "hook_instance",
        "cards",
        "rules",
        "error_type",
        "reason",
        "iss",
        "kid",
        "jti",
        "tenant",
        "resource_type",
        "fetch_status",
        "skipped_records",
        "data_issues",
        "prefetch",
        "auth_mode",
        "workers",
        "feedback_items",
        "stored",
        "setting",
        "detail",
        "origin",
    }
)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key in ALLOWED_FIELDS:
            if key in record.__dict__:
                entry[key] = record.__dict__[key]
        return json.dumps(entry, default=str, separators=(",", ":"))


def configure_logging(level: str = "INFO") -> None:
    """Send the service's logs to stderr as JSON lines (idempotent)."""
    logger = logging.getLogger("osteo_cds")
    logger.setLevel(level)
    if not any(getattr(h, "_osteo_cds", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler._osteo_cds = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.propagate = True  # lets pytest's caplog see the records in tests
    # urllib3 logs request URLs (which carry the patient id) at DEBUG: keep it quiet whatever the root level.
    logging.getLogger("urllib3").setLevel(logging.ERROR)


def init_app(app: Flask, settings: Settings) -> None:
    """JSON log lines at the configured level, before any other part logs."""
    del app  # the service's loggers are process-wide; the app is the argument every init_app takes
    configure_logging(settings.log_level)

"""CDS Hooks 2.0 bone-health service: the Flask app factory."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from flask import Flask

from cds_service.config import Settings

if TYPE_CHECKING:
    from cds_service.auth import Authenticator

log = logging.getLogger("osteo_cds")


def startup_warnings(settings: Settings) -> list[str]:
    """Configuration that works but must not reach production: logged once at start-up, listed by /readyz."""
    warnings = list(settings.warnings)
    if settings.development:
        warnings.append("AUTH_MODE=development: CDS client JWTs are NOT verified; never expose this instance")
    if not settings.development and settings.metrics_token is None:
        warnings.append(
            "OSTEO_CDS_METRICS_TOKEN is not set: GET /metrics is unauthenticated; expose it only on an internal network"
        )
    return warnings


def log_startup_warnings(settings: Settings, authenticator: Authenticator) -> None:
    for warning in (*startup_warnings(settings), *authenticator.warnings()):
        log.warning(warning, extra={"event": "startup", "auth_mode": settings.auth_mode})


def create_app(
    settings: Settings | None = None, env: Mapping[str, str] | None = None, *, log_warnings: bool = True
) -> Flask:
    """Build the app from `settings`, or from the OSTEO_CDS_* environment (or `env`) when none are given.
    `log_warnings=False`: `osteo-cds serve` has logged them once in the gunicorn master, not once per worker."""
    from cards.catalog import default_catalog
    from cds_service import root
    from cds_service.auth import Authenticator
    from cds_service.errors import register_error_handlers
    from cds_service.fhir_client import FhirClient
    from cds_service.hooks import bp
    from cds_service.logs import configure_logging
    from cds_service.queries import queries_for
    from cds_service.runtime import Runtime
    from cds_service.store import Store
    from fhir_mappings.extract import warm_up
    from fhir_mappings.terminology import load_terminology

    settings = settings or Settings.from_env(env)
    configure_logging(settings.log_level)
    terminology = load_terminology(settings.extra_codes)  # refuses to start on a malformed local-codes file
    warm_up(terminology)  # FHIR models loaded now, not on the first clinician's request

    authenticator = Authenticator.from_settings(settings)  # required mode: refuses to start if misconfigured

    warnings = startup_warnings(settings)
    if log_warnings:
        log_startup_warnings(settings, authenticator)

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["osteo_cds"] = Runtime(
        settings=settings,
        store=Store(settings.database_url),
        authenticator=authenticator,
        fhir_client=FhirClient(
            timeout=settings.fhir_timeout,
            max_pages=settings.fhir_max_pages,
            max_resources=settings.fhir_max_resources,
            max_bytes=settings.fhir_max_bytes,
        ),
        terminology=terminology,
        queries=queries_for(terminology),
        catalog=default_catalog(),
        warnings=tuple(warnings),
    )
    register_error_handlers(app)
    app.register_blueprint(bp)
    app.register_blueprint(root.bp)  # GET /, /openapi.json, discovery URLs with a trailing slash, CORS refusals
    return app

"""CDS Hooks 2.0 bone-health service: the Flask app factory."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from flask import Flask

from cds_service.config import Settings

if TYPE_CHECKING:
    from cds_service.auth import Authenticator
    from cds_service.services import ServiceRegistry

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
    settings: Settings | None = None,
    env: Mapping[str, str] | None = None,
    *,
    log_warnings: bool = True,
    services: ServiceRegistry | None = None,
) -> Flask:
    """Build the app from `settings`, or from the OSTEO_CDS_* environment (or `env`) when none are given.
    `log_warnings=False`: `osteo-cds serve` has logged them once in the gunicorn master, not once per worker.
    `services`: the CDS services offered (default: cds_service.services.SERVICES).
    Each part is set up by its own init_app, in this order; the blueprints are registered last."""
    from cards.catalog import default_catalog
    from cds_service import card_catalog, errors, feedback, hooks, logs, operations, request_cycle, root, runtime
    from cds_service.auth import Authenticator
    from cds_service.services import SERVICES
    from fhir_mappings.extract import warm_up
    from fhir_mappings.orders import warm_up as warm_up_orders
    from fhir_mappings.terminology import load_terminology

    settings = settings or Settings.from_env(env)
    app = Flask(__name__)
    logs.init_app(app, settings)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    terminology = load_terminology(settings.extra_codes)  # refuses to start on a malformed local-codes file
    warm_up(terminology)  # FHIR models loaded now, not on the first clinician's request
    warm_up_orders()  # the order hooks' drug catalog too, not on a worker's first order
    authenticator = Authenticator.from_settings(settings)  # required mode: refuses to start if misconfigured
    if log_warnings:
        log_startup_warnings(settings, authenticator)
    runtime.init_app(
        app,
        settings,
        terminology=terminology,
        authenticator=authenticator,
        catalog=default_catalog(),
        warnings=tuple(startup_warnings(settings)),
        services=services or SERVICES,
    )
    errors.init_app(app)
    request_cycle.init_app(app)  # JWT check, CORS, headers, request log and metrics, for every blueprint
    for blueprint in (hooks.bp, feedback.bp, card_catalog.bp, operations.bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(root.bp)  # GET /, /openapi.json, discovery URLs with a trailing slash, CORS refusals
    return app

"""What one app instance holds: settings and the long-lived parts built from them at start-up."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from flask import Flask

from cards.catalog import Catalog
from cards.render import RenderOptions
from cds_service.auth import Authenticator
from cds_service.config import Settings
from cds_service.fhir_client import FhirClient
from cds_service.queries import DataQuery
from cds_service.services import SERVICES, ServiceRegistry
from cds_service.store import Store
from fhir_mappings.terminology import Terminology


@dataclass
class Runtime:
    settings: Settings
    store: Store
    authenticator: Authenticator
    fhir_client: FhirClient
    terminology: Terminology
    queries: Mapping[str, tuple[DataQuery, ...]]  # per service id: its prefetch templates and fallback fetches
    catalog: Catalog
    services: ServiceRegistry = SERVICES
    warnings: tuple[str, ...] = ()
    open_paths: frozenset[str] = field(default_factory=frozenset)  # served without a CDS client JWT

    def now(self) -> datetime:
        """The evaluation time: pinned by OSTEO_CDS_NOW in development, else the current UTC time."""
        return self.settings.now or datetime.now(UTC)

    def render_options(self, service_id: str, request_base_url: str | None = None) -> RenderOptions:
        return render_options(self.settings, service_id, request_base_url)

    def origin_allowed(self, origin: str) -> bool:
        allowed = self.settings.cors_origins
        return "*" in allowed or origin.rstrip("/") in allowed

    def close(self) -> None:
        self.authenticator.close()
        self.fhir_client.close()
        self.store.dispose()


def render_options(settings: Settings, service_id: str, request_base_url: str | None = None) -> RenderOptions:
    """The site settings the card renderer needs, for the cards of one service. Every card's source.url is its rule's
    anchor in the catalog: under OSTEO_CDS_PUBLIC_BASE_URL when set (required mode always sets it), else under the
    base URL the request came in on, else (a file evaluated offline) under the local address `serve` listens on."""
    base = settings.public_base_url or request_base_url or f"http://localhost:{settings.port}"
    return RenderOptions(
        service_id=service_id,
        public_base_url=base.rstrip("/"),
        smart_app_url=settings.smart_app_url,
        smart_app_context=settings.smart_app_context,
    )


def fhir_client(settings: Settings) -> FhirClient:
    return FhirClient(
        timeout=settings.fhir_timeout,
        max_pages=settings.fhir_max_pages,
        max_resources=settings.fhir_max_resources,
        max_bytes=settings.fhir_max_bytes,
    )


def init_app(
    app: Flask,
    settings: Settings,
    *,
    terminology: Terminology,
    authenticator: Authenticator,
    catalog: Catalog,
    warnings: tuple[str, ...],
    services: ServiceRegistry = SERVICES,
) -> Runtime:
    """The app's parts, kept in app.extensions["osteo_cds"] for the blueprints."""
    from cds_service.request_cycle import unauthenticated_paths

    runtime = Runtime(
        settings=settings,
        store=Store(settings.database_url),
        authenticator=authenticator,
        fhir_client=fhir_client(settings),
        terminology=terminology,
        queries={service.id: service.queries(terminology) for service in services},
        catalog=catalog,
        services=services,
        warnings=warnings,
    )
    runtime.open_paths = unauthenticated_paths(runtime)
    app.extensions["osteo_cds"] = runtime
    return runtime

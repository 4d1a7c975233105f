"""What one app instance holds: settings and the long-lived parts built from them at start-up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from cards.catalog import Catalog
from cards.render import RenderOptions
from cds_service.auth import Authenticator
from cds_service.config import Settings
from cds_service.fhir_client import FhirClient
from cds_service.queries import DataQuery
from cds_service.store import Store
from fhir_mappings.terminology import Terminology


@dataclass
class Runtime:
    settings: Settings
    store: Store
    authenticator: Authenticator
    fhir_client: FhirClient
    terminology: Terminology
    queries: tuple[DataQuery, ...]
    catalog: Catalog
    warnings: tuple[str, ...] = ()

    def now(self) -> datetime:
        """The evaluation time: pinned by OSTEO_CDS_NOW in development, else the current UTC time."""
        return self.settings.now or datetime.now(UTC)

    def render_options(self, service_id: str) -> RenderOptions:
        return render_options(self.settings, service_id)

    def origin_allowed(self, origin: str) -> bool:
        allowed = self.settings.cors_origins
        return "*" in allowed or origin.rstrip("/") in allowed

    def close(self) -> None:
        self.authenticator.close()
        self.fhir_client.close()
        self.store.dispose()


def render_options(settings: Settings, service_id: str) -> RenderOptions:
    """The site settings the card renderer needs, for the cards of one service."""
    return RenderOptions(
        service_id=service_id,
        public_base_url=settings.public_base_url,
        smart_app_url=settings.smart_app_url,
        smart_app_context=settings.smart_app_context,
    )

"""Each service's card catalog page: every card it can send, with examples and evidence, for a CDS committee (no
PHI, no authentication; made in cards.catalog_page)."""

from __future__ import annotations

from flask import Blueprint, Response, request

from cards.catalog_page import CSP as CATALOG_CSP
from cards.catalog_page import render_catalog_html
from cds_service.request_cycle import runtime

bp = Blueprint("catalog", __name__)


@bp.get("/cds-services/<service_id>/catalog")
def card_catalog(service_id: str) -> Response:
    rt = runtime()
    service = rt.services.get(service_id)
    page = render_catalog_html(
        rt.catalog.subset(service.rule_ids),
        rt.render_options(service_id, request.url_root),
        site_changes=rt.settings.site_rules.changes(),
    )
    response = Response(page, mimetype="text/html")
    response.headers["Content-Security-Policy"] = CATALOG_CSP
    return response

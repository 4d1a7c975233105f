"""The CDS Hooks endpoints: discovery of every registered service, and the call of one service."""

from __future__ import annotations

from flask import Blueprint, Response, g, request

from cds_service import metrics
from cds_service.discovery import discovery_document
from cds_service.errors import CdsError, Issue
from cds_service.json_body import request_json
from cds_service.pipeline import run_hook
from cds_service.request_cycle import json_response, runtime
from cds_service.services import CdsService
from cds_service.store import IssuedCard
from cds_service.validation import parse_hook_request

bp = Blueprint("cds", __name__)


def _known_service(service_id: str) -> CdsService:
    return runtime().services.get(service_id)


@bp.get("/cds-services")
def discovery() -> Response:
    rt = runtime()
    return json_response(discovery_document(rt.services, rt.queries))


@bp.post("/cds-services/<service_id>")
def call_service(service_id: str) -> Response:
    g.service = service_id
    service = _known_service(service_id)
    rt = runtime()
    body = request_json()
    hook = parse_hook_request(body, expected_hook=service.hook, context_schema=service.context_schema)
    g.hook_instance = hook.hook_instance
    if hook.fhir_server and hook.fhir_server.lower().startswith("http://") and not rt.settings.allow_http_fhir:
        raise CdsError(400, [Issue("'fhirServer' must use https.", code="security", expression=("fhirServer",))])
    evaluation = run_hook(
        service,
        hook,
        rt.now(),
        rt.queries[service.id],
        rt.fhir_client,
        rt.settings.hook_deadline,
        rt.terminology,
        rt.catalog,
        rt.render_options(service_id, request.url_root),
        rt.settings.site_rules,
        parsing=rt.settings.fhir_parsing,
    )
    cards = [rendered.card for rendered in evaluation.cards]
    rt.store.record_issued(
        service_id, [IssuedCard(c.card["uuid"], c.rule_id, c.suggestion_uuids) for c in evaluation.cards]
    )
    g.cards = len(cards)
    g.rules = [c.rule_id for c in evaluation.cards]
    for rule_id in g.rules:
        metrics.CARDS.labels(rule_id).inc()
    return json_response({"cards": cards})

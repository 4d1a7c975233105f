"""CDS Hooks feedback for any registered service: stored, and counted per rule and outcome."""

from __future__ import annotations

from flask import Blueprint, Response, g

from cds_service import metrics
from cds_service.json_body import request_json
from cds_service.request_cycle import json_response, runtime
from cds_service.validation import parse_feedback

bp = Blueprint("feedback", __name__)


@bp.post("/cds-services/<service_id>/feedback")
def feedback(service_id: str) -> Response:
    g.service = service_id
    runtime().services.get(service_id)
    items = parse_feedback(request_json())
    store = runtime().store
    stored = store.record_feedback(service_id, items)
    g.feedback_items = len(items)
    rules = store.rules_of([item.card for item in items] + [s for item in items for s in item.accepted_suggestions])
    for item in items:
        rule = rules.get(item.card) or next((rules[s] for s in item.accepted_suggestions if s in rules), "unknown")
        metrics.FEEDBACK.labels(rule, item.outcome).inc()
    return json_response({"received": len(items), "stored": stored})

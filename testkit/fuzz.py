"""Hypothesis strategies for hostile CDS Hooks requests: arbitrary JSON, and valid requests with random damage."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from hypothesis import strategies as st

from testkit import fhir
from testkit.cds_client import hook_request, prefetch_from_chart
from testkit.orders import ALENDRONATE_70, DENOSUMAB_60, PREDNISONE_5, ZOLEDRONIC_ACID, draft_request, order_request
from testkit.processes import free_port

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


# --- Hostile cases as real clients and attackers send them ------------------------------------------------------
# A realistic chart as EHR servers encode it (RxNorm clinical-drug codes, searchset entries with fullUrl, `search`,
# `link`, `meta`, a contained Medication, timed dates), so that every member extraction reads exists somewhere and
# can be given the wrong JSON type.

FUZZ_PATIENT = "fz-1"
OTHER_PATIENT = "fz-other"
EHR_BASE = "https://ehr.example.org/fhir"
NOW = "2026-11-25T09:00:00Z"  # the clock both the suite and bench.fuzz pin
SERVICE_PATH = "/cds-services/osteoporosis-management"
FEEDBACK_PATH = SERVICE_PATH + "/feedback"
ORDER_SIGN_PATH = "/cds-services/bone-safety-order-sign"
ORDER_SELECT_PATH = "/cds-services/bone-safety-order-select"
HOOK_PATHS = (SERVICE_PATH, ORDER_SIGN_PATH, ORDER_SELECT_PATH)
# Statuses the service documents for hostile input.
ALLOWED_STATUSES = frozenset({200, 400, 404, 412, 413})
# Statuses the WSGI server (gunicorn) or a proxy answers itself, with its own page, for a request over its documented
# header limits: acceptable only for such requests.
SERVER_LIMIT_STATUSES = frozenset({400, 431})
MAX_TOKEN_CHARS = 16_384  # the service's own bearer-token cap (cds_service.auth)


@dataclass(frozen=True)
class FuzzCase:
    """One hostile request and what may be answered to it."""

    path: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    expect: frozenset[int] = ALLOWED_STATUSES
    over_server_limits: bool = False  # headers beyond the service's cap: the HTTP server's own 400/431 is fine


def _coding(system: str, code: str, display: str) -> dict[str, Any]:
    return {"system": system, "code": code, "display": display}


def _reference(pid: str) -> dict[str, Any]:
    return {"reference": f"Patient/{pid}"}


def _meta() -> dict[str, Any]:
    return {"versionId": "3", "lastUpdated": "2026-07-01T08:30:00.000+02:00"}


def realistic_chart(pid: str = FUZZ_PATIENT) -> list[dict[str, Any]]:
    """A 72-year-old woman: DXA osteoporosis, eGFR 28, alendronate (SCD 904431, as the sandbox sends it), a
    prednisone course with a count-only dose, a hip fracture, denosumab by reference to a contained Medication."""
    return [
        {**fhir.patient(pid, birth_date="1954-03-09"), "meta": _meta(), "deceasedBoolean": False},
        {
            **fhir.t_score("fz-dxa-ls", pid, "38267-1", -2.7, "2026-06-15T10:20:00+02:00"),
            "meta": _meta(),
            "bodySite": {"coding": [_coding(fhir.SNOMED, "243064003", "Lumbar spine")]},
            "issued": "2026-06-15T12:00:00+02:00",
        },
        {
            **fhir.t_score("fz-dxa-fn", pid, "80948-3", -2.1, "2026-06-15"),
            "component": [
                {
                    "code": {"coding": [_coding(fhir.LOINC, "38265-5", "DXA [T-score] Bone density")]},
                    "valueQuantity": {"value": -2.1, "unit": "{T-score}"},
                }
            ],
        },
        {
            **fhir.lab("fz-egfr", pid, "98979-8", 28, "mL/min/{1.73_m2}", "2026-10-30T07:45:00-05:00"),
            "referenceRange": [{"low": {"value": 60, "unit": "mL/min/{1.73_m2}"}}],
            "category": [{"coding": [{"code": "laboratory"}]}],
        },
        fhir.lab("fz-vitd", pid, "62292-8", 48, "nmol/L", "2026-10-30"),
        fhir.condition("fz-fx", pid, fhir.ICD10CM, "S72.001A", "Fracture of right femoral neck", "2025-02-11"),
        {
            "resourceType": "MedicationRequest",
            "id": "fz-aln",
            "meta": _meta(),
            "status": "active",
            "intent": "order",
            "category": [{"coding": [{"code": "outpatient"}]}],
            "medicationCodeableConcept": {
                "coding": [_coding(fhir.RXNORM, "904431", "Alendronic acid 70 MG Oral Tablet")],
                "text": "alendronate 70 mg tablet",
            },
            "subject": _reference(pid),
            "authoredOn": "2024-01-10",
            "reasonCode": [{"coding": [_coding(fhir.SNOMED, "64859006", "Osteoporosis")]}],
            "dosageInstruction": [
                {
                    "text": "1 tablet weekly",
                    "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "wk"}},
                    "route": {"coding": [_coding(fhir.SNOMED, "26643006", "Oral route")]},
                    "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "tablet"}}],
                }
            ],
            "dispenseRequest": {"validityPeriod": {"start": "2024-01-10", "end": "2027-01-10"}},
        },
        {
            "resourceType": "MedicationStatement",
            "id": "fz-pred",
            "status": "active",
            "medicationCodeableConcept": {
                "coding": [_coding(fhir.RXNORM, "312617", "prednisone 5 MG Oral Tablet")],
                "text": "Prednisone 5 MG Oral Tablet",
            },
            "subject": _reference(pid),
            "effectivePeriod": {"start": "2026-05-01"},
            "dateAsserted": "2026-05-01",
            "dosage": [
                {
                    "timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}},
                    "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "TAB"}}],
                }
            ],
        },
        {
            "resourceType": "MedicationAdministration",
            "id": "fz-dmab",
            "status": "completed",
            "contained": [
                {
                    "resourceType": "Medication",
                    "id": "med1",
                    "code": {"coding": [_coding(fhir.RXNORM, "993452", "1 ML denosumab 60 MG/ML Prefilled Syringe")]},
                }
            ],
            "medicationReference": {"reference": "#med1", "display": "Prolia"},
            "subject": _reference(pid),
            "effectiveDateTime": "2025-12-01T09:00:00Z",
            "dosage": {"dose": {"value": 60, "unit": "mg"}},
        },
        {
            "resourceType": "Procedure",
            "id": "fz-proc",
            "status": "completed",
            "code": {"coding": [_coding(fhir.SNOMED, "179344006", "Total hip replacement")]},
            "subject": _reference(pid),
            "performedPeriod": {"start": "2025-02-12", "end": "2025-02-12"},
        },
    ]


def ehr_searchset(resources: list[dict[str, Any]], self_url: str) -> dict[str, Any]:
    """A searchset as FHIR servers send it: meta, total, self link, absolute fullUrls and search modes."""
    return {
        "resourceType": "Bundle",
        "id": "fz-search",
        "meta": {"lastUpdated": "2026-11-25T08:59:00Z"},
        "type": "searchset",
        "total": len(resources),
        "link": [{"relation": "self", "url": self_url}],
        "entry": [
            {
                "fullUrl": f"{EHR_BASE}/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match", "score": 1},
            }
            for r in resources
        ],
    }


def realistic_request(
    templates: Mapping[str, str], fhir_server: str, chart: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A complete patient-view request: every discovery prefetch key filled from `chart` as an EHR would, one
    searchset with a warning OperationOutcome entry and one with a `next` page on `fhir_server` (where nothing
    should listen: following it fails fast and the labs are marked partly retrieved)."""
    chart = realistic_chart() if chart is None else chart
    prefetch = prefetch_from_chart(templates, chart, FUZZ_PATIENT)
    for key, value in prefetch.items():
        if isinstance(value, dict) and value.get("resourceType") == "Bundle":
            resources = [e["resource"] for e in value["entry"]]
            prefetch[key] = ehr_searchset(resources, f"{EHR_BASE}/{templates[key].split('?')[0]}")
    prefetch["observations"]["link"].append({"relation": "next", "url": "Observation?_page=2"})
    prefetch["conditions"]["entry"].append(
        {
            "resource": {
                "resourceType": "OperationOutcome",
                "issue": [{"severity": "warning", "code": "informational", "diagnostics": "_sort ignored"}],
            },
            "search": {"mode": "outcome"},
        }
    )
    return hook_request(FUZZ_PATIENT, prefetch=prefetch, fhir_server=fhir_server, access_token="fz-fhir-token-41c7")


Path_ = tuple[str | int, ...]


def member_paths(node: Any, below: Path_ = ()) -> list[Path_]:
    """Every object member and array item under `node`, as paths."""
    out: list[Path_] = []
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        path = (*below, key)
        out.append(path)
        out.extend(member_paths(child, path))
    return out


def _get(tree: Any, path: Path_) -> Any:
    for part in path:
        tree = tree[part]
    return tree


def replaced(tree: dict[str, Any], path: Path_, value: Any) -> dict[str, Any]:
    copied = copy.deepcopy(tree)
    _get(copied, path[:-1])[path[-1]] = value
    return copied


_JSON_TYPES: dict[str, st.SearchStrategy[Any]] = {
    "null": st.none(),
    "boolean": st.booleans(),
    "integer": st.sampled_from([0, -1, 1, 2**63, -(2**53)]),
    "number": st.sampled_from([0.5, -2.7, 1e308, -1e-308]),
    "string": st.sampled_from(
        ["", "match", "next", "outcome", "x", "Patient/fz-1", "2026-06-15", "\u0000", "ﬀ" * 3, "https://[::1", "//[x"]
    ),
    "array": st.one_of(st.just([]), st.lists(scalars, min_size=1, max_size=3), st.just([[]]), st.just([{}])),
    "object": st.one_of(st.just({}), st.dictionaries(st.sampled_from(["x", "mode", "url", "value"]), scalars)),
}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


# The members whose type the service's readers depend on, named so that every one of them is drawn often even in
# a short run (the other members of the chart are drawn too, uniformly).
FHIR_MEMBERS = (
    "entry",
    "search",
    "mode",
    "resource",
    "link",
    "relation",
    "url",
    "fullUrl",
    "meta",
    "lastUpdated",
    "resourceType",
    "id",
    "status",
    "intent",
    "code",
    "coding",
    "system",
    "display",
    "text",
    "valueQuantity",
    "value",
    "unit",
    "component",
    "referenceRange",
    "bodySite",
    "category",
    "effectiveDateTime",
    "effectivePeriod",
    "start",
    "issued",
    "subject",
    "reference",
    "medicationCodeableConcept",
    "medicationReference",
    "contained",
    "dosageInstruction",
    "dosage",
    "timing",
    "repeat",
    "doseAndRate",
    "doseQuantity",
    "dose",
    "reasonCode",
    "authoredOn",
    "onsetDateTime",
    "clinicalStatus",
    "verificationStatus",
    "performedPeriod",
    "birthDate",
    "gender",
    "deceasedBoolean",
    "total",
    "severity",
    "issue",
    "fhirServer",
)


@st.composite
def wrong_types(draw: st.DrawFn, valid: dict[str, Any]) -> dict[str, Any]:
    """`valid` with one to three members (anywhere in its prefetch) given a JSON value of another type."""
    paths = [p for p in member_paths(valid) if (p[0] == "prefetch" and len(p) > 1) or p == ("fhirServer",)]
    named = [p for p in paths if isinstance(p[-1], str) and p[-1] in FHIR_MEMBERS]
    return _retyped(draw, valid, preferred=named, paths=paths)


def _retyped(draw: st.DrawFn, body: dict[str, Any], preferred: list[Path_], paths: list[Path_]) -> dict[str, Any]:
    """`body` with one to three of `paths` (often one of `preferred`) given a JSON value of another type."""
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.one_of(st.sampled_from(preferred), st.sampled_from(paths)))
        try:
            current = _get(body, path)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier replacement removed this member's parent
        kind = draw(st.sampled_from(sorted(set(_JSON_TYPES) - {_json_type(current)})))
        body = replaced(body, path, draw(_JSON_TYPES[kind]))
    return body


# --- deep nesting: built as text (json.dumps itself cannot write 100,000 levels) ---------------------------------

_DEEP_MARK = "__osteo_fuzz_nested__"
# Nesting depths tried, besides those that bring a text to within 2 levels of MAX_JSON_DEPTH (deeply_nested adds
# them): real data, deep but allowed, and past Python's recursion limit.
DEPTHS = (10, 30, 64, 100, 500, 998, 999, 1000, 1001, 1500, 5000, 100_000)


def nested_text(depth: int, pattern: str) -> str:
    """`depth` levels of arrays and objects, repeating `pattern` ('a' array, 'o' object, 'e' FHIR extension); the
    innermost holds the number 1, so every level counts towards MAX_JSON_DEPTH."""
    opening, closing = [], []
    for level in range(depth):
        kind = pattern[level % len(pattern)]
        if kind == "a":
            opening.append("[")
            closing.append("]")
        elif kind == "o":
            opening.append('{"a":')
            closing.append("}")
        else:  # an object shaped like a FHIR extension, one level like the others
            opening.append('{"url":"http://x","extension":')
            closing.append("}")
    return "".join(opening) + "1" + "".join(reversed(closing))


@st.composite
def deeply_nested(draw: st.DrawFn, targets: Sequence[tuple[str, dict[str, Any]]]) -> FuzzCase:
    """A request to one of `targets` (path, valid body: hooks and feedback) with a deeply nested value put
    anywhere, or a body that is only nesting."""
    from cds_service.json_body import MAX_JSON_DEPTH

    target, base = draw(st.sampled_from(targets))
    path = draw(st.sampled_from([(), *member_paths(base)]))
    # Or a depth that brings the whole text to within 2 levels of the limit, wherever the nesting sits.
    depth = draw(st.sampled_from((*DEPTHS, *(MAX_JSON_DEPTH - len(path) + k for k in range(-2, 3)))))
    pattern = draw(st.sampled_from(["a", "o", "ao", "oa", "e", "aoe"]))
    text = nested_text(depth, pattern)
    if path:
        holder = replaced(base, path, _DEEP_MARK)
        body = json.dumps(holder).replace(json.dumps(_DEEP_MARK), text, 1)
    else:
        body = text
    total = len(path) + depth  # the containers above the nested value, plus its own levels
    expect = frozenset({400}) if total > MAX_JSON_DEPTH else ALLOWED_STATUSES
    return FuzzCase(target, body.encode(), expect=expect)


# --- duplicate member names (raw bytes: a dict cannot hold them) --------------------------------------------------


def encode_with_duplicate(tree: Any, path: Path_, key: str, second: Any, escaped: bool) -> str:
    """JSON text of `tree` where the object at `path` repeats its member `key` (second value `second`); with
    `escaped`, the repeat spells the name with \\u escapes, which is the same name once decoded."""
    if not path:
        if not isinstance(tree, dict):
            return json.dumps(tree)
        members = [f"{json.dumps(k)}:{json.dumps(v)}" for k, v in tree.items()]
        name = "".join(f"\\u{ord(c):04x}" for c in key) if escaped else json.dumps(key)[1:-1]
        members.append(f'"{name}":{json.dumps(second)}')
        return "{" + ",".join(members) + "}"
    head, rest = path[0], path[1:]
    if isinstance(tree, dict):
        parts = [
            f"{json.dumps(k)}:{encode_with_duplicate(v, rest, key, second, escaped) if k == head else json.dumps(v)}"
            for k, v in tree.items()
        ]
        return "{" + ",".join(parts) + "}"
    items = [
        encode_with_duplicate(v, rest, key, second, escaped) if i == head else json.dumps(v) for i, v in enumerate(tree)
    ]
    return "[" + ",".join(items) + "]"


@st.composite
def duplicate_members(draw: st.DrawFn, targets: Sequence[tuple[str, dict[str, Any]]]) -> FuzzCase:
    """Any object of a request to one of `targets` (path, valid body) repeating one of its member names: always
    400."""
    target, base = draw(st.sampled_from(targets))
    objects = [()] + [p for p in member_paths(base) if isinstance(_get(base, p), dict) and _get(base, p)]
    path = draw(st.sampled_from(objects))
    holder = _get(base, path)
    key = draw(st.sampled_from(sorted(holder)))
    second = draw(st.one_of(st.just(holder[key]), st.just("fz-other"), json_values))
    text = encode_with_duplicate(base, path, key, second, draw(st.booleans()))
    return FuzzCase(target, text.encode(), expect=frozenset({400}))


# --- another patient's records, nested where a top-level filter does not look -------------------------------------


def foreign_records(pid: str = OTHER_PATIENT) -> list[dict[str, Any]]:
    """Another patient's chart: her Patient, a very low lumbar T-score, a vertebral fracture, denosumab, eGFR 20."""
    return [
        fhir.patient(pid, birth_date="1941-01-01"),
        fhir.t_score("fz-foreign-dxa", pid, "38267-1", -3.8, "2026-09-01"),
        fhir.condition("fz-foreign-fx", pid, fhir.ICD10CM, "M80.08XA", "Vertebral fragility fracture", "2026-08-01"),
        {
            "resourceType": "MedicationRequest",
            "id": "fz-foreign-dmab",
            "status": "active",
            "intent": "order",
            "medicationCodeableConcept": {"coding": [_coding(fhir.RXNORM, "993452", "denosumab 60 MG/ML")]},
            "subject": {"reference": f"Patient/{pid}"},
            "authoredOn": "2026-09-01",
        },
        fhir.lab("fz-foreign-egfr", pid, "98979-8", 20, "mL/min/{1.73_m2}", "2026-11-01"),
    ]


# How EHRs write a reference to the other patient.
FOREIGN_REFERENCES = (f"Patient/{OTHER_PATIENT}", f"{EHR_BASE}/Patient/{OTHER_PATIENT}", f"urn:uuid:{OTHER_PATIENT}")
FOREIGN_PLACEMENTS = ("nested-searchset", "nested-collection", "nested-twice", "contained", "top-level")


def with_foreign_record(
    request: dict[str, Any], key: str, foreign: dict[str, Any], placement: str, reference: str | None = None
) -> dict[str, Any]:
    """`request` with another patient's `foreign` resource added to the searchset of prefetch `key`: as an entry
    of a Bundle nested in it (once or twice), in `contained` of this patient's first resource there, or as a plain
    entry (which the top-level patient filter already drops). `reference` rewrites its subject reference."""
    body = copy.deepcopy(request)
    foreign = copy.deepcopy(foreign)
    if reference is not None and "subject" in foreign:
        foreign["subject"] = {"reference": reference}
    entries = body["prefetch"][key].setdefault("entry", [])
    if placement == "contained" and entries:
        entries[0]["resource"].setdefault("contained", []).append(foreign)
        return body
    if placement == "top-level" or placement == "contained":
        entries.append({"fullUrl": f"{EHR_BASE}/{foreign['resourceType']}/{foreign['id']}", "resource": foreign})
        return body
    resource: dict[str, Any] = foreign
    for level in range(2 if placement == "nested-twice" else 1):
        kind = "collection" if placement == "nested-collection" else "searchset"
        entry = {"fullUrl": f"urn:uuid:fz-nested-{level}-{resource.get('id', 'bundle')}", "resource": resource}
        resource = {"resourceType": "Bundle", "type": kind, "entry": [entry]}
    entries.append({"fullUrl": "urn:uuid:fz-nested-bundle", "resource": resource, "search": {"mode": "include"}})
    return body


@st.composite
def foreign_record_pairs(draw: st.DrawFn, request: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(request, the same request plus another patient's record nested somewhere, under any searchset key). The
    cards of both are the same apart from DATA-03, which names the dropped record (`same_cards`, `data03_names`)."""
    keys = sorted(
        k for k, v in request["prefetch"].items() if isinstance(v, dict) and v.get("resourceType") == "Bundle"
    )
    with_foreign = with_foreign_record(
        request,
        draw(st.sampled_from(keys)),
        draw(st.sampled_from(foreign_records())),
        draw(st.sampled_from(FOREIGN_PLACEMENTS)),
        draw(st.sampled_from([None, *FOREIGN_REFERENCES])),
    )
    return request, with_foreign


def same_cards(
    first: Mapping[str, Any], second: Mapping[str, Any], *, apart_from: frozenset[str] = frozenset()
) -> bool:
    """Two hook answers give the same advice: the same rules with the same summaries (uuids differ per call).
    `apart_from`: rules left out of the comparison (DATA-03, which names what was dropped)."""

    def advice(answer: Mapping[str, Any]) -> list[tuple[str, str]]:
        return sorted(
            (c["source"]["topic"]["code"], c["summary"])
            for c in answer.get("cards", ())
            if c["source"]["topic"]["code"] not in apart_from
        )

    return advice(first) == advice(second)


def data03_names(answer: Mapping[str, Any], words: str) -> bool:
    """The DATA-03 card of `answer` lists an item with `words` (e.g. "record of another patient")."""
    return any(
        c["source"]["topic"]["code"] == "DATA-03" and words in c["summary"] + c.get("detail", "")
        for c in answer.get("cards", ())
    )


# Dates well after NOW + 1 day (NOW is 2026-11-25 in the suite), valid FHIR dates.
FAR_FUTURE_DATES = ("2026-11-27", "2027-01", "2099", "2099-01-01", "2099-01-01T00:00:00Z", "9999-12-31")
# The clinical dates of decision table §6 that a copy is moved into the future by (fhir_mappings.scope).
_CLINICAL_DATE_MEMBERS = (
    "effectiveDateTime",
    "issued",
    "onsetDateTime",
    "authoredOn",
    "dateAsserted",
    "recordedDate",
    "performedDateTime",
)


@st.composite
def future_dated_copy_pairs(draw: st.DrawFn, request: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(request, the same request plus a copy of one of its dated resources, under a new id, with every clinical
    date moved after NOW + 1 day). The copy must change no card but DATA-03, which names it "dated in the future"
    (decision table §6 rev 2, §7.19)."""
    candidates = [
        (key, index)
        for key, value in sorted(request["prefetch"].items())
        if isinstance(value, dict) and value.get("resourceType") == "Bundle"
        for index, entry in enumerate(value.get("entry", ()))
        if isinstance(entry.get("resource"), dict)
        and entry["resource"].get("resourceType") != "OperationOutcome"
        and any(m in entry["resource"] for m in _CLINICAL_DATE_MEMBERS)
    ]
    key, index = draw(st.sampled_from(candidates))
    when = draw(st.sampled_from(FAR_FUTURE_DATES))
    body = copy.deepcopy(request)
    entries = body["prefetch"][key]["entry"]
    twin = copy.deepcopy(entries[index]["resource"])
    twin["id"] = f"fz-future-{twin.get('id', index)}"
    for member in _CLINICAL_DATE_MEMBERS:
        if member in twin:
            twin[member] = when
    if isinstance(twin.get("effectivePeriod"), dict):
        twin["effectivePeriod"] = {"start": when}
    entries.append({"fullUrl": f"{EHR_BASE}/{twin['resourceType']}/{twin['id']}", "resource": twin})
    return request, body


# --- clinical dates in the future -----------------------------------------------------------------------------

FUTURE_DATES = (
    "2026-11-26",  # NOW + 1 day: still accepted (clock skew)
    "2026-11-27",
    "2026-11-27T00:00:00+14:00",
    "2027-01",
    "2099",
    "2099-01-01",
    "2099-01-01T00:00:00Z",
    "9999-12-31",
    "9999-12-31T23:59:59.999+00:00",
    "10000-01-01",
    "0000-01-01",
    "2026-02-30",
)
DATE_MEMBERS = frozenset(
    {
        "effectiveDateTime",
        "issued",
        "onsetDateTime",
        "authoredOn",
        "birthDate",
        "start",
        "end",
        "dateAsserted",
        "lastUpdated",
        "recordedDate",
        "deceasedDateTime",
    }
)


@st.composite
def future_dated(draw: st.DrawFn, valid: dict[str, Any]) -> dict[str, Any]:
    paths = [p for p in member_paths(valid) if p[0] == "prefetch" and p[-1] in DATE_MEMBERS]
    body = valid
    for path in draw(st.lists(st.sampled_from(paths), min_size=1, max_size=4, unique=True)):
        body = replaced(body, path, draw(st.sampled_from(FUTURE_DATES)))
    if draw(st.booleans()):  # a deceased patient, dated in the past or the future
        patient_key = next(
            k for k, v in body["prefetch"].items() if isinstance(v, dict) and v.get("resourceType") == "Patient"
        )
        body = replaced(
            body, ("prefetch", patient_key, "deceasedDateTime"), draw(st.sampled_from(["2026-07-01", *FUTURE_DATES]))
        )
    return body


# --- huge and odd headers -------------------------------------------------------------------------------------

_TOKEN_SIZES = (1, 4096, 8000, 8190, 8192, 12_288, 16_000, MAX_TOKEN_CHARS, MAX_TOKEN_CHARS + 1, 17_000, 24_000, 65_536)


def _jws_shaped(size: int) -> str:
    third = size // 3
    return "e" * third + "." + "p" * third + "." + "s" * (size - 2 * third - 2)


@st.composite
def odd_headers(draw: st.DrawFn, valid: dict[str, Any]) -> FuzzCase:
    """A valid request with a huge bearer token, an odd Authorization scheme, long or many other headers, or an
    unusual Content-Type. Up to the service's own token cap the service must answer; beyond it the HTTP server's
    own 400/431 is acceptable."""
    size = draw(st.sampled_from(_TOKEN_SIZES))
    headers: dict[str, str] = {}
    scheme = draw(st.sampled_from(["Bearer ", "bearer   ", "Basic ", "", "Bearer\t"]))
    token = draw(st.sampled_from([_jws_shaped(size), "x" * size]))
    headers["Authorization"] = scheme + token
    over = size > MAX_TOKEN_CHARS
    extra = draw(st.sampled_from([0, 1, 20, 80, 150]))
    for index in range(extra):
        headers[f"X-Fuzz-{index}"] = "v" * draw(st.sampled_from([1, 100, 4000]))
    over = over or extra > 80  # gunicorn's limit_request_fields (100) counts every header of the request
    headers["Content-Type"] = draw(
        st.sampled_from(
            ["application/json", "application/fhir+json", "application/json; charset=utf-8", "text/plain", "", "*/*"]
        )
    )
    return FuzzCase(SERVICE_PATH, json.dumps(valid).encode(), headers=headers, over_server_limits=over)


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


# --- order hooks: hostile drafts in context.draftOrders ------------------------------------------------------------


@cache
def order_discovery_templates() -> dict[str, str]:
    """The order services' prefetch templates, computed by the service's own code."""
    from cds_service.services import ORDER_SIGN
    from fhir_mappings.terminology import load_terminology

    return ORDER_SIGN.definition(ORDER_SIGN.queries(load_terminology(None)))["prefetch"]


def realistic_drafts(pid: str = FUZZ_PATIENT) -> dict[str, Any]:
    """`context.draftOrders` as clients send it: a Bundle without `type` holding an alendronate draft in the
    sandbox's shape (no intent, single-object category and reasonCode, `1 {pill}`), a prednisone course in the
    spec's shape (doseQuantity under dosageInstruction), a denosumab order re-signed as stopped (strict R4), a
    zoledronic acid draft by reference to a Medication of the Bundle, and a nested Bundle holding one more draft."""
    medication = {
        "resourceType": "Medication",
        "id": "fz-zol-med",
        "code": {"coding": [_coding(fhir.RXNORM, *ZOLEDRONIC_ACID)], "text": "Reclast 5 mg/100 mL"},
    }
    by_reference = {
        **draft_request("fz-draft-zol", pid, None, shape="r4"),
        "medicationReference": {"reference": "Medication/fz-zol-med", "display": "zoledronic acid"},
    }
    nested = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": draft_request("fz-draft-aln-2", pid, ALENDRONATE_70, shape="spec")}],
    }
    resources = [
        draft_request("fz-draft-aln", pid, ALENDRONATE_70),
        draft_request("fz-draft-pred", pid, PREDNISONE_5, shape="spec", supply_days=30, repeats=2),
        {**draft_request("fz-draft-dmab", pid, DENOSUMAB_60, shape="r4"), "status": "stopped"},
        medication,
        by_reference,
        nested,
    ]
    return {"resourceType": "Bundle", "entry": [{"resource": r} for r in resources]}


def realistic_order_request(hook: str, fhir_server: str) -> dict[str, Any]:
    """A complete order-sign / order-select request: `realistic_drafts()` for the patient of `realistic_chart()`
    (eGFR 28, on alendronate and denosumab), every order prefetch key filled as an EHR server encodes it."""
    templates = order_discovery_templates()
    prefetch = prefetch_from_chart(templates, realistic_chart(), FUZZ_PATIENT)
    for key, value in prefetch.items():
        if isinstance(value, dict) and value.get("resourceType") == "Bundle":
            resources = [e["resource"] for e in value["entry"]]
            prefetch[key] = ehr_searchset(resources, f"{EHR_BASE}/{templates[key].split('?')[0]}")
    selections = ["MedicationRequest/fz-draft-aln", "fz-draft-pred", f"{EHR_BASE}/MedicationRequest/fz-draft-zol"]
    body = order_request(hook, FUZZ_PATIENT, realistic_drafts(), selections=selections, prefetch=prefetch)
    authorization = hook_request(FUZZ_PATIENT, access_token="fz-fhir-token-41c7")["fhirAuthorization"]
    body.update(fhirServer=fhir_server, fhirAuthorization=authorization)
    return body


@st.composite
def order_wrong_types(draw: st.DrawFn, valid: dict[str, Any]) -> dict[str, Any]:
    """An order request with one to three members of its context (draftOrders, selections, ids) or prefetch given
    a JSON value of another type."""
    paths = [p for p in member_paths(valid) if p[0] in ("context", "prefetch") and len(p) > 1]
    drafts = [p for p in paths if p[:2] == ("context", "draftOrders")]
    return _retyped(draw, valid, preferred=drafts, paths=paths)


_DRAFT_DATE_MEMBERS = ("authoredOn", "start", "end")
_STRINGS_FOR_OBJECTS = ("", "Bundle", "MedicationRequest", "MedicationRequest/fz-draft-aln", "{}", "[]", "null")


@st.composite
def hostile_drafts(draw: st.DrawFn, valid: dict[str, Any]) -> dict[str, Any]:
    """An order request whose drafts are hostile the way clients and attackers make them: junk or FHIR-shaped
    fragments for the whole `draftOrders` or as extra entries, a string where an object or array goes, drafts
    nested in Bundles many levels deep, drafts about another patient or dated in the future, more drafts than a
    session holds, junk selections."""
    body = copy.deepcopy(valid)
    context = body["context"]
    drafts = context["draftOrders"]
    damage = draw(
        st.sampled_from(
            ["replace", "junk-entries", "strings-for-objects", "nested", "foreign-or-future", "many", "selections"]
        )
    )
    if damage == "replace":
        context["draftOrders"] = draw(st.one_of(json_values, fhir_fragments, prefetch_values))
    elif damage == "junk-entries":
        junk = st.one_of(
            json_values,
            st.fixed_dictionaries(
                {"resource": st.one_of(json_values, fhir_fragments, st.sampled_from(RESOURCE_TYPES))}
            ),
        )
        drafts["entry"].extend(draw(st.lists(junk, min_size=1, max_size=4)))
    elif damage == "strings-for-objects":
        containers = [p for p in member_paths(drafts) if isinstance(_get(drafts, p), dict | list)]
        for path in draw(st.lists(st.sampled_from(containers), min_size=1, max_size=3, unique=True)):
            try:
                context["draftOrders"] = replaced(
                    context["draftOrders"], path, draw(st.sampled_from(_STRINGS_FOR_OBJECTS))
                )
            except (KeyError, IndexError, TypeError):
                continue  # an earlier replacement removed this member's parent
    elif damage == "nested":
        resource: Any = draw(st.sampled_from([e["resource"] for e in drafts["entry"]]))
        for _ in range(draw(st.integers(1, 25))):  # 3 JSON levels each: the deepest go over MAX_JSON_DEPTH (400)
            entry = {"resource": resource}
            resource = {"resourceType": "Bundle", "entry": [entry]}
            if draw(st.booleans()):
                resource["type"] = draw(st.sampled_from(["collection", "searchset", "transaction"]))
        drafts["entry"].append({"resource": resource})
    elif damage == "foreign-or-future":
        entry = draw(st.sampled_from([e for e in drafts["entry"] if e["resource"].get("resourceType") != "Bundle"]))
        resource = entry["resource"]
        if draw(st.booleans()):
            resource["subject"] = {"reference": draw(st.sampled_from(FOREIGN_REFERENCES))}
        for member in _DRAFT_DATE_MEMBERS:
            for path in [p for p in member_paths(resource) if p[-1] == member]:
                if draw(st.booleans()):
                    entry["resource"] = resource = replaced(resource, path, draw(st.sampled_from(FUTURE_DATES)))
    elif damage == "many":
        drafts["entry"] = drafts["entry"] * draw(st.sampled_from([34, 40, 100]))  # 204, 240, 600 drafts
    else:
        context["selections"] = draw(
            st.one_of(json_values, st.lists(st.one_of(st.sampled_from(_STRINGS_FOR_OBJECTS), json_values), max_size=5))
        )
    return body


# --- the targets ------------------------------------------------------------------------------------------------


def _json_bytes(body: Any) -> bytes:
    return json.dumps(body).encode()


def _case(path: str) -> Any:
    return lambda body: FuzzCase(path, _json_bytes(body))


@cache
def discovery_templates() -> dict[str, str]:
    """The prefetch templates of discovery, computed by the service's own code."""
    from cds_service.discovery import service_definition
    from cds_service.queries import queries_for
    from fhir_mappings.terminology import load_terminology

    return service_definition(queries_for(load_terminology(None)))["prefetch"]


def fuzz_targets(valid_request: dict[str, Any]) -> dict[str, st.SearchStrategy[FuzzCase]]:
    """Hostile requests by kind. `valid_request` is a complete patient-view request to damage; the newer kinds
    damage `realistic_request()`, whose chart has every member extraction reads."""
    templates = discovery_templates()
    unreachable = f"https://127.0.0.1:{free_port()}/fhir"  # nothing listens: a fetch fails fast
    realistic = realistic_request(templates, unreachable)
    order_sign = realistic_order_request("order-sign", unreachable)
    order_select = realistic_order_request("order-select", unreachable)
    orders = st.sampled_from([(ORDER_SIGN_PATH, order_sign), (ORDER_SELECT_PATH, order_select)])
    feedback = {
        "feedback": [
            {
                "card": "9f1c1d1e-8a53-4f5e-9a59-3c0b2f6c4d11",
                "outcome": "overridden",
                "outcomeTimestamp": "2026-11-25T10:15:00Z",
                "overrideReason": {"reason": {"system": "http://example.org/reasons", "code": "patient-declined"}},
            },
            {
                "card": "0c7a2e59-4d1a-4a3e-8d6b-5b1f0e2a9c37",
                "outcome": "accepted",
                "outcomeTimestamp": "2026-11-25T10:16:00+01:00",
                "acceptedSuggestions": [{"id": "5d0b3a0e-0f6a-4c55-9d8e-6f1f2a1b3c4d"}],
            },
        ]
    }
    junk_prefetch = st.builds(
        lambda prefetch, patient: hook_request(FUZZ_PATIENT, prefetch={"patient": patient, **prefetch}),
        st.fixed_dictionaries({key: prefetch_values for key in PREFETCH_KEYS}),
        st.one_of(st.just(fhir.patient(FUZZ_PATIENT)), prefetch_values),
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
    every_body = [
        (SERVICE_PATH, realistic),
        (FEEDBACK_PATH, feedback),
        (ORDER_SIGN_PATH, order_sign),
        (ORDER_SELECT_PATH, order_select),
        (ORDER_SIGN_PATH + "/feedback", feedback),
    ]
    any_path = st.sampled_from([path for path, _ in every_body])
    return {
        "arbitrary-json-bodies": st.builds(lambda path, body: FuzzCase(path, _json_bytes(body)), any_path, json_values),
        "valid-requests-with-random-damage": damaged_requests(valid_request).map(_case(SERVICE_PATH)),
        "junk-prefetch-values": junk_prefetch.map(_case(SERVICE_PATH)),
        "junk-feedback": junk_feedback.map(_case(FEEDBACK_PATH)),
        "raw-bytes": st.builds(FuzzCase, any_path, st.binary(max_size=300)),
        "wrong-json-types-in-fhir-members": wrong_types(realistic).map(_case(SERVICE_PATH)),
        "deep-nesting": deeply_nested(every_body),
        "duplicate-member-names": duplicate_members(every_body),
        "foreign-nested-resources": foreign_record_pairs(realistic).map(lambda pair: _case(SERVICE_PATH)(pair[1])),
        "future-dates-and-deceased": future_dated(realistic).map(_case(SERVICE_PATH)),
        "huge-and-odd-headers": odd_headers(realistic),
        "order-drafts-wrong-json-types": orders.flatmap(
            lambda target: order_wrong_types(target[1]).map(_case(target[0]))
        ),
        "order-hostile-drafts": orders.flatmap(lambda target: hostile_drafts(target[1]).map(_case(target[0]))),
        "order-foreign-nested-resources": orders.flatmap(
            lambda target: foreign_record_pairs(target[1]).map(lambda pair: _case(target[0])(pair[1]))
        ),
        "order-future-dates-and-deceased": orders.flatmap(lambda target: future_dated(target[1]).map(_case(target[0]))),
    }


def response_problem(case: FuzzCase, status: int, content_type: str | None, body: bytes) -> str | None:
    """What is wrong with an answer to hostile input, or None: the status is one the service documents for this
    case, a 200 has cards (or a feedback receipt), and any error body is a FHIR OperationOutcome with issues. A
    request over the HTTP server's header limits may instead get that server's own 400/431 page."""
    if case.over_server_limits and status in SERVER_LIMIT_STATUSES:
        return None
    if status not in case.expect:
        return f"status {status} (expected one of {sorted(case.expect)})"
    if not (content_type or "").startswith("application/json"):
        return f"status {status} with content type {content_type!r}"
    try:
        parsed = json.loads(body)
    except ValueError:
        return f"status {status} with a body that is not JSON"
    if status == 200:
        if not isinstance(parsed, dict) or not (isinstance(parsed.get("cards"), list) or "received" in parsed):
            return "200 without cards or a feedback receipt"
        if case.path in HOOK_PATHS:
            from cds_service.validation import response_problems

            problems = response_problems(parsed)
            return f"200 with an invalid CDS Hooks response: {problems[0]}" if problems else None
        return None
    if not (isinstance(parsed, dict) and parsed.get("resourceType") == "OperationOutcome" and parsed.get("issue")):
        return f"status {status} with an error body that is not an OperationOutcome"
    return None

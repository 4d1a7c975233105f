"""Raw FHIR R4 JSON helpers: cheap relevance checks on dicts, lenient model validation, dates and codings.

Resources are validated with fhir.resources.R4B models (never the top-level fhir.resources classes, which
are R5). Known client quirks are repaired in a copy of the raw dict before validation; a resource that
still fails is skipped and counted by the caller. Nothing in here leaks FHIR model types to the rest of
the service: domain modules receive plain tuples, strings, Decimals and dates."""

from __future__ import annotations

import copy
import importlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from fhir_mappings.quirks import repair_quirks

# Resource type -> fhir.resources.R4B module. Imported on first use so that importing the pure helpers of this
# package (e.g. medications.cumulative_oral_bisphosphonate_months) does not load the FHIR models.
_MODEL_MODULES: dict[str, str] = {
    "Patient": "patient",
    "Observation": "observation",
    "Condition": "condition",
    "FamilyMemberHistory": "familymemberhistory",
    "MedicationStatement": "medicationstatement",
    "MedicationRequest": "medicationrequest",
    "MedicationAdministration": "medicationadministration",
    "Medication": "medication",
    "Procedure": "procedure",
    "ServiceRequest": "servicerequest",
    "Appointment": "appointment",
    "DiagnosticReport": "diagnosticreport",
}
_models: dict[str, Any] = {}


def model_class(resource_type: str) -> Any | None:
    """The R4B model class (never the top-level fhir.resources classes, which are R5)."""
    cls = _models.get(resource_type)
    if cls is None:
        module = _MODEL_MODULES.get(resource_type)
        if module is None:
            return None
        cls = getattr(importlib.import_module(f"fhir.resources.R4B.{module}"), resource_type)
        _models[resource_type] = cls
    return cls


Coding = tuple[str | None, str | None, str | None]  # (system, code, display)


def preload_models() -> None:
    """Import every model now (about 0.3 s), e.g. at service start-up, instead of on the first request."""
    for resource_type in _MODEL_MODULES:
        model_class(resource_type)


# ---------------------------------------------------------------------------------------------------------
# Raw-dict access (cheap, used before any parsing). Every helper tolerates any shape.


def raw_codings(concept: Any) -> list[Coding]:
    """(system, code, display) of a raw CodeableConcept; tolerates a single coding given as an object.
    Raw JSON is plain dicts and lists (checked with `type(...) is` on this hot path), and the answer is a list, not a
    generator: it runs for most resources of a chart, several times, and a generator costs a third more."""
    if type(concept) is not dict:
        return []
    codings = concept.get("coding")
    if type(codings) is dict:
        codings = [codings]
    elif type(codings) is not list:
        return []
    out: list[Coding] = []
    for c in codings:
        if type(c) is dict:
            system, code, display = c.get("system"), c.get("code"), c.get("display")
            out.append(
                (
                    system if type(system) is str else None,
                    code if type(code) in (str, int) else None,
                    display if type(display) is str else None,
                )
            )
    return out


def raw_list(value: Any) -> list[Any]:
    if type(value) is list:
        return value
    if value is None:
        return []
    return [value]


def raw_text(concept: Any) -> str | None:
    if type(concept) is dict:
        t = concept.get("text")
        if isinstance(t, str):
            return t
    return None


def raw_dict(value: Any) -> dict[str, Any] | None:
    """A JSON member that should be an object, or None when it is anything else."""
    return value if isinstance(value, dict) else None


def raw_str(value: Any) -> str | None:
    """A JSON member that should be a string, or None when it is anything else."""
    return value if isinstance(value, str) else None


# ---------------------------------------------------------------------------------------------------------
# Bundles as sent (by a client's prefetch or a FHIR server): the one place their members are read. Any member may
# have any JSON type; what is not of the expected type is treated as absent, except where that would turn an
# unreadable answer into "no records" (see `read_bundle` and `failed_search_outcome`).

_ISSUE_OK = frozenset({"information", "warning"})


@dataclass(frozen=True, slots=True)
class BundlePage:
    """One Bundle as sent (a prefetch value or a page of a search), its entries read in one pass."""

    resources: list[dict[str, Any]]  # the patient data: not OperationOutcomes, not entries of search mode "outcome"
    has_data: bool  # some entry holds a resource other than an OperationOutcome (of any search mode)
    failed: bool  # an OperationOutcome in it says the search failed (`failed_search_outcome`)
    next: str | None  # `next_link`


def read_bundle(bundle: Mapping[str, Any]) -> BundlePage | None:
    """The entries of `bundle`, or None when it is not readable: `entry` and `link` must be arrays (when present)
    and every entry an object carrying a resource object. A Bundle that is not readable is unavailable data, never
    an empty result. A `search` or `mode` of another type reads as absent."""
    entries, links = bundle.get("entry", []), bundle.get("link", [])
    if not isinstance(entries, list) or not isinstance(links, list):
        return None
    resources: list[dict[str, Any]] = []
    has_data = failed = False
    for entry in entries:  # a plain loop: this runs once per entry of every Bundle a hook brings
        if not isinstance(entry, dict):
            return None
        resource = entry.get("resource")
        if not isinstance(resource, dict):
            return None
        if resource.get("resourceType") == "OperationOutcome":
            failed = failed or failed_search_outcome(resource)  # the rest must still be readable
            continue
        has_data = True
        search = entry.get("search")
        if not isinstance(search, dict) or search.get("mode") != "outcome":
            resources.append(resource)
    return BundlePage(resources, has_data, failed, next_link(bundle))


def failed_search_outcome(resource: Mapping[str, Any]) -> bool:
    """An OperationOutcome saying the search failed: an issue of severity error or fatal, or one whose severity
    cannot be read (it may be an error). Information and warnings are notes about a search that ran."""
    if resource.get("resourceType") != "OperationOutcome":
        return False
    for issue in raw_list(resource.get("issue")):
        severity = (raw_dict(issue) or {}).get("severity")
        if not isinstance(severity, str) or severity not in _ISSUE_OK:
            return True
    return False


def next_link(bundle: Mapping[str, Any]) -> str | None:
    """The URL of the `next` page, as written (possibly relative)."""
    for link in raw_list(bundle.get("link")):
        link = raw_dict(link)
        if link is not None and link.get("relation") == "next" and isinstance(link.get("url"), str):
            return link["url"]
    return None


# ---------------------------------------------------------------------------------------------------------
# Validation with quirk repair

# A dateTime with a time but no timezone is invalid FHIR but common; only the date is used here, so the time
# is dropped rather than the resource.
_NAIVE_DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2})T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")
_MAX_REPAIRS = 20


def _set_path(doc: Any, loc: tuple[Any, ...], value: Any) -> bool:
    target = doc
    for part in loc[:-1]:
        if (isinstance(target, Mapping) and part in target) or (
            isinstance(target, list) and isinstance(part, int) and 0 <= part < len(target)
        ):
            target = target[part]
        else:
            return False
    last = loc[-1]
    if isinstance(target, dict) and last in target:
        if value is _DELETE:
            del target[last]
        else:
            target[last] = value
        return True
    if isinstance(target, list) and isinstance(last, int) and 0 <= last < len(target) and value is not _DELETE:
        target[last] = value
        return True
    return False


def _get_path(doc: Any, loc: tuple[Any, ...]) -> Any:
    target = doc
    for part in loc:
        if (isinstance(target, Mapping) and part in target) or (
            isinstance(target, list) and isinstance(part, int) and 0 <= part < len(target)
        ):
            target = target[part]
        else:
            return _MISSING
    return target


_DELETE = object()
_MISSING = object()


# Top-level elements no extraction reads (narrative, identifiers, bookkeeping, people and places, free-text notes).
# They are not validated: validation costs time per nested element, and a malformed note or address must not make
# an otherwise good result unreadable. Required elements (status, code, subject, participant...) are never here,
# and neither is modifierExtension (it can change a resource's meaning, so it stays under validation).
_UNREAD_ELEMENTS = frozenset(
    {
        "text",
        "meta",
        "identifier",
        "extension",
        "note",
        "name",
        "address",
        "telecom",
        "communication",
        "contact",
        "photo",
        "link",
        "maritalStatus",
        "interpretation",
        "category",
        "encounter",
        "context",
        "performer",
        "requester",
        "recorder",
        "asserter",
        "informationSource",
        "basedOn",
        "partOf",
        "hasMember",
        "derivedFrom",
        "specimen",
        "device",
        "insurance",
        "supportingInformation",
        "reasonReference",
        "location",
        "generalPractitioner",
        "managingOrganization",
        "detectedIssue",
        "eventHistory",
        "substitution",
        "priorPrescription",
        "courseOfTherapyType",
        "groupIdentifier",
        "instantiatesCanonical",
        "instantiatesUri",
    }
)


# How a relevant raw resource becomes the model the domain handlers read (R4B, or fhir_mappings.typed_decoding);
# None when it cannot be read.
ResourceReader = Callable[[Mapping[str, Any]], Any | None]


def model_input(raw: Mapping[str, Any]) -> dict[str, Any]:
    """What a model is made from: `raw` with the known client quirks repaired and the unread elements left out.
    Quirks replace top-level keys only, so this shallow copy protects the caller's dict."""
    repaired = repair_quirks(raw).resource
    return {key: value for key, value in repaired.items() if key not in _UNREAD_ELEMENTS}


def parse(raw: Mapping[str, Any]) -> Any | None:
    """Validated R4B model of `raw`, or None if it cannot be made valid.

    Repairs, in a copy: the known client quirks of `fhir_mappings.quirks` (single objects for arrays, a
    MedicationRequest without intent, STU3-style doses); then, driven by validation errors, any other
    object given where an array is required, naive dateTimes (time dropped), integers where a string is
    required (codes sent as numbers) and elements unknown to R4B (dropped: a reader must ignore what it does
    not understand). Anything else fails."""
    rtype = raw.get("resourceType")
    model = model_class(rtype) if isinstance(rtype, str) else None
    if model is None:
        return None
    doc = model_input(raw)
    copied = False
    for _ in range(_MAX_REPAIRS):
        try:
            return model.model_validate(doc)
        except ValidationError as exc:
            if not copied:  # repairs reach into nested elements: work on a deep copy from here on
                doc = copy.deepcopy(doc)
                copied = True
            if not _repair(doc, exc):
                return None
        except (ValueError, TypeError, AttributeError, KeyError, RecursionError):
            return None
    return None


def _repair(doc: dict[str, Any], exc: ValidationError) -> bool:
    repaired = False
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        kind = err.get("type")
        if not loc:
            continue
        current = _get_path(doc, loc)
        if current is _MISSING:
            continue
        if kind == "list_type" and isinstance(current, Mapping):
            repaired |= _set_path(doc, loc, [current])
        elif kind == "extra_forbidden" and loc[-1] != "resourceType":
            repaired |= _set_path(doc, loc, _DELETE)
        elif kind == "string_type" and type(current) is int:
            repaired |= _set_path(doc, loc, str(current))  # numeric codes sent as JSON numbers (8640)
        elif isinstance(current, str):
            m = _NAIVE_DATETIME.match(current.strip())
            if m:
                repaired |= _set_path(doc, loc, m.group(1))
    return repaired


# ---------------------------------------------------------------------------------------------------------
# Model access helpers (plain values out)


def to_date(value: Any) -> date | None:
    """Date of a FHIR date/dateTime/instant: the calendar date as recorded (in its own timezone).
    Partial dates stand for their whole period and give its first day ("2015" -> 2015-01-01)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        m = re.match(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?", value.strip())
        if m:
            try:
                return date(int(m.group(1)), int(m.group(2) or 1), int(m.group(3) or 1))
            except ValueError:
                return None
    return None


def is_partial_date(value: Any) -> bool:
    return isinstance(value, str) and bool(re.fullmatch(r"\d{4}(-\d{2})?", value.strip()))


def codings(concept: Any) -> tuple[Coding, ...]:
    """(system, code, display) of a model CodeableConcept (or Coding)."""
    if concept is None:
        return ()
    if getattr(concept, "coding", None) is None and getattr(concept, "code", None) is not None:
        return ((concept.system, concept.code, concept.display),)
    return tuple((c.system, c.code, c.display) for c in (concept.coding or ()))


def texts(concept: Any) -> tuple[str, ...]:
    """Human texts of a CodeableConcept: text then codings' displays."""
    if concept is None:
        return ()
    out: list[str] = []
    text = getattr(concept, "text", None)
    if text:
        out.append(text)
    for c in getattr(concept, "coding", None) or ():
        if c.display:
            out.append(c.display)
    return tuple(out)


def first_text(concept: Any) -> str:
    t = texts(concept)
    return t[0] if t else ""


def decimal_or_none(value: Any) -> Decimal | None:
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        d = Decimal(str(value))
        return d if d.is_finite() else None
    return None


def record_id(resource_type: str, rid: Any, fallback_index: int) -> str:
    if isinstance(rid, str) and rid:
        return f"{resource_type}/{rid}"
    return f"{resource_type}/#{fallback_index}"

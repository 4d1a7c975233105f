"""JSON Schema validation of what clients send (and of what we answer, in tests and self-checks).

The schemas live in cds_service/schemas/, written from the CDS Hooks 2.0 tables. Messages name the member and the
rule broken but never repeat the value: a value may be an access token or a patient identifier.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from cds_service.errors import CdsError, Issue

# RFC 3339 §5.6 date-time (a full date, a time, and an offset or Z).
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


@cache
def schema(name: str) -> dict[str, Any]:
    text = resources.files("cds_service.schemas").joinpath(f"{name}.schema.json").read_text("utf-8")
    return json.loads(text)


@cache
def validator(name: str) -> Draft202012Validator:
    loaded = schema(name)
    Draft202012Validator.check_schema(loaded)
    return Draft202012Validator(loaded)


@cache
def declared_members(name: str) -> frozenset[str]:
    """Every member name the schema declares. Other names came from the client (e.g. prefetch keys) and may hold
    anything, an access token included, so messages show them as `*`."""
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("properties"), dict):
                names.update(node["properties"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema(name))
    return frozenset(names)


def _where(error: ValidationError, prefix: str, known: frozenset[str]) -> str:
    parts = [prefix] if prefix else []
    for part in error.absolute_path:
        parts.append(f"[{part}]" if isinstance(part, int) else str(part) if part in known else "*")
    return ".".join(parts).replace(".[", "[") or "(body)"


def _describe(error: ValidationError, prefix: str, known: frozenset[str]) -> Issue:
    """A message naming the member and the rule, without the offending value."""
    where = _where(error, prefix, known)
    kind = error.validator
    if kind == "required":
        # jsonschema reports one error per missing member, each naming the whole `required` list: the member this
        # error is about is the one its message quotes (checked against the list, so a value is never shown).
        missing = [m for m in error.validator_value if m not in (error.instance or {})]
        name = next((m for m in missing if error.message.startswith(f"{m!r} ")), missing[0] if missing else None)
        name = name or "a member"
        member = f"{where}.{name}" if where != "(body)" else name
        return Issue(f"'{member}' is required.", code="required", expression=(member,))
    if kind == "dependentRequired":
        for trigger, needed in error.validator_value.items():
            if isinstance(error.instance, dict) and trigger in error.instance:
                absent = [n for n in needed if n not in error.instance]
                if absent:
                    return Issue(
                        f"'{absent[0]}' is required when '{trigger}' is present.",
                        code="required",
                        expression=(absent[0],),
                    )
        return Issue(f"{where}: a dependent member is missing.", code="required", expression=(where,))
    if kind == "type":
        expected = error.validator_value
        expected_text = " or ".join(expected) if isinstance(expected, list) else expected
        return Issue(f"'{where}' must be of type {expected_text}.", code="structure", expression=(where,))
    if kind in ("enum", "const"):
        allowed = error.validator_value if kind == "enum" else [error.validator_value]
        return Issue(f"'{where}' must be one of: {', '.join(map(str, allowed))}.", code="value", expression=(where,))
    if kind == "pattern":
        return Issue(f"'{where}' has an invalid format.", code="value", expression=(where,))
    if kind in ("minLength", "minItems", "minProperties"):
        return Issue(f"'{where}' must not be empty.", code="required", expression=(where,))
    if kind in ("maxLength", "maxItems"):
        return Issue(f"'{where}' is too long.", code="too-long", expression=(where,))
    if kind in ("minimum", "maximum"):
        return Issue(f"'{where}' is out of range.", code="value", expression=(where,))
    if kind == "anyOf" and where.endswith("overrideReason"):
        return Issue(f"'{where}' needs a 'reason' or a 'userComment'.", code="required", expression=(where,))
    return Issue(f"'{where}' is invalid ({kind}).", code="invalid", expression=(where,))


def schema_issues(name: str, instance: Any, prefix: str = "") -> list[Issue]:
    errors = sorted(validator(name).iter_errors(instance), key=lambda e: (len(e.absolute_path), e.json_path))
    # `if/then` failures are reported by their inner (more specific) error.
    known = declared_members(name)
    issues = [_describe(e, prefix, known) for e in errors if e.validator not in ("if", "then", "allOf")] or [
        _describe(e, prefix, known) for e in errors
    ]
    # One issue per problem, in order: two schema errors can describe the same one.
    seen: set[tuple[str, str, tuple[str, ...]]] = set()
    unique = []
    for issue in issues:
        key = (issue.diagnostics, issue.code, tuple(issue.expression))
        if key not in seen:
            seen.add(key)
            unique.append(issue)
    return unique


@dataclass(frozen=True)
class HookRequest:
    hook: str
    hook_instance: str
    context: Mapping[str, Any]
    patient_id: str
    user_id: str
    fhir_server: str | None
    access_token: str | None
    prefetch: Mapping[str, Any] | None

    def __repr__(self) -> str:  # never show the token or the patient in a traceback or a log
        return f"HookRequest(hook={self.hook!r}, hook_instance={self.hook_instance!r})"


def parse_hook_request(body: Any, expected_hook: str, context_schema: str = "patient-view-context") -> HookRequest:
    """Validate a HookRequest for a service of `expected_hook` whose context must satisfy `context_schema`
    (cds_service/schemas/<name>.schema.json); raise CdsError(400) with every problem found."""
    issues = schema_issues("hook-request", body)
    if not issues:
        if body["hook"] != expected_hook:
            issues.append(
                Issue(
                    f"This service handles the '{expected_hook}' hook, not the one sent.",
                    code="not-supported",
                    expression=("hook",),
                )
            )
        else:
            issues.extend(schema_issues(context_schema, body["context"], prefix="context"))
        if "fhirServer" in body and not _usable_url(body["fhirServer"]):
            issues.append(Issue("'fhirServer' is not a valid URL.", code="value", expression=("fhirServer",)))
    if issues:
        raise CdsError(400, issues)
    authorization = body.get("fhirAuthorization") or {}
    return HookRequest(
        hook=body["hook"],
        hook_instance=body["hookInstance"],
        context=body["context"],
        patient_id=body["context"]["patientId"],
        user_id=body["context"]["userId"],
        fhir_server=body.get("fhirServer"),
        access_token=authorization.get("access_token"),
        prefetch=body.get("prefetch"),
    )


def _usable_url(url: str) -> bool:
    """An absolute URL with a host that urllib can take apart (the schema checks the scheme)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError for a port that is not a number in range
    except ValueError:  # e.g. "https://[ehr" (an unclosed IPv6 literal)
        return False
    return bool(parts.hostname)


@dataclass(frozen=True)
class FeedbackItem:
    card: str
    outcome: str
    accepted_suggestions: tuple[str, ...]
    override_reason_system: str | None
    override_reason_code: str | None
    has_user_comment: bool
    outcome_timestamp: datetime


def parse_feedback(body: Any) -> list[FeedbackItem]:
    issues = schema_issues("feedback", body)
    if issues:
        raise CdsError(400, issues)
    items: list[FeedbackItem] = []
    for index, entry in enumerate(body["feedback"]):
        stamp = entry["outcomeTimestamp"]
        parsed = _rfc3339(stamp)
        if parsed is None:
            issues.append(
                Issue(
                    f"'feedback[{index}].outcomeTimestamp' must be an RFC 3339 date-time with an "
                    "offset, e.g. 2026-11-25T10:15:00Z.",
                    code="value",
                    expression=(f"feedback[{index}].outcomeTimestamp",),
                )
            )
            continue
        reason = (entry.get("overrideReason") or {}).get("reason") or {}
        items.append(
            FeedbackItem(
                card=entry["card"],
                outcome=entry["outcome"],
                accepted_suggestions=tuple(s["id"] for s in entry.get("acceptedSuggestions", ())),
                override_reason_system=reason.get("system"),
                override_reason_code=reason.get("code"),
                has_user_comment=bool((entry.get("overrideReason") or {}).get("userComment")),
                outcome_timestamp=parsed,
            )
        )
    if issues:
        raise CdsError(400, issues)
    return items


def _rfc3339(value: str) -> datetime | None:
    if not _RFC3339.match(value):
        return None
    try:
        return datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00").replace("t", "T"))
    except ValueError:
        return None


def response_problems(response: Any) -> list[str]:
    """Everything wrong with a CDS Hooks response: schema errors plus the invariants JSON Schema cannot say."""
    problems = [f"{e.json_path}: {e.message}" for e in validator("response").iter_errors(response)]
    problems.extend(_empty_members(response, "$"))
    for index, card in enumerate(response.get("cards", []) if isinstance(response, dict) else []):
        suggestions = card.get("suggestions", [])
        recommended = sum(1 for s in suggestions if s.get("isRecommended"))
        if card.get("selectionBehavior") == "at-most-one" and recommended > 1:
            problems.append(f"$.cards[{index}]: more than one isRecommended with at-most-one")
        uuids = [card.get("uuid")] + [s.get("uuid") for s in suggestions]
        if len(set(uuids)) != len(uuids):
            problems.append(f"$.cards[{index}]: duplicate uuid")
    return problems


def _empty_members(value: Any, path: str) -> Iterable[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}"
            if item is None or item == "" or item == {} or (item == [] and child != "$.cards"):
                yield f"{child}: optional members must be omitted, not null or empty"
            else:
                yield from _empty_members(item, child)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _empty_members(item, f"{path}[{index}]")

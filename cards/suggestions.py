"""Suggested actions → CDS Hooks suggestions carrying draft FHIR R4 resources (never orders).

Wording and codes are data (cards/actions.yaml); this module only assembles and validates the resources with the
`fhir.resources.R4B` models, so a malformed draft fails in tests rather than in the EHR.
"""

from __future__ import annotations

import copy
import functools
import uuid
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any

import msgspec
import yaml
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.servicerequest import ServiceRequest

from decision_core.recommendation import ActionKind, SuggestedAction

_DRAFT = {"status": "draft", "intent": "proposal"}


@cache
def action_texts() -> Mapping[str, Any]:
    texts: Mapping[str, Any] = yaml.safe_load(resources.files("cards").joinpath("actions.yaml").read_text("utf-8"))
    return texts


def _fill(template: Any, params: Mapping[str, Any]) -> Any:
    """Fill {name} placeholders in every string of a (nested) template."""
    if isinstance(template, str):
        return template.format_map(_Params(params))
    if isinstance(template, list):
        return [_fill(item, params) for item in template]
    if isinstance(template, dict):
        return {key: _fill(value, params) for key, value in template.items()}
    return template


class _Params(dict[str, Any]):
    def __init__(self, params: Mapping[str, Any]) -> None:
        super().__init__({k: ", ".join(v) if isinstance(v, list | tuple) else v for k, v in params.items()})

    def __missing__(self, key: str) -> str:
        raise KeyError(f"suggestion text needs the parameter {key!r}")


def build_suggestions(actions: Sequence[SuggestedAction], patient_id: str) -> list[dict[str, Any]]:
    return [_suggestion(action, patient_id) for action in actions]


def _suggestion(action: SuggestedAction, patient_id: str) -> dict[str, Any]:
    params = dict(action.params)
    if action.kind is ActionKind.REMOVE_DRAFT:  # order hooks: delete the draft the card is about
        texts = action_texts()[action.kind.value]
        delete = _delete(_fill(texts["description"], params), str(params["draft"]))
        return {"label": _fill(texts["label"], params), "uuid": str(uuid.uuid4()), "actions": [delete]}
    replaces = params.pop("replaces", None)
    replaced_drug = params.pop("replaced_drug", None)
    label, drafts = _drafts(action.kind, _frozen(params))
    subject = {"reference": f"Patient/{patient_id}"}
    actions = [
        _create(description, {**_DRAFT_JSON.decode(resource), "subject": dict(subject)})
        for description, resource in drafts
    ]
    if replaces is not None:
        # The alternative replaces the draft: create first, then delete (the CDS Hooks sandbox applies only the
        # first action it can handle; a client applying the whole suggestion processes deletes before creates).
        texts = action_texts()["replace-draft"]
        words = {"label": label, "replaces": replaces, "replaced_drug": replaced_drug or "ordered"}
        label = _fill(texts["label"], words)
        actions.append(_delete(_fill(texts["description"], words), str(replaces)))
    return {"label": label, "uuid": str(uuid.uuid4()), "actions": actions}


def _delete(description: str, resource_id: str) -> dict[str, Any]:
    """A CDS Hooks 2.0 delete: `resourceId` is the relative reference of the draft ("MedicationRequest/<id>")."""
    return {"type": "delete", "description": description, "resourceId": resource_id}


# (action description, draft resource without its subject, as JSON). Kept encoded: decoding gives each card its own
# copy of the cached draft, about 8 times cheaper than copy.deepcopy.
Drafts = tuple[tuple[str, bytes], ...]
_DRAFT_JSON = msgspec.json.Decoder()


def _encoded(resource: dict[str, Any]) -> bytes:
    encoded = msgspec.json.encode(resource)
    if _DRAFT_JSON.decode(encoded) != resource:  # only JSON's own types survive the copy unchanged
        raise TypeError(f"a draft {resource.get('resourceType')} holds a value that is not plain JSON")
    return encoded


def _frozen(params: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in params.items()))


@functools.lru_cache(maxsize=512)
def _drafts(kind: ActionKind, frozen: tuple[tuple[str, Any], ...]) -> tuple[str, Drafts]:
    """The label and the (description, draft resource) pairs of a suggestion, without the patient. Built and
    validated with the R4B models once per kind and parameters: the patient reference (a validated FHIR id) is
    the only part that differs between calls."""
    texts = action_texts()[kind.value]
    params = dict(frozen)
    if kind is ActionKind.ORDER_LABS:
        drafts = tuple(
            (
                _fill(texts["description"], {"lab": texts["labs"][lab]["text"]}),
                _encoded(_service_request(texts["labs"][lab])),
            )
            for lab in params["labs"]
        )
    elif kind in (ActionKind.ORDER_DXA, ActionKind.REFERRAL):
        texts = {**texts, **texts.get("with_vfa", {})} if params.get("with_vfa") else texts  # GC-01: ACR22 asks VFA
        extra: dict[str, Any] = {}
        if kind is ActionKind.REFERRAL:
            extra["category"] = [{"text": "Referral"}]
            if params.get("reason"):
                extra["reasonCode"] = [{"text": str(params["reason"])}]
        drafts = (
            (_fill(texts["description"], params), _encoded(_service_request(_fill(texts["code"], params), extra))),
        )
    else:
        start = params.pop("start", None)  # a planned start (ORD-07: about 6 months after the last denosumab dose)
        filled = _fill({k: v for k, v in texts.items() if k != "start_text"}, params)
        if start:
            filled = {**filled, "dosage": f"{filled['dosage']} {_fill(texts['start_text'], {'start': start})}"}
        drafts = ((_fill(texts["description"], params), _encoded(_medication_request(filled, start))),)
    return _fill(texts["label"], params), drafts


_PLACEHOLDER_SUBJECT = {"reference": "Patient/validation-placeholder"}


def _create(description: str, resource: dict[str, Any]) -> dict[str, Any]:
    return {"type": "create", "description": description, "resource": resource}


def _service_request(code: Mapping[str, Any], extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    resource = {"resourceType": "ServiceRequest", **_DRAFT, "code": copy.deepcopy(dict(code)), **(extra or {})}
    ServiceRequest.model_validate({**resource, "subject": _PLACEHOLDER_SUBJECT})
    return resource


def _medication_request(texts: Mapping[str, Any], start: str | None = None) -> dict[str, Any]:
    dose = texts["dose"]
    repeat = copy.deepcopy(texts["timing"])
    if start:
        repeat["boundsPeriod"] = {"start": start}
    resource = {
        "resourceType": "MedicationRequest",
        **_DRAFT,
        "medicationCodeableConcept": copy.deepcopy(texts["medication"]),
        "dosageInstruction": [
            {
                "text": texts["dosage"],
                "route": copy.deepcopy(texts.get("route", {"text": "oral"})),
                "timing": {"repeat": repeat},
                "doseAndRate": [
                    {
                        "doseQuantity": {
                            "value": int(dose["value"]),
                            "unit": dose["unit"],
                            "system": "http://unitsofmeasure.org",
                            "code": dose["unit"],
                        }
                    }
                ],
            }
        ],
    }
    MedicationRequest.model_validate({**resource, "subject": _PLACEHOLDER_SUBJECT})
    return resource

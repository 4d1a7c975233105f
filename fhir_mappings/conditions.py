"""Conditions, fragility fractures (C-05), parent hip fracture and menopausal status."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from decision_core.facts import ConditionFact, Fracture, FractureSite, MenopauseStatus
from fhir_mappings.code_systems import normalize_system
from fhir_mappings.fhir_json import codings, first_text, to_date
from fhir_mappings.terminology import CodeEntry, Terminology

# When one resource codes several fracture sites, the one that matters most for C-05 is kept.
_SITE_PRECEDENCE = (
    FractureSite.HIP,
    FractureSite.VERTEBRAL,
    FractureSite.DISTAL_FOREARM,
    FractureSite.PROXIMAL_HUMERUS,
    FractureSite.PELVIS,
    FractureSite.OTHER,
    FractureSite.EXCLUDED,
)
_IGNORED_VERIFICATION = frozenset({"refuted", "entered-in-error"})
_INACTIVE_CLINICAL = frozenset({"inactive", "remission", "resolved"})
# FamilyMemberHistory.relationship codes (HL7 v3 RoleCode, the FHIR FamilyMember value set) meaning a parent.
V3_ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
_PARENT_ROLES = frozenset({"MTH", "FTH", "PRN", "NMTH", "NFTH", "NPRN"})


@dataclass(frozen=True, slots=True)
class MenopauseEvidence:
    status: MenopauseStatus
    on: date | None
    record: str


@dataclass(slots=True)
class ConditionOutput:
    conditions: list[ConditionFact] = field(default_factory=list)
    fractures: list[Fracture] = field(default_factory=list)
    menopause: list[MenopauseEvidence] = field(default_factory=list)


def match(term: Terminology, concept: Any) -> list[CodeEntry]:
    out: list[CodeEntry] = []
    seen: set[str] = set()
    for system, code, _ in codings(concept):
        for e in term.lookup(system, code, "conditions"):
            if e.concept.id not in seen:
                seen.add(e.concept.id)
                out.append(e)
    return out


def _status_codes(concept: Any) -> set[str]:
    return {c for _, c, _ in codings(concept) if c}


def fracture_from_entries(
    entries: Sequence[CodeEntry],
    *,
    record: str,
    display: str,
    onset: date | None,
    explicit_onset: date | None,
) -> Fracture | None:
    frs = [e for e in entries if e.concept.get("kind") == "fracture"]
    if not frs:
        return None
    sites = {FractureSite(e.concept.get("fracture_site")) for e in frs}
    site = next(s for s in _SITE_PRECEDENCE if s in sites)
    history = any(e.attr("history") for e in frs)
    flags = {e.attr("low_trauma") for e in frs if e.attr("low_trauma") is not None}
    low_trauma = flags.pop() if len(flags) == 1 else None  # contradicting flags: unknown
    return Fracture(
        site=site,
        onset=explicit_onset if history else onset,
        record=record,
        display=display,
        coded_osteoporotic=any(bool(e.attr("osteoporotic")) for e in frs),
        low_trauma=low_trauma,
    )


def from_entries(
    entries: Sequence[CodeEntry],
    *,
    record: str,
    display: str,
    onset: date | None,
    explicit_onset: date | None,
    active: bool,
) -> ConditionOutput:
    out = ConditionOutput()
    for e in entries:
        kind = e.concept.get("kind")
        on = explicit_onset if e.attr("history") else onset
        if kind in ("condition", "family-history"):
            out.conditions.append(
                ConditionFact(concept=e.concept.id, record=record, display=display, onset=on, active=active)
            )
        implied = e.attr("implies_menopause")
        if implied:
            out.menopause.append(MenopauseEvidence(MenopauseStatus(implied), on, record))
    fracture = fracture_from_entries(
        entries, record=record, display=display, onset=onset, explicit_onset=explicit_onset
    )
    if fracture is not None:
        out.fractures.append(fracture)
    return out


def from_condition(model: Any, record: str, term: Terminology) -> ConditionOutput:
    if _status_codes(model.verificationStatus) & _IGNORED_VERIFICATION:
        return ConditionOutput()
    entries = match(term, model.code)
    if not entries:
        return ConditionOutput()
    active = not (_status_codes(model.clinicalStatus) & _INACTIVE_CLINICAL)
    explicit = to_date(model.onsetDateTime) or to_date(model.onsetPeriod.start if model.onsetPeriod else None)
    onset = explicit or to_date(model.recordedDate)
    return from_entries(
        entries,
        record=record,
        display=first_text(model.code) or entries[0].display,
        onset=onset,
        explicit_onset=explicit,
        active=active,
    )


def _is_parent(relationship: Any) -> bool:
    for system, code, display in codings(relationship):
        if normalize_system(system) == V3_ROLE_CODE and code in _PARENT_ROLES:
            return True
        if display and display.strip().lower() in ("mother", "father", "parent"):
            return True
    text = getattr(relationship, "text", None) if relationship is not None else None
    return isinstance(text, str) and text.strip().lower() in ("mother", "father", "parent")


def from_family_history(model: Any, record: str, term: Terminology) -> ConditionOutput:
    """Parent hip fracture (FRAX input): a family-history code, or a hip-fracture condition of a parent."""
    out = ConditionOutput()
    if model.status == "entered-in-error":
        return out
    parent = _is_parent(model.relationship)
    for cond in model.condition or ():
        entries = match(term, cond.code)
        hit = next((e for e in entries if e.concept.get("kind") == "family-history"), None)
        if hit is None and parent and any(e.concept.id == "fracture-hip" for e in entries):
            hit = next(e for e in entries if e.concept.id == "fracture-hip")
        if hit is not None:
            out.conditions.append(
                ConditionFact(
                    concept="parent-hip-fracture",
                    record=record,
                    display=first_text(cond.code) or hit.display,
                    onset=to_date(model.date),
                    active=True,
                )
            )
            break
    return out


def menopause_status(evidence: Iterable[MenopauseEvidence]) -> MenopauseStatus:
    """Postmenopausal if ever documented (it does not reverse); otherwise the latest documented status."""
    ev = list(evidence)
    if any(e.status is MenopauseStatus.POSTMENOPAUSAL for e in ev):
        return MenopauseStatus.POSTMENOPAUSAL
    dated = sorted(ev, key=lambda e: (e.on or date.min, e.record))
    return dated[-1].status if dated else MenopauseStatus.UNKNOWN

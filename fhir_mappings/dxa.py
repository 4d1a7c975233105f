"""DXA T-scores, Z-scores and BMD: site from the code plus bodySite, unit and plausibility checks, studies
(C-02)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal

from decision_core.facts import BoneSite, DataDomain, DataIssue, DxaMeasurement, DxaStudy, IssueKind, ScoreKind, Side
from fhir_mappings.code_systems import SNOMED, normalize_system
from fhir_mappings.fhir_json import Coding
from fhir_mappings.observations import Qty
from fhir_mappings.terminology import CodeEntry, Terminology, default_terminology
from fhir_mappings.unit_conversion import convert, is_annotation, parse_unit

PLAUSIBLE_SCORE = (
    Decimal("-6"),
    Decimal("6"),
)  # C-03: T/Z outside -6.0...+6.0 is implausible (inclusive bounds ok)
PLAUSIBLE_BMD = (Decimal("0"), Decimal("3"))  # g/cm2; excludes T-scores sent on BMD codes

NECK_OF_FEMUR = "29627003"  # SNOMED "Structure of neck of femur" (terminology.md A5)
LEFT_LATERALITY = "7771000"  # SNOMED "Left" qualifier, as in the FHIR core BMD example (terminology.md G3)

_KIND_LABEL = {ScoreKind.T: "T-score", ScoreKind.Z: "Z-score", ScoreKind.BMD: "BMD"}


def is_diagnostic_site(site: BoneSite, terminology: Terminology | None = None) -> bool:
    """Whether dxa.yaml marks the site as valid for diagnosis (C-03). The decision core has the final say
    (e.g. a lumbar spine value also needs >= 2 vertebrae)."""
    return bool((terminology or default_terminology()).site_info(site.value).get("diagnostic", False))


# --- site and side from bodySite / texts -----------------------------------------------------------------

_RADIUS_33 = re.compile(r"33\s*%|\b1\s*/\s*3\b|one[\s-]*third|\bthird\b|\b33\s*(?:pct|percent)", re.I)
_ULTRADISTAL = re.compile(r"ultra[\s-]*distal|\bUD\b", re.I)
_FOREARM_WORDS = re.compile(r"radius|ulna|forearm|wrist", re.I)
_VERT_RANGE = re.compile(r"\bL\s*([1-5])\s*(?:-|\u2013|\u2014|to|through|thru)\s*L?\s*([1-5])\b", re.I)
_VERT_SINGLE = re.compile(r"\bL\s*([1-5])\b", re.I)


def parse_vertebrae(text: str) -> tuple[str, ...]:
    """Lumbar levels named in a text: "L1-L2" -> (L1, L2); "L1–4" -> (L1..L4); "L2, L4" -> (L2, L4)."""
    levels: set[int] = set()
    rest = text
    for m in _VERT_RANGE.finditer(text):
        a, b = int(m.group(1)), int(m.group(2))
        lo, hi = min(a, b), max(a, b)
        levels.update(range(lo, hi + 1))
    rest = _VERT_RANGE.sub(" ", rest)
    levels.update(int(m.group(1)) for m in _VERT_SINGLE.finditer(rest))
    return tuple(f"L{n}" for n in sorted(levels))


def _has_code(codings: Iterable[Coding], system: str, code: str) -> bool:
    """`code` as the code or as a term of a post-coordinated expression ("71341001:272741003=7771000")."""
    for s, c, _ in codings:
        if normalize_system(s) == system and c is not None and code in re.findall(r"\d+", str(c)):
            return True
    return False


def _proximal_femur_site(default: BoneSite, body_codings: Sequence[Coding], texts: Sequence[str]) -> BoneSite:
    if _has_code(body_codings, SNOMED, NECK_OF_FEMUR):
        return BoneSite.FEMORAL_NECK
    for t in texts:
        low = t.lower()
        if "neck" in low:
            return BoneSite.FEMORAL_NECK
        if "troch" in low:
            return BoneSite.TROCHANTER
        if re.search(r"\bward", low):
            return BoneSite.WARDS
        if "total" in low:
            return BoneSite.TOTAL_HIP
    return default


def _site_from_text(texts: Sequence[str], body_codings: Sequence[Coding]) -> BoneSite | None:
    """For codes that name no site: only an explicit bodySite statement sets one."""
    if _has_code(body_codings, SNOMED, NECK_OF_FEMUR):
        return BoneSite.FEMORAL_NECK
    for t in texts:
        low = t.lower()
        if "lumbar" in low or "spine" in low or parse_vertebrae(t):
            return BoneSite.LUMBAR_SPINE
        if "neck" in low:
            return BoneSite.FEMORAL_NECK
        if "hip" in low:
            return BoneSite.TOTAL_HIP
        if _RADIUS_33.search(t) and _FOREARM_WORDS.search(t):
            return BoneSite.RADIUS_33
        if _FOREARM_WORDS.search(t):
            return BoneSite.FOREARM
        if "calcan" in low or "heel" in low:
            return BoneSite.CALCANEUS
        if "whole body" in low or "total body" in low:
            return BoneSite.WHOLE_BODY
    return None


def _side(concept_side: str | None, body_codings: Sequence[Coding], body_texts: Sequence[str]) -> Side | None:
    if concept_side:
        return Side(concept_side)
    if _has_code(body_codings, SNOMED, LEFT_LATERALITY):
        return Side.LEFT
    for t in body_texts:
        words = set(re.findall(r"[a-z]+", t.lower()))
        if "left" in words and "right" not in words:
            return Side.LEFT
        if "right" in words and "left" not in words:
            return Side.RIGHT
    return None


def resolve_site(
    entry: CodeEntry,
    matched_display: str | None,
    code_texts: Sequence[str],
    body_codings: Sequence[Coding],
    body_texts: Sequence[str],
) -> tuple[BoneSite, tuple[str, ...]]:
    """(site, vertebrae) from the code's concept refined by bodySite and the code's own texts."""
    site = BoneSite(entry.concept.get("site"))
    all_texts = [*body_texts, *code_texts]
    if site in (BoneSite.FEMUR, BoneSite.TOTAL_HIP):
        site = _proximal_femur_site(site, body_codings, all_texts)
    elif site is BoneSite.FOREARM:
        if any(_RADIUS_33.search(t) for t in all_texts):
            site = BoneSite.RADIUS_33
        elif any(_ULTRADISTAL.search(t) for t in all_texts):
            site = BoneSite.FOREARM
        elif not body_texts and not body_codings:
            # Synthea sends 38265-5 (radius/ulna) for every T-score with the display "DXA [T-score] Bone
            # density": a forearm code whose own texts name no forearm part is read as site-unspecified. With
            # no display or text at all, the LOINC meaning (forearm) stands.
            shown = [t for t in (matched_display, *code_texts) if t]
            if shown and not any(_FOREARM_WORDS.search(t) for t in shown):
                site = BoneSite.UNSPECIFIED
    elif site is BoneSite.UNSPECIFIED:
        site = _site_from_text(body_texts, body_codings) or BoneSite.UNSPECIFIED
    vertebrae: tuple[str, ...] = ()
    if site is BoneSite.LUMBAR_SPINE:
        for t in all_texts:
            vertebrae = parse_vertebrae(t)
            if vertebrae:
                break
    return site, vertebrae


# --- value checks ------------------------------------------------------------------------------------------

_SCORE_UNIT_WORDS = re.compile(r"^\s*[tz]?[\s-]*score\s*$|^\s*sd\s*$|^\s*1\s*$", re.I)


def _score_unit_problem(q: Qty, kind: ScoreKind) -> str | None:
    """None if the unit is acceptable for a T/Z-score (none, "1", any {annotation}, "T-Score"...)."""
    for u in (q.code, q.unit):
        if u is None or not u.strip():
            continue
        if is_annotation(u) or _SCORE_UNIT_WORDS.match(u):
            continue
        parsed = parse_unit(u)
        if parsed is not None and parsed.dimension == "areal-density":
            return f"unit '{u}' is a BMD unit on a {_KIND_LABEL[kind]} code"
        return f"unit '{u}' not valid for a {_KIND_LABEL[kind]}"
    return None


def measurement(
    entry: CodeEntry,
    value: Qty | None,
    *,
    effective: date,
    record: str,
    preliminary: bool,
    matched_display: str | None,
    code_texts: Sequence[str],
    body_codings: Sequence[Coding],
    body_texts: Sequence[str],
) -> DxaMeasurement | DataIssue:
    kind = ScoreKind(entry.concept.get("kind"))
    site, vertebrae = resolve_site(entry, matched_display, code_texts, body_codings, body_texts)
    side = _side(entry.concept.get("side"), body_codings, body_texts)
    item = f"DXA {_KIND_LABEL[kind]} {site.label} {effective.isoformat()}"

    def issue(reason: str, kind: IssueKind) -> DataIssue:
        return DataIssue(item, reason, record, kind=kind, domain=DataDomain.DXA)

    if value is None or value.value is None:
        return issue("no numeric value", IssueKind.NO_VALUE)
    v = value.value
    if kind is ScoreKind.BMD:
        unit_text = value.code or value.unit
        unit = parse_unit(value.code) or parse_unit(value.unit)
        if unit_text is None:
            return issue("unit missing", IssueKind.UNIT_MISSING)
        if unit is None or unit.dimension != "areal-density":
            return issue(f"unit '{unit_text}' not recognised for BMD", IssueKind.UNIT_NOT_RECOGNISED)
        v = convert(v, unit, "g/cm2")  # type: ignore[assignment]
        assert v is not None
        if not PLAUSIBLE_BMD[0] < v <= PLAUSIBLE_BMD[1]:
            return issue(f"BMD {v} g/cm2 outside 0..3", IssueKind.IMPLAUSIBLE)
    else:
        problem = _score_unit_problem(value, kind)
        if problem:
            return issue(problem, IssueKind.UNIT_NOT_RECOGNISED)
        if value.comparator:
            return issue(f"{_KIND_LABEL[kind]} reported with comparator '{value.comparator}'", IssueKind.COMPARATOR)
        if not PLAUSIBLE_SCORE[0] <= v <= PLAUSIBLE_SCORE[1]:
            return issue(f"{_KIND_LABEL[kind]} {v} outside -6..+6", IssueKind.IMPLAUSIBLE)
    site_text = body_texts[0] if body_texts else (code_texts[0] if code_texts else matched_display)
    return DxaMeasurement(
        kind=kind,
        site=site,
        value=v,
        effective=effective,
        record=record,
        side=side,
        vertebrae=vertebrae,
        site_text=site_text,
        preliminary=preliminary,
    )


# --- duplicates and studies ---------------------------------------------------------------------------------


def group_studies(measurements: Iterable[DxaMeasurement]) -> tuple[DxaStudy, ...]:
    """Studies newest first: a study takes every measurement within one day of its newest date (C-02)."""
    ordered = sorted(measurements, key=lambda m: (m.effective, m.record), reverse=True)
    studies: list[DxaStudy] = []
    current: list[DxaMeasurement] = []
    anchor: date | None = None
    for m in ordered:
        if anchor is not None and (anchor - m.effective).days > 1:
            studies.append(DxaStudy(date=anchor, measurements=tuple(_study_order(current))))
            current = []
            anchor = None
        if anchor is None:
            anchor = m.effective
        current.append(m)
    if anchor is not None:
        studies.append(DxaStudy(date=anchor, measurements=tuple(_study_order(current))))
    return tuple(studies)


_SITE_ORDER = {s: i for i, s in enumerate(BoneSite)}
_KIND_ORDER = {k: i for i, k in enumerate(ScoreKind)}


def _study_order(ms: list[DxaMeasurement]) -> list[DxaMeasurement]:
    return sorted(ms, key=lambda m: (_KIND_ORDER[m.kind], _SITE_ORDER[m.site], m.side or "", m.vertebrae, m.record))


def duplicate_key(m: DxaMeasurement) -> tuple[object, ...]:
    return (m.kind, m.site, m.side, m.vertebrae, m.effective)


def describe(m: DxaMeasurement) -> str:
    return f"DXA {_KIND_LABEL[m.kind]} {m.site.label} {m.effective.isoformat()}"

"""FHIR R4 resources (raw JSON dicts) -> PatientFacts.

extract_facts() never raises on bad data. It looks at each raw dict first (resourceType and codes) and
reads only resources that map to a concept, so the irrelevant bulk of a chart costs microseconds. A relevant
resource is read with the typed decoding (fhir_mappings.typed_decoding), or validated with the R4B models when
that is not sure of it or parsing is `strict`; one that fails validation (after known quirks are repaired) is
skipped and counted in `unreadable_records`."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from decision_core.facts import (
    Analyte,
    ConditionFact,
    DataDomain,
    DataIssue,
    DxaMeasurement,
    Fracture,
    FraxValue,
    IssueKind,
    IssueTopic,
    LabResult,
    MedicationExposure,
    PatientFacts,
    PlannedProcedure,
    Sex,
    Vital,
)
from fhir_mappings import conditions as cond_mod
from fhir_mappings import dxa as dxa_mod
from fhir_mappings import frax as frax_mod
from fhir_mappings import labs as labs_mod
from fhir_mappings import medications as med_mod
from fhir_mappings import procedures as proc_mod
from fhir_mappings import vitals as vitals_mod
from fhir_mappings.drugs import Recognition, recognise_resource
from fhir_mappings.fhir_json import (
    ResourceReader,
    codings,
    first_text,
    is_partial_date,
    preload_models,
    raw_codings,
    raw_list,
    raw_text,
    record_id,
    to_date,
)
from fhir_mappings.observations import ObsPart, ObsView, observation_view
from fhir_mappings.quality import resolve_same_day
from fhir_mappings.scope import Excluded, ExclusionReason, future_dated
from fhir_mappings.terminology import CodeEntry, Terminology, default_terminology
from fhir_mappings.typed_decoding import FhirParsing, resource_reader

log = logging.getLogger(__name__)

_IGNORED_OBS_STATUS = frozenset({"entered-in-error", "cancelled", "registered"})
_USED_REPORT_STATUS = frozenset({"final", "amended", "corrected", "appended", "preliminary", "partial"})
_MED_TYPES = frozenset({"MedicationStatement", "MedicationRequest", "MedicationAdministration"})
# R4 status value sets (required bindings). The R4B models do not check them; a status outside the set makes
# the record unreadable: it could be anything, including entered-in-error.
_VALID_STATUS: dict[str, frozenset[str]] = {
    "Observation": frozenset(
        {
            "registered",
            "preliminary",
            "final",
            "amended",
            "corrected",
            "cancelled",
            "entered-in-error",
            "unknown",
        }
    ),
    "MedicationStatement": frozenset(
        {"active", "completed", "entered-in-error", "intended", "stopped", "on-hold", "unknown", "not-taken"}
    ),
    "MedicationRequest": frozenset(
        {"active", "on-hold", "cancelled", "completed", "entered-in-error", "stopped", "draft", "unknown"}
    ),
    "MedicationAdministration": frozenset(
        {"in-progress", "not-done", "on-hold", "completed", "entered-in-error", "stopped", "unknown"}
    ),
    "DiagnosticReport": frozenset(
        {
            "registered",
            "partial",
            "preliminary",
            "final",
            "amended",
            "corrected",
            "appended",
            "cancelled",
            "entered-in-error",
            "unknown",
        }
    ),
    "ServiceRequest": frozenset({"draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown"}),
    "Procedure": frozenset(
        {
            "preparation",
            "in-progress",
            "not-done",
            "on-hold",
            "stopped",
            "completed",
            "entered-in-error",
            "unknown",
        }
    ),
    "Appointment": frozenset(
        {
            "proposed",
            "pending",
            "booked",
            "arrived",
            "fulfilled",
            "cancelled",
            "noshow",
            "entered-in-error",
            "checked-in",
            "waitlist",
        }
    ),
    "FamilyMemberHistory": frozenset({"partial", "completed", "entered-in-error", "health-unknown"}),
}


@dataclass(slots=True)
class _State:
    term: Terminology
    today: date
    read: ResourceReader  # raw resource -> model (typed, or R4B), None when unreadable
    medications: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    # (system, code) -> the lab/vital/FRAX concepts of a coding, None when it names any other concept (_dated_result)
    result_concepts: dict[tuple[Any, Any], tuple[tuple[str, str], ...] | None] = field(default_factory=dict)
    unreadable: int = 0
    birth_date: date | None = None
    sex: Sex = Sex.UNKNOWN
    have_patient: bool = False
    deceased: bool = False
    dxa: list[DxaMeasurement] = field(default_factory=list)
    frax: list[frax_mod.FraxPart] = field(default_factory=list)
    labs: list[LabResult] = field(default_factory=list)
    vitals: list[vitals_mod.VitalReading] = field(default_factory=list)
    conditions: list[ConditionFact] = field(default_factory=list)
    fractures: list[Fracture] = field(default_factory=list)
    menopause: list[cond_mod.MenopauseEvidence] = field(default_factory=list)
    meds: list[MedicationExposure] = field(default_factory=list)
    procedures: list[PlannedProcedure] = field(default_factory=list)
    issues: list[DataIssue] = field(default_factory=list)


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _ordered_issues(issues: Iterable[DataIssue]) -> tuple[DataIssue, ...]:
    """Newest dated item first, undated ones last; the same order whatever order the chart arrived in."""
    stable = sorted(dict.fromkeys(issues), key=lambda i: (i.item, i.reason, i.record or ""))

    def day(issue: DataIssue) -> str:
        found = _ISO_DAY.search(issue.item)
        return found.group(0) if found else ""

    return tuple(sorted(stable, key=day, reverse=True))  # sorted() is stable, also in reverse


def extract_facts(
    resources: Iterable[Mapping[str, Any]],
    now: datetime | date,
    *,
    unavailable: frozenset[str] = frozenset(),
    partial: frozenset[str] = frozenset(),
    terminology: Terminology | None = None,
    excluded: Sequence[Excluded] = (),
    parsing: FhirParsing = FhirParsing.TYPED,
) -> PatientFacts:
    """`excluded`: entries the service dropped before extraction (another patient's records,
    fhir_mappings.scope.this_patient_only); each is named in DATA-03. `parsing`: how relevant resources are read
    (fhir_mappings.typed_decoding; `strict` validates every one with the R4B models)."""
    term = terminology or default_terminology()
    today = now.date() if isinstance(now, datetime) else now
    st = _State(term=term, today=today, read=resource_reader(parsing))
    items, dated = _intake(resources, st)
    outdated = _outdated_observations(dated, st)
    for position, (index, raw) in enumerate(items):
        if position in outdated:
            continue
        try:
            _handle(raw, index, st)
        except Exception as exc:  # one odd resource must never cost the whole chart
            log.debug("skipped %s #%d: %s", raw.get("resourceType"), index, type(exc).__name__)
            st.unreadable += 1
    st.issues.extend(_excluded_issue(e) for e in excluded)
    return _assemble(st, unavailable, partial)


def _excluded_issue(excluded: Excluded) -> DataIssue:
    where = "" if excluded.where == "entry" else f" ({excluded.where})"
    if excluded.reason is ExclusionReason.ANOTHER_PATIENT:
        return DataIssue(
            f"{excluded.resource_type}{where}",
            "record of another patient: ignored",
            excluded.record,
            kind=IssueKind.ANOTHER_PATIENT,
            domain=None,
        )
    return DataIssue(
        f"{excluded.resource_type}{where}",
        "dated in the future: not used",
        excluded.record,
        kind=IssueKind.FUTURE_DATE,
        domain=None,
    )


# Labs, vitals and FRAX results dated before their window, and not the newest of their kind, are read by no
# rule: labs and vitals are used within 12 months (C-09, FRAX inputs), FRAX within 24 (C-08); one month of margin
# each. Skipping them before parsing keeps a chart with years of results cheap, and keeps unit problems of results
# nobody reads out of the cards. The newest result of each kind is always read (e.g. smoking status).
_KEEP_MONTHS = {"labs": 13, "vitals": 13, "frax": 25}
_ISO_PREFIX = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?")


def _dated_result(raw: Mapping[str, Any], st: _State) -> tuple[list[tuple[str, str]], str] | None:
    """(concepts, ISO day) of an Observation that is a lab/vital/FRAX result and could be outdated; None for any
    other (DXA results, whose history matters, panels with components, and anything undated or uncoded are always
    kept). Each distinct coding is looked up once per chart (`st.result_concepts`): a chart repeats a few codes."""
    if raw_list(raw.get("component")):
        return None
    concepts: list[tuple[str, str]] = []
    cache = st.result_concepts
    for system, code, _ in raw_codings(raw.get("code")):
        key = (system, code)
        found = cache.get(key, _UNSEEN)
        if found is _UNSEEN:
            entries = st.term.lookup(*key)
            found = cache[key] = (
                tuple((e.domain, e.concept.id) for e in entries)
                if all(e.domain in _KEEP_MONTHS for e in entries)
                else None
            )
        if found is None:
            return None
        concepts += found
    if not concepts:
        return None
    day = _raw_effective(raw)
    return (concepts, day) if day else None


_UNSEEN: Any = object()  # not in the per-chart memo yet (None there means "names another kind of concept")


def _outdated_observations(dated: Mapping[int, tuple[list[tuple[str, str]], str]], st: _State) -> set[int]:
    """Positions of lab/vital/FRAX Observations dated before the window and older than the newest result of
    every concept they carry (`dated`: position → concepts and day, from the intake walk)."""
    cutoffs = {domain: _months_before(st.today, months).isoformat() for domain, months in _KEEP_MONTHS.items()}
    newest: dict[tuple[str, str], str] = {}
    for concepts, day in dated.values():
        for key in concepts:
            if day > newest.get(key, ""):
                newest[key] = day
    outdated: set[int] = set()
    for position, (concepts, day) in dated.items():
        for key in concepts:  # a plain loop, not all() over a generator expression: one step per result
            if day >= cutoffs[key[0]] or day >= newest[key]:
                break
        else:
            outdated.add(position)
    return outdated


_EFFECTIVE = ("effectiveDateTime", "effectiveInstant", "effectivePeriod", "issued")


def _raw_effective(raw: Mapping[str, Any]) -> str:
    """The ISO date prefix of an Observation's effective time, read from the raw JSON ('' when absent): the first of
    `_EFFECTIVE` (a Period by its start) that is a string beginning with a date."""
    for key in _EFFECTIVE:
        value = raw.get(key)
        if key == "effectivePeriod":
            value = value.get("start") if type(value) is dict else None
        if isinstance(value, str):
            found = _ISO_PREFIX.match(value.strip())
            if found:
                return found.group(0)
    return ""


def _months_before(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    return date(year, month + 1, 1)


def warm_up(terminology: Terminology | None = None) -> Terminology:
    """Start-up: load the terminology (raises InvalidCodeFile for a malformed extra-codes file) and the FHIR
    models, so that the first request does not pay for them."""
    term = terminology or default_terminology()
    term.drug_catalog()  # raises CatalogError on an inconsistent code list
    preload_models()
    return term


# --- intake ----------------------------------------------------------------------------------------------


def _iter_resources(resources: Iterable[Any], st: _State) -> Iterator[Any]:
    try:
        for r in resources:
            # Tolerate a Bundle that was not unwrapped (one level).
            if type(r) is dict and r.get("resourceType") == "Bundle":
                for entry in raw_list(r.get("entry")):
                    yield entry.get("resource") if type(entry) is dict else entry
            else:
                yield r
    except Exception:  # a broken iterable: keep what was read
        st.unreadable += 1


def _intake(
    resources: Iterable[Any], st: _State
) -> tuple[list[tuple[int, dict[str, Any]]], dict[int, tuple[list[tuple[str, str]], str]]]:
    """One walk over the chart: the resources to read (the same resource, type + id, arriving twice is read once;
    the newer meta.lastUpdated wins), Medications indexed by id for references, and the dated lab/vital/FRAX
    results the outdated-result scan needs (position → concepts and day)."""
    out: list[tuple[int, dict[str, Any]]] = []
    dated: dict[int, tuple[list[tuple[str, str]], str]] = {}
    where: dict[tuple[str, str], int] = {}
    for index, raw in enumerate(_iter_resources(resources, st)):
        if type(raw) is not dict:
            if not isinstance(raw, Mapping):
                st.unreadable += 1
                continue
            raw = dict(raw)
        rtype = raw.get("resourceType")
        if type(rtype) is not str:
            st.unreadable += 1
            continue
        rid = raw.get("id")
        position = len(out)
        if type(rid) is str and rid:
            pos = where.setdefault((rtype, rid), position)
            if pos != position:
                if _last_updated(raw) > _last_updated(out[pos][1]):
                    out[pos] = (out[pos][0], raw)
                    if rtype in _NOTED:
                        _note_kept(pos, raw, rtype, rid, dated, st, replaces=True)
                continue
        if rtype in _NOTED:
            _note_kept(position, raw, rtype, rid, dated, st, replaces=False)
        out.append((index, raw))
    return out, dated


_NOTED = frozenset({"Medication", "Observation"})  # the types _note_kept does something for


def _note_kept(
    position: int,
    raw: dict[str, Any],
    rtype: str,
    rid: Any,
    dated: dict[int, tuple[list[tuple[str, str]], str]],
    st: _State,
    *,
    replaces: bool,
) -> None:
    if rtype == "Medication" and isinstance(rid, str):
        if replaces:
            st.medications[rid] = raw  # the newer copy of a duplicated Medication
        else:
            st.medications.setdefault(rid, raw)
    elif rtype == "Observation":
        found = _dated_result(raw, st)
        if found is not None:
            dated[position] = found
        else:
            dated.pop(position, None)


def _last_updated(raw: Mapping[str, Any]) -> str:
    meta = raw.get("meta")
    value = meta.get("lastUpdated") if type(meta) is dict else None
    return value if isinstance(value, str) else ""


# --- relevance (raw dicts, before any parsing) -------------------------------------------------------------


def _known(term: Terminology, concept: Any) -> bool:
    # A plain loop, not any() over a generator expression (twice the cost): this runs for most resources of a chart.
    for system, code, _ in raw_codings(concept):  # noqa: SIM110
        if term.is_known(system, code):
            return True
    return False


def _observation_relevant(raw: Mapping[str, Any], term: Terminology) -> bool:
    if _known(term, raw.get("code")) or _known(term, raw.get("valueCodeableConcept")):
        return True
    return any(
        type(c) is dict and (_known(term, c.get("code")) or _known(term, c.get("valueCodeableConcept")))
        for c in raw_list(raw.get("component"))
    )


def _medication_relevant(raw: Mapping[str, Any], st: _State) -> bool:
    candidates: list[Any] = [raw.get("medicationCodeableConcept")]
    ref = raw.get("medicationReference")
    if type(ref) is dict:
        reference = ref.get("reference")
        target: Any = None
        if isinstance(reference, str) and reference.startswith("#"):
            target = next(
                (c for c in raw_list(raw.get("contained")) if type(c) is dict and c.get("id") == reference[1:]),
                None,
            )
        elif isinstance(reference, str):
            target = st.medications.get(reference.rsplit("/", 1)[-1].removeprefix("urn:uuid:"))
        if type(target) is dict:
            candidates.append(target.get("code"))
            candidates.extend(
                i.get("itemCodeableConcept") for i in raw_list(target.get("ingredient")) if type(i) is dict
            )
        if isinstance(ref.get("display"), str) and st.term.match_text(ref["display"]):
            return True
    for concept in candidates:
        if _known(st.term, concept):
            return True
        for t in (raw_text(concept), *(d for _, _, d in raw_codings(concept))):
            if t and st.term.match_text(t):
                return True
    return False


def _family_history_relevant(raw: Mapping[str, Any], st: _State) -> bool:
    return any(type(c) is dict and _known(st.term, c.get("code")) for c in raw_list(raw.get("condition")))


def _appointment_relevant(raw: Mapping[str, Any], st: _State) -> bool:
    return any(_known(st.term, c) for key in ("serviceType", "reasonCode") for c in raw_list(raw.get(key))) or _known(
        st.term, raw.get("appointmentType")
    )


def _code_relevant(raw: Mapping[str, Any], st: _State) -> bool:
    return _known(st.term, raw.get("code"))


# Which raw resources are worth parsing, by resource type; a type not listed is never read. Medication
# resources (_MED_TYPES) are decided by drug recognition in _handle instead.
_RELEVANCE: dict[str, Callable[[Mapping[str, Any], _State], bool]] = {
    "Patient": lambda raw, st: True,
    "Observation": lambda raw, st: _observation_relevant(raw, st.term),
    "Condition": _code_relevant,
    "Procedure": _code_relevant,
    "ServiceRequest": _code_relevant,
    "DiagnosticReport": _code_relevant,
    "FamilyMemberHistory": _family_history_relevant,
    "Appointment": _appointment_relevant,
    **dict.fromkeys(_MED_TYPES, _medication_relevant),
}


def _relevant(rtype: str, raw: Mapping[str, Any], st: _State) -> bool:
    check = _RELEVANCE.get(rtype)
    return check is not None and check(raw, st)


# --- handlers ----------------------------------------------------------------------------------------------


def _handle(raw: Mapping[str, Any], index: int, st: _State) -> None:
    rtype = raw["resourceType"]
    recognition: Recognition | None = None
    if rtype in _MED_TYPES:
        # Drug recognition at every RxNorm level, by code or by name (fhir_mappings.drugs). It reads the raw entry:
        # recognition already takes each quirk of fhir_mappings.quirks as repairing it would.
        recognition = recognise_resource(raw, st.medications, catalog=st.term.drug_catalog())
        if recognition is None:
            return
    elif not _relevant(rtype, raw, st):
        return
    future = future_dated(raw, st.today)
    if future is not None:
        st.issues.append(_future_issue(raw, rtype, future, record_id(rtype, raw.get("id"), index)))
        return
    model = st.read(raw)
    valid = _VALID_STATUS.get(rtype)
    if model is None or (valid is not None and getattr(model, "status", None) not in valid):
        st.unreadable += 1
        return
    record = record_id(rtype, raw.get("id"), index)
    _HANDLERS[rtype](model, record, st, recognition)


_FUTURE_NAMED_BY = ("code", "medicationCodeableConcept")


def _future_issue(raw: Mapping[str, Any], rtype: str, day: date, record: str) -> DataIssue:
    """DATA-03 names a future-dated entry by what it is ("DXA Lumbar spine [T-score] 2099-01-01")."""
    name = next(
        (
            text
            for key in _FUTURE_NAMED_BY
            for text in (raw_text(raw.get(key)), *(d for _, _, d in raw_codings(raw.get(key))))
            if text
        ),
        rtype,
    )
    return DataIssue(
        f"{name} {day.isoformat()}", "dated in the future: not used", record, kind=IssueKind.FUTURE_DATE, domain=None
    )


def _patient(model: Any, record: str, st: _State) -> None:
    if st.have_patient:
        return  # one patient per chart; a second Patient resource is not merged
    st.have_patient = True
    died = to_date(model.deceasedDateTime) if model.deceasedDateTime is not None else None
    st.deceased = model.deceasedBoolean is True or (died is not None and died <= st.today)
    try:
        st.sex = Sex(model.gender) if model.gender else Sex.UNKNOWN
    except ValueError:
        st.sex = Sex.UNKNOWN
    if model.birthDate is not None and is_partial_date(model.birthDate):
        st.issues.append(
            DataIssue(
                "Birth date",
                f"birth date incomplete ('{model.birthDate}'): age not computed",
                record,
                kind=IssueKind.INCOMPLETE_DATE,
                domain=DataDomain.PATIENT,
            )
        )
    else:
        st.birth_date = to_date(model.birthDate)


def _merge_conditions(out: cond_mod.ConditionOutput, st: _State) -> None:
    st.conditions.extend(out.conditions)
    st.fractures.extend(out.fractures)
    st.menopause.extend(out.menopause)


def _entries(st: _State, part: ObsPart) -> list[tuple[CodeEntry, str | None]]:
    out: list[tuple[CodeEntry, str | None]] = []
    seen: set[tuple[str, str]] = set()
    for system, code, display in part.codings:
        for e in st.term.lookup(system, code):
            key = (e.domain, e.concept.id)
            if key not in seen:
                seen.add(key)
                out.append((e, display))
    return out


def _observation(view: ObsView, st: _State) -> None:
    if view.status in _IGNORED_OBS_STATUS:
        return
    has_frax_probability = False
    for part in (view.main, *view.components):
        if part.data_absent and part.value is None:
            continue  # no value on purpose (dataAbsentReason): nothing to read, nothing to report
        for entry, matched_display in _entries(st, part):
            if not _read_from_observation(entry):
                continue  # e.g. a condition or drug code used as an Observation code
            if view.effective is None:
                st.issues.append(_undated(entry, view.record))
                continue
            result: Any = None
            if entry.domain == "dxa":
                result = dxa_mod.measurement(
                    entry,
                    part.value,
                    effective=view.effective,
                    record=view.record,
                    preliminary=view.preliminary,
                    matched_display=matched_display,
                    code_texts=part.code_texts,
                    body_codings=view.body_site_codings,
                    body_texts=view.body_site_texts,
                )
                if isinstance(result, DxaMeasurement):
                    result = _with_code(result, entry)
            elif entry.domain == "labs":
                result = labs_mod.lab_result(
                    entry,
                    part.value,
                    effective=view.effective,
                    record=view.record,
                    preliminary=view.preliminary,
                    reference_low=view.reference_low if part is view.main else None,
                )
            elif entry.domain == "frax":
                kind = entry.concept.get("kind")
                if kind in ("mof", "hip"):
                    has_frax_probability = True
                    result = frax_mod.probability(
                        entry,
                        part.value,
                        effective=view.effective,
                        record=view.record,
                        preliminary=view.preliminary,
                    )
                else:
                    flag = frax_mod.yes_no(
                        part.value_bool, part.value_texts, [c for _, c, _ in part.value_codings if c]
                    )
                    if flag is not None:
                        result = frax_mod.FraxPart(kind=kind, effective=view.effective, record=view.record, flag=flag)
            elif entry.domain == "vitals":
                measure = entry.concept.get("measure")
                if measure == "smoking":
                    answers = [e for s, c, _ in part.value_codings for e in st.term.lookup(s, c, "vitals")]
                    result = vitals_mod.smoking_reading(answers, effective=view.effective, record=view.record)
                elif measure is not None:
                    result = vitals_mod.reading(entry, part.value, effective=view.effective, record=view.record)
            elif entry.domain == "conditions" and entry.attr("implies_menopause"):
                result = cond_mod.from_entries(
                    [entry],
                    record=view.record,
                    display=entry.display,
                    onset=view.effective,
                    explicit_onset=view.effective,
                    active=True,
                )
            _collect(result, st)
        # Menopausal status given as an answer (local codes): Observation.valueCodeableConcept.
        for s, c, _ in part.value_codings:
            for e in st.term.lookup(s, c, "conditions"):
                if e.concept.get("kind") == "menopause":
                    _collect(
                        cond_mod.from_entries(
                            [e],
                            record=view.record,
                            display=e.display,
                            onset=view.effective,
                            explicit_onset=view.effective,
                            active=True,
                        ),
                        st,
                    )
    if has_frax_probability:
        bmd = frax_mod.bmd_used_from_method(view.method_texts)
        if bmd is not None and view.effective is not None:
            st.frax.append(
                frax_mod.FraxPart(kind="input-bmd-used", effective=view.effective, record=view.record, flag=bmd)
            )


def _topic(entry: CodeEntry) -> IssueTopic | None:
    """Which analyte, vital or FRAX value an entry's concept names (for the core to judge what an issue affects)."""
    if entry.domain == "labs":
        return Analyte(entry.concept.get("analyte"))
    if entry.domain == "frax":
        return FraxValue(entry.concept.get("kind"))
    if entry.domain == "vitals" and entry.concept.get("measure") is not None:
        return Vital(entry.concept.get("measure"))
    return None


def _undated(entry: CodeEntry, record: str) -> DataIssue:
    return DataIssue(
        entry.display,
        "no effective date",
        record,
        kind=IssueKind.NO_DATE,
        domain=DataDomain(entry.domain),
        topic=_topic(entry),
    )


def _read_from_observation(entry: CodeEntry) -> bool:
    if entry.domain in ("dxa", "labs", "frax"):
        return True
    if entry.domain == "vitals":
        return entry.concept.get("measure") is not None
    return entry.domain == "conditions" and bool(entry.attr("implies_menopause"))


def _with_code(m: DxaMeasurement, entry: CodeEntry) -> DxaMeasurement:
    from dataclasses import replace

    return replace(m, code=entry.token)


def _collect(result: Any, st: _State) -> None:
    if result is None:
        return
    if isinstance(result, DataIssue):
        st.issues.append(result)
    elif isinstance(result, DxaMeasurement):
        st.dxa.append(result)
    elif isinstance(result, LabResult):
        st.labs.append(result)
    elif isinstance(result, frax_mod.FraxPart):
        st.frax.append(result)
    elif isinstance(result, vitals_mod.VitalReading):
        st.vitals.append(result)
    elif isinstance(result, cond_mod.ConditionOutput):
        _merge_conditions(result, st)


def _procedure_fracture(model: Any, record: str, st: _State) -> None:
    """A Procedure coded with a fracture concept (e.g. a site's local hip-repair code mapped to
    fracture-hip)."""
    if model.status in ("entered-in-error", "not-done"):
        return
    entries = cond_mod.match(st.term, model.code)
    if not entries:
        return
    on = to_date(model.performedDateTime) or to_date(model.performedPeriod.start if model.performedPeriod else None)
    fracture = cond_mod.fracture_from_entries(
        entries,
        record=record,
        display=first_text(model.code) or entries[0].display,
        onset=on,
        explicit_onset=on,
    )
    if fracture is not None:
        st.fractures.append(fracture)


def _diagnostic_report(model: Any, record: str, st: _State) -> None:
    """Panels (CBC, SPEP) are often only a DiagnosticReport: counted as present (value None)."""
    if model.status not in _USED_REPORT_STATUS:
        return
    effective = (
        to_date(model.effectiveDateTime)
        or to_date(model.effectivePeriod.start if model.effectivePeriod else None)
        or to_date(model.issued)
    )
    for system, code, _ in codings(model.code):
        for e in st.term.lookup(system, code, "labs"):
            if not e.concept.get("panel"):
                continue
            if effective is None:
                st.issues.append(_undated(e, record))
                return
            _collect(
                labs_mod.lab_result(
                    e,
                    None,
                    effective=effective,
                    record=record,
                    preliminary=model.status == "preliminary",
                    reference_low=None,
                ),
                st,
            )
            return


# --- assembly -----------------------------------------------------------------------------------------------


def _condition(model: Any, record: str, st: _State, _: Recognition | None) -> None:
    _merge_conditions(cond_mod.from_condition(model, record, st.term), st)


def _family_history(model: Any, record: str, st: _State, _: Recognition | None) -> None:
    _merge_conditions(cond_mod.from_family_history(model, record, st.term), st)


def _medication_use(model: Any, record: str, st: _State, recognition: Recognition | None) -> None:
    exposures, issues = med_mod.from_resource(model, record, st.term, st.medications, recognition, read=st.read)
    st.meds.extend(exposures)
    st.issues.extend(issues)


def _planned_procedure(model: Any, record: str, st: _State, _: Recognition | None) -> None:
    st.procedures.extend(proc_mod.from_resource(model, record, st.term))


def _procedure(model: Any, record: str, st: _State, _: Recognition | None) -> None:
    st.procedures.extend(proc_mod.from_resource(model, record, st.term))
    _procedure_fracture(model, record, st)


# What each relevant, parsed resource contributes, by resource type (the same keys as _RELEVANCE).
_HANDLERS: dict[str, Callable[[Any, str, _State, Recognition | None], None]] = {
    "Patient": lambda model, record, st, _: _patient(model, record, st),
    "Observation": lambda model, record, st, _: _observation(observation_view(model, record), st),
    "Condition": _condition,
    "FamilyMemberHistory": _family_history,
    **dict.fromkeys(_MED_TYPES, _medication_use),
    "ServiceRequest": _planned_procedure,
    "Appointment": _planned_procedure,
    "Procedure": _procedure,
    "DiagnosticReport": lambda model, record, st, _: _diagnostic_report(model, record, st),
}


def _assemble(st: _State, unavailable: frozenset[str], partial: frozenset[str]) -> PatientFacts:
    issues = list(st.issues)
    dxa_kept, dxa_issues = resolve_same_day(
        st.dxa,
        key=dxa_mod.duplicate_key,
        value=lambda m: m.value,
        is_preliminary=lambda m: m.preliminary,
        record=lambda m: m.record,
        describe=dxa_mod.describe,
        domain=DataDomain.DXA,
        topic=lambda m: None,
    )
    labs_kept, lab_issues = resolve_same_day(
        st.labs,
        key=lambda r: (r.analyte, r.effective),
        value=lambda r: r.value,
        is_preliminary=lambda r: r.preliminary,
        record=lambda r: r.record,
        describe=lambda r: f"{labs_mod.ANALYTE_LABEL[r.analyte]} {r.effective.isoformat()}",
        domain=DataDomain.LABS,
        topic=lambda r: r.analyte,
    )
    frax_results, frax_issues = frax_mod.combine(st.frax)
    meds = sorted(st.meds, key=lambda e: (e.drug_class.value, e.start or date.min, e.record, e.drug))
    issues += dxa_issues + lab_issues + frax_issues + med_mod.data_issues(meds, st.today)
    conditions = sorted(dict.fromkeys(st.conditions), key=lambda c: (c.concept, c.record))
    fractures = sorted(dict.fromkeys(st.fractures), key=lambda f: (f.onset or date.min, f.record), reverse=True)
    procedures = sorted(st.procedures, key=lambda p: (p.planned_date or date.max, p.record))
    labs = sorted(labs_kept, key=lambda r: (r.effective, r.analyte.value, r.record), reverse=True)
    return PatientFacts(
        birth_date=st.birth_date,
        sex=st.sex,
        menopause=cond_mod.menopause_status(st.menopause),
        dxa_studies=dxa_mod.group_studies(dxa_kept),
        frax=frax_results,
        fractures=tuple(fractures),
        conditions=tuple(conditions),
        medications=tuple(meds),
        labs=tuple(labs),
        lifestyle=vitals_mod.lifestyle(st.vitals),
        planned_procedures=tuple(procedures),
        data_issues=_ordered_issues(issues),
        unavailable=frozenset(unavailable),
        partial=frozenset(partial),
        unreadable_records=st.unreadable,
        deceased=st.deceased,
    )

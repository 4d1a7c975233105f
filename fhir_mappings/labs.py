"""Lab results normalised to canonical units (decision table C-09), keeping the value and unit as received."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from decision_core.facts import Analyte, DataDomain, DataIssue, IssueKind, LabResult
from fhir_mappings.code_systems import UCUM, normalize_system
from fhir_mappings.observations import Qty
from fhir_mappings.terminology import CodeEntry
from fhir_mappings.unit_conversion import ANALYTE_UNITS, Unit, lab_to_canonical, parse_unit

ANALYTE_LABEL: dict[Analyte, str] = {
    Analyte.VITAMIN_D_25OH: "25-OH vitamin D",
    Analyte.CALCIUM: "Calcium",
    Analyte.ALBUMIN: "Albumin",
    Analyte.PHOSPHATE: "Phosphate",
    Analyte.PTH: "PTH",
    Analyte.ALP: "Alkaline phosphatase",
    Analyte.TSH: "TSH",
    Analyte.CREATININE: "Creatinine",
    Analyte.EGFR: "eGFR",
    Analyte.CBC: "CBC",
    Analyte.SPEP: "SPEP",
    Analyte.TESTOSTERONE: "Testosterone",
    Analyte.CT_HU: "CT attenuation (HU)",
}


def _resolve_unit(q: Qty) -> tuple[Unit | None, str | None]:
    """(unit, problem). The UCUM code wins when it is a UCUM coding; the human unit text is used otherwise.
    Both present, both recognised and different: a conflict, never a guess."""
    code_unit = parse_unit(q.code) if q.code else None
    text_unit = parse_unit(q.unit) if q.unit else None
    ucum_coded = q.code is not None and (q.system is None or normalize_system(q.system) == UCUM)
    if (
        code_unit is not None
        and text_unit is not None
        and (code_unit.dimension, code_unit.factor) != (text_unit.dimension, text_unit.factor)
    ):
        return None, f"unit code '{q.code}' and unit '{q.unit}' disagree"
    if code_unit is not None and ucum_coded:
        return code_unit, None
    if text_unit is not None:
        return text_unit, None
    if code_unit is not None:
        return code_unit, None
    shown = q.unit or q.code
    if shown is None or not shown.strip():
        return None, "unit missing"
    return None, f"unit '{shown}' not recognised"


def lab_result(
    entry: CodeEntry,
    value: Qty | None,
    *,
    effective: date,
    record: str,
    preliminary: bool,
    reference_low: Qty | None,
) -> LabResult | DataIssue:
    analyte = Analyte(entry.concept.get("analyte"))
    token = f"{entry.system}|{entry.code}"
    item = f"{ANALYTE_LABEL[analyte]} {effective.isoformat()}"

    def issue(reason: str, kind: IssueKind) -> DataIssue:
        return DataIssue(item, reason, record, kind=kind, domain=DataDomain.LABS, topic=analyte)

    if entry.concept.get("panel"):
        return LabResult(analyte=analyte, effective=effective, record=record, code=token, preliminary=preliminary)
    if value is None or value.value is None:
        return issue("no numeric value", IssueKind.NO_VALUE)
    if entry.concept.get("on_file_only"):
        # Only "is it on file" is asked (testosterone, LAB-01): any unit, the value is not interpreted (§1.1).
        return LabResult(
            analyte=analyte,
            effective=effective,
            record=record,
            code=token,
            original_value=value.value,
            original_unit=value.shown_unit,
            preliminary=preliminary,
        )
    unit, problem = _resolve_unit(value)
    if unit is None:
        missing = problem == "unit missing"
        return issue(
            problem or "unit not recognised", IssueKind.UNIT_MISSING if missing else IssueKind.UNIT_NOT_RECOGNISED
        )
    canonical = lab_to_canonical(analyte, value.value, unit)
    spec = ANALYTE_UNITS[analyte]
    if canonical is None:
        return issue(
            f"unit '{value.shown_unit}' cannot be converted to {spec.canonical}", IssueKind.UNIT_NOT_RECOGNISED
        )
    low, high = entry.concept.get("plausible_low"), entry.concept.get("plausible_high")
    if (low is not None and canonical < Decimal(str(low))) or (high is not None and canonical > Decimal(str(high))):
        return issue(
            f"value {value.value} {value.shown_unit} ({canonical} {spec.canonical}) is implausible",
            IssueKind.IMPLAUSIBLE,
        )
    ref_low = None
    if reference_low is not None and reference_low.value is not None:
        ref_unit, _ = _resolve_unit(reference_low)
        if ref_unit is not None:
            ref_low = lab_to_canonical(analyte, reference_low.value, ref_unit)
    return LabResult(
        analyte=analyte,
        effective=effective,
        record=record,
        code=token,
        value=canonical,
        unit=spec.canonical,
        original_value=value.value,
        original_unit=value.shown_unit,
        reference_low=ref_low,
        preliminary=preliminary,
        comparator=value.comparator,
    )

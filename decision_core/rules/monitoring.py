"""MON-01 (repeat DXA, untreated), MON-02 (DXA on therapy), MON-03 (bisphosphonate reassessment)."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from ..assessment import Assessment
from ..dates import add_months, months_between, within_months_before
from ..dxa_assessment import HIP_SITES
from ..facts import ConditionConcept
from ..fractures import FractureGroup
from ..recommendation import Recommendation
from ..thresholds import THRESHOLDS
from .common import dxa_values, order_dxa, recommend
from .treatment import dxa_interval


def mon01(a: Assessment) -> Recommendation | None:
    study = a.dxa.latest_with_t
    # A stale DXA (> 24 months) is handled by §4: DATA-02 suppresses MON-01.
    if not a.adult50 or a.therapy.on_therapy or not a.dxa.low_bone_mass or study is None:
        return None
    interval, reasons = dxa_interval(a)
    due = add_months(study.date, interval)
    if a.today < due:
        return None
    values = {**dxa_values(a), "interval_months": interval, "due_date": due, "interval_reasons": reasons}
    return recommend(a, "MON-01", "repeat-dxa", values, order_dxa(a))


def mon02(a: Assessment) -> Recommendation | None:
    th = THRESHOLDS
    if not a.therapy.on_therapy:
        return None
    agent = a.therapy.current[0]
    # "Last DXA" is the latest study with a valid diagnostic site (DATA-01 rev 2): a forearm-only study is not one.
    last = a.dxa.latest_valid.date if a.dxa.latest_valid is not None else None
    starts = [x.episode_start for x in a.therapy.current if x.episode_start is not None]
    start = min(starts) if starts else None
    if last is not None:
        due = a.today >= add_months(last, th.dxa_on_therapy_months)
    else:
        due = start is not None and a.today >= add_months(start, th.dxa_on_therapy_months)
    if not due:
        return None
    values = {
        "drug": agent.drug,
        "last_dxa_date": last,
        "months_since_dxa": months_between(last, a.today) if last else None,
        "therapy_start": start,
    }
    return recommend(a, "MON-02", "follow-up-dxa", values)


def continuation_criteria(a: Assessment) -> tuple[str, ...]:
    """What in the chart argues for continuing a bisphosphonate beyond 5 (oral) / 3 (IV) years (ASBMR16)."""
    th = THRESHOLDS
    found: list[str] = []
    study = a.dxa.latest_with_t
    hip = study.site_t(HIP_SITES) if study else None
    if hip is not None and hip.value <= th.t_osteoporosis_max:
        found.append("hip-t-at-or-below--2.5")
    major = (FractureGroup.HIP, FractureGroup.VERTEBRAL, FractureGroup.OTHER_MAJOR)
    if any(f.group in major for f in a.fractures.fragility):
        found.append("prior-major-fracture")
    if any(f.on_therapy for f in a.fractures.fragility):
        found.append("fracture-on-therapy")
    # A FRAX on therapy is context only here (§6): recent enough and at threshold.
    latest = a.frax.latest
    if (
        latest is not None
        and within_months_before(latest.result.effective, a.today, th.frax_valid_months)
        and latest.at_treatment_threshold
    ):
        found.append("frax-at-threshold")
    if a.gc.qualifies:
        found.append("glucocorticoid")
    return tuple(found)


def mon03(a: Assessment) -> Recommendation | None:
    """Holiday logic for bisphosphonates only, never denosumab (§7.6)."""
    th = THRESHOLDS
    agent = a.therapy.current_bisphosphonate
    if agent is None or a.has_concept(ConditionConcept.BISPHOSPHONATE_HOLIDAY):
        return None
    oral = a.therapy.oral_bisphosphonate_months
    infusions = a.therapy.zoledronic_infusions
    if oral < th.oral_bisphosphonate_reassess_months and infusions < th.zoledronic_reassess_infusions:
        return None
    years = (Decimal(oral) / 12 + infusions).quantize(Decimal("0.1"), rounding=ROUND_DOWN)
    criteria = continuation_criteria(a)
    values = {
        "drug": agent.drug,
        "years": years,
        "oral_months": oral,
        "zoledronic_infusions": infusions,
        "continuation_criteria": criteria,
        "holiday_reasonable": not criteria,
    }
    needs_dxa = not a.dxa.last_study_within(a.today, th.dxa_min_interval_months)
    return recommend(a, "MON-03", "reassess", values, order_dxa(a) if needs_dxa else ())


def holiday_criteria(a: Assessment) -> tuple[str, ...]:
    """MON-04: the MON-03 continuation criteria found now. Any hip, vertebral or other major fragility fracture
    counts (one after the course ended has already ended the holiday); a FRAX counts only when valid (C-08)."""
    th = THRESHOLDS
    found: list[str] = []
    study = a.dxa.latest_with_t
    hip = study.site_t(HIP_SITES) if study else None
    if hip is not None and hip.value <= th.t_osteoporosis_max:
        found.append("hip-t-at-or-below--2.5")
    major = (FractureGroup.HIP, FractureGroup.VERTEBRAL, FractureGroup.OTHER_MAJOR)
    if any(f.group in major for f in a.fractures.fragility):
        found.append("prior-major-fracture")
    if a.valid_frax is not None and a.valid_frax.at_treatment_threshold:
        found.append("frax-at-threshold")
    if a.gc.qualifies:
        found.append("glucocorticoid")
    return tuple(found)


def mon04(a: Assessment) -> Recommendation | None:
    """Bisphosphonate holiday (C-06 rev 2): reassess; consider resuming when a continuation criterion is found."""
    th = THRESHOLDS
    holiday = a.holiday
    if holiday is None:
        return None
    course = holiday.course
    criteria = holiday_criteria(a)
    values = {
        "drug": course.drug,
        "route": course.route,
        "years": (Decimal(course.oral_months) / 12).quantize(Decimal("0.1"), rounding=ROUND_DOWN),
        "oral_months": course.oral_months,
        "zoledronic_infusions": course.infusions,
        "last_exposure": course.last_exposure,
        "holiday_since": holiday.since,
        "holiday_months": holiday.months,
        "holiday_criteria": criteria,
        "last_dxa_date": a.dxa.last_study_date,
    }
    # A DXA 2-3 years into the holiday: drafted only with none within 24 months (the 12-month floor holds too).
    needs_dxa = not a.dxa.last_study_within(a.today, th.holiday_dxa_months)
    return recommend(
        a, "MON-04", "resume-criteria" if criteria else "reassess", values, order_dxa(a) if needs_dxa else ()
    )

"""DATA-01 (no DXA on record), DATA-02 (stale DXA), DATA-03 (uninterpretable data)."""

from __future__ import annotations

from decimal import Decimal

from ..assessment import Assessment
from ..data_issues import issue_value
from ..dates import months_between
from ..dxa_assessment import BmdCategory
from ..facts import ConditionConcept, DataDomain, DataIssue, IssueKind, MenopauseStatus, Sex, SmokingStatus
from ..recommendation import Recommendation
from ..therapy import new_bone_toxic_drug_since
from ..thresholds import THRESHOLDS
from .common import dxa_values, order_dxa, recommend


def _bmi(a: Assessment) -> Decimal | None:
    life = a.facts.lifestyle
    if life.bmi is not None:
        return life.bmi.value
    if life.weight_kg is not None and life.height_cm is not None and life.height_cm.value > 0:
        metres = life.height_cm.value / 100
        return life.weight_kg.value / (metres * metres)
    return None


def screening_risk_factors(a: Assessment) -> tuple[str, ...]:
    th = THRESHOLDS
    life = a.facts.lifestyle
    found: list[str] = []
    if any(age is not None and age >= th.adult_age for age in a.fractures.any_fracture_onset_ages):
        found.append("fracture-after-50")
    if a.gc.qualifies or a.gc.frax_input_yes:
        found.append("glucocorticoid")
    bmi = _bmi(a)
    if bmi is not None and bmi < th.bmi_low_below:
        found.append("bmi-below-20")
    if a.has_concept(ConditionConcept.PARENTAL_HIP_FRACTURE, active_only=False):
        found.append("parental-hip-fracture")
    if life.smoking == SmokingStatus.CURRENT:
        found.append("smoking")
    if life.alcohol_units_per_day is not None and life.alcohol_units_per_day.value >= th.alcohol_units_risk:
        found.append("alcohol-3-or-more")
    return tuple(found)


def data01(a: Assessment) -> Recommendation | None:
    th = THRESHOLDS
    age = a.age
    # "No DXA on record" cannot be claimed when the DXA data could not be fetched completely.
    if age is None or a.dxa.latest_valid is not None or "dxa" in a.incomplete_domains:
        return None
    # Never while a DXA-coded result is on file that could not be interpreted (rev 2): DATA-03 names it instead.
    if a.dxa.uninterpretable or any(i.domain is DataDomain.DXA for i in a.facts.data_issues):
        return None
    sex = a.facts.sex
    risk = screening_risk_factors(a)
    postmenopausal = a.facts.menopause == MenopauseStatus.POSTMENOPAUSAL or (
        age >= th.adult_age and a.facts.menopause == MenopauseStatus.UNKNOWN
    )
    reasons: list[str] = []
    menopause_assumed = False
    if sex == Sex.FEMALE:
        if age >= th.female_screen_age:
            reasons.append("female-65")
        elif postmenopausal and risk:
            reasons.append("postmenopausal-risk-factor")
            menopause_assumed = a.facts.menopause == MenopauseStatus.UNKNOWN
    elif sex == Sex.MALE:
        if age >= th.male_screen_age:
            reasons.append("male-70")
        elif age >= th.adult_age and risk:
            reasons.append("male-50-69-risk-factor")
    else:  # other/unknown sex: only where both the women's and the men's criteria agree
        if age >= th.male_screen_age:
            reasons.append("any-sex-70")
        elif age >= th.adult_age and risk:
            reasons.append("any-sex-50-risk-factor")
    if a.fractures.fragility:
        reasons.append("fragility-fracture")
    if a.gc.qualifies:
        reasons.append("glucocorticoid")
    if a.therapy.treatment_started_or_ordered:
        reasons.append("osteoporosis-drug")
    if not reasons:
        return None
    values = {
        "reasons": tuple(reasons),
        "risk_factors": risk,
        "menopause_assumed": menopause_assumed,
        "non_diagnostic_dxa_date": a.dxa.non_diagnostic_only,
    }
    return recommend(a, "DATA-01", "no-dxa", values, order_dxa(a))


def data02(a: Assessment) -> Recommendation | None:
    """Current therapy suppresses this card through §4 (precedence)."""
    study = a.dxa.latest_with_t
    if not a.adult50 or study is None or not a.dxa.stale or a.dxa.effective_category == BmdCategory.OSTEOPOROSIS:
        return None
    changes: list[str] = []
    if a.gc.qualifies:
        changes.append("glucocorticoid")
    if any(f.onset is not None and f.onset > study.date for f in a.fractures.fragility):
        changes.append("new-fragility-fracture")
    if new_bone_toxic_drug_since(a.facts.medications, study.date, a.today):
        changes.append("bone-toxic-drug")
    if a.dxa.category == BmdCategory.NORMAL and not changes:
        return None
    values = {
        **{k: v for k, v in dxa_values(a).items() if k != "dxa_date"},
        "dxa_date": study.date,
        "months_old": months_between(study.date, a.today),
        "category": str(a.dxa.category),
        "risk_changes": tuple(changes),
    }
    return recommend(a, "DATA-02", "stale-dxa", values, order_dxa(a))


def _retrieval_issue(domain: str, reason: str, kind: IssueKind) -> DataIssue:
    return DataIssue(f"{domain} data", reason, kind=kind, domain=DataDomain(domain))


def data03(a: Assessment) -> Recommendation | None:
    facts = a.facts
    found: list[DataIssue] = [*facts.data_issues, *a.issues]
    found += [_retrieval_issue(d, "could not be retrieved", IssueKind.NOT_RETRIEVED) for d in sorted(facts.unavailable)]
    found += [
        _retrieval_issue(d, "only partly retrieved", IssueKind.PARTLY_RETRIEVED)
        for d in sorted(facts.partial - facts.unavailable)
    ]
    if facts.unreadable_records:
        found.append(
            DataIssue(
                f"{facts.unreadable_records} chart entries",
                "could not be read (failed validation)",
                kind=IssueKind.UNREADABLE,
                domain=None,
            )
        )
    if not found:
        return None
    issues = tuple(issue_value(i) for i in found)
    values = {
        "issues": issues,
        "first_item": str(issues[0]["item"]),
        "first_reason": str(issues[0]["reason"]),
        "count": len(issues),
    }
    return recommend(a, "DATA-03", "uninterpretable", values)

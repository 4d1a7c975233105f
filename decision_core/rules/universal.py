"""UNIV-01: universal bone-health measures, with calcium / vitamin D drafts when not already taken."""

from __future__ import annotations

from ..assessment import Assessment
from ..facts import Analyte, Sex
from ..recommendation import ActionKind, Recommendation, SuggestedAction
from ..thresholds import THRESHOLDS
from .common import recommend


def calcium_target(sex: Sex, age: int) -> tuple[int, bool]:
    """(mg/day total intake, sex assumed): 1000 men 50-70 and adults <50; 1200 women >=51 and men >=71."""
    th = THRESHOLDS
    if sex == Sex.MALE:
        return (th.calcium_mg_higher if age >= th.calcium_higher_male_age else th.calcium_mg_lower), False
    higher = age >= th.calcium_higher_female_age
    # Sex other/unknown: the women's amount (the higher one, still far below the upper limit).
    return (th.calcium_mg_higher if higher else th.calcium_mg_lower), sex != Sex.FEMALE and higher


def univ01(a: Assessment) -> Recommendation | None:
    th = THRESHOLDS
    if not a.bhc or a.age is None or a.age < th.min_age_in_scope:
        return None
    calcium_mg, sex_assumed = calcium_target(a.facts.sex, a.age)
    vitd = a.labs.latest(Analyte.VITAMIN_D_25OH, a.today)
    if a.age >= th.adult_age:
        low_level = vitd is not None and vitd.value < th.vitd_target_min
        vitamin_d_iu = th.vitamin_d_iu_adult50_low_level if low_level else th.vitamin_d_iu_adult50
        vitamin_d_text = f"{th.vitamin_d_iu_adult50}-{th.vitamin_d_iu_adult50_low_level}"
    else:
        vitamin_d_iu = th.vitamin_d_iu_under50
        vitamin_d_text = str(th.vitamin_d_iu_under50)
    # Drafts only when we can see the medication list and the patient is not already taking the supplement;
    # no vitamin D draft when the level is already above 50 ng/mL.
    meds_known = "medications" not in a.incomplete_domains
    actions: list[SuggestedAction] = []
    drafted: list[str] = []
    if meds_known and not a.therapy.on_calcium:
        actions.append(SuggestedAction(ActionKind.DRAFT_CALCIUM, {"mg_per_day": calcium_mg, "total_intake": True}))
        drafted.append("calcium")
    vitd_high = vitd is not None and vitd.value > th.vitd_high_above
    if meds_known and not a.therapy.on_vitamin_d and not vitd_high:
        actions.append(SuggestedAction(ActionKind.DRAFT_VITAMIN_D, {"iu_per_day": vitamin_d_iu}))
        drafted.append("vitamin-d")
    life = a.facts.lifestyle
    values = {
        "calcium_mg_per_day": calcium_mg,
        "vitamin_d_iu_per_day": vitamin_d_iu,
        "vitamin_d_iu_text": vitamin_d_text,
        "on_calcium": a.therapy.on_calcium,
        "on_vitamin_d": a.therapy.on_vitamin_d,
        "supplements_drafted": tuple(drafted),
        "smoking": str(life.smoking),
        "alcohol_units_per_day": life.alcohol_units_per_day.value if life.alcohol_units_per_day else None,
        "glucocorticoid": a.gc.qualifies,
        "bhc_reasons": a.bhc_reasons,
        "sex_assumed": sex_assumed,
    }
    return recommend(a, "UNIV-01", "basics", values, actions)

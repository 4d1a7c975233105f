"""The order rules (decision table §10, ORD-01 ... ORD-11): pure functions of the patient facts, the draft orders
and NOW. The patient-view rules are not run here: an order card speaks only about its order.

One card per rule and draft (each card names its draft); ORD-06 only when no other order card fires for that
draft. A draft the table does not cover, or an empty one, gets no card; an unreadable one gets ORD-00.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from .assessment import Assessment, assess
from .dates import add_months, as_date, months_between
from .drafts import DraftKind, DraftOrder
from .facts import (
    Analyte,
    ConditionConcept,
    DrugClass,
    MedicationExposure,
    MedicationSource,
    MedicationStatus,
    PatientFacts,
)
from .glucocorticoids import assess_glucocorticoids
from .lab_assessment import CorrectedCalcium, LabValue
from .recommendation import ActionKind, Recommendation, SuggestedAction
from .rules.common import dxa_allowed
from .rules.universal import calcium_target
from .specs import RULE_SPECS
from .therapy import BISPHOSPHONATE_CLASSES, OSTEOPOROSIS_CLASSES
from .thresholds import THRESHOLDS

ANTIRESORPTIVE_CLASSES = frozenset(
    {DrugClass.BISPHOSPHONATE_ORAL, DrugClass.ZOLEDRONIC_ACID, DrugClass.DENOSUMAB, DrugClass.SERM}
)
_CALCIUM_GATED = frozenset({DrugClass.DENOSUMAB, DrugClass.ZOLEDRONIC_ACID})


@dataclasses.dataclass(frozen=True)
class OrderContext:
    """What every order rule reads: the assessment of the chart (without the drafts) and the labs it gates on."""

    a: Assessment
    drafts: tuple[DraftOrder, ...]
    egfr: LabValue | None  # latest within 12 months
    calcium_30d: CorrectedCalcium | None
    calcium_12m: CorrectedCalcium | None
    vitamin_d: LabValue | None  # 25-OH D within 12 months

    @property
    def today(self) -> date:
        return self.a.today

    @property
    def vitamin_d_ok(self) -> bool:
        """§7.8: an antiresorptive draft needs a documented 25-OH D of at least 20 ng/mL."""
        return self.vitamin_d is not None and self.vitamin_d.value >= THRESHOLDS.vitd_deficient_below

    @property
    def calcium_normal_30d(self) -> bool:
        return self.calcium_30d is not None and not self.calcium_30d.below_lln

    @property
    def egfr_ok_for_bisphosphonate(self) -> bool:
        return self.egfr is not None and self.egfr.value >= THRESHOLDS.egfr_bisphosphonate_min

    def others(self, draft: DraftOrder) -> tuple[DraftOrder, ...]:
        return tuple(d for d in self.drafts if d is not draft)


def _recommend(
    ctx: OrderContext, rule_id: str, variant: str, draft: DraftOrder, values: dict[str, Any], actions: Sequence[Any]
) -> Recommendation:
    spec = RULE_SPECS[rule_id]
    full = {
        "draft": draft.label,
        "drug": draft.drug or draft.display,
        "drug_display": draft.display,
        "product": draft.product,
        "oncology": draft.oncology,
        "recognised_by_name": draft.matched_by_name,
        **values,
        "unchecked_domains": ctx.a.unchecked(spec.domains),
    }
    return Recommendation(rule_id, spec.variants[variant].indicator, variant, full, tuple(actions), spec.evidence)


def _remove(draft: DraftOrder) -> tuple[SuggestedAction, ...]:
    if draft.reference is None:
        return ()
    return (SuggestedAction(ActionKind.REMOVE_DRAFT, {"draft": draft.reference, "drug": draft.drug or draft.display}),)


def _replacing(kind: ActionKind, draft: DraftOrder, **params: Any) -> SuggestedAction:
    """`kind`'s draft instead of this one: the suggestion creates it and deletes the draft."""
    if draft.reference is not None:
        params = {**params, "replaces": draft.reference, "replaced_drug": draft.drug or draft.display}
    return SuggestedAction(kind, params)


def _is_bisphosphonate(d: DraftOrder) -> bool:
    return d.drug_class in BISPHOSPHONATE_CLASSES


# --- the rules, one draft at a time ---------------------------------------------------------------------------------


def ord01(ctx: OrderContext, draft: DraftOrder) -> Recommendation | None:
    th = THRESHOLDS
    if not _is_bisphosphonate(draft) or draft.ends_drug:
        return None  # a stop is not a dose: the dose checks do not apply to it
    if ctx.egfr is None or ctx.egfr.value >= th.egfr_bisphosphonate_min:
        return None
    below_30 = ctx.egfr.value < th.egfr_advanced_ckd_below
    actions: list[SuggestedAction] = []
    gaps: list[str] = []
    if below_30:
        alternative = "referral"
        actions.append(
            _replacing(
                ActionKind.REFERRAL, draft, specialty="nephrology or a bone specialist", reason="CKD-MBD evaluation"
            )
        )
    else:
        if ctx.calcium_30d is None:
            gaps.append("calcium-not-checked")
        elif ctx.calcium_30d.below_lln:
            gaps.append("calcium-low")
        if ctx.vitamin_d is None:
            gaps.append("vitamin-d-undocumented")
        elif ctx.vitamin_d.value < th.vitd_deficient_below:
            gaps.append("vitamin-d-low")
        alternative = "none" if gaps else "denosumab"
        if not gaps:
            actions.append(_replacing(ActionKind.DRAFT_DENOSUMAB, draft))
    values = {
        "egfr_value": ctx.egfr.value,
        "egfr_date": ctx.egfr.effective,
        "egfr_below_30": below_30,
        "alternative": alternative,
        "denosumab_gaps": tuple(gaps),
    }
    return _recommend(ctx, "ORD-01", "egfr-below-35", draft, values, [*actions, *_remove(draft)])


def ord02(ctx: OrderContext, draft: DraftOrder) -> Recommendation | None:
    if not _is_bisphosphonate(draft) or draft.ends_drug or ctx.egfr is not None:
        return None
    return _recommend(
        ctx, "ORD-02", "no-egfr", draft, {}, [SuggestedAction(ActionKind.ORDER_LABS, {"labs": ("eGFR",)})]
    )


def _supplements(ctx: OrderContext) -> tuple[list[SuggestedAction], tuple[str, ...]]:
    """Calcium and vitamin D drafts the patient is not already taking (only when the medication list is known)."""
    a = ctx.a
    if "medications" in a.incomplete_domains:
        return [], ()
    actions: list[SuggestedAction] = []
    drafted: list[str] = []
    if not a.therapy.on_calcium and a.age is not None:
        mg, _ = calcium_target(a.facts.sex, a.age)
        actions.append(SuggestedAction(ActionKind.DRAFT_CALCIUM, {"mg_per_day": mg}))
        drafted.append("calcium")
    if not a.therapy.on_vitamin_d:
        actions.append(SuggestedAction(ActionKind.DRAFT_VITAMIN_D, {"iu_per_day": _vitamin_d_iu(a)}))
        drafted.append("vitamin-d")
    return actions, tuple(drafted)


def _vitamin_d_iu(a: Assessment) -> int:
    th = THRESHOLDS
    if a.age is not None and a.age < th.adult_age:
        return th.vitamin_d_iu_under50
    return th.vitamin_d_iu_adult50_low_level


def ord03(ctx: OrderContext, draft: DraftOrder) -> Recommendation | None:
    calcium = ctx.calcium_30d
    if draft.drug_class not in _CALCIUM_GATED or draft.ends_drug or calcium is None or not calcium.below_lln:
        return None
    supplements, drafted = _supplements(ctx)
    labs = () if ctx.vitamin_d is not None else ("25-OH D",)
    lab_actions = [SuggestedAction(ActionKind.ORDER_LABS, {"labs": labs})] if labs else []
    values = {
        "corrected_calcium": calcium.value,
        "calcium_lln": calcium.lln,
        "calcium_date": calcium.effective,
        "vitamin_d_value": ctx.vitamin_d.value if ctx.vitamin_d else None,
        "supplements_drafted": drafted,
        "labs_drafted": labs,
    }
    return _recommend(ctx, "ORD-03", "low-calcium", draft, values, [*_remove(draft), *supplements, *lab_actions])


def ord04(ctx: OrderContext, draft: DraftOrder) -> Recommendation | None:
    th = THRESHOLDS
    if draft.drug_class not in _CALCIUM_GATED or draft.ends_drug:
        return None
    if ctx.calcium_30d is not None and ctx.calcium_30d.below_lln:
        return None  # ORD-03 says it, with the calcium value
    calcium_checked = ctx.calcium_30d is not None
    vitd = ctx.vitamin_d
    vitd_low_or_missing = vitd is None or vitd.value < th.vitd_deficient_below
    if calcium_checked and not vitd_low_or_missing:
        return None
    labs: tuple[str, ...] = ()
    if not calcium_checked:
        labs += ("Ca", "albumin")
    if vitd is None:
        labs += ("25-OH D",)
    actions = [SuggestedAction(ActionKind.ORDER_LABS, {"labs": labs})] if labs else []
    vitd_drafted = False
    deficient = vitd is not None and vitd.value < th.vitd_deficient_below
    if deficient and "medications" not in ctx.a.incomplete_domains and not ctx.a.therapy.on_vitamin_d:
        actions.append(SuggestedAction(ActionKind.DRAFT_VITAMIN_D, {"iu_per_day": _vitamin_d_iu(ctx.a)}))
        vitd_drafted = True
    values = {
        "calcium_checked_30d": calcium_checked,
        "vitamin_d_value": vitd.value if vitd else None,
        "vitamin_d_date": vitd.effective if vitd else None,
        "labs_drafted": labs,
        "vitamin_d_drafted": vitd_drafted,
    }
    # Both conditions: the warning (an undocumented or low 25-OH D gates the drug, §7.8) carries both.
    variant = "vitamin-d" if vitd_low_or_missing else "calcium-not-checked"
    return _recommend(ctx, "ORD-04", variant, draft, values, actions)


def ord05(ctx: OrderContext, draft: DraftOrder) -> Recommendation | None:
    if draft.drug_class != DrugClass.DENOSUMAB or draft.ends_drug or ctx.egfr is None:
        return None
    if ctx.egfr.value >= THRESHOLDS.egfr_advanced_ckd_below:
        return None
    values = {"egfr_value": ctx.egfr.value, "egfr_date": ctx.egfr.effective}
    referral = SuggestedAction(
        ActionKind.REFERRAL, {"specialty": "nephrology or a bone specialist", "reason": "CKD-MBD evaluation"}
    )
    return _recommend(ctx, "ORD-05", "advanced-ckd", draft, values, [referral])


def ord06(ctx: OrderContext, draft: DraftOrder) -> Recommendation | None:
    if draft.drug_class != DrugClass.DENOSUMAB or draft.ends_drug:
        return None
    ever = any(e.drug_class == DrugClass.DENOSUMAB for e in ctx.a.facts.medications)
    if ever:
        return None  # a continuing course, not a new start
    return _recommend(ctx, "ORD-06", "new-start", draft, {}, [])


def _follow_on_planned(ctx: OrderContext, draft: DraftOrder) -> bool:
    """C-06 follow-on in the Bundle (another draft of a bisphosphonate) or on file (given, or ordered)."""
    if any(_is_bisphosphonate(d) and not d.ends_drug for d in ctx.others(draft)):
        return True
    therapy = ctx.a.therapy
    if therapy.denosumab.follow_on:
        return True
    return any(e.drug_class in BISPHOSPHONATE_CLASSES for e in therapy.ordered)


def ord07(ctx: OrderContext, draft: DraftOrder) -> Recommendation | None:
    th = THRESHOLDS
    if draft.drug_class != DrugClass.DENOSUMAB or not draft.ends_drug or _follow_on_planned(ctx, draft):
        return None
    last = ctx.a.therapy.denosumab.last_dose
    transition = add_months(last, th.denosumab_due_months) if last else None
    gaps: list[str] = []
    if ctx.egfr is None:
        gaps.append("egfr-unknown")
    elif ctx.egfr.value < th.egfr_bisphosphonate_min:
        gaps.append("egfr-below-35")
    if ctx.calcium_12m is not None and ctx.calcium_12m.below_lln:
        gaps.append("calcium-low")
    if not ctx.vitamin_d_ok:
        gaps.append("vitamin-d-low-or-undocumented")
    params: dict[str, Any] = {"start": transition.isoformat()} if transition and transition > ctx.today else {}
    actions: list[SuggestedAction] = []
    if gaps:
        alternative = "none"
        actions.append(
            SuggestedAction(ActionKind.REFERRAL, {"specialty": "a bone specialist", "reason": "denosumab transition"})
        )
    elif ctx.calcium_normal_30d:
        alternative = "zoledronic-acid"
        actions.append(SuggestedAction(ActionKind.DRAFT_ZOLEDRONIC_ACID, params))
    else:
        alternative = "alendronate"
        actions.append(SuggestedAction(ActionKind.DRAFT_ALENDRONATE, params))
    values = {
        "status": draft.sent_status or "not stated",
        "last_dose": last,
        "transition_date": transition,
        "alternative": alternative,
        "alternative_gaps": tuple(gaps),
    }
    return _recommend(ctx, "ORD-07", "no-follow-on", draft, values, actions)


def _with_draft(facts: PatientFacts, draft: DraftOrder, today: date) -> tuple[MedicationExposure, ...]:
    planned = MedicationExposure(
        drug_class=DrugClass.GLUCOCORTICOID,
        drug=draft.drug or "glucocorticoid",
        status=MedicationStatus.PLANNED,
        source=MedicationSource.REQUEST,
        record=draft.reference or "draft",
        display=draft.display,
        start=draft.start if draft.start and draft.start >= today else today,
        route=draft.route or "oral",
        prednisone_eq_mg_per_day=draft.prednisone_eq_mg_per_day,
        planned_days=draft.planned_days,
    )
    return (*facts.medications, planned)


def ord08(ctx: OrderContext, draft: DraftOrder) -> Recommendation | None:
    th = THRESHOLDS
    a = ctx.a
    dose = draft.prednisone_eq_mg_per_day
    if draft.drug_class != DrugClass.GLUCOCORTICOID or draft.ends_drug or dose is None or dose < th.gc_min_dose_mg:
        return None
    if a.age is None or a.age < th.min_age_in_scope or a.therapy.on_therapy:
        return None
    if any(d.drug_class in OSTEOPOROSIS_CLASSES and not d.ends_drug for d in ctx.others(draft)):
        return None  # bone protection is being ordered with it
    exposure = assess_glucocorticoids(_with_draft(a.facts, draft, ctx.today), ctx.today)
    if not exposure.qualifies:
        return None
    actions, drafted_supplements = _supplements(ctx)
    drafted = list(drafted_supplements)
    with_vfa = a.age >= th.frax_min_age
    if dxa_allowed(a) and "dxa" not in a.incomplete_domains:  # §7.9: never a DXA within 12 months of the last
        actions.append(SuggestedAction(ActionKind.ORDER_DXA, {"with_vfa": with_vfa}))
        drafted.append("dxa")
    values = {
        "dose_mg": dose,
        "planned_days": draft.planned_days,
        "exposure_days": exposure.gc_days,
        "frax_adjusted": dose > th.gc_frax_adjust_above_mg,
        "with_vfa": with_vfa,
        "dxa_date": a.dxa.last_study_date,
        "drafted": tuple(drafted),
        # §7.18: never "not on osteoporosis medication" while an entry naming such a drug could not be read.
        "therapy_unclear": "medications" in a.incomplete_domains
        or any(i.topic in OSTEOPOROSIS_CLASSES for i in a.facts.data_issues),
    }
    return _recommend(ctx, "ORD-08", "long-term-glucocorticoid", draft, values, actions)


def _transition_exempt(draft: DraftOrder, other_class: DrugClass, ctx: OrderContext) -> bool:
    """ORD-09 exemptions: a bisphosphonate while denosumab is current or within 7 months of its last dose (the
    planned transition); an antiresorptive after a completed anabolic course (sequential therapy)."""
    if _is_bisphosphonate(draft) and other_class == DrugClass.DENOSUMAB:
        return True
    if draft.drug_class in ANTIRESORPTIVE_CLASSES and other_class == DrugClass.ANABOLIC:
        anabolic = [e for e in ctx.a.facts.medications if e.drug_class == DrugClass.ANABOLIC]
        return bool(anabolic) and all(e.status == MedicationStatus.COMPLETED for e in anabolic)
    return False


def ord09(ctx: OrderContext, draft: DraftOrder) -> Recommendation | None:
    if draft.drug_class not in OSTEOPOROSIS_CLASSES or draft.ends_drug:
        return None
    other: tuple[str, str] | None = None
    for agent in ctx.a.therapy.current:
        if agent.drug != draft.drug and not _transition_exempt(draft, agent.drug_class, ctx):
            other = (agent.drug, "current")
            break
    if other is None:
        # Two new bone drugs in one session: the card is on the later draft (the earlier one stays "the plan").
        earlier = ctx.drafts[: ctx.drafts.index(draft)]
        for d in earlier:
            if (
                d.drug_class in OSTEOPOROSIS_CLASSES
                and d.kind is DraftKind.MEDICATION
                and not d.ends_drug
                and d.drug != draft.drug
                and d.drug_class is not None
                and not _transition_exempt(draft, d.drug_class, ctx)
            ):
                other = (d.drug or d.display, "drafted")
                break
    if other is None:
        return None
    values = {"other_drug": other[0], "other_source": other[1]}
    return _recommend(ctx, "ORD-09", "two-bone-drugs", draft, values, _remove(draft))


def ord10(ctx: OrderContext, draft: DraftOrder) -> Recommendation | None:
    last = ctx.a.therapy.last_zoledronic
    if draft.drug_class != DrugClass.ZOLEDRONIC_ACID or draft.ends_drug or last is None:
        return None
    months = months_between(last, ctx.today)
    if months >= THRESHOLDS.zoledronic_interval_months:
        return None
    values = {"last_infusion": last, "months_since": months}
    return _recommend(ctx, "ORD-10", "within-12-months", draft, values, _remove(draft))


def ord11(ctx: OrderContext, draft: DraftOrder) -> Recommendation | None:
    if draft.drug_class != DrugClass.BISPHOSPHONATE_ORAL or draft.ends_drug:
        return None
    condition = ctx.a.has_concept(ConditionConcept.ESOPHAGEAL_DISORDER)
    calcium = ctx.calcium_12m
    low_calcium = calcium is not None and calcium.below_lln
    if condition is None and not low_calcium:
        return None
    offer_zoledronic = (
        not low_calcium and ctx.egfr_ok_for_bisphosphonate and ctx.calcium_normal_30d and ctx.vitamin_d_ok
    )
    actions = [_replacing(ActionKind.DRAFT_ZOLEDRONIC_ACID, draft)] if offer_zoledronic else []
    values = {
        "contraindication": condition.display if condition else None,
        "corrected_calcium": calcium.value if low_calcium and calcium else None,
        "calcium_lln": calcium.lln if low_calcium and calcium else None,
        "calcium_date": calcium.effective if low_calcium and calcium else None,
        "zoledronic_offered": offer_zoledronic,
    }
    variant = "low-calcium" if low_calcium else "esophageal"
    return _recommend(ctx, "ORD-11", variant, draft, values, [*actions, *_remove(draft)])


OrderRule = Callable[[OrderContext, DraftOrder], Recommendation | None]
ORDER_RULES: tuple[tuple[str, OrderRule], ...] = (
    ("ORD-01", ord01),
    ("ORD-02", ord02),
    ("ORD-03", ord03),
    ("ORD-04", ord04),
    ("ORD-05", ord05),
    ("ORD-07", ord07),
    ("ORD-08", ord08),
    ("ORD-09", ord09),
    ("ORD-10", ord10),
    ("ORD-11", ord11),
)


def _unreadable(ctx: OrderContext, draft: DraftOrder) -> Recommendation:
    return _recommend(ctx, "ORD-00", "unreadable", draft, {"problem": draft.problem or "it could not be read"}, [])


def _without_drafts(facts: PatientFacts, drafts: Sequence[DraftOrder]) -> PatientFacts:
    """The chart as it stands: a draft the client also stored (and prefetch returned) is the order, not history."""
    references = {d.reference for d in drafts if d.reference}
    if not any(m.record in references for m in facts.medications):
        return facts
    return dataclasses.replace(facts, medications=tuple(m for m in facts.medications if m.record not in references))


def evaluate_orders(facts: PatientFacts, drafts: Sequence[DraftOrder], now: date | datetime) -> list[Recommendation]:
    """Order cards for the drafts the hook asks about (order-select: the selected ones; order-sign: all)."""
    today = as_date(now)
    drafts = tuple(drafts)
    a = assess(_without_drafts(facts, drafts), today)
    labs = a.labs
    ctx = OrderContext(
        a=a,
        drafts=drafts,
        egfr=labs.latest(Analyte.EGFR, today),
        calcium_30d=labs.corrected_calcium(today, THRESHOLDS.calcium_predose_window_days),
        calcium_12m=labs.corrected_calcium(today),
        vitamin_d=labs.latest(Analyte.VITAMIN_D_25OH, today),
    )
    recommendations: list[Recommendation] = []
    for draft in drafts:
        if not draft.selected:
            continue
        if draft.kind is DraftKind.UNREADABLE:
            recommendations.append(_unreadable(ctx, draft))
            continue
        if draft.kind is not DraftKind.MEDICATION:
            continue
        cards = [rec for _, rule in ORDER_RULES if (rec := rule(ctx, draft)) is not None]
        if any(c.rule_id == "ORD-01" for c in cards):  # the drug is not recommended at all: no lab work-up for it
            cards = [c for c in cards if c.rule_id != "ORD-04"]
        if not cards and not draft.ends_drug and (rec := ord06(ctx, draft)) is not None:
            cards.append(rec)
        recommendations.extend(cards)
    return recommendations

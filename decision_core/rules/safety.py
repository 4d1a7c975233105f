"""SAFE-01 (denosumab lapse), SAFE-02 (bisphosphonate with eGFR < 35), SAFE-03 (Ca / CKD before a dose)."""

from __future__ import annotations

from datetime import date

from ..assessment import Assessment
from ..dates import add_months
from ..facts import Analyte, DrugClass
from ..recommendation import Recommendation
from ..therapy import BISPHOSPHONATE_CLASSES
from ..thresholds import THRESHOLDS
from .common import missing_labs, order_labs, recommend

ONCOLOGY_PRODUCTS = frozenset({"Xgeva", "Zometa"})  # fhir_mappings/drugs/codes/ingredients.yaml, oncology: true


def oncology_product(a: Assessment, drug: str | None) -> str | None:
    """The oncology product (Xgeva, Zometa) `drug` is listed as: the same class for the safety rules, but the card
    names the product (decision table §1.1 rev 2)."""
    listed = [e for e in a.facts.medications if e.drug == drug and e.oncology and e.product in ONCOLOGY_PRODUCTS]
    latest = max(listed, key=lambda e: (e.start or date.min, e.record), default=None)
    return latest.product if latest is not None else None


def safe01(a: Assessment) -> Recommendation | None:
    """Never advises stopping denosumab; a lapse is never treated as harmless (§7.6)."""
    th = THRESHOLDS
    d = a.therapy.denosumab
    if d.last_dose is None or d.due is None or d.follow_on:
        return None
    egfr = a.labs.latest(Analyte.EGFR, a.today)
    calcium = a.labs.corrected_calcium(a.today, days=th.calcium_predose_window_days)
    # rev 2: a bisphosphonate ordered but not given is not a follow-on (the indicator stays), but the card names it.
    planned = next((e for e in a.therapy.ordered if e.drug_class in BISPHOSPHONATE_CLASSES), None)
    values = {
        "last_dose": d.last_dose,
        "due_date": d.due,
        "months_since_last_dose": d.months_since_last_dose,
        "egfr_value": egfr.value if egfr else None,
        "egfr_date": egfr.effective if egfr else None,
        "egfr_below_35": (egfr.value < th.egfr_bisphosphonate_min) if egfr else None,
        "oncology_product": oncology_product(a, "denosumab"),
        # rev 2: with SAFE-03's critical low calcium nothing is "now": correct calcium first (§7.7).
        "correct_calcium_first": calcium is not None and calcium.below_lln,
        "planned_follow_on": planned.drug if planned else None,
        "planned_follow_on_date": planned.start if planned else None,
    }
    if a.today > add_months(d.last_dose, th.denosumab_current_months):
        return recommend(a, "SAFE-01", "overdue-critical", values)
    if a.today > d.due:
        return recommend(a, "SAFE-01", "overdue-warning", values)
    if d.marked_stopped:
        return recommend(a, "SAFE-01", "stopped", values)
    return None


def safe02(a: Assessment) -> Recommendation | None:
    th = THRESHOLDS
    current = a.therapy.current_bisphosphonate
    drug = current.drug if current else None
    if drug is None:
        # An ordered (not yet given) bisphosphonate is checked too: warn before the first dose.
        ordered = next((e for e in a.therapy.ordered if e.drug_class in BISPHOSPHONATE_CLASSES), None)
        drug = ordered.drug if ordered else None
    if drug is None:
        return None
    egfr = a.labs.latest(Analyte.EGFR, a.today)
    if egfr is None or egfr.value >= th.egfr_bisphosphonate_min:
        return None
    values = {
        "drug": drug,
        "egfr_value": egfr.value,
        "egfr_date": egfr.effective,
        "egfr_below_30": egfr.value < th.egfr_advanced_ckd_below,
        "oncology_product": oncology_product(a, drug),
    }
    return recommend(a, "SAFE-02", "bisphosphonate-low-egfr", values)


def _safe03_trigger(a: Assessment) -> tuple[str, str, date | None] | None:
    """(drug, trigger, due date): denosumab due within 30 days or overdue, or an order not yet given."""
    th = THRESHOLDS
    d = a.therapy.denosumab
    due_soon = d.last_dose is not None and a.today >= add_months(d.last_dose, th.denosumab_due_soon_months)
    if due_soon and not d.follow_on:
        return "denosumab", "dose-due", d.due
    for drug_class, name in (
        (DrugClass.DENOSUMAB, "denosumab"),
        (DrugClass.ZOLEDRONIC_ACID, "zoledronic acid"),
    ):
        order = next((e for e in a.therapy.ordered if e.drug_class == drug_class), None)
        if order is not None:
            due = order.start if order.start is not None and order.start >= a.today else None
            return name, "ordered", due
    return None


def safe03(a: Assessment) -> Recommendation | None:
    th = THRESHOLDS
    found = _safe03_trigger(a)
    if found is None:
        return None
    drug, trigger, due = found
    calcium = a.labs.corrected_calcium(a.today, days=th.calcium_predose_window_days)
    egfr = a.labs.latest(Analyte.EGFR, a.today)
    vitd = a.labs.latest(Analyte.VITAMIN_D_25OH, a.today)
    egfr_below_30 = egfr is not None and egfr.value < th.egfr_advanced_ckd_below
    values = {
        "drug": drug,
        "trigger": trigger,
        "due_date": due,
        "corrected_calcium": calcium.value if calcium else None,
        "calcium_lln": calcium.lln if calcium else None,
        "calcium_date": calcium.effective if calcium else None,
        "egfr_value": egfr.value if egfr else None,
        "egfr_date": egfr.effective if egfr else None,
        "egfr_below_30": egfr_below_30,
        "calcium_checked_30d": calcium is not None,
        "dose_overdue": due is not None and due < a.today,
        "vitamin_d_value": vitd.value if vitd else None,
        "oncology_product": oncology_product(a, drug),
    }
    if calcium is not None and calcium.below_lln:
        return recommend(a, "SAFE-03", "low-calcium", values)
    # The boxed warning is denosumab's; for zoledronic acid with eGFR < 30, SAFE-02 speaks.
    if egfr_below_30 and drug == "denosumab":
        actions = () if calcium is not None else order_labs(("Ca", "albumin"))
        return recommend(a, "SAFE-03", "advanced-ckd", values, actions)
    if calcium is None:
        labs = ("Ca", "albumin", *missing_labs(a, (Analyte.VITAMIN_D_25OH,)))
        return recommend(a, "SAFE-03", "calcium-not-checked", values, order_labs(labs))
    return None

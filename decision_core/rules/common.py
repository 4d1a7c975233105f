"""Helpers shared by the card rules."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..assessment import Assessment
from ..facts import Analyte
from ..lab_assessment import ANALYTE_NAMES, LabValue
from ..recommendation import ActionKind, Recommendation, SuggestedAction
from ..specs import RULE_SPECS
from ..thresholds import THRESHOLDS

Rule = Callable[[Assessment], Recommendation | None]


def recommend(
    a: Assessment,
    rule_id: str,
    variant: str,
    values: dict[str, Any],
    actions: Iterable[SuggestedAction] = (),
) -> Recommendation:
    """Build a Recommendation whose indicator and evidence come from RULE_SPECS (one place)."""
    spec = RULE_SPECS[rule_id]
    full = {**values, "unchecked_domains": a.unchecked(spec.domains)}
    if "medications" in spec.domains:
        full["drugs_recognised_by_name"] = tuple(
            dict.fromkeys(e.display for e in a.facts.medications if e.matched_by_text)
        )
    return Recommendation(
        rule_id=rule_id,
        indicator=spec.variants[variant].indicator,
        variant=variant,
        values=full,
        actions=tuple(actions),
        evidence=spec.evidence,
    )


def dxa_allowed(a: Assessment) -> bool:
    """Hard floor (§7.9): never suggest a DXA < 12 months after the previous one, valid or not."""
    return not a.dxa.last_study_within(a.today, THRESHOLDS.dxa_min_interval_months)


def order_dxa(a: Assessment, **params: Any) -> tuple[SuggestedAction, ...]:
    if not dxa_allowed(a):
        return ()
    return (SuggestedAction(ActionKind.ORDER_DXA, dict(params)),)


def labs_unavailable(a: Assessment) -> bool:
    return "labs" in a.facts.unavailable


def missing_labs(a: Assessment, analytes: Iterable[Analyte]) -> tuple[str, ...]:
    """Short names of analytes with no interpretable result within 12 months."""
    window = THRESHOLDS.lab_window_months
    return tuple(ANALYTE_NAMES[x] for x in analytes if not a.labs.has_within(x, a.today, window))


def order_labs(names: tuple[str, ...]) -> tuple[SuggestedAction, ...]:
    if not names:
        return ()
    return (SuggestedAction(ActionKind.ORDER_LABS, {"labs": names}),)


def lab_value(v: LabValue | None) -> tuple[Any, Any]:
    return (v.value, v.effective) if v is not None else (None, None)


def dxa_values(a: Assessment) -> dict[str, Any]:
    lowest = a.dxa.lowest_t
    study = a.dxa.latest_with_t
    return {
        "lowest_t": lowest.value if lowest else None,
        "lowest_t_site": lowest.label if lowest else None,
        "dxa_date": study.date if study else None,
    }


def frax_values(a: Assessment) -> dict[str, Any]:
    reading = a.frax.valid
    if reading is None:
        return {
            "frax_mof": None,
            "frax_hip": None,
            "frax_mof_raw": None,
            "frax_hip_raw": None,
            "frax_date": None,
            "frax_adjustment": None,
        }
    return reading.as_values()

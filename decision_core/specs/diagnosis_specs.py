"""The contract of the diagnosis rules (DX-01, DX-02; logic in decision_core.rules.diagnosis)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal, TypedDict

from ..recommendation import ActionKind
from ..rule_spec import Key, RuleSpec, VariantSpec
from .common_specs import LOWEST_T, I, W, patient_view_spec


class SiteValue(TypedDict):
    """A valid diagnostic DXA value of the study used."""

    kind: str  # "T" or "Z"
    site: str  # site label, e.g. "left femoral neck"
    value: Decimal
    date: date


class ExcludedSiteValue(TypedDict):
    """A DXA value not used for the diagnosis (C-03), and why."""

    kind: str
    site: str
    value: Decimal
    reason: str


_DXA_SITES = {
    "valid_sites": Key(tuple[SiteValue, ...], "every valid diagnostic value of the study used"),
    "excluded_sites": Key(tuple[ExcludedSiteValue, ...], "values not used and why (C-03)"),
}

DIAGNOSIS_SPECS: tuple[RuleSpec, ...] = (
    patient_view_spec(
        "DX-01",
        {
            "osteoporosis-clinical": VariantSpec(
                I, ("fracture_site", "fracture_group", "fracture_date", "fracture_presumed")
            ),
            "osteoporosis-persistent": VariantSpec(I, ("historical_t", "historical_t_site", "historical_dxa_date")),
            "osteoporosis-dxa": VariantSpec(I),
            "low-bone-mass": VariantSpec(I),
            "normal": VariantSpec(I),
        },
        {
            "category": Key(Literal["normal", "low-bone-mass", "osteoporosis"]),
            **LOWEST_T,
            **_DXA_SITES,
            "dxa_age_months": Key(int | None, "whole months since the latest DXA"),
            "dxa_stale": Key(bool, "latest DXA older than 24 months: the category is historical (DATA-02)"),
            "menopause_assumed": Key(bool, "female >=50 with no documented menopause status, assumed postmenopausal"),
            "sex": Key(
                Literal["female", "male", "other", "unknown"], "the detail says the same cut-offs apply to men >=50"
            ),
        },
        ("ISCD", "AACE20", "BHOF22", "GOURLAY12", "S000", "S001", "S002", "S003", "S004"),
        (),
        ("dxa", "conditions", "procedures"),
        variant_keys={
            "fracture_site": Key(Literal["hip", "vertebral", "distal-forearm", "proximal-humerus", "pelvis"]),
            "fracture_group": Key(Literal["hip", "vertebral", "other-major"]),
            "fracture_date": Key(date | None, "onset (None: date not recorded)"),
            "fracture_presumed": Key(bool, "fragility presumed (hip/vertebral, no mechanism recorded): say so"),
            "historical_t": Key(Decimal, "the earlier lowest T-score <= -2.5"),
            "historical_t_site": Key(str, "its site"),
            "historical_dxa_date": Key(date, "its DXA date"),
        },
    ),
    patient_view_spec(
        "DX-02",
        {
            "low-for-age": VariantSpec(W),
            "within-range": VariantSpec(I),
            "no-z-scores": VariantSpec(I),
        },
        {
            "lowest_z": Key(Decimal | None, "lowest valid-site Z-score (None in no-z-scores)"),
            "lowest_z_site": Key(str | None, "its site label"),
            "dxa_date": Key(date, "date of the DXA study used"),
            **_DXA_SITES,
            "fragility_fracture": Key(bool, "a fragility fracture (C-05) is recorded"),
            "referral_suggested": Key(bool, "Z <= -2.0 or fragility fracture: bone specialist referral drafted"),
            "age": Key(int, "years"),
        },
        ("ISCD", "S001"),
        (ActionKind.REFERRAL,),
        ("dxa", "conditions"),
    ),
)

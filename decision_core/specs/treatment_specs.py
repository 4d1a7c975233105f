"""The contract of the treatment rules (TX-01 ... TX-04; logic in decision_core.rules.treatment)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Literal, TypedDict

from ..recommendation import ActionKind
from ..rule_spec import Key, RuleSpec, VariantSpec
from ..value_types import reasons
from .common_specs import EGFR, LOWEST_T, DxaIntervalReason, FraxAdjustmentCode, I, W, patient_view_spec

# Coded reasons (the card words each code, cards/rules/<RULE>.yaml `reasons:`).
FractureSiteCode = Literal["hip", "vertebral", "distal-forearm", "proximal-humerus", "pelvis", "other"]


class FractureReason(TypedDict):
    code: Literal["hip-vertebral-fracture", "other-major-fracture"]
    site: FractureSiteCode
    onset: date | None


class TScoreReason(TypedDict):
    code: Literal["osteoporosis-dxa"]
    t_score: Decimal
    site: str  # site label


class HistoricalTScoreReason(TypedDict):
    code: Literal["osteoporosis-historical"]
    t_score: Decimal
    site: str
    dxa_date: date


class FraxReason(TypedDict):
    code: Literal["frax"]
    measure: Literal["mof", "hip"]
    percent: Decimal  # after C-08 adjustment
    threshold: Decimal  # the treatment threshold met (%)


class VeryHighFractureReason(TypedDict):
    code: Literal["fracture-on-therapy", "recent-fracture"]
    site: FractureSiteCode
    onset: date | None


class FractureCountReason(TypedDict):
    code: Literal["multiple-fractures"]
    count: int


class VeryLowTScoreReason(TypedDict):
    code: Literal["very-low-t"]
    t_score: Decimal
    site: str


class VeryHighFraxReason(TypedDict):
    code: Literal["frax-very-high"]
    measure: Literal["mof", "hip"]
    percent: Decimal
    threshold: Decimal  # the very-high threshold exceeded (%)


class GlucocorticoidDoseReason(TypedDict):
    code: Literal["glucocorticoid-high-dose"]
    dose_mg: Decimal  # prednisone-equivalent mg/day


class InjuriousFallReason(TypedDict):
    code: Literal["injurious-fall"]
    onset: date


Tx01Reason = FractureReason | TScoreReason | HistoricalTScoreReason | FraxReason
Tx02Reason = (
    VeryHighFractureReason
    | FractureCountReason
    | VeryLowTScoreReason
    | VeryHighFraxReason
    | GlucocorticoidDoseReason
    | InjuriousFallReason
)

_FRAX = {
    "frax_mof": Key(Decimal | None, "FRAX MOF % used (after C-08 adjustment)"),
    "frax_hip": Key(Decimal | None, "FRAX hip % used (after C-08 adjustment)"),
    "frax_mof_raw": Key(Decimal | None, "FRAX MOF % as recorded"),
    "frax_hip_raw": Key(Decimal | None, "FRAX hip % as recorded"),
    "frax_date": Key(date | None, "FRAX date"),
    "frax_adjustment": Key(FraxAdjustmentCode | None),
}

TREATMENT_SPECS: tuple[RuleSpec, ...] = (
    patient_view_spec(
        "TX-01",
        {
            "hip-vertebral-fracture": VariantSpec(W),
            "osteoporosis-dxa": VariantSpec(W),
            "osteoporosis-historical": VariantSpec(W),
            "other-major-fracture": VariantSpec(W),
            "frax": VariantSpec(W),
        },
        {
            "reasons": Key(reasons(Tx01Reason), "every criterion met, first = variant (the card words them)"),
            "frax_below_threshold_ignored": Key(
                bool, "(a)-(c) apply and a FRAX below threshold is on file, which does not override the indication"
            ),
            **_FRAX,
            **EGFR,
            "vitamin_d_value": Key(Decimal | None, "latest 25(OH)D within 12 months, ng/mL"),
            "vitamin_d_date": Key(date | None),
            "corrected_calcium": Key(Decimal | None, "latest corrected Ca within 12 months, mg/dL"),
            "calcium_lln": Key(Decimal | None, "lower limit used, mg/dL"),
            "calcium_date": Key(date | None),
            "gates": Key(
                Mapping[str, str],
                "egfr/vitamin_d/calcium: ok|low|missing; contraindication: none|recorded|not-checked; spinal_surgery: "
                "none|planned-with-osteoporosis; medications: checked|not-checked|unreadable-entry; lab_results: "
                "checked|not-checked",
            ),
            "missing_gates": Key(tuple[str, ...], "gate names that are not 'ok'/'none'/'checked'"),
            "alendronate_draft": Key(bool, "a draft alendronate 70 mg weekly is attached"),
            "denosumab_alternative": Key(bool, "eGFR <35: the detail names denosumab as the second-line choice"),
            "denosumab_caveats": Key(
                tuple[str, ...],
                "always with the alternative: calcium-check-first, plus correct-hypocalcemia-first (Ca < LLN) and "
                "boxed-warning-ckd-mbd-specialist (eGFR <30)",
            ),
            "dxa_stale": Key(bool, "osteoporosis on a DXA >24 months old: treat now, new DXA must not delay treatment"),
            "sex": Key(str, "men: same criteria"),
            "unreadable_drug": Key(
                str | None,
                "drug class (facts.DrugClass) of a medication entry that names an osteoporosis drug but could not be "
                "read: the card says so instead of 'not on osteoporosis medication', and offers no draft (§7.18)",
            ),
        },
        ("BHOF22", "NOF14", "ACP23", "AACE20", "ES19", "ES12M", "LBL", "S000", "S001", "S002", "S003", "S004"),
        (ActionKind.ORDER_LABS, ActionKind.DRAFT_ALENDRONATE),
        ("dxa", "frax", "medications", "conditions", "labs", "procedures"),
    ),
    patient_view_spec(
        "TX-02",
        {
            "fracture-on-therapy": VariantSpec(W),
            "recent-fracture": VariantSpec(W),
            "multiple-fractures": VariantSpec(W),
            "very-low-t": VariantSpec(W),
            "frax-very-high": VariantSpec(W),
            "glucocorticoid-high-dose": VariantSpec(W),
            "injurious-fall": VariantSpec(W),
        },
        {
            "reasons": Key(reasons(Tx02Reason), "every criterion met, first = variant (the card words them)"),
            "on_therapy": Key(bool, "on current osteoporosis therapy (check adherence, 25(OH)D, secondary causes)"),
            "fracture_count": Key(int, "fragility fractures at >=50"),
            "lowest_t": Key(Decimal | None),
            "lowest_t_site": Key(str | None),
            "frax_mof": Key(Decimal | None, "adjusted"),
            "frax_hip": Key(Decimal | None, "adjusted"),
        },
        ("AACE20", "ACP23", "ES19", "ACR22", "S003"),
        (ActionKind.REFERRAL,),
        ("dxa", "frax", "medications", "conditions"),
    ),
    patient_view_spec(
        "TX-03",
        {
            "below-thresholds": VariantSpec(I),
        },
        {
            **_FRAX,
            **LOWEST_T,
            "next_dxa_date": Key(date, "last DXA + interval (never sooner than 12 months)"),
            "interval_months": Key(int, "12 or 24"),
            "interval_reasons": Key(tuple[DxaIntervalReason, ...], "why 12 months"),
            "acp_rec4_discussion": Key(bool, "female >=65 with lowest T <= -2.0: mention ACP23 rec 4 shared decision"),
            "sex": Key(str),
            "age": Key(int),
        },
        ("BHOF22", "ACP23", "ACP17", "GOURLAY12", "CW", "S004", "S001", "S002", "S003", "S000"),
        (),
        ("dxa", "frax", "medications", "conditions"),
    ),
    patient_view_spec(
        "TX-04",
        {
            "04a": VariantSpec(W),
            "04c": VariantSpec(I),
            "04b": VariantSpec(I),
        },
        {
            "procedure": Key(str, "display of the planned procedure"),
            "planned_date": Key(date | None, "None = date not recorded"),
            "basis": Key(Literal["osteoporosis-dxa", "fracture", "ct-hu"] | None, "04a only"),
            **LOWEST_T,
            "ct_hu": Key(Decimal | None, "latest CT attenuation within 12 months, HU"),
            "vitamin_d_value": Key(Decimal | None, "ng/mL within 12 months"),
            "vitamin_d_below_20": Key(bool, "predicts complications: replete"),
        },
        ("CNS21", "S003"),
        (ActionKind.ORDER_DXA, ActionKind.ORDER_LABS),
        ("procedures", "dxa", "labs", "conditions"),
    ),
)

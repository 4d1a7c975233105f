"""The output contract of every card rule, machine-checkable: variants, indicator per variant, value keys with
their declared types (decision_core.value_types), actions and evidence.

Every Recommendation the core emits has `values` whose keys are exactly `spec.keys` plus the variant's extra keys,
each conforming to its declared type, an indicator equal to its variant's indicator, actions whose kinds are in
`spec.action_kinds`, and the evidence of the spec (decision_core.conformance checks it). The card files in
cards/rules/ are checked against this table when they are loaded; RULES.md is generated from both.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import Literal, TypedDict

from .order_specs import ORDER_SPECS
from .recommendation import ActionKind, Indicator
from .rule_spec import Key, RuleSpec, VariantSpec
from .value_types import reasons


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


class AcrCriterion(TypedDict):
    code: Literal[
        "prior-fracture",
        "frax-very-high",
        "frax-high",
        "frax-moderate",
        "frax-needed",
        "no-dxa",
        "no-z-score",
        "no-dxa-no-frax",
        "no-criterion",
    ]


class AcrDoseCriterion(TypedDict):
    code: Literal["very-high-dose"]
    dose_mg: Decimal


class AcrTScoreCriterion(TypedDict):
    code: Literal["t-score"]
    t_score: Decimal
    site: str


class AcrZScoreCriterion(TypedDict):
    code: Literal["z-score-with-dose"]
    z_score: Decimal
    site: str


Tx01Reason = FractureReason | TScoreReason | HistoricalTScoreReason | FraxReason
Tx02Reason = (
    VeryHighFractureReason
    | FractureCountReason
    | VeryLowTScoreReason
    | VeryHighFraxReason
    | GlucocorticoidDoseReason
    | InjuriousFallReason
)
AcrBasis = AcrCriterion | AcrDoseCriterion | AcrTScoreCriterion | AcrZScoreCriterion


class IssueValue(TypedDict):
    """One DATA-03 item, as decision_core.data_issues.issue_value makes it."""

    item: str
    reason: str
    record: str | None
    affects: tuple[str, ...]


# Known values of coded keys.
DxaIntervalReason = Literal["t-at-or-below--2.0", "glucocorticoid", "aromatase-inhibitor-or-adt", "premature-menopause"]
LabContext = Literal["low-bone-mass", "osteoporosis", "clinical-osteoporosis", "z-low", "fragility-fracture"]
ContinuationCriterion = Literal[
    "hip-t-at-or-below--2.5", "prior-major-fracture", "fracture-on-therapy", "frax-at-threshold", "glucocorticoid"
]
HolidayCriterion = Literal["hip-t-at-or-below--2.5", "prior-major-fracture", "frax-at-threshold", "glucocorticoid"]
ScreeningReason = Literal[
    "female-65",
    "postmenopausal-risk-factor",
    "male-70",
    "male-50-69-risk-factor",
    "any-sex-70",
    "any-sex-50-risk-factor",
    "fragility-fracture",
    "glucocorticoid",
    "osteoporosis-drug",
]
ScreeningRiskFactor = Literal[
    "fracture-after-50", "glucocorticoid", "bmi-below-20", "parental-hip-fracture", "smoking", "alcohol-3-or-more"
]

UNCHECKED = {
    "unchecked_domains": Key(tuple[str, ...], "data domains this rule needs that could not be (fully) fetched")
}

# Every rule that reads the medication list: which of its entries were recognised by name only (§1.1 rev 2).
BY_NAME = {
    "drugs_recognised_by_name": Key(
        tuple[str, ...], "medication entries recognised by name, with no listed code (§1.1): the card says so"
    )
}

_DXA_SITES = {
    "valid_sites": Key(tuple[SiteValue, ...], "every valid diagnostic value of the study used"),
    "excluded_sites": Key(tuple[ExcludedSiteValue, ...], "values not used and why (C-03)"),
}
_LOWEST_T = {
    "lowest_t": Key(Decimal | None, "lowest valid-site T-score of the latest DXA"),
    "lowest_t_site": Key(str | None, "its site label, e.g. 'left femoral neck', 'lumbar spine L1-L2'"),
    "dxa_date": Key(date | None, "date of the latest diagnostic DXA study"),
}
_FRAX = {
    "frax_mof": Key(Decimal | None, "FRAX MOF % used (after C-08 adjustment)"),
    "frax_hip": Key(Decimal | None, "FRAX hip % used (after C-08 adjustment)"),
    "frax_mof_raw": Key(Decimal | None, "FRAX MOF % as recorded"),
    "frax_hip_raw": Key(Decimal | None, "FRAX hip % as recorded"),
    "frax_date": Key(date | None, "FRAX date"),
    "frax_adjustment": Key(
        Literal["applied", "not-applied-dose-at-or-below-7.5", "not-applied-gc-input-no", "none"] | None
    ),
}
_EGFR = {
    "egfr_value": Key(Decimal | None, "latest eGFR within 12 months, mL/min/1.73m2"),
    "egfr_date": Key(date | None, "its date"),
}


def _spec(
    rule_id: str,
    variants: dict[str, VariantSpec],
    keys: dict[str, Key],
    evidence: tuple[str, ...],
    actions: tuple[ActionKind, ...],
    domains: tuple[str, ...],
    variant_keys: dict[str, Key] | None = None,
) -> RuleSpec:
    return RuleSpec(
        rule_id=rule_id,
        variants=MappingProxyType(variants),
        keys=MappingProxyType({**keys, **UNCHECKED, **(BY_NAME if "medications" in domains else {})}),
        variant_keys=MappingProxyType(variant_keys or {}),
        evidence=evidence,
        action_kinds=frozenset(actions),
        domains=domains,
    )


I, W, C = Indicator.INFO, Indicator.WARNING, Indicator.CRITICAL  # noqa: E741 - short names keep the table legible

_SPECS: list[RuleSpec] = [
    _spec(
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
            **_LOWEST_T,
            **_DXA_SITES,
            "dxa_age_months": Key(int | None, "whole months since the latest DXA"),
            "dxa_stale": Key(bool, "latest DXA older than 24 months (detail: 'see DATA-02')"),
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
    _spec(
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
    _spec(
        "RISK-01",
        {
            "low-bone-mass": VariantSpec(I),
            "fracture-normal-bmd": VariantSpec(I),
        },
        {
            "age": Key(int, "years (FRAX input)"),
            "sex": Key(str, "FRAX input"),
            "weight_kg": Key(Decimal | None, "latest weight within 12 months"),
            "height_cm": Key(Decimal | None, "latest height within 12 months"),
            "prior_fragility_fracture": Key(bool, "FRAX input"),
            "prior_fracture_sites": Key(tuple[str, ...], "sites of recorded fragility fractures"),
            "parent_hip_fracture": Key(bool | None, "None = not recorded, ask"),
            "current_smoking": Key(bool | None, "None = not recorded"),
            "glucocorticoids": Key(bool, "FRAX definition (>=5 mg/d prednisolone >=3 months, ever)"),
            "gc_dose": Key(Decimal, "current prednisone-equivalent mg/day"),
            "gc_adjust_applies": Key(bool, "gc_dose > 7.5: adjust the FRAX result per C-08 (MOF x1.15, hip x1.20)"),
            "rheumatoid_arthritis": Key(bool, "FRAX input"),
            "secondary_osteoporosis": Key(
                tuple[str, ...], "displays of secondary-osteoporosis conditions (FRAX input)"
            ),
            "alcohol_3_or_more": Key(bool | None, ">=3 units/day; None = not recorded"),
            "femoral_neck_t": Key(Decimal | None, "femoral neck T-score for FRAX (not the lowest T)"),
            "femoral_neck_site": Key(str | None, "its site label"),
            **_LOWEST_T,
            "frax_note": Key(str | None, "why a FRAX on file was not used (e.g. older than the latest DXA)"),
            "frax_url": Key(str, "official calculator, US model"),
            "mof_threshold": Key(Decimal, "20 (%), BHOF22/NOF14"),
            "hip_threshold": Key(Decimal, "3 (%), BHOF22/NOF14"),
        },
        ("BHOF22", "NOF14", "AACE20", "S000", "S001", "S003", "S004"),
        (),
        ("dxa", "frax", "medications", "conditions"),
    ),
    _spec(
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
                bool, "(a)-(c) apply and a FRAX below threshold is on file: 'FRAX does not override this indication'"
            ),
            **_FRAX,
            **_EGFR,
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
    _spec(
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
    _spec(
        "TX-03",
        {
            "below-thresholds": VariantSpec(I),
        },
        {
            **_FRAX,
            **_LOWEST_T,
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
    _spec(
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
            **_LOWEST_T,
            "ct_hu": Key(Decimal | None, "latest CT attenuation within 12 months, HU"),
            "vitamin_d_value": Key(Decimal | None, "ng/mL within 12 months"),
            "vitamin_d_below_20": Key(bool, "predicts complications: replete"),
        },
        ("CNS21", "S003"),
        (ActionKind.ORDER_DXA, ActionKind.ORDER_LABS),
        ("procedures", "dxa", "labs", "conditions"),
    ),
    _spec(
        "GC-01",
        {
            "untreated": VariantSpec(W),
            "not-assessable": VariantSpec(W),
            "low": VariantSpec(W),
            "treated": VariantSpec(I),
        },
        {
            "gc_dose": Key(Decimal, "current prednisone-equivalent mg/day"),
            "gc_days": Key(int, "continuous days at >=2.5 mg/d, elapsed plus planned"),
            "gc_cum12_mg": Key(Decimal, "prednisone-equivalent mg over the past 12 months"),
            "drugs": Key(tuple[str, ...], "glucocorticoids of the current course"),
            "acr_category": Key(Literal["very-high", "high", "moderate", "low", "not-assessable"]),
            "category_basis": Key(reasons(AcrBasis), "ACR criteria met, or why none could be assessed"),
            "age_column": Key(str, "'>=40' or '<40' (ACR22 table column used)"),
            "needs_dxa": Key(bool, "no DXA within 12 months: DXA order drafted (subject to the 12-month floor)"),
            "needs_frax": Key(bool, ">=40 and no valid FRAX"),
            "frax_adjustment": Key(
                str, "how FRAX was adjusted (C-08); 'no adjustment at <=7.5 mg/day' when applicable"
            ),
            "frax_mof": Key(Decimal | None, "adjusted"),
            "frax_hip": Key(Decimal | None, "adjusted"),
            "frax_mof_raw": Key(Decimal | None, "as recorded (rev 2: raw and adjusted are both shown)"),
            "frax_hip_raw": Key(Decimal | None, "as recorded"),
            "on_therapy": Key(bool),
        },
        ("ACR22", "ACR17", "KANIS11", "ISCD-GC", "S004", "S001", "S003", "S000"),
        (ActionKind.ORDER_DXA,),
        ("medications", "dxa", "frax", "conditions"),
    ),
    _spec(
        "SAFE-01",
        {
            "overdue-critical": VariantSpec(C),
            "overdue-warning": VariantSpec(W),
            "stopped": VariantSpec(I),
        },
        {
            "last_dose": Key(date, "D"),
            "due_date": Key(date, "D + 6 months"),
            "months_since_last_dose": Key(int),
            "oncology_product": Key(
                Literal["Xgeva", "Zometa"] | None,
                "the oncology product the drug is listed as (same class for the safety rules, named, §1.1)",
            ),
            **_EGFR,
            "egfr_below_35": Key(
                bool | None, "bisphosphonate follow-on not possible: resume denosumab, specialist (None = eGFR unknown)"
            ),
            "correct_calcium_first": Key(
                bool, "corrected Ca within 30 days below LLN (SAFE-03 critical): nothing 'now'"
            ),
            "planned_follow_on": Key(
                str | None, "a bisphosphonate ordered, not yet given (not a follow-on), e.g. zoledronic acid"
            ),
            "planned_follow_on_date": Key(date | None, "its planned start, else the order's authoredOn"),
        },
        ("ES19", "ECTS21", "LYU20", "KIM24", "LBL", "ACR22", "S000", "S001", "S003"),
        (),
        ("medications",),
    ),
    _spec(
        "SAFE-02",
        {
            "bisphosphonate-low-egfr": VariantSpec(C),
        },
        {
            "drug": Key(str, "e.g. alendronate"),
            "oncology_product": Key(
                Literal["Xgeva", "Zometa"] | None,
                "the oncology product the drug is listed as (same class for the safety rules, named, §1.1)",
            ),
            **_EGFR,
            "egfr_below_30": Key(bool, "KDIGO CKD-MBD evaluation; denosumab only with boxed-warning caveat"),
        },
        ("LBL", "KDIGO17", "FDA24", "S001", "S000"),
        (),
        ("medications", "labs"),
    ),
    _spec(
        "SAFE-03",
        {
            "low-calcium": VariantSpec(C),
            "advanced-ckd": VariantSpec(W),
            "calcium-not-checked": VariantSpec(I),
        },
        {
            "drug": Key(Literal["denosumab", "zoledronic acid"]),
            "trigger": Key(Literal["dose-due", "ordered"]),
            "due_date": Key(date | None, "next denosumab dose (None for an order without date)"),
            "corrected_calcium": Key(Decimal | None, "within 30 days, mg/dL"),
            "calcium_lln": Key(Decimal | None),
            "calcium_date": Key(date | None),
            "oncology_product": Key(
                Literal["Xgeva", "Zometa"] | None,
                "the oncology product the drug is listed as (same class for the safety rules, named, §1.1)",
            ),
            **_EGFR,
            "egfr_below_30": Key(bool),
            "calcium_checked_30d": Key(bool),
            "dose_overdue": Key(bool, "the due date has passed: 'the overdue dose (was due ...)'"),
            "vitamin_d_value": Key(Decimal | None, "ng/mL within 12 months"),
        },
        ("LBL", "FDA24", "S000"),
        (ActionKind.ORDER_LABS,),
        ("medications", "labs"),
    ),
    _spec(
        "VITD-01",
        {
            "severe": VariantSpec(W),
            "deficient": VariantSpec(W),
            "below-target": VariantSpec(I),
            "high": VariantSpec(I),
        },
        {
            "value_ng_ml": Key(Decimal, "canonical value"),
            "value_nmol_l": Key(Decimal, "original if reported in nmol/L, else value x 2.496 (1 decimal)"),
            "original_value": Key(Decimal | None, "as reported"),
            "original_unit": Key(str | None, "as reported"),
            "date": Key(date),
            "band": Key(Literal["severe", "deficient", "insufficient", "high"]),
            "on_vitamin_d": Key(bool, "an active vitamin D supplement is recorded"),
        },
        ("BHOF22", "AACE20", "IOM11", "ES24D", "S000", "S001", "S002", "S003", "S004"),
        (),
        ("labs",),
    ),
    _spec(
        "LAB-01",
        {
            "missing": VariantSpec(I),
            "not-checked": VariantSpec(I),
        },
        {
            "missing": Key(
                tuple[str, ...], "short names: CBC, Ca, albumin, phos, eGFR, ALP, TSH, 25-OH D, testosterone"
            ),
            "context": Key(tuple[LabContext, ...], "why evaluated"),
            "broader_workup": Key(bool, "Z <= -2.0 or age <50: broader work-up and specialist referral (detail)"),
            "sex": Key(str, "testosterone is listed for males only"),
        },
        ("BHOF22", "AACE20", "ES12M", "AACE10-T17", "S001", "S003", "S000"),
        (ActionKind.ORDER_LABS,),
        ("labs", "medications"),
    ),
    _spec(
        "UNIV-01",
        {
            "basics": VariantSpec(I),
        },
        {
            "calcium_mg_per_day": Key(
                int, "total intake target: 1000 (men 50-70, adults <50) or 1200 (women >=51, men >=71)"
            ),
            "vitamin_d_iu_per_day": Key(int, "drafted dose: 800 (>=50; 1000 when 25(OH)D <30) or 600 (<50)"),
            "vitamin_d_iu_text": Key(str, "'800-1000' (>=50) or '600' (<50)"),
            "on_calcium": Key(bool, "active calcium supplement recorded (no draft then)"),
            "on_vitamin_d": Key(bool, "active vitamin D recorded (no draft then)"),
            "supplements_drafted": Key(tuple[str, ...], "calcium and/or vitamin-d"),
            "smoking": Key(Literal["current", "former", "never", "unknown"]),
            "alcohol_units_per_day": Key(Decimal | None),
            "glucocorticoid": Key(bool, "qualifying glucocorticoid exposure (ACR22 measures)"),
            "bhc_reasons": Key(tuple[str, ...], "why the bone-health context applies"),
            "sex_assumed": Key(bool, "sex other/unknown: the higher calcium amount used"),
        },
        ("BHOF22", "IOM11", "ACR22", "S000", "S001", "S002", "S003", "S004"),
        (ActionKind.DRAFT_CALCIUM, ActionKind.DRAFT_VITAMIN_D),
        ("medications",),
    ),
    _spec(
        "MON-01",
        {
            "repeat-dxa": VariantSpec(I),
        },
        {
            **_LOWEST_T,
            "interval_months": Key(int, "12 or 24"),
            "due_date": Key(date, "DXA + interval"),
            "interval_reasons": Key(tuple[DxaIntervalReason, ...], "why 12 months"),
        },
        ("GOURLAY12", "ISCD", "CW", "BHOF22", "S004", "S002", "S003", "S000"),
        (ActionKind.ORDER_DXA,),
        ("dxa", "medications"),
    ),
    _spec(
        "MON-02",
        {
            "follow-up-dxa": VariantSpec(I),
        },
        {
            "drug": Key(str, "current osteoporosis drug"),
            "last_dxa_date": Key(date | None),
            "months_since_dxa": Key(int | None),
            "therapy_start": Key(date | None),
        },
        ("BHOF22", "NOF14", "ES19", "ACP17", "S002", "S003", "S000"),
        (),
        ("dxa", "medications"),
    ),
    _spec(
        "MON-03",
        {
            "reassess": VariantSpec(W),
        },
        {
            "drug": Key(str, "current bisphosphonate"),
            "years": Key(Decimal, "one decimal"),
            "oral_months": Key(int, "cumulative oral bisphosphonate months"),
            "zoledronic_infusions": Key(int),
            "continuation_criteria": Key(tuple[ContinuationCriterion, ...], "found in chart"),
            "holiday_reasonable": Key(bool, "no continuation criteria found: 2-3 year holiday reasonable to discuss"),
        },
        ("ASBMR16", "ES19", "ACP17", "ACP23", "S000", "S002"),
        (ActionKind.ORDER_DXA,),
        ("medications", "dxa", "frax", "conditions"),
    ),
    _spec(
        "MON-04",
        {
            "resume-criteria": VariantSpec(W),
            "reassess": VariantSpec(I),
        },
        {
            "drug": Key(str, "the course's bisphosphonate, e.g. alendronate, zoledronic acid"),
            "route": Key(Literal["oral", "intravenous"]),
            "years": Key(Decimal, "oral course in years, one decimal (cut)"),
            "oral_months": Key(int, "cumulative oral months (0 for an IV course)"),
            "zoledronic_infusions": Key(int, "infusions of the course (0 for an oral course)"),
            "last_exposure": Key(date, "last oral day or last infusion"),
            "holiday_since": Key(date, "coverage end: last oral exposure, or last infusion + 12 months"),
            "holiday_months": Key(int, "whole months since the coverage end"),
            "holiday_criteria": Key(tuple[HolidayCriterion, ...], "continuation criteria found now"),
            "last_dxa_date": Key(date | None, "latest diagnostic DXA"),
        },
        ("ASBMR16", "ES19", "ACP17", "S000", "S002"),
        (ActionKind.ORDER_DXA,),
        ("medications", "dxa", "frax", "conditions"),
    ),
    _spec(
        "DATA-01",
        {
            "no-dxa": VariantSpec(I),
        },
        {
            "reasons": Key(reasons(ScreeningReason), "every indication met, first = the one the summary names"),
            "risk_factors": Key(tuple[ScreeningRiskFactor, ...]),
            "menopause_assumed": Key(bool),
            "non_diagnostic_dxa_date": Key(
                date | None, "the newest study with only non-diagnostic sites (forearm, heel): no diagnostic DXA"
            ),
        },
        ("USPSTF25", "ISCD", "ES12M", "ACR22"),
        (ActionKind.ORDER_DXA,),
        ("dxa", "medications", "conditions"),
    ),
    _spec(
        "DATA-02",
        {
            "stale-dxa": VariantSpec(I),
        },
        {
            "dxa_date": Key(date),
            "months_old": Key(int),
            "category": Key(Literal["low-bone-mass", "normal"], "normal: a historical category"),
            "lowest_t": Key(Decimal),
            "lowest_t_site": Key(str),
            "risk_changes": Key(tuple[Literal["glucocorticoid", "new-fragility-fracture", "bone-toxic-drug"], ...]),
        },
        ("BHOF22", "CW", "S004", "S002", "S003", "S000"),
        (ActionKind.ORDER_DXA,),
        ("dxa", "medications"),
    ),
    _spec(
        "DATA-03",
        {
            "uninterpretable": VariantSpec(I),
        },
        {
            "issues": Key(tuple[IssueValue, ...], "every item, treated as missing by the rules named"),
            "first_item": Key(str),
            "first_reason": Key(str),
            "count": Key(int),
        },
        ("ISCD", "IOM11"),
        (),
        (),
    ),
]

PATIENT_VIEW_RULE_IDS: tuple[str, ...] = tuple(s.rule_id for s in _SPECS)
# Every rule of every service: the patient-view rules, then the order rules (§10, decision_core.order_specs).
RULE_SPECS: Mapping[str, RuleSpec] = MappingProxyType({s.rule_id: s for s in (*_SPECS, *ORDER_SPECS)})
RULE_ORDER: tuple[str, ...] = tuple(RULE_SPECS)

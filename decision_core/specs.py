"""The output contract per card rule, machine-checkable: variants, indicator per variant, value keys, actions.

Every Recommendation the core emits has `values` whose keys are exactly `spec.keys` plus the variant's
extra keys, an indicator equal to its variant's indicator, actions whose kinds are in `spec.action_kinds`,
and the evidence of the spec. The card renderer writes its templates from this table (RULES.md is generated
from it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from .model import ActionKind, Indicator

EVIDENCE_KEYS = frozenset(
    {
        "BHOF22", "NOF14", "AACE20", "ACP23", "ACP17", "ES19", "ES12M", "ISCD", "USPSTF25", "IOM11", "ES24D",
        "ACR22", "ACR17", "KANIS11", "ISCD-GC", "LBL", "FDA24", "KDIGO17", "ECTS21", "LYU20", "KIM24",
        "ASBMR16",
        "GOURLAY12", "CW", "CNS21", "AACE10-T17", "S000", "S001", "S002", "S003", "S004",
    }
)  # fmt: skip

DOMAINS = ("labs", "medications", "conditions", "frax", "dxa", "procedures")


@dataclass(frozen=True, slots=True)
class VariantSpec:
    indicator: Indicator
    summary: str  # the decision table's summary template (for the renderer; placeholders name value keys)
    extra_keys: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RuleSpec:
    rule_id: str
    title: str
    default_indicator: Indicator
    trigger: str  # plain words
    variants: Mapping[str, VariantSpec]
    keys: Mapping[str, str]  # value key -> "type; meaning" (present in every variant)
    variant_key_docs: Mapping[str, str]  # extra keys -> "type; meaning"
    evidence: tuple[str, ...]
    action_kinds: frozenset[ActionKind]
    domains: tuple[str, ...]  # data domains the rule reads (reported in `unchecked_domains` when incomplete)
    notes: tuple[str, ...] = field(default_factory=tuple)

    def required_keys(self, variant: str) -> frozenset[str]:
        return frozenset(self.keys) | frozenset(self.variants[variant].extra_keys)


UNCHECKED = {"unchecked_domains": "tuple[str]; data domains this rule needs that could not be (fully) fetched"}

_DXA_SITES = {
    "valid_sites": "tuple[dict{kind,site,value: Decimal,date}]; every valid diagnostic value of the study used",
    "excluded_sites": "tuple[dict{kind,site,value: Decimal,reason}]; values not used and why (C-03)",
}
_LOWEST_T = {
    "lowest_t": "Decimal | None; lowest valid-site T-score of the latest DXA",
    "lowest_t_site": "str | None; its site label, e.g. 'left femoral neck', 'lumbar spine L1-L2'",
    "dxa_date": "date | None; date of the latest diagnostic DXA study",
}
_FRAX = {
    "frax_mof": "Decimal | None; FRAX MOF % used (after C-08 adjustment)",
    "frax_hip": "Decimal | None; FRAX hip % used (after C-08 adjustment)",
    "frax_mof_raw": "Decimal | None; FRAX MOF % as recorded",
    "frax_hip_raw": "Decimal | None; FRAX hip % as recorded",
    "frax_date": "date | None; FRAX date",
    "frax_adjustment": "str | None; applied | not-applied-dose-at-or-below-7.5 | not-applied-gc-input-no | none",
}
_EGFR = {
    "egfr_value": "Decimal | None; latest eGFR within 12 months, mL/min/1.73m2",
    "egfr_date": "date | None; its date",
}


def _spec(
    rule_id: str,
    title: str,
    trigger: str,
    variants: dict[str, VariantSpec],
    keys: dict[str, str],
    evidence: tuple[str, ...],
    actions: tuple[ActionKind, ...],
    domains: tuple[str, ...],
    variant_key_docs: dict[str, str] | None = None,
    notes: tuple[str, ...] = (),
) -> RuleSpec:
    default = next(iter(variants.values())).indicator
    return RuleSpec(
        rule_id=rule_id,
        title=title,
        default_indicator=default,
        trigger=trigger,
        variants=MappingProxyType(variants),
        keys=MappingProxyType({**keys, **UNCHECKED}),
        variant_key_docs=MappingProxyType(variant_key_docs or {}),
        evidence=evidence,
        action_kinds=frozenset(actions),
        domains=domains,
        notes=notes,
    )


I, W, C = Indicator.INFO, Indicator.WARNING, Indicator.CRITICAL  # noqa: E741 - short names keep the table legible

_SPECS: list[RuleSpec] = [
    _spec(
        "DX-01",
        "Bone density / osteoporosis classification (>=50 or postmenopausal)",
        "ADULT50 and (a diagnostic DXA with a valid T-score exists, or clinical osteoporosis by a fragility "
        "hip/"
        "vertebral fracture at >=50, or a forearm/humerus/pelvis fragility fracture with low bone mass).",
        {
            "osteoporosis-clinical": VariantSpec(
                I,
                "Osteoporosis (clinical): fragility {fracture_group} fracture {fracture_date}; lowest "
                "T-score "
                "{lowest_t|not available}[ at {lowest_t_site}]",
                ("fracture_site", "fracture_group", "fracture_date", "fracture_presumed"),
            ),
            "osteoporosis-persistent": VariantSpec(
                I,
                "Osteoporosis (DXA {historical_dxa_date} lowest T {historical_t} {historical_t_site}; "
                "latest DXA "
                "{dxa_date} lowest T {lowest_t})",
                ("historical_t", "historical_t_site", "historical_dxa_date"),
            ),
            "osteoporosis-dxa": VariantSpec(
                I, "Osteoporosis by DXA: lowest T-score {lowest_t} at {lowest_t_site}, DXA {dxa_date}"
            ),
            "low-bone-mass": VariantSpec(
                I, "Low bone mass (osteopenia): lowest T-score {lowest_t} at {lowest_t_site}, DXA {dxa_date}"
            ),
            "normal": VariantSpec(I, "BMD normal (lowest T-score {lowest_t} at {lowest_t_site}, DXA {dxa_date})"),
        },
        {
            "category": "str; normal | low-bone-mass | osteoporosis",
            **_LOWEST_T,
            **_DXA_SITES,
            "dxa_age_months": "int | None; whole months since the latest DXA",
            "dxa_stale": "bool; latest DXA older than 24 months (detail: 'see DATA-02')",
            "menopause_assumed": "bool; female >=50 with no documented menopause status, assumed postmenopausal",
            "sex": "str; female | male | other | unknown (detail: same cut-offs for men >=50)",
        },
        ("ISCD", "AACE20", "BHOF22", "GOURLAY12", "S000", "S001", "S002", "S003", "S004"),
        (),
        ("dxa", "conditions", "procedures"),
        variant_key_docs={
            "fracture_site": "str; hip | vertebral | distal-forearm | proximal-humerus | pelvis",
            "fracture_group": "str; hip | vertebral | other-major",
            "fracture_date": "date | None; onset (None: date not recorded)",
            "fracture_presumed": "bool; fragility presumed (hip/vertebral, no mechanism recorded): say so",
            "historical_t": "Decimal; the earlier lowest T-score <= -2.5",
            "historical_t_site": "str; its site",
            "historical_dxa_date": "date; its DXA date",
        },
    ),
    _spec(
        "DX-02",
        "Z-score interpretation (<50, premenopausal)",
        "YOUNG (premenopausal women, men <50) and a DXA with a valid diagnostic site.",
        {
            "low-for-age": VariantSpec(
                W,
                "Low BMD for age: lowest Z-score {lowest_z} at {lowest_z_site} (below expected range for age)",
            ),
            "within-range": VariantSpec(
                I, "BMD within expected range for age (lowest Z-score {lowest_z} at {lowest_z_site})"
            ),
            "no-z-scores": VariantSpec(
                I, "DXA lacks Z-scores; age <50: T-score categories (osteopenia/osteoporosis) do not apply"
            ),
        },
        {
            "lowest_z": "Decimal | None; lowest valid-site Z-score (None in no-z-scores)",
            "lowest_z_site": "str | None; its site label",
            "dxa_date": "date; date of the DXA study used",
            **_DXA_SITES,
            "fragility_fracture": "bool; a fragility fracture (C-05) is recorded",
            "referral_suggested": "bool; Z <= -2.0 or fragility fracture: bone specialist referral drafted",
            "age": "int; years",
        },
        ("ISCD", "S001"),
        (ActionKind.REFERRAL,),
        ("dxa", "conditions"),
    ),
    _spec(
        "RISK-01",
        "Calculate FRAX",
        "ADULT50, age 40-90, DXA <=24 months old showing low bone mass (or normal BMD with a non-hip, "
        "non-vertebral "
        "fragility fracture), and no valid FRAX (C-08). Suppressed by current therapy, SAFE-01, TX-01/TX-02, "
        "DATA-02, DX-02 (§4).",
        {
            "low-bone-mass": VariantSpec(
                I,
                "Low bone mass: calculate 10-yr FRAX (US) to decide on treatment (treat if MOF >=20% or hip >=3%)",
            ),
            "fracture-normal-bmd": VariantSpec(
                I, "Fragility fracture with normal BMD: calculate 10-yr FRAX (US) with prior fracture = yes"
            ),
        },
        {
            "age": "int; years (FRAX input)",
            "sex": "str; FRAX input",
            "weight_kg": "Decimal | None; latest weight within 12 months",
            "height_cm": "Decimal | None; latest height within 12 months",
            "prior_fragility_fracture": "bool; FRAX input",
            "prior_fracture_sites": "tuple[str]; sites of recorded fragility fractures",
            "parent_hip_fracture": "bool | None; None = not recorded, ask",
            "current_smoking": "bool | None; None = not recorded",
            "glucocorticoids": "bool; FRAX definition (>=5 mg/d prednisolone >=3 months, ever)",
            "gc_dose": "Decimal; current prednisone-equivalent mg/day",
            "gc_adjust_applies": "bool; gc_dose > 7.5: adjust the FRAX result per C-08 (MOF x1.15, hip x1.20)",
            "rheumatoid_arthritis": "bool; FRAX input",
            "secondary_osteoporosis": "tuple[str]; displays of secondary-osteoporosis conditions (FRAX input)",
            "alcohol_3_or_more": "bool | None; >=3 units/day; None = not recorded",
            "femoral_neck_t": "Decimal | None; femoral neck T-score for FRAX (not the lowest T)",
            "femoral_neck_site": "str | None; its site label",
            **_LOWEST_T,
            "frax_note": "str | None; why a FRAX on file was not used (e.g. older than the latest DXA)",
            "frax_url": "str; official calculator, US model",
            "mof_threshold": "Decimal; 20 (%), BHOF22/NOF14",
            "hip_threshold": "Decimal; 3 (%), BHOF22/NOF14",
        },
        ("BHOF22", "NOF14", "AACE20", "S000", "S001", "S003", "S004"),
        (),
        ("dxa", "frax", "medications", "conditions"),
    ),
    _spec(
        "TX-01",
        "Pharmacologic treatment indicated, not on therapy",
        "ADULT50 and any of: (a) fragility hip/vertebral fracture at >=50 (any BMD, even without DXA); (b) "
        "forearm/humerus/pelvis fragility fracture at >=50 with lowest T < -1.0; (c) osteoporosis by DXA, "
        "current or "
        "historical; (d) low bone mass with valid FRAX MOF >=20% or hip >=3% (after C-08). Suppressed by "
        "current "
        "therapy (or an osteoporosis drug already ordered), SAFE-01, TX-02, DX-02 (§4).",
        {
            "hip-vertebral-fracture": VariantSpec(
                W, "Osteoporosis treatment indicated ({reason_text}); not on osteoporosis medication"
            ),
            "osteoporosis-dxa": VariantSpec(
                W, "Osteoporosis treatment indicated ({reason_text}); not on osteoporosis medication"
            ),
            "osteoporosis-historical": VariantSpec(
                W, "Osteoporosis treatment indicated ({reason_text}); not on osteoporosis medication"
            ),
            "other-major-fracture": VariantSpec(
                W, "Osteoporosis treatment indicated ({reason_text}); not on osteoporosis medication"
            ),
            "frax": VariantSpec(W, "Osteoporosis treatment indicated ({reason_text}); not on osteoporosis medication"),
        },
        {
            "reasons": "tuple[dict{code,text}]; every criterion met, first = variant",
            "reason_text": "str; the first reason, short, e.g. 'T-score -2.8 lumbar spine', 'FRAX hip 3.3% >=3%'",
            "frax_below_threshold_ignored": "bool; (a)-(c) apply and a FRAX below threshold is on file: "
            "'FRAX does "
            "not override this indication'",
            **_FRAX,
            **_EGFR,
            "vitamin_d_value": "Decimal | None; latest 25(OH)D within 12 months, ng/mL",
            "vitamin_d_date": "date | None",
            "corrected_calcium": "Decimal | None; latest corrected Ca within 12 months, mg/dL",
            "calcium_lln": "Decimal | None; lower limit used, mg/dL",
            "calcium_date": "date | None",
            "gates": "dict[str,str]; egfr/vitamin_d/calcium: ok|low|missing; contraindication: none|recorded|"
            "not-checked; spinal_surgery: none|planned-with-osteoporosis; medications, lab_results: "
            "checked|not-checked",
            "missing_gates": "tuple[str]; gate names that are not 'ok'/'none'/'checked'",
            "alendronate_draft": "bool; a draft alendronate 70 mg weekly is attached",
            "denosumab_alternative": "bool; eGFR <35: the detail names denosumab as the second-line choice",
            "denosumab_caveats": "tuple[str]; always with the alternative: calcium-check-first, plus "
            "correct-hypocalcemia-first (Ca < LLN) and boxed-warning-ckd-mbd-specialist (eGFR <30)",
            "dxa_stale": "bool; osteoporosis on a DXA >24 months old: treat now, new DXA must not delay treatment",
            "sex": "str; men: same criteria",
        },
        (
            "BHOF22",
            "NOF14",
            "ACP23",
            "AACE20",
            "ES19",
            "ES12M",
            "LBL",
            "S000",
            "S001",
            "S002",
            "S003",
            "S004",
        ),
        (ActionKind.ORDER_LABS, ActionKind.DRAFT_ALENDRONATE),
        ("dxa", "frax", "medications", "conditions", "labs", "procedures"),
    ),
    _spec(
        "TX-02",
        "Very high fracture risk",
        "ADULT50 and any of: (a) fragility fracture within 12 months; (b) >=2 fragility fractures; (c) "
        "fracture on "
        "therapy; (d) lowest T < -3.0; (e) valid FRAX MOF >30% or hip >4.5%; (f) prednisone-eq >=30 mg/d "
        "for >30 "
        "days or >=5 g in 12 months; (g) coded injurious fall in 12 months. On current therapy only (c) "
        "applies.",
        {
            "fracture-on-therapy": VariantSpec(
                W,
                "Very high fracture risk ({reason_text}): consider anabolic therapy first; refer to bone specialist",
            ),
            "recent-fracture": VariantSpec(
                W,
                "Very high fracture risk ({reason_text}): consider anabolic therapy first; refer to bone specialist",
            ),
            "multiple-fractures": VariantSpec(
                W,
                "Very high fracture risk ({reason_text}): consider anabolic therapy first; refer to bone specialist",
            ),
            "very-low-t": VariantSpec(
                W,
                "Very high fracture risk ({reason_text}): consider anabolic therapy first; refer to bone specialist",
            ),
            "frax-very-high": VariantSpec(
                W,
                "Very high fracture risk ({reason_text}): consider anabolic therapy first; refer to bone specialist",
            ),
            "glucocorticoid-high-dose": VariantSpec(
                W,
                "Very high fracture risk ({reason_text}): consider anabolic therapy first; refer to bone specialist",
            ),
            "injurious-fall": VariantSpec(
                W,
                "Very high fracture risk ({reason_text}): consider anabolic therapy first; refer to bone specialist",
            ),
        },
        {
            "reasons": "tuple[dict{code,text}]; every criterion met, first = variant",
            "reason_text": "str; the first reason, short",
            "on_therapy": "bool; on current osteoporosis therapy (check adherence, 25(OH)D, secondary causes)",
            "fracture_count": "int; fragility fractures at >=50",
            "lowest_t": "Decimal | None",
            "lowest_t_site": "str | None",
            "frax_mof": "Decimal | None; adjusted",
            "frax_hip": "Decimal | None; adjusted",
        },
        ("AACE20", "ACP23", "ES19", "ACR22", "S003"),
        (ActionKind.REFERRAL,),
        ("dxa", "frax", "medications", "conditions"),
    ),
    _spec(
        "TX-03",
        "Low bone mass below treatment thresholds",
        "ADULT50, WHO low bone mass, valid complete FRAX with MOF <20% and hip <3% (after C-08). Suppressed "
        "by "
        "TX-01/TX-02, current therapy, GC-01 at ACR moderate or higher, SAFE-01, DX-02 (§4).",
        {
            "below-thresholds": VariantSpec(
                I,
                "Low bone mass, FRAX below treatment thresholds (MOF {frax_mof}%, hip {frax_hip}%): no "
                "osteoporosis "
                "drug indicated now",
            )
        },
        {
            **_FRAX,
            **_LOWEST_T,
            "next_dxa_date": "date; last DXA + interval (never sooner than 12 months)",
            "interval_months": "int; 12 or 24",
            "interval_reasons": "tuple[str]; why 12 months: t-at-or-below--2.0 | glucocorticoid | "
            "aromatase-inhibitor-or-adt | premature-menopause",
            "acp_rec4_discussion": "bool; female >=65 with lowest T <= -2.0: mention ACP23 rec 4 shared decision",
            "sex": "str",
            "age": "int",
        },
        ("BHOF22", "ACP23", "ACP17", "GOURLAY12", "CW", "S004", "S001", "S002", "S003", "S000"),
        (),
        ("dxa", "frax", "medications", "conditions"),
    ),
    _spec(
        "TX-04",
        "Planned spinal instrumentation",
        "A spinal fusion/instrumentation planned within 12 months (or with no date). 04a: osteoporosis "
        "(C-04), a "
        "fragility vertebral/hip fracture, or CT HU <97.9; else 04c: ADULT50 with no DXA within 24 months; "
        "else "
        "04b: low bone mass. At most one variant.",
        {
            "04a": VariantSpec(
                W,
                "Spinal instrumentation planned {planned_date} with osteoporosis: consider preoperative "
                "teriparatide "
                "(CNS Grade B)",
            ),
            "04c": VariantSpec(
                I,
                "Spinal instrumentation planned {planned_date}: assess bone quality (DXA/CT HU, 25-OH D) "
                "before "
                "surgery",
            ),
            "04b": VariantSpec(
                I,
                "Spinal instrumentation planned {planned_date} with low bone mass: optimize bone health before surgery",
            ),
        },
        {
            "procedure": "str; display of the planned procedure",
            "planned_date": "date | None; None = date not recorded",
            "basis": "str | None; 04a only: osteoporosis-dxa | fracture | ct-hu",
            **_LOWEST_T,
            "ct_hu": "Decimal | None; latest CT attenuation within 12 months, HU",
            "vitamin_d_value": "Decimal | None; ng/mL within 12 months",
            "vitamin_d_below_20": "bool; predicts complications: replete",
        },
        ("CNS21", "S003"),
        (ActionKind.ORDER_DXA, ActionKind.ORDER_LABS),
        ("procedures", "dxa", "labs", "conditions"),
    ),
    _spec(
        "GC-01",
        "Long-term glucocorticoids",
        "Age >=18 and systemic glucocorticoid >=2.5 mg/d prednisone-equivalent for >=90 days (elapsed plus "
        "planned), "
        "active within 30 days or planned (C-07). ACR22 category computed.",
        {
            "untreated": VariantSpec(
                W,
                "Prednisone-eq {gc_dose} mg/day >=3 months: ACR {acr_category} fracture risk - offer "
                "osteoporosis "
                "therapy",
            ),
            "not-assessable": VariantSpec(
                W,
                "Prednisone-eq {gc_dose} mg/day >=3 months: fracture risk not assessed - order DXA{ and FRAX}",
            ),
            "low": VariantSpec(
                W,
                "Prednisone-eq {gc_dose} mg/day >=3 months: low ACR fracture risk - calcium/vitamin D, "
                "repeat BMD in "
                "1-2 years",
            ),
            "treated": VariantSpec(
                I,
                "Prednisone-eq {gc_dose} mg/day >=3 months on osteoporosis therapy: BMD every 1-2 years "
                "while on "
                "glucocorticoid",
            ),
        },
        {
            "gc_dose": "Decimal; current prednisone-equivalent mg/day",
            "gc_days": "int; continuous days at >=2.5 mg/d, elapsed plus planned",
            "gc_cum12_mg": "Decimal; prednisone-equivalent mg over the past 12 months",
            "drugs": "tuple[str]; glucocorticoids of the current course",
            "acr_category": "str; very-high | high | moderate | low | not-assessable",
            "category_basis": "tuple[str]; criteria met, e.g. 'T-score -2.6 total hip', 'prior fracture'",
            "age_column": "str; '>=40' or '<40' (ACR22 table column used)",
            "needs_dxa": "bool; no DXA within 12 months: DXA order drafted (subject to the 12-month floor)",
            "needs_frax": "bool; >=40 and no valid FRAX",
            "frax_adjustment": "str; how FRAX was adjusted (C-08); 'no adjustment at <=7.5 mg/day' when applicable",
            "frax_mof": "Decimal | None; adjusted",
            "frax_hip": "Decimal | None; adjusted",
            "on_therapy": "bool",
        },
        ("ACR22", "ACR17", "KANIS11", "ISCD-GC", "S004", "S001", "S003", "S000"),
        (ActionKind.ORDER_DXA,),
        ("medications", "dxa", "frax", "conditions"),
    ),
    _spec(
        "SAFE-01",
        "Denosumab overdue or stopped without follow-on",
        "A denosumab dose is recorded (D = last), no bisphosphonate started/given after D. NOW > D+7 months: "
        "critical; D+6 < NOW <= D+7 months: warning; marked stopped and NOW <= D+6 months: info.",
        {
            "overdue-critical": VariantSpec(
                C,
                "Denosumab overdue >7 months (last dose {last_dose}), no follow-on therapy: rebound "
                "vertebral "
                "fracture risk - act now",
            ),
            "overdue-warning": VariantSpec(
                W,
                "Denosumab dose overdue (last dose {last_dose}, due {due_date}): give now or start planned transition",
            ),
            "stopped": VariantSpec(
                I, "Denosumab stopped: plan bisphosphonate start ~6 months after last dose ({due_date})"
            ),
        },
        {
            "last_dose": "date; D",
            "due_date": "date; D + 6 months",
            "months_since_last_dose": "int",
            **_EGFR,
            "egfr_below_35": "bool | None; bisphosphonate follow-on not possible: resume denosumab, "
            "specialist "
            "(None = eGFR unknown)",
        },
        ("ES19", "ECTS21", "LYU20", "KIM24", "LBL", "ACR22", "S000", "S001", "S003"),
        (),
        ("medications",),
    ),
    _spec(
        "SAFE-02",
        "Bisphosphonate with eGFR <35",
        "A current bisphosphonate (active oral, zoledronic acid current or ordered) and latest eGFR (12 months) <35.",
        {
            "bisphosphonate-low-egfr": VariantSpec(
                C, "{drug} with eGFR {egfr_value} (<35): bisphosphonate not recommended - review therapy"
            )
        },
        {
            "drug": "str; e.g. alendronate",
            **_EGFR,
            "egfr_below_30": "bool; KDIGO CKD-MBD evaluation; denosumab only with boxed-warning caveat",
        },
        ("LBL", "KDIGO17", "FDA24", "S001", "S000"),
        (),
        ("medications", "labs"),
    ),
    _spec(
        "SAFE-03",
        "Calcium / advanced CKD before denosumab or zoledronic acid",
        "Denosumab next dose due within 30 days or overdue (NOW >= D+5 months, no follow-on), or denosumab/"
        "zoledronic acid ordered but not given; AND corrected Ca (30 days) < LLN (critical), or eGFR <30 "
        "(warning), or no calcium within 30 days (info).",
        {
            "low-calcium": VariantSpec(
                C,
                "Low calcium (corrected {corrected_calcium} mg/dL): correct before next {drug} dose (due {due_date})",
            ),
            "advanced-ckd": VariantSpec(
                W,
                "Advanced CKD (eGFR {egfr_value}): denosumab boxed warning for severe hypocalcemia - "
                "CKD-MBD check, "
                "specialist supervision",
            ),
            "calcium-not-checked": VariantSpec(
                I, "Check serum calcium (and 25-OH D) before next {drug} dose due {due_date}"
            ),
        },
        {
            "drug": "str; denosumab | zoledronic acid",
            "trigger": "str; dose-due | ordered",
            "due_date": "date | None; next denosumab dose (None for an order without date)",
            "corrected_calcium": "Decimal | None; within 30 days, mg/dL",
            "calcium_lln": "Decimal | None",
            "calcium_date": "date | None",
            **_EGFR,
            "egfr_below_30": "bool",
            "calcium_checked_30d": "bool",
            "vitamin_d_value": "Decimal | None; ng/mL within 12 months",
        },
        ("LBL", "FDA24", "S000"),
        (ActionKind.ORDER_LABS,),
        ("medications", "labs"),
    ),
    _spec(
        "VITD-01",
        "Vitamin D status (bone-health context only)",
        "Bone-health context and an interpretable 25(OH)D within 12 months <30.0 or >50.0 ng/mL (after conversion).",
        {
            "severe": VariantSpec(
                W,
                "Severe vitamin D deficiency: 25-OH D {value_ng_ml} ng/mL ({value_nmol_l} nmol/L) - replete "
                "before "
                "starting or continuing antiresorptive",
            ),
            "deficient": VariantSpec(
                W,
                "Vitamin D deficiency: 25-OH D {value_ng_ml} ng/mL ({value_nmol_l} nmol/L) - replete before "
                "starting "
                "or continuing antiresorptive",
            ),
            "below-target": VariantSpec(
                I,
                "25-OH D {value_ng_ml} ng/mL: below 30 ng/mL target for low bone mass/osteoporosis - "
                "increase vitamin D",
            ),
            "high": VariantSpec(I, "25-OH D {value_ng_ml} ng/mL: above 50 ng/mL - review vitamin D dose"),
        },
        {
            "value_ng_ml": "Decimal; canonical value",
            "value_nmol_l": "Decimal; original if reported in nmol/L, else value x 2.496 (1 decimal)",
            "original_value": "Decimal | None; as reported",
            "original_unit": "str | None; as reported",
            "date": "date",
            "band": "str; severe | deficient | insufficient | high",
            "on_vitamin_d": "bool; an active vitamin D supplement is recorded",
        },
        ("BHOF22", "AACE20", "IOM11", "ES24D", "S000", "S001", "S002", "S003", "S004"),
        (),
        ("labs",),
    ),
    _spec(
        "LAB-01",
        "Secondary-cause evaluation",
        "Treatment-naive and (low bone mass, osteoporosis, clinical osteoporosis, Z <= -2.0, or any "
        "fragility "
        "fracture) and >=1 core lab missing within 12 months (uninterpretable counts as missing).",
        {
            "missing": VariantSpec(I, "Secondary-cause labs missing (last 12 mo): {missing}"),
            "not-checked": VariantSpec(I, "Secondary-cause labs could not be checked (lab results unavailable)"),
        },
        {
            "missing": "tuple[str]; short names: CBC, Ca, albumin, phos, eGFR, ALP, TSH, 25-OH D, testosterone",
            "context": "tuple[str]; why evaluated: low-bone-mass | osteoporosis | clinical-osteoporosis | "
            "z-low | "
            "fragility-fracture",
            "broader_workup": "bool; Z <= -2.0 or age <50: broader work-up and specialist referral (detail)",
            "sex": "str; testosterone is listed for males only",
        },
        ("BHOF22", "AACE20", "ES12M", "AACE10-T17", "S001", "S003", "S000"),
        (ActionKind.ORDER_LABS,),
        ("labs", "medications"),
    ),
    _spec(
        "UNIV-01",
        "Universal bone-health measures (bone-health context only)",
        "Bone-health context (BHC): low bone mass/osteoporosis, fragility fracture, Z <= -2.0, any "
        "osteoporosis drug "
        "ever, qualifying glucocorticoid exposure, or a coded osteoporosis/osteopenia diagnosis. Age >=18.",
        {
            "basics": VariantSpec(
                I,
                "Bone health basics: calcium {calcium_mg_per_day} mg/day total, vitamin D "
                "{vitamin_d_iu_text} IU/day, "
                "exercise, fall prevention, no smoking, limit alcohol",
            )
        },
        {
            "calcium_mg_per_day": "int; total intake target: 1000 (men 50-70, adults <50) or 1200 (women "
            ">=51, "
            "men >=71)",
            "vitamin_d_iu_per_day": "int; drafted dose: 800 (>=50; 1000 when 25(OH)D <30) or 600 (<50)",
            "vitamin_d_iu_text": "str; '800-1000' (>=50) or '600' (<50)",
            "on_calcium": "bool; active calcium supplement recorded (no draft then)",
            "on_vitamin_d": "bool; active vitamin D recorded (no draft then)",
            "supplements_drafted": "tuple[str]; calcium and/or vitamin-d",
            "smoking": "str; current | former | never | unknown",
            "alcohol_units_per_day": "Decimal | None",
            "glucocorticoid": "bool; qualifying glucocorticoid exposure (ACR22 measures)",
            "bhc_reasons": "tuple[str]; why the bone-health context applies",
            "sex_assumed": "bool; sex other/unknown: the higher calcium amount used",
        },
        ("BHOF22", "IOM11", "ACR22", "S000", "S001", "S002", "S003", "S004"),
        (ActionKind.DRAFT_CALCIUM, ActionKind.DRAFT_VITAMIN_D),
        ("medications",),
    ),
    _spec(
        "MON-01",
        "Repeat DXA due (untreated, low bone mass)",
        "ADULT50, WHO low bone mass, DXA <=24 months old, NOW >= DXA + interval (12 months if lowest T <= "
        "-2.0, "
        "glucocorticoid exposure or a new aromatase inhibitor/ADT since the DXA; else 24). Suppressed by "
        "current "
        "therapy, TX-01/TX-02, DATA-02, GC-01 offering a DXA, DX-02 (§4).",
        {
            "repeat-dxa": VariantSpec(
                I,
                "Repeat DXA due: last DXA {dxa_date}, lowest T-score {lowest_t} (interval {interval_months} months)",
            )
        },
        {
            **_LOWEST_T,
            "interval_months": "int; 12 or 24",
            "due_date": "date; DXA + interval",
            "interval_reasons": "tuple[str]; why 12 months",
        },
        ("GOURLAY12", "ISCD", "CW", "BHOF22", "S004", "S002", "S003", "S000"),
        (ActionKind.ORDER_DXA,),
        ("dxa", "medications"),
    ),
    _spec(
        "MON-02",
        "Follow-up DXA on therapy",
        "Current therapy and (>=24 months since the last DXA, or no DXA and >=24 months since therapy "
        "start). "
        "Suppressed by SAFE-01 and MON-03.",
        {
            "follow-up-dxa": VariantSpec(
                I, "On {drug}: follow-up DXA due (last DXA {last_dxa_date}, {months_since_dxa} months ago)"
            )
        },
        {
            "drug": "str; current osteoporosis drug",
            "last_dxa_date": "date | None",
            "months_since_dxa": "int | None",
            "therapy_start": "date | None",
        },
        ("BHOF22", "NOF14", "ES19", "ACP17", "S002", "S003", "S000"),
        (),
        ("dxa", "medications"),
    ),
    _spec(
        "MON-03",
        "Bisphosphonate duration reassessment",
        "Current bisphosphonate and (cumulative oral >=60 months, or >=3 zoledronic acid infusions) and no "
        "documented "
        "holiday decision. Never for denosumab.",
        {
            "reassess": VariantSpec(
                W,
                "{drug} for {years} years: reassess fracture risk - continue if high risk, otherwise "
                "consider drug "
                "holiday",
            )
        },
        {
            "drug": "str; current bisphosphonate",
            "years": "Decimal; one decimal",
            "oral_months": "int; cumulative oral bisphosphonate months",
            "zoledronic_infusions": "int",
            "continuation_criteria": "tuple[str]; found in chart: hip-t-at-or-below--2.5 | "
            "prior-major-fracture | "
            "fracture-on-therapy | frax-at-threshold | glucocorticoid",
            "holiday_reasonable": "bool; no continuation criteria found: 2-3 year holiday reasonable to discuss",
        },
        ("ASBMR16", "ES19", "ACP17", "ACP23", "S000", "S002"),
        (ActionKind.ORDER_DXA,),
        ("medications", "dxa", "frax", "conditions"),
    ),
    _spec(
        "DATA-01",
        "No DXA on record",
        "No diagnostic DXA ever and any of: female >=65; postmenopausal female <65 with a risk factor; male "
        ">=70; "
        "male 50-69 with a risk factor; any fragility fracture; glucocorticoid exposure; osteoporosis drug "
        "current "
        "or ordered. Not when DXA data could not be fetched completely.",
        {"no-dxa": VariantSpec(I, "No DXA on record: bone density testing indicated ({reason_text})")},
        {
            "reasons": "tuple[str]; female-65 | postmenopausal-risk-factor | male-70 | "
            "male-50-69-risk-factor | "
            "fragility-fracture | glucocorticoid | osteoporosis-drug",
            "reason_text": "str; first reason, e.g. 'woman >=65, USPSTF B'",
            "risk_factors": "tuple[str]; fracture-after-50 | glucocorticoid | bmi-below-20 | "
            "parental-hip-fracture | "
            "smoking | alcohol-3-or-more",
            "menopause_assumed": "bool",
        },
        ("USPSTF25", "ISCD", "ES12M", "ACR22"),
        (ActionKind.ORDER_DXA,),
        ("dxa", "medications", "conditions"),
    ),
    _spec(
        "DATA-02",
        "Stale DXA (>24 months), untreated",
        "ADULT50, latest DXA >24 months old, category low bone mass, or normal with a risk change "
        "(glucocorticoid, "
        "new fragility fracture, new bone-toxic drug). Not for osteoporosis. Suppressed by current therapy.",
        {
            "stale-dxa": VariantSpec(
                I,
                "Last DXA {dxa_date} is {months_old} months old: repeat DXA, then recalculate "
                "FRAX before treatment decisions",
            )
        },
        {
            "dxa_date": "date",
            "months_old": "int",
            "category": "str; low-bone-mass | normal (historical)",
            "lowest_t": "Decimal",
            "lowest_t_site": "str",
            "risk_changes": "tuple[str]; glucocorticoid | new-fragility-fracture | bone-toxic-drug",
        },
        ("BHOF22", "CW", "S004", "S002", "S003", "S000"),
        (ActionKind.ORDER_DXA,),
        ("dxa", "medications"),
    ),
    _spec(
        "DATA-03",
        "Uninterpretable or conflicting data",
        "Any value the rules had to treat as missing: unit missing/unknown, same-day conflicts, DXA values "
        "without a "
        "site or only at non-diagnostic sites or implausible, denosumab without dose dates, glucocorticoid "
        "without "
        "dose, missing birth date, data domains that could not be fetched.",
        {
            "uninterpretable": VariantSpec(
                I, "Data could not be interpreted: {first_item} ({first_reason}) - verify in chart"
            )
        },
        {
            "issues": "tuple[dict{item,reason,record,affects}]; every item, treated as missing by the rules named",
            "first_item": "str",
            "first_reason": "str",
            "count": "int",
        },
        ("ISCD", "IOM11"),
        (),
        (),
    ),
]

RULE_SPECS: Mapping[str, RuleSpec] = MappingProxyType({s.rule_id: s for s in _SPECS})
RULE_ORDER: tuple[str, ...] = tuple(s.rule_id for s in _SPECS)

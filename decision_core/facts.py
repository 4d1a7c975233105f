"""Plain, frozen facts about a patient's bones: the contract between FHIR extraction and the decision core.

Nothing here knows about FHIR. Every fact keeps a `record` (e.g. "Observation/abc") so a card can point at the
chart entry it came from; records are shown to the clinician in card details but are never logged.
Numbers that are compared against guideline thresholds are `Decimal`, never float.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class MenopauseStatus(StrEnum):
    PREMENOPAUSAL = "premenopausal"
    PERIMENOPAUSAL = "perimenopausal"
    POSTMENOPAUSAL = "postmenopausal"
    UNKNOWN = "unknown"


class ScoreKind(StrEnum):
    T = "T"
    Z = "Z"
    BMD = "BMD"  # g/cm2, context only


class BoneSite(StrEnum):
    """Where a DXA value was measured, as far as the code and bodySite tell."""

    LUMBAR_SPINE = "lumbar-spine"  # region code; `vertebrae` says which levels when reported
    TOTAL_HIP = "total-hip"
    FEMORAL_NECK = "femoral-neck"
    FEMUR = "femur"  # proximal femur, region not stated (femur code without bodySite)
    RADIUS_33 = "radius-33"  # one-third (33%) radius
    FOREARM = "forearm"  # radius/ulna other than 33% radius, or region not stated: not diagnostic
    CALCANEUS = "calcaneus"
    WARDS = "wards"
    TROCHANTER = "trochanter"
    WHOLE_BODY = "whole-body"
    UNSPECIFIED = "unspecified"  # e.g. Synthea's generic "DXA [T-score] Bone density"

    @property
    def label(self) -> str:
        """How a clinician names the site (cards and data-quality findings use the same words)."""
        return _SITE_LABELS[self]


_SITE_LABELS: dict[BoneSite, str] = {
    BoneSite.LUMBAR_SPINE: "lumbar spine",
    BoneSite.TOTAL_HIP: "total hip",
    BoneSite.FEMORAL_NECK: "femoral neck",
    BoneSite.FEMUR: "femur",
    BoneSite.RADIUS_33: "33% radius",
    BoneSite.FOREARM: "forearm",
    BoneSite.CALCANEUS: "heel (calcaneus)",
    BoneSite.WARDS: "Ward's area",
    BoneSite.TROCHANTER: "greater trochanter",
    BoneSite.WHOLE_BODY: "whole body",
    BoneSite.UNSPECIFIED: "site not stated",
}


class Side(StrEnum):
    LEFT = "left"
    RIGHT = "right"


@dataclass(frozen=True, slots=True)
class DxaMeasurement:
    kind: ScoreKind
    site: BoneSite
    value: Decimal
    effective: date
    record: str
    side: Side | None = None
    vertebrae: tuple[str, ...] = ()  # e.g. ("L1", "L2"); empty when the whole region (L1-L4) is implied
    site_text: str | None = None  # as reported (bodySite text / display), for the card detail
    preliminary: bool = False
    code: str | None = None  # "system|code" as received


@dataclass(frozen=True, slots=True)
class DxaStudy:
    """All DXA values whose effective dates lie within one day of each other (decision table C-02)."""

    date: date
    measurements: tuple[DxaMeasurement, ...]


@dataclass(frozen=True, slots=True)
class FraxResult:
    effective: date
    records: tuple[str, ...]
    mof_percent: Decimal | None = None  # 10-year major osteoporotic fracture probability, %
    hip_percent: Decimal | None = None  # 10-year hip fracture probability, %
    glucocorticoid_input: bool | None = None  # was "glucocorticoids = yes" entered; None = not recorded
    bmd_used: bool | None = None
    preliminary: bool = False  # any of its observations was preliminary


class FractureSite(StrEnum):
    HIP = "hip"
    VERTEBRAL = "vertebral"
    DISTAL_FOREARM = "distal-forearm"
    PROXIMAL_HUMERUS = "proximal-humerus"
    PELVIS = "pelvis"
    OTHER = "other"  # e.g. rib, ankle: counted only when coded osteoporotic
    EXCLUDED = "excluded"  # skull, face, hands, fingers, feet, toes: never a fragility fracture


@dataclass(frozen=True, slots=True)
class Fracture:
    site: FractureSite
    onset: date | None
    record: str
    display: str
    coded_osteoporotic: bool = False  # M80.*, "osteoporotic fracture" SNOMED concepts, Z87.310
    # True: flagged low-trauma; False: high-energy mechanism recorded; None: unknown
    low_trauma: bool | None = None


class ConditionConcept(StrEnum):
    """Concept names the decision core reads from `ConditionFact.concept` (plain strings compare equal).

    Added for the decision core; extraction may emit other concepts too, the core ignores those.
    """

    OSTEOPOROSIS = "osteoporosis"  # coded diagnosis: bone-health context only, not a treatment trigger
    OSTEOPENIA = "osteopenia"  # coded low bone mass: bone-health context only
    RHEUMATOID_ARTHRITIS = "rheumatoid-arthritis"  # FRAX input
    PARENTAL_HIP_FRACTURE = "parental-hip-fracture"  # FRAX input, DATA-01 risk factor
    INJURIOUS_FALL = "injurious-fall"  # TX-02 (g), with onset
    PREMATURE_MENOPAUSE = "premature-menopause"  # secondary cause, new risk factor (TX-03 interval)
    HYPERPARATHYROIDISM = "hyperparathyroidism"
    HYPERTHYROIDISM = "hyperthyroidism"
    HYPOGONADISM = "hypogonadism"
    MALABSORPTION = "malabsorption"  # celiac disease, IBD, malabsorption syndromes
    TYPE1_DIABETES = "type-1-diabetes"
    CHRONIC_LIVER_DISEASE = "chronic-liver-disease"
    OSTEOGENESIS_IMPERFECTA = "osteogenesis-imperfecta"
    # Alendronate gates (TX-01): from AllergyIntolerance or Condition, whichever the chart uses
    BISPHOSPHONATE_INTOLERANCE = "bisphosphonate-intolerance"  # allergy or intolerance to any bisphosphonate
    ESOPHAGEAL_DISORDER = "esophageal-disorder"  # stricture, achalasia, delayed emptying, cannot sit upright
    BISPHOSPHONATE_HOLIDAY = "bisphosphonate-holiday"  # documented drug-holiday decision (MON-03)


@dataclass(frozen=True, slots=True)
class ConditionFact:
    """A coded condition mapped to one concept of fhir_mappings' condition list (e.g.
    "rheumatoid-arthritis")."""

    concept: str
    record: str
    display: str
    onset: date | None = None
    active: bool = True


class DrugClass(StrEnum):
    BISPHOSPHONATE_ORAL = "bisphosphonate-oral"
    ZOLEDRONIC_ACID = "zoledronic-acid"  # IV bisphosphonate
    DENOSUMAB = "denosumab"
    ANABOLIC = "anabolic"  # teriparatide, abaloparatide, romosozumab
    SERM = "serm"  # raloxifene, bazedoxifene
    CALCITONIN = "calcitonin"
    ESTROGEN = "estrogen"  # menopausal hormone therapy: not osteoporosis therapy (C-06)
    CALCIUM = "calcium"
    VITAMIN_D = "vitamin-d"
    GLUCOCORTICOID = "glucocorticoid"
    AROMATASE_INHIBITOR = "aromatase-inhibitor"
    ANDROGEN_DEPRIVATION = "androgen-deprivation"


class MedicationStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    STOPPED = "stopped"
    ON_HOLD = "on-hold"
    PLANNED = "planned"  # draft / intended / proposal: ordered but not yet taken or given
    UNKNOWN = "unknown"


class MedicationSource(StrEnum):
    STATEMENT = "MedicationStatement"
    REQUEST = "MedicationRequest"
    ADMINISTRATION = "MedicationAdministration"


@dataclass(frozen=True, slots=True)
class MedicationExposure:
    drug_class: DrugClass
    drug: str  # ingredient, lower case, e.g. "alendronate"
    status: MedicationStatus
    source: MedicationSource
    record: str
    display: str
    start: date | None = None
    end: date | None = None
    # dates a dose was given (MedicationAdministration, or a one-off statement)
    administrations: tuple[date, ...] = ()
    route: str | None = None  # "oral", "intravenous", "subcutaneous", "inhaled", "topical", ...
    dose_mg_per_day: Decimal | None = None
    prednisone_eq_mg_per_day: Decimal | None = None  # glucocorticoids only (C-07)
    planned_days: int | None = None  # planned duration of this course, when stated
    matched_by_text: bool = False  # recognised by ingredient name in text only (no listed code)
    product: str | None = None  # the brand when known ("Xgeva", "Fosamax")
    oncology: bool = False  # an oncology product or dose (Xgeva, Zometa): same class for the safety rules


class Analyte(StrEnum):
    VITAMIN_D_25OH = "25-oh-vitamin-d"  # canonical ng/mL
    CALCIUM = "calcium"  # mg/dL
    ALBUMIN = "albumin"  # g/dL
    PHOSPHATE = "phosphate"  # mg/dL
    PTH = "pth"  # pg/mL
    ALP = "alp"  # U/L
    TSH = "tsh"  # mIU/L
    CREATININE = "creatinine"  # mg/dL
    EGFR = "egfr"  # mL/min/1.73m2
    CBC = "cbc"  # presence only
    SPEP = "spep"  # presence only
    TESTOSTERONE = "testosterone"  # ng/dL
    CT_HU = "ct-hounsfield"  # vertebral CT attenuation, HU (local codes only)


@dataclass(frozen=True, slots=True)
class LabResult:
    analyte: Analyte
    effective: date
    record: str
    code: str  # "system|code" as received
    value: Decimal | None = None  # in the canonical unit of the analyte; None for panels (CBC, SPEP)
    unit: str | None = None  # canonical UCUM unit
    original_value: Decimal | None = None
    original_unit: str | None = None
    reference_low: Decimal | None = None  # canonical unit
    preliminary: bool = False
    comparator: str | None = None  # "<", ">", ... as reported (e.g. eGFR ">90"): `value` is then a bound


class SmokingStatus(StrEnum):
    CURRENT = "current"
    FORMER = "former"
    NEVER = "never"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Measured:
    value: Decimal
    effective: date
    record: str


@dataclass(frozen=True, slots=True)
class Lifestyle:
    weight_kg: Measured | None = None
    height_cm: Measured | None = None
    bmi: Measured | None = None
    smoking: SmokingStatus = SmokingStatus.UNKNOWN
    alcohol_units_per_day: Measured | None = None


@dataclass(frozen=True, slots=True)
class PlannedProcedure:
    kind: str  # "spinal-instrumentation"
    record: str
    display: str
    planned_date: date | None = None


class DataDomain(StrEnum):
    """The kinds of chart data a fact comes from (and that can be unavailable or only partly retrieved)."""

    PATIENT = "patient"
    DXA = "dxa"
    FRAX = "frax"
    LABS = "labs"
    VITALS = "vitals"
    CONDITIONS = "conditions"
    MEDICATIONS = "medications"
    PROCEDURES = "procedures"


class Vital(StrEnum):
    WEIGHT = "weight"
    HEIGHT = "height"
    BMI = "bmi"
    ALCOHOL = "alcohol"
    SMOKING = "smoking"


class FraxValue(StrEnum):
    MOF = "mof"  # 10-year major osteoporotic fracture probability
    HIP = "hip"  # 10-year hip fracture probability
    GLUCOCORTICOID_INPUT = "input-glucocorticoids"
    BMD_USED_INPUT = "input-bmd-used"


class IssueKind(StrEnum):
    """What is wrong with a piece of data. Which rules that affects is the core's decision
    (decision_core.data_issues.affected_rules), never the extraction's."""

    # found while reading the chart
    NO_DATE = "no-date"  # no effective date
    INCOMPLETE_DATE = "incomplete-date"  # e.g. a birth date of only a year
    NO_VALUE = "no-value"
    UNIT_MISSING = "unit-missing"
    UNIT_NOT_RECOGNISED = "unit-not-recognised"  # unknown, contradictory or not convertible
    IMPLAUSIBLE = "implausible"  # outside physiological / plausible limits
    COMPARATOR = "comparator"  # e.g. a T-score reported as "<-2.5"
    SAME_DAY_CONFLICT = "same-day-conflict"  # same-day results more than 10 % apart
    NO_DOSE = "no-dose"
    NO_DOSE_DATE = "no-dose-date"  # a drug whose doses must be dated, listed without any date
    UNCLASSIFIED_DRUG = "unclassified-drug"  # names an osteoporosis drug or a glucocorticoid, cannot be classified
    FUTURE_DATE = "future-date"  # a clinical date after NOW + 1 day: not used (§6)
    ANOTHER_PATIENT = "another-patient"  # a record about another patient, at any depth: dropped (§6)
    DXA_NOT_INTERPRETED = "dxa-not-interpreted"  # a DXA-coded result that could not be interpreted
    # found by the core while reading the facts
    MISSING = "missing"  # e.g. no birth date at all
    NO_START_DATE = "no-start-date"
    STUDY_NOT_USABLE = "study-not-usable"  # a DXA study none of whose values could be used
    VALUE_EXCLUDED = "value-excluded"  # an implausible or flagged value in an otherwise usable DXA study
    NO_DIAGNOSTIC_T_SCORE = "no-diagnostic-t-score"
    NOT_CANONICAL_UNIT = "not-canonical-unit"  # a lab value not in the unit the core interprets
    CONFLICTING_VALUES = "conflicting-values"  # newest same-day canonical values more than 10 % apart
    # found by the service while fetching
    NOT_RETRIEVED = "not-retrieved"
    PARTLY_RETRIEVED = "partly-retrieved"
    UNREADABLE = "unreadable"  # chart entries that failed validation


IssueTopic = Analyte | Vital | FraxValue | DrugClass


@dataclass(frozen=True, slots=True)
class DataIssue:
    """Something in the chart that could not be used as it stands: the rules treat it as missing (DATA-03).

    `item` and `reason` describe it for the clinician; `kind`, `domain` and `topic` say, as data, what is wrong
    with which data, so that the core can decide which rules it affects.
    """

    item: str  # what, for a clinician: "25-OH vitamin D 2026-01-03"
    reason: str  # why: "unit missing", "unit 'mmol' not recognised", "T-score 8.1 outside -6..+6"
    record: str | None = None
    kind: IssueKind = field(kw_only=True)
    domain: DataDomain | None = field(kw_only=True)  # None: the domain is unknown (an entry that could not be read)
    topic: IssueTopic | None = field(default=None, kw_only=True)  # which analyte, vital, FRAX value or drug class


@dataclass(frozen=True, slots=True)
class PatientFacts:
    """Everything the decision core may know about one patient, already normalized."""

    birth_date: date | None
    sex: Sex
    menopause: MenopauseStatus = MenopauseStatus.UNKNOWN
    dxa_studies: tuple[DxaStudy, ...] = ()  # newest first
    frax: tuple[FraxResult, ...] = ()  # newest first
    fractures: tuple[Fracture, ...] = ()
    conditions: tuple[ConditionFact, ...] = ()
    medications: tuple[MedicationExposure, ...] = ()
    labs: tuple[LabResult, ...] = ()  # newest first
    lifestyle: Lifestyle = field(default_factory=Lifestyle)
    planned_procedures: tuple[PlannedProcedure, ...] = ()
    data_issues: tuple[DataIssue, ...] = ()
    # Data domains ("labs", "medications", "conditions", "frax", "dxa", "procedures") that could not be
    # obtained at all, or only partly: rules that need them say what could not be checked instead of
    # assuming absence.
    unavailable: frozenset[str] = frozenset()
    partial: frozenset[str] = frozenset()
    unreadable_records: int = 0  # resources that failed validation and were skipped
    deceased: bool = False  # deceasedBoolean true, or deceasedDateTime on or before NOW: no cards (§6)

    def age_on(self, day: date) -> int | None:
        """Whole years of age on `day` (decision table §0)."""
        if self.birth_date is None:
            return None
        born = self.birth_date
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))

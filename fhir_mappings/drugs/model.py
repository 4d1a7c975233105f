"""What a recognised medication entry is: ingredients and class (decision table C-06 / C-07), product, strength,
dose form, route, RxNorm level, and how it was recognised. Plain frozen values; no FHIR type."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from .units import plain_decimal


class DrugClass(StrEnum):
    """Values equal those of `fhir_mappings.facts.DrugClass` where that enum has them; `MINERALOCORTICOID` is
    new (fludrocortisone, see codes/ingredients.yaml)."""

    BISPHOSPHONATE_ORAL = "bisphosphonate-oral"
    ZOLEDRONIC_ACID = "zoledronic-acid"
    DENOSUMAB = "denosumab"
    ANABOLIC = "anabolic"
    SERM = "serm"
    CALCITONIN = "calcitonin"
    ESTROGEN = "estrogen"
    CALCIUM = "calcium"
    VITAMIN_D = "vitamin-d"
    GLUCOCORTICOID = "glucocorticoid"
    MINERALOCORTICOID = "mineralocorticoid"
    AROMATASE_INHIBITOR = "aromatase-inhibitor"
    ANDROGEN_DEPRIVATION = "androgen-deprivation"

    @property
    def is_osteoporosis_therapy(self) -> bool:
        """C-06 classes; calcium, vitamin D and menopausal hormone therapy are not counted."""
        return self in OSTEOPOROSIS_THERAPY

    @property
    def is_bisphosphonate(self) -> bool:
        return self in (DrugClass.BISPHOSPHONATE_ORAL, DrugClass.ZOLEDRONIC_ACID)


OSTEOPOROSIS_THERAPY = frozenset(
    {
        DrugClass.BISPHOSPHONATE_ORAL,
        DrugClass.ZOLEDRONIC_ACID,
        DrugClass.DENOSUMAB,
        DrugClass.ANABOLIC,
        DrugClass.SERM,
        DrugClass.CALCITONIN,
    }
)


class Route(StrEnum):
    ORAL = "oral"
    SUBLINGUAL = "sublingual"
    INTRAVENOUS = "intravenous"
    INTRAMUSCULAR = "intramuscular"
    SUBCUTANEOUS = "subcutaneous"
    INJECTION = "injection"  # injected, route within that not known (IM/IV or intra-articular?)
    INTRA_ARTICULAR = "intra-articular"  # and other local injections (intralesional, epidural)
    INHALED = "inhaled"
    NASAL = "nasal"
    TOPICAL = "topical"
    TRANSDERMAL = "transdermal"
    OPHTHALMIC = "ophthalmic"
    OTIC = "otic"
    RECTAL = "rectal"
    VAGINAL = "vaginal"

    @property
    def glucocorticoid_systemic(self) -> bool | None:
        """C-07: oral, IV and IM doses are systemic exposure; inhaled, topical, nasal, eye, ear, rectal, vaginal
        and joint injections are not. None: an injection of unknown route, which could be either."""
        if self is Route.INJECTION:
            return None
        return self in _GC_SYSTEMIC


_GC_SYSTEMIC = frozenset({Route.ORAL, Route.SUBLINGUAL, Route.INTRAVENOUS, Route.INTRAMUSCULAR, Route.SUBCUTANEOUS})


class RouteBasis(StrEnum):
    """Where the route came from, strongest first."""

    DOSAGE = "dosage"  # Dosage.route of the request / statement / administration
    PRODUCT = "product"  # the brand implies it (Pred Forte is an eye drop)
    DOSE_FORM = "dose-form"  # the RxNorm dose form or Medication.form ("Oral Tablet", "Nasal Spray")
    TEXT = "text"  # route words in the entry's text ("inhaler", "PO")
    USUAL = "usual"  # nothing said; the ingredient's usual route (prednisone is oral)


class RxNormLevel(StrEnum):
    """RxNorm term types (TTY)."""

    IN = "IN"
    PIN = "PIN"
    MIN = "MIN"
    BN = "BN"
    SCDC = "SCDC"
    SBDC = "SBDC"
    SCDF = "SCDF"
    SBDF = "SBDF"
    SCDG = "SCDG"
    SBDG = "SBDG"
    SCD = "SCD"
    SBD = "SBD"
    GPCK = "GPCK"
    BPCK = "BPCK"


class MatchMethod(StrEnum):
    CODE = "code"  # a listed code (reference lists, codes/medications.yaml, or the site's extra codes)
    NAME = "name"  # no listed code: recognised by name; a card says "recognised by name"


class StrengthBasis(StrEnum):
    UNIT = "unit"  # per tablet / capsule / syringe / unit of the product
    ML = "mL"  # per millilitre (solutions, injections)
    ACTUATION = "actuation"  # per spray or puff
    DAY = "day"  # transdermal systems: released per day
    HOUR = "hour"
    PERCENT = "%"  # creams: g per 100 g


@dataclass(frozen=True, slots=True)
class Ingredient:
    id: str  # "alendronate" (the concept ids of codes/medications.yaml)
    name: str  # "alendronate"
    drug_class: DrugClass
    usual_route: Route | None = None
    systemic_exposure: bool = True  # glucocorticoids: False for budesonide
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Strength:
    """One ingredient's strength as the product states it. `amount` is in mg for masses (MCG and G are
    converted) and in international units for UNT/IU; `volume_ml` is the quantity of a quantified product
    ("1 ML denosumab 60 MG/ML Prefilled Syringe": 60 mg/mL x 1 mL)."""

    ingredient: str
    amount: Decimal
    unit: str  # "mg", "[iU]" or "meq" ("%" for creams)
    basis: StrengthBasis
    volume_ml: Decimal | None = None

    @property
    def mg_per_unit(self) -> Decimal | None:
        """mg in one tablet / capsule / syringe: per-unit strengths, or a concentration x a stated volume."""
        if self.unit != "mg":
            return None
        if self.basis is StrengthBasis.UNIT:
            return self.amount
        if self.basis is StrengthBasis.ML and self.volume_ml is not None:
            return self.amount * self.volume_ml
        return None

    @property
    def mg_per_ml(self) -> Decimal | None:
        if self.unit == "mg" and self.basis is StrengthBasis.ML:
            return self.amount
        return None

    def describe(self) -> str:
        amount = plain_decimal(self.amount)
        if self.basis in (StrengthBasis.UNIT, StrengthBasis.PERCENT):
            text = f"{amount} {self.unit}"
        else:
            text = f"{amount} {self.unit}/{self.basis.value}"
        if self.volume_ml is not None:
            text = f"{plain_decimal(self.volume_ml)} mL x {text}"
        return text


@dataclass(frozen=True, slots=True)
class Product:
    name: str  # "Fosamax"
    ingredients: tuple[str, ...]
    route: Route | None = None
    oncology: bool = False  # Xgeva, Zometa: same class for the safety rules, not the osteoporosis regimen
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the recognition rests on, for a card's detail and for a reviewer."""

    method: MatchMethod
    system: str | None = None  # the coding that matched (method CODE)
    code: str | None = None
    text: str | None = None  # the code's listed name, or the text a name was found in
    matched: tuple[str, ...] = ()  # method NAME: the names found ("Fosamax")
    source: str | None = None  # the listed code's source
    origin: str | None = None  # where the listed code is ("rxnorm-bone-drugs.tsv:123")
    verified: bool = True  # False for codes the reference marks unverified
    local: bool = False  # a site's own code


@dataclass(frozen=True, slots=True)
class DrugRecognition:
    """A medication entry recognised as one drug (one product, possibly with several ingredients)."""

    ingredients: tuple[Ingredient, ...]
    display: str  # the entry's name as recorded (or the listed code's name)
    method: MatchMethod
    evidence: Evidence
    product: Product | None = None
    strengths: tuple[Strength, ...] = ()
    dose_form: str | None = None  # RxNorm dose form name, or the Medication.form text
    unit_dose: bool | None = None  # True: one unit = one tablet / syringe; None: form unknown
    route: Route | None = None
    route_basis: RouteBasis | None = None
    rxnorm_level: RxNormLevel | None = None
    oncology: bool = False  # product or dose is an oncology regimen (Xgeva 120 mg, Zometa 4 mg)
    oncology_reason: str | None = None

    @property
    def drug_classes(self) -> tuple[DrugClass, ...]:
        return tuple(dict.fromkeys(i.drug_class for i in self.ingredients))

    @property
    def is_osteoporosis_therapy(self) -> bool:
        return any(i.drug_class.is_osteoporosis_therapy for i in self.ingredients)

    @property
    def primary(self) -> Ingredient:
        """The ingredient the entry is about: the first C-06 / glucocorticoid one (alendronate in Fosamax Plus
        D), else the first."""
        for i in self.ingredients:
            if i.drug_class.is_osteoporosis_therapy or i.drug_class is DrugClass.GLUCOCORTICOID:
                return i
        return self.ingredients[0]

    def strength_of(self, ingredient_id: str) -> Strength | None:
        return next((s for s in self.strengths if s.ingredient == ingredient_id), None)

    @property
    def systemic_glucocorticoid(self) -> bool:
        """C-07 exposure: a glucocorticoid ingredient that can be systemic, given by a systemic route.
        (Unknown routes never reach here: they are `UnclassifiedDrug`.)"""
        return any(i.drug_class is DrugClass.GLUCOCORTICOID and i.systemic_exposure for i in self.ingredients) and bool(
            self.route is not None and self.route.glucocorticoid_systemic
        )

    @property
    def product_name(self) -> str | None:
        return self.product.name if self.product else None


@dataclass(frozen=True, slots=True)
class UnclassifiedDrug:
    """An entry that names an osteoporosis drug or a glucocorticoid but cannot be classified (decision table
    §6 last row, §7.18): the caller raises a DATA-03 finding and, for C-06 drugs, must not say "not on
    osteoporosis medication" nor offer a treatment draft."""

    names: tuple[str, ...]  # what the entry names: ("prednisone",), ("bisphosphonate",)
    drug_classes: tuple[DrugClass, ...]  # the classes those names would have
    reason: str  # why it could not be classified, in words a card can quote
    display: str  # the entry's text as recorded
    method: MatchMethod
    evidence: Evidence

    @property
    def names_osteoporosis_drug(self) -> bool:
        return any(c.is_osteoporosis_therapy for c in self.drug_classes)

    @property
    def names_glucocorticoid(self) -> bool:
        return DrugClass.GLUCOCORTICOID in self.drug_classes

    def describe(self) -> str:
        """'names prednisone, could not be classified: no route (tablet, cream and enema all exist)'"""
        return f"names {' / '.join(self.names)}, could not be classified: {self.reason}"


Recognition = DrugRecognition | UnclassifiedDrug

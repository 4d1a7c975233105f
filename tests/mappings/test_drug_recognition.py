"""Drug recognition as EHRs send it: listed codes at every level, names and brands in free text, combination
and oncology products, routes, contradictions, and a site's local codes (fhir_mappings/drugs)."""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from fhir_mappings.drugs import (
    CatalogError,
    DrugClass,
    DrugRecognition,
    LocalDrugCode,
    MatchMethod,
    Route,
    RouteBasis,
    UnclassifiedDrug,
    default_catalog,
    load_catalog,
    local_codes_from_entries,
    recognise,
    recognise_resource,
)
from fhir_mappings.drugs.drug_catalog import INGREDIENTS_FILE, RXNORM
from fhir_mappings.quirks import repair_quirks
from fhir_mappings.terminology import load_terminology

SNOMED = "http://snomed.info/sct"
BRANDS = yaml.safe_load(INGREDIENTS_FILE.read_text(encoding="utf-8"))["products"]


def _rx(code: str, display: str | None = None, text: str | None = None) -> dict[str, Any]:
    coding: dict[str, Any] = {"system": RXNORM, "code": code}
    if display is not None:
        coding["display"] = display
    cc: dict[str, Any] = {"coding": [coding]}
    if text is not None:
        cc["text"] = text
    return cc


def _route(code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": SNOMED, "code": code, "display": display}]}


def _drug(result: Any) -> DrugRecognition:
    assert isinstance(result, DrugRecognition), result
    return result


# --- the sandbox case of issue 11 ------------------------------------------------------------------------------


def test_the_sandbox_alendronate_order_is_an_oral_bisphosphonate() -> None:
    """The CDS Hooks sandbox's MedicationRequest for RxNorm 904431 (read as "not on osteoporosis medication"
    before this package)."""
    request = {
        "resourceType": "MedicationRequest",
        "id": "request-123",
        "status": "draft",
        "category": {"text": "outpatient"},  # an object where R4 wants an array: the sandbox's quirk
        "medicationCodeableConcept": {
            "text": "Alendronic acid 70 MG Oral Tablet",
            "coding": [{"display": "Alendronic acid 70 MG Oral Tablet", "system": RXNORM, "code": "904431"}],
        },
        "dosageInstruction": [
            {
                "doseAndRate": [
                    {"doseQuantity": {"value": 1, "system": "http://unitsofmeasure.org", "code": "{pill}"}}
                ],
                "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "wk"}},
            }
        ],
    }
    r = _drug(recognise_resource(request))
    assert r.drug_classes == (DrugClass.BISPHOSPHONATE_ORAL,) and r.is_osteoporosis_therapy
    assert (r.method, r.evidence.code, r.rxnorm_level) == (MatchMethod.CODE, "904431", "SCD")
    assert r.strength_of("alendronate").mg_per_unit == 70 and r.route is Route.ORAL


# --- by name -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("brand", BRANDS, ids=[b["name"] for b in BRANDS])
def test_every_brand_is_recognised_by_name(brand: dict[str, Any]) -> None:
    for text in (brand["name"], brand["name"].upper(), f"{brand['name'].lower()} as directed"):
        r = recognise({"text": text})
        if isinstance(r, UnclassifiedDrug):  # Depo-Medrol, Kenalog ...: a steroid injection needs its route
            assert r.names_glucocorticoid and "route" in r.reason
            r = recognise({"text": text}, route=_route("78421000", "Intramuscular route"))
        r = _drug(r)
        assert r.method is MatchMethod.NAME and r.product_name == brand["name"]
        assert [i.id for i in r.ingredients] == brand["ingredients"]
        assert r.oncology is bool(brand.get("oncology"))


@pytest.mark.parametrize(
    ("text", "ingredients", "product", "strength_mg", "route"),
    [
        ("Alendronic acid 70 MG Oral Tablet [Fosamax]", ["alendronate"], "Fosamax", "70", Route.ORAL),
        ("fosamax 70mg weekly", ["alendronate"], "Fosamax", "70", Route.ORAL),
        ("FOSAMAX 70 MG TAB", ["alendronate"], "Fosamax", "70", Route.ORAL),
        ("Fosamax\u00ae 70 mg tablet", ["alendronate"], "Fosamax", "70", Route.ORAL),
        ("alendronate sodium 70 mg PO q week", ["alendronate"], None, "70", Route.ORAL),
        ("Fosamax Plus D 70 mg/2800 IU", ["alendronate", "vitamin-d"], "Fosamax Plus D", "70", Route.ORAL),
        ("Binosto 70 mg effervescent tablet", ["alendronate"], "Binosto", "70", Route.ORAL),
        ("risedronate 35mg weekly", ["risedronate"], None, "35", Route.ORAL),
        ("Atelvia 35 mg DR tab", ["risedronate"], "Atelvia", "35", Route.ORAL),
        ("Boniva 150 mg monthly", ["ibandronate"], "Boniva", "150", Route.ORAL),
        ("ibandronate 3 mg IV every 3 months", ["ibandronate"], None, "3", Route.INTRAVENOUS),
        ("zoledronate 5 mg IV yearly", ["zoledronic-acid"], None, "5", Route.INTRAVENOUS),
        ("Aclasta 5mg infusion", ["zoledronic-acid"], "Aclasta", "5", Route.INTRAVENOUS),
        ("Prolia 60 mg SC every 6 months", ["denosumab"], "Prolia", "60", Route.SUBCUTANEOUS),
        ("denosumab-bbdz (Jubbonti) 60 mg", ["denosumab"], "Jubbonti", "60", Route.SUBCUTANEOUS),
        ("Forteo 20 mcg daily", ["teriparatide"], "Forteo", "0.02", Route.SUBCUTANEOUS),
        ("Tymlos 80 mcg subcut daily", ["abaloparatide"], "Tymlos", "0.08", Route.SUBCUTANEOUS),
        ("Evenity 210 mg monthly", ["romosozumab"], "Evenity", "210", Route.SUBCUTANEOUS),
        ("romosozumab-aqqg", ["romosozumab"], None, None, Route.SUBCUTANEOUS),
        ("Evista 60 mg daily", ["raloxifene"], "Evista", "60", Route.ORAL),
        ("Duavee", ["bazedoxifene", "conjugated-estrogens"], "Duavee", None, Route.ORAL),
        ("Miacalcin nasal spray 200 units", ["calcitonin"], "Miacalcin", None, Route.NASAL),
        ("calcitonin salmon 100 units SC", ["calcitonin"], None, None, Route.SUBCUTANEOUS),
        ("Deltasone 20 mg", ["prednisone"], "Deltasone", "20", Route.ORAL),
        ("Rayos 5 mg delayed release", ["prednisone"], "Rayos", "5", Route.ORAL),
        ("prednisone 5mg daily", ["prednisone"], None, "5", Route.ORAL),
        ("PredniSONE 10 mg tablet", ["prednisone"], None, "10", Route.ORAL),
        ("Medrol Dosepak", ["methylprednisolone"], "Medrol", None, Route.ORAL),
        ("Medrol 4 mg dose pack", ["methylprednisolone"], "Medrol", "4", Route.ORAL),
        ("Solu-Medrol 125 mg IV", ["methylprednisolone"], "Solu-Medrol", "125", Route.INTRAVENOUS),
        ("solumedrol 40mg", ["methylprednisolone"], "Solu-Medrol", "40", Route.INTRAVENOUS),
        ("Decadron 4 mg", ["dexamethasone"], "Decadron", "4", Route.ORAL),
        ("dexamethasone 6 mg PO daily", ["dexamethasone"], None, "6", Route.ORAL),
        ("Cortef 10 mg twice daily", ["hydrocortisone"], "Cortef", "10", Route.ORAL),
        ("Orapred ODT 15 mg", ["prednisolone"], "Orapred", "15", Route.ORAL),
        ("Millipred 5 mg", ["prednisolone"], "Millipred", "5", Route.ORAL),
        ("prednisolone 15 mg/5 mL oral solution", ["prednisolone"], None, None, Route.ORAL),
        ("Emflaza 36 mg", ["deflazacort"], "Emflaza", "36", Route.ORAL),
        ("cortisone acetate 25 mg", ["cortisone"], None, "25", Route.ORAL),
        ("Caltrate 600 + vitamin D3", ["calcium", "vitamin-d"], "Caltrate", None, Route.ORAL),  # 600: no unit
        ("Vitamin D3 1000 IU daily", ["vitamin-d"], None, None, Route.ORAL),
        ("ergocalciferol 50,000 units weekly", ["vitamin-d"], None, None, Route.ORAL),
        ("Arimidex 1 mg", ["anastrozole"], "Arimidex", "1", Route.ORAL),
        ("Lupron Depot 22.5 mg IM q3 months", ["leuprolide"], "Lupron", "22.5", Route.INTRAMUSCULAR),
        ("Premarin 0.625 mg", ["conjugated-estrogens"], "Premarin", "0.625", None),
    ],
)
def test_real_world_strings(
    text: str, ingredients: list[str], product: str | None, strength_mg: str | None, route: Route | None
) -> None:
    r = _drug(recognise(text))
    assert [i.id for i in r.ingredients] == ingredients
    assert r.product_name == product
    assert r.method is MatchMethod.NAME and r.evidence.matched  # a card can say "recognised by name"
    primary = r.strength_of(r.primary.id)
    assert (primary.mg_per_unit if primary else None) == (Decimal(strength_mg) if strength_mg else None)
    assert r.route is route


@pytest.mark.parametrize(
    ("text", "ingredient", "systemic", "route"),
    [
        ("prednisolone acetate 1% ophthalmic suspension", "prednisolone", False, Route.OPHTHALMIC),
        ("Pred Forte 1% eye drops", "prednisolone", False, Route.OPHTHALMIC),
        ("hydrocortisone 1% cream", "hydrocortisone", False, Route.TOPICAL),
        ("hydrocortisone 2.5% topical ointment", "hydrocortisone", False, Route.TOPICAL),
        ("Anusol-HC suppository", "hydrocortisone", False, Route.RECTAL),
        ("hydrocortisone 100 mg enema", "hydrocortisone", False, Route.RECTAL),
        ("Cortifoam", "hydrocortisone", False, Route.RECTAL),
        ("triamcinolone acetonide 0.1% Topical Cream", "triamcinolone", False, Route.TOPICAL),
        ("Nasacort 55 mcg nasal spray", "triamcinolone", False, Route.NASAL),
        ("Zilretta 32 mg", "triamcinolone", False, Route.INTRA_ARTICULAR),
        ("triamcinolone 40 mg intra-articular injection", "triamcinolone", False, Route.INTRA_ARTICULAR),
        ("dexamethasone 0.1% eye drops", "dexamethasone", False, Route.OPHTHALMIC),
        ("Ciprodex otic", "dexamethasone", False, Route.OTIC),
        ("betamethasone dipropionate 0.05% cream", "betamethasone", False, Route.TOPICAL),
        ("budesonide 180 mcg inhaler 2 puffs bid", "budesonide", False, Route.INHALED),
        ("Pulmicort Flexhaler", "budesonide", False, Route.INHALED),
        ("budesonide 9 mg ER tablet", "budesonide", False, Route.ORAL),  # gut-selective: never C-07 exposure
        ("Kenalog-40 40 mg IM", "triamcinolone", True, Route.INTRAMUSCULAR),
        ("methylprednisolone 4 mg", "methylprednisolone", True, Route.ORAL),
        ("Solu-Cortef 100 mg", "hydrocortisone", True, Route.INTRAVENOUS),
    ],
)
def test_glucocorticoid_routes_inhaled_and_topical_are_not_systemic(
    text: str, ingredient: str, systemic: bool, route: Route
) -> None:
    r = _drug(recognise(text))
    assert r.primary.id == ingredient and r.route is route
    assert r.systemic_glucocorticoid is systemic


def test_fludrocortisone_is_recognised_but_not_glucocorticoid_exposure() -> None:
    r = _drug(recognise("Florinef 0.1 mg daily"))
    assert r.drug_classes == (DrugClass.MINERALOCORTICOID,) and not r.systemic_glucocorticoid


@pytest.mark.parametrize(
    "text",
    [
        "atorvastatin calcium 20 MG Oral Tablet",
        "rosuvastatin calcium 10 mg",
        "leucovorin calcium 15 mg",
        "amlodipine (calcium channel blocker) 5 mg",
        "Calcium Pantothenate 500 MG Oral Tablet",
        "calcium polycarbophil 625 mg (FiberCon)",
        "Calcitriol 0.25 mcg",  # active vitamin D analogue: not vitamin D supplementation
        "paricalcitol 1 mcg",
        "Vitamin B12 1000 mcg",
        "medroxyprogesterone 10 mg",
        "nonsteroidal anti-inflammatory",
        "non-steroidal anti-inflammatory drug",
        "testosterone cypionate (anabolic steroid)",
        "erenumab (calcitonin gene-related peptide antagonist)",
        "procalcitonin",
        "tamoxifen 20 mg",
        "fluticasone nasal spray",
        "steroid cream",
        "inhaled corticosteroids",
        "lisinopril 10 mg",
        "Proliant",
        "dexamethasonex",
        "",
        "   ",
    ],
)
def test_no_false_positives(text: str) -> None:
    assert recognise(text) is None


def test_calcium_inside_other_words_is_not_calcium_but_real_salts_are() -> None:
    assert recognise("tricalcium phosphate 600 mg") is not None  # a calcium supplement salt
    assert recognise("calcium carbonate 500 mg") is not None
    assert recognise("oscal 500") is not None and recognise("Os-Cal 500").product_name == "Os-Cal"  # type: ignore[union-attr]


# --- codes ---------------------------------------------------------------------------------------------------


def test_a_listed_code_wins_over_its_display_and_says_so() -> None:
    r = _drug(recognise(_rx("904433", "Alendronic acid 70 MG Oral Tablet [Fosamax]")))
    assert r.method is MatchMethod.CODE and r.product_name == "Fosamax" and r.rxnorm_level == "SBD"
    assert r.evidence.origin and "rxnorm-bone-drugs.tsv" in r.evidence.origin


def test_an_unknown_code_falls_back_to_its_display_by_name() -> None:
    r = _drug(recognise(_rx("99999901", "Alendronic acid 70 MG Oral Tablet")))
    assert r.method is MatchMethod.NAME and r.primary.id == "alendronate"
    assert r.strength_of("alendronate").mg_per_unit == 70 and r.dose_form == "Oral Tablet"


@pytest.mark.parametrize(
    "system", [RXNORM, "urn:oid:2.16.840.1.113883.6.88", RXNORM + "/", "https://www.nlm.nih.gov/research/umls/rxnorm"]
)
def test_rxnorm_system_spellings(system: str) -> None:
    r = _drug(recognise({"coding": [{"system": system, "code": "904431"}]}))
    assert r.method is MatchMethod.CODE


def test_atc_codes_and_the_alendronate_cholecalciferol_combination() -> None:
    r = _drug(recognise({"coding": [{"system": "http://www.whocc.no/atc", "code": "m05bb03"}]}))
    assert [i.id for i in r.ingredients] == ["alendronate", "vitamin-d"]


@pytest.mark.parametrize(
    ("code", "ingredients"),
    [
        ("904462", ["alendronate", "vitamin-d"]),  # Alendronic acid 70 MG / Cholecalciferol 5600 UNT Oral Tablet
        ("904465", ["alendronate", "vitamin-d"]),  # ... [Fosamax Plus D]
        ("1441740", ["bazedoxifene", "conjugated-estrogens"]),  # ... [Duavee]
        ("1310948", ["calcium", "vitamin-d"]),  # Calcium Carbonate 1500 MG / Cholecalciferol 800 UNT Oral Tablet
    ],
)
def test_combination_products_yield_every_ingredient(code: str, ingredients: list[str]) -> None:
    r = _drug(recognise(_rx(code)))
    assert [i.id for i in r.ingredients] == ingredients
    assert all(r.strength_of(i) is not None for i in ingredients)
    assert r.primary.id == ingredients[0]


def test_oncology_products_and_doses_are_flagged_same_class() -> None:
    xgeva = _drug(recognise("Xgeva 120 mg"))
    assert xgeva.oncology and xgeva.drug_classes == (DrugClass.DENOSUMAB,) and "Xgeva" in (xgeva.oncology_reason or "")
    zometa = _drug(recognise("Zometa 4 mg/100 mL IV"))
    assert zometa.oncology and zometa.drug_classes == (DrugClass.ZOLEDRONIC_ACID,)
    # No brand, but the dose is the oncology one: denosumab 120 mg (1.7 mL x 70 mg/mL), zoledronic acid 4 mg.
    assert _drug(recognise("1.7 ML denosumab 70 MG/ML Injection")).oncology
    synthea = _drug(recognise(_rx("1114085")))  # 100 ML zoledronic acid 0.04 MG/ML Injection
    assert synthea.oncology and "4 mg" in (synthea.oncology_reason or "")
    for regimen in ("Prolia 60 mg", "Reclast 5 mg", _rx("993452"), "100 ML zoledronic acid 0.05 MG/ML Injection"):
        assert not _drug(recognise(regimen)).oncology
    # A Reclast code whose text says Zometa: the oncology product is named.
    assert _drug(recognise({"coding": [{"system": RXNORM, "code": "77655"}], "text": "Zometa 4 mg"})).oncology


# --- routes --------------------------------------------------------------------------------------------------


def test_route_precedence_dosage_then_product_then_form_then_text_then_usual() -> None:
    scd = _rx("312617")  # prednisone 5 MG Oral Tablet
    assert _drug(recognise(scd)).route_basis is RouteBasis.DOSE_FORM
    assert _drug(recognise(scd, route=_route("26643006", "Oral route"))).route_basis is RouteBasis.DOSAGE
    assert _drug(recognise("Maxidex")).route_basis is RouteBasis.PRODUCT
    assert _drug(recognise("prednisone 5 mg by mouth")).route_basis is RouteBasis.TEXT
    assert _drug(recognise("prednisone")).route_basis is RouteBasis.USUAL
    coded_only = recognise(_rx("5492"), route={"coding": [{"system": SNOMED, "code": "6064005"}]})  # topical
    assert _drug(coded_only).route is Route.TOPICAL and not _drug(coded_only).systemic_glucocorticoid


# --- could not be classified ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "route", "names", "reason"),
    [
        ("hydrocortisone 10 mg", None, ("hydrocortisone",), "no route"),
        (_rx("5492", "Hydrocortisone"), None, ("hydrocortisone",), "no route"),
        ("Kenalog-40 injection", None, ("triamcinolone",), "injection of unknown route"),
        ("Depo-Medrol 80 mg", None, ("methylprednisolone",), "injection of unknown route"),
        ("dexamethasone 4 mg/mL injectable solution", None, ("dexamethasone",), "injection of unknown route"),
        (_rx("312617"), _route("6064005", "Topical route"), ("prednisone",), "dose form is oral"),
        (
            _rx("904431", text="prednisone 5 mg"),
            None,
            ("alendronate", "prednisone"),
            "code RxNorm 904431 is alendronate",
        ),
        (
            {"coding": [{"system": RXNORM, "code": "904431"}, {"system": RXNORM, "code": "312617"}]},
            None,
            ("alendronate", "prednisone"),
            "codes disagree",
        ),
        (
            {"coding": [{"display": "alendronate"}], "text": "risedronate"},
            None,
            ("alendronate", "risedronate"),
            "names disagree",
        ),
        ("alendronate or risedronate", None, ("alendronate", "risedronate"), "2 different drugs"),
        ("bisphosphonate infusion", None, ("bisphosphonate",), "names the drug class"),
        ("Steroids", None, ("steroid",), "names the drug class"),
        ("oral steroid taper", None, ("steroid",), "names the drug class"),
    ],
)
def test_named_but_unclassifiable_is_a_distinct_outcome_never_none(
    entry: Any, route: Any, names: tuple[str, ...], reason: str
) -> None:
    r = recognise(entry, route=route)
    assert isinstance(r, UnclassifiedDrug), r
    assert r.names == names and reason in r.reason
    assert r.describe().startswith(f"names {' / '.join(names)}, could not be classified: ")
    assert r.names_osteoporosis_drug or r.names_glucocorticoid


def test_unclassified_osteoporosis_drug_blocks_not_on_medication() -> None:
    r = recognise("bisphosphonate")
    assert isinstance(r, UnclassifiedDrug) and r.names_osteoporosis_drug
    assert set(r.drug_classes) == {DrugClass.BISPHOSPHONATE_ORAL, DrugClass.ZOLEDRONIC_ACID}


# --- Medication resources ------------------------------------------------------------------------------------


def test_contained_medication_with_ingredients_and_strength() -> None:
    statement = {
        "resourceType": "MedicationStatement",
        "status": "active",
        "medicationReference": {"reference": "#med1"},
        "contained": [
            {
                "resourceType": "Medication",
                "id": "med1",
                "code": {"text": "Hospital formulary item 4471"},
                "form": {"coding": [{"system": SNOMED, "code": "421026006", "display": "Oral tablet"}]},
                "ingredient": [
                    {
                        "itemCodeableConcept": {
                            "coding": [{"system": RXNORM, "code": "46041", "display": "Alendronate"}]
                        },
                        "strength": {
                            "numerator": {
                                "value": 70,
                                "unit": "mg",
                                "system": "http://unitsofmeasure.org",
                                "code": "mg",
                            },
                            "denominator": {"value": 1, "unit": "tablet", "code": "{tbl}"},
                        },
                    },
                    {
                        "itemCodeableConcept": {
                            "coding": [{"system": RXNORM, "code": "2418", "display": "Cholecalciferol"}]
                        },
                        "strength": {
                            "numerator": {"value": 70, "code": "ug"},
                            "denominator": {"value": 1, "code": "1"},
                        },
                    },
                ],
            }
        ],
    }
    r = _drug(recognise_resource(statement))
    assert [i.id for i in r.ingredients] == ["alendronate", "vitamin-d"] and r.method is MatchMethod.CODE
    assert r.strength_of("alendronate").mg_per_unit == 70 and r.route is Route.ORAL


def test_referenced_medication_by_name_only_and_by_reference_display() -> None:
    meds = {"abc": {"resourceType": "Medication", "id": "abc", "code": {"text": "Prolia 60 mg/mL syringe"}}}
    admin = {
        "resourceType": "MedicationAdministration",
        "status": "completed",
        "medicationReference": {"reference": "urn:uuid:abc"},
        "dosage": {"route": {"text": "subcutaneous"}},
    }
    r = _drug(recognise_resource(admin, meds))
    assert r.product_name == "Prolia" and r.method is MatchMethod.NAME and r.route_basis is RouteBasis.DOSAGE
    unresolved = {
        "resourceType": "MedicationRequest",
        "medicationReference": {"reference": "Medication/zz", "display": "Fosamax 70"},
    }
    assert _drug(recognise_resource(unresolved)).product_name == "Fosamax"
    assert (
        recognise_resource({"resourceType": "MedicationRequest", "medicationReference": {"reference": "Medication/zz"}})
        is None
    )


def test_fhir_resources_models_are_accepted() -> None:
    from fhir.resources.R4B.codeableconcept import CodeableConcept

    cc = CodeableConcept.model_validate(_rx("904431", "Alendronic acid 70 MG Oral Tablet"))
    assert _drug(recognise(cc)).evidence.code == "904431"


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "coding",
                    "text",
                    "system",
                    "code",
                    "display",
                    "route",
                    "ingredient",
                    "strength",
                    "numerator",
                    "denominator",
                    "value",
                    "unit",
                    "medicationReference",
                    "reference",
                    "contained",
                    "resourceType",
                    "id",
                    "dosage",
                    "dosageInstruction",
                    "form",
                    "medicationCodeableConcept",
                    "itemCodeableConcept",
                ]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(_json, _json, _json)
def test_any_json_never_raises(concept: Any, medication: Any, route: Any) -> None:
    r = recognise(concept, medication if isinstance(medication, dict) else None, route=route)
    assert r is None or isinstance(r, DrugRecognition | UnclassifiedDrug)
    r2 = recognise_resource(
        concept if isinstance(concept, dict) else {}, {"x": medication} if isinstance(medication, dict) else {}
    )
    assert r2 is None or isinstance(r2, DrugRecognition | UnclassifiedDrug)


# --- the same drug named again (the catalog's memo of recognitions) ------------------------------------------


def _request(concept: Any, route: Any = None, **members: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"resourceType": "MedicationRequest", "status": "active", "intent": "order", **members}
    if concept is not None:
        entry["medicationCodeableConcept"] = concept
    if route is not None:
        entry["dosageInstruction"] = [{"route": route}]
    return entry


Named = tuple[dict[str, Any], dict[str, Any], tuple[Any, Any, list[Any]]]  # entry, Medications, recognise's inputs


def _coded(code: Any) -> Named:
    concept = {"coding": [{"system": RXNORM, "code": code}]}
    return _request(concept), {}, (concept, None, [])


def _contained(form: Any) -> Named:
    medication = {"resourceType": "Medication", "id": "c", "code": {"text": "prednisone"}, "form": form}
    entry = _request(None, medicationReference={"reference": "#c"}, contained=[medication])
    return entry, {}, (medication["code"], medication, [])


PREDNISONE_TEXT = {"text": "prednisone 5 mg"}
PROLIA = {"m1": {"code": {"text": "Prolia"}}}
FOSAMAX = {"m1": {"code": {"text": "Fosamax"}}}
ORAL, TOPICAL = _route("26643006", "Oral route"), _route("6064005", "Topical route")
# Entries that name their drug alike in all but one input recognition reads (route, Medication, a code's JSON
# type), each with what `recognise` is given for it (concept, medication, routes): a memo that confused two of
# them would answer one with the other.
MEMO_ENTRIES: list[Named] = [
    (_request(PREDNISONE_TEXT), {}, (PREDNISONE_TEXT, None, [])),
    (_request(PREDNISONE_TEXT, ORAL), {}, (PREDNISONE_TEXT, None, [ORAL])),
    (_request(PREDNISONE_TEXT, TOPICAL), {}, (PREDNISONE_TEXT, None, [TOPICAL])),
    (_request(PREDNISONE_TEXT, {"text": "topical"}), {}, (PREDNISONE_TEXT, None, [{"text": "topical"}])),
    (_request(PREDNISONE_TEXT, "oral"), {}, (PREDNISONE_TEXT, None, ["oral"])),
    (_request(_rx("904431")), {}, (_rx("904431"), None, [])),
    *(_coded(code) for code in (904431, 904431.0, True)),  # a number is read as its digits, not a float or bool
    (_request(""), {}, ({}, None, [])),
    (_request({}), {}, ({}, None, [])),
    (_request("Fosamax 70"), {}, ("Fosamax 70", None, [])),
    (
        _request(None, medicationReference={"reference": "Medication/m1"}),
        PROLIA,
        (PROLIA["m1"]["code"], PROLIA["m1"], []),
    ),
    (
        _request(None, medicationReference={"reference": "Medication/m1"}),
        FOSAMAX,
        (FOSAMAX["m1"]["code"], FOSAMAX["m1"], []),
    ),
    (
        _request(None, medicationReference={"reference": "Medication/m1", "display": "Evista 60 mg"}),
        {},
        ("Evista 60 mg", None, []),
    ),
    _contained({"text": "cream"}),
    _contained({"text": "oral tablet"}),
    (
        _request({"text": "x" * 5000 + " prednisone"}, "oral"),
        {},
        ({"text": "x" * 5000 + " prednisone"}, None, ["oral"]),
    ),
]


def test_a_drug_named_again_is_answered_as_recognising_it_alone_is() -> None:
    alone = [recognise(concept, medication, route=routes) for _, _, (concept, medication, routes) in MEMO_ENTRIES]
    assert len({repr(r) for r in alone}) >= 10  # the entries do differ in what they are recognised as
    pairs = list(zip(MEMO_ENTRIES, alone, strict=True))
    for _ in range(2):  # the second pass is answered from the memo
        for (entry, medications, _), expected in [*pairs, *reversed(pairs)]:
            assert recognise_resource(copy.deepcopy(entry), copy.deepcopy(medications)) == expected, entry
    assert recognise_resource(_request(None, medicationReference={"reference": "Medication/m1"})) is None


def test_a_drug_named_again_is_answered_from_the_catalog_asked() -> None:
    local = LocalDrugCode("urn:local", "7", "Prednisone 5 mg tablet", "prednisone", "local list", "extra.yaml:1")
    catalog = load_catalog([local])
    entry = _request({"coding": [{"system": "urn:local", "code": "7"}]}, "oral")
    assert recognise_resource(entry) is None
    assert _drug(recognise_resource(entry, catalog=catalog)).primary.id == "prednisone"
    assert recognise_resource(entry) is None


def test_the_memo_starts_over_when_full_and_keeps_answering_right() -> None:
    catalog = load_catalog([LocalDrugCode("urn:local", "7", "Prednisone", "prednisone", "local list", "extra.yaml:1")])
    for n in range(2500):
        route = "topical" if n % 3 else "oral"
        entry = _request({"text": f"prednisone {n} mg"}, route)
        assert recognise_resource(entry, catalog=catalog) == recognise(
            {"text": f"prednisone {n} mg"}, route=[route], catalog=catalog
        )
    assert 0 < len(catalog._cache.recognitions) <= 2048  # bounded


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_json, _json), min_size=1, max_size=6))
def test_any_json_named_again_is_answered_as_recognising_it_alone_is(members: list[tuple[Any, Any]]) -> None:
    for concept, route in members * 2:
        entry = {
            "resourceType": "MedicationStatement",
            "medicationCodeableConcept": concept,
            "dosage": {"route": route},
        }
        alone = None if concept is None else recognise(concept or {}, route=[] if route is None else [route])
        assert recognise_resource(entry) == alone


def test_dosage_routes_are_read_from_any_mapping_and_list_but_not_other_shapes() -> None:
    class Lines(list[Any]):
        pass

    concept = {"text": "prednisone"}
    topical = recognise(concept, route=[{"text": "topical"}])
    assert topical != recognise(concept)  # the route is what decides here
    for dosage in (
        [{"text": "x"}, {"route": {"text": "topical"}}],
        [MappingProxyType({"route": {"text": "topical"}})],
        Lines([{"route": {"text": "topical"}}]),
        {"route": {"text": "topical"}},
        MappingProxyType({"route": {"text": "topical"}}),
    ):
        for member in ("dosage", "dosageInstruction"):
            assert recognise_resource({"medicationCodeableConcept": concept, member: dosage}) == topical, dosage
    for odd in (({"route": {"text": "topical"}},), "topical", [["topical"]], [None], 7):
        assert recognise_resource({"medicationCodeableConcept": concept, "dosage": odd}) == recognise(concept), odd


def test_recognition_reads_a_quirky_entry_as_its_repaired_copy() -> None:
    """fhir_mappings.extract recognises the raw entry, not the copy repair_quirks makes: each quirk of the table
    must leave recognition unchanged."""
    steroid = {"coding": [{"system": RXNORM, "code": "312617", "display": "predniSONE 5 MG Oral Tablet"}]}
    topical = _route("6064005", "Topical route")
    entries: list[dict[str, Any]] = [
        {  # single-object dosageInstruction with a route, STU3 dose, no intent
            "resourceType": "MedicationRequest",
            "status": "active",
            "medicationCodeableConcept": {"text": "prednisone"},
            "category": {"text": "outpatient"},
            "dosageInstruction": {"route": topical, "doseQuantity": {"value": 1}},
        },
        {  # doseAndRate as one object next to a route
            "resourceType": "MedicationRequest",
            "status": "active",
            "intent": "order",
            "medicationCodeableConcept": steroid,
            "dosageInstruction": [{"route": topical, "doseAndRate": {"doseQuantity": {"value": 2}}}, "odd"],
        },
        {  # MedicationStatement.dosage as one object, STU3 rate
            "resourceType": "MedicationStatement",
            "status": "active",
            "medicationCodeableConcept": {"text": "hydrocortisone"},
            "dosage": {"route": {"text": "intravenous"}, "rateQuantity": {"value": 1}},
        },
        {
            "resourceType": "MedicationStatement",
            "status": "active",
            "medicationCodeableConcept": {"text": "hydrocortisone"},
            "dosage": [{"route": {"text": "intravenous"}, "doseRange": {"low": {"value": 1}}, "doseAndRate": []}],
        },
    ]
    for entry in entries:
        repaired = repair_quirks(entry)
        assert repaired.quirks, entry  # each entry does have a quirk
        assert recognise_resource(entry) == recognise_resource(repaired.resource), entry
        assert recognise_resource(entry) is not None


# --- a site's local codes ------------------------------------------------------------------------------------


def test_local_medication_codes_from_the_extra_codes_file(tmp_path: Path) -> None:
    extra = tmp_path / "extra.yaml"
    extra.write_text(
        yaml.safe_dump(
            [
                {
                    "domain": "medications",
                    "system": "http://hospital.example/formulary",
                    "code": "88017",
                    "concept": "prednisone",
                    "display": "PREDNISONE 5MG TAB (formulary)",
                    "source": "Pharmacy formulary 2025",
                    "strength_mg": 5,
                    "route": "oral",
                },
                {
                    "domain": "medications",
                    "system": "http://hospital.example/formulary",
                    "code": "DMAB-ONC",
                    "concept": "denosumab",
                    "display": "Denosumab 120 mg (oncology clinic stock)",
                    "source": "Pharmacy formulary 2025",
                },
            ]
        ),
        encoding="utf-8",
    )
    term = load_terminology(extra)
    catalog = load_catalog(local_codes_from_entries(term.entries("medications")))
    local = {"coding": [{"system": "http://hospital.example/formulary", "code": "88017"}]}
    r = _drug(recognise(local, catalog=catalog))
    assert r.method is MatchMethod.CODE and r.evidence.local and r.evidence.source == "Pharmacy formulary 2025"
    assert r.systemic_glucocorticoid and r.strength_of("prednisone").mg_per_unit == 5
    onc = _drug(
        recognise({"coding": [{"system": "http://hospital.example/formulary", "code": "DMAB-ONC"}]}, catalog=catalog)
    )
    assert onc.oncology
    assert recognise(local) is None  # the default catalog knows no local codes
    assert default_catalog().lookup("http://hospital.example/formulary", "88017") is None


def test_a_local_code_cannot_remap_a_listed_one() -> None:
    clash = LocalDrugCode(RXNORM, "904431", "Risedronate (local)", "risedronate", "local list", "extra.yaml:3")
    with pytest.raises(CatalogError, match="904431 means risedronate here but alendronate"):
        load_catalog([clash])


def test_a_local_code_whose_name_reads_as_another_drug_is_refused() -> None:
    wrong = LocalDrugCode("urn:local", "7", "Prednisone 5 mg tablet", "alendronate", "local list", "extra.yaml:9")
    with pytest.raises(CatalogError, match=r"extra\.yaml:9: .*says alendronate but the name reads as prednisone"):
        load_catalog([wrong])

"""Drug recognition at every RxNorm level, by code or by name (decision table §1.1, C-06, C-07).

```python
from fhir_mappings.drugs import recognise, recognise_resource, daily_dose_mg, load_catalog

catalog = load_catalog(local_codes)            # at start-up; raises CatalogError
r = recognise(request["medicationCodeableConcept"], route=dosage["route"], catalog=catalog)
# DrugRecognition (ingredients, class, product, strength, route, RxNorm level, method code/name),
# UnclassifiedDrug (names a bone drug or a glucocorticoid, could not be classified: why), or None.
daily_dose_mg(r, {"value": 2, "code": "{tbl}"}, per_day=1)   # "Prednisone 5 MG Oral Tablet": 10 mg/day
```

Self-contained: no import of `fhir_mappings.facts`, `terminology` or `decision_core`. See fhir_mappings/README.md
("How medications are recognised")."""

from .dose import DailyDose, daily_dose_mg
from .drug_catalog import (
    CatalogError,
    DrugCatalog,
    ListedCode,
    LocalDrugCode,
    default_catalog,
    load_catalog,
    local_codes_from_entries,
)
from .model import (
    DrugClass,
    DrugRecognition,
    Evidence,
    Ingredient,
    MatchMethod,
    Product,
    Recognition,
    Route,
    RouteBasis,
    RxNormLevel,
    Strength,
    StrengthBasis,
    UnclassifiedDrug,
)
from .recogniser import recognise, recognise_resource

__all__ = [
    "CatalogError",
    "DailyDose",
    "DrugCatalog",
    "DrugClass",
    "DrugRecognition",
    "Evidence",
    "Ingredient",
    "ListedCode",
    "LocalDrugCode",
    "MatchMethod",
    "Product",
    "Recognition",
    "Route",
    "RouteBasis",
    "RxNormLevel",
    "Strength",
    "StrengthBasis",
    "UnclassifiedDrug",
    "daily_dose_mg",
    "default_catalog",
    "load_catalog",
    "local_codes_from_entries",
    "recognise",
    "recognise_resource",
]

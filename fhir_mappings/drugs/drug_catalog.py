"""The drug catalog: reviewed code lists and names, loaded and cross-checked once per process.

Sources, each entry with its provenance:
- codes/rxnorm-bone-drugs.tsv: RxNorm concepts naming a bone-health drug, from the CDS Hooks sandbox's RxNorm
  subset (verbatim copy of shared/reference; the file's own header states its provenance);
- codes/vsac-glucocorticoids-oral.tsv: the VSAC oral glucocorticoid value set used by CMS249 (verbatim);
- fhir_mappings/codes/medications.yaml: the medication entries the rest of the service already uses;
- codes/ingredients.yaml and codes/forms.yaml: ingredients, brands, names, dose forms, routes;
- a site's local codes (`LocalDrugCode`, fed from the OSTEO_CDS_EXTRA_CODES loader).

Every code's ingredients are read from its listed name and checked against what its list says (the TSV's class
column, the YAML concept): a name the parser reads differently, a code mapped to two different drugs, an unknown
class or ingredient, or an entry without a source raises CatalogError and the service refuses to start."""

from __future__ import annotations

import csv
import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import jsonschema
import yaml

from .model import DrugClass, Ingredient, Product, Recognition, Route, RxNormLevel, Strength, StrengthBasis
from .names import (
    Hit,
    Phrase,
    PhraseKind,
    PhraseMatcher,
    normalize_text,
    phrase_key,
    rxnorm_level,
    single_route,
    strength_tokens,
    volume_before,
)
from .schema import FORMS_SCHEMA, INGREDIENTS_SCHEMA, MEDICATIONS_CODE_SCHEMA
from .units import clean_decimal

CODES_DIR = Path(__file__).parent / "codes"
RXNORM_BONE_DRUGS = CODES_DIR / "rxnorm-bone-drugs.tsv"
VSAC_ORAL_GLUCOCORTICOIDS = CODES_DIR / "vsac-glucocorticoids-oral.tsv"
INGREDIENTS_FILE = CODES_DIR / "ingredients.yaml"
FORMS_FILE = CODES_DIR / "forms.yaml"
# The service's existing medication code list (loaded by code_files.py; read here for its medication entries).
MEDICATIONS_YAML = Path(__file__).parent.parent / "codes" / "medications.yaml"

MAX_NAME_CHARS = 4000
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"
SNOMED = "http://snomed.info/sct"
# Other spellings of the same systems seen in real data (HL7 OIDs, https, trailing slashes).
_SYSTEM_ALIASES = {
    "urn:oid:2.16.840.1.113883.6.88": RXNORM,
    "https://www.nlm.nih.gov/research/umls/rxnorm": RXNORM,
    "urn:oid:2.16.840.1.113883.6.73": ATC,
    "https://www.whocc.no/atc": ATC,
    "urn:oid:2.16.840.1.113883.6.96": SNOMED,
    "https://snomed.info/sct": SNOMED,
}


class CatalogError(ValueError):
    """A drug data file is malformed or inconsistent. The message names the file and the entry."""

    def __init__(self, where: str, message: str) -> None:
        self.where = where
        self.detail = message
        super().__init__(f"{where}: {message}")


def normalize_system(system: str | None) -> str:
    if not isinstance(system, str):
        return ""
    s = system.strip().rstrip("/")
    return _SYSTEM_ALIASES.get(s, s)


def normalize_code(system: str, code: object) -> str:
    if isinstance(code, bool) or not isinstance(code, str | int):
        return ""
    c = str(code).strip()
    return c.upper() if system == ATC else c


@dataclass(frozen=True, slots=True)
class ListedCode:
    """One code of the reviewed lists (or a site's local code) and what it means."""

    system: str
    code: str
    display: str
    ingredients: tuple[str, ...]
    source: str
    origin: str  # "rxnorm-bone-drugs.tsv:12"; several when the same code is in several lists
    product: str | None = None  # product key, see DrugCatalog.product
    brand: str | None = None  # the bracketed brand of an RxNorm name, even when not a known product
    strengths: tuple[Strength, ...] = ()
    dose_form: str | None = None
    unit_dose: bool | None = None
    route: Route | None = None
    rxnorm_level: RxNormLevel | None = None
    verified: bool = True
    local: bool = False


@dataclass(frozen=True, slots=True)
class LocalDrugCode:
    """A site's own medication code (the OSTEO_CDS_EXTRA_CODES file, `domain: medications`). `concept` is an
    ingredient id or concept alias of codes/medications.yaml ("prednisone")."""

    system: str
    code: str
    display: str
    concept: str
    source: str
    origin: str
    tty: str | None = None
    strength_mg: Decimal | None = None
    dose_form: str | None = None
    route: str | None = None


class _CodeEntryLike(Protocol):
    """The shape of `fhir_mappings.code_files.CodeEntry` that `local_codes_from_entries` reads."""

    @property
    def domain(self) -> str: ...

    @property
    def system(self) -> str: ...

    @property
    def code(self) -> str: ...

    @property
    def display(self) -> str: ...

    @property
    def source(self) -> str: ...

    @property
    def origin(self) -> str: ...

    @property
    def local(self) -> bool: ...

    @property
    def concept(self) -> Any: ...

    @property
    def attrs(self) -> Mapping[str, Any]: ...


def local_codes_from_entries(entries: Iterable[_CodeEntryLike]) -> list[LocalDrugCode]:
    """The site's local medication codes from the extra-codes loader's entries (code_files.CodeEntry):
    `load_catalog(local_codes_from_entries(term.entries("medications")))`. Built-in entries are skipped (the
    catalog reads codes/medications.yaml itself)."""
    out: list[LocalDrugCode] = []
    for e in entries:
        if e.domain != "medications" or not e.local:
            continue
        strength = e.attrs.get("strength_mg")
        out.append(
            LocalDrugCode(
                system=e.system,
                code=e.code,
                display=e.display,
                concept=e.concept.id,
                source=e.source,
                origin=e.origin,
                tty=e.attrs.get("tty"),
                strength_mg=Decimal(str(strength)) if strength is not None else None,
                dose_form=e.attrs.get("dose_form"),
                route=e.attrs.get("route"),
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class NameReading:
    """What a text names, as read by the catalog's phrase lists."""

    normalized: str
    ingredients: tuple[str, ...] = ()  # in order of appearance, each once
    products: tuple[str, ...] = ()  # product keys
    strengths: tuple[Strength, ...] = ()
    dose_forms: tuple[str, ...] = ()
    form_route: Route | None = None
    unit_dose: bool | None = None
    text_route: Route | None = None
    class_words: tuple[str, ...] = ()
    class_word_classes: tuple[DrugClass, ...] = ()
    matched: tuple[str, ...] = ()  # drug names as found ("fosamax")
    excluded: tuple[str, ...] = ()  # ingredient ids named only inside a not-the-drug phrase
    rxnorm_level: RxNormLevel | None = None
    brand: str | None = None  # "[Fosamax]" suffix text


@dataclass(frozen=True, slots=True)
class DoseForm:
    name: str
    route: Route
    group: bool = False
    unit_dose: bool = False


# Entries of the recogniser's memo (DrugCatalog.remember) before it starts over: it bounds the memo's size.
_RECOGNITIONS = 2048


@dataclass(slots=True)
class _Cache:
    readings: dict[str, NameReading] = field(default_factory=dict)
    recognitions: dict[str, tuple[Any, Recognition | None]] = field(default_factory=dict)


class DrugCatalog:
    """Lookups by code and by name. Immutable once built; `default_catalog()` is the process-wide one."""

    def __init__(
        self,
        ingredients: Mapping[str, Ingredient],
        products: Mapping[str, Product],
        aliases: Mapping[str, tuple[str, ...]],
        dose_forms: Mapping[str, DoseForm],
        route_codes: Mapping[tuple[str, str], Route],
        drug_matcher: PhraseMatcher,
        form_matcher: PhraseMatcher,
        route_matcher: PhraseMatcher,
        class_words: Mapping[str, tuple[DrugClass, ...]],
        oncology_dose: Mapping[str, tuple[str, Decimal]],
        additions: Sequence[tuple[str, str, str]] = (),
    ) -> None:
        self.ingredients = dict(ingredients)
        self.products = dict(products)
        self.aliases = dict(aliases)
        self.dose_forms = dict(dose_forms)
        self.route_codes = dict(route_codes)
        self._drugs = drug_matcher
        self._forms = form_matcher
        self._routes = route_matcher
        self._class_words = dict(class_words)
        self._oncology_dose = dict(oncology_dose)
        self.additions = tuple(additions)  # (ingredient, phrase key, reason)
        self.additions_used: set[tuple[str, str, str]] = set()
        self._codes: dict[tuple[str, str], ListedCode] = {}
        self._cache = _Cache()
        self._first_names = frozenset(normalize_text(i.name) for i in self.ingredients.values())
        self._group_forms = frozenset(f.name for f in self.dose_forms.values() if f.group)

    # -- lookups --------------------------------------------------------------------------------------------

    def lookup(self, system: str | None, code: object) -> ListedCode | None:
        s = normalize_system(system)
        return self._codes.get((s, normalize_code(s, code)))

    def codes(self) -> tuple[ListedCode, ...]:
        return tuple(self._codes.values())

    def ingredient(self, ingredient_id: str) -> Ingredient:
        return self.ingredients[ingredient_id]

    def product(self, key: str) -> Product:
        return self.products[key]

    def ingredients_for_concept(self, concept_id: str) -> tuple[str, ...] | None:
        """Ingredient ids of a codes/medications.yaml concept id (an ingredient id, or an alias)."""
        if concept_id in self.ingredients:
            return (concept_id,)
        return self.aliases.get(concept_id)

    def route_for_code(self, system: str | None, code: object) -> Route | None:
        s = normalize_system(system)
        return self.route_codes.get((s, normalize_code(s, code)))

    def route_from_text(self, text: str | None) -> Route | None:
        if not text:
            return None
        normalized = normalize_text(text)
        forms = [self.dose_forms[h.phrase.target].route for h in self._forms.find(normalized)]
        route = single_route(forms) if forms else None
        if route is not None:
            return route
        return single_route(Route(h.phrase.target) for h in self._routes.find(normalized))

    def oncology_dose(self, ingredient_id: str, mg: Decimal) -> bool:
        rule = self._oncology_dose.get(ingredient_id)
        if rule is None:
            return False
        direction, limit = rule
        return mg > limit if direction == "above" else mg < limit

    def oncology_rule(self, ingredient_id: str) -> tuple[str, Decimal] | None:
        return self._oncology_dose.get(ingredient_id)

    def addition_reason(self, ingredient_id: str, normalized: str) -> str | None:
        """The reviewed reason a listed name may name `ingredient_id` although its list does not."""
        squashed = phrase_key(normalized)
        for addition in self.additions:
            if addition[0] == ingredient_id and addition[1] in squashed:
                self.additions_used.add(addition)
                return addition[2]
        return None

    # -- the recogniser's memo (recogniser.recognise_resource) -----------------------------------------------

    def recalled(self, key: str) -> tuple[Any, Recognition | None] | None:
        """(inputs, recognition) that `remember` stored under `key`, while the memo still holds it."""
        return self._cache.recognitions.get(key)

    def remember(self, key: str, inputs: Any, recognition: Recognition | None) -> None:
        memo = self._cache.recognitions
        if len(memo) >= _RECOGNITIONS:
            memo.clear()
        memo[key] = (inputs, recognition)

    # -- names ----------------------------------------------------------------------------------------------

    def read_name(self, text: str) -> NameReading:
        """Ingredients, products, strengths, dose form and route words named in `text` (its first
        MAX_NAME_CHARS characters: the longest RxNorm names are ~600). Memoised (the same few names repeat across
        charts); bounded, and only for names of a plausible length."""
        text = text[:MAX_NAME_CHARS]
        hit = self._cache.readings.get(text)
        if hit is None:
            hit = self._read_name(text)
            if len(text) <= 1000:
                if len(self._cache.readings) > 20_000:
                    self._cache.readings.clear()
                self._cache.readings[text] = hit
        return hit

    def _read_name(self, text: str) -> NameReading:
        normalized = normalize_text(text)
        hits = self._drugs.find(normalized)
        drug_hits = [h for h in hits if h.phrase.kind in (PhraseKind.INGREDIENT, PhraseKind.PRODUCT)]
        ingredients: list[str] = []
        products: list[str] = []
        excluded: list[str] = []
        class_words: list[str] = []
        for h in hits:
            kind, target = h.phrase.kind, h.phrase.target
            if kind is PhraseKind.INGREDIENT and target not in ingredients:
                ingredients.append(target)
            elif kind is PhraseKind.PRODUCT:
                if target not in products:
                    products.append(target)
                for i in self.products[target].ingredients:
                    if i not in ingredients:
                        ingredients.append(i)
            elif kind is PhraseKind.NOT_DRUG:
                excluded.append(target)
            elif kind is PhraseKind.CLASS_WORD and target not in class_words:
                class_words.append(target)
        strengths = self._strengths(normalized, drug_hits)
        form_hits = self._forms.find(normalized)
        forms = tuple(dict.fromkeys(h.phrase.target for h in form_hits))
        form_route = single_route(self.dose_forms[f].route for f in forms) if forms else None
        unit_dose = all(self.dose_forms[f].unit_dose for f in forms) if forms else None
        text_route = single_route(Route(h.phrase.target) for h in self._routes.find(normalized))
        level = rxnorm_level(
            normalized,
            ingredient_names=[h for h in drug_hits if h.phrase.kind is PhraseKind.INGREDIENT],
            product_names=[h for h in drug_hits if h.phrase.kind is PhraseKind.PRODUCT],
            has_strength=any(s.basis is not StrengthBasis.PERCENT for s in strengths)
            or bool(strength_tokens(normalized)),
            dose_form_hits=form_hits,
            group_forms=self._group_forms,
            first_names=self._first_names,
        )
        brand = None
        if normalized.endswith("]") and "[" in normalized:
            brand = text.strip()[text.strip().rfind("[") + 1 : -1].strip() or None
        classes: list[DrugClass] = []
        for w in class_words:
            for c in self._class_words[w]:
                if c not in classes:
                    classes.append(c)
        return NameReading(
            normalized=normalized,
            ingredients=tuple(ingredients),
            products=tuple(products),
            strengths=strengths,
            dose_forms=forms,
            form_route=form_route,
            unit_dose=unit_dose,
            text_route=text_route,
            class_words=tuple(class_words),
            class_word_classes=tuple(classes),
            matched=tuple(normalized[h.start : h.end] for h in drug_hits),
            excluded=tuple(i for i in dict.fromkeys(excluded) if i not in ingredients),
            rxnorm_level=level,
            brand=brand,
        )

    def _strengths(self, normalized: str, drug_hits: Sequence[Hit]) -> tuple[Strength, ...]:
        """Each named ingredient's strength: the first one written after its name and before the next drug name
        (or the next " / " component of an RxNorm name). A brand naming several ingredients takes the strengths
        after it in order ("Fosamax Plus D 70 mg / 2800 IU"), international units going to vitamin D."""
        found: dict[str, Strength] = {}
        ordered = sorted(drug_hits, key=lambda h: h.start)
        for n, h in enumerate(ordered):
            end = ordered[n + 1].start if n + 1 < len(ordered) else len(normalized)
            floor = ordered[n - 1].end if n > 0 else 0
            volume = volume_before(normalized, h.start, floor)
            if h.phrase.kind is PhraseKind.INGREDIENT:
                component_end = normalized.find(" / ", h.end, end)
                tokens = strength_tokens(normalized, h.end, component_end if component_end >= 0 else end)
                if tokens and h.phrase.target not in found:
                    found[h.phrase.target] = tokens[0].for_ingredient(h.phrase.target, volume)
                continue
            product = self.products[h.phrase.target]
            tokens = strength_tokens(normalized, h.end, end)
            wanted = [i for i in product.ingredients if i not in found]
            if not tokens or not wanted:
                continue
            if len(wanted) == 1 and len(product.ingredients) == 1:
                found[wanted[0]] = tokens[0].for_ingredient(wanted[0], volume)
            elif len(tokens) == len(wanted):
                iu = [t for t in tokens if t.unit == "[iU]"]
                rest = [t for t in tokens if t.unit != "[iU]"]
                for i in wanted:
                    pool = iu if i == "vitamin-d" and iu else rest
                    if pool:
                        found[i] = pool.pop(0).for_ingredient(i, volume)
        return tuple(found.values())

    # -- building -------------------------------------------------------------------------------------------

    def _add(self, entry: ListedCode) -> None:
        key = (entry.system, normalize_code(entry.system, entry.code))
        other = self._codes.get(key)
        if other is None:
            self._codes[key] = entry
            return
        if set(other.ingredients) != set(entry.ingredients):
            raise CatalogError(
                entry.origin,
                f"code {entry.system}|{entry.code} means {'+'.join(entry.ingredients)} here but "
                f"{'+'.join(other.ingredients)} in {other.origin}",
            )
        if entry.local:
            return  # a site's duplicate of a listed code adds nothing
        self._codes[key] = replace(
            other,
            source=f"{other.source}; {entry.source}",
            origin=f"{other.origin}; {entry.origin}",
            strengths=other.strengths or entry.strengths,
            dose_form=other.dose_form or entry.dose_form,
            unit_dose=other.unit_dose if other.unit_dose is not None else entry.unit_dose,
            route=other.route or entry.route,
            rxnorm_level=other.rxnorm_level or entry.rxnorm_level,
            product=other.product or entry.product,
            brand=other.brand or entry.brand,
            verified=other.verified and entry.verified,
        )


# ---------------------------------------------------------------------------------------------------------------
# Reading the files


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML keeps the last of duplicate keys silently; a reviewed file must not hide an entry that way."""


class _DuplicateKey(yaml.YAMLError):
    def __init__(self, line: int, key: object) -> None:
        super().__init__(f"duplicate key {key!r}")
        self.line = line


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise _DuplicateKey(key_node.start_mark.line + 1, key)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _read_yaml(path: Path, schema: Mapping[str, Any] | None) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(path.name, f"cannot read: {exc}") from exc
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass: plain data only
    except _DuplicateKey as exc:
        raise CatalogError(f"{path.name}:{exc.line}", str(exc)) from exc
    except yaml.YAMLError as exc:
        raise CatalogError(path.name, f"YAML error: {exc}") from exc
    if schema is not None:
        _validate(path.name, data, schema)
    return data


def _validate(where: str, data: Any, schema: Mapping[str, Any]) -> None:
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        path = ".".join(str(p) for p in e.absolute_path) or "(top level)"
        raise CatalogError(where, f"{path}: {e.message}")


@dataclass(frozen=True, slots=True)
class ReferenceRow:
    """A row of a reference TSV, as written."""

    file: str
    line: int
    code: str
    name: str
    columns: Mapping[str, str]


def read_reference_tsv(path: Path) -> tuple[str, list[ReferenceRow]]:
    """(provenance from the '#' header lines, rows). The first non-comment line names the columns."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(path.name, f"cannot read: {exc}") from exc
    header = [ln.lstrip("# ").strip().rstrip(".") for ln in lines if ln.startswith("#")]
    if not header or not header[0]:
        raise CatalogError(path.name, "no provenance header ('# ...' lines stating the source)")
    body = [(n + 1, ln) for n, ln in enumerate(lines) if ln.strip() and not ln.startswith("#")]
    if not body:
        raise CatalogError(path.name, "no column header")
    columns = next(csv.reader([body[0][1]], delimiter="\t"))
    if columns[:2] != ["rxnorm", "name"]:
        raise CatalogError(f"{path.name}:{body[0][0]}", "the first columns must be 'rxnorm' and 'name'")
    rows: list[ReferenceRow] = []
    for line_no, line in body[1:]:
        values = next(csv.reader([line], delimiter="\t", quoting=csv.QUOTE_NONE))
        if len(values) != len(columns):
            raise CatalogError(f"{path.name}:{line_no}", f"expected {len(columns)} columns, got {len(values)}")
        row = dict(zip(columns, (v.strip() for v in values), strict=True))
        if not row["rxnorm"].isdigit() or not row["name"]:
            raise CatalogError(f"{path.name}:{line_no}", "an RxNorm code (digits) and a name are required")
        rows.append(ReferenceRow(path.name, line_no, row["rxnorm"], row["name"], row))
    return header[0], rows


def _ingredients_from_data(data: Mapping[str, Any]) -> dict[str, Ingredient]:
    out: dict[str, Ingredient] = {}
    for iid, d in data["ingredients"].items():
        out[iid] = Ingredient(
            id=iid,
            name=d["names"][0],
            drug_class=DrugClass(d["class"]),
            usual_route=Route(d["usual_route"]) if "usual_route" in d else None,
            systemic_exposure=bool(d.get("systemic_exposure", True)),
            note=d.get("note"),
        )
        if "systemic_exposure" in d and out[iid].drug_class is not DrugClass.GLUCOCORTICOID:
            raise CatalogError(INGREDIENTS_FILE.name, f"ingredients.{iid}: systemic_exposure is for glucocorticoids")
    return out


def _check_ids(where: str, ids: Iterable[str], known: Mapping[str, Any]) -> None:
    for i in ids:
        if i not in known:
            raise CatalogError(where, f"unknown ingredient {i!r} (known: {', '.join(sorted(known))})")


def _build_phrases(data: Mapping[str, Any], products: Mapping[str, Product]) -> list[Phrase]:
    phrases: list[Phrase] = []
    for iid, d in data["ingredients"].items():
        phrases.extend(Phrase(n, PhraseKind.INGREDIENT, iid) for n in d["names"])
    phrases.extend(Phrase(p.name, PhraseKind.PRODUCT, key) for key, p in products.items())
    phrases.extend(Phrase(d["phrase"], PhraseKind.NOT_DRUG, d["ingredient"]) for d in data["not_the_drug"])
    for d in data["class_words"]:
        for form in (d["phrase"], d["phrase"] + "s"):
            phrases.append(Phrase(form, PhraseKind.CLASS_WORD, d["phrase"]))
    for d in data["not_the_class"]:
        for form in (d["phrase"], d["phrase"] + "s"):
            phrases.append(Phrase(form, PhraseKind.NOT_CLASS, d["phrase"]))
    return phrases


def product_key(name: str) -> str:
    return normalize_text(name)


def _build_catalog(ingredients_file: Path, forms_file: Path) -> DrugCatalog:
    data = _read_yaml(ingredients_file, INGREDIENTS_SCHEMA)
    forms_data = _read_yaml(forms_file, FORMS_SCHEMA)
    ingredients = _ingredients_from_data(data)
    where = ingredients_file.name
    aliases: dict[str, tuple[str, ...]] = {}
    for alias, d in data["concept_aliases"].items():
        if alias in ingredients:
            raise CatalogError(where, f"concept_aliases.{alias}: is already an ingredient id")
        _check_ids(f"{where}: concept_aliases.{alias}", d["ingredients"], ingredients)
        aliases[alias] = tuple(d["ingredients"])
    products: dict[str, Product] = {}
    for n, d in enumerate(data["products"]):
        _check_ids(f"{where}: products[{n}] {d['name']}", d["ingredients"], ingredients)
        key = product_key(d["name"])
        if key in products:
            raise CatalogError(where, f"products[{n}]: {d['name']!r} is listed twice")
        products[key] = Product(
            name=d["name"],
            ingredients=tuple(d["ingredients"]),
            route=Route(d["route"]) if "route" in d else None,
            oncology=bool(d.get("oncology", False)),
            note=d.get("note"),
        )
    for n, d in enumerate(data["not_the_drug"]):
        _check_ids(f"{where}: not_the_drug[{n}]", [d["ingredient"]], ingredients)
    for n, d in enumerate(data["reference_additions"]):
        _check_ids(f"{where}: reference_additions[{n}]", [d["ingredient"]], ingredients)
    class_words = {d["phrase"]: tuple(DrugClass(c) for c in d["classes"]) for d in data["class_words"]}
    oncology: dict[str, tuple[str, Decimal]] = {}
    for iid, d in data["ingredients"].items():
        rule = d.get("oncology_dose_mg")
        if rule:
            ((direction, limit),) = rule.items()
            oncology[iid] = (direction, Decimal(str(limit)))
    try:
        drug_matcher = PhraseMatcher(_build_phrases(data, products))
    except ValueError as exc:
        raise CatalogError(where, str(exc)) from exc

    forms: dict[str, DoseForm] = {}
    for name, d in forms_data["dose_forms"]["forms"].items():
        forms[name] = DoseForm(name, Route(d["route"]), bool(d.get("group", False)), bool(d.get("unit_dose", False)))
    route_phrases = [
        Phrase(w, PhraseKind.ROUTE_WORD, route)
        for route, words in forms_data["route_words"]["words"].items()
        for w in words
    ]
    try:
        form_matcher = PhraseMatcher(Phrase(name, PhraseKind.DOSE_FORM, name) for name in forms)
        route_matcher = PhraseMatcher(route_phrases)
    except ValueError as exc:
        raise CatalogError(forms_file.name, str(exc)) from exc
    rc = forms_data["route_codes"]
    system = normalize_system(rc["system"])
    route_codes = {(system, str(code)): Route(route) for code, route in rc["codes"].items()}
    return DrugCatalog(
        ingredients,
        products,
        aliases,
        forms,
        route_codes,
        drug_matcher,
        form_matcher,
        route_matcher,
        class_words,
        oncology,
        [(d["ingredient"], phrase_key(d["named_as"]), d["reason"]) for d in data["reference_additions"]],
    )


# --- listed codes ---------------------------------------------------------------------------------------------

_TSV_FAMILY = {
    DrugClass.BISPHOSPHONATE_ORAL: "bisphosphonate",
    DrugClass.ZOLEDRONIC_ACID: "bisphosphonate",
    DrugClass.CALCIUM: "supplement",
    DrugClass.VITAMIN_D: "supplement",
}


def _tsv_class_ingredients(cat: DrugCatalog, row: ReferenceRow) -> tuple[str, ...]:
    """The ingredients the TSV's class column names ("bisphosphonate:alendronate;supplement:vitamin-d")."""
    out: list[str] = []
    for token in row.columns.get("class", "").split(";"):
        family, _, iid = token.strip().partition(":")
        where = f"{row.file}:{row.line}"
        if iid not in cat.ingredients:
            raise CatalogError(where, f"unknown class {token!r}: no ingredient {iid!r}")
        ingredient = cat.ingredients[iid]
        expected = _TSV_FAMILY.get(ingredient.drug_class, ingredient.drug_class.value)
        if family != expected:
            raise CatalogError(where, f"class {token!r}: {iid} is {ingredient.drug_class.value}, not {family}")
        out.append(iid)
    if not out:
        raise CatalogError(f"{row.file}:{row.line}", "no class")
    return tuple(out)


def _listed_from_name(
    cat: DrugCatalog,
    *,
    system: str,
    code: str,
    display: str,
    declared: Sequence[str],
    where: str,
    source: str,
    verified: bool = True,
    local: bool = False,
    tty: str | None = None,
    strength_mg: Decimal | None = None,
    dose_form: str | None = None,
    route: str | None = None,
) -> ListedCode:
    """A listed code: its ingredients as its name reads (checked against what its list declares), plus the
    strength, dose form, route and RxNorm level its name and attributes give."""
    reading = cat.read_name(display)
    if reading.ingredients:
        unexplained = [i for i in declared if i not in reading.ingredients and i not in reading.excluded]
        if unexplained:
            # The list says so but the name does not: the name reading (or the list) is wrong.
            raise CatalogError(
                where,
                f"{code} {display!r}: the list says {'+'.join(declared)} but the name reads as "
                f"{'+'.join(reading.ingredients)}",
            )
        for i in reading.ingredients:
            if i not in declared and not local and not cat.addition_reason(i, reading.normalized):
                raise CatalogError(
                    where,
                    f"{code} {display!r}: the name also names {i}, which the list does not "
                    "(add a reviewed reference_additions entry to ingredients.yaml if the name is right)",
                )
        ingredients = reading.ingredients
    elif any(i in reading.excluded for i in declared):
        ingredients = ()  # e.g. "Calcium Pantothenate 10 MG": not the drug the list's class says
    else:
        ingredients = tuple(declared)  # a name that names no drug ("(denosumab, name not seen)")
    product = reading.products[0] if len(reading.products) == 1 else None
    if product is not None and not set(cat.products[product].ingredients) <= set(ingredients):
        raise CatalogError(where, f"{code} {display!r}: brand {cat.products[product].name} is not these ingredients")
    strengths = reading.strengths
    if strength_mg is not None:
        primary = next(
            (i for i in ingredients if cat.ingredients[i].drug_class not in (DrugClass.CALCIUM, DrugClass.VITAMIN_D)),
            ingredients[0] if ingredients else None,
        )
        read = next((s for s in strengths if s.ingredient == primary), None)
        if read is not None and read.mg_per_unit is not None and read.mg_per_unit != strength_mg:
            raise CatalogError(
                where, f"{code} {display!r}: strength_mg {strength_mg} but the name says {read.mg_per_unit} mg"
            )
        if read is None and primary is not None:
            strengths = (*strengths, Strength(primary, clean_decimal(strength_mg), "mg", StrengthBasis.UNIT))
    form = reading.dose_forms[0] if len(reading.dose_forms) == 1 else None
    listed_route = Route(route) if route else None
    if listed_route is None and dose_form:
        listed_route = cat.route_from_text(dose_form)
    # A reviewed tty wins; otherwise the term type that an RxNorm name's form implies.
    level = RxNormLevel(tty) if tty else (reading.rxnorm_level if system == RXNORM else None)
    return ListedCode(
        system=system,
        code=code,
        display=display,
        ingredients=ingredients,
        source=source,
        origin=where,
        product=product,
        brand=reading.brand,
        strengths=strengths,
        dose_form=form or dose_form,
        unit_dose=reading.unit_dose,
        route=listed_route or reading.form_route,
        rxnorm_level=level,
        verified=verified,
        local=local,
    )


def _load_reference_lists(cat: DrugCatalog) -> None:
    provenance, rows = read_reference_tsv(RXNORM_BONE_DRUGS)
    for row in rows:
        entry = _listed_from_name(
            cat,
            system=RXNORM,
            code=row.code,
            display=row.name,
            declared=_tsv_class_ingredients(cat, row),
            where=f"{row.file}:{row.line}",
            source=provenance,
        )
        if entry.ingredients:
            cat._add(entry)
    provenance, rows = read_reference_tsv(VSAC_ORAL_GLUCOCORTICOIDS)
    for row in rows:
        where = f"{row.file}:{row.line}"
        reading = cat.read_name(row.name)
        steroids = [
            i
            for i in reading.ingredients
            if cat.ingredients[i].drug_class in (DrugClass.GLUCOCORTICOID, DrugClass.MINERALOCORTICOID)
        ]
        if len(steroids) != 1 or len(reading.ingredients) != 1 or reading.form_route is not Route.ORAL:
            raise CatalogError(where, f"{row.code} {row.name!r}: not read as one oral glucocorticoid")
        cat._add(
            _listed_from_name(
                cat, system=RXNORM, code=row.code, display=row.name, declared=steroids, where=where, source=provenance
            )
        )


def _load_medications_yaml(cat: DrugCatalog, path: Path) -> None:
    data = _read_yaml(path, None)
    if not isinstance(data, dict) or not isinstance(data.get("codes"), list):
        raise CatalogError(path.name, "expected 'codes:' with a list of entries")
    concepts = data.get("concepts") or {}
    for cid, attrs in concepts.items():
        ids = cat.ingredients_for_concept(str(cid))
        if ids is None:
            raise CatalogError(
                f"{path.name}: concepts.{cid}", "no ingredient of that id in drugs/codes/ingredients.yaml"
            )
        declared = DrugClass(attrs["drug_class"])
        if cat.ingredients[ids[0]].drug_class is not declared:
            raise CatalogError(
                f"{path.name}: concepts.{cid}",
                f"drug_class {declared.value} but ingredients.yaml says {cat.ingredients[ids[0]].drug_class.value}",
            )
    for n, item in enumerate(data["codes"]):
        where = f"{path.name}: codes[{n}]"
        _validate(where, item, MEDICATIONS_CODE_SCHEMA)
        ids = cat.ingredients_for_concept(item["concept"])
        if ids is None:
            raise CatalogError(where, f"unknown concept {item['concept']!r}")
        system = normalize_system(item["system"])
        code = normalize_code(system, item["code"])
        strength = item.get("strength_mg")
        cat._add(
            _listed_from_name(
                cat,
                system=system,
                code=code,
                display=item["display"],
                declared=ids,
                where=f"{path.name}: {code}",
                source=item["source"],
                verified=bool(item.get("verified", True)),
                tty=item.get("tty"),
                strength_mg=Decimal(str(strength)) if strength is not None else None,
                dose_form=item.get("dose_form"),
                route=item.get("route"),
            )
        )


def _add_local(cat: DrugCatalog, local: LocalDrugCode) -> None:
    ids = cat.ingredients_for_concept(local.concept)
    if ids is None:
        raise CatalogError(local.origin, f"unknown medication concept {local.concept!r}")
    if not local.source.strip():
        raise CatalogError(local.origin, "a local code needs its source")
    system = normalize_system(local.system)
    entry = _listed_from_name(
        cat,
        system=system,
        code=normalize_code(system, local.code),
        display=local.display,
        declared=ids,
        where=local.origin,
        source=local.source,
        local=True,
        tty=local.tty if local.tty in RxNormLevel.__members__ else None,
        strength_mg=local.strength_mg,
        dose_form=local.dose_form,
        route=local.route,
    )
    # A local code means what the site says it means, whatever its display reads as.
    cat._add(replace(entry, ingredients=ids, product=entry.product if entry.ingredients == ids else None))


def load_catalog(local_codes: Iterable[LocalDrugCode] = ()) -> DrugCatalog:
    """The built-in catalog plus a site's local codes. Raises CatalogError on any malformed or inconsistent
    entry, local or built in."""
    cat = _builtin_catalog()
    local = list(local_codes)
    if not local:
        return cat
    extended = _fresh_builtin()
    for code in local:
        _add_local(extended, code)
    return extended


@functools.lru_cache(maxsize=1)
def _builtin_catalog() -> DrugCatalog:
    return _fresh_builtin()


def _fresh_builtin() -> DrugCatalog:
    cat = _build_catalog(INGREDIENTS_FILE, FORMS_FILE)
    _load_reference_lists(cat)
    _load_medications_yaml(cat, MEDICATIONS_YAML)
    return cat


def default_catalog() -> DrugCatalog:
    """The built-in catalog, built once per process (no local codes: pass those to `load_catalog`)."""
    return _builtin_catalog()

"""Recognise the drug of one medication entry: by a listed code first, else by name; with its route, strength,
dose form, product and RxNorm level, or an `UnclassifiedDrug` saying why it names a bone drug or a glucocorticoid
but cannot be classified.

Input is raw FHIR JSON (dicts), `fhir.resources` models, or plain text; malformed members (a string where an
object belongs, a list where a string belongs) are ignored, never raised on."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from .drug_catalog import DrugCatalog, ListedCode, NameReading, default_catalog, normalize_system
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
    Strength,
    StrengthBasis,
    UnclassifiedDrug,
)
from .names import single_route
from .units import clean_decimal, is_count, mg_factor, ml_factor, plain_decimal

Coding = tuple[str | None, str | None, str | None]  # system, code, display


def recognise(
    concept: Any,
    medication: Mapping[str, Any] | Any | None = None,
    *,
    route: Any = None,
    catalog: DrugCatalog | None = None,
) -> Recognition | None:
    """The drug a medication entry names.

    `concept`: the entry's CodeableConcept (medicationCodeableConcept), a Coding, or text. `medication`: the
    referenced or contained Medication resource (its `code`, `form`, `ingredient[].itemCodeableConcept` and
    `ingredient[].strength` are read). `route`: Dosage.route (a CodeableConcept, text, or several of them).

    Returns a `DrugRecognition`; an `UnclassifiedDrug` when the entry names an osteoporosis drug or a
    glucocorticoid but cannot be classified; None when it names none of the drugs the catalog knows."""
    cat = catalog or default_catalog()
    entry = _Entry.read(_as_concept(concept), _as_mapping(medication), route, cat)
    return entry.recognise()


def recognise_resource(
    resource: Mapping[str, Any] | Any,
    medications: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    catalog: DrugCatalog | None = None,
) -> Recognition | None:
    """The drug of a MedicationRequest / MedicationStatement / MedicationAdministration / MedicationDispense:
    medication[x] (a contained "#id" Medication, or one from `medications` by id for "Medication/id",
    "urn:uuid:id" or a full URL), and the route of its dosage lines.

    Charts order the same few drugs over and over: an entry that names its drug exactly as an earlier one did
    (the same medication[x] concept or resolved Medication, and the same dosage routes: all that recognition
    reads) gets the earlier answer, remembered by the catalog (DrugCatalog.remember) under the inputs' repr
    (bounded) and given only when the inputs are also equal."""
    inputs = _resource_inputs(resource, medications or {})
    if inputs is None:
        return None
    cat = catalog or default_catalog()
    concept, medication, routes = inputs
    key = repr(inputs)
    if len(key) > _MEMO_KEY_CHARS:
        return recognise(concept, medication, route=routes, catalog=cat)
    seen = cat.recalled(key)
    if seen is not None and seen[0] == inputs:
        return seen[1]
    found = recognise(concept, medication, route=routes, catalog=cat)
    cat.remember(key, inputs, found)
    return found


# An entry whose inputs print longer than this is recognised without the memo: it bounds the memo's keys.
_MEMO_KEY_CHARS = 4000


def _resource_inputs(
    resource: Mapping[str, Any] | Any, medications: Mapping[str, Mapping[str, Any]]
) -> tuple[Any, Mapping[str, Any] | None, list[Any]] | None:
    """What recognition reads of a medication entry: (concept, resolved Medication, dosage routes); None when it
    names no drug at all."""
    res = _as_mapping(resource)
    if res is None:
        return None
    medication: Mapping[str, Any] | None = None
    concept: Any = res.get("medicationCodeableConcept")
    ref = res.get("medicationReference")
    if concept is None and isinstance(ref, Mapping):
        medication = _resolve_reference(res, ref, medications)
        if medication is None:
            display = ref.get("display")
            concept = display if isinstance(display, str) else None
        else:
            concept = medication.get("code")
    if concept is None and medication is None:
        return None
    return concept or {}, medication, _dosage_routes(res)


# ---------------------------------------------------------------------------------------------------------------
# Input shapes


def _as_mapping(value: Any) -> Mapping[str, Any] | None:
    if type(value) is dict or isinstance(value, Mapping):
        return value
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        dumped = dump(mode="json", by_alias=True, exclude_none=True)
        return dumped if isinstance(dumped, Mapping) else None
    return None


def _as_concept(value: Any) -> Mapping[str, Any]:
    if isinstance(value, str):
        return {"text": value}
    m = _as_mapping(value)
    if m is None:
        return {}
    if "coding" not in m and ("code" in m or "system" in m or "display" in m):
        return {"coding": [m]}  # a Coding on its own
    return m


def _str(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _codings(concept: Mapping[str, Any] | None) -> list[Coding]:
    if not isinstance(concept, Mapping):
        return []
    raw = concept.get("coding")
    if isinstance(raw, Mapping):
        raw = [raw]  # a single object where R4 wants an array (a client quirk)
    if not isinstance(raw, list):
        return []
    out: list[Coding] = []
    for c in raw:
        if isinstance(c, Mapping):
            code = c.get("code")
            out.append(
                (
                    _str(c.get("system")),
                    str(code).strip() if isinstance(code, str | int) and not isinstance(code, bool) else None,
                    _str(c.get("display")),
                )
            )
    return out


def _texts(concept: Mapping[str, Any] | None) -> list[str]:
    if not isinstance(concept, Mapping):
        return []
    texts = [t for t in [_str(concept.get("text"))] if t]
    texts.extend(d for _, _, d in _codings(concept) if d)
    return list(dict.fromkeys(texts))


def _resolve_reference(
    res: Mapping[str, Any], ref: Mapping[str, Any], medications: Mapping[str, Mapping[str, Any]]
) -> Mapping[str, Any] | None:
    reference = _str(ref.get("reference"))
    if reference is None:
        return None
    if reference.startswith("#"):
        contained = res.get("contained")
        for c in contained if isinstance(contained, list) else ():
            if isinstance(c, Mapping) and c.get("resourceType") == "Medication" and c.get("id") == reference[1:]:
                return c
        return None
    key = reference.rsplit("/", 1)[-1].removeprefix("urn:uuid:")
    found = medications.get(key)
    return found if isinstance(found, Mapping) else None


def _dosage_routes(res: Mapping[str, Any]) -> list[Any]:
    routes: list[Any] = []
    for member in ("dosageInstruction", "dosage"):
        lines = res.get(member)
        if lines is None:
            continue
        if type(lines) is not list:  # (exact types first: this runs for every medication entry of a chart)
            if isinstance(lines, Mapping):
                lines = [lines]  # MedicationAdministration.dosage is one object; STU3-style drafts send one too
            elif not isinstance(lines, list):
                continue
        for d in lines:
            if (type(d) is dict or isinstance(d, Mapping)) and d.get("route") is not None:
                routes.append(d["route"])
    return routes


# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _CodeHit:
    coding: Coding
    listed: ListedCode
    component: bool  # from Medication.ingredient (one ingredient of the product), not the product's own code


@dataclass(frozen=True, slots=True)
class _TextReading:
    text: str
    reading: NameReading


_LEVEL_RANK = {
    lv: n
    for n, lv in enumerate(
        ("IN", "PIN", "MIN", "BN", "SCDC", "SBDC", "SCDF", "SBDF", "SCDG", "SBDG", "GPCK", "BPCK", "SCD", "SBD")
    )
}


class _Entry:
    """One entry's codings, texts, Medication parts and routes, and the reasoning over them."""

    def __init__(
        self,
        cat: DrugCatalog,
        codings: list[Coding],
        component_codings: list[tuple[Coding, Mapping[str, Any]]],
        texts: list[str],
        form_texts: list[str],
        route_values: list[Any],
        medication_strengths: list[tuple[Mapping[str, Any], Mapping[str, Any]]],
    ) -> None:
        self.cat = cat
        self.codings = codings
        self.component_codings = component_codings
        self.texts = texts
        self.form_texts = form_texts
        self.route_values = route_values
        self.medication_strengths = medication_strengths

    @classmethod
    def read(
        cls, concept: Mapping[str, Any], medication: Mapping[str, Any] | None, route: Any, cat: DrugCatalog
    ) -> _Entry:
        codings = _codings(concept)
        texts = _texts(concept)
        form_texts: list[str] = []
        components: list[tuple[Coding, Mapping[str, Any]]] = []
        strengths: list[tuple[Mapping[str, Any], Mapping[str, Any]]] = []
        if medication is not None:
            code = medication.get("code")
            if isinstance(code, Mapping) and code is not concept:
                codings.extend(c for c in _codings(code) if c not in codings)
                texts.extend(t for t in _texts(code) if t not in texts)
            form_texts = _texts(medication.get("form") if isinstance(medication.get("form"), Mapping) else None)
            ingredients = medication.get("ingredient")
            for ing in ingredients if isinstance(ingredients, list) else ():
                if not isinstance(ing, Mapping):
                    continue
                item = ing.get("itemCodeableConcept")
                if not isinstance(item, Mapping):
                    ref = ing.get("itemReference")
                    item = (
                        {"text": ref.get("display")} if isinstance(ref, Mapping) and _str(ref.get("display")) else None
                    )
                if item is None:
                    continue
                components.extend((c, item) for c in _codings(item))
                texts.extend(t for t in _texts(item) if t not in texts)
                if isinstance(ing.get("strength"), Mapping):
                    strengths.append((item, ing["strength"]))
        routes = list(route) if isinstance(route, list | tuple) else ([route] if route is not None else [])
        return cls(cat, codings, components, texts, form_texts, routes, strengths)

    # -- the decision -----------------------------------------------------------------------------------------

    def recognise(self) -> Recognition | None:
        hits = self._code_hits()
        readings = [_TextReading(t, self.cat.read_name(t)) for t in self.texts]
        if hits:
            return self._by_code(hits, readings)
        return self._by_name(readings)

    def _code_hits(self) -> list[_CodeHit]:
        out: list[_CodeHit] = []
        for c in self.codings:
            listed = self.cat.lookup(c[0], c[1])
            if listed is not None:
                out.append(_CodeHit(c, listed, False))
        for c, _ in self.component_codings:
            listed = self.cat.lookup(c[0], c[1])
            if listed is not None:
                out.append(_CodeHit(c, listed, True))
        return out

    def _by_code(self, hits: list[_CodeHit], readings: list[_TextReading]) -> Recognition | None:
        product_hits = [h for h in hits if not h.component]
        if not product_hits:
            # Only Medication.ingredient codes: the components of one product (alendronate + cholecalciferol).
            components = list(dict.fromkeys(i for h in hits for i in h.listed.ingredients))
            product_hits = [_CodeHit(hits[0].coding, replace(hits[0].listed, ingredients=tuple(components)), False)]
        sets = list(dict.fromkeys(frozenset(h.listed.ingredients) for h in product_hits))  # in coding order
        widest = max(sets, key=len)
        for narrower in sets:
            if not narrower <= widest:
                a, b = (
                    next(h for h in product_hits if frozenset(h.listed.ingredients) == x)
                    for x in sorted((widest, narrower), key=sets.index)
                )
                return self._unclassified(
                    [*a.listed.ingredients, *b.listed.ingredients],
                    f"its codes disagree: {_token(a)} is {self._names(a.listed.ingredients)}, "
                    f"{_token(b)} is {self._names(b.listed.ingredients)}",
                    MatchMethod.CODE,
                    self._code_evidence(a),
                )
        # The most specific of the matching codes (SBD over SCD over IN) speaks for the entry.
        best = max(
            (h for h in product_hits if frozenset(h.listed.ingredients) == widest),
            key=lambda h: _LEVEL_RANK.get(h.listed.rxnorm_level or "", -1),
        )
        ingredient_ids = list(best.listed.ingredients)
        for h in hits:
            if h.component:
                ingredient_ids.extend(i for i in h.listed.ingredients if i not in ingredient_ids)
        # A text naming another osteoporosis drug or glucocorticoid contradicts the code.
        for r in readings:
            other = [i for i in r.reading.ingredients if i not in ingredient_ids and self._relevant(i)]
            if other:
                return self._unclassified(
                    [*ingredient_ids, *other],
                    f"its code {_token(best)} is {self._names(ingredient_ids)} but its text "
                    f"{r.text!r} names {self._names(other)}",
                    MatchMethod.CODE,
                    self._code_evidence(best),
                )
        listed = best.listed
        text_products = [p for r in readings for p in r.reading.products]
        product = self._product(listed.product, text_products, ingredient_ids, listed.brand)
        strengths = list(listed.strengths)
        for s in self._fallback_strengths(readings):
            if s.ingredient in ingredient_ids and not any(x.ingredient == s.ingredient for x in strengths):
                strengths.append(s)
        form_route = listed.route
        unit_dose = listed.unit_dose
        dose_form = listed.dose_form
        if form_route is None:
            dose_form, form_route, unit_dose = self._form_from_texts(readings, dose_form, unit_dose)
        return self._finish(
            ingredient_ids,
            display=self.texts[0] if self.texts else listed.display,
            method=MatchMethod.CODE,
            evidence=self._code_evidence(best),
            product=product,
            strengths=strengths,
            dose_form=dose_form,
            unit_dose=unit_dose,
            form_route=form_route,
            text_route=self._text_route(readings),
            level=listed.rxnorm_level,
        )

    def _by_name(self, readings: list[_TextReading]) -> Recognition | None:
        named = [r for r in readings if r.reading.ingredients]
        if not named:
            return self._class_words_only(readings)
        relevant_sets = {frozenset(i for i in r.reading.ingredients if self._relevant(i)) for r in named}
        relevant_sets.discard(frozenset())
        if len(relevant_sets) > 1:
            a, b = sorted(relevant_sets, key=lambda s: sorted(s))[:2]
            return self._unclassified(
                [*a, *b],
                f"its names disagree: {self._names(a)} and {self._names(b)}",
                MatchMethod.NAME,
                self._name_evidence(named),
            )
        ingredient_ids: list[str] = []
        for r in named:
            ingredient_ids.extend(i for i in r.reading.ingredients if i not in ingredient_ids)
        relevant = [i for i in ingredient_ids if self._relevant(i)]
        if len(relevant) > 1:
            return self._unclassified(
                relevant,
                f"it names {len(relevant)} different drugs ({self._names(relevant)}) that no product combines",
                MatchMethod.NAME,
                self._name_evidence(named),
            )
        text_products = [p for r in named for p in r.reading.products]
        product = self._product(None, text_products, ingredient_ids, None)
        strengths = self._fallback_strengths(readings)
        dose_form, form_route, unit_dose = self._form_from_texts(readings, None, None)
        return self._finish(
            ingredient_ids,
            display=self.texts[0],
            method=MatchMethod.NAME,
            evidence=self._name_evidence(named),
            product=product,
            strengths=[s for s in strengths if s.ingredient in ingredient_ids],
            dose_form=dose_form,
            unit_dose=unit_dose,
            form_route=form_route,
            text_route=self._text_route(readings),
            level=None,
        )

    def _class_words_only(self, readings: list[_TextReading]) -> Recognition | None:
        words = [w for r in readings for w in r.reading.class_words]
        if not words:
            return None
        classes = tuple(dict.fromkeys(c for r in readings for c in r.reading.class_word_classes))
        route, _ = self._route(None, None, self._text_route(readings))
        if route is not None and route.glucocorticoid_systemic is False and classes == (DrugClass.GLUCOCORTICOID,):
            return None  # "steroid cream", "inhaled corticosteroid": not systemic exposure
        names = tuple(dict.fromkeys(words))
        return UnclassifiedDrug(
            names=names,
            drug_classes=classes,
            reason="it names the drug class, not the drug",
            display=self.texts[0],
            method=MatchMethod.NAME,
            evidence=Evidence(MatchMethod.NAME, text=self.texts[0], matched=names),
        )

    # -- assembling --------------------------------------------------------------------------------------------

    def _finish(
        self,
        ingredient_ids: Sequence[str],
        *,
        display: str,
        method: MatchMethod,
        evidence: Evidence,
        product: Product | None,
        strengths: Sequence[Strength],
        dose_form: str | None,
        unit_dose: bool | None,
        form_route: Route | None,
        text_route: Route | None,
        level: Any,
    ) -> Recognition:
        ingredients = tuple(self.cat.ingredient(i) for i in ingredient_ids)
        primary = _primary(ingredients)
        route, basis = self._route(product, form_route, text_route, primary)
        steroid = next(
            (i for i in ingredients if i.drug_class is DrugClass.GLUCOCORTICOID and i.systemic_exposure), None
        )
        if steroid is not None:
            problem = self._steroid_route_problem(steroid, route, form_route or (product.route if product else None))
            if problem:
                return self._unclassified(ingredient_ids, problem, method, evidence)
        oncology, why = self._oncology(product, strengths, ingredients)
        return DrugRecognition(
            ingredients=ingredients,
            display=display,
            method=method,
            evidence=evidence,
            product=product,
            strengths=tuple(strengths),
            dose_form=dose_form,
            unit_dose=unit_dose,
            route=route,
            route_basis=basis,
            rxnorm_level=level,
            oncology=oncology,
            oncology_reason=why,
        )

    def _route(
        self,
        product: Product | None,
        form_route: Route | None,
        text_route: Route | None,
        primary: Ingredient | None = None,
    ) -> tuple[Route | None, RouteBasis | None]:
        dosage = self._dosage_route()
        if dosage is not None:
            return dosage, RouteBasis.DOSAGE
        for stated, basis in (
            (product.route if product else None, RouteBasis.PRODUCT),
            (form_route, RouteBasis.DOSE_FORM),
        ):
            if stated is None:
                continue
            # The text may say which injection, or where a cream goes: "injection" + "intra-articular".
            refined = single_route((stated, text_route)) if text_route is not None else None
            if refined is not None and refined is not stated:
                return self._refine(refined, primary), RouteBasis.TEXT
            return self._refine(stated, primary), basis
        if text_route is not None:
            return self._refine(text_route, primary), RouteBasis.TEXT
        if primary is not None and primary.usual_route is not None:
            return primary.usual_route, RouteBasis.USUAL
        return None, None

    @staticmethod
    def _refine(route: Route, primary: Ingredient | None) -> Route:
        """An injection of a drug that is only ever injected one way (denosumab SC, zoledronic acid IV) is that
        way; a glucocorticoid injection stays of unknown route."""
        if (
            route is Route.INJECTION
            and primary is not None
            and primary.drug_class is not DrugClass.GLUCOCORTICOID
            and primary.usual_route in (Route.SUBCUTANEOUS, Route.INTRAVENOUS, Route.INTRAMUSCULAR)
        ):
            return primary.usual_route
        return route

    def _dosage_route(self) -> Route | None:
        found: list[Route] = []
        for value in self.route_values:
            r = self._one_route(value)
            if r is not None:
                found.append(r)
        return single_route(found) if found else None

    def _one_route(self, value: Any) -> Route | None:
        if isinstance(value, str):
            return self.cat.route_from_text(value)
        concept = _as_mapping(value)
        if concept is None:
            return None
        for system, code, _ in _codings(concept):
            r = self.cat.route_for_code(system, code)
            if r is not None:
                return r
        for t in _texts(concept):
            r = self.cat.route_from_text(t)
            if r is not None:
                return r
        return None

    @staticmethod
    def _steroid_route_problem(steroid: Ingredient, route: Route | None, stated: Route | None) -> str | None:
        if route is None:
            return f"no route or dose form is recorded, and {steroid.name} is given by systemic and local routes"
        if route.glucocorticoid_systemic is None:
            return "an injection of unknown route (IM or IV is systemic exposure, into a joint is not)"
        if (
            stated is not None
            and stated.glucocorticoid_systemic is not None
            and stated.glucocorticoid_systemic != route.glucocorticoid_systemic
        ):
            return f"its dose form is {stated.value} but its dosage route is {route.value}"
        return None

    def _oncology(
        self, product: Product | None, strengths: Sequence[Strength], ingredients: Sequence[Ingredient]
    ) -> tuple[bool, str | None]:
        if product is not None and product.oncology:
            return True, f"{product.name} is an oncology product ({product.note or 'not the osteoporosis regimen'})"
        for s in strengths:
            mg = s.mg_per_unit
            if mg is not None and self.cat.oncology_dose(s.ingredient, mg):
                name = self.cat.ingredient(s.ingredient).name
                return True, f"{name} {plain_decimal(mg)} mg per dose is the oncology regimen, not the osteoporosis one"
        return False, None

    def _product(
        self, listed: str | None, from_texts: Sequence[str], ingredient_ids: Sequence[str], brand: str | None
    ) -> Product | None:
        if listed is not None:
            return self.cat.product(listed)
        fitting = [p for p in dict.fromkeys(from_texts) if set(self.cat.product(p).ingredients) <= set(ingredient_ids)]
        if fitting:
            # Of two brands of the same drug (a Reclast code with the text "Zometa"), the oncology one is named.
            return sorted((self.cat.product(p) for p in fitting), key=lambda p: not p.oncology)[0]
        if brand:
            return Product(name=brand, ingredients=tuple(ingredient_ids))
        return None

    def _fallback_strengths(self, readings: list[_TextReading]) -> list[Strength]:
        out: dict[str, Strength] = {}
        for item, ratio in self.medication_strengths:
            s = self._ratio_strength(item, ratio)
            if s is not None:
                out.setdefault(s.ingredient, s)
        for r in readings:
            for s in r.reading.strengths:
                out.setdefault(s.ingredient, s)
        return list(out.values())

    def _ratio_strength(self, item: Mapping[str, Any], ratio: Mapping[str, Any]) -> Strength | None:
        """Medication.ingredient.strength (a Ratio: 70 mg / 1 tablet, 5 mg / 1 mL)."""
        ids: list[str] = []
        for system, code, _ in _codings(item):
            listed = self.cat.lookup(system, code)
            if listed is not None and len(listed.ingredients) == 1:
                ids.append(listed.ingredients[0])
        if not ids:
            for t in _texts(item):
                ids.extend(self.cat.read_name(t).ingredients)
        if len(set(ids)) != 1:
            return None
        num, den = ratio.get("numerator"), ratio.get("denominator")
        amount = _quantity_value(num)
        unit = _quantity_unit(num)
        if amount is None or unit is None:
            return None
        mg = mg_factor(unit)
        if mg is None:
            return None
        den_value = _quantity_value(den) if isinstance(den, Mapping) else Decimal(1)
        den_unit = (_quantity_unit(den) or "1") if isinstance(den, Mapping) else "1"
        if den_value is None or den_value <= 0:
            return None
        ml = ml_factor(den_unit)
        if ml is not None:
            return Strength(ids[0], clean_decimal(amount * mg / (den_value * ml)), "mg", StrengthBasis.ML)
        if is_count(den_unit):
            return Strength(ids[0], clean_decimal(amount * mg / den_value), "mg", StrengthBasis.UNIT)
        return None

    def _form_from_texts(
        self, readings: list[_TextReading], dose_form: str | None, unit_dose: bool | None
    ) -> tuple[str | None, Route | None, bool | None]:
        for r in readings:
            if r.reading.form_route is not None:
                return r.reading.dose_forms[0], r.reading.form_route, r.reading.unit_dose
        for t in self.form_texts:
            reading = self.cat.read_name(t)
            route = reading.form_route or reading.text_route
            if route is not None:
                return (reading.dose_forms[0] if reading.dose_forms else t), route, reading.unit_dose
        return dose_form, None, unit_dose

    @staticmethod
    def _text_route(readings: list[_TextReading]) -> Route | None:
        routes = [r.reading.text_route for r in readings if r.reading.text_route is not None]
        return single_route(routes) if routes else None

    # -- helpers ---------------------------------------------------------------------------------------------

    def _relevant(self, ingredient_id: str) -> bool:
        """C-06 osteoporosis drugs and glucocorticoids that can be systemic: what an entry must not be misread
        as or mistaken for."""
        i = self.cat.ingredient(ingredient_id)
        return i.drug_class.is_osteoporosis_therapy or (
            i.drug_class is DrugClass.GLUCOCORTICOID and i.systemic_exposure
        )

    def _names(self, ids: Iterable[str]) -> str:
        return " + ".join(self.cat.ingredient(i).name for i in dict.fromkeys(ids))

    def _unclassified(
        self, ids: Sequence[str], reason: str, method: MatchMethod, evidence: Evidence
    ) -> UnclassifiedDrug:
        unique = list(dict.fromkeys(ids))
        return UnclassifiedDrug(
            names=tuple(self.cat.ingredient(i).name for i in unique),
            drug_classes=tuple(dict.fromkeys(self.cat.ingredient(i).drug_class for i in unique)),
            reason=reason,
            display=self.texts[0] if self.texts else (evidence.text or ""),
            method=method,
            evidence=evidence,
        )

    @staticmethod
    def _code_evidence(hit: _CodeHit) -> Evidence:
        listed = hit.listed
        return Evidence(
            MatchMethod.CODE,
            system=listed.system,
            code=listed.code,
            text=listed.display,
            source=listed.source,
            origin=listed.origin,
            verified=listed.verified,
            local=listed.local,
        )

    @staticmethod
    def _name_evidence(named: list[_TextReading]) -> Evidence:
        matched = tuple(dict.fromkeys(m for r in named for m in r.reading.matched))
        return Evidence(MatchMethod.NAME, text=named[0].text, matched=matched)


def _primary(ingredients: Sequence[Ingredient]) -> Ingredient | None:
    for i in ingredients:
        if i.drug_class.is_osteoporosis_therapy or i.drug_class is DrugClass.GLUCOCORTICOID:
            return i
    return ingredients[0] if ingredients else None


def _token(hit: _CodeHit) -> str:
    system = normalize_system(hit.coding[0])
    short = {"http://www.nlm.nih.gov/research/umls/rxnorm": "RxNorm", "http://www.whocc.no/atc": "ATC"}
    return f"{short.get(system, system)} {hit.coding[1]}"


def _quantity_value(q: Any) -> Decimal | None:
    if not isinstance(q, Mapping):
        return None
    v = q.get("value")
    if isinstance(v, bool) or not isinstance(v, int | float | str | Decimal):
        return None
    try:
        d = Decimal(str(v))
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


def _quantity_unit(q: Any) -> str | None:
    if not isinstance(q, Mapping):
        return None
    return _str(q.get("code")) or _str(q.get("unit"))

"""Reading drug names: whole-word phrase matching, strengths ("70 MG", "60 MG/ML", "100 ML ... 0.04 MG/ML"), dose
forms, route words and the RxNorm term type of a normalized RxNorm name. Works on any text: RxNorm names
("Alendronic acid 70 MG Oral Tablet [Fosamax]"), EHR displays and free text ("fosamax 70mg weekly")."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from .model import Route, RxNormLevel, Strength, StrengthBasis
from .units import clean_decimal, mg_factor


class PhraseKind(StrEnum):
    INGREDIENT = "ingredient"
    PRODUCT = "product"
    NOT_DRUG = "not-drug"  # "calcium pantothenate": contains a drug name but is not that drug
    CLASS_WORD = "class-word"  # "bisphosphonate", "steroid"
    NOT_CLASS = "not-class"  # "anabolic steroid"
    DOSE_FORM = "dose-form"
    ROUTE_WORD = "route-word"


@dataclass(frozen=True, slots=True)
class Phrase:
    text: str  # as written in the data file
    kind: PhraseKind
    target: str  # ingredient id, product name, class phrase, dose form name or route


@dataclass(frozen=True, slots=True)
class Hit:
    phrase: Phrase
    start: int
    end: int


def normalize_text(text: str) -> str:
    """Lower case, accents and trademark signs removed, whitespace collapsed; character positions are those of
    the result (all readers work on it)."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    stripped = stripped.replace("\u00ae", " ").replace("\u2122", " ").replace("\u00a0", " ")
    return re.sub(r"\s+", " ", stripped).strip().lower()


_SEPARATORS = re.compile(r"[\s,\-]+")


def phrase_key(text: str) -> str:
    """Two spellings that differ only in spaces, hyphens and commas are the same phrase."""
    return _SEPARATORS.sub("", normalize_text(text))


def _phrase_pattern(text: str) -> str:
    words = [w for w in _SEPARATORS.split(normalize_text(text)) if w]
    return r"[\s,\-]*".join(re.escape(w) for w in words)


class PhraseMatcher:
    """Finds phrases as whole words, leftmost first and, at one position, longest first. A phrase is bounded
    by non-letters ("Fosamax70mg" matches "fosamax"; "tricalcium" does not match "calcium")."""

    def __init__(self, phrases: Iterable[Phrase]) -> None:
        self._by_key: dict[str, Phrase] = {}
        for p in phrases:
            key = phrase_key(p.text)
            if not key:
                raise ValueError(f"empty phrase {p.text!r}")
            other = self._by_key.get(key)
            if other is not None and other != p:
                raise ValueError(
                    f"phrase {p.text!r} ({p.kind.value} {p.target}) is also {other.text!r} "
                    f"({other.kind.value} {other.target})"
                )
            self._by_key[key] = p
        patterns = sorted({_phrase_pattern(p.text) for p in self._by_key.values()}, key=len, reverse=True)
        alternation = "|".join(patterns) if patterns else r"(?!x)x"
        self._regex = re.compile(rf"(?<![a-z0-9])(?:{alternation})(?![a-z])")

    @property
    def phrases(self) -> tuple[Phrase, ...]:
        return tuple(self._by_key.values())

    def find(self, normalized: str) -> list[Hit]:
        hits: list[Hit] = []
        for m in self._regex.finditer(normalized):
            phrase = self._by_key.get(_SEPARATORS.sub("", m.group(0)))
            if phrase is not None:
                hits.append(Hit(phrase, m.start(), m.end()))
        return hits


# --- strengths ------------------------------------------------------------------------------------------------

_NUMBER = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+"
_STRENGTH = re.compile(
    rf"(?<![\w.])(?P<num>{_NUMBER})\s*(?P<unit>mg|mcg|ug|gm|g|unt|iu|units?|international units?|meq|%)"
    rf"(?:\s*/\s*(?P<den_num>{_NUMBER})?\s*(?P<den>ml|actuat|actuation|spray|puff|hr|day|24 ?hr))?(?![a-z])"
)
_VOLUME_BEFORE = re.compile(rf"(?P<vol>{_NUMBER})\s*ml\s*$")
_IU = frozenset({"unt", "iu", "unit", "units", "international unit", "international units"})
_BASIS = {
    "ml": StrengthBasis.ML,
    "actuat": StrengthBasis.ACTUATION,
    "actuation": StrengthBasis.ACTUATION,
    "spray": StrengthBasis.ACTUATION,
    "puff": StrengthBasis.ACTUATION,
    "hr": StrengthBasis.HOUR,
    "day": StrengthBasis.DAY,
    "24hr": StrengthBasis.DAY,
    "24 hr": StrengthBasis.DAY,
}


def _number(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


@dataclass(frozen=True, slots=True)
class StrengthToken:
    start: int
    amount: Decimal
    unit: str  # "mg", "[iU]", "meq" or "%"
    basis: StrengthBasis

    def for_ingredient(self, ingredient: str, volume_ml: Decimal | None) -> Strength:
        volume = volume_ml if self.basis is StrengthBasis.ML else None
        return Strength(ingredient, self.amount, self.unit, self.basis, volume)


def strength_tokens(normalized: str, start: int = 0, end: int | None = None) -> list[StrengthToken]:
    """Strengths written in `normalized[start:end]`, in order. "15 mg/5 ml" is 3 mg/mL; "50,000 units" is
    50000 [iU]; "500 mcg" is 0.5 mg."""
    out: list[StrengthToken] = []
    for m in _STRENGTH.finditer(normalized, start, len(normalized) if end is None else end):
        unit_text = m.group("unit")
        amount = _number(m.group("num"))
        if unit_text == "%":
            out.append(StrengthToken(m.start(), amount, "%", StrengthBasis.PERCENT))
            continue
        factor = mg_factor(unit_text)
        if factor is not None:
            amount, unit = amount * factor, "mg"
        elif unit_text in _IU:
            unit = "[iU]"
        elif unit_text == "meq":
            unit = "meq"
        else:  # pragma: no cover - the pattern admits only the units above
            continue
        den = m.group("den")
        basis = StrengthBasis.UNIT if den is None else _BASIS[den]
        if m.group("den_num"):
            divisor = _number(m.group("den_num"))
            if divisor <= 0:
                continue
            amount = amount / divisor
        if amount <= 0:
            continue
        out.append(StrengthToken(m.start(), clean_decimal(amount), unit, basis))
    return out


def volume_before(normalized: str, position: int, floor: int = 0) -> Decimal | None:
    """The quantity of a quantified RxNorm drug written just before an ingredient: "100 ML zoledronic acid"."""
    m = _VOLUME_BEFORE.search(normalized, floor, position)
    if m is None:
        return None
    volume = _number(m.group("vol"))
    return volume if volume > 0 else None


# --- routes ---------------------------------------------------------------------------------------------------

# When the words of one text name several routes, a specific one wins over the generic word it refines ("cream"
# in "vaginal cream", "injection" in "IM injection", "tablet" in "vaginal tablet"); any other disagreement leaves
# the route unknown.
_REFINES: dict[Route, frozenset[Route]] = {
    Route.INJECTION: frozenset({Route.INTRAVENOUS, Route.INTRAMUSCULAR, Route.SUBCUTANEOUS, Route.INTRA_ARTICULAR}),
    Route.TOPICAL: frozenset(
        {Route.RECTAL, Route.VAGINAL, Route.OPHTHALMIC, Route.OTIC, Route.NASAL, Route.TRANSDERMAL}
    ),
    Route.ORAL: frozenset({Route.VAGINAL, Route.SUBLINGUAL, Route.INHALED, Route.OPHTHALMIC, Route.OTIC}),
}


def single_route(routes: Iterable[Route]) -> Route | None:
    found = set(routes)
    for generic, specific in _REFINES.items():
        if generic in found and found & specific:
            found.discard(generic)
    return found.pop() if len(found) == 1 else None


# --- RxNorm names ----------------------------------------------------------------------------------------------

_PACK = re.compile(r"^\{.*\}\s*pack(?:\s*\[[^\]]+\])?$")
_BRAND_SUFFIX = re.compile(r"\[[^\]]+\]$")


def rxnorm_level(
    normalized: str,
    *,
    ingredient_names: Sequence[Hit],
    product_names: Sequence[Hit],
    has_strength: bool,
    dose_form_hits: Sequence[Hit],
    group_forms: frozenset[str],
    first_names: frozenset[str],
) -> RxNormLevel | None:
    """The term type a normalized RxNorm name has by RxNorm's naming rules; None when the name does not follow
    them (an EHR's own display). `first_names`: each ingredient's preferred (IN) name, normalized."""
    if _PACK.match(normalized):
        return RxNormLevel.BPCK if _BRAND_SUFFIX.search(normalized) else RxNormLevel.GPCK
    branded = _BRAND_SUFFIX.search(normalized) is not None
    forms = {h.phrase.target for h in dose_form_hits}
    group = bool(forms & group_forms)
    if branded:
        if has_strength and forms and not group:
            return RxNormLevel.SBD
        if has_strength and not forms:
            return RxNormLevel.SBDC
        if forms and not group:
            return RxNormLevel.SBDF
        return None
    if has_strength:
        if forms and not group:
            return RxNormLevel.SCD
        return RxNormLevel.SCDC if not forms else None
    if forms:
        if not group:
            return RxNormLevel.SCDF
        return RxNormLevel.SBDG if product_names and not ingredient_names else RxNormLevel.SCDG
    words = _SEPARATORS.sub("", normalized)
    if (
        len(ingredient_names) == 1
        and not product_names
        and _SEPARATORS.sub("", _hit_text(normalized, ingredient_names[0])) == words
    ):
        # The preferred name is the IN; another name may be a PIN or a synonym: not decided from the name.
        return RxNormLevel.IN if normalize_text(ingredient_names[0].phrase.text) in first_names else None
    if (
        len(product_names) == 1
        and not ingredient_names
        and _SEPARATORS.sub("", _hit_text(normalized, product_names[0])) == words
    ):
        return RxNormLevel.BN
    if len(ingredient_names) > 1 and not product_names:
        rest = normalized
        for h in sorted(ingredient_names, key=lambda h: h.start, reverse=True):
            rest = rest[: h.start] + rest[h.end :]
        if re.fullmatch(r"[\s/]*", rest):
            return RxNormLevel.MIN
    return None


def _hit_text(normalized: str, hit: Hit) -> str:
    return normalized[hit.start : hit.end]

"""Terminology kept as reviewed data: the code lists in fhir_mappings/codes/*.yaml plus a site's local codes.

Every built-in entry carries its source (shared/reference/terminology.md). A site adds local codes to
existing concepts with a YAML file named by the environment variable OSTEO_CDS_EXTRA_CODES (format:
fhir_mappings/README.md). Both are validated when loaded; a malformed file raises InvalidCodeFile naming
the file and line, and the service refuses to start."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from decision_core.facts import Analyte, BoneSite, DrugClass, FractureSite, MenopauseStatus, ScoreKind
from fhir_mappings.drugs import DrugCatalog, load_catalog, local_codes_from_entries

EXTRA_CODES_ENV = "OSTEO_CDS_EXTRA_CODES"
CODES_DIR = Path(__file__).parent / "codes"
DOMAINS: tuple[str, ...] = ("dxa", "frax", "labs", "conditions", "medications", "vitals", "procedures")

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
CPT = "http://www.ama-assn.org/go/cpt"
ATC = "http://www.whocc.no/atc"
UCUM = "http://unitsofmeasure.org"

# Other spellings of the same code systems seen in real data (HL7 OIDs); trailing slashes are ignored too.
_SYSTEM_ALIASES: dict[str, str] = {
    "urn:oid:2.16.840.1.113883.6.1": LOINC,
    "urn:oid:2.16.840.1.113883.6.96": SNOMED,
    "urn:oid:2.16.840.1.113883.6.88": RXNORM,
    "urn:oid:2.16.840.1.113883.6.90": ICD10CM,
    "urn:oid:2.16.840.1.113883.6.12": CPT,
    "urn:oid:2.16.840.1.113883.6.73": ATC,
}
# Systems whose codes are compared case-insensitively and without dots (ICD-10-CM "M81.0" == "M810").
_DOTLESS_SYSTEMS = frozenset({ICD10CM})
_UPPERCASE_SYSTEMS = frozenset({ICD10CM, ATC})
# Prefix entries are allowed only for ICD-10-CM categories (the issue: "prefixes allowed" for ICD-10-CM).
_PREFIX_SYSTEMS = frozenset({ICD10CM})


class InvalidCodeFile(ValueError):
    """A code-list file is malformed. The message names the file and line."""

    def __init__(self, path: str | os.PathLike[str], line: int | None, message: str) -> None:
        self.path = str(path)
        self.line = line
        self.detail = message
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


def normalize_system(system: str | None) -> str:
    if not system:
        return ""
    s = system.strip().rstrip("/")
    return _SYSTEM_ALIASES.get(s, s)


def normalize_code(system: str, code: str | int | None) -> str:
    """`system` must already be normalized."""
    if code is None:
        return ""
    c = str(code).strip()
    if system in _DOTLESS_SYSTEMS:
        c = c.replace(".", "")
    if system in _UPPERCASE_SYSTEMS:
        c = c.upper()
    return c


@dataclass(frozen=True, slots=True)
class Concept:
    domain: str
    id: str
    attrs: Mapping[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.attrs.get(key, default)


@dataclass(frozen=True, slots=True)
class CodeEntry:
    domain: str
    system: str
    code: str
    display: str
    concept: Concept
    source: str
    origin: str  # "codes/dxa.yaml:42" or "<extra file>:7": where a reviewer finds it
    verified: bool = True
    prefix: bool = False
    local: bool = False  # from the site's extra-codes file
    attrs: Mapping[str, Any] = field(default_factory=dict)

    def attr(self, key: str, default: Any = None) -> Any:
        """Entry attribute, falling back to the concept's."""
        if key in self.attrs:
            return self.attrs[key]
        return self.concept.attrs.get(key, default)

    @property
    def token(self) -> str:
        return f"{self.system}|{self.code}"


# ---------------------------------------------------------------------------------------------------------
# Schema: allowed attributes per domain and how to check their values.


def _enum_check(values: Iterable[str]) -> Any:
    allowed = frozenset(values)

    def check(v: Any) -> str | None:
        return None if v in allowed else f"must be one of {sorted(allowed)}"

    return check


def _bool_check(v: Any) -> str | None:
    return None if isinstance(v, bool) else "must be true or false"


def _number_check(v: Any) -> str | None:
    if isinstance(v, bool) or not isinstance(v, int | float | str):
        return "must be a number"
    try:
        d = Decimal(str(v))
    except InvalidOperation:
        return "must be a number"
    return None if d.is_finite() and d > 0 else "must be a positive number"


def _str_check(v: Any) -> str | None:
    return None if isinstance(v, str) and v.strip() else "must be a non-empty string"


def _str_list_check(v: Any) -> str | None:
    ok = isinstance(v, list) and v and all(isinstance(x, str) and x.strip() for x in v)
    return None if ok else "must be a list of non-empty strings"


_ROUTES = (
    "oral",
    "intravenous",
    "subcutaneous",
    "intramuscular",
    "inhaled",
    "topical",
    "nasal",
    "ophthalmic",
    "otic",
    "rectal",
    "vaginal",
    "transdermal",
)
_MENOPAUSE = tuple(m.value for m in MenopauseStatus if m is not MenopauseStatus.UNKNOWN)
_NOTE = {"note": _str_check}

_CONCEPT_SCHEMA: dict[str, dict[str, Any]] = {
    "dxa": {
        "kind": _enum_check(k.value for k in ScoreKind),
        "site": _enum_check(s.value for s in BoneSite),
        "side": _enum_check(("left", "right")),
        **_NOTE,
    },
    "frax": {"kind": _enum_check(("mof", "hip", "input-glucocorticoids", "input-bmd-used")), **_NOTE},
    "labs": {
        "analyte": _enum_check(a.value for a in Analyte),
        "panel": _bool_check,
        "on_file_only": _bool_check,
        "plausible_low": _number_check,
        "plausible_high": _number_check,
        **_NOTE,
    },
    "conditions": {
        "kind": _enum_check(("condition", "fracture", "family-history", "menopause")),
        "fracture_site": _enum_check(f.value for f in FractureSite),
        "group": _str_check,
        "secondary_cause": _bool_check,
        "frax_input": _bool_check,
        "implies_menopause": _enum_check(_MENOPAUSE),
        **_NOTE,
    },
    "medications": {
        "drug_class": _enum_check(d.value for d in DrugClass),
        "ingredient": _str_check,
        "route": _enum_check(_ROUTES),
        "injectable": _bool_check,
        "systemic": _bool_check,
        "prednisone_mg": _number_check,
        "drug_mg": _number_check,
        "text_names": _str_list_check,
        **_NOTE,
    },
    "vitals": {
        "measure": _enum_check(("weight", "height", "bmi", "smoking", "alcohol")),
        "answer": _enum_check(("current", "former", "never", "unknown")),
        **_NOTE,
    },
    "procedures": {"kind": _enum_check(("spinal-instrumentation",)), **_NOTE},
}
# Concept attributes every concept of a domain must have.
_CONCEPT_REQUIRED: dict[str, tuple[str, ...]] = {
    "dxa": ("kind", "site"),
    "labs": ("analyte",),
    "conditions": ("kind",),
    "medications": ("drug_class", "ingredient"),
    "frax": ("kind",),
    "procedures": ("kind",),
    "vitals": (),
}

_ENTRY_REQUIRED = ("system", "code", "display", "concept", "source")
_ENTRY_COMMON: dict[str, Any] = {
    "system": _str_check,
    "display": _str_check,
    "concept": _str_check,
    "source": _str_check,
    "verified": _bool_check,
    "prefix": _bool_check,
    "note": _str_check,
}
_ENTRY_SCHEMA: dict[str, dict[str, Any]] = {
    "dxa": {},
    "frax": {},
    "labs": {},
    "vitals": {},
    "procedures": {},
    "conditions": {
        "osteoporotic": _bool_check,
        "history": _bool_check,
        "low_trauma": _bool_check,
        "implies_menopause": _enum_check(_MENOPAUSE),
    },
    "medications": {
        "tty": _str_check,
        "strength_mg": _number_check,
        "dose_form": _str_check,
        "route": _enum_check(_ROUTES),
    },
}


# ---------------------------------------------------------------------------------------------------------
# YAML reading with line numbers.


_FastLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available


def _check_duplicate_keys(path: Path, node: yaml.Node | None) -> None:
    """PyYAML silently keeps the last of duplicate keys; a reviewed file must not hide an entry that way."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, yaml.MappingNode):
            seen: set[str] = set()
            for k, v in n.value:
                if isinstance(k, yaml.ScalarNode):
                    if k.value in seen:
                        raise InvalidCodeFile(path, k.start_mark.line + 1, f"duplicate key {k.value!r}")
                    seen.add(k.value)
                stack.append(v)
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)


def _read_yaml(path: Path) -> tuple[Any, yaml.Node | None]:
    """(python value, node tree) of a YAML file; errors become InvalidCodeFile with the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidCodeFile(path, None, f"cannot read file: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise InvalidCodeFile(path, None, "file is not UTF-8 text") from exc
    try:
        node = yaml.compose(text, Loader=_FastLoader)
        _check_duplicate_keys(path, node)
        value = yaml.load(text, Loader=_FastLoader)  # safe loader: plain data only
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise InvalidCodeFile(path, line, f"YAML syntax error: {exc.problem or exc}") from exc
    except yaml.YAMLError as exc:
        raise InvalidCodeFile(path, None, f"YAML error: {exc}") from exc
    return value, node


def _line(node: yaml.Node | None) -> int | None:
    return node.start_mark.line + 1 if node is not None else None


def _key_lines(node: yaml.Node | None) -> dict[str, int]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {k.value: k.start_mark.line + 1 for k, _ in node.value if isinstance(k, yaml.ScalarNode)}


def _mapping_child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return v
    return None


def _code_str(value: Any) -> str | None:
    # YAML reads 8640 as an int; floats (e.g. 1.10) would silently lose digits, so they are refused.
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


# ---------------------------------------------------------------------------------------------------------


class Terminology:
    """Lookups (system, code) -> concept entries, and code lists for FHIR queries."""

    def __init__(
        self,
        concepts: Mapping[str, Mapping[str, Concept]],
        entries: Iterable[CodeEntry],
        sites: Mapping[str, Mapping[str, Any]],
        extra_codes_path: str | None = None,
    ) -> None:
        self._concepts = {d: dict(c) for d, c in concepts.items()}
        self._entries = tuple(entries)
        self._drug_catalog: Any = None
        self._sites = {k: dict(v) for k, v in sites.items()}
        self.extra_codes_path = extra_codes_path
        self._exact: dict[tuple[str, str], list[CodeEntry]] = {}
        self._prefix: dict[tuple[str, str], list[CodeEntry]] = {}
        self._prefix_systems: set[str] = set()
        for e in self._entries:
            key = (e.system, normalize_code(e.system, e.code))
            if e.prefix:
                self._prefix.setdefault(key, []).append(e)
                self._prefix_systems.add(e.system)
            else:
                self._exact.setdefault(key, []).append(e)
        self._known_cache: dict[tuple[Any, Any], bool] = {}
        self._lookup_cache: dict[tuple[Any, Any, Any], tuple[CodeEntry, ...]] = {}
        self._text_names: tuple[tuple[str, Concept], ...] = tuple(
            (name.lower(), c)
            for c in self._concepts.get("medications", {}).values()
            for name in c.get("text_names", ()) or ()
        )

    # -- lookups ---------------------------------------------------------------------------------------

    def lookup(self, system: str | None, code: str | int | None, domain: str | None = None) -> tuple[CodeEntry, ...]:
        """Entries for one coding. Exact matches first, then ICD-10-CM prefixes longest first; within a
        concept `group` (e.g. fracture sites) only the most specific entry is kept, and each concept once.
        Memoised: a chart repeats the same few codes hundreds of times (codes are not patient data)."""
        key = (system, code, domain)
        hit = self._lookup_cache.get(key)
        if hit is None:
            hit = self._lookup(system, code, domain)
            if len(self._lookup_cache) > 100_000:
                self._lookup_cache.clear()
            self._lookup_cache[key] = hit
        return hit

    def _lookup(self, system: str | None, code: str | int | None, domain: str | None) -> tuple[CodeEntry, ...]:
        s = normalize_system(system)
        c = normalize_code(s, code)
        if not c:
            return ()
        found: list[CodeEntry] = list(self._exact.get((s, c), ()))
        if s in self._prefix_systems:
            for n in range(len(c), 0, -1):
                found.extend(self._prefix.get((s, c[:n]), ()))
        if not found:
            return ()
        result: list[CodeEntry] = []
        seen_concepts: set[tuple[str, str]] = set()
        seen_groups: set[tuple[str, str]] = set()
        for e in found:
            if domain is not None and e.domain != domain:
                continue
            ckey = (e.domain, e.concept.id)
            if ckey in seen_concepts:
                continue
            group = e.concept.get("group")
            if group is not None:
                gkey = (e.domain, group)
                if gkey in seen_groups:
                    continue
                seen_groups.add(gkey)
            seen_concepts.add(ckey)
            result.append(e)
        return tuple(result)

    def is_known(self, system: str | None, code: str | int | None) -> bool:
        """Cheap relevance test used before parsing a resource (memoised: charts repeat the same codes)."""
        key = (system, code)
        hit = self._known_cache.get(key)
        if hit is None:
            hit = self._is_known(system, code)
            if len(self._known_cache) > 100_000:
                self._known_cache.clear()
            self._known_cache[key] = hit
        return hit

    def _is_known(self, system: str | None, code: str | int | None) -> bool:
        s = normalize_system(system)
        c = normalize_code(s, code)
        if not c:
            return False
        if (s, c) in self._exact:
            return True
        if s in self._prefix_systems:
            return any((s, c[:n]) in self._prefix for n in range(len(c), 0, -1))
        return False

    def match_text(self, text: str | None) -> tuple[Concept, ...]:
        """Medication concepts whose `text_names` occur (as words) in `text`; the documented fallback for
        drugs without a verified code (anabolics, calcitonin)."""
        if not text or not self._text_names:
            return ()
        low = text.lower()
        out: list[Concept] = []
        for name, concept in self._text_names:
            i = low.find(name)
            while i >= 0:
                before = low[i - 1] if i > 0 else " "
                after = low[i + len(name)] if i + len(name) < len(low) else " "
                if not before.isalnum() and not after.isalnum():
                    if concept not in out:
                        out.append(concept)
                    break
                i = low.find(name, i + 1)
        return tuple(out)

    def concept(self, domain: str, concept_id: str) -> Concept:
        return self._concepts[domain][concept_id]

    def find_concept(self, domain: str, concept_id: str) -> Concept | None:
        return self._concepts.get(domain, {}).get(concept_id)

    def drug_catalog(self) -> DrugCatalog:
        """The drug recognition catalog (fhir_mappings.drugs) with this terminology's local medication codes;
        built once (raises CatalogError on an inconsistent entry: call it at start-up)."""
        if self._drug_catalog is None:
            self._drug_catalog = load_catalog(local_codes_from_entries(self.entries("medications")))
        return self._drug_catalog

    def concepts(self, domain: str) -> tuple[Concept, ...]:
        return tuple(self._concepts.get(domain, {}).values())

    def entries(self, domain: str | None = None) -> tuple[CodeEntry, ...]:
        return tuple(e for e in self._entries if domain is None or e.domain == domain)

    def site_info(self, site: str) -> Mapping[str, Any]:
        """DXA site attributes from dxa.yaml (`diagnostic`, `note`)."""
        return MappingProxyType(self._sites.get(site, {}))

    # -- code lists for FHIR queries ------------------------------------------------------------------

    def search_codes(self, resource_type: str, *, include_prefixes: bool = False) -> list[str]:
        """Sorted, de-duplicated "system|code" tokens for the concepts read from `resource_type`
        ("observation", "condition", "familymemberhistory", "medication" (any Medication* resource),
        "procedure", "servicerequest", "appointment", "diagnosticreport").

        ICD-10-CM prefix entries name categories, which a token search cannot expand: they are left out unless
        `include_prefixes`, so queries for conditions should not filter by code."""
        wanted = _RESOURCE_SELECTORS.get(resource_type.lower().replace("_", ""))
        if wanted is None:
            raise ValueError(f"no code list for resource type {resource_type!r}")
        tokens = {e.token for e in self._entries if wanted(e) and (include_prefixes or not e.prefix)}
        return sorted(tokens)


def _observation_entry(e: CodeEntry) -> bool:
    if e.domain in ("dxa", "frax", "labs"):
        return True
    if e.domain == "vitals":
        return e.concept.get("measure") is not None  # not the smoking answers (they are values, not codes)
    return e.domain == "conditions" and e.concept.get("kind") == "menopause"


_RESOURCE_SELECTORS: dict[str, Any] = {
    "observation": _observation_entry,
    "condition": lambda e: e.domain == "conditions" and e.concept.get("kind") != "menopause",
    "familymemberhistory": lambda e: e.domain == "conditions" and e.concept.get("kind") == "family-history",
    "medication": lambda e: e.domain == "medications",
    "medicationstatement": lambda e: e.domain == "medications",
    "medicationrequest": lambda e: e.domain == "medications",
    "medicationadministration": lambda e: e.domain == "medications",
    "procedure": lambda e: e.domain == "procedures",
    "servicerequest": lambda e: e.domain == "procedures",
    "appointment": lambda e: e.domain == "procedures",
    "diagnosticreport": lambda e: e.domain == "labs" and bool(e.concept.get("panel")),
}


# ---------------------------------------------------------------------------------------------------------
# Loading and validation


def _check_attrs(
    path: Path,
    lines: Mapping[str, int],
    default_line: int | None,
    attrs: Mapping[str, Any],
    schema: Mapping[str, Any],
    what: str,
) -> None:
    for key, value in attrs.items():
        check = schema.get(key)
        line = lines.get(key, default_line)
        if check is None:
            raise InvalidCodeFile(path, line, f"{what}: unknown field {key!r} (allowed: {sorted(schema)})")
        problem = check(value)
        if problem:
            raise InvalidCodeFile(path, line, f"{what}: field {key!r} {problem} (got {value!r})")


def _build_entry(
    path: Path,
    shown_path: str,
    data: Any,
    node: yaml.Node | None,
    domain: str | None,
    concepts: Mapping[str, Mapping[str, Concept]],
    *,
    local: bool,
    index: int,
) -> CodeEntry:
    line = _line(node)
    what = f"entry {index + 1}"
    if not isinstance(data, dict):
        raise InvalidCodeFile(path, line, f"{what}: expected a mapping with {', '.join(_ENTRY_REQUIRED)}")
    lines = _key_lines(node)
    data = dict(data)
    if local:
        dom = data.pop("domain", None)
        if dom is None:
            raise InvalidCodeFile(path, line, f"{what}: missing required field 'domain' (one of {list(DOMAINS)})")
        if dom not in DOMAINS:
            raise InvalidCodeFile(
                path, lines.get("domain", line), f"{what}: unknown domain {dom!r} (one of {list(DOMAINS)})"
            )
        domain = dom
    assert domain is not None
    for req in _ENTRY_REQUIRED:
        if req not in data or data[req] is None or (isinstance(data[req], str) and not data[req].strip()):
            raise InvalidCodeFile(path, line, f"{what}: missing required field {req!r}")
    code = _code_str(data.pop("code"))
    if code is None:
        raise InvalidCodeFile(path, lines.get("code", line), f"{what}: 'code' must be a string (quote it)")
    schema = {**_ENTRY_COMMON, **_ENTRY_SCHEMA[domain]}
    _check_attrs(path, lines, line, data, schema, what)
    concept_id = data.pop("concept")
    concept = concepts[domain].get(concept_id)
    if concept is None:
        known = ", ".join(sorted(concepts[domain]))
        raise InvalidCodeFile(
            path,
            lines.get("concept", line),
            f"{what}: unknown concept {concept_id!r} for domain {domain!r} (known: {known})",
        )
    system = normalize_system(data.pop("system"))
    prefix = bool(data.pop("prefix", False))
    if prefix and system not in _PREFIX_SYSTEMS:
        raise InvalidCodeFile(
            path,
            lines.get("prefix", line),
            f"{what}: prefix entries are only allowed for ICD-10-CM ({ICD10CM})",
        )
    return CodeEntry(
        domain=domain,
        system=system,
        code=code,
        display=str(data.pop("display")).strip(),
        concept=concept,
        source=str(data.pop("source")).strip(),
        origin=f"{shown_path}:{line}",
        verified=bool(data.pop("verified", True)),
        prefix=prefix,
        local=local,
        attrs=MappingProxyType(data),
    )


def _load_domain_file(
    path: Path, domain: str
) -> tuple[dict[str, Concept], list[tuple[Any, yaml.Node | None]], dict[str, dict[str, Any]], yaml.Node | None]:
    data, node = _read_yaml(path)
    if not isinstance(data, dict):
        raise InvalidCodeFile(path, _line(node), "expected a mapping with 'domain', 'concepts' and 'codes'")
    lines = _key_lines(node)
    if data.get("domain") != domain:
        raise InvalidCodeFile(path, lines.get("domain", 1), f"'domain' must be {domain!r}")
    unknown = set(data) - {"domain", "concepts", "codes", "sites"}
    if unknown:
        key = sorted(unknown)[0]
        raise InvalidCodeFile(path, lines.get(key), f"unknown top-level key {key!r}")
    concepts_data = data.get("concepts")
    concepts_node = _mapping_child(node, "concepts")
    if not isinstance(concepts_data, dict) or not concepts_data:
        raise InvalidCodeFile(path, lines.get("concepts"), "'concepts' must be a non-empty mapping")
    concept_lines = _key_lines(concepts_node)
    concepts: dict[str, Concept] = {}
    for cid, attrs in concepts_data.items():
        cline = concept_lines.get(str(cid))
        attrs = attrs or {}
        if not isinstance(attrs, dict):
            raise InvalidCodeFile(path, cline, f"concept {cid!r}: attributes must be a mapping")
        _check_attrs(path, {}, cline, attrs, _CONCEPT_SCHEMA[domain], f"concept {cid!r}")
        for req in _CONCEPT_REQUIRED[domain]:
            if req not in attrs:
                raise InvalidCodeFile(path, cline, f"concept {cid!r}: missing required attribute {req!r}")
        concepts[str(cid)] = Concept(domain=domain, id=str(cid), attrs=MappingProxyType(dict(attrs)))
    codes_data = data.get("codes")
    codes_node = _mapping_child(node, "codes")
    if not isinstance(codes_data, list):
        raise InvalidCodeFile(path, lines.get("codes"), "'codes' must be a list")
    code_nodes = list(codes_node.value) if isinstance(codes_node, yaml.SequenceNode) else [None] * len(codes_data)
    sites = data.get("sites") or {}
    if domain == "dxa":
        site_lines = _key_lines(_mapping_child(node, "sites"))
        for site, info in sites.items():
            if (
                site not in {s.value for s in BoneSite}
                or not isinstance(info, dict)
                or not isinstance(info.get("diagnostic"), bool)
            ):
                raise InvalidCodeFile(
                    path, site_lines.get(site), f"site {site!r}: needs a BoneSite and diagnostic: bool"
                )
        missing = {s.value for s in BoneSite} - set(sites)
        if missing:
            raise InvalidCodeFile(path, lines.get("sites"), f"sites missing: {sorted(missing)}")
    return concepts, list(zip(codes_data, code_nodes, strict=True)), sites, node


@functools.lru_cache(maxsize=4)
def _load_builtin_cached(
    codes_dir: Path,
) -> tuple[dict[str, dict[str, Concept]], tuple[CodeEntry, ...], dict[str, dict[str, Any]]]:
    concepts, entries, sites = _load_builtin(codes_dir)
    return concepts, tuple(entries), sites


def _load_builtin(
    codes_dir: Path,
) -> tuple[dict[str, dict[str, Concept]], list[CodeEntry], dict[str, dict[str, Any]]]:
    concepts: dict[str, dict[str, Concept]] = {}
    raw: dict[str, list[tuple[Any, yaml.Node | None]]] = {}
    sites: dict[str, dict[str, Any]] = {}
    for domain in DOMAINS:
        c, entries, s, _ = _load_domain_file(codes_dir / f"{domain}.yaml", domain)
        concepts[domain] = c
        raw[domain] = entries
        if s:
            sites = s
    entries_out: list[CodeEntry] = []
    for domain in DOMAINS:
        path = codes_dir / f"{domain}.yaml"
        for i, (data, node) in enumerate(raw[domain]):
            entries_out.append(
                _build_entry(path, f"codes/{domain}.yaml", data, node, domain, concepts, local=False, index=i)
            )
    return concepts, entries_out, sites


def _load_extra(
    path: Path, concepts: Mapping[str, Mapping[str, Concept]], builtin: Iterable[CodeEntry]
) -> list[CodeEntry]:
    data, node = _read_yaml(path)
    if data is None:
        return []  # an empty file adds nothing
    if isinstance(data, dict) and set(data) == {"codes"}:
        data, node = data["codes"], _mapping_child(node, "codes")
    if not isinstance(data, list):
        raise InvalidCodeFile(path, _line(node), "expected a list of code entries (or a mapping with 'codes:')")
    nodes = list(node.value) if isinstance(node, yaml.SequenceNode) else [None] * len(data)
    by_key: dict[tuple[str, str, str], CodeEntry] = {}
    for e in builtin:
        by_key.setdefault((e.domain, e.system, normalize_code(e.system, e.code)), e)
    out: list[CodeEntry] = []
    for i, (item, item_node) in enumerate(zip(data, nodes, strict=True)):
        entry = _build_entry(path, str(path), item, item_node, None, concepts, local=True, index=i)
        key = (entry.domain, entry.system, normalize_code(entry.system, entry.code))
        clash = by_key.get(key)
        if clash is not None and clash.concept.id != entry.concept.id and clash.concept.get("group") is None:
            raise InvalidCodeFile(
                path,
                _line(item_node),
                f"entry {i + 1}: code {entry.token} is already mapped to concept "
                f"{clash.concept.id!r} ({clash.origin}); a local file may only add codes",
            )
        by_key.setdefault(key, entry)
        out.append(entry)
    return out


def load_terminology(extra_codes_path: str | os.PathLike[str] | None = None) -> Terminology:
    """Built-in code lists plus the optional extra-codes file. Raises InvalidCodeFile on any malformed
    file."""
    # The built-in lists are immutable once loaded, so they are parsed once per process.
    concepts, builtin, sites = _load_builtin_cached(CODES_DIR)
    entries = list(builtin)
    extra_path: str | None = None
    if extra_codes_path is not None and str(extra_codes_path).strip():
        p = Path(extra_codes_path)
        extra_path = str(p)
        entries = entries + _load_extra(p, concepts, entries)
    return Terminology(concepts, entries, sites, extra_codes_path=extra_path)


@functools.lru_cache(maxsize=1)
def default_terminology() -> Terminology:
    """Process-wide terminology: built-in lists plus the file named by OSTEO_CDS_EXTRA_CODES, if set."""
    return load_terminology(os.environ.get(EXTRA_CODES_ENV) or None)

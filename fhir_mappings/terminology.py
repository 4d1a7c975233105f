"""Terminology as reviewed data: the code lists in fhir_mappings/codes/*.yaml plus a site's local codes, indexed for
lookups and for the code lists of FHIR queries.

Every built-in entry carries its source (shared/reference/terminology.md). A site adds local codes to existing concepts
with a YAML file named by the environment variable OSTEO_CDS_EXTRA_CODES (format: fhir_mappings/README.md). Both are
validated when loaded (code_files.py, against code-file.schema.yaml); a malformed file raises InvalidCodeFile naming the
file and line, and the service refuses to start."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from fhir_mappings.code_file_reader import InvalidCodeFile
from fhir_mappings.code_files import DOMAINS, CodeEntry, Concept, load_builtin, load_extra
from fhir_mappings.code_systems import normalize_code, normalize_system
from fhir_mappings.drugs import DrugCatalog, load_catalog, local_codes_from_entries

# The public face of the terminology: callers import these from here, wherever they are defined.
__all__ = [
    "CODES_DIR",
    "DOMAINS",
    "EXTRA_CODES_ENV",
    "CodeEntry",
    "Concept",
    "InvalidCodeFile",
    "Terminology",
    "default_terminology",
    "load_terminology",
]

EXTRA_CODES_ENV = "OSTEO_CDS_EXTRA_CODES"
CODES_DIR = Path(__file__).parent / "codes"


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


def load_terminology(extra_codes_path: str | os.PathLike[str] | None = None) -> Terminology:
    """Built-in code lists plus the optional extra-codes file. Raises InvalidCodeFile on any malformed
    file."""
    builtin = load_builtin(CODES_DIR)  # cached: the built-in lists are parsed once per process
    entries = list(builtin.entries)
    extra_path: str | None = None
    if extra_codes_path is not None and str(extra_codes_path).strip():
        p = Path(extra_codes_path)
        extra_path = str(p)
        entries = entries + load_extra(p, builtin.concepts, entries)
    return Terminology(builtin.concepts, entries, builtin.sites, extra_codes_path=extra_path)


@functools.lru_cache(maxsize=1)
def default_terminology() -> Terminology:
    """Process-wide terminology: built-in lists plus the file named by OSTEO_CDS_EXTRA_CODES, if set."""
    return load_terminology(os.environ.get(EXTRA_CODES_ENV) or None)

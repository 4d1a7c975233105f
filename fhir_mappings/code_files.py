"""The code-list files as concepts and code entries: the built-in fhir_mappings/codes/<domain>.yaml and a site's
extra-codes file. Each file is checked against code-file.schema.yaml first; this module checks what the schema
cannot see (an entry's concept exists, prefix entries are ICD-10-CM, a site's code does not re-map a listed one)."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from fhir_mappings.code_file_reader import CodeFile, InvalidCodeFile, Location, read_code_file
from fhir_mappings.code_file_schema import check_code_file
from fhir_mappings.code_systems import ICD10CM, PREFIX_SYSTEMS, normalize_code, normalize_system

DOMAINS: tuple[str, ...] = ("dxa", "frax", "labs", "conditions", "medications", "vitals", "procedures")
# The fields every entry may have; anything else (domain-specific, `note`) stays in CodeEntry.attrs.
_ENTRY_FIELDS = frozenset({"domain", "system", "code", "display", "concept", "source", "verified", "prefix"})


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


@dataclass(frozen=True, slots=True)
class BuiltinCodes:
    concepts: Mapping[str, Mapping[str, Concept]]  # domain -> concept id -> concept
    entries: tuple[CodeEntry, ...]
    sites: Mapping[str, Mapping[str, Any]]  # DXA site -> {diagnostic, note} (dxa.yaml)


@functools.lru_cache(maxsize=4)
def load_builtin(codes_dir: Path) -> BuiltinCodes:
    """All built-in domain files of `codes_dir`; parsed once per process (they do not change while it runs)."""
    concepts: dict[str, dict[str, Concept]] = {}
    entries: list[CodeEntry] = []
    sites: dict[str, dict[str, Any]] = {}
    for domain in DOMAINS:
        file = read_code_file(codes_dir / f"{domain}.yaml")
        check_code_file(file, f"{domain}-file")
        concepts[domain] = {
            str(cid): Concept(domain=domain, id=str(cid), attrs=MappingProxyType(dict(attrs)))
            for cid, attrs in file.data["concepts"].items()
        }
        shown = f"codes/{domain}.yaml"
        entries += (
            _entry(file, shown, ("codes", i), item, domain, concepts, local=False)
            for i, item in enumerate(file.data["codes"])
        )
        sites.update(file.data.get("sites", {}))
    return BuiltinCodes(concepts, tuple(entries), sites)


def load_extra(
    path: Path, concepts: Mapping[str, Mapping[str, Concept]], builtin: Iterable[CodeEntry]
) -> list[CodeEntry]:
    """The entries of a site's extra-codes file (a list of entries, or `codes:` holding that list)."""
    file = read_code_file(path)
    if file.data is None:
        return []  # an empty file adds nothing
    check_code_file(file, "extra-codes-file")
    base: Location = ("codes",) if isinstance(file.data, dict) else ()
    items = file.data["codes"] if base else file.data
    listed: dict[tuple[str, str, str], CodeEntry] = {}
    for e in builtin:
        listed.setdefault((e.domain, e.system, normalize_code(e.system, e.code)), e)
    out: list[CodeEntry] = []
    for i, item in enumerate(items):
        location = (*base, i)
        entry = _entry(file, str(path), location, item, item["domain"], concepts, local=True)
        key = (entry.domain, entry.system, normalize_code(entry.system, entry.code))
        clash = listed.get(key)
        if clash is not None and clash.concept.id != entry.concept.id and clash.concept.get("group") is None:
            raise file.problem(
                location,
                f"entry {i + 1}: code {entry.token} is already mapped to concept "
                f"{clash.concept.id!r} ({clash.origin}); a local file may only add codes",
            )
        listed.setdefault(key, entry)
        out.append(entry)
    return out


def _entry(
    file: CodeFile,
    shown_path: str,
    location: Location,
    data: Mapping[str, Any],
    domain: str,
    concepts: Mapping[str, Mapping[str, Concept]],
    *,
    local: bool,
) -> CodeEntry:
    """One schema-valid entry as a CodeEntry."""
    what = f"entry {int(location[-1]) + 1}"
    concept = concepts[domain].get(data["concept"])
    if concept is None:
        known = ", ".join(sorted(concepts[domain]))
        raise InvalidCodeFile(
            file.path,
            file.key_line(location, "concept"),
            f"{what}: unknown concept {data['concept']!r} for domain {domain!r} (known: {known})",
        )
    system = normalize_system(data["system"])
    prefix = bool(data.get("prefix", False))
    if prefix and system not in PREFIX_SYSTEMS:
        raise InvalidCodeFile(
            file.path,
            file.key_line(location, "prefix"),
            f"{what}: prefix entries are only allowed for ICD-10-CM ({ICD10CM})",
        )
    return CodeEntry(
        domain=domain,
        system=system,
        code=str(data["code"]).strip(),  # YAML reads 8640 as an int; the schema refuses floats
        display=str(data["display"]).strip(),
        concept=concept,
        source=str(data["source"]).strip(),
        origin=f"{shown_path}:{file.line(location)}",
        verified=bool(data.get("verified", True)),
        prefix=prefix,
        local=local,
        attrs=MappingProxyType({k: v for k, v in data.items() if k not in _ENTRY_FIELDS}),
    )

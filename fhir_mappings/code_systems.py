"""The code systems the code lists use, and how a coding's system and code are normalised before a lookup."""

from __future__ import annotations

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
PREFIX_SYSTEMS = frozenset({ICD10CM})


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

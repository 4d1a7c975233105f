"""Code lists as reviewed data: sources, lookups, query code lists, and the site's extra-codes file."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from decision_core.facts import BoneSite, Sex
from fhir_mappings import terminology as tmod
from fhir_mappings.extract import extract_facts
from fhir_mappings.terminology import (
    CODES_DIR,
    DOMAINS,
    InvalidCodeFile,
    Terminology,
    default_terminology,
    load_terminology,
)

from .builders import ICD10CM, LOINC, NOW, RXNORM, SNOMED, obs, patient

# --- data files ---


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_code_entry_in_the_data_files_names_its_source(domain: str) -> None:
    data = yaml.safe_load((CODES_DIR / f"{domain}.yaml").read_text(encoding="utf-8"))
    assert data["codes"], f"{domain}.yaml has no codes"
    for entry in data["codes"]:
        assert isinstance(entry.get("source"), str) and entry["source"].strip(), entry
        assert entry.get("display") and entry.get("concept") and entry.get("system"), entry


def test_loaded_entries_all_have_source_and_origin(term: Terminology) -> None:
    entries = term.entries()
    assert len(entries) > 250
    for e in entries:
        assert e.source.strip()
        assert e.origin.startswith(f"codes/{e.domain}.yaml:")


def test_builtin_file_without_source_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    codes = tmp_path / "codes"
    codes.mkdir()
    for domain in DOMAINS:
        text = (CODES_DIR / f"{domain}.yaml").read_text(encoding="utf-8")
        if domain == "frax":
            text = text.replace('source: "CMS249 CQL (AppropriateDXAScansForWomenUnder65FHIR.cql)"', "note: x")
        (codes / f"{domain}.yaml").write_text(text, encoding="utf-8")
    monkeypatch.setattr(tmod, "CODES_DIR", codes)
    with pytest.raises(InvalidCodeFile, match=r"frax\.yaml:\d+: entry 1: missing required field 'source'"):
        load_terminology()


def test_lumbar_spine_t_score_is_38267_1_and_the_wrong_38267_5_is_not_listed(term: Terminology) -> None:
    (entry,) = term.lookup(LOINC, "38267-1")
    assert entry.concept.id == "dxa-t-lumbar-spine"
    assert entry.concept.get("site") == BoneSite.LUMBAR_SPINE.value
    assert term.lookup(LOINC, "38267-5") == ()


def test_unverified_codes_are_marked(term: Terminology) -> None:
    (hip,) = term.lookup(LOINC, "90266-8")
    assert hip.verified is False and hip.concept.id == "frax-hip-10y"
    (mof,) = term.lookup(LOINC, "90265-0")
    assert mof.verified is True
    assert all(not e.verified for e in term.entries("procedures"))
    (dmab,) = term.lookup(RXNORM, "993449")
    assert dmab.verified is False


def test_dxa_sites_record_whether_they_are_diagnostic(term: Terminology) -> None:
    diagnostic = {s for s in BoneSite if term.site_info(s.value)["diagnostic"]}
    assert diagnostic == {
        BoneSite.LUMBAR_SPINE,
        BoneSite.TOTAL_HIP,
        BoneSite.FEMORAL_NECK,
        BoneSite.RADIUS_33,
    }


# --- lookups ---


@pytest.mark.parametrize(
    ("system", "code", "expected"),
    [
        (ICD10CM, "M80.08XA", {"osteoporosis", "fracture-vertebral"}),
        (ICD10CM, "M8008XA", {"osteoporosis", "fracture-vertebral"}),  # dots are optional in ICD-10-CM
        (ICD10CM, "m80.051a", {"osteoporosis", "fracture-hip"}),
        (ICD10CM, "M80.9", {"osteoporosis", "fracture-other"}),  # category only: site unknown
        (ICD10CM, "M81.0", {"osteoporosis"}),
        (ICD10CM, "M81.00", set()),  # M81.0 is an exact code, not a prefix
        (ICD10CM, "S72.001A", {"fracture-hip"}),
        (ICD10CM, "M85.80", {"osteopenia"}),
        (ICD10CM, "Z87.310", {"osteoporosis", "fracture-other"}),
        ("urn:oid:2.16.840.1.113883.6.90", "N18.4", {"ckd-stage-4"}),  # OID spelling of ICD-10-CM
        (SNOMED, "443165006", {"osteoporosis", "fracture-other"}),
        (SNOMED, "64859006", {"osteoporosis"}),
        (SNOMED, "M80", set()),  # prefixes only apply to ICD-10-CM
        ("http://loinc.org/", "38265-5", {"dxa-t-forearm"}),  # trailing slash tolerated
        ("urn:oid:2.16.840.1.113883.6.1", "90265-0", {"frax-mof-10y"}),
    ],
)
def test_lookup(term: Terminology, system: str, code: str, expected: set[str]) -> None:
    assert {e.concept.id for e in term.lookup(system, code)} == expected
    assert term.is_known(system, code) == bool(expected)


def test_osteoporotic_fracture_codes_carry_the_flag(term: Terminology) -> None:
    fractures = [e for e in term.lookup(SNOMED, "431031001") if e.concept.get("kind") == "fracture"]
    assert [e.attr("osteoporotic") for e in fractures] == [True]
    plain = [e for e in term.lookup(SNOMED, "359817006") if e.concept.get("kind") == "fracture"]
    assert [bool(e.attr("osteoporotic")) for e in plain] == [False]


def test_text_fallback_matches_whole_words_only(term: Terminology) -> None:
    assert [c.id for c in term.match_text("Teriparatide 20 MCG/DOSE pen injector")] == ["teriparatide"]
    assert [c.id for c in term.match_text("romosozumab-aqqg")] == ["romosozumab"]
    assert term.match_text("xteriparatidex") == ()
    assert term.match_text(None) == ()


# --- code lists for queries ---


def test_observation_search_codes_are_sorted_unique_and_cover_what_is_read(term: Terminology) -> None:
    tokens = term.search_codes("observation")
    assert tokens == sorted(set(tokens))
    for must in (
        "38267-1",
        "80948-3",
        "38265-5",
        "85394-5",
        "24966-4",
        "90265-0",
        "90266-8",
        "62292-8",
        "14635-7",
        "17861-6",
        "2000-8",
        "49765-1",
        "1751-7",
        "98979-8",
        "33914-3",
        "29463-7",
        "8302-2",
        "39156-5",
        "72166-2",
        "74013-4",
    ):
        assert f"{LOINC}|{must}" in tokens
    assert f"{SNOMED}|449868002" not in tokens  # smoking answers are values, not observation codes
    assert all(t.startswith(LOINC + "|") for t in tokens)
    url = "Observation?patient={{context.patientId}}&code=" + ",".join(tokens) + "&_sort=-date"
    assert len(url) < 2000
    assert term.search_codes("Observation") == tokens  # stable


def test_other_search_code_lists(term: Terminology) -> None:
    meds = term.search_codes("MedicationRequest")
    assert f"{RXNORM}|904419" in meds and "http://www.whocc.no/atc|H05AA02" in meds
    conditions = term.search_codes("condition")
    assert f"{SNOMED}|64859006" in conditions
    assert f"{ICD10CM}|M80" not in conditions  # categories cannot be searched as tokens
    assert f"{ICD10CM}|M80" in term.search_codes("condition", include_prefixes=True)
    assert term.search_codes("servicerequest") == term.search_codes("procedure")
    assert f"{LOINC}|58410-2" in term.search_codes("DiagnosticReport")
    with pytest.raises(ValueError, match="no code list"):
        term.search_codes("Encounter")


# --- extra codes file ---


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "extra-codes.yaml"
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


def test_shipped_example_extra_codes_file_loads(term: Terminology) -> None:
    example = Path(tmod.__file__).parent / "examples" / "extra-codes.example.yaml"
    t = load_terminology(example)
    (mof,) = t.lookup("urn:osteo-cds:local", "frax-mof-10y")
    assert mof.concept.id == "frax-mof-10y" and mof.local
    assert len(t.entries()) > len(term.entries())


def test_local_codes_are_honoured_by_extraction(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """\
        - domain: frax
          system: urn:osteo-cds:local
          code: frax-mof-10y
          concept: frax-mof-10y
          display: FRAX MOF 10y (local)
          source: Local lab catalogue, reviewed 2025-01
        - domain: dxa
          system: http://hospital.example/codes
          code: FN-T
          concept: dxa-t-femoral-neck-left
          display: Left femoral neck T-score
          source: Radiology interface spec v3
        - domain: medications
          system: http://hospital.example/formulary
          code: "1234"
          concept: teriparatide
          display: Teriparatide pen (formulary)
          source: Pharmacy formulary 2025
        """,
    )
    t = load_terminology(path)
    facts = extract_facts(
        [
            patient(),
            obs("f1", "frax-mof-10y", 23.5, unit="%", ucum="%", system="urn:osteo-cds:local"),
            obs("d1", "FN-T", -2.6, ucum="{T-score}", system="http://hospital.example/codes"),
            {
                "resourceType": "MedicationStatement",
                "id": "m1",
                "status": "active",
                "subject": {"reference": "Patient/p1"},
                "medicationCodeableConcept": {
                    "coding": [{"system": "http://hospital.example/formulary", "code": "1234"}]
                },
            },
        ],
        NOW,
        terminology=t,
    )
    assert facts.sex is Sex.FEMALE
    assert facts.frax[0].mof_percent == pytest.approx(23.5)
    (m,) = facts.dxa_studies[0].measurements
    assert (m.site, m.side, str(m.value)) == (BoneSite.FEMORAL_NECK, "left", "-2.6")
    assert [e.drug for e in facts.medications] == ["teriparatide"]
    # Without the local file none of these is recognised.
    plain = extract_facts(
        [obs("f1", "frax-mof-10y", 23.5, unit="%", system="urn:osteo-cds:local")],
        NOW,
        terminology=load_terminology(),
    )
    assert plain.frax == ()


def _entry(**fields: str) -> str:
    """One extra-codes entry as YAML text; a field set to "" is left out."""
    base = {
        "domain": "labs",
        "system": "urn:x",
        "code": "a",
        "concept": "egfr",
        "display": "x",
        "source": "s",
    }
    base.update(fields)
    lines = [f"{k}: {v}" for k, v in base.items() if v != ""]
    return "- " + "\n  ".join(lines) + "\n"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (_entry(source="[unclosed"), 7, "YAML syntax error"),
        (_entry(domain="frax", concept="frax-mof"), 4, "unknown concept 'frax-mof' for domain 'frax'"),
        (_entry() + _entry(source=""), 7, "entry 2: missing required field 'source'"),
        (_entry(domain="lab"), 1, "unknown domain 'lab'"),
        (_entry(domain=""), 1, "missing required field 'domain'"),
        (_entry(code="a\n  code: b"), 4, "duplicate key 'code'"),
        (_entry(code="1.10"), 3, "'code' must be a string"),
        (_entry(colour="red"), 7, "unknown field 'colour'"),
        (
            _entry(domain="medications", concept="prednisone", strength_mg="lots"),
            7,
            "'strength_mg' must be a number",
        ),
        (_entry(domain="conditions", concept="osteoporosis", prefix="true"), 7, "only allowed for ICD-10-CM"),
        (
            _entry(domain="dxa", system="http://loinc.org", code="38267-1", concept="dxa-t-total-hip"),
            1,
            "already mapped to concept 'dxa-t-lumbar-spine'",
        ),
        ("domain: frax\n", 1, "expected a list of code entries"),
        ("- just a string\n", 1, "entry 1: expected a mapping"),
    ],
)
def test_malformed_extra_codes_file_is_refused_naming_the_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(InvalidCodeFile) as exc:
        load_terminology(path)
    assert str(exc.value).startswith(f"{path}:{line}: "), str(exc.value)
    assert message in str(exc.value)
    assert exc.value.line == line


def test_missing_extra_codes_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidCodeFile, match="cannot read file"):
        load_terminology(tmp_path / "nope.yaml")


def test_empty_extra_codes_file_adds_nothing(tmp_path: Path, term: Terminology) -> None:
    assert len(load_terminology(_write(tmp_path, "")).entries()) == len(term.entries())


def test_default_terminology_reads_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, "- domain: labs\n  system: urn:x\n  code: a\n  concept: egfr\n  display: x\n  source: s\n")
    default_terminology.cache_clear()
    try:
        monkeypatch.setenv(tmod.EXTRA_CODES_ENV, str(path))
        assert default_terminology().is_known("urn:x", "a")
        assert default_terminology() is default_terminology()
        default_terminology.cache_clear()
        monkeypatch.setenv(tmod.EXTRA_CODES_ENV, str(tmp_path / "missing.yaml"))
        with pytest.raises(InvalidCodeFile):
            default_terminology()
    finally:
        default_terminology.cache_clear()
        monkeypatch.delenv(tmod.EXTRA_CODES_ENV, raising=False)

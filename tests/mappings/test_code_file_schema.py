"""fhir_mappings/code-file.schema.yaml: a valid 2020-12 schema that every shipped code file meets, in step with the
facts model, and that refuses each kind of mistake in every domain, in words that name the entry and field."""

from __future__ import annotations

import copy
import dataclasses
import textwrap
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, validators

from decision_core.facts import Analyte, BoneSite, DrugClass, FractureSite, MenopauseStatus, ScoreKind
from fhir_mappings.code_file_reader import CodeFile, InvalidCodeFile, read_code_file
from fhir_mappings.code_file_schema import (
    CODE_FILE_TYPES,
    check_code_file,
    code_file_schema,
    code_file_validator,
    quick_test,
)
from fhir_mappings.code_files import DOMAINS
from fhir_mappings.terminology import CODES_DIR, load_terminology

EXAMPLE_EXTRA_CODES = Path(__file__).parents[2] / "fhir_mappings" / "examples" / "extra-codes.example.yaml"
# The same schema checked by jsonschema as it comes: no quick tests, no dict lookup of $ref.
PlainValidator: Any = validators.extend(Draft202012Validator, type_checker=CODE_FILE_TYPES)


def defs() -> dict[str, Any]:
    return code_file_schema()["$defs"]


def builtin(domain: str) -> CodeFile:
    return read_code_file(CODES_DIR / f"{domain}.yaml")


def refused(file: CodeFile, definition: str) -> InvalidCodeFile:
    with pytest.raises(InvalidCodeFile) as exc:
        check_code_file(file, definition)
    return exc.value


def test_the_schema_is_a_valid_2020_12_schema() -> None:
    Draft202012Validator.check_schema(code_file_schema())


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_shipped_code_file_meets_the_schema(domain: str) -> None:
    file = builtin(domain)
    check_code_file(file, f"{domain}-file")
    # The schema's root (what an editor would use) sends a domain file to the same definition.
    assert list(PlainValidator(code_file_schema()).iter_errors(file.data)) == []


def test_the_shipped_example_extra_codes_file_meets_the_schema() -> None:
    file = read_code_file(EXAMPLE_EXTRA_CODES)
    check_code_file(file, "extra-codes-file")
    assert list(PlainValidator(code_file_schema()).iter_errors(file.data)) == []


@pytest.mark.parametrize(
    ("definition", "enum", "left_out"),
    [
        ("score-kind", ScoreKind, set()),
        ("bone-site", BoneSite, set()),
        ("analyte", Analyte, set()),
        ("fracture-site", FractureSite, set()),
        ("drug-class", DrugClass, set()),
        ("menopause-status", MenopauseStatus, {MenopauseStatus.UNKNOWN}),
    ],
)
def test_the_schema_enums_copy_the_facts_model(definition: str, enum: type[Enum], left_out: set[Enum]) -> None:
    assert defs()[definition]["enum"] == [m.value for m in enum if m not in left_out]


def test_the_dxa_file_must_list_every_bone_site() -> None:
    sites = defs()["dxa-file"]["properties"]["sites"]
    assert sites["required"] == [s.value for s in BoneSite]


def test_the_domain_enum_is_the_loaders_domains() -> None:
    assert tuple(defs()["domain"]["enum"]) == DOMAINS
    for domain in DOMAINS:
        assert f"{domain}-file" in defs()


@pytest.mark.parametrize(
    ("definition", "fields"),
    [
        ("plain-entry", None),
        ("conditions-entry", "conditions-entry-fields"),
        ("medications-entry", "medications-entry-fields"),
    ],
)
def test_a_builtin_entry_schema_has_the_entry_fields_plus_its_domains(definition: str, fields: str | None) -> None:
    """The built-in entry schemas spell their fields out (for speed); they must not drift from `entry`."""
    flat, entry = defs()[definition], defs()["entry"]
    extra = defs()[fields]["properties"] if fields else {}
    assert flat["properties"] == {**entry["properties"], **extra}
    assert flat["required"] == entry["required"]
    assert flat["additionalProperties"] is False


# --- each kind of mistake, in every domain ------------------------------------------------------------------------

# A concept attribute with an enum in each domain that has one, and a required attribute.
CONCEPT_ENUM = {
    "dxa": "site",
    "frax": "kind",
    "labs": "analyte",
    "conditions": "kind",
    "medications": "drug_class",
    "vitals": "measure",
    "procedures": "kind",
}
CONCEPT_REQUIRED = {"dxa": "kind", "frax": "kind", "labs": "analyte", "conditions": "kind", "medications": "ingredient"}


def with_data(file: CodeFile, change: Any) -> CodeFile:
    data = copy.deepcopy(file.data)
    change(data)
    return dataclasses.replace(file, data=data)


def first_concept(data: dict[str, Any], attribute: str | None = None) -> tuple[str, dict[str, Any]]:
    return next((cid, c) for cid, c in data["concepts"].items() if attribute is None or attribute in c)


@pytest.mark.parametrize("domain", DOMAINS)
def test_an_unknown_key_is_refused_in_every_domain(domain: str) -> None:
    file = builtin(domain)
    cid, _ = first_concept(file.data)
    problem = refused(with_data(file, lambda d: first_concept(d)[1].update(colour="red")), f"{domain}-file")
    assert f"concept {cid!r}: unknown field 'colour' (allowed: [" in str(problem)
    problem = refused(with_data(file, lambda d: d["codes"][0].update(colour="red")), f"{domain}-file")
    assert "entry 1: unknown field 'colour'" in str(problem)
    problem = refused(with_data(file, lambda d: d.update(colour="red")), f"{domain}-file")
    assert "unknown top-level key 'colour'" in str(problem)


@pytest.mark.parametrize("domain", DOMAINS)
def test_a_wrong_type_is_refused_in_every_domain(domain: str) -> None:
    file = builtin(domain)
    problem = refused(with_data(file, lambda d: d["codes"][0].update(display=5)), f"{domain}-file")
    assert "entry 1: field 'display' must be a non-empty string (got 5)" in str(problem)
    problem = refused(with_data(file, lambda d: d["codes"][0].update(verified="no")), f"{domain}-file")
    assert "entry 1: field 'verified' must be true or false (got 'no')" in str(problem)
    for number in (1.1, 1.0):  # a YAML float loses digits ("1.10"); JSON Schema alone would take 1.0 as integer
        problem = refused(with_data(file, lambda d, n=number: d["codes"][0].update(code=n)), f"{domain}-file")
        assert "entry 1: field 'code' must be a string" in str(problem)
    problem = refused(with_data(file, lambda d: d.update(concepts={})), f"{domain}-file")
    assert "field 'concepts' must be a non-empty mapping of concept id -> attributes" in str(problem)
    cid, _ = first_concept(file.data)
    problem = refused(with_data(file, lambda d: d["concepts"].update({cid: "x"})), f"{domain}-file")
    assert f"concept {cid!r}: expected a mapping" in str(problem)
    problem = refused(with_data(file, lambda d: d.update(codes={})), f"{domain}-file")
    assert "field 'codes' must be a list of code entries (got a mapping)" in str(problem)


@pytest.mark.parametrize("domain", DOMAINS)
def test_a_missing_required_key_is_refused_in_every_domain(domain: str) -> None:
    file = builtin(domain)
    for field in ("system", "code", "display", "concept", "source"):
        problem = refused(with_data(file, lambda d, f=field: d["codes"][0].pop(f)), f"{domain}-file")
        assert problem.line == file.line(("codes", 0))
        assert f"entry 1: missing required field {field!r}" in str(problem)
    problem = refused(with_data(file, lambda d: d.pop("concepts")), f"{domain}-file")
    assert "missing required top-level key 'concepts'" in str(problem)
    if domain in CONCEPT_REQUIRED:
        attribute = CONCEPT_REQUIRED[domain]
        cid, _ = first_concept(file.data, attribute)
        problem = refused(with_data(file, lambda d: d["concepts"][cid].pop(attribute)), f"{domain}-file")
        assert f"concept {cid!r}: missing required field {attribute!r}" in str(problem)


@pytest.mark.parametrize("domain", DOMAINS)
def test_a_value_outside_an_enum_is_refused_in_every_domain(domain: str) -> None:
    file = builtin(domain)
    attribute = CONCEPT_ENUM[domain]
    cid, _ = first_concept(file.data, attribute)
    problem = refused(with_data(file, lambda d: d["concepts"][cid].update({attribute: "nonsense"})), f"{domain}-file")
    assert f"concept {cid!r}: field {attribute!r} must be one of [" in str(problem)
    assert "(got 'nonsense')" in str(problem)
    problem = refused(with_data(file, lambda d: d.update(domain="nonsense")), f"{domain}-file")
    assert f"field 'domain' must be {domain!r} (got 'nonsense')" in str(problem)


@pytest.mark.parametrize(
    ("domain", "field", "value", "message"),
    [
        ("conditions", "osteoporotic", "yes", "field 'osteoporotic' must be true or false"),
        ("conditions", "implies_menopause", "unknown", "field 'implies_menopause' must be one of ['premenopausal'"),
        ("medications", "route", "IV", "field 'route' must be one of ['oral'"),
        ("medications", "strength_mg", 0, "field 'strength_mg' must be a number greater than 0"),
        ("medications", "strength_mg", "0.0", "field 'strength_mg' must be a number greater than 0"),
        ("medications", "strength_mg", float("nan"), "field 'strength_mg' must be a number greater than 0"),
        ("medications", "strength_mg", float("inf"), "field 'strength_mg' must be a number greater than 0"),
        ("medications", "tty", "", "field 'tty' must be a non-empty string"),
        ("dxa", "strength_mg", 5, "unknown field 'strength_mg'"),  # medications' fields only
    ],
)
def test_domain_specific_entry_fields_are_checked(domain: str, field: str, value: Any, message: str) -> None:
    file = builtin(domain)
    problem = refused(with_data(file, lambda d: d["codes"][0].update({field: value})), f"{domain}-file")
    assert f"entry 1: {message}" in str(problem)


def test_the_dxa_sites_are_checked() -> None:
    file = builtin("dxa")
    problem = refused(with_data(file, lambda d: d["sites"].pop("wards")), "dxa-file")
    assert "field 'sites' is missing key 'wards'" in str(problem)
    problem = refused(with_data(file, lambda d: d["sites"]["wards"].update(diagnostic="no")), "dxa-file")
    assert "site 'wards': field 'diagnostic' must be true or false (got 'no')" in str(problem)
    problem = refused(with_data(file, lambda d: d["sites"].update(knee={"diagnostic": False})), "dxa-file")
    assert "'knee' cannot be a key: it must be one of ['lumbar-spine'" in str(problem)


# --- a site's file: each kind of mistake, per domain ----------------------------------------------------------


def extra_file(tmp_path: Path, text: str) -> CodeFile:
    path = tmp_path / "extra-codes.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return read_code_file(path)


LOCAL_ENTRY = {
    "dxa": "dxa-t-femoral-neck-left",
    "frax": "frax-mof-10y",
    "labs": "egfr",
    "conditions": "osteoporosis",
    "medications": "prednisone",
    "vitals": "body-weight",
    "procedures": "spinal-instrumentation",
}


def local_entry(of: str, **changes: Any) -> str:
    """A valid entry of domain `of` as YAML text, with `changes` (a change to None leaves the field out)."""
    fields: dict[str, Any] = {
        "domain": of,
        "system": "urn:local",
        "code": "x1",
        "concept": LOCAL_ENTRY[of],
        "display": "Local code",
        "source": "Local catalogue",
    }
    fields.update(changes)
    return "- " + "\n  ".join(f"{k}: {v}" for k, v in fields.items() if v is not None) + "\n"


@pytest.mark.parametrize("domain", DOMAINS)
def test_a_local_entry_of_every_domain_loads(tmp_path: Path, domain: str) -> None:
    file = extra_file(tmp_path, local_entry(domain))
    check_code_file(file, "extra-codes-file")
    (entry,) = (e for e in load_terminology(file.path).entries(domain) if e.local)
    assert (entry.concept.id, entry.origin) == (LOCAL_ENTRY[domain], f"{file.path}:1")


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize(
    ("changes", "line", "message"),
    [
        ({"colour": "red"}, 7, "entry 1: unknown field 'colour' (allowed: ["),
        ({"display": "[1, 2]"}, 5, "entry 1: field 'display' must be a non-empty string (got a list)"),
        ({"verified": "maybe"}, 7, "entry 1: field 'verified' must be true or false (got 'maybe')"),
        ({"source": None}, 1, "entry 1: missing required field 'source'"),
        ({"domain": "lab"}, 1, "entry 1: unknown domain 'lab' (one of ['dxa', 'frax', 'labs'"),
    ],
)
def test_a_local_entry_mistake_is_refused_in_every_domain(
    tmp_path: Path, domain: str, changes: dict[str, Any], line: int, message: str
) -> None:
    file = extra_file(tmp_path, local_entry(domain, **changes))
    problem = refused(file, "extra-codes-file")
    assert (problem.line, problem.detail) == (line, problem.problems[0][1])
    assert str(problem).startswith(f"{file.path}:{line}: {message}"), str(problem)


@pytest.mark.parametrize(
    ("domain", "changes", "message"),
    [
        ("medications", {"route": "IV"}, "field 'route' must be one of ['oral'"),
        ("medications", {"strength_mg": "lots"}, "field 'strength_mg' must be a number greater than 0"),
        ("conditions", {"low_trauma": "often"}, "field 'low_trauma' must be true or false"),
        ("conditions", {"implies_menopause": "maybe"}, "field 'implies_menopause' must be one of"),
        ("labs", {"route": "oral"}, "unknown field 'route'"),  # a medications field
        ("vitals", {"osteoporotic": "true"}, "unknown field 'osteoporotic'"),  # a conditions field
    ],
)
def test_a_local_entry_has_the_fields_of_its_domain(
    tmp_path: Path, domain: str, changes: dict[str, Any], message: str
) -> None:
    problem = refused(extra_file(tmp_path, local_entry(domain, **changes)), "extra-codes-file")
    assert f"{problem.path}:7: entry 1: {message}" in str(problem)


def test_every_problem_of_a_file_is_listed_in_file_order(tmp_path: Path) -> None:
    text = local_entry("labs", display='""') + local_entry("medications", route="IV", colour="red") + "- 42\n"
    problem = refused(extra_file(tmp_path, text), "extra-codes-file")
    assert problem.problems == (
        (5, "entry 1: field 'display' must be a non-empty string (got '')"),
        (13, "entry 2: field 'route' must be one of " + repr(defs()["route"]["enum"]) + " (got 'IV')"),
        (
            14,
            "entry 2: unknown field 'colour' (allowed: "
            + str(sorted({"domain", *defs()["entry"]["properties"], *defs()["medications-entry-fields"]["properties"]}))
            + ")",
        ),
        (15, "entry 3: expected a mapping with domain, system, code, display, concept and source (got 42)"),
    )
    assert str(problem).splitlines() == [f"{problem.path}:{line}: {text}" for line, text in problem.problems]


def test_codes_may_hold_the_list_and_nothing_else(tmp_path: Path) -> None:
    check_code_file(extra_file(tmp_path, "codes:\n" + textwrap.indent(local_entry("labs"), "  ")), "extra-codes-file")
    problem = refused(extra_file(tmp_path, "codes: []\nsite: x\n"), "extra-codes-file")
    assert str(problem) == f"{problem.path}:2: unknown top-level key 'site' (allowed: ['codes'])"


# --- the validator's shortcuts change nothing -------------------------------------------------------------------

SAMPLE_VALUES: list[Any] = [
    *("", " ", "x", "5", " 5 ", "+2.5", "0", "0.0", "-1", "1e3", "0e5", ".5", "5.", "1.10", "abc-def", "Abc"),
    *(0, 1, 7, -2, 0.0, 0.5, 1.5, -0.5, 1e300, float("nan"), float("inf"), True, False, None, [], {}, ["x"]),
]


def leaf_schemas() -> list[tuple[str, dict[str, Any]]]:
    out = [(name, schema) for name, schema in defs().items() if quick_test(schema, defs()) is not None]
    assert {"text", "flag", "positive-number", "code", "domain", "route", "bone-site"} <= {n for n, _ in out}
    return out


@pytest.mark.parametrize(("name", "schema"), leaf_schemas())
def test_a_quick_test_agrees_with_jsonschema(name: str, schema: dict[str, Any]) -> None:
    test = quick_test(schema, defs())
    assert test is not None
    plain = PlainValidator(schema)
    for value in [*SAMPLE_VALUES, *schema.get("enum", ())]:
        assert test(value) == plain.is_valid(value), (name, value)


def mutated_files() -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for domain in DOMAINS:
        data = copy.deepcopy(builtin(domain).data)
        for i, entry in enumerate(data["codes"][:12]):
            entry.update(
                [("display", 3), ("verified", "x"), ("code", 1.5), ("colour", 1), ("route", "IV")][i % 5 :][:2]
            )
            if i % 3 == 0:
                entry.pop("source")
        for i, (_, concept) in enumerate(list(data["concepts"].items())[:6]):
            concept.update([("note", ""), ("kind", "?"), ("colour", 1), ("site", None)][i % 4 :][:1])
        out.append((domain, data))
    return out


@pytest.mark.parametrize(("domain", "data"), mutated_files())
def test_the_validator_finds_what_plain_jsonschema_finds(domain: str, data: Any) -> None:
    def found(validator: Any) -> list[tuple[list[Any], str]]:
        return sorted((list(e.absolute_path), e.message) for e in validator.iter_errors(data))

    fast = found(code_file_validator(f"{domain}-file"))
    assert fast, "the mutations must be found"
    assert fast == found(PlainValidator({"$ref": f"#/$defs/{domain}-file", "$defs": defs()}))

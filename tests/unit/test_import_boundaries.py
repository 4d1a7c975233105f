"""The pipeline reads in one direction and no import runs back up it: fhir_mappings -> decision_core <- cards, and
cds_service (the HTTP edge) on top. Imports are read with `ast` from the source tree, so a lazy import inside a
function counts as much as one at the top of a module."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("cds_service", "fhir_mappings", "decision_core", "cards")
# package -> project packages it must never import
FORBIDDEN = {
    "decision_core": {"cds_service", "fhir_mappings", "cards", "tests", "testkit", "bench"},
    "fhir_mappings": {"cds_service", "cards", "tests", "testkit", "bench"},
    "cards": {"cds_service", "fhir_mappings", "tests", "testkit", "bench"},
    "cds_service": {"tests", "testkit", "bench"},
}


def imported_packages(path: Path) -> Iterator[tuple[int, str]]:
    """(line, top-level package) of every import in the file; relative imports stay inside their package."""
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0]


def boundary_violations(package: str) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{line} imports {imported}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for line, imported in imported_packages(path)
        if imported in FORBIDDEN[package]
    ]


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_runs_back_up_the_pipeline(package: str) -> None:
    assert boundary_violations(package) == []


def test_the_check_sees_lazy_and_aliased_imports(tmp_path: Path) -> None:
    source = tmp_path / "sample.py"
    source.write_text(
        "import cards.catalog as c\nfrom . import sibling\n\ndef late():\n    from cds_service.config import Settings\n"
    )
    assert list(imported_packages(source)) == [(1, "cards"), (5, "cds_service")]

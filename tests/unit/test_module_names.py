"""Module names a reader can trust: no two product modules share a file name (no import under an alias to tell
`dxa` from `dxa`), no function hides a module of the same name, and every module or file path the README, the
fhir_mappings README and RULES.md name exists."""

from __future__ import annotations

import importlib
import re
from collections import defaultdict
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCT_PACKAGES = ("cds_service", "fhir_mappings", "decision_core", "cards")
DOCS = ("README.md", "fhir_mappings/README.md", "decision_core/RULES.md")
PROJECT_ROOTS = (*PRODUCT_PACKAGES, "testkit", "tests", "bench", "scripts", "examples", "deploy")
PACKAGE_NAMES = "|".join(PRODUCT_PACKAGES)
DOTTED_PATH = re.compile(rf"`((?:{PACKAGE_NAMES})(?:\.[A-Za-z_][A-Za-z0-9_]*)+)[(:` \[]")
FILE_PATH = re.compile(r"`((?:[A-Za-z0-9_.-]+/)*[A-Za-z0-9_]+\.py)`")
ROOT_NAMES = "|".join(PROJECT_ROOTS)
PACKAGE_ON_LINE = re.compile(rf"`((?:{ROOT_NAMES})(?:/[A-Za-z0-9_]+)*)/")


def product_modules() -> list[Path]:
    return [
        path
        for package in PRODUCT_PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if path.name not in {"__init__.py", "__main__.py"}
    ]


def test_no_two_product_modules_share_a_name() -> None:
    by_name: dict[str, list[str]] = defaultdict(list)
    for path in product_modules():
        by_name[path.stem].append(str(path.relative_to(ROOT)))
    assert {name: paths for name, paths in by_name.items() if len(paths) > 1} == {}


def test_no_package_attribute_hides_a_submodule() -> None:
    """`decision_core.evaluate` is a function; a module `decision_core/evaluate.py` could not be reached by it."""
    hidden = []
    for path in product_modules():
        package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
        attribute = getattr(importlib.import_module(package), path.stem, None)
        if attribute is not None and not isinstance(attribute, ModuleType):
            hidden.append(f"{package}.{path.stem}")
    assert hidden == []


def resolve(dotted: str) -> object:
    module_name, *attributes = dotted.split(".")
    target: object = importlib.import_module(module_name)
    for attribute in attributes:
        if hasattr(target, attribute):
            target = getattr(target, attribute)
        else:  # a submodule its package does not import
            assert isinstance(target, ModuleType), dotted
            target = importlib.import_module(f"{target.__name__}.{attribute}")
    return target


@pytest.mark.parametrize("doc", DOCS)
def test_every_dotted_path_a_doc_names_resolves(doc: str) -> None:
    paths = set(DOTTED_PATH.findall((ROOT / doc).read_text(encoding="utf-8")))
    assert paths or doc != "decision_core/RULES.md"
    for path in sorted(paths):
        assert resolve(path) is not None, f"{doc}: {path}"


@pytest.mark.parametrize("doc", DOCS)
def test_every_python_file_a_doc_names_exists(doc: str) -> None:
    """A bare `name.py` is read relative to the doc's folder or to a folder the same line names (a table row)."""
    missing = []
    for number, line in enumerate((ROOT / doc).read_text(encoding="utf-8").splitlines(), 1):
        folders = [ROOT, (ROOT / doc).parent, *(ROOT / folder for folder in PACKAGE_ON_LINE.findall(line))]
        missing += [
            f"{doc}:{number}: {name}"
            for name in FILE_PATH.findall(line)
            if not any((folder / name).is_file() for folder in folders)
        ]
    assert missing == []


def test_the_rules_doc_documents_the_entry_points() -> None:
    text = (ROOT / "decision_core/RULES.md").read_text(encoding="utf-8")
    paths = set(DOTTED_PATH.findall(text))
    assert {"decision_core.engine.triggered", "decision_core.evaluate"} <= paths
    assert callable(resolve("decision_core.evaluate"))


def test_the_readme_layout_names_every_product_module() -> None:
    """The README's Layout tables are where a newcomer looks a module up: each one is named there by its path."""
    layout = (ROOT / "README.md").read_text(encoding="utf-8").split("\n## Layout\n")[1].split("\n## ")[0]
    named = set(re.findall(r"`([A-Za-z0-9_/]+\.py)`", layout))
    unnamed = [str(path.relative_to(ROOT)) for path in product_modules() if str(path.relative_to(ROOT)) not in named]
    assert unnamed == []

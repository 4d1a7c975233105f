"""The Dockerfile, checked without a container engine: hadolint passes, the build context holds what the image
copies and nothing else, and the image's own install steps (its COPY and `pip install` lines, from the lock file)
run in a fresh venv, whose CMD then starts and answers the image's HEALTHCHECK."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from testkit.processes import free_port

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
VENV_BIN = Path(sys.executable).parent
WHEELHOUSE = Path(sys.prefix) / "wheelhouse"  # filled by scripts/test.sh from requirements/runtime.txt


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text("utf-8"))
    found = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, rest = stripped.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, rest in instructions():
        if keyword == "ENV":
            env.update(pair.split("=", 1) for pair in shlex.split(rest))
    return env


def exec_form(keyword: str) -> list[str]:
    (rest,) = [rest for k, rest in instructions() if k == keyword]
    if keyword == "HEALTHCHECK":
        rest = rest.split(" CMD ", 1)[1]
    return json.loads(rest)


def test_hadolint_passes() -> None:
    result = subprocess.run([str(VENV_BIN / "hadolint"), str(DOCKERFILE)], capture_output=True, text=True)

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_build_context_is_only_what_the_image_copies() -> None:
    ignore = [line for line in (REPO / ".dockerignore").read_text().splitlines() if line and not line.startswith("#")]
    assert ignore[0] == "*"  # everything is excluded unless listed: no .venv, data/, tests, .git
    included = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    copied = {
        source.rstrip("/") for keyword, rest in instructions() if keyword == "COPY" for source in shlex.split(rest)[:-1]
    }
    assert copied == included
    assert {".venv", "data", "tests", ".git"}.isdisjoint(included)


def test_the_image_runs_as_a_numeric_non_root_user_declares_its_data_volume_and_checks_its_own_port() -> None:
    (user,) = [rest for keyword, rest in instructions() if keyword == "USER"]
    (volume,) = [json.loads(rest) for keyword, rest in instructions() if keyword == "VOLUME"]
    env = image_env()

    assert re.fullmatch(r"[1-9]\d*:[1-9]\d*", user)
    assert volume == [env["OSTEO_CDS_DATA_DIR"]]
    assert exec_form("HEALTHCHECK") == ["osteo-cds", "healthcheck"]  # reads OSTEO_CDS_PORT, as `serve` does
    assert "--port" not in exec_form("CMD")
    assert [rest for keyword, rest in instructions() if keyword == "EXPOSE"] == [env["OSTEO_CDS_PORT"]]


@pytest.fixture(scope="module")
def image_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Dockerfile's COPY and `pip install` steps, performed in order in a fresh venv (offline, from the
    wheels of requirements/runtime.txt that scripts/test.sh downloaded, hashes checked again by pip)."""
    assert WHEELHOUSE.is_dir(), f"{WHEELHOUSE} is missing: run bash scripts/test.sh, which fills it"
    root = tmp_path_factory.mktemp("image")
    venv, workdir = root / "venv", root / "app"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {
        **image_env(),
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(WHEELHOUSE),
        "PIP_CONFIG_FILE": os.devnull,  # only the image's own settings
        "HOME": str(root),
    }
    ran = []
    for keyword, rest in instructions():
        if keyword == "WORKDIR":
            workdir.mkdir(parents=True, exist_ok=True)
        elif keyword == "COPY":
            *sources, target = shlex.split(rest)
            for source in sources:
                # `COPY a b ./` copies into the directory; `COPY src ./src` names the target itself.
                destination = workdir / target / Path(source).name if target.endswith("/") else workdir / target
                destination.parent.mkdir(parents=True, exist_ok=True)
                if (REPO / source).is_dir():
                    shutil.copytree(REPO / source, destination, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
                else:
                    shutil.copy2(REPO / source, destination)
        elif keyword == "RUN" and rest.startswith("pip install"):
            result = subprocess.run(["bash", "-c", rest], cwd=workdir, env=env, capture_output=True, text=True)
            assert result.returncode == 0, f"RUN {rest}\n{result.stdout}\n{result.stderr}"
            ran.append(rest)
    assert len(ran) == 2  # the lock file, then the project itself
    return venv


def test_the_image_install_steps_give_a_working_osteo_cds(image_venv: Path, tmp_path: Path) -> None:
    env = {**image_env(), "PATH": f"{image_venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path)}
    env["OSTEO_CDS_DATA_DIR"] = str(tmp_path / "data")
    env["OSTEO_CDS_PORT"] = str(free_port())

    misconfigured = subprocess.run(exec_form("CMD"), env=env, capture_output=True, text=True, timeout=60)
    assert misconfigured.returncode == 2 and "OSTEO_CDS_AUTH_MODE=development" in misconfigured.stderr

    env["OSTEO_CDS_AUTH_MODE"] = "development"
    env["OSTEO_CDS_WORKERS"] = "1"
    server = subprocess.Popen(
        exec_form("CMD"), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        check = None
        for _ in range(100):
            check = subprocess.run(exec_form("HEALTHCHECK"), env=env, capture_output=True, text=True, timeout=10)
            if check.returncode == 0 or server.poll() is not None:
                break
            time.sleep(0.2)
        assert check is not None and check.returncode == 0, check.stderr if check else "no check ran"
        installed = subprocess.run(
            [str(image_venv / "bin" / "python"), "-c", "import cds_service, sys; print(cds_service.__file__)"],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        assert "site-packages" in installed.stdout  # the installed package, not this source tree
    finally:
        server.terminate()
        server.wait(timeout=20)

"""The CLI and the README: what a newcomer types works, and the docs match the code."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from flask.testing import FlaskClient

from cds_service.cli import main
from cds_service.validation import response_problems

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cds_service", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin"},
    )


def test_evaluate_prints_cards_readably() -> None:
    result = run_cli("evaluate", "examples/bundle-osteoporosis.json", "--now", "2026-11-25")

    assert result.returncode == 0, result.stderr
    assert "[INFO]" in result.stdout and "rule DX-01" in result.stdout
    assert "-2.7" in result.stdout


def test_evaluate_json_prints_the_exact_cds_hooks_response() -> None:
    result = run_cli("evaluate", "examples/bundle-osteoporosis.json", "--now", "2026-11-25T09:00:00Z", "--json")

    assert result.returncode == 0, result.stderr
    response = json.loads(result.stdout)
    assert response_problems(response) == []
    assert "DX-01" in {card["source"]["topic"]["code"] for card in response["cards"]}


def test_evaluate_refuses_a_file_that_is_not_a_bundle(tmp_path: Path) -> None:
    not_bundle = tmp_path / "patient.json"
    not_bundle.write_text('{"resourceType": "Patient", "id": "x"}')

    result = run_cli("evaluate", str(not_bundle))

    assert result.returncode == 2 and "neither a FHIR Bundle nor a CDS Hooks request" in result.stderr


def test_a_configuration_error_is_reported_by_name(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("OSTEO_CDS_AUTH_MODE", "open")

    assert main(["config"]) == 2
    assert "OSTEO_CDS_AUTH_MODE" in capsys.readouterr().err


def test_the_shipped_example_request_gets_cards(client: FlaskClient) -> None:
    body = json.loads((REPO / "examples" / "patient-view-request.json").read_text())

    response = client.post("/cds-services/osteoporosis-management", json=body)

    assert response.status_code == 200
    assert "DX-01" in {card["source"]["topic"]["code"] for card in response.get_json()["cards"]}


def test_readme_settings_table_is_the_generated_one() -> None:
    readme = (REPO / "README.md").read_text()
    block = re.search(r"<!-- settings:start -->\n(.*?)<!-- settings:end -->", readme, re.DOTALL)
    generated = run_cli("config", "--markdown")

    assert block is not None and generated.returncode == 0
    assert block.group(1) == generated.stdout


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    readme = (REPO / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```sh\n(.*?)\n```", quick_start, re.DOTALL)

    assert len(commands) == 2  # start the service; run the tests
    assert commands[1] in (REPO / ".ci" / "run").read_text()
    assert "osteo-cds serve" in commands[0] and "--port 8080" in commands[0]
    assert "OSTEO_CDS_AUTH_MODE=development" in commands[0]

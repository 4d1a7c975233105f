"""Issue 15: the CLI as an integration engineer meets it, through the installed `osteo-cds` console script."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from cds_service.cli import env_example
from cds_service.config import PREFIX, SETTINGS, Settings
from cds_service.validation import response_problems

REPO = Path(__file__).resolve().parents[2]
OSTEO_CDS = str(Path(sys.executable).parent / "osteo-cds")
EXAMPLE_REQUEST = REPO / "examples" / "patient-view-request.json"


def osteo_cds(*args: str, cwd: Path = REPO, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [OSTEO_CDS, *args], capture_output=True, text=True, cwd=cwd, env={"PATH": "/usr/bin:/bin", **env}, timeout=60
    )


def test_version_prints_the_installed_version() -> None:
    from importlib.metadata import version

    result = osteo_cds("--version")

    assert result.returncode == 0 and result.stdout.strip() == f"osteo-cds {version('osteo-cds')}"


def test_help_texts_have_no_raw_markdown_and_serve_documents_its_defaults() -> None:
    top = osteo_cds("--help")
    serve = osteo_cds("serve", "--help")

    assert top.returncode == 0 and serve.returncode == 0
    for text in (top.stdout, serve.stdout):
        assert "`" not in text
    assert "(default: 127.0.0.1)" in serve.stdout
    assert "OSTEO_CDS_PORT, else 8080" in serve.stdout
    assert "at most 8" in serve.stdout and "cgroup" in serve.stdout
    for command in ("serve", "evaluate", "catalog", "feedback-report", "config", "healthcheck"):
        assert command in top.stdout


def test_evaluate_takes_a_cds_hooks_request_and_uses_its_prefetch() -> None:
    result = osteo_cds("evaluate", str(EXAMPLE_REQUEST), "--now", "2026-11-25T09:00:00Z", "--json")

    assert result.returncode == 0, result.stderr
    response = json.loads(result.stdout)
    assert response_problems(response) == []
    assert "DX-01" in {card["source"]["topic"]["code"] for card in response["cards"]}


def test_evaluate_gives_the_same_cards_for_the_request_as_the_service_over_the_same_prefetch(client) -> None:  # type: ignore[no-untyped-def]
    body = json.loads(EXAMPLE_REQUEST.read_text())
    over_http = client.post("/cds-services/osteoporosis-management", json=body).get_json()["cards"]

    offline = osteo_cds("evaluate", str(EXAMPLE_REQUEST), "--now", "2026-11-25T09:00:00Z", "--json")

    assert offline.returncode == 0, offline.stderr
    rules = [card["source"]["topic"]["code"] for card in json.loads(offline.stdout)["cards"]]
    assert rules == [card["source"]["topic"]["code"] for card in over_http]


def test_evaluate_reports_a_hook_request_without_the_required_data_as_the_service_would(tmp_path: Path) -> None:
    body = json.loads(EXAMPLE_REQUEST.read_text())
    body["prefetch"] = {"patient": body["prefetch"]["patient"]}  # no DXA, no conditions
    body["fhirServer"] = "https://fhir.example.org/r4"  # never contacted from a file
    request_file = tmp_path / "request.json"
    request_file.write_text(json.dumps(body))

    result = osteo_cds("evaluate", str(request_file))

    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "Required data could not be obtained" in result.stderr


def test_evaluate_says_what_it_accepts_when_the_file_is_neither(tmp_path: Path) -> None:
    not_either = tmp_path / "patient.json"
    not_either.write_text('{"resourceType": "Patient", "id": "x"}')

    result = osteo_cds("evaluate", str(not_either))

    assert result.returncode == 2
    assert "neither a FHIR Bundle nor a CDS Hooks request" in result.stderr
    assert "patient-view request with its prefetch" in result.stderr and "one Patient" in result.stderr


def test_evaluate_refuses_hostile_json_files_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    cases = {
        "deep.json": ("[" * 5000 + "]" * 5000, "nests objects and arrays deeper than"),
        "repeated.json": ('{"resourceType": "Bundle", "resourceType": "Bundle"}', "repeats a member name"),
        "latin1.json": (None, "is not UTF-8"),
        "broken.json": ('{"resourceType": ', "is not valid JSON"),
    }
    for name, (text, said) in cases.items():
        path = tmp_path / name
        if text is None:
            path.write_bytes('{"name": "Müller"}'.encode("latin-1"))
        else:
            path.write_text(text)

        result = osteo_cds("evaluate", str(path))

        assert result.returncode == 2, name
        assert said in result.stderr, (name, result.stderr)
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, name


def test_output_into_a_pipe_the_reader_has_closed_is_silent() -> None:
    """What `osteo-cds ... | head` does once head has read enough: the reader is gone before the output is."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # deterministic: every write now fails with EPIPE, as after head exits
    try:
        result = subprocess.run(
            [OSTEO_CDS, "evaluate", "examples/bundle-osteoporosis.json", "--now", "2026-11-25", "--json"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env={"PATH": "/usr/bin:/bin"},
            timeout=60,
        )
    finally:
        os.close(write_end)

    assert result.stderr == ""
    assert result.returncode == 141  # 128 + SIGPIPE, as `yes | head` reports under pipefail


def test_piping_into_head_prints_the_first_lines_and_nothing_else() -> None:
    result = subprocess.run(
        f"'{OSTEO_CDS}' evaluate examples/bundle-osteoporosis.json --now 2026-11-25 | head -n 1",
        shell=True,
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin"},
        timeout=60,
    )

    assert result.stdout.endswith("evaluated 2026-11-25T00:00:00+00:00\n") and result.stderr == ""


def test_feedback_report_in_an_empty_folder_says_there_is_no_database_and_creates_none(tmp_path: Path) -> None:
    result = osteo_cds("feedback-report", cwd=tmp_path)

    assert result.returncode == 1
    assert "there is no feedback database at data/feedback.db" in result.stderr
    assert "OSTEO_CDS_DATA_DIR" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_config_masks_every_secret_and_prints_env_syntax(tmp_path: Path) -> None:
    secrets = {
        "OSTEO_CDS_METRICS_TOKEN": "s3cr3t-metrics",
        "OSTEO_CDS_REDIS_URL": "redis://:redis-pw-1@cache.internal:6379/0",
        "OSTEO_CDS_DATABASE_URL": "postgresql+psycopg://osteo:db-pw-2@db.internal/osteo?sslmode=require",
        "OSTEO_CDS_SMART_APP_URL": "https://app.example.org/launch?client_secret=app-secret-3&x=1",
    }
    result = osteo_cds("config", cwd=tmp_path, OSTEO_CDS_CORS_ORIGINS="*", OSTEO_CDS_WORKERS="3", **secrets)

    assert result.returncode == 0, result.stderr
    for secret in ("s3cr3t-metrics", "redis-pw-1", "db-pw-2", "app-secret-3"):
        assert secret not in result.stdout
    values = dict(line.split("=", 1) for line in result.stdout.splitlines() if line and not line.startswith("#"))
    assert values["OSTEO_CDS_METRICS_TOKEN"] == "***"
    assert values["OSTEO_CDS_REDIS_URL"] == "redis://:***@cache.internal:6379/0"
    assert values["OSTEO_CDS_DATABASE_URL"] == "postgresql+psycopg://osteo:***@db.internal/osteo?sslmode=require"
    assert values["OSTEO_CDS_SMART_APP_URL"].startswith("https://app.example.org/launch?client_secret=***")
    assert values["OSTEO_CDS_CORS_ORIGINS"] == "*"  # env syntax, not ('*',)
    assert (
        values["OSTEO_CDS_WORKERS"] == "3" and "# OSTEO_CDS_WORKERS: 3 workers, from OSTEO_CDS_WORKERS" in result.stdout
    )
    assert values["OSTEO_CDS_ALLOW_HTTP_FHIR"] == "false"
    assert set(values) == {PREFIX + s.name for s in SETTINGS}


def test_config_prints_the_effective_worker_count_and_where_it_comes_from(tmp_path: Path) -> None:
    result = osteo_cds("config", cwd=tmp_path, OSTEO_CDS_CORS_ORIGINS="https://a.example, https://b.example/")

    workers = re.search(r"^OSTEO_CDS_WORKERS=(\d+)$", result.stdout, re.MULTILINE)
    assert workers is not None and 1 <= int(workers.group(1)) <= 8
    assert re.search(r"^# OSTEO_CDS_WORKERS: \d+ workers, ceil\(1 x [\d.]+ CPU\).*; CPUs from ", result.stdout, re.M)
    assert "OSTEO_CDS_CORS_ORIGINS=https://a.example,https://b.example\n" in result.stdout
    # Required mode (the default) without its settings: said up front, and the output can still be used as a file.
    assert "# cannot start: OSTEO_CDS_PUBLIC_BASE_URL is not set" in result.stdout


def test_the_env_example_is_the_generated_one_and_a_complete_production_configuration(tmp_path: Path) -> None:
    shipped = (REPO / "examples" / "osteo-cds.env.example").read_text("utf-8")
    assert shipped == env_example()
    assert osteo_cds("config", "--env-example").stdout == shipped

    env = dict(line.split("=", 1) for line in shipped.splitlines() if line and not line.startswith("#"))
    documented = set(re.findall(r"^#? ?(OSTEO_CDS_[A-Z_]+)=", shipped, re.MULTILINE))
    assert documented == {PREFIX + s.name for s in SETTINGS}  # every setting, set or commented out
    trusted = tmp_path / "trusted-clients.yaml"
    trusted.write_text((REPO / "examples" / "trusted-clients.example.yaml").read_text())
    settings = Settings.from_env({**env, "OSTEO_CDS_TRUSTED_CLIENTS": str(trusted)})
    assert settings.auth_mode == "required" and settings.public_base_url and settings.redis_url
    assert env["OSTEO_CDS_METRICS_TOKEN"] == "CHANGE-ME"
    assert "CHANGE-ME" in env["OSTEO_CDS_DATABASE_URL"] and "CHANGE-ME" in env["OSTEO_CDS_REDIS_URL"]


def test_the_readme_settings_table_says_an_unset_redis_url_means_the_database() -> None:
    readme = (REPO / "README.md").read_text()
    (row,) = [line for line in readme.splitlines() if line.startswith("| `OSTEO_CDS_REDIS_URL`")]

    assert "in-process" not in row and "feedback database" in row

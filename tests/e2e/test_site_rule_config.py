"""A CDS committee's rule changes, through the real service (`osteo-cds serve`, gunicorn, over HTTP): a rule turned
off, an indicator lowered, both listed on the catalog page as configured here; bad settings refused at start-up
with exit 2 naming the problem; the drug-safety rules changeable only with the explicit second setting."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from testkit.cds_client import hook_request, prefetch_from_chart
from testkit.charts import PATIENT_ID, osteoporosis_chart
from testkit.processes import ServiceProcess, dockerfile_command, free_port

NOW = "2026-11-25T09:00:00Z"
SERVICE = "osteoporosis-management"


@pytest.fixture
def configured(tmp_path: Path) -> Iterator[ServiceProcess]:
    env = {
        "OSTEO_CDS_NOW": NOW,
        "OSTEO_CDS_RULES_OFF": "UNIV-01",
        "OSTEO_CDS_RULE_INDICATORS": "tx-01:info",  # ids are read case-insensitively
    }
    process = ServiceProcess(tmp_path, env, workers=1).start()
    yield process
    process.stop()


def _cards(service: ServiceProcess) -> list[dict]:
    session = requests.Session()
    services = session.get(service.base_url + "/cds-services", timeout=5).json()["services"]
    (definition,) = [s for s in services if s["id"] == SERVICE]
    prefetch = prefetch_from_chart(definition["prefetch"], osteoporosis_chart(), PATIENT_ID)
    call = session.post(
        f"{service.base_url}/cds-services/{SERVICE}", json=hook_request(PATIENT_ID, prefetch=prefetch), timeout=10
    )
    assert call.status_code == 200
    return call.json()["cards"]


def test_a_rule_turned_off_is_not_sent_and_a_lowered_one_is_sent_lower(configured: ServiceProcess) -> None:
    cards = {c["source"]["topic"]["code"]: c for c in _cards(configured)}

    assert "UNIV-01" not in cards
    assert cards["TX-01"]["indicator"] == "info"
    assert "overrideReasons" not in cards["TX-01"]  # info cards offer nothing to override
    assert {"DX-01", "LAB-01"} <= set(cards)
    # No public URL configured: each card's source.url is its rule's anchor under the URL the request came in on.
    for rule, card in cards.items():
        assert card["source"]["url"] == f"{configured.base_url}/cds-services/{SERVICE}/catalog#{rule}"


def test_the_catalog_page_lists_the_changes_as_configured_here(configured: ServiceProcess) -> None:
    page = requests.get(f"{configured.base_url}/cds-services/{SERVICE}/catalog", timeout=10)

    assert page.status_code == 200
    html = page.text
    section = html.split('id="configured"', 1)[1].split("</section>", 1)[0]
    assert "UNIV-01" in section and "turned off here" in section
    assert "TX-01" in section and "sent at most as info here" in section
    assert 'id="TX-01"' in html and "Configured here:</strong> sent at most as info here" in html


def _serve(tmp_path: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "OSTEO_CDS_AUTH_MODE": "development",
        "OSTEO_CDS_DATA_DIR": str(tmp_path),
        "OSTEO_CDS_PORT": str(free_port()),
        **{f"OSTEO_CDS_{name}": value for name, value in settings.items()},
    }
    return subprocess.run(dockerfile_command("127.0.0.1"), env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"RULES_OFF": "UNIV-01,NOPE-01"}, "OSTEO_CDS_RULES_OFF names 'NOPE-01', which is not a rule"),
        ({"RULE_INDICATORS": "UNIV-01:critical"}, "UNIV-01 is at most info; an indicator can only be lowered"),
        ({"RULE_INDICATORS": "DATA-02=info"}, "entry 'DATA-02=info' is not RULE-ID:indicator"),
        ({"RULE_INDICATORS": "TX-01:loud"}, "'loud' for TX-01 is not info, warning or critical"),
        ({"RULES_OFF": "SAFE-01"}, "SAFE-01 is a drug-safety rule"),
        ({"RULE_INDICATORS": "SAFE-03:info"}, "also needs OSTEO_CDS_ALLOW_SAFETY_RULE_CHANGES=true"),
        ({"RULES_OFF": "SAFE-02", "ALLOW_SAFETY_RULE_CHANGES": "false"}, "SAFE-02 is a drug-safety rule"),
    ],
)
def test_bad_rule_settings_stop_the_service_at_start_up_with_exit_2(
    tmp_path: Path, settings: dict[str, str], message: str
) -> None:
    result = _serve(tmp_path, **settings)

    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_safety_rules_change_only_with_the_explicit_second_setting(tmp_path: Path) -> None:
    env = {
        "OSTEO_CDS_NOW": NOW,
        "OSTEO_CDS_RULE_INDICATORS": "SAFE-01:warning",
        "OSTEO_CDS_ALLOW_SAFETY_RULE_CHANGES": "true",
    }
    service = ServiceProcess(tmp_path, env, workers=1).start()
    try:
        page = requests.get(f"{service.base_url}/cds-services/{SERVICE}/catalog", timeout=10).text
    finally:
        service.stop()

    assert "SAFE-01" in page.split('id="configured"', 1)[1].split("</section>", 1)[0]

"""The cards of the seed, Synthea and example charts, byte for byte (apart from uuids) as recorded; and the discovery
document, byte for byte.

A failure here means card output changed. If the change is intended, re-record with
`.venv/bin/python -m tests.support.golden` and review the diff of tests/fixtures/golden/ like any other change.
"""

from __future__ import annotations

import json

import pytest

from tests.support.golden import CATALOG_EXAMPLES, DISCOVERY, GOLDEN_DIR, golden_charts, render_golden

NAMES = [f"{c.name}.json" for c in golden_charts()] + [f"{CATALOG_EXAMPLES}.json", f"{DISCOVERY}.json"]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return render_golden(tmp_path_factory.mktemp("golden"))


def test_every_chart_has_a_golden_file_and_no_file_is_orphaned() -> None:
    assert sorted(p.name for p in GOLDEN_DIR.glob("*.json")) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_cards_are_byte_identical_to_the_recorded_ones(rendered: dict[str, str], name: str) -> None:
    recorded = (GOLDEN_DIR / name).read_text("utf-8")
    assert rendered[name] == recorded, f"cards of {name} changed; if intended: python -m tests.support.golden"


def test_every_recorded_call_answered_with_cards() -> None:
    """... except for a deceased patient, who gets an empty list (decision table §6, rev 2)."""
    for chart in golden_charts():
        runs = json.loads((GOLDEN_DIR / f"{chart.name}.json").read_text("utf-8"))["results"]
        patient = chart.request({"patient": "Patient/{{context.patientId}}"})["prefetch"]["patient"]
        for run in runs:
            died = patient.get("deceasedDateTime")
            deceased = patient.get("deceasedBoolean") is True or (died is not None and died <= run["now"])
            assert run["status"] == 200 and bool(run["response"]["cards"]) is not deceased, chart.name
        assert runs, chart.name

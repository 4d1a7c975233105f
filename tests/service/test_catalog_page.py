"""The card catalog page (GET /cds-services/{id}/catalog) and `osteo-cds catalog --out DIR`."""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from cards.catalog import default_catalog
from cards.catalog_page import markdown_to_html
from cds_service.cli import main
from cds_service.validation import response_problems
from decision_core.specs import PATIENT_VIEW_RULE_IDS, RULE_SPECS

CATALOG = "/cds-services/osteoporosis-management/catalog"


def test_the_catalog_page_lists_every_rule_with_an_anchor_and_its_example(client: FlaskClient) -> None:
    response = client.get(CATALOG)

    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    for rule_id in PATIENT_VIEW_RULE_IDS:
        assert f'id="{rule_id}"' in page and f'href="#{rule_id}"' in page
        assert html.escape(default_catalog().cards[rule_id].title) in page
    assert page.count('class="ehr-card') == len(PATIENT_VIEW_RULE_IDS)
    assert 'id="ORD-01"' not in page  # the order rules are on the order services' pages
    assert "https://frax.shef.ac.uk/FRAX/tool.aspx?country=9" in page and "[verify]" in page
    assert "urn:osteo-cds:override-reason" in page


def test_the_catalog_page_has_no_script_and_forbids_loading_anything(client: FlaskClient) -> None:
    response = client.get(CATALOG)

    page = response.get_data(as_text=True)
    assert "<script" not in page.lower() and "<link" not in page.lower() and "src=" not in page
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


def test_the_catalog_shows_the_smart_link_setting(make_app) -> None:  # type: ignore[no-untyped-def]
    client = make_app(SMART_APP_URL="https://apps.example.org/bone/launch").test_client()

    page = client.get(CATALOG).get_data(as_text=True)

    assert "SMART app link: configured" in page
    assert "https://apps.example.org/bone/launch" in page  # in the example cards' JSON


def test_an_unknown_service_has_no_catalog(client: FlaskClient) -> None:
    assert client.get("/cds-services/nope/catalog").status_code == 404


def test_catalog_command_writes_the_page_and_valid_example_cards(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OSTEO_CDS_AUTH_MODE", "development")

    assert main(["catalog", "--out", str(tmp_path / "catalog")]) == 0

    index = (tmp_path / "catalog" / "index.html").read_text("utf-8")
    assert all(f'id="{rule_id}"' in index for rule_id in RULE_SPECS)
    examples = sorted((tmp_path / "catalog" / "examples").glob("*.json"))
    assert [p.stem for p in examples] == sorted(RULE_SPECS)
    for path in examples:
        response = json.loads(path.read_text("utf-8"))
        assert response_problems(response) == [], path.name
        assert {c["source"]["topic"]["code"] for c in response["cards"]} == {path.stem}
        assert len(response["cards"]) == len(RULE_SPECS[path.stem].variants)
    assert "index.html" in capsys.readouterr().out


def test_markdown_subset_is_rendered_and_everything_else_is_escaped() -> None:
    rendered = markdown_to_html(
        "**Why**\n\nT-score \\-2.8 at **lumbar spine** &lt;script>alert(1)&lt;/script>\n\n"
        "- [BHOF](https://doi.org/10.1007/x) and [bad](javascript:alert(1))\n- a \\*literal\\* star\n\n<img src=x>"
    )

    assert "<h4>Why</h4>" in rendered
    assert "<strong>lumbar spine</strong>" in rendered and "-2.8" in rendered
    assert '<a href="https://doi.org/10.1007/x">BHOF</a>' in rendered
    assert 'href="javascript' not in rendered
    assert "<li>a *literal* star</li>" in rendered
    assert "<script" not in rendered and "<img" not in rendered
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered and "&lt;img src=x&gt;" in rendered

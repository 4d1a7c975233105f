"""Golden cards: every card the service sends for the seed, Synthea and example charts, recorded as JSON.

Each chart is sent through the real app (request validation, prefetch resolution, extraction, the decision core,
the card catalog, the renderer) at fixed evaluation times and under two site profiles, and the whole response is
kept with its uuids replaced by `uuid-1`, `uuid-2`, ... in order of appearance. `tests/service/test_golden_cards.py`
re-renders every chart and compares the JSON text byte for byte.

When a change of card wording is intended, re-record the files deliberately and review the diff:

    .venv/bin/python -m tests.support.golden
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cds_service import create_app
from cds_service.cli import main as cli_main
from cds_service.config import Settings
from testkit import charts
from testkit.cds_client import hook_request, prefetch_from_chart

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
GOLDEN_DIR = FIXTURES / "golden"

# The suite's evaluation time, and one 20 months later (stale DXAs, overdue doses, older results out of window).
EVALUATION_TIMES = ("2026-11-25T09:00:00Z", "2028-07-25T09:00:00Z")
# Site settings that change cards: none (development defaults), and a site with a public URL and a SMART app.
PROFILES: Mapping[str, Mapping[str, str]] = {
    "plain": {},
    "site": {
        "PUBLIC_BASE_URL": "https://cds.example.org",
        "SMART_APP_URL": "https://smart.example.org/bone-health/launch",
        "SMART_APP_CONTEXT": "bone-health",
    },
}
CATALOG_EXAMPLES = "catalog-examples"  # the sample cards of every variant (cards/samples.yaml)
DISCOVERY = "discovery"  # GET /cds-services as sent (its bytes): every registered service and its prefetch
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@dataclass(frozen=True)
class Chart:
    name: str  # also the golden file's name
    request: Callable[[Mapping[str, str]], dict[str, Any]]  # discovery prefetch templates -> hook request


def _from_resources(resources: list[dict[str, Any]]) -> Callable[[Mapping[str, str]], dict[str, Any]]:
    patient_id = next(r["id"] for r in resources if r["resourceType"] == "Patient")

    def request(templates: Mapping[str, str]) -> dict[str, Any]:
        return hook_request(
            patient_id,
            prefetch=prefetch_from_chart(templates, resources, patient_id),
            hookInstance="00000000-0000-4000-8000-000000000000",
        )

    return request


def _bundle_resources(bundle: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [entry["resource"] for entry in bundle["entry"]]


def _read(path: Path) -> Any:
    return json.loads(path.read_text("utf-8"))


def golden_charts() -> list[Chart]:
    found: list[Chart] = []
    for path in sorted((FIXTURES / "seeds").glob("*.json")):
        found.append(Chart(f"seed-{path.stem}", _from_resources(_bundle_resources(_read(path)["bundle"]))))
    for path in sorted((FIXTURES / "synthea").glob("*.json")):
        found.append(Chart(f"synthea-{path.stem}", _from_resources(_bundle_resources(_read(path)))))
    example_request = _read(ROOT / "examples" / "patient-view-request.json")
    found.append(Chart("example-patient-view-request", lambda _templates: dict(example_request)))
    found.append(
        Chart(
            "example-bundle-osteoporosis",
            _from_resources(_bundle_resources(_read(ROOT / "examples" / "bundle-osteoporosis.json"))),
        )
    )
    for name, make in (
        ("osteoporosis", charts.osteoporosis_chart),
        ("denosumab-without-dose-dates", charts.denosumab_without_dose_dates_chart),
        ("uninterpretable-results", charts.uninterpretable_results_chart),
    ):
        found.append(Chart(f"charts-{name}", _from_resources(make())))
    return found


def normalise_uuids(value: Any, seen: dict[str, str] | None = None) -> Any:
    """The same structure with every card and suggestion uuid replaced by `uuid-N` (N in order of appearance)."""
    seen = {} if seen is None else seen
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "uuid" and isinstance(item, str) and _UUID.match(item):
                out[key] = seen.setdefault(item, f"uuid-{len(seen) + 1}")
            else:
                out[key] = normalise_uuids(item, seen)
        return out
    if isinstance(value, list):
        return [normalise_uuids(item, seen) for item in value]
    return value


def _apps(data_dir: Path) -> Iterator[tuple[str, str, Any]]:
    for now in EVALUATION_TIMES:
        for profile, extra in PROFILES.items():
            env = {
                "OSTEO_CDS_AUTH_MODE": "development",
                "OSTEO_CDS_DATA_DIR": str(data_dir / f"{profile}-{now[:10]}"),
                "OSTEO_CDS_NOW": now,
                **{f"OSTEO_CDS_{key}": value for key, value in extra.items()},
            }
            app = create_app(Settings.from_env(env))
            try:
                yield now, profile, app
            finally:
                app.extensions["osteo_cds"].close()


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def catalog_examples(data_dir: Path) -> dict[str, Any]:
    """The example cards of every rule variant, as `osteo-cds catalog --out DIR` writes them, per site profile."""
    examples: dict[str, Any] = {}
    for profile, extra in PROFILES.items():
        out = data_dir / f"catalog-{profile}"
        env = {"OSTEO_CDS_DATA_DIR": str(data_dir / "catalog-data"), **{f"OSTEO_CDS_{k}": v for k, v in extra.items()}}
        with _environment(env), contextlib.redirect_stdout(io.StringIO()):
            assert cli_main(["catalog", "--out", str(out)]) == 0
        examples[profile] = {
            path.stem: normalise_uuids(json.loads(path.read_text("utf-8")))
            for path in sorted((out / "examples").glob("*.json"))
        }
    return examples


def render_golden(data_dir: Path) -> dict[str, str]:
    """Golden file name -> its JSON text, rendered now through the app (and the catalog command)."""
    results: dict[str, list[dict[str, Any]]] = {chart.name: [] for chart in golden_charts()}
    discovery: set[str] = set()
    for now, profile, app in _apps(data_dir):
        client = app.test_client()
        discovery.add(client.get("/cds-services").get_data(as_text=True))
        templates = client.get("/cds-services").get_json()["services"][0]["prefetch"]
        for chart in golden_charts():
            response = client.post("/cds-services/osteoporosis-management", json=chart.request(templates))
            results[chart.name].append(
                {
                    "now": now,
                    "profile": profile,
                    "status": response.status_code,
                    "response": normalise_uuids(response.get_json()),
                }
            )
    files = {
        f"{name}.json": json.dumps({"chart": name, "results": runs}, indent=2, ensure_ascii=False) + "\n"
        for name, runs in results.items()
    }
    examples = {"chart": CATALOG_EXAMPLES, "results": catalog_examples(data_dir)}
    files[f"{CATALOG_EXAMPLES}.json"] = json.dumps(examples, indent=2, ensure_ascii=False) + "\n"
    (document,) = discovery  # the same at every NOW and site profile
    files[f"{DISCOVERY}.json"] = document + "\n"
    return files


def record() -> list[Path]:
    """Write every golden file anew (and remove files of charts that no longer exist)."""
    GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="osteo-cds-golden-") as tmp:
        rendered = render_golden(Path(tmp))
    written = []
    for stale in GOLDEN_DIR.glob("*.json"):
        if stale.name not in rendered:
            stale.unlink()
    for name, text in rendered.items():
        path = GOLDEN_DIR / name
        path.write_text(text, "utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    paths = record()
    print(f"recorded {len(paths)} golden files in {GOLDEN_DIR.relative_to(ROOT)}", file=sys.stderr)

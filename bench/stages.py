"""Where a hook call's time goes, stage by stage, in one process (no HTTP, no gunicorn).

    python -m bench.stages [--rounds 50]

For the typical and the heavy chart it times: parsing the request body, validating the HookRequest, resolving
prefetch, extracting facts (of which: validating the relevant resources with the R4B models), the decision core,
rendering cards, serialising the response, and verifying one ES384 JWT. The floor of bench.run does only the first
of these; the others are what the ratio to the floor is made of.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt

from cds_service import create_app
from cds_service.config import Settings
from cds_service.fhir_client import Deadline
from cds_service.prefetch import resolve
from cds_service.render import RenderOptions, render_cards
from cds_service.validation import parse_hook_request
from decision_core import evaluate
from fhir_mappings import extract as extract_module
from fhir_mappings.extract import extract_facts
from testkit.cds_client import hook_request, prefetch_from_chart
from testkit.jwt_clients import claims_for, generate_key

HERE = Path(__file__).resolve().parent
NOW = datetime(2026, 11, 25, 9, tzinfo=UTC)


def median_ms(action: Callable[[], Any], rounds: int) -> float:
    action()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def measure(
    name: str, runtime: Any, templates: dict[str, str], options: RenderOptions, rounds: int
) -> tuple[int, int, dict[str, float]]:
    """(resources in the chart, resources validated with R4B, median ms per stage) for one chart."""
    bundle = json.loads(gzip.decompress((HERE / "data" / f"{name}-chart.json.gz").read_bytes()))
    chart = [entry["resource"] for entry in bundle["entry"]]
    pid = next(r["id"] for r in chart if r["resourceType"] == "Patient")
    body = json.dumps(hook_request(pid, prefetch=prefetch_from_chart(templates, chart, pid)))
    parsed_body = json.loads(body)
    hook = parse_hook_request(parsed_body, "patient-view")
    resolution = resolve(runtime.queries, pid, hook.prefetch, None, None, runtime.fhir_client, Deadline.after(9))
    resources = resolution.resources()
    facts = extract_facts(resources, NOW, terminology=runtime.terminology)
    recommendations = evaluate(facts, NOW)
    cards = render_cards(recommendations, runtime.catalog, pid, options)

    relevant: list[dict[str, Any]] = []
    original_parse = extract_module.parse

    def recording_parse(raw: Any) -> Any:
        relevant.append(raw)
        return original_parse(raw)

    extract_module.parse = recording_parse
    try:
        extract_facts(resources, NOW, terminology=runtime.terminology)
    finally:
        extract_module.parse = original_parse

    return (
        len(chart),
        len(relevant),
        {
            "body json": median_ms(lambda: json.loads(body), rounds),
            "validate": median_ms(lambda: parse_hook_request(parsed_body, "patient-view"), rounds),
            "prefetch": median_ms(
                lambda: resolve(
                    runtime.queries, pid, hook.prefetch, None, None, runtime.fhir_client, Deadline.after(9)
                ),
                rounds,
            ),
            "extract": median_ms(lambda: extract_facts(resources, NOW, terminology=runtime.terminology), rounds),
            "(R4B)": median_ms(lambda: [original_parse(r) for r in relevant], rounds),
            "core": median_ms(lambda: evaluate(facts, NOW), rounds),
            "render": median_ms(lambda: render_cards(recommendations, runtime.catalog, pid, options), rounds),
            "response": median_ms(lambda: json.dumps({"cards": [c.card for c in cards]}), rounds),
        },
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    app = create_app(
        Settings.from_env(
            {
                "OSTEO_CDS_AUTH_MODE": "development",
                "OSTEO_CDS_LOG_LEVEL": "WARNING",
                "OSTEO_CDS_DATA_DIR": tempfile.mkdtemp(prefix="osteo-stages-"),
            }
        )
    )
    runtime = app.extensions["osteo_cds"]
    templates = app.test_client().get("/cds-services").get_json()["services"][0]["prefetch"]
    options = RenderOptions.from_settings(runtime.settings)
    key = generate_key("ES384")
    public = key.private_key.public_key()
    token = key.sign(claims_for("https://cds.example.org/cds-services", "https://ehr.example.org"))

    print(
        f"{'chart':8} {'resources':>9} {'parsed':>6} | "
        + " | ".join(
            f"{name:>9}"
            for name in ("body json", "validate", "prefetch", "extract", "(R4B)", "core", "render", "response", "JWT")
        )
        + " | total ms"
    )
    for name in ("typical", "heavy"):
        chart, parsed, stages = measure(name, runtime, templates, options, args.rounds)
        stages["JWT"] = median_ms(
            lambda: jwt.decode(token, public, algorithms=["ES384"], audience="https://cds.example.org/cds-services"),
            args.rounds,
        )
        total = sum(v for k, v in stages.items() if k != "(R4B)")
        print(
            f"{name:8} {chart:>9} {parsed:>6} | " + " | ".join(f"{v:9.3f}" for v in stages.values()) + f" | {total:.2f}"
        )
    runtime.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""What the strict request parser costs over the floor's `json.loads`, on hook bodies of 200 and 2,000 resources.

    python -m bench.parse_cost [--rounds 200]

cds_service.json_body.parse_json refuses repeated member names and nesting deeper than MAX_JSON_DEPTH; the floor
of bench.run parses with plain `json.loads`. Both are timed here in one process on the same bodies (the Synthea
chart of tests/fixtures, repeated with new ids to 200 and 2,000 resources, every discovery prefetch key filled; and
the same with a generated narrative in every resource, as most EHRs send them), with a pure-Python
`object_pairs_hook` for comparison. The garbage collector is tuned as in a worker. Medians of `--rounds` runs, in
milliseconds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.run import scaled_chart
from cds_service.gc_tuning import tune_garbage_collector
from cds_service.json_body import parse_json
from testkit.cds_client import hook_request, prefetch_from_chart
from testkit.fuzz import discovery_templates

CHART = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "synthea" / "Carl_Mante_cc5a0109.json"


class _Repeated(ValueError):
    pass


def _refuse_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _Repeated
    return result


def pairs_hook(raw: bytes) -> Any:
    return json.loads(raw, object_pairs_hook=_refuse_repeats)


def with_narrative(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource with a generated narrative, as most EHRs send one: XHTML with quoted attributes and line breaks,
    which JSON writes with escape sequences (the Synthea fixtures carry none)."""
    div = (
        f'<div xmlns="http://www.w3.org/1999/xhtml"><p><b>{resource["resourceType"]}</b> {resource.get("id", "")}'
        f'</p>\n<p class="status">{resource.get("status", "")}</p></div>'
    )
    return {**resource, "text": {"status": "generated", "div": div}}


def hook_body(resources: int, *, narratives: bool = False) -> bytes:
    base = [entry["resource"] for entry in json.loads(CHART.read_text("utf-8"))["entry"]]
    if narratives:
        base = [with_narrative(r) for r in base]
    patient = next(r["id"] for r in base if r["resourceType"] == "Patient")
    chart = scaled_chart(base, resources)
    return json.dumps(
        hook_request(patient, prefetch=prefetch_from_chart(discovery_templates(), chart, patient))
    ).encode()


def median_ms(parse: Callable[[bytes], Any], raw: bytes, rounds: int) -> float:
    parse(raw)
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        parse(raw)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args(argv)
    tune_garbage_collector()
    print("| resources | narratives | body KiB | json.loads ms | parse_json ms | overhead | object_pairs_hook ms |")
    print("|---|---|---|---|---|---|---|")
    for resources, narratives in ((200, False), (200, True), (2000, False), (2000, True)):
        raw = hook_body(resources, narratives=narratives)
        rounds = args.rounds if resources == 200 else max(args.rounds // 10, 5)
        floor = median_ms(json.loads, raw, rounds)
        strict = median_ms(parse_json, raw, rounds)
        hooked = median_ms(pairs_hook, raw, rounds)
        print(
            f"| {resources} | {'yes' if narratives else 'no'} | {len(raw) // 1024} | {floor:.2f} | {strict:.2f} | "
            f"+{strict - floor:.2f} ms ({(strict / floor - 1) * 100:.0f} %) | {hooked:.2f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""What reading one relevant resource costs: R4B model validation (`fhir_json.parse`, the strict path) against the
typed decoding (`typed_decoding.decode`, msgspec), per resource type, on the entries extraction reads from the
benchmark charts (bench/data: typical and heavy).

    python -m bench.decode_cost [--number 200]

Each entry is read `--number` times in a row (timeit, best of 5 repeats), in microseconds per read; the last row is
the typical chart's whole set, as one hook call reads it.
"""

from __future__ import annotations

import argparse
import timeit
from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from bench.run import load_chart
from fhir_mappings import extract
from fhir_mappings.fhir_json import parse, preload_models
from fhir_mappings.typed_decoding import decode

NOW = datetime(2026, 11, 25, 9)


def read_entries(chart: list[dict[str, Any]]) -> list[Mapping[str, Any]]:
    """The entries extraction reads (relevant, not outdated), as the extraction itself picks them."""
    read: list[Mapping[str, Any]] = []

    def recording(raw: Mapping[str, Any]) -> Any:
        read.append(raw)
        return parse(raw)

    original = extract.resource_reader
    extract.resource_reader = lambda parsing: recording  # type: ignore[assignment]
    try:
        extract.extract_facts(chart, NOW)
    finally:
        extract.resource_reader = original
    return read


def best_us(function: Callable[[Mapping[str, Any]], Any], raws: list[Mapping[str, Any]], number: int) -> float:
    """Microseconds per call of `function` over `raws` (best of 5 repeats)."""
    timer = timeit.Timer(lambda: [function(raw) for raw in raws])
    return min(timer.repeat(repeat=5, number=number)) / number / len(raws) * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.decode_cost", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--number", type=int, default=200)
    args = parser.parse_args(argv)
    preload_models()
    typical = read_entries(load_chart("typical"))
    by_type: defaultdict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for raw in typical + read_entries(load_chart("heavy")):
        by_type[str(raw["resourceType"])].append(raw)
    undecoded = [raw for raws in by_type.values() for raw in raws if decode(raw) is None]
    print("| resources | entries | R4B parse µs | typed decode µs | R4B / typed |")
    print("|---|---:|---:|---:|---:|")
    rows = [(name, raws) for name, raws in sorted(by_type.items())] + [("typical chart, one call", typical)]
    for name, raws in rows:
        strict = best_us(parse, raws, args.number)
        typed = best_us(decode, raws, args.number)
        print(f"| {name} | {len(raws)} | {strict:.1f} | {typed:.1f} | {strict / typed:.1f}× |")
    per_call = [us * len(typical) / 1000 for us in (strict, typed)]
    print(f"\ntypical chart: {per_call[0]:.2f} ms R4B, {per_call[1]:.2f} ms typed per call")
    print(f"entries the typed decoding leaves to R4B: {len(undecoded)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

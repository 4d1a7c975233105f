"""Garbage-collector settings for a gunicorn worker, applied by `osteo-cds serve` once the app is loaded (and by
the benchmark floors, so they differ from the service only in what the app does)."""

from __future__ import annotations

import gc


def tune_garbage_collector() -> None:
    """Per worker, once the app is loaded: the objects alive now (code, models, terminology) are never garbage,
    so they leave the collector's view (`gc.freeze`), and young-generation collections run every 50,000 new
    container objects instead of every 700. Parsing a large prefetch body allocates hundreds of thousands of
    dicts and lists; with the default thresholds the collector rescans them over and over, which made a
    10,000-resource hook call cost 2.4 times as much (python -m bench.run measures it)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)

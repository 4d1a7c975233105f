"""The decision core: pure functions from patient facts and the evaluation time to recommendations.

No Flask, no FHIR, no I/O. `evaluate(facts, now)` is the entry point.
"""

"""Helpers shared by the test suites: FHIR resource builders, a small CDS Hooks client, process helpers."""

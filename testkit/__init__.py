"""Helpers the test suite and the benchmarks share: FHIR resource builders, small charts, a CDS Hooks client,
JWT signing clients, and real servers started on loopback ports (the service under gunicorn, sekmet-fhir,
PostgreSQL, Redis, nginx). Not part of the service: the wheel does not ship it. Test-only pieces stay in
tests/support."""

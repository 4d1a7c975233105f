"""Helpers only the test suite uses (a misbehaving FHIR server, a recording server, spec strategies); what the
benchmarks need too is in testkit/."""

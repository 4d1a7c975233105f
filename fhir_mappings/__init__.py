"""FHIR R4 resources -> plain bone-health facts, and terminology kept as reviewed data."""

from __future__ import annotations

import pytest

from fhir_mappings.terminology import Terminology, load_terminology


@pytest.fixture(scope="session")
def term() -> Terminology:
    return load_terminology()

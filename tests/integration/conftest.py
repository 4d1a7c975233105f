"""A real FHIR server (sekmet-fhir) for the whole integration session, and one that requires a bearer token."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testkit.sekmet import SekmetServer

FHIR_TOKEN = "sekmet-test-token-7c1d"


@pytest.fixture(scope="session")
def fhir_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SekmetServer]:
    server = SekmetServer(tmp_path_factory.mktemp("sekmet")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def secured_fhir_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SekmetServer]:
    server = SekmetServer(tmp_path_factory.mktemp("sekmet-bearer"), bearer_tokens=[FHIR_TOKEN]).start()
    yield server
    server.stop()

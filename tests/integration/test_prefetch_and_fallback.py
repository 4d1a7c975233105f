"""Every prefetch state against a real FHIR server (sekmet-fhir): absent, partial, null, OperationOutcome, paged,
bearer-protected, and a server that is down or hangs."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from testkit import fhir
from testkit.cds_client import hook_request, prefetch_from_chart
from testkit.charts import osteoporosis_chart
from testkit.sekmet import SekmetServer
from tests.integration.conftest import FHIR_TOKEN

SERVICE = "/cds-services/osteoporosis-management"


def topics(response: Any) -> dict[str, str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return {c["source"]["topic"]["code"]: c["summary"] for c in response.get_json()["cards"]}


@pytest.fixture
def loaded(fhir_server: SekmetServer, request: pytest.FixtureRequest) -> tuple[str, list[dict[str, Any]]]:
    """A patient unique to this test, stored in the FHIR server."""
    pid = "it-" + request.node.name.replace("_", "-")[-50:].strip("-")
    chart = osteoporosis_chart(pid)
    for resource in chart[1:]:
        resource["id"] = f"{pid}-{resource['id']}"
    fhir_server.load(fhir.transaction(chart))
    return pid, chart


def templates(client: FlaskClient) -> dict[str, str]:
    return client.get("/cds-services").get_json()["services"][0]["prefetch"]


def test_no_prefetch_fetches_everything_and_gives_the_same_cards_as_full_prefetch(
    client: FlaskClient, fhir_server: SekmetServer, loaded: tuple[str, list[dict[str, Any]]]
) -> None:
    pid, chart = loaded
    by_fhir = client.post(SERVICE, json=hook_request(pid, fhir_server=fhir_server.base_url))
    by_prefetch = client.post(
        SERVICE, json=hook_request(pid, prefetch=prefetch_from_chart(templates(client), chart, pid))
    )

    assert "DX-01" in topics(by_fhir)
    assert topics(by_fhir) == topics(by_prefetch)


def test_partial_prefetch_is_completed_from_the_server(
    client: FlaskClient, fhir_server: SekmetServer, loaded: tuple[str, list[dict[str, Any]]]
) -> None:
    pid, chart = loaded
    prefetch = prefetch_from_chart(templates(client), chart, pid)
    partial = {"patient": prefetch["patient"], "conditions": prefetch["conditions"]}  # bmd etc. absent

    assert "DX-01" in topics(
        client.post(SERVICE, json=hook_request(pid, prefetch=partial, fhir_server=fhir_server.base_url))
    )


def test_null_keys_mean_no_data_and_are_not_fetched_again(
    client: FlaskClient, fhir_server: SekmetServer, loaded: tuple[str, list[dict[str, Any]]]
) -> None:
    pid, chart = loaded
    prefetch = {key: None for key in templates(client)}
    prefetch["patient"] = prefetch_from_chart(templates(client), chart, pid)["patient"]

    cards = topics(client.post(SERVICE, json=hook_request(pid, prefetch=prefetch, fhir_server=fhir_server.base_url)))

    assert "DX-01" not in cards  # the server has the DXA, but the client said there is none: null is trusted


def test_operation_outcome_keys_are_fetched_again(
    client: FlaskClient, fhir_server: SekmetServer, loaded: tuple[str, list[dict[str, Any]]]
) -> None:
    pid, chart = loaded
    prefetch = prefetch_from_chart(templates(client), chart, pid)
    prefetch["bmd"] = fhir.operation_outcome()
    prefetch["conditions"] = fhir.searchset([fhir.operation_outcome()])  # a Bundle holding an error outcome

    assert "DX-01" in topics(
        client.post(SERVICE, json=hook_request(pid, prefetch=prefetch, fhir_server=fhir_server.base_url))
    )


def test_operation_outcome_keys_without_a_server_are_412(
    client: FlaskClient, loaded: tuple[str, list[dict[str, Any]]]
) -> None:
    pid, chart = loaded
    prefetch = prefetch_from_chart(templates(client), chart, pid)
    prefetch["bmd"] = fhir.operation_outcome()

    response = client.post(SERVICE, json=hook_request(pid, prefetch=prefetch))

    assert response.status_code == 412
    assert "bmd" in response.get_json()["issue"][0]["diagnostics"]


def test_paged_prefetch_bundles_are_followed_on_the_server(
    client: FlaskClient, fhir_server: SekmetServer, loaded: tuple[str, list[dict[str, Any]]]
) -> None:
    pid, chart = loaded
    prefetch = prefetch_from_chart(templates(client), chart, pid)
    # The EHR sent only the first page (the hip value) and a next link to the rest on its server.
    hip = [r for r in chart if r["id"].endswith("dxa-th")]
    prefetch["bmd"] = fhir.searchset(
        hip, next_url=f"{fhir_server.base_url}/Observation?patient={pid}&code=http://loinc.org|38267-1"
    )

    followed = topics(client.post(SERVICE, json=hook_request(pid, prefetch=prefetch, fhir_server=fhir_server.base_url)))
    not_followed = topics(client.post(SERVICE, json=hook_request(pid, prefetch=prefetch)))

    assert "-2.7" in followed["DX-01"]  # the spine value came from the second page
    assert "-2.7" not in not_followed.get("DX-01", "")


def test_bearer_token_is_passed_to_the_fhir_server(client: FlaskClient, secured_fhir_server: SekmetServer) -> None:
    pid = "it-bearer-1"
    secured_fhir_server.load(fhir.transaction(osteoporosis_chart(pid)), token=FHIR_TOKEN)

    with_token = client.post(
        SERVICE, json=hook_request(pid, fhir_server=secured_fhir_server.base_url, access_token=FHIR_TOKEN)
    )
    without = client.post(SERVICE, json=hook_request(pid, fhir_server=secured_fhir_server.base_url))
    wrong = client.post(
        SERVICE, json=hook_request(pid, fhir_server=secured_fhir_server.base_url, access_token="not-the-token")
    )

    assert "DX-01" in topics(with_token)
    assert without.status_code == 412 and wrong.status_code == 412
    assert FHIR_TOKEN not in with_token.get_data(as_text=True)
    assert "not-the-token" not in wrong.get_data(as_text=True)


def test_a_stopped_fhir_server_gives_412(client: FlaskClient, tmp_path_factory: pytest.TempPathFactory) -> None:
    server = SekmetServer(tmp_path_factory.mktemp("sekmet-stopped")).start()
    base = server.base_url
    server.stop()

    response = client.post(SERVICE, json=hook_request("it-gone-1", fhir_server=base))

    assert response.status_code == 412
    assert response.get_json()["resourceType"] == "OperationOutcome"


@pytest.fixture
def hanging_server() -> Iterator[str]:
    """Accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
                held.append(connection)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/fhir"
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    listener.close()


def test_a_hanging_fhir_server_cannot_hold_the_hook_past_its_deadline(
    make_app: Callable[..., Flask], hanging_server: str
) -> None:
    client = make_app(HOOK_DEADLINE="1.0", FHIR_TIMEOUT="5").test_client()

    started = time.monotonic()
    response = client.post(SERVICE, json=hook_request("it-hang-1", fhir_server=hanging_server))
    elapsed = time.monotonic() - started

    assert response.status_code == 412
    assert elapsed < 1.0 + 0.75  # the deadline, plus scheduling slack; the server would hold it forever


def test_no_log_line_carries_the_access_token(
    client: FlaskClient, secured_fhir_server: SekmetServer, caplog: pytest.LogCaptureFixture
) -> None:
    pid = "it-bearer-logs"
    secured_fhir_server.load(fhir.transaction(osteoporosis_chart(pid)), token=FHIR_TOKEN)
    caplog.set_level(logging.DEBUG)

    client.post(SERVICE, json=hook_request(pid, fhir_server=secured_fhir_server.base_url, access_token=FHIR_TOKEN))
    client.post(SERVICE, json=hook_request(pid, fhir_server=secured_fhir_server.base_url, access_token="wrong-tok"))

    from cds_service.logs import JsonFormatter

    formatted = "\n".join(JsonFormatter().format(record) for record in caplog.records)
    assert caplog.records
    for secret in (FHIR_TOKEN, "wrong-tok", pid):
        assert secret not in formatted
        assert all(secret not in record.getMessage() for record in caplog.records)

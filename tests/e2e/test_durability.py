"""Acknowledged feedback is never lost: the service is SIGKILLed mid-load, and every item that got a 200 is in the
database afterwards (SQLite in WAL mode, and PostgreSQL)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text

from testkit.postgres import PostgresServer
from testkit.processes import ServiceProcess

FEEDBACK = "/cds-services/osteoporosis-management/feedback"


def load_then_kill(service: ServiceProcess, threads: int = 6, seconds: float = 1.5) -> set[str]:
    acknowledged: set[str] = set()
    lock = threading.Lock()
    stop = threading.Event()

    def send() -> None:
        session = requests.Session()
        while not stop.is_set():
            card = str(uuid.uuid4())
            item = {"card": card, "outcome": "overridden", "outcomeTimestamp": "2026-11-25T10:00:00Z"}
            try:
                response = session.post(service.base_url + FEEDBACK, json={"feedback": [item]}, timeout=5)
            except requests.RequestException:
                continue  # the service died under us: this item was never acknowledged
            if response.status_code == 200:
                with lock:
                    acknowledged.add(card)

    workers = [threading.Thread(target=send) for _ in range(threads)]
    for worker in workers:
        worker.start()
    time.sleep(seconds)
    service.kill()  # mid-load, while requests are in flight
    stop.set()
    for worker in workers:
        worker.join()
    return acknowledged


def stored_cards(database_url: str) -> set[str]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return {row[0] for row in connection.execute(text("SELECT card_uuid FROM feedback"))}
    finally:
        engine.dispose()


def test_sqlite_keeps_every_acknowledged_feedback_after_sigkill(tmp_path: Path) -> None:
    service = ServiceProcess(tmp_path, workers=2).start()

    acknowledged = load_then_kill(service)

    assert len(acknowledged) > 20  # the load really ran
    assert acknowledged <= stored_cards(f"sqlite:///{tmp_path / 'feedback.db'}")


@pytest.fixture
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    server = PostgresServer(tmp_path_factory.mktemp("pg")).start()
    yield server
    server.stop()


def test_postgresql_keeps_every_acknowledged_feedback_after_sigkill(tmp_path: Path, postgres: PostgresServer) -> None:
    service = ServiceProcess(tmp_path, {"OSTEO_CDS_DATABASE_URL": postgres.url}, workers=2).start()

    acknowledged = load_then_kill(service)

    assert len(acknowledged) > 20
    assert acknowledged <= stored_cards(postgres.url)

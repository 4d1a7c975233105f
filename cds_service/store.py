"""Durable storage (SQLAlchemy): which rule each issued card and suggestion uuid belongs to, and clinician feedback.

No PHI is stored: uuids, rule ids, outcomes, coded override reasons and timestamps only. A free-text override
comment may name the patient, so only the fact that one was given is kept. A feedback answer of 200 is sent only
after its transaction has committed; repeats of the same feedback are recognised by a content hash and stored once.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Engine,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from cds_service.validation import FeedbackItem

log = logging.getLogger("osteo_cds.store")
metadata = MetaData()
_MAX_PENDING = 50_000  # issued-card rows waiting for the writer; beyond this the oldest are dropped (and logged)
_FLUSH_SECONDS = 0.25

issued = Table(
    "issued",
    metadata,
    Column("uuid", String(64), primary_key=True),
    Column("card_uuid", String(64), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # "card" or "suggestion"
    Column("service_id", String(100), nullable=False),
    Column("rule_id", String(32), nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
)

feedback = Table(
    "feedback",
    metadata,
    Column("id", String(64), primary_key=True),  # sha256 of the feedback item: repeats collapse onto one row
    Column("service_id", String(100), nullable=False),
    Column("card_uuid", String(200), nullable=False, index=True),
    Column("outcome", String(16), nullable=False),
    Column("accepted_suggestions", Text, nullable=False),  # JSON array of suggestion uuids
    Column("override_reason_system", String(500)),
    Column("override_reason_code", String(200)),
    Column("has_user_comment", Boolean, nullable=False),
    Column("outcome_timestamp", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class IssuedCard:
    card_uuid: str
    rule_id: str
    suggestion_uuids: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuleFeedback:
    rule_id: str
    accepted: int
    overridden: int
    override_reasons: dict[str, int]


class Store:
    def __init__(self, url: str) -> None:
        self.engine = _engine(url)
        _create_schema(self.engine)
        dialect = self.engine.dialect.name
        self._insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        if dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported database dialect {dialect!r}: use SQLite or PostgreSQL")
        self._pending: list[dict[str, object]] = []
        self._pending_lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._stop = threading.Event()
        self._writer: threading.Thread | None = None
        atexit.register(self.flush_issued)

    def record_issued(self, service_id: str, cards: Sequence[IssuedCard]) -> None:
        """Queue the rule of each issued card and suggestion uuid; a background writer stores them in batches.

        Keeping this write off the hook's path costs nothing a clinician waits for. The mapping serves feedback
        attribution only, and feedback flushes the queue before it is stored, so attribution stays exact; a
        crash loses at most the last quarter-second of mappings (their feedback is then reported as 'unknown').
        """
        if not cards:
            return
        now = datetime.now(UTC)
        rows: list[dict[str, object]] = []
        for card in cards:
            rows.append(
                {
                    "uuid": card.card_uuid,
                    "card_uuid": card.card_uuid,
                    "kind": "card",
                    "service_id": service_id,
                    "rule_id": card.rule_id,
                    "issued_at": now,
                }
            )
            rows.extend(
                {
                    "uuid": s,
                    "card_uuid": card.card_uuid,
                    "kind": "suggestion",
                    "service_id": service_id,
                    "rule_id": card.rule_id,
                    "issued_at": now,
                }
                for s in card.suggestion_uuids
            )
        with self._pending_lock:
            self._pending.extend(rows)
            dropped = len(self._pending) - _MAX_PENDING
            if dropped > 0:
                del self._pending[:dropped]
                log.error(
                    "issued-card queue full: oldest rows dropped", extra={"event": "store", "reason": f"{dropped} rows"}
                )
            if self._writer is None:  # started lazily: after gunicorn has forked the worker
                self._writer = threading.Thread(target=self._write_loop, name="issued-writer", daemon=True)
                self._writer.start()

    def flush_issued(self) -> None:
        """Write every queued issued-card row now (feedback, reports and shutdown call this)."""
        with self._flush_lock:
            with self._pending_lock:
                rows, self._pending = self._pending, []
            if not rows:
                return
            try:
                with self.engine.begin() as connection:
                    connection.execute(self._insert(issued).on_conflict_do_nothing(index_elements=["uuid"]), rows)
            except Exception as exc:  # keep the rows for the next attempt; the type only, never the data
                with self._pending_lock:
                    self._pending[:0] = rows
                log.error("issued-card write failed", extra={"event": "store", "error_type": type(exc).__name__})
                raise

    def _write_loop(self) -> None:
        while not self._stop.wait(_FLUSH_SECONDS):
            try:
                self.flush_issued()
            except Exception:  # logged in flush_issued; retried on the next tick
                continue

    def record_feedback(self, service_id: str, items: Iterable[FeedbackItem]) -> int:
        """Store feedback in one transaction; returns how many items were new (repeats are not stored twice)."""
        self.flush_issued()
        now = datetime.now(UTC)
        rows = [_feedback_row(service_id, item, now) for item in items]
        with self.engine.begin() as connection:
            result = connection.execute(
                self._insert(feedback).on_conflict_do_nothing(index_elements=["id"]).returning(feedback.c.id), rows
            )
            return len(result.fetchall())

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def feedback_report(self) -> list[RuleFeedback]:
        """Accepted/overridden counts and override reasons per card rule.

        Feedback is attributed through its card uuid; when a client sends a card uuid we did not issue but accepted
        suggestion uuids we did, the suggestions' rule is used. Anything else counts as 'unknown'.
        """
        self.flush_issued()
        joined = feedback.outerjoin(issued, issued.c.uuid == feedback.c.card_uuid)
        query = select(
            issued.c.rule_id, feedback.c.outcome, feedback.c.override_reason_code, feedback.c.accepted_suggestions
        ).select_from(joined)
        with self.engine.connect() as connection:
            rows = list(connection.execute(query))
        orphan_suggestions = {s for rule_id, _, _, accepted in rows if rule_id is None for s in json.loads(accepted)}
        suggestion_rules = self.rules_of(sorted(orphan_suggestions))
        by_rule: dict[str, RuleFeedback] = {}
        for rule_id, outcome, reason, accepted in rows:
            if rule_id is None:
                rule_id = next((suggestion_rules[s] for s in json.loads(accepted) if s in suggestion_rules), "unknown")
            entry = by_rule.setdefault(rule_id, RuleFeedback(rule_id, 0, 0, {}))
            if outcome == "accepted":
                entry = RuleFeedback(rule_id, entry.accepted + 1, entry.overridden, entry.override_reasons)
            else:
                reasons = dict(entry.override_reasons)
                key = reason or "(no coded reason)"
                reasons[key] = reasons.get(key, 0) + 1
                entry = RuleFeedback(rule_id, entry.accepted, entry.overridden + 1, reasons)
            by_rule[rule_id] = entry
        return [by_rule[k] for k in sorted(by_rule)]

    def rules_of(self, uuids: Sequence[str]) -> dict[str, str]:
        """The rule id each known card or suggestion uuid was issued for."""
        if not uuids:
            return {}
        with self.engine.connect() as connection:
            rows = connection.execute(select(issued.c.uuid, issued.c.rule_id).where(issued.c.uuid.in_(set(uuids))))
            return {uuid: rule for uuid, rule in rows}

    def dispose(self) -> None:
        self._stop.set()
        self.flush_issued()
        atexit.unregister(self.flush_issued)
        self.engine.dispose()


def _feedback_row(service_id: str, item: FeedbackItem, received_at: datetime) -> dict[str, object]:
    canonical = json.dumps(
        [
            service_id,
            item.card,
            item.outcome,
            sorted(item.accepted_suggestions),
            item.override_reason_system,
            item.override_reason_code,
            item.has_user_comment,
            item.outcome_timestamp.isoformat(),
        ],
        separators=(",", ":"),
    )
    return {
        "id": hashlib.sha256(canonical.encode()).hexdigest(),
        "service_id": service_id,
        "card_uuid": item.card,
        "outcome": item.outcome,
        "accepted_suggestions": json.dumps(sorted(item.accepted_suggestions)),
        "override_reason_system": item.override_reason_system,
        "override_reason_code": item.override_reason_code,
        "has_user_comment": item.has_user_comment,
        "outcome_timestamp": item.outcome_timestamp,
        "received_at": received_at,
    }


def _create_schema(engine: Engine) -> None:
    """Create missing tables. Several workers may race here on a fresh database: losing the race is fine."""
    try:
        metadata.create_all(engine)
    except (OperationalError, ProgrammingError, IntegrityError):
        metadata.create_all(engine)  # the other worker created them; this pass only checks


def make_engine(url: str, *, durable: bool = True) -> Engine:
    """An engine configured like the store's (SQLite: WAL, busy timeout). `durable=False` lets SQLite skip the
    fsync per commit, for data that need not survive a power cut (replay records expire within minutes anyway)."""
    return _engine(url, durable=durable)


def _engine(url: str, *, durable: bool = True) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 10})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            # WAL lets hook calls read while feedback writes; FULL syncs each commit so acknowledged feedback
            # survives a crash of the machine, not only of the process.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL" if durable else "PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)

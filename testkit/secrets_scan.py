"""Scan logs, error bodies and database files for secrets and PHI that must never be written there.

`assert_no_secrets(text, secrets)` looks for each value as sent and in the encodings it could be written in
(JSON-escaped, URL-encoded), in str or bytes. Register every JWT with `jwt_secrets`, which also covers its payload
and signature segments on their own (a log of "the claims" or "the signature" leaks as much as the whole token).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import quote, quote_plus


def jwt_secrets(name: str, token: str) -> dict[str, str]:
    _, payload, signature = token.split(".")
    return {name: token, f"{name} (payload segment)": payload, f"{name} (signature segment)": signature}


def _forms(value: str) -> set[str]:
    return {value, json.dumps(value)[1:-1], quote(value, safe=""), quote_plus(value)}


def find_secrets(text: str | bytes, secrets: Mapping[str, str]) -> list[str]:
    """The names of the secrets found in `text`."""
    found = []
    for name, value in secrets.items():
        if not value:
            raise ValueError(f"secret {name!r} is empty: the scan would be meaningless")
        forms: Iterable[str | bytes] = _forms(value)
        if isinstance(text, bytes):
            forms = [form.encode(encoding) for form in _forms(value) for encoding in ("utf-8", "utf-16-le")]
        if any(form in text for form in forms):  # type: ignore[operator]
            found.append(name)
    return found


def assert_no_secrets(text: str | bytes, secrets: Mapping[str, str], where: str = "the text") -> None:
    found = find_secrets(text, secrets)
    assert not found, f"{where} contains: {', '.join(found)}"


def database_bytes(database: Path) -> bytes:
    """A SQLite database with its journal and write-ahead log files, if any."""
    parts = [database, *(database.with_name(database.name + suffix) for suffix in ("-wal", "-journal", "-shm"))]
    return b"".join(part.read_bytes() for part in parts if part.exists())

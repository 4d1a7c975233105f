"""Every secret and identifier the test suite sends to the service, and every service log it produces.

Helpers register what they put into requests (patient ids, names and birth dates, FHIR access tokens, JWTs), and
ServiceProcess registers its log file. At the end of the run the suite-wide check (tests/conftest.py) scans all the
service's log output for any of them: the whole suite's traffic, not one hand-made batch.
"""

from __future__ import annotations

from pathlib import Path

from testkit.secrets_scan import jwt_secrets

MIN_LENGTH = 6  # shorter values ("p1") would match by accident in unrelated words

SECRETS: dict[str, str] = {}
SERVICE_LOGS: list[Path] = []


def register(kind: str, value: object) -> None:
    if isinstance(value, str) and len(value) >= MIN_LENGTH:
        SECRETS.setdefault(f"{kind} {value[:12]}…", value)


def register_jwt(token: str) -> None:
    if token.count(".") == 2:
        for name, value in jwt_secrets(f"JWT {token[-12:]}", token).items():
            if len(value) >= MIN_LENGTH:
                SECRETS.setdefault(name, value)


def register_log(path: Path) -> None:
    SERVICE_LOGS.append(path)

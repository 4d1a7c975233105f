"""Credentials for the benchmark's calls. Until the service verifies CDS client JWTs, it runs in development
auth mode and no token is sent (the production configuration signs one ES384 JWT per request)."""

from __future__ import annotations

from pathlib import Path


class TokenFactory:
    mode = "development"

    def __init__(self, work: Path) -> None:
        self.work = work

    def service_env(self, public_base_url: str) -> dict[str, str]:
        return {"OSTEO_CDS_AUTH_MODE": "development"}

    def header(self, audience: str) -> dict[str, str]:
        return {}

    def file(self, audience: str, count: int) -> Path | None:
        return None

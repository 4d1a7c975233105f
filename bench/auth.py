"""Credentials for the benchmark: the service runs in its production configuration (AUTH_MODE=required), so every
call carries an ES384 JWT signed for the exact endpoint URL, with a fresh jti (the replay cache refuses reuse)."""

from __future__ import annotations

import time
from pathlib import Path

from testkit.jwt_clients import claims_for, generate_key, jwks, write_trusted_clients

ISSUER = "https://bench-ehr.example.org"


class TokenFactory:
    mode = "required (one ES384 JWT per request, replay cache in the service database)"

    def __init__(self, work: Path) -> None:
        self.work = work
        self.key = generate_key("ES384")
        self.trusted = write_trusted_clients(
            work / "trusted-clients.yaml", [{"issuer": ISSUER, "jwks": jwks(self.key), "algorithms": ["ES384"]}]
        )
        self._files = 0

    def service_env(self, public_base_url: str) -> dict[str, str]:
        return {
            "OSTEO_CDS_AUTH_MODE": "required",
            "OSTEO_CDS_PUBLIC_BASE_URL": public_base_url,
            "OSTEO_CDS_TRUSTED_CLIENTS": str(self.trusted),
            "OSTEO_CDS_METRICS_TOKEN": "bench",
            # the FHIR-fallback measurement uses a local sekmet-fhir over plain http on 127.0.0.1
            "OSTEO_CDS_ALLOW_HTTP_FHIR": "true",
        }

    def token(self, audience: str) -> str:
        return self.key.sign(claims_for(audience, ISSUER, lifetime=900))

    def header(self, audience: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(audience)}"}

    def file(self, audience: str, count: int) -> Path:
        """`count` distinct tokens, one per line, for wrk to use once each."""
        self._files += 1
        path = self.work / f"tokens-{self._files}.txt"
        started = time.perf_counter()
        path.write_text("\n".join(self.token(audience) for _ in range(count)) + "\n")
        if time.perf_counter() - started > 30:
            print(f"bench: signing {count} tokens took a while", flush=True)
        return path

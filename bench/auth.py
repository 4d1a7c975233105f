"""Credentials for the benchmark: the service runs in its production configuration (AUTH_MODE=required), so every
call carries an ES384 JWT signed for the exact endpoint URL, with a fresh jti (the replay cache refuses reuse).
The auth floor trusts the same client and expects the same audience, so one token file serves both."""

from __future__ import annotations

from pathlib import Path

import jwt

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
        self._pools = 0

    def service_env(self, public_base_url: str) -> dict[str, str]:
        return {
            "OSTEO_CDS_AUTH_MODE": "required",
            "OSTEO_CDS_PUBLIC_BASE_URL": public_base_url,
            "OSTEO_CDS_TRUSTED_CLIENTS": str(self.trusted),
            "OSTEO_CDS_METRICS_TOKEN": "bench",
            # the FHIR-fallback measurement uses a local sekmet-fhir over plain http on 127.0.0.1
            "OSTEO_CDS_ALLOW_HTTP_FHIR": "true",
        }

    def auth_floor_env(self, public_base_url: str, data_dir: Path) -> dict[str, str]:
        return {
            "BENCH_AUTH_TRUSTED_CLIENTS": str(self.trusted),
            "BENCH_AUTH_PUBLIC_BASE_URL": public_base_url,
            "BENCH_AUTH_DATA_DIR": str(data_dir),
        }

    def token(self, audience: str) -> str:
        # jwt.encode rather than SigningKey.sign: that records every token for the test suite's log scan, which
        # would hold hundreds of thousands of them here.
        return jwt.encode(
            claims_for(audience, ISSUER, lifetime=900),
            self.key.private_key,
            algorithm="ES384",
            headers={"typ": "JWT", "kid": self.key.kid},
        )

    def header(self, audience: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(audience)}"}

    def pool(self, audience: str) -> TokenPool:
        self._pools += 1
        return TokenPool(self, audience, self.work / f"tokens-{self._pools}.txt")


class TokenPool:
    """A file of distinct tokens for one audience, used in order across rounds: `offset` is where the next round
    starts, `ensure(n)` signs more (between measurements, never during one) so that n are left."""

    def __init__(self, factory: TokenFactory, audience: str, path: Path) -> None:
        self.factory, self.audience, self.path = factory, audience, path
        self.size = 0
        self.offset = 0
        path.write_text("")

    def ensure(self, needed: int) -> None:
        missing = self.offset + needed - self.size
        if missing <= 0:
            return
        with self.path.open("a") as out:
            out.writelines(self.factory.token(self.audience) + "\n" for _ in range(missing))
        self.size += missing

    def consume(self, used: int) -> None:
        self.offset += used

"""A CDS client's signing side for tests: keys generated per run, JWKS, and JWTs signed for an endpoint URL."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import yaml
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from testkit import traffic_secrets


@dataclass(frozen=True)
class SigningKey:
    kid: str
    algorithm: str
    private_key: EllipticCurvePrivateKey | RSAPrivateKey

    def public_jwk(self) -> dict[str, Any]:
        public = self.private_key.public_key()
        if isinstance(public, ec.EllipticCurvePublicKey):
            jwk = jwt.algorithms.ECAlgorithm.to_jwk(public, as_dict=True)
        else:
            jwk = jwt.algorithms.RSAAlgorithm.to_jwk(public, as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig"}

    def sign(
        self, claims: Mapping[str, Any], *, algorithm: str | None = None, headers: Mapping[str, Any] | None = None
    ) -> str:
        """A compact JWS; `headers` adds or overrides header parameters (None removes one, e.g. `kid` or `typ`)."""
        header = {"typ": "JWT", "kid": self.kid, **(headers or {})}
        if header["kid"] is None:
            del header["kid"]  # (a `typ` of None is removed by PyJWT itself, which otherwise adds "JWT")
        token = jwt.encode(dict(claims), self.private_key, algorithm=algorithm or self.algorithm, headers=header)
        traffic_secrets.register_jwt(token)
        return token


def generate_key(algorithm: str, kid: str | None = None) -> SigningKey:
    """A fresh key for ES256/ES384/ES512 or RS*/PS* (RSA-2048)."""
    kid = kid or f"{algorithm.lower()}-{uuid.uuid4()}"
    if algorithm.startswith("ES"):
        curve = {"ES256": ec.SECP256R1(), "ES384": ec.SECP384R1(), "ES512": ec.SECP521R1()}[algorithm]
        return SigningKey(kid, algorithm, ec.generate_private_key(curve))
    return SigningKey(kid, algorithm, rsa.generate_private_key(public_exponent=65537, key_size=2048))


def jwks(*keys: SigningKey) -> dict[str, Any]:
    return {"keys": [key.public_jwk() for key in keys]}


def claims_for(
    audience: str | list[str], issuer: str, *, lifetime: int = 300, issued_at: float | None = None, **extra: Any
) -> dict[str, Any]:
    """The claims a CDS client sends for one call to `audience` (the exact endpoint URL); `extra` adds or
    overrides claims, and a value of None removes that claim."""
    iat = int(issued_at if issued_at is not None else time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "iat": iat,
        "exp": iat + lifetime,
        "jti": str(uuid.uuid4()),
    }
    claims.update(extra)
    return {name: value for name, value in claims.items() if value is not None}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unsigned_token(header: Mapping[str, Any], claims: Mapping[str, Any], signature: bytes = b"") -> str:
    """A compact JWS assembled by hand, for attacks PyJWT refuses to produce (alg none, HS256 with a public key)."""
    return ".".join(
        (b64url(json.dumps(dict(header)).encode()), b64url(json.dumps(dict(claims)).encode()), b64url(signature))
    )


def write_trusted_clients(path: Path, clients: list[dict[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump({"clients": clients}, sort_keys=False), "utf-8")
    return path

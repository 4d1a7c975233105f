"""CDS client authentication (CDS Hooks 2.0 §Trusting CDS Clients).

`development`: every call is accepted (the app logs a loud warning at start and /readyz says so).
`required` (the production default): every call except health checks and CORS preflight must carry
`Authorization: Bearer <JWT>` signed by a trusted CDS client (see trusted_clients.py), for exactly the endpoint
called. Every failure answers the same 401 with no detail of which check failed; the log gets one line with the
reason code and the token's `iss`, `kid` and `jti` (never the token itself).

Reason codes (logs only): no-bearer-token, malformed-token, wrong-typ, untrusted-issuer, algorithm-not-allowed,
jku-not-allowed, unknown-kid, jwks-unavailable, bad-signature, expired, issued-in-future, not-yet-valid,
lifetime-too-long, wrong-audience, missing-claim, tenant-not-allowed, replayed-jti, replay-cache-unavailable.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from flask import Request

from cds_service.auth.jwks import KeyCache, KeyLookupError, VerificationKey
from cds_service.auth.replay import (
    InProcessReplayCache,
    RedisReplayCache,
    ReplayCache,
    ReplayCacheUnavailable,
    database_replay_cache,
    replay_database_url,
)
from cds_service.auth.trusted_clients import SANDBOX_ISSUER, TrustedClient, load_trusted_clients
from cds_service.config import PREFIX, ConfigError, Settings
from cds_service.errors import CdsError, Issue

log = logging.getLogger("osteo_cds.auth")

# The best practice is "no more than an hour"; a longer-lived token would outlive its jti in the replay cache.
MAX_TOKEN_LIFETIME_SECONDS = 3600
MAX_TOKEN_CHARS = 16_384  # the longest bearer token read; the HTTP server's header limits allow it (cli.py)
_JWS_COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"Bearer +(\S+)", re.IGNORECASE)  # the scheme is case-insensitive (RFC 7235)
_LOGGED_CHARS = 200
_SERVICE_FAULTS = frozenset({"replay-cache-unavailable", "jwks-unavailable"})

UNAUTHORIZED_ISSUES = (Issue("Authentication failed.", code="login"),)
UNAUTHORIZED_HEADERS = {"WWW-Authenticate": 'Bearer realm="osteo-cds"'}


def unauthorized() -> CdsError:
    """The one 401 answer for every failure: which check failed is for the log, never for the caller."""
    return CdsError(401, UNAUTHORIZED_ISSUES, headers=dict(UNAUTHORIZED_HEADERS))


class AuthFailure(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Authenticator:
    def __init__(
        self,
        settings: Settings,
        clients: Mapping[str, TrustedClient] | None = None,
        keys: KeyCache | None = None,
        replay_cache: ReplayCache | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.clients: Mapping[str, TrustedClient] = clients or {}
        self.keys = keys or KeyCache(self.clients)
        self.replay_cache: ReplayCache = replay_cache or InProcessReplayCache()
        self.wall_clock = wall_clock

    @classmethod
    def from_settings(cls, settings: Settings) -> Authenticator:
        """Build the authenticator for `settings`; in required mode a missing or bad configuration is a ConfigError
        naming the variable, so the service refuses to start rather than refusing every call."""
        if settings.development:
            return cls(settings)
        if settings.public_base_url is None:
            raise ConfigError(
                f"{PREFIX}PUBLIC_BASE_URL must be set when {PREFIX}AUTH_MODE is 'required': the "
                "expected JWT `aud` is computed from it (e.g. https://cds.example.org)"
            )
        if settings.trusted_clients is None:
            raise ConfigError(
                f"{PREFIX}TRUSTED_CLIENTS must be set when {PREFIX}AUTH_MODE is 'required': the path "
                "of the YAML file listing trusted CDS clients"
            )
        clients = load_trusted_clients(settings.trusted_clients)
        replay_cache: ReplayCache = (
            RedisReplayCache(settings.redis_url)
            if settings.redis_url
            else database_replay_cache(replay_database_url(settings.database_url))
        )
        return cls(settings, clients, KeyCache(clients), replay_cache)

    def check(self, request: Request, audience_path: str) -> None:
        """Raise the 401 CdsError unless the request may proceed. `audience_path` is the endpoint path called."""
        if self.settings.development:
            return
        fields: dict[str, Any] = {}
        try:
            self._verify(
                request.headers.get("Authorization"), f"{self.settings.public_base_url}{audience_path}", fields
            )
        except AuthFailure as failure:
            # The service's own problems are errors for the operator; a refused token is routine.
            level = logging.ERROR if failure.reason in _SERVICE_FAULTS else logging.INFO
            log.log(level, "authentication failed", extra={"event": "auth", "reason": failure.reason, **fields})
            raise unauthorized() from None
        log.debug("authenticated", extra={"event": "auth", **fields})

    def warnings(self) -> tuple[str, ...]:
        """Configuration that works but must not reach production: logged at start-up, and deliberately not shown
        by the unauthenticated /readyz, which would tell anyone that sandbox-signed tokens are accepted here."""
        if any(issuer.rstrip("/") == SANDBOX_ISSUER for issuer in self.clients):
            return (
                "TRUSTED_CLIENTS trusts the public CDS Hooks sandbox, whose private key is published: anyone can "
                "mint tokens this service accepts; never in production",
            )
        return ()

    def ready(self) -> str | None:
        """None when authentication can work, else what is wrong (for /readyz)."""
        if self.settings.development:
            return None
        try:
            self.replay_cache.ping()
        except ReplayCacheUnavailable:
            return "The JWT replay cache is not reachable."
        return None

    def close(self) -> None:
        self.keys.close()
        self.replay_cache.close()

    def _verify(self, authorization: str | None, expected_audience: str, fields: dict[str, Any]) -> None:
        token = _bearer_token(authorization)
        try:
            peeked = jwt.decode_complete(token, options={"verify_signature": False})  # header and claims, one parse
        except jwt.PyJWTError:
            raise AuthFailure("malformed-token") from None
        header: dict[str, Any] = peeked["header"]  # PyJWT refuses a header or claims set that is not an object
        unverified: dict[str, Any] = peeked["payload"]
        # Only for choosing the client and key, and for the log: nothing here is trusted until the signature is.
        for name, value in (
            ("iss", unverified.get("iss")),
            ("kid", header.get("kid")),
            ("jti", unverified.get("jti")),
            ("tenant", unverified.get("tenant")),
        ):
            if (loggable := _loggable(value)) is not None:
                fields[name] = loggable

        typ = header.get("typ")
        if not isinstance(typ, str) or typ.upper() != "JWT":
            raise AuthFailure("wrong-typ")
        issuer = unverified.get("iss")
        if not isinstance(issuer, str):
            raise AuthFailure("missing-claim")
        client = self.clients.get(issuer)
        if client is None:
            raise AuthFailure("untrusted-issuer")
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm not in client.algorithms:
            raise AuthFailure("algorithm-not-allowed")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthFailure("unknown-kid")
        jku = header.get("jku")
        if jku is not None and not isinstance(jku, str):
            raise AuthFailure("jku-not-allowed")
        try:
            key = self.keys.key_for(client, kid, jku)
        except KeyLookupError as exc:
            raise AuthFailure(exc.reason) from None
        if not _key_fits(key, algorithm):
            raise AuthFailure("algorithm-not-allowed")

        claims = self._decode(token, key, algorithm, expected_audience, issuer, unverified)
        now = self.wall_clock()
        leeway = self.settings.jwt_leeway
        if not isinstance(claims.get("iat"), int | float) or claims["iat"] > now + leeway:
            raise AuthFailure("issued-in-future")  # PyJWT checks this too; explicit because the spec requires it
        if claims["exp"] > now + MAX_TOKEN_LIFETIME_SECONDS + leeway:
            raise AuthFailure("lifetime-too-long")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti or len(jti) > 512:
            raise AuthFailure("missing-claim")
        if client.tenants and claims.get("tenant") not in client.tenants:
            raise AuthFailure("tenant-not-allowed")
        ttl = min(max(1, int(claims["exp"] - now) + leeway), MAX_TOKEN_LIFETIME_SECONDS + 2 * leeway)
        try:
            first_use = self.replay_cache.first_use(issuer, jti, ttl)
        except ReplayCacheUnavailable:
            raise AuthFailure("replay-cache-unavailable") from None
        if not first_use:
            raise AuthFailure("replayed-jti")

    def _decode(
        self,
        token: str,
        key: VerificationKey,
        algorithm: str,
        audience: str,
        issuer: str,
        unverified: Mapping[str, Any],
    ) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                key.key,
                algorithms=[algorithm],
                audience=audience,
                issuer=issuer,
                leeway=self.settings.jwt_leeway,
                options={"require": ["exp", "iat", "iss", "aud", "jti"], "verify_signature": True},
            )
        except jwt.InvalidSignatureError:
            raise AuthFailure("bad-signature") from None
        except jwt.ExpiredSignatureError:
            raise AuthFailure("expired") from None
        except jwt.ImmatureSignatureError:
            # Raised for both a future `nbf` and a future `iat` (the signature has already been verified).
            nbf = unverified.get("nbf")
            future_nbf = isinstance(nbf, int | float) and nbf > self.wall_clock() + self.settings.jwt_leeway
            raise AuthFailure("not-yet-valid" if future_nbf else "issued-in-future") from None
        except jwt.MissingRequiredClaimError:
            raise AuthFailure("missing-claim") from None
        except jwt.InvalidAudienceError:
            raise AuthFailure("wrong-audience") from None
        except jwt.InvalidIssuerError:
            raise AuthFailure("untrusted-issuer") from None
        except jwt.InvalidAlgorithmError:
            raise AuthFailure("algorithm-not-allowed") from None
        except (jwt.PyJWTError, ValueError, TypeError):
            raise AuthFailure("malformed-token") from None


def _bearer_token(authorization: str | None) -> str:
    if not authorization or not authorization[:7].lower().startswith("bearer"):
        raise AuthFailure("no-bearer-token")
    match = _BEARER.fullmatch(authorization.strip())
    if match is None or len(match.group(1)) > MAX_TOKEN_CHARS or not _JWS_COMPACT.fullmatch(match.group(1)):
        raise AuthFailure("malformed-token")
    return match.group(1)


def _key_fits(key: VerificationKey, algorithm: str) -> bool:
    """The key's type (and curve) must match the algorithm, and a JWK naming its `alg` may only be used with it."""
    if key.algorithm is not None and key.algorithm != algorithm:
        return False
    if algorithm.startswith(("RS", "PS")):
        return isinstance(key.key, RSAPublicKey)
    curves = {"ES256": "secp256r1", "ES384": "secp384r1", "ES512": "secp521r1"}
    return isinstance(key.key, EllipticCurvePublicKey) and key.key.curve.name == curves.get(algorithm)


def _loggable(value: Any) -> str | None:
    """A short printable string from the unverified token, for the log; anything else is left out."""
    if not isinstance(value, str) or not value.isprintable():
        return None
    return value[:_LOGGED_CHARS]

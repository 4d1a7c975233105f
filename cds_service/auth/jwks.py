"""Public keys of trusted CDS clients, cached per key source with a TTL so a key rotation works without a restart.

A key source is the client's configured JWKS (inline, a file or a URL) or, when none is configured, the token's
`jku` if it is exactly on that client's allowlist. A `jku` not on the allowlist is refused before anything is
fetched: a URL taken from an unauthenticated token must never make this service send a request (SSRF).

An unknown `kid` triggers a refetch, but a source is fetched at most once per `min_refetch_interval_seconds`, so
tokens with made-up kids cannot make the service hammer a client's JWKS endpoint. If a refresh fails, the last good
keys stay usable for one more TTL, then calls are refused until a fetch succeeds.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from cds_service.json_body import parse_json

if TYPE_CHECKING:
    from cds_service.auth.trusted_clients import TrustedClient

log = logging.getLogger("osteo_cds.auth")

PublicKey = RSAPublicKey | EllipticCurvePublicKey
JwksFetcher = Callable[[str], Any]  # URL -> the parsed JSON document; raises JwksFetchError

_MAX_JWKS_BYTES = 256 * 1024


class JwksFetchError(Exception):
    """A JWKS could not be fetched or read. The message names the failure, never a key or a token."""


class KeyLookupError(Exception):
    """No usable key for a token; `reason` is the log reason code (unknown-kid, jku-not-allowed, jwks-unavailable)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class VerificationKey:
    kid: str
    key: PublicKey
    algorithm: str | None = None  # the JWK's `alg`, when it names one: then only that algorithm may use the key


def parse_jwks(document: Any, *, strict: bool) -> dict[str, VerificationKey]:
    """Public signing keys by kid. `strict` (configuration): any unusable key is an error (ValueError, naming the
    key by index and kid). Otherwise (a fetched set): unusable keys are skipped and the rest are kept."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWK Set ({keys: [...]})")
    keys: dict[str, VerificationKey] = {}
    for index, jwk in enumerate(document["keys"]):
        try:
            key = _verification_key(jwk)
        except ValueError as exc:
            if strict:
                raise ValueError(f"keys[{index}]: {exc}") from None
            continue
        if key.kid in keys:
            if strict:
                raise ValueError(f"keys[{index}]: kid {key.kid} appears twice")
            continue
        keys[key.kid] = key
    if strict and not keys:
        raise ValueError("the JWK Set holds no keys")
    return keys


def _verification_key(jwk: Any) -> VerificationKey:
    if not isinstance(jwk, dict):
        raise ValueError("not a JWK object")
    kid = jwk.get("kid")
    if not isinstance(kid, str) or not kid:
        raise ValueError("no kid")
    if jwk.get("kty") not in ("EC", "RSA"):
        raise ValueError(f"kid {kid}: kty must be EC or RSA")
    if any(member in jwk for member in ("d", "p", "q", "dp", "dq", "qi")):
        raise ValueError(
            f"kid {kid} is a PRIVATE key; configure only the client's public key, and treat this "
            "private key as compromised"
        )
    if jwk.get("use", "sig") != "sig":
        raise ValueError(f"kid {kid}: use is not 'sig'")
    algorithm = jwk.get("alg")
    if algorithm is not None and not isinstance(algorithm, str):
        raise ValueError(f"kid {kid}: alg must be a string")
    try:
        public_key = jwt.PyJWK(dict(jwk)).key
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise ValueError(f"kid {kid}: not a usable public key ({type(exc).__name__})") from None
    if not isinstance(public_key, RSAPublicKey | EllipticCurvePublicKey):
        raise ValueError(f"kid {kid}: not an RSA or EC public key")
    return VerificationKey(kid, public_key, algorithm)


class HttpJwksFetcher:
    """GET a JWKS with a short timeout: no redirects, no proxy or netrc settings from the environment, size-capped."""

    def __init__(self, timeout: float = 2.0) -> None:
        self.timeout = timeout
        self.session = requests.Session()
        self.session.trust_env = False

    def __call__(self, url: str) -> Any:
        try:
            with self.session.get(
                url,
                timeout=self.timeout,
                allow_redirects=False,
                stream=True,
                headers={"Accept": "application/jwk-set+json, application/json"},
            ) as response:
                if response.status_code != 200:
                    raise JwksFetchError(f"HTTP {response.status_code}")
                body = response.raw.read(_MAX_JWKS_BYTES + 1, decode_content=True)
        except requests.RequestException as exc:
            raise JwksFetchError(type(exc).__name__) from None
        if len(body) > _MAX_JWKS_BYTES:
            raise JwksFetchError("JWKS larger than 256 KiB")
        try:
            return parse_json(body)  # JsonRejected is a ValueError: also deep nesting and repeated names
        except ValueError:
            raise JwksFetchError("JWKS is not JSON") from None

    def close(self) -> None:
        self.session.close()


@dataclass
class _CachedKeys:
    keys: dict[str, VerificationKey] = field(default_factory=dict)
    fetched_at: float | None = None  # last successful fetch
    attempted_at: float | None = None  # last fetch attempt, successful or not
    lock: threading.Lock = field(default_factory=threading.Lock)


class KeyCache:
    """Finds the verification key for (client, kid, jku). Thread-safe; `clock` is monotonic seconds (injectable)."""

    def __init__(
        self,
        clients: Mapping[str, TrustedClient],
        fetch: JwksFetcher | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.fetch: JwksFetcher = fetch or HttpJwksFetcher()
        self.clock = clock
        self._pinned = {
            issuer: parse_jwks(client.jwks, strict=True)
            for issuer, client in clients.items()
            if client.jwks is not None
        }
        self._cached: dict[str, _CachedKeys] = {}
        self._lock = threading.Lock()

    def key_for(self, client: TrustedClient, kid: str, jku: str | None) -> VerificationKey:
        if jku is not None and jku not in client.jku_allowlist:
            raise KeyLookupError("jku-not-allowed")  # refused before any request is made
        if client.jwks is not None:
            key = self._pinned[client.issuer].get(kid)
            if key is None:
                raise KeyLookupError("unknown-kid")
            return key
        if client.jwks_url is not None:
            source, load = client.jwks_url, lambda: self.fetch(client.jwks_url)
        elif client.jwks_file is not None:
            source, load = f"file:{client.jwks_file}", lambda: _read_jwks_file(client)
        elif jku is not None:
            source, load = jku, lambda: self.fetch(jku)
        else:
            raise KeyLookupError("unknown-kid")  # keys only via jku, and the token names none
        return self._cached_key(client, f"{client.issuer}\n{source}", load, kid)

    def _cached_key(self, client: TrustedClient, source: str, load: Callable[[], Any], kid: str) -> VerificationKey:
        with self._lock:
            entry = self._cached.setdefault(source, _CachedKeys())
        with entry.lock:
            now = self.clock()
            attempted = False
            if entry.fetched_at is None or now - entry.fetched_at >= client.jwks_ttl_seconds:
                attempted = self._refresh(client, entry, load, now)
            if kid not in entry.keys and not attempted:
                self._refresh(client, entry, load, now)  # an unknown kid may be a rotation: one refetch, rate-limited
            if entry.fetched_at is not None and now - entry.fetched_at >= 2 * client.jwks_ttl_seconds:
                entry.keys = {}  # stale beyond one extra TTL: a removed (revoked) key must stop working
            key = entry.keys.get(kid)
        if key is None:
            raise KeyLookupError("unknown-kid" if entry.keys else "jwks-unavailable")
        return key

    def _refresh(self, client: TrustedClient, entry: _CachedKeys, load: Callable[[], Any], now: float) -> bool:
        """Fetch the source unless the rate limit forbids it; True when a fetch was attempted."""
        if entry.attempted_at is not None and now - entry.attempted_at < client.min_refetch_interval_seconds:
            return False
        entry.attempted_at = now
        try:
            keys = parse_jwks(load(), strict=False)
        except (JwksFetchError, ValueError) as exc:
            log.warning(
                "JWKS fetch failed",
                extra={
                    "event": "jwks",
                    "reason": "jwks-fetch-failed",
                    "iss": client.issuer,
                    "error_type": type(exc).__name__,
                },
            )
            return True
        entry.keys = keys
        entry.fetched_at = now
        log.info("JWKS fetched", extra={"event": "jwks", "iss": client.issuer})
        return True

    def close(self) -> None:
        close = getattr(self.fetch, "close", None)
        if close is not None:
            close()


def _read_jwks_file(client: TrustedClient) -> Any:
    if client.jwks_file is None:
        raise JwksFetchError("no jwks_file")
    try:
        return json.loads(client.jwks_file.read_text("utf-8"))
    except OSError as exc:
        raise JwksFetchError(type(exc).__name__) from None

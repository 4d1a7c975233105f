"""The CDS clients this service trusts, read once at start-up from the YAML file named by OSTEO_CDS_TRUSTED_CLIENTS.

Format (a top-level list, or a mapping with a `clients` list):

    clients:
      - issuer: https://ehr.example.org/fhir        # the exact `iss` the client sends
        jwks_url: https://ehr.example.org/jwks.json  # or `jwks: {keys: [...]}` inline, or `jwks_file: path`
        jku_allowlist: [https://ehr.example.org/jwks.json]
        algorithms: [RS384]                          # default [ES384, RS384]; never `none` or HS*
        tenants: [org-1]                             # optional; when set, `tenant` must be one of these
        jwks_ttl_seconds: 300                        # how long fetched keys are trusted before a refetch
        min_refetch_interval_seconds: 60             # at most one refetch per interval on an unknown `kid`

Keys come from the configured JWKS (`jwks`, `jwks_file` or `jwks_url`) when there is one; otherwise from the
token's `jku`, which must be exactly on `jku_allowlist`. A `jku` in a token is always checked against the allowlist,
and a URL not on it is never fetched. Every problem is a ConfigError naming the file, the client and the field.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from cds_service.auth.jwks import parse_jwks
from cds_service.config import PREFIX, ConfigError

# Asymmetric JWS algorithms this service can verify. The spec forbids `none` and HMAC (a shared secret would let
# the service, or anyone holding the config, mint tokens); ES384 and RS384 are the recommended defaults.
SUPPORTED_ALGORITHMS = frozenset({"ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
DEFAULT_ALGORITHMS = ("ES384", "RS384")
# The public CDS Hooks sandbox publishes its private signing key: anyone can mint tokens for this issuer.
SANDBOX_ISSUER = "https://sandbox.cds-hooks.org"
DEFAULT_JWKS_TTL_SECONDS = 300
DEFAULT_MIN_REFETCH_INTERVAL_SECONDS = 60
_FIELDS = frozenset(
    {
        "issuer",
        "jwks",
        "jwks_file",
        "jwks_url",
        "jku_allowlist",
        "algorithms",
        "tenants",
        "jwks_ttl_seconds",
        "min_refetch_interval_seconds",
    }
)


@dataclass(frozen=True)
class TrustedClient:
    issuer: str
    jwks: Mapping[str, Any] | None = None  # inline public JWK Set
    jwks_file: Path | None = None
    jwks_url: str | None = None
    jku_allowlist: tuple[str, ...] = ()
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    tenants: tuple[str, ...] = ()  # empty: any tenant, or none
    jwks_ttl_seconds: int = DEFAULT_JWKS_TTL_SECONDS
    min_refetch_interval_seconds: int = DEFAULT_MIN_REFETCH_INTERVAL_SECONDS

    @property
    def has_configured_keys(self) -> bool:
        return self.jwks is not None or self.jwks_file is not None or self.jwks_url is not None


def load_trusted_clients(path: Path) -> dict[str, TrustedClient]:
    """Read and validate the trusted-clients file; the result maps each issuer to its client."""
    where = f"{PREFIX}TRUSTED_CLIENTS file {path}"
    try:
        document = yaml.safe_load(path.read_text("utf-8"))
    except OSError as exc:
        raise ConfigError(f"{where} cannot be read ({type(exc).__name__})") from None
    except yaml.YAMLError as exc:
        # The problem and its position only: the parser's own message quotes file lines, which may hold keys.
        mark = getattr(exc, "problem_mark", None)
        position = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ConfigError(
            f"{where} is not valid YAML{position}: {getattr(exc, 'problem', None) or 'syntax error'}"
        ) from None
    entries = document.get("clients") if isinstance(document, dict) else document
    if isinstance(document, dict) and set(document) != {"clients"}:
        raise ConfigError(f"{where}: the only top-level key allowed is 'clients'")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{where} must list at least one client (a list, or a mapping with a 'clients' list)")
    clients: dict[str, TrustedClient] = {}
    for index, entry in enumerate(entries):
        client = _client(entry, f"{where}: clients[{index}]", path.parent)
        if client.issuer in clients:
            raise ConfigError(f"{where}: issuer {client.issuer!r} is listed twice")
        clients[client.issuer] = client
    return clients


def _client(entry: Any, where: str, base_dir: Path) -> TrustedClient:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where} must be a mapping")
    unknown = sorted(set(map(str, entry)) - _FIELDS)
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_FIELDS))}")
    issuer = entry.get("issuer")
    if not isinstance(issuer, str) or not issuer.strip():
        raise ConfigError(f"{where}.issuer must be a non-empty string (the `iss` the client sends)")
    where = f"{where} (issuer {issuer})"

    sources = [name for name in ("jwks", "jwks_file", "jwks_url") if entry.get(name) is not None]
    if len(sources) > 1:
        raise ConfigError(f"{where}: give only one of jwks, jwks_file, jwks_url (found {', '.join(sources)})")
    jku_allowlist = tuple(
        _url(u, f"{where}.jku_allowlist[{i}]") for i, u in enumerate(_list(entry, "jku_allowlist", where))
    )
    if not sources and not jku_allowlist:
        raise ConfigError(f"{where}: no keys; give jwks, jwks_file or jwks_url, or a jku_allowlist")

    jwks = None
    jwks_file = None
    jwks_url = None
    if entry.get("jwks") is not None:
        jwks = entry["jwks"]
        check_public_jwks(jwks, f"{where}.jwks")
    elif entry.get("jwks_file") is not None:
        if not isinstance(entry["jwks_file"], str):
            raise ConfigError(f"{where}.jwks_file must be a path (relative to the trusted-clients file)")
        jwks_file = base_dir / entry["jwks_file"]
        try:
            document = json.loads(jwks_file.read_text("utf-8"))
        except OSError as exc:
            raise ConfigError(f"{where}.jwks_file {jwks_file} cannot be read ({type(exc).__name__})") from None
        except ValueError:
            raise ConfigError(f"{where}.jwks_file {jwks_file} is not JSON") from None
        check_public_jwks(document, f"{where}.jwks_file {jwks_file}")
    elif entry.get("jwks_url") is not None:
        jwks_url = _url(entry["jwks_url"], f"{where}.jwks_url")

    algorithms = tuple(_list(entry, "algorithms", where)) or DEFAULT_ALGORITHMS
    for algorithm in algorithms:
        if not isinstance(algorithm, str) or algorithm not in SUPPORTED_ALGORITHMS:
            why = (
                "symmetric and unkeyed algorithms are forbidden by the CDS Hooks spec"
                if isinstance(algorithm, str) and (algorithm.lower() == "none" or algorithm.upper().startswith("HS"))
                else "not a supported asymmetric algorithm"
            )
            raise ConfigError(
                f"{where}.algorithms: {algorithm!r} is refused ({why}); "
                f"use some of {', '.join(sorted(SUPPORTED_ALGORITHMS))}"
            )

    tenants = tuple(_list(entry, "tenants", where))
    if not all(isinstance(t, str) and t for t in tenants):
        raise ConfigError(f"{where}.tenants must be a list of non-empty strings")

    ttl = _seconds(entry, "jwks_ttl_seconds", DEFAULT_JWKS_TTL_SECONDS, where, minimum=1)
    min_refetch_interval = _seconds(
        entry, "min_refetch_interval_seconds", DEFAULT_MIN_REFETCH_INTERVAL_SECONDS, where, minimum=0
    )
    if min_refetch_interval > ttl:
        # Otherwise keys could expire while a refetch is still forbidden, refusing every call in between.
        raise ConfigError(f"{where}: min_refetch_interval_seconds must not exceed jwks_ttl_seconds")

    return TrustedClient(
        issuer=issuer,
        jwks=jwks,
        jwks_file=jwks_file,
        jwks_url=jwks_url,
        jku_allowlist=jku_allowlist,
        algorithms=algorithms,
        tenants=tenants,
        jwks_ttl_seconds=ttl,
        min_refetch_interval_seconds=min_refetch_interval,
    )


def check_public_jwks(document: Any, where: str) -> None:
    """A JWK Set of usable public signing keys, each with a unique `kid`; a private key here is a leaked secret."""
    try:
        parse_jwks(document, strict=True)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _list(entry: Mapping[str, Any], name: str, where: str) -> list[Any]:
    value = entry.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(f"{where}.{name} must be a list")
    return value


def _url(value: Any, where: str) -> str:
    """An https URL; plain http only for loopback hosts (local tests and development)."""
    if not isinstance(value, str):
        raise ConfigError(f"{where} must be a URL string")
    parts = urlsplit(value)
    if parts.scheme == "https" and parts.hostname:
        return value
    if parts.scheme == "http" and parts.hostname and _is_loopback(parts.hostname):
        return value
    raise ConfigError(f"{where}: {value!r} must be an https URL (http only for 127.0.0.1 or localhost)")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _seconds(entry: Mapping[str, Any], name: str, default: int, where: str, *, minimum: int) -> int:
    value = entry.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= 86_400:
        raise ConfigError(f"{where}.{name} must be a whole number of seconds between {minimum} and 86400")
    return value

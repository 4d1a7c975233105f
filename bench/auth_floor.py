"""The auth floor: the least a conformant CDS service can do with a hook call, under the same gunicorn settings.

It verifies the caller's ES384 JWT the way the service does — the key found by `kid` in the trusted clients'
JWKS (the same trusted-clients file the service reads), signature, `iss`, `aud` (the exact endpoint URL), `exp`,
`iat` and `jti` required — records the `jti` with one atomic primary-key insert into SQLite (WAL, the service's
default replay store and pragmas), reads and parses the JSON body, and answers `{"cards": []}`. Everything
beyond this is what the service adds. Written on plain PyJWT and sqlite3, independent of the service's code,
so that making the service faster cannot move the floor.

Run as `gunicorn ... 'bench.auth_floor:create_app()'`, configured by environment variables (set by bench.run):
BENCH_AUTH_TRUSTED_CLIENTS (path of the YAML file), BENCH_AUTH_PUBLIC_BASE_URL (the audience is this plus the
request path), BENCH_AUTH_DATA_DIR (where the replay database goes).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import jwt
import yaml
from flask import Flask, Response, request

MAX_LIFETIME_SECONDS = 3600
_UNAUTHORIZED = json.dumps(
    {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "login", "diagnostics": "Authentication failed."}],
    }
)


def load_keys(path: Path) -> dict[str, tuple[str, jwt.PyJWK, tuple[str, ...]]]:
    """kid → (issuer, public key, allowed algorithms) from a trusted-clients file with inline JWKS."""
    document = yaml.safe_load(path.read_text("utf-8"))
    clients = document["clients"] if isinstance(document, dict) else document
    keys: dict[str, tuple[str, jwt.PyJWK, tuple[str, ...]]] = {}
    for client in clients:
        if "jwks" not in client:
            raise ValueError(f"{path}: the auth floor reads inline `jwks` only (client {client.get('issuer')})")
        algorithms = tuple(client.get("algorithms") or ("ES384", "RS384"))
        for key in jwt.PyJWKSet.from_dict(client["jwks"]).keys:
            keys[key.key_id] = (client["issuer"], key, algorithms)
    return keys


class ReplayStore:
    """(iss, jti) digests in SQLite; one connection per thread; the insert is the atomic check."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._connection().execute(
            "CREATE TABLE IF NOT EXISTS jti_seen (key TEXT PRIMARY KEY, expires_at REAL NOT NULL)"
        )

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("PRAGMA busy_timeout=10000")
            self._local.connection = connection
        return connection

    def first_use(self, issuer: str, jti: str, expires_at: float) -> bool:
        key = hashlib.sha256(f"{issuer}\n{jti}".encode()).hexdigest()
        cursor = self._connection().execute(
            "INSERT INTO jti_seen (key, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING", (key, expires_at)
        )
        return cursor.rowcount == 1


class AuthFailure(Exception):
    pass


class Verifier:
    def __init__(self, trusted_clients: Path, public_base_url: str, data_dir: Path) -> None:
        self.keys = load_keys(trusted_clients)
        self.public_base_url = public_base_url.rstrip("/")
        self.replay = ReplayStore(data_dir / "auth-floor-replay.db")

    def verify(self, authorization: str | None, path: str) -> None:
        if not authorization or not authorization.lower().startswith("bearer "):
            raise AuthFailure("no-bearer-token")
        token = authorization[7:].strip()
        try:
            header = jwt.get_unverified_header(token)
            found = self.keys.get(header.get("kid"))
            if found is None or header.get("alg") not in found[2]:
                raise AuthFailure("unknown-kid")
            issuer, key, _ = found
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[header["alg"]],
                audience=self.public_base_url + path,
                issuer=issuer,
                options={"require": ["exp", "iat", "iss", "aud", "jti"]},
            )
        except jwt.PyJWTError:
            raise AuthFailure("invalid-token") from None
        if claims["exp"] > time.time() + MAX_LIFETIME_SECONDS:
            raise AuthFailure("lifetime-too-long")
        if not self.replay.first_use(issuer, str(claims["jti"]), float(claims["exp"])):
            raise AuthFailure("replayed-jti")


def create_app(environ: dict[str, str] | None = None) -> Flask:
    env = os.environ if environ is None else environ
    verifier = Verifier(
        Path(env["BENCH_AUTH_TRUSTED_CLIENTS"]), env["BENCH_AUTH_PUBLIC_BASE_URL"], Path(env["BENCH_AUTH_DATA_DIR"])
    )
    app = Flask(__name__)

    @app.post("/cds-services/<service_id>")
    def hook(service_id: str) -> Response:
        try:
            verifier.verify(request.headers.get("Authorization"), request.path)
        except AuthFailure:
            request.get_data()  # read the body, so gunicorn keeps the connection (as the service does)
            return Response(_UNAUTHORIZED, status=401, mimetype="application/fhir+json")
        body: Any = json.loads(request.get_data())
        del body
        return Response('{"cards":[]}', mimetype="application/json")

    @app.get("/healthz")
    def healthz() -> Response:
        return Response('{"status":"ok"}', mimetype="application/json")

    return app

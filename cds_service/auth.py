"""CDS client authentication.

`development`: every call is accepted (the app logs a loud warning at start and /readyz says so).
`required` (the production default): every call except health checks and CORS preflight must carry
`Authorization: Bearer <JWT>` from a trusted CDS client. Failures answer 401 with no detail of which check failed.
"""

from __future__ import annotations

import logging

from flask import Request

from cds_service.config import Settings
from cds_service.errors import CdsError, Issue

log = logging.getLogger("osteo_cds.auth")

UNAUTHORIZED = CdsError(
    401,
    [Issue("Authentication failed.", code="login")],
    headers={"WWW-Authenticate": 'Bearer realm="osteo-cds"'},
)


class Authenticator:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def check(self, request: Request, audience_path: str) -> None:
        """Raise the 401 CdsError unless the request may proceed. `audience_path` is the endpoint path called."""
        if self.settings.development:
            return
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            log.info("authentication failed", extra={"event": "auth", "reason": "no-bearer-token"})
            raise UNAUTHORIZED
        # JWT verification against trusted clients is configured separately; without it nothing is trusted.
        log.info("authentication failed", extra={"event": "auth", "reason": "no-trusted-clients"})
        raise UNAUTHORIZED

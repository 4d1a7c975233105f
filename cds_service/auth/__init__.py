"""Who may call the service: bearer-JWT authentication of CDS clients (CDS Hooks 2.0 §Trusting CDS Clients).

`authenticator` checks each call; `trusted_clients` loads who is trusted; `jwks` fetches and caches their keys;
`replay` remembers seen token ids. The edge imports only what is re-exported here.
"""

from cds_service.auth.authenticator import MAX_TOKEN_CHARS, Authenticator, unauthorized

__all__ = ["MAX_TOKEN_CHARS", "Authenticator", "unauthorized"]

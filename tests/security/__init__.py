"""Issue 7: CDS client authentication (JWT), replay protection, secrets and PHI hygiene."""

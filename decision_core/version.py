"""Which rule set the core implements: its own version and the decision table revision it follows.

Bump RULE_SET_VERSION whenever what a rule decides changes (the catalog page shows both, so a CDS committee can tie
its approval minutes to one rule set)."""

from __future__ import annotations

RULE_SET_VERSION = "2.0.0"
TABLE_REVISION = 2
TABLE_REVISION_DATE = "2026-12"  # decision table "Revision 2 (2026-12)"

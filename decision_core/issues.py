"""Problems the core itself finds while reading facts (they join the extraction's DataIssues in DATA-03)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CoreIssue:
    item: str  # what, for a clinician
    reason: str  # why it could not be used
    record: str | None = None
    affects: tuple[str, ...] = ()  # rule ids that treated it as missing

    def as_value(self) -> dict[str, object]:
        return {"item": self.item, "reason": self.reason, "record": self.record, "affects": self.affects}

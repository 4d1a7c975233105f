"""Draft orders of an order-select / order-sign call, as the order rules (ORD-01 ... ORD-11) read them.

Plain frozen values, no FHIR: `fhir_mappings.orders` reads the hook's `draftOrders` Bundle into these (leniently,
decision table §10). A draft keeps the reference it was sent with ("MedicationRequest/request-123") so a card can
name it and offer to delete it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from .facts import DrugClass


class DraftKind(StrEnum):
    MEDICATION = "medication"  # a bone drug or a systemic glucocorticoid the order rules cover
    NOT_COVERED = "not-covered"  # another drug, another request type, or a non-systemic glucocorticoid: no card
    EMPTY = "empty"  # no medication chosen yet (order-select fires once with an empty draft)
    UNREADABLE = "unreadable"  # names a covered drug, or is not a readable request at all: the service says so


class DraftStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"  # a re-signed (revised) order
    ENDING = "ending"  # stopped / cancelled / on-hold / completed, or doNotPerform: the order ends the drug
    OTHER = "other"  # entered-in-error, unknown, or no status: read as a new order


@dataclass(frozen=True, slots=True)
class DraftOrder:
    reference: str | None  # "MedicationRequest/request-123"; None when the draft has no id (cannot be deleted)
    resource_type: str
    kind: DraftKind
    status: DraftStatus
    sent_status: str | None  # the status as sent ("draft", "stopped", ...), or "do-not-perform"
    selected: bool  # named in order-select's context.selections (always True at order-sign)
    display: str  # the order as the clinician named it, e.g. "Alendronic acid 70 MG Oral Tablet"
    drug_class: DrugClass | None = None
    drug: str | None = None  # ingredient, lower case, e.g. "alendronate"
    product: str | None = None  # brand, e.g. "Prolia", when the order names one
    oncology: bool = False  # Xgeva / Zometa: same class for the safety rules, not the osteoporosis regimen
    matched_by_name: bool = False  # recognised by name, not by a listed code (§1.1)
    route: str | None = None
    prednisone_eq_mg_per_day: Decimal | None = None  # systemic glucocorticoids (C-07)
    dose_problem: str | None = None  # why the daily dose could not be read
    planned_days: int | None = None  # from boundsPeriod / boundsDuration / supply duration x (1 + repeats)
    start: date | None = None  # boundsPeriod.start, else authoredOn
    problem: str | None = None  # UNREADABLE: why the order could not be checked, in words a card can quote

    @property
    def ends_drug(self) -> bool:
        return self.status is DraftStatus.ENDING

    @property
    def label(self) -> str:
        """How a card names the draft: its reference, or its name when it has no id."""
        return self.reference or f"the {self.display} order (no id)"

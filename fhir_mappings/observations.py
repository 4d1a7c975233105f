"""Plain views of Observation values (quantity, codes, texts), built from a validated R4B model."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from fhir_mappings.fhir_json import Coding, codings, decimal_or_none, texts, to_date


@dataclass(frozen=True, slots=True)
class Qty:
    value: Decimal | None
    unit: str | None = None  # human unit text as sent
    code: str | None = None  # UCUM code as sent
    system: str | None = None
    comparator: str | None = None

    @property
    def shown_unit(self) -> str | None:
        return self.unit or self.code


def qty(q: Any) -> Qty | None:
    if q is None:
        return None
    return Qty(
        value=decimal_or_none(q.value),
        unit=(q.unit or None),
        code=(q.code or None),
        system=q.system,
        comparator=q.comparator,
    )


@dataclass(frozen=True, slots=True)
class ObsPart:
    """The observation itself or one of its components."""

    codings: tuple[Coding, ...]
    code_texts: tuple[str, ...]
    value: Qty | None
    value_codings: tuple[Coding, ...]
    value_texts: tuple[str, ...]
    value_bool: bool | None
    data_absent: bool = False  # dataAbsentReason given: no value on purpose (e.g. not performed)


@dataclass(frozen=True, slots=True)
class ObsView:
    record: str
    status: str
    effective: date | None
    preliminary: bool
    main: ObsPart
    components: tuple[ObsPart, ...]
    body_site_codings: tuple[Coding, ...]
    body_site_texts: tuple[str, ...]
    method_texts: tuple[str, ...]
    reference_low: Qty | None


def _part(code: Any, obj: Any) -> ObsPart:
    vcc = getattr(obj, "valueCodeableConcept", None)
    vb = getattr(obj, "valueBoolean", None)
    return ObsPart(
        codings=codings(code),
        code_texts=texts(code),
        value=qty(getattr(obj, "valueQuantity", None)),
        value_codings=codings(vcc),
        value_texts=texts(vcc),
        value_bool=vb if isinstance(vb, bool) else None,
        data_absent=getattr(obj, "dataAbsentReason", None) is not None,
    )


def observation_view(model: Any, record: str) -> ObsView:
    effective = (
        to_date(model.effectiveDateTime)
        or to_date(model.effectivePeriod.start if model.effectivePeriod else None)
        or to_date(model.effectiveInstant)
    )
    low = None
    for rr in model.referenceRange or ():
        if rr.low is not None:
            low = qty(rr.low)
            break
    return ObsView(
        record=record,
        status=model.status or "unknown",
        effective=effective,
        preliminary=model.status == "preliminary",
        main=_part(model.code, model),
        components=tuple(_part(c.code, c) for c in (model.component or ())),
        body_site_codings=codings(model.bodySite),
        body_site_texts=texts(model.bodySite),
        method_texts=texts(model.method),
        reference_low=low,
    )

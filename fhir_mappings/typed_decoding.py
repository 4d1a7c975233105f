"""Typed decoding of the resources extraction reads: msgspec Structs holding only what the handlers read (and the
few members charts commonly carry beside them), with the attribute names and the Python value types of the
fhir.resources R4B models, converted from the already-parsed JSON with `msgspec.convert` (C), after the same quirk
repair as `fhir_json.parse`: 5-10x cheaper than R4B validation per resource (`python -m bench.decode_cost`).

Strict where the rules read, by construction: a Struct accepts a subset of what R4B accepts, and gives the same
values for it. Anything it is not sure of (an element it does not model, an `_element` extension, a `null` in a
list, a string where a number is, a date R4B would have to repair or keeps as a string, a leap second, more than
one value of a choice element, a missing required element...) makes `decode` answer None, and the caller falls
back to the R4B `fhir_json.parse` for that resource, which repairs or rejects it exactly as before.
`OSTEO_CDS_FHIR_PARSING=strict` uses the R4B path for every resource (`FhirParsing`)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

import msgspec

from fhir_mappings.fhir_json import ResourceReader, model_input, parse


class FhirParsing(StrEnum):
    """How relevant resources are read: `typed` (msgspec Structs, R4B for whatever they are not sure of) or
    `strict` (R4B validation of every resource)."""

    TYPED = "typed"
    STRICT = "strict"


# --- primitives ---------------------------------------------------------------------------------------------
# Each accepts a subset of what the R4B type (fhir_core.types) accepts. R4B checks its patterns with Rust regex,
# whose \s (Unicode White_Space) is narrower than Python's str.isspace: a Python non-space is a Rust non-space.

# code: no leading, trailing or doubled whitespace (R4B allows any single whitespace between words; we allow spaces).
Code = Annotated[str, msgspec.Meta(pattern=r"^[^\s]+( [^\s]+)*\Z")]
# string: R4B needs one character of [ \r\n\t\S]; a non-space character is one.
String = Annotated[str, msgspec.Meta(pattern=r"\S")]
# uri: R4B's pattern (\S*, searched) matches every string; we take non-empty ones.
Uri = Annotated[str, msgspec.Meta(min_length=1)]
Id = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9\-.]+\Z", max_length=255)]
Integer = Annotated[int, msgspec.Meta(ge=-(2**31), le=2**31 - 1)]
UnsignedInt = Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)]
PositiveInt = Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]

# decimal, date, dateTime and instant become Decimal, date, datetime or str, which msgspec cannot express as one
# type: they arrive as anything (Any) and each Struct's __post_init__ checks and converts them.
if TYPE_CHECKING:
    DecimalValue = Decimal
    DateValue = date | str
    DateTimeValue = datetime | date | str
    InstantValue = datetime
else:
    DecimalValue = DateValue = DateTimeValue = InstantValue = Any

# fhir_core.types patterns, verbatim.
_DECIMAL = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$")
_DATE = re.compile(
    r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?"
)
_DATETIME = re.compile(
    r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])"
    r"(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|([+\-])((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?"
)
# What we convert ourselves: a year, a year-month, a day, or a time to the second (no leap second) with at most six
# decimals (what datetime holds) and a zone. Anything else the R4B pattern allows goes to R4B.
_PARTIAL = re.compile(r"\d{4}(-\d{2})?")
_TIMED = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:[0-5]\d(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})")


class NotSure(ValueError):
    """A value the typed decoding leaves to R4B."""


def _decimal(value: Any) -> Decimal | None:
    # fhir_core.types.Decimal: the pattern on str(value); floats through str() (1.0 stays 1.0).
    if value is None:
        return None
    kind = type(value)
    if (kind is int or kind is float) and _DECIMAL.fullmatch(str(value)):
        return Decimal(str(value)) if kind is float else Decimal(value)
    raise NotSure("decimal")


def _date(value: Any) -> date | str | None:
    # fhir_core.types.Date: a partial date stays a string, a full one is a date.
    if value is None:
        return None
    if type(value) is str and _DATE.fullmatch(value):
        if _PARTIAL.fullmatch(value):
            return value
        return date.fromisoformat(value)  # ValueError (30 February) -> R4B
    raise NotSure("date")


def _datetime(value: Any) -> datetime | date | str | None:
    # fhir_core.types.DateTime: partial dates stay strings, a day is a date, a time with its zone a datetime.
    if value is None:
        return None
    if type(value) is str and _DATETIME.fullmatch(value):
        if _TIMED.fullmatch(value):
            return datetime.fromisoformat(value)
        if _PARTIAL.fullmatch(value):
            return value
        if len(value) == 10:
            return date.fromisoformat(value)
    raise NotSure("dateTime")


def _instant(value: Any) -> datetime | None:
    if value is None:
        return None
    if type(value) is str and _TIMED.fullmatch(value) and _DATETIME.fullmatch(value):
        return datetime.fromisoformat(value)
    raise NotSure("instant")


def _datetimes(values: Sequence[Any] | None) -> list[datetime | date | str] | None:
    if values is None:
        return None
    converted = [_datetime(v) for v in values]
    if any(v is None for v in converted):  # a null among primitives: R4B keeps a placeholder we do not model
        raise NotSure("null dateTime")
    return converted  # type: ignore[return-value]


def _at_most_one(*values: Any) -> None:
    """A choice element (value[x]) carries one value at most."""
    if len(values) - values.count(None) > 1:
        raise NotSure("choice")


def _exactly_one(*values: Any) -> None:
    """A required choice element (medication[x]) carries one value."""
    if len(values) - values.count(None) != 1:
        raise NotSure("required choice")


def _present(*values: Any) -> None:
    if None in values:
        raise NotSure("required")


# --- data types ---------------------------------------------------------------------------------------------


class _Element(msgspec.Struct, forbid_unknown_fields=True):
    pass


class Coding(_Element):
    system: Uri | None = None
    version: String | None = None
    code: Code | None = None
    display: String | None = None
    userSelected: bool | None = None


class CodeableConcept(_Element):
    coding: list[Coding] | None = None
    text: String | None = None


class Quantity(_Element):
    value: DecimalValue | None = None
    comparator: Code | None = None
    unit: String | None = None
    system: Uri | None = None
    code: Code | None = None

    def __post_init__(self) -> None:
        self.value = _decimal(self.value)


class Duration(Quantity):
    pass


class Range(_Element):
    low: Quantity | None = None
    high: Quantity | None = None


class Ratio(_Element):
    numerator: Quantity | None = None
    denominator: Quantity | None = None


class Period(_Element):
    start: DateTimeValue | None = None
    end: DateTimeValue | None = None

    def __post_init__(self) -> None:
        self.start = _datetime(self.start)
        self.end = _datetime(self.end)


class Reference(_Element):
    reference: String | None = None
    type: Uri | None = None
    display: String | None = None


class TimingRepeat(_Element):
    boundsDuration: Duration | None = None
    boundsRange: Range | None = None
    boundsPeriod: Period | None = None
    count: PositiveInt | None = None
    countMax: PositiveInt | None = None
    duration: DecimalValue | None = None
    durationMax: DecimalValue | None = None
    durationUnit: Code | None = None
    frequency: PositiveInt | None = None
    frequencyMax: PositiveInt | None = None
    period: DecimalValue | None = None
    periodMax: DecimalValue | None = None
    periodUnit: Code | None = None
    dayOfWeek: list[Code] | None = None
    when: list[Code] | None = None
    offset: UnsignedInt | None = None

    # timeOfDay (time values) is not modelled: R4B reads it.
    timeOfDay: ClassVar[None] = None

    def __post_init__(self) -> None:
        _at_most_one(self.boundsDuration, self.boundsRange, self.boundsPeriod)
        self.duration = _decimal(self.duration)
        self.durationMax = _decimal(self.durationMax)
        self.period = _decimal(self.period)
        self.periodMax = _decimal(self.periodMax)


class Timing(_Element):
    event: list[DateTimeValue] | None = None
    repeat: TimingRepeat | None = None
    code: CodeableConcept | None = None

    def __post_init__(self) -> None:
        self.event = _datetimes(self.event)


class DosageDoseAndRate(_Element):
    type: CodeableConcept | None = None
    doseRange: Range | None = None
    doseQuantity: Quantity | None = None
    rateRatio: Ratio | None = None
    rateRange: Range | None = None
    rateQuantity: Quantity | None = None

    def __post_init__(self) -> None:
        _at_most_one(self.doseRange, self.doseQuantity)
        _at_most_one(self.rateRatio, self.rateRange, self.rateQuantity)


class Dosage(_Element):
    sequence: Integer | None = None
    text: String | None = None
    additionalInstruction: list[CodeableConcept] | None = None
    patientInstruction: String | None = None
    timing: Timing | None = None
    asNeededBoolean: bool | None = None
    asNeededCodeableConcept: CodeableConcept | None = None
    site: CodeableConcept | None = None
    route: CodeableConcept | None = None
    method: CodeableConcept | None = None
    doseAndRate: list[DosageDoseAndRate] | None = None
    maxDosePerPeriod: Ratio | None = None
    maxDosePerAdministration: Quantity | None = None
    maxDosePerLifetime: Quantity | None = None

    def __post_init__(self) -> None:
        _at_most_one(self.asNeededBoolean, self.asNeededCodeableConcept)


# --- resources ----------------------------------------------------------------------------------------------


class _Resource(_Element):
    resourceType: str  # each resource narrows it to its own name (a contained resource is checked too)
    id: Id | None = None

    def get_resource_type(self) -> str:  # as the R4B models answer it
        return self.resourceType


class Patient(_Resource):
    resourceType: Literal["Patient"]
    active: bool | None = None
    gender: Code | None = None
    birthDate: DateValue | None = None
    deceasedBoolean: bool | None = None
    deceasedDateTime: DateTimeValue | None = None
    multipleBirthBoolean: bool | None = None
    multipleBirthInteger: Integer | None = None

    def __post_init__(self) -> None:
        _at_most_one(self.deceasedBoolean, self.deceasedDateTime)
        _at_most_one(self.multipleBirthBoolean, self.multipleBirthInteger)
        self.birthDate = _date(self.birthDate)
        self.deceasedDateTime = _datetime(self.deceasedDateTime)


class ObservationReferenceRange(_Element):
    low: Quantity | None = None
    high: Quantity | None = None
    type: CodeableConcept | None = None
    appliesTo: list[CodeableConcept] | None = None
    text: String | None = None


class ObservationComponent(_Element):
    code: CodeableConcept | None = None
    valueQuantity: Quantity | None = None
    valueCodeableConcept: CodeableConcept | None = None
    valueBoolean: bool | None = None
    dataAbsentReason: CodeableConcept | None = None
    interpretation: list[CodeableConcept] | None = None
    referenceRange: list[ObservationReferenceRange] | None = None

    def __post_init__(self) -> None:
        _present(self.code)
        _at_most_one(self.valueQuantity, self.valueCodeableConcept, self.valueBoolean)


class Observation(_Resource):
    resourceType: Literal["Observation"]
    status: Code | None = None
    code: CodeableConcept | None = None
    subject: Reference | None = None
    focus: list[Reference] | None = None
    effectiveDateTime: DateTimeValue | None = None
    effectivePeriod: Period | None = None
    effectiveInstant: InstantValue | None = None
    issued: InstantValue | None = None
    valueQuantity: Quantity | None = None
    valueCodeableConcept: CodeableConcept | None = None
    valueBoolean: bool | None = None
    dataAbsentReason: CodeableConcept | None = None
    bodySite: CodeableConcept | None = None
    method: CodeableConcept | None = None
    referenceRange: list[ObservationReferenceRange] | None = None
    component: list[ObservationComponent] | None = None

    def __post_init__(self) -> None:
        _present(self.status, self.code)
        _at_most_one(self.effectiveDateTime, self.effectivePeriod, self.effectiveInstant)
        _at_most_one(self.valueQuantity, self.valueCodeableConcept, self.valueBoolean)
        self.effectiveDateTime = _datetime(self.effectiveDateTime)
        self.effectiveInstant = _instant(self.effectiveInstant)
        self.issued = _instant(self.issued)


class Condition(_Resource):
    resourceType: Literal["Condition"]
    clinicalStatus: CodeableConcept | None = None
    verificationStatus: CodeableConcept | None = None
    severity: CodeableConcept | None = None
    code: CodeableConcept | None = None
    bodySite: list[CodeableConcept] | None = None
    subject: Reference | None = None
    onsetDateTime: DateTimeValue | None = None
    onsetPeriod: Period | None = None
    abatementDateTime: DateTimeValue | None = None
    abatementPeriod: Period | None = None
    recordedDate: DateTimeValue | None = None

    def __post_init__(self) -> None:
        _present(self.subject)
        _at_most_one(self.onsetDateTime, self.onsetPeriod)
        _at_most_one(self.abatementDateTime, self.abatementPeriod)
        self.onsetDateTime = _datetime(self.onsetDateTime)
        self.abatementDateTime = _datetime(self.abatementDateTime)
        self.recordedDate = _datetime(self.recordedDate)


class FamilyMemberHistoryCondition(_Element):
    code: CodeableConcept | None = None
    outcome: CodeableConcept | None = None
    contributedToDeath: bool | None = None

    def __post_init__(self) -> None:
        _present(self.code)


class FamilyMemberHistory(_Resource):
    resourceType: Literal["FamilyMemberHistory"]
    status: Code | None = None
    patient: Reference | None = None
    date: DateTimeValue | None = None
    relationship: CodeableConcept | None = None
    sex: CodeableConcept | None = None
    condition: list[FamilyMemberHistoryCondition] | None = None

    def __post_init__(self) -> None:
        _present(self.status, self.patient, self.relationship)
        self.date = _datetime(self.date)


class MedicationIngredient(_Element):
    itemCodeableConcept: CodeableConcept | None = None
    itemReference: Reference | None = None
    isActive: bool | None = None
    strength: Ratio | None = None

    def __post_init__(self) -> None:
        _exactly_one(self.itemCodeableConcept, self.itemReference)


class Medication(_Resource):
    resourceType: Literal["Medication"]
    code: CodeableConcept | None = None
    status: Code | None = None
    form: CodeableConcept | None = None
    amount: Ratio | None = None
    ingredient: list[MedicationIngredient] | None = None


class _MedicationUse(_Resource):
    status: Code | None = None
    statusReason: list[CodeableConcept] | None = None
    medicationCodeableConcept: CodeableConcept | None = None
    medicationReference: Reference | None = None
    subject: Reference | None = None
    reasonCode: list[CodeableConcept] | None = None
    contained: list[Medication] | None = None  # any other contained resource: R4B reads it

    def _check_use(self) -> None:
        _present(self.status, self.subject)
        _exactly_one(self.medicationCodeableConcept, self.medicationReference)


class MedicationStatement(_MedicationUse):
    resourceType: Literal["MedicationStatement"]
    effectiveDateTime: DateTimeValue | None = None
    effectivePeriod: Period | None = None
    dateAsserted: DateTimeValue | None = None
    dosage: list[Dosage] | None = None

    def __post_init__(self) -> None:
        self._check_use()
        _at_most_one(self.effectiveDateTime, self.effectivePeriod)
        self.effectiveDateTime = _datetime(self.effectiveDateTime)
        self.dateAsserted = _datetime(self.dateAsserted)


class MedicationRequestDispenseRequest(_Element):
    validityPeriod: Period | None = None
    numberOfRepeatsAllowed: UnsignedInt | None = None
    quantity: Quantity | None = None
    expectedSupplyDuration: Duration | None = None


class MedicationRequest(_MedicationUse):
    resourceType: Literal["MedicationRequest"]
    intent: Code | None = None
    priority: Code | None = None
    doNotPerform: bool | None = None
    reportedBoolean: bool | None = None
    authoredOn: DateTimeValue | None = None
    dosageInstruction: list[Dosage] | None = None
    dispenseRequest: MedicationRequestDispenseRequest | None = None

    def __post_init__(self) -> None:
        self._check_use()
        _present(self.intent)
        self.authoredOn = _datetime(self.authoredOn)


class MedicationAdministrationDosage(_Element):
    text: String | None = None
    site: CodeableConcept | None = None
    route: CodeableConcept | None = None
    method: CodeableConcept | None = None
    dose: Quantity | None = None
    rateRatio: Ratio | None = None
    rateQuantity: Quantity | None = None

    def __post_init__(self) -> None:
        _at_most_one(self.rateRatio, self.rateQuantity)


class MedicationAdministration(_MedicationUse):
    resourceType: Literal["MedicationAdministration"]
    effectiveDateTime: DateTimeValue | None = None
    effectivePeriod: Period | None = None
    dosage: MedicationAdministrationDosage | None = None

    def __post_init__(self) -> None:
        self._check_use()
        _exactly_one(self.effectiveDateTime, self.effectivePeriod)
        self.effectiveDateTime = _datetime(self.effectiveDateTime)


class Procedure(_Resource):
    resourceType: Literal["Procedure"]
    status: Code | None = None
    statusReason: CodeableConcept | None = None
    code: CodeableConcept | None = None
    subject: Reference | None = None
    performedDateTime: DateTimeValue | None = None
    performedPeriod: Period | None = None
    bodySite: list[CodeableConcept] | None = None
    reasonCode: list[CodeableConcept] | None = None
    outcome: CodeableConcept | None = None

    def __post_init__(self) -> None:
        _present(self.status, self.subject)
        _at_most_one(self.performedDateTime, self.performedPeriod)
        self.performedDateTime = _datetime(self.performedDateTime)


class ServiceRequest(_Resource):
    resourceType: Literal["ServiceRequest"]
    status: Code | None = None
    intent: Code | None = None
    priority: Code | None = None
    doNotPerform: bool | None = None
    code: CodeableConcept | None = None
    orderDetail: list[CodeableConcept] | None = None
    subject: Reference | None = None
    occurrenceDateTime: DateTimeValue | None = None
    occurrencePeriod: Period | None = None
    occurrenceTiming: Timing | None = None
    asNeededBoolean: bool | None = None
    asNeededCodeableConcept: CodeableConcept | None = None
    authoredOn: DateTimeValue | None = None
    reasonCode: list[CodeableConcept] | None = None
    bodySite: list[CodeableConcept] | None = None

    def __post_init__(self) -> None:
        _present(self.status, self.intent, self.subject)
        _at_most_one(self.occurrenceDateTime, self.occurrencePeriod, self.occurrenceTiming)
        _at_most_one(self.asNeededBoolean, self.asNeededCodeableConcept)
        self.occurrenceDateTime = _datetime(self.occurrenceDateTime)
        self.authoredOn = _datetime(self.authoredOn)


class AppointmentParticipant(_Element):
    type: list[CodeableConcept] | None = None
    actor: Reference | None = None
    required: Code | None = None
    status: Code | None = None
    period: Period | None = None

    def __post_init__(self) -> None:
        _present(self.status)


class Appointment(_Resource):
    resourceType: Literal["Appointment"]
    status: Code | None = None
    serviceCategory: list[CodeableConcept] | None = None
    serviceType: list[CodeableConcept] | None = None
    specialty: list[CodeableConcept] | None = None
    appointmentType: CodeableConcept | None = None
    reasonCode: list[CodeableConcept] | None = None
    priority: UnsignedInt | None = None
    description: String | None = None
    start: InstantValue | None = None
    end: InstantValue | None = None
    minutesDuration: PositiveInt | None = None
    created: DateTimeValue | None = None
    comment: String | None = None
    participant: list[AppointmentParticipant] | None = None

    def __post_init__(self) -> None:
        _present(self.status, self.participant)
        self.start = _instant(self.start)
        self.end = _instant(self.end)
        self.created = _datetime(self.created)


class DiagnosticReport(_Resource):
    resourceType: Literal["DiagnosticReport"]
    status: Code | None = None
    code: CodeableConcept | None = None
    subject: Reference | None = None
    effectiveDateTime: DateTimeValue | None = None
    effectivePeriod: Period | None = None
    issued: InstantValue | None = None
    result: list[Reference] | None = None
    conclusion: String | None = None
    conclusionCode: list[CodeableConcept] | None = None

    def __post_init__(self) -> None:
        _present(self.status, self.code)
        _at_most_one(self.effectiveDateTime, self.effectivePeriod)
        self.effectiveDateTime = _datetime(self.effectiveDateTime)
        self.issued = _instant(self.issued)


STRUCTS: Mapping[str, type[_Resource]] = {
    cls.__name__: cls
    for cls in (
        Patient,
        Observation,
        Condition,
        FamilyMemberHistory,
        Medication,
        MedicationStatement,
        MedicationRequest,
        MedicationAdministration,
        Procedure,
        ServiceRequest,
        Appointment,
        DiagnosticReport,
    )
}


def decode(raw: Mapping[str, Any]) -> _Resource | None:
    """The typed resource of `raw` (quirks repaired, unread elements left out as in `fhir_json.parse`), or None
    when the typed decoding is not sure of it: then only R4B can say."""
    rtype = raw.get("resourceType")
    struct = STRUCTS.get(rtype) if type(rtype) is str else None
    if struct is None:
        return None
    try:
        return msgspec.convert(model_input(raw), struct)
    except (msgspec.ValidationError, ValueError, TypeError, RecursionError):
        return None


def parse_typed(raw: Mapping[str, Any]) -> Any | None:
    """`decode`, else the R4B `fhir_json.parse` (which repairs what it can, or answers None)."""
    decoded = decode(raw)
    return decoded if decoded is not None else parse(raw)


def resource_reader(parsing: FhirParsing) -> ResourceReader:
    return parse if parsing is FhirParsing.STRICT else parse_typed

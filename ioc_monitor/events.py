"""The dossier-status event contract (EVENTS.md v2): parsing and validation.

:func:`parse_event` turns one raw Kafka message into an :class:`Event` or a
:class:`Rejection` with exactly one reason, checking the rules in the order the
contract gives. Only the fields the KPI rules need are kept: unknown fields, and so
any personal data of the applicant, never leave this module. Rejection details name
fields and constraints, never field values.
"""

from __future__ import annotations

import json
from collections.abc import Container
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal

import msgspec
import orjson

from ioc_monitor.timeutil import parse_timestamp

__all__ = [
    "CHANNELS",
    "END_STATUSES",
    "MAX_MESSAGE_BYTES",
    "RATINGS",
    "REASONS",
    "STATUS_CODES",
    "Event",
    "Rejection",
    "parse_event",
]

#: Messages larger than this many bytes are rejected as ``too_large`` (64 KiB).
MAX_MESSAGE_BYTES: Final = 64 * 1024

#: Rejection reasons, in the order they are checked.
REASONS: Final = (
    "too_large",
    "malformed_json",
    "schema",
    "unknown_status",
    "unknown_unit",
    "invalid_times",
)

#: Status names to codes.
STATUS_CODES: Final[dict[str, int]] = {
    "submitted": 1,
    "received": 2,
    "refused": 3,
    "processing": 4,
    "supplement_requested": 5,
    "fee_requested": 6,
    "withdrawn": 7,
    "stopped": 8,
    "decided": 9,
    "returned": 10,
}
#: Statuses that end processing.
END_STATUSES: Final = frozenset({7, 8, 9, 10})
_NEEDS_RECEIPT: Final = frozenset({2, 4, 5, 6, 7, 8, 9, 10})

#: Receipt channels as they appear in the ``channel`` label.
CHANNELS: Final = ("in_person", "online_full", "online_partial", "postal")
_CHANNEL_VALUES: Final = frozenset({"in_person", "online", "postal"})
_ONLINE_MODES: Final = frozenset({"full", "partial"})
#: Values of ``rating`` (EVENTS.md v2).
RATINGS: Final = ("satisfied", "unsatisfied")


class Event(msgspec.Struct, frozen=True, gc=False):
    """One accepted event, reduced to what the KPI rules use.

    Times are float seconds since the epoch (UTC). A frozen ``msgspec.Struct``: built
    about 5x faster than a frozen dataclass, once per message.

    Attributes:
        event_id: De-duplication key.
        dossier_id: The dossier (MaHoSo).
        unit_id: The one-stop unit named by the event (in the registry).
        status: Status code 1–10.
        occurred_at: Event time.
        received_at: Receipt time, when the event carries one.
        due_at: Promised return time as of this event, when given.
        ended_at: End of processing: ``ended_at``, else ``occurred_at`` on statuses
            7–10; ``None`` on other statuses without ``ended_at``.
        channel: One of :data:`CHANNELS`.
        supplements: Number of supplement requests listed on the event.
        apology: An apology-and-reschedule letter was issued.
        fee_required: The event says the dossier carries a fee (absent: False).
        paid_online: The event says the fees were paid online (absent: False).
        digitized: The event says the components were digitised at receipt (absent: False).
        visits: In-person trips so far (absent: 0).
        rating: ``satisfied`` or ``unsatisfied`` when the event carries a rating.
        procedure: ``procedure_code`` when given (shown in the wall's dossier lists).
        agency: ``agency_id`` when given.
    """

    event_id: str
    dossier_id: str
    unit_id: str
    status: int
    occurred_at: float
    received_at: float | None
    due_at: float | None
    ended_at: float | None
    channel: str
    supplements: int
    apology: bool
    fee_required: bool = False
    paid_online: bool = False
    digitized: bool = False
    visits: int = 0
    rating: str | None = None
    procedure: str | None = None
    agency: str | None = None


@dataclass(frozen=True, slots=True)
class Rejection:
    """A rejected message: one reason of :data:`REASONS` and a human-readable detail."""

    reason: str
    detail: str


class _Invalid(Exception):
    """Internal: a validation rule failed (reason, detail)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(reason, detail)
        self.reason = reason
        self.detail = detail


_INT64: Final = 2**63


def _get(obj: dict[str, Any], field: str) -> Any:
    """Return a field, treating ``null`` as absent."""
    return obj.get(field)


def _beyond_int64(value: Any) -> bool:
    """Whether orjson gave a float for what may be an integer literal beyond 64 bits."""
    return isinstance(value, float) and abs(value) >= _INT64 and value.is_integer()


def _as_int(value: Any) -> Any:
    """Undo the JSON decoder's float for integer literals beyond 64 bits.

    orjson decodes an integer literal that does not fit in 64 bits as a float; such
    a value is still a JSON integer, so it is turned back into an ``int``. (The one
    field whose value is kept, ``visits``, is read exactly instead: :func:`_exact`.)
    """
    if _beyond_int64(value):
        return int(value)
    return value


def _exact(raw: bytes, obj: dict[str, Any]) -> dict[str, Any]:
    """The document as the standard library decodes it: its integers are exact.

    Used when orjson (which already accepted the document) made ``visits`` a float, so
    that e.g. ``18446744073709551617`` stays that integer (and equals the fast path's
    value); orjson's object when the standard library refuses the document.
    """
    try:
        again = json.loads(raw)
    except (ValueError, RecursionError):
        return obj
    return again if isinstance(again, dict) else obj


def _text(obj: dict[str, Any], field: str, required: bool, kind: str) -> str | None:
    """The field's string value; ``None`` when absent and optional; else ``schema``."""
    value = _get(obj, field)
    if value is None:
        if required:
            raise _Invalid("schema", f"missing required field '{field}'")
        return None
    if not isinstance(value, str):
        raise _Invalid("schema", f"field '{field}' must be {kind}")
    return value


def _string(obj: dict[str, Any], field: str, lo: int, hi: int, required: bool) -> str | None:
    value = _text(obj, field, required, "a string")
    if value is None:
        return None
    if not lo <= len(value) <= hi:
        raise _Invalid("schema", f"field '{field}' must be {lo}–{hi} characters")
    return value


def _time(obj: dict[str, Any], field: str, required: bool) -> float | None:
    value = _text(obj, field, required, "an RFC 3339 string")
    if value is None:
        return None
    t = parse_timestamp(value) if len(value) <= 64 else None
    if t is None:
        raise _Invalid(
            "schema",
            f"field '{field}' is not an RFC 3339 timestamp with an offset in years 1970–2099",
        )
    return t


def _bool(obj: dict[str, Any], field: str) -> bool:
    value = _get(obj, field)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise _Invalid("schema", f"field '{field}' must be a boolean")
    return value


def _supplements(obj: dict[str, Any]) -> int:
    value = _get(obj, "supplements")
    if value is None:
        return 0
    if not isinstance(value, list):
        raise _Invalid("schema", "field 'supplements' must be an array")
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise _Invalid("schema", f"supplements[{i}] must be an object")
        try:
            _time(item, "requested_at", required=True)
            _time(item, "completed_at", required=False)
        except _Invalid as exc:
            raise _Invalid("schema", f"supplements[{i}]: {exc.detail}") from None
    return len(value)


def _status_field(obj: dict[str, Any]) -> tuple[int | None, str]:
    """Check the type of ``status``; return (code or None when unknown, description)."""
    value = _as_int(_get(obj, "status"))
    if value is None:
        raise _Invalid("schema", "missing required field 'status'")
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _Invalid("schema", "field 'status' must be an integer code or a status name")
    if isinstance(value, int):
        return (value if 1 <= value <= 10 else None), "code"
    return STATUS_CODES.get(value), "name"


def _validate(obj: dict[str, Any], units: Container[str]) -> Event:
    event_id = _string(obj, "event_id", 1, 128, True)
    dossier_id = _string(obj, "dossier_id", 1, 64, True)
    procedure = _string(obj, "procedure_code", 0, 32, False)
    unit_id = _string(obj, "unit_id", 1, 64, True)
    agency = _string(obj, "agency_id", 0, 64, False)
    status, kind = _status_field(obj)
    needs_receipt = status in _NEEDS_RECEIPT
    occurred_at = _time(obj, "occurred_at", True)
    received_at = _time(obj, "received_at", needs_receipt)
    due_at = _time(obj, "due_at", needs_receipt)
    ended_at = _time(obj, "ended_at", False)
    channel = _get(obj, "channel")
    if channel is None:
        channel = "in_person"
    elif not isinstance(channel, str) or channel not in _CHANNEL_VALUES:
        raise _Invalid("schema", "field 'channel' must be in_person, online or postal")
    mode = _get(obj, "online_mode")
    if mode is not None and (not isinstance(mode, str) or mode not in _ONLINE_MODES):
        raise _Invalid("schema", "field 'online_mode' must be full or partial")
    supplements = _supplements(obj)
    apology = _bool(obj, "apology")
    fee_required = _bool(obj, "fee_required")
    paid_online = _bool(obj, "paid_online")
    digitized = _bool(obj, "digitized")
    visits = _as_int(_get(obj, "visits"))
    if visits is not None and (isinstance(visits, bool) or not isinstance(visits, int)):
        raise _Invalid("schema", "field 'visits' must be an integer")
    if visits is not None and visits < 0:
        raise _Invalid("schema", "field 'visits' must be >= 0")
    rating = _get(obj, "rating")
    if rating is not None and (not isinstance(rating, str) or rating not in RATINGS):
        raise _Invalid("schema", "field 'rating' must be satisfied or unsatisfied")
    if status is None:
        raise _Invalid("unknown_status", f"status {kind} is not one of the 10 statuses")
    assert event_id is not None and dossier_id is not None and unit_id is not None
    assert occurred_at is not None
    if unit_id not in units:
        raise _Invalid("unknown_unit", "unit_id is not in the unit registry")
    if ended_at is None and status in END_STATUSES:
        ended_at = occurred_at
    problem = _times_problem(received_at, due_at, ended_at)
    if problem is not None:
        raise _Invalid("invalid_times", problem)
    return _accepted(
        (event_id, dossier_id, unit_id, status, occurred_at, received_at, due_at, ended_at),
        (channel, mode, supplements, apology, fee_required, paid_online, digitized),
        (visits or 0, rating, procedure, agency),
    )


def _times_problem(received: float | None, due: float | None, ended: float | None) -> str | None:
    """The ``invalid_times`` detail, or ``None`` when the times are in order."""
    if received is not None:
        if due is not None and due < received:
            return "due_at is before received_at"
        if ended is not None and ended < received:
            return "ended_at is before received_at"
    return None


def _accepted(
    core: tuple[str, str, str, int, float, float | None, float | None, float | None],
    flags: tuple[str, Any, int, bool, bool, bool, bool],
    rest: tuple[int, str | None, str | None, str | None],
) -> Event:
    """The :class:`Event` of checked values (``channel`` ``online`` split by its mode)."""
    event_id, dossier_id, unit_id, status, occurred_at, received_at, due_at, ended_at = core
    channel, mode, supplements, apology, fee_required, paid_online, digitized = flags
    visits, rating, procedure, agency = rest
    if channel == "online":
        channel = "online_full" if mode == "full" else "online_partial"
    return Event(  # positional: msgspec matches keywords one by one, about 8x slower
        event_id,
        dossier_id,
        unit_id,
        status,
        occurred_at,
        received_at,
        due_at,
        ended_at,
        channel,
        supplements,
        apology,
        fee_required,
        paid_online,
        digitized,
        visits,
        rating,
        procedure or None,
        agency or None,
    )


_Stamp = Annotated[str, msgspec.Meta(max_length=64)]


class _WireSupplement(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    requested_at: _Stamp
    completed_at: _Stamp | None = None


class _Wire(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """The fields of EVENTS.md with their JSON types and lengths (``null`` = absent).

    Decoded in one C pass by msgspec. Unknown fields are refused here (so the document
    goes to the validator, which ignores them): msgspec skips an unknown field's value
    more leniently than a full JSON parse (e.g. invalid UTF-8 or ``1e400`` inside it),
    and the fast path must never accept a message the validator would reject.
    """

    event_id: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    dossier_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    unit_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    status: int | str
    occurred_at: _Stamp
    procedure_code: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    agency_id: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    received_at: _Stamp | None = None
    due_at: _Stamp | None = None
    ended_at: _Stamp | None = None
    channel: Literal["in_person", "online", "postal"] | None = None
    online_mode: Literal["full", "partial"] | None = None
    supplements: list[_WireSupplement] | None = None
    apology: bool | None = None
    fee_required: bool | None = None
    paid_online: bool | None = None
    digitized: bool | None = None
    visits: Annotated[int, msgspec.Meta(ge=0)] | None = None
    rating: Literal["satisfied", "unsatisfied"] | None = None


_WIRE: Final = msgspec.json.Decoder(_Wire)


def _fast(raw: bytes, units: Container[str]) -> Event | None:
    """The accepted event, decoded and checked in one pass; ``None`` when any rule might fail.

    The common case (a valid event with only the contract's fields) is decoded by msgspec
    into :class:`_Wire`, which checks JSON syntax, UTF-8, types, lengths and the enums;
    the rest (status, timestamps, receipt fields, registry, time order) is checked here.
    Anything unusual returns ``None`` and :func:`_validate` then decides, with the first
    failing rule and its detail. It accepts exactly what :func:`_validate` accepts (of a
    document orjson decodes), and builds the same :class:`Event` (a differential
    property test checks both).
    """
    try:
        w = _WIRE.decode(raw)
    except msgspec.DecodeError:  # includes ValidationError
        return None
    code = STATUS_CODES.get(w.status) if isinstance(w.status, str) else w.status
    if code is None or not 0 < code <= 10:
        return None
    status: int = code
    if w.unit_id not in units:
        return None
    occurred_at = parse_timestamp(w.occurred_at)
    if occurred_at is None:
        return None
    raw_received, raw_due, raw_ended = w.received_at, w.due_at, w.ended_at
    received_at = None if raw_received is None else parse_timestamp(raw_received)
    due_at = None if raw_due is None else parse_timestamp(raw_due)
    ended_at = None if raw_ended is None else parse_timestamp(raw_ended)
    if (raw_received is not None and received_at is None) or (
        (raw_due is not None and due_at is None) or (raw_ended is not None and ended_at is None)
    ):
        return None
    if status in _NEEDS_RECEIPT and (received_at is None or due_at is None):
        return None
    n_supplements = 0
    if w.supplements is not None:
        for item in w.supplements:
            if parse_timestamp(item.requested_at) is None:
                return None
            if item.completed_at is not None and parse_timestamp(item.completed_at) is None:
                return None
        n_supplements = len(w.supplements)
    if ended_at is None and status in END_STATUSES:
        ended_at = occurred_at
    if _times_problem(received_at, due_at, ended_at) is not None:
        return None
    return _accepted(
        (w.event_id, w.dossier_id, w.unit_id, status, occurred_at, received_at, due_at, ended_at),
        (
            w.channel or "in_person",
            w.online_mode,
            n_supplements,
            w.apology is True,
            w.fee_required is True,
            w.paid_online is True,
            w.digitized is True,
        ),
        (w.visits or 0, w.rating, w.procedure_code, w.agency_id),
    )


def parse_event(raw: bytes, units: Container[str]) -> Event | Rejection:
    """Parse and validate one message.

    Args:
        raw: The message value exactly as consumed (bytes).
        units: The ids of the unit registry.

    Returns:
        The accepted :class:`Event`, or a :class:`Rejection` whose reason is the
        first failing rule of EVENTS.md (too_large, malformed_json, schema,
        unknown_status, unknown_unit, invalid_times).
    """
    if len(raw) > MAX_MESSAGE_BYTES:
        return Rejection("too_large", f"message is {len(raw)} bytes, over {MAX_MESSAGE_BYTES}")
    fast = _fast(raw, units)
    if fast is not None:
        return fast
    return _parse_checked(raw, units)


def _parse_checked(raw: bytes, units: Container[str]) -> Event | Rejection:
    """The rule-by-rule path of :func:`parse_event` (orjson, then every rule in order)."""
    try:
        obj = orjson.loads(raw)
    except (orjson.JSONDecodeError, RecursionError):
        return Rejection("malformed_json", "not UTF-8 JSON")
    if not isinstance(obj, dict):
        return Rejection("malformed_json", "not a JSON object")
    if _beyond_int64(obj.get("visits")):
        obj = _exact(raw, obj)
    try:
        return _validate(obj, units)
    except _Invalid as exc:
        return Rejection(exc.reason, exc.detail)

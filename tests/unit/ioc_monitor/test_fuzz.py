"""Fuzzing ``parse_event``: it never raises, gives exactly one outcome, and a plausible one.

Random bytes, random JSON documents, mutated valid events (one field replaced by any
JSON value), byte-level corruption, sizes around the 64 KiB limit and nesting around
the JSON decoder's depth limit. Expected outcomes come from EVENTS.md and the stdlib
``json`` decoder, never from the parser under test.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from ioc_testkit import LONG_UNIT, UNITS

from ioc_monitor.events import MAX_MESSAGE_BYTES, REASONS, Event, Rejection, parse_event

FUZZ = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SLOW_FUZZ = settings(FUZZ, max_examples=40)

STATUS_NAMES = (
    "submitted",
    "received",
    "refused",
    "processing",
    "supplement_requested",
    "fee_requested",
    "withdrawn",
    "stopped",
    "decided",
    "returned",
)
NOT_MALFORMED = ("schema", "unknown_status", "unknown_unit", "invalid_times")
#: A marker that no rule, field name or constraint text contains.
MARK = "QX7-VALUE-MARK"


def template() -> dict[str, Any]:
    """A valid ``received`` event; every status code is valid with its times."""
    return {
        "event_id": "ev-fuzz-1",
        "dossier_id": "d-fuzz-1",
        "unit_id": "u-a",
        "status": 2,
        "occurred_at": "2026-03-02T09:00:00+07:00",
        "received_at": "2026-03-02T09:00:00+07:00",
        "due_at": "2026-03-13T17:00:00+07:00",
    }


def parse(raw: bytes) -> Event | Rejection:
    """Parse, checking the invariants every input must satisfy."""
    result = parse_event(raw, UNITS)
    assert isinstance(result, Event) != isinstance(result, Rejection)
    if isinstance(result, Rejection):
        assert result.reason in REASONS
        assert isinstance(result.detail, str) and result.detail
    assert parse_event(raw, UNITS) == result  # deterministic
    return result


def reason(result: Event | Rejection) -> str:
    return result.reason if isinstance(result, Rejection) else "accepted"


def dumps(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False, allow_nan=False).encode()


def stdlib_json(raw: bytes) -> tuple[bool, Any]:
    """(parsed, value) by the stdlib decoder, strict about NaN/Infinity."""

    def bad_constant(_: str) -> Any:
        raise ValueError("constant")

    try:
        return True, json.loads(raw.decode("utf-8"), parse_constant=bad_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False, None


# --- strategies ------------------------------------------------------------------------------

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80)
scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | text
scalars |= st.floats(allow_nan=False, allow_infinity=False)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)


@st.composite
def rfc3339(draw: st.DrawFn) -> str:
    """A valid timestamp: years 1970–2099, any offset, optional fraction, T/t/space."""
    moment = draw(
        st.datetimes(datetime(1970, 1, 2), datetime(2099, 12, 30), timezones=st.just(UTC))
    )
    minutes = draw(st.integers(-12 * 60, 14 * 60))
    local = moment.astimezone(timezone(timedelta(minutes=minutes)))
    sep = draw(st.sampled_from("Tt "))
    frac = draw(st.sampled_from(["", ".5", ".123456789"]))
    if minutes == 0 and draw(st.booleans()):
        offset = draw(st.sampled_from("Zz"))
    else:
        sign = "+" if minutes >= 0 else "-"
        offset = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return local.strftime(f"%Y-%m-%d{sep}%H:%M:%S") + frac + offset


# --- any bytes ------------------------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=2048))
@example(b"")
@example(b"\xef\xbb\xbf{}")
@example(b'{"status": 1e400}')
@example(b"[" * 2000)
@example(b'{"a": "\\ud800"}')
def test_random_bytes(raw: bytes) -> None:
    result = parse(raw)
    ok, value = stdlib_json(raw)
    if not ok or not isinstance(value, dict):
        assert reason(result) == "malformed_json"


@FUZZ
@given(json_values)
def test_random_json_documents(value: Any) -> None:
    result = parse(dumps(value))
    if isinstance(value, dict):
        assert reason(result) in NOT_MALFORMED  # no event without event_id etc.
    else:
        assert reason(result) == "malformed_json"


@FUZZ
@given(st.data())
def test_corrupted_valid_event(data: st.DataObject) -> None:
    raw = bytearray(dumps(template()))
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        pos = data.draw(st.integers(0, max(len(raw) - 1, 0)))
        if op == "flip" and raw:
            raw[pos] = data.draw(st.integers(0, 255))
        elif op == "cut":
            del raw[pos:]
        elif op == "insert":
            raw[pos:pos] = data.draw(st.binary(min_size=1, max_size=8))
        elif raw:
            del raw[pos]
    parse(bytes(raw))


# --- one field replaced by any value ----------------------------------------------------------


def _string_rule(value: Any, lo: int, hi: int) -> str:
    if value is None or not isinstance(value, str) or not lo <= len(value) <= hi:
        return "schema"
    return "accepted"


@FUZZ
@given(
    st.sampled_from(["event_id", "dossier_id", "unit_id", "procedure_code", "agency_id"]),
    json_values | st.text(min_size=60, max_size=140),
)
@example("unit_id", LONG_UNIT)
@example("unit_id", LONG_UNIT + "x")
@example("unit_id", "U-A")
def test_string_fields(field: str, value: Any) -> None:
    doc = template()
    doc[field] = value
    limits = {"event_id": (1, 128), "dossier_id": (1, 64), "unit_id": (1, 64)}
    lo, hi = limits.get(field, (0, 64 if field == "agency_id" else 32))
    expected = _string_rule(value, lo, hi)
    if value is None and field in ("procedure_code", "agency_id"):
        expected = "accepted"  # optional: null is absent
    if expected == "accepted" and field == "unit_id" and value not in UNITS:
        expected = "unknown_unit"
    assert reason(parse(dumps(doc))) == expected


def _status_rule(value: Any) -> str:
    if value is None or isinstance(value, bool) or not isinstance(value, int | str | float):
        return "schema"
    if isinstance(value, float):
        if value.is_integer() and abs(value) >= 2**63:
            return "unknown_status"  # a JSON integer literal beyond 64 bits
        return "schema"
    if isinstance(value, int):
        return "accepted" if 1 <= value <= 10 else "unknown_status"
    return "accepted" if value in STATUS_NAMES else "unknown_status"


@FUZZ
@given(json_values | st.integers(-20, 20) | st.sampled_from(STATUS_NAMES))
@example(2**64)
@example(-(2**63) - 1)
@example(2.0)
@example(True)
def test_status_field(value: Any) -> None:
    doc = template()
    doc["status"] = value
    assert reason(parse(dumps(doc))) == _status_rule(value)


@FUZZ
@given(
    st.sampled_from(["occurred_at", "received_at", "due_at", "ended_at"]),
    json_values | rfc3339(),
)
@example("occurred_at", "2026-03-02T09:00:00")
@example("occurred_at", "2100-01-01T00:00:00Z")
@example("occurred_at", "1969-12-31T23:59:59Z")
@example("occurred_at", "0000-01-01T00:00:00Z")
@example("occurred_at", "2026-02-29T09:00:00+07:00")
@example("occurred_at", "2026-03-02T09:00:60+07:00")
@example("occurred_at", "2026-03-02T09:00:00+07:60")
def test_time_fields(field: str, value: Any) -> None:
    doc = template()
    doc[field] = value
    result = reason(parse(dumps(doc)))
    if value is None:
        assert result == ("accepted" if field == "ended_at" else "schema")
    elif not isinstance(value, str):
        assert result == "schema"
    else:
        # a valid timestamp may still put due/ended before received: invalid_times
        assert result in ("accepted", "schema", "invalid_times")
        if field == "occurred_at":
            assert result != "invalid_times"


@FUZZ
@given(rfc3339(), st.sampled_from(["occurred_at", "due_at"]))
def test_valid_timestamps_are_accepted(value: str, field: str) -> None:
    doc = template()
    doc[field] = value
    doc["received_at"] = "1970-01-01T00:00:00Z"  # due_at >= received_at whatever the draw
    assert reason(parse(dumps(doc))) == "accepted"


@FUZZ
@given(
    st.sampled_from(
        ["channel", "online_mode", "apology", "paid_online", "visits", "fee_required", "rating"]
    ),
    json_values,
)
def test_optional_fields(field: str, value: Any) -> None:
    doc = template()
    doc[field] = value
    allowed: dict[str, Any] = {
        "channel": lambda v: v in ("in_person", "online", "postal"),
        "online_mode": lambda v: v in ("full", "partial"),
        "apology": lambda v: isinstance(v, bool),
        "paid_online": lambda v: isinstance(v, bool),
        "fee_required": lambda v: isinstance(v, bool),
        "rating": lambda v: v in ("satisfied", "unsatisfied"),
        "visits": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
    }
    big_integer = isinstance(value, float) and value.is_integer() and abs(value) >= 2**63
    if field == "visits" and big_integer:  # a JSON integer literal beyond 64 bits
        value = int(value)
    ok = value is None or (isinstance(value, str | bool | int) and allowed[field](value))
    assert reason(parse(dumps(doc))) == ("accepted" if ok else "schema")


KNOWN_FIELDS = frozenset(
    {
        *template(),
        *("procedure_code", "agency_id", "ended_at", "channel", "online_mode"),
        *("supplements", "apology", "paid_online", "digitized", "visits"),
        *("fee_required", "rating"),
    }
)


@FUZZ
@given(st.dictionaries(text.filter(lambda k: k not in KNOWN_FIELDS), json_values, max_size=6))
def test_unknown_fields_are_dropped(extra: dict[str, Any]) -> None:
    doc = {**template(), **extra}
    result = parse(dumps(doc))
    assert isinstance(result, Event)
    assert result == parse(dumps(template()))


@FUZZ
@given(
    st.sampled_from(
        ["event_id", "dossier_id", "unit_id", "status", "occurred_at", "due_at", "channel"]
    ),
    text,
)
def test_details_never_carry_values(field: str, noise: str) -> None:
    doc = template()
    doc[field] = f"{MARK}{noise}{MARK}" * 10  # too long, or not a status name
    result = parse(dumps(doc))
    assert isinstance(result, Rejection)
    assert MARK not in result.detail


# --- sizes and depth --------------------------------------------------------------------------


@SLOW_FUZZ
@given(st.integers(-64, 64), st.sampled_from([b" ", b"\n", b"\t"]))
def test_size_limit_counts_bytes(delta: int, pad: bytes) -> None:
    body = dumps(template())
    raw = body + pad * (MAX_MESSAGE_BYTES + delta - len(body))
    assert len(raw) == MAX_MESSAGE_BYTES + delta
    assert reason(parse(raw)) == ("too_large" if delta > 0 else "accepted")


@SLOW_FUZZ
@given(st.integers(1, 2000), st.sampled_from([("[", "]"), ('{"a":', "}")]))
def test_deep_nesting(depth: int, brackets: tuple[str, str]) -> None:
    opening, closing = brackets
    nested = opening * depth + "0" + closing * depth
    raw = dumps(template())[:-1] + b', "deep": ' + nested.encode() + b"}"
    result = reason(parse(raw))
    assert result in ("accepted", "malformed_json")
    if depth <= 512:
        assert result == "accepted"
    if depth >= 1100:
        assert result == "malformed_json"

"""EVENTS.md: parsing, validation reasons and their order, accepted event fields."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from ioc_testkit import LONG_UNIT, OMIT, STATUS, UNITS, event, ts

from ioc_monitor.events import Event, Rejection, parse_event

KIB64 = 64 * 1024  # 65,536 bytes


def outcome(raw: bytes | dict[str, Any]) -> str:
    """``accepted`` or the rejection reason."""
    data = raw if isinstance(raw, bytes) else orjson.dumps(raw)
    result = parse_event(data, UNITS)
    if isinstance(result, Rejection):
        return result.reason
    assert isinstance(result, Event)
    return "accepted"


def accepted(doc: dict[str, Any]) -> Event:
    result = parse_event(orjson.dumps(doc), UNITS)
    assert isinstance(result, Event), result
    return result


def padded(size: int, **fields: Any) -> bytes:
    """A message of exactly ``size`` bytes: an event padded with a long unknown field."""
    doc = event(2, **fields)
    doc["x_padding"] = ""
    base = len(orjson.dumps(doc))
    doc["x_padding"] = "x" * (size - base)
    raw = orjson.dumps(doc)
    assert len(raw) == size
    return raw


# --- too_large ---------------------------------------------------------------------------


def test_exactly_64_kib_is_accepted() -> None:
    assert outcome(padded(KIB64)) == "accepted"


def test_one_byte_over_64_kib_is_too_large() -> None:
    assert outcome(padded(KIB64 + 1)) == "too_large"


def test_size_is_counted_in_bytes_not_characters() -> None:
    doc = event(2)
    doc["x_padding"] = "ệ" * 21_900  # 21,900 characters, 65,700 bytes in UTF-8
    raw = orjson.dumps(doc)
    assert len(doc["x_padding"]) < KIB64 < len(raw)
    assert outcome(raw) == "too_large"


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"x" * (KIB64 + 1), id="garbage"),
        pytest.param(b"{" * (KIB64 + 1), id="open-braces"),
        pytest.param(b" " * (KIB64 + 1), id="whitespace"),
        pytest.param(padded(KIB64 + 1, event_id=OMIT), id="also-schema"),
        pytest.param(padded(KIB64 + 1, status=0), id="also-unknown-status"),
        pytest.param(padded(KIB64 + 1, unit_id="u-zzz"), id="also-unknown-unit"),
        pytest.param(
            padded(KIB64 + 1, due_at="2026-03-01T00:00:00+07:00"), id="also-invalid-times"
        ),
        pytest.param(padded(200_000), id="far-over"),
    ],
)
def test_too_large_wins_over_every_other_reason(raw: bytes) -> None:
    assert outcome(raw) == "too_large"


def test_64_kib_of_garbage_is_malformed_not_too_large() -> None:
    assert outcome(b"x" * KIB64) == "malformed_json"


# --- malformed_json ----------------------------------------------------------------------

_VALID = orjson.dumps(event(2, event_id="ev-valid", dossier_id="d-é"))


def _nested(depth: int) -> bytes:
    doc = event(2)
    body = orjson.dumps(doc)[:-1]
    return body + b',"x_nested":' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"\xff\xfe\xfd", id="invalid-utf8-bytes"),
        pytest.param(_VALID.replace("é".encode(), b"\xe9"), id="latin1-byte-inside-string"),
        pytest.param(b'{"event_id": "\xc3"}', id="truncated-utf8-sequence"),
        pytest.param(_VALID.decode().encode("utf-16"), id="utf16-encoded"),
        pytest.param(_VALID[:-1], id="truncated-last-brace"),
        pytest.param(_VALID[: len(_VALID) // 2], id="truncated-half"),
        pytest.param(b"", id="empty"),
        pytest.param(b"{", id="open-brace"),
        pytest.param(b"[" + _VALID + b"]", id="array-of-event"),
        pytest.param(b"[]", id="empty-array"),
        pytest.param(b'"a string"', id="string"),
        pytest.param(b"42", id="number"),
        pytest.param(b"null", id="null"),
        pytest.param(b"true", id="bool"),
        pytest.param(_VALID + b"x", id="trailing-garbage"),
        pytest.param(_VALID + _VALID, id="two-objects"),
        pytest.param(b"{'event_id': 'x'}", id="single-quotes"),
        pytest.param(b'{"visits": NaN}', id="nan-literal"),
        pytest.param(b'{"event_id": "a",}', id="trailing-comma"),
        pytest.param(_nested(5000), id="deeply-nested-5000"),
        pytest.param(b"[" * 20_000 + b"]" * 20_000, id="deeply-nested-array"),
    ],
)
def test_malformed_json(raw: bytes) -> None:
    assert len(raw) <= KIB64
    assert outcome(raw) == "malformed_json"


def test_moderately_nested_unknown_field_is_fine() -> None:
    assert outcome(_nested(50)) == "accepted"


def test_the_valid_base_of_the_malformed_cases_is_accepted() -> None:
    assert outcome(_VALID) == "accepted"


# --- schema ------------------------------------------------------------------------------

REQUIRED_ALWAYS = ("event_id", "dossier_id", "unit_id", "status", "occurred_at")
RECEIPT_STATUSES = (2, 4, 5, 6, 7, 8, 9, 10)


@pytest.mark.parametrize("field", REQUIRED_ALWAYS)
@pytest.mark.parametrize("absent", [OMIT, None], ids=["missing", "null"])
def test_missing_required_field_is_schema(field: str, absent: object) -> None:
    assert outcome(event(2, **{field: absent})) == "schema"


@pytest.mark.parametrize("status", [*RECEIPT_STATUSES, "received", "returned", "processing"])
@pytest.mark.parametrize("field", ["received_at", "due_at"])
@pytest.mark.parametrize("absent", [OMIT, None], ids=["missing", "null"])
def test_receipt_fields_required_on_statuses_2_and_4_to_10(
    status: int | str, field: str, absent: object
) -> None:
    assert outcome(event(status, **{field: absent})) == "schema"


@pytest.mark.parametrize("status", [1, 3, "submitted", "refused"])
def test_receipt_fields_not_required_on_statuses_1_and_3(status: int | str) -> None:
    doc = event(status, received_at=OMIT, due_at=OMIT)
    assert "received_at" not in doc and "due_at" not in doc
    assert outcome(doc) == "accepted"
    assert outcome(event(status, received_at=None, due_at=None)) == "accepted"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("event_id", 5),
        ("event_id", ["ev-1"]),
        ("event_id", {"id": "ev-1"}),
        ("event_id", True),
        ("event_id", 1.5),
        ("event_id", ""),
        ("dossier_id", 7),
        ("dossier_id", ""),
        ("dossier_id", ["d-1"]),
        ("unit_id", 1),
        ("unit_id", ""),
        ("unit_id", ["u-a"]),
        ("status", 2.0),
        ("status", 10.0),
        ("status", True),
        ("status", False),
        ("status", [2]),
        ("status", {"code": 2}),
        ("occurred_at", 1773108000),
        ("occurred_at", True),
        ("occurred_at", ["2026-03-10T09:00:00+07:00"]),
        ("received_at", 1773108000),
        ("due_at", {"at": "2026-03-13T17:00:00+07:00"}),
        ("ended_at", 0),
        ("procedure_code", 1004227),
        ("agency_id", 5),
        ("visits", True),
        ("visits", False),
        ("visits", "3"),
        ("visits", 1.5),
        ("visits", 2.0),
        ("visits", -1),
        ("visits", [1]),
        ("apology", "yes"),
        ("apology", 1),
        ("apology", "true"),
        ("paid_online", "true"),
        ("paid_online", 1),
        ("digitized", 0),
        ("digitized", "no"),
        ("channel", "web"),
        ("channel", "ONLINE"),
        ("channel", "Online"),
        ("channel", "truc_tuyen"),
        ("channel", ""),
        ("channel", 2),
        ("channel", True),
        ("channel", ["online"]),
        ("online_mode", "toan_trinh"),
        ("online_mode", "FULL"),
        ("online_mode", ""),
        ("online_mode", True),
        ("online_mode", 1),
        ("supplements", {}),
        ("supplements", "none"),
        ("supplements", 2),
        ("supplements", True),
        ("supplements", [{}]),
        ("supplements", [{"completed_at": "2026-03-11T09:00:00+07:00"}]),
        ("supplements", [{"requested_at": None}]),
        ("supplements", ["2026-03-11T09:00:00+07:00"]),
        ("supplements", [{"requested_at": "yesterday"}]),
        ("supplements", [{"requested_at": "2026-03-11T09:00:00"}]),
        ("supplements", [{"requested_at": 1773108000}]),
        (
            "supplements",
            [
                {"requested_at": "2026-03-11T09:00:00+07:00"},
                {"requested_at": "2026-03-11T10:00:00+07:00", "completed_at": "soon"},
            ],
        ),
    ],
)
def test_wrong_type_or_value_is_schema(field: str, value: object) -> None:
    assert outcome(event(2, **{field: value})) == "schema"


@pytest.mark.parametrize(
    ("field", "ok", "bad"),
    [
        ("event_id", "e" * 128, "e" * 129),
        ("dossier_id", "d" * 64, "d" * 65),
        ("dossier_id", "đ" * 64, "đ" * 65),  # characters, not bytes
        ("unit_id", LONG_UNIT, LONG_UNIT + "x"),
        ("procedure_code", "1" * 32, "1" * 33),
        ("agency_id", "a" * 64, "a" * 65),
    ],
)
def test_length_limits(field: str, ok: str, bad: str) -> None:
    assert outcome(event(2, **{field: ok})) == "accepted"
    assert outcome(event(2, **{field: bad})) == "schema"


def test_65_char_unit_id_is_schema_not_unknown_unit() -> None:
    assert "u-" + "y" * 63 not in UNITS
    assert outcome(event(2, unit_id="u-" + "y" * 63)) == "schema"


BAD_TIMESTAMPS = [
    "2026-03-10T09:00:00",  # no offset
    "2026-03-10T09:00:00.5",  # no offset, fraction
    "2026-03-10 09:00",
    "2026-03-10",
    "09:00:00+07:00",
    "yesterday",
    "",
    "2026-02-30T09:00:00+07:00",  # Feb 30
    "2026-02-29T09:00:00+07:00",  # 2026 is not a leap year
    "2026-13-01T09:00:00+07:00",
    "2026-03-10T25:00:00+07:00",
    "2026-03-10T09:60:00+07:00",
    "10/03/2026 09:00:00+07:00",
    "2026-03-10T09:00:00+0700",  # RFC 3339 offsets have a colon
]


@pytest.mark.parametrize("field", ["occurred_at", "received_at", "due_at", "ended_at"])
@pytest.mark.parametrize("text", BAD_TIMESTAMPS)
def test_bad_timestamp_is_schema(field: str, text: str) -> None:
    assert outcome(event(2, **{field: text})) == "schema"


def test_bad_optional_ended_at_is_schema_even_on_a_status_that_does_not_need_it() -> None:
    assert outcome(event(4, ended_at="2026-03-10T09:00:00")) == "schema"
    assert outcome(event(1, ended_at="not a time")) == "schema"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-10T09:00:00+07:00", "2026-03-10T02:00:00+00:00"),
        ("2026-03-10T02:00:00Z", "2026-03-10T02:00:00+00:00"),
        ("2026-03-10T02:00:00z", "2026-03-10T02:00:00+00:00"),
        ("2026-03-09T21:00:00-05:00", "2026-03-10T02:00:00+00:00"),
        ("2026-03-10T09:00:00.250+07:00", "2026-03-10T02:00:00.250+00:00"),
        ("2026-03-10T07:30:00+05:30", "2026-03-10T02:00:00+00:00"),
    ],
)
def test_timestamp_forms(text: str, expected: str) -> None:
    ev = accepted(event(4, occurred_at=text))
    assert ev.occurred_at == ts(expected)


def test_feb_29_of_a_leap_year_is_fine() -> None:
    ev = accepted(event(4, occurred_at="2028-02-29T09:00:00+07:00"))
    assert ev.occurred_at == ts("2028-02-29T02:00:00+00:00")


# --- unknown_status ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "status",
    [
        0,
        11,
        -1,
        100,
        "RETURNED",
        "Returned",
        "2",
        "10",
        "",
        "returned ",
        "da_tra_ket_qua",
        "Đã trả",
    ],
)
def test_unknown_status(status: int | str) -> None:
    assert outcome(event(2, status=status)) == "unknown_status"


def test_unknown_status_does_not_require_receipt_fields() -> None:
    assert outcome(event(11, received_at=OMIT, due_at=OMIT)) == "unknown_status"


@pytest.mark.parametrize(
    ("field", "literal", "expected"),
    [
        # A JSON integer is an integer however many digits it has.
        ("status", b"100000000000000000000", "unknown_status"),
        ("visits", b"100000000000000000000", "accepted"),
    ],
)
def test_integers_beyond_64_bits_are_still_integers(
    field: str, literal: bytes, expected: str
) -> None:
    doc = event(2)
    doc[field] = 0
    raw = orjson.dumps(doc).replace(f'"{field}":0'.encode(), f'"{field}":'.encode() + literal)
    assert literal in raw
    assert outcome(raw) == expected


@pytest.mark.parametrize(
    "text",
    [
        # valid RFC 3339 with an offset; no precision limit
        "2099-12-31T23:59:59+07:00",
        "1970-01-01T00:00:00Z",
        "2026-03-10T09:00:00.1234567891+07:00",
        "2026-03-10t09:00:00z",
    ],
)
def test_parseable_timestamps_with_offset_are_not_schema(text: str) -> None:
    assert outcome(event(4, occurred_at=text)) == "accepted"


@pytest.mark.parametrize(
    "text",
    [
        # README "Interpretations" 1: years outside 1970-2099 are not plausible event times
        "2100-01-01T00:00:00+07:00",
        "1969-12-31T23:59:59Z",
        "9999-12-31T23:59:59-07:00",
        "0001-01-01T00:00:00+07:00",
    ],
)
def test_absurd_years_are_schema(text: str) -> None:
    assert outcome(event(4, occurred_at=text)) == "schema"


@pytest.mark.parametrize(("name", "code"), sorted(STATUS.items(), key=lambda kv: kv[1]))
def test_status_name_and_code_are_equivalent(name: str, code: int) -> None:
    by_name = accepted(event(name, event_id="ev-same"))
    by_code = accepted(event(code, event_id="ev-same"))
    assert by_name == by_code
    assert by_name.status == code


# --- unknown_unit ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "unit", ["u-c", "U-A", "u-a ", " u-a", "u_a", "qn-ttpvhcc", "u-" + "y" * 62]
)
def test_unknown_unit(unit: str) -> None:
    assert outcome(event(2, unit_id=unit)) == "unknown_unit"


@pytest.mark.parametrize("unit", ["u-prov", "u-a", "u-b", LONG_UNIT])
def test_known_units(unit: str) -> None:
    assert accepted(event(2, unit_id=unit)).unit_id == unit


# --- invalid_times -----------------------------------------------------------------------

R = "2026-03-10T09:00:00+07:00"


@pytest.mark.parametrize(
    ("status", "fields", "expected"),
    [
        (2, {"received_at": R, "due_at": "2026-03-10T08:59:59+07:00"}, "invalid_times"),
        (2, {"received_at": R, "due_at": "2026-03-10T01:59:59Z"}, "invalid_times"),
        (2, {"received_at": R, "due_at": "2026-03-09T17:00:00+07:00"}, "invalid_times"),
        (4, {"received_at": R, "ended_at": "2026-03-10T08:59:59+07:00"}, "invalid_times"),
        (10, {"received_at": R, "ended_at": "2026-03-10T08:00:00+07:00"}, "invalid_times"),
        # ended_at defaults to occurred_at on statuses 7-10
        (9, {"received_at": R, "occurred_at": "2026-03-10T08:59:00+07:00"}, "invalid_times"),
        (1, {"received_at": R, "due_at": "2026-03-10T08:00:00+07:00"}, "invalid_times"),
        (3, {"received_at": R, "ended_at": "2026-03-10T08:00:00+07:00"}, "invalid_times"),
        # equal is fine
        (2, {"received_at": R, "due_at": R}, "accepted"),
        (10, {"received_at": R, "due_at": R, "ended_at": R}, "accepted"),
        (10, {"received_at": R, "due_at": R, "ended_at": OMIT, "occurred_at": R}, "accepted"),
        (2, {"received_at": R, "due_at": "2026-03-10T02:00:00Z"}, "accepted"),
        # compared as instants, not as text: 08:00+05:00 is 03:00Z, after 09:00+07:00 = 02:00Z
        (2, {"received_at": R, "due_at": "2026-03-10T08:00:00+05:00"}, "accepted"),
        (10, {"received_at": R, "ended_at": "2026-03-10T08:00:00+05:00"}, "accepted"),
        # occurred_at before received_at is not a rule on non-ending statuses
        (4, {"received_at": R, "occurred_at": "2026-03-10T08:00:00+07:00"}, "accepted"),
        # nothing to compare without received_at
        (1, {"due_at": "2020-01-01T00:00:00+07:00"}, "accepted"),
        (3, {"ended_at": "2020-01-01T00:00:00+07:00"}, "accepted"),
    ],
)
def test_invalid_times(status: int, fields: dict[str, Any], expected: str) -> None:
    assert outcome(event(status, **fields)) == expected


# --- order of the rules ------------------------------------------------------------------

_EARLY_DUE = {"received_at": R, "due_at": "2026-03-09T17:00:00+07:00"}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"status": 0, "dossier_id": OMIT}, "schema"),
        ({"status": "RETURNED", "channel": "web"}, "schema"),
        ({"status": 11, "supplements": "x"}, "schema"),
        ({"status": 11, "visits": -1}, "schema"),
        ({"status": 11, "occurred_at": "2026-03-10T09:00:00"}, "schema"),
        ({"unit_id": "u-zzz", "event_id": OMIT}, "schema"),
        ({"unit_id": "u-zzz", "visits": -1}, "schema"),
        ({"unit_id": "u-zzz", "apology": "yes"}, "schema"),
        ({**_EARLY_DUE, "channel": "web"}, "schema"),
        ({**_EARLY_DUE, "online_mode": "both"}, "schema"),
        ({**_EARLY_DUE, "status": 0, "unit_id": "u-zzz", "event_id": ""}, "schema"),
        ({"status": 0, "unit_id": "u-zzz"}, "unknown_status"),
        ({"status": "RETURNED", "unit_id": "u-zzz"}, "unknown_status"),
        ({**_EARLY_DUE, "status": 11}, "unknown_status"),
        ({**_EARLY_DUE, "status": 0, "unit_id": "u-zzz"}, "unknown_status"),
        ({**_EARLY_DUE, "unit_id": "u-zzz"}, "unknown_unit"),
        ({**_EARLY_DUE, "unit_id": "U-A"}, "unknown_unit"),
    ],
)
def test_first_failing_rule_decides(fields: dict[str, Any], expected: str) -> None:
    assert outcome(event(2, **fields)) == expected


# --- accepted events ---------------------------------------------------------------------


def test_contract_example_is_parsed_to_the_kept_fields() -> None:
    """The example of EVENTS.md v2, field for field."""
    doc = {
        "event_id": "7f1c",
        "dossier_id": "000.00.21.H41-261124-0007",
        "procedure_code": "1.004227",
        "unit_id": "u-prov",
        "agency_id": "so-tnmt",
        "status": "returned",
        "occurred_at": "2026-11-24T09:12:00+07:00",
        "received_at": "2026-11-19T14:02:00+07:00",
        "due_at": "2026-11-26T17:00:00+07:00",
        "ended_at": "2026-11-24T08:40:00+07:00",
        "channel": "online",
        "online_mode": "full",
        "supplements": [],
        "fee_required": True,
        "paid_online": True,
        "digitized": True,
        "visits": 1,
    }
    assert accepted(doc) == Event(
        event_id="7f1c",
        dossier_id="000.00.21.H41-261124-0007",
        unit_id="u-prov",
        status=10,
        occurred_at=ts("2026-11-24T02:12:00+00:00"),
        received_at=ts("2026-11-19T07:02:00+00:00"),
        due_at=ts("2026-11-26T10:00:00+00:00"),
        ended_at=ts("2026-11-24T01:40:00+00:00"),
        channel="online_full",
        supplements=0,
        apology=False,
        fee_required=True,
        paid_online=True,
        digitized=True,
        visits=1,
        rating=None,
        procedure="1.004227",
        agency="so-tnmt",
    )


@pytest.mark.parametrize(
    ("channel", "mode", "expected"),
    [
        (OMIT, OMIT, "in_person"),
        (None, None, "in_person"),
        ("in_person", OMIT, "in_person"),
        ("in_person", "full", "in_person"),
        ("online", OMIT, "online_partial"),
        ("online", None, "online_partial"),
        ("online", "partial", "online_partial"),
        ("online", "full", "online_full"),
        ("postal", OMIT, "postal"),
        ("postal", "full", "postal"),
    ],
)
def test_channel(channel: object, mode: object, expected: str) -> None:
    assert accepted(event(2, channel=channel, online_mode=mode)).channel == expected


@pytest.mark.parametrize("status", [7, 8, 9, 10])
def test_ended_at_defaults_to_occurred_at_on_ending_statuses(status: int) -> None:
    ev = accepted(event(status, occurred_at="2026-03-11T10:00:00+07:00"))
    assert ev.ended_at == ts("2026-03-11T10:00:00+07:00")
    ev = accepted(event(status, occurred_at="2026-03-11T10:00:00+07:00", ended_at=None))
    assert ev.ended_at == ts("2026-03-11T10:00:00+07:00")


@pytest.mark.parametrize("status", [1, 2, 3, 4, 5, 6])
def test_ended_at_has_no_default_on_other_statuses(status: int) -> None:
    assert accepted(event(status)).ended_at is None


def test_explicit_ended_at_is_kept() -> None:
    ev = accepted(event(10, ended_at="2026-03-10T08:40:00+07:00"))
    assert ev.ended_at == ts("2026-03-10T08:40:00+07:00")


@pytest.mark.parametrize(
    ("supplements", "count"),
    [
        (OMIT, 0),
        (None, 0),
        ([], 0),
        ([{"requested_at": "2026-03-10T10:00:00+07:00"}], 1),
        (
            [
                {
                    "requested_at": "2026-03-10T10:00:00+07:00",
                    "completed_at": "2026-03-11T10:00:00+07:00",
                },
                {"requested_at": "2026-03-12T10:00:00+07:00", "completed_at": None},
            ],
            2,
        ),
    ],
)
def test_supplement_count(supplements: object, count: int) -> None:
    assert accepted(event(4, supplements=supplements)).supplements == count


@pytest.mark.parametrize(
    ("value", "expected"), [(OMIT, False), (None, False), (False, False), (True, True)]
)
def test_apology(value: object, expected: bool) -> None:
    assert accepted(event(4, apology=value)).apology is expected


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("procedure_code", None),
        ("procedure_code", ""),
        ("agency_id", None),
        ("paid_online", None),
        ("digitized", False),
        ("visits", 0),
        ("visits", None),
        ("visits", 7),
        ("x_future_field", {"nested": [1, 2, {"deep": None}]}),
    ],
)
def test_optional_fields_accepted(field: str, value: object) -> None:
    assert outcome(event(2, **{field: value})) == "accepted"


# --- personal data -----------------------------------------------------------------------

PII = {
    "applicant_name": "Nguyễn Văn An",
    "citizen_id": "001099012345",
    "phone": "0912345678",
    "address": "12 Lê Lợi, Hạ Long",
    "email": "an.nguyen@example.vn",
}
KEPT_FIELDS = {
    "event_id",
    "dossier_id",
    "unit_id",
    "status",
    "occurred_at",
    "received_at",
    "due_at",
    "ended_at",
    "channel",
    "supplements",
    "apology",
    # v2: the fields the new KPIs need, and the case's procedure and agency codes
    "fee_required",
    "paid_online",
    "digitized",
    "visits",
    "rating",
    "procedure",
    "agency",
}


def test_unknown_fields_are_not_kept_on_the_event() -> None:
    ev = accepted(event(2, **PII))
    assert set(Event.__struct_fields__) == KEPT_FIELDS
    for name, value in PII.items():
        assert not hasattr(ev, name)
        assert value not in repr(ev)


@pytest.mark.parametrize(
    "fields",
    [
        {"channel": PII["phone"]},
        {"online_mode": PII["citizen_id"]},
        {"unit_id": "nguyen-van-an"},
        {"status": PII["applicant_name"]},
        {"occurred_at": PII["address"]},
        {"visits": PII["citizen_id"]},
    ],
)
def test_rejection_detail_names_no_field_values(fields: dict[str, Any]) -> None:
    result = parse_event(orjson.dumps(event(2, **PII, **fields)), UNITS)
    assert isinstance(result, Rejection)
    for value in (*PII.values(), *map(str, fields.values())):
        assert value not in result.detail

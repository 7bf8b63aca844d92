"""The parser's fast path accepts exactly what the rule-by-rule validator accepts.

``parse_event`` first tries ``_fast`` (msgspec decodes the raw bytes into the contract's
typed fields, then one pass of checks, for the common valid case) and falls back to
orjson and ``_validate`` (every EVENTS.md rule in order, with the first failing rule's
reason). For any message the two must give the same outcome: the same :class:`Event`,
or, when the fast path declines, the validator's rejection. Besides documents, the
messages include raw JSON that decoders are known to treat differently (unknown fields
holding invalid UTF-8 or ``1e400``, deep nesting, duplicate keys, escapes...).
"""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ioc_testkit import LONG_UNIT, UNITS

from ioc_monitor import events
from ioc_monitor.events import Event, Rejection

FIELDS = (
    "event_id", "dossier_id", "procedure_code", "unit_id", "agency_id", "status",
    "occurred_at", "received_at", "due_at", "ended_at", "channel", "online_mode",
    "supplements", "apology", "fee_required", "paid_online", "digitized", "visits", "rating",
)  # fmt: skip

TIMES = st.sampled_from(
    [
        "2026-03-02T09:00:00+07:00",
        "2026-03-01T09:00:00+07:00",
        "2026-03-13T17:00:00.25Z",
        "2026-03-02t02:00:00z",
        "2026-03-02 02:00:00+00:00",
        "2026-03-02T09:00:00",  # no offset
        "2026-02-30T09:00:00+07:00",  # no such day
        "1969-12-31T23:59:59Z",
        "2100-01-01T00:00:00Z",
        "2026-03-02T09:00:00+24:00",
        "x" * 70,
    ]
)
VALUES: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 12),
    st.integers(min_value=2**63, max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", "u-a", "u-zzz", LONG_UNIT, "received", "returned", "online", "full",
                     "partial", "postal", "in_person", "satisfied", "unsatisfied", "x" * 129]),
    TIMES,
    st.lists(st.fixed_dictionaries({"requested_at": TIMES}, optional={"completed_at": TIMES}),
             max_size=3),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)  # fmt: skip


def _valid(status: int) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "event_id": "e-1",
        "dossier_id": "d-1",
        "unit_id": "u-a",
        "status": status,
        "occurred_at": "2026-03-02T09:00:00+07:00",
    }
    if status in (2, 4, 5, 6, 7, 8, 9, 10):
        doc["received_at"] = "2026-03-02T08:00:00+07:00"
        doc["due_at"] = "2026-03-13T17:00:00+07:00"
    return doc


def _slow(raw: bytes) -> Event | Rejection:
    """The rule-by-rule validator alone (what ``parse_event`` falls back to)."""
    assert len(raw) <= events.MAX_MESSAGE_BYTES  # the size check comes before both paths
    return events._parse_checked(raw, UNITS)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    status=st.integers(1, 10),
    changes=st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=5),
    dropped=st.sets(st.sampled_from(FIELDS), max_size=2),
)
def test_fast_path_and_validator_agree(
    status: int, changes: dict[str, Any], dropped: set[str]
) -> None:
    doc = {**_valid(status), **changes}
    for name in dropped:
        doc.pop(name, None)
    raw = json.dumps(doc).encode()
    slow = _slow(raw)
    assert events.parse_event(raw, UNITS) == slow
    fast = events._fast(raw, UNITS)
    assert fast is None or fast == slow  # never accepts what the validator rejects


#: Raw JSON pieces (bytes, not documents) that decoders are known to disagree on.
RAW_VALUES = st.sampled_from(
    [
        b'"\xff"', b'"\xc3"', b'"a\xed\xa0\x80b"',  # invalid UTF-8 (also a raw surrogate)
        b'"\\ud800"', b'"\\udc00x"', b'"\\ud83d\\ude00"',  # lone / paired surrogates
        b'"\\q"', b'"\\u12"', b'"\x01"', b'"\\u0000"',  # bad escapes, control char, NUL
        b"1e400", b"-1e400", b"NaN", b"Infinity", b"01", b"-", b"1.", b".5", b"-0", b"1E2",
        b"100000000000000000000", b"-9223372036854775809", b"18446744073709551616",
        b"[" * 1100 + b"]" * 1100, b"[" * 200 + b"]" * 200, b'{"a":' * 600 + b"1" + b"}" * 600,
        b"true", b"null", b"[]", b"{}", b'"\xef\xbc\x92\xef\xbc\x90"',  # fullwidth "20"
        b'"2026-03-02T09:00:00+07:00"', b'"\xef\xbc\x92026-03-02T09:00:00+07:00"',
    ]
)  # fmt: skip


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    status=st.integers(1, 10),
    field=st.sampled_from([*FIELDS, "x", "applicant_name", "unit\\u005fid"]),
    value=RAW_VALUES,
    where=st.sampled_from(["first", "last"]),
    around=st.sampled_from([b"", b" ", b"\n\t", b"\xef\xbb\xbf", b" x", b","]),
)
def test_fast_path_and_validator_agree_on_raw_json(
    status: int, field: str, value: bytes, where: str, around: bytes
) -> None:
    """A field with a raw JSON value, before or after the valid fields (duplicate keys
    included), with bytes around the document: both paths give the same outcome."""
    body = orjson.dumps(_valid(status))[1:-1]
    member = b'"' + field.encode() + b'":' + value
    inner = member + b"," + body if where == "first" else body + b"," + member
    raw = (around if around == b"\xef\xbb\xbf" else b"") + b"{" + inner + b"}"
    if around != b"\xef\xbb\xbf":
        raw += around
    slow = _slow(raw)
    assert events.parse_event(raw, UNITS) == slow
    fast = events._fast(raw, UNITS)
    assert fast is None or fast == slow


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"x":"\xff",' + orjson.dumps(_valid(1))[1:], "malformed_json"),
        (orjson.dumps(_valid(1))[:-1] + b',"x":1e400}', "malformed_json"),
        (orjson.dumps(_valid(1))[:-1] + b',"x":' + b"[" * 1100 + b"]" * 1100 + b"}",
         "malformed_json"),
        (orjson.dumps({**_valid(1), "occurred_at": "\uff12026-03-02T09:00:00+07:00"}), "schema"),
    ],
    ids=["invalid-utf8-in-unknown-field", "1e400-in-unknown-field", "nesting-1100",
         "fullwidth-digit"],
)  # fmt: skip
def test_what_msgspec_alone_would_let_through_is_rejected(raw: bytes, reason: str) -> None:
    """msgspec skips an unknown field's value without a full check (and ``\\d`` matches
    any Unicode digit): these are still rejected, with the validator's reason."""
    out = events.parse_event(raw, UNITS)
    assert isinstance(out, Rejection) and out.reason == reason


def test_the_fast_path_takes_the_common_valid_events() -> None:
    """A full v2 event is accepted by the fast path itself (not only by the fallback)."""
    doc = {
        **_valid(10),
        "procedure_code": "1.004227",
        "agency_id": "so-tnmt",
        "ended_at": "2026-03-10T08:40:00+07:00",
        "channel": "online",
        "online_mode": "full",
        "supplements": [{"requested_at": "2026-03-03T08:00:00+07:00"}],
        "fee_required": True,
        "paid_online": True,
        "digitized": True,
        "visits": 1,
        "rating": "satisfied",
    }
    fast = events._fast(json.dumps(doc).encode(), UNITS)
    assert fast is not None and fast == _slow(json.dumps(doc).encode())
    assert fast.rating == "satisfied" and fast.supplements == 1 and fast.channel == "online_full"


@pytest.mark.parametrize("literal", ["18446744073709551617", "9223372036854775809"])
def test_visits_beyond_64_bits_are_kept_exactly_by_both_paths(literal: str) -> None:
    """orjson gives a float for such a literal: the validator reads the exact integer."""
    raw = json.dumps(_valid(1))[:-1].encode() + b', "visits": ' + literal.encode() + b"}"
    slow = _slow(raw)
    assert isinstance(slow, Event) and slow.visits == int(literal)
    assert events.parse_event(raw, UNITS) == slow

"""``parse_timestamp`` against a reference written from RFC 3339 and KPIS.md with datetime.

The reference: ``YYYY-MM-DD[Tt ]HH:MM:SS[.frac](Z|z|±HH:MM)`` in ASCII digits, a real
date and time (seconds 00–59), a year in 1970–2099, an offset of at most 23:59; the value
is ``datetime(..., tzinfo=UTC).timestamp() + float(frac) - offset``, bit for bit. The
parser's shortcuts (fixed positions, a cache per minute) must give exactly that.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ioc_monitor.timeutil import parse_timestamp

_SHAPE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?"
    r"(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))"
)


def reference(text: str) -> float | None:
    m = _SHAPE.fullmatch(text)
    if m is None:
        return None
    year = int(m.group(1))
    if not 1970 <= year <= 2099:
        return None
    try:
        fields = (int(m.group(i)) for i in range(2, 7))
        value = datetime(year, *fields, tzinfo=UTC).timestamp()
    except ValueError:
        return None
    if m.group(7):
        value += float(m.group(7))
    if m.group(8) is None:
        hours, minutes = int(m.group(10)), int(m.group(11))
        if hours > 23 or minutes > 59:
            return None
        offset = hours * 3600 + minutes * 60
        value -= offset if m.group(9) == "+" else -offset
    return value


def _two(lo: int, hi: int) -> st.SearchStrategy[str]:
    return st.integers(lo, hi).map(lambda v: f"{v:02d}")


TEXTS = st.builds(
    lambda y, mo, d, sep, h, mi, s, frac, off: f"{y}-{mo}-{d}{sep}{h}:{mi}:{s}{frac}{off}",
    st.integers(1965, 2105).map(str),
    _two(0, 13),
    _two(0, 32),
    st.sampled_from("Tt x"),
    _two(0, 25),
    _two(0, 61),
    st.one_of(_two(0, 61), st.sampled_from(["0５", "６0", "5", "123"])),
    st.sampled_from(["", "", ".5", ".25", ".123456789", "."]),
    st.sampled_from(["Z", "z", "+07:00", "-03:30", "+24:00", "+23:59", "-00:60", "", "+0700"]),
)


@settings(max_examples=3000, deadline=None)
@given(text=TEXTS)
def test_parse_timestamp_equals_the_reference(text: str) -> None:
    got, want = parse_timestamp(text), reference(text)
    assert got == want
    assert got is None or want is None or got.hex() == want.hex()
    assert parse_timestamp(text) == got  # the same again (from the caches)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("2025-07-01T00:00:02+07:00", 1_751_302_802.0),  # 2025-06-30 17:00:02 UTC
        ("2025-07-01T00:00:59+07:00", 1_751_302_859.0),
        ("2025-07-01T00:00:02Z", 1_751_328_002.0),
    ],
)
def test_by_hand(text: str, seconds: float) -> None:
    assert parse_timestamp(text) == seconds


@pytest.mark.parametrize(
    "text",
    [
        "2025-07-01T00:00:60+07:00",  # no leap seconds
        "２０２５-07-01T00:00:02+07:00",  # RFC 3339 digits are ASCII
        "2025-07-01T00:00:0２+07:00",
        "2025-07-01T00:00:02+07:0０",
    ],
)
def test_rejected(text: str) -> None:
    assert parse_timestamp(text) is None

"""Time parsing and bucketing: RFC 3339 with a mandatory offset, local time UTC+7.

All instants are float seconds since the Unix epoch (UTC). Local time is
Asia/Ho_Chi_Minh, a fixed UTC+7 with no daylight saving, so local dates are plain
arithmetic on the epoch.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from functools import lru_cache

__all__ = [
    "LOCAL_OFFSET_S",
    "MAX_YEAR",
    "MIN_YEAR",
    "day_index",
    "day_of",
    "hour_index",
    "minute_index",
    "month_first_day",
    "month_of_day",
    "parse_timestamp",
]

#: Offset of Asia/Ho_Chi_Minh from UTC, in seconds (UTC+7, no DST).
LOCAL_OFFSET_S = 7 * 3600
#: Years outside [MIN_YEAR, MAX_YEAR] are rejected as not a plausible event time.
MIN_YEAR = 1970
MAX_YEAR = 2099

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))"
)


@lru_cache(maxsize=131072)
def parse_timestamp(text: str) -> float | None:
    """Parse an RFC 3339 timestamp that carries an offset.

    Args:
        text: e.g. ``2026-11-24T09:12:00+07:00`` or ``2026-11-24T02:12:00.5Z``.

    Returns:
        Seconds since the epoch, or ``None`` when the text has no offset, does not
        parse, names an impossible date or time, or a year outside 1970–2099.
    """
    m = _RFC3339.fullmatch(text)
    if m is None:
        return None
    year = int(m.group(1))
    if not MIN_YEAR <= year <= MAX_YEAR:
        return None
    try:
        base = datetime(
            year,
            int(m.group(2)),
            int(m.group(3)),
            int(m.group(4)),
            int(m.group(5)),
            int(m.group(6)),
            tzinfo=UTC,
        ).timestamp()
    except ValueError:
        return None
    frac = m.group(7)
    if frac is not None:
        base += float(frac)
    if m.group(8) is None:
        oh, om = int(m.group(10)), int(m.group(11))
        if oh > 23 or om > 59:
            return None
        offset = oh * 3600 + om * 60
        base -= offset if m.group(9) == "+" else -offset
    return base


def minute_index(t: float) -> int:
    """Return floor(t, 1 min) as whole minutes since the epoch."""
    return int(t // 60)


def hour_index(t: float) -> int:
    """Return floor(t, 1 h) as whole hours since the epoch."""
    return int(t // 3600)


def day_index(t: float) -> int:
    """Return the local (UTC+7) calendar day of ``t`` as days since 1970-01-01."""
    return int((t + LOCAL_OFFSET_S) // 86400)


def day_of(index: int) -> date:
    """Return the calendar date of a local day index (see :func:`day_index`)."""
    return date.fromordinal(index + _EPOCH_ORDINAL)


@lru_cache(maxsize=4096)
def month_of_day(index: int) -> int:
    """Return the local calendar month of a local day index, as ``year * 12 + month - 1``."""
    d = day_of(index)
    return d.year * 12 + d.month - 1


def month_first_day(month: int) -> int:
    """Return the local day index of the first day of a month (see :func:`month_of_day`)."""
    return date(month // 12, month % 12 + 1, 1).toordinal() - _EPOCH_ORDINAL

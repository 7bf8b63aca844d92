"""Time parsing and bucketing: RFC 3339 with a mandatory offset, local time UTC+7.

All instants are float seconds since the Unix epoch (UTC). Local time is
Asia/Ho_Chi_Minh, a fixed UTC+7 with no daylight saving, so local dates are plain
arithmetic on the epoch.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from typing import Final

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
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))",
    re.ASCII,  # RFC 3339's DIGIT is 0-9 only (``\d`` alone also matches e.g. "２")
)


@lru_cache(maxsize=65536)
def _day_number(year: str, month: str, day: str) -> int | None:
    """Days since 1970-01-01 of a calendar date given as digit strings, if it exists.

    ``None`` for a year outside 1970–2099 or an impossible date (e.g. 2026-02-30).
    """
    y = int(year)
    if not MIN_YEAR <= y <= MAX_YEAR:
        return None
    try:
        return date(y, int(month), int(day)).toordinal() - _EPOCH_ORDINAL
    except ValueError:
        return None


#: Two-digit seconds, ``"00"`` to ``"59"``, and their value.
_SECONDS: Final = {f"{s:02d}": s for s in range(60)}
#: Texts parsed so far and their instants, emptied when it holds :data:`_STAMPS_MAX`:
#: a dossier's events repeat its ``received_at`` and ``due_at``, and the result is a
#: function of the text alone, so the cache never changes an answer.
_STAMPS: Final[dict[str, float]] = {}
_STAMPS_MAX: Final = 1 << 17


def parse_timestamp(text: str) -> float | None:
    """Parse an RFC 3339 timestamp that carries an offset.

    Args:
        text: e.g. ``2026-11-24T09:12:00+07:00`` or ``2026-11-24T02:12:00.5Z``.

    Returns:
        Seconds since the epoch, or ``None`` when the text has no offset, does not
        parse, names an impossible date or time, or a year outside 1970–2099. The
        whole seconds are exact; a fraction is added as ``float`` of its digits, then
        the offset subtracted (the result equals
        ``datetime(..., tzinfo=UTC).timestamp() + float(fraction) - offset``).
        Whole-second texts with a numeric offset (``...:SS+HH:MM``, 25 characters)
        are parsed once per minute: the minute's start plus the seconds, which is the
        same exact integer. A text seen recently is answered from a cache.
    """
    t = _STAMPS.get(text)
    if t is not None:
        return t
    if len(text) == 25 and text[19] in "+-" and (seconds := _SECONDS.get(text[17:19])) is not None:
        start = _parse_cached(text[:17] + "00" + text[19:])
        t = None if start is None else start + seconds
    else:
        t = _parse_cached(text)
    if t is not None:
        if len(_STAMPS) >= _STAMPS_MAX:
            _STAMPS.clear()
        _STAMPS[text] = t
    return t


@lru_cache(maxsize=131072)
def _parse_cached(text: str) -> float | None:
    """:func:`parse_timestamp` by the regular expression (see there)."""
    m = _RFC3339.fullmatch(text)
    if m is None:
        return None
    year, month, day, hh, mm, ss, frac, zulu, sign, oh, om = m.groups()
    days = _day_number(year, month, day)
    if days is None:
        return None
    h, mi, s = int(hh), int(mm), int(ss)
    if h > 23 or mi > 59 or s > 59:
        return None
    base = float(days * 86400 + h * 3600 + mi * 60 + s)
    if frac is not None:
        base += float(frac)
    if zulu is None:
        offset_h, offset_m = int(oh), int(om)
        if offset_h > 23 or offset_m > 59:
            return None
        offset = offset_h * 3600 + offset_m * 60
        base -= offset if sign == "+" else -offset
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

"""Shared builders for the KPI-core tests (not a test module).

Expected numbers in the tests are worked out by hand from spec/EVENTS.md,
spec/KPIS.md and spec/METRICS.md; nothing here calls the code under test to
produce an expectation. Times are written in local time (UTC+7) unless a test is
about offsets.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import Any, Final

import orjson

from ioc_monitor.memstore import MemoryStore
from ioc_monitor.offline import exposition, process
from ioc_monitor.registry import parse_registry
from ioc_monitor.snapshot import Snapshot, UnitFigures

LOCAL: Final = timezone(timedelta(hours=7))
#: A registered unit id of exactly 64 characters (the longest allowed).
LONG_UNIT: Final = "u-" + "x" * 62

REGISTRY: Final = parse_registry(
    f"""
units:
  - id: u-prov
    name: Trung tam Phuc vu hanh chinh cong tinh
    level: province
  - id: u-a
    name: Bo phan mot cua xa A
    level: commune
  - id: u-b
    name: Bo phan mot cua xa B
    level: commune
  - id: {LONG_UNIT}
    name: Don vi co ma dai
    level: district
"""
)
UNITS: Final = REGISTRY.ids

WINDOWS: Final = ("1h", "24h", "7d", "30d", "today", "month", "quarter", "year")
REASONS: Final = (
    "too_large",
    "malformed_json",
    "schema",
    "unknown_status",
    "unknown_unit",
    "invalid_times",
)
CHANNEL_SERIES: Final = (
    "received:in_person",
    "received:online_full",
    "received:online_partial",
    "received:postal",
)
TIMELINESS_SERIES: Final = ("completed:early", "completed:on_time", "completed:late")
#: The KPIS.md v2 counts beyond receipts, completions and refusals.
V2_SERIES: Final = (
    "digitized",
    "completed_with_fee",
    "paid_online",
    "multi_visit",
    "rated:satisfied",
    "rated:unsatisfied",
)
ALL_SERIES: Final = (*CHANNEL_SERIES, *TIMELINESS_SERIES, "refused", *V2_SERIES)

#: Status codes by name, as in the EVENTS.md status table.
STATUS: Final = {
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
NEEDS_RECEIPT: Final = frozenset({2, 4, 5, 6, 7, 8, 9, 10})

#: Marks a field to leave out of the built event entirely (not even ``null``).
OMIT: Final[Any] = object()

DEFAULT_OCCURRED: Final = "2026-03-10T09:00:00+07:00"
DEFAULT_RECEIVED: Final = "2026-03-10T08:00:00+07:00"
DEFAULT_DUE: Final = "2026-03-13T17:00:00+07:00"

_ids = itertools.count(1)


def ts(text: str) -> float:
    """Seconds since the epoch of an ISO timestamp with an offset (stdlib, not the code)."""
    parsed = datetime.fromisoformat(text)
    assert parsed.tzinfo is not None, text
    return parsed.timestamp()


def fresh_id(prefix: str = "ev") -> str:
    return f"{prefix}-{next(_ids)}"


def event(status: int | str = 2, /, **fields: Any) -> dict[str, Any]:
    """A valid event dict; ``received_at``/``due_at`` default in when the status needs them.

    Keyword arguments override fields (``status`` too); ``OMIT`` removes a field.
    """
    code = STATUS.get(status, status) if isinstance(status, str) else status
    doc: dict[str, Any] = {
        "event_id": fresh_id(),
        "dossier_id": "d-1",
        "unit_id": "u-a",
        "status": status,
        "occurred_at": DEFAULT_OCCURRED,
    }
    if code in NEEDS_RECEIPT:
        doc["received_at"] = DEFAULT_RECEIVED
        doc["due_at"] = DEFAULT_DUE
    for key, value in fields.items():
        if value is OMIT:
            doc.pop(key, None)
        else:
            doc[key] = value
    return doc


def msg(status: int | str = 2, /, **fields: Any) -> bytes:
    return orjson.dumps(event(status, **fields))


def encode(messages: Iterable[bytes | dict[str, Any]]) -> list[bytes]:
    return [m if isinstance(m, bytes) else orjson.dumps(m) for m in messages]


def run(messages: Iterable[bytes | dict[str, Any]]) -> MemoryStore:
    return process(encode(messages), REGISTRY)


def snap_at(messages: Iterable[bytes | dict[str, Any]], clock: str | float | None) -> Snapshot:
    """Process the messages and take a snapshot at an explicit clock (text or seconds)."""
    store = run(messages)
    return store.snapshot(ts(clock) if isinstance(clock, str) else clock)


def zero_totals(**counts: int) -> dict[str, int]:
    """Every series of a unit's totals, zero except the ones given (``received_postal=1``)."""
    out = dict.fromkeys(ALL_SERIES, 0)
    for key, n in counts.items():
        series = key
        if series not in out:
            for head in ("received", "completed", "rated"):
                series = series.replace(f"{head}_", f"{head}:")
        assert series in out, key
        out[series] = n
    return out


def window_count(fig: UnitFigures, window: str, series: str) -> int:
    return fig.windows.get(window, {}).get(series, 0)


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"')

Sample = tuple[str, frozenset[tuple[str, str]]]


def samples(text: bytes) -> dict[Sample, str]:
    """Parse a Prometheus text exposition into ``{(name, labels): value text}``."""
    out: dict[Sample, str] = {}
    for line in text.decode().splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        assert m is not None, line
        labels = frozenset(_LABEL.findall(m.group(2) or ""))
        key = (m.group(1), labels)
        assert key not in out, line
        out[key] = m.group(3)
    return out


def key(name: str, **labels: str) -> Sample:
    return (name, frozenset(labels.items()))


def expo(snap: Snapshot) -> dict[Sample, str]:
    return samples(exposition(snap, REGISTRY))


def scorecard_unit_stream() -> list[dict[str, Any]]:
    """Seven dossiers of u-a exercising every v2 family, worked by hand in test_scorecard.

    March 2026: R = 5 (online 2, digitised 2), completed 2 (1 early, 1 late), with fee
    2, paid online 1, multi-visit 1, rated 1 satisfied and 1 unsatisfied; open 3 (one
    due 03-19 17:00, one 03-20 17:00, one 03-22 17:00); February: one on-time; December
    2025: one early. The watermark is 2026-03-20 08:00 local.
    """

    def ev(status: int, dossier: str, occurred: str, **fields: Any) -> dict[str, Any]:
        return event(status, dossier_id=dossier, occurred_at=f"2026-{occurred}:00+07:00", **fields)

    def at(day: str) -> str:
        return f"2026-{day}:00+07:00"

    return [
        # d1: March, online full, digitised, early, fee paid online, rated satisfied
        ev(2, "d1", "03-02T08:10", received_at=at("03-02T08:00"), due_at=at("03-10T17:00"),
           channel="online", online_mode="full", digitized=True, fee_required=True),
        ev(10, "d1", "03-05T10:00", received_at=at("03-02T08:00"), due_at=at("03-10T17:00"),
           paid_online=True, rating="satisfied"),
        # d2: March, in person, late, fee via status 6 paid at the desk, 3 visits,
        # rated unsatisfied after its completion
        ev(2, "d2", "03-03T09:00", received_at=at("03-03T09:00"), due_at=at("03-11T17:00"),
           visits=1),
        ev(6, "d2", "03-09T09:00", received_at=at("03-03T09:00"), due_at=at("03-11T17:00"),
           visits=2),
        ev(10, "d2", "03-12T09:00", received_at=at("03-03T09:00"), due_at=at("03-11T17:00"),
           visits=3),
        ev(10, "d2", "03-15T09:00", received_at=at("03-03T09:00"), due_at=at("03-11T17:00"),
           rating="unsatisfied"),
        # d3: online partial, digitised, open, overdue at the clock
        ev(2, "d3", "03-18T08:00", received_at=at("03-18T08:00"), due_at=at("03-19T17:00"),
           channel="online", digitized=True),
        # d4: open, due in 53 h (72h only); d5: postal, open, due in 5 h (24h and 72h)
        ev(2, "d4", "03-19T08:00", received_at=at("03-19T08:00"), due_at=at("03-22T17:00")),
        ev(2, "d5", "03-20T08:00", received_at=at("03-20T08:00"), due_at=at("03-20T17:00"),
           channel="postal"),
        # d6: February, in person, on time (ended on its due date): in quarter and year only
        ev(2, "d6", "02-10T08:00", received_at=at("02-10T08:00"), due_at=at("02-12T17:00")),
        ev(9, "d6", "02-12T10:00", received_at=at("02-10T08:00"), due_at=at("02-12T17:00")),
        # d7: December 2025, early: in no calendar window of 2026
        event(2, dossier_id="d7", occurred_at="2025-12-01T08:00:00+07:00",
              received_at="2025-12-01T08:00:00+07:00", due_at="2025-12-10T17:00:00+07:00"),
        event(9, dossier_id="d7", occurred_at="2025-12-02T08:00:00+07:00",
              received_at="2025-12-01T08:00:00+07:00", due_at="2025-12-10T17:00:00+07:00"),
    ]  # fmt: skip

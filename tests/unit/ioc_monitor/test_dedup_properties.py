"""Per-dossier de-duplication at any age (KPIS.md v2), with hypothesis.

Logs spanning more than a year, with whole-log duplicate storms and re-sends that
arrive 40, 200 or 380 days after the original, folded in any batch sizes and split
over 1–6 partitions (each partition its own store and its own watermark, as the
worker keeps them in Redis): processed, duplicate, rejected and every series equal
one store over the whole log in one order (what ``ioc kpi`` computes). The counts
also equal a model written from the spec alone: a message is a duplicate exactly when
its (dossier_id, event_id) pair came earlier.
"""

from __future__ import annotations

import zlib
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ioc_testkit import LOCAL, REGISTRY, event

from ioc_monitor.engine import fold, parse_batch
from ioc_monitor.memstore import MemoryStore
from ioc_monitor.snapshot import Snapshot

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
BASE = datetime(2025, 7, 1, 8, 0, tzinfo=LOCAL)
DAY = timedelta(days=1)
REJECT = b'{"event_id": "bad"'  # malformed JSON, rejected wherever it lands


def _iso(at: datetime) -> str:
    return at.isoformat()


@st.composite
def dossier_events(draw: st.DrawFn, n: int) -> list[dict[str, Any]]:
    """One dossier's lifecycle: received, maybe processed, maybe completed, in 0-20 days."""
    start = (
        BASE
        + draw(st.integers(0, 420)) * DAY
        + draw(st.integers(0, 8 * 3600)) * timedelta(seconds=1)
    )
    due = start + draw(st.integers(1, 15)) * DAY
    unit = draw(st.sampled_from(("u-prov", "u-a", "u-b")))
    shared = draw(st.booleans())  # ids shared with other dossiers: still not duplicates
    ids = [f"{'shared' if shared else f'd{n}'}-{i}" for i in range(3)]
    common = {"dossier_id": f"d{n}", "unit_id": unit}
    received = {"received_at": _iso(start), "due_at": _iso(due)}
    events = [event(2, event_id=ids[0], occurred_at=_iso(start), **common, **received)]
    if draw(st.booleans()):
        at = start + draw(st.integers(0, 5)) * DAY
        events.append(event(4, event_id=ids[1], occurred_at=_iso(at), **common, **received))
    if draw(st.booleans()):
        end = start + draw(st.integers(0, 20)) * DAY
        events.append(event(10, event_id=ids[2], occurred_at=_iso(end), **common, **received))
    return events


@st.composite
def logs(draw: st.DrawFn) -> list[bytes]:
    """A log over about 14 months, in time order, with storms and late re-sends."""
    events = [e for n in range(draw(st.integers(2, 10))) for e in draw(dossier_events(n))]
    events.sort(key=lambda e: e["occurred_at"])
    log = [orjson.dumps(e) for e in events]
    for i in draw(st.lists(st.integers(0, len(log)), max_size=2)):
        log.insert(i, REJECT)
    times = [datetime.fromisoformat(e["occurred_at"]) for e in events]
    resends = draw(
        st.lists(st.tuples(st.integers(0, len(events) - 1), st.sampled_from((40, 200, 380))))
    )
    for index, days in resends:  # arrives when the log has moved ``days`` past it
        arrives = times[index] + days * DAY
        where = next((i for i, m in enumerate(log) if m != REJECT and _time(m) >= arrives), None)
        log.insert(len(log) if where is None else where, log_message(events[index]))
    if draw(st.booleans()):
        log = log + log  # the whole history sent again
    return log


def log_message(doc: dict[str, Any]) -> bytes:
    return orjson.dumps(doc)


def _time(message: bytes) -> datetime:
    return datetime.fromisoformat(orjson.loads(message)["occurred_at"])


def _fold_all(messages: list[bytes], sizes: list[int]) -> MemoryStore:
    store = MemoryStore()
    i, turn = 0, 0
    while i < len(messages):
        size = sizes[turn % len(sizes)]
        batch = messages[i : i + size]
        store.apply(fold(parse_batch(batch, REGISTRY.ids), store, store.watermark))
        i, turn = i + size, turn + 1
    return store


def _partition(message: bytes, partitions: int) -> int:
    try:
        dossier = orjson.loads(message)["dossier_id"]
    except orjson.JSONDecodeError:
        return 0
    return zlib.crc32(dossier.encode()) % partitions


def _summed(snaps: list[Snapshot]) -> dict[str, Any]:
    """What the exporter adds up over partitions: every count of every unit."""
    out: Counter[str] = Counter()
    for snap in snaps:
        out["processed"] += snap.processed
        out["duplicate"] += snap.duplicate
        for reason, n in snap.rejected.items():
            out[f"rejected:{reason}"] += n
        for unit, fig in snap.units.items():
            out.update({f"{unit}:total:{s}": n for s, n in fig.totals.items()})
            out[f"{unit}:in_progress"] += fig.in_progress
            out[f"{unit}:overdue"] += fig.overdue
            for window, counts in fig.windows.items():
                out.update({f"{unit}:{window}:{s}": n for s, n in counts.items()})
    return {k: v for k, v in out.items() if v}


@SETTINGS
@given(
    log=logs(),
    partitions=st.integers(1, 6),
    sizes=st.lists(st.integers(1, 7), min_size=1, max_size=3),
)
def test_counts_do_not_depend_on_partitions_batches_or_arrival(
    log: list[bytes], partitions: int, sizes: list[int]
) -> None:
    whole = _fold_all(log, [2000])
    clock = whole.watermark
    parts = [
        _fold_all([m for m in log if _partition(m, partitions) == p], sizes)
        for p in range(partitions)
    ]
    assert _summed([p.snapshot(clock) for p in parts]) == _summed([whole.snapshot(clock)])
    # The spec's own answer for the counts (every re-send is within the horizon).
    seen: set[tuple[str, str]] = set()
    processed = duplicate = rejected = 0
    for message in log:
        if message == REJECT:
            rejected += 1
            continue
        doc = orjson.loads(message)
        pair = (doc["dossier_id"], doc["event_id"])
        duplicate += pair in seen
        processed += pair not in seen
        seen.add(pair)
    snap = whole.snapshot(clock)
    assert (snap.processed, snap.duplicate, sum(snap.rejected.values())) == (
        processed,
        duplicate,
        rejected,
    )

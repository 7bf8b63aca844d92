"""Order, duplicate and batching invariance (KPIS.md), plus a spec model, with hypothesis."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from unittest import mock

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ioc_testkit import (
    ALL_SERIES,
    LOCAL,
    REGISTRY,
    WINDOWS,
    event,
    expo,
    key,
    ts,
)

from ioc_monitor import offline
from ioc_monitor.offline import exposition
from ioc_monitor.report import to_json
from ioc_monitor.snapshot import Snapshot

SETTINGS = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

BASE = int(ts("2026-03-01T00:00:00+07:00"))
DAY = 86400
UNITS = ("u-prov", "u-a", "u-b")
CHANNELS = (
    ({}, "in_person"),
    ({"channel": "in_person"}, "in_person"),
    ({"channel": "online"}, "online_partial"),
    ({"channel": "online", "online_mode": "partial"}, "online_partial"),
    ({"channel": "online", "online_mode": "full"}, "online_full"),
    ({"channel": "postal"}, "postal"),
)
REJECTS = (
    b"{",
    b"[]",
    b"x" * 70_000,
    orjson.dumps(event(2, event_id="rej-1", unit_id="u-zzz")),
    orjson.dumps(event(0, event_id="rej-2")),
    orjson.dumps(event(2, event_id="rej-3", channel="fax")),
    orjson.dumps(event(2, event_id="rej-4", due_at="2026-03-01T00:00:00+07:00")),
)
SUPP = {"requested_at": "2026-03-01T09:00:00+07:00"}


def iso(sec: int) -> str:
    return datetime.fromtimestamp(sec, LOCAL).isoformat()


# --- generation --------------------------------------------------------------------------


#: The v2 fields an event may carry (KPIS.md v2), each independently present or not.
V2_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "fee_required": st.booleans(),
        "paid_online": st.sampled_from([False, False, True]),
        "digitized": st.booleans(),
        "visits": st.integers(0, 4),
        "rating": st.sampled_from(["satisfied", "unsatisfied"]),
    },
)


@st.composite
def dossier(draw: st.DrawFn, idx: int) -> list[dict[str, Any]]:
    unit = draw(st.sampled_from(UNITS))
    other_unit = st.sampled_from([unit, unit, unit, *UNITS])
    apology = st.sampled_from([False, False, False, False, True, None])
    gap = st.integers(0, 2 * DAY)
    start = BASE + draw(st.integers(0, 20 * DAY))
    kind = draw(st.sampled_from(["refused", "open", "completed", "completed"]))
    events: list[dict[str, Any]] = []

    def add(status: int, **fields: Any) -> None:
        doc = event(
            status,
            event_id=f"p{idx}-{len(events)}",
            dossier_id=f"d{idx}",
            unit_id=unit if not events else draw(other_unit),
            **{**draw(V2_FIELDS), **fields},
        )
        events.append({k: v for k, v in doc.items() if v is not None})

    t = start
    if draw(st.booleans()):
        add(
            1,
            occurred_at=iso(t),
            received_at=None,
            due_at=None,
            **draw(st.sampled_from(CHANNELS))[0],
        )
        t += draw(gap)
    if kind == "refused":
        add(3, occurred_at=iso(t), received_at=None, due_at=None)
        if draw(st.booleans()):
            add(3, occurred_at=iso(t + draw(gap)), received_at=None, due_at=None)
        return events

    received = t
    due = received + draw(st.integers(0, 6 * DAY))
    occurred = received + draw(st.integers(-120, 3600))
    t = max(t, occurred)
    receipt = {"received_at": iso(received)}
    add(
        2,
        occurred_at=iso(occurred),
        due_at=iso(due),
        **receipt,
        **draw(st.sampled_from(CHANNELS))[0],
    )
    n_supp = 0
    for _ in range(draw(st.integers(0, 3))):
        status = draw(st.sampled_from([4, 5, 6]))
        n_supp += status == 5
        t += draw(gap)
        if draw(st.booleans()):
            due = received + draw(st.integers(0, 10 * DAY))
        add(
            status,
            occurred_at=iso(t),
            due_at=iso(due),
            supplements=[SUPP] * n_supp if draw(st.booleans()) else None,
            apology=draw(apology),
            **receipt,
            **draw(st.sampled_from(CHANNELS))[0],
        )
    if kind == "completed":
        t += draw(gap)
        ended = draw(st.one_of(st.none(), st.integers(received, t)))
        add(
            draw(st.sampled_from([7, 8, 9, 10])),
            occurred_at=iso(t),
            ended_at=None if ended is None else iso(ended),
            due_at=iso(due),
            supplements=[SUPP] * draw(st.integers(0, 3)),
            apology=draw(apology),
            **receipt,
        )
        for _ in range(draw(st.integers(0, 2))):
            t += draw(gap)
            add(4, occurred_at=iso(t), due_at=iso(received), apology=True, **receipt)
    return events


@st.composite
def scenario(draw: st.DrawFn) -> tuple[list[list[dict[str, Any]]], list[bytes]]:
    n = draw(st.integers(1, 8))
    dossiers = [draw(dossier(i)) for i in range(n)]
    rejects = draw(st.lists(st.sampled_from(REJECTS), max_size=3))
    return dossiers, rejects


def interleave(
    draw: st.DrawFn, dossiers: list[list[dict[str, Any]]], rejects: list[bytes]
) -> list[bytes]:
    """Any merge of the dossiers' event lists keeping each dossier's own order."""
    tags = [i for i, evs in enumerate(dossiers) for _ in evs] + [-1] * len(rejects)
    order = draw(st.permutations(tags))
    cursors = [0] * len(dossiers)
    rej = iter(rejects)
    out: list[bytes] = []
    for i in order:
        if i < 0:
            out.append(next(rej))
        else:
            out.append(orjson.dumps(dossiers[i][cursors[i]]))
            cursors[i] += 1
    return out


def process(messages: list[bytes], batch: int = 2000) -> offline.MemoryStore:
    with mock.patch.object(offline, "BATCH_SIZE", batch):
        return offline.process(messages, REGISTRY)


# --- a model of KPIS.md, written from the spec -------------------------------------------


def local_date(t: float) -> tuple[int, int, int]:
    d = datetime.fromtimestamp(t, LOCAL)
    return d.year, d.month, d.day


def in_window(window: str, t: float, clock: float) -> bool:
    if window in ("1h", "24h"):
        span = 60 if window == "1h" else 1440
        ft, fc = math.floor(t / 60), math.floor(clock / 60)
        return fc - span < ft <= fc
    if window in ("7d", "30d"):
        span = 168 if window == "7d" else 720
        ft, fc = math.floor(t / 3600), math.floor(clock / 3600)
        return fc - span < ft <= fc
    if t > clock:
        return False
    (y, m, d), (cy, cm, cd) = local_date(t), local_date(clock)
    if window == "today":
        return (y, m, d) == (cy, cm, cd)
    if window == "month":
        return (y, m) == (cy, cm)
    if window == "quarter":
        return (y, (m - 1) // 3) == (cy, (cm - 1) // 3)
    return y == cy


@dataclass
class UnitModel:
    totals: Counter[str] = field(default_factory=Counter)
    items: list[tuple[str, float]] = field(default_factory=list)
    dues: list[float] = field(default_factory=list)


def model(dossiers: list[list[dict[str, Any]]]) -> dict[str, UnitModel]:
    units: dict[str, UnitModel] = {}
    for events in dossiers:
        for e in events:
            units.setdefault(e["unit_id"], UnitModel())
        um = units[events[0]["unit_id"]]
        received = completed = refused = apology = fee = paid = rated = False
        supp_events = visits = 0
        due: float | None = None
        due_occ: float | None = None
        for e in events:
            occ = ts(e["occurred_at"])
            if "rating" in e and not rated:  # the first rating counts, also after completion
                rated = True
                um.items.append((f"rated:{e['rating']}", occ))
            if completed:
                continue
            apology = apology or bool(e.get("apology"))
            fee = fee or bool(e.get("fee_required")) or bool(e.get("paid_online"))
            fee = fee or e["status"] == 6
            paid = paid or bool(e.get("paid_online"))
            visits = max(visits, e.get("visits", 0))
            supp_events += e["status"] == 5
            if "due_at" in e and (due_occ is None or occ >= due_occ):
                due, due_occ = ts(e["due_at"]), occ
            if e["status"] == 3 and not refused:
                refused = True
                um.items.append(("refused", occ))
            if "received_at" in e and not received:
                received = True
                channel = "in_person"
                if e.get("channel") == "online":
                    channel = "online_full" if e.get("online_mode") == "full" else "online_partial"
                elif e.get("channel") == "postal":
                    channel = "postal"
                um.items.append((f"received:{channel}", ts(e["received_at"])))
                if e.get("digitized"):
                    um.items.append(("digitized", ts(e["received_at"])))
            if e["status"] in (7, 8, 9, 10):
                completed = True
                end = ts(e["ended_at"]) if "ended_at" in e else occ
                e_due = ts(e["due_at"])
                supplements = max(len(e.get("supplements") or []), supp_events)
                if end > e_due or supplements > 1 or apology:
                    timeliness = "late"
                elif local_date(end) < local_date(e_due):
                    timeliness = "early"
                else:
                    timeliness = "on_time"
                um.items.append((f"completed:{timeliness}", end))
                if fee:
                    um.items.append(("completed_with_fee", end))
                if paid:
                    um.items.append(("paid_online", end))
                if visits >= 3:
                    um.items.append(("multi_visit", end))
        if received and not completed:
            um.dues.append(math.inf if due is None else due)
    for um in units.values():
        um.totals = Counter(series for series, _ in um.items)
    return units


def check_against_model(snap: Snapshot, dossiers: list[list[dict[str, Any]]]) -> None:
    assert snap.clock is not None
    expected = model(dossiers)
    assert set(snap.units) == set(expected)
    for unit, um in expected.items():
        fig = snap.units[unit]
        assert dict(fig.totals) == {s: um.totals[s] for s in ALL_SERIES}, unit
        assert fig.in_progress == len(um.dues), unit
        assert fig.overdue == sum(1 for d in um.dues if d < snap.clock), unit
        assert dict(fig.due_soon) == {
            "24h": sum(1 for d in um.dues if snap.clock < d <= snap.clock + 86400),
            "72h": sum(1 for d in um.dues if snap.clock < d <= snap.clock + 3 * 86400),
        }, unit
        for window in WINDOWS:
            want = Counter(s for s, t in um.items if in_window(window, t, snap.clock))
            assert dict(fig.windows.get(window, {})) == dict(want), (unit, window)


def watermark_of(dossiers: list[list[dict[str, Any]]]) -> float:
    return max(ts(e["occurred_at"]) for evs in dossiers for e in evs)


# --- properties --------------------------------------------------------------------------


@SETTINGS
@given(data=st.data(), sc=scenario(), later=st.integers(0, 3 * DAY))
def test_snapshot_matches_the_spec_model(data: st.DataObject, sc: Any, later: int) -> None:
    dossiers, rejects = sc
    messages = interleave(data.draw, dossiers, rejects)
    store = process(messages)
    assert store.watermark == watermark_of(dossiers)
    check_against_model(store.snapshot(store.watermark), dossiers)
    check_against_model(store.snapshot(store.watermark + later), dossiers)
    n_events = sum(len(evs) for evs in dossiers)
    assert store.processed == n_events
    assert sum(store.rejected.values()) == len(rejects)
    assert store.duplicate == 0


@SETTINGS
@given(data=st.data(), sc=scenario(), later=st.integers(0, 3 * DAY))
def test_any_interleaving_gives_the_same_snapshot(data: st.DataObject, sc: Any, later: int) -> None:
    dossiers, rejects = sc
    one = process(interleave(data.draw, dossiers, rejects))
    two = process(interleave(data.draw, dossiers, rejects))
    assert one.watermark == two.watermark
    for clock in (one.watermark, one.watermark + later):
        a, b = one.snapshot(clock), two.snapshot(clock)
        assert to_json(a, REGISTRY) == to_json(b, REGISTRY)
        assert exposition(a, REGISTRY) == exposition(b, REGISTRY)


@SETTINGS
@given(data=st.data(), sc=scenario(), later=st.integers(0, 3 * DAY))
def test_duplicates_change_only_the_duplicate_counter(
    data: st.DataObject, sc: Any, later: int
) -> None:
    dossiers, rejects = sc
    messages = interleave(data.draw, dossiers, rejects)
    accepted = [i for i, m in enumerate(messages) if m not in REJECTS]
    picks = data.draw(st.lists(st.sampled_from(accepted), min_size=1, max_size=6))
    with_dups = list(messages)
    for i in picks:
        doc = orjson.loads(messages[i])
        # same event_id, other content: a later occurred_at, an apology, another channel
        doc["occurred_at"] = iso(int(ts(doc["occurred_at"])) + 400 * DAY)
        doc["apology"] = True
        doc["channel"] = "postal"
        original = with_dups.index(messages[i])
        where = data.draw(st.integers(original + 1, len(with_dups)))
        with_dups.insert(where, orjson.dumps(doc))
    base, dup = process(messages), process(with_dups)
    assert dup.duplicate == len(picks)
    assert dup.watermark == base.watermark
    for clock in (base.watermark, base.watermark + later):
        a, b = expo(base.snapshot(clock)), expo(dup.snapshot(clock))
        dup_key = key("ioc_events_duplicate_total")
        assert (a.pop(dup_key), b.pop(dup_key)) == ("0.0", f"{len(picks)}.0")
        assert a == b


@SETTINGS
@given(data=st.data(), sc=scenario(), sizes=st.lists(st.integers(1, 10), min_size=1, max_size=3))
def test_batch_size_does_not_matter(data: st.DataObject, sc: Any, sizes: list[int]) -> None:
    dossiers, rejects = sc
    messages = interleave(data.draw, dossiers, rejects)
    whole = process(messages)
    expected = to_json(whole.snapshot(whole.watermark), REGISTRY)
    for size in sizes:
        store = process(messages, batch=size)
        assert to_json(store.snapshot(store.watermark), REGISTRY) == expected, size

"""The simulator's spec-v2 fields and its calibration, measured from the emitted events.

Every figure is computed here from the JSON lines by the definitions of KPIS.md v2,
written out below (not by the monitor's KPI code): per dossier, the receipt is the first
event carrying ``received_at``; the completion is the first event with status 7–10; it
is late when its end time is after its ``due_at``, or the dossier had more than one
supplement request, or an apology; online means channel ``online`` at receipt.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
import pytest

from ioc_monitor.events import Event, parse_event
from ioc_monitor.registry import UnitRegistry, load_registry
from services.simulate.feed import DEFAULT_START, SimConfig, generate_lines

DAY = 86400
END = ("withdrawn", "stopped", "decided", "returned")
#: A busy commune-level unit that slips in the tests below.
SLIPPER = "qn-c-mong-duong"

Record = dict[str, Any]


def _ts(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def _end_time(event: Record) -> float:
    """KPIS.md: the end time of a completing event is ``ended_at``, else ``occurred_at``."""
    return _ts(str(event.get("ended_at") or event["occurred_at"]))


@dataclass
class Life:
    """One dossier's events as emitted, and what KPIS.md derives from them."""

    events: list[Record] = field(default_factory=list)

    @property
    def unit(self) -> str:
        return str(self.events[0]["unit_id"])

    @property
    def receipt(self) -> Record | None:
        return next((e for e in self.events if "received_at" in e), None)

    @property
    def completion(self) -> Record | None:
        return next((e for e in self.events if e["status"] in END), None)

    def upto_completion(self) -> list[Record]:
        end = self.completion
        return self.events if end is None else self.events[: self.events.index(end) + 1]

    def late(self) -> bool:
        end = self.completion
        assert end is not None
        before = self.upto_completion()
        supplements = max(
            len(end.get("supplements", [])),
            sum(e["status"] == "supplement_requested" for e in before),
        )
        finished = _end_time(end)
        apology = any(e.get("apology") is True for e in before)
        return finished > _ts(end["due_at"]) or supplements > 1 or apology

    def with_fee(self) -> bool:
        return any(
            e.get("fee_required") is True
            or e.get("paid_online") is True
            or e["status"] == "fee_requested"
            for e in self.upto_completion()
        )

    def paid_online(self) -> bool:
        return any(e.get("paid_online") is True for e in self.upto_completion())

    def multi_visit(self) -> bool:
        return max(int(e.get("visits", 0)) for e in self.upto_completion()) >= 3

    def rating(self) -> Record | None:
        return next((e for e in self.events if "rating" in e), None)


def _lives(lines: list[bytes]) -> dict[str, Life]:
    lives: dict[str, Life] = defaultdict(Life)
    for line in lines:
        obj = orjson.loads(line)
        lives[obj["dossier_id"]].events.append(obj)
    return lives


def _share(hits: int, n: int) -> float:
    assert n > 0
    return hits / n


@pytest.fixture(scope="module")
def units() -> UnitRegistry:
    return load_registry()


@pytest.fixture(scope="module")
def default_lines(units: UnitRegistry) -> list[bytes]:
    """Whole lives of 30,000 dossiers of the default levels (province + commune)."""
    return list(generate_lines(units, SimConfig(seed=7, dossiers=30_000)))


@pytest.fixture(scope="module")
def lives(default_lines: list[bytes]) -> dict[str, Life]:
    return _lives(default_lines)


def _level(units: UnitRegistry, unit_id: str) -> str:
    unit = units.get(unit_id)
    assert unit is not None
    return unit.level


# -- EVENTS.md v2 --------------------------------------------------------------------------


def test_v2_fields_are_valid(units: UnitRegistry, default_lines: list[bytes]) -> None:
    for line in default_lines[::7]:  # the monitor's parser (test_simulate parses them all)
        assert isinstance(parse_event(line, units.ids), Event), line[:200]
    for line in default_lines:  # the types of EVENTS.md v2, whatever the parser checks
        obj = orjson.loads(line)
        for key in ("fee_required", "paid_online", "digitized", "apology"):
            assert key not in obj or isinstance(obj[key], bool), (key, obj)
        assert obj.get("rating", "satisfied") in ("satisfied", "unsatisfied")
        visits = obj["visits"]
        assert isinstance(visits, int) and not isinstance(visits, bool) and visits >= 0
        received = "received_at" in obj
        assert ("fee_required" in obj) == received and ("digitized" in obj) == received
        assert "paid_online" not in obj or obj["fee_required"] is True


def test_fee_dossiers_and_online_payment(lives: dict[str, Life]) -> None:
    completed = [life for life in lives.values() if life.completion is not None]
    fee = [life for life in completed if life.with_fee()]
    assert _share(len(fee), len(completed)) == pytest.approx(1 / 3, abs=0.04)
    paid = _share(sum(life.paid_online() for life in fee), len(fee))
    assert 0.75 <= paid <= 0.9
    by_channel: dict[str, Counter[bool]] = defaultdict(Counter)
    for life in fee:
        receipt = life.receipt
        assert receipt is not None and receipt["fee_required"] is True
        by_channel[receipt["channel"]][life.paid_online()] += 1
    online = _share(by_channel["online"][True], by_channel["online"].total())
    in_person = _share(by_channel["in_person"][True], by_channel["in_person"].total())
    assert online > in_person + 0.2
    # A fee request (6) is a step of some fee dossiers, never of the others.
    requested = {
        id(life) for life in completed if any(e["status"] == "fee_requested" for e in life.events)
    }
    assert requested <= {id(life) for life in fee}
    assert 0.2 * len(fee) < len(requested) < 0.7 * len(fee)
    for life in completed:  # fee_required is the same on every event from the receipt on
        flags = {e["fee_required"] for e in life.events if "fee_required" in e}
        assert len(flags) == 1


def test_digitised_at_receipt(lives: dict[str, Life]) -> None:
    receipts = [r for life in lives.values() if (r := life.receipt) is not None]
    assert receipts[0]["status"] == "received"
    digitised = _share(sum(r["digitized"] is True for r in receipts), len(receipts))
    assert 0.7 <= digitised <= 0.8
    online = [r for r in receipts if r["channel"] == "online"]
    other = [r for r in receipts if r["channel"] != "online"]
    assert _share(sum(r["digitized"] for r in online), len(online)) > _share(
        sum(r["digitized"] for r in other), len(other)
    )
    # Some dossiers say digitized only later: it must not count (KPIS.md: the receipt).
    later = [
        life
        for life in lives.values()
        if (r := life.receipt) is not None
        and r["digitized"] is False
        and any(e.get("digitized") is True for e in life.events)
    ]
    assert 0 < len(later) < 0.05 * len(receipts)


def test_visits_are_cumulative_and_multi_visit_is_rare(lives: dict[str, Life]) -> None:
    in_person: Counter[bool] = Counter()
    with_supplement: Counter[bool] = Counter()
    for life in lives.values():
        visits = [int(e["visits"]) for e in life.events]
        assert visits == sorted(visits)
        receipt = life.receipt
        if life.completion is None or receipt is None:
            continue
        if receipt["channel"] == "in_person":
            in_person[life.multi_visit()] += 1
            if any(e["status"] == "supplement_requested" for e in life.events):
                with_supplement[life.multi_visit()] += 1
    share = _share(in_person[True], in_person.total())
    assert 0.015 <= share <= 0.05
    assert _share(with_supplement[True], with_supplement.total()) > 2 * share
    completed = sum(1 for life in lives.values() if life.completion is not None)
    assert (
        0
        < _share(sum(life.multi_visit() for life in lives.values() if life.completion), completed)
        < 0.01
    )


def test_ratings(lives: dict[str, Life]) -> None:
    returned = {
        key for key, life in lives.items() if any(e["status"] == "returned" for e in life.events)
    }
    rated: Counter[str] = Counter()
    on_completion = 0
    for key, life in lives.items():
        ratings = [e for e in life.events if "rating" in e]
        if not ratings:
            continue
        assert len(ratings) == 1
        first, end = ratings[0], life.completion
        assert end is not None and key in returned
        rated[first["rating"]] += 1
        if first is end:
            on_completion += 1
            continue
        # An extra "returned" event after the return: same receipt, due and end times.
        returns = [e for e in life.events if e["status"] == "returned"]
        assert first["status"] == "returned" and len(returns) == 2 and first is returns[1]
        assert first is life.events[-1] and first["event_id"] != returns[0]["event_id"]
        for key in ("received_at", "due_at", "ended_at", "visits", "supplements"):
            assert first[key] == returns[0][key], key
        delay = _ts(first["occurred_at"]) - _ts(returns[0]["occurred_at"])
        assert 0 < delay <= 5 * DAY
    total = rated.total()
    assert 0.2 <= _share(total, len(returned)) <= 0.35
    assert _share(rated["satisfied"], total) == pytest.approx(0.9, abs=0.03)
    assert 0.01 <= _share(on_completion, total) <= 0.1


# -- the default profile: Quảng Ninh's seed report -----------------------------------------


def test_default_on_time_and_online_per_level(units: UnitRegistry, lives: dict[str, Life]) -> None:
    completed: dict[str, Counter[bool]] = defaultdict(Counter)
    online: dict[str, Counter[bool]] = defaultdict(Counter)
    for life in lives.values():
        level = _level(units, life.unit)
        if (receipt := life.receipt) is not None:
            online[level][receipt["channel"] == "online"] += 1
        if life.completion is not None:
            completed[level][not life.late()] += 1
    on_time = {lv: _share(c[True], c.total()) for lv, c in completed.items()}
    online_share = {lv: _share(c[True], c.total()) for lv, c in online.items()}
    assert set(on_time) == {"province", "commune"}
    assert on_time["province"] >= 0.998
    assert 0.96 <= on_time["commune"] <= 0.975
    for level in ("province", "commune"):
        assert 0.85 <= online_share[level] <= 0.94, level
    overall = sum(c[True] for c in online.values()) / sum(c.total() for c in online.values())
    assert 0.87 <= overall <= 0.93


# -- slipping units ------------------------------------------------------------------------


@dataclass
class SlipRun:
    """Twenty days of twelve commune units, ``slipper`` slipping from the third day on."""

    slipper: str
    lines: list[bytes]
    since: float


@pytest.fixture(scope="module")
def slip_run(units: UnitRegistry) -> SlipRun:
    communes = UnitRegistry([u for u in units if u.level == "commune"][:12])
    first_day = generate_lines(communes, SimConfig(seed=9, days=1))
    receipts = Counter(obj["unit_id"] for obj in map(orjson.loads, first_day)
                       if obj["status"] == "received")  # fmt: skip
    slipper = receipts.most_common(1)[0][0]  # the busiest, for enough dossiers
    cfg = SimConfig(seed=9, days=20, slip=(slipper,), slip_after=2 * DAY)
    lines = list(generate_lines(communes, cfg))
    return SlipRun(slipper, lines, DEFAULT_START.timestamp() + 2 * DAY)


def _unit_figures(lives: dict[str, Life], since: float, clock: float) -> dict[str, Counter[str]]:
    """Per unit: completions since ``since`` (on time / late), open and overdue at ``clock``."""
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for life in lives.values():
        c = out[life.unit]
        end = life.completion
        if end is not None:
            if _end_time(end) >= since:
                c["late" if life.late() else "on_time"] += 1
            continue
        if life.receipt is None:
            continue
        c["open"] += 1
        due = max((e for e in life.events if "due_at" in e), key=lambda e: _ts(e["occurred_at"]))
        c["overdue"] += _ts(due["due_at"]) < clock
    return out


def _on_time(c: Counter[str]) -> float:
    return _share(c["on_time"], c["on_time"] + c["late"])


def test_a_slipping_unit_slips_and_the_others_stay_healthy(slip_run: SlipRun) -> None:
    lives = _lives(slip_run.lines)
    clock = max(_ts(orjson.loads(line)["occurred_at"]) for line in slip_run.lines[-50:])
    figures = _unit_figures(lives, slip_run.since, clock)
    assert len(figures) == 12
    bad = figures.pop(slip_run.slipper)
    assert bad["on_time"] + bad["late"] > 500
    assert 0.65 <= _on_time(bad) < 0.85  # over the slip period (late ones end late)
    assert _share(bad["overdue"], bad["open"]) > 0.08
    pooled = Counter[str]()
    for unit, c in figures.items():
        assert _on_time(c) > 0.93, unit
        pooled.update(c)
    assert 0.96 <= _on_time(pooled) <= 0.98
    assert _share(pooled["overdue"], pooled["open"]) < 0.05
    assert _share(bad["overdue"], bad["open"]) > 3 * _share(pooled["overdue"], pooled["open"])
    # Ratings and trips of the dossiers received after the slip began, slipper vs others.
    ratings: dict[bool, Counter[str]] = defaultdict(Counter)
    multi: dict[bool, Counter[bool]] = defaultdict(Counter)
    for life in lives.values():
        receipt = life.receipt
        if receipt is None or _ts(receipt["received_at"]) < slip_run.since:
            continue
        slipping = life.unit == slip_run.slipper
        if (r := life.rating()) is not None:
            ratings[slipping][r["rating"]] += 1
        if life.completion is not None and receipt["channel"] == "in_person":
            multi[slipping][life.multi_visit()] += 1
    assert 0.5 <= _share(ratings[True]["satisfied"], ratings[True].total()) <= 0.75
    assert _share(ratings[False]["satisfied"], ratings[False].total()) > 0.85
    slipping_multi = _share(multi[True][True], multi[True].total())
    assert slipping_multi > 2 * _share(multi[False][True], multi[False].total())


def test_overdue_is_a_small_share_at_the_province_centre(units: UnitRegistry) -> None:
    centre = UnitRegistry([u for u in units if u.id == "qn-ttpvhcc"])
    lines = list(generate_lines(centre, SimConfig(seed=3, days=10, scale=0.4)))
    clock = max(_ts(orjson.loads(line)["occurred_at"]) for line in lines[-50:])
    c = _unit_figures(_lives(lines), DEFAULT_START.timestamp(), clock)["qn-ttpvhcc"]
    assert c["open"] > 1000
    assert _share(c["overdue"], c["open"]) < 0.015
    assert _on_time(c) >= 0.998


def test_slipping_changes_no_event_of_the_other_units(units: UnitRegistry) -> None:
    base = SimConfig(seed=5, days=3, scale=0.3)
    plain = list(generate_lines(units, base))
    slipped = list(generate_lines(units, SimConfig(seed=5, days=3, scale=0.3,
                                                   slip=(SLIPPER,), slip_after=DAY)))  # fmt: skip

    def split(lines: list[bytes]) -> tuple[dict[str, list[bytes]], list[bytes]]:
        mine: dict[str, list[bytes]] = defaultdict(list)
        others = []
        for line in lines:
            obj = orjson.loads(line)
            if obj["unit_id"] == SLIPPER:
                mine[obj["dossier_id"]].append(line)
            else:
                others.append(line)
        return mine, others

    plain_mine, plain_others = split(plain)
    slip_mine, slip_others = split(slipped)
    assert slip_others == plain_others
    assert slip_mine != plain_mine
    # The unit's dossiers received on the first day (before the slip) are unchanged.
    first_day = {d for d in plain_mine if d.split("-")[1] == "250701"}
    assert first_day and all(slip_mine[d] == plain_mine[d] for d in first_day)


def test_slip_is_deterministic_and_checked(units: UnitRegistry) -> None:
    cfg = SimConfig(seed=4, dossiers=500, slip=(SLIPPER, "qn-ttpvhcc"), slip_after=3600)
    assert list(generate_lines(units, cfg)) == list(generate_lines(units, cfg))
    with pytest.raises(ValueError, match="qn-d-"):
        list(generate_lines(units, SimConfig(dossiers=5, slip=("qn-d-ha-long",))))

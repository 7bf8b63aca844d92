"""The dossier-event simulator: seeded, reproducible streams of EVENTS.md v2 messages.

Arrivals are drawn day by day for every simulated unit; each dossier's whole life is
planned at once (:func:`services.simulate.life.plan_dossier`) and its events wait in a
heap until the stream reaches their time, so memory depends on how many dossiers are
open at once, never on how many days are simulated. The output is ordered by
``occurred_at`` (ties in planning order) and, for the same arguments, byte-identical.

Every event from the receipt on carries ``fee_required``, ``digitized`` (judged at
receipt) and, for a dossier with a fee once it is settled, ``paid_online``; every event
carries ``visits``; some carry ``rating`` (see :mod:`services.simulate.life`).

Slipping units: ``SimConfig.slip`` names units whose dossiers received from
``SimConfig.slip_after`` simulated seconds after the start on are handled by the
slipping profile (:func:`services.simulate.model.slipping`: 72% on time in the long run,
about 80% over the first weeks, many overdue, ~62% satisfied, more trips); every other
unit stays healthy. Arrivals are drawn from one seeded generator and each unit's
dossiers from a generator of its own, so slipping a unit changes no event of the other
units (nor the unit's own dossiers received before ``slip_after``).
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Final

from ioc_monitor.registry import Unit, UnitRegistry
from ioc_monitor.timeutil import LOCAL_OFFSET_S, day_of
from services.simulate.life import Dossier, Step, new_dossier, plan_dossier
from services.simulate.model import (
    CATALOGUE,
    DAY_S,
    PROFILES,
    LevelProfile,
    Procedure,
    arrival_seconds,
    poisson,
    slipping,
    weekday_of,
)
from services.simulate.noise import add_noise
from services.simulate.wire import event_record

__all__ = [
    "DEFAULT_START",
    "LOCAL_TZ",
    "SimConfig",
    "SimEvent",
    "default_levels",
    "generate",
    "generate_lines",
    "generate_noisy",
    "live_lines",
    "records",
    "simulate",
    "simulated_levels",
    "to_local",
]

#: Local time of the province (UTC+7, no DST).
LOCAL_TZ: Final = timezone(timedelta(seconds=LOCAL_OFFSET_S))
#: Default start of a simulation: the day Decree 118/2025 took effect (a Tuesday).
DEFAULT_START: Final = datetime(2025, 7, 1, tzinfo=LOCAL_TZ)
#: District-level centres were abolished from this date; communes took over.
_REFORM: Final = datetime(2025, 7, 1, tzinfo=LOCAL_TZ)
#: The earliest a ``submitted`` event precedes its receipt is less than this (seconds).
_MAX_LEAD_S: Final = DAY_S
_LEVEL_CODE: Final = {"province": 21, "district": 30, "commune": 40}


def to_local(moment: datetime) -> int:
    """Return the local seconds (see :mod:`services.simulate.model`) of a datetime.

    Args:
        moment: An aware datetime; a naive one is taken as local time (UTC+7).

    Returns:
        Whole local seconds (floored).
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LOCAL_TZ)
    return int(moment.timestamp() // 1) + LOCAL_OFFSET_S


def default_levels(start: datetime) -> frozenset[str]:
    """Return the unit levels that operated at ``start``.

    Args:
        start: Start of the simulated period.

    Returns:
        ``province`` and ``commune`` from 1 July 2025 (Decree 118/2025), else
        ``province`` and ``district``.
    """
    late = (start if start.tzinfo else start.replace(tzinfo=LOCAL_TZ)) >= _REFORM
    return frozenset({"province", "commune" if late else "district"})


@dataclass(frozen=True, slots=True)
class SimConfig:
    """What to simulate.

    Attributes:
        seed: Seed of every random draw. Default 1.
        start: Start of the period. Default :data:`DEFAULT_START`.
        days: Length of the period in days; events at or after its end are not emitted.
            None (with ``dossiers`` None) runs without end.
        dossiers: Stop after this many arrivals and emit their whole lives (the period
            then ends with the last event). Wins over ``days`` when both are given.
        scale: Multiplier of every level's daily volume. Default 1.
        levels: Unit levels to simulate; None means :func:`default_levels` of ``start``
            (or every level of the registry when none of those is present).
        profiles: Behaviour per level. Default :data:`services.simulate.model.PROFILES`.
        catalogue: Procedures. Default :data:`services.simulate.model.CATALOGUE`.
        run_tag: Mixed into event ids (live runs use their start time so two runs of the
            same seed do not share ids). Default empty.
        slip: Ids of units that slip: their dossiers received from ``slip_after`` on
            follow the slipping profile. Default none. Every id must be a simulated unit
            of the registry (else :func:`simulate` raises ``ValueError``).
        slip_after: Simulated seconds after ``start`` from which the ``slip`` units
            slip, >= 0. Default 0 (from the start).
        slip_profiles: Slipping behaviour per level; None (default) derives it from
            ``profiles`` with :func:`services.simulate.model.slipping`.
    """

    seed: int = 1
    start: datetime = DEFAULT_START
    days: float | None = None
    dossiers: int | None = None
    scale: float = 1.0
    levels: Collection[str] | None = None
    profiles: Mapping[str, LevelProfile] = field(default_factory=lambda: PROFILES)
    catalogue: tuple[Procedure, ...] = CATALOGUE
    run_tag: str = ""
    slip: Collection[str] = ()
    slip_after: float = 0.0
    slip_profiles: Mapping[str, LevelProfile] | None = None


@dataclass(frozen=True, slots=True)
class SimEvent:
    """One planned event: the dossier, its step, and whether it is the dossier's last.

    Attributes:
        dossier: What the dossier's events share.
        step: This status change.
        index: Position of the step in the dossier's life (0-based).
        last: No later step is planned for the dossier.
    """

    dossier: Dossier
    step: Step
    index: int
    last: bool


@dataclass(slots=True)
class _Desk:
    unit: Unit
    index: int
    profile: LevelProfile
    weight: float
    procedures: tuple[Procedure, ...]
    proc_weights: tuple[float, ...]
    rng: random.Random
    slip_profile: LevelProfile | None = None


def _slip_profile(cfg: SimConfig, level: str) -> LevelProfile:
    if cfg.slip_profiles is not None and level in cfg.slip_profiles:
        return cfg.slip_profiles[level]
    return slipping(cfg.profiles[level])


def simulated_levels(units: UnitRegistry, cfg: SimConfig) -> frozenset[str]:
    """Return the unit levels a simulation covers.

    Args:
        units: The unit registry.
        cfg: What to simulate.

    Returns:
        ``cfg.levels``; when None, :func:`default_levels` of ``cfg.start``, or every
        level of the registry when it has no unit of those.
    """
    if cfg.levels is not None:
        return frozenset(cfg.levels)
    levels = default_levels(cfg.start)
    if not any(u.level in levels for u in units):
        levels = frozenset(u.level for u in units)
    return levels


def _desks(units: UnitRegistry, cfg: SimConfig, rng: random.Random) -> list[_Desk]:
    levels = simulated_levels(units, cfg)
    slip = set(cfg.slip)
    desks = []
    for index, unit in enumerate(units):
        if unit.level not in levels or unit.level not in cfg.profiles:
            continue
        profile = cfg.profiles[unit.level]
        procs = tuple(p for p in cfg.catalogue if unit.level in p.levels)
        if not procs:
            continue
        spread = profile.unit_spread
        weight = rng.lognormvariate(-spread * spread / 2, spread) if spread > 0 else 1.0
        desk_rng = random.Random(f"desk:{cfg.seed}:{unit.id}")
        slipped = _slip_profile(cfg, unit.level) if unit.id in slip else None
        desks.append(_Desk(unit, index, profile, weight, procs, tuple(p.weight for p in procs),
                           desk_rng, slipped))  # fmt: skip
    missing = slip - {d.unit.id for d in desks}
    if missing:
        raise ValueError(f"slipping units not simulated: {', '.join(sorted(missing))}")
    for level in levels:  # weights average 1 per level: the level's volume is as profiled
        same = [d for d in desks if d.unit.level == level]
        mean = sum(d.weight for d in same) / len(same) if same else 1.0
        for d in same:
            d.weight /= mean
    return desks


def _unit_code(desk: _Desk) -> str:
    i = desk.index
    return f"{i // 100:03d}.{i % 100:02d}.{_LEVEL_CODE.get(desk.unit.level, 50)}.H41"


def _new_dossier(desk: _Desk, profile: LevelProfile, arrival: int, number: int) -> Dossier:
    proc = desk.rng.choices(desk.procedures, desk.proc_weights)[0]
    yymmdd = day_of(arrival // DAY_S).strftime("%y%m%d")
    dossier_id = f"{_unit_code(desk)}-{yymmdd}-{number:04d}"
    return new_dossier(desk.rng, profile, dossier_id, desk.unit.id, proc, arrival)


def _arrivals(
    rng: random.Random, desks: list[_Desk], day: int, scale: float
) -> list[tuple[int, int]]:
    """Return ``(arrival, desk index)`` of one local day, in time order."""
    weekday = weekday_of(day)
    if weekday == 6:
        return []
    found: list[tuple[int, int]] = []
    for d, desk in enumerate(desks):
        mean = desk.profile.daily_dossiers * desk.weight * scale
        if weekday == 5:
            mean *= desk.profile.saturday_factor
        n = poisson(rng, mean)
        found.extend((day * DAY_S + arrival_seconds(rng, weekday == 5), d) for _ in range(n))
    found.sort()
    return found


def simulate(units: UnitRegistry, cfg: SimConfig) -> Iterator[SimEvent]:
    """Yield every planned event of the simulation in ``occurred_at`` order.

    Args:
        units: The unit registry (units of the simulated levels receive dossiers).
        cfg: What to simulate.

    Yields:
        The events; the stream ends with the period (or never, without an end).

    Raises:
        ValueError: ``cfg.slip`` names a unit that is not simulated.
    """
    rng = random.Random(cfg.seed)
    desks = _desks(units, cfg, rng)
    start = to_local(cfg.start)
    slip_from = start + math.ceil(cfg.slip_after)
    end = start + round(cfg.days * DAY_S) if cfg.days is not None and cfg.dossiers is None else None
    limit = cfg.dossiers
    heap: list[tuple[int, int, SimEvent]] = []
    seq = itertools.count()
    made, day = 0, start // DAY_S
    while True:
        more = bool(desks) and (limit is None or made < limit)
        more = more and (end is None or day * DAY_S < end)
        horizon = math.inf
        if more:
            counters: dict[int, int] = {}
            for arrival, d in _arrivals(rng, desks, day, cfg.scale):
                if arrival < start or (end is not None and arrival >= end):
                    continue
                if limit is not None and made >= limit:
                    break
                made += 1
                counters[d] = counters.get(d, 0) + 1
                desk = desks[d]
                profile = desk.profile
                if desk.slip_profile is not None and arrival >= slip_from:
                    profile = desk.slip_profile
                dossier = _new_dossier(desk, profile, arrival, counters[d])
                steps = plan_dossier(desk.rng, profile, dossier, arrival, start)
                for i, step in enumerate(steps):
                    ev = SimEvent(dossier, step, i, i == len(steps) - 1)
                    heapq.heappush(heap, (step.t, next(seq), ev))
            day += 1
            horizon = day * DAY_S - _MAX_LEAD_S  # later days plan nothing before this
        while heap and heap[0][0] < horizon:
            t, _, ev = heapq.heappop(heap)
            if end is not None and t >= end:
                return
            yield ev
        if not more:
            return


def _identity(t: int) -> int:
    return t


def records(
    units: UnitRegistry, cfg: SimConfig, warp: Callable[[int], int] | None = None
) -> Iterator[tuple[int, dict[str, Any], bool]]:
    """Yield ``(occurred_at, record, last)`` for every simulated event, in time order.

    Args:
        units: The unit registry.
        cfg: What to simulate.
        warp: Maps every local-seconds timestamp before it is written (live mode);
            None writes simulated times as they are.

    Yields:
        The event time (local seconds, after ``warp``), the JSON-ready event, and
        whether it is the dossier's last planned event.
    """
    w = warp or _identity
    tag = f"{cfg.seed}:{cfg.run_tag}"
    for ev in simulate(units, cfg):
        name = f"{tag}:{ev.dossier.dossier_id}:{ev.index}"
        yield w(ev.step.t), event_record(ev.dossier, ev.step, name, w), ev.last


def generate(
    units: UnitRegistry,
    seed: int = 1,
    start: datetime | None = None,
    *,
    days: float | None = None,
    dossiers: int | None = None,
    scale: float = 1.0,
    levels: Collection[str] | None = None,
    slip: Collection[str] = (),
    slip_after: float = 0.0,
) -> Iterator[dict[str, Any]]:
    """Yield valid simulated events (no noise) as JSON-ready dicts, in time order.

    Args:
        units: The unit registry.
        seed: Seed of every random draw. Default 1.
        start: Start of the period. Default :data:`DEFAULT_START`.
        days: Length of the period in days (see :class:`SimConfig`). Default: one day
            unless ``dossiers`` is given.
        dossiers: Number of dossiers to simulate to their end instead.
        scale: Multiplier of the daily volumes. Default 1.
        levels: Unit levels to simulate. Default: see :func:`default_levels`.
        slip: Ids of units that slip (see :class:`SimConfig`). Default none.
        slip_after: Simulated seconds after ``start`` from which they slip. Default 0.

    Yields:
        One dict per event, keys in a fixed order.
    """
    cfg = SimConfig(
        seed=seed,
        start=start or DEFAULT_START,
        days=1.0 if days is None and dossiers is None else days,
        dossiers=dossiers,
        scale=scale,
        levels=levels,
        slip=slip,
        slip_after=slip_after,
    )
    for _, rec, _ in records(units, cfg):
        yield rec


def generate_noisy(
    units: UnitRegistry,
    cfg: SimConfig,
    noise: float = 0.0,
    warp: Callable[[int], int] | None = None,
) -> Iterator[tuple[int, str | None, bytes]]:
    """Yield ``(time, noise kind or None, line)`` of the simulated message stream.

    Args:
        units: The unit registry.
        cfg: What to simulate.
        noise: Share of noise messages per valid event, 0–1 (see
            :mod:`services.simulate.noise`). Default 0.
        warp: Timestamp mapping, see :func:`records`.

    Yields:
        The local-seconds time the line belongs to, the noise kind (None for a plain
        valid event) and the JSON line without its newline.
    """
    return add_noise(records(units, cfg, warp), noise, cfg.seed)


def generate_lines(units: UnitRegistry, cfg: SimConfig, noise: float = 0.0) -> Iterator[bytes]:
    """Yield the simulated message stream as JSONL lines (without newlines).

    Args:
        units: The unit registry.
        cfg: What to simulate.
        noise: Share of noise messages per valid event, 0–1. Default 0.

    Yields:
        Raw message bytes, byte-identical for the same arguments.
    """
    for _, _, line in generate_noisy(units, cfg, noise):
        yield line


def live_lines(
    units: UnitRegistry,
    cfg: SimConfig,
    noise: float = 0.0,
    speedup: float = 1.0,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[bytes]:
    """Yield the simulated stream in real time, each line when its ``occurred_at`` comes.

    The simulation starts at ``cfg.start`` (normally now); simulated time runs
    ``speedup`` times faster than the wall clock, and every timestamp is mapped to the
    wall clock, so ``occurred_at`` is the emission time and procedure durations shrink
    by ``speedup``. Office hours stay those of the simulated clock.

    Args:
        units: The unit registry.
        cfg: What to simulate; ``cfg.start`` is the wall-clock origin.
        noise: Share of noise messages per valid event, 0–1. Default 0.
        speedup: Simulated seconds per wall-clock second, > 0. Default 1.
        clock: Wall clock, seconds since the epoch. Default ``time.time``.
        sleep: Sleep function, seconds. Default ``time.sleep``.

    Yields:
        Raw message bytes, each no earlier than its time.
    """
    origin = to_local(cfg.start)

    def warp(t: int) -> int:
        return origin + math.floor((t - origin) / speedup)

    for t, _, line in generate_noisy(units, cfg, noise, warp):
        delay = t - LOCAL_OFFSET_S - clock()
        if delay > 0:
            sleep(delay)
        yield line

"""Model of the dossier simulator: profiles, procedures, office time and one dossier's life.

All times here are *local seconds*: seconds since 1970-01-01T00:00 local time (UTC+7, no
DST), i.e. the epoch plus :data:`~ioc_monitor.timeutil.LOCAL_OFFSET_S`. Offices work
Monday–Friday 07:30–17:00 (no public holidays are modelled); a few desks also receive
on Saturday 07:30–11:30. Every random draw comes from the ``random.Random`` passed in,
so a seeded generator is reproducible.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

__all__ = [
    "CATALOGUE",
    "DAY_S",
    "PROFILES",
    "SATURDAY_CLOSE_S",
    "WORKDAY_CLOSE_S",
    "WORKDAY_OPEN_S",
    "Dossier",
    "LevelProfile",
    "Procedure",
    "Step",
    "add_work",
    "add_workdays",
    "arrival_seconds",
    "plan_dossier",
    "poisson",
    "snap",
    "weekday_of",
    "work_between",
]

#: Seconds in a day.
DAY_S: Final = 86400
#: Office opening, seconds after local midnight (07:30).
WORKDAY_OPEN_S: Final = 7 * 3600 + 1800
#: Office closing on Monday–Friday (17:00).
WORKDAY_CLOSE_S: Final = 17 * 3600
#: Closing of the Saturday-morning desks (11:30).
SATURDAY_CLOSE_S: Final = 11 * 3600 + 1800
_WORK_S: Final = WORKDAY_CLOSE_S - WORKDAY_OPEN_S
#: Chance the applicant collects the result in person, by online mode or channel.
_PICKUP: Final = {"in_person": 0.8, "partial": 0.6}
#: Weekday arrival intensity: (from, to, relative weight per second), local seconds of day.
_WEEKDAY_PROFILE: Final = (
    (WORKDAY_OPEN_S, 8 * 3600, 0.6),
    (8 * 3600, 10 * 3600, 1.4),
    (10 * 3600, SATURDAY_CLOSE_S, 1.1),
    (SATURDAY_CLOSE_S, 13 * 3600 + 1800, 0.35),
    (13 * 3600 + 1800, 16 * 3600, 1.2),
    (16 * 3600, WORKDAY_CLOSE_S, 0.7),
)


@dataclass(frozen=True, slots=True)
class Procedure:
    """One administrative procedure of the simulated catalogue.

    Attributes:
        code: Procedure code (MaTTHC style, illustrative).
        name: Short English description.
        agency_id: Agency that handles it.
        days: Legal processing time in working days (1–15); gives ``due_at``.
        levels: Unit levels that receive it.
        weight: Relative frequency among the procedures of a level.
        fee: Whether a fee or tax is due (may add a ``fee_requested`` step).
    """

    code: str
    name: str
    agency_id: str
    days: int
    levels: frozenset[str]
    weight: float
    fee: bool


def _proc(
    code: str, name: str, agency: str, days: int, levels: str, weight: float, fee: bool
) -> Procedure:
    return Procedure(code, name, agency, days, frozenset(levels.split(",")), weight, fee)


#: The simulated procedure catalogue (codes and durations are illustrative, not official).
CATALOGUE: Final = (
    _proc("1.004227", "land use right certificate", "so-nnmt", 10, "province", 3.0, True),
    _proc("2.001610", "enterprise registration", "so-tc", 3, "province", 3.0, True),
    _proc("1.009994", "construction permit", "so-xd", 15, "province", 1.0, True),
    _proc("1.002804", "driving licence exchange", "so-xd", 5, "province", 2.5, True),
    _proc("2.000488", "criminal record certificate", "so-tp", 10, "province", 2.0, True),
    _proc("1.000105", "work permit for a foreign worker", "so-nv", 5, "province", 0.8, True),
    _proc("1.002467", "pharmacy practice certificate", "so-yt", 15, "province", 0.5, True),
    _proc("1.001193", "birth registration", "ubnd", 1, "district,commune", 3.0, False),
    _proc("1.000894", "marriage registration", "ubnd", 1, "district,commune", 1.0, False),
    _proc("2.000815", "certified copy of a document", "ubnd", 1, "district,commune", 4.0, True),
    _proc("1.000656", "death registration", "ubnd", 1, "district,commune", 0.6, False),
    _proc("1.004222", "residence confirmation", "ubnd", 3, "district,commune", 1.2, False),
    _proc("2.000720", "household business registration", "ubnd", 3, "district,commune", 1.0, True),
    _proc("1.009995", "house construction permit", "ubnd", 15, "district,commune", 0.4, True),
    _proc("1.003003", "land use change registration", "ubnd", 10, "district,commune", 0.8, True),
)


@dataclass(frozen=True, slots=True)
class LevelProfile:
    """Behaviour of the units of one level; every share is a probability in 0–1.

    Attributes:
        daily_dossiers: Mean dossiers received per unit on a weekday (Saturday: scaled by
            ``saturday_factor``).
        saturday_factor: Saturday-morning volume as a share of a weekday's.
        unit_spread: Sigma of the log-normal weight that makes some units busier.
        online: Share received online.
        online_full: Share of online dossiers that are full-process (toàn trình).
        postal: Share received by post.
        submitted: Share of online dossiers with a ``submitted`` (1) event before receipt.
        refused: Share refused at intake (3).
        withdrawn: Share withdrawn by the applicant (7).
        stopped: Share stopped by the unit (8).
        supplement: Share of on-time dossiers with one supplement request (5).
        fee: Share of dossiers of a fee-paying procedure with a ``fee_requested`` step.
        late: Share ending late (after ``due_at``, or with two supplement requests).
        early: Share of the dossiers that are not late that end before the due date.
        apology: Share of the overrunning dossiers that carry ``apology: true``.
    """

    daily_dossiers: float
    saturday_factor: float = 0.08
    unit_spread: float = 0.6
    online: float = 0.6
    online_full: float = 0.4
    postal: float = 0.01
    submitted: float = 0.7
    refused: float = 0.015
    withdrawn: float = 0.004
    stopped: float = 0.003
    supplement: float = 0.08
    fee: float = 0.8
    late: float = 0.05
    early: float = 0.75
    apology: float = 0.5


#: Default profiles, calibrated to DOMAIN.md (Quảng Ninh: ~4,200 dossiers a working day,
#: province centre 92.8% online and 99.9% on time, districts 96.9%, busy wards ~64% online).
PROFILES: Mapping[str, LevelProfile] = MappingProxyType(
    {
        "province": LevelProfile(
            daily_dossiers=1200, unit_spread=0.0, online=0.92, online_full=0.6, postal=0.02,
            refused=0.01, supplement=0.06, late=0.001, early=0.85,
        ),
        "district": LevelProfile(
            daily_dossiers=150, online=0.75, online_full=0.45, postal=0.02,
            supplement=0.08, late=0.035, early=0.75,
        ),
        "commune": LevelProfile(
            daily_dossiers=55, unit_spread=0.8, online=0.62, online_full=0.35, postal=0.01,
            refused=0.02, supplement=0.1, late=0.075, early=0.7,
        ),
    }
)  # fmt: skip


def weekday_of(day: int) -> int:
    """Return the weekday of a local day index (days since 1970-01-01), Monday = 0."""
    return (day + 3) % 7  # 1970-01-01 was a Thursday


def _workday(day: int) -> bool:
    return weekday_of(day) < 5


def snap(t: int) -> int:
    """Return the first working moment at or after ``t`` (Mon–Fri, 07:30–17:00).

    Args:
        t: Local seconds.

    Returns:
        Local seconds within office hours.
    """
    day, sec = divmod(t, DAY_S)
    if _workday(day):
        if sec < WORKDAY_OPEN_S:
            return day * DAY_S + WORKDAY_OPEN_S
        if sec < WORKDAY_CLOSE_S:
            return t
    day += 1
    while not _workday(day):
        day += 1
    return day * DAY_S + WORKDAY_OPEN_S


def add_work(t: int, seconds: int) -> int:
    """Advance ``t`` by a number of seconds of office time.

    Args:
        t: Local seconds (snapped to office hours first).
        seconds: Office-time seconds to add, >= 0.

    Returns:
        Local seconds within office hours.
    """
    t = snap(t)
    while True:
        day, sec = divmod(t, DAY_S)
        left = WORKDAY_CLOSE_S - sec
        if seconds < left:
            return t + seconds
        seconds -= left
        t = snap(day * DAY_S + WORKDAY_CLOSE_S)


def add_workdays(t: int, days: int) -> int:
    """Return the same time of day ``days`` working days after ``t`` (snapped first).

    Args:
        t: Local seconds.
        days: Working days to add, >= 0.

    Returns:
        Local seconds within office hours.
    """
    day, sec = divmod(snap(t), DAY_S)
    while days > 0:
        day += 1
        if _workday(day):
            days -= 1
    return day * DAY_S + sec


def work_between(a: int, b: int) -> int:
    """Return the office-time seconds from ``a`` to ``b`` (0 when ``b <= a``).

    Args:
        a: Local seconds.
        b: Local seconds.

    Returns:
        Seconds of office time in ``[a, b)``.
    """
    total, t = 0, snap(a)
    while t < b:
        day = t // DAY_S
        close = day * DAY_S + WORKDAY_CLOSE_S
        total += min(close, b) - t
        t = snap(close)
    return total


def poisson(rng: random.Random, mean: float) -> int:
    """Draw a Poisson count (Knuth below 30, a rounded normal above).

    Args:
        rng: The random source.
        mean: The mean, >= 0.

    Returns:
        The count, >= 0.
    """
    if mean <= 0:
        return 0
    if mean >= 30:
        return max(0, round(rng.gauss(mean, mean**0.5)))
    limit, k, p = 2.718281828459045**-mean, 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def arrival_seconds(rng: random.Random, saturday: bool) -> int:
    """Draw an arrival time of day: weekday office profile, or Saturday 07:30–11:30.

    Args:
        rng: The random source.
        saturday: Draw for the Saturday-morning desk.

    Returns:
        Seconds after local midnight.
    """
    if saturday:
        return rng.randrange(WORKDAY_OPEN_S, SATURDAY_CLOSE_S)
    weights = [(hi - lo) * w for lo, hi, w in _WEEKDAY_PROFILE]
    lo, hi, _ = rng.choices(_WEEKDAY_PROFILE, weights)[0]
    return rng.randrange(lo, hi)


@dataclass(frozen=True, slots=True)
class Dossier:
    """What every event of one dossier shares.

    Attributes:
        dossier_id: ``<unit code>-YYMMDD-NNNN``.
        unit_id: Receiving unit.
        procedure: The procedure.
        channel: ``in_person``, ``online`` or ``postal``.
        online_mode: ``full`` or ``partial`` when online, else None.
        received_at: Receipt time (local seconds), None when refused at intake.
        paid_online: Fee paid online; None when the procedure has no fee.
        digitized: The dossier has digitised components.
    """

    dossier_id: str
    unit_id: str
    procedure: Procedure
    channel: str
    online_mode: str | None
    received_at: int | None
    paid_online: bool | None
    digitized: bool


@dataclass(frozen=True, slots=True)
class Step:
    """One status change of a dossier (all times in local seconds).

    Attributes:
        t: When it happened (``occurred_at``).
        status: Status code 1–10.
        due: ``due_at`` as of this event (None before receipt).
        ended: ``ended_at`` (end events only).
        supplements: ``(requested_at, completed_at or None)`` so far.
        apology: An apology letter has been issued.
        visits: In-person trips of the applicant so far.
    """

    t: int
    status: int
    due: int | None = None
    ended: int | None = None
    supplements: tuple[tuple[int, int | None], ...] = ()
    apology: bool = False
    visits: int = 0


def _beta_offset(rng: random.Random, start: int, stop: int) -> int:
    """Return a working moment in ``(start, stop)``, skewed early (beta 1.3, 2)."""
    span = work_between(start, stop)
    return add_work(start, max(60, int(rng.betavariate(1.3, 2.0) * max(0, span - 120)) + 60))


def plan_dossier(
    rng: random.Random, profile: LevelProfile, dossier: Dossier, arrival: int, start: int
) -> list[Step]:
    """Plan the whole life of one dossier, as its status changes in time order.

    Args:
        rng: The random source.
        profile: Behaviour of the unit's level.
        dossier: The dossier (``received_at`` None means it is refused at intake).
        arrival: When the applicant's dossier reaches the desk (local seconds).
        start: Start of the simulated period; no event is planned before it.

    Returns:
        The steps, strictly increasing in time.
    """
    steps: list[Step] = []
    visits = 1 if dossier.channel == "in_person" else 0
    if dossier.channel == "online" and rng.random() < profile.submitted:
        submitted = arrival - rng.randint(300, 20 * 3600)
        if submitted >= start:
            steps.append(Step(submitted, 1))
    if dossier.received_at is None:
        steps.append(Step(add_work(arrival, rng.randint(120, 4 * 3600)), 3, visits=visits))
        return steps
    proc = dossier.procedure
    due0 = add_workdays(arrival, proc.days)
    steps.append(Step(arrival, 2, due0, visits=visits))
    t_proc = add_work(arrival, rng.randint(120, min(3 * 3600, proc.days * _WORK_S // 4)))

    # Where and how it ends, before supplement pauses shift the timeline.
    due_day_open = due0 // DAY_S * DAY_S + WORKDAY_OPEN_S
    r = rng.random()
    end_status, overrun, supplements = 9, False, 0
    if r < profile.withdrawn + profile.stopped:
        end_status = 7 if r < profile.withdrawn else 8
        end = _beta_offset(rng, t_proc, due0)
    else:
        late = rng.random() < profile.late
        overrun = late and rng.random() < 0.75
        supplements = 2 if late and not overrun else int(rng.random() < profile.supplement)
        if overrun:
            end = add_work(due0, rng.randint(1800, max(3600, proc.days * _WORK_S // 3)))
        elif rng.random() < profile.early and work_between(t_proc, due_day_open) > 1200:
            end = _beta_offset(rng, t_proc, due_day_open)
        else:
            lo = max(due_day_open, add_work(t_proc, 600))
            end = lo + rng.randint(0, max(0, due0 - lo))
    end = max(end, add_work(t_proc, 600))

    # Intermediate steps: supplement requests first, then the fee request.
    fee = proc.fee and end_status == 9 and rng.random() < profile.fee
    mids = [5] * supplements + [6] * fee
    span = work_between(t_proc, end)
    if span < 3600 * (len(mids) + 1):
        mids = []
    fractions = sorted(rng.uniform(0.1, 0.9) for _ in mids)
    mid_times = [add_work(t_proc, int(f * span)) for f in fractions]

    shift, due = 0, due0
    supp: list[tuple[int, int | None]] = []
    in_person_supp = dossier.channel == "in_person" or dossier.online_mode == "partial"
    steps.append(Step(t_proc, 4, due, visits=visits))
    for status, t0 in zip(mids, mid_times, strict=True):
        t = add_workdays(t0, shift)
        if status == 6:
            steps.append(Step(t, 6, due, supplements=tuple(supp), visits=visits))
            if dossier.channel == "in_person" and not dossier.paid_online:
                visits += 1
            continue
        supp.append((t, None))
        steps.append(Step(t, 5, due, supplements=tuple(supp), visits=visits))
        pause = rng.randint(1, 5)
        shift += pause
        done = max(t + 600, add_workdays(t, pause) - rng.randint(0, 7200))
        supp[-1] = (t, done)
        due = add_workdays(due0, shift)
        if in_person_supp and rng.random() < 0.7:
            visits += 1
        steps.append(
            Step(add_work(done, rng.randint(60, 1800)), 4, due, None, tuple(supp), visits=visits)
        )

    end = add_workdays(end, shift)
    apology = overrun and rng.random() < profile.apology
    done_supp = tuple(supp)
    if end_status != 9:
        steps.append(Step(end, end_status, due, end, done_supp, apology, visits))
    else:
        if rng.random() > 0.12:
            steps.append(Step(end, 9, due, end, done_supp, apology, visits))
        full = dossier.online_mode == "full" or dossier.channel == "postal"
        back = rng.randint(60, 3600) if full else rng.randint(1800, 3 * _WORK_S)
        visits += rng.random() < _PICKUP.get(dossier.online_mode or dossier.channel, 0.0)
        steps.append(Step(add_work(end, back), 10, due, end, done_supp, apology, visits))
    # Keep the order strict even where a pause landed two steps on the same second.
    for i in range(1, len(steps)):
        if steps[i].t <= steps[i - 1].t:
            prev, cur = steps[i - 1], steps[i]
            steps[i] = Step(prev.t + 60, cur.status, cur.due, cur.ended, cur.supplements,
                            cur.apology, cur.visits)  # fmt: skip
    return steps

"""Model of the dossier simulator: office time, procedures and the behaviour of each level.

All times here are *local seconds*: seconds since 1970-01-01T00:00 local time (UTC+7, no
DST), i.e. the epoch plus :data:`~ioc_monitor.timeutil.LOCAL_OFFSET_S`. Offices work
Monday–Friday 07:30–17:00 (no public holidays are modelled); a few desks also receive
on Saturday 07:30–11:30. Every random draw comes from the ``random.Random`` passed in,
so a seeded generator is reproducible.

:data:`PROFILES` is calibrated to the seed report of Quảng Ninh (DOMAIN.md): the province
centre ~99.9% on time, commune centres ~96.5%, district centres (historical) ~96.9%,
~90% of dossiers received online, a third carrying a fee (most paid online), ~75%
digitised at receipt, a few percent of in-person applicants travelling three times or
more, and about 90% of ratings satisfied. :func:`slipping` turns a profile into that of
a unit that slips (about 75% on time, long overruns, 60–70% satisfied, more trips).
"""

from __future__ import annotations

import dataclasses
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
    "WORK_S",
    "LevelProfile",
    "Procedure",
    "add_work",
    "add_workdays",
    "arrival_seconds",
    "poisson",
    "slipping",
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
#: Office seconds in one working day (9.5 h).
WORK_S: Final = WORKDAY_CLOSE_S - WORKDAY_OPEN_S
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
        fee: Share (0–1) of its dossiers that carry a fee or charge (``fee_required``);
            a bool is read as 1 or 0.
    """

    code: str
    name: str
    agency_id: str
    days: int
    levels: frozenset[str]
    weight: float
    fee: float


def _proc(
    code: str, name: str, agency: str, days: int, levels: str, weight: float, fee: float
) -> Procedure:
    return Procedure(code, name, agency, days, frozenset(levels.split(",")), weight, fee)


#: The simulated procedure catalogue (codes, durations and fee shares are illustrative,
#: not official). Fee shares are set so that about a third of all dossiers carry a fee
#: (province centre ~55%, commune desks ~25%, by volume).
CATALOGUE: Final = (
    _proc("1.004227", "land use right certificate", "so-nnmt", 10, "province", 3.0, 0.7),
    _proc("2.001610", "enterprise registration", "so-tc", 3, "province", 3.0, 0.15),
    _proc("1.009994", "construction permit", "so-xd", 15, "province", 1.0, 0.9),
    _proc("1.002804", "driving licence exchange", "so-xd", 5, "province", 2.5, 0.8),
    _proc("2.000488", "criminal record certificate", "so-tp", 10, "province", 2.0, 0.5),
    _proc("1.000105", "work permit for a foreign worker", "so-nv", 5, "province", 0.8, 0.6),
    _proc("1.002467", "pharmacy practice certificate", "so-yt", 15, "province", 0.5, 0.2),
    _proc("1.001193", "birth registration", "ubnd", 1, "district,commune", 3.0, 0.0),
    _proc("1.000894", "marriage registration", "ubnd", 1, "district,commune", 1.0, 0.0),
    _proc("2.000815", "certified copy of a document", "ubnd", 1, "district,commune", 4.0, 0.4),
    _proc("1.000656", "death registration", "ubnd", 1, "district,commune", 0.6, 0.0),
    _proc("1.004222", "residence confirmation", "ubnd", 3, "district,commune", 1.2, 0.0),
    _proc("2.000720", "household business registration", "ubnd", 3, "district,commune", 1.0, 0.8),
    _proc("1.009995", "house construction permit", "ubnd", 15, "district,commune", 0.4, 0.6),
    _proc("1.003003", "land use change registration", "ubnd", 10, "district,commune", 0.8, 0.4),
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
        fee: Share of the dossiers with a fee that get a ``fee_requested`` (6) step; the
            others pay with the submission.
        late: Share ending late (after ``due_at``, or with two supplement requests).
        early: Share of the dossiers that are not late that end before the due date.
        apology: Share of the overrunning dossiers that carry ``apology: true``.
        overrun: Share of the late dossiers that end after ``due_at`` (the others are
            late by two supplement requests).
        overrun_days: Median overrun of an overrunning dossier, as a multiple of its
            procedure's legal time (log-normal, sigma 1.2, at most 120 working days).
        paid_online: Share of the online dossiers with a fee that are paid online.
        paid_online_other: Same, for dossiers received in person or by post.
        digitized: Share of the online dossiers digitised at receipt.
        digitized_other: Same, for dossiers received in person or by post.
        digitized_later: Share of the dossiers not digitised at receipt that say
            ``digitized: true`` from processing on (does not count, KPIS.md).
        intake_return: Share of in-person applicants sent home once before receipt to
            complete the file (a visit); each further return has half the chance.
        supplement_visit: Share of supplement requests answered by a trip to the desk
            (in person and partial online).
        fee_visit: Share of fee requests of in-person dossiers not paid online that
            need a trip to pay.
        wasted_trip: Share of overrunning dossiers collected in person where the
            applicant came on the due date for nothing (a visit).
        rated: Share of the returned dossiers that get a rating (1.5 times that when
            the dossier was late or took 3 trips or more).
        unsatisfied: Share of those ratings that are ``unsatisfied`` when the dossier was
            handled well.
        unsatisfied_late: Same, when it was late or took 3 trips or more.
        rating_on_end: Share of the ratings carried by the completing event itself (the
            others come on a repeated ``returned`` event hours to days later).
    """

    daily_dossiers: float
    saturday_factor: float = 0.08
    unit_spread: float = 0.6
    online: float = 0.9
    online_full: float = 0.4
    postal: float = 0.01
    submitted: float = 0.7
    refused: float = 0.015
    withdrawn: float = 0.004
    stopped: float = 0.003
    supplement: float = 0.08
    fee: float = 0.5
    late: float = 0.035
    early: float = 0.75
    apology: float = 0.5
    overrun: float = 0.75
    overrun_days: float = 0.6
    paid_online: float = 0.9
    paid_online_other: float = 0.5
    digitized: float = 0.78
    digitized_other: float = 0.55
    digitized_later: float = 0.1
    intake_return: float = 0.08
    supplement_visit: float = 0.6
    fee_visit: float = 0.6
    wasted_trip: float = 0.5
    rated: float = 0.27
    unsatisfied: float = 0.08
    unsatisfied_late: float = 0.45
    rating_on_end: float = 0.04


#: Default profiles, calibrated to DOMAIN.md: ~4,200 dossiers a working day province-wide
#: (~1 million a year; commune desks ~55 a day on average, the busiest 3-4 times that),
#: ~90% online (Quảng Ninh 2025: 92.8%), every level above the 85% online target; the
#: province centre 99.9% on time, district centres 96.9%, commune centres 96-97%;
#: overruns at the province centre are rare but long (a few dozen overdue of ~4,600
#: open once in steady state), at commune desks short (~2-3% of open dossiers overdue).
PROFILES: Mapping[str, LevelProfile] = MappingProxyType(
    {
        "province": LevelProfile(
            daily_dossiers=1200, unit_spread=0.0, online=0.93, online_full=0.6, postal=0.02,
            refused=0.01, supplement=0.06, late=0.0008, early=0.85, overrun=0.9,
            overrun_days=3.0, paid_online=0.92, digitized=0.8,
        ),
        "district": LevelProfile(
            daily_dossiers=150, online=0.88, online_full=0.45, postal=0.02,
            supplement=0.08, late=0.031, early=0.75, overrun_days=0.8,
        ),
        "commune": LevelProfile(
            daily_dossiers=55, unit_spread=0.8, online=0.9, online_full=0.35, postal=0.01,
            refused=0.02, supplement=0.1, late=0.035, early=0.7, overrun_days=0.4,
        ),
    }
)  # fmt: skip


def slipping(profile: LevelProfile) -> LevelProfile:
    """Return the profile of a unit of this level that slips (handles dossiers badly).

    Volumes and channels stay those of ``profile``; 28% of the dossiers end late, most
    of them well after their due date (median overrun 0.7 times the legal time, so many
    are overdue meanwhile), supplement requests and trips to the desk are more frequent
    and more than a third of the ratings are ``unsatisfied``.

    Args:
        profile: The healthy profile of the unit's level.

    Returns:
        A copy: about 72% on time once the late dossiers have ended (about 80% over the
        first weeks: late dossiers end late), ~62% satisfied, several times more
        multi-visit dossiers.
    """
    return dataclasses.replace(
        profile,
        supplement=max(profile.supplement, 0.25),
        late=0.28,
        early=0.4,
        apology=0.2,
        overrun=0.85,
        overrun_days=0.7,
        intake_return=0.3,
        supplement_visit=0.85,
        fee_visit=0.8,
        wasted_trip=0.8,
        rated=0.3,
        unsatisfied=0.22,
        unsatisfied_late=0.6,
    )


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

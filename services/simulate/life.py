"""One simulated dossier: what its events share, and its whole life planned at once.

Times are local seconds (see :mod:`services.simulate.model`). A dossier's life follows
the statuses of EVENTS.md v2: ``submitted`` (online, sometimes), ``received``,
``processing``, supplement requests and a fee request (paused), then ``decided`` and
``returned`` (or ``withdrawn`` / ``stopped``; ``refused`` at intake instead of all this).
Some returned dossiers get a ``rating``, usually on a repeated ``returned`` event hours
to days after the result is returned (same ``received_at``, ``due_at`` and
``ended_at``), sometimes on the completing event itself. ``visits`` counts the
applicant's trips to the desk: submission, returns before receipt, supplements, paying
a fee, coming for a result not yet ready, collecting the result.
"""

from __future__ import annotations

import dataclasses
import math
import random
from dataclasses import dataclass
from typing import Final

from services.simulate.model import (
    DAY_S,
    WORK_S,
    WORKDAY_OPEN_S,
    LevelProfile,
    Procedure,
    add_work,
    add_workdays,
    work_between,
)

__all__ = ["Dossier", "Step", "new_dossier", "plan_dossier"]

#: Chance the applicant collects the result in person, by online mode or channel.
_PICKUP: Final = {"in_person": 0.8, "partial": 0.6}
#: Sigma of the log-normal overrun (see ``LevelProfile.overrun_days``).
_OVERRUN_SIGMA: Final = 1.2
#: Longest overrun, working days.
_OVERRUN_MAX_DAYS: Final = 120
#: Median delay of a rating after the result is returned (seconds); log-normal, sigma 1.
_RATING_DELAY_S: Final = 10 * 3600
#: Bounds of that delay (seconds): 10 minutes to 5 days.
_RATING_DELAY_BOUNDS: Final = (600, 5 * DAY_S)


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
        paid_online: Fee paid online; None when the dossier carries no fee.
        digitized: The dossier was digitised at receipt.
    """

    dossier_id: str
    unit_id: str
    procedure: Procedure
    channel: str
    online_mode: str | None
    received_at: int | None
    paid_online: bool | None
    digitized: bool

    @property
    def fee_required(self) -> bool:
        """The dossier carries a fee or charge (``paid_online`` is then not None)."""
        return self.paid_online is not None


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
        paid: The fee, if any, is settled as of this event (``paid_online`` is written
            only then). Default True.
        digitized: The event says ``digitized: true`` even if the receipt did not
            (digitised later). Default False.
        rating: ``satisfied`` or ``unsatisfied`` when the event carries a rating.
    """

    t: int
    status: int
    due: int | None = None
    ended: int | None = None
    supplements: tuple[tuple[int, int | None], ...] = ()
    apology: bool = False
    visits: int = 0
    paid: bool = True
    digitized: bool = False
    rating: str | None = None


def new_dossier(
    rng: random.Random,
    profile: LevelProfile,
    dossier_id: str,
    unit_id: str,
    procedure: Procedure,
    arrival: int,
) -> Dossier:
    """Draw the channel, refusal, fee and digitisation of a new dossier.

    Args:
        rng: The random source.
        profile: Behaviour of the unit.
        dossier_id: The dossier id.
        unit_id: The receiving unit.
        procedure: Its procedure (gives the chance of a fee).
        arrival: When it reaches the desk (local seconds).

    Returns:
        The dossier.
    """
    r = rng.random()
    mode: str | None = None
    if r < profile.online:
        channel = "online"
        mode = "full" if rng.random() < profile.online_full else "partial"
    elif r < profile.online + profile.postal:
        channel = "postal"
    else:
        channel = "in_person"
    online = channel == "online"
    refused = rng.random() < profile.refused
    fee = rng.random() < procedure.fee
    paid_share = profile.paid_online if online else profile.paid_online_other
    paid = (rng.random() < paid_share) if fee else None
    digitized = rng.random() < (profile.digitized if online else profile.digitized_other)
    return Dossier(
        dossier_id=dossier_id,
        unit_id=unit_id,
        procedure=procedure,
        channel=channel,
        online_mode=mode,
        received_at=None if refused else arrival,
        paid_online=paid,
        digitized=digitized,
    )


def _beta_offset(rng: random.Random, start: int, stop: int) -> int:
    """Return a working moment in ``(start, stop)``, skewed early (beta 1.3, 2)."""
    span = work_between(start, stop)
    return add_work(start, max(60, int(rng.betavariate(1.3, 2.0) * max(0, span - 120)) + 60))


def _intake_visits(rng: random.Random, profile: LevelProfile, channel: str) -> int:
    """Trips to the desk up to the receipt: 1 in person, plus returns to complete the file."""
    if channel != "in_person":
        return 0
    visits, p = 1, profile.intake_return
    while visits < 4 and rng.random() < p:
        visits, p = visits + 1, p / 2
    return visits


def _overrun_end(rng: random.Random, profile: LevelProfile, due: int, days: int) -> int:
    """End of an overrunning dossier: a log-normal overrun after ``due``."""
    median = profile.overrun_days * days * WORK_S
    overrun = median * math.exp(rng.gauss(0.0, _OVERRUN_SIGMA))
    return add_work(due, int(min(max(overrun, 1800.0), _OVERRUN_MAX_DAYS * WORK_S)))


def _rating(rng: random.Random, profile: LevelProfile, bad: bool) -> str | None:
    """Draw the applicant's rating of a returned dossier (None: no rating)."""
    if rng.random() >= profile.rated * (1.5 if bad else 1.0):
        return None
    unsatisfied = profile.unsatisfied_late if bad else profile.unsatisfied
    return "unsatisfied" if rng.random() < unsatisfied else "satisfied"


def plan_dossier(
    rng: random.Random, profile: LevelProfile, dossier: Dossier, arrival: int, start: int
) -> list[Step]:
    """Plan the whole life of one dossier, as its status changes in time order.

    Args:
        rng: The random source.
        profile: Behaviour of the unit (healthy or slipping).
        dossier: The dossier (``received_at`` None means it is refused at intake).
        arrival: When the applicant's dossier reaches the desk (local seconds).
        start: Start of the simulated period; no event is planned before it.

    Returns:
        The steps, strictly increasing in time.
    """
    steps: list[Step] = []
    visits = _intake_visits(rng, profile, dossier.channel)
    if dossier.channel == "online" and rng.random() < profile.submitted:
        submitted = arrival - rng.randint(300, 20 * 3600)
        if submitted >= start:
            steps.append(Step(submitted, 1))
    if dossier.received_at is None:
        steps.append(Step(add_work(arrival, rng.randint(120, 4 * 3600)), 3, visits=visits))
        return steps
    proc = dossier.procedure
    due0 = add_workdays(arrival, proc.days)
    later = not dossier.digitized and rng.random() < profile.digitized_later
    t_proc = add_work(arrival, rng.randint(120, min(3 * 3600, proc.days * WORK_S // 4)))

    # Where and how it ends, before supplement pauses shift the timeline.
    due_day_open = due0 // DAY_S * DAY_S + WORKDAY_OPEN_S
    r = rng.random()
    end_status, overrun, supplements = 9, False, 0
    if r < profile.withdrawn + profile.stopped:
        end_status = 7 if r < profile.withdrawn else 8
        end = _beta_offset(rng, t_proc, due0)
    else:
        late = rng.random() < profile.late
        overrun = late and rng.random() < profile.overrun
        supplements = 2 if late and not overrun else int(rng.random() < profile.supplement)
        if overrun:
            end = _overrun_end(rng, profile, due0, proc.days)
        elif rng.random() < profile.early and work_between(t_proc, due_day_open) > 1200:
            end = _beta_offset(rng, t_proc, due_day_open)
        else:
            lo = max(due_day_open, add_work(t_proc, 600))
            end = lo + rng.randint(0, max(0, due0 - lo))
    end = max(end, add_work(t_proc, 600))

    # Intermediate steps: supplement requests first, then the fee request.
    fee = dossier.fee_required and end_status == 9 and rng.random() < profile.fee
    mids = [5] * supplements + [6] * fee
    span = work_between(t_proc, end)
    if span < 3600 * (len(mids) + 1):
        mids = []
    paid = 6 not in mids
    fractions = sorted(rng.uniform(0.1, 0.9) for _ in mids)
    mid_times = [add_work(t_proc, int(f * span)) for f in fractions]

    shift, due = 0, due0
    supp: list[tuple[int, int | None]] = []
    in_person_supp = dossier.channel == "in_person" or dossier.online_mode == "partial"
    steps.append(Step(arrival, 2, due0, visits=visits, paid=paid))
    steps.append(Step(t_proc, 4, due, visits=visits, paid=paid, digitized=later))
    for status, t0 in zip(mids, mid_times, strict=True):
        t = add_workdays(t0, shift)
        if status == 6:
            steps.append(Step(t, 6, due, None, tuple(supp), visits=visits, paid=False,
                              digitized=later))  # fmt: skip
            paid = True
            in_person_pay = dossier.channel == "in_person" and not dossier.paid_online
            visits += in_person_pay and rng.random() < profile.fee_visit
            continue
        # The request pauses the clock: the unit moves the due date by the applicant's
        # time to answer (1-5 working days) at once, so a paused dossier is not overdue.
        pause = rng.randint(1, 5)
        shift += pause
        due = add_workdays(due0, shift)
        supp.append((t, None))
        steps.append(Step(t, 5, due, None, tuple(supp), visits=visits, paid=paid,
                          digitized=later))  # fmt: skip
        done = max(t + 600, add_workdays(t, pause) - rng.randint(0, 7200))
        supp[-1] = (t, done)
        visits += in_person_supp and rng.random() < profile.supplement_visit
        steps.append(Step(add_work(done, rng.randint(60, 1800)), 4, due, None, tuple(supp),
                          visits=visits, paid=paid, digitized=later))  # fmt: skip

    end = add_workdays(end, shift)
    apology = overrun and rng.random() < profile.apology
    done_supp = tuple(supp)
    if end_status != 9:
        steps.append(Step(end, end_status, due, end, done_supp, apology, visits, paid, later))
        return _strict(steps)
    pickup = rng.random() < _PICKUP.get(dossier.online_mode or dossier.channel, 0.0)
    visits += overrun and pickup and rng.random() < profile.wasted_trip
    decided = rng.random() > 0.12
    if decided:
        steps.append(Step(end, 9, due, end, done_supp, apology, visits, paid, later))
    # Without a ``decided`` event the return is what ends the dossier: it comes soon.
    full = dossier.online_mode == "full" or dossier.channel == "postal" or not decided
    back = rng.randint(60, 3600) if full else rng.randint(1800, 3 * WORK_S)
    returned = Step(add_work(end, back), 10, due, end, done_supp, apology, visits + pickup,
                    paid, later)  # fmt: skip
    steps.append(returned)
    bad = overrun or len(supp) > 1 or apology or returned.visits >= 3
    rating = _rating(rng, profile, bad)
    if rating is not None and rng.random() < profile.rating_on_end:
        completing = len(steps) - (2 if decided else 1)
        steps[completing] = dataclasses.replace(steps[completing], rating=rating)
    elif rating is not None:
        lo, hi = _RATING_DELAY_BOUNDS
        delay = int(min(max(_RATING_DELAY_S * math.exp(rng.gauss(0.0, 1.0)), lo), hi))
        steps.append(dataclasses.replace(returned, t=returned.t + delay, rating=rating))
    return _strict(steps)


def _strict(steps: list[Step]) -> list[Step]:
    """Keep the order strict even where a pause landed two steps on the same second."""
    for i in range(1, len(steps)):
        if steps[i].t <= steps[i - 1].t:
            steps[i] = dataclasses.replace(steps[i], t=steps[i - 1].t + 60)
    return steps

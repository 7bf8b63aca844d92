"""Ratios and the Decision 766 scorecard from one window's counts (KPIS.md v2), pure.

Every rendering (the exporter's collector, ``ioc kpi`` as JSON or a table) takes its
ratios and scorecard points from here, so they cannot differ.

Ratios, each exposed only when its denominator is > 0:

==================  ==========================================  ======================
ratio               numerator                                   denominator
==================  ==========================================  ======================
``on_time``         early + on_time                             completed
``online``          online_full + online_partial                received
``digitized``       digitised                                   received
``online_payment``  paid online                                 completed with fee
``multi_visit``     multi-visit                                 completed
``satisfaction``    satisfied                                   satisfied + unsatisfied
==================  ==========================================  ======================

Scorecard, for a ``month``, ``quarter`` or ``year`` window, with the window's received
R (online O, digitised D), completed C (early + on time G, late L, with fee F, paid
online P), unsatisfied ratings U, and the unit's current in progress I and overdue V:

================  ======  =====================================  ============
component         weight  points                                 exposed when
================  ======  =====================================  ============
``timeliness``    20      20 × (G + I − V) / (C + I)             C + I > 0
``online``        12      12 × min(1, (O / R) / 0.5)             R > 0
``payment``       6       6 × P / F                              F > 0
``digitisation``  2       2 × min(1, (D / R) / 0.8)              R > 0
``satisfaction``  6       6 × min(1, max(0, 1 − (L + U) / C)     C > 0
                          / 0.9)
================  ======  =====================================  ============

46 of the index's 100 points are computable from dossier events. A unit's total is
the sum of its exposed components; units of one level are ranked by total / (sum of
the weights of the exposed components) (:func:`score_share`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from ioc_monitor.events import CHANNELS, RATINGS
from ioc_monitor.rules import TIMELINESS

__all__ = [
    "FULL_AT",
    "RATIOS",
    "SCORECARD_WEIGHTS",
    "ratios",
    "score_share",
    "scorecard",
]

#: Ratio names, in exposition order.
RATIOS: Final = (
    "on_time",
    "online",
    "digitized",
    "online_payment",
    "multi_visit",
    "satisfaction",
)
#: Scorecard component → weight in points, in exposition order.
SCORECARD_WEIGHTS: Final[Mapping[str, int]] = {
    "timeliness": 20,
    "online": 12,
    "payment": 6,
    "digitisation": 2,
    "satisfaction": 6,
}
#: Ratio at which a capped component reaches its full points (KPIS.md, Scorecard).
FULL_AT: Final[Mapping[str, float]] = {"online": 0.5, "digitisation": 0.8, "satisfaction": 0.9}


def _sum(counts: Mapping[str, int], names: tuple[str, ...]) -> int:
    return sum(counts.get(n, 0) for n in names)


_COMPLETED: Final = tuple(f"completed:{t}" for t in TIMELINESS)
_GOOD: Final = ("completed:early", "completed:on_time")
_RECEIVED: Final = tuple(f"received:{c}" for c in CHANNELS)
_ONLINE: Final = ("received:online_full", "received:online_partial")
_RATED: Final = tuple(f"rated:{r}" for r in RATINGS)


def ratios(counts: Mapping[str, int]) -> dict[str, float]:
    """Every ratio of one window whose denominator is > 0.

    Args:
        counts: The window's count per series (missing series count 0).

    Returns:
        ``{ratio: value in [0, 1]}`` in :data:`RATIOS` order, without the ratios whose
        denominator is 0.
    """
    completed = _sum(counts, _COMPLETED)
    received = _sum(counts, _RECEIVED)
    with_fee = counts.get("completed_with_fee", 0)
    rated = _sum(counts, _RATED)
    parts = (
        ("on_time", _sum(counts, _GOOD), completed),
        ("online", _sum(counts, _ONLINE), received),
        ("digitized", counts.get("digitized", 0), received),
        ("online_payment", counts.get("paid_online", 0), with_fee),
        ("multi_visit", counts.get("multi_visit", 0), completed),
        ("satisfaction", counts.get("rated:satisfied", 0), rated),
    )
    return {name: num / den for name, num, den in parts if den > 0}


def scorecard(counts: Mapping[str, int], in_progress: int, overdue: int) -> dict[str, float]:
    """The scorecard components of one window (see the module docstring).

    Args:
        counts: The window's count per series.
        in_progress: The unit's dossiers in progress now (I).
        overdue: Of those, overdue now (V).

    Returns:
        ``{component: points}`` in :data:`SCORECARD_WEIGHTS` order, only the exposed ones.
    """
    received = _sum(counts, _RECEIVED)
    completed = _sum(counts, _COMPLETED)
    late = counts.get("completed:late", 0)
    with_fee = counts.get("completed_with_fee", 0)
    out: dict[str, float] = {}
    if completed + in_progress > 0:
        good = _sum(counts, _GOOD)
        out["timeliness"] = (
            SCORECARD_WEIGHTS["timeliness"]
            * (good + in_progress - overdue)
            / (completed + in_progress)
        )
    if received > 0:
        online = _sum(counts, _ONLINE) / received
        out["online"] = SCORECARD_WEIGHTS["online"] * min(1.0, online / FULL_AT["online"])
    if with_fee > 0:
        out["payment"] = SCORECARD_WEIGHTS["payment"] * counts.get("paid_online", 0) / with_fee
    if received > 0:
        digitised = counts.get("digitized", 0) / received
        full = digitised / FULL_AT["digitisation"]
        out["digitisation"] = SCORECARD_WEIGHTS["digitisation"] * min(1.0, full)
    if completed > 0:
        bad = (late + counts.get("rated:unsatisfied", 0)) / completed
        full = max(0.0, 1 - bad) / FULL_AT["satisfaction"]
        out["satisfaction"] = SCORECARD_WEIGHTS["satisfaction"] * min(1.0, full)
    return {c: out[c] for c in SCORECARD_WEIGHTS if c in out}


def score_share(points: Mapping[str, float]) -> float | None:
    """Total over the sum of the weights of the exposed components (0–1), for ranking.

    Args:
        points: Output of :func:`scorecard`.

    Returns:
        The share, or ``None`` when no component is exposed.
    """
    weights = sum(SCORECARD_WEIGHTS[c] for c in points)
    return sum(points.values()) / weights if weights else None

"""Human and script renderings of a :class:`Snapshot`: JSON and rich tables.

The ratios and the scorecard come from :mod:`ioc_monitor.kpis`, as in the exposition.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from ioc_monitor.catalogue import SCORECARD_WINDOWS
from ioc_monitor.events import CHANNELS
from ioc_monitor.kpis import SCORECARD_WEIGHTS, ratios, score_share, scorecard
from ioc_monitor.registry import LEVELS, UnitRegistry
from ioc_monitor.rules import TIMELINESS
from ioc_monitor.snapshot import Snapshot, UnitFigures

__all__ = ["board", "board_renderable", "scorecard_ranking", "scorecard_table", "to_json"]


def _ratios(counts: dict[str, int]) -> tuple[float | None, float | None]:
    found = ratios(counts)
    return found.get("on_time"), found.get("online")


def _score(points: dict[str, float]) -> dict[str, Any]:
    weights = sum(SCORECARD_WEIGHTS[c] for c in points)
    return {
        "components": points,
        "total": sum(points.values()),
        "weights": weights,
        "share": score_share(points),
    }


def scorecard_ranking(
    snap: Snapshot, units: UnitRegistry, window: str = "month"
) -> dict[str, list[dict[str, Any]]]:
    """Units ranked within their level by scorecard total / sum of exposed weights.

    Args:
        snap: Figures at one clock.
        units: The unit registry (names, levels).
        window: ``month``, ``quarter`` or ``year``. Default ``month``.

    Returns:
        ``{level: [entry, ...]}`` best first (ties by unit id), each entry with
        ``rank`` (1-based), ``unit``, ``name``, ``components`` (exposed ones, points),
        ``total``, ``weights`` and ``share`` (0–1). Units with no exposed component are
        left out.
    """
    by_level: dict[str, list[dict[str, Any]]] = {}
    for unit in units:
        fig = snap.units.get(unit.id)
        if fig is None:
            continue
        points = scorecard(fig.windows.get(window, {}), fig.in_progress, fig.overdue)
        if not points:
            continue
        by_level.setdefault(unit.level, []).append(
            {"unit": unit.id, "name": unit.name, **_score(points)}
        )
    out: dict[str, list[dict[str, Any]]] = {}
    for level in LEVELS:
        entries = sorted(by_level.get(level, []), key=lambda e: (-e["share"], e["unit"]))
        for rank, entry in enumerate(entries, 1):
            entry["rank"] = rank
        if entries:
            out[level] = entries
    return out


def to_json(snap: Snapshot, units: UnitRegistry) -> dict[str, Any]:
    """A JSON-ready dict: pipeline counters and, per unit, totals, gauges, windows, ratios."""
    out_units: dict[str, Any] = {}
    for unit in units:
        fig = snap.units.get(unit.id)
        if fig is None:
            continue
        windows: dict[str, Any] = {}
        for window, counts in fig.windows.items():
            entry: dict[str, Any] = {"counts": dict(counts)}
            entry.update({f"{name}_ratio": v for name, v in ratios(counts).items()})
            windows[window] = entry
        for window in SCORECARD_WINDOWS:
            points = scorecard(fig.windows.get(window, {}), fig.in_progress, fig.overdue)
            if points:
                windows.setdefault(window, {"counts": {}})["scorecard"] = _score(points)
        out_units[unit.id] = {
            "level": unit.level,
            "name": unit.name,
            "totals": dict(fig.totals),
            "in_progress": fig.in_progress,
            "overdue": fig.overdue,
            "due_soon": dict(fig.due_soon),
            "windows": windows,
        }
    return {
        "clock": snap.clock,
        "watermark": snap.watermark,
        "events": {
            "processed": snap.processed,
            "duplicate": snap.duplicate,
            "rejected": dict(snap.rejected),
        },
        "units": out_units,
        "scorecard": {w: scorecard_ranking(snap, units, w) for w in SCORECARD_WINDOWS},
    }


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def _sum_figs(figs: list[UnitFigures], window: str) -> dict[str, int]:
    total: dict[str, int] = {}
    for fig in figs:
        for series, n in fig.windows.get(window, {}).items():
            total[series] = total.get(series, 0) + n
    return total


def board(
    snap: Snapshot,
    units: UnitRegistry,
    console: Console,
    window: str = "30d",
    scorecard_window: str = "month",
) -> None:
    """Print :func:`board_renderable`, then :func:`scorecard_table`, to a console."""
    console.print(board_renderable(snap, units, window))
    console.print(scorecard_table(snap, units, scorecard_window))


def _points(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}"


def scorecard_table(snap: Snapshot, units: UnitRegistry, window: str = "month") -> Table:
    """The Decision 766 scorecard view: units ranked within their level.

    Each row: rank, unit, the points of each component ("–" when not exposed), the
    total, the sum of the exposed weights and the share total / weights. The 46 points
    computable from events are scored; the index's other 54 need other systems.

    Args:
        snap: Figures at one clock.
        units: The unit registry.
        window: ``month``, ``quarter`` or ``year``. Default ``month``.

    Returns:
        The table (:func:`scorecard_ranking` as rows).
    """
    table = Table(title=f"Decision 766 scorecard (46 of 100 points from events): {window}")
    table.add_column("level")
    table.add_column("#", justify="right")
    table.add_column("unit")
    for component, weight in SCORECARD_WEIGHTS.items():
        table.add_column(f"{component} /{weight}", justify="right")
    for col in ("total", "of", "share"):
        table.add_column(col, justify="right")
    for level, entries in scorecard_ranking(snap, units, window).items():
        for e in entries:
            table.add_row(
                level,
                str(e["rank"]),
                f"{e['name']} ({e['unit']})",
                *(_points(e["components"].get(c)) for c in SCORECARD_WEIGHTS),
                _points(e["total"]),
                str(e["weights"]),
                _pct(e["share"]),
            )
    return table


def board_renderable(snap: Snapshot, units: UnitRegistry, window: str = "30d") -> Group:
    """A board: province and level roll-ups, then the worst units by on-time ratio.

    Roll-ups add the window counts and divide (never an average of ratios).

    Args:
        snap: Figures at one clock.
        units: The unit registry.
        window: Window of the ratio columns. Default ``30d``.

    Returns:
        The table and a line of pipeline counters.
    """
    table = Table(title=f"ioc-monitor: window {window}")
    for col in ("scope", "received", "online", "completed", "on time", "in progress", "overdue"):
        table.add_column(col, justify="left" if col == "scope" else "right")
    seen = [(u, snap.units[u.id]) for u in units if u.id in snap.units]
    groups: list[tuple[str, list[UnitFigures]]] = [("all units", [f for _, f in seen])]
    groups += [(f"level {lv}", [f for u, f in seen if u.level == lv]) for lv in LEVELS]
    for name, figs in groups:
        if not figs:
            continue
        counts = _sum_figs(figs, window)
        on_time, online = _ratios(counts)
        table.add_row(
            name,
            str(sum(counts.get(f"received:{c}", 0) for c in CHANNELS)),
            _pct(online),
            str(sum(counts.get(f"completed:{t}", 0) for t in TIMELINESS)),
            _pct(on_time),
            str(sum(f.in_progress for f in figs)),
            str(sum(f.overdue for f in figs)),
        )
    ranked = []
    for unit, fig in seen:
        on_time, online = _ratios(dict(fig.windows.get(window, {})))
        ranked.append((on_time if on_time is not None else 2.0, unit, fig, on_time, online))
    ranked.sort(key=lambda r: (r[0], r[1].id))
    for _, unit, fig, on_time, online in ranked[:10]:
        counts = dict(fig.windows.get(window, {}))
        table.add_row(
            f"{unit.id} ({unit.level})",
            str(sum(counts.get(f"received:{c}", 0) for c in CHANNELS)),
            _pct(online),
            str(sum(counts.get(f"completed:{t}", 0) for t in TIMELINESS)),
            _pct(on_time),
            str(fig.in_progress),
            str(fig.overdue),
        )
    rejected = ", ".join(f"{r}={n}" for r, n in snap.rejected.items() if n) or "none"
    return Group(
        table,
        Text(f"events: processed={snap.processed} duplicate={snap.duplicate} rejected: {rejected}"),
    )

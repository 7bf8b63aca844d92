"""Human and script renderings of a :class:`Snapshot`: JSON and a rich table board."""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from ioc_monitor.events import CHANNELS
from ioc_monitor.registry import LEVELS, UnitRegistry
from ioc_monitor.rules import TIMELINESS
from ioc_monitor.snapshot import Snapshot, UnitFigures

__all__ = ["board", "board_renderable", "to_json"]


def _ratios(counts: dict[str, int]) -> tuple[float | None, float | None]:
    done = sum(counts.get(f"completed:{t}", 0) for t in TIMELINESS)
    recv = sum(counts.get(f"received:{c}", 0) for c in CHANNELS)
    good = counts.get("completed:early", 0) + counts.get("completed:on_time", 0)
    online = counts.get("received:online_full", 0) + counts.get("received:online_partial", 0)
    return (good / done if done else None), (online / recv if recv else None)


def to_json(snap: Snapshot, units: UnitRegistry) -> dict[str, Any]:
    """A JSON-ready dict: pipeline counters and, per unit, totals, gauges, windows, ratios."""
    out_units: dict[str, Any] = {}
    for unit in units:
        fig = snap.units.get(unit.id)
        if fig is None:
            continue
        windows: dict[str, Any] = {}
        for window, counts in fig.windows.items():
            on_time, online = _ratios(dict(counts))
            entry: dict[str, Any] = {"counts": dict(counts)}
            if on_time is not None:
                entry["on_time_ratio"] = on_time
            if online is not None:
                entry["online_ratio"] = online
            windows[window] = entry
        out_units[unit.id] = {
            "level": unit.level,
            "totals": dict(fig.totals),
            "in_progress": fig.in_progress,
            "overdue": fig.overdue,
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
    }


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def _sum_figs(figs: list[UnitFigures], window: str) -> dict[str, int]:
    total: dict[str, int] = {}
    for fig in figs:
        for series, n in fig.windows.get(window, {}).items():
            total[series] = total.get(series, 0) + n
    return total


def board(snap: Snapshot, units: UnitRegistry, console: Console, window: str = "30d") -> None:
    """Print :func:`board_renderable` to a console."""
    console.print(board_renderable(snap, units, window))


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

"""A live terminal board (rich) of the KPIs, refreshed from the exporter's ``/metrics``."""

from __future__ import annotations

import time
import urllib.request
from collections import defaultdict

from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from ioc_monitor import catalogue as c
from ioc_monitor.registry import UnitRegistry
from ioc_monitor.report import board_renderable
from ioc_monitor.snapshot import Snapshot, UnitFigures

__all__ = ["parse_exposition", "run_board"]


def parse_exposition(text: str) -> Snapshot:
    """Rebuild a :class:`Snapshot` from an exposition served by the exporter.

    Args:
        text: Prometheus text format, as served on ``/metrics``.

    Returns:
        The snapshot (``clock`` is ``None``: the exposition does not carry it).
    """
    totals: defaultdict[str, dict[str, int]] = defaultdict(dict)
    gauges: defaultdict[str, dict[str, int]] = defaultdict(dict)
    windows: defaultdict[str, defaultdict[str, dict[str, int]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    rejected: dict[str, int] = {}
    processed = duplicate = 0
    watermark = last = None
    lag: dict[int, int] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            lb, v = s.labels, s.value
            if s.name == c.RECEIVED_TOTAL.name:
                totals[lb["unit"]][f"received:{lb['channel']}"] = int(v)
            elif s.name == c.COMPLETED_TOTAL.name:
                totals[lb["unit"]][f"completed:{lb['timeliness']}"] = int(v)
            elif s.name == c.REFUSED_TOTAL.name:
                totals[lb["unit"]]["refused"] = int(v)
            elif s.name in (c.IN_PROGRESS.name, c.OVERDUE.name):
                gauges[lb["unit"]][s.name] = int(v)
            elif s.name == c.WINDOW_RECEIVED.name:
                windows[lb["unit"]][lb["window"]][f"received:{lb['channel']}"] = int(v)
            elif s.name == c.WINDOW_COMPLETED.name:
                windows[lb["unit"]][lb["window"]][f"completed:{lb['timeliness']}"] = int(v)
            elif s.name == c.EVENTS_PROCESSED.name:
                processed = int(v)
            elif s.name == c.EVENTS_DUPLICATE.name:
                duplicate = int(v)
            elif s.name == c.EVENTS_REJECTED.name:
                rejected[lb["reason"]] = int(v)
            elif s.name == c.WATERMARK.name:
                watermark = v
            elif s.name == c.LAST_PROCESSED.name:
                last = v
            elif s.name == c.CONSUMER_LAG.name:
                lag[int(lb["partition"])] = int(v)
    units = {
        u: UnitFigures(
            totals=t,
            in_progress=gauges[u].get(c.IN_PROGRESS.name, 0),
            overdue=gauges[u].get(c.OVERDUE.name, 0),
            windows={w: dict(counts) for w, counts in windows[u].items()},
        )
        for u, t in totals.items()
    }
    return Snapshot(None, units, processed, duplicate, rejected, watermark, last, lag)


def run_board(
    url: str,
    units: UnitRegistry,
    window: str = "24h",
    interval: float = 2.0,
    duration: float | None = None,
) -> None:
    """Show the board, refreshed every ``interval`` seconds, until Ctrl-C or ``duration``.

    Args:
        url: The exporter's ``/metrics`` URL.
        units: The unit registry.
        window: Window of the ratio columns. Default ``24h``.
        interval: Seconds between refreshes. Default 2.
        duration: Stop after this many seconds (``None``: run until interrupted).
    """
    console = Console()
    start = time.monotonic()
    with Live(console=console, refresh_per_second=2, screen=False) as live:
        while duration is None or time.monotonic() - start < duration:
            try:
                with urllib.request.urlopen(url, timeout=5) as resp:
                    snap = parse_exposition(resp.read().decode())
                lag = sum(snap.lag.values())
                age = time.time() - snap.last_processed if snap.last_processed else None
                status = f"lag={lag} messages; last batch " + (
                    f"{age:.0f}s ago" if age is not None else "never"
                )
                live.update(Group(board_renderable(snap, units, window), Text(status)))
            except OSError as exc:
                live.update(Text(f"exporter at {url} not answering yet: {exc}"))
            time.sleep(interval)

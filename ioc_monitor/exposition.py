"""The Prometheus text exposition of a snapshot, with each unit's text cached.

prometheus-client formats about a million samples a second; at national size (3,321
units, some 500,000 samples with the v2 families) that alone is longer than a scrape
may take. :class:`TextRenderer` renders the families of
:func:`ioc_monitor.collector.render_snapshot` with prometheus-client's own
``generate_latest``, but one unit at a time, and keeps each unit's text per family
until the unit's :class:`~ioc_monitor.snapshot.UnitFigures` object changes (the
exporter's :class:`~ioc_monitor.redis.cache.CachedReader` hands back the same object
while a unit's figures hold). A scrape then joins the cached pieces family by family:
the bytes are exactly ``generate_latest`` of ``render_snapshot`` (tested), in the same
order — each family's samples unit after unit in registry order.

Expected exposition (abridged)::

    # HELP ioc_dossiers_received_total Dossiers received, by receipt channel (...).
    # TYPE ioc_dossiers_received_total counter
    ioc_dossiers_received_total{channel="in_person",level="province",unit="qn-ttpvhcc"} 3.0
    ...
    # HELP ioc_events_processed_total Messages accepted and applied.
    # TYPE ioc_events_processed_total counter
    ioc_events_processed_total 12.0
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Final

from prometheus_client.core import Metric
from prometheus_client.exposition import generate_latest

from ioc_monitor import catalogue as c
from ioc_monitor.collector import render_snapshot
from ioc_monitor.registry import Unit, UnitRegistry
from ioc_monitor.snapshot import Snapshot, UnitFigures

__all__ = ["TextRenderer", "families_text"]

#: Families with a ``unit`` label, rendered and cached unit by unit.
_UNIT_FAMILIES: Final = tuple(s for s in c.CATALOGUE if s.labels[:1] == ("unit",))
_EMPTY: Final = Snapshot(None, {}, 0, 0, {}, None, None)


class _Families:
    """A collector-like object holding fixed families (what ``generate_latest`` reads)."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> Iterator[Metric]:
        return iter(self._families)


def families_text(families: Iterable[Metric]) -> bytes:
    """``generate_latest`` of some metric families."""
    return generate_latest(_Families(families))


def _split(text: bytes) -> dict[str, bytes]:
    """Sample lines of an exposition per family (by its ``# HELP`` name)."""
    out: dict[str, list[bytes]] = {}
    current: list[bytes] = []
    for line in text.splitlines(keepends=True):
        if line.startswith(b"# HELP "):
            current = out.setdefault(line.split(b" ", 3)[2].decode(), [])
        elif not line.startswith(b"#"):
            current.append(line)
    return {name: b"".join(lines) for name, lines in out.items() if lines}


class TextRenderer:
    """Renders snapshots of one unit registry, caching each unit's text.

    Args:
        units: The unit registry; every unit of it is rendered (its ``_info`` and target
            series always, its figures when the snapshot has them).
    """

    def __init__(self, units: UnitRegistry) -> None:
        self._units = list(units)
        self._cache: dict[str, tuple[UnitFigures | None, dict[str, bytes]]] = {}
        everything = families_text(render_snapshot(_EMPTY, UnitRegistry([])))
        self._headers: dict[str, bytes] = {}
        self._tail_names: list[str] = []
        name = ""
        for line in everything.splitlines(keepends=True):
            if line.startswith(b"# HELP "):
                name = line.split(b" ", 3)[2].decode()
                self._headers[name] = line
            elif line.startswith(b"# TYPE "):
                self._headers[name] += line
        self._unit_names = [spec.name for spec in _UNIT_FAMILIES]
        self._tail_names = [n for n in self._headers if n not in self._unit_names]

    def _unit_text(self, unit: Unit, fig: UnitFigures | None) -> dict[str, bytes]:
        cached = self._cache.get(unit.id)
        if cached is not None and cached[0] is fig:
            return cached[1]
        snap = _EMPTY if fig is None else Snapshot(None, {unit.id: fig}, 0, 0, {}, None, None)
        families = [f for f in render_snapshot(snap, UnitRegistry([unit])) if f.samples]
        text = _split(families_text(families))
        self._cache[unit.id] = (fig, text)
        return text

    def render(self, snap: Snapshot, extra: Iterable[Metric] = (), pipeline: bool = True) -> bytes:
        """The exposition of a snapshot, then of ``extra`` families (the exporter's own).

        Args:
            snap: The figures.
            extra: Families rendered after the snapshot's.
            pipeline: Render the pipeline families (an exporter shard other than 0 does
                not). Default True.

        Returns:
            Exactly ``generate_latest`` of ``render_snapshot(snap, units)`` followed by
            ``extra`` (without the pipeline families when ``pipeline`` is False).
        """
        texts = [self._unit_text(u, snap.units.get(u.id)) for u in self._units]
        out: list[bytes] = []
        for name in self._unit_names:
            out.append(self._headers[name])
            out.extend(t[name] for t in texts if name in t)
        if pipeline:
            tail = _split(families_text(render_snapshot(_pipeline_only(snap), UnitRegistry([]))))
            for name in self._tail_names:
                out.append(self._headers[name])
                if name in tail:
                    out.append(tail[name])
        out.append(families_text(extra))
        return b"".join(out)


def _pipeline_only(snap: Snapshot) -> Snapshot:
    """The snapshot without its units (their families are rendered from the cache)."""
    return Snapshot(
        snap.clock,
        {},
        snap.processed,
        snap.duplicate,
        snap.rejected,
        snap.watermark,
        snap.last_processed,
        snap.lag,
        snap.stalled,
    )

"""Page payloads from query results (pure: no I/O), and the ranking of units.

Each function takes the results of the matching query set of :mod:`services.wall.queries`
(name → samples; the KPI figures under their key of :mod:`services.panel_catalogue`) and
returns the JSON the browser renders. Absent series stay absent
(a ratio with no denominator is ``null`` or missing, never 0), so the page shows "—".

Ranking (KPIS.md, Scorecard): units of one level by scorecard total / sum of the weights
of the exposed components, in the scorecard window (``month``); a unit without a
scorecard comes after those with one, by its on-time ratio in the same window; a unit
with neither has no rank.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from ioc_monitor import catalogue as c
from ioc_monitor.registry import LEVELS
from services import panel_catalogue as pc
from services.wall.queries import RATIOS
from services.wall.upstream import Sample

__all__ = [
    "RANK_WINDOW",
    "WEIGHTS",
    "figures",
    "levels",
    "overview",
    "rank_units",
    "scorecards",
    "unit",
    "unit_names",
    "units",
]

Results = Mapping[str, Sequence[Sample]]
Json = dict[str, Any]

#: Weight in points of each scorecard component (KPIS.md v2).
WEIGHTS: Final = dict(c.SCORECARD_COMPONENTS)
#: Window of the ranking (the national dashboard's monthly scorecard).
RANK_WINDOW: Final = "month"


def figures() -> Json:
    """The titles of the panel catalogue's figures, for the pages (``/api/config``).

    Returns:
        ``{key: {kind, title: {vi, en}, short: {vi, en}}}``: the pages show a figure as
        ``kpi.<key>`` (title) and ``series.<key>`` (short), in the page's language.
    """
    return {
        f.key: {
            "kind": f.kind,
            "title": {"vi": f.title.vi, "en": f.title.en},
            "short": {"vi": f.short.vi, "en": f.short.en},
        }
        for f in pc.FIGURES
    }


def _one(samples: Sequence[Sample] | None) -> float | None:
    return samples[0].value if samples else None


def _by(samples: Iterable[Sample], *labels: str) -> dict[tuple[str, ...], float]:
    return {tuple(s.labels.get(k, "") for k in labels): s.value for s in samples}


def _ratios(results: Results, key: tuple[str, ...] = (), *labels: str) -> dict[str, Any]:
    """``{kpi: {window: value}}`` of the ratio results matching ``key``."""
    out: dict[str, Any] = {}
    for kpi in RATIOS:
        values = {
            k[-1]: v
            for k, v in _by(results.get(kpi, ()), *labels, "window").items()
            if k[:-1] == key
        }
        if values:
            out[kpi] = values
    return out


def scorecards(samples: Iterable[Sample], key: tuple[str, ...] = (), *labels: str) -> Json:
    """``{window: {total, max, ratio, components}}`` of scorecard samples matching ``key``.

    ``max`` is the sum of the weights of the components present (exposed), ``ratio``
    is ``total / max``, the figure units are ranked by.
    """
    out: Json = {}
    for k, value in _by(samples, *labels, "window", "component").items():
        if k[:-2] != key or k[-1] not in WEIGHTS:
            continue
        card = out.setdefault(k[-2], {"total": 0.0, "max": 0.0, "components": {}})
        card["components"][k[-1]] = value
        card["total"] += value
        card["max"] += WEIGHTS[k[-1]]
    for card in out.values():
        card["ratio"] = card["total"] / card["max"] if card["max"] else None
    return out


def _due_soon(results: Results, key: tuple[str, ...] = (), *labels: str) -> Json:
    """``{within: value}`` of the due-soon results (one figure per ``within``)."""
    samples = [s for f in pc.DUE_SOON for s in results.get(f.key, ())]
    return {k[-1]: v for k, v in _by(samples, *labels, "within").items() if k[:-1] == key}


def _gauge(samples: Iterable[Sample], key: tuple[str, ...] = (), *labels: str) -> float | None:
    return _by(samples, *labels).get(key)


def overview(results: Results) -> Json:
    """The province overview."""
    return {
        "ratios": _ratios(results),
        "in_progress": _one(results.get("in_progress")),
        "overdue": _one(results.get("overdue")),
        "due_soon": _due_soon(results),
        "scorecard": scorecards(results.get("scorecard", ())),
        "units": _one(results.get("units")),
        "worst_overdue": [
            {
                "unit": s.labels.get("unit", ""),
                "name": s.labels.get("name", ""),
                "level": s.labels.get("level", ""),
                "overdue": s.value,
            }
            for s in sorted(results.get("worst_overdue", ()), key=lambda s: -s.value)
        ],
    }


def levels(results: Results) -> Json:
    """One row per level that has units or data, in registry level order."""
    counts = _by(results.get("units", ()), "level")
    present = {k[0] for k in counts}
    for name in ("on_time", "in_progress"):
        present |= {s.labels.get("level", "") for s in results.get(name, ())}
    rows = []
    for level in (lv for lv in LEVELS if lv in present):
        key = (level,)
        targets: Json = {}
        lows = _by(results.get("target_min", ()), "level", "kpi")
        highs = _by(results.get("target_max", ()), "level", "kpi")
        for kpi in c.TARGET_KPIS:
            if (level, kpi) in lows:
                targets[kpi] = [lows[level, kpi], highs.get((level, kpi), lows[level, kpi])]
        rows.append(
            {
                "level": level,
                "units": counts.get(key),
                "ratios": _ratios(results, key, "level"),
                "in_progress": _gauge(results.get("in_progress", ()), key, "level"),
                "overdue": _gauge(results.get("overdue", ()), key, "level"),
                "due_soon": _due_soon(results, key, "level"),
                "scorecard": scorecards(results.get("scorecard", ()), key, "level"),
                "targets": targets,
            }
        )
    return {"levels": rows}


def _unit_rows(results: Results) -> list[Json]:
    rows = []
    targets = _by(results.get("targets", ()), "unit", "kpi")
    for info in results.get("info", ()):
        uid = info.labels.get("unit", "")
        key = (uid,)
        rows.append(
            {
                "unit": uid,
                "name": info.labels.get("name") or uid,
                "level": info.labels.get("level", ""),
                "supervisor": info.labels.get("supervisor") or None,
                "ratios": _ratios(results, key, "unit"),
                "in_progress": _gauge(results.get("in_progress", ()), key, "unit"),
                "overdue": _gauge(results.get("overdue", ()), key, "unit"),
                "due_soon": _due_soon(results, key, "unit"),
                "targets": {
                    kpi: targets[uid, kpi] for kpi in c.TARGET_KPIS if (uid, kpi) in targets
                },
                "scorecard": scorecards(results.get("scorecard", ()), key, "unit"),
            }
        )
    return rows


def _rank_key(row: Json) -> tuple[int, float, str]:
    card = row["scorecard"].get(RANK_WINDOW)
    if card and card.get("ratio") is not None:
        return (0, -float(card["ratio"]), row["name"])
    on_time = row["ratios"].get("on_time", {}).get(RANK_WINDOW)
    if on_time is not None:
        return (1, -float(on_time), row["name"])
    return (2, 0.0, row["name"])


def rank_units(rows: Iterable[Json]) -> list[Json]:
    """Rank units within their level (see the module docstring), levels in registry order.

    Each row gets ``rank`` (1 = best of its level; ``None`` without scorecard nor
    on-time ratio) and ``ranked_by`` (``scorecard``, ``on_time`` or ``None``).
    """
    order = {level: i for i, level in enumerate(LEVELS)}
    out: list[Json] = []
    by_level: dict[str, list[Json]] = {}
    for row in rows:
        by_level.setdefault(row["level"], []).append(row)
    for level in sorted(by_level, key=lambda lv: order.get(lv, len(order))):
        ranked = sorted(by_level[level], key=_rank_key)
        for i, row in enumerate(ranked, start=1):
            kind = _rank_key(row)[0]
            row["ranked_by"] = ("scorecard", "on_time", None)[kind]
            row["rank"] = i if kind < 2 else None
            out.append(row)
    return out


def units(results: Results) -> Json:
    """Every unit, ranked within its level."""
    return {"rank_window": RANK_WINDOW, "units": rank_units(_unit_rows(results))}


def unit(results: Results) -> Json | None:
    """One unit's figures (``None`` when ``ioc_unit_info`` does not know it)."""
    rows = _unit_rows(results)
    return rows[0] if rows else None


def unit_names(results: Results) -> dict[str, Json]:
    """``{unit: {name, level}}`` from ``ioc_unit_info``."""
    return {
        s.labels.get("unit", ""): {
            "name": s.labels.get("name") or s.labels.get("unit", ""),
            "level": s.labels.get("level", ""),
        }
        for s in results.get("info", ())
    }

"""Figures of ``make bench`` and their Markdown rendering (pure, no I/O).

A :class:`Figure` holds every run's value of one measured quantity; the report shows its
median and spread (min–max) and, when the figure has a :class:`Goal`, whether the median
meets it.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

__all__ = ["MIB", "Figure", "Goal", "Section", "format_value", "mib", "render", "spread", "table"]

#: Bytes in a MiB.
MIB: Final = 1024 * 1024
_MISSING: Final = "–"


def mib(kib: float) -> float:
    """KiB to MiB."""
    return kib / 1024


@dataclass(frozen=True, slots=True)
class Goal:
    """A target on a figure's median.

    Attributes:
        op: ``>=`` (at least) or ``<=`` (at most).
        value: The threshold, in the figure's unit.
    """

    op: Literal[">=", "<="]
    value: float

    def met(self, median: float) -> bool:
        """Tell whether a median meets the goal."""
        return median >= self.value if self.op == ">=" else median <= self.value

    def text(self, unit: str) -> str:
        """The goal as shown in the table, e.g. ``≥ 20,000 events/s``."""
        sign = "≥" if self.op == ">=" else "≤"
        return f"{sign} {format_value(self.value, unit)}"


@dataclass(slots=True)
class Figure:
    """One measured quantity over every run.

    Attributes:
        label: What was measured, for the table.
        unit: ``events/s``, ``s``, ``ms``, ``MiB``, ``KiB``, ``bytes``, ``x`` (a ratio),
            ``%`` or ``count``.
        values: One value per run (may be empty when the figure was skipped).
        goal: The target, if the issue sets one.
        note: Short remark shown in the table.
    """

    label: str
    unit: str
    values: list[float] = field(default_factory=list)
    goal: Goal | None = None
    note: str = ""

    @property
    def median(self) -> float | None:
        """Median of the runs, None without values."""
        return statistics.median(self.values) if self.values else None

    @property
    def met(self) -> bool | None:
        """Whether the median meets the goal; None without a goal or values."""
        median = self.median
        if self.goal is None or median is None:
            return None
        return self.goal.met(median)


@dataclass(slots=True)
class Section:
    """A group of figures with the description of how they were measured.

    Attributes:
        title: Section heading.
        method: Markdown paragraphs describing the method.
        figures: The figures, in table order.
        extra: Further Markdown shown after the table (details, checks).
    """

    title: str
    method: str
    figures: list[Figure] = field(default_factory=list)
    extra: str = ""


def format_value(value: float, unit: str) -> str:
    """Format one value with its unit, at a precision suited to the unit.

    Args:
        value: The number.
        unit: One of the units of :class:`Figure`.

    Returns:
        e.g. ``12,345 events/s``, ``0.42 s``, ``3.1×``, ``57 %``.
    """
    if unit == "x":
        return f"{value:.2f}×" if value < 10 else f"{value:.1f}×"
    if unit == "%":
        return f"{value:.0f} %"
    if unit in ("events/s", "count", "bytes"):
        return f"{value:,.0f} {unit}" if unit != "count" else f"{value:,.0f}"
    if unit == "ms":
        return f"{value:,.1f} ms" if value < 100 else f"{value:,.0f} ms"
    if unit == "s":
        return f"{value:,.2f} s" if value < 10 else f"{value:,.1f} s"
    return f"{value:,.1f} {unit}"


def spread(values: Sequence[float], unit: str) -> str:
    """``min – max`` of the runs (a single value when there is one run)."""
    if not values:
        return _MISSING
    lo, hi = min(values), max(values)
    if len(values) == 1:
        return format_value(lo, unit)
    return f"{format_value(lo, unit)} – {format_value(hi, unit)}"


def _status(fig: Figure) -> str:
    met = fig.met
    if met is None:
        return "" if fig.goal is None else "not measured"
    return "**met**" if met else "**missed**"


def table(figures: Sequence[Figure]) -> list[str]:
    """Markdown table lines of figures (median, spread, runs, goal, status, note)."""
    lines = [
        "| figure | median | spread (min – max) | runs | goal | status | note |",
        "|---|---:|---:|---:|---|---|---|",
    ]
    for fig in figures:
        median = fig.median
        lines.append(
            "| "
            + " | ".join(
                [
                    fig.label,
                    format_value(median, fig.unit) if median is not None else _MISSING,
                    spread(fig.values, fig.unit),
                    str(len(fig.values)),
                    fig.goal.text(fig.unit) if fig.goal else "",
                    _status(fig),
                    fig.note,
                ]
            )
            + " |"
        )
    return lines


def _kv_table(title: str, rows: Mapping[str, str]) -> list[str]:
    lines = [f"| {title} | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in rows.items()]
    return lines


def render(
    *,
    title: str,
    intro: str,
    machine: Mapping[str, str],
    versions: Mapping[str, str],
    settings: Mapping[str, str],
    sections: Sequence[Section],
) -> str:
    """Render the whole report as Markdown.

    Args:
        title: Top heading.
        intro: Paragraphs under the heading.
        machine: CPU, cores, memory, load averages...
        versions: Software versions.
        settings: The bench's own settings (runs, sizes...).
        sections: Measured sections, in order.

    Returns:
        The Markdown text, ending with a newline.
    """
    out = [f"# {title}", "", intro.strip(), ""]
    summary = [f for s in sections for f in s.figures if f.goal is not None]
    if summary:
        out += ["## Goals at a glance", "", *table(summary), ""]
    out += ["## Machine and versions", ""]
    out += [*_kv_table("machine", machine), ""]
    out += [*_kv_table("software", versions), ""]
    out += [*_kv_table("bench setting", settings), ""]
    for section in sections:
        out += [f"## {section.title}", "", section.method.strip(), ""]
        if section.figures:
            out += [*table(section.figures), ""]
        if section.extra.strip():
            out += [section.extra.strip(), ""]
    return "\n".join(out).rstrip() + "\n"

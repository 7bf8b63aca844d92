"""The demo profile over simulated days: the slipping units alert, and nothing else fires.

1. ``ioc simulate`` runs the default profile (calibrated to the seed report) on the bundled
   Quảng Ninh registry from Tuesday 1 July 2025 to Monday 14 July 15:00, seed :data:`SEED`,
   with the units ``ioc demo`` makes slip (:data:`~services.cli.demo.DEMO_SLIP`) slipping
   from :data:`SLIP_AFTER` on.
2. Its events are folded in order as ``ioc kpi`` and the worker fold them, and from Thursday
   10 July 07:00 on, every 5 minutes of simulated time, the figures a wall-clock exporter
   serves at that instant (every event up to it consumed) are scraped: 104 hours, 1,249
   scrapes of the families the alerts read. Every 24th scrape and the last are checked
   sample by sample against the exporter's own families
   (:func:`~ioc_monitor.collector.render_snapshot`). ``up`` and ``ioc_exporter_redis_up``
   are 1, as in a healthy scrape; consumer lag and stalled partitions exist only on a live
   stream and are absent.
3. ``promtool test rules`` runs the generated alert rules and the recording groups they read
   (``deploy/prometheus/rules``, verbatim), evaluating every :data:`EVAL_S` seconds (the
   data change every 5 minutes; Prometheus evaluates every 15 s). Test time 0 is
   1970-01-01T00:00Z, a Thursday, and so is the first scrape's instant in UTC, so the
   feed-stalled alert sees the simulated weekdays and office hours.

Asserted: at no evaluation in the 104 hours does an alert fire for a unit that does not slip,
nor a pipeline alert (``ALERTS``); at the last one the firing (alert, unit) pairs are exactly
those :func:`expected_firing` works out from the alert definitions (the tables of
``services/ops/alerts.py`` and ``slo.py``, restated here: 4-sigma control limits, minimum
volumes, ``for``) applied to the scraped counts, never to the exporter's ratios nor to a
previous run, and every slipping unit is among them. Data on a threshold (closer than
:data:`TIE`) fail the test rather than guess.
"""

from __future__ import annotations

import functools
import json
import math
import re
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Final

import pytest
import yaml

from ioc_monitor.collector import render_snapshot
from ioc_monitor.engine import fold, parse_batch
from ioc_monitor.events import CHANNELS
from ioc_monitor.kpis import ratios
from ioc_monitor.memstore import MemoryStore
from ioc_monitor.registry import UnitRegistry, load_registry
from ioc_monitor.rules import TIMELINESS
from ioc_monitor.snapshot import Snapshot
from ioc_monitor.timeutil import parse_timestamp
from services.cli.demo import DEMO_SLIP
from services.harness import IOC
from services.ops import rules as rg

pytestmark = pytest.mark.integration

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
LOCAL: Final = timezone(timedelta(hours=7))
SEED: Final = 7
SLIP: Final = tuple(DEMO_SLIP)
START: Final = datetime(2025, 7, 1, tzinfo=LOCAL)
SLIP_AFTER: Final = "3d"
#: First scrape: Thursday 00:00 UTC, a whole number of weeks after promtool's time 0.
FIRST: Final = datetime(2025, 7, 10, 7, tzinfo=LOCAL)
#: Last scrape and end of the simulation: a Monday afternoon.
LAST: Final = datetime(2025, 7, 14, 15, tzinfo=LOCAL)
STEP_S: Final = 300
EVAL_S: Final = 600
CHECK_EVERY: Final = 24
BATCH: Final = 2000
#: A comparison closer than this (relative) to its threshold is too close to call.
TIE: Final = 1e-6

# The alert definitions, restated (README "Operations layer", services/ops/alerts.py, slo.py).
SIGMAS: Final = 4
SATISFACTION_MIN: Final = 0.9
MULTI_VISIT_MAX: Final = {"province": 0.02, "district": 0.05, "commune": 0.05}
FOR_S: Final = {
    "IocOnTimeBelowTarget24h": 1800,
    "IocOnTimeBelowTarget30d": 3600,
    "IocOnTimeBudgetBurnFast": 120,
    "IocOnTimeBudgetBurnSlow": 900,
    "IocUnitOverdue": 900,
    "IocOnlineBelowTarget30d": 3600,
    "IocMultiVisitHigh30d": 3600,
    "IocSatisfactionLow30d": 3600,
}
#: Burn-rate pairs (long range s, short range s, factor); 20 completions over the long one.
FAST: Final = ((3600, 300, 14.4), (6 * 3600, 1800, 6.0))
SLOW: Final = ((3 * 86400, 6 * 3600, 1.0),)

#: Families scraped: name → windows kept (None: the family has no window label).
FAMILIES: Final[Mapping[str, tuple[str, ...] | None]] = {
    "ioc_unit_info": None,
    "ioc_unit_target_ratio": None,
    "ioc_dossiers_completed_total": None,
    "ioc_dossiers_in_progress": None,
    "ioc_dossiers_overdue": None,
    "ioc_window_dossiers_completed": ("24h", "30d"),
    "ioc_window_dossiers_received": ("30d",),
    "ioc_window_dossiers_multi_visit": ("30d",),
    "ioc_window_dossiers_rated": ("30d",),
    "ioc_on_time_ratio": ("24h", "30d"),
    "ioc_online_ratio": ("30d",),
    "ioc_multi_visit_ratio": ("30d",),
    "ioc_satisfaction_ratio": ("30d",),
    "ioc_events_processed_total": None,
    "ioc_events_rejected_total": None,
    "ioc_events_duplicate_total": None,
}
#: Series only a live stream has (absent here; live, lag is about 0 and nothing is stalled).
STREAM_ONLY: Final = frozenset({"ioc_consumer_lag_messages", "ioc_consumer_partition_stalled"})
_WINDOW_LABEL: Final = {"completed": "timeliness", "received": "channel", "rated": "rating"}

Key = tuple[str, frozenset[tuple[str, str]]]


@functools.cache
def _key(name: str, *pairs: tuple[str, str]) -> Key:
    return name, frozenset(pairs)


_TARGET: Final = (("job", "ioc-exporter"), ("instance", "demo:9464"))
#: A healthy scrape's own series (Prometheus' ``up``, the exporter's Redis check).
SCRAPE: Final = {_key("up", *_TARGET): 1.0, _key("ioc_exporter_redis_up", *_TARGET): 1.0}


def _wanted(name: str, labels: Mapping[str, str]) -> bool:
    windows = FAMILIES.get(name, ())
    return windows is None or labels.get("window") in (windows or ())


def scraped(snap: Snapshot, units: UnitRegistry) -> dict[Key, float]:
    """The unit and pipeline samples of :data:`FAMILIES` in one scrape (checked below)."""
    out: dict[Key, float] = {}
    for unit in units:
        fig = snap.units.get(unit.id)
        if fig is None:
            continue
        base = (("unit", unit.id), ("level", unit.level))
        for t in TIMELINESS:
            key = _key("ioc_dossiers_completed_total", *base, ("timeliness", t))
            out[key] = float(fig.totals.get(f"completed:{t}", 0))
        out[_key("ioc_dossiers_in_progress", *base)] = float(fig.in_progress)
        out[_key("ioc_dossiers_overdue", *base)] = float(fig.overdue)
        for window in ("24h", "30d"):
            at = (*base, ("window", window))
            counts = fig.windows.get(window, {})
            for series, n in counts.items():
                family, _, value = series.partition(":")
                name = f"ioc_window_dossiers_{family}"
                if n and name in FAMILIES and window in (FAMILIES[name] or ()):
                    extra = ((_WINDOW_LABEL[family], value),) if value else ()
                    out[_key(name, *at, *extra)] = float(n)
            for kpi, ratio in ratios(counts).items():
                name = f"ioc_{kpi}_ratio"
                if name in FAMILIES and window in (FAMILIES[name] or ()):
                    out[_key(name, *at)] = ratio
    out[_key("ioc_events_processed_total")] = float(snap.processed)
    out[_key("ioc_events_duplicate_total")] = float(snap.duplicate)
    for reason, n in snap.rejected.items():
        out[_key("ioc_events_rejected_total", ("reason", reason))] = float(n)
    return out


def rendered(snap: Snapshot, units: UnitRegistry) -> dict[Key, float]:
    """The :data:`FAMILIES` samples of the exporter's families for a snapshot."""
    return {
        _key(sample.name, *sorted(sample.labels.items())): sample.value
        for family in render_snapshot(snap, units)
        for sample in family.samples
        if _wanted(sample.name, sample.labels)
    }


@dataclass
class Scrapes:
    """The scrapes, column-wise: ``series[key][i]`` is the value at scrape ``i`` or None."""

    times: list[float] = field(default_factory=list)
    series: dict[Key, list[float | None]] = field(default_factory=dict)

    def add(self, t: float, samples: Mapping[Key, float]) -> None:
        i = len(self.times)
        self.times.append(t)
        for key, value in samples.items():
            column = self.series.setdefault(key, [])
            column.extend([None] * (i - len(column)))
            column.append(value)

    def column(self, key: Key) -> list[float | None]:
        column = self.series[key]
        return column + [None] * (len(self.times) - len(column))

    def get(self, i: int, name: str, *pairs: tuple[str, str]) -> float:
        """A value at scrape ``i``; 0 when absent (counts of 0 may be left out, METRICS.md)."""
        column = self.series.get(_key(name, *pairs), [])
        value = column[i] if i < len(column) else None
        return 0.0 if value is None else value


def _simulate(log: Path) -> Iterator[bytes]:
    """Run ``ioc simulate`` to stdout (copied to ``log``); yield its lines as they come."""
    days = (LAST - START).total_seconds() / 86400
    argv = [*IOC, "simulate", "--seed", str(SEED), "--start", START.isoformat()]
    argv += ["--days", repr(days), "--slip", ",".join(SLIP), "--slip-after", SLIP_AFTER]
    with (
        log.open("wb") as copy,
        subprocess.Popen(
            [*argv, "--no-progress", "--out", "-"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        ) as proc,
    ):
        assert proc.stdout is not None and proc.stderr is not None
        for line in proc.stdout:
            copy.write(line)
            yield line.rstrip(b"\r\n")
        stderr = proc.stderr.read().decode(errors="replace")
        assert proc.wait(timeout=60) == 0, stderr


def scrape_demo(log: Path, units: UnitRegistry) -> Scrapes:
    """Fold the simulated events in order; scrape every :data:`STEP_S` from FIRST to LAST."""
    store, ids, scrapes = MemoryStore(), units.ids, Scrapes()
    registry = {
        key: value
        for key, value in rendered(Snapshot(None, {}, 0, 0, {}, None, None), units).items()
        if key[0] in {"ioc_unit_info", "ioc_unit_target_ratio"}
    }
    batch: list[bytes] = []
    due, last = FIRST.timestamp(), LAST.timestamp()

    def scrape(t: float) -> None:
        if batch:
            store.apply(fold(parse_batch(batch, ids), store, store.watermark))
            batch.clear()
        snap = store.snapshot(t)
        samples = scraped(snap, units) | registry
        if len(scrapes.times) % CHECK_EVERY == 0 or t == last:
            assert samples == rendered(snap, units), f"scrape at {t} is not the exporter's"
        scrapes.add(t, samples | SCRAPE)

    for raw in _simulate(log):
        occurred = parse_timestamp(json.loads(raw)["occurred_at"])
        assert occurred is not None and occurred <= last
        while occurred > due:
            scrape(due)
            due += STEP_S
        batch.append(raw)
        if len(batch) >= BATCH:
            store.apply(fold(parse_batch(batch, ids), store, store.watermark))
            batch.clear()
    while due <= last:
        scrape(due)
        due += STEP_S
    return scrapes


# --- the promtool test ---------------------------------------------------------------------


def _series_text(key: Key) -> str:
    name, labels = key
    escaped = {k: v.replace("\\", "\\\\").replace('"', '\\"') for k, v in labels}
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(escaped.items())) + "}"


def values_text(column: list[float | None]) -> str:
    """promtool's notation, run-length coded (``vxN``: N+1 samples; ``_xN``: N missing).

    The first scrape a series is missing from is a staleness marker, as Prometheus writes.
    """
    tokens: list[str] = []
    i = 0
    while i < len(column):
        j = i
        while j + 1 < len(column) and column[j + 1] == column[i]:
            j += 1
        value, run = column[i], j - i + 1
        if value is None:
            if i > 0:
                tokens.append("stale")
                run -= 1
            if run:
                tokens.append(f"_x{run}")
        else:
            text = str(int(value)) if value == int(value) else repr(value)
            tokens.append(text if run == 1 else f"{text}x{run - 1}")
        i = j + 1
    return " ".join(tokens)


def rule_files(home: Path) -> tuple[list[Path], list[str]]:
    """The generated alert file and the recording groups its expressions read, verbatim;
    and the groups' names, recording first (promtool's default order is random, and an
    alert evaluated before its recording would read one 10 minutes old: stale)."""
    alerts = yaml.safe_load((DEPLOY / rg.ALERTS_FILE).read_text(encoding="utf-8"))
    recording = yaml.safe_load((DEPLOY / rg.RECORDING_FILE).read_text(encoding="utf-8"))
    exprs = [r["expr"] for g in alerts["groups"] for r in g["rules"]]
    read = set().union(*(rg.metric_names(e) for e in exprs))
    groups = [g for g in recording["groups"] if rg.recorded_names([g]) & read]
    raw = read - rg.recorded_names(groups)
    missing = raw - {*FAMILIES, *(k[0] for k in SCRAPE), *STREAM_ONLY}
    assert not missing, f"the alerts read series this test does not scrape: {missing}"
    windows = set(re.findall(r'window="([^"]+)"', "\n".join(exprs)))
    assert windows <= {w for ws in FAMILIES.values() for w in ws or ()}, windows
    for group in groups:  # what the recording groups read is scraped too
        for rule in group["rules"]:
            assert rg.metric_names(rule["expr"]) <= set(FAMILIES), rule["record"]
    path = home / "ioc-recording-slo.yml"
    path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False), encoding="utf-8")
    kpi = {r["alert"]: r for g in alerts["groups"] for r in g["rules"] if r["alert"] in FOR_S}
    units = {"m": 60, "h": 3600}
    assert {k: int(r["for"][:-1]) * units[r["for"][-1]] for k, r in kpi.items()} == FOR_S
    assert all(f"{SIGMAS} * sqrt(" in r["expr"] for r in kpi.values()), "limits restated here"
    order = [g["name"] for g in [*groups, *alerts["groups"]]]
    return [path, DEPLOY / rg.ALERTS_FILE], order


def promtool_test(scrapes: Scrapes, expected: set[tuple[str, str]], home: Path) -> Path:
    """Write the ``promtool test rules`` file: the scrapes and the two assertions."""
    period = int(scrapes.times[-1] - scrapes.times[0])
    assert period % EVAL_S == 0
    assert all(re.fullmatch("[a-z0-9-]+", unit) for unit in SLIP)
    others = f'ALERTS{{alertstate="firing",unit!~"{"|".join(SLIP)}"}}'
    firing = [
        {"labels": f'{{alertname="{name}",unit="{unit}"}}', "value": 1}
        for name, unit in sorted(expected)
    ]
    checks: list[dict[str, Any]] = [
        {
            "expr": f"count by (alertname, unit) (max_over_time({others}[{period + EVAL_S}s]))",
            "eval_time": f"{period}s",
            "exp_samples": [],
        },
        {
            "expr": 'count by (alertname, unit) (ALERTS{alertstate="firing"})',
            "eval_time": f"{period}s",
            "exp_samples": firing,
        },
    ]
    inputs = [
        {"series": _series_text(key), "values": values_text(scrapes.column(key))}
        for key in sorted(scrapes.series)
    ]
    files, order = rule_files(home)
    doc = {
        "rule_files": [str(p) for p in files],
        "evaluation_interval": f"{EVAL_S}s",
        "group_eval_order": order,
        "tests": [{"interval": f"{STEP_S}s", "input_series": inputs, "promql_expr_test": checks}],
    }
    path = home / "demo.test.yml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


# --- the expected alerts, from the definitions ---------------------------------------------


def _over(value: float, limit: float, what: str) -> bool:
    """``value > limit``; a tie (float rounding could go either way) fails the test."""
    assert abs(value - limit) > TIE * max(1.0, abs(limit)), f"{what}: {value!r} on {limit!r}"
    return value > limit


def _limit(standard: float, n: float, sign: int) -> float:
    """SIGMAS-sigma control limit of a share ``standard`` over ``n`` (NaN for a standard > 1)."""
    variance = standard * (1 - standard)
    return math.nan if variance < 0 else standard + sign * SIGMAS * math.sqrt(variance / n)


def _beyond(part: float, n: float, standard: float, minimum: int, sign: int, what: str) -> bool:
    """``part / n`` beyond the control limit of ``standard`` (below: sign -1; above: +1)."""
    if n < minimum:
        return False
    limit, share = _limit(standard, n, sign), part / n
    if math.isnan(limit):
        return False
    return _over(limit, share, what) if sign < 0 else _over(share, limit, what)


@dataclass(frozen=True)
class View:
    """One unit's scraped counts at scrape ``i``, read as the alerts read them."""

    scrapes: Scrapes
    i: int
    unit: str
    level: str

    def count(self, name: str, window: str, label: str, values: tuple[str, ...]) -> float:
        base = (("unit", self.unit), ("level", self.level), ("window", window))
        return sum(self.scrapes.get(self.i, name, *base, (label, v)) for v in values)

    def gauge(self, name: str, *extra: tuple[str, str]) -> float:
        base = (("unit", self.unit), ("level", self.level))
        return self.scrapes.get(self.i, name, *base, *extra)

    def completed(self, range_s: int, timeliness: tuple[str, ...] = TIMELINESS) -> float:
        """Completions over the last ``range_s``: the counters' increase (samples at both ends)."""
        back = self.i - range_s // STEP_S
        assert back >= 0, "the scrapes must cover the longest range"
        name = "ioc_dossiers_completed_total"
        return sum(
            View(self.scrapes, at, self.unit, self.level).gauge(name, ("timeliness", t)) * sign
            for t in timeliness
            for at, sign in ((self.i, 1), (back, -1))
        )


def _burn(v: View, pairs: tuple[tuple[int, int, float], ...], budget: float) -> bool:
    for long, short, factor in pairs:
        n_long, n_short = v.completed(long), v.completed(short)
        what = f"{v.unit} late share over {long} s vs {factor} x budget"
        if n_short == 0 or not _beyond(
            v.completed(long, ("late",)), n_long, factor * budget, 20, 1, what
        ):
            continue
        if _over(v.completed(short, ("late",)) / n_short, factor * budget, what + " (short)"):
            return True
    return False


def conditions(v: View, on_time: float, online: float) -> dict[str, bool]:
    """Every KPI alert's condition for one unit at one scrape, ``for`` aside."""
    done, good = "ioc_window_dossiers_completed", ("early", "on_time")
    received, rated = "ioc_window_dossiers_received", "ioc_window_dossiers_rated"
    n24, n30 = (v.count(done, w, "timeliness", TIMELINESS) for w in ("24h", "30d"))
    overdue, open_ = v.gauge("ioc_dossiers_overdue"), v.gauge("ioc_dossiers_in_progress")
    web = v.count(received, "30d", "channel", ("online_full", "online_partial"))
    satisfied = v.count(rated, "30d", "rating", ("satisfied",))
    multi = v.gauge("ioc_window_dossiers_multi_visit", ("window", "30d"))
    u = v.unit
    return {
        "IocOnTimeBelowTarget24h": _beyond(
            v.count(done, "24h", "timeliness", good), n24, on_time, 20, -1, f"{u} on time 24h"
        ),
        "IocOnTimeBelowTarget30d": _beyond(
            v.count(done, "30d", "timeliness", good), n30, on_time, 30, -1, f"{u} on time 30d"
        ),
        "IocOnTimeBudgetBurnFast": _burn(v, FAST, 1 - on_time),
        "IocOnTimeBudgetBurnSlow": _burn(v, SLOW, 1 - on_time),
        "IocUnitOverdue": overdue >= 10 and _beyond(overdue, open_, 0.05, 1, 1, f"{u} overdue"),
        "IocOnlineBelowTarget30d": _beyond(
            web, v.count(received, "30d", "channel", CHANNELS), online, 30, -1, f"{u} online"
        ),
        "IocMultiVisitHigh30d": _beyond(
            multi, n30, MULTI_VISIT_MAX[v.level], 30, 1, f"{u} multi-visit"
        ),
        "IocSatisfactionLow30d": _beyond(
            satisfied,
            v.count(rated, "30d", "rating", ("satisfied", "unsatisfied")),
            SATISFACTION_MIN,
            20,
            -1,
            f"{u} satisfaction",
        ),
    }


def expected_firing(scrapes: Scrapes, units: UnitRegistry) -> set[tuple[str, str]]:
    """(alert, unit) firing at the last evaluation: its condition held at every evaluation
    of the last ``for`` (promtool fires once ``for`` has passed since the first of them)."""
    last, per_eval = len(scrapes.times) - 1, EVAL_S // STEP_S
    seen = {dict(k[1])["unit"] for k in scrapes.series if k[0] == "ioc_dossiers_in_progress"}
    out: set[tuple[str, str]] = set()
    for unit in (u for u in units if u.id in seen):
        views = [View(scrapes, last - j * per_eval, unit.id, unit.level) for j in range(7)]
        held = [conditions(v, unit.on_time_target, unit.online_target) for v in views]
        for name, for_s in FOR_S.items():
            if all(h[name] for h in held[: math.ceil(for_s / EVAL_S) + 1]):
                out.add((name, unit.id))
    return out


def test_demo_alerts_fire_for_the_slipping_units_only(tmp_path: Path) -> None:
    units = load_registry()
    assert set(SLIP) <= units.ids
    assert FIRST.timestamp() % (7 * 86400) == 0, "promtool's time 0 is a Thursday 00:00Z"
    assert max(FOR_S.values()) // EVAL_S < 7
    started = time.monotonic()
    scrapes = scrape_demo(tmp_path / "demo.jsonl", units)
    assert len(scrapes.times) == (LAST - FIRST) // timedelta(seconds=STEP_S) + 1
    expected = expected_firing(scrapes, units)
    assert {unit for _, unit in expected} <= set(SLIP), f"healthy units would fire: {expected}"
    assert {unit for _, unit in expected} == set(SLIP), f"a slipping unit would not: {expected}"
    test_file = promtool_test(scrapes, expected, tmp_path)
    proc = subprocess.run(
        ["promtool", "test", "rules", test_file.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr[-2000:]
    assert "SUCCESS" in proc.stdout
    assert time.monotonic() - started < 300, "the test should take about a minute"

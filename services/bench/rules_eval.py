"""Part of section 4 of ``make bench``: Prometheus evaluating every rule group at scale.

A private Prometheus (Debian's ``prometheus``) scrapes the bench's exporter (a registry
of N units, each with a year of state) every 15 s, with the generated rule files of
``deploy/prometheus/rules/``, and scrapes itself; after its rule groups have evaluated
a few times, ``prometheus_rule_group_last_duration_seconds`` of each group is read and
compared with the group's interval (``prometheus_rule_group_interval_seconds``).
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Final

from services import harness
from services.bench.env import say
from services.bench.report import Figure, Goal

__all__ = ["rule_group_figures"]

_RULES: Final = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "rules"
#: Seconds Prometheus runs: long enough for the 1-minute groups to evaluate twice.
_RUN_S: Final = 150.0
_OPENER: Final = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _query(base: str, expr: str) -> list[dict[str, Any]]:
    url = f"{base}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
    with _OPENER.open(url, timeout=30) as resp:
        answer = json.loads(resp.read().decode())
    result: list[dict[str, Any]] = answer["data"]["result"]
    return result


def _config(exporter: str, self_port: int) -> str:
    rules = "\n".join(f"  - {p}" for p in sorted(_RULES.glob("*.yml")))
    return f"""global:
  scrape_interval: 15s
  evaluation_interval: 15s
rule_files:
{rules}
scrape_configs:
  - job_name: ioc-exporter
    scrape_timeout: 10s
    static_configs:
      - targets: ["{exporter}"]
  - job_name: prometheus
    static_configs:
      - targets: ["127.0.0.1:{self_port}"]
"""


def rule_group_figures(workdir: Path, exporter_port: int, units: int) -> list[Figure]:
    """Run a private Prometheus against the exporter; figures of its rule groups.

    Args:
        workdir: Where its config, data and log go.
        exporter_port: Port of the running exporter.
        units: Units of the registry (for the labels).

    Returns:
        The slowest group's last evaluation (ms, goal: within its interval), its share of
        the interval, and the number of groups; empty figures with a note when
        Prometheus is not installed or did not evaluate.
    """
    slowest = Figure(f"slowest rule group evaluation, {units:,} units", "ms")
    share = Figure(f"slowest rule group / its interval, {units:,} units", "%")
    share.goal = Goal("<=", 100.0)
    binary = shutil.which("prometheus")
    if binary is None:
        slowest.note = share.note = "not measured: prometheus not installed"
        return [slowest, share]
    home = workdir / f"prometheus-rules-{units}"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    port = harness.free_port()
    (home / "prometheus.yml").write_text(_config(f"127.0.0.1:{exporter_port}", port))
    argv = [
        binary,
        f"--config.file={home / 'prometheus.yml'}",
        f"--storage.tsdb.path={home / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    proc = harness.spawn(argv, home / "prometheus.log")
    base = f"http://127.0.0.1:{port}"
    try:
        say(f"scrape: Prometheus evaluating the rules over {units:,} units for {_RUN_S:.0f} s")
        time.sleep(_RUN_S)
        durations = _query(base, "prometheus_rule_group_last_duration_seconds")
        intervals = {
            r["metric"]["rule_group"]: float(r["value"][1])
            for r in _query(base, "prometheus_rule_group_interval_seconds")
        }
    except OSError as exc:
        slowest.note = share.note = f"not measured: {exc}"
        return [slowest, share]
    finally:
        harness.stop(proc)
    if not durations:
        slowest.note = share.note = "not measured: no rule group evaluated"
        return [slowest, share]
    worst = max(
        durations, key=lambda r: float(r["value"][1]) / intervals[r["metric"]["rule_group"]]
    )
    group = worst["metric"]["rule_group"].rsplit(";", 1)[-1]
    seconds = float(worst["value"][1])
    slowest.values.append(1000 * seconds)
    share.values.append(100 * seconds / intervals[worst["metric"]["rule_group"]])
    slowest.note = f"group {group}, {len(durations)} groups"
    return [slowest, share]

"""The alerts page: Alertmanager's active alerts, with the unit's name and its supervisor.

Pages are routed by the ``supervisor`` label (the unit registry's), so that is who is
shown; an alert without one (pipeline alerts) shows the receivers Alertmanager chose.
Alerts that are silenced or inhibited are listed too, after the active ones, marked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["alert_rows"]

Json = dict[str, Any]
_SEVERITIES = {"page": 0, "ticket": 1}


def _row(alert: Mapping[str, Any], names: Mapping[str, Json]) -> Json:
    labels: Mapping[str, str] = alert.get("labels") or {}
    annotations: Mapping[str, str] = alert.get("annotations") or {}
    status: Mapping[str, Any] = alert.get("status") or {}
    unit = labels.get("unit")
    known = names.get(unit or "", {})
    state = str(status.get("state") or "active")
    if state == "suppressed":
        state = "inhibited" if status.get("inhibitedBy") else "silenced"
    return {
        "alertname": labels.get("alertname", ""),
        "severity": labels.get("severity"),
        "category": labels.get("category"),
        "unit": unit,
        "unit_name": known.get("name") or labels.get("name") or unit,
        "level": labels.get("level") or known.get("level"),
        "supervisor": labels.get("supervisor") or None,
        "receivers": [str(r.get("name")) for r in alert.get("receivers") or [] if r.get("name")],
        "state": state,
        "starts_at": alert.get("startsAt"),
        "summary": annotations.get("summary"),
        "fingerprint": alert.get("fingerprint"),
    }


def alert_rows(alerts: Iterable[Mapping[str, Any]], names: Mapping[str, Json]) -> list[Json]:
    """Rows of the alerts page: active first, pages before tickets, oldest first.

    Args:
        alerts: Alertmanager API v2 alerts.
        names: ``{unit: {name, level}}`` from ``ioc_unit_info``.

    Returns:
        One row per alert: ``alertname``, ``severity``, ``category``, ``unit``,
        ``unit_name``, ``level``, ``supervisor``, ``receivers``, ``state`` (``active``,
        ``silenced`` or ``inhibited``), ``starts_at`` (RFC 3339), ``summary``.
    """
    rows = [_row(a, names) for a in alerts]
    rows.sort(
        key=lambda r: (
            r["state"] != "active",
            _SEVERITIES.get(r["severity"] or "", 2),
            str(r["starts_at"] or ""),
            str(r["unit_name"] or ""),
            r["alertname"],
        )
    )
    return rows

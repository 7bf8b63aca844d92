from __future__ import annotations

from typing import Any

from services.wall.alerts import alert_rows


def alert(alertname: str, state: str = "active", inhibited: bool = False, **labels: str) -> Any:
    return {
        "labels": {"alertname": alertname, **labels},
        "annotations": {"summary": f"{alertname} summary"},
        "startsAt": labels.pop("starts", "2026-12-01T08:00:00Z"),
        "status": {"state": state, "inhibitedBy": ["x"] if inhibited else []},
        "receivers": [{"name": "supervisor-sup-a"}],
        "fingerprint": alertname,
    }


def test_rows_name_the_unit_and_its_supervisor_active_pages_first() -> None:
    alerts = [
        alert("IocOnTimeBelowTarget24h", unit="a", severity="ticket", supervisor="sup-a"),
        alert("IocExporterDown", severity="page", category="pipeline"),
        alert("IocUnitOverdue", "suppressed", True, unit="b", severity="page", supervisor="s"),
        alert("IocOnTimeBelowTarget30d", "suppressed", unit="zz", severity="ticket", name="Z"),
    ]
    rows = alert_rows(alerts, {"a": {"name": "Xã A", "level": "commune"}})
    assert [(r["alertname"], r["state"]) for r in rows] == [
        ("IocExporterDown", "active"),
        ("IocOnTimeBelowTarget24h", "active"),
        ("IocUnitOverdue", "inhibited"),
        ("IocOnTimeBelowTarget30d", "silenced"),
    ]
    a = rows[1]
    assert (a["unit_name"], a["level"], a["supervisor"]) == ("Xã A", "commune", "sup-a")
    assert rows[0]["supervisor"] is None and rows[0]["receivers"] == ["supervisor-sup-a"]
    assert rows[3]["unit_name"] == "Z"  # the alert's own name label, when Prometheus is down
    assert rows[2]["unit_name"] == "b"

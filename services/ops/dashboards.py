"""Generate the Grafana dashboards from the metric catalogue, and publish them.

Three dashboards, written as JSON under ``dashboards/`` (``ioc dashboards generate``) and
provisioned from there, or pushed with ``ioc dashboards publish``:

- ``ioc-wall`` (:mod:`services.ops.wall_board`): the IOC wall, province → level → unit:
  every ratio per window, the Decision 766 scorecard with rankings, open, overdue and
  due-soon dossiers, throughput;
- ``ioc-unit`` (:mod:`services.ops.unit_board`): one unit, its targets, scorecard and
  error budget;
- ``ioc-pipeline`` (:mod:`services.ops.pipeline_board`): event feed health.

Titles are Vietnamese, descriptions English; units are shown by name (``ioc_unit_info``
joined with ``group_left (name)``). The KPI figures (ratios, open, overdue and due-soon
dossiers, scorecard points, the most overdue units) take their titles and PromQL from the
panel catalogue :mod:`services.panel_catalogue`, which the web wall reads too, so the
boards and the wall cannot drift apart. Every metric name comes from
:mod:`ioc_monitor.catalogue` or from the recorded names of :mod:`services.ops.rules`, so
a dashboard cannot query a series that does not exist.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

from ioc_monitor.errors import IocError
from services.ops import rules as rg
from services.ops.grafana import GrafanaSettings
from services.ops.panels import DATASOURCE, SAMPLE_VARIABLES
from services.ops.pipeline_board import pipeline
from services.ops.unit_board import unit
from services.ops.wall_board import wall

__all__ = [
    "DATASOURCE",
    "FILES",
    "SAMPLE_VARIABLES",
    "expand",
    "generate",
    "panel_queries",
    "publish",
    "read",
    "render",
    "safe_url",
    "write",
]

#: Dashboard uid → file name under ``dashboards/``.
FILES: Final = {
    "ioc-wall": "ioc-wall.json",
    "ioc-unit": "ioc-unit.json",
    "ioc-pipeline": "ioc-pipeline.json",
}
Doc = dict[str, Any]


def generate() -> dict[str, Doc]:
    """Build the dashboards: file name → dashboard model."""
    boards = (wall(), unit(), pipeline())
    return {FILES[board["uid"]]: board for board in boards}


def render(dashboard: Mapping[str, Any]) -> str:
    """Deterministic JSON text of a dashboard (2-space indent, trailing newline)."""
    return json.dumps(dashboard, indent=2, ensure_ascii=False) + "\n"


def write(out_dir: Path, dashboards: Mapping[str, Mapping[str, Any]]) -> list[Path]:
    """Write dashboards as ``<out_dir>/<file name>``; return the paths."""
    return rg.write(out_dir, {Path(name): render(board) for name, board in dashboards.items()})


def read(directory: Path) -> list[Doc]:
    """Read the generated dashboard files of a directory.

    Raises:
        IocError: A file is missing or is not a JSON object.
    """
    boards: list[Doc] = []
    for name in FILES.values():
        path = directory / name
        try:
            board = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise IocError(f"cannot read {path}: {exc}; run `ioc dashboards generate`") from None
        if not isinstance(board, dict):
            raise IocError(f"{path} is not a dashboard (JSON object)")
        boards.append(board)
    return boards


def _panels(panels: Sequence[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def panel_queries(dashboard: Mapping[str, Any]) -> list[str]:
    """Every PromQL ``expr`` of a dashboard's panels (rows included), in order."""
    return [
        str(target["expr"])
        for panel in _panels(dashboard.get("panels", []))
        for target in panel.get("targets", [])
        if target.get("expr")
    ]


_VARIABLE = re.compile(r"\$\{(\w+)\}|\$(\w+)")


def expand(expr: str, values: Mapping[str, str] = SAMPLE_VARIABLES) -> str:
    """Replace ``$name`` / ``${name}`` by values, for running a panel query outside Grafana."""
    return _VARIABLE.sub(lambda m: values.get(m.group(1) or m.group(2), m.group()), expr)


def safe_url(url: str) -> str:
    """The URL without user name and password (for messages)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def publish(dashboards: Sequence[Mapping[str, Any]], settings: GrafanaSettings) -> list[str]:
    """Create or overwrite the dashboards in Grafana.

    Args:
        dashboards: Dashboard models (e.g. from :func:`read`).
        settings: URL, token, folder.

    Returns:
        The uids published, in order.

    Raises:
        IocError: Grafana refused (401/403), answered an error, or cannot be reached; the
            one-line message never contains the token.
    """
    from grafana_client.api import GrafanaApi
    from grafana_client.client import GrafanaClientError, GrafanaException

    where = f"Grafana at {safe_url(settings.url)}"
    token = settings.token.get_secret_value() if settings.token is not None else None
    try:
        api = GrafanaApi.from_url(settings.url, credential=token, timeout=settings.timeout)
    except (TypeError, ValueError) as exc:
        raise IocError(f"invalid IOC_GRAFANA_URL {safe_url(settings.url)!r}: {exc}") from None
    published: list[str] = []
    try:
        for board in dashboards:
            payload: Doc = {"dashboard": {**board, "id": None}, "overwrite": True}
            payload["message"] = "ioc dashboards publish"
            if settings.folder_uid:
                payload["folderUid"] = settings.folder_uid
            api.dashboard.update_dashboard(payload)
            published.append(str(board.get("uid")))
    except GrafanaClientError as exc:
        status = int(exc.status_code)
        if status == 401:
            raise IocError(
                f"{where} refused the credentials (401 Unauthorized); check IOC_GRAFANA_TOKEN"
            ) from None
        if status == 403:
            raise IocError(
                f"{where} refused access (403 Forbidden); the token may not write dashboards"
            ) from None
        raise IocError(f"{where} rejected dashboard {board.get('uid')} ({status})") from None
    except GrafanaException as exc:
        raise IocError(f"{where} failed: {type(exc).__name__} ({exc.status_code})") from None
    except OSError as exc:
        reason = "connection refused" if "refused" in str(exc).lower() else type(exc).__name__
        raise IocError(f"cannot reach {where}: {reason}") from None
    finally:
        api.client.s.close()
    return published

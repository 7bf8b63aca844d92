"""Generated Grafana dashboards (services.ops.dashboards) and `ioc dashboards publish`.

Publishing is tested against a tiny fake of Grafana's HTTP API on 127.0.0.1 (Grafana is
not part of the local stack).
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import SecretStr

from ioc_monitor import catalogue as c
from ioc_monitor.errors import IocError
from services.cli.main import main
from services.ops import dashboards as dashgen
from services.ops import rollups as ru
from services.ops import rules as rg
from services.ops import scorecard as sc
from services.ops.grafana import GrafanaSettings

REPO = Path(__file__).resolve().parents[4]
DASHBOARDS = REPO / "dashboards"
TOKEN = "glsa_super-secret-token-value"


def _walk(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _known_names() -> set[str]:
    recorded = rg.recorded_names(rg.recording_groups())
    catalogue = {spec.name for spec in (*c.CATALOGUE, *c.EXPORTER_METRICS)}
    catalogue |= {spec.name for spec in c.PIPELINE_HEALTH_METRICS}
    return catalogue | recorded | {"up"}


def test_generation_is_deterministic() -> None:
    first = {name: dashgen.render(d) for name, d in dashgen.generate().items()}
    second = {name: dashgen.render(d) for name, d in dashgen.generate().items()}
    assert first == second
    assert set(first) == {"ioc-wall.json", "ioc-unit.json", "ioc-pipeline.json"}


def test_committed_dashboards_equal_generated() -> None:
    for name, board in dashgen.generate().items():
        committed = (DASHBOARDS / name).read_text(encoding="utf-8")
        assert committed == dashgen.render(board), f"dashboards/{name} is stale: regenerate"


def test_every_panel_query_uses_known_metrics() -> None:
    known = _known_names()
    used: set[str] = set()
    for name, board in dashgen.generate().items():
        queries = dashgen.panel_queries(board)
        assert queries, name
        for expr in queries:
            names = rg.metric_names(expr)
            assert names, expr
            assert names <= known, (name, expr)
            used |= names
    # every KPI and pipeline metric of the catalogue is shown somewhere
    assert {spec.name for spec in (*c.CATALOGUE, *c.EXPORTER_METRICS)} <= used
    # and every ratio roll-up and the scorecard roll-ups
    for scope in ("level", "province"):
        assert {ru.ratio_rollup(scope, r.ratio) for r in ru.RATIO_ROLLUPS} <= used, scope
        assert sc.points(scope) in used
    assert ru.rollup("level", c.DUE_SOON) in used and ru.rollup("province", c.DUE_SOON) in used


def test_datasource_is_the_provisioned_one() -> None:
    for board in dashgen.generate().values():
        sources = [
            n["datasource"] for n in _walk(board) if isinstance(n, dict) and "datasource" in n
        ]
        assert sources
        assert all(s == {"type": "prometheus", "uid": "prometheus"} for s in sources)


def test_dashboard_structure() -> None:
    boards = {d["uid"]: d for d in dashgen.generate().values()}
    assert set(boards) == {"ioc-wall", "ioc-unit", "ioc-pipeline"}
    for board in boards.values():
        assert "do not edit" in board["description"]
        panels = list(dashgen._panels(board["panels"]))
        ids = [p["id"] for p in panels]
        assert len(ids) == len(set(ids))
        for panel in panels:
            pos = panel["gridPos"]
            assert pos["x"] + pos["w"] <= 24
    unit_var = boards["ioc-unit"]["templating"]["list"][0]
    assert unit_var["name"] == "unit"
    assert unit_var["query"]["query"] == "query_result(ioc_unit_info)"
    assert unit_var["regex"] == '/name="(?<text>[^"]*)".*unit="(?<value>[^"]*)"/'
    wall = dashgen.panel_queries(boards["ioc-wall"])
    assert any(ru.ratio_rollup("province", c.ON_TIME_RATIO) in q for q in wall)
    assert any(ru.ratio_rollup("level", c.ONLINE_RATIO) in q for q in wall)
    wall_vars = [v["name"] for v in boards["ioc-wall"]["templating"]["list"]]
    assert wall_vars == ["window", "period", "level"]
    period = boards["ioc-wall"]["templating"]["list"][1]
    assert period["query"] == "month,quarter,year" and period["current"]["value"] == "month"
    pipeline = dashgen.panel_queries(boards["ioc-pipeline"])
    assert "time() - ioc_event_watermark_timestamp_seconds" in pipeline


VIETNAMESE = re.compile(r"[àáạảãâầấậẩẫăằắặẳẵèéẹẻẽêềếệểễìíịỉĩòóọỏõôồốộổỗơờớợởỡùúụủũưừứựửữỳýỵỷỹđ]")


def test_titles_are_vietnamese_descriptions_english() -> None:
    for board in dashgen.generate().values():
        assert VIETNAMESE.search(board["title"].lower()), board["uid"]
        for panel in dashgen._panels(board["panels"]):
            title = panel["title"]
            if panel["type"] == "row":
                assert title, board["uid"]
                continue
            assert VIETNAMESE.search(title.lower()), (board["uid"], title)
            assert panel["description"] and panel["description"].isascii(), title


def test_units_are_shown_by_name() -> None:
    join = "* on (unit, level) group_left (name) max by (unit, level, name) (ioc_unit_info)"
    boards = {d["uid"]: d for d in dashgen.generate().values()}
    wall = boards["ioc-wall"]
    per_unit = [
        (panel, target["expr"])
        for panel in dashgen._panels(wall["panels"])
        for target in panel.get("targets", [])
        if panel.get("type") in {"table", "bargauge", "timeseries"}
        and "unit" in target["expr"]
        and "$level" in target["expr"]
    ]
    assert per_unit
    for panel, expr in per_unit:
        assert join in expr, (panel["title"], expr)
        legend = {t.get("legendFormat") for t in panel["targets"]}
        assert panel["type"] == "table" or legend == {"{{name}}"}, panel["title"]
    table = next(p for p in dashgen._panels(wall["panels"]) if p["type"] == "table")
    assert table["transformations"][1]["options"]["renameByName"]["name"] == "Tên đơn vị"


def test_scorecard_panels() -> None:
    boards = {d["uid"]: d for d in dashgen.generate().values()}
    wall = "\n".join(dashgen.panel_queries(boards["ioc-wall"]))
    unit = "\n".join(dashgen.panel_queries(boards["ioc-unit"]))
    assert sc.share(sc.points("province"), 'window="$period"', ()) in wall
    assert sc.share(sc.points("level"), 'window="$period"', ("level",)) in wall
    assert 'level:ioc_scorecard_points:window{window="$period"}' in wall
    share = sc.share("ioc_scorecard_points", 'window="$period",level=~"$level"', ("unit", "level"))
    assert f"topk(10, ({share})" in wall and f"bottomk(10, ({share})" in wall
    assert sc.share("ioc_scorecard_points", 'unit="$unit",window="$period"', ()) in unit
    assert 'ioc_scorecard_points{unit="$unit",window="$period"}' in unit


def test_panel_queries_descend_into_rows() -> None:
    board = {
        "panels": [
            {"type": "row", "panels": [{"targets": [{"expr": "a"}, {"expr": ""}]}]},
            {"targets": [{"expr": "b"}, {"refId": "C"}]},
            {"type": "text"},
        ]
    }
    assert dashgen.panel_queries(board) == ["a", "b"]


def test_expand_variables() -> None:
    expr = 'rate(x{unit="$unit",window="${window}"}[$__rate_interval]) + $unknown'
    assert dashgen.expand(expr) == 'rate(x{unit="qn-ttpvhcc",window="24h"}[5m]) + $unknown'


def test_cli_generate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dashboards", "generate", "--out-dir", str(tmp_path)]) == 0
    assert sorted(Path(p).name for p in capsys.readouterr().out.split()) == [
        "ioc-pipeline.json",
        "ioc-unit.json",
        "ioc-wall.json",
    ]
    assert dashgen.read(tmp_path) == list(dashgen.generate().values())


def test_safe_url_drops_credentials() -> None:
    assert dashgen.safe_url("https://admin:pw@grafana.example:3000/g/?x=1") == (
        "https://grafana.example:3000/g/"
    )


class _FakeGrafana(BaseHTTPRequestHandler):
    status = 401
    requests: ClassVar[list[tuple[str, dict[str, str], Any]]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"null")
        type(self).requests.append((self.path, dict(self.headers), body))
        status = type(self).status
        payload: dict[str, Any] = {"message": "invalid API key"}
        if status == 200:
            uid = body["dashboard"]["uid"]
            payload = {"status": "success", "uid": uid, "url": f"/d/{uid}", "version": 1}
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def fake_grafana(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, type[_FakeGrafana]]]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    handler = type("Handler", (_FakeGrafana,), {"requests": [], "status": 401})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _settings(url: str) -> GrafanaSettings:
    return GrafanaSettings(url=url, token=SecretStr(TOKEN), timeout=5)


@pytest.mark.parametrize(("status", "words"), [(401, "401 Unauthorized"), (403, "403 Forbidden")])
def test_publish_refused(
    fake_grafana: tuple[str, type[_FakeGrafana]], status: int, words: str
) -> None:
    url, handler = fake_grafana
    handler.status = status
    with pytest.raises(IocError) as info:
        dashgen.publish(list(dashgen.generate().values()), _settings(url))
    message = str(info.value)
    assert words in message and url in message
    assert TOKEN not in message and "\n" not in message
    assert handler.requests[0][1]["Authorization"] == f"Bearer {TOKEN}"


def test_publish_connection_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(IocError, match=r"cannot reach Grafana at .*: connection refused") as info:
        dashgen.publish(dashgen.read(DASHBOARDS), _settings(f"http://127.0.0.1:{port}"))
    assert TOKEN not in str(info.value)


def test_publish_success(fake_grafana: tuple[str, type[_FakeGrafana]]) -> None:
    url, handler = fake_grafana
    handler.status = 200
    settings = GrafanaSettings(url=url, token=SecretStr(TOKEN), folder_uid="ioc")
    assert dashgen.publish(dashgen.read(DASHBOARDS), settings) == [
        "ioc-wall",
        "ioc-unit",
        "ioc-pipeline",
    ]
    paths = [path for path, _, _ in handler.requests]
    assert paths == ["/api/dashboards/db"] * 3
    body = handler.requests[0][2]
    assert body["overwrite"] is True and body["folderUid"] == "ioc"
    assert body["dashboard"]["uid"] == "ioc-wall" and body["dashboard"]["id"] is None


def test_cli_publish_refused_prints_one_line_without_token(
    fake_grafana: tuple[str, type[_FakeGrafana]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, _ = fake_grafana
    monkeypatch.setenv("IOC_GRAFANA_URL", url)
    monkeypatch.setenv("IOC_GRAFANA_TOKEN", TOKEN)
    assert main(["dashboards", "publish", "--dir", str(DASHBOARDS)]) == 1
    captured = capsys.readouterr()
    assert TOKEN not in captured.out + captured.err
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("ioc dashboards: error: Grafana at http://127.0.0.1:")
    assert "401" in lines[0]


def test_grafana_settings_hide_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOC_GRAFANA_TOKEN", TOKEN)
    monkeypatch.setenv("IOC_GRAFANA_URL", "http://grafana.example:3000")
    settings = GrafanaSettings()
    assert settings.url == "http://grafana.example:3000"
    assert TOKEN not in repr(settings) and TOKEN not in str(settings.model_dump())
    with pytest.raises(Exception, match="frozen"):
        settings.url = "x"


def test_read_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(IocError, match="ioc dashboards generate"):
        dashgen.read(tmp_path)

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from ioc_monitor.redis.dossiers import OpenDossier
from services.wall import dossiers
from services.wall.app import CSP, Wall, build_app
from services.wall.settings import WallSettings
from services.wall.upstream import AlertmanagerClient, PrometheusClient

if TYPE_CHECKING:
    from starlette.testclient import TestClient

with warnings.catch_warnings():  # Starlette 1.x prefers httpx2 for its test client
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

TOKEN = "prom-token-do-not-leak"


def vector(*samples: tuple[dict[str, str], float]) -> dict[str, Any]:
    result = [{"metric": m, "value": [1700000000, str(v)]} for m, v in samples]
    return {"status": "success", "data": {"resultType": "vector", "result": result}}


class Upstreams:
    """Fake Prometheus and Alertmanager behind httpx.MockTransport."""

    def __init__(self) -> None:
        self.vectors: dict[str, dict[str, Any]] = {}
        self.down = False
        self.seen_auth: list[str | None] = []
        self.alerts: list[dict[str, Any]] = []

    def prometheus(self, request: httpx.Request) -> httpx.Response:
        self.seen_auth.append(request.headers.get("authorization"))
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if request.url.path == "/api/v1/query_range":
            data = {"resultType": "matrix", "result": [{"metric": {}, "values": [[1, "0.5"]]}]}
            return httpx.Response(200, json={"status": "success", "data": data})
        query = request.url.params["query"]
        for needle, answer in self.vectors.items():
            if needle in query:
                return httpx.Response(200, json=answer)
        return httpx.Response(200, json=vector())

    def alertmanager(self, request: httpx.Request) -> httpx.Response:
        assert request.url.params.get_list("filter") == ['feed="ioc"']
        return httpx.Response(200, json=self.alerts)


class FakeRedis:
    def close(self) -> None:
        pass


def _client(base: str, handler: Callable[[httpx.Request], httpx.Response]) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    return httpx.AsyncClient(base_url=base, transport=httpx.MockTransport(handler), headers=headers)


@pytest.fixture
def upstreams() -> Upstreams:
    return Upstreams()


@pytest.fixture
def client(upstreams: Upstreams) -> Iterator[TestClient]:
    settings = WallSettings(alert_filter='feed="ioc"', clock="wall")
    prom = PrometheusClient("http://prom")
    prom._http = _client("http://prom", upstreams.prometheus)
    am = AlertmanagerClient("http://am")
    am._http = _client("http://am", upstreams.alertmanager)
    wall = Wall(settings, prom, am, FakeRedis(), "ioc")  # type: ignore[arg-type]
    with TestClient(build_app(wall), base_url="http://127.0.0.1:9480") as c:
        yield c


def test_every_page_is_the_shell_with_strict_headers(client: TestClient) -> None:
    for path in ("/", "/levels", "/units", "/units/qn-c-ha-long", "/alerts", "/pipeline"):
        r = client.get(path)
        assert r.status_code == 200, path
        assert r.headers["content-security-policy"] == CSP
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert "server" not in r.headers
        assert '<script type="module" src="/static/js/main.js"></script>' in r.text
    assert "script-src 'self'" in CSP and "'unsafe-inline'" not in CSP
    assert client.get("/units/Bad%20Id").status_code == 404
    assert client.get("/nowhere").status_code == 404


def test_only_get_and_head(client: TestClient) -> None:
    assert client.head("/").status_code == 200
    for method in ("POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        for path in ("/", "/api/overview", "/static/wall.css", "/nowhere"):
            r = client.request(method, path)
            assert r.status_code == 405, (method, path)
            assert r.headers["allow"] == "GET, HEAD"
            assert r.headers["content-security-policy"] == CSP


def test_a_foreign_host_header_is_refused(client: TestClient) -> None:
    assert client.get("/", headers={"host": "attacker.example"}).status_code == 400
    assert client.get("/", headers={"host": "localhost:9480"}).status_code == 200


def test_static_files_and_vendored_uplot(client: TestClient) -> None:
    js = client.get("/static/js/main.js")
    assert js.status_code == 200
    assert js.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert client.get("/static/vendor/uplot/uPlot.iife.min.js").status_code == 200
    assert "MIT" in client.get("/static/vendor/uplot/LICENSE").text
    assert client.get("/static/../app.py").status_code == 404


def test_config_sends_no_secret_nor_upstream_address(
    client: TestClient, upstreams: Upstreams
) -> None:
    r = client.get("/api/config")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    body = r.text
    assert TOKEN not in body and "prom" not in body and "19090" not in body
    assert json.loads(body)["pages"] == ["overview", "levels", "units", "alerts", "pipeline"]
    on_time = json.loads(body)["figures"]["on_time"]
    assert on_time["title"] == {"vi": "Tỷ lệ đúng hạn", "en": "On-time ratio"}
    client.get("/api/overview")
    assert upstreams.seen_auth and set(upstreams.seen_auth) == {f"Bearer {TOKEN}"}


def test_prometheus_down_is_503_with_a_code_and_the_health_problem(
    client: TestClient, upstreams: Upstreams
) -> None:
    upstreams.down = True
    r = client.get("/api/overview")
    assert r.status_code == 503
    assert r.json()["error"] == "prometheus_unreachable"
    health = client.get("/api/health").json()
    assert health["ok"] is False
    assert [p["code"] for p in health["problems"]] == ["prometheus_unreachable"]


def test_overview_payload(client: TestClient, upstreams: Upstreams) -> None:
    upstreams.vectors = {
        "province:ioc_on_time_ratio:window": vector(({"window": "24h"}, 0.928)),
        "province:ioc_dossiers_in_progress:sum": vector(({}, 4700)),
    }
    got = client.get("/api/overview").json()
    assert got["ratios"] == {"on_time": {"24h": 0.928}}
    assert got["in_progress"] == 4700


def test_unit_page_lists_its_open_dossiers(
    client: TestClient, upstreams: Upstreams, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = {"unit": "qn-c-a", "level": "commune", "name": "Xã A", "supervisor": "sup"}
    upstreams.vectors = {"ioc_unit_info": vector((info, 1))}
    calls: list[tuple[Any, ...]] = []

    def fake(client: Any, prefix: str, unit: str, clock: float, **kw: Any) -> list[OpenDossier]:
        calls.append((prefix, unit, kw))
        return [
            OpenDossier("D-1", "1.004227", "so-tnmt", clock - 86400, clock - 3600),
            OpenDossier("D-2", None, None, None, None),
        ]

    monkeypatch.setattr(dossiers, "list_open_dossiers", fake)
    got = client.get("/api/units/qn-c-a").json()
    assert got["name"] == "Xã A" and got["supervisor"] == "sup"
    assert calls == [("ioc", "qn-c-a", {"within_s": 72 * 3600.0, "limit": 200})]
    rows = got["open"]["dossiers"]
    assert [r["dossier_id"] for r in rows] == ["D-1", "D-2"]
    assert rows[0]["late_s"] == pytest.approx(3600)
    assert rows[1]["late_s"] is None
    assert set(rows[0]) == {
        "dossier_id", "procedure", "agency", "received_at", "due_at", "late_s"
    }  # fmt: skip

    def broken(*args: Any, **kw: Any) -> list[OpenDossier]:
        raise RedisConnectionError("down")

    monkeypatch.setattr(dossiers, "list_open_dossiers", broken)
    got = client.get("/api/units/qn-c-a").json()
    assert got["open"]["error"] == "redis_unreachable" and got["open"]["dossiers"] == []


def test_unknown_unit_is_404(client: TestClient) -> None:
    assert client.get("/api/units/qn-c-none").status_code == 404
    assert client.get("/api/units/BAD").json() == {"error": "unknown_unit"}


def test_history_is_clamped_and_aligned(client: TestClient) -> None:
    got = client.get("/api/units/qn-c-a/history?range=5").json()
    assert got["step"] == 1 and got["end"] - got["start"] == 240
    assert got["series"]["on_time"] == [[1.0, 0.5]]
    big = client.get("/api/history?range=99999999").json()
    assert big["step"] == 31 * 86400 // 240


def test_alerts(client: TestClient, upstreams: Upstreams) -> None:
    upstreams.alerts = [
        {
            "labels": {"alertname": "IocUnitOverdue", "unit": "qn-c-a", "supervisor": "sup"},
            "status": {"state": "active"},
            "startsAt": "2026-12-01T08:00:00Z",
        }
    ]
    info = {"unit": "qn-c-a", "level": "commune", "name": "Xã A", "supervisor": "sup"}
    upstreams.vectors = {"ioc_unit_info": vector((info, 1))}
    (row,) = client.get("/api/alerts").json()["alerts"]
    assert (row["unit_name"], row["supervisor"], row["state"]) == ("Xã A", "sup", "active")

"""The wall's ASGI app (Starlette): read-only pages, their JSON, the vendored static files.

Routes (all ``GET``/``HEAD``; any other method is answered 405 before routing):

====================================  ==================================================
``/``, ``/levels``, ``/units``,        the page shell (``static/index.html``); the ES
``/units/<unit_id>``, ``/alerts``,     modules render each page from the JSON below
``/pipeline``
``/api/config``                        non-secret settings: language, kiosk, timers, the
                                       figures' titles (panel catalogue)
``/api/health``                        the stale-banner problems (:mod:`.health`)
``/api/overview``, ``/api/levels``,    page data (:mod:`.views`), from Prometheus
``/api/units``, ``/api/units/<id>``
``/api/history``,                      history charts (``query_range``), ``?range=<s>``
``/api/units/<id>/history``
``/api/alerts``                        Alertmanager's alerts (:mod:`.alerts`)
``/api/pipeline``                      pipeline health
``/static/...``                        CSS, ES modules, vendored uPlot (MIT)
``/healthz``                           liveness: ``ok``
====================================  ==================================================

Every response carries a strict Content-Security-Policy (``script-src 'self'``, no inline
script or style) and the usual hardening headers; the ``Host`` header must be one of
:meth:`WallSettings.hosts` (DNS rebinding). The browser only ever talks to this app:
Prometheus, Alertmanager and Redis are queried here, with credentials that never leave
the server. A failed upstream query answers 503 with ``{"error": <code>, "detail"}``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from redis import Redis
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.wall import queries, views
from services.wall.alerts import alert_rows
from services.wall.dossiers import open_dossiers
from services.wall.health import HealthTracker, problem_of
from services.wall.settings import WallSettings, parse_matchers
from services.wall.upstream import AlertmanagerClient, PrometheusClient, UpstreamError

__all__ = ["CSP", "PAGES", "STATIC_DIR", "Wall", "build_app"]

STATIC_DIR: Final = Path(__file__).resolve().parent / "static"
#: The pages, in kiosk rotation order (the unit drill-down is reached from the ranking).
PAGES: Final = ("overview", "levels", "units", "alerts", "pipeline")
CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
_HEADERS: Final = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)
_MAX_RANGE_S: Final = 31 * 86400
_MIN_RANGE_S: Final = 60

Json = dict[str, Any]


@dataclass
class Wall:
    """What the handlers share: settings, upstream clients, Redis, the health tracker.

    Args:
        settings: The wall's settings.
        prometheus: Prometheus client.
        alertmanager: Alertmanager client.
        redis: Sync Redis client for the dossier lists, and its key prefix.
        redis_prefix: ``IOC_REDIS_PREFIX``.
    """

    settings: WallSettings
    prometheus: PrometheusClient
    alertmanager: AlertmanagerClient
    redis: Redis
    redis_prefix: str

    def __post_init__(self) -> None:
        self.health = HealthTracker(
            self.prometheus, self.settings.exporter_job, self.settings.stall_after_s
        )
        self.matchers = parse_matchers(self.settings.alert_filter)

    async def aclose(self) -> None:
        """Close the clients."""
        await self.prometheus.aclose()
        await self.alertmanager.aclose()
        self.redis.close()


class _Hardening:
    """ASGI middleware: GET/HEAD only (else 405), security headers on every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"server"]
                message = {**message, "headers": [*headers, *_HEADERS]}
            await send(message)

        if scope["method"] not in ("GET", "HEAD"):
            response = PlainTextResponse(
                "method not allowed: the wall is read-only\n",
                status_code=405,
                headers={"Allow": "GET, HEAD"},
            )
            await response(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)


def _json(data: Any, status_code: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status_code, headers={"Cache-Control": "no-store"})


def _upstream_failed(exc: UpstreamError) -> JSONResponse:
    problem = problem_of(exc)
    return _json({"error": problem["code"], "detail": problem["detail"]}, 503)


Handler = Callable[[Request], Awaitable[Response]]


def _guarded(handler: Callable[[Request], Awaitable[Any]]) -> Handler:
    """Wrap a JSON handler: its result as JSON, an upstream failure as 503."""

    async def endpoint(request: Request) -> Response:
        try:
            result = await handler(request)
        except UpstreamError as exc:
            return _upstream_failed(exc)
        return result if isinstance(result, Response) else _json(result)

    return endpoint


def _wall(request: Request) -> Wall:
    wall: Wall = request.app.state.wall
    return wall


def _unit_id(request: Request) -> str | None:
    unit_id = str(request.path_params.get("unit_id", ""))
    return unit_id if queries.check_unit_id(unit_id) else None


def _range(request: Request, default: int) -> int:
    try:
        value = int(request.query_params.get("range", default))
    except ValueError:
        value = default
    return min(max(value, _MIN_RANGE_S), _MAX_RANGE_S)


async def _history(wall: Wall, exprs: Mapping[str, str], span: int) -> Json:
    end = float(int(time.time()))
    step = max(1, span // queries.HISTORY_POINTS)
    start = end - step * queries.HISTORY_POINTS
    series: Json = {}
    for name, expr in exprs.items():
        result = await wall.prometheus.query_range(expr, start, end, step)
        series[name] = [list(p) for p in result[0][1]] if result else []
    return {"start": start, "end": end, "step": step, "series": series}


async def api_config(request: Request) -> Json:
    """Non-secret settings the browser needs."""
    s = _wall(request).settings
    return {
        "lang": s.lang,
        "kiosk": s.kiosk,
        "refresh_s": s.refresh_s,
        "rotate_s": s.rotate_s,
        "history_s": s.history_s,
        "clock": s.clock,
        "pages": list(PAGES),
        "windows": list(queries.RATIO_WINDOWS),
        "rank_window": views.RANK_WINDOW,
        "weights": views.WEIGHTS,
        "figures": views.figures(),
    }


async def api_health(request: Request) -> Json:
    """Problems for the stale banner (never 503: the problems say what failed)."""
    wall = _wall(request)
    health = await wall.health.check()
    return health


async def api_overview(request: Request) -> Json:
    """Province overview."""
    return views.overview(await _wall(request).prometheus.query_many(queries.overview()))


async def api_levels(request: Request) -> Json:
    """Levels."""
    return views.levels(await _wall(request).prometheus.query_many(queries.levels()))


async def api_units(request: Request) -> Json:
    """Units ranked within their level."""
    return views.units(await _wall(request).prometheus.query_many(queries.units()))


def _not_found() -> JSONResponse:
    return _json({"error": "unknown_unit"}, 404)


async def api_unit(request: Request) -> Json | Response:
    """One unit, with its overdue and due-soon dossiers."""
    wall = _wall(request)
    unit_id = _unit_id(request)
    if unit_id is None:
        return _not_found()
    row = views.unit(await wall.prometheus.query_many(queries.unit(unit_id)))
    if row is None:
        return _not_found()
    if wall.settings.clock == "event":
        await wall.health.check()
        clock = wall.health.watermark
    else:
        clock = time.time()
    row["open"] = await open_dossiers(wall.redis, wall.redis_prefix, unit_id, clock)
    return row


async def api_unit_history(request: Request) -> Json | Response:
    """History of one unit's ratios and open dossiers."""
    wall = _wall(request)
    unit_id = _unit_id(request)
    if unit_id is None:
        return _not_found()
    span = _range(request, wall.settings.history_s)
    return await _history(wall, queries.unit_history(unit_id), span)


async def api_history(request: Request) -> Json:
    """History of the province's ratios and open dossiers."""
    wall = _wall(request)
    return await _history(
        wall, queries.province_history(), _range(request, wall.settings.history_s)
    )


async def api_alerts(request: Request) -> Json | Response:
    """Alerts firing now; unit names from Prometheus when it answers."""
    wall = _wall(request)
    try:
        alerts = await wall.alertmanager.alerts(wall.matchers)
    except UpstreamError as exc:
        return _upstream_failed(exc)
    try:
        names = views.unit_names(await wall.prometheus.query_many(queries.alerts_units()))
    except UpstreamError:
        names = {}
    return {"alerts": alert_rows(alerts, names)}


async def api_pipeline(request: Request) -> Json:
    """Pipeline health."""
    wall = _wall(request)
    got = await wall.prometheus.query_many(queries.pipeline(wall.settings.exporter_job))

    def one(name: str) -> float | None:
        return got[name][0].value if got[name] else None

    rates = {s.labels.get("reason", ""): s.value for s in got["rejected_rate"]}
    return {
        "lag": {s.labels.get("partition", ""): s.value for s in got["lag"]},
        "lag_total": sum(s.value for s in got["lag"]) if got["lag"] else None,
        "watermark": one("watermark"),
        "watermark_age_s": one("watermark_age"),
        "last_processed_age_s": one("last_processed_age"),
        "processed": one("processed"),
        "processed_rate": one("processed_rate"),
        "duplicate": one("duplicate"),
        "rejected": [
            {
                "reason": s.labels.get("reason", ""),
                "total": s.value,
                "rate": rates.get(s.labels.get("reason", "")),
            }
            for s in sorted(got["rejected"], key=lambda s: (-s.value, s.labels.get("reason", "")))
        ],
        "targets": [{"instance": s.labels.get("instance", ""), "up": s.value} for s in got["up"]],
        "redis_up": one("redis_up"),
        "scrape_s": one("scrape_s"),
        "stalled_partitions": sorted(s.labels.get("partition", "") for s in got["stalled"]),
    }


def _page(shell: bytes) -> Handler:
    async def endpoint(request: Request) -> Response:
        if "unit_id" in request.path_params and _unit_id(request) is None:
            return PlainTextResponse("unknown unit\n", status_code=404)
        return Response(
            shell, media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-cache"}
        )

    return endpoint


async def healthz(request: Request) -> Response:
    """Liveness of the wall itself."""
    return PlainTextResponse("ok\n", headers={"Cache-Control": "no-store"})


def build_app(wall: Wall) -> Starlette:
    """The ASGI app serving ``wall`` (its clients are closed at shutdown).

    Args:
        wall: Settings and clients.

    Returns:
        The Starlette application.
    """
    shell = (STATIC_DIR / "index.html").read_bytes()
    page = _page(shell)
    api: list[tuple[str, Callable[[Request], Awaitable[Any]]]] = [
        ("/api/config", api_config),
        ("/api/health", api_health),
        ("/api/overview", api_overview),
        ("/api/levels", api_levels),
        ("/api/units", api_units),
        ("/api/units/{unit_id}", api_unit),
        ("/api/units/{unit_id}/history", api_unit_history),
        ("/api/history", api_history),
        ("/api/alerts", api_alerts),
        ("/api/pipeline", api_pipeline),
    ]
    routes = [
        *(Route(path, _guarded(handler), methods=["GET"]) for path, handler in api),
        *(
            Route(path, page, methods=["GET"])
            for path in ("/", "/levels", "/units", "/units/{unit_id}", "/alerts", "/pipeline")
        ),
        Route("/healthz", healthz, methods=["GET"]),
        Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.wall = wall
        try:
            yield
        finally:
            await wall.aclose()

    middleware = [
        Middleware(_Hardening),
        Middleware(TrustedHostMiddleware, allowed_hosts=wall.settings.hosts(), www_redirect=False),
    ]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.wall = wall
    return app

"""``ioc wall``: the read-only web wall of the IOC (Starlette + uvicorn, uPlot charts).

Pages in Vietnamese first (English with ``?lang=en``): province overview, levels, units
ranked, a unit's drill-down with history charts and its overdue dossiers, alerts firing
now, pipeline health; ``?kiosk=1`` for the wall screens. The browser reads only this
app's JSON; the app queries Prometheus (recording rules), Alertmanager (API v2) and
Redis (the dossier lists) itself.

Modules: :mod:`.settings` (``IOC_WALL_*``), :mod:`.upstream` (Prometheus, Alertmanager
clients), :mod:`.queries` (PromQL; the KPI figures' from :mod:`services.panel_catalogue`,
shared with the Grafana boards), :mod:`.views` (page payloads, ranking, figure titles),
:mod:`.alerts`, :mod:`.health` (stale banner), :mod:`.dossiers` (Redis lists),
:mod:`.app` (routes, CSP), :mod:`.server` (uvicorn), :mod:`.browser` (headless Chromium
for tests and screenshots), :mod:`.screenshots`; ``static/`` holds the page shell, the
ES modules, the CSS and vendored uPlot (MIT).
"""

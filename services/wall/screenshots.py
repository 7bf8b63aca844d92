"""``ioc wall screenshots``: one 1920×1080 PNG per page of a running wall, in kiosk mode.

Files ``<out>/wall-<page>.png`` for ``overview``, ``levels``, ``units``, ``unit`` (the
drill-down of ``unit``, by default the unit with the most overdue dossiers), ``alerts``
and ``pipeline``; each is taken once the page has rendered its data, after ``settle_s``
seconds for the charts.
"""

from __future__ import annotations

import json
import time
import urllib.request
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from services.wall.browser import VIEWPORT, launch

if TYPE_CHECKING:
    from playwright.sync_api import Browser

__all__ = ["PAGE_PATHS", "capture", "pick_unit"]

#: Page name → path (``unit`` is filled in with a unit id).
PAGE_PATHS = {
    "overview": "/",
    "levels": "/levels",
    "units": "/units",
    "unit": "/units/{unit}",
    "alerts": "/alerts",
    "pipeline": "/pipeline",
}
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _get_json(url: str) -> Any:
    with _OPENER.open(url, timeout=10) as response:
        return json.loads(response.read())


def pick_unit(base: str) -> str | None:
    """The unit with the most overdue dossiers (ties: the best ranked), else the first."""
    rows = _get_json(f"{base}/api/units").get("units", [])
    if not rows:
        return None
    best = max(rows, key=lambda r: (r.get("overdue") or 0, -rows.index(r)))
    return str(best["unit"])


def capture(
    base: str,
    out_dir: Path,
    unit: str | None = None,
    lang: str = "vi",
    settle_s: float = 2.0,
    browser: Browser | None = None,
) -> list[Path]:
    """Save a screenshot of every page of the wall at ``base``.

    Args:
        base: The wall's URL, e.g. ``http://127.0.0.1:9480``.
        out_dir: Directory of the PNG files (created).
        unit: Unit id of the drill-down page. Default: :func:`pick_unit`.
        lang: ``vi`` (default) or ``en``.
        settle_s: Seconds to wait after the data is shown, for the charts. Default 2.
        browser: A running Playwright browser to use. Default: start Chromium
            (:func:`services.wall.browser.launch`) and close it afterwards.

    Returns:
        The files written, in page order.
    """
    base = base.rstrip("/")
    unit = unit or pick_unit(base)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with launch() if browser is None else nullcontext(browser) as chromium:
        page = chromium.new_page(viewport=VIEWPORT)  # type: ignore[arg-type]
        for name, path in PAGE_PATHS.items():
            if name == "unit":
                if unit is None:
                    continue
                path = path.format(unit=unit)
            page.goto(f"{base}{path}?lang={lang}&kiosk=1&rotate=0")
            key = "unit" if name == "unit" else name
            page.wait_for_selector(f'main[data-page="{key}"]', timeout=30_000)
            time.sleep(settle_s)
            target = out_dir / f"wall-{name}.png"
            page.screenshot(path=str(target))
            written.append(target)
        page.close()
    return written

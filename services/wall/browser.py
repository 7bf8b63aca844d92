"""Headless Chromium for the wall's browser tests and screenshots (Playwright, Debian's build).

Playwright drives the system's ``chromium`` (Debian package ``chromium``, installed by
``ioc stack up`` and ``.ci/run``), never a browser of its own: ``playwright install``
downloads one, which cannot work offline. ``fonts-noto-core`` gives the Vietnamese
glyphs. :func:`chromium_path` finds the executable (``IOC_WALL_CHROMIUM`` overrides).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Final

from ioc_monitor.errors import IocError

if TYPE_CHECKING:
    from playwright.sync_api import Browser

__all__ = ["CHROMIUM_ARGS", "VIEWPORT", "chromium_path", "launch"]

#: The wall screens' size.
VIEWPORT: Final = {"width": 1920, "height": 1080}
#: Chromium flags: no sandbox (root in CI), no /dev/shm limit, no GPU.
CHROMIUM_ARGS: Final = ("--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu")
_DEFAULT: Final = "/usr/bin/chromium"


def chromium_path() -> str | None:
    """The Chromium executable, or ``None`` when there is none.

    ``IOC_WALL_CHROMIUM`` when set, else ``chromium`` on the PATH, else ``/usr/bin/chromium``.
    """
    given = os.environ.get("IOC_WALL_CHROMIUM")
    if given:
        return given if Path(given).is_file() else None
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    return _DEFAULT if Path(_DEFAULT).is_file() else None


@contextmanager
def launch() -> Iterator[Browser]:
    """Start headless Chromium through Playwright; close it on exit.

    Raises:
        IocError: No Chromium executable (install the Debian package ``chromium``).
    """
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    if executable is None:
        raise IocError(
            "chromium not found: install the Debian package chromium (`ioc stack up` does, "
            "as root), or set IOC_WALL_CHROMIUM"
        )
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=executable, args=list(CHROMIUM_ARGS), headless=True
        )
        try:
            yield browser
        finally:
            browser.close()

"""``ioc wall``: the read-only web wall for the IOC's screens and supervisors.

Serves the wall (Vietnamese first, ?lang=en; ?kiosk=1 for wall screens) on
IOC_WALL_HOST:IOC_WALL_PORT (127.0.0.1:9480), reading Prometheus, Alertmanager and Redis
server-side; `ioc wall screenshots` saves each page of a running wall as a PNG.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from services.cli.args import add_command, positive_float

if TYPE_CHECKING:
    from services.wall.settings import WallSettings

__all__ = ["configure", "run", "run_screenshots"]


def configure(p: argparse.ArgumentParser) -> None:
    """Add the arguments of ``ioc wall`` and its ``screenshots`` sub-command."""
    p.set_defaults(func=run)
    p.add_argument("--host", default=None, help="bind address (IOC_WALL_HOST, 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="TCP port (IOC_WALL_PORT, 9480)")
    p.add_argument(
        "--kiosk", action="store_true", default=None, help="kiosk mode by default (IOC_WALL_KIOSK)"
    )
    group = p.add_subparsers(dest="wall_command", metavar="{screenshots}")
    shots = add_command(
        group,
        "screenshots",
        run_screenshots,
        help="save every page of a running wall as docs/wall-<page>.png (1920x1080)",
    )
    shots.add_argument(
        "--url", default=None, help="the wall's base URL (default http://IOC_WALL_HOST:PORT)"
    )
    shots.add_argument("--out-dir", type=Path, default=Path("docs"), help="default: docs")
    shots.add_argument("--unit", default=None, help="unit id of the drill-down page")
    shots.add_argument("--lang", choices=("vi", "en"), default="vi", help="default: vi")
    shots.add_argument(
        "--settle", type=positive_float, default=2.0, help="seconds to let charts draw (2)"
    )


def _settings(args: argparse.Namespace) -> WallSettings:
    """``IOC_WALL_*`` with the command line's overrides (raises ConfigError when invalid)."""
    from ioc_monitor.config import load
    from services.wall.settings import WallSettings

    base = load(WallSettings)
    overrides = {
        k: v
        for k, v in (("host", args.host), ("port", args.port), ("kiosk", args.kiosk))
        if v is not None
    }
    return base.model_copy(update=overrides) if overrides else base


def run(args: argparse.Namespace) -> int:
    """Serve the wall until stopped (settings checked first: one line when invalid)."""
    import logging

    from ioc_monitor.config import RedisSettings, load
    from services.wall.server import serve

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    settings = _settings(args)
    serve(settings, load(RedisSettings))
    return 0


def run_screenshots(args: argparse.Namespace) -> int:
    """Save a PNG of each page of the wall at ``--url``; print their paths."""
    from services.wall.screenshots import capture

    settings = _settings(args)
    url = args.url or f"http://{settings.host}:{settings.port}"
    for path in capture(url, args.out_dir, unit=args.unit, lang=args.lang, settle_s=args.settle):
        print(path)
    return 0

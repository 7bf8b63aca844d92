"""``ioc dashboards generate|publish``: the Grafana dashboards.

Grafana dashboards generated from the metric catalogue (never edited by hand), and
published to Grafana with grafana-client.
"""

from __future__ import annotations

import argparse

from services.cli.args import add_command, add_group, out_dir_argument

__all__ = ["configure"]


def configure(p: argparse.ArgumentParser) -> None:
    """Add ``generate`` and ``publish`` to ``ioc dashboards``."""
    group = add_group(p, "dashboards_command", ("generate", "publish"))
    gen = add_command(
        group, "generate", run_dashboards_generate, help="write the dashboard JSON files"
    )
    out_dir_argument(gen, "dashboards")
    pub = add_command(
        group,
        "publish",
        run_dashboards_publish,
        help="push the dashboards to Grafana (IOC_GRAFANA_URL, IOC_GRAFANA_TOKEN)",
    )
    out_dir_argument(pub, "dashboards", "--dir")


def run_dashboards_generate(args: argparse.Namespace) -> int:
    """Write the dashboard JSON files; print their paths."""
    from services.ops import dashboards as dashgen

    for path in dashgen.write(args.out_dir, dashgen.generate()):
        print(path)
    return 0


def run_dashboards_publish(args: argparse.Namespace) -> int:
    """Push the dashboard files to Grafana; print each published uid."""
    from ioc_monitor.config import load
    from services.ops import dashboards as dashgen
    from services.ops.grafana import GrafanaSettings

    settings = load(GrafanaSettings)
    for uid in dashgen.publish(dashgen.read(args.dir), settings):
        print(f"published {uid} to {dashgen.safe_url(settings.url)}")
    return 0

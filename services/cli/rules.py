"""``ioc rules generate|check`` and ``ioc dashboards generate|publish``.

Both commands write generated artefacts (Prometheus rules, the Alertmanager config and the
Grafana dashboards) from the metric catalogue and the unit registry, so the files in the
repository are never edited by hand.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from services.cli.args import add_units_argument, load_units

__all__ = ["register"]


def register(sub: Any) -> None:
    """Add the ``rules`` and ``dashboards`` sub-commands.

    Args:
        sub: The ``add_subparsers()`` object of the main ``ioc`` parser.
    """
    rules: argparse.ArgumentParser = sub.add_parser(
        "rules",
        help="generate and check the Prometheus rules and the Alertmanager config",
        description="Prometheus recording/alert rules and Alertmanager config, generated.",
    )
    rules_sub = rules.add_subparsers(dest="rules_command", metavar="{generate,check}")
    rules_sub.required = True
    gen = rules_sub.add_parser("generate", help="write the rule files and alertmanager.yml")
    add_units_argument(gen)
    gen.add_argument("--out-dir", type=Path, default=Path("deploy"), help="default: deploy")
    gen.add_argument(
        "--webhook-base",
        default=None,
        help="base URL of the webhooks: <base>/<supervisor> (default http://127.0.0.1:19999/alerts)",
    )
    gen.set_defaults(func=run_rules_generate)
    chk = rules_sub.add_parser("check", help="promtool check rules + amtool check-config")
    chk.add_argument("--out-dir", type=Path, default=Path("deploy"), help="default: deploy")
    chk.set_defaults(func=run_rules_check)

    dash: argparse.ArgumentParser = sub.add_parser(
        "dashboards",
        help="generate the Grafana dashboards or publish them to Grafana",
        description="Grafana dashboards generated from the metric catalogue.",
    )
    dash_sub = dash.add_subparsers(dest="dashboards_command", metavar="{generate,publish}")
    dash_sub.required = True
    dgen = dash_sub.add_parser("generate", help="write the dashboard JSON files")
    dgen.add_argument(
        "--out-dir", type=Path, default=Path("dashboards"), help="default: dashboards"
    )
    dgen.set_defaults(func=run_dashboards_generate)
    pub = dash_sub.add_parser(
        "publish", help="push the dashboards to Grafana (IOC_GRAFANA_URL, IOC_GRAFANA_TOKEN)"
    )
    pub.add_argument("--dir", type=Path, default=Path("dashboards"), help="default: dashboards")
    pub.set_defaults(func=run_dashboards_publish)


def run_rules_generate(args: argparse.Namespace) -> int:
    """Write the three generated files; print their paths."""
    from services.ops import rules as rulegen
    from services.ops.alerts import DEFAULT_WEBHOOK_BASE

    registry = load_units(args.units)
    files = rulegen.generate(registry, args.webhook_base or DEFAULT_WEBHOOK_BASE)
    for path in rulegen.write(args.out_dir, files):
        print(path)
    return 0


def run_rules_check(args: argparse.Namespace) -> int:
    """Run promtool and amtool on the generated files; 1 if either reports a problem."""
    from services.ops import rules as rulegen

    status = 0
    for result in rulegen.check(args.out_dir):
        print(f"$ {' '.join(result.argv)}\n{result.output}")
        if not result.ok:
            print(f"ioc rules check: {Path(result.argv[0]).name} failed", file=sys.stderr)
            status = 1
    return status


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

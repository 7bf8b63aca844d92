"""``ioc rules generate|check``: the Prometheus rules and the Alertmanager config.

Prometheus recording/alert rules and Alertmanager config, generated from the metric
catalogue and the unit registry, so the files in the repository are never edited by hand.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from services.cli.args import (
    add_command,
    add_group,
    add_units_argument,
    load_units,
    out_dir_argument,
)

__all__ = ["configure"]


def configure(p: argparse.ArgumentParser) -> None:
    """Add ``generate`` and ``check`` to ``ioc rules``."""
    group = add_group(p, "rules_command", ("generate", "check"))
    gen = add_command(
        group, "generate", run_rules_generate, help="write the rule files and alertmanager.yml"
    )
    add_units_argument(gen)
    out_dir_argument(gen, "deploy")
    gen.add_argument(
        "--webhook-base",
        default=None,
        help="base URL of the webhooks: <base>/<supervisor> (default http://127.0.0.1:19999/alerts)",
    )
    gen.add_argument(
        "--wall-url",
        default=None,
        help="base URL of the wall: unit alerts link to <wall>/units/<unit id> "
        "(default http://127.0.0.1:9480)",
    )
    chk = add_command(
        group, "check", run_rules_check, help="promtool check rules + amtool check-config"
    )
    out_dir_argument(chk, "deploy")


def run_rules_generate(args: argparse.Namespace) -> int:
    """Write the three generated files; print their paths."""
    from services.ops import rules as rulegen
    from services.ops.alertmanager import DEFAULT_WEBHOOK_BASE
    from services.ops.alerts import DEFAULT_WALL_URL

    registry = load_units(args.units)
    files = rulegen.generate(
        registry, args.webhook_base or DEFAULT_WEBHOOK_BASE, args.wall_url or DEFAULT_WALL_URL
    )
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

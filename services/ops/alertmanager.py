"""The Alertmanager configuration: one route per supervisor, the ops receiver, the inhibition.

The inhibit rule relies on ``feed`` being present on both sides: a label missing on both
sides would count as equal, so both matchers require ``feed=~".+"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from ioc_monitor.registry import UnitRegistry
from services.ops.alertkit import CATEGORY_KPI, CATEGORY_PIPELINE, FEED_STALLED

__all__ = ["DEFAULT_WEBHOOK_BASE", "OPS_RECEIVER", "alertmanager_config", "supervisor_receiver"]

#: Receiver of pipeline alerts and of everything no supervisor route takes.
OPS_RECEIVER: Final = "ioc-ops"
#: Default base URL of the webhooks: ``<base>/<supervisor>`` and ``<base>/ioc-ops``.
DEFAULT_WEBHOOK_BASE: Final = "http://127.0.0.1:19999/alerts"

Doc = dict[str, Any]


def supervisor_receiver(supervisor: str) -> str:
    """Alertmanager receiver name of a supervisor key: ``supervisor-<key>``."""
    return f"supervisor-{supervisor}"


def _webhook(name: str, url: str) -> Doc:
    return {"name": name, "webhook_configs": [{"url": url, "send_resolved": True}]}


def alertmanager_config(registry: UnitRegistry, webhook_base: str) -> Doc:
    """The Alertmanager configuration: routes per supervisor, ops receiver, inhibition.

    Args:
        registry: The units (supervisor keys, in file order of first appearance).
        webhook_base: Base URL; receiver ``supervisor-<key>`` posts to ``<base>/<key>``,
            ``ioc-ops`` to ``<base>/ioc-ops``.

    Returns:
        The configuration document.
    """
    base = webhook_base.rstrip("/")
    supervisors: Sequence[str] = list(registry.supervisors())
    routes: list[Doc] = [
        {"receiver": OPS_RECEIVER, "matchers": [f'category="{CATEGORY_PIPELINE}"']}
    ]
    routes += [
        {"receiver": supervisor_receiver(s), "matchers": [f'supervisor="{s}"']} for s in supervisors
    ]
    receivers = [_webhook(OPS_RECEIVER, f"{base}/{OPS_RECEIVER}")]
    receivers += [_webhook(supervisor_receiver(s), f"{base}/{s}") for s in supervisors]
    return {
        "route": {
            "receiver": OPS_RECEIVER,
            "group_by": ["alertname", "unit"],
            "group_wait": "10s",
            "group_interval": "1m",
            "repeat_interval": "4h",
            "routes": routes,
        },
        "receivers": receivers,
        "inhibit_rules": [
            {
                # feed=~".+" on both sides: an alert without the label never matches.
                "source_matchers": [f'alertname="{FEED_STALLED}"', 'feed=~".+"'],
                "target_matchers": [f'category="{CATEGORY_KPI}"', 'feed=~".+"'],
                "equal": ["feed"],
            }
        ],
    }

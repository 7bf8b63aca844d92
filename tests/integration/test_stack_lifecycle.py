"""``ioc stack up|status|down`` on a second, private stack (own dir and ports).

The shared session stack stays untouched: this one lives under ``tmp_path`` with free
ports, is brought up twice (the second time is harmless: same processes), and
``down`` must leave no process of its own alive.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from ioc_monitor.config import StackSettings
from services.harness import IOC, free_port
from services.stack.control import down, status, up

pytestmark = pytest.mark.integration


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"  # a zombie has exited; only its parent's bookkeeping remains


def test_up_twice_status_down_leaves_nothing(tmp_path: Path, stack: object) -> None:
    settings = StackSettings(
        dir=tmp_path / "stack",
        kafka_port=free_port(),
        kafka_controller_port=free_port(),
        redis_port=free_port(),
        prometheus_port=free_port(),
        alertmanager_port=free_port(),
    )
    try:  # `down` also when `up` fails half-way: it stops what `up` did start
        first = up(settings)
        assert [s.name for s in first] == ["redis", "kafka", "prometheus", "alertmanager"]
        assert all(s.up for s in first), first
        assert {s.address for s in first} == {
            f"127.0.0.1:{settings.redis_port}",
            f"127.0.0.1:{settings.kafka_port}",
            f"127.0.0.1:{settings.prometheus_port}",
            f"127.0.0.1:{settings.alertmanager_port}",
        }
        pids = {s.name: s.pid for s in first}
        second = up(settings)
        assert {s.name: s.pid for s in second} == pids  # nothing restarted
        env = dict(os.environ, IOC_STACK_DIR=str(settings.dir))
        for name in ("kafka_port", "kafka_controller_port", "redis_port"):
            env[f"IOC_STACK_{name.upper()}"] = str(getattr(settings, name))
        env["IOC_STACK_PROMETHEUS_PORT"] = str(settings.prometheus_port)
        env["IOC_STACK_ALERTMANAGER_PORT"] = str(settings.alertmanager_port)
        shown = subprocess.run(
            [*IOC, "stack", "status"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for s in first:
            assert s.name in shown and s.address in shown and str(s.pid) in shown
    finally:
        after = down(settings)
    assert all(s.state == "down" and s.pid is None for s in after), after
    assert [name for name, pid in pids.items() if pid is not None and _alive(pid)] == []
    assert all(s.state == "down" for s in status(settings))

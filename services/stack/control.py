"""The local service stack: Kafka (KRaft), Redis, Prometheus and Alertmanager on loopback.

``up`` starts what is not running (installing the Debian packages first when running as
root), ``down`` stops exactly the processes whose pid files this module wrote, ``status``
reports each service. Data, logs, pid files and cached jars live under
``StackSettings.dir`` (default ``.stack`` in the current directory)::

    .stack/logs/<service>.log      .stack/run/<service>.pid
    .stack/kafka/<version>/        pom.xml, jars/, server.properties, data/
    .stack/redis/                  redis.conf, AOF files
    .stack/prometheus/             prometheus.yml (generated), data/ (TSDB)
    .stack/alertmanager/           silences / notification log
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import redis

from ioc_monitor.config import ExporterSettings, StackSettings, load
from ioc_monitor.errors import StackError
from services.stack import proc as stack_proc
from services.stack.config import (
    HOST,
    StackLayout,
    alertmanager_config_path,
    deploy_dir,
    prometheus_port_map,
    render_prometheus_config,
    render_redis_conf,
)
from services.stack.kafka import kafka_ready, prepare_kafka

__all__ = [
    "SERVICE_NAMES",
    "ServiceStatus",
    "down",
    "ensure_up",
    "status",
    "up",
]

#: Services in start order (``down`` stops them in reverse order).
SERVICE_NAMES = ("redis", "kafka", "prometheus", "alertmanager")
#: Seconds a service gets to exit after SIGTERM before SIGKILL.
STOP_TIMEOUT_S = 30.0
_APT_TIMEOUT_S = 1800.0
#: A font file of Debian's ``fonts-noto-core`` (Vietnamese glyphs for the wall's browser).
NOTO_FONT = "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf"
#: Executable (or, for an absolute path, a file) → Debian package providing it.
_PACKAGES = {
    "redis-server": "redis-server",
    "prometheus": "prometheus",
    "prometheus-alertmanager": "prometheus-alertmanager",
    "kcat": "kcat",
    "chromium": "chromium",
    NOTO_FONT: "fonts-noto-core",
}
#: Tools installed with the stack: kcat (librdkafka's CLI) to inspect topics and the
#: dead-letter topic, and to produce as a foreign (non-Python) client does; chromium and
#: the Noto fonts for the wall's browser tests and screenshots (Playwright drives Debian's
#: chromium; it never downloads a browser).
TOOLS = ("kcat", "chromium", NOTO_FONT)
_EXTRA_PATH = ("/usr/sbin", "/usr/bin", "/sbin", "/bin")

State = Literal["up", "starting", "down"]


@dataclass(frozen=True)
class ServiceStatus:
    """State of one service of the local stack.

    Attributes:
        name: ``redis``, ``kafka``, ``prometheus`` or ``alertmanager``.
        state: ``up`` (ours and answering), ``starting`` (ours, alive, not answering yet)
            or ``down`` (no live process of ours).
        address: ``127.0.0.1:<port>`` it serves on.
        pid: Process id when a process of ours is alive, else None.
    """

    name: str
    state: State
    address: str
    pid: int | None

    @property
    def up(self) -> bool:
        """True when the service is ours and answers."""
        return self.state == "up"


@dataclass(frozen=True)
class _Service:
    name: str
    ports: tuple[tuple[int, str], ...]  # (port, IOC_STACK_* variable), first = address
    executable: str | None  # Debian-provided executable, None for Kafka (Java)
    prepare: Callable[[], list[str]]  # writes configs, returns argv
    probe: Callable[[], bool]
    cwd: Path

    @property
    def address(self) -> str:
        return f"{HOST}:{self.ports[0][0]}"


def _which(name: str) -> str | None:
    path = os.pathsep.join([os.environ.get("PATH", ""), *_EXTRA_PATH])
    return shutil.which(name, path=path)


def _executable(name: str) -> str:
    found = _which(name)
    if found is None:
        raise StackError(f"{name} not found; install the Debian package {_PACKAGES[name]}")
    return found


def _http_ready(port: int) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
    try:
        with opener.open(f"http://{HOST}:{port}/-/ready", timeout=2.0) as resp:
            return int(resp.status) == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _redis_ready(port: int) -> bool:
    client = redis.Redis(host=HOST, port=port, socket_timeout=2.0, socket_connect_timeout=2.0)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _services(
    settings: StackSettings, layout: StackLayout, exporter_port: int | None = None
) -> list[_Service]:
    redis_dir = layout.service_dir("redis")
    prom_dir = layout.service_dir("prometheus")
    am_dir = layout.service_dir("alertmanager")

    def prepare_redis() -> list[str]:
        conf = redis_dir / "redis.conf"
        _write(conf, render_redis_conf(port=settings.redis_port, data_dir=redis_dir))
        return [_executable("redis-server"), str(conf)]

    def prepare_prometheus() -> list[str]:
        source = deploy_dir() / "prometheus" / "prometheus.local.yml"
        effective = prom_dir / "prometheus.yml"
        port_map = prometheus_port_map(settings, _exporter_port(exporter_port))
        _write(effective, render_prometheus_config(source, port_map))
        (prom_dir / "data").mkdir(parents=True, exist_ok=True)
        return [
            _executable("prometheus"),
            f"--config.file={effective}",
            f"--storage.tsdb.path={prom_dir / 'data'}",
            f"--web.listen-address={HOST}:{settings.prometheus_port}",
            "--web.enable-lifecycle",
        ]

    def prepare_alertmanager() -> list[str]:
        am_dir.mkdir(parents=True, exist_ok=True)
        return [
            _executable("prometheus-alertmanager"),
            f"--config.file={alertmanager_config_path()}",
            f"--storage.path={am_dir}",
            f"--web.listen-address={HOST}:{settings.alertmanager_port}",
            "--cluster.listen-address=",
        ]

    return [
        _Service(
            "redis",
            ((settings.redis_port, "IOC_STACK_REDIS_PORT"),),
            "redis-server",
            prepare_redis,
            lambda: _redis_ready(settings.redis_port),
            redis_dir,
        ),
        _Service(
            "kafka",
            (
                (settings.kafka_port, "IOC_STACK_KAFKA_PORT"),
                (settings.kafka_controller_port, "IOC_STACK_KAFKA_CONTROLLER_PORT"),
            ),
            None,
            lambda: prepare_kafka(settings, layout),
            lambda: kafka_ready(settings.kafka_port),
            layout.kafka_dir(settings.kafka_version),
        ),
        _Service(
            "prometheus",
            ((settings.prometheus_port, "IOC_STACK_PROMETHEUS_PORT"),),
            "prometheus",
            prepare_prometheus,
            lambda: _http_ready(settings.prometheus_port),
            prom_dir,
        ),
        _Service(
            "alertmanager",
            ((settings.alertmanager_port, "IOC_STACK_ALERTMANAGER_PORT"),),
            "prometheus-alertmanager",
            prepare_alertmanager,
            lambda: _http_ready(settings.alertmanager_port),
            am_dir,
        ),
    ]


def _run_apt(argv: Sequence[str], apt_log: Path) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    apt_log.parent.mkdir(parents=True, exist_ok=True)
    with apt_log.open("ab") as log:
        log.write(f"\n=== ioc stack: {' '.join(argv)}\n".encode())
        log.flush()
        try:
            result = subprocess.run(
                list(argv), stdout=log, stderr=subprocess.STDOUT, env=env, timeout=_APT_TIMEOUT_S
            )
        except subprocess.TimeoutExpired:
            result = subprocess.CompletedProcess(list(argv), -1)
    if result.returncode != 0:
        raise StackError(
            f"`{' '.join(argv)}` failed (exit {result.returncode}); last lines of {apt_log}:\n"
            f"{stack_proc.tail(apt_log)}"
        )


def _present(name: str) -> bool:
    """An executable on the PATH, or (an absolute path) an existing file."""
    return Path(name).is_file() if os.path.isabs(name) else _which(name) is not None


def _ensure_executables(executables: Sequence[str], layout: StackLayout) -> None:
    """Install the Debian packages of missing executables or files (root + apt-get), or explain."""
    missing = [name for name in executables if not _present(name)]
    if not missing:
        return
    packages = sorted({_PACKAGES[name] for name in missing})
    apt_get = _which("apt-get")
    if os.geteuid() != 0 or apt_get is None:
        raise StackError(
            f"missing {', '.join(missing)}; install the Debian packages: "
            f"sudo apt-get install -y {' '.join(packages)}"
        )
    apt_log = layout.log("apt")
    _run_apt([apt_get, "update"], apt_log)
    _run_apt([apt_get, "install", "-y", "--no-install-recommends", *packages], apt_log)
    still = [name for name in missing if not _present(name)]
    if still:
        raise StackError(f"apt-get installed {', '.join(packages)} but {still} is still missing")


def _check_ports(service: _Service) -> None:
    for port, variable in service.ports:
        if stack_proc.port_in_use(port, HOST):
            raise StackError(
                f"port {port} ({service.name}) is already in use by a process that is not "
                f"part of this stack; stop it or choose another port with {variable}=<port>"
            )


def _exporter_port(exporter_port: int | None) -> int:
    return exporter_port if exporter_port is not None else load(ExporterSettings).port


def up(settings: StackSettings, *, exporter_port: int | None = None) -> list[ServiceStatus]:
    """Start every service that is not already running, and wait until all answer.

    A service whose pid file names a live process of ours that answers is left alone; one
    that is alive but not answering yet is waited for. Each wait is bounded by
    ``settings.start_timeout`` seconds from that service's start (the one-off Maven download
    of the Kafka jars is not counted).

    Args:
        settings: The stack settings.
        exporter_port: Port of the ioc exporter Prometheus scrapes; default
            ``IOC_EXPORTER_PORT`` (9464).

    Returns:
        The status of every service, in start order.

    Raises:
        StackError: missing tools, a port taken by a foreign process, or a service that
            exits or does not answer in time (with the last 20 lines of its log).
    """
    layout = StackLayout.from_settings(settings)
    for directory in (layout.root, layout.logs, layout.run):
        directory.mkdir(parents=True, exist_ok=True)
    services = _services(settings, layout, exporter_port)
    waits: list[tuple[_Service, int, float]] = []
    to_start: list[_Service] = []
    for service in services:
        pid = stack_proc.our_pid(layout.pid(service.name), layout.root)
        if pid is None:
            _check_ports(service)
            to_start.append(service)
        elif not service.probe():
            waits.append((service, pid, time.monotonic() + settings.start_timeout))
    _ensure_executables([*(s.executable for s in to_start if s.executable), *TOOLS], layout)
    launches = [(service, service.prepare()) for service in to_start]
    for service, argv in launches:
        pid = stack_proc.launch(
            argv,
            log_file=layout.log(service.name),
            pid_file=layout.pid(service.name),
            cwd=service.cwd,
        )
        waits.append((service, pid, time.monotonic() + settings.start_timeout))
    for service, pid, deadline in waits:
        stack_proc.wait_ready(
            service.name, pid, service.probe, deadline=deadline, log_file=layout.log(service.name)
        )
    return status(settings)


def down(settings: StackSettings) -> list[ServiceStatus]:
    """Stop the services whose pid files this stack wrote: SIGTERM, wait, then SIGKILL.

    Processes not started by the stack (no pid file, or a pid file naming a process outside
    the stack directory) are never signalled. Waits at most ``STOP_TIMEOUT_S`` (30 s) before
    SIGKILL.

    Args:
        settings: The stack settings.

    Returns:
        The status of every service afterwards (all ``down`` unless SIGKILL failed).

    Raises:
        StackError: if a process of ours survives SIGKILL.
    """
    layout = StackLayout.from_settings(settings)
    running: list[tuple[str, int]] = []
    for name in reversed(SERVICE_NAMES):
        pid = stack_proc.our_pid(layout.pid(name), layout.root)
        if pid is not None:
            stack_proc.send_signal(pid, signal.SIGTERM)
            running.append((name, pid))
    deadline = time.monotonic() + STOP_TIMEOUT_S
    survivors: list[str] = []
    for name, pid in running:
        if not stack_proc.wait_dead(pid, max(0.0, deadline - time.monotonic())):
            stack_proc.send_signal(pid, signal.SIGKILL)
            if not stack_proc.wait_dead(pid, 10.0):
                survivors.append(f"{name} (pid {pid})")
                continue
        with contextlib.suppress(OSError):
            layout.pid(name).unlink()
    if survivors:
        raise StackError(f"could not stop {', '.join(survivors)}")
    return status(settings)


def status(settings: StackSettings) -> list[ServiceStatus]:
    """Report each service: ``up`` / ``starting`` / ``down``, address and pid.

    Args:
        settings: The stack settings.

    Returns:
        One status per service, in start order.
    """
    layout = StackLayout.from_settings(settings)
    result: list[ServiceStatus] = []
    for service in _services(settings, layout):
        pid = stack_proc.our_pid(layout.pid(service.name), layout.root)
        state: State = "down" if pid is None else ("up" if service.probe() else "starting")
        result.append(ServiceStatus(service.name, state, service.address, pid))
    return result


def ensure_up(settings: StackSettings | None = None) -> list[ServiceStatus]:
    """Bring the whole stack up (reusing running services) for tests and demos.

    Args:
        settings: The stack settings; default ``load(StackSettings)`` (``IOC_STACK_*``).

    Returns:
        The status of every service, all ``up``.

    Raises:
        StackError: if any service cannot be started or does not answer.
    """
    statuses = up(settings if settings is not None else load(StackSettings))
    not_up = [f"{s.name} ({s.state})" for s in statuses if not s.up]
    if not_up:
        raise StackError(f"stack services not up: {', '.join(not_up)}")
    return statuses

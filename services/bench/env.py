"""What ``make bench`` runs on: machine facts, software versions, process figures, progress.

The report records the CPU, memory, kernel and load averages of the machine, the versions
of the servers and client libraries, and, per worker process, its peak resident set size
and CPU seconds read from ``/proc``. Progress lines go to stderr.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

from ioc_monitor.config import StackSettings, load
from ioc_monitor.errors import IocError
from services.harness import redis_server_exe

__all__ = [
    "load_average",
    "machine_info",
    "proc_children",
    "proc_cpu_seconds",
    "proc_hwm_kib",
    "say",
    "versions",
]


def say(text: str) -> None:
    """Print a progress line ``[bench HH:MM:SS] text`` to stderr."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def load_average() -> str:
    """The 1, 5 and 15 min load averages, e.g. ``0.20, 0.39, 0.42``."""
    load1, load5, load15 = os.getloadavg()
    return f"{load1:.2f}, {load5:.2f}, {load15:.2f}"


def machine_info() -> dict[str, str]:
    """CPU model, cores, memory (GiB), kernel and the current load averages."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in _read("/proc/cpuinfo").splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    mem_kib = next(
        (
            int(line.split()[1])
            for line in _read("/proc/meminfo").splitlines()
            if line.startswith("MemTotal:")
        ),
        0,
    )
    return {
        "CPU": cpu,
        "cores": str(os.cpu_count()),
        "RAM": f"{mem_kib / 1024 / 1024:.1f} GiB",
        "kernel": platform.release(),
        "load average at the end (1, 5, 15 min)": load_average(),
    }


def _dist(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _redis_server_version() -> str:
    try:
        exe = redis_server_exe()
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=10)
    except (IocError, OSError):
        return "unknown"
    for word in out.stdout.split():
        if word.startswith("v="):
            return word[2:]
    return out.stdout.strip() or "unknown"


def versions() -> dict[str, str]:
    """Versions of Python, the servers and the client libraries in use."""
    return {
        "Python": platform.python_version(),
        "Apache Kafka (broker)": load(StackSettings).kafka_version,
        "Redis (server)": _redis_server_version(),
        "faust-streaming": _dist("faust-streaming"),
        "aiokafka": _dist("aiokafka"),
        "kafka-python (producer)": _dist("kafka-python"),
        "redis-py": _dist("redis"),
        "hiredis": _dist("hiredis"),
        "uvloop": _dist("uvloop"),
        "orjson": _dist("orjson"),
    }


def proc_hwm_kib(pid: int) -> int | None:
    """Peak resident set size (``VmHWM``) of a live process, in KiB (None: it is gone)."""
    for line in _read(f"/proc/{pid}/status").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None


def _stat_fields(pid: int | str) -> list[str] | None:
    """Fields of ``/proc/<pid>/stat`` after the command name (None: the process is gone).

    ``fields[1]`` is the parent's pid, ``fields[11]`` and ``fields[12]`` the user and
    system CPU time in clock ticks.
    """
    stat = _read(f"/proc/{pid}/stat")
    return stat.rsplit(")", 1)[1].split() if stat else None


def proc_children(pid: int) -> list[int]:
    """Live child processes of a process (by the parent field of each ``/proc/N/stat``)."""
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(entry)
            if fields is not None and int(fields[1]) == pid:
                children.append(int(entry))
    return children


def proc_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds used so far by a live process (None: it is gone)."""
    fields = _stat_fields(pid)
    if fields is None:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks

"""Process plumbing and tool checks of the local stack, without the real services."""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
from pathlib import Path

import pytest

from ioc_monitor.errors import StackError
from services.cli.stack import format_table
from services.stack import control as stack
from services.stack import proc as stack_proc
from services.stack.config import StackLayout
from services.stack.control import ServiceStatus


def test_launch_writes_pid_and_stop_kills_the_group(tmp_path: Path) -> None:
    root = tmp_path.resolve()
    pid_file, log_file = root / "run" / "x.pid", root / "logs" / "x.log"
    pid = stack_proc.launch(
        [sys.executable, "-c", "import time; print('hello', flush=True); time.sleep(60)"],
        log_file=log_file,
        pid_file=pid_file,
        cwd=root / "x",
    )
    try:
        assert stack_proc.our_pid(pid_file, root) == pid
        assert stack_proc.our_pid(pid_file, root / "elsewhere") is None  # foreign cwd
    finally:
        stack_proc.send_signal(pid, signal.SIGTERM)
    assert stack_proc.wait_dead(pid, 10.0)
    assert "hello" in stack_proc.tail(log_file)
    pid_file.write_text(f"{pid}\n")
    assert stack_proc.our_pid(pid_file, root) is None
    assert not pid_file.exists()  # stale pid files are removed


def test_our_pid_ignores_garbage(tmp_path: Path) -> None:
    pid_file = tmp_path / "g.pid"
    pid_file.write_text("not a pid")
    assert stack_proc.our_pid(pid_file, tmp_path) is None
    assert stack_proc.our_pid(tmp_path / "missing.pid", tmp_path) is None


def test_port_in_use() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert stack_proc.port_in_use(port)
    assert not stack_proc.port_in_use(port)


def test_wait_ready_reports_early_exit_with_log_tail(tmp_path: Path) -> None:
    root = tmp_path.resolve()
    log_file = root / "logs" / "boom.log"
    pid = stack_proc.launch(
        [sys.executable, "-c", "print('fatal: bad config'); raise SystemExit(3)"],
        log_file=log_file,
        pid_file=root / "run" / "boom.pid",
        cwd=root,
    )
    with pytest.raises(StackError, match=r"(?s)exited during start-up.*fatal: bad config"):
        stack_proc.wait_ready(
            "boom", pid, lambda: False, deadline=time.monotonic() + 30, log_file=log_file
        )


def test_wait_ready_times_out_with_log_tail(tmp_path: Path) -> None:
    log_file = tmp_path / "slow.log"
    log_file.write_text("".join(f"line {i}\n" for i in range(30)))
    with pytest.raises(StackError, match=r"(?s)did not answer in time.*line 29") as info:
        stack_proc.wait_ready(
            "slow", 1, lambda: False, deadline=time.monotonic(), log_file=log_file
        )
    assert "line 9\n" not in str(info.value)  # only the last 20 lines


def test_missing_executables_without_root_explains(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stack, "_which", lambda name: None)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(StackError, match="apt-get install -y prometheus redis-server"):
        stack._ensure_executables(["redis-server", "prometheus"], StackLayout(tmp_path))


def test_missing_executables_as_root_runs_apt_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    installed: set[str] = set()
    calls: list[list[str]] = []

    def which(name: str) -> str | None:
        if name == "apt-get":
            return "/usr/bin/apt-get"
        return f"/usr/bin/{name}" if name in installed else None

    def run_apt(argv: list[str], apt_log: Path) -> None:
        calls.append(list(argv))
        if "install" in argv:
            installed.update(argv[argv.index("--no-install-recommends") + 1 :])

    monkeypatch.setattr(stack, "_which", which)
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(stack, "_run_apt", run_apt)
    stack._ensure_executables(["redis-server", "prometheus-alertmanager"], StackLayout(tmp_path))
    assert calls == [
        ["/usr/bin/apt-get", "update"],
        [
            "/usr/bin/apt-get",
            "install",
            "-y",
            "--no-install-recommends",
            "prometheus-alertmanager",
            "redis-server",
        ],
    ]


def test_format_table() -> None:
    table = format_table(
        [
            ServiceStatus("redis", "up", "127.0.0.1:16379", 42),
            ServiceStatus("alertmanager", "down", "127.0.0.1:19093", None),
        ]
    )
    assert table.splitlines() == [
        "SERVICE       STATE  ADDRESS          PID",
        "redis         up     127.0.0.1:16379  42",
        "alertmanager  down   127.0.0.1:19093  -",
    ]

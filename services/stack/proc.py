"""Process plumbing of the local stack: pid files, liveness, ports, launch, stop, waits.

A process counts as *ours* only when its pid file (written by :func:`launch`) names a live
process whose working directory lies under the stack root; a recycled pid therefore never
makes us signal a stranger.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import subprocess
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from ioc_monitor.errors import StackError

__all__ = [
    "is_alive",
    "launch",
    "our_pid",
    "port_in_use",
    "send_signal",
    "tail",
    "wait_dead",
    "wait_ready",
]

_POLL_S = 0.2


def is_alive(pid: int) -> bool:
    """Tell whether a process exists and is not a zombie (reaping it if it is our child).

    Args:
        pid: Process id.

    Returns:
        True while the process runs.
    """
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return True
    state = stat.rpartition(")")[2].split()
    return not (state and state[0] in {"Z", "X"})


def _cwd_under(pid: int, root: Path) -> bool:
    proc = Path(f"/proc/{pid}")
    if not proc.parent.is_dir():  # no procfs: trust the pid file
        return True
    try:
        cwd = Path(os.readlink(proc / "cwd"))
    except OSError:
        return False
    return cwd == root or root in cwd.parents


def our_pid(pid_file: Path, root: Path) -> int | None:
    """Read a pid file and return the pid if it names a live process of this stack.

    A pid file that names a dead or foreign process is removed.

    Args:
        pid_file: ``<root>/run/<service>.pid``.
        root: Absolute stack root.

    Returns:
        The pid, or None.
    """
    try:
        pid = int(pid_file.read_text(encoding="utf-8").split()[0])
    except (OSError, ValueError, IndexError):
        return None
    if pid > 1 and is_alive(pid) and _cwd_under(pid, root):
        return pid
    with contextlib.suppress(OSError):
        pid_file.unlink()
    return None


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Tell whether ``host:port`` cannot be bound because someone listens on it.

    Args:
        port: TCP port.
        host: Address to test. Default ``127.0.0.1``.

    Returns:
        True if binding fails with ``EADDRINUSE``.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


def launch(
    argv: Sequence[str],
    *,
    log_file: Path,
    pid_file: Path,
    cwd: Path,
    env: Mapping[str, str] | None = None,
) -> int:
    """Start a detached service process (own session) and write its pid file.

    Args:
        argv: Command line; ``argv[0]`` should be an absolute executable path.
        log_file: stdout and stderr are appended here.
        pid_file: Receives the pid (written atomically).
        cwd: Working directory; must lie under the stack root (ownership check).
        env: Environment; default the current one.

    Returns:
        The pid of the started process.

    Raises:
        StackError: if the executable cannot be started.
    """
    log_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    cwd.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    with log_file.open("ab") as log:
        log.write(f"\n=== ioc stack: {stamp} starting: {' '.join(argv)}\n".encode())
        log.flush()
        try:
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                env=dict(env) if env is not None else None,
                start_new_session=True,
                close_fds=True,
            )
        except OSError as exc:
            raise StackError(f"cannot start {argv[0]}: {exc}") from exc
    tmp = pid_file.with_suffix(".pid.tmp")
    tmp.write_text(f"{proc.pid}\n", encoding="utf-8")
    tmp.replace(pid_file)
    return proc.pid


def send_signal(pid: int, sig: signal.Signals) -> None:
    """Signal a service: its whole process group when it leads one, else just the process.

    Args:
        pid: Process id (a session leader when started by :func:`launch`).
        sig: Signal to send.
    """
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def wait_dead(pid: int, timeout: float) -> bool:
    """Wait for a process to exit.

    Args:
        pid: Process id.
        timeout: Seconds to wait.

    Returns:
        True if the process is gone.
    """
    deadline = time.monotonic() + timeout
    while is_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_S)
    return True


def tail(path: Path, lines: int = 20) -> str:
    """Return the last lines of a text file (empty string if it cannot be read).

    Args:
        path: File to read.
        lines: How many lines. Default 20.

    Returns:
        The lines joined with newlines.
    """
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            return "".join(deque(handle, maxlen=lines)).rstrip("\n")
    except OSError:
        return ""


def wait_ready(
    name: str,
    pid: int,
    probe: Callable[[], bool],
    *,
    deadline: float,
    log_file: Path,
) -> None:
    """Poll a service's probe until it answers, its process dies, or the deadline passes.

    Args:
        name: Service name for messages.
        pid: Process to watch.
        probe: Returns True once the service answers; must not raise.
        deadline: ``time.monotonic()`` value after which waiting stops.
        log_file: Log whose last 20 lines go into the error.

    Raises:
        StackError: on early exit or timeout, with the log tail.
    """
    while True:
        if probe():
            return
        if not is_alive(pid):
            raise StackError(
                f"{name} (pid {pid}) exited during start-up; last lines of {log_file}:\n"
                f"{tail(log_file)}"
            )
        if time.monotonic() >= deadline:
            raise StackError(
                f"{name} (pid {pid}) did not answer in time (IOC_STACK_START_TIMEOUT); "
                f"last lines of {log_file}:\n{tail(log_file)}"
            )
        time.sleep(_POLL_S * 2)

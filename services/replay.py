"""Replaying JSONL event logs into Kafka, in file order, optionally rate-limited.

:func:`produce` sends any stream of raw lines through a :class:`~services.publisher.Publisher`
(also used by ``ioc simulate --to-kafka``); :func:`replay` feeds it the lines of log
files. Every line is sent as it is; every send is confirmed or counted as failed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from ioc_monitor.config import KafkaSettings
from ioc_monitor.logs import iter_messages
from services.publisher import Publisher

__all__ = [
    "COUNT_LIMIT_BYTES",
    "FLUSH_TIMEOUT_S",
    "ReplaySummary",
    "TokenBucket",
    "count_messages",
    "produce",
    "replay",
]

#: Plain logs up to this many bytes in total are counted first, for an ETA (512 MiB).
COUNT_LIMIT_BYTES: Final = 512 * 1024 * 1024
#: Seconds the final flush may take before unconfirmed sends count as failed.
FLUSH_TIMEOUT_S: Final = 120.0
_UPDATE_EVERY: Final = 1024


@dataclass(frozen=True, slots=True)
class ReplaySummary:
    """Outcome of a replay.

    Attributes:
        sent: Messages the broker confirmed.
        failed: Messages that failed or were never confirmed.
        seconds: Wall time from the first send to the end of the final flush.
        first_error: Description of the first failure, if any.
    """

    sent: int
    failed: int
    seconds: float
    first_error: str | None = None

    @property
    def rate(self) -> float:
        """Confirmed messages per second (0 when no time elapsed)."""
        return self.sent / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        """Return a one-line human summary."""
        text = (
            f"sent {self.sent}, failed {self.failed} in {self.seconds:.2f} s "
            f"({self.rate:,.0f} events/s)"
        )
        return f"{text}; first error: {self.first_error}" if self.first_error else text


class TokenBucket:
    """Limits an average rate, allowing bursts of up to 50 ms worth of tokens.

    Args:
        rate: Tokens per second, > 0.
        burst: Bucket capacity in tokens. Default ``max(1, rate / 20)``.
        clock: Monotonic clock in seconds. Default ``time.monotonic``.
        sleep: Sleep function in seconds. Default ``time.sleep``.

    Raises:
        ValueError: ``rate`` is not positive.
    """

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate / 20)
        self._clock = clock
        self._sleep = sleep
        self._tokens = 1.0
        self._last = clock()

    def take(self) -> None:
        """Take one token, sleeping until one is available."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return
        wait = (1.0 - self._tokens) / self.rate
        self._sleep(wait)
        self._tokens = 0.0
        self._last = now + wait


class _RateColumn(ProgressColumn):
    """Events per second of a task."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} ev/s" if speed else "– ev/s", style="progress.data.speed")


def _progress(total: int | None, console: Console) -> Progress:
    columns: list[ProgressColumn | str] = [TextColumn("[bold]{task.description}")]
    if total is not None:
        columns += [BarColumn(), MofNCompleteColumn(), _RateColumn(), TimeRemainingColumn()]
    else:
        columns += [TextColumn("{task.completed:,} events"), _RateColumn(), TimeElapsedColumn()]
    return Progress(*columns, console=console, speed_estimate_period=5.0)


def produce(
    messages: Iterable[bytes],
    settings: KafkaSettings,
    *,
    rate: float | None = None,
    topic: str | None = None,
    progress: bool = True,
    total: int | None = None,
    description: str = "replay",
    publisher: Publisher | None = None,
) -> ReplaySummary:
    """Send raw lines in order, keyed by dossier, and wait until each is confirmed.

    Args:
        messages: Raw message values, sent byte for byte.
        settings: Kafka settings.
        rate: Messages per second at most (token bucket); None or 0 sends as fast as
            possible.
        topic: Topic. Default ``settings.topic``.
        progress: Show a progress bar on stderr. Default True.
        total: Number of messages, when known (for the bar and its ETA).
        description: Label of the progress bar. Default ``replay``.
        publisher: Use this publisher (left open) instead of creating one.

    Returns:
        The summary; ``failed`` counts failed sends and sends never confirmed.

    Raises:
        IocError: Kafka cannot be reached at all.
    """
    own = publisher is None
    pub = publisher if publisher is not None else Publisher(settings, topic, "ioc-replay")
    bucket = TokenBucket(rate) if rate else None
    console = Console(stderr=True)
    bar = _progress(total, console) if progress else None
    started = time.monotonic()
    try:
        if bar is not None:
            bar.start()
            task = bar.add_task(description, total=total)
        n = 0
        for raw in messages:
            if bucket is not None:
                bucket.take()
            pub.send(raw)
            n += 1
            if bar is not None and n % _UPDATE_EVERY == 0:
                bar.update(task, completed=n)
        pub.flush(FLUSH_TIMEOUT_S)
        if bar is not None:
            bar.update(task, completed=n)
    finally:
        if bar is not None:
            bar.stop()
        if own:
            pub.close(timeout=10.0)
    seconds = time.monotonic() - started
    return ReplaySummary(
        sent=pub.acked,
        failed=pub.failed + pub.pending,
        seconds=seconds,
        first_error=pub.first_error,
    )


def count_messages(paths: Sequence[Path | str], limit: int = COUNT_LIMIT_BYTES) -> int | None:
    """Count the messages of plain logs when that is cheap.

    Args:
        paths: Log files.
        limit: Largest total size in bytes worth counting. Default 512 MiB.

    Returns:
        The number of non-empty lines, or None when a file is gzip-compressed, missing,
        or the logs are larger than ``limit``.
    """
    files = [Path(p) for p in paths]
    try:
        if any(f.suffix == ".gz" for f in files) or sum(f.stat().st_size for f in files) > limit:
            return None
        total = 0
        for f in files:
            with f.open("rb") as fh:
                total += sum(1 for line in fh if line not in (b"\n", b"\r\n"))
        return total
    except OSError:
        return None


def replay(
    paths: Sequence[Path | str],
    settings: KafkaSettings,
    rate: float | None = None,
    topic: str | None = None,
    progress: bool = True,
) -> ReplaySummary:
    """Replay JSONL logs (plain or ``.gz``) into Kafka in file order.

    Args:
        paths: Log files, replayed one after another.
        settings: Kafka settings.
        rate: Messages per second at most; None or 0 sends as fast as possible.
        topic: Topic. Default ``settings.topic``.
        progress: Show a progress bar on stderr (with an ETA when the total is known).

    Returns:
        The summary.

    Raises:
        IocError: A log cannot be read, or Kafka cannot be reached.
    """
    total = count_messages(paths) if progress else None
    return produce(
        iter_messages(paths), settings, rate=rate, topic=topic, progress=progress, total=total
    )

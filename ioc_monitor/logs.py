"""Reading JSONL event logs, plain or gzip-compressed."""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from ioc_monitor.errors import IocError

__all__ = ["batched", "iter_messages"]


def _open(path: Path) -> IO[bytes]:
    if path.suffix == ".gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def iter_messages(paths: Iterable[Path | str]) -> Iterator[bytes]:
    r"""Yield each line of each log as the raw message bytes.

    The line terminator (``\\n`` or ``\\r\\n``) is removed and empty lines are
    skipped; every other line is yielded as it is, malformed or not, so that the
    consumer judges it exactly as the stream would.

    Args:
        paths: JSONL files; names ending in ``.gz`` are read through gzip.

    Raises:
        IocError: a file cannot be opened or is not valid gzip.
    """
    for p in paths:
        path = Path(p)
        try:
            with _open(path) as fh:
                for line in fh:
                    if line.endswith(b"\n"):
                        line = line[:-2] if line.endswith(b"\r\n") else line[:-1]
                    if line:
                        yield line
        except (OSError, EOFError) as exc:
            raise IocError(f"cannot read log {path}: {exc}") from None


def batched(messages: Iterable[bytes], size: int) -> Iterator[list[bytes]]:
    """Group messages into lists of at most ``size``."""
    batch: list[bytes] = []
    for msg in messages:
        batch.append(msg)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch

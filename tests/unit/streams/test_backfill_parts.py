"""``ioc backfill``'s pieces without a stack: its summary lines and ``--helpers``."""

from __future__ import annotations

import argparse

import pytest

from services.cli.args import count_or_auto
from services.cli.backfill import auto_helpers
from streams.backfill import BackfillResult

helpers_argument = count_or_auto(auto_helpers)


def test_the_summary_and_progress_lines() -> None:
    # partition 0: offsets 100..1,099 to read (1,000); partition 1: nothing new (5 = 5)
    result = BackfillResult(
        partitions={0: (100, 1100), 1: (5, 5)}, read=250, applied=240, skipped=10, seconds=2.5
    )
    assert result.total == 1000
    assert result.progress_line() == "250 of 1,000 messages (25.0 %)"
    assert result.line() == (
        "read 250 messages of 2 partitions in 2.5 s (100/s): 240 applied, 10 already in Redis"
    )
    assert BackfillResult().progress_line() == "0 of 0 messages (100.0 %)"


def test_helpers_auto_is_one_per_cpu_and_none_on_one_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    assert helpers_argument("auto") == 4
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    assert helpers_argument("auto") == 0
    assert helpers_argument("0") == 0 and helpers_argument("3") == 3


@pytest.mark.parametrize(
    ("text", "error"),
    [("-1", "must be >= 0, got -1"), ("two", "not an integer: 'two'")],
)
def test_a_bad_helpers_value_is_named(text: str, error: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=error):
        helpers_argument(text)

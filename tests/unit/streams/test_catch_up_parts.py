"""The worker's catch-up without a stack: its settings, its bounds, and failing softly."""

from __future__ import annotations

import pytest

from ioc_monitor.config import KafkaSettings, RedisSettings, WorkerSettings
from ioc_monitor.errors import ConfigError
from services.harness import free_port
from streams.backfill import BackfillJob, default_shards, first_offset
from streams.catch_up import catch_up
from streams.lease import lease_key


def test_the_first_offset_not_applied() -> None:
    assert first_offset(None, 0) == 0  # nothing stored: the start of the log
    assert first_offset(None, 40) == 40  # ... or what retention left of it
    assert first_offset(99, 0) == 100  # after the stored offset
    assert first_offset(99, 500) == 500  # the log was truncated past it


def test_default_shards() -> None:
    assert [default_shards(c) for c in (None, 1, 2, 8)] == [0, 0, 2, 8]


def test_the_setting_and_its_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    from ioc_monitor.config import load

    assert WorkerSettings().catch_up == 100_000
    monkeypatch.setenv("IOC_WORKER_CATCH_UP", "0")
    assert load(WorkerSettings).catch_up == 0
    monkeypatch.setenv("IOC_WORKER_CATCH_UP", "-5")
    with pytest.raises(ConfigError, match="IOC_WORKER_CATCH_UP"):
        load(WorkerSettings)


def test_the_lease_is_a_key_of_the_prefix() -> None:
    assert lease_key("ioc") == "ioc:catchup"


def _job(bootstrap: str) -> BackfillJob:
    kafka = KafkaSettings(bootstrap=bootstrap, topic="t")
    redis = RedisSettings(url=f"redis://127.0.0.1:{free_port()}/0", prefix="p")
    return BackfillJob(kafka, redis, {"u-a"}, shards=0)


def test_zero_never_catches_up() -> None:
    said: list[str] = []
    catch_up(_job("127.0.0.1:1"), 0, said.append)
    assert said == []


def test_a_broker_that_does_not_answer_means_no_catch_up() -> None:
    said: list[str] = []
    catch_up(_job(f"127.0.0.1:{free_port()}"), 1, said.append)  # nothing listens there
    assert len(said) == 1 and said[0].startswith("no catch-up (KafkaConnectionError")
    assert said[0].endswith("; starting the consumer group")

"""A foreign producer in every compression codec: kcat (librdkafka) → the real worker.

Provincial systems are not our Python clients: they produce with librdkafka (or Java)
and often compress. kcat sends the same log once per codec, with librdkafka's own
partitioner, in batches of up to 500 messages; every exported series must equal
``ioc kpi`` on the log, counts included.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import orjson
import pytest

from ioc_monitor.config import KafkaSettings
from services.publisher import ensure_topic
from tests.integration.pipeline import Pipeline, samples

pytestmark = pytest.mark.integration

CODECS = ("gzip", "snappy", "lz4", "zstd")


def _keyed_lines(log: Path, out: Path) -> int:
    """Write ``dossier_id<TAB>event`` lines for kcat ``-K'\\t'``; return the count."""
    n = 0
    with out.open("wb") as fh:
        for line in log.read_bytes().splitlines():
            if line:
                fh.write(orjson.loads(line)["dossier_id"].encode() + b"\t" + line + b"\n")
                n += 1
    return n


@pytest.mark.parametrize("codec", CODECS)
def test_kcat_compressed_log_equals_offline(
    pipeline: Pipeline, kcat: str, tmp_path: Path, codec: str
) -> None:
    log = tmp_path / "events.jsonl"
    pipeline.run("simulate", "--seed", "5", "--dossiers", "150", "--out", str(log))
    keyed = tmp_path / "keyed.tsv"
    n = _keyed_lines(log, keyed)
    assert n > 150
    settings = KafkaSettings(bootstrap=pipeline.kafka_bootstrap)
    ensure_topic(settings, pipeline.topic, 3)
    sent = subprocess.run(
        [
            kcat,
            "-P",
            "-b",
            pipeline.kafka_bootstrap,
            "-t",
            pipeline.topic,
            "-z",
            codec,
            "-K",
            "\t",
            "-X",
            "linger.ms=100",
            "-X",
            "batch.num.messages=500",
            "-l",
            str(keyed),
        ],
        capture_output=True,
        timeout=120,
    )
    assert sent.returncode == 0, sent.stderr.decode(errors="replace")
    pipeline.start("worker", log="worker.log")
    pipeline.wait_counted(n)
    expected = samples(
        pipeline.run("kpi", str(log), "--format", "prometheus", "--clock", "event").stdout.decode()
    )
    got = samples(pipeline.scrape_event_clock())
    assert any(x.startswith("ioc_window_dossiers_received{") for x in expected)
    assert f"ioc_events_processed_total {float(n)}" in got
    assert got == expected


@pytest.mark.parametrize("codec", CODECS)
def test_replay_compresses_when_asked_and_the_worker_reads_it(
    pipeline: Pipeline, tmp_path: Path, codec: str
) -> None:
    log = tmp_path / "events.jsonl"
    pipeline.run("simulate", "--seed", "6", "--dossiers", "60", "--out", str(log))
    n = sum(1 for line in log.read_bytes().splitlines() if line)
    pipeline.extra_env["IOC_KAFKA_COMPRESSION"] = codec
    pipeline.run("replay", str(log), "--max", "--partitions", "2", "--no-progress")
    pipeline.start("worker", log="worker.log")
    pipeline.wait_counted(n)
    expected = samples(
        pipeline.run("kpi", str(log), "--format", "prometheus", "--clock", "event").stdout.decode()
    )
    assert samples(pipeline.scrape_event_clock()) == expected

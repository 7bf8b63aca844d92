"""A batch the worker cannot decode stalls its partition, not the worker (real stack).

kcat (librdkafka) writes the dossiers of partition 0 compressed with lz4 and those of
partition 1 uncompressed; the worker first runs with a ``sitecustomize`` shim that makes
aiokafka report the lz4 codec missing (as when its library is not installed). It must
stay up, count every event of partition 1, log the stall once and export
``ioc_consumer_partition_stalled{partition="0"} 1``. Restarted without the shim, it
processes partition 0 from where it stopped, the gauge goes, and every series equals
``ioc kpi`` on the whole log.
"""

from __future__ import annotations

import os
import subprocess
import time
import zlib
from pathlib import Path

import orjson
import pytest
import redis

from ioc_monitor.config import KafkaSettings
from ioc_monitor.redis.keys import PartitionKeys
from services.harness import stop
from services.publisher import ensure_topic
from tests.integration.pipeline import Pipeline, samples

pytestmark = pytest.mark.integration

#: A ``sitecustomize`` for the worker only: aiokafka finds no lz4 library.
SHIM = """\
import aiokafka.codec

aiokafka.codec.has_lz4 = lambda: False
"""
STALLED = "ioc_consumer_partition_stalled"


def _split(log: Path, workdir: Path) -> tuple[Path, int, Path, int]:
    """``dossier_id<TAB>event`` files of partition 0 and 1 (a dossier stays in one)."""
    files = [workdir / "p0.tsv", workdir / "p1.tsv"]
    counts = [0, 0]
    with files[0].open("wb") as p0, files[1].open("wb") as p1:
        for line in log.read_bytes().splitlines():
            if not line:
                continue
            dossier = orjson.loads(line)["dossier_id"].encode()
            part = zlib.crc32(dossier) % 2
            (p0, p1)[part].write(dossier + b"\t" + line + b"\n")
            counts[part] += 1
    return files[0], counts[0], files[1], counts[1]


def _kcat(kcat: str, p: Pipeline, partition: int, codec: str, lines: Path) -> None:
    target = [kcat, "-P", "-b", p.kafka_bootstrap, "-t", p.topic, "-p", str(partition)]
    sent = subprocess.run(
        [*target, "-z", codec, "-K", "\t", "-X", "linger.ms=100", "-l", str(lines)],
        capture_output=True,
        timeout=120,
    )
    assert sent.returncode == 0, sent.stderr.decode(errors="replace")


def _stall_note(p: Pipeline) -> dict[bytes, bytes]:
    client = redis.Redis.from_url(p.redis_url)
    try:
        return {
            f: v
            for f, v in client.hgetall(PartitionKeys(p.prefix, 0).stats).items()
            if f.startswith(b"stalled")
        }
    finally:
        client.close()


def _wait(what: str, ok: object, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not ok():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)


def test_an_undecodable_partition_stalls_alone_and_resumes_after_the_fix(
    pipeline: Pipeline, kcat: str, tmp_path: Path
) -> None:
    p = pipeline
    log = tmp_path / "events.jsonl"
    p.run("simulate", "--seed", "8", "--dossiers", "160", "--out", str(log))
    p0, n0, p1, n1 = _split(log, tmp_path)
    assert n0 > 100 and n1 > 100
    ensure_topic(KafkaSettings(bootstrap=p.kafka_bootstrap), p.topic, 2)
    _kcat(kcat, p, 0, "lz4", p0)
    _kcat(kcat, p, 1, "none", p1)

    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(SHIM, encoding="utf-8")
    path = os.environ.get("PYTHONPATH")
    p.extra_env["PYTHONPATH"] = f"{shim}{os.pathsep}{path}" if path else str(shim)
    worker = p.start("worker", log="worker-shim.log")
    del p.extra_env["PYTHONPATH"]  # the worker only: not the exporter nor ioc kpi

    p.wait_counted(n1)  # partition 1 goes on
    _wait("the stall note in Redis", lambda: _stall_note(p))
    note = _stall_note(p)
    assert note[b"stalled"] == b"0"
    assert b"lz4" in note[b"stalled_reason"]
    time.sleep(2.0)
    assert worker.poll() is None, "the worker died on an undecodable batch"
    assert p.counted() == n1, "partition 0 was consumed past the undecodable batch"
    text = (tmp_path / "worker-shim.log").read_text(errors="replace")
    stalls = [line for line in text.splitlines() if "stalled at offset" in line]
    assert stalls, text[-3000:]
    assert f"partition {p.topic}[0] stalled at offset 0" in stalls[0]
    assert "UnsupportedCodecError" in stalls[0] and "lz4" in stalls[0]
    assert "Traceback" not in text, text[-3000:]
    scraped = p.scrape_event_clock()
    assert f'{STALLED}{{partition="0"}} 1.0' in scraped.splitlines()
    assert f'{STALLED}{{partition="1"}}' not in scraped

    stop(worker)
    assert worker.returncode != 70, (tmp_path / "worker-shim.log").read_text(errors="replace")
    p.start("worker", log="worker.log")  # the codec is there again
    p.wait_counted(n0 + n1)
    _wait("the stall note cleared", lambda: not _stall_note(p), timeout=30)
    got = p.scrape_event_clock()
    assert STALLED + "{" not in got  # present only while a partition is stalled
    expected = samples(
        p.run("kpi", str(log), "--format", "prometheus", "--clock", "event").stdout.decode()
    )
    assert any(x.startswith("ioc_window_dossiers_received{") for x in expected)
    assert samples(got) == expected

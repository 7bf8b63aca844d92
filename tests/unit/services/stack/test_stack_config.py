"""Generated configuration of the local stack (no services needed)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml

from ioc_monitor.config import StackSettings
from ioc_monitor.errors import StackError
from services.stack.config import (
    StackLayout,
    deploy_dir,
    prometheus_port_map,
    render_prometheus_config,
    render_redis_conf,
    retarget,
)
from services.stack.kafka import (
    kafka_argv,
    kafka_major,
    new_cluster_id,
    render_log_config,
    render_pom,
    render_server_properties,
)


def _props(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if line and line[0] != "#")
    return {k: v for k, v in pairs}


def _settings(tmp_path: Path, **overrides: object) -> StackSettings:
    values: dict[str, object] = {
        "dir": tmp_path / "stack",
        "kafka_version": "4.1.1",
        "kafka_port": 29092,
        "kafka_controller_port": 29095,
        "redis_port": 26379,
        "prometheus_port": 29090,
        "alertmanager_port": 29093,
    }
    values.update(overrides)
    return StackSettings.model_validate(values)


def test_server_properties_single_node_kraft(tmp_path: Path) -> None:
    data = tmp_path / "data"
    props = _props(render_server_properties(_settings(tmp_path), data))
    assert props["process.roles"] == "broker,controller"
    assert props["node.id"] == "1"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:29092,CONTROLLER://127.0.0.1:29095"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:29092"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:29095"
    assert props["controller.listener.names"] == "CONTROLLER"
    assert props["log.dirs"] == str(data)
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["transaction.state.log.replication.factor"] == "1"
    assert props["transaction.state.log.min.isr"] == "1"
    assert props["num.partitions"] == "3"
    assert props["auto.create.topics.enable"] == "true"
    assert props["group.initial.rebalance.delay.ms"] == "0"
    assert props["share.coordinator.state.topic.replication.factor"] == "1"


def test_server_properties_kafka3_has_no_share_coordinator(tmp_path: Path) -> None:
    text = render_server_properties(_settings(tmp_path, kafka_version="3.9.1"), tmp_path)
    assert "share.coordinator" not in text


@pytest.mark.parametrize(
    ("version", "binding", "file_name", "prop"),
    [
        ("4.1.1", "log4j-slf4j-impl", "log4j2.properties", "log4j2.configurationFile"),
        ("3.9.1", "slf4j-reload4j", "log4j.properties", "log4j.configuration"),
    ],
)
def test_pom_and_logging_follow_major_version(
    version: str, binding: str, file_name: str, prop: str
) -> None:
    pom = render_pom(version)
    assert "<artifactId>kafka_2.13</artifactId>" in pom
    assert f"<version>{version}</version></dependency>" in pom
    assert f"<artifactId>{binding}</artifactId>" in pom
    name, system_property, text = render_log_config(version)
    assert (name, system_property) == (file_name, prop)
    assert "INFO" in text


def test_kafka_major_rejects_garbage() -> None:
    assert kafka_major("4.1.1") == 4
    with pytest.raises(StackError, match="IOC_STACK_KAFKA_VERSION"):
        kafka_major("latest")


def test_cluster_id_is_22_char_base64url_of_16_bytes() -> None:
    cid = new_cluster_id()
    assert len(cid) == 22
    assert len(base64.urlsafe_b64decode(cid + "==")) == 16
    assert new_cluster_id() != cid


def test_kafka_argv_runs_kafka_main(tmp_path: Path) -> None:
    argv = kafka_argv("/usr/bin/java", tmp_path, "-Dx=y")
    assert argv[0] == "/usr/bin/java"
    assert "-Xmx512m" in argv
    assert argv[-2:] == ["kafka.Kafka", str(tmp_path / "server.properties")]
    assert argv[argv.index("-cp") + 1] == str(tmp_path / "jars" / "*")


def test_redis_conf(tmp_path: Path) -> None:
    text = render_redis_conf(port=26379, data_dir=tmp_path)
    lines = set(text.splitlines())
    assert {"bind 127.0.0.1", "port 26379", "appendonly yes", "daemonize no"} <= lines
    assert f'dir "{tmp_path}"' in lines


def test_layout_is_absolute_under_settings_dir(tmp_path: Path) -> None:
    layout = StackLayout.from_settings(_settings(tmp_path))
    assert layout.root == (tmp_path / "stack").resolve()
    assert layout.pid("kafka") == layout.root / "run" / "kafka.pid"
    assert layout.log("redis") == layout.root / "logs" / "redis.log"
    assert layout.kafka_dir("4.1.1") == layout.root / "kafka" / "4.1.1"


def test_relative_stack_dir_resolves_against_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    layout = StackLayout.from_settings(_settings(tmp_path, dir=Path(".stack")))
    assert layout.root == tmp_path.resolve() / ".stack"


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("127.0.0.1:9464", "127.0.0.1:9999"),
        ("localhost:19093", "127.0.0.1:29093"),
        ("127.0.0.1:1234", "127.0.0.1:1234"),
        ("example.org:9464", "example.org:9464"),
        ("no-port", "no-port"),
    ],
)
def test_retarget(target: str, expected: str) -> None:
    assert retarget(target, {9464: 9999, 19093: 29093}) == expected


def test_repo_prometheus_config_gets_effective_ports(tmp_path: Path) -> None:
    source = deploy_dir() / "prometheus" / "prometheus.local.yml"
    port_map = prometheus_port_map(_settings(tmp_path), exporter_port=19464)
    doc = yaml.safe_load(render_prometheus_config(source, port_map))
    jobs = {job["job_name"]: job for job in doc["scrape_configs"]}
    assert jobs["ioc-exporter"]["static_configs"][0]["targets"] == ["127.0.0.1:19464"]
    assert jobs["ioc-exporter"]["scrape_interval"] == "5s"
    am_targets = doc["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert am_targets == ["127.0.0.1:29093"]
    rules_dir = deploy_dir() / "prometheus" / "rules"
    assert doc["rule_files"] == [str(rules_dir / "*.yml")]
    assert (rules_dir / "ioc-recording.yml").is_file()


def test_prometheus_config_must_be_a_mapping(tmp_path: Path) -> None:
    bad = tmp_path / "p.yml"
    bad.write_text("- just a list\n")
    with pytest.raises(StackError, match="not a YAML mapping"):
        render_prometheus_config(bad, {})

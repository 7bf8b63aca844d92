from __future__ import annotations

import subprocess

import pytest

from ioc_monitor.config import load
from ioc_monitor.errors import ConfigError
from services.harness import IOC
from services.wall.settings import WallSettings, parse_matchers


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("IOC_WALL_"):
            monkeypatch.delenv(name)


def test_defaults_are_the_local_stack_on_loopback() -> None:
    s = load(WallSettings)
    assert (s.host, s.port) == ("127.0.0.1", 9480)
    assert s.prometheus_url == "http://127.0.0.1:19090"
    assert s.alertmanager_url == "http://127.0.0.1:19093"
    assert (s.lang, s.kiosk, s.clock) == ("vi", False, "wall")
    assert (s.refresh_s, s.rotate_s, s.stall_after_s) == (5.0, 20.0, 900.0)
    assert s.hosts() == ["127.0.0.1", "::1", "[::1]", "localhost"]


def test_environment_overrides_and_is_frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOC_WALL_PORT", "9500")
    monkeypatch.setenv("IOC_WALL_KIOSK", "true")
    monkeypatch.setenv("IOC_WALL_PROMETHEUS_TOKEN", "s3cret")
    s = load(WallSettings)
    assert (s.port, s.kiosk) == (9500, True)
    assert "s3cret" not in repr(s)
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen-instance error
        s.port = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        ("IOC_WALL_PORT", "70000", "IOC_WALL_PORT: Input should be less than or equal to 65535"),
        ("IOC_WALL_PROMETHEUS_URL", "19090", "IOC_WALL_PROMETHEUS_URL: must be an http://"),
        ("IOC_WALL_HOST", "not a host", "IOC_WALL_HOST: 'not a host' is not a host name"),
        ("IOC_WALL_ALERT_FILTER", "feed=ioc", "IOC_WALL_ALERT_FILTER: must be matchers"),
        ("IOC_WALL_CLOCK", "sun", "IOC_WALL_CLOCK: Input should be 'wall' or 'event'"),
        (
            "IOC_WALL_REFRESH_S",
            "0",
            "IOC_WALL_REFRESH_S: Input should be greater than or equal to 1",
        ),
    ],
)
def test_an_invalid_value_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, reason: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as info:
        load(WallSettings)
    message = str(info.value)
    assert message.startswith("invalid WallSettings: ")
    assert reason in message
    assert "\n" not in message


def test_same_url_for_prometheus_and_alertmanager_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IOC_WALL_ALERTMANAGER_URL", "http://127.0.0.1:19090/")
    with pytest.raises(ConfigError, match="are the same"):
        load(WallSettings)


def test_allowed_hosts() -> None:
    assert WallSettings(host="0.0.0.0").hosts() == ["*"]
    assert WallSettings(allowed_hosts="wall.ioc.local, 10.0.0.5").hosts() == [
        "wall.ioc.local",
        "10.0.0.5",
    ]
    assert "ioc-wall" in WallSettings(host="ioc-wall").hosts()


def test_parse_matchers() -> None:
    assert parse_matchers("") == []
    assert parse_matchers(' feed="ioc", severity=~"page|ticket",unit!="x" ') == [
        'feed="ioc"',
        'severity=~"page|ticket"',
        'unit!="x"',
    ]
    assert parse_matchers(r'name="a \"quoted\" one"') == [r'name="a \"quoted\" one"']
    for bad in ('feed="ioc" x', "feed", 'feed="ioc",,x="y"', '1x="y"'):
        with pytest.raises(ValueError):
            parse_matchers(bad)


def test_the_command_stops_with_one_line_on_a_bad_setting(tmp_path: object) -> None:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("IOC_WALL_")}
    env["IOC_WALL_PORT"] = "0"
    done = subprocess.run([*IOC, "wall"], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines == [
        "ioc wall: error: invalid WallSettings: IOC_WALL_PORT: "
        "Input should be greater than or equal to 1"
    ]

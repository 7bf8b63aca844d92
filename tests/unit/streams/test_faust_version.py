"""The faust-streaming pin: checked at start-up, the same range as pyproject.toml."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from services.cli.main import main
from streams import faust_version
from streams.faust_version import (
    AIOKAFKA_SUPPORTED,
    SUPPORTED,
    FaustVersionError,
    check_aiokafka_version,
    check_faust_version,
)

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("version", ["0.15.3", "0.15.4", "0.15.10", "0.15.3.post1", "0.15.4rc1"])
def test_supported_versions_pass(version: str) -> None:
    assert check_faust_version(version) == version


@pytest.mark.parametrize(
    "version", ["0.16.0", "0.16.0rc1", "0.15.2", "0.15.3rc1", "0.15", "1.0.0", "0.9.9", "x"]
)
def test_other_versions_raise_naming_version_range_and_reason(version: str) -> None:
    with pytest.raises(FaustVersionError) as info:
        check_faust_version(version)
    message = str(info.value)
    assert f"faust-streaming {version} is installed" in message
    assert "faust-streaming>=0.15.3,<0.16" in message
    assert "fast_consumer.py copies a private Faust API" in message
    assert "\n" not in message


def test_the_installed_version_passes() -> None:
    check_faust_version()


def test_not_installed_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(faust_version, "installed_faust_version", lambda: None)
    with pytest.raises(FaustVersionError, match="faust-streaming is not installed"):
        check_faust_version()


def test_range_is_the_dependency_of_pyproject_and_holds_the_constraint() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert f"faust-streaming{SUPPORTED}" in project["project"]["dependencies"]
    pins = (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
    [pin] = [line for line in pins if line.startswith("faust-streaming==")]
    check_faust_version(pin.removeprefix("faust-streaming=="))


def test_ioc_worker_stops_with_one_line_before_building_the_app(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import streams.app

    def no_app(*_: object, **__: object) -> None:
        raise AssertionError("the app was built")

    monkeypatch.setattr(faust_version, "installed_faust_version", lambda: "0.16.0")
    monkeypatch.setattr(streams.app, "build_app", no_app)
    assert main(["worker"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("ioc worker: error: faust-streaming 0.16.0 is installed;")
    assert ">=0.15.3,<0.16" in err and "private Faust API" in err


# --- aiokafka: streams/fast_consumer.py also copies Fetcher.fetched_records -----------------


@pytest.mark.parametrize("version", ["0.14.0", "0.14", "0.14.3", "0.14.1rc1"])
def test_supported_aiokafka_versions_pass(version: str) -> None:
    assert check_aiokafka_version(version) == version


@pytest.mark.parametrize("version", ["0.15.0", "0.15.0rc1", "0.13.9", "0.14.0rc1", "1.0", "x"])
def test_other_aiokafka_versions_raise_naming_version_range_and_reason(version: str) -> None:
    with pytest.raises(FaustVersionError) as info:
        check_aiokafka_version(version)
    message = str(info.value)
    assert f"aiokafka {version} is installed" in message
    assert f"aiokafka{AIOKAFKA_SUPPORTED}" in message and AIOKAFKA_SUPPORTED == ">=0.14,<0.15"
    assert "private aiokafka API (Fetcher.fetched_records" in message
    assert "\n" not in message


def test_the_installed_faust_check_also_checks_aiokafka(monkeypatch: pytest.MonkeyPatch) -> None:
    check_aiokafka_version()  # the installed one passes
    monkeypatch.setattr(faust_version, "installed_aiokafka_version", lambda: "0.15.1")
    with pytest.raises(FaustVersionError, match=r"aiokafka 0\.15\.1 is installed"):
        check_faust_version()
    assert check_faust_version("0.15.3") == "0.15.3"  # an explicit Faust version: Faust only


def test_aiokafka_constraint_is_within_the_supported_range() -> None:
    pins = (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
    [pin] = [line for line in pins if line.startswith("aiokafka==")]
    check_aiokafka_version(pin.removeprefix("aiokafka=="))

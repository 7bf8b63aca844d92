"""Every ``ioc`` command reads the unit registry the same way, and the CLI table is complete.

``--units FILE`` wins, else ``IOC_UNITS_FILE``, else the bundled Quảng Ninh registry
(EVENTS.md, "Unit registry"). The custom registries here have ids that the bundled one
does not (``zz-*``, ``yy-*``), so a command that silently fell back to the bundled file
would show ``qn-*`` units, or reject every event as ``unknown_unit``.

Expected figures are worked out by hand from KPIS.md in the comments of :data:`LOG`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

import services.board
import services.demo
import services.exporter
import services.stack.control
from ioc_monitor.registry import UnitRegistry
from services.cli import args as cli_args
from services.cli.main import COMMANDS, build_parser, main

UNITS_YAML = """\
units:
  - id: zz-centre
    name: Trung tâm thử nghiệm tỉnh
    level: province
    on_time_target: 0.99
    supervisor: zz-boss
  - id: zz-c-alpha
    name: Trung tâm thử nghiệm xã Alpha
    level: commune
    on_time_target: 0.9
    online_target: 0.6
    supervisor: zz-sup
  - id: zz-c-beta
    name: Trung tâm thử nghiệm xã Beta
    level: commune
    on_time_target: 0.8
"""
CUSTOM_IDS = ["zz-centre", "zz-c-alpha", "zz-c-beta"]
#: A second registry, given with ``--units`` to show that it wins over the environment.
OTHER_YAML = """\
units:
  - id: zz-c-alpha
    name: Trung tâm thử nghiệm xã Alpha
    level: commune
    on_time_target: 0.9
"""
SOLO_YAML = """\
units:
  - id: yy-solo
    name: Trung tâm thử nghiệm xã Solo
    level: commune
    on_time_target: 0.95
    supervisor: yy-sup
"""
BUNDLED_UNIT = "qn-ttpvhcc"
REPO = Path(__file__).resolve().parents[4]

_A = {"received_at": "2025-07-10T08:00:00+07:00", "due_at": "2025-07-12T17:00:00+07:00"}
_B = {"received_at": "2025-07-10T09:00:00+07:00", "due_at": "2025-07-10T17:00:00+07:00"}
_ONLINE = {"channel": "online", "online_mode": "full"}
#: Events in file order. Under the custom registry:
#: - A (alpha): received online/full 07-10 08:00, due 07-12 17:00, returned 07-11 10:00:
#:   end date 07-11 before due date 07-12, so ``early``;
#: - B (alpha): received in person (default channel) 07-10 09:00, due 17:00, decided
#:   18:00 after the due time, so ``late``; its ``b1`` comes twice: one duplicate;
#: - C (centre): received by post 07-10 10:00, due 07-15: in progress, not overdue;
#: - D (beta): refused 07-10 11:00;
#: - Q names the bundled unit qn-ttpvhcc: ``unknown_unit``.
#: Accepted: a1 b1 c1 d1 b2 a2 = 6; the watermark T is a2's 2025-07-11T10:00+07:00 =
#: 03:00Z: 1735689600 (2025-01-01Z) + 191 days x 86400 + 3 x 3600 = 1752202800.
LOG: list[dict[str, Any]] = [
    {"event_id": "a1", "dossier_id": "A", "unit_id": "zz-c-alpha", "status": "received",
     "occurred_at": "2025-07-10T08:00:00+07:00", **_A, **_ONLINE},
    {"event_id": "b1", "dossier_id": "B", "unit_id": "zz-c-alpha", "status": "received",
     "occurred_at": "2025-07-10T09:00:00+07:00", **_B},
    {"event_id": "c1", "dossier_id": "C", "unit_id": "zz-centre", "status": "received",
     "occurred_at": "2025-07-10T10:00:00+07:00", "received_at": "2025-07-10T10:00:00+07:00",
     "due_at": "2025-07-15T17:00:00+07:00", "channel": "postal"},
    {"event_id": "d1", "dossier_id": "D", "unit_id": "zz-c-beta", "status": "refused",
     "occurred_at": "2025-07-10T11:00:00+07:00"},
    {"event_id": "q1", "dossier_id": "Q", "unit_id": BUNDLED_UNIT, "status": "submitted",
     "occurred_at": "2025-07-10T12:00:00+07:00"},
    {"event_id": "b2", "dossier_id": "B", "unit_id": "zz-c-alpha", "status": "decided",
     "occurred_at": "2025-07-10T18:00:00+07:00", **_B},
    {"event_id": "b1", "dossier_id": "B", "unit_id": "zz-c-alpha", "status": "received",
     "occurred_at": "2025-07-10T09:00:00+07:00", **_B},
    {"event_id": "a2", "dossier_id": "A", "unit_id": "zz-c-alpha", "status": "returned",
     "occurred_at": "2025-07-11T10:00:00+07:00", **_A, **_ONLINE},
]  # fmt: skip
WATERMARK = 1752202800.0
COMMAND_NAMES = (
    "kpi",
    "stack",
    "worker",
    "exporter",
    "demo",
    "rules",
    "dashboards",
    "simulate",
    "replay",
    "recover",
)


# --- fixtures and helpers ----------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_units_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts without ``IOC_UNITS_FILE`` and sets it itself."""
    monkeypatch.delenv("IOC_UNITS_FILE", raising=False)


@pytest.fixture
def units(tmp_path: Path) -> Path:
    path = tmp_path / "custom-units.yaml"
    path.write_text(UNITS_YAML, encoding="utf-8")
    return path


@pytest.fixture
def units_env(units: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The custom registry, named by ``IOC_UNITS_FILE`` only."""
    monkeypatch.setenv("IOC_UNITS_FILE", str(units))
    return units


@pytest.fixture
def other(tmp_path: Path) -> Path:
    path = tmp_path / "other-units.yaml"
    path.write_text(OTHER_YAML, encoding="utf-8")
    return path


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in LOG), encoding="utf-8")
    return path


def _ids(registry: UnitRegistry) -> list[str]:
    return [unit.id for unit in registry]


def _exposition(capsys: pytest.CaptureFixture[str], argv: Sequence[str]) -> dict[str, float]:
    """Run ``ioc`` and parse its Prometheus text: ``name{labels}`` → value."""
    assert main(argv) == 0
    series: dict[str, float] = {}
    for line in capsys.readouterr().out.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            series[name] = float(value)
    return series


def _units_of(series: Mapping[str, float]) -> set[str]:
    return {part.split('"')[1] for name in series for part in name.split(",") if 'unit="' in part}


def _s(name: str, **labels: str) -> str:
    """Series key as the exposition writes it: labels in name order."""
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}" if inner else name


# --- ioc kpi -------------------------------------------------------------------------------


def test_kpi_uses_the_env_registry(
    units_env: Path, log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    got = _exposition(capsys, ["kpi", str(log), "--format", "prometheus"])
    assert _units_of(got) == set(CUSTOM_IDS)
    assert not [name for name in got if "qn-" in name]
    alpha = {"unit": "zz-c-alpha", "level": "commune"}
    centre = {"unit": "zz-centre", "level": "province"}
    expected = {
        _s("ioc_events_processed_total"): 6.0,
        _s("ioc_events_duplicate_total"): 1.0,
        _s("ioc_events_rejected_total", reason="unknown_unit"): 1.0,
        _s("ioc_event_watermark_timestamp_seconds"): WATERMARK,
        _s("ioc_dossiers_received_total", **alpha, channel="online_full"): 1.0,
        _s("ioc_dossiers_received_total", **alpha, channel="in_person"): 1.0,
        _s("ioc_dossiers_received_total", **alpha, channel="online_partial"): 0.0,
        _s("ioc_dossiers_received_total", **alpha, channel="postal"): 0.0,
        _s("ioc_dossiers_received_total", **centre, channel="postal"): 1.0,
        _s("ioc_dossiers_completed_total", **alpha, timeliness="early"): 1.0,
        _s("ioc_dossiers_completed_total", **alpha, timeliness="on_time"): 0.0,
        _s("ioc_dossiers_completed_total", **alpha, timeliness="late"): 1.0,
        _s("ioc_dossiers_refused_total", unit="zz-c-beta", level="commune"): 1.0,
        _s("ioc_dossiers_in_progress", **centre): 1.0,
        # 1h = (07-11 09:00, 10:00]: A only; 24h = (07-10 10:00, 07-11 10:00]: A and B.
        _s("ioc_on_time_ratio", **alpha, window="1h"): 1.0,
        _s("ioc_on_time_ratio", **alpha, window="24h"): 0.5,
        _s("ioc_on_time_ratio", **alpha, window="today"): 1.0,
        # 7d holds both receipts of alpha (one online) and C's (by post).
        _s("ioc_online_ratio", **alpha, window="7d"): 0.5,
        _s("ioc_online_ratio", **centre, window="7d"): 0.0,
    }
    assert {k: got.get(k) for k in expected} == expected
    # the registry's names and targets, for every unit of it (METRICS.md v2)
    assert got[_s("ioc_unit_target_ratio", **centre, kpi="on_time")] == 0.99
    assert got[_s("ioc_unit_target_ratio", **alpha, kpi="on_time")] == 0.9
    assert got[_s("ioc_unit_target_ratio", unit="zz-c-beta", level="commune", kpi="on_time")] == 0.8
    # Every receipt is at or before 07-10 10:00, outside 24h: no online ratio at all.
    assert _s("ioc_online_ratio", **alpha, window="24h") not in got
    assert _s("ioc_online_ratio", **centre, window="24h") not in got


def test_kpi_units_flag_wins_over_the_env(
    units_env: Path, other: Path, log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only alpha is known: c1, d1 and q1 are unknown units; a1 b1 b2 a2 are processed."""
    got = _exposition(capsys, ["kpi", str(log), "--units", str(other), "--format", "prometheus"])
    assert _units_of(got) == {"zz-c-alpha"}
    assert got[_s("ioc_events_processed_total")] == 4.0
    assert got[_s("ioc_events_rejected_total", reason="unknown_unit")] == 3.0
    assert got[_s("ioc_events_duplicate_total")] == 1.0


def test_kpi_without_env_uses_the_bundled_registry(
    log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The control: only q1 (qn-ttpvhcc) is known; the 7 others are unknown units."""
    got = _exposition(capsys, ["kpi", str(log), "--format", "prometheus"])
    assert got[_s("ioc_events_processed_total")] == 1.0
    assert got[_s("ioc_events_rejected_total", reason="unknown_unit")] == 7.0
    assert not _units_of(got) & set(CUSTOM_IDS)
    assert BUNDLED_UNIT in _units_of(got)


def test_kpi_with_a_missing_env_file_fails_in_one_line(
    tmp_path: Path, log: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no-such-units.yaml"
    monkeypatch.setenv("IOC_UNITS_FILE", str(missing))
    assert main(["kpi", str(log)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ioc kpi: error:") and str(missing) in err
    assert err.count("\n") == 1


# --- ioc simulate ----------------------------------------------------------------------------


def _simulated_units(tmp_path: Path, *extra: str) -> set[str]:
    out = tmp_path / "sim.jsonl"
    argv = ["simulate", "--seed", "7", "--dossiers", "40", "--out", str(out), *extra]
    assert main(argv) == 0
    events = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert events
    return {e["unit_id"] for e in events}


def test_simulate_makes_events_only_for_the_env_units(units_env: Path, tmp_path: Path) -> None:
    got = _simulated_units(tmp_path)
    assert got and got <= set(CUSTOM_IDS)


def test_simulate_units_flag_wins_over_the_env(units_env: Path, tmp_path: Path) -> None:
    solo = tmp_path / "solo.yaml"
    solo.write_text(SOLO_YAML, encoding="utf-8")
    assert _simulated_units(tmp_path, "--units", str(solo)) == {"yy-solo"}


# --- ioc rules generate ------------------------------------------------------------------------


def _generated(out: Path) -> tuple[dict[str, Any], dict[str, Any], str]:
    """(recording rules, Alertmanager config, all generated text) under ``out``."""
    recording = out / "prometheus" / "rules" / "ioc-recording.yml"
    alertmanager = out / "alertmanager" / "alertmanager.yml"
    text = "".join(p.read_text(encoding="utf-8") for p in sorted(out.rglob("*.yml")))
    return yaml.safe_load(recording.read_text()), yaml.safe_load(alertmanager.read_text()), text


def _supervisor_matchers(config: Mapping[str, Any]) -> list[str]:
    return sorted(m for r in config["route"]["routes"] for m in r.get("matchers", []))


def test_rules_generate_names_the_env_units(units_env: Path, tmp_path: Path) -> None:
    out = tmp_path / "deploy"
    assert main(["rules", "generate", "--out-dir", str(out)]) == 0
    recording, alertmanager, text = _generated(out)
    # targets are the exporter's ioc_unit_target_ratio series now: no rule names a unit
    assert "zz-" not in yaml.safe_dump(recording)
    assert 'supervisor="zz-boss"' in _supervisor_matchers(alertmanager)
    assert 'supervisor="zz-sup"' in _supervisor_matchers(alertmanager)
    assert "qn-" not in text and "sup-ha-long" not in text


def test_rules_generate_units_flag_wins_over_the_env(units_env: Path, tmp_path: Path) -> None:
    solo = tmp_path / "solo.yaml"
    solo.write_text(SOLO_YAML, encoding="utf-8")
    out = tmp_path / "deploy"
    assert main(["rules", "generate", "--units", str(solo), "--out-dir", str(out)]) == 0
    _, alertmanager, text = _generated(out)
    assert 'supervisor="yy-sup"' in _supervisor_matchers(alertmanager)
    assert "zz-" not in text


# --- ioc demo ------------------------------------------------------------------------------------


class _RunDemo:
    """Stands in for :func:`services.demo.run_demo`, recording its arguments."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.options: list[dict[str, Any]] = []

    def __call__(self, *args: Any, **options: Any) -> int:
        self.calls.append(args)
        self.options.append(options)
        return 0


def test_demo_passes_the_env_registry_to_run_demo(
    units_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = _RunDemo()
    monkeypatch.setattr(services.demo, "run_demo", fake)
    assert main(["demo", "--duration", "5", "--window", "7d"]) == 0
    ((speedup, rate, duration, window, registry, units_path),) = fake.calls
    assert (speedup, rate, duration, window) == (3600.0, 2000.0, 5.0, "7d")
    assert _ids(registry) == CUSTOM_IDS
    assert units_path == units_env


def test_demo_units_flag_wins_over_the_env(
    units_env: Path, other: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = _RunDemo()
    monkeypatch.setattr(services.demo, "run_demo", fake)
    assert main(["demo", "--units", str(other)]) == 0
    ((*_, registry, units_path),) = fake.calls
    assert _ids(registry) == ["zz-c-alpha"]
    assert units_path == other
    assert fake.options == [{"slip": (), "slip_after": "1d"}]  # qn- units are not in it


def test_demo_slips_two_bundled_units_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IOC_UNITS_FILE", raising=False)
    fake = _RunDemo()
    monkeypatch.setattr(services.demo, "run_demo", fake)
    assert main(["demo"]) == 0
    assert fake.options == [{"slip": ("qn-c-hong-gai", "qn-c-mong-cai-1"), "slip_after": "1d"}]
    fake.options.clear()
    assert main(["demo", "--slip", "", "--slip-after", "2d"]) == 0
    assert fake.options == [{"slip": (), "slip_after": "2d"}]


class _Proc:
    """What :func:`services.demo.run_demo` needs of a started process."""

    def poll(self) -> int:
        return 0


@pytest.fixture
def demo_spawns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, Mapping[str, str] | None], list[UnitRegistry]]:
    """Run the real run_demo with our own stack start-up, spawning and board replaced.

    Returns:
        (log name → environment of each process started, registries the board showed).
    """
    spawned: dict[str, Mapping[str, str] | None] = {}
    boards: list[UnitRegistry] = []

    def spawn(argv: Sequence[str], log: Path, env: Mapping[str, str] | None = None) -> _Proc:
        spawned[log.name] = env
        return _Proc()

    def run_board(url: str, units: UnitRegistry, **_: object) -> None:
        boards.append(units)

    monkeypatch.setenv("IOC_STACK_DIR", str(tmp_path / "stack"))
    monkeypatch.setattr(services.stack.control, "ensure_up", lambda settings: [])
    monkeypatch.setattr(services.board, "run_board", run_board)
    monkeypatch.setattr(services.demo, "spawn", spawn)
    monkeypatch.setattr(services.demo, "stop_all", lambda procs, **_: None)
    monkeypatch.setattr(services.demo, "time", SimpleNamespace(sleep=lambda _s: None))
    return spawned, boards


def _demo_files(spawned: Mapping[str, Mapping[str, str] | None]) -> dict[str, str | None]:
    assert sorted(spawned) == [
        "demo-exporter.log",
        "demo-simulator.log",
        "demo-wall.log",
        "demo-worker.log",
    ]
    return {name: (env or {}).get("IOC_UNITS_FILE") for name, env in spawned.items()}


def test_demo_hands_the_env_registry_to_the_board_and_every_sub_process(
    units: Path,
    demo_spawns: tuple[dict[str, Mapping[str, str] | None], list[UnitRegistry]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``IOC_UNITS_FILE`` relative to the working directory: the board shows its units and
    the worker, exporter and simulator get it as an absolute path (set by run_demo, not
    merely inherited)."""
    spawned, boards = demo_spawns
    monkeypatch.chdir(units.parent)
    monkeypatch.setenv("IOC_UNITS_FILE", units.name)
    assert main(["demo", "--duration", "1"]) == 0
    assert [_ids(b) for b in boards] == [CUSTOM_IDS]
    expected = str(units.resolve())
    assert _demo_files(spawned) == dict.fromkeys(spawned, expected)


def test_demo_hands_the_units_flag_to_every_sub_process(
    units_env: Path,
    other: Path,
    demo_spawns: tuple[dict[str, Mapping[str, str] | None], list[UnitRegistry]],
) -> None:
    spawned, boards = demo_spawns
    assert main(["demo", "--duration", "1", "--units", str(other)]) == 0
    assert [_ids(b) for b in boards] == [["zz-c-alpha"]]
    assert _demo_files(spawned) == dict.fromkeys(spawned, str(other.resolve()))


# --- ioc worker / ioc exporter -------------------------------------------------------------------


@pytest.mark.parametrize("command", ["worker", "exporter"])
def test_worker_and_exporter_resolve_the_env_registry(
    command: str, units_env: Path, other: Path
) -> None:
    parsed = build_parser().parse_args([command])
    assert parsed.units is None
    assert cli_args.units_file(parsed.units) == units_env
    assert _ids(cli_args.load_units(parsed.units)) == CUSTOM_IDS
    given = build_parser().parse_args([command, "--units", str(other)])
    assert given.units == other
    assert _ids(cli_args.load_units(given.units)) == ["zz-c-alpha"]


@pytest.mark.parametrize("command", ["worker", "exporter"])
def test_worker_and_exporter_default_to_the_bundled_registry(command: str) -> None:
    parsed = build_parser().parse_args([command])
    assert cli_args.units_file(parsed.units) is None
    registry = cli_args.load_units(parsed.units)
    assert BUNDLED_UNIT in registry and not registry.ids & set(CUSTOM_IDS)


def test_exporter_serves_the_env_registry(
    units_env: Path, other: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[UnitRegistry] = []
    monkeypatch.setattr(
        services.exporter, "serve", lambda settings, redis, units: served.append(units)
    )
    assert main(["exporter", "--port", "1"]) == 0
    assert main(["exporter", "--port", "1", "--units", str(other)]) == 0
    assert [_ids(u) for u in served] == [CUSTOM_IDS, ["zz-c-alpha"]]


# --- the CLI table and the number types ------------------------------------------------------


def _sub_commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The sub-command parsers of ``parser`` (empty for a leaf)."""
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.update(action.choices)
    return found


def _leaves(name: str, parser: argparse.ArgumentParser) -> list[tuple[str, Any]]:
    """(``ioc ...`` command line, its ``func``) of every leaf under ``parser``."""
    children = _sub_commands(parser)
    if not children:
        return [(name, parser.get_default("func"))]
    return [leaf for child, p in children.items() for leaf in _leaves(f"{name} {child}", p)]


def test_every_command_of_the_table_is_registered_and_runnable() -> None:
    top = _sub_commands(build_parser())
    names = [command.name for command in COMMANDS]
    assert list(top) == names, "the parser holds exactly the table's commands, in its order"
    assert len({command.module for command in COMMANDS}) == len(COMMANDS)
    for name in names:
        leaves = _leaves(f"ioc {name}", top[name])
        assert leaves, name
        for line, func in leaves:
            assert callable(func), f"`{line}` has no func"


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    choices = {w for w in out.split() if w.startswith("{kpi,")}  # usage line and section
    assert choices, out
    for word in choices:
        assert set(COMMAND_NAMES) <= set(word.strip("{}").split(","))
    listed = {line.split()[0] for line in out.splitlines() if line.startswith("    ")}
    assert set(COMMAND_NAMES) <= listed


def test_help_runs_as_a_process() -> None:
    """``python -m services.cli --help`` (what ``ioc`` runs) lists the commands too."""
    from services.harness import IOC

    done = subprocess.run([*IOC, "--help"], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stderr
    for name in COMMAND_NAMES:
        assert f"    {name}" in done.stdout, name


@pytest.mark.parametrize(("text", "value"), [("1", 1), ("42", 42), (" 7 ", 7)])
def test_positive_int_accepts(text: str, value: int) -> None:
    assert cli_args.positive_int(text) == value


@pytest.mark.parametrize("text", ["0", "-3", "x", "1.5", ""])
def test_positive_int_rejects(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        cli_args.positive_int(text)


@pytest.mark.parametrize(("text", "value"), [("0.5", 0.5), ("3", 3.0), ("1e3", 1000.0)])
def test_positive_float_accepts(text: str, value: float) -> None:
    assert cli_args.positive_float(text) == value


@pytest.mark.parametrize("text", ["0", "-0.1", "x", "nan"])
def test_positive_float_rejects(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        cli_args.positive_float(text)


@pytest.mark.parametrize(("text", "value"), [("0", 0.0), ("2.5", 2.5)])
def test_non_negative_float_accepts(text: str, value: float) -> None:
    assert cli_args.non_negative_float(text) == value


@pytest.mark.parametrize("text", ["-0.1", "x", "nan"])
def test_non_negative_float_rejects(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        cli_args.non_negative_float(text)


@pytest.mark.parametrize(("text", "value"), [("0", 0.0), ("0.25", 0.25), ("1", 1.0)])
def test_share_accepts(text: str, value: float) -> None:
    assert cli_args.share(text) == value


@pytest.mark.parametrize("text", ["1.5", "-0.1", "x", "nan"])
def test_share_rejects(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        cli_args.share(text)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["simulate", "--dossiers", "0"], "must be >= 1, got 0"),
        (["simulate", "--noise", "1.5"], "must be between 0 and 1, got 1.5"),
        (["demo", "--rate", "x"], "not a number: 'x'"),
    ],
)
def test_number_types_are_usage_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err

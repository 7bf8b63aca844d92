"""``ioc simulate --slip / --slip-after``: parsed, checked, and the same as the library."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from ioc_monitor.registry import load_registry
from services.cli.main import main
from services.simulate.feed import SimConfig, generate_lines


def test_slip_options_give_the_library_stream(tmp_path: Path) -> None:
    out = tmp_path / "slip.jsonl"
    args = ["simulate", "--dossiers", "300", "--seed", "6", "--out", str(out)]
    assert main([*args, "--slip", "qn-c-hong-gai, qn-ttpvhcc", "--slip-after", "2h"]) == 0
    cfg = SimConfig(seed=6, dossiers=300, slip=("qn-c-hong-gai", "qn-ttpvhcc"), slip_after=7200)
    expected = list(generate_lines(load_registry(), cfg))
    lines = out.read_bytes().splitlines()
    assert lines == expected
    assert all(isinstance(orjson.loads(line), dict) for line in lines)
    assert main([*args, "--slip-after", "7200"]) == 0  # without --slip: a healthy stream
    assert out.read_bytes().splitlines() == list(
        generate_lines(load_registry(), SimConfig(seed=6, dossiers=300))
    )


@pytest.mark.parametrize(
    ("slip", "message"),
    [("qn-nowhere", "unknown unit"), ("qn-d-ha-long", "level not simulated")],
)
def test_slip_of_a_unit_not_simulated_is_refused(
    slip: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", "--dossiers", "5", "--slip", slip]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("value", ["2x", "-5", "nan", "inf"])
def test_bad_slip_after_is_a_usage_error(value: str) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["simulate", "--dossiers", "5", f"--slip-after={value}"])
    assert exc.value.code == 2


def test_help_documents_the_slip_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["simulate", "--help"])
    text = capsys.readouterr().out
    assert "--slip UNIT_ID[,UNIT_ID...]" in text and "--slip-after SECONDS" in text
    assert "(default 0)" in text

"""The house rules of the layout: rooms in services/, a core that imports nothing above it."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("ioc_monitor", "streams", "services")
ROOMS = ("services.cli", "services.stack", "services.ops", "services.bench", "services.simulate")
MAX_LINES = 500


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", _modules("ioc_monitor"), ids=lambda p: p.name)
def test_core_imports_neither_services_nor_streams(path: Path) -> None:
    above = {n for n in _imported(path) if n.split(".")[0] in ("services", "streams")}
    assert not above, f"{path.relative_to(ROOT)} imports {sorted(above)}"


@pytest.mark.parametrize(
    "path", [p for pkg in PACKAGES for p in _modules(pkg)], ids=lambda p: str(p.relative_to(ROOT))
)
def test_modules_stay_under_500_lines(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines"


@pytest.mark.parametrize("room", ROOMS)
def test_each_room_is_a_package_with_a_one_line_docstring(room: str) -> None:
    module = importlib.import_module(room)
    doc = module.__doc__ or ""
    assert doc.strip(), f"{room} has no docstring"
    assert len(doc.strip().splitlines()) == 1, f"{room}: docstring is not one line"


def test_no_flat_cli_modules_left() -> None:
    flat = sorted(p.name for p in (ROOT / "services").glob("cli_*.py"))
    flat += sorted(p.name for p in (ROOT / "streams").glob("cli_*.py"))
    flat += sorted(p.name for p in (ROOT / "ioc_monitor").glob("cli*.py"))
    assert flat == []

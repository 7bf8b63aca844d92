"""The project installs what the wall's browser tests need (chromium, Noto fonts)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from services.stack import control as stack
from services.stack.config import StackLayout

REPO = Path(__file__).resolve().parents[4]


def test_stack_up_installs_chromium_and_the_noto_fonts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert {"chromium", stack.NOTO_FONT} <= set(stack.TOOLS)
    calls: list[list[str]] = []
    installed: set[str] = set()

    def which(name: str) -> str | None:
        if name == "apt-get":
            return "/usr/bin/apt-get"
        return f"/usr/bin/{name}" if name in installed else None

    def run_apt(argv: list[str], apt_log: Path) -> None:
        calls.append(list(argv))
        if "install" in argv:
            installed.update(argv[argv.index("--no-install-recommends") + 1 :])

    font = tmp_path / "NotoSans-Regular.ttf"  # absent: a file, not an executable
    monkeypatch.setitem(stack._PACKAGES, str(font), "fonts-noto-core")
    monkeypatch.setattr(stack, "_which", which)
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(stack, "_run_apt", lambda argv, log: (run_apt(argv, log), font.touch()))
    stack._ensure_executables(["chromium", str(font)], StackLayout(tmp_path))
    assert calls[-1][-2:] == ["chromium", "fonts-noto-core"]


def test_ci_installs_them_too() -> None:
    text = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "apt_install chromium" in text
    assert "apt_install fonts-noto-core" in text
    assert "playwright install" not in text


def test_the_static_files_are_package_data() -> None:
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    for pattern in ("static/js/*.js", "static/js/pages/*.js", "static/vendor/uplot/*"):
        assert f'"{pattern}"' in pyproject
    static = REPO / "services" / "wall" / "static"
    assert (static / "vendor" / "uplot" / "LICENSE").read_text().startswith("The MIT License")
    for js in static.rglob("*.js"):
        if "vendor" not in js.parts:
            code = js.read_text(encoding="utf-8")
            assert not re.search(r"\.(inner|outer)HTML|insertAdjacentHTML|document\.write", code)

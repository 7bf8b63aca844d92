"""Tests of the unit registry: the bundled Quảng Ninh file, parsing and error messages."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from ioc_monitor.errors import ConfigError, RegistryError
from ioc_monitor.registry import (
    DEFAULT_ON_TIME_TARGETS,
    DEFAULT_ONLINE_TARGET,
    LEVELS,
    Unit,
    UnitRegistry,
    load_registry,
    parse_registry,
)

# One valid entry on lines 2-4; the entry under test starts on line 5.
HEAD = "units:\n  - id: qn-a\n    name: A\n    level: commune\n"


def raises_at(text: str, line: int, *parts: str, source: str = "units.yaml") -> str:
    with pytest.raises(RegistryError) as info:
        parse_registry(text, source)
    message = str(info.value)
    assert message.startswith(f"{source}:{line}: "), message
    for part in parts:
        assert part in message, message
    return message


# ---------------------------------------------------------------- bundled file


@pytest.fixture(scope="module")
def bundled() -> UnitRegistry:
    return load_registry()


def test_bundled_counts_per_level(bundled: UnitRegistry) -> None:
    counts = Counter(unit.level for unit in bundled)
    assert counts == {"province": 1, "commune": 54, "district": 14}
    assert len(bundled) == 69
    assert len(bundled.ids) == 69


def test_bundled_province_centre(bundled: UnitRegistry) -> None:
    centre = bundled.get("qn-ttpvhcc")
    assert centre is not None
    assert centre.level == "province"
    assert centre.name == "Trung tâm Phục vụ hành chính công tỉnh Quảng Ninh"
    assert centre.supervisor == "qn-centre"
    assert next(iter(bundled)) is centre  # file order


@pytest.mark.parametrize(
    ("level", "target"), [("province", 0.999), ("district", 0.969), ("commune", 0.95)]
)
def test_bundled_level_defaults(bundled: UnitRegistry, level: str, target: float) -> None:
    units = [unit for unit in bundled if unit.level == level]
    assert units
    assert all(unit.on_time_target == target for unit in units)
    assert all(unit.online_target == DEFAULT_ONLINE_TARGET for unit in units)


@pytest.mark.parametrize(
    "unit_id",
    [
        "qn-c-hong-gai",
        "qn-c-mong-cai-1",
        "qn-c-van-don",
        "qn-c-co-to",
        "qn-c-cai-chien",
        "qn-d-ha-long",
        "qn-d-hoanh-bo",
    ],
)
def test_bundled_known_units(bundled: UnitRegistry, unit_id: str) -> None:
    assert unit_id in bundled


def test_bundled_ids_and_supervisors(bundled: UnitRegistry) -> None:
    for unit in bundled:
        assert re.fullmatch(r"qn-ttpvhcc|qn-c-[a-z0-9-]+|qn-d-[a-z0-9-]+", unit.id), unit.id
        assert unit.level == "province" or unit.id.startswith(f"qn-{unit.level[0]}-")
        assert unit.supervisor is not None
    supervisors = bundled.supervisors()
    assert supervisors["qn-centre"] == ["qn-ttpvhcc"]
    assert sum(len(ids) for ids in supervisors.values()) == 69
    special_zones = [u for u in bundled if "đặc khu" in u.name]
    assert sorted(u.id for u in special_zones) == ["qn-c-co-to", "qn-c-van-don"]


def test_bundled_commune_kinds(bundled: UnitRegistry) -> None:
    # Resolution 1679/NQ-UBTVQH15: 30 wards, 22 communes, 2 special zones.
    prefix = "Trung tâm Phục vụ hành chính công "
    kinds = Counter(
        unit.name.removeprefix(prefix).split(" ")[0] for unit in bundled if unit.level == "commune"
    )
    assert kinds == {"phường": 30, "xã": 22, "đặc": 2}


# ---------------------------------------------------------------- parsing


def test_parse_defaults_and_overrides() -> None:
    text = HEAD + (
        "  - id: qn-p\n"
        "    name: Province\n"
        "    level: province\n"
        "    on_time_target: 0.98\n"
        "    online_target: 1\n"
        "    supervisor: sup_p-1\n"
        "    illustrative: true\n"
        "  - id: qn-d\n"
        "    name: District\n"
        "    level: district\n"
        "    supervisor: null\n"
    )
    registry = parse_registry(text)
    a, p, d = registry
    assert a == Unit("qn-a", "A", "commune", 0.95, 0.85, None, False)
    assert p == Unit("qn-p", "Province", "province", 0.98, 1.0, "sup_p-1", True)
    assert d.on_time_target == DEFAULT_ON_TIME_TARGETS["district"] == 0.969
    assert d.supervisor is None
    assert [u.id for u in registry] == ["qn-a", "qn-p", "qn-d"]
    assert registry.ids == frozenset({"qn-a", "qn-p", "qn-d"})
    assert registry.supervisors() == {"sup_p-1": ["qn-p"]}
    assert registry.get("qn-x") is None
    assert "qn-p" in registry
    assert 5 not in registry
    assert isinstance(p.on_time_target, float) and isinstance(p.online_target, float)


def test_levels_constant() -> None:
    assert LEVELS == ("province", "district", "commune")


def test_example_message_exactly() -> None:
    text = (
        "units:\n"  # 1
        "  - {id: qn-a, name: A, level: commune}\n"  # 2
        "  - {id: qn-b, name: B, level: commune}\n"  # 3
        "  - {id: qn-c, name: C, level: commune}\n"  # 4
        "\n"  # 5
        "  # the bad one\n"  # 6
        "  - id: qn-x\n"  # 7
        "    name: X\n"  # 8
        "    supervisor: sup-x\n"  # 9
        "    online_target: 0.5\n"  # 10
        "    illustrative: false\n"  # 11
        "    level: city\n"  # 12
    )
    with pytest.raises(RegistryError) as info:
        parse_registry(text, "units.yaml")
    assert str(info.value) == (
        "units.yaml:12: units[3] (id 'qn-x'): field 'level': "
        "must be one of province, district, commune, got 'city'"
    )
    assert isinstance(info.value, ConfigError)


# ---------------------------------------------------------------- errors

ERROR_CASES = [
    # YAML syntax errors, with the line where the parser stopped.
    pytest.param(HEAD + "  - id: qn-b\n    name: [B\n", 7, ("invalid YAML",), id="yaml-syntax"),
    pytest.param(
        'units:\n  - id: qn-a\n    name: "A\n    level: commune\n',
        5,
        ("invalid YAML", "quoted scalar on line 3"),
        id="yaml-unterminated-quote",
    ),
    pytest.param("units:\n  - id: \x07\n", 2, ("invalid YAML", "#x0007"), id="yaml-bad-char"),
    pytest.param(
        HEAD + "---\nunits: []\n", 5, ("invalid YAML", "single document"), id="yaml-2-docs"
    ),
    # Top level.
    pytest.param("", 1, ("empty", "'units'"), id="empty"),
    pytest.param("# only a comment\n", 1, ("empty",), id="only-comment"),
    pytest.param("- a\n- b\n", 1, ("top level", "must be a mapping", "a list"), id="top-list"),
    pytest.param("\n\nhello\n", 3, ("top level", "a single value"), id="top-scalar"),
    pytest.param("{}\n", 1, ("field 'units'", "missing"), id="no-units"),
    pytest.param("\nunit:\n  - id: a\n", 2, ("field 'unit'", "unknown"), id="typo-units"),
    pytest.param(HEAD + "version: 2\n", 5, ("field 'version'", "unknown"), id="extra-top-key"),
    pytest.param("units:\n", 1, ("field 'units'", "non-empty list", "null"), id="units-null"),
    pytest.param("units: []\n", 1, ("field 'units'", "an empty list"), id="units-empty"),
    pytest.param("\nunits: qn-a\n", 2, ("field 'units'", "string 'qn-a'"), id="units-scalar"),
    pytest.param("units:\n  id: qn-a\n", 2, ("field 'units'", "a mapping"), id="units-mapping"),
    # Entries.
    pytest.param(HEAD + "  - qn-b\n", 5, ("units[1]", "must be a mapping"), id="entry-scalar"),
    pytest.param(HEAD + "  - [qn-b]\n", 5, ("units[1]", "a list"), id="entry-list"),
    pytest.param(
        HEAD + "  - name: B\n    level: commune\n",
        5,
        ("units[1]:", "field 'id'", "missing"),
        id="missing-id",
    ),
    pytest.param(
        HEAD + "  - id: qn-b\n    level: commune\n",
        5,
        ("units[1] (id 'qn-b')", "field 'name'", "missing"),
        id="missing-name",
    ),
    pytest.param(
        HEAD + "  - id: qn-b\n    name: B\n",
        5,
        ("units[1] (id 'qn-b')", "field 'level'", "missing"),
        id="missing-level",
    ),
    pytest.param(
        HEAD + "  - id: qn-b\n    name:\n    level: commune\n",
        6,
        ("field 'name'", "must be a string, got null"),
        id="name-null",
    ),
    pytest.param(
        HEAD + "  - id: qn-b\n    name: '  '\n    level: commune\n",
        6,
        ("field 'name'", "non-blank"),
        id="name-blank",
    ),
    pytest.param(
        HEAD + "  - id: qn-b\n    name: 5\n    level: commune\n",
        6,
        ("field 'name'", "must be a string, got int 5"),
        id="name-int",
    ),
    pytest.param(
        HEAD + "  - id: qn-b\n    name: [B]\n    level: commune\n",
        6,
        ("field 'name'", "must be a single value, got a list"),
        id="name-list",
    ),
    pytest.param(
        HEAD + "  - id: 12\n    name: B\n    level: commune\n",
        5,
        ("units[1]:", "field 'id'", "must be a string, got int 12"),
        id="id-int",
    ),
    pytest.param(
        HEAD + "  - id: QN_B\n    name: B\n    level: commune\n",
        5,
        ("units[1] (id 'QN_B')", "field 'id'", "a-z, 0-9 and '-'", "'QN_B'"),
        id="id-pattern",
    ),
    pytest.param(
        HEAD + "  - id: " + "a" * 65 + "\n    name: B\n    level: commune\n",
        5,
        ("field 'id'", "1 to 64"),
        id="id-too-long",
    ),
    pytest.param(
        HEAD + "  - id: ''\n    name: B\n    level: commune\n",
        5,
        ("field 'id'", "1 to 64"),
        id="id-empty",
    ),
    pytest.param(
        HEAD + "  - id: qn-b\n    name: B\n    level: 3\n",
        7,
        ("field 'level'", "must be one of province, district, commune, got int 3"),
        id="level-int",
    ),
    pytest.param(
        HEAD + "  - id: qn-b\n    name: B\n    level: commune\n    on_time_target: true\n",
        8,
        ("field 'on_time_target'", "must be a number, got bool true"),
        id="target-bool",
    ),
    pytest.param(
        HEAD + "  - id: qn-b\n    name: B\n    level: commune\n    on_time_target: '0.9'\n",
        8,
        ("field 'on_time_target'", "must be a number, got string '0.9'"),
        id="target-string",
    ),
    pytest.param(
        HEAD + "  - id: qn-b\n    name: B\n    level: commune\n    on_time_target: 0\n",
        8,
        ("field 'on_time_target'", "greater than 0 and at most 1", "got 0"),
        id="target-zero",
    ),
    pytest.param(
        HEAD + "  - id: qn-b\n    name: B\n    level: commune\n    on_time_target: 1.01\n",
        8,
        ("field 'on_time_target'", "at most 1", "1.01"),
        id="target-above-1",
    ),
    pytest.param(
        HEAD + "  - id: qn-b\n    name: B\n    level: commune\n    on_time_target: .nan\n",
        8,
        ("field 'on_time_target'", "at most 1"),
        id="target-nan",
    ),
    pytest.param(
        HEAD + "  - id: qn-b\n    name: B\n    level: commune\n    online_target: -0.5\n",
        8,
        ("field 'online_target'", "greater than 0", "-0.5"),
        id="online-negative",
    ),
    pytest.param(
        HEAD + "  - id: qn-b\n    name: B\n    level: commune\n    online_target: 95%\n",
        8,
        ("field 'online_target'", "must be a number, got string '95%'"),
        id="online-percent",
    ),
    pytest.param(
        HEAD + "  - id: qn-b\n    name: B\n    level: commune\n    supervisor: Sup B\n",
        8,
        ("field 'supervisor'", "'Sup B'"),
        id="supervisor-pattern",
    ),
    pytest.param(
        HEAD + "  - id: qn-b\n    name: B\n    level: commune\n    supervisor: 7\n",
        8,
        ("field 'supervisor'", "must be a string, got int 7"),
        id="supervisor-int",
    ),
    pytest.param(
        HEAD + "  - id: qn-b\n    name: B\n    level: commune\n    illustrative: 'no'\n",
        8,
        ("field 'illustrative'", "must be true or false, got string 'no'"),
        id="illustrative-string",
    ),
    pytest.param(
        HEAD + "  - id: qn-b\n    name: B\n    level: commune\n    illustrative: 1\n",
        8,
        ("field 'illustrative'", "got int 1"),
        id="illustrative-int",
    ),
    pytest.param(
        HEAD + "  - id: qn-b\n    name: B\n    level: commune\n    on_time_targe: 0.9\n",
        8,
        ("units[1] (id 'qn-b')", "field 'on_time_targe'", "unknown", "on_time_target"),
        id="unknown-key-typo",
    ),
    pytest.param(
        HEAD + "  - id: qn-b\n    name: B\n    name: C\n    level: commune\n",
        7,
        ("field 'name'", "repeated", "line 6"),
        id="repeated-key",
    ),
    pytest.param(
        HEAD + "  - id: qn-b\n    name: B\n    level: commune\n"
        "    supervisor: !!python/name:os.system\n",
        8,
        ("field 'supervisor'", "cannot be read"),
        id="unsafe-tag",
    ),
    pytest.param(
        HEAD + "\n  - id: qn-b\n    name: B\n    level: commune\n  - id: qn-a\n    name: A2\n"
        "    level: district\n",
        9,
        ("units[2] (id 'qn-a')", "field 'id'", "duplicate", "units[0] on line 2"),
        id="duplicate-id",
    ),
]


@pytest.mark.parametrize(("text", "line", "parts"), ERROR_CASES)
def test_parse_errors(text: str, line: int, parts: tuple[str, ...]) -> None:
    raises_at(text, line, *parts)


def test_default_source_name() -> None:
    with pytest.raises(RegistryError, match=r"^<string>:1: "):
        parse_registry("units: []")


# ---------------------------------------------------------------- files


def test_load_from_path(tmp_path: Path) -> None:
    path = tmp_path / "units.yaml"
    path.write_text(HEAD.replace("name: A", "name: Phường Hồng Gai"), encoding="utf-8")
    registry = load_registry(path)
    assert [u.name for u in registry] == ["Phường Hồng Gai"]


def test_load_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "units.yaml"
    path.write_text(HEAD + "    level: commune\n", encoding="utf-8")
    with pytest.raises(RegistryError, match=rf"^{re.escape(str(path))}:5: .*field 'level'"):
        load_registry(path)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        pytest.param(lambda p: p / "missing.yaml", "No such file", id="missing"),
        pytest.param(lambda p: p, "directory", id="directory"),
    ],
)
def test_load_unreadable(tmp_path: Path, make: Callable[[Path], Path], reason: str) -> None:
    path = make(tmp_path)
    with pytest.raises(RegistryError, match=rf"^{re.escape(str(path))}: cannot read: .*{reason}"):
        load_registry(path)


def test_load_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "units.yaml"
    path.write_bytes(b"units:\n  - id: qn-a\n    name: \xff\n")
    with pytest.raises(RegistryError, match=r"cannot read: .*utf-8"):
        load_registry(path)


# ---------------------------------------------------------------- direct construction


def test_registry_rejects_duplicate_ids() -> None:
    unit = Unit("qn-a", "A", "commune", 0.95)
    with pytest.raises(RegistryError, match="qn-a"):
        UnitRegistry([unit, Unit("qn-a", "A again", "district", 0.9)])


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"id": "QN A"}, "id"),
        ({"level": "city"}, "level"),
        ({"on_time_target": 1.5}, "on_time_target"),
        ({"online_target": 0.0}, "online_target"),
        ({"supervisor": "a b"}, "supervisor"),
    ],
)
def test_unit_validates_its_fields(kwargs: dict[str, object], field: str) -> None:
    fields: dict[str, object] = {
        "id": "qn-a",
        "name": "A",
        "level": "commune",
        "on_time_target": 0.9,
    }
    fields.update(kwargs)
    with pytest.raises(RegistryError, match=f"field '{field}'"):
        Unit(**fields)  # type: ignore[arg-type]


def test_unit_is_frozen() -> None:
    unit = Unit("qn-a", "A", "commune", 0.95)
    with pytest.raises(AttributeError):
        unit.name = "B"  # type: ignore[misc]

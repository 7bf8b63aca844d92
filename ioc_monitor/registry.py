"""The unit registry: every one-stop unit the monitor knows, read from a YAML file.

Format: ``spec/EVENTS.md``, "Unit registry"; ``null`` counts as absent. Problems raise
:class:`~ioc_monitor.errors.RegistryError` naming the file, line, entry and field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Final, Literal, cast, get_args

import yaml

from ioc_monitor.errors import RegistryError

__all__ = [
    "DEFAULT_ONLINE_TARGET",
    "DEFAULT_ON_TIME_TARGETS",
    "LEVELS",
    "Level",
    "Unit",
    "UnitRegistry",
    "load_registry",
    "parse_registry",
]

Level = Literal["province", "district", "commune"]
LEVELS: Final[tuple[str, ...]] = get_args(Level)
#: On-time target per level when the entry gives none (Quảng Ninh's 2011–2020 results).
DEFAULT_ON_TIME_TARGETS: Mapping[str, float] = dict(province=0.999, district=0.969, commune=0.95)
DEFAULT_ONLINE_TARGET = 0.85  # online-rate target when the entry gives none

_BUNDLED = "quang_ninh.yaml"
_Pairs = dict[str, tuple[yaml.Node, yaml.Node]]


def _describe(value: object) -> str:
    if value is None or isinstance(value, bool):
        return {None: "null", True: "bool true", False: "bool false"}[value]
    return f"{'string' if isinstance(value, str) else type(value).__name__} {value!r}"


def _string(pattern: str, rule: str, optional: bool = False) -> Callable[[object], str | None]:
    regex = re.compile(pattern)

    def convert(value: object) -> str | None:
        if value is None and optional:
            return None
        if not isinstance(value, str):
            raise ValueError(f"must be a string, got {_describe(value)}")
        if not regex.fullmatch(value):
            raise ValueError(f"must be {rule}, got {value!r}")
        return value

    return convert


def _as_level(value: object) -> Level:
    if value not in LEVELS:
        shown = repr(value) if isinstance(value, str) else _describe(value)
        raise ValueError(f"must be one of {', '.join(LEVELS)}, got {shown}")
    return cast(Level, value)


def _as_target(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"must be a number, got {_describe(value)}")
    if not 0 < value <= 1:
        raise ValueError(f"must be greater than 0 and at most 1, got {value!r}")
    return float(value)


def _as_bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, got {_describe(value)}")
    return value


#: Each field with its converter, in the order they are checked.
_FIELDS: Mapping[str, Callable[[object], object]] = {
    "id": _string(r"[a-z0-9-]{1,64}", "1 to 64 characters of a-z, 0-9 and '-'"),
    "name": _string(r"(?s).*\S.*", "a non-blank string"),
    "level": _as_level,
    "on_time_target": _as_target,
    "online_target": _as_target,
    "supervisor": _string(r"[a-z0-9_-]+", "characters of a-z, 0-9, '-' and '_'", True),
    "illustrative": _as_bool,
}
_OPTIONAL = {"online_target": DEFAULT_ONLINE_TARGET, "supervisor": None, "illustrative": False}


@dataclass(frozen=True, slots=True)
class Unit:
    """One one-stop unit (a centre or a desk) of the province; bad fields raise RegistryError.

    Attributes:
        id: Label value in metrics: 1 to 64 characters of ``a-z``, ``0-9`` and ``-``.
        name: Official (or, when ``illustrative``, placeholder) name.
        level: ``province``, ``district`` (historic) or ``commune``.
        on_time_target: Share of dossiers to end on time, ``0 < x <= 1``.
        online_target: Share of dossiers to receive online, ``0 < x <= 1``.
        supervisor: Alertmanager receiver key paged for this unit (``[a-z0-9_-]+``), if any.
        illustrative: True when the name or id is a stand-in, not the real one.
    """

    id: str
    name: str
    level: Level
    on_time_target: float
    online_target: float = DEFAULT_ONLINE_TARGET
    supervisor: str | None = None
    illustrative: bool = False

    def __post_init__(self) -> None:
        for field, convert in _FIELDS.items():
            try:
                convert(getattr(self, field))
            except ValueError as exc:
                raise RegistryError(f"unit {self.id!r}: field {field!r}: {exc}") from None


class UnitRegistry:
    """The known units, in file order, looked up by id.

    Args:
        units: The units; a repeated id raises :class:`RegistryError`.
    """

    def __init__(self, units: Iterable[Unit]) -> None:
        self._units = tuple(units)
        self._by_id: dict[str, Unit] = {}
        for unit in self._units:
            if unit.id in self._by_id:
                raise RegistryError(f"duplicate unit id {unit.id!r}")
            self._by_id[unit.id] = unit

    def get(self, unit_id: str) -> Unit | None:
        """Return the unit with this id, or None if there is none."""
        return self._by_id.get(unit_id)

    def __contains__(self, unit_id: object) -> bool:
        return isinstance(unit_id, str) and unit_id in self._by_id

    def __iter__(self) -> Iterator[Unit]:
        return iter(self._units)

    def __len__(self) -> int:
        return len(self._units)

    @property
    def ids(self) -> frozenset[str]:
        """The ids of all units."""
        return frozenset(self._by_id)

    def supervisors(self) -> dict[str, list[str]]:
        """Return each supervisor key with the ids of its units, in file order."""
        result: dict[str, list[str]] = {}
        for unit in self._units:
            if unit.supervisor is not None:
                result.setdefault(unit.supervisor, []).append(unit.id)
        return result


def _kind(node: yaml.Node) -> str:
    kind = getattr(node, "id", "scalar")  # "scalar", "sequence" or "mapping"
    return {"mapping": "a mapping", "sequence": "a list"}.get(kind, "a single value")


class _Document:
    """Walks the composed YAML tree of one file; errors carry the node's line."""

    def __init__(self, loader: yaml.SafeLoader, source: str) -> None:
        self.loader = loader
        self.source = source

    def error(self, node: yaml.Node, message: str) -> RegistryError:
        return RegistryError(f"{self.source}:{node.start_mark.line + 1}: {message}")

    def pairs(self, node: yaml.MappingNode, where: str, allowed: Iterable[str]) -> _Pairs:
        result: _Pairs = {}
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else _kind(key_node)
            context = f"{where}: field {key!r}"
            if key not in allowed:
                raise self.error(key_node, f"{context}: unknown (allowed: {', '.join(allowed)})")
            if key in result:
                first = result[key][0].start_mark.line + 1
                raise self.error(key_node, f"{context}: repeated (first on line {first})")
            result[key] = (key_node, value_node)
        return result

    def value(self, node: yaml.Node, context: str) -> object:
        if not isinstance(node, yaml.ScalarNode):
            raise self.error(node, f"{context}: must be a single value, got {_kind(node)}")
        try:
            return cast(object, self.loader.construct_object(node, deep=True))
        except (yaml.YAMLError, ValueError) as exc:
            reason = exc.problem if isinstance(exc, yaml.MarkedYAMLError) else exc
            raise self.error(node, f"{context}: cannot be read: {reason}") from None

    def entry(self, node: yaml.Node, index: int) -> Unit:
        where = f"units[{index}]"
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, f"{where}: must be a mapping, got {_kind(node)}")
        ids = [v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == "id"]
        if ids and isinstance(ids[0], yaml.ScalarNode) and ids[0].tag.endswith(":str"):
            where += f" (id {ids[0].value!r})"
        fields = self.pairs(node, where, _FIELDS)
        values: dict[str, object] = {}
        for key, convert in _FIELDS.items():
            context = f"{where}: field {key!r}"
            raw = self.value(fields[key][1], context) if key in fields else None
            if raw is None and key == "on_time_target":
                values[key] = DEFAULT_ON_TIME_TARGETS[cast(str, values["level"])]
            elif raw is None and key in _OPTIONAL:
                values[key] = _OPTIONAL[key]
            elif key not in fields:
                raise self.error(node, f"{context}: missing")
            else:
                try:
                    values[key] = convert(raw)
                except ValueError as exc:
                    raise self.error(fields[key][1], f"{context}: {exc}") from None
        return Unit(**cast(dict[str, Any], values))

    def units(self, root: yaml.Node | None) -> list[Unit]:
        if root is None:
            raise RegistryError(f"{self.source}:1: empty; expected a mapping with key 'units'")
        if not isinstance(root, yaml.MappingNode):
            raise self.error(root, f"top level: must be a mapping with 'units', got {_kind(root)}")
        top = self.pairs(root, "top level", ("units",))
        if "units" not in top:
            raise self.error(root, "top level: field 'units': missing")
        seq = top["units"][1]
        if not isinstance(seq, yaml.SequenceNode) or not seq.value:
            got = "an empty list" if isinstance(seq, yaml.SequenceNode) else _kind(seq)
            got = _describe(self.value(seq, "")) if isinstance(seq, yaml.ScalarNode) else got
            raise self.error(seq, f"top level: field 'units': must be a non-empty list, got {got}")
        units: list[Unit] = []
        seen: dict[str, str] = {}
        for index, node in enumerate(seq.value):
            unit = self.entry(node, index)
            if unit.id in seen:
                where = f"units[{index}] (id {unit.id!r}): field 'id'"
                raise self.error(node, f"{where}: duplicate, already used by {seen[unit.id]}")
            seen[unit.id] = f"units[{index}] on line {node.start_mark.line + 1}"
            units.append(unit)
        return units


def parse_registry(text: str, source: str = "<string>") -> UnitRegistry:
    """Parse a registry, units in file order, from YAML text.

    Args:
        text: The YAML document.
        source: Name of the file, used in error messages.

    Raises:
        RegistryError: The text is not valid YAML or breaks a rule of the registry.
    """
    try:
        loader = yaml.SafeLoader(text)  # raises on characters YAML does not allow
        try:
            return UnitRegistry(_Document(loader, source).units(loader.get_single_node()))
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:  # errors from the tree itself are caught in _Document
        mark, context = exc.problem_mark or exc.context_mark, exc.context_mark
        detail = exc.problem or ""
        if exc.context and context is not None:
            detail += f" ({exc.context} on line {context.line + 1})"
        line = mark.line + 1 if mark is not None else 1
        raise RegistryError(f"{source}:{line}: invalid YAML: {detail}") from None
    except yaml.YAMLError as exc:
        line = text.count("\n", 0, getattr(exc, "position", 0)) + 1
        raise RegistryError(f"{source}:{line}: invalid YAML: {str(exc).splitlines()[0]}") from None


def load_registry(path: Path | None = None) -> UnitRegistry:
    """Load a registry, units in file order, from a file or the bundled Quảng Ninh one.

    Args:
        path: The YAML file (UTF-8); None means ``ioc_monitor/data/quang_ninh.yaml``.

    Raises:
        RegistryError: The file cannot be read or is invalid.
    """
    file = Path(path) if path is not None else resources.files("ioc_monitor") / "data" / _BUNDLED
    source = str(path) if path is not None else f"ioc_monitor/data/{_BUNDLED}"
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise RegistryError(f"{source}: cannot read: {reason}") from None
    return parse_registry(text, source)

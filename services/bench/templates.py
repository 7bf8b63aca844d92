"""The report's prose: Markdown templates under ``templates/``, filled from values.

Each ``templates/<name>.md`` is a :class:`string.Template` with ``$name`` / ``${name}``
placeholders, loaded with :mod:`importlib.resources` (so it ships with the package).
:func:`fill` wants a value for every placeholder and no other; the values are formatted
by the caller (``1,010,209 events``), the templates hold only prose.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from string import Template
from typing import Final

__all__ = ["fill", "names", "placeholders"]

_PACKAGE: Final = "services.bench"
_DIR: Final = "templates"
_SUFFIX: Final = ".md"


def _folder() -> Traversable:
    return resources.files(_PACKAGE) / _DIR


def names() -> list[str]:
    """Names of the templates (file names without ``.md``), sorted."""
    return sorted(
        entry.name.removesuffix(_SUFFIX)
        for entry in _folder().iterdir()
        if entry.name.endswith(_SUFFIX)
    )


@cache
def _template(name: str) -> Template:
    return Template((_folder() / f"{name}{_SUFFIX}").read_text(encoding="utf-8"))


def placeholders(name: str) -> frozenset[str]:
    """The placeholders of a template.

    Raises:
        ValueError: The template has a ``$`` that is neither a placeholder nor ``$$``.
    """
    template = _template(name)
    if not template.is_valid():
        raise ValueError(f"bench template {name!r} has an invalid $ placeholder")
    return frozenset(template.get_identifiers())


def fill(name: str, **values: object) -> str:
    """Render a template, without its leading and trailing blank space.

    Args:
        name: The template (``templates/<name>.md``).
        **values: A value per placeholder (formatted with ``str``).

    Returns:
        The Markdown text.

    Raises:
        KeyError: A placeholder has no value, or a value no placeholder.
    """
    wanted = placeholders(name)
    if set(values) != wanted:
        raise KeyError(
            f"bench template {name!r}: missing {sorted(wanted - set(values))}, "
            f"unknown {sorted(set(values) - wanted)}"
        )
    return _template(name).substitute({k: str(v) for k, v in values.items()}).strip()

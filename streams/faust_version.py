"""The faust-streaming and aiokafka versions the worker supports, checked before use.

:mod:`streams.fast_consumer` copies a private Faust method
(``Consumer._drain_messages`` of faust-streaming 0.15.3) and relies on private
attributes around it. A private API can change in any release, so the worker runs only
on the minor version that copy was checked against: :data:`SUPPORTED`, the same range
as the ``faust-streaming`` dependency of ``pyproject.toml``. ``ioc worker`` calls
:func:`check_faust_version` before it imports :mod:`streams.fast_consumer` (whose
imports of Faust's private modules may themselves fail on another version).

The same module also copies aiokafka's ``Fetcher.fetched_records`` (0.14.0) to keep
an undecodable record batch to its partition; :func:`check_faust_version` therefore
also checks aiokafka against :data:`AIOKAFKA_SUPPORTED` (:func:`check_aiokafka_version`).

This module imports nothing from Faust or aiokafka.
"""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, version
from typing import Final

from ioc_monitor.errors import IocError

__all__ = [
    "AIOKAFKA_SUPPORTED",
    "SUPPORTED",
    "FaustVersionError",
    "check_aiokafka_version",
    "check_faust_version",
]

#: Distribution name of Faust on PyPI.
DISTRIBUTION: Final = "faust-streaming"
#: Oldest supported release (the one ``_drain_messages`` was copied from), included.
MINIMUM: Final = (0, 15, 3)
#: First unsupported release, excluded (with its pre-releases).
BELOW: Final = (0, 16)
#: The supported range as a PEP 440 specifier (``pyproject.toml`` says the same).
SUPPORTED: Final = ">=0.15.3,<0.16"

#: Distribution name of aiokafka on PyPI.
AIOKAFKA: Final = "aiokafka"
#: Oldest supported aiokafka (the one ``Fetcher.fetched_records`` was copied from).
AIOKAFKA_MINIMUM: Final = (0, 14, 0)
#: First unsupported aiokafka release, excluded.
AIOKAFKA_BELOW: Final = (0, 15)
#: The supported aiokafka range as a PEP 440 specifier.
AIOKAFKA_SUPPORTED: Final = ">=0.14,<0.15"

_VERSION = re.compile(r"(\d+(?:\.\d+)*)(.*)")
_PRE_RELEASE = re.compile(r"[-_.]?(a|b|c|rc|alpha|beta|pre|preview|dev)\d*", re.IGNORECASE)


class FaustVersionError(IocError):
    """The installed faust-streaming (or aiokafka) is outside its supported range."""


def installed_faust_version() -> str | None:
    """The installed faust-streaming version, or ``None`` when it is not installed."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return None


def installed_aiokafka_version() -> str | None:
    """The installed aiokafka version, or ``None`` when it is not installed."""
    try:
        return version(AIOKAFKA)
    except PackageNotFoundError:
        return None


def _supported(
    text: str, minimum: tuple[int, ...] = MINIMUM, below: tuple[int, ...] = BELOW
) -> bool:
    """Tell whether a PEP 440 version string is within ``[minimum, below)``."""
    match = _VERSION.fullmatch(text.strip().lstrip("vV"))
    if match is None:
        return False
    release = tuple(int(n) for n in match.group(1).split("."))
    padded = release + (0,) * max(0, len(minimum) - len(release))
    pre = _PRE_RELEASE.match(match.group(2)) is not None
    above_minimum = padded > minimum or (padded == minimum and not pre)
    return above_minimum and padded[: len(below)] < below


def check_aiokafka_version(installed: str | None = None) -> str:
    """Stop unless the installed aiokafka is within :data:`AIOKAFKA_SUPPORTED`.

    Args:
        installed: The version to check. Default ``None``: the installed one.

    Returns:
        The version checked.

    Raises:
        FaustVersionError: It is outside the range, unparsable or not installed (one
            line naming the version, the range and why).
    """
    found = installed_aiokafka_version() if installed is None else installed
    if found is not None and _supported(found, AIOKAFKA_MINIMUM, AIOKAFKA_BELOW):
        return found
    what = "is not installed" if found is None else f"{found} is installed"
    raise FaustVersionError(
        f"{AIOKAFKA} {what}; the worker supports {AIOKAFKA}{AIOKAFKA_SUPPORTED} only, because "
        "streams/fast_consumer.py copies a private aiokafka API (Fetcher.fetched_records "
        f"of {'.'.join(map(str, AIOKAFKA_MINIMUM))}); install the pinned version "
        "(pip install -c constraints.txt aiokafka) or check the copy against the new "
        "release and widen the range"
    )


def check_faust_version(installed: str | None = None) -> str:
    """Stop unless the installed faust-streaming is within :data:`SUPPORTED`.

    Args:
        installed: The version to check. Default ``None``: the installed one, and then
            the installed aiokafka too (:func:`check_aiokafka_version`).

    Returns:
        The faust-streaming version checked.

    Raises:
        FaustVersionError: It is outside the range, unparsable or not installed; the
            one-line message names the version, the range and why.
    """
    found = installed_faust_version() if installed is None else installed
    if found is not None and _supported(found):
        if installed is None:
            check_aiokafka_version()
        return found
    what = "is not installed" if found is None else f"{found} is installed"
    raise FaustVersionError(
        f"{DISTRIBUTION} {what}; the worker supports {DISTRIBUTION}{SUPPORTED} only, because "
        "streams/fast_consumer.py copies a private Faust API (Consumer._drain_messages "
        f"of {'.'.join(map(str, MINIMUM))}); install the pinned version "
        "(pip install -c constraints.txt faust-streaming) or check the copy against the new "
        "release and widen the range"
    )

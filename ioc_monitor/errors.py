"""The project's exception hierarchy: one root, a few specific kinds."""

from __future__ import annotations

__all__ = ["ConfigError", "IocError", "RegistryError", "StackError", "StoreError"]


class IocError(Exception):
    """Root of every error raised on purpose by ioc-monitor."""


class ConfigError(IocError):
    """A setting or configuration file is invalid; the message names what and where."""


class RegistryError(ConfigError):
    """The unit registry file is invalid; the message names the entry and the field."""


class StackError(IocError):
    """The local service stack could not be started, stopped or reached."""


class StoreError(IocError):
    """The state store (Redis) failed or holds data this version cannot read."""

"""Settings of ``ioc wall`` (env prefix ``IOC_WALL_``): one frozen pydantic-settings model.

Validated at start-up through :func:`ioc_monitor.config.load`, so a bad value stops the
command with one line naming the variable, e.g. ``ioc wall: error: invalid WallSettings:
IOC_WALL_PORT: Input should be less than or equal to 65535``. Redis (the overdue lists)
uses the project's own :class:`ioc_monitor.config.RedisSettings` (``IOC_REDIS_*``).
"""

from __future__ import annotations

import re
from typing import Annotated, Final, Literal

from pydantic import AfterValidator, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ioc_monitor.config import (
    DEFAULT_ALERTMANAGER_PORT,
    DEFAULT_PROMETHEUS_PORT,
    BindAddr,
    HttpUrl,
)

__all__ = ["DEFAULT_WALL_PORT", "WallSettings", "parse_matchers"]

#: Default TCP port of the wall.
DEFAULT_WALL_PORT: Final = 9480
#: One Alertmanager matcher: ``name="value"``, ``name!="value"``, ``name=~"re"``, ``name!~"re"``.
_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*')
_HOST = re.compile(r"[A-Za-z0-9.:\[\]*-]+")


def parse_matchers(text: str) -> list[str]:
    """Split ``a="x",b=~"y.*"`` into Alertmanager filter matchers.

    Args:
        text: Comma-separated matchers; empty for none.

    Returns:
        Each matcher as Alertmanager's ``filter`` parameter takes it.

    Raises:
        ValueError: A part is not ``name<op>"value"``.
    """
    out: list[str] = []
    rest = text.strip()
    while rest:
        match = _MATCHER.match(rest)
        if match is None:
            raise ValueError(f'must be matchers like name="value",other=~"re", got {text!r}')
        out.append(f'{match[1]}{match[2]}"{match[3]}"')
        rest = rest[match.end() :]
        if rest and not rest.startswith(","):
            raise ValueError(f"matchers must be separated by commas, got {text!r}")
        rest = rest[1:].strip()
    return out


def _matchers(value: str) -> str:
    parse_matchers(value)
    return value


def _hosts(value: str) -> str:
    for host in (h.strip() for h in value.split(",")):
        if host and not _HOST.fullmatch(host):
            raise ValueError(f"{host!r} is not a host name, an address or '*'")
    return value


Matchers = Annotated[str, AfterValidator(_matchers)]
HostList = Annotated[str, AfterValidator(_hosts)]


class WallSettings(BaseSettings):
    """The wall web app (env prefix ``IOC_WALL_``).

    Attributes:
        host: Bind address. Default ``127.0.0.1`` (loopback only).
        port: TCP port. Default 9480.
        prometheus_url: Prometheus base URL the wall queries server-side (API v1).
            Default the local stack's, ``http://127.0.0.1:19090``.
        prometheus_token: Bearer token for Prometheus, if any (secret: never logged nor
            sent to the browser).
        alertmanager_url: Alertmanager base URL (API v2). Default
            ``http://127.0.0.1:19093``.
        alertmanager_token: Bearer token for Alertmanager, if any (secret).
        alert_filter: Alertmanager matchers the alerts page shows, comma-separated, e.g.
            ``feed="ioc"``. Default empty: every alert.
        exporter_job: Prometheus job of the exporter, for ``up``. Default ``ioc-exporter``.
        clock: ``wall`` or ``event``: the clock of the overdue lists, as the exporter's
            ``IOC_EXPORTER_CLOCK`` (``event``: the watermark). Default ``wall``.
        lang: Language when the URL gives none: ``vi`` (default) or ``en``.
        kiosk: Kiosk mode (large type, rotating pages) without ``?kiosk=1``. Default off.
        refresh_s: Seconds between refreshes in the browser. Default 5.
        rotate_s: Seconds each page stays on screen in kiosk mode. Default 20.
        stall_after_s: Seconds without a new watermark after which the stale banner
            shows. Default 900 (15 minutes, as the alert ``IocFeedStalled``).
        history_s: Default span of the history charts, seconds. Default 86400 (24 h).
        query_timeout_s: Timeout of each query to Prometheus or Alertmanager, seconds.
            Default 5.
        allowed_hosts: ``Host`` header values accepted, comma-separated (``*``: any).
            Default empty: ``127.0.0.1``, ``localhost``, ``[::1]`` and ``host`` (any when
            ``host`` is a wildcard address), against DNS rebinding.
    """

    model_config = SettingsConfigDict(env_prefix="IOC_WALL_", frozen=True, extra="ignore")

    host: BindAddr = "127.0.0.1"
    port: int = Field(default=DEFAULT_WALL_PORT, ge=1, le=65535)
    prometheus_url: HttpUrl = f"http://127.0.0.1:{DEFAULT_PROMETHEUS_PORT}"
    prometheus_token: SecretStr | None = None
    alertmanager_url: HttpUrl = f"http://127.0.0.1:{DEFAULT_ALERTMANAGER_PORT}"
    alertmanager_token: SecretStr | None = None
    alert_filter: Matchers = ""
    exporter_job: str = Field(default="ioc-exporter", pattern=r"^[A-Za-z0-9_.:-]{1,128}$")
    clock: Literal["wall", "event"] = "wall"
    lang: Literal["vi", "en"] = "vi"
    kiosk: bool = False
    refresh_s: float = Field(default=5.0, ge=1.0, le=300.0)
    rotate_s: float = Field(default=20.0, ge=3.0, le=3600.0)
    stall_after_s: float = Field(default=900.0, gt=0.0)
    history_s: int = Field(default=86400, ge=60, le=31 * 86400)
    query_timeout_s: float = Field(default=5.0, gt=0.0, le=120.0)
    allowed_hosts: HostList = ""

    @model_validator(mode="after")
    def _distinct_urls(self) -> WallSettings:
        if self.prometheus_url.rstrip("/") == self.alertmanager_url.rstrip("/"):
            raise ValueError("IOC_WALL_PROMETHEUS_URL and IOC_WALL_ALERTMANAGER_URL are the same")
        return self

    def hosts(self) -> list[str]:
        """The ``Host`` names accepted (see ``allowed_hosts``); ``["*"]`` for any."""
        given = [h.strip() for h in self.allowed_hosts.split(",") if h.strip()]
        if given:
            return given
        if self.host in ("0.0.0.0", "::", "[::]"):
            return ["*"]
        return sorted({"127.0.0.1", "localhost", "[::1]", "::1", self.host})

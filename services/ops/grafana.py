"""Grafana connection settings for ``ioc dashboards publish`` (env prefix ``IOC_GRAFANA_``)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from ioc_monitor.config import HttpUrl

__all__ = ["GrafanaSettings"]


class GrafanaSettings(BaseSettings):
    """Where to publish the dashboards (env prefix ``IOC_GRAFANA_``).

    Attributes:
        url: Base URL of Grafana, e.g. ``http://127.0.0.1:3000``.
        token: Service-account token (secret, never logged or printed). When unset, a
            ``user:password@`` in the URL is used, if any.
        folder_uid: Uid of the folder to put the dashboards in; unset means General.
        timeout: Seconds before a request to Grafana times out. Default 10.
    """

    model_config = SettingsConfigDict(env_prefix="IOC_GRAFANA_", frozen=True, extra="ignore")

    url: HttpUrl = "http://127.0.0.1:3000"
    token: SecretStr | None = None
    folder_uid: str | None = None
    timeout: float = Field(default=10.0, gt=0)

"""Server-side clients of Prometheus (HTTP API v1) and Alertmanager (API v2).

The browser never calls these systems: the wall queries them here, with the tokens of
:class:`~services.wall.settings.WallSettings`, and serves its own JSON. Every failure
is an :class:`UpstreamError` that says which system and whether it was unreachable
(no answer) or answered with an error, so the stale banner can tell the two apart.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import httpx
from pydantic import SecretStr

__all__ = [
    "AlertmanagerClient",
    "PrometheusClient",
    "Sample",
    "UpstreamError",
]

System = Literal["prometheus", "alertmanager"]


class UpstreamError(Exception):
    """A query to Prometheus or Alertmanager failed.

    Attributes:
        system: ``prometheus`` or ``alertmanager``.
        unreachable: True when there was no answer (connection refused, time-out);
            False when it answered with an error (bad query, HTTP 5xx).
    """

    def __init__(self, system: System, unreachable: bool, detail: str) -> None:
        super().__init__(f"{system}: {detail}")
        self.system: System = system
        self.unreachable = unreachable
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Sample:
    """One series of an instant vector: its labels and value."""

    labels: Mapping[str, str]
    value: float


def _client(base: str, token: SecretStr | None, timeout_s: float) -> httpx.AsyncClient:
    headers = {"Accept": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token.get_secret_value()}"
    return httpx.AsyncClient(
        base_url=base.rstrip("/"),
        headers=headers,
        timeout=httpx.Timeout(timeout_s),
        trust_env=False,  # never through a proxy from the environment
        follow_redirects=False,
    )


async def _get(
    client: httpx.AsyncClient, system: System, path: str, params: Sequence[tuple[str, str]]
) -> Any:
    try:
        response = await client.get(path, params=list(params))
    except (httpx.TransportError, OSError) as exc:
        raise UpstreamError(system, True, f"{type(exc).__name__}: {exc}") from None
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200:
        error = body.get("error") if isinstance(body, dict) else None
        raise UpstreamError(
            system, False, f"HTTP {response.status_code}: {error or response.text[:200]}"
        )
    return body


class PrometheusClient:
    """Instant and range queries against one Prometheus.

    Args:
        base: Base URL, e.g. ``http://127.0.0.1:19090``.
        token: Bearer token, if any.
        timeout_s: Seconds per request. Default 5.
    """

    def __init__(self, base: str, token: SecretStr | None = None, timeout_s: float = 5.0) -> None:
        self._http = _client(base, token, timeout_s)

    async def _api(self, path: str, params: Sequence[tuple[str, str]]) -> Any:
        body = await _get(self._http, "prometheus", path, params)
        if not isinstance(body, dict) or body.get("status") != "success":
            error = body.get("error") if isinstance(body, dict) else body
            raise UpstreamError("prometheus", False, f"query failed: {error}")
        return body["data"]

    async def query(self, expr: str, at: float | None = None) -> list[Sample]:
        """Evaluate an instant query.

        Args:
            expr: PromQL expression.
            at: Evaluation time, seconds since the epoch. Default: Prometheus's now.

        Returns:
            The samples of the result vector (a scalar result gives one unlabelled sample;
            NaN and infinite values are left out).

        Raises:
            UpstreamError: Prometheus did not answer or refused the query.
        """
        params = [("query", expr)] + ([("time", repr(at))] if at is not None else [])
        data = await self._api("/api/v1/query", params)
        if data.get("resultType") == "scalar":
            return _finite([Sample({}, float(data["result"][1]))])
        return _finite(
            [Sample(dict(r["metric"]), float(r["value"][1])) for r in data.get("result", [])]
        )

    async def query_many(self, exprs: Mapping[str, str]) -> dict[str, list[Sample]]:
        """Evaluate several instant queries concurrently, keyed like ``exprs``.

        Raises:
            UpstreamError: Any of them failed (the first failure).
        """
        keys = list(exprs)
        results = await asyncio.gather(*(self.query(exprs[k]) for k in keys))
        return dict(zip(keys, results, strict=True))

    async def query_range(
        self, expr: str, start: float, end: float, step: float
    ) -> list[tuple[Mapping[str, str], list[tuple[float, float]]]]:
        """Evaluate a range query.

        Args:
            expr: PromQL expression.
            start: First evaluation time, seconds since the epoch.
            end: Last evaluation time, seconds since the epoch.
            step: Seconds between evaluations.

        Returns:
            For each series, its labels and its ``(time, value)`` points (NaN left out).

        Raises:
            UpstreamError: Prometheus did not answer or refused the query.
        """
        params = [("query", expr), ("start", repr(start)), ("end", repr(end))]
        params.append(("step", repr(step)))
        data = await self._api("/api/v1/query_range", params)
        out: list[tuple[Mapping[str, str], list[tuple[float, float]]]] = []
        for r in data.get("result", []):
            points = [(float(t), float(v)) for t, v in r["values"]]
            out.append((dict(r["metric"]), [p for p in points if _is_finite(p[1])]))
        return out

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()


class AlertmanagerClient:
    """Reads the alerts of one Alertmanager (API v2).

    Args:
        base: Base URL, e.g. ``http://127.0.0.1:19093``.
        token: Bearer token, if any.
        timeout_s: Seconds per request. Default 5.
    """

    def __init__(self, base: str, token: SecretStr | None = None, timeout_s: float = 5.0) -> None:
        self._http = _client(base, token, timeout_s)

    async def alerts(self, matchers: Sequence[str] = ()) -> list[dict[str, Any]]:
        """The active alerts, silenced and inhibited ones included.

        Args:
            matchers: Alertmanager filter matchers (``name="value"``) they must match.

        Returns:
            The alerts as Alertmanager gives them (``labels``, ``annotations``,
            ``startsAt``, ``status.state``, ``receivers``...).

        Raises:
            UpstreamError: Alertmanager did not answer or answered with an error.
        """
        params = [("active", "true"), ("silenced", "true"), ("inhibited", "true")]
        params += [("unprocessed", "false")] + [("filter", m) for m in matchers]
        body = await _get(self._http, "alertmanager", "/api/v2/alerts", params)
        if not isinstance(body, list):
            raise UpstreamError("alertmanager", False, "the answer is not a list of alerts")
        return [a for a in body if isinstance(a, dict)]

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()


def _is_finite(value: float) -> bool:
    return value == value and value not in (float("inf"), float("-inf"))


def _finite(samples: list[Sample]) -> list[Sample]:
    return [s for s in samples if _is_finite(s.value)]

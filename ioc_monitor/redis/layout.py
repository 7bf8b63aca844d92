"""The version of the Redis key layout, kept in Redis beside the state.

``<prefix>:layout`` holds :data:`LAYOUT_VERSION`. A worker writes it when it is
missing; a worker or an exporter that finds another version, or state written before
versions were kept (layout 1, told apart by its per-partition ``eid`` sets), stops with
an error that says how to rebuild (``ioc recover``), instead of reading wrong numbers.

========  ==========================================================================
version   layout
========  ==========================================================================
1         (no ``layout`` key) accepted event ids in ``T:eid``, forgotten after 35 days
2         event ids kept inside each dossier's state (KPIS.md v2 de-duplication)
3         dossier state with the v2 flags (fee, paid online, rated), largest visits,
          receipt time, procedure and agency; v2 series in the count buckets
========  ==========================================================================
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from redis import Redis

from ioc_monitor.errors import StoreError
from ioc_monitor.redis.keys import PartitionKeys, global_key

__all__ = ["LAYOUT_VERSION", "check_layout"]

#: The layout this version of the code reads and writes.
LAYOUT_VERSION: Final = 3


def _layout_key(prefix: str) -> str:
    return global_key(prefix, "layout")


def _error(prefix: str, found: str) -> StoreError:
    return StoreError(
        f"Redis keys with prefix {prefix!r} hold state of key layout {found}; this version "
        f"reads and writes layout {LAYOUT_VERSION} only. Stop every `ioc worker` and run "
        "`ioc recover` to rebuild the state from the topic"
    )


def _v1_keys(prefix: str, parts: Iterable[bytes | str]) -> list[str]:
    """The per-partition event-id sets that only layout 1 wrote."""
    return [PartitionKeys(prefix, int(p)).v1_events for p in parts]


def _decide(prefix: str, stored: bytes | str | None, v1_found: bool) -> bool:
    """Whether the version must be written; raise when the state is of another layout.

    Raises:
        StoreError: Redis holds state of another layout.
    """
    text = stored.decode(errors="replace") if isinstance(stored, bytes) else stored
    if text == str(LAYOUT_VERSION):
        return False
    if text is not None:
        raise _error(prefix, repr(text))
    if v1_found:
        raise _error(prefix, "1 (written before layout versions)")
    return True  # no state, or state of this layout whose marker is missing


def check_layout(client: Redis, prefix: str, *, mark: bool = False) -> None:
    """Refuse state of another layout; with ``mark``, write the version when missing.

    One ``GET`` when the version is there; state without it is told apart by the
    ``eid`` sets that only layout 1 had. The exporter checks at start-up and at each
    scrape; the worker marks at start-up.

    Args:
        client: Sync client.
        prefix: Key prefix.
        mark: Write :data:`LAYOUT_VERSION` when no version is stored (the worker).
            Default False (the exporter never writes).

    Raises:
        StoreError: The state is of another layout.
        redis.RedisError: Redis cannot be read.
    """
    if _check(client, prefix) and mark:
        client.set(_layout_key(prefix), str(LAYOUT_VERSION), nx=True)
        _check(client, prefix)  # another process may have written another version


def _check(client: Redis, prefix: str) -> bool:
    stored = client.get(_layout_key(prefix))
    v1_found = False
    if stored is None:
        parts = client.smembers(global_key(prefix, "parts"))
        v1_found = any(client.exists(key) for key in _v1_keys(prefix, parts))
    return _decide(prefix, stored, v1_found)

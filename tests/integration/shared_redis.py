"""Working on the shared local Redis without touching anyone else's keys (not a test module).

A running ``make demo`` keeps its state in db 0 of the local stack's Redis, under the
prefix ``ioc``; the integration tests share that database. Each test therefore writes
only under a prefix of its own and deletes only the keys ``<prefix>:*`` afterwards,
never ``FLUSHDB``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import redis

__all__ = ["delete_prefix", "own_prefix_client"]

#: Characters with a meaning in a ``SCAN MATCH`` pattern.
_GLOB = "\\*?[]"


def delete_prefix(client: redis.Redis, prefix: str) -> int:
    """Delete every key ``<prefix>:*`` and no other; return how many were deleted."""
    pattern = "".join("\\" + c if c in _GLOB else c for c in prefix) + ":*"
    keys = list(client.scan_iter(match=pattern, count=1000))
    for start in range(0, len(keys), 500):
        client.delete(*keys[start : start + 500])
    return len(keys)


@contextmanager
def own_prefix_client(redis_url: str, prefix: str) -> Iterator[redis.Redis]:
    """A ``decode_responses`` client; on exit the keys ``<prefix>:*`` are deleted.

    Args:
        redis_url: The shared Redis (db 0 of the local stack).
        prefix: The caller's own key prefix; it writes only keys ``<prefix>:...``.
    """
    client = redis.Redis.from_url(redis_url, decode_responses=True, socket_timeout=5.0)
    try:
        yield client
    finally:
        try:
            delete_prefix(client, prefix)
        finally:
            client.close()

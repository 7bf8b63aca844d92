"""The Redis key layout: every key name of the project is built here.

All state of one Kafka partition lives under one hash tag, ``<prefix>:{<partition>}``,
so the atomic update of a batch touches a single hash slot (works on Redis Cluster).
Per partition ``P``, with ``T = <prefix>:{P}``:

=====================  ======  =====================================================
key                    type    content
=====================  ======  =====================================================
``T:off``              string  last applied Kafka offset
``T:stats``            hash    processed, duplicate, ``rej:<reason>``, ``wm`` (watermark),
                               ``lag`` (messages), ``wall`` (last batch, seconds), ``seq``
                               (commits), ``epoch`` (random, set by the first commit)
``T:dos``              hash    dossier_id -> encoded :class:`~ioc_monitor.rules.DossierState`,
                               with the 8-byte digests of its accepted event ids
``T:done``             zset    completed dossier_id, score = watermark at completion
``T:units``            set     units named by accepted events
``T:chg``              zset    unit -> sequence number (``seq`` in ``T:stats``) of the last
                               commit that changed its figures (the exporter's cache)
``T:tot:<unit>``       hash    series -> all-time count
``T:m:<unit>:<S>``     hash    ``<minute>|<series>`` -> count, minutes of hour ``S``; likewise
                               ``h`` (hours of local day ``S``), ``d`` (local days of
                               month ``S``), ``mo`` (local months of year ``S``); see
                               :mod:`ioc_monitor.windows`
``T:mi:<unit>``        zset    shards ``S`` present, score ``S`` (``hi``, ``di``, ``moi``)
``T:rc:<unit>``        zset    ``<series>|<dossier_id>``, score = t (recent items)
``T:open:<unit>``      zset    dossier_id in progress, score = due time (``+inf``: none)
``<prefix>:parts``     set     partitions that hold state
``<prefix>:layout``    string  version of this layout (:mod:`ioc_monitor.redis.layout`)
``<prefix>:catchup``   string  a worker's catch-up lease, with a TTL (:mod:`streams.catch_up`)
=====================  ======  =====================================================

The Lua scripts (:mod:`ioc_monitor.redis.scripts`) build no key name: every key
they touch is named here and passed to them in ``KEYS``. :meth:`PartitionKeys.read_keys`
builds the read script's many per-unit keys in bulk, with the same names as the
single-key methods.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = ["GLOBAL_NAMES", "PartitionKeys", "global_key"]

#: The keys outside any partition, as ``global_key(prefix, name)`` names them.
GLOBAL_NAMES = ("parts", "layout", "catchup")


def global_key(prefix: str, name: str) -> str:
    """Key outside any partition, e.g. ``ioc:parts``."""
    return f"{prefix}:{name}"


class PartitionKeys:
    """Key names of one partition (see the module docstring)."""

    def __init__(self, prefix: str, partition: int) -> None:
        self.partition = partition
        self.tag = f"{prefix}:{{{partition}}}"
        self.offset = f"{self.tag}:off"
        self.stats = f"{self.tag}:stats"
        self.dossiers = f"{self.tag}:dos"
        self.done = f"{self.tag}:done"
        #: Layout 1's accepted event ids (read only to recognise state of that layout).
        self.v1_events = f"{self.tag}:eid"
        #: The bench's naive per-event peer's accepted ids (never the worker's).
        self.naive_events = f"{self.tag}:naive-eid"
        self.units = f"{self.tag}:units"
        self.changes = f"{self.tag}:chg"

    def totals(self, unit: str) -> str:
        """Hash of all-time counts of a unit."""
        return f"{self.tag}:tot:{unit}"

    def buckets(self, unit: str, granularity: str, shard: int) -> str:
        """Hash of one shard of buckets; granularity ``m``, ``h``, ``d`` or ``mo``."""
        return f"{self.tag}:{granularity}:{unit}:{shard}"

    def bucket_index(self, unit: str, granularity: str) -> str:
        """Zset of the shards present; granularity ``m``, ``h``, ``d`` or ``mo``."""
        return f"{self.tag}:{granularity}i:{unit}"

    def recent(self, unit: str) -> str:
        """Zset of recent items."""
        return f"{self.tag}:rc:{unit}"

    def open(self, unit: str) -> str:
        """Zset of dossiers in progress by due time."""
        return f"{self.tag}:open:{unit}"

    def read_keys(self, units: Iterable[str], shards: Sequence[tuple[str, int]]) -> list[str]:
        """The per-unit keys the read script reads, unit after unit.

        Args:
            units: Unit ids.
            shards: ``(granularity, shard)`` of the bucket shards to read.

        Returns:
            For each unit in turn: :meth:`totals`, :meth:`buckets` of each shard in
            ``shards`` order, :meth:`open`, :meth:`recent` (``len(shards) + 3`` keys).
        """
        tag = self.tag
        # The names of totals, buckets, open and recent, split around the unit id.
        parts = [(f"{tag}:{g}:", f":{shard}") for g, shard in shards]
        tot, opened, recent = f"{tag}:tot:", f"{tag}:open:", f"{tag}:rc:"
        out: list[str] = []
        add, extend = out.append, out.extend
        for unit in units:
            add(tot + unit)
            extend([f"{head}{unit}{tail}" for head, tail in parts])
            add(opened + unit)
            add(recent + unit)
        return out

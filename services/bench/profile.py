"""Where a worker's CPU goes: py-spy's collapsed stacks grouped into categories (pure).

``py-spy record --format raw`` writes one line per distinct stack, ``frame;frame;... N``
(outermost first, N samples). A sample belongs to the first category (in
:data:`CATEGORIES` order) one of whose markers appears in its stack; the share of each
category is its samples over all samples. Only CPU-active samples are recorded by
py-spy by default, so the shares split the CPU time of the worker and its helper
process (``py-spy --subprocesses``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Final

__all__ = ["CATEGORIES", "categorize", "parse_collapsed", "shares"]

#: ``(category, markers)``: the first category with a marker in the stack wins, so
#: the most specific come first. Markers are substrings of py-spy frame texts.
CATEGORIES: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    ("ours: parse + validate (ioc_monitor.events)", ("parse_batch (",)),
    ("ours: KPI rules fold (ioc_monitor.engine/rules)", ("fold (ioc_monitor/engine.py",)),
    ("ours: Lua commit arguments (redis.writer._ops)", ("_ops (ioc_monitor/",)),
    ("ours: dossier state decode (redis.writer.prepare)", ("DossierState.decode (",)),
    # "(redis/": redis-py's frames ("... (redis/asyncio/client.py:1)"), not ioc_monitor/redis.
    ("ours: Redis client (redis-py, hiredis)", ("(redis/",)),
    ("ours: other processor code", ("BatchProcessor.process (",)),
    # Both ends of the worker <-> helper channel (streams/helper.py's frames in the worker
    # sit under the agent's Faust stack, so this row comes before Faust's).
    ("ours: worker <-> helper channel", ("(streams/channel.py", "(streams/helper.py")),
    ("aiokafka: fetch, decode (consumer thread)", ("aiokafka/",)),
    ("Faust agent stream: take_events, acks", ("faust/streams.py", "faust/agents/")),
    ("Faust consumer: fetch loop, per-message dispatch", ("faust/", "mode/")),
    ("asyncio event loop and other", ("",)),
)


def parse_collapsed(lines: Iterable[str]) -> Counter[str]:
    """Samples per stack from py-spy's raw (collapsed) output."""
    stacks: Counter[str] = Counter()
    for line in lines:
        line = line.rstrip("\n")
        stack, sep, count = line.rpartition(" ")
        if sep and count.isdigit():
            stacks[stack] += int(count)
    return stacks


def categorize(stack: str) -> str:
    """The category of one stack (see :data:`CATEGORIES`)."""
    for name, markers in CATEGORIES:
        if any(m in stack for m in markers):
            return name
    return CATEGORIES[-1][0]


def shares(stacks: Counter[str]) -> dict[str, float]:
    """Percent of samples per category, in :data:`CATEGORIES` order (zeros left out)."""
    total = sum(stacks.values())
    if total == 0:
        return {}
    per: Counter[str] = Counter()
    for stack, n in stacks.items():
        per[categorize(stack)] += n
    return {name: 100 * per[name] / total for name, _ in CATEGORIES if per[name]}

"""Two public Faust extension points that take work off the worker's per-message path.

Faust runs two things for every message that the worker does not need, and offers a
public way to replace each (both used by :func:`streams.app.build_app`):

====================  =================================  ==============================
per message           Faust's default                    here
====================  =================================  ==============================
key/value decoding    ``Schema.loads_key/loads_value``:  :class:`RawSchema`: the
                      the serializer registry looks up   message's bytes as they are
                      the ``raw`` codec and runs it      (what ``raw`` returns)
                      (it returns the bytes unchanged)
sensor hooks          ``Monitor``: counters by topic,    :class:`LeanMonitor`: only the
                      stream and task, a timing dict     stream's inbound time per
                      and a deque entry per event        partition (Faust's slow-stream
                                                         check reads it)
====================  =================================  ==============================

Both are subclasses of Faust's public classes (``faust.Schema``, the ``monitor``
argument of ``faust.App``), overriding public methods only. Nothing the worker reads
comes from the Monitor's counters: the pipeline's own figures are in Redis.
"""

from __future__ import annotations

from time import monotonic
from typing import Any

import faust
from faust.sensors import Monitor

__all__ = ["LeanMonitor", "RawSchema"]


class RawSchema(faust.Schema):  # type: ignore[type-arg]
    """A topic schema whose keys and values are the message's own bytes (no codec).

    Equal to ``key_type=bytes, value_type=bytes`` with the ``raw`` serializers, which
    return the bytes unchanged, without the registry and codec calls per message.
    Sending through a topic of this schema is Faust's own (``raw``) path.
    """

    def __init__(self) -> None:
        super().__init__(
            key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
        )

    def loads_key(self, app: Any, message: Any, **_: Any) -> Any:
        """The message's key, as it came (``None`` stays ``None``)."""
        return message.key

    def loads_value(self, app: Any, message: Any, **_: Any) -> Any:
        """The message's value, as it came."""
        return message.value


class LeanMonitor(Monitor):
    """Faust's monitor without its per-message counters and timings.

    Keeps ``stream_inbound_time`` (when a partition's stream last took an event), which
    Faust's consumer reads to log a stream that stopped processing; every other
    per-message and per-event hook does nothing. Rebalance, assignment, commit and send
    hooks are Faust's (they run per batch or per rebalance, not per message).
    """

    def on_message_in(self, tp: Any, offset: int, message: Any) -> None:
        """Nothing (Faust counts messages received by topic here)."""

    def on_stream_event_in(self, tp: Any, offset: int, stream: Any, event: Any) -> None:
        """Note the time the stream took an event of ``tp`` (monotonic seconds)."""
        self.stream_inbound_time[tp] = monotonic()

    def on_stream_event_out(
        self, tp: Any, offset: int, stream: Any, event: Any, state: Any = None
    ) -> None:
        """Nothing (Faust records the event's processing time here)."""

    def on_message_out(self, tp: Any, offset: int, message: Any) -> None:
        """Nothing (Faust counts active messages and their latency here)."""

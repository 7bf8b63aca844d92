"""Noise for the simulated stream: the faults a real feed has, seeded and reproducible.

For each valid event, with probability ``fraction``, one noise kind of :data:`NOISE_KINDS`
is drawn:

- ``duplicate``: an exact copy of a recent line, emitted again;
- ``out_of_order``: the event is held back and emitted after its dossier's last event
  (e.g. a ``received`` after its ``returned``); it is not emitted twice;
- ``truncated``: a cut-off copy of the line (not JSON);
- ``not_json``: a line that is not JSON, or JSON but not an object;
- ``invalid_utf8``: a copy with invalid UTF-8 bytes in a string;
- ``unknown_unit``: a copy with a new ``event_id`` and a ``unit_id`` not in the registry;
- ``missing_field``: a copy with a new ``event_id`` and one required field removed;
- ``pii``: the event itself gains fake personal data (``applicant_name``,
  ``citizen_id``, ``phone``, ``address``); it stays valid.

Every kind but ``out_of_order`` and ``pii`` adds a message; all values are fake.
"""

from __future__ import annotations

import random
from collections import OrderedDict, deque
from collections.abc import Iterable, Iterator
from typing import Any, Final

import orjson

__all__ = ["HELD_MAX", "NOISE_KINDS", "add_noise", "pii_fields"]

#: The noise kinds, in the order they are drawn from.
NOISE_KINDS: Final = (
    "duplicate",
    "out_of_order",
    "truncated",
    "not_json",
    "invalid_utf8",
    "unknown_unit",
    "missing_field",
    "pii",
)
#: At most this many dossiers have an event held back; the oldest is released beyond.
HELD_MAX: Final = 10_000
_RECENT: Final = 256
_REQUIRED: Final = ("event_id", "dossier_id", "unit_id", "status", "occurred_at")
_FAMILY: Final = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô")
_MIDDLE: Final = ("Văn", "Thị", "Đức", "Minh", "Ngọc", "Thu", "Quang", "Thanh")
_GIVEN: Final = ("An", "Bình", "Cường", "Dung", "Hà", "Hùng", "Lan", "Mai", "Nam", "Phương")
_STREETS: Final = ("Lê Thánh Tông", "Trần Hưng Đạo", "Nguyễn Văn Cừ", "Hạ Long", "Cái Dăm")


def pii_fields(rng: random.Random) -> dict[str, str]:
    """Return fake personal data of an applicant (never real people).

    Args:
        rng: The random source.

    Returns:
        ``applicant_name``, ``citizen_id`` (12 digits), ``phone`` and ``address``.
    """
    name = f"{rng.choice(_FAMILY)} {rng.choice(_MIDDLE)} {rng.choice(_GIVEN)}"
    return {
        "applicant_name": name,
        "citizen_id": f"022{rng.randrange(10**9):09d}",
        "phone": f"09{rng.randrange(10**8):08d}",
        "address": f"Số {rng.randint(1, 300)} đường {rng.choice(_STREETS)}, tỉnh Quảng Ninh",
    }


def _garbage(rng: random.Random, rec: dict[str, Any]) -> bytes:
    choices = (
        b"ERROR upstream timeout after 30000 ms",
        b"<html><body><h1>502 Bad Gateway</h1></body></html>",
        f"dossier_id={rec.get('dossier_id')};status={rec.get('status')}".encode(),
        b"null",
        b"[1, 2, 3]",
        b'"received"',
    )
    return rng.choice(choices)


def add_noise(
    items: Iterable[tuple[int, dict[str, Any], bool]], fraction: float, seed: int
) -> Iterator[tuple[int, str | None, bytes]]:
    """Serialise events and mix noise into them.

    Args:
        items: ``(time, record, last)`` per valid event, as
            :func:`services.simulate.feed.records` yields.
        fraction: Probability, per valid event, of one noise kind (0 disables noise).
        seed: Seed of the noise draws (independent of the events' draws).

    Yields:
        ``(time, kind, line)``: kind None for a plain valid event.
    """
    rng = random.Random(f"noise:{seed}")
    recent: deque[bytes] = deque(maxlen=_RECENT)
    held: OrderedDict[str, list[tuple[int, bytes]]] = OrderedDict()
    serial = 0
    for t, rec, last in items:
        line = orjson.dumps(rec)
        kind = None
        if fraction > 0 and rng.random() < fraction:
            kind = rng.choice(NOISE_KINDS[:1] + NOISE_KINDS[2:] if last else NOISE_KINDS)
        dossier = str(rec["dossier_id"])
        if kind == "out_of_order":
            held.setdefault(dossier, []).append((t, line))
            if len(held) > HELD_MAX:
                for _, old_line in held.popitem(last=False)[1]:
                    yield t, "out_of_order", old_line
            continue
        if kind == "pii":
            line = orjson.dumps({**rec, **pii_fields(rng)})
        yield t, "pii" if kind == "pii" else None, line
        recent.append(line)
        if last and dossier in held:
            for _, old_line in held.pop(dossier):
                yield t, "out_of_order", old_line
        if kind is None or kind == "pii":
            continue
        serial += 1
        extra: bytes
        if kind == "duplicate":
            extra = rng.choice(recent)
        elif kind == "truncated":
            extra = line[: rng.randint(1, len(line) - 1)]
        elif kind == "not_json":
            extra = _garbage(rng, rec)
        elif kind == "invalid_utf8":
            key = dossier.encode()
            extra = line.replace(key, key[:-1] + b"\xff" + key[-1:], 1)
        elif kind == "unknown_unit":
            extra = orjson.dumps(
                {**rec, "event_id": f"noise-{seed}-{serial}", "unit_id": f"qn-gone-{serial % 7}"}
            )
        else:  # missing_field
            fields = [f for f in (*_REQUIRED, "received_at", "due_at") if f in rec]
            copy = {**rec, "event_id": f"noise-{seed}-{serial}"}
            del copy[rng.choice(fields)]
            extra = orjson.dumps(copy)
        yield t, kind, extra
    for lines in held.values():
        for t, old_line in lines:
            yield t, "out_of_order", old_line

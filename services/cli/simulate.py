"""``ioc simulate``: generate realistic dossier-status events (EVENTS.md v2).

Seeded, reproducible dossier-status events for the units of a registry, in occurred_at
order: JSONL to --out (default stdout; .gz compresses) and/or Kafka (--to-kafka,
settings from IOC_KAFKA_*). Every unit is healthy (Quảng Ninh's seed report) except
the --slip units, which handle the dossiers they receive from --slip-after on badly.

Writes JSONL (plain, or gzip when the name ends in ``.gz``; byte-identical for the same
arguments) and/or sends the events to Kafka. ``--live`` emits each event when its
time comes, around the current wall clock.

The default behaviour is that of a healthy province (the Quảng Ninh seed report): the
province centre ~99.9% on time, commune centres ~96.5%, ~90% received online, a third
of dossiers with a fee (most paid online), ~75% digitised, ~90% of ratings satisfied.
``--slip UNIT_ID[,UNIT_ID...]`` (default none) makes the named units slip from
``--slip-after`` simulated seconds after the start (default 0; ``90m``, ``6h``, ``2d``
also accepted): their dossiers received from then on end 72% on time (about 80% over
the first weeks, as late dossiers end late), many run past their due date (overdue),
about 62% of their ratings are satisfied and more applicants travel three times or
more. Every other unit stays healthy, event for event as without ``--slip``.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import os
import sys
import time
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO

from ioc_monitor.config import KafkaSettings, load
from ioc_monitor.registry import UnitRegistry
from services.cli.args import (
    add_units_argument,
    load_units,
    non_negative_float,
    positive_float,
    positive_int,
    share,
)
from services.publisher import ensure_topic
from services.replay import produce
from services.simulate.feed import (
    DEFAULT_START,
    LOCAL_TZ,
    SimConfig,
    generate_lines,
    live_lines,
    simulated_levels,
)

__all__ = ["configure", "open_output", "run"]


def _start(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date or time: {text!r}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=LOCAL_TZ)


_UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def _seconds(text: str) -> float:
    """Parse simulated seconds >= 0: ``3600``, or with a unit ``90m``, ``6h``, ``2d``."""
    body, unit = (text[:-1], text[-1].lower()) if text[-1:].isalpha() else (text, "s")
    try:
        value = float(body) * _UNIT_SECONDS[unit]
    except (KeyError, ValueError):
        raise argparse.ArgumentTypeError(f"not a duration in seconds: {text!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be >= 0 and finite: {text!r}")
    return value


def _ids(text: str) -> tuple[str, ...]:
    ids = tuple(dict.fromkeys(s.strip() for s in text.split(",") if s.strip()))
    if not ids:
        raise argparse.ArgumentTypeError("expected UNIT_ID[,UNIT_ID...]")
    return ids


def configure(p: argparse.ArgumentParser) -> None:
    """Add the arguments of ``ioc simulate``."""
    p.set_defaults(func=run)
    add_units_argument(p)
    p.add_argument("--seed", type=int, default=None, help="random seed (default 1; live: time)")
    p.add_argument(
        "--start",
        type=_start,
        default=None,
        help=f"start, ISO 8601; no offset means UTC+7 (default {DEFAULT_START.isoformat()})",
    )
    size = p.add_mutually_exclusive_group()
    size.add_argument("--days", type=positive_float, default=None, help="period length (default 1)")
    size.add_argument(
        "--dossiers", type=positive_int, default=None, help="simulate N dossiers to their end"
    )
    p.add_argument("--scale", type=positive_float, default=1.0, help="volume multiplier (1)")
    p.add_argument(
        "--levels",
        default=None,
        help="comma-separated unit levels (default: province+commune from 2025-07-01, "
        "province+district before)",
    )
    p.add_argument(
        "--slip",
        type=_ids,
        default=(),
        metavar="UNIT_ID[,UNIT_ID...]",
        help="units that slip: ~72-80%% on time, many overdue, ~62%% satisfied, more trips "
        "(default none; every other unit stays healthy)",
    )
    p.add_argument(
        "--slip-after",
        type=_seconds,
        default=0.0,
        metavar="SECONDS",
        help="simulated seconds after the start from which the --slip units' new dossiers "
        "are handled badly; 90m, 6h, 2d also accepted (default 0)",
    )
    p.add_argument("--noise", type=share, default=0.0, help="noise messages per event, 0–1 (0)")
    p.add_argument("--out", default=None, help="output FILE(.jsonl|.jsonl.gz); '-' is stdout")
    p.add_argument("--to-kafka", action="store_true", help="send the events to Kafka")
    p.add_argument("--topic", default=None, help="topic (default: IOC_KAFKA_TOPIC)")
    p.add_argument("--partitions", type=positive_int, default=None, help="create the topic first")
    p.add_argument(
        "--rate", type=non_negative_float, default=0.0, help="events/s to Kafka; 0 = max (0)"
    )
    p.add_argument(
        "--live",
        action="store_true",
        help="start now and emit each event at its time (runs until stopped unless "
        "--days/--dossiers); office hours still apply to the simulated clock",
    )
    p.add_argument(
        "--speedup", type=positive_float, default=1.0, help="live: simulated s per wall s (1)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


@contextlib.contextmanager
def open_output(target: str | None) -> Iterator[IO[bytes]]:
    """Open the output: stdout for None or ``-``, gzip for ``*.gz`` (reproducible bytes).

    Args:
        target: The ``--out`` value.

    Yields:
        A binary file object.
    """
    if target is None or target == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    path = Path(target)
    with path.open("wb") as raw:
        if path.suffix == ".gz":
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
                yield gz  # type: ignore[misc]
        else:
            yield raw


def _tee(lines: Iterable[bytes], out: IO[bytes], flush: bool) -> Iterator[bytes]:
    for line in lines:
        out.write(line + b"\n")
        if flush:
            out.flush()
        yield line


def run(args: argparse.Namespace) -> int:
    """Execute ``ioc simulate``; 0 on success, 1 when a Kafka send failed."""
    try:
        return _run(args)
    except BrokenPipeError:  # e.g. `ioc simulate | head`: the reader is gone, stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _slip_problem(units: UnitRegistry, cfg: SimConfig) -> str | None:
    """Why ``cfg.slip`` cannot be simulated (unknown unit, level not simulated), or None."""
    unknown = [u for u in cfg.slip if units.get(u) is None]
    if unknown:
        return f"unknown unit(s): {', '.join(unknown)}"
    levels = simulated_levels(units, cfg)
    idle = [u for u in cfg.slip if (unit := units.get(u)) is not None and unit.level not in levels]
    if idle:
        return f"unit(s) of a level not simulated (see --levels): {', '.join(idle)}"
    return None


def _run(args: argparse.Namespace) -> int:
    if not args.to_kafka and (args.topic or args.partitions or args.rate):
        print("ioc simulate: --topic, --partitions and --rate need --to-kafka", file=sys.stderr)
        return 2
    if args.live and args.start is not None:
        print("ioc simulate: --live starts now; drop --start", file=sys.stderr)
        return 2
    units = load_units(args.units)
    levels = None if args.levels is None else [s.strip() for s in args.levels.split(",")]
    slip = tuple(getattr(args, "slip", ()))
    slip_after = float(getattr(args, "slip_after", 0.0))
    if args.live:
        now = datetime.now(LOCAL_TZ).replace(microsecond=0)
        seed = args.seed if args.seed is not None else int(now.timestamp())
        cfg = SimConfig(seed=seed, start=now, days=args.days, dossiers=args.dossiers,
                        scale=args.scale, levels=levels, run_tag=f"live{int(now.timestamp())}",
                        slip=slip, slip_after=slip_after)  # fmt: skip
    else:
        days = 1.0 if args.days is None and args.dossiers is None else args.days
        seed = 1 if args.seed is None else args.seed
        start = args.start or DEFAULT_START
        cfg = SimConfig(seed=seed, start=start, days=days, dossiers=args.dossiers,
                        scale=args.scale, levels=levels, slip=slip,
                        slip_after=slip_after)  # fmt: skip
    problem = _slip_problem(units, cfg)
    if problem:
        print(f"ioc simulate: --slip: {problem}", file=sys.stderr)
        return 2
    if args.live:
        lines = live_lines(units, cfg, args.noise, args.speedup)
    else:
        lines = generate_lines(units, cfg, args.noise)
    written = args.out is not None or not args.to_kafka
    with contextlib.ExitStack() as stack:
        if written:
            out = stack.enter_context(open_output(args.out))
            lines = _tee(lines, out, flush=args.live)
        if not args.to_kafka:
            started, n = time.monotonic(), sum(1 for _ in lines)
            where = args.out if args.out not in (None, "-") else "stdout"
            print(f"ioc simulate: {n} lines to {where} in {time.monotonic() - started:.2f} s",
                  file=sys.stderr)  # fmt: skip
            return 0
        settings = load(KafkaSettings)
        topic = args.topic or settings.topic
        if args.partitions is not None:
            ensure_topic(settings, topic, args.partitions)
        summary = produce(
            lines,
            settings,
            rate=args.rate or None,
            topic=topic,
            progress=not args.no_progress,
            description="simulate",
        )
    print(f"ioc simulate: {topic}: {summary.line()}", file=sys.stderr)
    return 0 if summary.failed == 0 else 1

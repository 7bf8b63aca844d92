"""The worker process: version check, catch-up, event loop, Faust worker, exit on failure.

:func:`run_worker` is what ``ioc worker`` runs once its arguments and settings are
read. The process concerns live here, next to the app they run: faust-streaming must
be a supported version (:mod:`streams.faust_version`), the event loops run on uvloop
when it is installed, a worker far behind its topic catches up before it joins its
group (:mod:`streams.catch_up`), and a failed agent ends the process with
:data:`EXIT_AGENT_FAILED` so that its supervisor restarts it.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import sys
from typing import Final, NoReturn

from ioc_monitor.config import KafkaSettings, RedisSettings, WorkerSettings
from ioc_monitor.registry import UnitRegistry
from streams.faust_version import check_faust_version

__all__ = [
    "EXIT_AGENT_FAILED",
    "check_layout",
    "exit_on_failure",
    "run_worker",
    "tune_gc",
    "use_uvloop",
]

#: Exit status of a worker whose agent failed (EX_SOFTWARE).
EXIT_AGENT_FAILED = 70


def use_uvloop() -> bool:
    """Run the worker's event loops on uvloop when it is installed (faster I/O and tasks).

    Returns:
        Whether uvloop is in use.
    """
    try:
        import uvloop
    except ImportError:
        return False
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return True


def exit_on_failure(exc: BaseException) -> NoReturn:
    """Log the agent's failure and end the process at once, with status 70.

    A Faust worker whose agent died stays up doing nothing; a supervisor
    (docker-compose ``restart:``, systemd) only restarts a process that exits. Nothing
    is lost by exiting: each partition resumes after the offset stored in Redis.

    Args:
        exc: The agent's exception (logged with its traceback).
    """
    logging.getLogger("ioc.worker").critical(
        "the KPI agent failed (%s: %s); exiting with status %d so that the worker is "
        "restarted; it resumes from the offsets stored in Redis",
        type(exc).__name__,
        exc,
        EXIT_AGENT_FAILED,
        exc_info=exc,
    )
    logging.shutdown()
    os._exit(EXIT_AGENT_FAILED)


def check_layout(settings: RedisSettings) -> None:
    """Refuse Redis state of another key layout before consuming; mark an empty store.

    Redis unreachable at start-up is not an error (the worker waits for it batch by
    batch); the layout is then marked by the next start.

    Raises:
        StoreError: Redis holds state of another key layout.
    """
    from redis.exceptions import RedisError

    from ioc_monitor.redis.client import connect
    from ioc_monitor.redis.layout import check_layout

    client = connect(settings, retries=1)
    try:
        check_layout(client, settings.prefix, mark=True)
    except RedisError as exc:
        logging.getLogger("ioc.worker").warning(
            "cannot check the Redis key layout now (%s); continuing", type(exc).__name__
        )
    finally:
        client.close()


#: The worker's cyclic-GC thresholds (Python's defaults: 700, 10, 10). A worker holds
#: tens of thousands of buffered messages, and at the defaults a collection runs every
#: 700 allocations and a full one often: these thresholds gave about 15 % more events/s
#: over repeated runs of the bench's worker. Our own per-message objects are not
#: tracked (``msgspec.Struct(gc=False)``), and cycles are rare, so collections can be
#: far apart.
GC_THRESHOLDS: Final = (50_000, 50, 1000)


def tune_gc() -> None:
    """Freeze what start-up allocated (never collected again) and space collections out."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _say(line: str) -> None:
    print(f"ioc worker: {line}", file=sys.stderr, flush=True)


def run_worker(
    kafka: KafkaSettings,
    redis: RedisSettings,
    units: UnitRegistry,
    batch: int | None = None,
    loglevel: str = "warning",
    process: WorkerSettings | None = None,
) -> int:
    """Run the streaming worker until it is stopped (SIGTERM / Ctrl-C).

    Args:
        kafka: Broker, topics and consumer group.
        redis: Where the state lives.
        units: The unit registry.
        batch: Largest batch, in messages. Default ``None``: 10,000
            (:data:`streams.processor.BATCH_MAX`).
        loglevel: Faust's log level. Default ``warning``.
        process: The process settings (the helper process, :mod:`streams.helper`).
            Default ``None``: ``WorkerSettings()`` (``auto``).

    Returns:
        0 when the worker stopped; a failed agent ends the process with status
        :data:`EXIT_AGENT_FAILED` instead.

    Raises:
        streams.faust_version.FaustVersionError: The installed faust-streaming is not
            supported (checked before Faust's private modules are imported).
    """
    check_faust_version()
    check_layout(redis)
    import faust

    from streams.app import BATCH_MAX, build_app
    from streams.backfill import BackfillJob, default_shards
    from streams.catch_up import catch_up
    from streams.dead_letters import quiet_handled_sends

    use_uvloop()
    settings = process or WorkerSettings()
    helper = settings.use_helper(os.cpu_count())
    shards = default_shards(os.cpu_count()) if helper else 0
    job = BackfillJob(kafka, redis, units.ids, shards=shards, batch_max=batch or BATCH_MAX)
    tune_gc()  # before the catch-up too: Faust's modules are a large heap to scan
    if not catch_up(job, settings.catch_up, _say):
        return 0  # stopped (SIGTERM / Ctrl-C) while catching up
    loop = asyncio.new_event_loop()  # the loop Faust then runs on (get_event_loop)
    asyncio.set_event_loop(loop)
    loop.set_exception_handler(quiet_handled_sends)
    app, _ = build_app(
        kafka,
        redis,
        units,
        batch_max=batch or BATCH_MAX,
        on_failure=exit_on_failure,
        helper=helper,
    )
    tune_gc()
    worker = faust.Worker(app, loglevel=loglevel)
    worker.execute_from_commandline()
    return 0

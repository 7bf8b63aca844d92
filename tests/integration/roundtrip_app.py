"""Faust worker of the round-trip test: consume JSON from a topic, write a field to Redis.

Run as a script (the test starts it in a subprocess)::

    python roundtrip_app.py --broker kafka://127.0.0.1:19092 --app-id X --topic T \
        --redis-url redis://127.0.0.1:16379/0 --key K --datadir DIR

Each message ``{"field": ..., "value": ...}`` becomes ``HSET K <field> <value>``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

import faust
import redis.asyncio as aioredis


def build_app(
    *, broker: str, app_id: str, topic: str, redis_url: str, key: str, datadir: str
) -> faust.App:
    """Build the Faust app (memory store, web server disabled) with its one agent."""
    app = faust.App(
        app_id,
        broker=broker,
        store="memory://",
        web_enabled=False,
        datadir=datadir,
        consumer_auto_offset_reset="earliest",
        topic_partitions=3,
    )
    source = app.topic(topic, value_serializer="json")

    @app.agent(source)
    async def write_to_redis(stream: faust.StreamT[Any]) -> None:
        client = aioredis.Redis.from_url(redis_url, decode_responses=True)
        try:
            async for message in stream:
                await client.hset(key, str(message["field"]), str(message["value"]))
        finally:
            await client.aclose()

    return app


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the arguments and run the worker until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(description=__doc__)
    for name in ("broker", "app-id", "topic", "redis-url", "key", "datadir"):
        parser.add_argument(f"--{name}", required=True)
    args = parser.parse_args(argv)
    app = build_app(
        broker=args.broker,
        app_id=args.app_id,
        topic=args.topic,
        redis_url=args.redis_url,
        key=args.key,
        datadir=args.datadir,
    )
    worker = faust.Worker(app, loglevel="INFO")
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()

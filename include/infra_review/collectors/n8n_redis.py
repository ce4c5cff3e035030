"""n8n's job queue read straight from Redis, for teams without n8n's queue metrics.

n8n in queue mode uses a Bull (v4) queue named ``jobs`` under the key prefix ``bull``
(``QUEUE_BULL_PREFIX``). Bull keeps waiting jobs in the list ``<prefix>:<queue>:wait``
(``...:paused`` while the queue is paused) and running ones in ``...:active``. A
prioritised job is in the wait list too: ``...:priority`` is a sorted-set index over it
(Bull's ``addJobWithPriority`` ZADDs and LINSERTs the same id), so adding the set would
count such jobs twice. BullMQ (``layout: bullmq``) keeps prioritised jobs only in
``...:prioritized``, so there the set is added. Delayed jobs are scheduled for later, not
waiting, and are left out.

Redis only knows the present: a run stamps its reading with the interval's end, and a run
for an interval long past (a backfill) reads nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import pandas as pd

from infra_review.collectors.common import (
    airflow_connection,
    env_value,
    seconds,
    snapshot_frame,
    snapshot_is_stale,
    with_retries,
)
from infra_review.errors import InputError

log = logging.getLogger(__name__)


def client(source: dict[str, Any]):
    """A redis client from ``url_env``, ``conn_id`` or host/port/db + ``password_env``."""
    import redis

    timeout = seconds(source.get("timeout"), 5, "timeout")
    common = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
    url = env_value(source.get("url_env"), field="url_env")
    if url:
        return redis.Redis.from_url(url, **common)
    host, port, db = source.get("host", "127.0.0.1"), source.get("port", 6379), source.get("db", 0)
    username = source.get("username")
    password = env_value(source.get("password_env"), field="password_env")
    if source.get("conn_id"):
        conn = airflow_connection(str(source["conn_id"]))
        host = conn.host or host
        port = conn.port or port
        username = conn.login or username
        password = conn.password or password
        db = (conn.extra or {}).get("db", conn.schema or db)
    for key in ("password", "url"):
        if key in source:
            raise InputError(
                f"put the Redis {key} in an environment variable ({key}_env) or an Airflow "
                "connection, not in fleet.yaml",
                field=key,
            )
    return redis.Redis(
        host=host, port=int(port), db=int(db or 0), username=username, password=password, **common
    )


def queue_counts(redis_client, prefix: str = "bull", queue: str = "jobs", layout: str = "bull"):
    """(waiting, active, details) read in one MULTI so the counts belong to one moment."""
    base = f"{prefix}:{queue}"
    pipe = redis_client.pipeline(transaction=True)
    pipe.llen(f"{base}:wait")
    pipe.llen(f"{base}:paused")
    pipe.llen(f"{base}:active")
    pipe.zcard(f"{base}:priority")
    pipe.zcard(f"{base}:prioritized")
    wait, paused, active, priority, prioritized = (int(x) for x in pipe.execute())
    if layout == "bullmq":
        waiting = wait + paused + prioritized
    elif layout == "bull":
        waiting = wait + paused
        if priority > wait + paused:
            log.warning(
                "%s:priority has %d jobs but wait+paused only %d: is this a BullMQ queue "
                "(set layout: bullmq)?",
                base,
                priority,
                wait + paused,
            )
    else:
        raise InputError(f"layout must be bull or bullmq, got {layout!r}", field="layout")
    details = {"wait": wait, "paused": paused, "active": active, "priority": priority}
    return waiting, active, details


def collect(server: str, source: dict[str, Any], start: datetime, end: datetime) -> pd.DataFrame:
    """n8n_queue_waiting and n8n_queue_active (label = queue name) at the interval's end."""
    if snapshot_is_stale(end):
        log.info("n8n_redis: interval ended at %s, too long ago for a live reading", end)
        return snapshot_frame(server, end, [])
    import redis

    prefix = str(source.get("prefix", "bull"))
    queue = str(source.get("queue", "jobs"))
    layout = str(source.get("layout", "bull"))
    redis_client = client(source)
    try:
        waiting, active, details = with_retries(
            f"Redis queue {prefix}:{queue}",
            lambda: queue_counts(redis_client, prefix, queue, layout),
            attempts=int(source.get("attempts", 3)),
            backoff_s=seconds(source.get("backoff"), 1, "backoff"),
            retry_on=(redis.ConnectionError, redis.TimeoutError),
        )
    finally:
        redis_client.close()
    log.info("n8n queue %s:%s: %s", prefix, queue, details)
    return snapshot_frame(
        server,
        end,
        [("n8n_queue_waiting", queue, float(waiting)), ("n8n_queue_active", queue, float(active))],
    )

"""n8n's job queue read straight from Redis, for teams without n8n's queue metrics.

n8n in queue mode uses a Bull (v4) queue named ``jobs`` under the key prefix ``bull``
(``QUEUE_BULL_PREFIX``). Bull keeps waiting jobs in the list ``<prefix>:<queue>:wait``
(``...:paused`` while the queue is paused) and running ones in ``...:active``. A
prioritised job is in the wait list too: ``...:priority`` is a sorted-set index over it
(Bull's ``addJobWithPriority`` ZADDs and LINSERTs the same id), so adding the set would
count such jobs twice. BullMQ (``layout: bullmq``) keeps prioritised jobs only in
``...:prioritized``, so there the set is added. Delayed jobs are scheduled for later, not
waiting, and are left out.

An active job counts only while its lock ``<prefix>:<queue>:<id>:lock`` exists; the rest are
stalled (a worker killed mid-job) and are recorded as ``n8n_queue_stalled``, so a dead fleet
reads as waiting work with nothing active, never as a busy queue.

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
    """A redis client from ``url_env``, ``conn_id`` or host/port/db + ``password_env``; a
    cluster client (any node as the seed) with ``cluster: true``."""
    import redis
    from redis.cluster import RedisCluster

    timeout = seconds(source.get("timeout"), 5, "timeout")
    common = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
    cluster = bool(source.get("cluster"))
    url = env_value(source.get("url_env"), field="url_env")
    if url:
        return (RedisCluster if cluster else redis.Redis).from_url(url, **common)
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
    if cluster:  # a cluster has only db 0
        return RedisCluster(
            host=host, port=int(port), username=username, password=password, **common
        )
    return redis.Redis(
        host=host, port=int(port), db=int(db or 0), username=username, password=password, **common
    )


# One EVAL, so every count belongs to one moment: a job finishing between reading the active
# list and checking its lock would otherwise look stalled. The lock keys are built from the
# queue's own prefix, as Bull's moveStalledJobsToWait does, so with a ``{bull}`` prefix they
# hash to the same cluster slot as KEYS.
_COUNTS_LUA = """
local wait = redis.call('LLEN', KEYS[1])
local paused = redis.call('LLEN', KEYS[2])
local ids = redis.call('LRANGE', KEYS[3], 0, -1)
local priority = redis.call('ZCARD', KEYS[4])
local prioritized = redis.call('ZCARD', KEYS[5])
local live = 0
for _, id in ipairs(ids) do
  if redis.call('EXISTS', ARGV[1] .. id .. ':lock') == 1 then live = live + 1 end
end
return {wait, paused, #ids, live, priority, prioritized}
"""


def queue_counts(redis_client, prefix: str = "bull", queue: str = "jobs", layout: str = "bull"):
    """(waiting, active, stalled, details) at one moment.

    ``active`` counts only the jobs in ``...:active`` whose ``<prefix>:<queue>:<id>:lock``
    exists (a live worker renews it every lockDuration/2). A job whose lock expired is
    ``stalled``: its worker died, and n8n (``maxStalledCount: 0``, stalled check only in
    live workers) never moves it back, so counting it as active would call a dead fleet busy.
    BullMQ uses the same lock key layout.
    """
    if layout not in ("bull", "bullmq"):
        raise InputError(f"layout must be bull or bullmq, got {layout!r}", field="layout")
    base = f"{prefix}:{queue}"
    keys = [f"{base}:{name}" for name in ("wait", "paused", "active", "priority", "prioritized")]
    raw = redis_client.eval(_COUNTS_LUA, len(keys), *keys, f"{base}:")
    wait, paused, listed, active, priority, prioritized = (int(x) for x in raw)
    if layout == "bullmq":
        waiting = wait + paused + prioritized
    else:
        waiting = wait + paused
        if priority > wait + paused:
            log.warning(
                "%s:priority has %d jobs but wait+paused only %d: is this a BullMQ queue "
                "(set layout: bullmq)?",
                base,
                priority,
                wait + paused,
            )
    stalled = listed - active
    details = {
        "wait": wait,
        "paused": paused,
        "active": listed,
        "locked": active,
        "stalled": stalled,
        "priority": priority,
    }
    return waiting, active, stalled, details


def queue_prefix(source: dict[str, Any]) -> str:
    """The Bull key prefix: ``prefix`` or the variable ``prefix_env`` names (n8n's
    ``QUEUE_BULL_PREFIX``), default ``bull``; ``cluster: true`` gives n8n's Redis-cluster
    form ``{bull}`` (a hash tag, so one queue's keys share a slot)."""
    prefix = env_value(source.get("prefix_env"), field="prefix_env") or source.get("prefix")
    prefix = str(prefix or "bull")
    if source.get("cluster") and not (prefix.startswith("{") and prefix.endswith("}")):
        prefix = "{" + prefix + "}"
    return prefix


def queue_names(source: dict[str, Any]) -> list[str]:
    """``queues: [jobs, jobs-pool-a]`` (n8n's worker pools) or ``queue``; default ``jobs``."""
    names = source.get("queues")
    if names is None:
        names = [source.get("queue", "jobs")]
    if isinstance(names, str) or not names or not all(isinstance(n, str) and n for n in names):
        raise InputError("queues must be a list of queue names", field="queues")
    return list(dict.fromkeys(names))


def collect(server: str, source: dict[str, Any], start: datetime, end: datetime) -> pd.DataFrame:
    """n8n_queue_waiting, n8n_queue_active (live jobs) and n8n_queue_stalled (active jobs
    whose lock expired), label = queue name, at the interval's end."""
    if snapshot_is_stale(end):
        log.info("n8n_redis: interval ended at %s, too long ago for a live reading", end)
        return snapshot_frame(server, end, [])
    import redis

    prefix = queue_prefix(source)
    layout = str(source.get("layout", "bull"))
    rows = []
    redis_client = client(source)
    try:
        for queue in queue_names(source):
            waiting, active, stalled, details = with_retries(
                f"Redis queue {prefix}:{queue}",
                lambda queue=queue: queue_counts(redis_client, prefix, queue, layout),
                attempts=int(source.get("attempts", 3)),
                backoff_s=seconds(source.get("backoff"), 1, "backoff"),
                retry_on=(redis.ConnectionError, redis.TimeoutError),
            )
            if stalled:
                log.warning(
                    "n8n queue %s:%s: %d active job(s) without a lock: their worker is gone",
                    prefix,
                    queue,
                    stalled,
                )
            log.info("n8n queue %s:%s: %s", prefix, queue, details)
            rows += [
                ("n8n_queue_waiting", queue, float(waiting)),
                ("n8n_queue_active", queue, float(active)),
                ("n8n_queue_stalled", queue, float(stalled)),
            ]
    finally:
        redis_client.close()
    return snapshot_frame(server, end, rows)

"""n8n's Bull queue read from a real Redis: the machine's redis-server on 127.0.0.1:6379
(keys under a unique test prefix, deleted afterwards) and throwaway servers for auth and
outages."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from infra_review.collect import run_job
from infra_review.collectors import n8n_redis
from infra_review.collectors.common import SourceUnavailable
from infra_review.quality.gate import QualityGate
from tests.integration import services

pytestmark = pytest.mark.integration


@pytest.fixture
def redis_client():
    redis = pytest.importorskip("redis")
    client = redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip("no redis-server on 127.0.0.1:6379 (apt-get install redis-server)")
    yield client
    client.close()


@pytest.fixture
def prefix(redis_client):
    """A Bull key prefix of this test's own (QUEUE_BULL_PREFIX), removed afterwards."""
    name = f"irtest-{uuid.uuid4().hex[:12]}"
    yield name
    keys = list(redis_client.scan_iter(match=f"{name}:*"))
    if keys:
        redis_client.delete(*keys)


def _bull_queue(
    client, prefix: str, *, wait, active, paused=(), priority=(), delayed=(), prioritized=()
):
    """Keys as Bull v4 lays them out for n8n's queue ``jobs``: a prioritised job is in the
    wait list and in the priority set (Bull's addJobWithPriority does both)."""
    base = f"{prefix}:jobs"
    if wait:
        client.rpush(f"{base}:wait", *wait)
    if active:
        client.rpush(f"{base}:active", *active)
    if paused:
        client.rpush(f"{base}:paused", *paused)
    for job_id, score in priority:
        client.zadd(f"{base}:priority", {job_id: score})
    for job_id, score in delayed:
        client.zadd(f"{base}:delayed", {job_id: score})
    for job_id, score in prioritized:
        client.zadd(f"{base}:prioritized", {job_id: score})
    for job_id in [*wait, *active, *paused]:
        client.hset(f"{base}:{job_id}", mapping={"name": "job", "data": "{}"})


def test_waiting_counts_wait_and_paused_once_and_active_separately(redis_client, prefix):
    _bull_queue(
        redis_client,
        prefix,
        wait=["1", "2", "3", "7"],
        active=["4", "5"],
        paused=["6"],
        priority=[("7", 1)],  # job 7 is also in wait: not counted twice
        delayed=[("8", 1_900_000_000_000)],  # scheduled for later: not waiting
    )
    waiting, active, details = n8n_redis.queue_counts(redis_client, prefix, "jobs")
    assert (waiting, active) == (5, 2)
    assert details == {"wait": 4, "paused": 1, "active": 2, "priority": 1}


def test_bullmq_layout_adds_the_prioritized_set(redis_client, prefix):
    _bull_queue(redis_client, prefix, wait=["1"], active=[], prioritized=[("2", 1), ("3", 2)])
    assert n8n_redis.queue_counts(redis_client, prefix, "jobs", layout="bullmq")[:2] == (3, 0)
    assert n8n_redis.queue_counts(redis_client, prefix, "jobs", layout="bull")[:2] == (1, 0)


def test_an_empty_queue_reads_zero(redis_client, prefix):
    assert n8n_redis.queue_counts(redis_client, prefix, "jobs")[:2] == (0, 0)


def test_run_job_stores_waiting_and_active_at_the_interval_end(redis_client, prefix, db, db_url):
    _bull_queue(redis_client, prefix, wait=[str(i) for i in range(120)], active=["a", "b", "c"])
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    job = {"server": "app-1", "source": {"type": "n8n_redis", "prefix": prefix, "db": 0}}
    gate = QualityGate(engine="pandas")
    result = run_job(job, end - timedelta(minutes=5), end, gate=gate)
    assert (result["rows_in"], result["rows_written"], result["rows_quarantined"]) == (2, 2, 0)
    assert result["quality_success"] is True
    redis_client.rpush(f"{prefix}:jobs:wait", "late")  # a retry reads again, same timestamp
    run_job(job, end - timedelta(minutes=5), end, gate=gate)
    with db.cursor() as cur:
        cur.execute(
            """SELECT r.metric, r.label, s.ts, s.value, r.cadence_s
               FROM infra_review.samples s JOIN infra_review.series r USING (series_id)
               ORDER BY r.metric"""
        )
        rows = cur.fetchall()
    assert rows == [
        ("n8n_queue_active", "jobs", end, 3.0, 300),
        ("n8n_queue_waiting", "jobs", end, 121.0, 300),
    ]


def test_a_backfill_of_a_past_interval_reads_nothing(prefix):
    end = datetime(2026, 1, 1, tzinfo=UTC)
    frame = n8n_redis.collect("app-1", {"prefix": prefix}, end - timedelta(minutes=5), end)
    assert frame.empty


def test_password_from_the_environment(tmp_path, monkeypatch):
    redis = pytest.importorskip("redis")
    with services.redis_server(tmp_path, password="t3st-pass") as server:
        monkeypatch.setenv("TEST_N8N_REDIS_PASSWORD", "t3st-pass")
        source = {
            "host": "127.0.0.1",
            "port": server.port,
            "password_env": "TEST_N8N_REDIS_PASSWORD",
        }
        client = n8n_redis.client(source)
        client.rpush("bull:jobs:wait", "1", "2")
        assert n8n_redis.queue_counts(client, "bull", "jobs")[:2] == (2, 0)
        client.close()
        monkeypatch.setenv("TEST_N8N_REDIS_PASSWORD", "wrong")
        with pytest.raises(redis.AuthenticationError):
            n8n_redis.client(source).ping()


def test_redis_down_is_retried_then_fails(tmp_path):
    port = services.free_port()
    end = datetime.now(UTC)
    source = {"host": "127.0.0.1", "port": port, "attempts": 3, "backoff": "0.05s", "timeout": "1s"}
    with pytest.raises(SourceUnavailable, match="after 3 attempt"):
        n8n_redis.collect("app-1", source, end - timedelta(minutes=5), end)

"""n8n's Bull queue read from a real Redis: the machine's redis-server on 127.0.0.1:6379
(keys under a unique test prefix, deleted afterwards) and throwaway servers for auth and
outages."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from infra_review import clock
from infra_review.collect import run_job
from infra_review.collectors import n8n_redis
from infra_review.collectors.common import SourceUnavailable
from infra_review.errors import InputError
from infra_review.quality.gate import QualityGate
from tests.integration import services
from tests.support.net import free_port_with_bus

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
    for pattern in (f"{name}:*", f"{{{name}}}:*"):  # also n8n's cluster form {prefix}
        keys = list(redis_client.scan_iter(match=pattern))
        if keys:
            redis_client.delete(*keys)


def _bull_queue(
    client,
    prefix: str,
    *,
    wait,
    active,
    paused=(),
    priority=(),
    delayed=(),
    prioritized=(),
    unlocked=(),
):
    """Keys as Bull v4 lays them out for n8n's queue ``jobs``: a prioritised job is in the
    wait list and in the priority set (Bull's addJobWithPriority does both); an active job
    holds its worker's lock unless listed in ``unlocked``."""
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
    for job_id in active:
        if job_id not in unlocked:
            client.set(f"{base}:{job_id}:lock", "worker-token", px=60_000)


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
    waiting, active, stalled, details = n8n_redis.queue_counts(redis_client, prefix, "jobs")
    assert (waiting, active, stalled) == (5, 2, 0)
    assert details == {
        "wait": 4,
        "paused": 1,
        "active": 2,
        "locked": 2,
        "stalled": 0,
        "priority": 1,
    }


def test_an_active_job_without_its_lock_is_stalled(redis_client, prefix):
    _bull_queue(redis_client, prefix, wait=["1"], active=["2", "3", "4"], unlocked=["3", "4"])
    assert n8n_redis.queue_counts(redis_client, prefix, "jobs")[:3] == (1, 1, 2)
    # BullMQ keeps the same lock key, <prefix>:<queue>:<id>:lock
    assert n8n_redis.queue_counts(redis_client, prefix, "jobs", layout="bullmq")[:3] == (1, 1, 2)
    redis_client.delete(f"{prefix}:jobs:2:lock")  # the last live worker's lock expires
    assert n8n_redis.queue_counts(redis_client, prefix, "jobs")[:3] == (1, 0, 3)


def test_prefix_from_the_environment_and_the_cluster_form(monkeypatch):
    monkeypatch.setenv("TEST_QUEUE_BULL_PREFIX", "n8n-prod")
    assert n8n_redis.queue_prefix({"prefix_env": "TEST_QUEUE_BULL_PREFIX"}) == "n8n-prod"
    assert n8n_redis.queue_prefix({}) == "bull"
    assert n8n_redis.queue_prefix({"cluster": True}) == "{bull}"
    assert n8n_redis.queue_prefix({"prefix": "{bull}", "cluster": True}) == "{bull}"
    assert n8n_redis.queue_names({"queues": ["jobs", "jobs-pool-a", "jobs"]}) == [
        "jobs",
        "jobs-pool-a",
    ]
    assert n8n_redis.queue_names({"queue": "jobs-x"}) == ["jobs-x"]
    with pytest.raises(InputError, match="queues"):
        n8n_redis.queue_names({"queues": "jobs"})


def test_bullmq_layout_adds_the_prioritized_set(redis_client, prefix):
    _bull_queue(redis_client, prefix, wait=["1"], active=[], prioritized=[("2", 1), ("3", 2)])
    assert n8n_redis.queue_counts(redis_client, prefix, "jobs", layout="bullmq")[:2] == (3, 0)
    assert n8n_redis.queue_counts(redis_client, prefix, "jobs", layout="bull")[:2] == (1, 0)


def test_an_empty_queue_reads_zero(redis_client, prefix):
    assert n8n_redis.queue_counts(redis_client, prefix, "jobs")[:2] == (0, 0)


def test_run_job_stores_waiting_active_and_stalled_at_the_interval_end(
    redis_client, prefix, db, db_url
):
    _bull_queue(
        redis_client,
        prefix,
        wait=[str(i) for i in range(120)],
        active=["a", "b", "c", "d"],
        unlocked=["d"],
    )
    job = {"server": "app-1", "source": {"type": "n8n_redis", "prefix": prefix, "db": 0}}
    gate = QualityGate(engine="pandas")
    with clock.frozen(datetime(2026, 12, 1, 3, 0, tzinfo=UTC)) as end:
        result = run_job(job, end - timedelta(minutes=5), end, gate=gate)
        assert (result["rows_in"], result["rows_written"], result["rows_quarantined"]) == (
            3,
            3,
            0,
        )
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
        ("n8n_queue_stalled", "jobs", end, 1.0, 300),
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


# --- Real Bull (the library n8n 2.41 uses) with a worker killed by SIGKILL ----------------

BULL_VERSION = "4.16.4"
# n8n's own queue settings, with short locks so the test waits seconds, not half a minute
BULL_SCRIPT = """
const Queue = require('bull');
const [mode, prefix, name, arg] = process.argv.slice(2);
const queue = new Queue(name, {
  prefix,
  redis: {host: '127.0.0.1', port: 6379},
  settings: {lockDuration: 1500, lockRenewTime: 500, stalledInterval: 3600000,
             maxStalledCount: 0},
});
if (mode === 'add') {
  (async () => {
    for (let i = 0; i < Number(arg); i++) await queue.add({i});
    await queue.close();
  })();
} else if (mode === 'work') {
  queue.process(Number(arg), (job) => new Promise(() => {}));  // never finishes
} else if (mode === 'counts') {
  queue.getJobCounts().then((c) => { console.log(JSON.stringify(c)); return queue.close(); });
}
"""


def _npm_package(name: str, version: str) -> Path:
    """node_modules with ``name@version``, installed once per machine outside the repo."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.skip("node and npm are needed for the real Bull test (apt-get install nodejs npm)")
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = root / "infra-review-tests" / f"{name}-{version}"
    if not (folder / "node_modules" / name / "package.json").exists():
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "package.json").write_text(f'{{"name": "{name}-for-tests", "private": true}}\n')
        done = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", f"{name}@{version}"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0:
            raise RuntimeError(f"npm install {name}@{version} failed:\n{done.stderr}")
    installed = json.loads((folder / "node_modules" / name / "package.json").read_text())
    assert installed["version"] == version
    return folder / "node_modules"


@pytest.fixture(scope="module")
def bull_modules() -> Path:
    return _npm_package("bull", BULL_VERSION)


def _bull(modules: Path, script: Path, *args: str, wait: bool = True):
    command = [shutil.which("node") or "node", str(script), *args]
    env = {**os.environ, "NODE_PATH": str(modules)}
    if not wait:
        return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    return subprocess.run(command, env=env, check=True, capture_output=True, text=True, timeout=60)


def _until(condition, what: str, timeout_s: float = 20):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.parametrize(
    ("cluster", "queue"),
    [(False, "jobs"), (True, "jobs-pool-a")],  # n8n's default; a worker pool in cluster mode
)
def test_jobs_of_a_killed_worker_are_stalled_not_active(
    bull_modules, redis_client, prefix, tmp_path, db, db_url, cluster, queue
):
    script = tmp_path / "bull.js"
    script.write_text(BULL_SCRIPT)
    bull_prefix = "{" + prefix + "}" if cluster else prefix
    base = f"{bull_prefix}:{queue}"
    _bull(bull_modules, script, "add", bull_prefix, queue, "5")
    assert redis_client.llen(f"{base}:wait") == 5  # the layout n8n writes
    worker = _bull(bull_modules, script, "work", bull_prefix, queue, "2", wait=False)
    try:
        _until(lambda: redis_client.llen(f"{base}:active") == 2, "two active jobs")
        ids = [i.decode() for i in redis_client.lrange(f"{base}:active", 0, -1)]
        _until(lambda: all(redis_client.exists(f"{base}:{i}:lock") for i in ids), "their locks")
        live = n8n_redis.queue_counts(redis_client, bull_prefix, queue)
        assert live[:3] == (3, 2, 0)  # a live worker's jobs are active
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    _until(
        lambda: not any(redis_client.exists(f"{base}:{i}:lock") for i in ids),
        "the dead worker's locks to expire",
    )
    # Bull itself still calls them active: nothing alive runs the stalled check
    counts = json.loads(_bull(bull_modules, script, "counts", bull_prefix, queue).stdout)
    assert (counts["active"], counts["waiting"]) == (2, 3)
    assert n8n_redis.queue_counts(redis_client, bull_prefix, queue)[:3] == (3, 0, 2)
    # n8n's cluster-form prefix on a plain Redis (the cluster client has its own test)
    source = {"type": "n8n_redis", "queues": [queue], "prefix": bull_prefix}
    with clock.frozen(datetime(2026, 12, 1, 3, 0, tzinfo=UTC)) as now:
        result = run_job(
            {"server": "app-1", "source": source},
            now - timedelta(minutes=5),
            now,
            gate=QualityGate(engine="pandas"),
        )
    assert (result["rows_in"], result["rows_quarantined"]) == (3, 0)
    with db.cursor() as cur:
        cur.execute(
            """SELECT r.metric, r.label, s.value
               FROM infra_review.samples s JOIN infra_review.series r USING (series_id)
               ORDER BY r.metric"""
        )
        assert cur.fetchall() == [
            ("n8n_queue_active", queue, 0.0),
            ("n8n_queue_stalled", queue, 2.0),
            ("n8n_queue_waiting", queue, 3.0),
        ]


BULLMQ_VERSION = "5.81.5"
BULLMQ_SCRIPT = """
const {Queue, Worker} = require('bullmq');
const [mode, prefix, name, arg] = process.argv.slice(2);
const connection = {host: '127.0.0.1', port: 6379, maxRetriesPerRequest: null};
if (mode === 'add') {
  const queue = new Queue(name, {connection, prefix});
  (async () => {
    for (let i = 0; i < Number(arg); i++) await queue.add('job', {i});
    await queue.close();
  })();
} else if (mode === 'work') {
  new Worker(name, () => new Promise(() => {}), {
    connection, prefix, concurrency: Number(arg), lockDuration: 1500, lockRenewTime: 500,
    stalledInterval: 3600000, maxStalledCount: 0,
  });
}
"""


def test_bullmq_jobs_of_a_killed_worker_are_stalled_too(redis_client, prefix, tmp_path):
    """BullMQ (layout: bullmq) keeps the same lock key; checked against the real library."""
    modules = _npm_package("bullmq", BULLMQ_VERSION)
    script = tmp_path / "bullmq.js"
    script.write_text(BULLMQ_SCRIPT)
    base = f"{prefix}:jobs"
    _bull(modules, script, "add", prefix, "jobs", "4")
    worker = _bull(modules, script, "work", prefix, "jobs", "3", wait=False)
    try:
        _until(lambda: redis_client.llen(f"{base}:active") == 3, "three active jobs")
        ids = [i.decode() for i in redis_client.lrange(f"{base}:active", 0, -1)]
        _until(lambda: all(redis_client.exists(f"{base}:{i}:lock") for i in ids), "their locks")
        assert n8n_redis.queue_counts(redis_client, prefix, "jobs", "bullmq")[:3] == (1, 3, 0)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    _until(
        lambda: not any(redis_client.exists(f"{base}:{i}:lock") for i in ids),
        "the dead worker's locks to expire",
    )
    assert redis_client.llen(f"{base}:active") == 3  # nothing alive moves them back
    assert n8n_redis.queue_counts(redis_client, prefix, "jobs", "bullmq")[:3] == (1, 0, 3)


def test_a_redis_cluster_with_the_braced_prefix(tmp_path):
    """n8n in cluster mode: a one-node Redis cluster holding every slot, keys under {bull}."""
    from redis.cluster import RedisCluster

    port = free_port_with_bus()  # the cluster bus is port + 10000; Redis refuses ports > 55535
    args = [services.binary("redis-server"), "--port", str(port), "--bind", "127.0.0.1"]
    args += ["--save", "", "--appendonly", "no", "--dir", str(tmp_path)]
    args += ["--cluster-enabled", "yes", "--cluster-config-file", str(tmp_path / "nodes.conf")]
    log = (tmp_path / "redis.log").open("wb")
    server = subprocess.Popen(
        args, stdout=log, stderr=subprocess.STDOUT, env=services.real_clock_env()
    )
    try:
        import redis

        admin = redis.Redis(host="127.0.0.1", port=port)

        def started() -> bool:
            if server.poll() is not None:
                log_text = (tmp_path / "redis.log").read_text(errors="replace")
                raise AssertionError(f"redis-server exited ({server.returncode}):\n{log_text}")
            return _pings(admin)

        _until(started, "redis-server to start")
        admin.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
        _until(lambda: admin.cluster("info")["cluster_state"] == "ok", "the cluster")
        admin.close()
        cluster = RedisCluster(host="127.0.0.1", port=port)
        base = "{bull}:jobs"
        cluster.rpush(f"{base}:wait", "3", "4", "5")
        cluster.rpush(f"{base}:active", "1", "2")
        cluster.set(f"{base}:1:lock", "token", px=60_000)
        cluster.close()
        source = {"type": "n8n_redis", "port": port, "cluster": True}  # prefix bull -> {bull}
        with clock.frozen(datetime(2026, 12, 1, 3, 0, tzinfo=UTC)) as now:
            frame = n8n_redis.collect("app-1", source, now - timedelta(minutes=5), now)
        assert dict(zip(frame["metric"], frame["value"], strict=True)) == {
            "n8n_queue_waiting": 3.0,
            "n8n_queue_active": 1.0,
            "n8n_queue_stalled": 1.0,
        }
    finally:
        server.terminate()
        server.wait(timeout=15)


def _pings(client) -> bool:
    import redis

    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False

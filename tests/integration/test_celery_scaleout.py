"""The pipeline runs distributed: a real Airflow 3 CeleryExecutor cluster (this machine's Redis
and PostgreSQL; scheduler, dag-processor, api-server and two Celery workers as processes)
collects a generated fleet of 50 servers for a quarter and reviews it.

One collect run, with worker w2 killed in the middle of it (SIGKILL of its whole process
tree, as a crashed machine), then one capacity review. What must hold:
- the mapped ``collect`` tasks ran on both workers (task_instance.hostname), and every
  generated sample is stored exactly once (count and sum per series, against the fixture);
- the tasks w2 held when it died failed on heartbeat timeout and were retried on w1;
- a replacement worker (w3, what ``restart: always`` gives in compose) joins, and the capacity
  review's mapped ``evaluate`` runs on both live workers and writes exactly one current
  decision per server (and one for the fleet), with the expected decision where the
  fixture forces one (RAM above 85% for the whole quarter: upgrade_ram).

The collectors read CSV fixtures (the ``csv`` source) so the test measures Airflow and the
pipeline, not a data source. One sample per hour over a quarter is 6,552 rows per task and
gives the review full coverage.
"""

from __future__ import annotations

import shutil
import socket
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from infra_review.quarter import Quarter
from tests.integration.airflow_cluster import (
    ROOT,
    AirflowCluster,
    create_database,
    drop_database,
    wait_for,
    with_database,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

N_SERVERS = 50
STEP_S = 3600
METRICS = ("ram_used_pct", "cpu_used_pct", "swap_io_pages_per_s")
QUARTER = Quarter.parse("2026Q2")  # collected and reviewed
KILL_AFTER = 30  # kill w2 once this many collect tasks succeeded (and one runs on w2)
HOT_RAM = {"srv-001", "srv-002", "srv-003"}  # RAM above 85% the whole quarter
REDIS = ("127.0.0.1", 6379)
RUN_TIMEOUT_S = 1200  # generous: CI shares 2 cores; see docs/deployment.md for measured times
WINDOW = (QUARTER.start, QUARTER.end)
DAG_IDS = ("collect_metrics", "capacity_review")


# --- fixtures: the generated fleet and its samples ------------------------------------------


def server_names(n: int = N_SERVERS) -> list[str]:
    return [f"srv-{i:03d}" for i in range(1, n + 1)]


Window = tuple[datetime, datetime]


def hourly(window: Window) -> list[datetime]:
    out, ts = [], window[0]
    while ts < window[1]:
        out.append(ts)
        ts += timedelta(seconds=STEP_S)
    return out


def values(server: str, metric: str, hours: int, offset: int) -> list[float]:
    """Deterministic values (3 decimals, so CSV and the database agree exactly)."""
    import numpy as np

    index = int(server.rsplit("-", 1)[1])
    rng = np.random.default_rng(index * 1000 + METRICS.index(metric) * 10 + offset)
    daily = np.sin(np.arange(hours) * 2 * np.pi / 24)
    if metric == "ram_used_pct":
        base = 92.0 if server in HOT_RAM else 35.0 + index % 20
        raw = base + 2.0 * daily + rng.uniform(-1, 1, hours)
    elif metric == "cpu_used_pct":
        raw = 15.0 + index % 30 + 10.0 * daily + rng.uniform(-3, 3, hours)
    else:
        raw = np.zeros(hours)
    return [round(float(v), 3) for v in np.clip(raw, 0, 100)]


def write_samples(samples_dir: Path, window: Window) -> dict[tuple[str, str], tuple[int, float]]:
    """One CSV per server for the window (the samples contract); returns what the store must
    hold afterwards: (server, metric) -> (sample count, sum of values)."""
    folder = samples_dir / window[0].strftime("%Y%m%d")
    folder.mkdir(parents=True, exist_ok=True)
    stamps = [ts.strftime("%Y-%m-%dT%H:%M:%SZ") for ts in hourly(window)]
    offset = window[0].year * 10 + window[0].month
    expected = {}
    for server in server_names():
        lines = ["ts,server,metric,value,label"]
        for metric in METRICS:
            series = values(server, metric, len(stamps), offset)
            lines += [f"{ts},{server},{metric},{v}," for ts, v in zip(stamps, series, strict=True)]
            expected[(server, metric)] = (len(series), round(sum(series), 3))
        (folder / f"{server}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return expected


def write_config(config_dir: Path, samples_dir: Path) -> None:
    """The project's config files, with fleet.yaml replaced by the generated fleet."""
    import yaml

    config_dir.mkdir(parents=True, exist_ok=True)
    for source in (ROOT / "include" / "config").glob("*.yaml"):
        if source.name != "fleet.yaml":
            shutil.copy(source, config_dir / source.name)
    fleet = {
        "requirements": {"regions": ["KZ"], "isolated_data_classes": []},
        "defaults": {"scrape_interval": "1h"},
        "servers": [
            {
                "name": name,
                "provider": "example-kz-cloud",
                "region": "KZ",
                "plan": "vps-16g",
                "ram_gb": 16,
                "cpu_cores": 4,
                "services": ["app"],
                "data_classes": [],
                # unnamed, like the examples in fleet.yaml (the map index label handles it)
                "sources": [{"type": "csv", "path": str(samples_dir / "*" / f"{name}.csv")}],
            }
            for name in server_names()
        ],
        "local_host": {"enabled": False},
    }
    (config_dir / "fleet.yaml").write_text(yaml.safe_dump(fleet, sort_keys=False))


# --- the cluster ----------------------------------------------------------------------------


def _redis_db() -> int:
    """An empty Redis database number other than 0 (others' work lives in 0)."""
    import random

    import redis

    try:
        client = redis.Redis(*REDIS, socket_connect_timeout=2)
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis on {REDIS[0]}:{REDIS[1]} ({exc}); .ci/run starts one")
    candidates = list(range(1, 16))
    random.shuffle(candidates)
    for db in candidates:
        if redis.Redis(*REDIS, db=db).dbsize() == 0:
            return db
    pytest.skip("no empty Redis database 1-15 for the Celery broker")


def _cleanup_redis(db: int, queue: str) -> None:
    """Delete this cluster's broker keys: its queue, and Celery's bookkeeping (unacked
    messages, pidbox and event bindings) when nothing else lives in the database."""
    import redis

    client = redis.Redis(*REDIS, db=db)
    keys = [k.decode() for k in client.scan_iter(count=1000)]
    ours = [k for k in keys if queue in k]
    if ours:
        client.delete(*ours)
    rest = [k for k in keys if queue not in k]
    celery_keys = ("_kombu", "unacked", "celery")
    if rest and all(k.startswith(celery_keys) or "pidbox" in k for k in rest):
        client.delete(*rest)


@pytest.fixture(scope="module")
def scaleout(pg_server_url: str, tmp_path_factory) -> Iterator[dict[str, Any]]:
    """A running cluster with collect_metrics parsed and unpaused, plus what the fixtures hold.

    The finalizer stops every process it started, even when a test or the setup failed."""
    if not shutil.which("redis-server") and not shutil.which("redis-cli"):
        pytest.skip("redis-server is not installed; .ci/run installs it")
    from infra_review.store.migrate import upgrade

    workdir = tmp_path_factory.mktemp("celery-scaleout")
    suffix = uuid.uuid4().hex[:10]
    meta_db, decisions_db = f"ir_af_meta_{suffix}", f"ir_scaleout_{suffix}"
    samples_dir, config_dir = workdir / "samples", workdir / "config"
    timings: dict[str, float] = {}
    started = time.monotonic()
    expected = write_samples(samples_dir, WINDOW)
    write_config(config_dir, samples_dir)
    timings["fixtures_s"] = time.monotonic() - started

    redis_db = _redis_db()
    create_database(pg_server_url, meta_db)
    create_database(pg_server_url, decisions_db)
    decisions_url = with_database(pg_server_url, decisions_db)
    cluster = AirflowCluster(
        workdir=workdir,
        metadata_url=with_database(pg_server_url, meta_db),
        decisions_url=decisions_url,
        redis_url=f"redis://{REDIS[0]}:{REDIS[1]}/{redis_db}",
        extra_env={
            "INFRA_REVIEW_CONFIG_DIR": str(config_dir),
            # a killed worker's tasks: noticed after 30 s without a heartbeat, not 5 min
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "30",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
            # a message a killed worker had taken but not started goes back to the queue
            "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": "120",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            # only the runs the tests trigger: no every-5-minutes run beside them
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "false",
        },
    )
    try:
        started = time.monotonic()
        upgrade(decisions_url)
        cluster.run("db", "migrate")
        timings["migrate_s"] = time.monotonic() - started
        started = time.monotonic()
        cluster.start_core()
        cluster.start_worker("w1")
        cluster.start_worker("w2")
        cluster.wait_healthy(timeout=420)
        for dag_id in DAG_IDS:
            cluster.wait_for_dag(dag_id)
            cluster.unpause(dag_id)
        wait_for(
            lambda: _workers_ready(cluster, ("w1", "w2")),
            180,
            "both Celery workers to be ready",
            cluster.tails,
        )
        timings["startup_s"] = time.monotonic() - started
        yield {
            "cluster": cluster,
            "decisions_url": decisions_url,
            "expected": expected,
            "timings": timings,
            "redis_db": redis_db,
        }
    finally:
        cluster.stop()
        leftovers = cluster.leftovers()
        _cleanup_redis(redis_db, cluster.queue)
        drop_database(pg_server_url, meta_db)
        drop_database(pg_server_url, decisions_db)
        print(f"\nscale-out timings: {timings}")
        assert not leftovers, f"processes left running: {leftovers}"


def _workers_ready(cluster: AirflowCluster, names: tuple[str, ...]) -> bool:
    """Celery logs ``ready.`` once a worker consumes; check the logs of both."""
    return all("ready." in cluster.tail(name, 200_000) for name in names)


def hostname(name: str) -> str:
    return f"{name}@{socket.gethostname()}"


# --- helpers over the two databases ---------------------------------------------------------


def trigger_collect(cluster: AirflowCluster, window: Window) -> str:
    """A collect_metrics run whose data interval is the whole window (a backfill)."""
    return cluster.trigger(
        "collect_metrics",
        {
            "dag_run_id": f"scaleout-{window[0]:%Y%m%d}-{uuid.uuid4().hex[:6]}",
            "logical_date": window[1].isoformat(),
            "data_interval_start": window[0].isoformat(),
            "data_interval_end": window[1].isoformat(),
        },
    )


def collect_tasks(cluster: AirflowCluster, run_id: str) -> list[tuple[int, str, str, int]]:
    """(map_index, state, hostname, try_number) of every mapped collect task of a run."""
    return cluster.query(
        """SELECT map_index, state, hostname, try_number FROM task_instance
           WHERE dag_id = 'collect_metrics' AND run_id = %s AND task_id = 'collect'
           ORDER BY map_index""",
        (run_id,),
    )


def stored_series(decisions_url: str, window: Window) -> dict[tuple[str, str], tuple[int, float]]:
    """(server, metric) -> (count, sum) in the metric store for the window."""
    import psycopg2

    conn = psycopg2.connect(decisions_url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(
                """SELECT r.server, r.metric, count(*), round(sum(s.value)::numeric, 3)
                   FROM infra_review.samples s JOIN infra_review.series r USING (series_id)
                   WHERE s.ts >= %s AND s.ts < %s
                   GROUP BY r.server, r.metric""",
                window,
            )
            return {(srv, m): (int(n), float(total)) for srv, m, n, total in cur.fetchall()}
    finally:
        conn.close()


def assert_samples_exactly_once(
    decisions_url: str, window: Window, expected: dict[tuple[str, str], tuple[int, float]]
) -> None:
    stored = stored_series(decisions_url, window)
    missing = sorted(set(expected) - set(stored))
    extra = sorted(set(stored) - set(expected))
    assert not missing, f"series never loaded: {missing[:10]}"
    assert not extra, f"series nobody generated: {extra[:10]}"
    wrong = {k: (stored[k], v) for k, v in expected.items() if stored[k] != v}
    assert not wrong, f"(count, sum) stored vs generated differ: {dict(list(wrong.items())[:5])}"
    total = sum(n for n, _ in expected.values())
    assert sum(n for n, _ in stored.values()) == total


@pytest.fixture(scope="module")
def collect_run(scaleout: dict[str, Any]) -> dict[str, Any]:
    """One collect_metrics run over the quarter; w2 is killed once KILL_AFTER tasks have
    succeeded and a collect task is running on it. Returns what the tests check."""
    cluster: AirflowCluster = scaleout["cluster"]
    victim = hostname("w2")
    started = time.monotonic()
    run_id = trigger_collect(cluster, WINDOW)
    held: list[int] = []

    def time_to_kill() -> bool:
        tasks = collect_tasks(cluster, run_id)
        if cluster.run_state("collect_metrics", run_id) in ("success", "failed"):
            raise AssertionError(f"the run ended before w2 could be killed: {tasks}")
        done = sum(1 for t in tasks if t[1] == "success")
        held[:] = [t[0] for t in tasks if t[1] == "running" and t[2] == victim]
        return done >= KILL_AFTER and bool(held)

    wait_for(time_to_kill, RUN_TIMEOUT_S, "the middle of the collect run", cluster.tails)
    cluster.kill("w2")  # at once: every query in between lets a held task finish first
    scaleout["timings"]["w2_killed_after_s"] = round(time.monotonic() - started)
    state = cluster.wait_for_run("collect_metrics", run_id, RUN_TIMEOUT_S)
    scaleout["timings"]["collect_50_servers_s"] = round(time.monotonic() - started)
    history = cluster.query(
        """SELECT map_index, try_number, state, hostname FROM task_instance_history
           WHERE dag_id = 'collect_metrics' AND run_id = %s AND task_id = 'collect'""",
        (run_id,),
    )
    return {
        "run_id": run_id,
        "state": state,
        "held": list(held),
        "tasks": {t[0]: t for t in collect_tasks(cluster, run_id)},
        "history": history,
    }


# --- the tests ------------------------------------------------------------------------------


def test_collect_runs_on_both_workers_and_loads_every_sample_once(scaleout, collect_run) -> None:
    cluster: AirflowCluster = scaleout["cluster"]
    tasks = collect_run["tasks"]
    assert collect_run["state"] == "success", f"{tasks}\n{cluster.tails()}"
    assert sorted(tasks) == list(range(N_SERVERS)), "one mapped collect task per server"
    assert {t[1] for t in tasks.values()} == {"success"}

    finished_on = [t[2] for t in tasks.values()]  # where each task's final try ran
    per_worker = {h: finished_on.count(h) for h in set(finished_on)}
    scaleout["timings"]["tasks_per_worker"] = per_worker  # type: ignore[assignment]
    assert set(per_worker) == {hostname("w1"), hostname("w2")}, per_worker

    assert_samples_exactly_once(scaleout["decisions_url"], WINDOW, scaleout["expected"])
    import psycopg2

    conn = psycopg2.connect(scaleout["decisions_url"])
    try:
        with conn, conn.cursor() as cur:
            cur.execute(
                "SELECT count(*) FROM infra_review.load_batches WHERE window_start = %s",
                (QUARTER.start,),
            )
            assert cur.fetchone()[0] == N_SERVERS, "one load batch per server"
            cur.execute("SELECT count(*) FROM infra_review.quarantine")
            assert cur.fetchone()[0] == 0, "clean fixtures: nothing quarantined"
    finally:
        conn.close()


def test_tasks_of_the_killed_worker_were_retried_on_the_other(scaleout, collect_run) -> None:
    held, tasks = collect_run["held"], collect_run["tasks"]
    assert held, "w2 held no task when it was killed"
    assert collect_run["state"] == "success"
    # A try on w2 that is in the history did not end there: the kill ended it. (A task seen
    # running on w2 just before the kill may still have finished in the instant between.)
    died_on_w2 = {m for m, _, state, host in collect_run["history"] if host == hostname("w2")}
    assert died_on_w2, f"no try was cut short on w2: {collect_run['history']}"
    for index in held:
        _, state, host, tries = tasks[index]
        assert state == "success"
        assert index in died_on_w2 or (host == hostname("w2") and tries == 1), (
            f"collect[{index}] held by w2: {tasks[index]}"
        )
    for index in died_on_w2:
        _, state, host, tries = tasks[index]
        assert state == "success"
        assert host == hostname("w1"), f"collect[{index}] killed on w2 finished on {host}"
        assert tries >= 2, f"collect[{index}] killed on w2 was not retried"
    # nothing lost, nothing doubled by the retries
    assert_samples_exactly_once(scaleout["decisions_url"], WINDOW, scaleout["expected"])


def test_capacity_review_decides_every_server_exactly_once(scaleout, collect_run) -> None:
    """A replacement worker joins; the review's mapped tasks run on both live workers."""
    cluster: AirflowCluster = scaleout["cluster"]
    decisions_url = scaleout["decisions_url"]
    assert collect_run["state"] == "success", "needs the collected quarter"
    started = time.monotonic()
    cluster.start_worker("w3")
    wait_for(lambda: _workers_ready(cluster, ("w3",)), 300, "worker w3", cluster.tails)
    scaleout["timings"]["w3_ready_s"] = round(time.monotonic() - started)
    started = time.monotonic()
    run_id = cluster.trigger(
        "capacity_review",
        {
            "dag_run_id": f"scaleout-review-{QUARTER}-{uuid.uuid4().hex[:6]}",
            "logical_date": None,
            "conf": {"quarter": str(QUARTER)},
        },
    )
    state = cluster.wait_for_run("capacity_review", run_id, RUN_TIMEOUT_S)
    scaleout["timings"]["capacity_review_50_servers_s"] = round(time.monotonic() - started)
    evaluated = cluster.query(
        """SELECT state, hostname FROM task_instance
           WHERE dag_id = 'capacity_review' AND run_id = %s AND task_id = 'evaluate'""",
        (run_id,),
    )
    assert state == "success", f"{state}: {evaluated}\n{cluster.tails()}"
    assert len(evaluated) == N_SERVERS and {s for s, _ in evaluated} == {"success"}
    assert {h for _, h in evaluated} == {hostname("w1"), hostname("w3")}

    import psycopg2

    conn = psycopg2.connect(decisions_url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(
                """SELECT d.subject_kind, d.subject, d.decision, r.dag_run_id
                   FROM infra_review.decisions d JOIN infra_review.review_runs r USING (run_id)
                   WHERE d.review_type = 'capacity' AND d.quarter = %s""",
                (str(QUARTER),),
            )
            rows = cur.fetchall()
            cur.execute(
                """SELECT subject, outcome FROM infra_review.criterion_results c
                   JOIN infra_review.review_runs r USING (run_id)
                   WHERE r.dag_run_id = %s AND c.criterion_id = 'ram.sustained'""",
                (run_id,),
            )
            ram_sustained = dict(cur.fetchall())
    finally:
        conn.close()
    servers = [r for r in rows if r[0] == "server"]
    assert sorted(r[1] for r in servers) == server_names(), "one decision per server, once"
    assert len([r for r in rows if r[0] == "fleet"]) == 1, "one fleet decision"
    assert {r[3] for r in rows} == {run_id}, "every decision comes from this run"
    decided = {r[1]: r[2] for r in servers}
    for server in server_names():
        if server in HOT_RAM:
            assert decided[server] == "upgrade_ram", (server, decided[server])
            assert ram_sustained[server] == "met"
        else:
            assert decided[server] not in ("upgrade_ram", "upgrade_cpu"), (server, decided[server])
            assert ram_sustained[server] == "not_met"

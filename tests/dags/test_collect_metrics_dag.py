"""collect_metrics end to end with dag.test(): local host samples land once, even on rerun."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.dags.conftest import task_states

pytestmark = pytest.mark.dags


# The run's interval and "now" are stated, not read from the wall clock: the collectors
# refuse a present-time reading (local host, probes, the queue) for an interval that ended
# more than 15 minutes before now, so the test sets now (infra_review.clock) just after it.
LOGICAL = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _now_just_after_the_interval(monkeypatch):
    monkeypatch.setenv("INFRA_REVIEW_NOW", (LOGICAL + timedelta(minutes=6)).isoformat())


def _latest_five_minutes() -> datetime:
    return LOGICAL


def test_collect_metrics_loads_local_host_once(run_dag, db):
    logical = _latest_five_minutes()
    first = run_dag("collect_metrics", logical_date=logical)
    assert first.state == "success", task_states(first)
    second = run_dag("collect_metrics", logical_date=logical)
    assert second.state == "success", task_states(second)

    with db.cursor() as cur:
        cur.execute(
            """SELECT r.metric, count(*), min(s.ts), max(s.value)
               FROM infra_review.samples s JOIN infra_review.series r USING (series_id)
               GROUP BY r.metric ORDER BY r.metric"""
        )
        rows = cur.fetchall()
    assert [r[0] for r in rows] == ["cpu_used_pct", "ram_used_pct", "swap_io_pages_per_s"]
    for metric, count, ts, value in rows:
        assert count == 1, f"{metric} duplicated by the rerun"
        assert ts == first.data_interval_end, "a sample is stamped with its interval's end"
        assert value >= 0


@pytest.fixture
def probe_and_queue_fleet(tmp_path, monkeypatch):
    """A fleet whose server has an HTTP probe (a local server) and n8n's queue in the
    machine's Redis under a test prefix; no Prometheus needed."""
    import http.server
    import shutil
    import threading
    import uuid

    redis = pytest.importorskip("redis")
    client = redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip("no redis-server on 127.0.0.1:6379 (apt-get install redis-server)")
    prefix = f"irtest-{uuid.uuid4().hex[:12]}"
    client.rpush(f"{prefix}:jobs:wait", *[str(i) for i in range(7)])
    client.rpush(f"{prefix}:jobs:active", "a", "b", "c")
    for job_id in ("a", "b"):  # live workers hold their jobs' locks; c's worker died
        client.set(f"{prefix}:jobs:{job_id}:lock", "token", px=600_000)

    class Ok(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    from infra_review.settings import config_dir

    config = tmp_path / "config"
    shutil.copytree(config_dir(), config)
    (config / "fleet.yaml").write_text(
        f"""servers:
  - name: app-1
    ram_gb: 16
    sources:
      - type: http_probe
        endpoints:
          - {{name: directus, url: "http://127.0.0.1:{server.server_address[1]}/health"}}
      - {{type: n8n_redis, name: n8n-queue, prefix: {prefix}}}
local_host: {{enabled: false}}
"""
    )
    monkeypatch.setenv("INFRA_REVIEW_CONFIG_DIR", str(config))
    yield
    server.shutdown()
    server.server_close()
    client.delete(*client.scan_iter(match=f"{prefix}:*"))
    client.close()


def test_collect_metrics_maps_over_the_configured_sources(run_dag, db, probe_and_queue_fleet):
    logical = _latest_five_minutes()
    run = run_dag("collect_metrics", logical_date=logical)
    states = task_states(run)
    assert run.state == "success", states
    assert states == {
        "plan_jobs": "success",
        "collect[0]": "success",
        "collect[1]": "success",
        "publish": "success",
    }
    with db.cursor() as cur:
        cur.execute(
            """SELECT r.metric, r.label, s.value, s.ts
               FROM infra_review.samples s JOIN infra_review.series r USING (series_id)
               ORDER BY r.metric"""
        )
        rows = cur.fetchall()
        cur.execute("SELECT count(*), bool_and(success) FROM infra_review.quality_results")
        results = cur.fetchone()
    assert [(m, label) for m, label, _, _ in rows] == [
        ("api_latency_s", "directus"),
        ("n8n_queue_active", "jobs"),
        ("n8n_queue_stalled", "jobs"),
        ("n8n_queue_waiting", "jobs"),
        ("probe_up", "directus"),
    ]
    values = {m: v for m, _, v, _ in rows}
    queue = (values["n8n_queue_waiting"], values["n8n_queue_active"], values["n8n_queue_stalled"])
    assert queue == (7, 2, 1) and values["probe_up"] == 1
    assert all(ts == run.data_interval_end for *_, ts in rows)
    assert results[1] is True and results[0] >= 5  # schema, families and coverage per batch

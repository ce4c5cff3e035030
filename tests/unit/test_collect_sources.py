"""Collector configuration without servers: Prometheus paging and queries, retries with
backoff, credentials from the environment, job planning and the backfill's chunks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from infra_review.collect import cadence, intervals, plan_jobs
from infra_review.collectors.common import SourceUnavailable, http_credentials, with_retries
from infra_review.collectors.prometheus import (
    MAX_POINTS,
    evaluation_pages,
    pages,
    queries,
    real_samples,
)
from infra_review.errors import InputError
from infra_review.fleet import load_fleet

Q2 = (datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC))


def test_a_quarter_at_one_minute_is_paged_under_the_point_cap():
    found = pages(*Q2, 60, MAX_POINTS)
    steps = 91 * 24 * 60
    assert len(found) == -(-steps // MAX_POINTS) == 12
    counts = [round((last - first) / 60) + 1 for first, last in found]
    assert max(counts) == MAX_POINTS and sum(counts) == steps
    # contiguous on the step grid, first at start, last one step before end
    assert found[0][0] == Q2[0].timestamp()
    assert found[-1][1] == Q2[1].timestamp() - 60
    for (_, last), (first, _) in zip(found, found[1:], strict=False):
        assert first - last == 60


def test_an_interval_shorter_than_a_step_has_one_page_and_an_empty_one_none():
    start = Q2[0]
    assert pages(start, start + timedelta(seconds=30), 60, MAX_POINTS) == [
        (start.timestamp(), start.timestamp())
    ]
    assert pages(start, start, 60, MAX_POINTS) == []


def test_default_queries_name_the_server_and_its_instance():
    found = {q.metric: q for q in queries("app-1", {"scrape_interval_s": 15})}
    assert set(found) == {
        "ram_used_pct",
        "cpu_used_pct",
        "swap_io_pages_per_s",
        "api_latency_s",
        "probe_up",
    }
    assert 'instance="app-1:9100"' in found["ram_used_pct"].expr
    assert "[60s]" in found["cpu_used_pct"].expr  # 4 x 15 s scrape interval
    assert 'server="app-1"' in found["probe_up"].expr and found["probe_up"].label == "instance"


def test_queries_are_overridden_added_and_skipped_from_fleet_yaml():
    source = {
        "instance": "10.0.0.5:9100",
        "vars": {"n8n_job": "n8n-main"},
        "metrics": {
            "ram_used_pct": 'my_ram{host="${server}"}',
            "n8n_queue_waiting": "default",
            "swap_io_pages_per_s": None,
            "api_latency_s": {"expr": "lat", "label": "handler"},
        },
    }
    found = {q.metric: q for q in queries("data-1", source)}
    assert found["ram_used_pct"].expr == 'my_ram{host="data-1"}'
    assert "swap_io_pages_per_s" not in found
    assert 'job="n8n-main"' in found["n8n_queue_waiting"].expr
    assert found["n8n_queue_waiting"].label_value == "jobs"
    assert found["api_latency_s"].label == "handler"
    assert "n8n_queue_active" not in found  # optional queries only when listed


@pytest.mark.parametrize(
    ("metrics", "message"),
    [
        ({"disk_pct": "x"}, "unknown metric"),
        ({"ram_used_pct": 'x{a="${nope}"}'}, "nope"),
        ({"ram_used_pct": 3}, "expected an expression"),
    ],
)
def test_bad_query_configuration_is_an_input_error(metrics, message):
    with pytest.raises(InputError, match=message):
        queries("app-1", {"metrics": metrics})


def test_retries_back_off_then_fail_visibly():
    calls, sleeps = [], []

    def flaky():
        calls.append(1)
        raise ConnectionError("refused")

    with pytest.raises(SourceUnavailable, match="after 4 attempt"):
        with_retries(
            "x", flaky, attempts=4, backoff_s=0.5, retry_on=(ConnectionError,), sleep=sleeps.append
        )
    assert len(calls) == 4
    assert sleeps == [0.5, 1.0, 2.0]


def test_retries_stop_at_the_first_success():
    answers = iter([ConnectionError("a"), 42])

    def once_flaky():
        item = next(answers)
        if isinstance(item, Exception):
            raise item
        return item

    assert (
        with_retries(
            "x",
            once_flaky,
            attempts=3,
            backoff_s=0,
            retry_on=(ConnectionError,),
            sleep=lambda s: None,
        )
        == 42
    )


def test_credentials_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("TEST_PROM_TOKEN", "s3cret")
    monkeypatch.setenv("TEST_TENANT", "team-a")
    monkeypatch.setenv("TEST_PROM_PASSWORD", "pw")
    headers, basic = http_credentials(
        {
            "auth": {
                "bearer_token_env": "TEST_PROM_TOKEN",
                "headers_env": {"X-Scope-OrgID": "TEST_TENANT"},
                "basic": {"username": "reader", "password_env": "TEST_PROM_PASSWORD"},
            }
        }
    )
    assert headers == {"Authorization": "Bearer s3cret", "X-Scope-OrgID": "team-a"}
    assert basic == ("reader", "pw")


def test_an_airflow_connection_given_as_env_uri_supplies_basic_auth(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_PROM_TEST", "http://reader:p%40ss@prom.example:9090")
    headers, basic = http_credentials({"conn_id": "prom_test"})
    assert basic == ("reader", "p@ss") and headers == {}


def test_unset_env_and_secrets_in_yaml_are_refused(monkeypatch):
    monkeypatch.delenv("TEST_MISSING_TOKEN", raising=False)
    with pytest.raises(InputError, match="TEST_MISSING_TOKEN is not set"):
        http_credentials({"auth": {"bearer_token_env": "TEST_MISSING_TOKEN"}})
    with pytest.raises(InputError, match="environment variable"):
        http_credentials({"auth": {"bearer_token": "abc"}})


def _fleet(tmp_path: Path) -> Path:
    path = tmp_path / "fleet.yaml"
    path.write_text(
        """
defaults: {scrape_interval: 30s}
servers:
  - name: app-1
    sources:
      - {type: prometheus, url: "http://127.0.0.1:1", name: prom}
      - {type: n8n_redis, prefix: bull}
  - name: data-1
    scrape_interval: 15s
    sources:
      - {type: csv, path: x.csv}
local_host: {enabled: false}
fleet_sources:
  - {type: complaints, path: complaints.csv}
"""
    )
    return path


def test_plan_jobs_maps_every_server_source_and_fleet_feed(tmp_path):
    fleet = load_fleet(_fleet(tmp_path))
    jobs = plan_jobs(fleet)
    assert [(j["server"], j["source"]["type"]) for j in jobs] == [
        ("app-1", "prometheus"),
        ("app-1", "n8n_redis"),
        ("data-1", "csv"),
        ("fleet", "complaints"),
    ]
    assert jobs[0]["source"]["scrape_interval_s"] == 30
    assert jobs[2]["source"]["scrape_interval_s"] == 15
    only = plan_jobs(fleet, servers=["data-1"])
    assert [(j["server"], j["source"]["type"]) for j in only] == [("data-1", "csv")]


def test_cadence_is_the_step_for_history_and_one_per_run_for_snapshots(tmp_path):
    jobs = plan_jobs(load_fleet(_fleet(tmp_path)))
    assert cadence(jobs[0]) == (30, 30)
    assert cadence(jobs[1]) == (None, 300)
    # a CSV export promises no cadence unless its source states one (the review measures it)
    assert cadence(jobs[2]) == (None, None)
    assert cadence({**jobs[2], "source": {**jobs[2]["source"], "cadence": "5m"}}) == (300, 300)


def test_the_default_fleet_collects_only_the_local_host():
    jobs = plan_jobs()
    assert [j["source"]["type"] for j in jobs] == ["localhost"]


@pytest.mark.parametrize(
    ("env", "planned"),
    [
        ("off", []),  # what docker-compose.yaml sets: no psutil job in a worker container
        ("airflow-host", [("airflow-host", "localhost")]),
        ("", None),  # unset: the file decides (the default fleet: this machine's hostname)
    ],
)
def test_the_environment_overrides_the_local_host(monkeypatch, env, planned):
    import socket

    monkeypatch.setenv("INFRA_REVIEW_LOCAL_HOST", env)
    jobs = [(j["server"], j["source"]["type"]) for j in plan_jobs()]
    assert jobs == (planned if planned is not None else [(socket.gethostname(), "localhost")])


def test_a_bad_local_host_override_names_the_variable(monkeypatch):
    monkeypatch.setenv("INFRA_REVIEW_LOCAL_HOST", "../etc")
    with pytest.raises(InputError, match="INFRA_REVIEW_LOCAL_HOST"):
        load_fleet()


def test_intervals_cover_the_range_once():
    start = datetime(2026, 4, 1, tzinfo=UTC)
    chunks = intervals(start, start + timedelta(hours=25), timedelta(hours=6))
    assert len(chunks) == 5
    assert chunks[0] == (start, start + timedelta(hours=6))
    assert chunks[-1] == (start + timedelta(hours=24), start + timedelta(hours=25))
    assert all(a[1] == b[0] for a, b in zip(chunks, chunks[1:], strict=False))


def test_the_gate_engine_is_gx_unless_the_environment_says_pandas(monkeypatch):
    from infra_review.collect import new_gate

    monkeypatch.delenv("INFRA_REVIEW_QUALITY_ENGINE", raising=False)
    assert new_gate().engine.name == "gx"
    monkeypatch.setenv("INFRA_REVIEW_QUALITY_ENGINE", "pandas")
    assert new_gate().engine.name == "pandas"
    monkeypatch.setenv("INFRA_REVIEW_QUALITY_ENGINE", "sql")
    with pytest.raises(ValueError, match="gx or pandas"):
        new_gate()


def test_each_query_names_the_series_whose_samples_are_real():
    found = {q.metric: q for q in queries("app-1", {})}
    assert found["ram_used_pct"].sample == 'node_memory_MemAvailable_bytes{instance="app-1:9100"}'
    assert 'mode="idle"' in found["cpu_used_pct"].sample
    configured = {
        "ram_used_pct": 'my_ram{host="${server}"}',  # a bare selector reads itself
        "cpu_used_pct": {"expr": "100 * busy", "sample": "busy"},
    }
    found = {q.metric: q for q in queries("data-1", {"metrics": configured})}
    assert found["ram_used_pct"].sample == 'my_ram{host="data-1"}'
    assert found["cpu_used_pct"].sample == "busy"
    # a computed value is stamped with the step time, so the series it reads must be named
    with pytest.raises(InputError, match="needs sample"):
        queries("app-1", {"metrics": {"cpu_used_pct": "100 * busy"}})
    with pytest.raises(InputError, match="vector selector"):
        queries("app-1", {"metrics": {"cpu_used_pct": {"expr": "1", "sample": "rate(x[1m])"}}})


def test_real_samples_drop_lookback_repeats_stale_steps_and_other_intervals():
    import numpy as np

    from infra_review.collectors.prometheus import real_samples

    steps = np.arange(60.0, 1200.0, 60.0)  # 60 .. 1140
    values = steps / 60  # the value a step evaluates to
    raw = np.array([30.0, 120.0, 350.0, 1000.0])
    # 30 belongs to the interval before 60; 120 is repeated at 180..360 by the lookback, but
    # stored once with the first step's value; 350 is first seen at 360; after 350 + 300 s
    # no step has a sample until 1000 (stale), which is first seen at 1020
    ts, vals = real_samples(steps, values, raw, 60.0, 1140.0)
    assert ts.tolist() == [120_000, 350_000, 1_000_000]
    assert vals.tolist() == [2.0, 6.0, 17.0]
    assert real_samples(steps, values, raw, 60.0, 350.0)[0].tolist() == [120_000]
    # a step without a value (rate needs two samples) defers the sample to the next step
    missing = steps != 120.0
    assert real_samples(steps[missing], values[missing], raw, 60.0, 400.0)[1].tolist() == [3, 6]


def test_a_window_ending_after_now_is_refused():
    from infra_review import clock
    from infra_review.collectors.prometheus import check_window

    with clock.frozen(Q2[0]):
        check_window(Q2[0])
        with pytest.raises(InputError, match="after now"):
            check_window(Q2[0] + timedelta(seconds=1))


def test_a_bare_selector_keeps_every_raw_sample_of_the_window_once():
    import numpy as np

    from infra_review.collectors.prometheus import samples_in

    start = Q2[0]
    t0 = start.timestamp()
    # two pages overlapping by the lookback; jittered samples two to a minute at the end
    times = np.array([t0 - 61, t0 + 1.5, t0 + 58.2, t0 + 58.2, t0 + 119.9, t0 + 120])
    values = np.array([9.0, 1.0, 2.0, 2.0, 3.0, 4.0])
    ts, vals = samples_in(times, values, start, start + timedelta(seconds=120))
    assert ts.tolist() == [round((t0 + d) * 1000) for d in (1.5, 58.2, 119.9)]
    assert vals.tolist() == [1.0, 2.0, 3.0]


def _evaluate(raw: np.ndarray, at: np.ndarray) -> np.ndarray:
    """What Prometheus answers for a computed expression over ``raw``: at each evaluation,
    the value of the newest sample (here the sample's own time, so it can be traced)."""
    index = np.searchsorted(raw, at, side="right") - 1
    return raw[np.clip(index, 0, None)]


def test_jittered_samples_within_one_step_are_all_kept_for_a_computed_expression():
    # scrapes jittered around the 60 s grid, one missed: 120.5 and 179.5 share a step
    raw = np.array([0.0, 120.5, 179.5, 240.0, 300.0])
    found = evaluation_pages(raw, 0.0, 300.0, 60.0, MAX_POINTS)
    ((first, last, fine),) = found
    assert fine == 59.0 and first == 0.0 and last >= 300.0  # up to the next page's first step
    at = np.arange(first, last + fine / 2, fine)
    ts_ms, _ = real_samples(at, _evaluate(raw, at), raw, 0.0, 360.0)
    assert list(ts_ms) == [0, 120500, 179500, 240000, 300000]
    # the coarse grid alone loses 120.5 (the counterexample this guards against)
    coarse = np.arange(0.0, 361.0, 60.0)
    ts_ms, _ = real_samples(coarse, _evaluate(raw, coarse), raw, 0.0, 360.0)
    assert 120500 not in ts_ms


def test_evaluation_is_no_finer_than_a_quarter_step_and_paged_under_the_cap():
    raw = np.array([0.0, 1.0, 60.0, 120.0])  # two samples 1 s apart: the grid stops at 15 s
    found = evaluation_pages(raw, 0.0, 600.0, 60.0, 10)
    assert {fine for _, _, fine in found} == {15.0}
    points = sum(round((b - a) / 15.0) + 1 for a, b, _ in found)
    assert points == 44 and all(round((b - a) / 15.0) + 1 <= 10 for a, b, _ in found)
    # regular samples at the step: the page is asked as before
    regular = np.array([0.0, 60.0, 120.0])
    assert evaluation_pages(regular, 0.0, 600.0, 60.0, 10) == [(0.0, 600.0, 60.0)]

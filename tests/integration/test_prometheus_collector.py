"""The Prometheus collector against a real Prometheus (Debian's package).

A past quarter of node_exporter and blackbox_exporter history is generated, backfilled with
``promtool tsdb create-blocks-from openmetrics``, and collected through the default PromQL
queries; every sample is checked against what was written. A second Prometheus scrapes real
node_exporter and blackbox_exporter processes on loopback ports.
"""

from __future__ import annotations

import hashlib
import http.server
import os
import shutil
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from infra_review.collect import run_job
from infra_review.collectors import prometheus as prom
from infra_review.collectors.common import SourceUnavailable
from infra_review.quality.gate import QualityGate
from infra_review.quality.window import window_verdict
from tests.integration import promdata, services

pytestmark = pytest.mark.integration

QUARTER = (datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC))


def _cache_dir() -> Path:
    """Blocks of the generated quarter, reused across test runs: promtool 2.42 writes one
    2-hour block at a time (1,092 for a quarter), about a minute of CPU."""
    promtool = services.binary("promtool")
    version = subprocess.run([promtool, "--version"], capture_output=True, text=True).stdout
    key = hashlib.sha256(
        Path(promdata.__file__).read_bytes() + version.encode() + repr(QUARTER).encode()
    ).hexdigest()[:16]
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "infra-review-tests" / f"prometheus-quarter-{key}"


@pytest.fixture(scope="module")
def history() -> promdata.History:
    return promdata.generate(*QUARTER)


@pytest.fixture(scope="module")
def quarter_prometheus(history, tmp_path_factory):
    """A Prometheus serving the backfilled quarter (a private copy of the cached blocks)."""
    cache = _cache_dir()
    if not cache.exists():
        building = cache.with_name(cache.name + f".tmp-{os.getpid()}")
        shutil.rmtree(building, ignore_errors=True)
        building.mkdir(parents=True)
        promdata.backfill_history(history, building, building / "data")
        (building / "data" / "chunk.om").unlink(missing_ok=True)
        try:
            building.rename(cache)
        except OSError:  # another run finished first
            shutil.rmtree(building, ignore_errors=True)
    workdir = tmp_path_factory.mktemp("prom-quarter")
    shutil.copytree(cache / "data", workdir / "data")
    with services.prometheus(workdir, workdir / "data") as service:
        yield service


def _source(url: str, **extra) -> dict:
    return {
        "type": "prometheus",
        "url": url,
        "instance": promdata.INSTANCE,
        "scrape_interval_s": 60,
        **extra,
    }


@pytest.fixture(scope="module")
def quarter_frame(quarter_prometheus) -> pd.DataFrame:
    return prom.collect("app-1", _source(quarter_prometheus.url), *QUARTER)


def test_every_sample_of_the_quarter_matches_what_was_written(quarter_frame, history):
    frame = quarter_frame
    grid = np.arange(QUARTER[0].timestamp(), QUARTER[1].timestamp(), 60)
    assert len(grid) == 131_040  # 12 pages of at most 11,000 points
    by = {m: g.sort_values("ts") for m, g in frame.groupby("metric")}
    assert set(by) == {
        "ram_used_pct",
        "cpu_used_pct",
        "swap_io_pages_per_s",
        "api_latency_s",
        "probe_up",
    }

    def seconds(metric):
        return (by[metric]["ts"] - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)

    # RAM: 100 * (1 - available / total), the latest sample within the 5-minute lookback
    expected, has = history.ram_used_pct(grid)
    ram_t = seconds("ram_used_pct").to_numpy()
    lookback_edge = history.gap[0] - 60 + 300  # Prometheus 2.x may or may not include it
    assert set(ram_t) - set(grid[has]) <= {lookback_edge}
    assert set(grid[has]) - set(ram_t) <= {lookback_edge}
    assert 100 < len(grid) - len(ram_t) <= 120  # the 2-hour gap, less the lookback
    np.testing.assert_allclose(
        by["ram_used_pct"]["value"].to_numpy(),
        history.ram_used_pct(ram_t)[0],
        rtol=1e-12,
    )
    # CPU: 100 * (1 - mean over CPUs of rate(idle[4m])), and swap rates, at every step
    for metric, compute in (
        ("cpu_used_pct", history.cpu_used_pct),
        ("swap_io_pages_per_s", history.swap_io),
    ):
        assert (seconds(metric).to_numpy() == grid).all(), metric
        np.testing.assert_allclose(
            by[metric]["value"].to_numpy(), compute(grid), rtol=1e-9, atol=1e-9
        )
    # probes: raw gauges, labelled with the probed target
    start = np.searchsorted(history.t, grid[0])
    for metric, raw in (
        ("api_latency_s", history.probe_duration),
        ("probe_up", history.probe_success),
    ):
        assert set(by[metric]["label"]) == {promdata.PROBE_TARGET}
        assert (seconds(metric).to_numpy() == grid).all(), metric
        assert (by[metric]["value"].to_numpy() == raw[start : start + len(grid)]).all(), metric
    assert (frame["server"] == "app-1").all()
    assert frame["ts"].min() == pd.Timestamp(QUARTER[0])
    assert frame["ts"].max() == pd.Timestamp(QUARTER[1]) - pd.Timedelta(seconds=60)


def test_small_pages_give_the_same_samples(quarter_prometheus, quarter_frame):
    day = (QUARTER[0] + timedelta(days=30), QUARTER[0] + timedelta(days=31))
    paged = prom.collect("app-1", _source(quarter_prometheus.url, max_points=97), *day)
    whole = quarter_frame[(quarter_frame["ts"] >= day[0]) & (quarter_frame["ts"] < day[1])]
    key = ["metric", "label", "ts"]
    pd.testing.assert_frame_equal(
        paged.sort_values(key).reset_index(drop=True),
        whole.sort_values(key).reset_index(drop=True),
    )
    assert len(paged) == 5 * 1440


def test_the_quarter_loads_once_and_the_window_gate_sees_the_gap(quarter_prometheus, db, db_url):
    job = {"server": "app-1", "source": _source(quarter_prometheus.url)}
    gate = QualityGate(docs_dir=False)
    first = run_job(job, *QUARTER, gate=gate)
    assert first["rows_quarantined"] == 0
    # five series at every step of the quarter, less the RAM gap (2 h minus the lookback)
    assert 5 * 131_040 - 120 <= first["rows_in"] <= 5 * 131_040 - 100
    assert first["rows_written"] == first["rows_in"]
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM infra_review.samples")
        assert cur.fetchone()[0] == first["rows_in"]
        cur.execute("SELECT DISTINCT cadence_s FROM infra_review.series")
        assert cur.fetchall() == [(60,)]
    # a scheduled run overlapping the backfilled quarter adds nothing
    day = (QUARTER[0] + timedelta(days=40), QUARTER[0] + timedelta(days=40, minutes=5))
    again = run_job(job, *day, gate=gate)
    assert (again["rows_in"], again["rows_written"]) == (25, 0)
    verdict = window_verdict(db, *QUARTER, floor=0.9995)
    ram = verdict.describe("app-1", "ram_used_pct")
    assert not ram["passed"] and 0.9990 < ram["coverage"] < 0.9995, ram
    assert ram["expected"] == 131_040
    assert verdict.passed("app-1", "cpu_used_pct")


def test_a_query_prometheus_rejects_fails_with_its_message(quarter_prometheus):
    source = _source(
        quarter_prometheus.url, metrics={"ram_used_pct": "rate(node_memory_MemTotal_bytes)"}
    )
    with pytest.raises(Exception, match="Prometheus rejected the query"):
        prom.collect("app-1", source, QUARTER[0], QUARTER[0] + timedelta(hours=1))


def test_an_unreachable_prometheus_is_retried_then_fails_and_writes_nothing(db, db_url, caplog):
    port = services.free_port()  # nothing listens there
    job = {
        "server": "app-1",
        "source": _source(f"http://127.0.0.1:{port}", attempts=3, backoff="0.1s", timeout="2s"),
    }
    started = time.monotonic()
    with pytest.raises(SourceUnavailable, match="after 3 attempt"):
        run_job(job, QUARTER[0], QUARTER[0] + timedelta(hours=1), gate=QualityGate(engine="pandas"))
    assert time.monotonic() - started >= 0.3  # 0.1 s + 0.2 s of backoff
    assert sum("retrying" in r.getMessage() for r in caplog.records) == 2
    _assert_nothing_written(db)


def test_prometheus_going_down_mid_run_writes_nothing(history, tmp_path, db, db_url, monkeypatch):
    """A Prometheus of its own with one day, stopped after the first query of the run."""
    day = (QUARTER[0], QUARTER[0] + timedelta(days=1))
    small = promdata.generate(*day, seed=11)
    promdata.backfill_history(small, tmp_path, tmp_path / "data")
    with services.prometheus(tmp_path, tmp_path / "data") as service:
        real = prom.PrometheusClient.query_range
        calls = []

        def then_outage(self, *args, **kwargs):
            calls.append(1)
            if len(calls) == 2:
                service.stop()  # a real outage: the process is gone
            return real(self, *args, **kwargs)

        monkeypatch.setattr(prom.PrometheusClient, "query_range", then_outage)
        job = {"server": "app-1", "source": _source(service.url, attempts=2, backoff="0.1s")}
        with pytest.raises(SourceUnavailable):
            run_job(job, *day, gate=QualityGate(engine="pandas"))
        assert len(calls) == 2
    _assert_nothing_written(db)


def _assert_nothing_written(db) -> None:
    with db.cursor() as cur:
        for table in ("samples", "load_batches", "quarantine", "quality_results"):
            cur.execute(f"SELECT count(*) FROM infra_review.{table}")
            assert cur.fetchone()[0] == 0, table


class _Target(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        self.send_response(200 if self.path == "/health" else 404)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def target_url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Target)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_live_exporters_scraped_by_prometheus(tmp_path, target_url):
    """Real node_exporter and blackbox_exporter, scraped every second, then collected."""
    import psutil

    dead = f"http://127.0.0.1:{services.free_port()}/health"
    with services.node_exporter(tmp_path) as node, services.blackbox_exporter(tmp_path) as blackbox:
        scrape = f"""  - job_name: node
    static_configs:
      - targets: ["{node.address}"]
  - job_name: blackbox
    metrics_path: /probe
    params: {{module: [http_2xx]}}
    static_configs:
      - targets: ["{target_url}/health", "{dead}"]
        labels: {{server: "app-1"}}
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: "{blackbox.address}"
"""
        with services.prometheus(tmp_path, tmp_path / "live", scrape) as service:
            source = {
                "type": "prometheus",
                "url": service.url,
                "instance": node.address,
                "step": "1s",
            }
            deadline = time.monotonic() + 60
            frame = pd.DataFrame()
            while time.monotonic() < deadline:
                end = services.prometheus_now(service.url)
                frame = prom.collect("app-1", source, end - timedelta(seconds=10), end)
                if frame["metric"].nunique() == 5 and frame["label"].nunique() >= 3:
                    break
                time.sleep(1)
            ram_now = psutil.virtual_memory().percent
    latest = frame.sort_values("ts").groupby(["metric", "label"]).last()["value"]
    assert set(frame["metric"]) == {
        "ram_used_pct",
        "cpu_used_pct",
        "swap_io_pages_per_s",
        "api_latency_s",
        "probe_up",
    }
    assert abs(latest[("ram_used_pct", "")] - ram_now) < 10  # the same machine, seconds apart
    assert 0 <= latest[("cpu_used_pct", "")] <= 100
    assert latest[("swap_io_pages_per_s", "")] >= 0
    assert latest[("probe_up", f"{target_url}/health")] == 1.0
    assert latest[("probe_up", dead)] == 0.0
    assert 0 < latest[("api_latency_s", f"{target_url}/health")] < 5
    steps = frame[frame["metric"] == "cpu_used_pct"]["ts"].diff().dropna()
    assert (steps == pd.Timedelta(seconds=1)).all()

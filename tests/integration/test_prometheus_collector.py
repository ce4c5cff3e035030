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

from infra_review import clock
from infra_review.collect import run_job
from infra_review.collectors import prometheus as prom
from infra_review.collectors.common import SourceUnavailable
from infra_review.errors import InputError
from infra_review.quality.gate import QualityGate
from infra_review.quality.window import window_verdict
from tests.integration import promdata, services

pytestmark = pytest.mark.integration

QUARTER = (datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC))


@pytest.fixture(scope="module", autouse=True)
def _present():
    """The collector refuses windows that end after now: the tests' present is a stated date
    after all their history (live tests collect at Prometheus's own clock instead)."""
    with clock.frozen(datetime(2026, 12, 1, tzinfo=UTC)):
        yield


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

    # RAM: 100 * (1 - available / total) at each real sample; the 2-hour gap stays whole
    # (a plain query_range would fill its first 5 minutes from the lookback)
    ram_t = seconds("ram_used_pct").to_numpy()
    start = np.searchsorted(history.t, grid[0])
    real = ~np.isnan(history.mem_available[start : start + len(grid)])
    assert (ram_t == grid[real]).all()
    assert len(grid) - len(ram_t) == 120
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
    # five series at every step of the quarter, less the RAM gap (2 h, no lookback repeats)
    assert first["rows_in"] == 5 * 131_040 - 120
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
        quarter_prometheus.url,
        metrics={
            "ram_used_pct": {
                "expr": "rate(node_memory_MemTotal_bytes)",
                "sample": "node_memory_MemTotal_bytes",
            }
        },
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


def _live_collect(source: dict, end: datetime, seconds: int) -> pd.DataFrame:
    """A live Prometheus answers for the wall clock, so the collector's present is ``end``
    (whatever INFRA_REVIEW_NOW a test run sets)."""
    with clock.frozen(end):
        return prom.collect("app-1", source, end - timedelta(seconds=seconds), end)


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
                frame = _live_collect(source, end, 10)
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


# --- Only real samples (issue 13 item 6) -------------------------------------------------

DAY = (datetime(2026, 5, 4, tzinfo=UTC), datetime(2026, 5, 5, tzinfo=UTC))
HOLE = (DAY[0] + timedelta(hours=10), DAY[0] + timedelta(hours=10, minutes=4))  # [first, end)


@pytest.fixture(scope="module")
def holed_history() -> promdata.History:
    """A day of 1-minute history whose RAM misses 4 samples (10:00-10:03): a hole shorter
    than Prometheus's 5-minute lookback, so a plain query_range fills it."""
    history = promdata.generate(*DAY, seed=23)
    missing = (history.t >= HOLE[0].timestamp()) & (history.t < HOLE[1].timestamp())
    assert missing.sum() == 4
    history.mem_available[missing] = np.nan
    return history


JITTERED_TARGET = "https://n8n.example.kz/healthz"


@pytest.fixture(scope="module")
def jittered() -> tuple[np.ndarray, np.ndarray]:
    """A probe's samples over DAY: a minute apart with up to 2 s of jitter either way (so two
    can fall in one step of the query grid), a missed scrape, and holes of 4 and 7 minutes."""
    rng = np.random.default_rng(5)
    t = np.arange(DAY[0].timestamp(), DAY[1].timestamp(), 60.0)
    t = np.round(t + rng.uniform(-2, 2, len(t)), 3)
    drop = np.zeros(len(t), bool)
    drop[[100, 500]] = True  # missed scrapes
    drop[700:704] = True  # a 4-minute hole
    drop[900:907] = True  # a 7-minute hole
    keep = ~drop & (t >= DAY[0].timestamp())
    return t[keep], np.round(rng.gamma(2.0, 0.1, int(keep.sum())), 6)


@pytest.fixture(scope="module")
def day_prometheus(holed_history, jittered, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("prom-day")
    promdata.backfill_history(holed_history, workdir, workdir / "data")
    labels = f'instance="{JITTERED_TARGET}",job="blackbox",server="app-1"'
    lines = ["# TYPE probe_duration_seconds gauge"]
    times, values = (a.tolist() for a in jittered)
    lines += [
        f"probe_duration_seconds{{{labels}}} {v!r} {t:.3f}"
        for t, v in zip(times, values, strict=True)
    ]
    (workdir / "jittered.om").write_text("\n".join([*lines, "# EOF", ""]))
    services.backfill(workdir / "jittered.om", workdir / "data")
    with services.prometheus(workdir, workdir / "data") as service:
        yield service


def _ram_csv(history: promdata.History, path: Path, server: str) -> Path:
    """The RAM samples of DAY as a CSV export: each sample at its own time, nothing else."""
    keep = (history.t >= DAY[0].timestamp()) & (history.t < DAY[1].timestamp())
    keep &= ~np.isnan(history.mem_available)
    values = 100 * (1 - history.mem_available[keep] / promdata.MEM_TOTAL)
    lines = ["ts,server,metric,value,label"]
    for t, value in zip(history.t[keep].tolist(), values.tolist(), strict=True):
        ts = datetime.fromtimestamp(t, UTC).isoformat()
        lines.append(f"{ts},{server},ram_used_pct,{value!r},")
    path.write_text("\n".join(lines) + "\n")
    return path


def _rows(db, server: str, metric: str = "ram_used_pct") -> list[tuple]:
    with db.cursor() as cur:
        cur.execute(
            """SELECT r.label, s.ts, s.value
               FROM infra_review.samples s JOIN infra_review.series r USING (series_id)
               WHERE r.server = %s AND r.metric = %s ORDER BY r.label, s.ts""",
            (server, metric),
        )
        rows = cur.fetchall()
    db.commit()
    return rows


def test_a_hole_survives_the_collector_exactly_as_through_csv(
    day_prometheus, holed_history, jittered, tmp_path, db, db_url
):
    from infra_review.imports import import_samples

    import_samples(_ram_csv(holed_history, tmp_path / "ram.csv", "app-1"))
    by_csv = _rows(db, "app-1")
    with db.cursor() as cur:
        cur.execute("TRUNCATE infra_review.samples")
    db.commit()
    job = {"server": "app-1", "source": _source(day_prometheus.url)}
    result = run_job(job, *DAY, gate=QualityGate(engine="pandas"))
    by_prometheus = _rows(db, "app-1")
    assert by_prometheus == by_csv  # same timestamps, same float values, same label
    assert len(by_csv) == 1440 - 4
    times = pd.Series([ts for _, ts, _ in by_prometheus])
    spacing = times.diff().dropna()
    assert (spacing == pd.Timedelta(minutes=1)).sum() == len(spacing) - 1
    hole = spacing[spacing != pd.Timedelta(minutes=1)]
    assert hole.tolist() == [pd.Timedelta(minutes=5)]  # 09:59 -> 10:04: the hole stays a hole
    assert times[hole.index[0]] == pd.Timestamp(HOLE[1])
    # the other series are whole: their counters have no hole
    assert len(_rows(db, "app-1", "cpu_used_pct")) == 1440
    assert result["rows_in"] == 5 * 1440 - 4 + len(jittered[0])  # and a jittered probe


def test_a_window_ending_in_the_future_is_refused_and_stores_no_repeats(day_prometheus):
    source = _source(day_prometheus.url)
    with clock.frozen(DAY[1] + timedelta(hours=1)) as now:
        with pytest.raises(InputError, match="after now"):
            prom.collect("app-1", source, DAY[1] - timedelta(minutes=30), now + timedelta(1))
        # the history ends at 23:59; up to now, Prometheus repeats it for 5 more minutes
        frame = prom.collect("app-1", source, DAY[1] - timedelta(minutes=30), now)
    last = pd.Timestamp(DAY[1]) - pd.Timedelta(minutes=1)
    frame = frame[frame["label"] != JITTERED_TARGET]
    assert frame["metric"].nunique() == 5
    for metric, rows in frame.groupby("metric"):
        assert rows["ts"].max() == last, metric
        assert len(rows) == 30, metric


def test_samples_just_before_the_end_belong_to_their_own_interval(day_prometheus):
    """Steps 5 minutes apart over 1-minute samples: each sample once, in its own interval."""
    source = _source(day_prometheus.url, step="5m")
    edges = [DAY[0] + timedelta(hours=3, minutes=m) for m in (0, 7, 13, 25)]
    parts = [prom.collect("app-1", source, a, b) for a, b in zip(edges, edges[1:], strict=False)]
    for (a, b), part in zip(zip(edges, edges[1:], strict=False), parts, strict=True):
        assert part["ts"].between(pd.Timestamp(a), pd.Timestamp(b), inclusive="left").all()
    ram = pd.concat(parts).query("metric == 'ram_used_pct'")["ts"]
    assert ram.is_unique


def test_a_recollect_replaces_the_range_for_that_source(day_prometheus, db, db_url):
    from infra_review.store.samples import load_samples

    window = (DAY[0] + timedelta(hours=9), DAY[0] + timedelta(hours=11))
    job = {"server": "app-1", "source": _source(day_prometheus.url)}
    gate = QualityGate(engine="pandas")
    first = run_job(job, *window, gate=gate)
    truth = {m: _rows(db, "app-1", m) for m in ("ram_used_pct", "api_latency_s")}
    # what an older collector stored: lookback repeats in the hole, one sample lost, and a
    # probe's own series of the same server and metric that Prometheus does not cover
    with db.cursor() as cur:
        cur.execute(
            """DELETE FROM infra_review.samples WHERE ts = %s AND series_id =
                 (SELECT series_id FROM infra_review.series
                  WHERE metric = 'api_latency_s' AND label = %s)""",
            (window[0] + timedelta(minutes=30), promdata.PROBE_TARGET),
        )
    stale = pd.DataFrame(
        {
            "ts": [pd.Timestamp(HOLE[0]) + pd.Timedelta(minutes=m) for m in range(4)]
            + [pd.Timestamp(window[0])],
            "server": "app-1",
            "metric": ["ram_used_pct"] * 4 + ["api_latency_s"],
            "label": [""] * 4 + ["directus"],
            "value": [50.0] * 4 + [0.25],
        }
    )
    load_samples(db, stale, batch_key="older", source="mixed")
    db.commit()
    again = run_job(job, *window, gate=gate)
    assert (again["rows_deleted"], again["rows_written"]) == (4, 1)
    assert _rows(db, "app-1", "ram_used_pct") == truth["ram_used_pct"]
    latency = _rows(db, "app-1", "api_latency_s")
    assert ("directus", pd.Timestamp(window[0]), 0.25) in latency  # not Prometheus's series
    assert [r for r in latency if r[0] != "directus"] == truth["api_latency_s"]
    converged = run_job(job, *window, gate=gate)
    assert (converged["rows_deleted"], converged["rows_written"]) == (0, 0)
    assert converged["rows_in"] == again["rows_in"] == first["rows_in"]


def test_a_stopped_exporter_leaves_no_samples(tmp_path):
    """Real node_exporter scraped every second, killed (SIGKILL): Prometheus's lookback and
    rate windows would go on answering for minutes; the collector stores nothing after it."""
    with services.node_exporter(tmp_path) as node:
        scrape = f"""  - job_name: node
    static_configs:
      - targets: ["{node.address}"]
"""
        with services.prometheus(tmp_path, tmp_path / "live", scrape) as service:
            source = {"type": "prometheus", "url": service.url, "instance": node.address}
            source["step"] = "1s"
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:  # until rate() has two samples
                end = services.prometheus_now(service.url)
                alive = _live_collect(source, end, 30)
                if alive["metric"].nunique() == 3:
                    break
                time.sleep(1)
            assert alive["metric"].nunique() == 3
            node.process.kill()
            node.process.wait(timeout=10)
            time.sleep(6)
            end = services.prometheus_now(service.url)
            frame = _live_collect(source, end, 60)
            plain = prom.PrometheusClient(source).query_range(
                f'up{{instance="{node.address}"}}', end.timestamp() - 60, end.timestamp(), 1
            )
    up = pd.Series({float(t): float(v) for t, v in plain[0]["values"]})
    died = up[up == 0].index.min()  # the first failed scrape, on Prometheus's own clock
    assert died == died  # not NaN: the kill was seen
    assert (frame["ts"] < pd.Timestamp(died, unit="s", tz="UTC")).all()
    assert set(frame["metric"]) == {"ram_used_pct", "cpu_used_pct", "swap_io_pages_per_s"}


def test_jittered_samples_arrive_as_through_csv(day_prometheus, jittered, tmp_path, db, db_url):
    from infra_review.imports import import_samples

    times, values = jittered
    lines = ["ts,server,metric,value,label"]
    for t, v in zip(times.tolist(), values.tolist(), strict=True):
        ts = datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds")
        lines.append(f"{ts},app-1,api_latency_s,{v!r},{JITTERED_TARGET}")
    (tmp_path / "probe.csv").write_text("\n".join(lines) + "\n")
    import_samples(tmp_path / "probe.csv")
    by_csv = _rows(db, "app-1", "api_latency_s")
    with db.cursor() as cur:
        cur.execute("TRUNCATE infra_review.samples")
    db.commit()
    run_job(
        {"server": "app-1", "source": _source(day_prometheus.url, max_points=500)},
        *DAY,
        gate=QualityGate(engine="pandas"),
    )
    by_prometheus = [r for r in _rows(db, "app-1", "api_latency_s") if r[0] == JITTERED_TARGET]
    assert len(by_csv) == len(times) == 1440 - 13
    assert by_prometheus == by_csv

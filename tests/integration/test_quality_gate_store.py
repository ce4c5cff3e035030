"""The quality gate end to end in PostgreSQL: bad rows land in quarantine with their
reason, good rows load, a retry replaces rather than repeats, validation results are
stored; the review-time window gate turns 80% coverage into insufficient data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from infra_review.collect import run_job
from infra_review.quality.gate import QualityGate
from infra_review.quality.window import window_verdict
from infra_review.store.samples import load_samples

pytestmark = pytest.mark.integration


def _csv(tmp_path, start: datetime, future: datetime):
    lines = ["ts,server,metric,value,label"]
    for minute in range(30):
        ts = (start + timedelta(minutes=minute)).isoformat()
        lines.append(f"{ts},app-1,ram_used_pct,{40 + minute / 10},")
    t = lambda minutes, seconds=0: (start + timedelta(minutes=minutes, seconds=seconds)).isoformat()  # noqa: E731
    lines += [
        f"{t(30)},app-1,cpu_used_pct,nan,",  # NaN
        f"{t(31)},app-1,cpu_used_pct,130,",  # 130 %
        f"{t(32)},app-1,swap_io_pages_per_s,-4,",  # negative rate
        f"{future.isoformat()},app-1,cpu_used_pct,12,",  # in the future
        f"{t(5)},app-1,ram_used_pct,40.5,",  # duplicate of minute 5, same value
        f"{t(6, 20)},app-1,ram_used_pct,41,",  # 20 s after minute 6: wrong cadence
    ]
    path = tmp_path / "export.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_bad_rows_are_quarantined_with_reasons_and_good_rows_load_once(tmp_path, db, db_url):
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start, end = now - timedelta(hours=1), now + timedelta(hours=1)
    path = _csv(tmp_path, start, now + timedelta(minutes=30))
    # the export states its cadence, so the batch gate checks the spacing (an export that
    # does not is never held to the fleet's interval: csv_samples.promised_cadence)
    source = {"type": "csv", "path": str(path), "scrape_interval_s": 60, "cadence": 60}
    job = {"server": "app-1", "source": source}
    gate = QualityGate(docs_dir=tmp_path / "docs")
    first = run_job(job, start, end, gate=gate)
    assert (first["rows_in"], first["rows_written"], first["rows_quarantined"]) == (36, 30, 6)
    assert first["quality_success"] is False
    second = run_job(job, start, end, gate=gate)  # a retry of the same interval
    assert (second["rows_written"], second["rows_quarantined"]) == (0, 6)
    with db.cursor() as cur:
        cur.execute(
            """SELECT metric, ts, value, expectation, reason, source FROM infra_review.quarantine
               ORDER BY ts, metric"""
        )
        quarantined = cur.fetchall()
        cur.execute("SELECT count(*), min(value), max(value) FROM infra_review.samples")
        samples = cur.fetchone()
        cur.execute(
            """SELECT suite, success, statistics->>'unsuccessful_expectations', results,
                      data_docs_url
               FROM infra_review.quality_results ORDER BY suite"""
        )
        results = {row[0]: row[1:] for row in cur.fetchall()}
        cur.execute("SELECT rows_in, rows_loaded, rows_quarantined FROM infra_review.load_batches")
        batches = cur.fetchall()
    assert len(quarantined) == 6, "the retry replaced the batch's quarantine rows"
    by_reason = {(row[0], row[3].split(":")[1]): row for row in quarantined}
    assert set(by_reason) == {
        ("cpu_used_pct", "value_not_null"),
        ("cpu_used_pct", "value_in_range"),
        ("swap_io_pages_per_s", "value_in_range"),
        ("cpu_used_pct", "ts_not_in_future"),
        ("ram_used_pct", "series_ts_unique"),
        ("ram_used_pct", "cadence"),
    }
    assert by_reason[("cpu_used_pct", "value_in_range")][2] == 130.0
    assert "0..100" in by_reason[("cpu_used_pct", "value_in_range")][4]
    assert ">= 0" in by_reason[("swap_io_pages_per_s", "value_in_range")][4]
    assert "future" in by_reason[("cpu_used_pct", "ts_not_in_future")][4]
    assert "wrong cadence" in by_reason[("ram_used_pct", "cadence")][4]
    assert all(row[5] == "csv" for row in quarantined)
    assert samples == (30, 40.0, 42.9)
    assert batches == [(30, 0, 6)]
    assert set(results) == {
        "samples.schema",
        "samples.percent",
        "samples.non_negative",
        "samples.coverage",
    }
    assert results["samples.schema"][0] is True
    success, failed_count, failed, docs = results["samples.percent"]
    assert success is False and failed_count == "5"
    assert {f["expectation"].split(":")[1] for f in failed} == {
        "value_not_null",
        "value_in_range",
        "ts_not_in_future",
        "series_ts_unique",
        "cadence",
    }
    assert docs.startswith("file://") and (tmp_path / "docs" / "index.html").exists()


def _series(start: datetime, minutes: int, keep: float) -> pd.DataFrame:
    ts = pd.date_range(start, periods=minutes, freq="60s", tz="UTC")
    frame = pd.DataFrame(
        {"ts": ts, "server": "app-1", "metric": "ram_used_pct", "label": "", "value": 50.0}
    )
    return frame.iloc[: int(minutes * keep)]


@pytest.mark.parametrize(
    ("keep", "passed"), [(0.80, False), (0.89, False), (0.90, True), (1.0, True)]
)
def test_window_coverage_floor_decides_insufficient_data(db, db_url, keep, passed):
    start = datetime(2026, 4, 1, tzinfo=UTC)
    end = start + timedelta(days=1)
    load_samples(db, _series(start, 1440, keep), batch_key="t", source="test")
    db.commit()
    verdict = window_verdict(db, start, end, floor=0.90)
    assert verdict.passed("app-1", "ram_used_pct") is passed
    described = verdict.describe("app-1", "ram_used_pct")
    assert described["coverage"] == pytest.approx(keep, abs=1 / 1440)
    if not passed:
        assert f"coverage {keep:.1%} below the floor 90%" in described["reasons"][0]


def test_window_gate_with_gx_stores_its_verdict(db, db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("INFRA_REVIEW_DATA_DOCS", str(tmp_path / "docs"))
    start = datetime(2026, 4, 1, tzinfo=UTC)
    end = start + timedelta(days=1)
    load_samples(db, _series(start, 1440, 0.8), batch_key="t", source="test")
    db.commit()
    verdict = window_verdict(db, start, end, floor=0.90, engine="gx", store=True)
    db.commit()
    assert not verdict.success and not verdict.passed("app-1", "ram_used_pct")
    with db.cursor() as cur:
        cur.execute(
            "SELECT batch_key, success, results, data_docs_url FROM infra_review.quality_results"
        )
        ((key, success, results, docs),) = cur.fetchall()
    assert key == f"review:{start.isoformat()}/{end.isoformat()}" and success is False
    # coverage over time: the last sample stands for one cadence and a half (30 s past 80%)
    assert results[0]["metric"] == "ram_used_pct"
    assert results[0]["coverage"] == pytest.approx(0.8, abs=1 / 1440)
    assert docs.startswith("file://")


def test_snapshot_series_are_expected_once_per_collect_run(db, db_url):
    """Present-time sources read once per 5-minute run: the window expects that, not one a
    minute, so a healthy Redis series is not mistaken for 20% coverage."""
    start = datetime(2026, 4, 1, tzinfo=UTC)
    end = start + timedelta(days=1)
    ts = pd.date_range(start + timedelta(minutes=5), end, freq="300s", tz="UTC", inclusive="left")
    frame = pd.DataFrame(
        {"ts": ts, "server": "app-1", "metric": "n8n_queue_waiting", "label": "jobs", "value": 3.0}
    )
    load_samples(db, frame, batch_key="t", source="test")
    with db.cursor() as cur:
        cur.execute(
            "UPDATE infra_review.series SET cadence_s = 300 WHERE metric = 'n8n_queue_waiting'"
        )
    db.commit()
    described = window_verdict(db, start, end).describe("app-1", "n8n_queue_waiting")
    assert described["expected"] == 288 and described["passed"], described


def test_a_retry_keeps_only_the_suites_it_ran(tmp_path, db, db_url):
    start = datetime(2026, 4, 1, tzinfo=UTC)
    path = tmp_path / "x.csv"
    rows = ["ts,server,metric,value,label"]
    rows += [
        f"{(start + timedelta(minutes=m)).isoformat()},app-1,probe_up,1,directus" for m in range(5)
    ]
    rows += [
        f"{(start + timedelta(minutes=m)).isoformat()},app-1,cpu_used_pct,7," for m in range(5)
    ]
    path.write_text("\n".join(rows) + "\n")
    job = {"server": "app-1", "source": {"type": "csv", "path": str(path), "scrape_interval_s": 60}}
    gate = QualityGate(engine="pandas")
    run_job(job, start, start + timedelta(minutes=5), gate=gate)
    path.write_text("\n".join(rows[:1] + rows[6:]) + "\n")  # the export lost its probe rows
    run_job(job, start, start + timedelta(minutes=5), gate=gate)
    with db.cursor() as cur:
        cur.execute("SELECT suite FROM infra_review.quality_results ORDER BY suite")
        suites = [r[0] for r in cur.fetchall()]
    assert suites == ["samples.coverage", "samples.percent", "samples.schema"]

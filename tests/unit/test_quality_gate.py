"""The batch quality gate: every kind of bad row is quarantined with its reason, good rows
pass untouched, and Great Expectations and the plain-pandas engine agree row for row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from infra_review.quality.gate import QualityGate

START = datetime(2026, 5, 1, tzinfo=UTC)
END = START + timedelta(hours=1)
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _good(metric: str = "ram_used_pct", value: float = 50.0, label: str = "") -> pd.DataFrame:
    ts = pd.date_range(START, END, freq="60s", inclusive="left", tz="UTC")
    return pd.DataFrame(
        {"ts": ts, "server": "app-1", "metric": metric, "label": label, "value": value}
    )


def _row(metric: str, ts, value: float, label: str = "") -> dict:
    return {
        "ts": pd.Timestamp(ts),
        "server": "app-1",
        "metric": metric,
        "label": label,
        "value": value,
    }


BAD_ROWS = [
    # (row, expectation id, words in the reason)
    (_row("ram_used_pct", START + timedelta(minutes=1), np.nan), "value_not_null", "NaN"),
    (_row("cpu_used_pct", START + timedelta(minutes=2), 130.0), "value_in_range", "0..100"),
    (_row("swap_io_pages_per_s", START + timedelta(minutes=3), -1.0), "value_in_range", ">= 0"),
    (_row("api_latency_s", START + timedelta(minutes=3), np.inf), "value_in_range", "finite"),
    (
        _row("probe_up", START + timedelta(minutes=4), 0.5, "directus"),
        "value_is_0_or_1",
        "0 (down) or 1",
    ),
    (_row("ram_used_pct", NOW + timedelta(days=1), 40.0), "ts_not_in_future", "future"),
    (_row("ram_used_pct", START - timedelta(minutes=10), 40.0), "ts_in_interval", "outside"),
    (_row("ram_used_pct", START + timedelta(minutes=7), 50.0), "series_ts_unique", "duplicate"),
    (
        _row("ram_used_pct", START + timedelta(minutes=9, seconds=30), 50.0),
        "cadence",
        "wrong cadence",
    ),
    (_row("disk_used_pct", START + timedelta(minutes=9), 50.0), "metric_known", "unknown metric"),
    (
        _row("api_latency_s", START + timedelta(minutes=5), 0.2, "<img src=x onerror=alert(1)>"),
        "label_text",
        "bad label",
    ),
]


def _batch() -> pd.DataFrame:
    good = pd.concat(
        [_good("ram_used_pct"), _good("cpu_used_pct", 20.0), _good("probe_up", 1.0, "directus")],
        ignore_index=True,
    )
    bad = pd.DataFrame([row for row, _, _ in BAD_ROWS])
    return pd.concat([good, bad], ignore_index=True)


def _validate(gate: QualityGate, frame: pd.DataFrame, **kwargs):
    options = {"batch_key": "t", "start": START, "end": END, "cadence_s": 60, "now": NOW}
    return gate.validate(frame, **{**options, **kwargs})


@pytest.fixture(scope="module")
def pandas_gate() -> QualityGate:
    return QualityGate(engine="pandas")


@pytest.fixture(scope="module")
def gx_gate(tmp_path_factory) -> QualityGate:
    return QualityGate(engine="gx", docs_dir=tmp_path_factory.mktemp("docs"))


@pytest.mark.parametrize("engine", ["pandas", "gx"])
def test_each_bad_row_is_quarantined_with_its_reason(engine, request):
    gate = request.getfixturevalue(f"{engine}_gate")
    result = _validate(gate, _batch())
    quarantine = result.quarantine
    assert len(quarantine) == len(BAD_ROWS), quarantine[["metric", "ts", "expectation"]]
    for row, check_id, words in BAD_ROWS:
        found = quarantine[
            (quarantine["metric"] == row["metric"]) & (quarantine["ts"] == row["ts"])
        ]
        assert len(found) == 1, (row, quarantine)
        assert check_id in found["expectation"].iloc[0]
        assert words in found["reason"].iloc[0]
    # every good row loads, unchanged
    assert len(result.good) == 3 * 60
    assert set(result.good["value"]) == {50.0, 20.0, 1.0}
    assert not result.success
    failed = {s.suite for s in result.suites if not s.success}
    assert failed == {"samples.schema", "samples.percent", "samples.non_negative", "samples.probe"}


def test_gx_and_pandas_quarantine_the_same_rows(pandas_gate, gx_gate):
    rng = np.random.default_rng(3)
    frame = pd.concat([_good("ram_used_pct"), _good("swap_io_pages_per_s", 0.0)], ignore_index=True)
    frame["value"] = rng.normal(50, 40, len(frame))  # some below 0, some above 100
    frame.loc[rng.choice(len(frame), 5, replace=False), "value"] = np.nan
    ours = _validate(pandas_gate, frame)
    theirs = _validate(gx_gate, frame)
    key = ["metric", "ts", "expectation"]
    pd.testing.assert_frame_equal(
        ours.quarantine.sort_values(key).reset_index(drop=True),
        theirs.quarantine.sort_values(key).reset_index(drop=True),
    )
    assert len(ours.quarantine) > 10
    assert theirs.docs_urls, "GX rendered Data Docs pages for the batch"
    for url in theirs.docs_urls.values():
        assert url.startswith("file://") and url.endswith(".html")


def test_exact_duplicate_keeps_one_row_and_conflicting_duplicates_keep_none(pandas_gate):
    frame = _good()
    at = START + timedelta(minutes=5)
    extra = pd.DataFrame(
        [_row("ram_used_pct", at, 50.0), _row("ram_used_pct", at + timedelta(minutes=1), 51.0)]
    )
    result = _validate(pandas_gate, pd.concat([frame, extra], ignore_index=True))
    kept = result.good.set_index("ts")["value"]
    assert kept[pd.Timestamp(at)] == 50.0  # one copy of the exact duplicate stays
    assert pd.Timestamp(at + timedelta(minutes=1)) not in kept.index  # 50 vs 51: neither
    reasons = sorted(result.quarantine["reason"])
    assert reasons == [
        "duplicate (series, ts)",
        "duplicate (series, ts) with conflicting values",
        "duplicate (series, ts) with conflicting values",
    ]


def test_cadence_blames_only_the_stray_sample(pandas_gate):
    frame = _good()
    stray = _row("ram_used_pct", START + timedelta(minutes=10, seconds=30), 50.0)
    result = _validate(pandas_gate, pd.concat([frame, pd.DataFrame([stray])], ignore_index=True))
    assert result.quarantine["ts"].tolist() == [stray["ts"]]
    assert len(result.good) == 60


def test_samples_twice_as_often_as_the_cadence_lose_every_other_one(pandas_gate):
    ts = pd.date_range(START, END, freq="30s", inclusive="left", tz="UTC")
    frame = pd.DataFrame(
        {"ts": ts, "server": "app-1", "metric": "cpu_used_pct", "label": "", "value": 5.0}
    )
    result = _validate(pandas_gate, frame)
    assert len(result.quarantine) == 60
    assert (result.quarantine["ts"].dt.second == 30).all()
    assert (result.good["ts"].dt.second == 0).all() and len(result.good) == 60


def test_coverage_below_the_floor_fails_the_coverage_suite_but_quarantines_nothing(pandas_gate):
    frame = _good().iloc[::5].reset_index(drop=True)  # 12 of 60 samples
    result = _validate(pandas_gate, frame, expected_series=[("app-1", "cpu_used_pct")])
    coverage = result.coverage.set_index("metric")["coverage"]
    assert coverage["ram_used_pct"] == pytest.approx(0.2)
    assert coverage["cpu_used_pct"] == 0.0  # expected but silent
    assert result.quarantine.empty
    suite = next(s for s in result.suites if s.suite == "samples.coverage")
    assert not suite.success
    record = result.suite_record(suite)
    assert {s["metric"] for s in record["results"][0]["series"]} == {"ram_used_pct", "cpu_used_pct"}


def test_snapshot_batch_expects_one_sample_per_series(pandas_gate):
    frame = pd.DataFrame(
        [_row("n8n_queue_waiting", END, 3.0, "jobs"), _row("n8n_queue_active", END, 1.0, "jobs")]
    )
    result = _validate(pandas_gate, frame, cadence_s=None)
    assert result.success, [s.suite for s in result.suites if not s.success]
    assert result.coverage["coverage"].tolist() == [1.0, 1.0]
    assert len(result.good) == 2


def test_empty_batch_passes_without_rows(pandas_gate):
    result = _validate(pandas_gate, _good().iloc[:0])
    assert result.good.empty and result.quarantine.empty
    assert result.success

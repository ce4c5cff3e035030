"""The gap rule follows a change of cadence inside the window (DESIGN.md, "Real monitoring
data"): a series scraped every 300 s and then every 60 s is judged at 300 s in its first part
and at 60 s in its second, so three missed 60 s scrapes split a run where one missed 300 s
scrape does not, and a run over the change is judged whole. ``find_runs`` takes the interval
per sample (or one for all: the same answer, fast). Dates are stated (2026Q3); nothing reads
the clock."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infra_review.capacity import data as d
from infra_review.capacity.evaluate import evaluate_server_inputs
from infra_review.capacity.plan import capacity_rules
from infra_review.criteria.rules import load_criteria
from infra_review.fleet import Fleet, Server
from infra_review.quality.window import coverage_verdict
from infra_review.quarter import Quarter
from infra_review.timeseries import cadence as cad
from infra_review.timeseries.edges import judge_edges
from infra_review.timeseries.runs import (
    US_PER_S,
    asof_match,
    clean_series,
    epoch_us,
    find_runs,
    to_datetime,
)

CRITERIA = load_criteria()
RULES = capacity_rules(CRITERIA)
Q3 = Quarter(2026, 3)  # 1 July - 1 October 2026
SERVER = "app-1"
FLEET = Fleet("test", {SERVER: Server(SERVER, ram_gb=16, cpu_cores=4, scrape_interval_s=60)})
CHANGE = pd.Timestamp("2026-08-15 12:00", tz="UTC")  # mid-day: 300 s before, 60 s after


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def grid(step: str, start, end) -> pd.DatetimeIndex:
    return pd.date_range(start, end, freq=step, inclusive="left")


def changing(start=None, end=None, first="5min", then="60s", at=CHANGE) -> pd.DatetimeIndex:
    return grid(first, start or Q3.start, at).append(grid(then, at, end or Q3.end))


def without(ts: pd.DatetimeIndex, start: str, end: str) -> pd.DatetimeIndex:
    """``ts`` with the samples in [start, end] missing (a hole)."""
    return ts[(ts < utc(start)) | (ts > utc(end))]


def level(ts: pd.DatetimeIndex, start: str, hours: float, high: float = 92.0) -> np.ndarray:
    values = np.full(len(ts), 60.0)
    begin = utc(start)
    values[(ts >= begin) & (ts < begin + pd.Timedelta(hours=hours))] = high
    return values


def review(series: dict, lookback_from=None) -> dict:
    """One server's criteria from rows already read (the runner's pure part), each series
    read back from ``lookback_from`` as well when given."""
    clean = {
        k: clean_series(ts, v, Q3.start, Q3.end, lookback_from) for k, (ts, v) in series.items()
    }
    counts = d.counts_from_series(SERVER, clean, {}, Q3)
    verdict = coverage_verdict(counts, Q3.start, Q3.end, FLEET, 0.5)
    payload = evaluate_server_inputs(
        SERVER,
        Q3,
        clean,
        verdict,
        d.server_metadata(FLEET, SERVER),
        previous=None,
        complaints=[],
        planned=[],
        cadence={},
        rules=RULES,
        defaults={**CRITERIA.defaults, "coverage_floor": 0.5},
    )
    return {r["criterion_id"]: r for r in payload["results"]}


def ram_series(ts: pd.DatetimeIndex, ram: np.ndarray) -> dict:
    return {("ram_used_pct", ""): (ts, ram), ("cpu_used_pct", ""): (ts, np.full(len(ts), 30.0))}


def runs_at_measured_cadence(ts: pd.DatetimeIndex, mask: np.ndarray):
    us = epoch_us(ts)
    measured = cad.measure(us)
    return find_runs(
        us, mask, interval_s=measured.at(us), gap_interval_s=measured.gap_at(us), values=None
    )


# --- find_runs with the cadence per sample ----------------------------------------------------


def test_three_missed_60_s_scrapes_split_a_run_after_a_change_from_300_s():
    """A 3-minute hole (spacing 240 s) more than a day after the change: at 60 s it is a hole
    (more than 150 s). Judged at the quarter's coarsest cadence (300 s, a hole only past
    750 s) it was bridged."""
    ts = without(changing(), "2026-09-10 12:01", "2026-09-10 12:03")
    runs = runs_at_measured_cadence(ts, np.ones(len(ts), dtype=bool))
    assert len(runs) == 2
    assert to_datetime(runs.end_us[0]).isoformat() == "2026-09-10T12:00:00+00:00"
    assert to_datetime(runs.start_us[1]).isoformat() == "2026-09-10T12:04:00+00:00"
    coarsest = find_runs(epoch_us(ts), np.ones(len(ts), dtype=bool), interval_s=300)
    assert len(coarsest) == 1  # the old rule's answer


def test_one_missed_300_s_scrape_before_the_change_does_not_split_the_run():
    ts = without(changing(), "2026-07-20 06:05", "2026-07-20 06:05")
    runs = runs_at_measured_cadence(ts, np.ones(len(ts), dtype=bool))
    assert len(runs) == 1
    # two missed 300 s scrapes (15 min between samples) are a hole there
    ts = without(changing(), "2026-07-20 06:05", "2026-07-20 06:10")
    assert len(runs_at_measured_cadence(ts, np.ones(len(ts), dtype=bool))) == 2


@pytest.mark.parametrize(
    ("first", "then"), [("5min", "60s"), ("60s", "5min")], ids=["300s-to-60s", "60s-to-300s"]
)
def test_a_run_over_a_mid_day_change_of_cadence_is_one_run(first, then):
    """The change day's median is one cadence, but its other part is at the other: the days
    around a change are judged at the coarser, so the run is not cut into single samples."""
    ts = changing(first=first, then=then)
    above = (ts >= utc("2026-08-14 18:00")) & (ts < utc("2026-08-16 00:00"))
    runs = runs_at_measured_cadence(ts, above)
    assert len(runs) == 1
    first_s, last = pd.Timedelta(first).total_seconds(), ts[above][-1]
    # last minus first sample, plus the interval the first sample closes (its own cadence)
    assert runs.duration_us[0] == int(
        ((last - utc("2026-08-14 18:00")).total_seconds() + first_s) * US_PER_S
    )


def test_a_run_length_adds_the_interval_its_first_sample_closes():
    us = epoch_us(grid("60s", utc("2026-08-20"), utc("2026-08-20 01:00")))
    intervals = np.where(us < epoch_us([utc("2026-08-20 00:30")])[0], 300.0, 60.0)
    runs = find_runs(us[10:], np.ones(len(us) - 10, dtype=bool), interval_s=intervals[10:])
    assert runs.duration_us[0] == us[-1] - us[10] + 300 * US_PER_S
    late = find_runs(us[40:], np.ones(len(us) - 40, dtype=bool), interval_s=intervals[40:])
    assert late.duration_us[0] == us[-1] - us[40] + 60 * US_PER_S


def test_the_gap_cadence_is_the_coarser_of_a_change_day_and_its_neighbours():
    measured = cad.measure(epoch_us(changing()))
    days = pd.DatetimeIndex(
        [utc("2026-08-10"), utc("2026-08-15 01:00"), utc("2026-08-16 06:00"), utc("2026-08-20")]
    )
    # 15 August: 144 spacings at 300 s, 720 at 60 s, so its median is 60 s; its holes are
    # judged at 300 s (its neighbour's), the day after is plain 60 s again
    assert measured.at(epoch_us(days)).tolist() == [300.0, 60.0, 60.0, 60.0]
    assert measured.gap_at(epoch_us(days)).tolist() == [300.0, 300.0, 60.0, 60.0]
    one_day_later = cad.measure(epoch_us(changing(at=utc("2026-08-15 20:00"))))
    # changed late on 15 August: that day's median is 300 s, so 16 August is widened too
    assert one_day_later.gap_at(epoch_us(days)).tolist() == [300.0, 300.0, 300.0, 60.0]


# --- through the review -----------------------------------------------------------------------


def test_a_30_h_saturation_with_a_3_minute_hole_in_the_60_s_part_is_not_met():
    ts = changing()
    ram = level(ts, "2026-09-10 00:00", 30)
    results = review(ram_series(ts, ram))
    assert results["ram.sustained"]["outcome"] == "met"
    kept = (ts < utc("2026-09-10 15:01")) | (ts > utc("2026-09-10 15:03"))
    results = review(ram_series(ts[kept], ram[kept]))
    sustained = results["ram.sustained"]
    assert sustained["outcome"] == "not_met"
    assert sustained["evidence"]["runs_above"] == 2
    assert sustained["evidence"]["longest_run"]["duration_s"] == 15 * 3600 + 60  # to 15:00


def test_a_30_h_saturation_with_a_missed_scrape_in_the_300_s_part_is_met():
    ts = changing()
    ram = level(ts, "2026-07-20 00:00", 30)
    kept = ts != utc("2026-07-20 12:00")
    sustained = review(ram_series(ts[kept], ram[kept]))["ram.sustained"]
    assert sustained["outcome"] == "met"
    assert sustained["evidence"]["longest_run"]["duration_s"] == 30 * 3600


def test_a_30_h_saturation_over_the_change_is_met_and_the_evidence_lists_the_cadences():
    ts = changing()
    sustained = review(ram_series(ts, level(ts, "2026-08-14 18:00", 30)))["ram.sustained"]
    assert sustained["outcome"] == "met"
    ev = sustained["evidence"]
    # 18:00 (a 300 s sample: it closes 300 s) to 23:59 the next day
    assert ev["longest_run"]["duration_s"] == 30 * 3600 - 60 + 300
    assert ev["interval_s"] == 300 and ev["hole_after_s"] == 750  # at the window's start
    assert [(c["from"][:10], c["interval_s"], c["hole_after_s"]) for c in ev["gap_cadences"]] == [
        ("2026-07-01", 300.0, 750.0),
        ("2026-08-15", 60.0, 750.0),  # the change day: its holes at the coarser cadence
        ("2026-08-16", 60.0, 150.0),
    ]


def test_a_look_back_at_another_cadence_continues_a_run_into_the_window():
    """The previous quarter was scraped every 300 s, this one every 60 s: the 30 h from
    30 June 09:00 are one run (its look-back part judged at its own 300 s), which passes
    24 h on 1 July 09:00 and so counts in Q3."""
    back = Q3.start - timedelta(hours=30)
    ts = changing(start=back, at=Q3.start)
    ram = level(ts, "2026-06-30 09:00", 30)
    sustained = review(ram_series(ts, ram), lookback_from=back)["ram.sustained"]
    assert sustained["outcome"] == "met"
    run = sustained["evidence"]["longest_run"]
    assert run["began_before_window"] and run["start"] == "2026-06-30T09:00:00+00:00"
    # its first sample closes 300 s: 24 h are passed at 08:55 + 1 min, in Q3
    assert run["duration_s"] == 30 * 3600 - 60 + 300
    assert run["threshold_crossed_at"] == "2026-07-01T08:56:00+00:00"
    assert run["counted_in"] == "this window"


def test_n8n_minutes_and_the_as_of_join_follow_the_cadence():
    """Waiting above 100 for 30 min in the 300 s part (6 samples, 5 min each) with active
    samples 2 min off: matched within the 300 s cadence there, and counted as 30 minutes,
    not 6."""
    ts = changing()
    waiting = level(ts, "2026-07-20 00:00", 0.5, high=150.0)
    active_ts = ts + pd.Timedelta(minutes=2)
    series = {
        ("n8n_queue_waiting", "jobs"): (ts, waiting),
        ("n8n_queue_active", "jobs"): (active_ts, np.full(len(ts), 2.0)),
    }
    queue = review(series)["cpu.n8n_queue"]
    ev = queue["evidence"]
    assert ev["minutes_counted"] == 30 and ev["minutes_above"] == 30
    assert ev["stalled_minutes"] == 0
    assert queue["outcome"] == "met"


def test_api_latency_slow_minutes_count_each_sample_at_its_cadence():
    ts = changing()
    latency = np.full(len(ts), 0.2)
    latency[(ts >= utc("2026-07-20 10:00")) & (ts < utc("2026-07-20 11:00"))] = 3.0  # 300 s
    latency[(ts >= utc("2026-09-20 10:00")) & (ts < utc("2026-09-20 10:04"))] = 3.0  # 60 s
    series = {("api_latency_s", "n8n:/healthz"): (ts, latency)}
    ev = review(series)["cpu.api_latency"]["evidence"]
    assert ev["minutes_slow"] == 64
    assert ev["longest_run"]["minutes_slow"] == 60


# --- one interval or an array of equal ones: the same runs ------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    spacing=st.lists(st.integers(1, 400), min_size=1, max_size=80),
    above=st.lists(st.booleans(), min_size=80, max_size=80),
    interval=st.sampled_from([1.0, 15.0, 60.0, 61.5, 300.0]),
    tolerance=st.sampled_from([1.0, 2.0, 3.0]),
)
def test_one_interval_and_an_array_of_equal_intervals_find_the_same_runs(
    spacing, above, interval, tolerance
):
    ts = (np.cumsum(np.array(spacing, dtype=np.int64)) * US_PER_S) + 1_780_000_000 * US_PER_S
    mask = np.array(above[: len(ts)])
    values = np.arange(len(ts), dtype="float64") % 7
    one = find_runs(ts, mask, interval_s=interval, gap_tolerance_intervals=tolerance, values=values)
    many = find_runs(
        ts,
        mask,
        interval_s=np.full(len(ts), interval),
        gap_tolerance_intervals=tolerance,
        values=values,
    )
    for field in ("start_us", "end_us", "samples", "peak", "duration_us"):
        assert np.array_equal(getattr(one, field), getattr(many, field), equal_nan=True), field
    start, end = to_datetime(ts[len(ts) // 2]), to_datetime(ts[-1] + 1)
    for inclusive in (False, True):
        a, b = (
            judge_edges(
                ts,
                r,
                timedelta(minutes=20),
                inclusive=inclusive,
                window_start=start,
                window_end=end,
                read_from_us=int(ts[0]),
            )
            for r in (one, many)
        )
        assert np.array_equal(a.crossed_us, b.crossed_us)
        assert np.array_equal(a.crosses, b.crosses)
        assert np.array_equal(a.in_window_us(), b.in_window_us())
    tol = int(interval * US_PER_S)
    assert all(
        np.array_equal(x, y)
        for x, y in zip(
            asof_match(ts, ts[::2] + 7, tol),
            asof_match(ts, ts[::2] + 7, np.full(len(ts), tol)),
            strict=True,
        )
    )


# --- the watch forecast's held level follows the cadence sample by sample ----------------------


def test_the_held_level_uses_each_samples_cadence_not_the_coarsest_days():
    """300 s for ten days, then 60 s: 36 h at 70% in the 60 s part (from day 10 18:00) with
    a 5-minute hole at day 11 06:00 is 12 h and 24 h without a hole at the 60 s in force
    there (a hole is over 150 s, and "more than 24 h" takes 1 441 samples), so no level of
    70 is held; judged at the coarsest day's 300 s (a hole over 750 s, 289 samples) it was."""
    from infra_review.capacity.trends import _held
    from infra_review.timeseries import cadence as cad
    from infra_review.timeseries.runs import epoch_us

    start = pd.Timestamp("2027-01-01T00:00Z")
    coarse = pd.date_range(start, periods=10 * 288, freq="300s")
    fine = pd.date_range(start + pd.Timedelta(days=10), periods=4 * 1440, freq="60s")
    ts = epoch_us(coarse.append(fine))
    hot_from, hot_to = start + pd.Timedelta(hours=258), start + pd.Timedelta(hours=294)
    values = np.where((ts >= epoch_us([hot_from])[0]) & (ts < epoch_us([hot_to])[0]), 70.0, 50.0)
    hole = (ts >= epoch_us([start + pd.Timedelta(days=11, hours=6)])[0]) & (
        ts < epoch_us([start + pd.Timedelta(days=11, hours=6, minutes=5)])[0]
    )
    origin = int(epoch_us([start])[0])

    def held(ts, values):
        c = cad.measure(ts)
        per_sample = _held(ts, values, 24 * 3600, c.at(ts), 2, origin, True, c.gap_at(ts))
        one = _held(ts, values, 24 * 3600, c.longest_s, 2, origin, True)
        return per_sample.value.max(), one.value.max()

    assert held(ts[~hole], values[~hole]) == (pytest.approx(50.0), pytest.approx(70.0))
    assert held(ts, values)[0] == pytest.approx(70.0)  # without the hole: 36 h held

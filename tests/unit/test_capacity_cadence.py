"""Issue 13 item 1: each series' cadence is measured from its own timestamps, and coverage is
judged over time at that cadence. The review's pure path is driven end to end (measure the
rows read, gate them, evaluate the criteria, decide), with the fleet's interval set to
disagree with the data. Dates are stated (2026Q3, 92 days); nothing reads the clock."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from infra_review.capacity import data as d
from infra_review.capacity.evaluate import build_decisions, evaluate_server_inputs
from infra_review.capacity.plan import capacity_rules
from infra_review.criteria.rules import load_criteria
from infra_review.fleet import Fleet, Server
from infra_review.quality.window import coverage_verdict
from infra_review.quarter import Quarter
from infra_review.timeseries import cadence as cad
from infra_review.timeseries.runs import US_PER_S, clean_series, epoch_us

CRITERIA = load_criteria()
RULES = capacity_rules(CRITERIA)
Q3 = Quarter(2026, 3)  # 1 July - 1 October 2026, 92 days
SERVER = "app-1"


def fleet(interval_s: int | None) -> Fleet:
    """app-1 in fleet.yaml with ``interval_s``; None: a server only its samples registered."""
    if interval_s is None:
        return Fleet("test", {})
    return Fleet(
        "test", {SERVER: Server(SERVER, ram_gb=16, cpu_cores=4, scrape_interval_s=interval_s)}
    )


def grid(step: str, start=None, end=None) -> pd.DatetimeIndex:
    return pd.date_range(start or Q3.start, end or Q3.end, freq=step, inclusive="left")


def review(
    series: dict[tuple[str, str], tuple[pd.DatetimeIndex, np.ndarray]],
    fleet_: Fleet,
    floor: float = 0.9,
    recorded: dict[tuple[str, str], int] | None = None,
):
    """The capacity review of one server from rows already read (runner.evaluate_server's
    pure part): measure, gate, evaluate, decide."""
    clean = {k: clean_series(ts, v, Q3.start, Q3.end) for k, (ts, v) in series.items()}
    recorded = recorded or {}
    counts = d.counts_from_series(SERVER, clean, recorded, Q3)
    verdict = coverage_verdict(counts, Q3.start, Q3.end, fleet_, floor)
    payload = evaluate_server_inputs(
        SERVER,
        Q3,
        clean,
        verdict,
        d.server_metadata(fleet_, SERVER),
        previous=None,
        complaints=[],
        planned=[],
        cadence=recorded,
        rules=RULES,
        defaults={**CRITERIA.defaults, "coverage_floor": floor},
    )
    plan = {"quarter": str(Q3), "criteria": {"version": CRITERIA.version}}
    decision = build_decisions(plan, [payload], {"skipped": True}, RULES, CRITERIA.defaults)[0]
    results = {r["criterion_id"]: r for r in payload["results"]}
    return verdict, results, decision


def ram_and_cpu(ts: pd.DatetimeIndex, ram: np.ndarray) -> dict:
    rng = np.random.default_rng(7)
    cpu = 30 + rng.normal(0, 3, len(ts))
    swap = np.zeros(len(ts))
    return {
        ("ram_used_pct", ""): (ts, ram),
        ("cpu_used_pct", ""): (ts, cpu),
        ("swap_io_pages_per_s", ""): (ts, swap),
    }


def saturated(ts: pd.DatetimeIndex, start: str, hours: float, level: float = 92.0) -> np.ndarray:
    """RAM at 60% with one stretch at ``level`` for ``hours`` from ``start`` (UTC)."""
    ram = np.full(len(ts), 60.0)
    begin = pd.Timestamp(start, tz="UTC")
    ram[(ts >= begin) & (ts < begin + pd.Timedelta(hours=hours))] = level
    return ram


# --- a whole quarter of 5-minute data (CloudWatch-style export) ------------------------------


@pytest.mark.parametrize("fleet_interval", [60, None], ids=["fleet-60s", "unknown-server"])
def test_a_quarter_of_5_minute_data_passes_coverage_and_a_44_h_saturation_is_met(fleet_interval):
    ts = grid("5min")
    verdict, results, decision = review(
        ram_and_cpu(ts, saturated(ts, "2026-08-10 06:00", 44)), fleet(fleet_interval)
    )
    ram = verdict.for_series(SERVER, "ram_used_pct")[0]
    assert ram.passed and ram.coverage == pytest.approx(1.0)
    assert ram.cadence_s == 300 and ram.cadence_source == "measured"
    assert ram.expected == 92 * 288
    sustained = results["ram.sustained"]
    assert sustained["outcome"] == "met"
    ev = sustained["evidence"]
    assert ev["interval_s"] == 300 and ev["hole_after_s"] == 750
    assert ev["longest_run"]["duration_s"] == 44 * 3600
    assert decision.decision == "upgrade_ram"


def test_a_hole_longer_than_the_tolerance_at_5_minute_cadence_splits_the_run():
    """Gaps are judged against the measured 300 s: one missed scrape is bridged, a 20-minute
    hole (three missed) splits the 44 h into two runs of about 22 h."""
    ts = grid("5min")
    ram = saturated(ts, "2026-08-10 06:00", 44)
    one_missed = ts != pd.Timestamp("2026-08-11 04:00", tz="UTC")
    _, results, _ = review(ram_and_cpu(ts[one_missed], ram[one_missed]), fleet(60))
    assert results["ram.sustained"]["outcome"] == "met"
    hole = (ts < pd.Timestamp("2026-08-11 04:00", tz="UTC")) | (
        ts > pd.Timestamp("2026-08-11 04:10", tz="UTC")
    )
    _, results, _ = review(ram_and_cpu(ts[hole], ram[hole]), fleet(60))
    assert results["ram.sustained"]["outcome"] == "not_met"
    assert results["ram.sustained"]["evidence"]["runs_above"] == 2


# --- twenty dense days in a quarter -----------------------------------------------------------


def test_twenty_dense_days_of_60_s_data_fail_coverage_and_decide_insufficient_data():
    """However many samples (28,800 at 60 s), 20 days are 22% of a 92-day quarter: below a
    0.8 floor even when fleet.yaml's interval (300 s) would count them as more than enough."""
    ts = grid("60s", end=Q3.start + timedelta(days=20))
    verdict, results, decision = review(ram_and_cpu(ts, np.full(len(ts), 60.0)), fleet(300), 0.8)
    ram = verdict.for_series(SERVER, "ram_used_pct")[0]
    assert not ram.passed
    assert ram.samples == 20 * 1440 and ram.coverage == pytest.approx(20 / 92, abs=1e-4)
    assert ram.covered_h == pytest.approx(480, abs=0.1)
    assert "below the floor 80%" in ram.reasons[0] and "of 2208 h" in ram.reasons[0]
    assert results["ram.sustained"]["outcome"] == "insufficient_data"
    assert decision.decision == "insufficient_data"


# --- a change of scrape interval mid-quarter --------------------------------------------------


def test_a_change_of_cadence_mid_quarter_is_followed():
    """60 s until 15 August, 300 s after: coverage is whole (each part at its own cadence), the
    change is named, and a 30 h saturation in the 300 s part is one run."""
    change = pd.Timestamp("2026-08-15", tz="UTC")
    ts = grid("60s", end=change).append(grid("5min", start=change))
    verdict, results, _ = review(ram_and_cpu(ts, saturated(ts, "2026-09-02 00:00", 30)), fleet(60))
    ram = verdict.for_series(SERVER, "ram_used_pct")[0]
    assert ram.passed and ram.coverage == pytest.approx(1.0)
    assert ram.cadence_changes == [
        {"from": "2026-07-01", "cadence_s": 60.0},
        {"from": "2026-08-15", "cadence_s": 300.0},
    ]
    assert ram.expected == 45 * 1440 + 47 * 288
    assert any("cadence changed in the window" in n for n in ram.notes)
    assert results["ram.sustained"]["outcome"] == "met"
    assert results["ram.sustained"]["evidence"]["longest_run"]["duration_s"] == 30 * 3600


def test_the_cadence_is_measured_per_day_so_the_change_day_is_where_it_changes():
    change = pd.Timestamp("2026-08-15", tz="UTC")
    ts = epoch_us(grid("60s", end=change).append(grid("5min", start=change)))
    measured = cad.measure(ts)
    at = measured.at(epoch_us(pd.DatetimeIndex([change - timedelta(hours=1), change])))
    assert at.tolist() == [60.0, 300.0]
    # 45 days at 60 s, 47 at 300 s: the typical cadence is the one on most days
    assert (measured.typical_s, measured.longest_s) == (300.0, 300.0)


# --- the fleet's interval is a cross-check ----------------------------------------------------


def test_a_fleet_interval_that_disagrees_with_the_measured_cadence_is_reported_not_used():
    ts = grid("5min")
    verdict, results, _ = review(ram_and_cpu(ts, np.full(len(ts), 60.0)), fleet(60))
    ram = verdict.for_series(SERVER, "ram_used_pct")[0]
    assert ram.passed and ram.configured_s == 60
    assert ram.notes == [
        "measured cadence 5 min differs from fleet.yaml's scrape_interval_s 1 min by more "
        "than 50%; the measured cadence is used"
    ]
    gate = results["ram.sustained"]["evidence"]["gate"]
    assert gate["notes"] == ram.notes and gate["cadence_s"] == 300
    agreeing, _, _ = review(ram_and_cpu(ts, np.full(len(ts), 60.0)), fleet(300))
    assert agreeing.for_series(SERVER, "ram_used_pct")[0].notes == []


def test_the_recorded_collector_cadence_is_the_cross_check_when_there_is_one():
    """A snapshot source records one reading per collect run (300 s) on a server scraped
    every 60 s: measured 300 s agrees with what its collector promised, so nothing is noted."""
    ts = grid("5min")
    key = ("ram_used_pct", "")
    verdict, _, _ = review(ram_and_cpu(ts, np.full(len(ts), 60.0)), fleet(60), recorded={key: 300})
    ram = verdict.for_series(SERVER, "ram_used_pct")[0]
    assert ram.configured_s == 300 and ram.notes == []


def test_disagreement_is_a_ratio_beyond_one_and_a_half_either_way():
    assert cad.disagrees(300, 60) and cad.disagrees(20, 60)
    assert not cad.disagrees(75, 60) and not cad.disagrees(40, 60)
    assert not cad.disagrees(300, None)


# --- the floor's boundary ---------------------------------------------------------------------


@pytest.mark.parametrize(("extra_minutes", "passed"), [(-1, False), (0, True)])
def test_coverage_just_below_the_floor_fails_and_just_above_passes(extra_minutes, passed):
    """60 s data from the window's start for 90% of it (1987.2 h): the last sample stands for
    one cadence and a half, so a minute less is just below 0.9 and exactly 90% just above."""
    window_s = (Q3.end - Q3.start).total_seconds()
    end = Q3.start + timedelta(seconds=0.9 * window_s) + timedelta(minutes=extra_minutes)
    ts = grid("60s", end=end)
    verdict, results, _ = review(ram_and_cpu(ts, np.full(len(ts), 60.0)), fleet(60), 0.9)
    ram = verdict.for_series(SERVER, "ram_used_pct")[0]
    assert ram.passed is passed
    assert abs(ram.coverage - 0.9) < 60 / window_s
    assert (results["ram.sustained"]["outcome"] == "insufficient_data") is not passed


# --- the measurement itself -------------------------------------------------------------------


def test_missed_scrapes_and_jitter_do_not_move_the_measured_cadence():
    rng = np.random.default_rng(3)
    ts = epoch_us(grid("60s", end=Q3.start + timedelta(days=3)))
    ts = ts + rng.integers(-2 * US_PER_S, 2 * US_PER_S, len(ts))
    ts = np.sort(ts[rng.random(len(ts)) > 0.3])  # 30% of scrapes lost
    measured = cad.measure(ts)
    assert measured.typical_s == pytest.approx(60, abs=2)
    start, end = epoch_us([Q3.start])[0], epoch_us([Q3.start + timedelta(days=3)])[0]
    # each kept sample stands for up to 90 s: most of a lost scrape's minute is still covered
    assert 0.8 < cad.covered_s(ts, start, end, measured) / (3 * 86400) < 0.9


def test_a_thin_day_borrows_the_cadence_of_the_day_before():
    day0 = grid("60s", end=Q3.start + timedelta(days=1))
    stray = pd.DatetimeIndex([Q3.start + timedelta(days=1, hours=h) for h in (1, 5, 9)])
    measured = cad.measure(epoch_us(day0.append(stray)))
    assert measured.day_s.tolist() == [60.0]
    assert measured.at(epoch_us(stray)).tolist() == [60.0, 60.0, 60.0]


def test_a_series_too_thin_to_measure_falls_back_and_says_so():
    ts = pd.DatetimeIndex([Q3.start + timedelta(days=3)])
    verdict, _, _ = review({("ram_used_pct", ""): (ts, np.array([50.0]))}, fleet(60))
    ram = verdict.for_series(SERVER, "ram_used_pct")[0]
    assert ram.cadence_source == "default" and not ram.passed
    assert "not measurable from 1 sample(s)" in ram.notes[0]

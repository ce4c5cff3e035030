"""ram.swap, ram.degradation, ram.planned, cpu.api_latency, cpu.n8n_queue and cpu.complaints
at their boundaries: just below, at, just above, and missing data."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from infra_review.capacity import trends
from infra_review.capacity.criteria import cpu, cpu_queue, ram
from infra_review.capacity.criteria.common import SeriesInput, ServerInputs
from infra_review.criteria.result import Outcome
from infra_review.criteria.rules import load_criteria
from infra_review.quarter import Quarter
from infra_review.timeseries.runs import clean_series
from infra_review.timeseries.trend import DAY_US, bucket_quantile, linear_forecast

CRITERIA = load_criteria()
D = CRITERIA.defaults
Q3 = Quarter(2026, 3)
PASS = {"passed": True, "coverage": 1.0, "reasons": []}
FAIL = {"passed": False, "coverage": 0.5, "reasons": ["coverage 50.0% below the floor 90%"]}
TS = pd.date_range(Q3.start, Q3.end, freq="1min", inclusive="left")
HOURS = len(TS) // 60  # 2208


def series(metric: str, values, label: str = "", gate=PASS, ts=TS) -> SeriesInput:
    return SeriesInput(metric, label, clean_series(ts, values, Q3.start, Q3.end), gate)


def server(*items: SeriesInput, **kwargs) -> ServerInputs:
    by: dict[str, list[SeriesInput]] = {}
    for s in items:
        by.setdefault(s.metric, []).append(s)
    return ServerInputs("app-1", Q3.start, Q3.end, series=by, **kwargs)


# --- ram.swap -------------------------------------------------------------------------------


def swap_with_hours(n_hours: int) -> np.ndarray:
    values = np.zeros(len(TS))
    values[: n_hours * 60 : 60] = 5.0  # one swapping minute per hour is a swapping hour
    return values


def test_swap_more_than_10_percent_of_hours():
    exactly = HOURS // 10 + (0 if HOURS % 10 == 0 else 1)  # ceil: 221 of 2208 is 10.01%
    at = ram.swap_hours(
        CRITERIA["ram.swap"], server(series("swap_io_pages_per_s", swap_with_hours(220))), D
    )
    above = ram.swap_hours(
        CRITERIA["ram.swap"], server(series("swap_io_pages_per_s", swap_with_hours(exactly))), D
    )
    assert at.observed == pytest.approx(220 / 2208) and at.outcome is Outcome.NOT_MET
    assert above.observed == pytest.approx(221 / 2208) and above.outcome is Outcome.MET
    assert above.evidence["swapping_hours"] == 221 and above.evidence["hours_with_data"] == 2208
    assert above.evidence["swapping_episodes"][0]["duration_s"] == 221 * 3600


def test_swap_share_is_of_the_windows_hours_not_of_the_hours_with_data():
    """Issue 13 item 10: 20 swapping hours in 100 hours of data were 20% (met); DESIGN.md
    counts the window's hours, so they are 20 / 2208 = 0.9% (not met)."""
    ts = TS[: 100 * 60]
    values = np.zeros(len(ts))
    values[: 20 * 60] = 1.0
    r = ram.swap_hours(
        CRITERIA["ram.swap"], server(series("swap_io_pages_per_s", values, ts=ts)), D
    )
    assert r.observed == 20 / HOURS and r.outcome is Outcome.NOT_MET
    assert r.evidence["hours_with_data"] == 100 and r.evidence["window_hours"] == HOURS
    assert "20 of 2208" in ram.RamSwap.explain(r)


# --- ram.degradation ---------------------------------------------------------------------------


def latency_input(p95_now: float, previous: dict | None, gate=PASS) -> ServerInputs:
    values = np.full(len(TS), p95_now)
    return server(
        series("api_latency_s", values, "n8n:/webhook", gate),
        previous_latency=previous,
        previous_quarter="2026Q2",
    )


def test_degradation_ratio_boundary_and_missing_history():
    prev = {"n8n:/webhook": {"quarter": "2026Q2", "p95": 0.4, "passed": True, "samples": 1}}
    rule = CRITERIA["ram.degradation"]
    at = ram.degradation(rule, latency_input(0.6, prev), D)
    above = ram.degradation(rule, latency_input(0.6004, prev), D)
    none = ram.degradation(rule, latency_input(0.9, None), D)
    failed_prev = {"n8n:/webhook": {**prev["n8n:/webhook"], "passed": False, "reasons": ["low"]}}
    weak = ram.degradation(rule, latency_input(0.9, failed_prev), D)
    assert at.observed == pytest.approx(1.5) and at.outcome is Outcome.NOT_MET
    assert above.observed == pytest.approx(1.501) and above.outcome is Outcome.MET
    assert none.outcome is Outcome.INSUFFICIENT_DATA
    assert none.evidence["insufficient"]["kind"] == "history"
    assert weak.outcome is Outcome.INSUFFICIENT_DATA
    gated = ram.degradation(rule, latency_input(0.9, prev, FAIL), D)
    assert gated.evidence["insufficient"]["kind"] == "gate"
    na = ram.degradation(rule, server(), D)
    assert na.outcome is Outcome.NOT_MET and na.evidence["applicable"] is False


# --- ram.planned -----------------------------------------------------------------------------


def planned_input(p95_pct: float, ram_gb: float | None, plans: list[dict]) -> ServerInputs:
    return server(series("ram_used_pct", np.full(len(TS), p95_pct)), ram_gb=ram_gb, planned=plans)


def test_planned_services_push_p95_over_85_percent():
    rule = CRITERIA["ram.planned"]
    plan = [
        {
            "service": "clickhouse",
            "server": "app-1",
            "planned_for": "2026-10-15",
            "ram_gb": 2.0,
            "cpu_cores": 1,
        }
    ]
    at = ram.planned_ram(rule, planned_input(72.5, 16, plan), D)  # 11.6 + 2 = 13.6 GB = 85%
    above = ram.planned_ram(rule, planned_input(72.6, 16, plan), D)
    assert at.observed == pytest.approx(85.0) and at.outcome is Outcome.NOT_MET
    assert above.observed == pytest.approx(85.1) and above.outcome is Outcome.MET
    assert above.evidence["planned_ram_gb"] == 2.0
    assert above.evidence["planned_services"][0]["service"] == "clickhouse"
    nothing = ram.planned_ram(rule, planned_input(95, 16, []), D)
    assert nothing.outcome is Outcome.NOT_MET  # high, but nothing planned: ram.sustained's job
    past = [{**plan[0], "planned_for": "2026-08-01"}]  # already running: in the p95
    late = [{**plan[0], "planned_for": "2027-12-01"}]  # beyond planned_within
    assert ram.planned_ram(rule, planned_input(84, 16, past), D).evidence["planned_ram_gb"] == 0
    assert ram.planned_ram(rule, planned_input(84, 16, late), D).evidence["planned_ram_gb"] == 0


def test_planned_needs_installed_ram():
    plan = [
        {
            "service": "x",
            "server": "app-1",
            "planned_for": "2026-10-15",
            "ram_gb": 2.0,
            "cpu_cores": 1,
        }
    ]
    r = ram.planned_ram(CRITERIA["ram.planned"], planned_input(80, None, plan), D)
    assert r.outcome is Outcome.INSUFFICIENT_DATA
    assert r.evidence["insufficient"]["kind"] == "metadata"
    assert "ram_gb" in r.evidence["insufficient"]["reasons"][0]


# --- cpu.api_latency ---------------------------------------------------------------------------


def test_api_latency_hourly_p95_for_at_least_one_hour():
    rule = CRITERIA["cpu.api_latency"]
    values = np.full(len(TS), 0.3)
    at = values.copy()
    at[600:660] = 2.0  # one whole hour (10:00-11:00) with p95 exactly 2 s: not above
    one = values.copy()
    one[600:660] = 2.5  # one hour with p95 2.5 s: met ("at least 1 hour")
    split = values.copy()
    split[630:690] = 2.5  # 60 minutes across two hours: each hour's p95 is above 2 s
    half = values.copy()
    half[600:620] = 2.5  # 20 minutes: p95 of the hour above 2 s too (the hour is slow)
    quiet = values.copy()
    quiet[600:602] = 2.5  # 2 slow minutes: the hour's p95 stays low
    r = {
        k: cpu.api_latency(rule, server(series("api_latency_s", v, "ep")), D)
        for k, v in {"at": at, "one": one, "split": split, "half": half, "quiet": quiet}.items()
    }
    assert r["at"].outcome is Outcome.NOT_MET
    assert r["one"].outcome is Outcome.MET and r["one"].observed == 1.0
    assert r["one"].evidence["longest_run"]["start"] == "2026-07-01T10:00:00+00:00"
    assert r["split"].observed == 2.0 and r["split"].outcome is Outcome.MET
    assert r["half"].outcome is Outcome.MET
    assert r["quiet"].outcome is Outcome.NOT_MET
    assert r["one"].evidence["worst_hour"]["p95_s"] == pytest.approx(2.5)


def test_a_declared_api_without_a_latency_series_is_insufficient_not_a_pass():
    """Issue 13 item 9: directus declared in fleet.yaml with no latency series was `not_met,
    applicable: false`; declared-but-unmeasured is insufficient_data (kind gate), named."""
    for rule, func in (
        (CRITERIA["cpu.api_latency"], cpu.api_latency),
        (CRITERIA["ram.degradation"], ram.degradation),
    ):
        r = func(rule, server(services=("postgresql", "directus")), D)
        assert r.outcome is Outcome.INSUFFICIENT_DATA, rule.id
        assert r.evidence["insufficient"]["kind"] == "gate"
        assert "directus is declared on app-1" in r.evidence["insufficient"]["reasons"][0]
        na = func(rule, server(services=("postgresql", "redis")), D)  # no API declared
        assert na.outcome is Outcome.NOT_MET and na.evidence["applicable"] is False
    # one API measured, another declared without a series: still not a pass
    partial = cpu.api_latency(
        CRITERIA["cpu.api_latency"],
        server(
            series("api_latency_s", np.full(len(TS), 0.3), "n8n:/healthz"),
            services=("n8n", "directus"),
        ),
        D,
    )
    assert partial.outcome is Outcome.INSUFFICIENT_DATA


def test_api_latency_met_on_one_endpoint_even_when_another_lacks_data():
    rule = CRITERIA["cpu.api_latency"]
    slow = np.full(len(TS), 0.3)
    slow[600:660] = 3.0
    r = cpu.api_latency(
        rule,
        server(series("api_latency_s", slow, "a"), series("api_latency_s", slow, "b", FAIL)),
        D,
    )
    assert r.outcome is Outcome.MET
    lacking = cpu.api_latency(
        rule,
        server(
            series("api_latency_s", np.full(len(TS), 0.3), "a"),
            series("api_latency_s", slow, "b", FAIL),
        ),
        D,
    )
    assert lacking.outcome is Outcome.INSUFFICIENT_DATA
    assert len(lacking.evidence["series"]) == 2


# --- cpu.n8n_queue ---------------------------------------------------------------------------


def queue(
    waiting_high: slice,
    active_zero: slice | None = None,
    with_active: bool = True,
    services=("n8n",),
) -> ServerInputs:
    waiting = np.full(len(TS), 5.0)
    waiting[waiting_high] = 150.0
    active = np.full(len(TS), 3.0)
    if active_zero is not None:
        active[active_zero] = 0.0
    items = [series("n8n_queue_waiting", waiting, "jobs")]
    if with_active:
        items.append(series("n8n_queue_active", active, "jobs"))
    return server(*items, services=services)


def test_n8n_queue_15_minutes_busy():
    rule = CRITERIA["cpu.n8n_queue"]
    assert cpu_queue.n8n_queue(rule, queue(slice(100, 114)), D).outcome is Outcome.NOT_MET
    met = cpu_queue.n8n_queue(rule, queue(slice(100, 115)), D)
    assert met.outcome is Outcome.MET and met.observed == 15.0
    assert met.evidence["incident"] is False


def test_n8n_stalled_minutes_are_excluded_and_flagged():
    rule = CRITERIA["cpu.n8n_queue"]
    stalled = cpu_queue.n8n_queue(rule, queue(slice(100, 160), active_zero=slice(100, 160)), D)
    assert stalled.outcome is Outcome.NOT_MET
    assert stalled.evidence["stalled_minutes"] == 60.0
    assert stalled.evidence["incident"] is True
    assert stalled.evidence["stalled_episodes"][0]["duration_s"] == 3600
    # a stall in the middle of a busy stretch splits it: 10 + 10 busy minutes, not 25
    split = cpu_queue.n8n_queue(rule, queue(slice(100, 125), active_zero=slice(110, 115)), D)
    assert split.outcome is Outcome.NOT_MET and split.observed == 10.0
    assert split.evidence["stalled_minutes"] == 5.0


def test_n8n_without_active_series_counts_every_minute_and_says_so():
    rule = CRITERIA["cpu.n8n_queue"]
    r = cpu_queue.n8n_queue(rule, queue(slice(100, 160), with_active=False), D)
    assert r.outcome is Outcome.MET
    assert r.evidence["stalls_distinguishable"] is False
    assert "could not be told apart" in r.evidence["note"]


def test_misaligned_waiting_and_active_are_joined_by_time_and_stalls_found():
    """Issue 13 item 4: 30 min of 150 waiting / 0 active, the active samples taken 5 s after
    the waiting ones, was `met` ("busy") with 0 stalled minutes; joined as-of within one
    cadence it is a 30-minute stall, not met, and nothing is unmatched."""
    rule = CRITERIA["cpu.n8n_queue"]
    waiting = np.full(len(TS), 5.0)
    waiting[100:130] = 150.0
    active = np.full(len(TS), 3.0)
    active[100:130] = 0.0
    late = TS + pd.Timedelta(seconds=5)
    inp = server(
        series("n8n_queue_waiting", waiting, "jobs"),
        series("n8n_queue_active", active[:-1], "jobs", ts=late[:-1]),  # last one: next quarter
        services=("n8n",),
    )
    r = cpu_queue.n8n_queue(rule, inp, D)
    assert r.outcome is Outcome.NOT_MET
    assert r.evidence["stalled_minutes"] == 30.0 and r.evidence["incident"] is True
    assert r.evidence["stalls_distinguishable"] is True
    assert r.evidence["minutes_unmatched"] == 0.0  # the last waiting minute: 55 s from one


def test_active_samples_further_than_one_cadence_are_unmatched_and_counted():
    rule = CRITERIA["cpu.n8n_queue"]
    waiting = np.full(len(TS), 5.0)
    waiting[100:130] = 150.0
    far = TS[::3] + pd.Timedelta(seconds=61)  # nearest active sample up to ~2 min away
    inp = server(
        series("n8n_queue_waiting", waiting, "jobs"),
        series("n8n_queue_active", np.zeros(len(far) - 1), "jobs", ts=far[:-1]),
        services=("n8n",),
    )
    r = cpu_queue.n8n_queue(rule, inp, D)
    assert r.evidence["minutes_unmatched"] > 0 and r.evidence["match_tolerance_s"] == 60


def test_n8n_not_applicable_or_missing():
    rule = CRITERIA["cpu.n8n_queue"]
    na = cpu_queue.n8n_queue(rule, server(services=("redis",)), D)
    assert na.outcome is Outcome.NOT_MET and na.evidence["applicable"] is False
    missing = cpu_queue.n8n_queue(rule, server(services=("n8n", "n8n-worker")), D)
    assert missing.outcome is Outcome.INSUFFICIENT_DATA


# --- cpu.complaints --------------------------------------------------------------------------


def complaint(ts: str, category: str = "slow") -> dict:
    return {"ts": ts, "service": "n8n", "server": "app-1", "category": category, "text": "x"}


def test_complaints_at_least_three_slow_in_the_window():
    rule = CRITERIA["cpu.complaints"]
    two = [complaint("2026-07-02T10:00:00+05:00"), complaint("2026-08-02T10:00:00+00:00")]
    other = [
        complaint("2026-08-03T10:00:00+00:00", "error"),
        complaint("2026-06-30T23:59:00+00:00"),
    ]
    edge = [complaint("2026-07-01T04:59:59+05:00")]  # 2026-06-30 23:59:59 UTC: the previous quarter
    assert cpu.complaints(rule, server(complaints=two + other + edge), D).outcome is Outcome.NOT_MET
    three = two + [complaint("2026-09-30T23:59:59+00:00")]
    r = cpu.complaints(rule, server(complaints=three + other), D)
    assert r.outcome is Outcome.MET and r.observed == 3.0
    assert [c["ts"] for c in r.evidence["complaints"]][0] == "2026-07-02T10:00:00+05:00"


# --- forecasts ---------------------------------------------------------------------------------


def test_linear_forecast_crossing_date():
    days = np.arange(Q3.days) * DAY_US + int(Q3.start.timestamp()) * 1_000_000
    daily = 70 + 0.1 * np.arange(Q3.days)  # +0.1 pp per day: 85 at day 150
    fc = linear_forecast(days, daily, 85.0, Q3.end, timedelta(days=91))
    assert fc.slope_per_day == pytest.approx(0.1)
    assert fc.crossing.date() == (Q3.start + timedelta(days=150.5)).date()
    assert fc.within_horizon is True  # day 150 < 92 + 91
    slow = linear_forecast(days, 70 + 0.05 * np.arange(Q3.days), 85.0, Q3.end, timedelta(days=91))
    assert slow.within_horizon is False
    few = linear_forecast(days[:5], daily[:5], 85.0, Q3.end, timedelta(days=91))
    assert few.within_horizon is False and "only 5" in few.reason


def test_watch_forecast_on_ram_trend():
    rising = 60 + 20 * np.arange(len(TS)) / len(TS)  # 60% -> 80% over the quarter
    fcs = trends.forecasts(
        {"ram.sustained": CRITERIA["ram.sustained"]}, server(series("ram_used_pct", rising)), D
    )
    assert len(fcs) == 1 and fcs[0]["within_horizon"] is True
    crossing = datetime.fromisoformat(fcs[0]["crossing"])
    assert Q3.end < crossing < Q3.end + timedelta(days=91)
    b = bucket_quantile(np.array([0, 1, 2, 3]), np.array([1.0, 2.0, 3.0, 4.0]), 0.95, 10)
    assert b.value[0] == pytest.approx(np.percentile([1, 2, 3, 4], 95))


DAYS = np.arange(Q3.days) * DAY_US + int(Q3.start.timestamp()) * 1_000_000


def test_flat_at_the_threshold_is_not_already_beyond_it():
    """Issue 13 item 8: RAM flat at exactly 85.0 gave watch ("already beyond", fitted
    85.00000000000003); the criterion's comparator is strict and float noise is not a trend."""
    fc = linear_forecast(DAYS, np.full(Q3.days, 85.0), 85.0, Q3.end, timedelta(days=92))
    assert fc.within_horizon is False and fc.crossing is None
    above = linear_forecast(DAYS, np.full(Q3.days, 85.01), 85.0, Q3.end, timedelta(days=92))
    assert above.within_horizon is True and "already beyond" in above.reason


def test_a_crossing_is_never_reported_in_the_past():
    """A noisy series already above its threshold reported a crossing date years back."""
    rng = np.random.default_rng(3)
    noisy = 90 + 0.001 * np.arange(Q3.days) + rng.normal(0, 2, Q3.days)
    fc = linear_forecast(DAYS, noisy, 85.0, Q3.end, timedelta(days=92))
    assert fc.crossing is None or fc.crossing > Q3.end
    below = linear_forecast(DAYS, 60 - 0.01 * np.arange(Q3.days), 85.0, Q3.end, timedelta(days=92))
    assert below.crossing is None and below.within_horizon is False


def test_the_watch_horizon_is_the_end_of_the_next_quarter():
    """A crossing on the last day of the next, 92-day quarter (Q4) was missed with 91 days."""
    assert trends.horizon_after(Q3.end) == timedelta(days=92)
    assert trends.horizon_after(Quarter(2026, 4).end) == timedelta(days=90)  # 2027Q1
    # the line reaches 85 on 31 December (Q4's last day): inside a horizon to 1 January
    target = (datetime(2026, 12, 31, 12, tzinfo=Q3.end.tzinfo) - Q3.start).total_seconds() / 86400
    slope = 15 / (target - 0.5)
    daily = 70 + slope * np.arange(Q3.days)
    fc = linear_forecast(DAYS, daily, 85.0, Q3.end, trends.horizon_after(Q3.end))
    assert fc.crossing.date().isoformat() == "2026-12-31" and fc.within_horizon is True
    short = linear_forecast(DAYS, daily, 85.0, Q3.end, timedelta(days=91))
    assert short.within_horizon is False


def test_stalled_minutes_do_not_feed_the_waiting_queue_forecast():
    """Issue 13 item 8: a queue stalled at 150 waiting, none active, for the last 20 days
    made the daily-p95 trend of waiting jobs cross 100 (watch: buy CPU); stalls are an
    incident, so they are left out of the trend, and a busy queue still counts."""
    rule = CRITERIA["cpu.n8n_queue"]
    waiting = np.full(len(TS), 5.0)
    stall = slice(len(TS) - 20 * 1440, len(TS))
    waiting[stall] = 150.0

    def fc(active_during_stall: float):
        active = np.full(len(TS), 3.0)
        active[stall] = active_during_stall
        inp = server(
            series("n8n_queue_waiting", waiting, "jobs"),
            series("n8n_queue_active", active, "jobs"),
            services=("n8n",),
        )
        return trends.forecasts({"cpu.n8n_queue": rule}, inp, D)[0]

    assert fc(0.0)["within_horizon"] is False  # stalled: not a trend of load
    assert fc(3.0)["within_horizon"] is True  # busy: the same numbers are a trend

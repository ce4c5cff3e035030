"""Issue 13 item 8: `watch` is honest. Forecasts fit what the trigger judges (the daily
highest level held for the trigger's duration, stalled n8n minutes left out), compare with
the trigger's own comparator and a tolerance, never report a crossing in the past, and look
to the end of the next quarter. (The tests of ``capacity/trends.py``.)"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from infra_review.capacity import trends
from infra_review.capacity.criteria.common import ServerInputs
from infra_review.capacity.records import _forecast_text
from infra_review.quarter import Quarter
from infra_review.timeseries.runs import to_datetime
from infra_review.timeseries.trend import (
    DAY_US,
    bucket_quantile,
    linear_forecast,
    rolling_min,
    sustained_level,
)
from tests.support.capacity import CRITERIA, Q3, TS, D, series, server

DAYS = np.arange(Q3.days) * DAY_US + int(Q3.start.timestamp()) * 1_000_000


def forecast_of(rule_id: str, inp: ServerInputs) -> dict:
    (fc,) = trends.forecasts({rule_id: CRITERIA[rule_id]}, inp, D)
    return fc


# --- comparator and tolerance ----------------------------------------------------------------


def test_flat_at_exactly_the_threshold_is_not_already_beyond_a_strict_comparator():
    fc = forecast_of("ram.sustained", server(series("ram_used_pct", np.full(len(TS), 85.0))))
    assert fc["within_horizon"] is False and fc["already_beyond"] is False
    assert fc["crossing"] is None
    at = np.full(Q3.days, 85.0)
    assert linear_forecast(DAYS, at, 85.0, Q3.end, timedelta(days=92)).within_horizon is False
    # just above the threshold is beyond; >= includes the threshold itself
    above = linear_forecast(DAYS, at + 0.001, 85.0, Q3.end, timedelta(days=92))
    inclusive = linear_forecast(DAYS, at, 85.0, Q3.end, timedelta(days=92), comparator=">=")
    assert above.already_beyond and above.within_horizon
    assert inclusive.already_beyond and inclusive.within_horizon


def test_a_noisy_flat_series_never_reports_a_crossing_in_the_past():
    rng = np.random.default_rng(7)
    for level in (84.0, 84.9, 85.1, 86.0):
        for _ in range(20):
            daily = level + rng.normal(0, 0.5, Q3.days)
            fc = linear_forecast(DAYS, daily, 85.0, Q3.end, timedelta(days=92))
            assert fc.crossing is None or fc.crossing > Q3.end
            if fc.already_beyond:
                assert fc.crossing is None and fc.within_horizon


# --- the quantity the criterion judges ---------------------------------------------------------


def daily_bursts(minutes: int, base: float = 40.0) -> np.ndarray:
    values = np.full(len(TS), base)
    for day in range(Q3.days):
        values[day * 1440 + 600 : day * 1440 + 600 + minutes] = 100.0
    return values


def test_daily_cpu_bursts_shorter_than_the_criterion_never_give_watch():
    """30-minute bursts to 100% every day: their daily p95 is high, but cpu.sustained needs
    more than 1 h in a row, which such bursts can never reach."""
    fc = forecast_of("cpu.sustained", server(series("cpu_used_pct", daily_bursts(30))))
    assert fc["within_horizon"] is False and fc["fitted_at_end"] == pytest.approx(40.0)
    assert fc["statistic"] == "daily highest level held for more than 1 h"
    # exactly 1 h is not "more than 1 h" (as the criterion); 61 minutes are, at once
    hour = forecast_of("cpu.sustained", server(series("cpu_used_pct", daily_bursts(60))))
    assert hour["within_horizon"] is False and hour["fitted_at_end"] == pytest.approx(40.0)
    long = forecast_of("cpu.sustained", server(series("cpu_used_pct", daily_bursts(61))))
    assert long["already_beyond"] is True


def test_a_rising_level_still_gives_watch_before_it_is_met():
    rising = 60 + 20 * np.arange(len(TS)) / len(TS)  # 60% -> 80% over the quarter
    fc = forecast_of("ram.sustained", server(series("ram_used_pct", rising)))
    assert fc["within_horizon"] is True and fc["already_beyond"] is False
    assert Q3.end < pd.Timestamp(fc["crossing"]) < trends.horizon_end(Q3.start)
    assert fc["statistic_ru"] == "суточный максимум уровня, державшегося более 24 ч"
    en, ru = _forecast_text(fc)
    assert "daily highest level held for more than 24 h" in en and "reaches 85" in en
    assert "тренд (суточный максимум уровня, державшегося более 24 ч) ram_used_pct" in ru


def test_stalled_n8n_minutes_do_not_feed_the_queue_forecast():
    waiting = np.full(len(TS), 5.0)
    active = np.full(len(TS), 2.0)
    for day in range(Q3.days):  # one hour a day: 150 waiting, nobody working
        waiting[day * 1440 + 600 : day * 1440 + 660] = 150.0
        active[day * 1440 + 600 : day * 1440 + 660] = 0.0
    stalled = server(
        series("n8n_queue_waiting", waiting, "jobs"),
        series("n8n_queue_active", active, "jobs"),
        services=("n8n",),
    )
    fc = forecast_of("cpu.n8n_queue", stalled)
    assert fc["within_horizon"] is False
    assert fc["stalled_minutes_excluded"] == 60.0 * Q3.days
    busy = server(
        series("n8n_queue_waiting", waiting, "jobs"),
        series("n8n_queue_active", np.full(len(TS), 2.0), "jobs"),
        services=("n8n",),
    )
    assert forecast_of("cpu.n8n_queue", busy)["already_beyond"] is True


def test_sustained_level_ignores_windows_across_a_hole():
    ts = np.arange(10, dtype=np.int64) * 60_000_000
    ts[5:] += 10 * 60_000_000  # a 10-minute hole after the fifth sample
    values = np.full(10, 95.0)
    whole = sustained_level(ts, values, 5, 150_000_000)
    assert list(whole.value) == [95.0]
    assert sustained_level(ts, values, 6, 150_000_000).start_us.size == 0
    assert list(rolling_min(np.array([3.0, 1, 4, 1, 5, 9, 2, 6]), 3)) == [1, 1, 1, 1, 2, 2]


# --- the horizon: the end of the next quarter ----------------------------------------------------


def crossing_at(moment) -> np.ndarray:
    x = (DAYS + DAY_US / 2) / DAY_US
    cross = pd.Timestamp(moment).timestamp() / 86400
    return 85.0 + 0.1 * (x - cross)


def test_a_crossing_on_the_last_day_of_a_92_day_quarter_is_seen():
    end = trends.horizon_end(Q3.start)
    assert end == Quarter(2026, 4).end and (end - Q3.end).days == 92
    last_day = linear_forecast(
        DAYS, crossing_at(end - timedelta(hours=12)), 85.0, Q3.end, end - Q3.end
    )
    after = linear_forecast(
        DAYS, crossing_at(end + timedelta(hours=12)), 85.0, Q3.end, end - Q3.end
    )
    assert last_day.within_horizon is True and last_day.crossing.date().isoformat() == "2026-12-31"
    assert after.within_horizon is False
    old = linear_forecast(
        DAYS, crossing_at(end - timedelta(hours=12)), 85.0, Q3.end, timedelta(days=91)
    )
    assert old.within_horizon is False  # what the 91-day horizon missed
    assert to_datetime(int(DAYS[-1])).date().isoformat() == "2026-09-30"


# --- forecasts (trends.forecasts, linear_forecast) --------------------------------------------


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

"""cpu.n8n_queue (capacity/criteria/cpu_queue.py): busy minutes, stalled minutes left out,
waiting and active joined by time, and missing data."""

from __future__ import annotations

import numpy as np
import pandas as pd

from infra_review.capacity.criteria import cpu_queue
from infra_review.capacity.criteria.common import ServerInputs
from infra_review.criteria.result import Outcome
from tests.support.capacity import CRITERIA, TS, D, series, server

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

"""ram.swap, ram.degradation and ram.planned (capacity/criteria/ram.py) at their boundaries:
just below, at, just above, and missing data."""

from __future__ import annotations

import numpy as np
import pytest

from infra_review.capacity.criteria import ram
from infra_review.capacity.criteria.common import ServerInputs
from infra_review.criteria.result import Outcome
from tests.support.capacity import CRITERIA, FAIL, HOURS, PASS, TS, D, series, server

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

"""cpu.api_latency and cpu.complaints (capacity/criteria/cpu.py) at their boundaries: just
below, at, just above, and missing data."""

from __future__ import annotations

import numpy as np
import pytest

from infra_review.capacity.criteria import cpu, ram
from infra_review.criteria.result import Outcome
from tests.support.capacity import CRITERIA, FAIL, TS, D, series, server

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

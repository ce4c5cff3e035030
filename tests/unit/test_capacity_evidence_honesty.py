"""Issue 13 item 10: evidence that says what was measured. cpu.api_latency states the
minutes actually slow beside the hours judged; ram.swap divides by the window's hours;
`slow` complaints no single server can take are listed, never dropped."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from infra_review.capacity import data as d
from infra_review.capacity.criteria import cpu, ram
from infra_review.capacity.criteria.common import SeriesInput, ServerInputs
from infra_review.capacity.evaluate import unattributed_complaints
from infra_review.capacity.records_fleet import decide_fleet
from infra_review.capacity.trends import fleet_stats
from infra_review.criteria.registry import explain_both
from infra_review.criteria.result import Outcome
from infra_review.criteria.rules import load_criteria
from infra_review.fleet import Fleet, Server
from infra_review.quarter import Quarter
from infra_review.timeseries.runs import clean_series

CRITERIA = load_criteria()
D = CRITERIA.defaults
Q3 = Quarter(2026, 3)
PASS = {"passed": True, "coverage": 1.0, "reasons": []}
TS = pd.date_range(Q3.start, Q3.end, freq="1min", inclusive="left")
WINDOW_HOURS = len(TS) // 60  # 2208


def series(metric: str, values, label: str = "", ts=TS) -> SeriesInput:
    return SeriesInput(metric, label, clean_series(ts, values, Q3.start, Q3.end), PASS)


def server(*items: SeriesInput, name: str = "app-1", **kwargs) -> ServerInputs:
    by: dict[str, list[SeriesInput]] = {}
    for s in items:
        by.setdefault(s.metric, []).append(s)
    return ServerInputs(name, Q3.start, Q3.end, series=by, **kwargs)


# --- cpu.api_latency: minutes slow, hours judged ------------------------------------------


def latency_with_slow_minutes(n: int) -> ServerInputs:
    values = np.full(len(TS), 0.3)
    values[600 : 600 + n] = 2.5  # n slow minutes in the hour 10:00-11:00 of 1 July
    return server(series("api_latency_s", values, "directus:/items"))


def test_four_slow_minutes_make_a_slow_hour_and_the_evidence_says_four_minutes():
    rule = CRITERIA["cpu.api_latency"]
    three = cpu.api_latency(rule, latency_with_slow_minutes(3), D)  # hour p95 0.41 s
    four = cpu.api_latency(rule, latency_with_slow_minutes(4), D)  # hour p95 2.5 s
    assert three.outcome is Outcome.NOT_MET and three.evidence["minutes_slow"] == 3.0
    assert four.outcome is Outcome.MET and four.observed == 1.0
    assert four.evidence["longest_run"]["duration_s"] == 3600
    assert four.evidence["longest_run"]["minutes_slow"] == 4.0
    assert four.evidence["minutes_slow"] == 4.0
    en, ru = explain_both(four)
    assert "1 h 0 min" in en and "4 min of samples were above 2 s" in en
    assert "4 мин" in ru


def test_slow_minutes_outside_the_longest_run_are_counted_in_the_total_only():
    values = np.full(len(TS), 0.3)
    values[600:660] = 2.5  # a whole slow hour
    values[5000:5002] = 2.5  # two slow minutes elsewhere: their hour stays fast
    r = cpu.api_latency(CRITERIA["cpu.api_latency"], server(series("api_latency_s", values)), D)
    assert r.evidence["longest_run"]["minutes_slow"] == 60.0
    assert r.evidence["minutes_slow"] == 62.0


def test_slow_minutes_follow_the_series_cadence():
    ts = TS[::5]  # a 5-minute series: each slow sample is 5 minutes
    values = np.full(len(ts), 0.3)
    values[120:124] = 2.5  # 4 samples = 20 min, in the hour 10:00-11:00
    s = SeriesInput(
        "api_latency_s", "", clean_series(ts, values, Q3.start, Q3.end), PASS, interval_s=300
    )
    r = cpu.api_latency(CRITERIA["cpu.api_latency"], server(s), D)
    assert r.outcome is Outcome.MET
    assert r.evidence["longest_run"]["minutes_slow"] == 20.0


# --- ram.swap: the window's hours ----------------------------------------------------------


def swap_hours(n_swapping: int, data_hours: int) -> ServerInputs:
    ts = TS[: data_hours * 60]
    values = np.zeros(len(ts))
    values[: n_swapping * 60 : 60] = 5.0  # one swapping minute per hour: a swapping hour
    return server(series("swap_io_pages_per_s", values, ts=ts))


def test_swap_share_is_of_the_window_hours_not_the_hours_with_data():
    rule = CRITERIA["ram.swap"]
    # 150 of 1104 hours with data swap (13.6%), but only 6.8% of the window's 2208 hours
    half = ram.swap_hours(rule, swap_hours(150, WINDOW_HOURS // 2), D)
    assert half.observed == pytest.approx(150 / WINDOW_HOURS)
    assert half.outcome is Outcome.NOT_MET
    assert half.evidence["hours_with_data"] == 1104 and half.evidence["window_hours"] == 2208
    en, _ = explain_both(half)
    assert "150 of 2208" in en and "1104 hours with data" in en


def test_swap_boundary_on_the_window_hours():
    rule = CRITERIA["ram.swap"]
    below = ram.swap_hours(rule, swap_hours(220, 300), D)  # 220/2208 = 9.96%
    above = ram.swap_hours(rule, swap_hours(221, 300), D)  # 221/2208 = 10.01%
    assert below.outcome is Outcome.NOT_MET and above.outcome is Outcome.MET
    assert above.observed == pytest.approx(221 / 2208)


# --- complaints no single server can take ----------------------------------------------------

FLEET = Fleet(
    path="fleet.yaml",
    servers={
        "app-1": Server("app-1", services=("n8n", "directus")),
        "app-2": Server("app-2", services=("directus",)),
        "data-1": Server("data-1", services=("redis",)),
    },
)


def complaint(service: str, server_name: str = "", category: str = "slow", day: int = 2) -> dict:
    return {
        "ts": f"2026-07-{day:02d}T10:00:00+00:00",
        "service": service,
        "server": server_name,
        "category": category,
        "text": f"{service} slow",
    }


RAW = [
    complaint("n8n"),  # only app-1 runs n8n: counted on app-1
    complaint("n8n", day=3),
    complaint("directus", day=4),  # app-1 and app-2: counted on neither, listed
    complaint("grafana", day=5),  # no server runs it: listed
    complaint("n8n", "app-l", day=6),  # a mistyped server nobody reviews: listed
    complaint("redis", day=7),  # data-1's: not app-1's, and not unattributed
    complaint("directus", day=8, category="error"),  # not `slow`
]


def test_complaints_on_a_service_of_two_servers_or_of_none_are_listed_not_dropped():
    got = d.attribute_complaints(RAW, FLEET, "app-1", ("app-1", "app-2", "data-1"))
    counted = [c for c in got if not c.get("unattributed")]
    orphans = [c for c in got if c.get("unattributed")]
    assert [c["ts"][:10] for c in counted] == ["2026-07-02", "2026-07-03"]
    assert {c["service"] for c in orphans} == {"directus", "grafana", "n8n"}
    two = next(c for c in orphans if c["service"] == "directus" and c["category"] == "slow")
    assert two["candidates"] == ["app-1", "app-2"] and "2 servers" in two["unattributed"]
    assert any("'app-l' is not reviewed" in c["unattributed"] for c in orphans)
    assert not any(c["service"] == "redis" for c in got)
    r = cpu.complaints(CRITERIA["cpu.complaints"], server(complaints=got), D)
    # 2 counted: below the 3 of the criterion; the 3 slow orphans are in the evidence
    assert r.outcome is Outcome.NOT_MET and r.observed == 2.0
    assert r.evidence["unattributed_count"] == 3
    en, ru = explain_both(r)
    assert "3 more could not be attributed" in en and "runs on 2 servers" in en
    assert "не отнесены" in ru


def test_three_counted_complaints_meet_it_with_unattributed_ones_beside():
    got = d.attribute_complaints(RAW + [complaint("n8n", day=9)], FLEET, "app-1", ("app-1",))
    r = cpu.complaints(CRITERIA["cpu.complaints"], server(complaints=got), D)
    assert r.outcome is Outcome.MET and r.observed == 3.0
    assert r.evidence["unattributed_count"] == 3


def test_unattributed_complaints_reach_the_fleet_summary_once():
    rules = {k: CRITERIA[k] for k in ("cpu.complaints", "ram.planned")}
    stats = [
        fleet_stats(
            rules,
            server(
                name=name, complaints=d.attribute_complaints(RAW, FLEET, name, list(FLEET.servers))
            ),
            D,
        )
        for name in FLEET.servers
    ]
    listed = unattributed_complaints(stats)
    assert len(listed) == 3  # each server lists them; the fleet names each once
    rec = decide_fleet(
        Q3,
        [],
        None,
        {},
        servers=list(FLEET.servers),
        criteria_version="x",
        horizon_days=92,
        unattributed=listed,
    )
    assert "3 'slow' complaint(s) could not be attributed to one server" in rec.summary_en
    assert "не отнесены" in rec.summary_ru
    assert len(rec.context["unattributed_complaints"]) == 3


# --- the fleet record names fleet.yaml's servers; unlisted ones apart (issue 13 item 7) ------


def test_the_fleet_record_names_fleet_yaml_servers_and_lists_a_stray_one_apart():
    from infra_review.capacity.evaluate import build_decisions

    def payload(name: str, in_fleet: bool) -> dict:
        meta = {"server": name, "in_fleet": in_fleet}
        return {
            "server": name,
            "results": [],
            "forecasts": [],
            "inputs": {"metadata": meta},
            "stats": meta,
        }

    payloads = [payload("app-1", True), payload("app-l", False), payload("data-1", True)]
    plan = {"quarter": "2026Q3", "criteria": {"version": "x"}}
    out = build_decisions(plan, payloads, {"results": [], "forecast": None}, {}, D)
    fleet = next(x for x in out if x.subject == "fleet")
    assert fleet.context["servers"] == ["app-1", "data-1"]
    assert fleet.context["unlisted_servers"] == ["app-l"]
    assert fleet.summary_en.startswith("Fleet (app-1, data-1): no action.")
    assert "Unlisted servers (not in fleet.yaml), reviewed on their own" in fleet.summary_en
    assert "app-l" in fleet.summary_ru
    assert {x.subject for x in out} == {"app-1", "app-l", "data-1", "fleet"}
    alone = build_decisions(plan, payloads[::2], {"results": [], "forecast": None}, {}, D)
    fleet_alone = next(x for x in alone if x.subject == "fleet")
    assert fleet_alone.context["unlisted_servers"] == []
    assert "Unlisted" not in fleet_alone.summary_en

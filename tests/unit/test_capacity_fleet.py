"""server.* criteria and the decision logic (server and fleet), with their summaries."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from infra_review.capacity.criteria import server as cf
from infra_review.capacity.criteria import server_limit
from infra_review.capacity.criteria.common import SeriesInput, ServerInputs
from infra_review.capacity.criteria.server import FleetInputs
from infra_review.capacity.records import decide_server
from infra_review.capacity.records_fleet import decide_fleet
from infra_review.capacity.trends import fleet_forecast, fleet_stats, forecasts
from infra_review.criteria.registry import bind_rules
from infra_review.criteria.result import Outcome
from infra_review.criteria.rules import load_criteria
from infra_review.quarter import Quarter
from infra_review.timeseries.runs import clean_series


def evaluate_server_criteria(rules, inp, defaults):
    return [c.evaluate(inp) for c in bind_rules(rules, defaults).values() if c.scope == "server"]


def evaluate_fleet_criteria(rules, fin, defaults):
    return [c.evaluate(fin) for c in bind_rules(rules, defaults).values() if c.scope == "fleet"]


CRITERIA = load_criteria()
D = CRITERIA.defaults
RULES = {r.id: r for r in CRITERIA.for_review("capacity")}
Q3 = Quarter(2026, 3)
PASS = {"passed": True, "coverage": 1.0, "reasons": []}
TS = pd.date_range(Q3.start, Q3.end, freq="1min", inclusive="left")
HOURS = len(TS) // 60


def load_server(name: str, hours_above: int, ram_gb=16.0, cores=4, **meta) -> dict:
    """Fleet numbers of a server whose load is above 80% in ``hours_above`` hours."""
    cpu = np.full(len(TS), 50.0)
    cpu[: hours_above * 60] = 85.0
    ram = np.full(len(TS), 60.0)
    inp = ServerInputs(
        name,
        Q3.start,
        Q3.end,
        ram_gb=ram_gb,
        cpu_cores=cores,
        series={
            "cpu_used_pct": [SeriesInput("cpu_used_pct", "", clean_series(TS, cpu), PASS)],
            "ram_used_pct": [SeriesInput("ram_used_pct", "", clean_series(TS, ram), PASS)],
        },
    )
    stats = fleet_stats(RULES, inp, D)
    stats.update(
        {"in_fleet": True, "provider": "p", "plan": "m", "region": "KZ", "data_classes": []}
    )
    stats.update(meta)
    return stats


PLANS = {
    "p": [
        {"plan": "s", "ram_gb": 8.0, "cpu_cores": 2.0},
        {"plan": "m", "ram_gb": 16.0, "cpu_cores": 4.0},
    ]
}


def fleet(*servers: dict, requirements=None, plans=PLANS) -> FleetInputs:
    return FleetInputs(Q3.start, Q3.end, list(servers), requirements or {}, plans, {"files": {}})


def test_both_loaded_needs_every_server_in_90_percent_of_hours():
    need = int(np.ceil(0.9 * HOURS))  # 1988 of 2208 hours
    rule = RULES["server.both_loaded"]
    met = cf.both_loaded(rule, fleet(load_server("a", need), load_server("b", HOURS)), D)
    one_short = cf.both_loaded(rule, fleet(load_server("a", need - 1), load_server("b", HOURS)), D)
    assert met.outcome is Outcome.MET and met.observed == pytest.approx(need / HOURS)
    assert one_short.outcome is Outcome.NOT_MET
    assert one_short.evidence["not_loaded_servers"] == ["a"]


def test_a_stray_server_outside_fleet_yaml_is_listed_and_never_decides_the_fleet():
    """Issue 13 item 7: one row for a mistyped `app-l` (or 14 days of a box under test) made
    server.both_loaded insufficient_data and the fleet decision insufficient_data."""
    need = int(np.ceil(0.9 * HOURS))
    loaded = (load_server("a", need), load_server("b", HOURS))
    stray = load_server("app-l", 0, in_fleet=False)
    stray["load"] = {"gate_passed": False, "reasons": ["1 sample"], "hours": 1, "hours_above": 0}
    stray["ram"] = stray["cpu"] = {"gate_passed": False}
    for rule_id in ("server.both_loaded", "server.upgrade_limit"):
        with_stray = cf.BothLoaded if rule_id == "server.both_loaded" else server_limit.UpgradeLimit
        r = with_stray(RULES[rule_id], D).evaluate(fleet(*loaded, stray))
        alone = with_stray(RULES[rule_id], D).evaluate(fleet(*loaded))
        assert r.outcome == alone.outcome and r.observed == alone.observed, rule_id
        assert r.evidence["unlisted_servers"] == ["app-l"]
        assert "app-l" not in [e["server"] for e in r.evidence["servers"]]
    both = cf.both_loaded(RULES["server.both_loaded"], fleet(*loaded, stray), D)
    assert both.outcome is Outcome.MET


def test_both_loaded_insufficient_only_when_the_rest_is_loaded():
    rule = RULES["server.both_loaded"]
    broken = load_server("b", HOURS)
    broken["load"] = {**broken["load"], "gate_passed": False, "reasons": ["cpu coverage 40%"]}
    assert (
        cf.both_loaded(rule, fleet(load_server("a", HOURS), broken), D).outcome
        is Outcome.INSUFFICIENT_DATA
    )
    assert cf.both_loaded(rule, fleet(load_server("a", 10), broken), D).outcome is Outcome.NOT_MET


def test_geo_and_isolation_are_declared():
    a = load_server("a", 0, region="KZ", data_classes=["personal_data", "billing"])
    b = load_server("b", 0, region="KZ", data_classes=[])
    geo = cf.geo(RULES["server.geo"], fleet(a, b, requirements={"regions": ["KZ", "EU"]}), D)
    assert geo.outcome is Outcome.MET and geo.evidence["missing_regions"] == ["EU"]
    assert (
        cf.geo(RULES["server.geo"], fleet(a, b, requirements={"regions": ["KZ"]}), D).outcome
        is Outcome.NOT_MET
    )
    iso = cf.isolation(
        RULES["server.isolation"],
        fleet(a, b, requirements={"isolated_data_classes": ["personal_data"]}),
        D,
    )
    assert iso.outcome is Outcome.MET
    assert iso.evidence["violations"] == [
        {"data_class": "personal_data", "server": "a", "shares_with": ["billing"]}
    ]
    alone = load_server("a", 0, data_classes=["personal_data"])
    ok = cf.isolation(
        RULES["server.isolation"],
        fleet(alone, b, requirements={"isolated_data_classes": ["personal_data"]}),
        D,
    )
    assert ok.outcome is Outcome.NOT_MET


def test_upgrade_limit_compares_need_with_the_largest_plan():
    rule = RULES["server.upgrade_limit"]
    # p95 RAM 60% of 16 GB = 9.6 GB in use, / 0.8 target = 12 GB; CPU 50% of 4 = 2 / 0.8 = 2.5
    small = load_server("a", 0)
    r = server_limit.upgrade_limit(rule, fleet(small), D)
    assert r.outcome is Outcome.NOT_MET
    entry = r.evidence["servers"][0]
    assert entry["need_ram_gb"] == pytest.approx(12.0)
    assert entry["need_cpu_cores"] == pytest.approx(2.5)
    assert entry["best_plan"] == "m" and entry["best_ratio"] == pytest.approx(0.75)
    assert entry["largest_plan"]["plan"] == "m"
    planned = {**small, "planned": {"services": ["clickhouse"], "ram_gb": 0.8, "cpu_cores": 0.0}}
    assert server_limit.upgrade_limit(rule, fleet(planned), D).observed == pytest.approx(13 / 16)
    boundary = {**small, "planned": {"services": ["ml"], "ram_gb": 3.2, "cpu_cores": 0.0}}
    at = server_limit.upgrade_limit(
        rule, fleet(boundary), D
    )  # (9.6 + 3.2) / 0.8 = 16 GB = the plan
    assert at.observed == 1.0 and at.outcome is Outcome.NOT_MET  # "above" the largest plan
    big = {**small, "planned": {"services": ["ml"], "ram_gb": 3.3, "cpu_cores": 0.0}}
    over = server_limit.upgrade_limit(rule, fleet(big), D)  # 16.125 GB > 16 GB
    assert over.outcome is Outcome.MET and over.evidence["over_limit"] == ["a"]
    assert over.observed == pytest.approx(16.125 / 16)
    unknown = server_limit.upgrade_limit(rule, fleet(small, plans={}), D)
    assert unknown.outcome is Outcome.INSUFFICIENT_DATA
    assert unknown.evidence["insufficient"]["kind"] == "metadata"


# --- decisions --------------------------------------------------------------------------------


def server_inputs(ram: np.ndarray, cpu: np.ndarray, gate=PASS) -> ServerInputs:
    def s(metric, values, g=PASS):
        return [SeriesInput(metric, "", clean_series(TS, values), g)]

    return ServerInputs(
        "app-1",
        Q3.start,
        Q3.end,
        ram_gb=16,
        cpu_cores=4,
        services=("postgresql",),
        series={
            "ram_used_pct": s("ram_used_pct", ram, gate),
            "cpu_used_pct": s("cpu_used_pct", cpu),
            "swap_io_pages_per_s": s("swap_io_pages_per_s", np.zeros(len(TS))),
        },
    )


def decide(inp: ServerInputs):
    results = evaluate_server_criteria(RULES, inp, D)
    return decide_server(
        inp.server,
        Q3,
        results,
        forecasts(RULES, inp, D),
        RULES,
        metadata={},
        criteria_version=CRITERIA.version,
        horizon_days=91,
    )


def test_upgrade_ram_and_cpu_both_met():
    ram = np.full(len(TS), 70.0)
    ram[1000 : 1000 + 30 * 60] = 90.0
    cpu = np.full(len(TS), 40.0)
    cpu[5000:5090] = 97.0
    x = decide(server_inputs(ram, cpu))
    assert x.decision == "upgrade_ram" and x.actions == ["upgrade_ram", "upgrade_cpu"]
    assert "ram.sustained met" in x.summary_en and "cpu.sustained met" in x.summary_en
    assert "30 h 0 min" in x.summary_en and "30 ч 0 мин" in x.summary_ru
    assert "Выполнен ram.sustained" in x.summary_ru
    assert [d["criterion_id"] for d in x.drivers] == ["ram.sustained", "cpu.sustained"]
    assert x.drivers[0]["evidence"]["longest_run"]["duration_s"] == 30 * 3600
    assert {o["option"] for o in x.options} == {
        "watch",
        "no_action",
        "insufficient_data",
        "add_server",
    }
    assert x.confirmation["criteria"] == ["ram.sustained", "cpu.sustained"]
    assert x.context["data_quality"]["ram.sustained"]["passed"] is True


def test_insufficient_watch_and_no_action():
    flat = np.full(len(TS), 50.0)
    gate = {"passed": False, "coverage": 0.5, "reasons": ["coverage 50.0% below the floor 90%"]}
    x = decide(server_inputs(flat, flat, gate))
    assert x.decision == "insufficient_data"
    assert "ram.sustained" in x.summary_en and "quality gate failed" in x.summary_en
    rising = 60 + 20 * np.arange(len(TS)) / len(TS)
    w = decide(server_inputs(rising, flat))
    assert w.decision == "watch"
    assert w.drivers[0]["forecast"]["criterion_id"] == "ram.sustained"
    assert "reaches 85" in w.summary_en
    n = decide(server_inputs(flat, flat))
    assert n.decision == "no_action"
    assert "No trigger met" in n.summary_en and "Ни один критерий" in n.summary_ru


def test_a_met_trigger_wins_over_missing_data_elsewhere():
    ram = np.full(len(TS), 70.0)
    ram[1000 : 1000 + 30 * 60] = 90.0
    inp = server_inputs(ram, np.full(len(TS), 40.0))
    inp.series.pop("swap_io_pages_per_s")
    x = decide(inp)
    assert x.decision == "upgrade_ram"
    swap = next(r for r in x.results if r.criterion_id == "ram.swap")
    assert swap.outcome is Outcome.INSUFFICIENT_DATA


def test_no_ram_data_at_all_is_never_read_as_no_trigger_met():
    """Issue 13 item 9: with no RAM series the upgrade_ram option said "no trigger of the
    group is met" and not_evaluated was empty; now it says the group could not be evaluated
    and lists every criterion that lacked data, blocking ones marked."""
    inp = server_inputs(np.full(len(TS), 50.0), np.full(len(TS), 40.0))
    inp.series.pop("ram_used_pct")
    inp.series.pop("swap_io_pages_per_s")
    x = decide(inp)
    assert x.decision == "insufficient_data"
    ram_option = next(o for o in x.options if o["option"] == "upgrade_ram")
    assert ram_option["why_not_en"].startswith("no trigger of the group could be evaluated")
    assert "не удалось оценить" in ram_option["why_not_ru"]
    lacking = {n["criterion_id"]: n for n in x.context["not_evaluated"]}
    assert {"ram.sustained", "ram.swap", "ram.planned"} <= set(lacking)
    assert lacking["ram.sustained"]["blocking"] is True
    cpu_option = next(o for o in x.options if o["option"] == "upgrade_cpu")
    assert cpu_option["why_not_en"].startswith("no trigger of the group is met: ")


def test_fleet_decision():
    results = [
        r
        for r in evaluate_fleet_criteria(
            RULES, fleet(load_server("a", 0), requirements={"regions": ["KZ", "EU"]}), D
        )
    ]
    x = decide_fleet(Q3, results, None, RULES, servers=["a"], criteria_version="v", horizon_days=91)
    assert x.decision == "add_server" and x.subject_kind == "fleet"
    assert "server.geo met" in x.summary_en and "EU" in x.summary_en
    assert "Выполнен server.geo" in x.summary_ru
    quiet = evaluate_fleet_criteria(RULES, fleet(load_server("a", 0)), D)
    assert (
        decide_fleet(
            Q3, quiet, None, RULES, servers=["a"], criteria_version="v", horizon_days=91
        ).decision
        == "no_action"
    )


def test_fleet_forecast_needs_every_server():
    a, b = load_server("a", 0), load_server("b", 0)
    assert fleet_forecast(fleet(a, b)) is None
    rising = {
        **a,
        "load": {
            **a["load"],
            "forecast": {"within_horizon": True, "crossing": "2026-11-01", "threshold": 80},
        },
    }
    assert fleet_forecast(fleet(rising, b)) is None
    both = {
        **b,
        "load": {
            **b["load"],
            "forecast": {"within_horizon": True, "crossing": "2026-12-01", "threshold": 80},
        },
    }
    fc = fleet_forecast(fleet(rising, both))
    assert fc["crossing"] == "2026-12-01"
    assert Q3.end + timedelta(days=91) > pd.Timestamp("2026-12-01", tz="UTC")

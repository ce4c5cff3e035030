"""capacity.sizing: the size, plan, cost change and utilisation of an action, at the
boundaries (exactly a plan's size, a bit above, no plan large enough, a missing price, a
currency without a rate)."""

from __future__ import annotations

import pytest

from infra_review.capacity import sizing
from infra_review.criteria.rules import load_criteria
from infra_review.quarter import Quarter

KZ_PLANS = [
    {"plan": "vps-4g", "ram_gb": 4.0, "cpu_cores": 2.0},
    {"plan": "vps-8g", "ram_gb": 8.0, "cpu_cores": 2.0},
    {"plan": "vps-16g", "ram_gb": 16.0, "cpu_cores": 4.0},
    {"plan": "vps-32g", "ram_gb": 32.0, "cpu_cores": 8.0},
]
KZ_PRICES = {
    "vps-4g": {"price": 10000, "currency": "KZT"},
    "vps-8g": {"price": 18000, "currency": "KZT"},
    "vps-16g": {"price": 34000, "currency": "KZT"},
    "vps-32g": {"price": 64000, "currency": "KZT"},
}


def book(prices=None, rates=None, plans=None) -> dict:
    return {
        "reporting_currency": "KZT",
        "current_provider": "kz",
        "rate_month": "2026-09",
        "rates": rates or {},
        "providers": {
            "kz": {"plans": plans or KZ_PLANS, "prices": KZ_PRICES if prices is None else prices}
        },
    }


def stats(ram_p95=50.0, cpu_p95=40.0, *, ram_gb=8.0, cores=2.0, plan="vps-8g", slope=0.0,
          planned_gb=0.0, planned_cores=0.0, server="app-1") -> dict:  # fmt: skip
    return {
        "server": server,
        "provider": "kz",
        "plan": plan,
        "ram_gb": ram_gb,
        "cpu_cores": cores,
        "ram": {"gate_passed": True, "p95_pct": ram_p95, "trend_slope_per_day": slope},
        "cpu": {"gate_passed": True, "p95_pct": cpu_p95, "trend_slope_per_day": 0.0},
        "planned": {"services": [], "ram_gb": planned_gb, "cpu_cores": planned_cores},
    }


SWAP_MET = {"ram": [{"criterion_id": "ram.swap", "evidence": {}}]}


def size(action="upgrade_ram", s=None, met=SWAP_MET, b=None, **kw):
    return sizing.size_upgrade(
        action, s or stats(), met, b or book(), target=0.8, days_ahead=92.0, **kw
    )


def test_need_exactly_a_plans_size_fits_that_plan():
    # 80% of 8 GB = 6.4 GB in use + 6.4 GB planned = 12.8 GB; / 0.8 = 16.0 GB = vps-16g
    rec = size(s=stats(80.0, planned_gb=6.4))
    assert rec["status"] == "sized"
    assert rec["needed"] == pytest.approx(16.0)
    assert (rec["current"], rec["recommended"], rec["plan"]) == (8.0, 16.0, "vps-16g")
    assert rec["monthly_cost_change"] == 16000
    assert rec["projected_utilisation"] == pytest.approx(0.8)
    assert rec["text_en"].startswith(
        "RAM 8 -> 16 GB (needs 16 from the p95; plan vps-16g; +16 000 KZT/month"
    )


def test_need_just_above_a_plans_size_takes_the_next_plan():
    # 0.08 GB more planned: need 16.1 GB, just above vps-16g
    rec = size(s=stats(80.0, planned_gb=6.48))
    assert rec["needed"] == pytest.approx(16.1)
    assert (rec["recommended"], rec["plan"]) == (32.0, "vps-32g")
    assert rec["monthly_cost_change"] == 64000 - 18000
    assert rec["projected_utilisation"] == pytest.approx(12.88 / 32, abs=1e-4)


def test_no_plan_large_enough_says_so_and_points_to_add_server():
    rec = size(s=stats(90.0, ram_gb=32.0, cores=8.0, plan="vps-32g", planned_gb=4.0))
    # 28.8 + 4 = 32.8 GB in use; / 0.8 = 41 GB > 32 GB
    assert rec["status"] == "no_plan"
    assert rec["recommended"] is None and rec["plan"] is None
    assert rec["largest_plan"] == "vps-32g" and rec["see"] == "add_server"
    assert "no plan of kz holds it" in rec["text_en"] and "add_server" in rec["text_en"]
    assert "add_server" in rec["text_ru"]


def test_missing_price_leaves_the_cost_change_unknown_and_names_the_plan():
    prices = {k: v for k, v in KZ_PRICES.items() if k != "vps-32g"}
    rec = size(s=stats(80.0, planned_gb=7.0), b=book(prices=prices))
    assert rec["plan"] == "vps-32g"
    assert rec["monthly_cost_change"] is None
    assert "vps-32g" in rec["cost_note"]
    assert "cost change unknown" in rec["text_en"]


def test_missing_price_of_the_current_plan_also_leaves_it_unknown():
    prices = {k: v for k, v in KZ_PRICES.items() if k != "vps-8g"}
    rec = size(s=stats(80.0, planned_gb=7.0), b=book(prices=prices))
    assert rec["monthly_cost_change"] is None
    assert rec["cost_note"].startswith("current plan:")


def test_a_currency_without_a_rate_is_named_and_a_rate_converts():
    usd = {k: {"price": v["price"] / 500, "currency": "USD"} for k, v in KZ_PRICES.items()}
    rec = size(s=stats(80.0, planned_gb=6.4), b=book(prices=usd))
    assert rec["monthly_cost_change"] is None
    assert "no rate from USD to KZT for 2026-09" in rec["cost_note"]
    rec = size(s=stats(80.0, planned_gb=6.4), b=book(prices=usd, rates={"USD": 500.0}))
    assert rec["monthly_cost_change"] == pytest.approx(16000)


def test_a_sustained_criterion_sizes_from_its_run_peak_and_the_trend_adds_growth():
    met = {
        "ram": [
            {
                "criterion_id": "ram.sustained",
                "evidence": {"qualifying_runs": [{"peak": 90.0}, {"peak": 95.0}]},
            }
        ]
    }
    rec = size(s=stats(70.0, ram_gb=16.0, cores=4.0, plan="vps-16g", slope=0.05), met=met)
    assert rec["basis"]["statistic"] == "peak of the qualifying runs"
    assert rec["basis"]["value_pct"] == 95.0
    # 95% + 0.05 %/day * 92 days = 99.6% of 16 GB = 15.936 GB; / 0.8 = 19.92 GB
    assert rec["basis"]["projected_pct"] == pytest.approx(99.6)
    assert rec["needed"] == pytest.approx(19.92)
    assert rec["plan"] == "vps-32g"
    # the sentence says what it sized from (the fleet's upgrade_limit sizes from the p95)
    assert "(needs 19.9 from the runs' peak; plan vps-32g;" in rec["text_en"]
    assert "(нужно 19,9 по пику эпизодов; тариф vps-32g;" in rec["text_ru"]


def test_a_falling_trend_does_not_shrink_the_need_below_what_was_measured():
    rec = size(s=stats(80.0, planned_gb=6.4, slope=-0.5))
    assert rec["basis"]["projected_pct"] == 80.0
    assert rec["plan"] == "vps-16g"


def test_the_other_resource_is_never_downgraded():
    # RAM need 4 GB would fit vps-4g, but the server has 4 cores: vps-16g is the first with 4
    rec = size(s=stats(90.0, ram_gb=4.0, cores=4.0, plan="x", planned_gb=0.0))
    assert rec["needed"] == pytest.approx(4.5)
    assert rec["plan"] == "vps-16g"


def test_both_upgrades_get_one_plan_that_holds_both():
    s = stats(80.0, 90.0, planned_gb=1.0)  # RAM 7.4/0.8 = 9.25 GB; CPU 1.8/0.8 = 2.25 cores
    met = {**SWAP_MET, "cpu": [{"criterion_id": "cpu.n8n_queue", "evidence": {}}]}
    recs = sizing.size_actions(
        ["upgrade_ram", "upgrade_cpu"], s, met, book(), target=0.8, days_ahead=92
    )
    assert [r["resource"] for r in recs] == ["ram", "cpu"]
    assert {r["plan"] for r in recs} == {"vps-16g"}
    assert (recs[1]["current"], recs[1]["recommended"], recs[1]["unit"]) == (2.0, 4.0, "cores")


def test_unknown_installed_size_or_no_plan_table_is_unsized_with_the_reason():
    rec = size(s={**stats(), "ram_gb": None})
    assert rec["status"] == "unsized" and "ram_gb" in rec["reason"]
    rec = size(b={**book(), "providers": {}})
    assert rec["status"] == "unsized" and "no plan sizes" in rec["reason"]


def test_add_server_takes_the_load_the_fleet_cannot_hold():
    servers = [
        stats(95.0, 95.0, ram_gb=16.0, cores=4.0, plan="vps-16g", server="app-1"),
        stats(90.0, 90.0, ram_gb=8.0, cores=2.0, plan="vps-8g", server="data-1"),
    ]
    recs = sizing.size_new_server(servers, book(), target=0.8, days_ahead=92)
    ram, cpu = recs
    # RAM: 15.2/0.8 - 16 = 3.0; 7.2/0.8 - 8 = 1.0 -> 4 GB; CPU: 0.75 + 0.25 = 1 core
    assert ram["needed"] == pytest.approx(4.0) and cpu["needed"] == pytest.approx(1.0)
    assert ram["plan"] == "vps-4g" and ram["new_server_size"] == 4.0
    assert (ram["current"], ram["recommended"]) == (24.0, 28.0)
    assert ram["monthly_cost_change"] == 10000
    # moved load: (15.2 - 12.8) + (7.2 - 6.4) = 3.2 GB on 4 GB
    assert ram["projected_utilisation"] == pytest.approx(0.8)
    assert ram["text_en"].startswith("fleet RAM 24 -> 28 GB (new server vps-4g, 4 GB; +10 000")


def test_add_server_without_a_load_shortfall_is_the_smallest_plan():
    recs = sizing.size_new_server([stats(50.0)], book(), target=0.8, days_ahead=92)
    assert {r["sized_by"] for r in recs} == {"requirement"}
    assert recs[0]["plan"] == "vps-4g"


def test_add_server_larger_than_every_plan():
    servers = [stats(100.0, 50.0, ram_gb=64.0, cores=8.0, plan="big")]
    recs = sizing.size_new_server(servers, book(), target=0.8, days_ahead=92)
    assert recs[0]["needed"] == pytest.approx(16.0)  # 64/0.8 - 64
    servers = [stats(100.0, 50.0, ram_gb=200.0, cores=8.0, plan="big")]
    recs = sizing.size_new_server(servers, book(), target=0.8, days_ahead=92)
    assert recs[0]["status"] == "no_plan" and recs[0]["largest_plan"] == "vps-32g"


def test_target_and_horizon_come_from_the_criteria_file_and_the_calendar():
    criteria = load_criteria()
    rules = {r.id: r for r in criteria.for_review("capacity")}
    assert sizing.target_utilisation(rules, criteria.defaults) == 0.8
    assert sizing.days_to_next_quarter_end(Quarter(2026, 3)) == 92.0  # Oct-Dec
    assert sizing.days_to_next_quarter_end(Quarter(2026, 4)) == 90.0  # Jan-Mar 2027


# --- shown as current -> recommended (CLI, report, page) ---------------------------------------


def test_recommendations_read_as_current_to_recommended_with_units_everywhere():
    from infra_review.reporting import recommendations as rc
    from infra_review.reporting.page import render_page

    ram = size(s=stats(80.0, planned_gb=6.48))  # 8 -> 32 GB
    none = size(s=stats(90.0, ram_gb=32.0, cores=8.0, plan="vps-32g", planned_gb=4.0))
    ctx = {"sizing": [ram, none, "junk"]}
    assert rc.line(ram) == (
        "RAM 8 -> 32 GB · plan vps-8g -> vps-32g · +46 000 KZT/month · projected 40% used"
    )
    assert rc.arrow(none) == "RAM 32 -> ? GB (needs 41, no plan)"
    assert "see add_server" in rc.plan(none)
    rows = rc.markdown_rows("app-1", ctx)
    assert len(rows) == 2 and rows[0].startswith("| app-1 | upgrade_ram | RAM 8 -> 32 GB |")
    assert rc.items({"sizing": "junk"}) == [] and rc.html_block({}) == ""
    hostile = {**ram, "plan": "<img src=x onerror=alert(1)>"}
    decision = {
        "decision_id": 1, "review_type": "capacity", "quarter": "2026Q3", "subject": "app-1",
        "subject_kind": "server", "decision": "upgrade_ram", "status": "proposed",
        "context": {"sizing": [hostile]}, "criteria": [],
    }  # fmt: skip
    html = render_page(
        [decision], texts={}, report_href=lambda p: None, quarter=None, review_type=None, base=""
    )
    assert "RAM 8 -&gt; 32 GB" in html
    assert "<img src=x" not in html and "&lt;img src=x" in html


def test_with_sizing_puts_the_sizes_in_the_record_and_its_summaries():
    from datetime import UTC, datetime

    from infra_review.capacity.decide import Decision
    from infra_review.capacity.sizing_records import with_sizing
    from infra_review.criteria.result import CriterionResult, Outcome

    criteria = load_criteria()
    rules = {r.id: r for r in criteria.for_review("capacity")}
    t0, t1 = datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC)
    swap = CriterionResult("ram.swap", "app-1", Outcome.MET, 0.2, 0.1, t0, t1, {})

    def decision(kind, subject, name, results=()):
        return Decision(kind, subject, name, [name], f"{subject}: {name}.", f"{subject}: {name} (ru).",
                        {"actions": [name]}, [], [], {}, list(results))  # fmt: skip

    s = {**stats(80.0, planned_gb=6.4), "in_fleet": True}
    payloads = [{"server": "app-1", "stats": s}]
    out = with_sizing(
        [decision("server", "app-1", "upgrade_ram", [swap]), decision("fleet", "fleet", "no_action")],
        Quarter(2026, 3), payloads, {}, rules, criteria.defaults, book(),
    )  # fmt: skip
    ram = out[0].context["sizing"]
    assert [r["plan"] for r in ram] == ["vps-16g"] and ram[0]["basis"]["criterion_id"] == "ram.swap"
    assert out[0].summary_en.endswith("Size: RAM 8 -> 16 GB (needs 16 from the p95; plan vps-16g; "
                                      "+16 000 KZT/month; projected 80% used).")  # fmt: skip
    assert out[0].summary_ru.startswith("app-1: upgrade_ram (ru). Размер: RAM 8 -> 16 ГБ")
    assert "sizing" not in out[1].context  # nothing to size
    assert with_sizing(out, Quarter(2026, 3), payloads, {}, rules, {}, None) == out
    fleet = with_sizing([decision("fleet", "fleet", "add_server")], Quarter(2026, 3), payloads,
                        {}, rules, criteria.defaults, book())  # fmt: skip
    assert [r["resource"] for r in fleet[0].context["sizing"]] == ["ram", "cpu"]
    assert fleet[0].context["sizing"][0]["servers"] == ["app-1"]


def test_a_provider_move_names_the_yearly_cost_difference():
    from infra_review.reporting import recommendations as rc

    cards = [
        {"provider": "kz", "annual_cost": 801950.0},
        {"provider": "gc", "annual_cost": 1079360.0},
        {"provider": "eu", "annual_cost": None},
    ]
    (move,) = sizing.size_provider_move(cards, "kz", "gc", "evaluate_migration", "KZT")
    assert move["yearly_cost_change"] == 277410 and move["monthly_cost_change"] == 23117.5
    assert move["text_en"] == (
        "Yearly cost change kz -> gc: +277 410 KZT (801 950 KZT -> 1 079 360 KZT a year)"
    )
    assert rc.arrow(move) == "hosting 801 950 KZT -> 1 079 360 KZT a year"
    assert rc.cost(move) == "+23 118 KZT/month"
    assert sizing.size_provider_move(cards, "kz", "gc", "stay", "KZT") == []
    (unknown,) = sizing.size_provider_move(cards, "kz", "eu", "migrate", "KZT")
    assert unknown["status"] == "unsized" and "no annual cost of eu" in unknown["text_en"]

"""reporting.recommendations (013) on a real PostgreSQL, read as bi_reader: one row per sized
resource of a current capacity action, the provider's yearly cost difference, superseded
decisions and malformed JSON left out or NULL rather than failing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from infra_review.capacity import sizing
from infra_review.store.decisions import DecisionRecord, ReviewRun, record_review

pytestmark = pytest.mark.integration

START, END = datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC)
BOOK = {
    "reporting_currency": "KZT",
    "current_provider": "kz",
    "rate_month": "2026-09",
    "rates": {},
    "providers": {
        "kz": {
            "plans": [
                {"plan": "vps-16g", "ram_gb": 16.0, "cpu_cores": 4.0},
                {"plan": "vps-32g", "ram_gb": 32.0, "cpu_cores": 8.0},
            ],
            "prices": {
                "vps-16g": {"price": 34000, "currency": "KZT"},
                "vps-32g": {"price": 64000, "currency": "KZT"},
            },
        }
    },
}
STATS = {
    "server": "app-1",
    "provider": "kz",
    "plan": "vps-16g",
    "ram_gb": 16.0,
    "cpu_cores": 4.0,
    "ram": {"p95_pct": 90.0, "trend_slope_per_day": 0.0},
    "cpu": {"p95_pct": 50.0, "trend_slope_per_day": 0.0},
    "planned": {"ram_gb": 0.0, "cpu_cores": 0.0},
}


def run(review_type: str, key: str) -> ReviewRun:
    return ReviewRun(review_type, "2026Q3", START, END, key, "v1", "sha", triggered_by="test")


def capacity_record(sizing_items) -> DecisionRecord:
    return DecisionRecord(
        "server", "app-1", "upgrade_ram", "app-1: upgrade RAM.", "app-1: увеличить RAM.",
        context={"actions": ["upgrade_ram"], "sizing": sizing_items},
    )  # fmt: skip


def provider_record() -> DecisionRecord:
    cards = [
        {"provider": "kz", "annual_cost": 700000.0},
        {"provider": "gc", "annual_cost": 940000.0},
    ]
    return DecisionRecord(
        "provider", "kz", "evaluate_migration", "Evaluate migration.", "Оценить миграцию.",
        context={"recommended_provider": "gc", "reporting_currency": "KZT", "scorecards": cards},
    )  # fmt: skip


def as_bi_reader(db, sql: str):
    with db.cursor() as cur:
        cur.execute("SET ROLE bi_reader")
        try:
            cur.execute(sql)
            cols = [c.name for c in cur.description]
            return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]
        finally:
            cur.execute("RESET ROLE")


def test_bi_reader_sees_current_sized_actions_and_the_provider_cost_difference(db):
    ram = sizing.size_upgrade(
        "upgrade_ram", STATS, {"ram": []}, BOOK, target=0.8, days_ahead=92
    )  # 14.4 GB / 0.8 = 18 GB -> vps-32g
    with db:
        record_review(db, run("capacity", "old"), [capacity_record([{"resource": "ram"}])])
        record_review(db, run("capacity", "new"), [capacity_record([ram])])
        record_review(db, run("provider", "p1"), [provider_record()])
    rows = as_bi_reader(
        db,
        """SELECT subject, action, resource, sizing_status, current, recommended, needed, unit,
                  plan, monthly_cost_change, yearly_cost_change, currency,
                  projected_utilisation, recommendation_en, state
           FROM reporting.recommendations ORDER BY review_type, resource""",
    )
    assert len(rows) == 2  # the superseded capacity decision is not there
    cap, prov = rows
    assert cap["subject"] == "app-1" and cap["action"] == "upgrade_ram"
    assert (cap["current"], cap["recommended"], cap["unit"], cap["plan"]) == (
        16,
        32,
        "GB",
        "vps-32g",
    )
    assert cap["needed"] == 18
    assert cap["monthly_cost_change"] == 30000 and cap["yearly_cost_change"] == 360000
    assert cap["currency"] == "KZT"
    assert cap["projected_utilisation"] == pytest.approx(0.45)
    assert cap["recommendation_en"].startswith("RAM 16 -> 32 GB")
    assert cap["state"] == "proposed"
    assert prov["action"] == "evaluate_migration" and prov["resource"] == "hosting"
    assert (prov["current"], prov["recommended"], prov["unit"]) == (700000, 940000, "KZT/year")
    assert prov["yearly_cost_change"] == 240000 and prov["monthly_cost_change"] == 20000
    assert prov["plan"] == "gc"
    assert prov["recommendation_en"] == "kz -> gc: +240000 KZT per year"


def test_malformed_sizing_json_gives_nulls_not_a_failed_query(db):
    odd = [{"resource": "ram", "current": "sixteen", "monthly_cost_change": None}, "junk"]
    with db:
        record_review(db, run("capacity", "odd"), [capacity_record(odd)])
    rows = as_bi_reader(db, "SELECT current, monthly_cost_change FROM reporting.recommendations")
    assert {(r["current"], r["monthly_cost_change"]) for r in rows} == {(None, None)}


def test_price_book_converts_with_the_quarters_last_month_rate_or_names_it_missing(db, tmp_path):
    from infra_review.capacity.sizing_inputs import price_book
    from infra_review.quarter import Quarter

    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(
        "servers:\n  - {name: app-1, provider: example-global-cloud, plan: g2-8, ram_gb: 8,"
        " cpu_cores: 4}\n",
        encoding="utf-8",
    )
    with db, db.cursor() as cur:  # August's rate is not September's: it must not be used
        cur.execute(
            "INSERT INTO infra_review.exchange_rates VALUES ('2026-08-01', 'USD', 'KZT', 510)"
        )
    book = price_book(Quarter(2026, 3), conn=db, fleet_path=fleet)
    assert set(book["providers"]) == {"example-global-cloud", "example-kz-cloud"}  # + current
    assert book["rates"] == {} and book["rate_month"] == "2026-09"
    s = {**STATS, "provider": "example-global-cloud", "plan": "g2-8", "ram_gb": 8.0}
    rec = sizing.size_upgrade("upgrade_ram", s, {}, book, target=0.8, days_ahead=92)
    assert rec["plan"] == "g2-16" and rec["monthly_cost_change"] is None
    assert "no rate from USD to KZT for 2026-09" in rec["cost_note"]
    with db, db.cursor() as cur:
        cur.execute(
            "INSERT INTO infra_review.exchange_rates VALUES ('2026-09-01', 'KZT', 'USD', 0.002)"
        )
    book = price_book(Quarter(2026, 3), conn=db, fleet_path=fleet)
    assert book["rates"] == {"USD": pytest.approx(500.0)}  # the inverse of KZT->USD
    rec = sizing.size_upgrade("upgrade_ram", s, {}, book, target=0.8, days_ahead=92)
    assert rec["monthly_cost_change"] == pytest.approx((68 - 34) * 500.0)

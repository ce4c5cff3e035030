"""The provider criteria at their boundaries: just below, just above, and the gaps."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from infra_review.criteria.result import CriterionResult, Outcome
from infra_review.criteria.rules import load_criteria
from infra_review.errors import InputError
from infra_review.provider import costs
from infra_review.provider import inputs as pi
from infra_review.provider.criteria import bind
from infra_review.provider.model import Money, PriceItem, Provider, Requirements, Score
from infra_review.provider.money import Converter, Rate, months_between
from infra_review.quarter import Quarter

RULES = load_criteria()
C = bind(RULES)
Q1 = pi.ReviewWindow(Quarter(2026, 1))  # 90 days
Q2 = pi.ReviewWindow(Quarter(2026, 2))  # 91 days


def provider(pid: str = "alt", **kwargs) -> Provider:
    return Provider(id=pid, name=pid, index=0, **kwargs)


def plan(item: str, price: float, currency: str = "KZT", included: float = 0.0) -> PriceItem:
    return PriceItem(
        item, "plan", price, currency, included, field=f"providers[0].price_list.{item}"
    )


def kzt_months(months: list[date], amount: float, provider_id: str = "cur") -> list[pi.InvoiceLine]:
    return [pi.InvoiceLine(provider_id, m, "vps-1", amount, "KZT") for m in months]


# --- fin.tco --------------------------------------------------------------------------------


def _tco_ratio(monthly_price: float) -> CriterionResult:
    months = Q2.lookback(12)
    current = costs.actual_cost("cur", kzt_months(months, 10_000), Converter([], "KZT"), months)
    alt = provider(price_list=(plan("p1", monthly_price),), fleet_plans={"app-1": "p1"})
    tco = costs.projected_tco(alt, Requirements(), Converter([], "KZT"), Q2.last_month, 3, "p.yaml")
    return C["fin.tco"].judge(alt, is_current=False, current=current, tco=tco)


def test_tco_ratio_boundary():
    below, at, above = _tco_ratio(14_900), _tco_ratio(15_000), _tco_ratio(15_100)
    assert below.observed == pytest.approx(1.49) and below.outcome is Outcome.MET
    assert at.observed == pytest.approx(1.50) and at.outcome is Outcome.NOT_MET  # "below 1.5"
    assert above.observed == pytest.approx(1.51) and above.outcome is Outcome.NOT_MET
    assert below.evidence["annual_current"] == 120_000
    assert below.evidence["annual_tco"] == 178_800


def test_multi_currency_tco_checked_by_hand():
    """KZT invoices with a EUR line at two different monthly rates; USD prices converted
    with the inverse of a KZT->USD rate; EUR storage; a USD migration cost over 3 years."""
    months = Q2.lookback(12)  # 2025-07 .. 2026-06
    assert months[0] == date(2025, 7, 1) and months[-1] == date(2026, 6, 1)
    eur = {m: (600.0 if i < 6 else 650.0) for i, m in enumerate(months)}
    rates = [Rate(m, "EUR", "KZT", r) for m, r in eur.items()]
    rates.append(Rate(date(2026, 6, 1), "KZT", "USD", 0.002))  # 1 KZT = 0.002 USD: 500 KZT/USD
    converter = Converter(rates, "KZT")
    lines = kzt_months(months, 40_000) + [
        pi.InvoiceLine("cur", m, "support", 20, "EUR") for m in months
    ]
    current = costs.actual_cost("cur", lines, converter, months)
    # 12 x 40 000 + 6 x 20 x 600 + 6 x 20 x 650 = 480 000 + 72 000 + 78 000
    assert current.annual == pytest.approx(630_000)

    alt = provider(
        price_list=(
            plan("a", 40, "EUR", included=2),
            plan("b", 25, "USD", included=1),
            PriceItem("egress", "traffic", 2, "USD"),
            PriceItem("vol", "storage", 0.1, "EUR"),
            PriceItem("support", "support", 10_000, "KZT"),
            PriceItem("backup", "addon", 5, "USD"),
        ),
        fleet_plans={"app-1": "a", "data-1": "b"},
        support_plan="support",
        addons=("backup",),
        migration_cost=Money(900, "USD"),
    )
    req = Requirements(traffic_tb_per_month=5, storage_gb=100)
    tco = costs.projected_tco(alt, req, converter, Q2.last_month, 3, "p.yaml")
    # prices at June's rates (EUR 650, USD 500): plans 40*650 + 25*500 = 38 500;
    # traffic (5 - 3 included) TB * 2 USD * 500 = 2 000; storage 100 GB * 0.1 EUR * 650 = 6 500;
    # support 10 000; backup 5 USD * 500 = 2 500 -> 59 500 a month
    assert tco.monthly == pytest.approx(59_500)
    # migration 900 USD * 500 = 450 000 over 3 years = 150 000 a year
    assert tco.migration_annual == pytest.approx(150_000)
    assert tco.annual == pytest.approx(12 * 59_500 + 150_000)  # 864 000
    result = C["fin.tco"].judge(alt, is_current=False, current=current, tco=tco)
    assert result.observed == pytest.approx(864_000 / 630_000)  # 1.371
    assert result.outcome is Outcome.MET
    ev = result.evidence
    assert ev["annual_tco"] == 864_000 and ev["annual_current"] == 630_000
    assert ev["alternative"]["components"] == {
        "plans": 462_000,
        "traffic": 24_000,
        "storage": 78_000,
        "support": 120_000,
        "addons": 30_000,
        "migration": 150_000,
    }
    used = {(r["currency"], r["month"]): r["factor"] for r in ev["alternative"]["rates_used"]}
    assert used == {("EUR", "2026-06"): 650.0, ("USD", "2026-06"): pytest.approx(500.0)}
    assert len(ev["current"]["rates_used"]) == 12


def test_missing_exchange_rate_is_an_error_never_one():
    months = Q2.lookback(12)
    line = pi.InvoiceLine("cur", months[3], "support", 20, "EUR", "inv.csv", 7)
    with pytest.raises(InputError) as err:
        costs.actual_cost("cur", [line], Converter([], "KZT"), months)
    assert err.value.file == "inv.csv" and err.value.line == 7 and err.value.field == "currency"
    assert "EUR" in str(err.value) and "2025-10" in str(err.value)

    alt = provider(price_list=(plan("p", 10, "USD"),), fleet_plans={"app-1": "p"})
    with pytest.raises(InputError) as err:
        costs.projected_tco(alt, Requirements(), Converter([], "KZT"), Q2.last_month, 3, "p.yaml")
    assert err.value.file == "p.yaml" and err.value.field.endswith(".currency")


def test_tco_insufficient_with_too_few_invoiced_months():
    months = Q2.lookback(12)
    current = costs.actual_cost(
        "cur", kzt_months(months[-2:], 10_000), Converter([], "KZT"), months
    )
    alt = provider(price_list=(plan("p1", 1),), fleet_plans={"app-1": "p1"})
    tco = costs.projected_tco(alt, Requirements(), Converter([], "KZT"), Q2.last_month, 3, "p")
    result = C["fin.tco"].judge(alt, is_current=False, current=current, tco=tco)
    assert result.outcome is Outcome.INSUFFICIENT_DATA
    three = costs.actual_cost("cur", kzt_months(months[-3:], 10_000), Converter([], "KZT"), months)
    assert three.annual == 120_000  # annualised: 30 000 x 12 / 3
    assert C["fin.tco"].judge(alt, is_current=False, current=three, tco=tco).outcome is Outcome.MET


# --- fin.predictable, transparency, hidden fees ---------------------------------------------


def test_predictable_cv_boundary():
    months = Q2.lookback(12)[-4:]
    rule = C["fin.predictable"]

    def cv_for(spread: float) -> CriterionResult:
        amounts = [100 - spread, 100 + spread, 100 - spread, 100 + spread]  # pstdev = spread
        lines = [
            pi.InvoiceLine("p", m, "x", a, "KZT") for m, a in zip(months, amounts, strict=True)
        ]
        return rule.judge("p", lines, Converter([], "KZT"), months)

    assert cv_for(10).observed == pytest.approx(0.10) and cv_for(10).outcome is Outcome.MET
    assert cv_for(10.5).outcome is Outcome.NOT_MET
    two = rule.judge("p", kzt_months(months[:2], 5, "p"), Converter([], "KZT"), months)
    assert two.outcome is Outcome.INSUFFICIENT_DATA


def test_predictable_single_currency_ignores_exchange_swings():
    months = Q2.lookback(12)[-3:]
    rates = [Rate(m, "EUR", "KZT", r) for m, r in zip(months, (500, 600, 700), strict=True)]
    lines = [pi.InvoiceLine("p", m, "x", 100, "EUR") for m in months]
    result = C["fin.predictable"].judge("p", lines, Converter(rates, "KZT"), months)
    assert result.observed == 0 and result.evidence["currency"] == "EUR"


def _priced() -> Provider:
    return provider(
        "p",
        price_list=(plan("vps-16g", 0), PriceItem("backup", "addon", 0, "KZT", aliases=("bkp",))),
    )


def test_invoice_line_outside_the_price_list_is_a_hidden_fee():
    m = Q2.months[0]
    lines = [
        pi.InvoiceLine("p", m, "vps-16g app-1", 950, "KZT", "inv.csv", 2),
        pi.InvoiceLine("p", m, "BKP (weekly)", 0, "KZT"),
        pi.InvoiceLine("p", m, "vps-16g-extra", 50, "KZT", "inv.csv", 4),  # not "vps-16g"
        pi.InvoiceLine("p", m, "goodwill credit", -10, "KZT"),
    ]
    fees = C["fin.hidden_fees"].judge(_priced(), lines, Q2)
    assert fees.outcome is Outcome.NOT_MET and fees.observed == 1
    assert [f["line_item"] for f in fees.evidence["hidden_fees"]] == ["vps-16g-extra"]
    assert fees.evidence["hidden_fees"][0]["source"] == "inv.csv:4"
    assert [c["line_item"] for c in fees.evidence["unlisted_credits"]] == ["goodwill credit"]
    clean = C["fin.hidden_fees"].judge(_priced(), lines[:2], Q2)
    assert clean.outcome is Outcome.MET and clean.observed == 0


def test_transparency_share_boundary():
    m = Q2.months[1]
    rule = C["fin.transparency"]

    def share(unlisted: float) -> CriterionResult:
        lines = [
            pi.InvoiceLine("p", m, "vps-16g", 100 - unlisted, "KZT"),
            pi.InvoiceLine("p", m, "mystery", unlisted, "KZT"),
        ]
        return rule.judge(_priced(), lines, Converter([], "KZT"), Q2)

    assert share(5).observed == pytest.approx(0.95) and share(5).outcome is Outcome.MET
    assert share(5.1).outcome is Outcome.NOT_MET
    none = rule.judge(_priced(), [], Converter([], "KZT"), Q2)
    assert none.outcome is Outcome.INSUFFICIENT_DATA


# --- tech.sla -------------------------------------------------------------------------------


def _sla(received: int, down: int, sla_pct: float | None = 99.9, window=Q1):
    probes = [pi.ProbeCount("app-1", "web", received, received - down, 60)]
    return C["tech.sla"].judge(provider(sla_pct=sla_pct), probes, window, 0.90)


def test_uptime_boundary_over_a_quarter():
    minutes = 90 * 24 * 60
    below, exact, above = _sla(minutes, 661), _sla(minutes, 648), _sla(minutes, 635)
    assert below.observed == pytest.approx(99.49, abs=0.001) and below.outcome is Outcome.NOT_MET
    assert exact.observed == pytest.approx(99.5) and exact.outcome is Outcome.NOT_MET  # ">99.5%"
    assert above.observed == pytest.approx(99.51, abs=0.001) and above.outcome is Outcome.MET
    assert above.evidence["allowed_downtime_min"] == pytest.approx(648.0)  # 0.5% of 90 days
    assert above.evidence["downtime_min"] == pytest.approx(635.0)


def test_allowed_downtime_for_a_91_day_quarter_is_655_minutes():
    result = _sla(91 * 1440, 0, window=Q2)
    assert result.evidence["allowed_downtime_min"] == pytest.approx(655.2)
    assert result.evidence["allowed_downtime"] == "10 h 55 min"


def test_missing_probes_are_not_downtime_but_low_coverage_is_no_data():
    minutes = 90 * 24 * 60
    gappy = _sla(120_000, 500)  # 9 600 probes missing: 92.6% coverage
    assert gappy.outcome is Outcome.MET
    assert gappy.observed == pytest.approx(100 * 119_500 / 120_000)
    just_under = _sla(int(minutes * 0.899), 0)
    assert (
        just_under.outcome is Outcome.INSUFFICIENT_DATA and "floor" in just_under.evidence["reason"]
    )
    assert _sla(int(minutes * 0.901), 0).outcome is Outcome.MET
    assert _sla(0, 0).outcome is Outcome.INSUFFICIENT_DATA


def test_contractual_sla_must_also_be_above_the_threshold():
    minutes = 90 * 24 * 60
    assert _sla(minutes, 0, sla_pct=99.5).outcome is Outcome.NOT_MET
    assert _sla(minutes, 0, sla_pct=99.51).outcome is Outcome.MET
    assert _sla(minutes, 0, sla_pct=None).outcome is Outcome.INSUFFICIENT_DATA
    assert _sla(minutes, 700, sla_pct=None).outcome is Outcome.NOT_MET  # measured fails anyway


# --- tech.modern, support, automation -------------------------------------------------------


def test_modern_checklist_share_and_unknowns():
    rule = C["tech.modern"]  # 4 items, at least 75%
    full = {"ipv6": True, "nvme": True, "managed_kubernetes": True, "s3_storage": False}
    assert rule.judge(provider(technologies=full), Q2).outcome is Outcome.MET
    two = {**full, "managed_kubernetes": False}
    assert rule.judge(provider(technologies=two), Q2).outcome is Outcome.NOT_MET
    unknown = {"ipv6": True, "nvme": True, "managed_kubernetes": False}
    result = rule.judge(provider(technologies=unknown), Q2)
    assert result.outcome is Outcome.INSUFFICIENT_DATA and result.evidence["unknown"] == [
        "s3_storage"
    ]


def _ticket(opened: datetime, hours: float | None) -> pi.Ticket:
    return pi.Ticket("p", opened, None if hours is None else opened + timedelta(hours=hours))


def test_support_median_first_response_boundary():
    rule = C["tech.support"]  # median at most 4 h
    t0 = datetime(2026, 4, 10, 9, tzinfo=UTC)

    def median_of(hours: list[float | None]) -> CriterionResult:
        tickets = [_ticket(t0 + timedelta(days=i), h) for i, h in enumerate(hours)]
        return rule.judge("p", tickets, Q2)

    met = median_of([1, 4.0, 9])
    assert met.observed == 4.0 and met.outcome is Outcome.MET
    assert met.evidence["p90_first_response_h"] == 9
    assert median_of([1, 4.01, 9]).outcome is Outcome.NOT_MET
    unanswered = median_of([1, 2, None, None])  # two never answered: slower than any answer
    assert unanswered.outcome is Outcome.NOT_MET and unanswered.evidence["unanswered_overdue"] == 2
    assert median_of([]).outcome is Outcome.INSUFFICIENT_DATA
    late = [_ticket(Q2.end - timedelta(hours=1), None), _ticket(t0, 2)]
    result = rule.judge("p", late, Q2)
    assert result.evidence["unanswered_not_yet_due"] == 1 and result.outcome is Outcome.MET


def test_automation_needs_api_and_terraform():
    rule = C["tech.automation"]
    both = provider(automation={"api": True, "terraform_provider": True})
    assert rule.judge(both, Q2).outcome is Outcome.MET
    no_tf = provider(automation={"api": True, "terraform_provider": False})
    assert rule.judge(no_tf, Q2).outcome is Outcome.NOT_MET
    assert rule.judge(provider(automation={"api": True}), Q2).outcome is (Outcome.INSUFFICIENT_DATA)


# --- strategic ------------------------------------------------------------------------------


def test_jurisdiction_requires_every_required_one():
    rule, req = C["strat.jurisdiction"], Requirements(jurisdictions=("KZ",))
    assert rule.judge(provider(jurisdictions=("KZ", "DE")), req, Q2).met
    eu = rule.judge(provider(jurisdictions=("DE",)), req, Q2)
    assert eu.outcome is Outcome.NOT_MET and eu.evidence["missing"] == ["KZ"]
    assert rule.judge(provider(), req, Q2).outcome is Outcome.INSUFFICIENT_DATA


def test_score_older_than_a_year_is_insufficient_data():
    rule = C["strat.reputation"]
    as_of = Q2.end.date()  # 2026-07-01

    def with_age(days: int, score: float = 4) -> CriterionResult:
        s = Score(score, "survey", as_of - timedelta(days=days))
        return rule.judge(provider(scores={"reputation": (s,)}), "reputation", Q2)

    assert with_age(365).outcome is Outcome.MET and with_age(365).evidence["age_days"] == 365
    old = with_age(366)
    assert old.outcome is Outcome.INSUFFICIENT_DATA and old.evidence["source"] == "survey"
    assert with_age(10, score=2.9).outcome is Outcome.NOT_MET
    assert with_age(10, score=3).outcome is Outcome.MET


def test_score_dated_after_the_quarter_is_ignored():
    rule = C["strat.roadmap"]
    scores = (Score(2, "old", date(2026, 3, 1)), Score(5, "after", date(2026, 7, 1)))
    result = rule.judge(provider(scores={"roadmap": scores}), "roadmap", Q2)
    assert result.outcome is Outcome.NOT_MET and result.evidence["source"] == "old"
    assert result.evidence["ignored_later_scores"][0]["source"] == "after"


def test_stability_needs_years_and_score():
    rule = C["strat.stability"]  # 5 years, score >= 3
    score = {"stability": (Score(4, "report", date(2026, 5, 1)),)}
    assert rule.judge(provider(founded=2021, scores=score), Q2).met
    young = rule.judge(provider(founded=2022, scores=score), Q2)
    assert young.outcome is Outcome.NOT_MET and young.evidence["years_in_business"] == 4
    assert rule.judge(provider(scores=score), Q2).outcome is Outcome.INSUFFICIENT_DATA


def test_months_between_and_lookback():
    assert months_between(date(2025, 11, 1), date(2026, 2, 1)) == [
        date(2025, 11, 1),
        date(2025, 12, 1),
        date(2026, 1, 1),
    ]
    assert Q1.lookback(12)[0] == date(2025, 4, 1) and len(Q1.lookback(12)) == 12

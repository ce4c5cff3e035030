"""provider/criteria/financial.py at its boundaries: the TCO ratio and the same fleet,
invoice lines reconciled to the price list (a line 1 unit above its expected amount with
the tolerance), transparency as a share of money, unit-price changes apart from usage."""

from __future__ import annotations

from datetime import date

import pytest

from infra_review.criteria.result import CriterionResult, Outcome
from infra_review.errors import InputError
from infra_review.provider import costs
from infra_review.provider import inputs as pi
from infra_review.provider.model import Money, PriceItem, Provider, Requirements
from infra_review.provider.money import Converter, Rate
from infra_review.provider.reconcile import reconcile
from tests.unit.provider_helpers import Q2, C, ctx, kzt_months, plan, provider

MATCHING_FLEET = {"matches": True, "months": {"2026-06": {}}}

# --- fin.tco --------------------------------------------------------------------------------


def _tco(monthly_price: float, fleet=MATCHING_FLEET, current_months: int = 12) -> CriterionResult:
    months = Q2.lookback(12)
    invoiced = months[-current_months:]
    current = costs.actual_cost("cur", kzt_months(invoiced, 10_000), Converter([], "KZT"), months)
    alt = provider(price_list=(plan("p1", monthly_price),), fleet_plans={"app-1": "p1"})
    tco = costs.projected_tco(alt, Requirements(), Converter([], "KZT"), Q2.last_month, 3, "p.yaml")
    return C["fin.tco"].evaluate(ctx(alt, current_cost=current, tco=tco, fleet_check=fleet))


def test_tco_ratio_boundary():
    below, at, above = _tco(14_900), _tco(15_000), _tco(15_100)
    assert below.observed == pytest.approx(1.49) and below.outcome is Outcome.MET
    assert at.observed == pytest.approx(1.50) and at.outcome is Outcome.NOT_MET  # "below 1.5"
    assert above.observed == pytest.approx(1.51) and above.outcome is Outcome.NOT_MET
    assert below.evidence["annual_current"] == 120_000
    assert below.evidence["annual_tco"] == 178_800


def test_tco_insufficient_with_too_few_invoiced_months():
    assert _tco(1, current_months=2).outcome is Outcome.INSUFFICIENT_DATA
    three = _tco(10_000, current_months=3)  # annualised: 30 000 x 12 / 3
    assert three.evidence["annual_current"] == 120_000 and three.outcome is Outcome.MET


def test_fleet_mismatch_makes_tco_insufficient_data():
    """A third server invoiced but not in fleet.yaml: 3 servers would be compared with 2."""
    cur = provider(
        "cur",
        price_list=(plan("vps", 1000, included=1), PriceItem("traffic", "traffic", 100, "KZT")),
    )
    m = Q2.months[0]
    lines = [pi.InvoiceLine("cur", m, f"vps {s}", 1000, "KZT") for s in ("app-1", "data-1", "x-3")]
    lines.append(pi.InvoiceLine("cur", m, "traffic", 200, "KZT"))  # 2 TB beyond 3 included
    rec = reconcile(cur, lines, Converter([], "KZT"))
    req = Requirements(traffic_tb_per_month=4)
    fleet = costs.compare_fleet(cur, rec, ["app-1", "data-1"], Q2.months, req, 10)
    assert fleet["invoiced_not_listed"] == ["x-3"] and fleet["matches"] is False
    # invoiced 3 included + 2 TB = 5 TB against the 4 priced for alternatives: +25%, reported
    assert fleet["usage"]["traffic_tb_per_month"]["invoiced_mean"] == 5.0
    assert fleet["usage_differs"] == ["traffic_tb_per_month"]
    result = _tco(10_000, fleet=fleet)
    assert result.outcome is Outcome.INSUFFICIENT_DATA and "x-3" in result.evidence["reason"]
    listed_only = costs.compare_fleet(cur, rec[:2], ["app-1", "data-1", "x-3"], Q2.months, req, 10)
    assert listed_only["listed_not_invoiced"] == ["x-3"] and not listed_only["matches"]
    same = costs.compare_fleet(cur, rec, ["app-1", "data-1", "x-3"], Q2.months, req, 30)
    assert same["matches"] and same["usage_differs"] == []


def test_multi_currency_tco_checked_by_hand():
    """KZT invoices with a EUR line at two different monthly rates; USD prices converted
    with the inverse of a KZT->USD rate; EUR storage; a USD migration cost over 3 years."""
    months = Q2.lookback(12)  # 2025-07 .. 2026-06
    eur = {m: (600.0 if i < 6 else 650.0) for i, m in enumerate(months)}
    rates = [Rate(m, "EUR", "KZT", r) for m, r in eur.items()]
    rates.append(Rate(date(2026, 6, 1), "KZT", "USD", 0.002))  # 1 KZT = 0.002 USD: 500 KZT/USD
    converter = Converter(rates, "KZT")
    lines = kzt_months(months, 40_000) + [
        pi.InvoiceLine("cur", m, "support", 20, "EUR") for m in months
    ]
    current = costs.actual_cost("cur", lines, converter, months)
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
    assert tco.monthly == pytest.approx(59_500)
    assert tco.migration_annual == pytest.approx(150_000)
    result = C["fin.tco"].evaluate(
        ctx(alt, converter=converter, current_cost=current, tco=tco, fleet_check=MATCHING_FLEET)
    )
    assert result.observed == pytest.approx(864_000 / 630_000)
    assert result.outcome is Outcome.MET
    assert result.evidence["alternative"]["components"]["migration"] == 150_000


def test_missing_exchange_rate_is_an_error_never_one():
    months = Q2.lookback(12)
    line = pi.InvoiceLine("cur", months[3], "support", 20, "EUR", "inv.csv", 7)
    with pytest.raises(InputError) as err:
        costs.actual_cost("cur", [line], Converter([], "KZT"), months)
    assert err.value.file == "inv.csv" and err.value.line == 7 and err.value.field == "currency"
    with pytest.raises(InputError) as err:
        reconcile(provider("cur"), [line], Converter([], "KZT"))
    assert err.value.line == 7


# --- reconciliation: hidden fees and transparency --------------------------------------------


def _priced() -> Provider:
    return provider(
        "p",
        price_list=(
            plan("vps-16g", 34_000),
            PriceItem("backup", "addon", 6000, "KZT", aliases=("bkp",)),
            PriceItem("traffic-tb", "traffic", 2500, "KZT"),
        ),
    )


def _fees(*lines: pi.InvoiceLine) -> CriterionResult:
    return C["fin.hidden_fees"].evaluate(ctx(_priced(), invoices=lines))


def test_line_one_unit_above_its_expected_amount_with_the_tolerance():
    """criteria.yaml tolerance_pct 1: 34 000 x 1.01 = 34 340 is within; 34 341 is a fee."""
    m = Q2.months[0]
    at = _fees(pi.InvoiceLine("p", m, "vps-16g app-1", 34_340, "KZT"))
    assert at.outcome is Outcome.MET and at.observed == 0
    above = _fees(pi.InvoiceLine("p", m, "vps-16g app-1", 34_341, "KZT", "inv.csv", 9))
    assert above.outcome is Outcome.NOT_MET and above.observed == 1
    fee = above.evidence["hidden_fees"][0]
    assert fee["kind"] == "price_deviation" and fee["month"] == "2026-04"
    assert (fee["expected"], fee["excess"], fee["source"]) == (34_000, 341, "inv.csv:9")
    assert above.evidence["reconciliation"][0]["difference"] == 341
    # the reason the views and summaries show
    assert "2026-04 vps-16g app-1 price_deviation +341 KZT" in above.evidence["reason"]


def test_plan_billed_ten_percent_above_list_and_unlisted_surcharges_are_fees():
    """Issue 14's case: transparency 100% and no fee found by name prefix alone."""
    m = Q2.months[1]
    lines = [
        pi.InvoiceLine("p", m, "vps-16g app-1", 37_400, "KZT"),  # 10% above list
        pi.InvoiceLine("p", m, "backup late payment fee", 20_000, "KZT"),
        pi.InvoiceLine("p", m, "traffic-tb: premium routing surcharge", 15_000, "KZT", quantity=0),
        pi.InvoiceLine("p", m, "bkp", 6000, "KZT"),
        pi.InvoiceLine("p", m, "goodwill credit", -10, "KZT"),
    ]
    fees = _fees(*lines)
    kinds = {f["line_item"]: (f["kind"], f["excess"]) for f in fees.evidence["hidden_fees"]}
    assert kinds == {
        "vps-16g app-1": ("price_deviation", 3400),
        "backup late payment fee": ("price_deviation", 14_000),  # a backup is 6 000
        "traffic-tb: premium routing surcharge": ("price_deviation", 15_000),  # 0 TB invoiced
    }
    assert [c["line_item"] for c in fees.evidence["unlisted_credits"]] == ["goodwill credit"]
    share = C["fin.transparency"].evaluate(ctx(_priced(), invoices=lines))
    # explained: 34 000 + 6 000 + 0 + 6 000 of 78 400 charged
    assert share.observed == pytest.approx(46_000 / 78_400) and share.outcome is Outcome.NOT_MET


def test_unlisted_line_is_a_fee_and_transparency_is_a_share_of_money():
    m = Q2.months[1]
    rule = C["fin.transparency"]

    def share(unlisted: float) -> CriterionResult:
        lines = [
            pi.InvoiceLine("p", m, "vps-16g", 34_000, "KZT"),
            pi.InvoiceLine("p", m, "mystery", unlisted, "KZT"),
        ]
        return rule.evaluate(ctx(_priced(), invoices=lines))

    # 95% of money: 34 000 / 0.95 = 35 789.47 total, so 1 789.47 unexplained at most
    assert share(1789).outcome is Outcome.MET
    assert share(1790).outcome is Outcome.NOT_MET
    assert share(1790).evidence["unexplained_lines"][0]["line_item"] == "mystery"
    assert rule.evaluate(ctx(_priced())).outcome is Outcome.INSUFFICIENT_DATA
    fees = _fees(pi.InvoiceLine("p", m, "mystery", 1, "KZT"))
    assert fees.evidence["hidden_fees"][0]["kind"] == "unlisted"


def test_usage_line_without_quantity_is_explained_but_not_price_checked():
    m = Q2.months[0]
    line = pi.InvoiceLine("p", m, "traffic-tb", 9_999, "KZT")
    (rec,) = reconcile(_priced(), [line], Converter([], "KZT"))
    assert rec.quantity_source == "derived" and rec.quantity == pytest.approx(3.9996)
    assert _fees(line).outcome is Outcome.MET
    with_qty = pi.InvoiceLine("p", m, "traffic-tb", 9_999, "KZT", quantity=3)
    assert _fees(with_qty).evidence["hidden_fees"][0]["excess"] == 2499


# --- fin.predictable ------------------------------------------------------------------------


def _predictable(lines: list[pi.InvoiceLine]) -> CriterionResult:
    return C["fin.predictable"].evaluate(ctx(_priced(), invoices=lines))


def test_price_change_of_one_item_is_judged_with_its_date_and_size():
    months = Q2.lookback(12)[-4:]
    lines = [pi.InvoiceLine("p", m, "vps-16g app-1", 34_000, "KZT") for m in months]
    lines += [pi.InvoiceLine("p", m, "backup", 6000, "KZT") for m in months[:2]]
    steady = _predictable(
        lines + [pi.InvoiceLine("p", m, "backup", 6060, "KZT") for m in months[2:]]
    )
    assert steady.observed == pytest.approx(0.01) and steady.outcome is Outcome.MET  # at 1%
    rise = _predictable(lines + [pi.InvoiceLine("p", m, "backup", 6061, "KZT") for m in months[2:]])
    assert rise.outcome is Outcome.NOT_MET
    (change,) = rise.evidence["price_changes"]
    assert (change["item"], change["month"], change["from"], change["to"]) == (
        "backup",
        "2026-05",
        6000,
        6061,
    )


def test_added_server_at_list_price_is_usage_not_price():
    """A second server from the third month: totals vary by 40%, unit prices do not."""
    months = Q2.lookback(12)[-4:]
    lines = [pi.InvoiceLine("p", m, "vps-16g app-1", 34_000, "KZT") for m in months]
    lines += [pi.InvoiceLine("p", m, "vps-16g app-2", 34_000, "KZT") for m in months[2:]]
    result = _predictable(lines)
    assert result.outcome is Outcome.MET and result.observed == 0
    assert result.evidence["usage_changes"] == [
        {"item": "vps-16g", "month": "2026-05", "from": 1.0, "to": 2.0, "change": 1.0}
    ]
    assert result.evidence["monthly_total_cv"] > 0.1  # what used to read as unpredictable


def test_price_rise_hidden_in_low_variation_is_caught():
    """A 10% rise of a small item moves the monthly total by under 4%."""
    months = Q2.lookback(12)[-6:]
    lines = [pi.InvoiceLine("p", m, "vps-16g app-1", 34_000, "KZT") for m in months]
    lines += [
        pi.InvoiceLine("p", m, "backup", 6000 if i < 3 else 6600, "KZT")
        for i, m in enumerate(months)
    ]
    result = _predictable(lines)
    assert result.evidence["monthly_total_cv"] < 0.04
    assert result.outcome is Outcome.NOT_MET and result.observed == pytest.approx(0.1)


def test_predictable_needs_min_months_and_ignores_exchange_swings():
    months = Q2.lookback(12)[-3:]
    two = _predictable([pi.InvoiceLine("p", m, "vps-16g", 34_000, "KZT") for m in months[:2]])
    assert two.outcome is Outcome.INSUFFICIENT_DATA
    rates = [Rate(m, "EUR", "KZT", r) for m, r in zip(months, (500, 600, 700), strict=True)]
    eur = provider("p", price_list=(plan("vps-16g", 100, "EUR"),))
    lines = [pi.InvoiceLine("p", m, "vps-16g", 100, "EUR") for m in months]
    result = C["fin.predictable"].evaluate(
        ctx(eur, invoices=lines, converter=Converter(rates, "KZT"))
    )
    assert result.observed == 0 and result.outcome is Outcome.MET

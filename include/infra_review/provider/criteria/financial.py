"""Financial criteria (seed 02.04.04): fin.tco, fin.predictable, fin.transparency,
fin.hidden_fees. Each is one class: its parameters, ``evaluate`` and how its value reads.
The last three judge invoice lines reconciled to the price list (``provider.reconcile``)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from infra_review.criteria.evidence import Evidence
from infra_review.criteria.result import CriterionResult
from infra_review.provider.criteria.base import (
    COMPARATOR,
    THRESHOLD,
    Context,
    Criterion,
    Param,
    outcome_of,
)
from infra_review.provider.inputs import month_bounds
from infra_review.provider.reconcile import (
    Reconciled,
    by_item,
    month_changes,
    reconcile,
    unit_prices,
)

LOOKBACK = Param("lookback_months", int, 12, "months of invoices ending with the quarter")
MIN_MONTHS = Param("min_months", int, 3, "fewer invoiced months than this: insufficient_data")


class FinTco(Criterion):
    """Alternative's annual TCO over the current provider's actual annual cost, below 1.5,
    for the same fleet. The current provider's own cost is the reference, not a result."""

    id = "fin.tco"
    unit, scale = "%", 100
    group = "financial"
    reference_for_current = True
    params = (
        COMPARATOR,
        THRESHOLD,
        Param("amortisation_years", (int, float), 3, "one-off migration cost spread over"),
        LOOKBACK,
        MIN_MONTHS,
        Param("usage_tolerance_pct", (int, float), 10, "invoiced vs priced usage, reported"),
    )

    @classmethod
    def observed_text(cls, result: CriterionResult) -> str:
        return "" if result.observed is None else f"ratio {result.observed:.2f}"

    def evaluate(self, ctx: Context) -> CriterionResult:
        current, tco, provider = ctx.current_cost, ctx.tco, ctx.provider
        assert current is not None and tco is not None
        min_months = int(self.p["min_months"])
        window = month_bounds(current.months)
        ev = TcoEvidence(current.provider, current.evidence(), min_months, ctx.fleet_check)
        if len(current.months_present) < min_months:
            ev.reason = (
                f"{current.provider} has invoices for {len(current.months_present)} of the "
                f"last {len(current.months)} months; at least {min_months} are needed"
            )
            return self.no_data(provider.id, window, ev)
        if current.annual <= 0:
            ev.reason = "the current provider's invoiced total is not positive"
            return self.no_data(provider.id, window, ev)
        if ctx.fleet_check and not ctx.fleet_check.get("matches"):
            ev.reason = fleet_mismatch_reason(ctx.fleet_check)
            return self.no_data(provider.id, window, ev)
        ratio = tco.annual / current.annual
        ev.alternative = tco.evidence()
        ev.annual_tco, ev.annual_current = round(tco.annual, 2), round(current.annual, 2)
        ev.ratio, ev.currency = round(ratio, 4), current.currency
        ok = self.compare(ratio)
        return self.result(provider.id, outcome_of(ok), ratio, self.threshold, window, ev)


@dataclass
class TcoEvidence(Evidence):
    """fin.tco's evidence: the current provider's invoiced cost (the reference), the fleet
    comparison, and the alternative's projected TCO with its breakdown and the ratio."""

    OPTIONAL = ("alternative", "annual_tco", "annual_current", "ratio", "currency", "reason")
    current_provider: str
    current: dict[str, Any]
    min_months: int
    fleet: dict[str, Any] | None
    alternative: dict[str, Any] | None = None
    annual_tco: float | None = None
    annual_current: float | None = None
    ratio: float | None = None
    currency: str | None = None
    reason: str | None = None


def fleet_mismatch_reason(fleet: dict[str, Any]) -> str:
    parts = []
    if fleet.get("invoiced_not_listed"):
        parts.append(f"invoiced but not in fleet.yaml: {', '.join(fleet['invoiced_not_listed'])}")
    if fleet.get("listed_not_invoiced"):
        parts.append(f"in fleet.yaml but not invoiced: {', '.join(fleet['listed_not_invoiced'])}")
    if fleet.get("plan_count_differs"):
        parts.append(
            f"plan lines differ from fleet.yaml in {', '.join(fleet['plan_count_differs'])}"
        )
    if not fleet.get("months"):
        parts.append("no invoices of the current provider in the quarter")
    return (
        f"the current fleet as invoiced by {fleet.get('provider')} differs from fleet.yaml ("
        + "; ".join(parts)
        + "): fix fleet.yaml or the invoices so the TCO compares the same servers"
    )


class FinPredictable(Criterion):
    """No price-list item's unit price changed month over month by more than the
    threshold in the look-back; usage changes are reported apart and do not count."""

    id = "fin.predictable"
    unit, scale = "%", 100
    group = "financial"
    params = (COMPARATOR, THRESHOLD, LOOKBACK, MIN_MONTHS)

    @classmethod
    def observed_text(cls, result: CriterionResult) -> str:
        return "" if result.observed is None else f"max price change {result.observed:.1%}"

    def evaluate(self, ctx: Context) -> CriterionResult:
        months = ctx.window.lookback(int(self.p["lookback_months"]))
        min_months = int(self.p["min_months"])
        wanted = set(months)
        scoped = ctx.converter.scoped()
        own = [ln for ln in ctx.invoices if ln.provider == ctx.provider.id and ln.month in wanted]
        lines = reconcile(ctx.provider, own, scoped)
        prices, usage, unchecked = unit_prices(lines)
        invoiced = sorted({r.line.month for r in lines})
        totals: dict[date, float] = defaultdict(float)
        for r in lines:
            totals[r.line.month] += r.amount
        changes = month_changes(prices)
        ev = PredictableEvidence(
            months_expected=len(months),
            months_invoiced=len(invoiced),
            min_months=min_months,
            tolerance=self.threshold,
            price_changes=[c for c in changes if abs(c["change"]) > self.threshold],
            all_price_moves=changes,
            usage_changes=month_changes(usage, relative=False),
            items_checked=sorted({k[0] for k in prices}),
            items_without_quantity=sorted(unchecked),
            monthly_totals={f"{m:%Y-%m}": round(v, 2) for m, v in sorted(totals.items())},
            currency=ctx.converter.target,
            rates_used=scoped.used(),
        )
        window = month_bounds(months)
        if len(invoiced) < min_months:
            ev.reason = (
                f"invoices for {len(invoiced)} of the last {len(months)} months; "
                f"at least {min_months} are needed"
            )
            return self.no_data(ctx.provider.id, window, ev)
        if not any(len(v) >= 2 for v in by_item(prices).values()):
            ev.reason = "no price-list item has a unit price in two or more months"
            return self.no_data(ctx.provider.id, window, ev)
        if len(totals) > 1 and statistics.fmean(totals.values()) > 0:
            mean = statistics.fmean(totals.values())
            ev.monthly_total_cv = round(statistics.pstdev(totals.values()) / mean, 4)
        largest = max((abs(c["change"]) for c in changes), default=0.0)
        ok = self.compare(largest)
        if not ok:
            ev.reason = "unit price changed: " + "; ".join(
                f"{c['item']} {c['change']:+.1%} from {c['month']}" for c in ev.price_changes[:5]
            )
        return self.result(ctx.provider.id, outcome_of(ok), largest, self.threshold, window, ev)


@dataclass
class PredictableEvidence(Evidence):
    """fin.predictable's evidence: each item's unit-price changes (judged) and its usage
    changes (reported apart), with the monthly totals for reference."""

    OPTIONAL = ("monthly_total_cv", "reason")
    months_expected: int
    months_invoiced: int
    min_months: int
    tolerance: float
    price_changes: list[dict[str, Any]]
    all_price_moves: list[dict[str, Any]]
    usage_changes: list[dict[str, Any]]
    items_checked: list[str]
    items_without_quantity: list[str]
    monthly_totals: dict[str, float]
    currency: str
    rates_used: list[dict[str, Any]]
    monthly_total_cv: float | None = None
    reason: str | None = None


def _quarter(ctx: Context) -> tuple[list[Reconciled], Any]:
    months = set(ctx.window.months)
    own = [ln for ln in ctx.invoices if ln.provider == ctx.provider.id and ln.month in months]
    scoped = ctx.converter.scoped()
    return reconcile(ctx.provider, own, scoped), scoped


class FinTransparency(Criterion):
    """Share of the quarter's invoiced money the price list explains: each line reconciled
    to an item, a quantity and its expected amount; the part above it is unexplained."""

    id = "fin.transparency"
    unit, scale = "%", 100
    group = "financial"
    params = (COMPARATOR, THRESHOLD)

    @classmethod
    def observed_text(cls, result: CriterionResult) -> str:
        return "" if result.observed is None else f"{result.observed:.1%} of money"

    def evaluate(self, ctx: Context) -> CriterionResult:
        lines, scoped = _quarter(ctx)
        bounds = ctx.window.bounds
        pid = ctx.provider.id
        if not lines:
            reason = f"no invoices from {pid} in {ctx.window.quarter}"
            return self.no_data(pid, bounds, TransparencyEvidence(invoice_lines=0, reason=reason))
        charged = sum(r.amount for r in lines if r.charge)
        explained = sum(r.explained for r in lines)
        ev = TransparencyEvidence(
            invoice_lines=len(lines),
            invoiced_total=round(charged, 2),
            explained_total=round(explained, 2),
            unexplained_total=round(charged - explained, 2),
            currency=ctx.converter.target,
            unexplained_lines=[
                {**r.record(), "unexplained": round(r.amount - r.explained, 2)}
                for r in lines
                if r.charge and r.amount - r.explained > 0.005
            ],
            rates_used=scoped.used(),
        )
        if charged <= 0:
            ev.reason = "the invoiced amount is zero"
            return self.no_data(pid, bounds, ev)
        share = ev.share_explained = explained / charged
        ok = self.compare(share)
        if not ok:
            ev.reason = (
                f"{share:.1%} of {charged:,.2f} {ctx.converter.target} invoiced is explained by "
                "the price list; unexplained: "
                + "; ".join(
                    f"{u['month']} {u['line_item']} {u['unexplained']:g}"
                    for u in (ev.unexplained_lines or [])[:5]
                )
            )
        return self.result(pid, outcome_of(ok), share, self.threshold, bounds, ev)


@dataclass
class TransparencyEvidence(Evidence):
    """fin.transparency's evidence: invoiced, explained and unexplained money, and the
    lines (with their reconciliation) that the price list does not explain."""

    OPTIONAL = (
        "invoiced_total",
        "explained_total",
        "unexplained_total",
        "currency",
        "unexplained_lines",
        "rates_used",
        "share_explained",
        "reason",
    )
    invoice_lines: int
    invoiced_total: float | None = None
    explained_total: float | None = None
    unexplained_total: float | None = None
    currency: str | None = None
    unexplained_lines: list[dict[str, Any]] | None = None
    rates_used: list[dict[str, Any]] | None = None
    share_explained: float | None = None
    reason: str | None = None


class FinHiddenFees(Criterion):
    """Invoice lines outside the price list, or above their expected amount by more than
    ``tolerance_pct``, each listed with its amount and month. Credits are listed apart."""

    id = "fin.hidden_fees"
    unit, shown_threshold, shown_comparator = "lines", 0, "=="
    group = "financial"
    params = (
        COMPARATOR,
        THRESHOLD,
        Param("tolerance_pct", (int, float), 1, "billed above expected by more: a fee"),
    )

    @classmethod
    def observed_text(cls, result: CriterionResult) -> str:
        return "" if result.observed is None else f"{result.observed:.0f} line(s)"

    def evaluate(self, ctx: Context) -> CriterionResult:
        lines, scoped = _quarter(ctx)
        bounds = ctx.window.bounds
        pid = ctx.provider.id
        tolerance = float(self.p["tolerance_pct"])
        if not lines:
            reason = f"no invoices from {pid} in {ctx.window.quarter}"
            return self.no_data(pid, bounds, FeesEvidence(invoice_lines=0, reason=reason))
        fees = []
        for r in lines:
            if r.item is None and r.charge:
                kind, excess = "unlisted", r.line.amount
            elif r.item is not None and r.above(tolerance):
                kind, excess = "price_deviation", (r.amount - (r.expected or 0.0)) / r.factor
            else:
                continue
            fees.append(
                {
                    **r.record(),
                    "kind": kind,
                    "excess": round(excess, 6),
                    "excess_converted": round(excess * r.factor, 2),
                }
            )
        ev = FeesEvidence(
            invoice_lines=len(lines),
            hidden_fees=fees,
            hidden_fees_total=round(sum(f["excess_converted"] for f in fees), 2),
            currency=ctx.converter.target,
            tolerance_pct=tolerance,
            unlisted_credits=[r.record() for r in lines if r.item is None and not r.charge],
            reconciliation=[r.record() for r in lines],
            price_list_items=[p.item for p in ctx.provider.price_list],
            rates_used=scoped.used(),
        )
        count = float(len(fees))
        ok = self.compare(count)
        if not ok:
            ev.reason = f"{len(fees)} line(s) beyond the price list: " + "; ".join(
                f"{f['month']} {f['line_item']} {f['kind']} +{f['excess']:g} {f['currency']}"
                for f in fees[:5]
            )
        return self.result(pid, outcome_of(ok), count, self.threshold, bounds, ev)


@dataclass
class FeesEvidence(Evidence):
    """fin.hidden_fees' evidence: each fee (unlisted line or price deviation, with month,
    amount, expected amount and excess), the credits, and every reconciled line."""

    OPTIONAL = (
        "hidden_fees",
        "hidden_fees_total",
        "currency",
        "tolerance_pct",
        "unlisted_credits",
        "reconciliation",
        "price_list_items",
        "rates_used",
        "reason",
    )
    invoice_lines: int
    hidden_fees: list[dict[str, Any]] | None = None
    hidden_fees_total: float | None = None
    currency: str | None = None
    tolerance_pct: float | None = None
    unlisted_credits: list[dict[str, Any]] | None = None
    reconciliation: list[dict[str, Any]] | None = None
    price_list_items: list[str] | None = None
    rates_used: list[dict[str, Any]] | None = None
    reason: str | None = None


CRITERIA = (FinTco, FinPredictable, FinTransparency, FinHiddenFees)

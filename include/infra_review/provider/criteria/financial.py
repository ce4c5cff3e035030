"""Financial criteria (seed 02.04.04): fin.tco, fin.predictable, fin.transparency,
fin.hidden_fees. Each is one class: its parameters, ``evaluate`` and how its value reads."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from infra_review.criteria.result import CriterionResult
from infra_review.provider.costs import ActualCost, Tco
from infra_review.provider.criteria.base import (
    COMPARATOR,
    THRESHOLD,
    Context,
    Criterion,
    Param,
    outcome_of,
)
from infra_review.provider.inputs import InvoiceLine, ReviewWindow, month_bounds
from infra_review.provider.model import Provider
from infra_review.provider.money import Converter

LOOKBACK = Param("lookback_months", int, 12, "months of invoices ending with the quarter")
MIN_MONTHS = Param("min_months", int, 3, "fewer invoiced months than this: insufficient_data")


class FinTco(Criterion):
    """Alternative's annual TCO over the current provider's actual annual cost, below 1.5."""

    id = "fin.tco"
    group = "financial"
    params = (
        COMPARATOR,
        THRESHOLD,
        Param("amortisation_years", (int, float), 3, "one-off migration cost spread over"),
        LOOKBACK,
        MIN_MONTHS,
    )

    def evaluate(self, ctx: Context) -> CriterionResult:
        assert ctx.current_cost is not None
        return self.judge(
            ctx.provider, is_current=ctx.is_current, current=ctx.current_cost, tco=ctx.tco
        )

    def observed_text(self, result: CriterionResult) -> str:
        return "" if result.observed is None else f"ratio {result.observed:.2f}"

    def judge(
        self,
        provider: Provider,
        *,
        is_current: bool,
        current: ActualCost,
        tco: Tco | None,
    ) -> CriterionResult:
        """Alternative's annual TCO over the current provider's actual annual cost, below 1.5."""
        min_months = int(self.p["min_months"])
        window = month_bounds(current.months)
        base = {
            "current_provider": current.provider,
            "current": current.evidence(),
            "min_months": min_months,
        }
        if len(current.months_present) < min_months:
            return self.no_data(
                provider.id,
                window,
                {
                    **base,
                    "reason": f"{current.provider} has invoices for {len(current.months_present)} of "
                    f"the last {len(current.months)} months; at least {min_months} are needed",
                },
            )
        if current.annual <= 0:
            return self.no_data(
                provider.id,
                window,
                {**base, "reason": "the current provider's invoiced total is not positive"},
            )
        if is_current:
            ratio = 1.0
            return self.result(
                provider.id,
                outcome_of(self.compare(ratio)),
                ratio,
                self.threshold,
                window,
                {
                    **base,
                    "baseline": True,
                    "note": "the current provider is the baseline (ratio 1)",
                },
            )
        assert tco is not None
        ratio = tco.annual / current.annual
        return self.result(
            provider.id,
            outcome_of(self.compare(ratio)),
            ratio,
            self.threshold,
            window,
            {
                **base,
                "alternative": tco.evidence(),
                "annual_tco": round(tco.annual, 2),
                "annual_current": round(current.annual, 2),
                "ratio": round(ratio, 4),
                "currency": current.currency,
            },
        )


class FinPredictable(Criterion):
    """Coefficient of variation (population) of monthly invoice totals, at most 10%."""

    id = "fin.predictable"
    group = "financial"
    params = (COMPARATOR, THRESHOLD, LOOKBACK, MIN_MONTHS)

    def evaluate(self, ctx: Context) -> CriterionResult:
        months = ctx.window.lookback(int(self.p["lookback_months"]))
        return self.judge(ctx.provider.id, ctx.invoices, ctx.converter, months)

    def observed_text(self, result: CriterionResult) -> str:
        return "" if result.observed is None else f"CV {result.observed:.1%}"

    def judge(
        self,
        provider_id: str,
        lines: Iterable[InvoiceLine],
        converter: Converter,
        months: Sequence[date],
    ) -> CriterionResult:
        """Coefficient of variation (population) of monthly invoice totals, at most 10%.

        Invoices all in one currency are measured in it, so exchange-rate swings are not counted
        as the provider's price changes; mixed currencies are converted month by month.
        """
        min_months = int(self.p["min_months"])
        window = month_bounds(months)
        wanted = set(months)
        own = [ln for ln in lines if ln.provider == provider_id and ln.month in wanted]
        currencies = sorted({ln.currency for ln in own})
        scoped = converter.scoped()
        by_month: dict[date, float] = defaultdict(float)
        if len(currencies) == 1:
            measured_in = currencies[0]
            for ln in own:
                by_month[ln.month] += ln.amount
        else:
            measured_in = converter.target
            for ln in own:
                by_month[ln.month] += scoped.convert(ln.amount, ln.currency, ln.month, **ln.where())
        evidence: dict[str, Any] = {
            "months_expected": len(months),
            "months_invoiced": len(by_month),
            "monthly_totals": {f"{m:%Y-%m}": round(v, 2) for m, v in sorted(by_month.items())},
            "currency": measured_in,
            "invoice_currencies": currencies,
            "rates_used": scoped.used(),
            "min_months": min_months,
            "std": "population",
        }
        if len(by_month) < min_months:
            evidence["reason"] = (
                f"invoices for {len(by_month)} of the last {len(months)} months; "
                f"at least {min_months} are needed"
            )
            return self.no_data(provider_id, window, evidence)
        totals = list(by_month.values())
        mean = statistics.fmean(totals)
        if mean <= 0:
            evidence["reason"] = "mean monthly total is not positive"
            return self.no_data(provider_id, window, evidence)
        cv = statistics.pstdev(totals) / mean
        evidence.update(
            {"mean": round(mean, 2), "stdev": round(statistics.pstdev(totals), 2), "cv": cv}
        )
        return self.result(
            provider_id, outcome_of(self.compare(cv)), cv, self.threshold, window, evidence
        )


def _quarter_lines(
    provider_id: str, lines: Iterable[InvoiceLine], window: ReviewWindow
) -> list[InvoiceLine]:
    months = set(window.months)
    return [ln for ln in lines if ln.provider == provider_id and ln.month in months]


def _line_record(ln: InvoiceLine, converted: float | None = None) -> dict[str, Any]:
    out = {
        "month": f"{ln.month:%Y-%m}",
        "line_item": ln.line_item,
        "amount": ln.amount,
        "currency": ln.currency,
    }
    if converted is not None:
        out["converted"] = round(converted, 2)
    if ln.source_file:
        out["source"] = f"{ln.source_file}:{ln.source_line}"
    return out


class FinTransparency(Criterion):
    """Share of the quarter's invoiced amount matched to price-list items."""

    id = "fin.transparency"
    group = "financial"
    params = (COMPARATOR, THRESHOLD)

    def evaluate(self, ctx: Context) -> CriterionResult:
        return self.judge(ctx.provider, ctx.invoices, ctx.converter, ctx.window)

    def observed_text(self, result: CriterionResult) -> str:
        return "" if result.observed is None else f"{result.observed:.0%}"

    def judge(
        self,
        provider: Provider,
        lines: Iterable[InvoiceLine],
        converter: Converter,
        window: ReviewWindow,
    ) -> CriterionResult:
        """Share of the quarter's invoiced amount (absolute, converted) matched to price-list items."""
        own = _quarter_lines(provider.id, lines, window)
        bounds = (window.start, window.end)
        if not own:
            return self.no_data(
                provider.id,
                bounds,
                {
                    "reason": f"no invoices from {provider.id} in {window.quarter}",
                    "invoice_lines": 0,
                },
            )
        scoped = converter.scoped()
        matched_total = unmatched_total = 0.0
        by_item: dict[str, float] = defaultdict(float)
        unmatched = []
        for ln in own:
            value = abs(scoped.convert(ln.amount, ln.currency, ln.month, **ln.where()))
            item = provider.match_line(ln.line_item)
            if item is None:
                unmatched_total += value
                unmatched.append(_line_record(ln, value))
            else:
                matched_total += value
                by_item[item.item] += value
        total = matched_total + unmatched_total
        if total <= 0:
            return self.no_data(
                provider.id,
                bounds,
                {"reason": "the invoiced amount is zero", "invoice_lines": len(own)},
            )
        share = matched_total / total
        return self.result(
            provider.id,
            outcome_of(self.compare(share)),
            share,
            self.threshold,
            bounds,
            {
                "share_itemised": share,
                "matched_total": round(matched_total, 2),
                "unmatched_total": round(unmatched_total, 2),
                "currency": converter.target,
                "invoice_lines": len(own),
                "matched_by_item": {k: round(v, 2) for k, v in sorted(by_item.items())},
                "unmatched_lines": unmatched,
                "rates_used": scoped.used(),
            },
        )


class FinHiddenFees(Criterion):
    """Charges in the quarter's invoices that match no price-list item."""

    id = "fin.hidden_fees"
    group = "financial"
    params = (COMPARATOR, THRESHOLD)

    def evaluate(self, ctx: Context) -> CriterionResult:
        return self.judge(ctx.provider, ctx.invoices, ctx.window)

    def observed_text(self, result: CriterionResult) -> str:
        return "" if result.observed is None else f"{result.observed:.0f} line(s)"

    def judge(
        self, provider: Provider, lines: Iterable[InvoiceLine], window: ReviewWindow
    ) -> CriterionResult:
        """Charges in the quarter's invoices that match no price-list item. Credits (negative
        amounts) outside the price list are listed but are not fees."""
        own = _quarter_lines(provider.id, lines, window)
        bounds = (window.start, window.end)
        if not own:
            return self.no_data(
                provider.id,
                bounds,
                {
                    "reason": f"no invoices from {provider.id} in {window.quarter}",
                    "invoice_lines": 0,
                },
            )
        unmatched = [ln for ln in own if provider.match_line(ln.line_item) is None]
        fees = [ln for ln in unmatched if ln.amount > 0]
        credits = [ln for ln in unmatched if ln.amount <= 0]
        count = float(len(fees))
        return self.result(
            provider.id,
            outcome_of(self.compare(count)),
            count,
            self.threshold,
            bounds,
            {
                "hidden_fees": [_line_record(ln) for ln in fees],
                "unlisted_credits": [_line_record(ln) for ln in credits],
                "invoice_lines": len(own),
                "price_list_items": [p.item for p in provider.price_list],
            },
        )


CRITERIA = (FinTco, FinPredictable, FinTransparency, FinHiddenFees)

"""The twelve provider criteria (fin.*, tech.*, strat.*) as pure functions.

Each takes plain data (invoice lines, probe counts, tickets, the provider's declared facts)
and a ``Rule`` from criteria.yaml, and returns a ``CriterionResult`` whose evidence holds the
observed value, the threshold, the window and the data used. No database, no clock: the
window comes from the review, so a stored result can be recomputed from its inputs.
"""

from __future__ import annotations

import math
import operator
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from infra_review.criteria.result import CriterionResult, Outcome
from infra_review.criteria.rules import Rule
from infra_review.provider.model import Provider, Requirements
from infra_review.provider.money import Converter, add_months, months_between
from infra_review.quarter import Quarter

_COMPARATORS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
}


def compare(observed: float, rule: Rule, threshold: float | None = None) -> bool:
    """Apply the rule's comparator from criteria.yaml (``>`` when it names none)."""
    op = _COMPARATORS[str(rule.params.get("comparator", ">"))]
    return bool(op(observed, rule.threshold if threshold is None else threshold))


@dataclass(frozen=True)
class InvoiceLine:
    provider: str
    month: date
    line_item: str
    amount: float
    currency: str
    source_file: str | None = None
    source_line: int | None = None

    def where(self) -> dict[str, Any]:
        """Where this line came from, for an InputError about it."""
        return {
            "file": self.source_file or f"infra_review.invoices ({self.provider})",
            "line": self.source_line,
            "what": f"invoice line {self.line_item!r} of {self.provider} {self.month:%Y-%m}",
        }


@dataclass(frozen=True)
class Ticket:
    provider: str
    opened_at: datetime
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None


@dataclass(frozen=True)
class ProbeCount:
    """probe_up samples of one series in the window: how many came in and how many were up."""

    server: str
    label: str
    received: int
    up: int
    interval_s: int


@dataclass(frozen=True)
class ReviewWindow:
    """The quarter under review; financial criteria also look back over whole months."""

    quarter: Quarter

    @property
    def start(self) -> datetime:
        return self.quarter.start

    @property
    def end(self) -> datetime:
        return self.quarter.end

    @property
    def months(self) -> list[date]:
        return months_between(self.start.date(), self.end.date())

    def lookback(self, months: int) -> list[date]:
        """The ``months`` whole months that end with the quarter."""
        end = self.end.date()
        return months_between(add_months(end, -months), end)

    @property
    def last_month(self) -> date:
        return self.months[-1]


def _month_bounds(months: Sequence[date]) -> tuple[datetime, datetime]:
    from datetime import UTC

    first, last = months[0], add_months(months[-1], 1)
    return (
        datetime(first.year, first.month, 1, tzinfo=UTC),
        datetime(last.year, last.month, 1, tzinfo=UTC),
    )


def _no_data(
    rule: Rule, subject: str, window: tuple[datetime, datetime], evidence: dict[str, Any]
) -> CriterionResult:
    """``insufficient_data``: nothing observed, the threshold it would have been held to and
    the reason in the evidence."""
    return _result(rule, subject, Outcome.INSUFFICIENT_DATA, None, rule.threshold, window, evidence)


def _result(
    rule: Rule,
    subject: str,
    outcome: Outcome,
    observed: float | None,
    threshold: float | None,
    window: tuple[datetime, datetime],
    evidence: dict[str, Any],
) -> CriterionResult:
    evidence = {
        "comparator": rule.params.get("comparator"),
        "default_source": rule.params.get("default_source"),
        **evidence,
    }
    return CriterionResult(
        criterion_id=rule.id,
        subject=subject,
        outcome=outcome,
        observed=observed,
        threshold=threshold,
        window_start=window[0],
        window_end=window[1],
        evidence=evidence,
    )


def _outcome(ok: bool) -> Outcome:
    return Outcome.MET if ok else Outcome.NOT_MET


# --- financial ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActualCost:
    """A provider's invoiced cost over the look-back months, in the reporting currency."""

    provider: str
    currency: str
    months: list[date]
    by_month: dict[date, float]
    rates: list[dict[str, Any]]
    lines: int

    @property
    def months_present(self) -> list[date]:
        return sorted(self.by_month)

    @property
    def months_missing(self) -> list[date]:
        return [m for m in self.months if m not in self.by_month]

    @property
    def total(self) -> float:
        return sum(self.by_month.values())

    @property
    def annual(self) -> float:
        """Annualised from the months invoiced: total x 12 / months present."""
        present = len(self.by_month)
        return self.total * 12 / present if present else 0.0

    def evidence(self) -> dict[str, Any]:
        return {
            "months_expected": len(self.months),
            "months_invoiced": len(self.by_month),
            "months_missing": [f"{m:%Y-%m}" for m in self.months_missing],
            "total_invoiced": round(self.total, 2),
            "annual_actual": round(self.annual, 2),
            "annualised": len(self.by_month) != 12,
            "currency": self.currency,
            "monthly_totals": {f"{m:%Y-%m}": round(v, 2) for m, v in sorted(self.by_month.items())},
            "invoice_lines": self.lines,
            "rates_used": self.rates,
        }


def actual_cost(
    provider_id: str, lines: Iterable[InvoiceLine], converter: Converter, months: Sequence[date]
) -> ActualCost:
    """Each line converted at its own month's rate; a missing rate raises InputError."""
    scoped = converter.scoped()
    wanted = set(months)
    by_month: dict[date, float] = defaultdict(float)
    count = 0
    for line in lines:
        if line.provider != provider_id or line.month not in wanted:
            continue
        by_month[line.month] += scoped.convert(
            line.amount, line.currency, line.month, **line.where()
        )
        count += 1
    return ActualCost(
        provider_id, converter.target, list(months), dict(by_month), scoped.used(), count
    )


@dataclass(frozen=True)
class Tco:
    """Projected annual cost of hosting the current fleet at a provider, from its price list."""

    provider: str
    currency: str
    price_month: date
    monthly: float
    migration_annual: float
    amortisation_years: float
    breakdown: list[dict[str, Any]]
    rates: list[dict[str, Any]]

    @property
    def annual(self) -> float:
        return 12 * self.monthly + self.migration_annual

    def components(self) -> dict[str, float]:
        out: dict[str, float] = defaultdict(float)
        for row in self.breakdown:
            out[row["component"]] += row["annual"]
        return {k: round(v, 2) for k, v in out.items()}

    def evidence(self) -> dict[str, Any]:
        return {
            "annual_tco": round(self.annual, 2),
            "monthly_running": round(self.monthly, 2),
            "migration_per_year": round(self.migration_annual, 2),
            "amortisation_years": self.amortisation_years,
            "currency": self.currency,
            "prices_converted_at": f"{self.price_month:%Y-%m}",
            "components": self.components(),
            "breakdown": self.breakdown,
            "rates_used": self.rates,
        }


def projected_tco(
    provider: Provider,
    requirements: Requirements,
    converter: Converter,
    price_month: date,
    amortisation_years: float,
    config_file: str,
    line_of: Callable[[str], int | None] = lambda _f: None,
) -> Tco:
    """Plans for every server, traffic over what the plans include, storage, support, add-ons,
    plus the one-off migration cost spread over ``amortisation_years``."""
    scoped = converter.scoped()
    rows: list[dict[str, Any]] = []

    def add(component: str, item, quantity: float, unit: str, server: str | None = None) -> None:
        factor = scoped.factor(
            item.currency,
            price_month,
            file=config_file,
            line=line_of(f"{item.field}.currency"),
            field=f"{item.field}.currency",
            what=f"{provider.id} price of {item.item}",
        )
        monthly = quantity * item.price * factor
        row = {
            "component": component,
            "item": item.item,
            "quantity": quantity,
            "unit": unit,
            "unit_price": item.price,
            "currency": item.currency,
            "factor": factor,
            "monthly": round(monthly, 2),
            "annual": round(12 * monthly, 2),
        }
        if server:
            row["server"] = server
        rows.append(row)

    included = 0.0
    for server, plan_name in sorted(provider.fleet_plans.items()):
        plan = provider.item(plan_name)
        included += plan.included_traffic_tb
        add("plans", plan, 1, "month", server)
    excess = max(0.0, requirements.traffic_tb_per_month - included)
    traffic = provider.items_of("traffic")
    if traffic and (excess > 0 or requirements.traffic_tb_per_month > 0):
        add("traffic", traffic[0], excess, "TB")
    storage = provider.items_of("storage")
    if storage and requirements.storage_gb > 0:
        add("storage", storage[0], requirements.storage_gb, "GB-month")
    if provider.support_plan:
        add("support", provider.item(provider.support_plan), 1, "month")
    for addon in provider.addons:
        add("addons", provider.item(addon), 1, "month")
    monthly = sum(r["monthly"] for r in rows)
    migration_annual = 0.0
    if provider.migration_cost is not None:
        where = f"{provider.field}.migration_cost.currency"
        factor = scoped.factor(
            provider.migration_cost.currency,
            price_month,
            file=config_file,
            line=line_of(where),
            field=where,
            what=f"{provider.id} migration cost",
        )
        total = provider.migration_cost.amount * factor
        migration_annual = total / amortisation_years
        rows.append(
            {
                "component": "migration",
                "item": "one-off migration cost",
                "quantity": 1,
                "unit": f"once, over {amortisation_years:g} years",
                "unit_price": provider.migration_cost.amount,
                "currency": provider.migration_cost.currency,
                "factor": factor,
                "total": round(total, 2),
                "annual": round(migration_annual, 2),
            }
        )
    return Tco(
        provider=provider.id,
        currency=converter.target,
        price_month=price_month,
        monthly=monthly,
        migration_annual=migration_annual,
        amortisation_years=amortisation_years,
        breakdown=rows,
        rates=scoped.used(),
    )


def fin_tco(
    rule: Rule,
    provider: Provider,
    *,
    is_current: bool,
    current: ActualCost,
    tco: Tco | None,
) -> CriterionResult:
    """Alternative's annual TCO over the current provider's actual annual cost, below 1.5."""
    min_months = int(rule.params.get("min_months", 3))
    window = _month_bounds(current.months)
    base = {
        "current_provider": current.provider,
        "current": current.evidence(),
        "min_months": min_months,
    }
    if len(current.months_present) < min_months:
        return _no_data(
            rule,
            provider.id,
            window,
            {
                **base,
                "reason": f"{current.provider} has invoices for {len(current.months_present)} of "
                f"the last {len(current.months)} months; at least {min_months} are needed",
            },
        )
    if current.annual <= 0:
        return _no_data(
            rule,
            provider.id,
            window,
            {**base, "reason": "the current provider's invoiced total is not positive"},
        )
    if is_current:
        ratio = 1.0
        return _result(
            rule,
            provider.id,
            _outcome(compare(ratio, rule)),
            ratio,
            rule.threshold,
            window,
            {**base, "baseline": True, "note": "the current provider is the baseline (ratio 1)"},
        )
    assert tco is not None
    ratio = tco.annual / current.annual
    return _result(
        rule,
        provider.id,
        _outcome(compare(ratio, rule)),
        ratio,
        rule.threshold,
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


def fin_predictable(
    rule: Rule,
    provider_id: str,
    lines: Iterable[InvoiceLine],
    converter: Converter,
    months: Sequence[date],
) -> CriterionResult:
    """Coefficient of variation (population) of monthly invoice totals, at most 10%.

    Invoices all in one currency are measured in it, so exchange-rate swings are not counted
    as the provider's price changes; mixed currencies are converted month by month.
    """
    min_months = int(rule.params.get("min_months", 3))
    window = _month_bounds(months)
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
        return _no_data(rule, provider_id, window, evidence)
    totals = list(by_month.values())
    mean = statistics.fmean(totals)
    if mean <= 0:
        evidence["reason"] = "mean monthly total is not positive"
        return _no_data(rule, provider_id, window, evidence)
    cv = statistics.pstdev(totals) / mean
    evidence.update(
        {"mean": round(mean, 2), "stdev": round(statistics.pstdev(totals), 2), "cv": cv}
    )
    return _result(
        rule, provider_id, _outcome(compare(cv, rule)), cv, rule.threshold, window, evidence
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


def fin_transparency(
    rule: Rule,
    provider: Provider,
    lines: Iterable[InvoiceLine],
    converter: Converter,
    window: ReviewWindow,
) -> CriterionResult:
    """Share of the quarter's invoiced amount (absolute, converted) matched to price-list items."""
    own = _quarter_lines(provider.id, lines, window)
    bounds = (window.start, window.end)
    if not own:
        return _no_data(
            rule,
            provider.id,
            bounds,
            {"reason": f"no invoices from {provider.id} in {window.quarter}", "invoice_lines": 0},
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
        return _no_data(
            rule,
            provider.id,
            bounds,
            {"reason": "the invoiced amount is zero", "invoice_lines": len(own)},
        )
    share = matched_total / total
    return _result(
        rule,
        provider.id,
        _outcome(compare(share, rule)),
        share,
        rule.threshold,
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


def fin_hidden_fees(
    rule: Rule, provider: Provider, lines: Iterable[InvoiceLine], window: ReviewWindow
) -> CriterionResult:
    """Charges in the quarter's invoices that match no price-list item. Credits (negative
    amounts) outside the price list are listed but are not fees."""
    own = _quarter_lines(provider.id, lines, window)
    bounds = (window.start, window.end)
    if not own:
        return _no_data(
            rule,
            provider.id,
            bounds,
            {"reason": f"no invoices from {provider.id} in {window.quarter}", "invoice_lines": 0},
        )
    unmatched = [ln for ln in own if provider.match_line(ln.line_item) is None]
    fees = [ln for ln in unmatched if ln.amount > 0]
    credits = [ln for ln in unmatched if ln.amount <= 0]
    count = float(len(fees))
    return _result(
        rule,
        provider.id,
        _outcome(compare(count, rule)),
        count,
        rule.threshold,
        bounds,
        {
            "hidden_fees": [_line_record(ln) for ln in fees],
            "unlisted_credits": [_line_record(ln) for ln in credits],
            "invoice_lines": len(own),
            "price_list_items": [p.item for p in provider.price_list],
        },
    )


# --- technical ------------------------------------------------------------------------------


def tech_sla(
    rule: Rule,
    provider: Provider,
    probes: Sequence[ProbeCount],
    window: ReviewWindow,
    coverage_floor: float,
) -> CriterionResult:
    """Uptime = up-probes / probes received (a missing probe is not downtime), above 99.5%,
    and the contractual SLA above 99.5% too. Coverage below the floor: insufficient data."""
    bounds = (window.start, window.end)
    window_s = (window.end - window.start).total_seconds()
    window_min = window_s / 60
    threshold = rule.threshold
    allowed = window_min * (100 - threshold) / 100
    received = sum(p.received for p in probes)
    up = sum(p.up for p in probes)
    expected = sum(int(window_s // p.interval_s) for p in probes)
    evidence: dict[str, Any] = {
        "window_minutes": window_min,
        "allowed_downtime_min": round(allowed, 1),
        "allowed_downtime": _hm(allowed),
        "contractual_sla_pct": provider.sla_pct,
        "probes_received": received,
        "probes_up": up,
        "probes_down": received - up,
        "probes_expected": expected,
        "coverage_floor": coverage_floor,
        "series": [
            {
                "server": p.server,
                "endpoint": p.label,
                "received": p.received,
                "up": p.up,
                "interval_s": p.interval_s,
                "coverage": round(min(1.0, p.received / (window_s // p.interval_s)), 4)
                if window_s // p.interval_s
                else 0.0,
                "down_minutes": (p.received - p.up) * p.interval_s / 60,
            }
            for p in probes
        ],
        "missing_probe_rule": "a missing probe is not downtime: uptime = up / received",
    }
    if not probes or received == 0 or expected == 0:
        evidence["reason"] = f"no probe_up samples for {provider.id} in {window.quarter}"
        return _result(
            rule, provider.id, Outcome.INSUFFICIENT_DATA, None, threshold, bounds, evidence
        )
    coverage = min(1.0, received / expected)
    uptime = 100.0 * up / received
    downtime = window_min * (received - up) / received
    evidence.update(
        {
            "coverage": coverage,
            "uptime_pct": uptime,
            "downtime_min": round(downtime, 1),
            "downtime": _hm(downtime),
        }
    )
    if coverage < coverage_floor:
        evidence["reason"] = (
            f"probe coverage {coverage:.1%} is below the floor {coverage_floor:.0%}: the prober "
            "was down too often to measure the provider"
        )
        return _result(
            rule, provider.id, Outcome.INSUFFICIENT_DATA, uptime, threshold, bounds, evidence
        )
    if not compare(uptime, rule):
        evidence["reason"] = f"measured uptime {uptime:.3f}% is not above {threshold}%"
        return _result(rule, provider.id, Outcome.NOT_MET, uptime, threshold, bounds, evidence)
    if provider.sla_pct is None:
        evidence["reason"] = "measured uptime is good, but no contractual SLA is declared"
        return _result(
            rule, provider.id, Outcome.INSUFFICIENT_DATA, uptime, threshold, bounds, evidence
        )
    if not compare(provider.sla_pct, rule):
        evidence["reason"] = f"the contract only promises {provider.sla_pct}%"
        return _result(rule, provider.id, Outcome.NOT_MET, uptime, threshold, bounds, evidence)
    return _result(rule, provider.id, Outcome.MET, uptime, threshold, bounds, evidence)


def _hm(minutes: float) -> str:
    whole = int(round(minutes))
    return f"{whole // 60} h {whole % 60} min"


def tech_modern(rule: Rule, provider: Provider, window: ReviewWindow) -> CriterionResult:
    """Share of the checklist the provider supports. Undeclared items are unknown: decided
    only when they cannot change the outcome."""
    checklist = [str(x) for x in rule.params.get("checklist", [])]
    bounds = (window.start, window.end)
    has = [t for t in checklist if provider.technologies.get(t) is True]
    lacks = [t for t in checklist if provider.technologies.get(t) is False]
    unknown = [t for t in checklist if t not in provider.technologies]
    n = len(checklist) or 1
    share = len(has) / n
    best = (len(has) + len(unknown)) / n
    evidence = {"checklist": checklist, "has": has, "lacks": lacks, "unknown": unknown}
    if compare(share, rule):
        outcome = Outcome.MET
    elif not compare(best, rule):
        outcome = Outcome.NOT_MET
    else:
        outcome = Outcome.INSUFFICIENT_DATA
        evidence["reason"] = f"undeclared checklist item(s) {unknown} decide the outcome"
    return _result(rule, provider.id, outcome, share, rule.threshold, bounds, evidence)


def _nearest_rank(sorted_values: Sequence[float], pct: float) -> float:
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def tech_support(
    rule: Rule, provider_id: str, tickets: Iterable[Ticket], window: ReviewWindow
) -> CriterionResult:
    """Median first response (hours) of tickets opened in the quarter, at most 4 h.

    A ticket still unanswered at the window's end counts as slower than any answer once it
    has waited longer than the threshold; one opened too recently to judge is left out.
    """
    bounds = (window.start, window.end)
    threshold_h = rule.threshold
    own = [
        t for t in tickets if t.provider == provider_id and window.start <= t.opened_at < window.end
    ]
    hours: list[float] = []
    not_due = 0
    unanswered = 0
    for t in own:
        if t.first_response_at is not None:
            hours.append((t.first_response_at - t.opened_at).total_seconds() / 3600)
        elif window.end - t.opened_at > timedelta(hours=threshold_h):
            hours.append(math.inf)
            unanswered += 1
        else:
            not_due += 1
    evidence: dict[str, Any] = {
        "tickets_opened": len(own),
        "tickets_measured": len(hours),
        "unanswered_overdue": unanswered,
        "unanswered_not_yet_due": not_due,
    }
    if not hours:
        evidence["reason"] = f"no support tickets from {provider_id} in {window.quarter}"
        return _result(
            rule, provider_id, Outcome.INSUFFICIENT_DATA, None, threshold_h, bounds, evidence
        )
    ordered = sorted(hours)
    median = statistics.median(ordered)
    p90 = _nearest_rank(ordered, 90)
    resolved = [
        (t.resolved_at - t.opened_at).total_seconds() / 3600
        for t in own
        if t.resolved_at is not None
    ]
    evidence.update(
        {
            "median_first_response_h": median if math.isfinite(median) else None,
            "p90_first_response_h": p90 if math.isfinite(p90) else None,
            "p90_method": "nearest rank",
            "median_resolution_h": statistics.median(resolved) if resolved else None,
        }
    )
    return _result(
        rule, provider_id, _outcome(compare(median, rule)), median, threshold_h, bounds, evidence
    )


def tech_automation(rule: Rule, provider: Provider, window: ReviewWindow) -> CriterionResult:
    """An API and a Terraform provider (criteria.yaml ``requires``) both exist."""
    required = [str(x) for x in rule.params.get("requires", [])]
    bounds = (window.start, window.end)
    has = [r for r in required if provider.automation.get(r) is True]
    lacks = [r for r in required if provider.automation.get(r) is False]
    unknown = [r for r in required if r not in provider.automation]
    evidence = {"requires": required, "has": has, "lacks": lacks, "unknown": unknown}
    if lacks:
        outcome = Outcome.NOT_MET
    elif unknown:
        outcome = Outcome.INSUFFICIENT_DATA
        evidence["reason"] = f"not declared: {unknown}"
    else:
        outcome = Outcome.MET
    observed = len(has) / len(required) if required else 1.0
    return _result(rule, provider.id, outcome, observed, 1.0, bounds, evidence)


# --- strategic ------------------------------------------------------------------------------


def strat_jurisdiction(
    rule: Rule, provider: Provider, requirements: Requirements, window: ReviewWindow
) -> CriterionResult:
    """Data centres in every jurisdiction the team requires (for example KZ for personal data)."""
    bounds = (window.start, window.end)
    required = list(requirements.jurisdictions)
    evidence: dict[str, Any] = {
        "required": required,
        "provider_jurisdictions": provider.jurisdictions,
    }
    if provider.jurisdictions is None:
        evidence["reason"] = "the provider's data-centre jurisdictions are not declared"
        return _result(rule, provider.id, Outcome.INSUFFICIENT_DATA, None, 1.0, bounds, evidence)
    missing = [j for j in required if j not in provider.jurisdictions]
    evidence["missing"] = missing
    covered = (len(required) - len(missing)) / len(required) if required else 1.0
    return _result(rule, provider.id, _outcome(not missing), covered, 1.0, bounds, evidence)


@dataclass(frozen=True)
class _ScorePick:
    evidence: dict[str, Any] = field(default_factory=dict)
    score: float | None = None
    usable: bool = False


def _pick_score(provider: Provider, key: str, rule: Rule, window: ReviewWindow) -> _ScorePick:
    """The latest score dated before the window's end, usable if at most ``max_age_days`` old."""
    max_age = int(rule.params.get("max_age_days", 365))
    as_of = window.end.date()
    scores = provider.scores.get(key, ())
    known = sorted((s for s in scores if s.date < as_of), key=lambda s: s.date)
    later = [s for s in scores if s.date >= as_of]
    evidence: dict[str, Any] = {"max_age_days": max_age, "as_of": as_of.isoformat()}
    if later:
        evidence["ignored_later_scores"] = [
            {"score": s.score, "source": s.source, "date": s.date.isoformat()} for s in later
        ]
    if not known:
        evidence["reason"] = f"no {key} score dated before {as_of}"
        return _ScorePick(evidence)
    latest = known[-1]
    age = (as_of - latest.date).days
    evidence.update(
        {
            "score": latest.score,
            "source": latest.source,
            "date": latest.date.isoformat(),
            "age_days": age,
        }
    )
    if age > max_age:
        evidence["reason"] = f"the {key} score is {age} days old, older than {max_age} days"
        return _ScorePick(evidence, latest.score)
    return _ScorePick(evidence, latest.score, True)


def strat_score(rule: Rule, provider: Provider, key: str, window: ReviewWindow) -> CriterionResult:
    """A reviewer score (reputation, roadmap) of at least 3 of 5, with its source and age."""
    bounds = (window.start, window.end)
    pick = _pick_score(provider, key, rule, window)
    if not pick.usable:
        return _result(
            rule,
            provider.id,
            Outcome.INSUFFICIENT_DATA,
            pick.score,
            rule.threshold,
            bounds,
            pick.evidence,
        )
    return _result(
        rule,
        provider.id,
        _outcome(compare(pick.score, rule)),
        pick.score,
        rule.threshold,
        bounds,
        pick.evidence,
    )


def strat_stability(rule: Rule, provider: Provider, window: ReviewWindow) -> CriterionResult:
    """Years in business (at least ``min_years_in_business``) and a stability score of 3+."""
    bounds = (window.start, window.end)
    min_years = int(rule.params.get("min_years_in_business", 5))
    pick = _pick_score(provider, "stability", rule, window)
    evidence = dict(pick.evidence)
    evidence.update({"founded": provider.founded, "min_years_in_business": min_years})
    years = window.end.date().year - provider.founded if provider.founded is not None else None
    evidence["years_in_business"] = years
    if years is not None and years < min_years:
        evidence["reason"] = f"{years} years in business, fewer than {min_years}"
        return _result(
            rule, provider.id, Outcome.NOT_MET, pick.score, rule.threshold, bounds, evidence
        )
    if years is None:
        evidence["reason"] = "founding year not declared"
        return _result(
            rule,
            provider.id,
            Outcome.INSUFFICIENT_DATA,
            pick.score,
            rule.threshold,
            bounds,
            evidence,
        )
    if not pick.usable:
        return _result(
            rule,
            provider.id,
            Outcome.INSUFFICIENT_DATA,
            pick.score,
            rule.threshold,
            bounds,
            evidence,
        )
    return _result(
        rule,
        provider.id,
        _outcome(compare(pick.score, rule)),
        pick.score,
        rule.threshold,
        bounds,
        evidence,
    )

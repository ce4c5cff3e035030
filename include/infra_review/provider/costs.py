"""What hosting costs: a provider's invoiced cost over the look-back months, and the
projected annual TCO of hosting the current fleet at an alternative from its price list.
Both in the reporting currency, remembering every rate they used (for the evidence)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from infra_review.provider.inputs import InvoiceLine
from infra_review.provider.model import Provider, Requirements
from infra_review.provider.money import Converter
from infra_review.provider.reconcile import Reconciled


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


def compare_fleet(
    provider: Provider,
    reconciled: Sequence[Reconciled],
    fleet_servers: Sequence[str],
    months: Sequence[date],
    requirements: Requirements,
    usage_tolerance_pct: float,
) -> dict[str, Any]:
    """Like with like (issue 14): the current provider's invoiced plans in the quarter
    against fleet.yaml (the servers each alternative is priced for), and the invoiced
    traffic and storage against ``requirements.usage`` (what alternatives are priced for).

    ``matches`` is False when a server is invoiced but not listed, listed but not invoiced,
    or a month bills more or fewer plans than fleet.yaml lists."""
    listed = sorted(fleet_servers)
    per_month: dict[str, dict[str, Any]] = {}
    not_listed: set[str] = set()
    not_invoiced: set[str] = set()
    counts_differ: list[str] = []
    traffic: dict[date, float] = defaultdict(float)
    storage: dict[date, float] = defaultdict(float)
    invoiced_months = sorted({r.line.month for r in reconciled if r.line.month in set(months)})
    for month in invoiced_months:
        plans = [
            r for r in reconciled if r.line.month == month and r.item and r.item.kind == "plan"
        ]
        named = sorted({s for r in plans if (s := provider.server_of(r.line.line_item))})
        unnamed = sum(1 for r in plans if not provider.server_of(r.line.line_item))
        per_month[f"{month:%Y-%m}"] = {
            "invoiced_servers": named,
            "plan_lines": len(plans),
            "plan_lines_without_server": unnamed,
        }
        not_listed |= {s for s in named if s not in listed}
        if not unnamed:
            not_invoiced |= {s for s in listed if s not in named}
        elif len(plans) != len(listed):
            counts_differ.append(f"{month:%Y-%m}")
        for r in reconciled:
            if r.line.month != month or r.item is None or r.quantity is None:
                continue
            if r.item.kind == "plan":
                traffic[month] += r.item.included_traffic_tb * r.quantity
            elif r.item.kind == "traffic":
                traffic[month] += r.quantity
            elif r.item.kind == "storage":
                storage[month] += r.quantity
    usage: dict[str, Any] = {}
    differs = []
    for key, priced, by_month in (
        ("traffic_tb_per_month", requirements.traffic_tb_per_month, traffic),
        ("storage_gb", requirements.storage_gb, storage),
    ):
        invoiced = sum(by_month.values()) / len(invoiced_months) if invoiced_months else None
        diff = None
        if invoiced is not None and priced:
            diff = 100 * (invoiced - priced) / priced
        elif invoiced:
            diff = 100.0
        usage[key] = {
            "priced_for_alternatives": priced,
            "invoiced_mean": None if invoiced is None else round(invoiced, 3),
            "difference_pct": None if diff is None else round(diff, 1),
        }
        if diff is not None and abs(diff) > usage_tolerance_pct:
            differs.append(key)
    return {
        "provider": provider.id,
        "fleet_yaml_servers": listed,
        "months": per_month,
        "invoiced_not_listed": sorted(not_listed),
        "listed_not_invoiced": sorted(not_invoiced),
        "plan_count_differs": counts_differ,
        "matches": not (not_listed or not_invoiced or counts_differ) and bool(invoiced_months),
        "usage": usage,
        "usage_tolerance_pct": usage_tolerance_pct,
        "usage_differs": differs,
    }

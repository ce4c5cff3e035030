"""The pure part of sizing: what a server needs (the basis, projected to the end of the next
quarter) and the smallest plan of the provider that holds it, with its monthly price in the
reporting currency. No texts and no records: ``sizing`` builds those from these numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from infra_review.capacity.criteria.server_limit import UpgradeLimit
from infra_review.criteria.registry import registered

ACTION_RESOURCE = {"upgrade_ram": "ram", "upgrade_cpu": "cpu"}
SIZED_ACTIONS = ("upgrade_ram", "upgrade_cpu", "add_server")


@dataclass(frozen=True)
class Resource:
    name: str  # ram | cpu
    size_key: str  # key of the installed size in fleet.yaml and the plan tables
    unit: str
    unit_ru: str
    metric: str
    label: str

    @property
    def sustained(self) -> str:
        """The criterion of its group whose qualifying runs' peak is the basis
        (``Criterion.sizing_basis``)."""
        return next(c.id for c in registered().values() if c.group == self.name and c.sizing_basis)


RESOURCES = {
    "ram": Resource("ram", "ram_gb", "GB", "ГБ", "ram_used_pct", "RAM"),
    "cpu": Resource("cpu", "cpu_cores", "cores", "ядер", "cpu_used_pct", "CPU"),
}
_EPS_DIGITS = 6


# --- basis ------------------------------------------------------------------------------------


def _run_peaks(evidence: dict[str, Any]) -> list[float]:
    runs = list(evidence.get("qualifying_runs") or [])
    for part in evidence.get("series") or []:
        runs.extend(part.get("qualifying_runs") or [])
    return [float(r["peak"]) for r in runs if r.get("peak") is not None]


def basis(resource: Resource, met: list[dict[str, Any]], stats: dict[str, Any]) -> dict[str, Any]:
    """The % of the installed size to size from, and which criterion and statistic gave it.

    ``met``: the met criterion results of the resource's group (``CriterionResult.to_record``
    dicts); ``stats``: the server's ``fleet_stats`` (p95 %, trend slope, planned)."""
    part = stats.get(resource.name) or {}
    candidates: list[tuple[float, str, str]] = []
    basis_id = resource.sustained
    for r in met:
        peaks = _run_peaks(r.get("evidence") or {}) if r["criterion_id"] == basis_id else []
        if peaks:
            candidates.append((max(peaks), r["criterion_id"], "peak of the qualifying runs"))
        elif part.get("p95_pct") is not None:
            candidates.append((float(part["p95_pct"]), r["criterion_id"], "p95 of the quarter"))
    if not candidates and part.get("p95_pct") is not None:
        candidates.append((float(part["p95_pct"]), "", "p95 of the quarter"))
    if not candidates:
        return {}
    value, criterion, statistic = max(candidates, key=lambda c: c[0])
    return {"value_pct": value, "criterion_id": criterion, "statistic": statistic}


def projected_use(
    resource: Resource, stats: dict[str, Any], base: dict[str, Any], days_ahead: float
) -> dict[str, Any] | None:
    """Use (GB or cores) expected at the end of the next quarter, with how it was reached."""
    installed = stats.get(resource.size_key)
    if installed is None or not base:
        return None
    slope = (stats.get(resource.name) or {}).get("trend_slope_per_day")
    growth = max(0.0, float(slope or 0.0)) * days_ahead
    pct = base["value_pct"] + growth
    planned = float((stats.get("planned") or {}).get(resource.size_key) or 0.0)
    return {
        **base,
        "trend_slope_pct_per_day": slope,
        "days_ahead": days_ahead,
        "projected_pct": round(pct, 3),
        "planned": planned,
        "use": pct / 100 * float(installed) + planned,
    }


# --- plans and prices -------------------------------------------------------------------------


def _holds(plan: dict[str, Any], needs: dict[str, float]) -> bool:
    return all(round(n, _EPS_DIGITS) <= float(plan[k]) for k, n in needs.items())


def smallest_plan(
    plans: list[dict[str, Any]], needs: dict[str, float], first: str
) -> dict[str, Any] | None:
    """The smallest plan (by ``first`` size, then the other, then price) holding every need."""
    other = next(k for k in ("ram_gb", "cpu_cores") if k != first)

    def key(p: dict[str, Any]) -> tuple:
        price = p.get("price")
        return (float(p[first]), float(p[other]), float("inf") if price is None else price)

    fitting = sorted((p for p in plans if _holds(p, needs)), key=key)
    return fitting[0] if fitting else None


def monthly_price(
    provider: str | None, plan: str | None, book: dict[str, Any]
) -> tuple[float | None, str | None]:
    """A plan's monthly price in the reporting currency, or None and why not."""
    prices = ((book.get("providers") or {}).get(provider or "") or {}).get("prices") or {}
    item = prices.get(plan or "")
    if item is None or item.get("price") is None:
        return None, f"no price for plan {plan!r} of {provider} in providers.yaml"
    currency = item.get("currency") or book.get("reporting_currency")
    if currency == book.get("reporting_currency"):
        return float(item["price"]), None
    rate = (book.get("rates") or {}).get(currency)
    if rate is None:
        return None, (
            f"no rate from {currency} to {book.get('reporting_currency')} for "
            f"{book.get('rate_month', '?')} (infra-review import rates)"
        )
    return float(item["price"]) * float(rate), None


def cost_change(
    provider: str | None, new: str, old: str | None, book: dict[str, Any]
) -> tuple[float | None, str | None]:
    """Monthly price of ``new`` minus that of ``old`` (None: a new server), or why unknown."""
    new_price, why = monthly_price(provider, new, book)
    if why:
        return None, why
    if old is None:
        return round(new_price, 2), None
    old_price, why = monthly_price(provider, old, book)
    if why:
        return None, f"current plan: {why}"
    return round(new_price - old_price, 2), None


def target_utilisation(rules: dict[str, Any], defaults: dict[str, Any]) -> float:
    """criteria.yaml ``server.upgrade_limit.target_utilisation`` (the same target as the
    fleet's upgrade limit), else ``defaults.target_utilisation``, else 0.8."""
    rule = rules.get(UpgradeLimit.id)
    params = getattr(rule, "params", None) or {}
    return float(params.get("target_utilisation", defaults.get("target_utilisation", 0.8)))


def days_to_next_quarter_end(quarter) -> float:
    """Days from the reviewed quarter's end to the end of the next quarter."""
    return (quarter.next().end - quarter.end).total_seconds() / 86400

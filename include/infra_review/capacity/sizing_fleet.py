"""Sizing of the fleet's actions, not one server's: ``add_server`` (the new server that takes
the load the current servers cannot hold) and a provider move (``migrate`` /
``evaluate_migration``: the yearly cost difference)."""

from __future__ import annotations

from typing import Any

from infra_review.capacity.sizing_need import (
    RESOURCES,
    basis,
    cost_change,
    projected_use,
    smallest_plan,
)
from infra_review.capacity.sizing_texts import money, texts, texts_unsized


def size_new_server(
    servers: list[dict[str, Any]],
    book: dict[str, Any],
    *,
    target: float,
    days_ahead: float,
    provider: str | None = None,
) -> list[dict[str, Any]]:
    """``add_server``: the new server takes the load the current servers cannot hold at the
    target utilisation (the sum over servers of projected use / target - installed, where
    positive), sized from each server's p95 and trend; with no such load (a region or an
    isolation requirement) it is the provider's smallest plan. One entry per resource,
    ``current`` and ``recommended`` being the fleet's totals before and after."""
    provider = provider or book.get("current_provider")
    plans = ((book.get("providers") or {}).get(provider or "") or {}).get("plans") or []
    shortfall: dict[str, float] = {}
    moved: dict[str, float] = {}
    installed: dict[str, float] = {}
    lacking: list[str] = []
    for res in RESOURCES.values():
        shortfall[res.size_key] = moved[res.size_key] = installed[res.size_key] = 0.0
        for s in servers:
            proj = projected_use(res, s, basis(res, [], s), days_ahead)
            if proj is None or s.get(res.size_key) is None:
                lacking.append(f"{s.get('server')}: {res.metric} or {res.size_key}")
                continue
            size = float(s[res.size_key])
            installed[res.size_key] += size
            extra = proj["use"] / target - size
            if extra > 0:
                shortfall[res.size_key] += extra
                moved[res.size_key] += proj["use"] - target * size
    common = {
        "action": "add_server",
        "subject": "fleet",
        "provider": provider,
        "target_utilisation": target,
        "currency": book.get("reporting_currency"),
        "servers": [s.get("server") for s in servers],
        "lacking": lacking,
    }
    by_load = any(v > 0 for v in shortfall.values())
    plan = (
        smallest_plan(plans, shortfall, "ram_gb")
        if by_load
        else min(plans, key=lambda p: (p["ram_gb"], p["cpu_cores"]), default=None)
    )
    change, why = cost_change(provider, plan["plan"], None, book) if plan else (None, None)
    out = []
    for res in RESOURCES.values():
        k = res.size_key
        entry = {
            **common,
            "resource": res.name,
            "unit": res.unit,
            "current": round(installed[k], 3),
            "needed": round(shortfall[k], 3),
            "sized_by": "load" if by_load else "requirement",
        }
        if not plans:
            why_u = f"no plan sizes known for provider {provider!r} (upgrade_limits.yaml)"
            entry.update({"status": "unsized", "reason": why_u, **texts_unsized(entry, why_u)})
        elif plan is None:
            largest = max(plans, key=lambda p: (float(p[k]), float(p["cpu_cores"])))
            entry.update(
                {
                    "status": "no_plan",
                    "recommended": None,
                    "plan": None,
                    "largest_plan": largest["plan"],
                    "largest_size": float(largest[k]),
                    "see": "add_server",
                }
            )
            entry.update(texts(entry))
        else:
            entry.update(
                {
                    "status": "sized",
                    "recommended": round(installed[k] + float(plan[k]), 3),
                    "new_server_size": float(plan[k]),
                    "plan": plan["plan"],
                    "plan_size": {"ram_gb": plan["ram_gb"], "cpu_cores": plan["cpu_cores"]},
                    "monthly_cost_change": change,
                    "cost_note": why,
                    "projected_utilisation": round(moved[k] / float(plan[k]), 4),
                }
            )
            entry.update(texts(entry))
        out.append(entry)
    return out


def size_provider_move(
    scorecards: list[dict[str, Any]],
    current: str,
    chosen: str | None,
    decision: str,
    currency: str | None,
) -> list[dict[str, Any]]:
    """``migrate`` / ``evaluate_migration``: the yearly cost difference between the chosen
    provider's projected annual TCO and the current provider's actual annual cost (both from
    the provider review's scorecards, in the reporting currency). Empty for ``stay``."""
    if decision not in ("migrate", "evaluate_migration") or not chosen:
        return []
    annual = {c.get("provider"): c.get("annual_cost") for c in scorecards}
    cur, new = annual.get(current), annual.get(chosen)
    unit = f"{currency}/year"
    entry: dict[str, Any] = {
        "action": decision,
        "subject": current,
        "resource": "hosting",
        "unit": unit,
        "current": cur,
        "recommended": new,
        "provider": chosen,
        "current_plan": current,
        "plan": chosen,
        "currency": currency,
        "projected_utilisation": None,
    }
    if cur is None or new is None:
        missing = current if cur is None else chosen
        why = f"no annual cost of {missing} in the scorecards"
        entry.update({"status": "unsized", "reason": why, "monthly_cost_change": None})
        return [
            {
                **entry,
                "text_en": f"Yearly cost change {current} -> {chosen} unknown ({why})",
                "text_ru": f"Изменение годовой стоимости {current} -> {chosen} неизвестно ({why})",
            }
        ]
    diff = float(new) - float(cur)
    entry.update(
        {
            "status": "sized",
            "yearly_cost_change": round(diff, 2),
            "monthly_cost_change": round(diff / 12, 2),
        }
    )
    yearly = money(diff, currency)
    before, after = money(cur, currency, signed=False), money(new, currency, signed=False)
    return [
        {
            **entry,
            "text_en": f"Yearly cost change {current} -> {chosen}: {yearly} "
            f"({before} -> {after} a year)",
            "text_ru": f"Изменение годовой стоимости {current} -> {chosen}: {yearly} "
            f"({before} -> {after} в год)",
        }
    ]

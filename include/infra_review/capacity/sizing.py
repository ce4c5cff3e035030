"""How big an action is: the RAM (GB) or cores an ``upgrade_*`` needs, the smallest plan of
the server's provider that holds it, the monthly cost change and the utilisation after it;
for ``add_server`` the same for the new server. Pure: the caller passes the numbers the
review measured and the price book (``sizing_inputs.price_book``), so a stored review sizes
the same way when it is recomputed.

The rule (DESIGN.md, "An action names its size"):

* basis: the quantity the met criterion judges, as % of the installed size: the peak of the
  qualifying runs for a sustained criterion, the p95 of the quarter otherwise (the largest
  when several criteria of the group are met);
* projected to the end of the next quarter by the trend of the daily p95 (a falling trend
  does not shrink it below what was measured), plus the planned services' RAM or cores;
* need = projected use / the target utilisation (criteria.yaml ``server.upgrade_limit``);
* plan: the smallest plan of the provider with at least the need (compared to 6 decimals,
  so a need of exactly a plan's size fits it) and no less of the other resource than now;
* cost change: new plan price - current plan price, each converted to the reporting
  currency; an unknown price or a currency without a rate leaves it unknown, and says why.
"""

from __future__ import annotations

from typing import Any

from infra_review.capacity.sizing_fleet import size_new_server, size_provider_move
from infra_review.capacity.sizing_need import (
    ACTION_RESOURCE,
    RESOURCES,
    SIZED_ACTIONS,
    Resource,
    basis,
    cost_change,
    days_to_next_quarter_end,
    monthly_price,
    projected_use,
    smallest_plan,
    target_utilisation,
)
from infra_review.capacity.sizing_texts import money, texts, texts_unsized

# The names callers import from here; they live in sizing_need (numbers), sizing_texts
# (sentences) and sizing_fleet (add_server, provider move).
__all__ = [
    "ACTION_RESOURCE",
    "RESOURCES",
    "SIZED_ACTIONS",
    "Resource",
    "basis",
    "cost_change",
    "days_to_next_quarter_end",
    "money",
    "monthly_price",
    "projected_use",
    "size_actions",
    "size_new_server",
    "size_provider_move",
    "size_upgrade",
    "smallest_plan",
    "target_utilisation",
]


def size_upgrade(
    action: str,
    stats: dict[str, Any],
    met: dict[str, list[dict[str, Any]]],
    book: dict[str, Any],
    *,
    target: float,
    days_ahead: float,
    actions: list[str] | None = None,
) -> dict[str, Any]:
    """The recommendation for one ``upgrade_ram`` / ``upgrade_cpu`` of one server.

    ``met``: met criterion records by group (ram, cpu); ``actions``: every action of the
    server, so that a server upgraded in both gets one plan that holds both needs."""
    resource = RESOURCES[ACTION_RESOURCE[action]]
    server = stats.get("server")
    provider = stats.get("provider")
    plans = ((book.get("providers") or {}).get(provider or "") or {}).get("plans") or []
    current = stats.get(resource.size_key)
    out: dict[str, Any] = {
        "action": action,
        "subject": server,
        "resource": resource.name,
        "unit": resource.unit,
        "current": current,
        "provider": provider,
        "current_plan": stats.get("plan"),
        "target_utilisation": target,
        "currency": book.get("reporting_currency"),
    }
    needs: dict[str, float] = {}
    mine: dict[str, Any] | None = None
    for name in [ACTION_RESOURCE[a] for a in (actions or [action]) if a in ACTION_RESOURCE]:
        res = RESOURCES[name]
        proj = projected_use(res, stats, basis(res, met.get(name, []), stats), days_ahead)
        if proj is None:
            continue
        needs[res.size_key] = proj["use"] / target
        if name == resource.name:
            mine = proj
    if mine is None or current is None:
        why = (
            f"installed {resource.label} unknown (fleet.yaml {resource.size_key})"
            if current is None
            else f"no {resource.metric} p95 to size from"
        )
        return {**out, "status": "unsized", "reason": why, **texts_unsized(out, why)}
    for key in ("ram_gb", "cpu_cores"):  # never less of the other resource than now
        if key not in needs and stats.get(key) is not None:
            needs[key] = float(stats[key])
    need = needs[resource.size_key]
    out.update(
        {
            "basis": {k: v for k, v in mine.items() if k != "use"},
            "projected_use": round(mine["use"], 3),
            "needed": round(need, 3),
            "current_projected_utilisation": round(mine["use"] / float(current), 4),
            "needs": {k: round(v, 3) for k, v in needs.items()},
        }
    )
    if not plans:
        why = f"no plan sizes known for provider {provider!r} (upgrade_limits.yaml)"
        return {**out, "status": "unsized", "reason": why, **texts_unsized(out, why)}
    plan = smallest_plan(plans, needs, resource.size_key)
    if plan is None:
        largest = max(plans, key=lambda p: (float(p[resource.size_key]), float(p["cpu_cores"])))
        out.update(
            {
                "status": "no_plan",
                "recommended": None,
                "plan": None,
                "largest_plan": largest["plan"],
                "largest_size": float(largest[resource.size_key]),
                "see": "add_server",
            }
        )
        return {**out, **texts(out)}
    if stats.get("plan"):
        change, why = cost_change(provider, plan["plan"], stats["plan"], book)
    else:
        change, why = None, "current plan unknown (fleet.yaml plan)"
    out.update(
        {
            "status": "sized",
            "recommended": float(plan[resource.size_key]),
            "plan": plan["plan"],
            "plan_size": {"ram_gb": plan["ram_gb"], "cpu_cores": plan["cpu_cores"]},
            "monthly_cost_change": change,
            "cost_note": why,
            "projected_utilisation": round(mine["use"] / float(plan[resource.size_key]), 4),
        }
    )
    return {**out, **texts(out)}


def size_actions(
    actions: list[str],
    stats: dict[str, Any],
    met: dict[str, list[dict[str, Any]]],
    book: dict[str, Any],
    *,
    target: float,
    days_ahead: float,
) -> list[dict[str, Any]]:
    """One recommendation per ``upgrade_*`` action of a server, RAM first (as decided)."""
    return [
        size_upgrade(a, stats, met, book, target=target, days_ahead=days_ahead, actions=actions)
        for a in actions
        if a in ACTION_RESOURCE
    ]

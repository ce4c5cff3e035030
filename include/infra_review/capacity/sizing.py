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

from dataclasses import dataclass
from typing import Any

from infra_review import russian as rus

ACTION_RESOURCE = {"upgrade_ram": "ram", "upgrade_cpu": "cpu"}
SIZED_ACTIONS = ("upgrade_ram", "upgrade_cpu", "add_server")


@dataclass(frozen=True)
class Resource:
    name: str  # ram | cpu
    size_key: str  # key of the installed size in fleet.yaml and the plan tables
    unit: str
    unit_ru: str
    metric: str
    sustained: str  # the sustained criterion whose run peak is the basis
    label: str


RESOURCES = {
    "ram": Resource("ram", "ram_gb", "GB", "ГБ", "ram_used_pct", "ram.sustained", "RAM"),
    "cpu": Resource("cpu", "cpu_cores", "cores", "ядер", "cpu_used_pct", "cpu.sustained", "CPU"),
}
_EPS_DIGITS = 6


def _num(x: float | None) -> str:
    return "?" if x is None else str(int(x)) if float(x).is_integer() else f"{x:.1f}"


def money(amount: float | None, currency: str | None, signed: bool = True) -> str:
    """``+30 000 KZT`` (a space between thousands, as in both languages' reports)."""
    if amount is None:
        return "unknown"
    text = f"{amount:+,.0f}" if signed else f"{amount:,.0f}"
    return f"{text.replace(',', ' ')} {currency or ''}".strip()


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
    for r in met:
        peaks = (
            _run_peaks(r.get("evidence") or {}) if r["criterion_id"] == resource.sustained else []
        )
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


# --- one server -------------------------------------------------------------------------------


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
        return {**out, "status": "unsized", "reason": why, **_texts_unsized(out, why)}
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
        return {**out, "status": "unsized", "reason": why, **_texts_unsized(out, why)}
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
        return {**out, **_texts(out)}
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
    return {**out, **_texts(out)}


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


def target_utilisation(rules: dict[str, Any], defaults: dict[str, Any]) -> float:
    """criteria.yaml ``server.upgrade_limit.target_utilisation`` (the same target as the
    fleet's upgrade limit), else ``defaults.target_utilisation``, else 0.8."""
    rule = rules.get("server.upgrade_limit")
    params = getattr(rule, "params", None) or {}
    return float(params.get("target_utilisation", defaults.get("target_utilisation", 0.8)))


def days_to_next_quarter_end(quarter) -> float:
    """Days from the reviewed quarter's end to the end of the next quarter."""
    return (quarter.next().end - quarter.end).total_seconds() / 86400


# --- a new server -----------------------------------------------------------------------------


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
            entry.update({"status": "unsized", "reason": why_u, **_texts_unsized(entry, why_u)})
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
            entry.update(_texts(entry))
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
            entry.update(_texts(entry))
        out.append(entry)
    return out


# --- texts ------------------------------------------------------------------------------------


def _texts_unsized(rec: dict[str, Any], why: str) -> dict[str, str]:
    res = RESOURCES[rec["resource"]]
    return {
        "text_en": f"{res.label}: not sized ({why})",
        "text_ru": f"{res.label}: размер не определён ({why})",
    }


def _texts(rec: dict[str, Any]) -> dict[str, str]:
    """``RAM 16 -> 32 GB (plan vps-32g, +30 000 KZT/month; projected 42% used)``."""
    res = RESOURCES[rec["resource"]]
    cur, unit, unit_ru = _num(rec.get("current")), res.unit, res.unit_ru
    need = _num(rec.get("needed"))
    cur_ru, need_ru = rus.number(rec.get("current")), rus.number(rec.get("needed"))
    if rec["status"] == "no_plan":
        return {
            "text_en": (
                f"{res.label} {cur} -> {need} {unit} needed: no plan of {rec['provider']} holds "
                f"it (largest {rec['largest_plan']}: {_num(rec['largest_size'])} {unit}); "
                "see add_server"
            ),
            "text_ru": (
                f"{res.label} {cur_ru} -> нужно {need_ru} {unit_ru}: ни один тариф {rec['provider']} "
                f"не вмещает (крупнейший {rec['largest_plan']}: {rus.number(rec['largest_size'])} "
                f"{unit_ru}); см. add_server"
            ),
        }
    cost = rec.get("monthly_cost_change")
    cost_en = (
        f"{money(cost, rec['currency'])}/month"
        if cost is not None
        else f"cost change unknown: {rec.get('cost_note')}"
    )
    cost_ru = (
        f"{money(cost, rec['currency'])}/мес."
        if cost is not None
        else f"изменение стоимости неизвестно: {rec.get('cost_note')}"
    )
    util = rec.get("projected_utilisation")
    util_en = f"projected {util:.0%} used" if util is not None else ""
    util_ru = f"прогноз загрузки {rus.percent(util, 0)}" if util is not None else ""
    rec_num = _num(rec.get("recommended"))
    rec_ru = rus.number(rec.get("recommended"))
    if rec["action"] == "add_server":
        return {
            "text_en": (
                f"fleet {res.label} {cur} -> {rec_num} {unit} (new server {rec['plan']}, "
                f"{_num(rec['new_server_size'])} {unit}; {cost_en}; {util_en})"
            ),
            "text_ru": (
                f"парк {res.label} {cur_ru} -> {rec_ru} {unit_ru} (новый сервер {rec['plan']}, "
                f"{rus.number(rec['new_server_size'])} {unit_ru}; {cost_ru}; {util_ru})"
            ),
        }
    return {
        "text_en": (
            f"{res.label} {cur} -> {rec_num} {unit} (needs {need}; plan {rec['plan']}; "
            f"{cost_en}; {util_en})"
        ),
        "text_ru": (
            f"{res.label} {cur_ru} -> {rec_ru} {unit_ru} (нужно {need_ru}; тариф {rec['plan']}; "
            f"{cost_ru}; {util_ru})"
        ),
    }


# --- a provider move --------------------------------------------------------------------------


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

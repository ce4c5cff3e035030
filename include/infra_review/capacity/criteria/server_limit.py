"""server.upgrade_limit (seed 02.04.04): a server's projected need above the largest plan its
provider offers. Pure, over ``capacity.trends.fleet_stats`` and the providers' plan sizes (in
its own module; the other fleet criteria and ``FleetInputs`` are in ``server.py``)."""

from __future__ import annotations

from typing import Any

from infra_review import russian as rus
from infra_review.capacity.criteria.common import FleetCriterion, param
from infra_review.capacity.criteria.evidence import Insufficient, UpgradeLimitEvidence
from infra_review.capacity.criteria.server import (
    FleetInputs,
    current_servers,
    fleet_result,
    unlisted_servers,
)
from infra_review.criteria.registry import Param, register
from infra_review.criteria.result import CriterionResult, Outcome
from infra_review.criteria.rules import Rule
from infra_review.timeseries.runs import compare_scalar


def upgrade_limit(rule: Rule, fin: FleetInputs, defaults: dict[str, Any]) -> CriterionResult:
    """Projected need of a server above the largest plan its provider offers.

    Need = (projected p95 in use + planned services) / target utilisation, for RAM (GB) and
    CPU (cores); the projection is the larger of this quarter's p95 and its linear trend at
    the end of the forecast horizon. Observed is the best plan's ratio need/plan (the larger
    of RAM and CPU): above 1.0, no plan of the provider holds the server.
    """
    threshold = float(rule.params.get("threshold", 1.0))
    target = float(param(rule, "target_utilisation", defaults, 0.8))
    per_server = []
    met, sound, lacking = [], [], []
    for s in current_servers(fin):
        entry: dict[str, Any] = {
            "server": s["server"],
            "provider": s.get("provider"),
            "plan": s.get("plan"),
        }
        per_server.append(entry)
        reasons, kind = [], None
        ram, cpu = s.get("ram") or {}, s.get("cpu") or {}
        for key, part in (("ram_used_pct", ram), ("cpu_used_pct", cpu)):
            if not part.get("gate_passed"):
                reasons.append(f"{key} failed the gate or is missing")
                kind = "gate"
        if s.get("ram_gb") is None or s.get("cpu_cores") is None:
            reasons.append("installed RAM or CPU cores unknown (fleet.yaml ram_gb, cpu_cores)")
            kind = kind or "metadata"
        plans = fin.plans.get(s.get("provider") or "", [])
        if not plans:
            reasons.append(f"no plan sizes known for provider {s.get('provider')!r}")
            kind = kind or "metadata"
        if kind is None:
            planned = s.get("planned") or {}
            need_ram = (
                ram["projected_p95_pct"] / 100 * s["ram_gb"] + planned.get("ram_gb", 0.0)
            ) / target
            need_cpu = (
                cpu["projected_p95_pct"] / 100 * s["cpu_cores"] + planned.get("cpu_cores", 0.0)
            ) / target
            ratios = [(max(need_ram / p["ram_gb"], need_cpu / p["cpu_cores"]), p) for p in plans]
            best_ratio, best = min(ratios, key=lambda x: x[0])
            largest = max(plans, key=lambda p: (p["ram_gb"], p["cpu_cores"]))
            entry.update(
                {
                    "need_ram_gb": round(need_ram, 3),
                    "need_cpu_cores": round(need_cpu, 3),
                    "projected_ram_p95_pct": round(ram["projected_p95_pct"], 3),
                    "projected_cpu_p95_pct": round(cpu["projected_p95_pct"], 3),
                    "planned": planned,
                    "best_plan": best["plan"],
                    "best_ratio": best_ratio,
                    "largest_plan": largest,
                }
            )
            sound.append(entry)
            if compare_scalar(best_ratio, rule.params.get("comparator", ">"), threshold):
                met.append(entry)
        else:
            entry.update({"insufficient": kind, "reasons": reasons})
            lacking.append(entry)
    observed = max((e["best_ratio"] for e in sound), default=None)
    evidence = UpgradeLimitEvidence(
        target_utilisation=target,
        plans_source=fin.plans_source,
        servers=per_server,
        unlisted_servers=unlisted_servers(fin),
        over_limit=[e["server"] for e in met],
    )
    if met:
        outcome = Outcome.MET
    elif lacking or not per_server:
        outcome = Outcome.INSUFFICIENT_DATA
        kinds = {e["insufficient"] for e in lacking}
        evidence.insufficient = Insufficient(
            kind="gate" if "gate" in kinds or not per_server else "metadata",
            reasons=[f"{e['server']}: {r}" for e in lacking for r in e["reasons"]]
            or ["no server to size"],
        )
    else:
        outcome = Outcome.NOT_MET
    return fleet_result(rule, fin, outcome, observed, threshold, evidence)


def _upgrade_limit(r: CriterionResult, ev: dict) -> tuple[str, str]:
    sized = [s for s in ev.get("servers", []) if "best_ratio" in s]
    if not sized:
        return "no server could be sized", "ни один сервер не удалось оценить"
    worst = max(sized, key=lambda s: s["best_ratio"])
    largest = worst["largest_plan"]
    base_en = (
        f"{worst['server']} needs {worst['need_ram_gb']:.1f} GB RAM and "
        f"{worst['need_cpu_cores']:.1f} cores for its projected p95 at "
        f"{ev['target_utilisation']:.0%} utilisation"
    )
    base_ru = (
        f"{worst['server']} нужно {rus.number(worst['need_ram_gb'])} ГБ RAM и "
        f"{rus.number(worst['need_cpu_cores'])} ядра CPU по прогнозу p95 при загрузке "
        f"{rus.percent(ev['target_utilisation'], 0)}"
    )
    if r.outcome is Outcome.MET:
        return (
            f"{base_en}: more than the provider's largest plan {largest['plan']} "
            f"({largest['ram_gb']:g} GB, {largest['cpu_cores']:g} cores)",
            f"{base_ru}: больше крупнейшего тарифа провайдера {largest['plan']} "
            f"({rus.number(largest['ram_gb'])} ГБ, "
            f"{rus.count(largest['cpu_cores'], 'ядро', 'ядра', 'ядер')})",
        )
    return (
        f"{base_en}: plan {worst['best_plan']} holds it (ratio {worst['best_ratio']:.2f})",
        f"{base_ru}: тариф {worst['best_plan']} достаточен (потребность — "
        f"{rus.percent(worst['best_ratio'], 0)} его объёма)",
    )


@register
class UpgradeLimit(FleetCriterion):
    """Projected need above the provider's largest plan."""

    id = "server.upgrade_limit"
    group = "server"
    unit, scale, shown_threshold = "%", 100, 1.0
    evidence_type = UpgradeLimitEvidence
    params = (
        Param("comparator", "comparator", required=False, default=">"),
        Param("threshold"),
        Param("target_utilisation", required=False, default=0.8),
    )

    def evaluate(self, inputs) -> CriterionResult:
        return upgrade_limit(self.rule, inputs, self.defaults)

    @classmethod
    def texts(cls, result: CriterionResult) -> tuple[str, str]:
        return _upgrade_limit(result, result.evidence)

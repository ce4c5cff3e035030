"""Fleet criteria (seed 02.04.04, "Критерии добавления нового сервера"): server.both_loaded,
server.geo, server.isolation (server.upgrade_limit in ``server_limit.py``). Pure functions over per-server numbers
(``capacity.trends.fleet_stats``), the declared requirements of fleet.yaml and the providers'
plan sizes; each criterion is one class with its parameters and texts."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from infra_review import russian as rus
from infra_review.capacity.criteria.common import FleetCriterion
from infra_review.capacity.criteria.evidence import (
    BothLoadedEvidence,
    GeoEvidence,
    Insufficient,
    IsolationEvidence,
)
from infra_review.criteria.evidence import Evidence
from infra_review.criteria.readable import Limits, num
from infra_review.criteria.registry import Param, register
from infra_review.criteria.result import CriterionResult, Outcome
from infra_review.criteria.rules import Rule
from infra_review.timeseries.runs import compare_scalar

FLEET_SUBJECT = "fleet"


@dataclass(frozen=True)
class FleetInputs:
    """What the fleet criteria read; every field is JSON-able and stored with the review."""

    window_start: datetime
    window_end: datetime
    servers: list[dict[str, Any]]  # fleet_stats per server plus its fleet.yaml metadata
    requirements: dict[str, Any] = field(default_factory=dict)
    plans: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # provider -> plans
    plans_source: dict[str, Any] = field(default_factory=dict)


def fleet_result(
    rule: Rule,
    fin: FleetInputs,
    outcome: Outcome,
    observed: float | None,
    threshold: float | None,
    evidence: Evidence,
) -> CriterionResult:
    """The fleet's result of a fleet criterion over the review's window."""
    return CriterionResult(
        rule.id,
        FLEET_SUBJECT,
        outcome,
        observed,
        threshold,
        fin.window_start,
        fin.window_end,
        evidence.to_dict(),
    )


def current_servers(fin: FleetInputs) -> list[dict[str, Any]]:
    """The fleet is fleet.yaml: the servers listed there. A server that only its samples
    registered (a mistyped name, a box under test) is reviewed on its own and listed as
    unlisted in the fleet evidence, never deciding the fleet."""
    return [s for s in fin.servers if s.get("in_fleet")]


def unlisted_servers(fin: FleetInputs) -> list[str]:
    """Servers with samples in the window that fleet.yaml does not list."""
    return sorted(s["server"] for s in fin.servers if not s.get("in_fleet"))


def _declared_servers(fin: FleetInputs) -> list[dict[str, Any]]:
    return [s for s in fin.servers if s.get("in_fleet")]


def both_loaded(rule: Rule, fin: FleetInputs, defaults: dict[str, Any]) -> CriterionResult:
    """Every current server's hourly load (max of CPU %, RAM %) above 80 in >= 90% of its hours."""
    threshold = float(rule.params["threshold"])
    share_limit = float(rule.params.get("share_of_hours", 0.9))
    share_cmp = rule.params.get("share_comparator", ">=")
    per_server = []
    loaded, unloaded, lacking = [], [], []
    for s in current_servers(fin):
        load = s.get("load") or {}
        share = load.get("share_above")
        entry = {
            "server": s["server"],
            "hours": load.get("hours", 0),
            "hours_above": load.get("hours_above", 0),
            "share_above": share,
            "gate_passed": load.get("gate_passed", False),
            "reasons": load.get("reasons", []),
        }
        per_server.append(entry)
        if not entry["gate_passed"] or share is None:
            lacking.append(entry)
        elif compare_scalar(share, share_cmp, share_limit):
            loaded.append(entry)
        else:
            unloaded.append(entry)
    sound = loaded + unloaded
    observed = min((e["share_above"] for e in sound), default=None)
    evidence = BothLoadedEvidence(
        value_threshold=threshold,
        load="hourly max(mean CPU %, mean RAM %)",
        share_threshold=share_limit,
        share_comparator=share_cmp,
        servers=per_server,
        unlisted_servers=unlisted_servers(fin),
        loaded_servers=[e["server"] for e in loaded],
        not_loaded_servers=[e["server"] for e in unloaded],
    )
    if unloaded:
        outcome = Outcome.NOT_MET
    elif lacking or not per_server:
        outcome = Outcome.INSUFFICIENT_DATA
        evidence.insufficient = Insufficient(
            kind="gate",
            reasons=[f"{e['server']}: {r}" for e in lacking for r in e["reasons"]]
            or ["no server with CPU or RAM data"],
        )
    else:
        outcome = Outcome.MET
    return fleet_result(rule, fin, outcome, observed, share_limit, evidence)


def _both_loaded(r: CriterionResult, ev: dict) -> tuple[str, str]:
    servers = [s for s in ev.get("servers", []) if s.get("share_above") is not None]
    if not servers:
        return "no server load measured", "загрузка серверов не измерена"
    least = min(servers, key=lambda s: s["share_above"])
    thr, share = ev["value_threshold"], ev["share_threshold"]
    return (
        f"{len(ev.get('loaded_servers', []))} of {len(ev.get('servers', []))} servers above "
        f"{thr:g}% load in at least {share:.0%} of hours; least loaded: {least['server']} "
        f"({least['share_above']:.1%} of hours)",
        f"{len(ev.get('loaded_servers', []))} из {len(ev.get('servers', []))} серверов загружены "
        f"выше {rus.number(thr, 3)}% не менее {rus.percent(share, 0)} часов; наименее загружен {least['server']} "
        f"({rus.percent(least['share_above'], 1)} часов)",
    )


@register
class BothLoaded(FleetCriterion):
    """Every current server's load above the threshold in most of its hours."""

    id = "server.both_loaded"
    group = "server"
    unit = "%"
    evidence_type = BothLoadedEvidence
    params = (
        Param("comparator", "comparator", required=False, default=">"),
        Param("threshold"),
        Param("share_of_hours"),
        Param("share_comparator", "comparator", required=False, default=">="),
    )

    @classmethod
    def limits(cls, params: dict[str, Any]) -> Limits:
        """The load level, and the share of hours above it as the second condition."""
        return replace(
            super().limits(params),
            duration_threshold=num(params.get("share_of_hours", 0.9), 100),
            duration_comparator=params.get("share_comparator", ">="),
            duration_unit="% of hours",
        )

    @classmethod
    def shown_observed(cls, result: CriterionResult) -> tuple[float | None, float | None]:
        return None, num(result.observed, 100)

    def evaluate(self, inputs) -> CriterionResult:
        return both_loaded(self.rule, inputs, self.defaults)

    @classmethod
    def texts(cls, result: CriterionResult) -> tuple[str, str]:
        return _both_loaded(result, result.evidence)


def geo(rule: Rule, fin: FleetInputs, defaults: dict[str, Any]) -> CriterionResult:
    """A required region (fleet.yaml requirements.regions) that no current server is in."""
    required = [str(r) for r in fin.requirements.get("regions") or []]
    servers = _declared_servers(fin)
    regions = {s["server"]: s.get("region") for s in servers}
    present = {r for r in regions.values() if r}
    missing = [r for r in required if r not in present]
    evidence = GeoEvidence(
        declared="fleet.yaml requirements.regions",
        required_regions=required,
        server_regions=regions,
        servers_without_region=[name for name, r in regions.items() if not r],
        missing_regions=missing,
    )
    if not required:
        evidence.note = "no region requirement is declared"
    outcome = Outcome.MET if missing else Outcome.NOT_MET
    return fleet_result(rule, fin, outcome, float(len(missing)), 0.0, evidence)


def _geo(r: CriterionResult, ev: dict) -> tuple[str, str]:
    missing, required = ev.get("missing_regions", []), ev.get("required_regions", [])
    if missing:
        return (
            f"required region(s) {', '.join(missing)} have no server",
            f"в требуемых регионах {', '.join(missing)} нет сервера",
        )
    if not required:
        return "no region requirement is declared", "требования к регионам не заданы"
    return (
        f"every required region ({', '.join(required)}) has a server",
        f"во всех требуемых регионах ({', '.join(required)}) есть сервер",
    )


@register
class Geo(FleetCriterion):
    """A required region with no server."""

    id = "server.geo"
    group = "server"
    unit, shown_threshold = "regions", 0.0
    evidence_type = GeoEvidence
    params = (Param("declared", "text", required=False),)

    def evaluate(self, inputs) -> CriterionResult:
        return geo(self.rule, inputs, self.defaults)

    @classmethod
    def texts(cls, result: CriterionResult) -> tuple[str, str]:
        return _geo(result, result.evidence)


def isolation(rule: Rule, fin: FleetInputs, defaults: dict[str, Any]) -> CriterionResult:
    """An isolated data class (requirements.isolated_data_classes) shares its host with
    another data class. Our reading of "must not share a host": it is the only class there."""
    isolated = [str(c) for c in fin.requirements.get("isolated_data_classes") or []]
    violations = []
    placed = {}
    for s in _declared_servers(fin):
        classes = list(s.get("data_classes") or [])
        for c in isolated:
            if c in classes:
                placed.setdefault(c, []).append(s["server"])
                others = [o for o in classes if o != c]
                if others:
                    violations.append(
                        {"data_class": c, "server": s["server"], "shares_with": others}
                    )
    evidence = IsolationEvidence(
        declared="fleet.yaml requirements.isolated_data_classes",
        isolated_data_classes=isolated,
        placement=placed,
        violations=violations,
        rule="an isolated data class must be the only data class on its host",
    )
    if not isolated:
        evidence.note = "no isolated data class is declared"
    outcome = Outcome.MET if violations else Outcome.NOT_MET
    return fleet_result(rule, fin, outcome, float(len(violations)), 0.0, evidence)


def _isolation(r: CriterionResult, ev: dict) -> tuple[str, str]:
    v = ev.get("violations", [])
    if v:
        en = "; ".join(
            f"{x['data_class']} shares {x['server']} with {', '.join(x['shares_with'])}" for x in v
        )
        ru = "; ".join(
            f"{x['data_class']} делит {x['server']} с {', '.join(x['shares_with'])}" for x in v
        )
        return en, ru
    if not ev.get("isolated_data_classes"):
        return "no isolated data class is declared", "изолируемые классы данных не заданы"
    return (
        "every isolated data class is alone on its host",
        "каждый изолируемый класс данных один на своём сервере",
    )


@register
class Isolation(FleetCriterion):
    """An isolated data class sharing its host."""

    id = "server.isolation"
    group = "server"
    unit, shown_threshold = "violations", 0.0
    evidence_type = IsolationEvidence
    params = (Param("declared", "text", required=False),)

    def evaluate(self, inputs) -> CriterionResult:
        return isolation(self.rule, inputs, self.defaults)

    @classmethod
    def texts(cls, result: CriterionResult) -> tuple[str, str]:
        return _isolation(result, result.evidence)

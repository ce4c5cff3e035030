"""The decision rule of the capacity review (seed 02.04.04), as the table DESIGN.md states it:
which criterion results lead to which decision. The texts of a decision record (summaries,
drivers, options, confirmation) are built apart, in ``capacity.records``, from the
criteria's own ``explain``.

    server                                        fleet
    1. a RAM trigger met   -> upgrade_ram          1. a server.* trigger met -> add_server
       a CPU trigger met   -> upgrade_cpu             (every trigger is the seed's "any")
       (both: both actions; the record's decision is the first, RAM before CPU)
    2. a trigger's series failed the gate -> insufficient_data
    3. a trend reaches a trigger within the horizon -> watch
    4. otherwise -> no_action
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from infra_review.criteria.result import CriterionResult, Outcome
from infra_review.criteria.rules import Rule

ACTIONS = {
    "upgrade_ram": ("upgrade RAM", "увеличить RAM"),
    "upgrade_cpu": ("upgrade CPU", "увеличить CPU"),
    "add_server": ("add a server", "добавить сервер"),
    "watch": ("watch", "наблюдать"),
    "no_action": ("no action", "действий не требуется"),
    "insufficient_data": ("insufficient data", "недостаточно данных"),
}

SERVER_DECISIONS = ("upgrade_ram", "upgrade_cpu", "watch", "no_action", "insufficient_data")

FLEET_DECISIONS = ("add_server", "watch", "no_action", "insufficient_data")

GROUP_ACTION = {"ram": "upgrade_ram", "cpu": "upgrade_cpu", "server": "add_server"}


@dataclass(frozen=True)
class Decision:
    subject_kind: str  # server | fleet
    subject: str
    decision: str
    actions: list[str]
    summary_en: str
    summary_ru: str
    context: dict[str, Any]
    drivers: list[dict[str, Any]]
    options: list[dict[str, Any]]
    confirmation: dict[str, Any]
    results: list[CriterionResult] = field(default_factory=list)

    def record(self):
        from infra_review.store.decisions import DecisionRecord

        return DecisionRecord(
            subject_kind=self.subject_kind,
            subject=self.subject,
            decision=self.decision,
            summary_en=self.summary_en,
            summary_ru=self.summary_ru,
            context=self.context,
            drivers=self.drivers,
            options=self.options,
            confirmation=self.confirmation,
            results=self.results,
        )


def result_from_record(rec: dict[str, Any]) -> CriterionResult:
    """Inverse of ``CriterionResult.to_record`` (results travel between tasks as dicts)."""
    return CriterionResult(
        criterion_id=rec["criterion_id"],
        subject=rec["subject"],
        outcome=Outcome(rec["outcome"]),
        observed=rec.get("observed"),
        threshold=rec.get("threshold"),
        window_start=_dt(rec["window_start"]),
        window_end=_dt(rec["window_end"]),
        evidence=rec.get("evidence") or {},
    )


def _dt(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def blocking(r: CriterionResult) -> bool:
    """Insufficient because a series failed the quality gate: this blocks a decision;
    missing metadata or history does not (those criteria are listed as not evaluated)."""
    return (
        r.outcome is Outcome.INSUFFICIENT_DATA
        and (r.evidence.get("insufficient") or {}).get("kind") == "gate"
    )


@dataclass(frozen=True)
class Ruling:
    """What the rule found: the decision, the actions, and the results that led there."""

    decision: str
    actions: list[str]
    met: dict[str, list[CriterionResult]]  # group -> results met
    blocking: list[CriterionResult]
    not_evaluated: list[CriterionResult]
    watch: list[dict[str, Any]] = field(default_factory=list)


def _split(results: list[CriterionResult], rules: dict[str, Rule]) -> tuple[dict, list, list]:
    met: dict[str, list[CriterionResult]] = {}
    for r in results:
        rule = rules.get(r.criterion_id)
        if r.met and rule is not None:
            met.setdefault(rule.group, []).append(r)
    stop = [r for r in results if blocking(r)]
    lacking = [r for r in results if r.outcome is Outcome.INSUFFICIENT_DATA and not blocking(r)]
    return met, stop, lacking


def server_rule(
    results: list[CriterionResult], forecasts: list[dict[str, Any]], rules: dict[str, Rule]
) -> Ruling:
    met, stop, lacking = _split(results, rules)
    actions = [GROUP_ACTION[g] for g in ("ram", "cpu") if met.get(g)]
    watch = [f for f in forecasts if f.get("within_horizon")]
    table = (
        (bool(actions), actions[0] if actions else None),
        (bool(stop), "insufficient_data"),
        (bool(watch), "watch"),
        (True, "no_action"),
    )
    decision = next(d for holds, d in table if holds)
    return Ruling(decision, actions or [decision], met, stop, lacking, watch)


def fleet_rule(
    results: list[CriterionResult], forecast: dict[str, Any] | None, rules: dict[str, Rule]
) -> Ruling:
    met, stop, lacking = _split(results, rules)
    triggered = [r for r in results if r.met]
    table = (
        (bool(triggered), "add_server"),
        (bool(stop), "insufficient_data"),
        (bool(forecast), "watch"),
        (True, "no_action"),
    )
    decision = next(d for holds, d in table if holds)
    return Ruling(decision, [decision], met, stop, lacking, [forecast] if forecast else [])

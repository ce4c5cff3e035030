"""Scorecards and the recommendation: stay, evaluate_migration or migrate.

Rules (DESIGN.md, issues 5 and 14):
* group score = criteria met / criteria scored in the group; ``insufficient_data`` counts as
  not met for every provider (an unknown is not a point). The current provider's ``fin.tco``
  is the reference the alternatives are measured against, not a criterion it scores on.
* weighted total = 100 x sum(weight x group score) / sum(weights), weights from providers.yaml.
* an alternative *qualifies* when it meets every financial and technical criterion, has every
  criterion the team marked critical met (not failed, not missing), and its weighted total
  beats the current provider's.
* the decision, in order:
  1. one qualifies and the current provider fails (``not_met``) a critical criterion: ``migrate``;
  2. one qualifies: ``evaluate_migration``;
  3. none qualifies and a critical criterion of the current provider is ``insufficient_data``:
     ``insufficient_data`` (missing data is never a pass: the review cannot say stay);
  4. otherwise ``stay``.
  Both summaries name every critical failure and every missing input of every provider.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from infra_review import russian as rus
from infra_review.criteria.result import CriterionResult, Outcome
from infra_review.criteria.rules import Rule
from infra_review.provider.criteria.financial import FinTco
from infra_review.provider.model import GROUPS
from infra_review.provider.reasons import driver as _driver
from infra_review.provider.reasons import named as _named
from infra_review.provider.reasons import why_not as _why_not

DECISIONS = ("stay", "evaluate_migration", "migrate", "insufficient_data")
GATING_GROUPS = ("financial", "technical")


@dataclass(frozen=True)
class Scorecard:
    provider: str
    name: str
    role: str  # current | alternative
    results: dict[str, CriterionResult]
    groups: dict[str, list[str]]  # group -> criterion ids, in criteria.yaml order
    group_scores: dict[str, float]
    weights: dict[str, float]
    weighted_total: float
    critical_failed: list[str]
    critical_missing: list[str] = field(default_factory=list)
    reference: dict[str, Any] = field(default_factory=dict)  # criterion id -> what it shows
    annual_cost: float | None = None
    tco_ratio: float | None = None
    currency: str = ""
    monthly_costs: dict[str, float] = field(default_factory=dict)

    @property
    def passes_fin_tech(self) -> bool:
        return all(r.met for r in self._in(GATING_GROUPS))

    def _in(self, groups: tuple[str, ...]) -> list[CriterionResult]:
        return [
            self.results[c] for g in groups for c in self.groups.get(g, []) if c in self.results
        ]

    def failing(self, groups: tuple[str, ...] = GATING_GROUPS) -> list[CriterionResult]:
        """Criteria in ``groups`` that are not met (including insufficient data)."""
        return [r for r in self._in(groups) if not r.met]

    def missing(self) -> list[CriterionResult]:
        """Every criterion without its data, in any group."""
        return [r for r in self.results.values() if r.outcome is Outcome.INSUFFICIENT_DATA]

    def outcomes(self) -> dict[str, str]:
        out = {cid: str(r.outcome) for cid, r in self.results.items()}
        for cid in self.reference:
            out[cid] = "reference"
        return out

    def counts(self) -> dict[str, int]:
        out = {str(o): 0 for o in Outcome}
        for r in self.results.values():
            out[str(r.outcome)] += 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "name": self.name,
            "role": self.role,
            "outcomes": self.outcomes(),
            "group_scores": {g: round(s, 4) for g, s in self.group_scores.items()},
            "weighted_total": round(self.weighted_total, 2),
            "passes_fin_tech": self.passes_fin_tech,
            "critical_failed": self.critical_failed,
            "critical_missing": self.critical_missing,
            "annual_cost": None if self.annual_cost is None else round(self.annual_cost, 2),
            "tco_ratio": None if self.tco_ratio is None else round(self.tco_ratio, 4),
            "currency": self.currency,
        }


def build_scorecard(
    provider: str,
    name: str,
    role: str,
    results: list[CriterionResult],
    rules: list[Rule],
    weights: dict[str, float],
    critical: tuple[str, ...],
    reference: dict[str, Any] | None = None,
    **extra: Any,
) -> Scorecard:
    by_id = {r.criterion_id: r for r in results}
    reference = reference or {}
    missing = [rule.id for rule in rules if rule.id not in by_id and rule.id not in reference]
    if missing:
        raise ValueError(f"scorecard for {provider} lacks results for {missing}")
    groups: dict[str, list[str]] = {g: [] for g in GROUPS}
    for rule in rules:
        groups.setdefault(rule.group, []).append(rule.id)
    scored = {g: [c for c in ids if c in by_id] for g, ids in groups.items()}
    group_scores = {
        g: (sum(1 for c in ids if by_id[c].met) / len(ids)) if ids else 0.0
        for g, ids in scored.items()
    }
    total_weight = sum(weights.get(g, 0.0) for g in groups)
    weighted = (
        100 * sum(weights.get(g, 0.0) * s for g, s in group_scores.items()) / total_weight
        if total_weight
        else 0.0
    )
    weighted = round(weighted, 6)  # 45.00000000000001 would make ties and reports noisy
    critical_failed = [c for c in critical if c in by_id and by_id[c].outcome is Outcome.NOT_MET]
    critical_missing = [
        c for c in critical if c in by_id and by_id[c].outcome is Outcome.INSUFFICIENT_DATA
    ]
    return Scorecard(
        provider=provider,
        name=name,
        role=role,
        results={rule.id: by_id[rule.id] for rule in rules if rule.id in by_id},
        critical_missing=critical_missing,
        reference=reference,
        groups=groups,
        group_scores=group_scores,
        weights=dict(weights),
        weighted_total=weighted,
        critical_failed=critical_failed,
        **extra,
    )


@dataclass(frozen=True)
class Recommendation:
    decision: str
    current: str
    chosen: str | None
    qualifying: list[str]
    why_not: dict[str, list[str]]  # alternative -> reasons it does not qualify
    summary_en: str
    summary_ru: str
    drivers: list[dict[str, Any]]
    options: list[dict[str, Any]]
    confirmation: dict[str, Any]


def recommend(current: Scorecard, alternatives: list[Scorecard]) -> Recommendation:
    """The decision for the quarter, with MADR drivers, options and confirmation."""
    why_not = {a.provider: _why_not(a, current) for a in alternatives}
    qualifying = sorted(
        (a for a in alternatives if not why_not[a.provider]),
        key=lambda a: (
            -a.weighted_total,
            a.tco_ratio if a.tco_ratio is not None else 9e9,
            a.provider,
        ),
    )
    cur = current.provider
    cur_total = current.weighted_total
    if qualifying:
        best = qualifying[0]
        decision = "migrate" if current.critical_failed else "evaluate_migration"
        fin_tech = sum(len(best.groups[g]) for g in GATING_GROUPS)
        tco = (
            f"TCO ratio {best.tco_ratio:.2f}" if best.tco_ratio is not None else "TCO ratio unknown"
        )
        tco_ru = (
            f"TCO — {rus.percent(best.tco_ratio, 0)} текущих затрат"
            if best.tco_ratio is not None
            else "TCO неизвестна"
        )
        if decision == "migrate":
            crit = ", ".join(current.critical_failed)
            summary_en = (
                f"Migrate from {cur} to {best.provider}: {cur} fails critical criteria {crit}; "
                f"{best.provider} meets all {fin_tech} financial and technical criteria and scores "
                f"{best.weighted_total:.1f} against {cur_total:.1f} ({tco})."
            )
            summary_ru = (
                f"Мигрировать с {cur} на {best.provider}: {cur} не выполняет критичные критерии "
                f"{crit}; {best.provider} выполняет все {fin_tech} финансовых и технических "
                f"критериев, балл {rus.number(best.weighted_total)} против {rus.number(cur_total)} "
                f"({tco_ru})."
            )
        else:
            gap = ", ".join(current.critical_missing)
            fails_en = (
                f"{cur} fails no critical criterion it has data for (no data: {gap})"
                if gap
                else f"{cur} fails no critical criterion"
            )
            fails_ru = (
                f"{cur} не нарушает критичных критериев, по которым есть данные (нет данных: {gap})"
                if gap
                else f"{cur} не нарушает критичных критериев"
            )
            summary_en = (
                f"Evaluate migration from {cur} to {best.provider}: it meets all {fin_tech} "
                f"financial and technical criteria and scores {best.weighted_total:.1f} against "
                f"{cur_total:.1f} ({tco}); {fails_en}, so this is a pilot-and-plan "
                "recommendation, not an urgent move."
            )
            summary_ru = (
                f"Оценить миграцию с {cur} на {best.provider}: альтернатива выполняет все "
                f"{fin_tech} финансовых и технических критериев, балл "
                f"{rus.number(best.weighted_total)} против {rus.number(cur_total)} ({tco_ru}); "
                f"{fails_ru}, поэтому это рекомендация провести "
                "пилот и спланировать переход, а не срочный переезд."
            )
        drivers = [
            _driver(r)
            for r in best.results.values()
            if r.met and r.criterion_id.split(".")[0] in ("fin", "tech")
        ]
        drivers += [_driver(current.results[c]) for c in current.critical_failed]
        drivers += [_driver(r) for r in current.failing()]
        confirmation = {
            "en": f"Next quarter {best.provider} still meets every financial and technical "
            f"criterion with its own invoices, probes and tickets (a pilot account), and its "
            f"TCO ratio stays below {best.results[FinTco.id].threshold}.",
            "ru": f"В следующем квартале {best.provider} по-прежнему выполняет все финансовые и "
            "технические критерии по собственным счетам, пробам и тикетам (пилотный аккаунт), "
            f"а TCO остаётся ниже {rus.percent(best.results[FinTco.id].threshold, 0)} текущих "
            "затрат.",
            "watch": [f"{best.provider}:{c}" for g in GATING_GROUPS for c in best.groups[g]],
        }
    else:
        best = None
        missing = current.critical_missing
        decision = "insufficient_data" if missing else "stay"
        blocked = "; ".join(f"{a}: {', '.join(r[:4])}" for a, r in why_not.items()) or "none"
        blocked_ru = (
            "; ".join(
                f"{a.provider}: {', '.join(_why_not(a, current, ru=True)[:4])}"
                for a in alternatives
            )
            or "не рассматривались"
        )
        if missing:
            summary_en = (
                f"Insufficient data to recommend staying with {cur}: its critical criteria "
                f"{', '.join(missing)} have no data, and no alternative meets every financial "
                f"and technical criterion with a higher score. Alternatives: {blocked}."
            )
            summary_ru = (
                f"Недостаточно данных, чтобы рекомендовать остаться у {cur}: по критичным "
                f"критериям {', '.join(missing)} нет данных, а ни одна альтернатива не "
                f"выполняет все финансовые и технические критерии с более высоким баллом. "
                f"Альтернативы: {blocked_ru}."
            )
        else:
            summary_en = (
                f"Stay with {cur} (score {cur_total:.1f}): no alternative meets every financial "
                f"and technical criterion with a higher score. Alternatives: {blocked}."
            )
            summary_ru = (
                f"Остаёмся у {cur} (балл {rus.number(cur_total, 1)}): ни одна альтернатива не выполняет все "
                f"финансовые и технические критерии с более высоким баллом. Альтернативы: "
                f"{blocked_ru}."
            )
        drivers = [_driver(r) for a in alternatives for r in a.failing()]
        drivers += [_driver(current.results[c]) for c in current.critical_failed]
        drivers += [_driver(current.results[c]) for c in missing]
        if missing:
            confirmation = {
                "en": f"Next quarter the missing inputs of {cur} are there "
                f"({', '.join(missing)}) and the review decides on them.",
                "ru": f"В следующем квартале у {cur} есть недостающие данные "
                f"({', '.join(missing)}), и обзор принимает решение по ним.",
                "watch": [f"{cur}:{c}" for c in missing],
            }
        else:
            confirmation = {
                "en": f"Next quarter {cur} still meets its critical criteria, and the criteria "
                f"it fails ({', '.join(r.criterion_id for r in current.failing()) or 'none'}) "
                "are raised with it.",
                "ru": f"В следующем квартале {cur} по-прежнему выполняет критичные критерии, а "
                "невыполненные критерии обсуждены с провайдером.",
                "watch": [f"{cur}:{r.criterion_id}" for r in current.failing()],
            }
    named_en, named_ru = _named(current, alternatives)
    summary_en += named_en
    summary_ru += named_ru
    options = []
    for option in DECISIONS:
        if option == decision:
            continue
        if option == "insufficient_data":
            why = (
                f"{cur}'s critical criteria have their data"
                if not current.critical_missing
                else f"{best.provider} qualifies whatever the missing data of {cur}"
            )
        elif option == "stay" and decision == "insufficient_data":
            why = f"{cur}'s critical criteria {current.critical_missing} have no data"
        elif option == "stay":
            why = f"{best.provider} qualifies: it meets every financial and technical criterion and scores higher"
        elif option == "evaluate_migration":
            why = (
                f"{cur} fails critical criteria {current.critical_failed}, so the move is more than an evaluation"
                if decision == "migrate"
                else "no alternative qualifies"
            )
        else:
            why = (
                f"{cur} fails no critical criterion"
                if qualifying
                else "no alternative qualifies"
                + (
                    f", although {cur} fails critical {current.critical_failed}"
                    if current.critical_failed
                    else ""
                )
            )
        options.append({"option": option, "why_not": why})
    for alt, reasons in why_not.items():
        if best is None or alt != best.provider:
            options.append(
                {
                    "option": f"move to {alt}",
                    "why_not": "; ".join(reasons)
                    or f"qualifies, but {best.provider} scores higher",
                }
            )
    return Recommendation(
        decision=decision,
        current=cur,
        chosen=best.provider if best else None,
        qualifying=[a.provider for a in qualifying],
        why_not=why_not,
        summary_en=summary_en,
        summary_ru=summary_ru,
        drivers=drivers,
        options=options,
        confirmation=confirmation,
    )

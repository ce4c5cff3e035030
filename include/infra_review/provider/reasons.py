"""The words of a provider recommendation: why an alternative does not qualify, the
sentences naming every critical failure and missing input, and a MADR driver row. The
decision rule itself is ``provider.scorecard.recommend``."""

from __future__ import annotations

from typing import Any

from infra_review import russian as rus
from infra_review.criteria.result import CriterionResult, Outcome

Scorecard = Any  # provider.scorecard.Scorecard (it imports this module)

_MARK = {Outcome.MET: "met", Outcome.NOT_MET: "not met", Outcome.INSUFFICIENT_DATA: "no data"}
_MARK_RU = {
    Outcome.MET: "выполнен",
    Outcome.NOT_MET: "не выполнен",
    Outcome.INSUFFICIENT_DATA: "нет данных",
}


def why_not(alt: Scorecard, current: Scorecard, ru: bool = False) -> list[str]:
    """Why an alternative does not qualify (empty when it does), in English or Russian."""
    mark = _MARK_RU if ru else _MARK
    crit = "критичный {} не выполнен" if ru else "critical {} not met"
    gone = "критичный {}: нет данных" if ru else "critical {}: no data"
    reasons = [crit.format(c) for c in alt.critical_failed]
    reasons += [gone.format(c) for c in alt.critical_missing if c.split(".")[0] == "strat"]
    reasons += [f"{r.criterion_id} {mark[r.outcome]}" for r in alt.failing()]
    if alt.weighted_total <= current.weighted_total:
        reasons.append(
            f"балл {rus.number(alt.weighted_total, 1)} не выше "
            f"{rus.number(current.weighted_total, 1)} у {current.provider}"
            if ru
            else f"score {alt.weighted_total:.1f} does not beat {current.provider}'s "
            f"{current.weighted_total:.1f}"
        )
    return reasons


def named(current: Scorecard, alternatives: list[Scorecard]) -> tuple[str, str]:
    """The sentences both summaries end with: every critical failure and every missing
    input, per provider (issue 14: only the report's table used to show them)."""
    failed = [(c.provider, cid) for c in (current, *alternatives) for cid in c.critical_failed]
    missing = [(c.provider, r) for c in (current, *alternatives) for r in c.missing()]
    en = ru = ""
    if failed:
        en += " Critical failures: " + "; ".join(f"{p} {cid}" for p, cid in failed) + "."
        ru += " Критичные нарушения: " + "; ".join(f"{p} {cid}" for p, cid in failed) + "."
    if missing:
        en += (
            " Missing data: "
            + "; ".join(
                f"{p} {r.criterion_id} ({r.evidence.get('reason', 'no data')})" for p, r in missing
            )
            + "."
        )
        ru += " Нет данных: " + "; ".join(f"{p} {r.criterion_id}" for p, r in missing) + "."
    return en, ru


def driver(r: CriterionResult) -> dict[str, Any]:
    return {
        "criterion_id": r.criterion_id,
        "subject": r.subject,
        "outcome": str(r.outcome),
        "observed": r.observed,
        "threshold": r.threshold,
        "reason": r.evidence.get("reason"),
    }

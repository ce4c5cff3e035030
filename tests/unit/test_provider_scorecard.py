"""Scorecards and the recommendation: stay, evaluate_migration, migrate, insufficient_data
(the rule in provider/scorecard.py's docstring and docs/provider-review.md)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from infra_review.criteria.result import CriterionResult, Outcome
from infra_review.criteria.rules import load_criteria
from infra_review.provider.scorecard import build_scorecard, recommend

RULES = load_criteria().for_review("provider")
IDS = [r.id for r in RULES]
WEIGHTS = {"financial": 0.4, "technical": 0.4, "strategic": 0.2}
CRITICAL = ("tech.sla", "strat.jurisdiction")
T0, T1 = datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC)


def card(pid: str, role: str = "alternative", *, not_met=(), no_data=(), ratio: float = 1.2):
    results = []
    reference = {"fin.tco": {"annual_actual": 1}} if role == "current" else {}
    for cid in IDS:
        if cid in reference:
            continue
        outcome = (
            Outcome.NOT_MET
            if cid in not_met
            else Outcome.INSUFFICIENT_DATA
            if cid in no_data
            else Outcome.MET
        )
        evidence = {"reason": f"no {cid} input"} if cid in no_data else {}
        results.append(CriterionResult(cid, pid, outcome, None, None, T0, T1, evidence))
    return build_scorecard(
        pid, pid, role, results, RULES, WEIGHTS, CRITICAL, reference=reference, tco_ratio=ratio
    )


def test_twelve_criteria_in_three_groups_and_weighted_total():
    assert len(IDS) == 12
    c = card("alt", not_met=("fin.hidden_fees", "tech.modern", "tech.support"))
    assert c.group_scores == {"financial": 0.75, "technical": 0.5, "strategic": 1.0}
    assert c.weighted_total == pytest.approx(100 * (0.4 * 0.75 + 0.4 * 0.5 + 0.2 * 1.0))


def test_current_fin_tco_is_the_reference_not_a_free_point():
    """Issue 14: the current provider's own TCO was always "met (ratio 1.00)"."""
    cur = card("cur", "current", not_met=("fin.hidden_fees",))
    assert "fin.tco" not in cur.results and cur.outcomes()["fin.tco"] == "reference"
    assert cur.group_scores["financial"] == pytest.approx(2 / 3)  # 2 of the 3 it is scored on
    assert cur.counts() == {"met": 10, "not_met": 1, "insufficient_data": 0}
    unknown = card("x", no_data=("strat.roadmap",))
    assert unknown.group_scores["strategic"] == 0.75  # no data is not a point
    assert unknown.counts() == {"met": 11, "not_met": 0, "insufficient_data": 1}


def test_stay_when_no_alternative_passes_every_fin_and_tech_criterion():
    cur = card("cur", "current", not_met=("tech.support",))
    alt = card("alt", no_data=("tech.sla",))  # no probes of it yet: cannot qualify
    rec = recommend(cur, [alt])
    assert rec.decision == "stay" and rec.chosen is None
    assert "tech.sla no data" in rec.why_not["alt"]
    assert "Остаёмся" in rec.summary_ru and "нет данных" in rec.summary_ru
    assert {o["option"] for o in rec.options} >= {"evaluate_migration", "migrate", "move to alt"}


def test_evaluate_migration_when_an_alternative_qualifies():
    cur = card("cur", "current", not_met=("tech.support", "tech.automation"))
    alt = card("alt")
    rec = recommend(cur, [alt])
    assert rec.decision == "evaluate_migration" and rec.chosen == "alt"
    assert rec.summary_en.startswith("Evaluate migration from cur to alt")
    assert rec.summary_ru.startswith("Оценить миграцию с cur на alt")


def test_migrate_when_the_current_provider_fails_a_critical_criterion():
    cur = card("cur", "current", not_met=("tech.sla",))
    rec = recommend(cur, [card("alt")])
    assert rec.decision == "migrate" and cur.critical_failed == ["tech.sla"]
    assert "tech.sla" in rec.summary_en and "Мигрировать" in rec.summary_ru
    # the same current provider with no qualifying alternative: stay (and say why)
    assert recommend(cur, [card("alt", not_met=("fin.tco",))]).decision == "stay"


def test_current_provider_without_probes_is_not_a_free_stay():
    """A critical criterion of the current provider with no data: insufficient_data."""
    cur = card("cur", "current", no_data=("tech.sla",))
    rec = recommend(cur, [card("alt", not_met=("fin.tco",))])
    assert rec.decision == "insufficient_data" and cur.critical_missing == ["tech.sla"]
    assert "tech.sla" in rec.summary_en and "Недостаточно данных" in rec.summary_ru
    assert "cur tech.sla (no tech.sla input)" in rec.summary_en
    assert "Нет данных: cur tech.sla" in rec.summary_ru
    assert rec.confirmation["watch"] == ["cur:tech.sla"]
    assert "stay" in {o["option"] for o in rec.options}
    # a qualifying alternative still gets evaluated, and the summaries name the gap
    rec = recommend(cur, [card("alt")])
    assert rec.decision == "evaluate_migration" and "Missing data: cur tech.sla" in rec.summary_en
    assert "fails no critical criterion it has data for (no data: tech.sla)" in rec.summary_en
    # missing data of a non-critical criterion does not block stay, but is named
    calm = recommend(
        card("cur", "current", no_data=("tech.support",)), [card("alt", not_met=("fin.tco",))]
    )
    assert calm.decision == "stay" and "cur tech.support" in calm.summary_en


def test_critical_failure_with_an_alternative_lacking_tickets_is_named_in_both_summaries():
    """Issue 14: the decision was stay and neither summary mentioned the critical failure."""
    cur = card("cur", "current", not_met=("tech.sla",))
    alt = card("alt", no_data=("tech.support",))
    rec = recommend(cur, [alt])
    assert rec.decision == "stay"
    assert "Critical failures: cur tech.sla" in rec.summary_en
    assert "Критичные нарушения: cur tech.sla" in rec.summary_ru
    assert "alt tech.support" in rec.summary_en and "alt tech.support" in rec.summary_ru


def test_missing_data_weighs_the_same_for_an_alternative_critical_criterion():
    cur = card("cur", "current", not_met=("tech.modern", "tech.support", "strat.roadmap"))
    alt = card("alt", no_data=("strat.jurisdiction",))  # strategic, but critical: no pass
    rec = recommend(cur, [alt])
    assert rec.decision == "stay" and "critical strat.jurisdiction: no data" in rec.why_not["alt"]


def test_an_alternative_must_beat_the_current_score():
    cur = card("cur", "current")  # perfect
    alt = card("alt")  # also perfect: a tie is not better
    rec = recommend(cur, [alt])
    assert rec.decision == "stay" and any("does not beat" in r for r in rec.why_not["alt"])


def test_an_alternative_failing_a_critical_criterion_never_qualifies():
    cur = card("cur", "current", not_met=("tech.modern", "tech.support", "strat.roadmap"))
    alt = card("alt", not_met=("strat.jurisdiction",))  # passes fin and tech, no KZ data centre
    rec = recommend(cur, [alt])
    assert rec.decision == "stay"
    assert rec.why_not["alt"][0] == "critical strat.jurisdiction not met"


def test_best_qualifying_alternative_wins_by_score_then_tco():
    cur = card("cur", "current", not_met=("tech.support", "tech.modern"))
    a = card("a", not_met=("strat.roadmap",), ratio=1.1)
    b = card("b", ratio=1.4)
    c = card("c", ratio=1.2)
    rec = recommend(cur, [a, b, c])
    assert rec.chosen == "c" and rec.qualifying == ["c", "b", "a"]

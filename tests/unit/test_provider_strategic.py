"""provider/criteria/strategic.py at its boundaries: jurisdictions with their source and
date, reviewer scores with their age, and years in business."""

from __future__ import annotations

from datetime import date, timedelta

from infra_review.criteria.result import CriterionResult, Outcome
from infra_review.provider.model import Requirements, Score
from infra_review.provider.money import months_between
from tests.unit.provider_helpers import Q1, Q2, C, declared, provider


def test_jurisdiction_requires_every_required_one_with_provenance():
    rule, req = C["strat.jurisdiction"], Requirements(jurisdictions=("KZ",))
    facts = declared("jurisdictions")
    assert rule.judge(provider(jurisdictions=("KZ", "DE"), declared=facts), req, Q2).met
    eu = rule.judge(provider(jurisdictions=("DE",), declared=facts), req, Q2)
    assert eu.outcome is Outcome.NOT_MET and eu.evidence["missing"] == ["KZ"]
    assert rule.judge(provider(), req, Q2).outcome is Outcome.INSUFFICIENT_DATA
    bare = rule.judge(provider(jurisdictions=("KZ",)), req, Q2)  # a list without source/date
    assert bare.outcome is Outcome.INSUFFICIENT_DATA
    stale = declared("jurisdictions", on=Q2.end.date() - timedelta(days=400))
    old = rule.judge(provider(jurisdictions=("KZ",), declared=stale), req, Q2)
    assert old.outcome is Outcome.INSUFFICIENT_DATA and old.evidence["age_days"] == 400


def test_score_older_than_a_year_is_insufficient_data():
    rule = C["strat.reputation"]
    as_of = Q2.end.date()  # 2026-07-01

    def with_age(days: int, score: float = 4) -> CriterionResult:
        s = Score(score, "survey", as_of - timedelta(days=days))
        return rule.judge(provider(scores={"reputation": (s,)}), "reputation", Q2)

    assert with_age(365).outcome is Outcome.MET and with_age(365).evidence["age_days"] == 365
    old = with_age(366)
    assert old.outcome is Outcome.INSUFFICIENT_DATA and old.evidence["source"] == "survey"
    assert with_age(10, score=2.9).outcome is Outcome.NOT_MET
    assert with_age(10, score=3).outcome is Outcome.MET


def test_score_dated_after_the_quarter_is_ignored():
    rule = C["strat.roadmap"]
    scores = (Score(2, "old", date(2026, 3, 1)), Score(5, "after", date(2026, 7, 1)))
    result = rule.judge(provider(scores={"roadmap": scores}), "roadmap", Q2)
    assert result.outcome is Outcome.NOT_MET and result.evidence["source"] == "old"
    assert result.evidence["ignored_later_scores"][0]["source"] == "after"


def test_stability_needs_years_and_score():
    rule = C["strat.stability"]  # 5 years, score >= 3
    score = {"stability": (Score(4, "report", date(2026, 5, 1)),)}
    assert rule.judge(provider(founded=2021, scores=score), Q2).met
    young = rule.judge(provider(founded=2022, scores=score), Q2)
    assert young.outcome is Outcome.NOT_MET and young.evidence["years_in_business"] == 4
    assert rule.judge(provider(scores=score), Q2).outcome is Outcome.INSUFFICIENT_DATA


def test_months_between_and_lookback():
    assert months_between(date(2025, 11, 1), date(2026, 2, 1)) == [
        date(2025, 11, 1),
        date(2025, 12, 1),
        date(2026, 1, 1),
    ]
    assert Q1.lookback(12)[0] == date(2025, 4, 1) and len(Q1.lookback(12)) == 12

"""Strategic criteria (seed 02.04.04): strat.jurisdiction, strat.reputation,
strat.stability, strat.roadmap. Each is one class: its parameters, ``evaluate`` and how its
value reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from infra_review.criteria.evidence import Evidence
from infra_review.criteria.result import CriterionResult, Outcome
from infra_review.provider.criteria.base import (
    COMPARATOR,
    MAX_AGE,
    THRESHOLD,
    Context,
    Criterion,
    DeclaredEvidence,
    Param,
    outcome_of,
)
from infra_review.provider.inputs import ReviewWindow
from infra_review.provider.model import Provider, Requirements


class StratJurisdiction(Criterion):
    """Data centres in every jurisdiction the team requires (for example KZ)."""

    id = "strat.jurisdiction"
    unit, scale, shown_threshold, shown_comparator = "%", 100, 1.0, ">="
    group = "strategic"
    params = (
        Param("declared", str, "requirements.jurisdictions", "where the rule is declared"),
        MAX_AGE,
    )

    def evaluate(self, ctx: Context) -> CriterionResult:
        return self.judge(ctx.provider, ctx.requirements, ctx.window)

    @classmethod
    def observed_text(cls, result: CriterionResult) -> str:
        return "" if result.observed is None else f"{result.observed:.0%}"

    def judge(
        self, provider: Provider, requirements: Requirements, window: ReviewWindow
    ) -> CriterionResult:
        """Data centres in every jurisdiction the team requires (for example KZ for personal data)."""
        bounds = (window.start, window.end)
        required = list(requirements.jurisdictions)
        ev = JurisdictionEvidence(required=required, provider_jurisdictions=provider.jurisdictions)
        if provider.jurisdictions is None:
            ev.reason = "the provider's data-centre jurisdictions are not declared"
            return self.result(provider.id, Outcome.INSUFFICIENT_DATA, None, 1.0, bounds, ev)
        missing = ev.missing = [j for j in required if j not in provider.jurisdictions]
        for key, value in self.provenance(provider, "jurisdictions", window).items():
            setattr(ev, key, value)
        if ev.reason:
            return self.result(provider.id, Outcome.INSUFFICIENT_DATA, None, 1.0, bounds, ev)
        covered = (len(required) - len(missing)) / len(required) if required else 1.0
        return self.result(provider.id, outcome_of(not missing), covered, 1.0, bounds, ev)


@dataclass(kw_only=True)
class JurisdictionEvidence(DeclaredEvidence):
    """strat.jurisdiction's evidence: required and declared jurisdictions, those missing."""

    OPTIONAL = (*DeclaredEvidence.OPTIONAL, "missing")
    required: list[str]
    provider_jurisdictions: tuple[str, ...] | None
    missing: list[str] | None = None


@dataclass
class ScoreEvidence(Evidence):
    """A reviewer score's evidence: the latest score dated before the quarter's end, its
    source, date and age, and any later score that was left out."""

    OPTIONAL = ("ignored_later_scores", "score", "source", "date", "age_days", "reason")
    max_age_days: int
    as_of: str
    ignored_later_scores: list[dict[str, Any]] | None = None
    score: float | None = None
    source: str | None = None
    date: str | None = None
    age_days: int | None = None
    reason: str | None = None


@dataclass
class StabilityEvidence(ScoreEvidence):
    """strat.stability adds the years in business (always stored, null when unknown)."""

    founded: int | None = None
    min_years_in_business: int | None = None
    years_in_business: int | None = None


@dataclass(frozen=True)
class _ScorePick:
    evidence: ScoreEvidence
    score: float | None = None
    usable: bool = False


class _Scored(Criterion):
    """A criterion judged on a reviewer score with its source and date."""

    key = ""
    group = "strategic"
    unit = "/5"
    params = (COMPARATOR, THRESHOLD, MAX_AGE)

    @classmethod
    def observed_text(cls, result: CriterionResult) -> str:
        return "" if result.observed is None else f"{result.observed:g}/5"

    def pick_score(self, provider: Provider, key: str, window: ReviewWindow) -> _ScorePick:
        """The latest score dated before the window's end, usable if at most ``max_age_days`` old."""
        max_age = int(self.p["max_age_days"])
        as_of = window.end.date()
        scores = provider.scores.get(key, ())
        known = sorted((s for s in scores if s.date < as_of), key=lambda s: s.date)
        later = [s for s in scores if s.date >= as_of]
        evidence = ScoreEvidence(max_age, as_of.isoformat())
        if later:
            evidence.ignored_later_scores = [
                {"score": s.score, "source": s.source, "date": s.date.isoformat()} for s in later
            ]
        if not known:
            evidence.reason = f"no {key} score dated before {as_of}"
            return _ScorePick(evidence)
        latest = known[-1]
        age = (as_of - latest.date).days
        evidence.score, evidence.source = latest.score, latest.source
        evidence.date, evidence.age_days = latest.date.isoformat(), age
        if age > max_age:
            evidence.reason = f"the {key} score is {age} days old, older than {max_age} days"
            return _ScorePick(evidence, latest.score)
        return _ScorePick(evidence, latest.score, True)


class StratScore(_Scored):
    def evaluate(self, ctx: Context) -> CriterionResult:
        return self.judge(ctx.provider, self.key, ctx.window)

    def judge(self, provider: Provider, key: str, window: ReviewWindow) -> CriterionResult:
        """A reviewer score (reputation, roadmap) of at least 3 of 5, with its source and age."""
        bounds = (window.start, window.end)
        pick = self.pick_score(provider, key, window)
        if not pick.usable:
            return self.result(
                provider.id,
                Outcome.INSUFFICIENT_DATA,
                pick.score,
                self.threshold,
                bounds,
                pick.evidence,
            )
        return self.result(
            provider.id,
            outcome_of(self.compare(pick.score)),
            pick.score,
            self.threshold,
            bounds,
            pick.evidence,
        )


class StratReputation(StratScore):
    """A reviewer score of the provider's market reputation, at least 3 of 5."""

    id = "strat.reputation"
    key = "reputation"


class StratRoadmap(StratScore):
    """A reviewer score of the provider's roadmap, at least 3 of 5."""

    id = "strat.roadmap"
    key = "roadmap"


class StratStability(_Scored):
    """Years in business (at least ``min_years_in_business``) and a stability score of 3+."""

    id = "strat.stability"
    key = "stability"
    params = (*_Scored.params, Param("min_years_in_business", int, 5, "fewer years: not met"))

    def evaluate(self, ctx: Context) -> CriterionResult:
        return self.judge(ctx.provider, ctx.window)

    def judge(self, provider: Provider, window: ReviewWindow) -> CriterionResult:
        """Years in business (at least ``min_years_in_business``) and a stability score of 3+."""
        bounds = (window.start, window.end)
        min_years = int(self.p["min_years_in_business"])
        pick = self.pick_score(provider, "stability", window)
        years = window.end.date().year - provider.founded if provider.founded is not None else None
        evidence = StabilityEvidence(
            **vars(pick.evidence),
            founded=provider.founded,
            min_years_in_business=min_years,
            years_in_business=years,
        )
        if years is not None and years < min_years:
            evidence.reason = f"{years} years in business, fewer than {min_years}"
            return self.result(
                provider.id, Outcome.NOT_MET, pick.score, self.threshold, bounds, evidence
            )
        if years is None:
            evidence.reason = "founding year not declared"
            return self.result(
                provider.id,
                Outcome.INSUFFICIENT_DATA,
                pick.score,
                self.threshold,
                bounds,
                evidence,
            )
        if not pick.usable:
            return self.result(
                provider.id,
                Outcome.INSUFFICIENT_DATA,
                pick.score,
                self.threshold,
                bounds,
                evidence,
            )
        return self.result(
            provider.id,
            outcome_of(self.compare(pick.score)),
            pick.score,
            self.threshold,
            bounds,
            evidence,
        )


CRITERIA = (StratJurisdiction, StratReputation, StratStability, StratRoadmap)

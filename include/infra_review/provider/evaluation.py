"""Evaluate one provider review from evidence already read: every selected provider's
criteria through the registry, the scorecards and the recommendation. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from infra_review.criteria.result import CriterionResult, Outcome, json_safe
from infra_review.criteria.rules import CriteriaSet
from infra_review.fleet import Fleet
from infra_review.provider.costs import (
    ActualCost,
    Tco,
    actual_cost,
    compare_fleet,
    projected_tco,
)
from infra_review.provider.criteria import Context, Criterion, bind
from infra_review.provider.criteria.financial import FinPredictable, FinTco
from infra_review.provider.criteria.technical import TechSla
from infra_review.provider.inputs import InvoiceLine, ProbeCount, ReviewWindow, Ticket
from infra_review.provider.model import Probe, Provider, ProviderConfig
from infra_review.provider.money import Converter, Rate
from infra_review.provider.reconcile import reconcile
from infra_review.provider.scorecard import Recommendation, Scorecard, build_scorecard, recommend
from infra_review.quarter import Quarter

REVIEW_TYPE = "provider"


@dataclass(frozen=True)
class Evidence:
    """Everything the criteria read for one review, already filtered to the window."""

    invoices: list[InvoiceLine]
    rates: list[Rate]
    tickets: list[Ticket]
    probe_rows: list[tuple[str, str, int, int]]  # server, label, received, up


@dataclass(frozen=True)
class Evaluation:
    window: ReviewWindow
    scorecards: list[Scorecard]
    recommendation: Recommendation
    actual: dict[str, ActualCost]
    tco: dict[str, Tco]
    quality: dict[str, Any]
    criteria: dict[str, Criterion] = field(default_factory=dict, repr=False)

    @property
    def current(self) -> Scorecard:
        return self.scorecards[0]

    @property
    def results(self) -> list[CriterionResult]:
        return [r for card in self.scorecards for r in card.results.values()]

    def observed_text(self, r: CriterionResult) -> str:
        """The observed value in the unit its criterion reads in."""
        return self.criteria[r.criterion_id].observed_text(r)


@dataclass(frozen=True)
class ProviderReview:
    """What a review run produced; ``summary()`` is small enough for XCom."""

    quarter: Quarter
    evaluation: Evaluation
    config: ProviderConfig
    criteria: CriteriaSet
    run_key: str
    dry_run: bool
    run_id: int | None = None
    report_path: str | None = None
    superseded: list[int] = field(default_factory=list)
    followup_lines: list[str] = field(default_factory=list)  # lifecycle.confirm.summary_lines

    @property
    def decision(self) -> str:
        return self.evaluation.recommendation.decision

    def summary(self) -> dict[str, Any]:
        rec = self.evaluation.recommendation
        return json_safe(
            {
                "review_type": REVIEW_TYPE,
                "quarter": str(self.quarter),
                "decision": rec.decision,
                "current": rec.current,
                "recommended_provider": rec.chosen,
                "summary_en": rec.summary_en,
                "summary_ru": rec.summary_ru,
                "scorecards": [c.to_dict() for c in self.evaluation.scorecards],
                "run_id": self.run_id,
                "run_key": self.run_key,
                "superseded": self.superseded,
                "followup_lines": self.followup_lines,
                "report_path": self.report_path,
                "dry_run": self.dry_run,
                "criteria_version": self.criteria.version,
            }
        )

    def to_json(self) -> dict[str, Any]:
        """The summary plus every criterion result with its evidence (for ``--json``)."""
        out = self.summary()
        out["results"] = [r.to_record() for r in self.evaluation.results]
        out["quality"] = json_safe(self.evaluation.quality)
        out["options"] = json_safe(self.evaluation.recommendation.options)
        return out


def provider_probes(provider: Provider, fleet: Fleet) -> tuple[Probe, ...]:
    """The provider's probe series: as listed in providers.yaml, else every fleet server of it."""
    if provider.probes:
        return provider.probes
    return tuple(Probe(s.name) for s in fleet.servers.values() if s.provider == provider.id)


def lookback_months(criteria: CriteriaSet) -> int:
    bound = bind(criteria)
    return max(int(bound[c].p["lookback_months"]) for c in (FinTco.id, FinPredictable.id))


def probe_counts_for(
    rows: list[tuple[str, str, int, int]], probes, default_interval: dict[str, int]
) -> list[ProbeCount]:
    """Every series a provider's ``probes`` entries declare, with its probe interval; a
    declared probe with no sample in the window is kept with 0 received (issue 14: a silent
    series counts, with coverage 0), never dropped."""
    out: list[ProbeCount] = []
    seen: set[tuple[str, str]] = set()
    for probe in probes:
        interval = probe.interval_s or default_interval.get(probe.server, 60)
        found = False
        for server, label, received, up in rows:
            if probe.server == server and (probe.endpoint is None or probe.endpoint == label):
                found = True
                if (server, label) not in seen:
                    seen.add((server, label))
                    out.append(ProbeCount(server, label, received, up, interval))
        if not found:
            out.append(ProbeCount(probe.server, probe.endpoint or "", 0, 0, interval))
    return out


def evaluate(
    window: ReviewWindow,
    config: ProviderConfig,
    criteria: CriteriaSet,
    fleet: Fleet,
    selected: Sequence[Provider],
    evidence: Evidence,
) -> Evaluation:
    """Score every selected provider (the current one first) and recommend."""
    bound = bind(criteria)
    floor = float(criteria.defaults.get("coverage_floor", 0.90))
    converter = Converter(evidence.rates, config.reporting_currency)
    tco_c, pred_c = bound[FinTco.id], bound[FinPredictable.id]
    tco_months = window.lookback(int(tco_c.p["lookback_months"]))
    pred_months = window.lookback(int(pred_c.p["lookback_months"]))
    years = float(tco_c.p["amortisation_years"])
    req = config.requirements
    current = config.current_provider
    intervals = {s.name: s.scrape_interval_s for s in fleet.servers.values()}
    actual = {p.id: actual_cost(p.id, evidence.invoices, converter, tco_months) for p in selected}
    chart_months = window.lookback(max(len(tco_months), len(pred_months)))
    monthly = {
        p.id: actual_cost(p.id, evidence.invoices, converter, chart_months).by_month
        for p in selected
    }
    fleet_check = compare_fleet(
        current,
        reconcile(
            current, [ln for ln in evidence.invoices if ln.month in set(window.months)], converter
        ),
        list(fleet.names()),
        window.months,
        req,
        float(tco_c.p["usage_tolerance_pct"]),
    )
    tco: dict[str, Tco] = {}
    cards: list[Scorecard] = []
    quality: dict[str, Any] = {"coverage_floor": floor, "providers": {}}
    for p in selected:
        is_current = p.id == current.id
        if not is_current:
            tco[p.id] = projected_tco(
                p, req, converter, window.last_month, years, config.path, config.line_of
            )
        probes = probe_counts_for(evidence.probe_rows, provider_probes(p, fleet), intervals)
        ctx = Context(
            provider=p,
            is_current=is_current,
            window=window,
            requirements=req,
            invoices=evidence.invoices,
            converter=converter,
            tickets=evidence.tickets,
            probes=probes,
            coverage_floor=floor,
            current_cost=actual[current.id],
            tco=tco.get(p.id),
            fleet_check=fleet_check,
        )
        reference = {}
        if is_current:  # the alternatives' measure, not a criterion the current one scores on
            reference = {
                c.id: actual[p.id].evidence()
                for c in bound.values()
                if getattr(c, "reference_for_current", False)
            }
        results = [c.evaluate(ctx) for c in bound.values() if c.id not in reference]
        by_id = {r.criterion_id: r for r in results}
        annual = (
            (actual[p.id].annual if actual[p.id].by_month else None)
            if is_current
            else tco[p.id].annual
        )
        cards.append(
            build_scorecard(
                p.id,
                p.name,
                "current" if is_current else "alternative",
                results,
                [c.rule for c in bound.values()],
                req.weights,
                req.critical,
                reference=reference,
                annual_cost=annual,
                tco_ratio=by_id[FinTco.id].observed if FinTco.id in by_id else None,
                currency=config.reporting_currency,
                monthly_costs={f"{m:%Y-%m}": round(v, 2) for m, v in sorted(monthly[p.id].items())},
            )
        )
        quality["providers"][p.id] = {
            "invoice_months": len(actual[p.id].by_month),
            "tickets": sum(1 for t in evidence.tickets if t.provider == p.id),
            "probe_series": len(probes),
            "probe_coverage": by_id[TechSla.id].evidence.get("coverage"),
            "insufficient": [
                r.criterion_id for r in results if r.outcome is Outcome.INSUFFICIENT_DATA
            ],
        }
    quality["fleet"] = fleet_check
    quality["complete"] = not any(q["insufficient"] for q in quality["providers"].values())
    recommendation = recommend(cards[0], cards[1:])
    return Evaluation(window, cards, recommendation, actual, tco, quality, bound)

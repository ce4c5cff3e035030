"""Run the quarterly provider review: read the evidence, score every provider, recommend,
render the report and record it. The CLI and the ``provider_review`` DAG both call
``run_provider_review``, so what works on the command line works in Airflow.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra_review import clock
from infra_review.criteria.result import CriterionResult, Outcome, json_safe
from infra_review.criteria.rules import CriteriaSet, load_criteria
from infra_review.fleet import Fleet, load_fleet
from infra_review.provider import criteria as pc
from infra_review.provider.model import Probe, Provider, ProviderConfig, load_providers
from infra_review.provider.money import Converter, Rate
from infra_review.provider.scorecard import Recommendation, Scorecard, build_scorecard, recommend
from infra_review.quarter import Quarter

REVIEW_TYPE = "provider"


@dataclass(frozen=True)
class Evidence:
    """Everything the criteria read for one review, already filtered to the window."""

    invoices: list[pc.InvoiceLine]
    rates: list[Rate]
    tickets: list[pc.Ticket]
    probe_rows: list[tuple[str, str, int, int]]  # server, label, received, up


@dataclass(frozen=True)
class Evaluation:
    window: pc.ReviewWindow
    scorecards: list[Scorecard]
    recommendation: Recommendation
    actual: dict[str, pc.ActualCost]
    tco: dict[str, pc.Tco]
    quality: dict[str, Any]

    @property
    def current(self) -> Scorecard:
        return self.scorecards[0]

    @property
    def results(self) -> list[CriterionResult]:
        return [r for card in self.scorecards for r in card.results.values()]


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
    return max(
        int(criteria[c].params.get("lookback_months", 12)) for c in ("fin.tco", "fin.predictable")
    )


def evaluate(
    window: pc.ReviewWindow,
    config: ProviderConfig,
    criteria: CriteriaSet,
    fleet: Fleet,
    selected: Sequence[Provider],
    evidence: Evidence,
) -> Evaluation:
    """Score every selected provider (the current one first) and recommend. Pure: no I/O."""
    rules = {r.id: r for r in criteria.for_review(REVIEW_TYPE)}
    floor = float(criteria.defaults.get("coverage_floor", 0.90))
    converter = Converter(evidence.rates, config.reporting_currency)
    tco_rule = rules["fin.tco"]
    tco_months = window.lookback(int(tco_rule.params.get("lookback_months", 12)))
    pred_months = window.lookback(int(rules["fin.predictable"].params.get("lookback_months", 12)))
    years = float(tco_rule.params.get("amortisation_years", 3))
    req = config.requirements
    current = config.current_provider
    intervals = {s.name: s.scrape_interval_s for s in fleet.servers.values()}
    from infra_review.provider.store import probe_counts_for

    actual = {
        p.id: pc.actual_cost(p.id, evidence.invoices, converter, tco_months) for p in selected
    }
    chart_months = window.lookback(max(len(tco_months), len(pred_months)))
    monthly = {
        p.id: pc.actual_cost(p.id, evidence.invoices, converter, chart_months).by_month
        for p in selected
    }
    tco: dict[str, pc.Tco] = {}
    cards: list[Scorecard] = []
    quality: dict[str, Any] = {"coverage_floor": floor, "providers": {}}
    for p in selected:
        is_current = p.id == current.id
        if not is_current:
            tco[p.id] = pc.projected_tco(
                p, req, converter, window.last_month, years, config.path, config.line_of
            )
        probes = probe_counts_for(evidence.probe_rows, provider_probes(p, fleet), intervals)
        results = [
            pc.fin_tco(
                tco_rule, p, is_current=is_current, current=actual[current.id], tco=tco.get(p.id)
            ),
            pc.fin_predictable(
                rules["fin.predictable"], p.id, evidence.invoices, converter, pred_months
            ),
            pc.fin_transparency(rules["fin.transparency"], p, evidence.invoices, converter, window),
            pc.fin_hidden_fees(rules["fin.hidden_fees"], p, evidence.invoices, window),
            pc.tech_sla(rules["tech.sla"], p, probes, window, floor),
            pc.tech_modern(rules["tech.modern"], p, window),
            pc.tech_support(rules["tech.support"], p.id, evidence.tickets, window),
            pc.tech_automation(rules["tech.automation"], p, window),
            pc.strat_jurisdiction(rules["strat.jurisdiction"], p, req, window),
            pc.strat_score(rules["strat.reputation"], p, "reputation", window),
            pc.strat_stability(rules["strat.stability"], p, window),
            pc.strat_score(rules["strat.roadmap"], p, "roadmap", window),
        ]
        tco_result = results[0]
        if is_current:
            annual = actual[p.id].annual if actual[p.id].by_month else None
        else:
            annual = tco[p.id].annual
        cards.append(
            build_scorecard(
                p.id,
                p.name,
                "current" if is_current else "alternative",
                results,
                list(rules.values()),
                req.weights,
                req.critical,
                annual_cost=annual,
                tco_ratio=tco_result.observed,
                currency=config.reporting_currency,
                monthly_costs={f"{m:%Y-%m}": round(v, 2) for m, v in sorted(monthly[p.id].items())},
            )
        )
        sla = next(r for r in results if r.criterion_id == "tech.sla")
        quality["providers"][p.id] = {
            "invoice_months": len(actual[p.id].by_month),
            "tickets": sum(1 for t in evidence.tickets if t.provider == p.id),
            "probe_series": len(probes),
            "probe_coverage": sla.evidence.get("coverage"),
            "insufficient": [
                r.criterion_id for r in results if r.outcome is Outcome.INSUFFICIENT_DATA
            ],
        }
    quality["complete"] = not any(q["insufficient"] for q in quality["providers"].values())
    recommendation = recommend(cards[0], cards[1:])
    return Evaluation(window, cards, recommendation, actual, tco, quality)


def load_evidence(
    conn,
    window: pc.ReviewWindow,
    selected: Sequence[Provider],
    fleet: Fleet,
    months_back: int,
) -> Evidence:
    from infra_review.provider import store

    first = window.lookback(months_back)[0]
    end = window.end.date()
    ids = [p.id for p in selected]
    servers = sorted({probe.server for p in selected for probe in provider_probes(p, fleet)})
    return Evidence(
        invoices=store.read_invoices(conn, ids, first, end),
        rates=store.read_rates(conn, first, end),
        tickets=store.read_tickets(conn, ids, window.start, window.end),
        probe_rows=store.read_probe_counts(conn, servers, window.start, window.end),
    )


def run_provider_review(
    quarter: str | Quarter,
    providers: Sequence[str] | None = None,
    dry_run: bool = False,
    *,
    run_key: str | None = None,
    dag_id: str | None = None,
    dag_run_id: str | None = None,
    triggered_by: str | None = None,
    url: str | None = None,
    report_dir: Path | None = None,
    providers_path: Path | None = None,
    criteria_path: Path | None = None,
) -> ProviderReview:
    """Evaluate the quarter and, unless ``dry_run``, write the report, the decision record
    (superseding earlier runs of the same quarter) and the scorecards in one transaction."""
    from infra_review.store.db import connect

    quarter = quarter if isinstance(quarter, Quarter) else Quarter.parse(quarter)
    window = pc.ReviewWindow(quarter)
    fleet = load_fleet()
    criteria = load_criteria(criteria_path)
    config = load_providers(providers_path, fleet=fleet)
    selected = config.select(providers)
    run_key = run_key or f"cli:{clock.now():%Y%m%dT%H%M%SZ}:{uuid.uuid4().hex[:8]}"
    with connect(url) as conn:
        evidence = load_evidence(conn, window, selected, fleet, lookback_months(criteria))
        evaluation = evaluate(window, config, criteria, fleet, selected, evidence)
        review = ProviderReview(quarter, evaluation, config, criteria, run_key, dry_run)
        if dry_run:
            conn.rollback()
            return review
        from infra_review.provider.report import render_report
        from infra_review.reporting.catalog import sync_criteria
        from infra_review.reporting.links import report_dir as run_report_dir
        from infra_review.store.decisions import ReviewRun, record_review

        out_dir = report_dir or run_report_dir(REVIEW_TYPE, str(quarter), run_key)
        report_path = render_report(review, out_dir)
        run = ReviewRun(
            review_type=REVIEW_TYPE,
            quarter=str(quarter),
            window_start=window.start,
            window_end=window.end,
            run_key=run_key,
            criteria_version=criteria.version,
            criteria_sha256=criteria.sha256,
            dag_id=dag_id,
            dag_run_id=dag_run_id,
            triggered_by=triggered_by,
            quality_verdict=evaluation.quality,
            inputs={
                "providers_yaml": {
                    "path": config.path,
                    "sha256": config.sha256,
                    "version": config.version,
                },
                "providers": [p.id for p in selected],
                "current": config.current,
                "reporting_currency": config.reporting_currency,
                "requirements": {
                    "jurisdictions": list(config.requirements.jurisdictions),
                    "critical": list(config.requirements.critical),
                    "weights": config.requirements.weights,
                    "traffic_tb_per_month": config.requirements.traffic_tb_per_month,
                    "storage_gb": config.requirements.storage_gb,
                },
                "fleet_yaml": fleet.path,
                "invoice_lines": len(evidence.invoices),
                "tickets": len(evidence.tickets),
                "probe_series": len(evidence.probe_rows),
            },
            report_path=str(report_path),
        )
        sync_criteria(conn, criteria)  # the criteria texts the reporting views join to
        recorded = record_review(conn, run, [decision_record(evaluation, config)])
        from infra_review.provider.store import write_scorecards

        write_scorecards(
            conn,
            recorded.run_id,
            str(quarter),
            evaluation.scorecards,
            evaluation.recommendation.chosen,
        )
    return ProviderReview(
        quarter,
        evaluation,
        config,
        criteria,
        run_key,
        dry_run,
        run_id=recorded.run_id,
        report_path=str(report_path),
        superseded=recorded.superseded,
    )


def decision_record(evaluation: Evaluation, config: ProviderConfig):
    """The MADR-style record: one per quarter, about the current provider."""
    from infra_review.store.decisions import DecisionRecord

    rec = evaluation.recommendation
    window = evaluation.window
    return DecisionRecord(
        subject_kind="provider",
        subject=rec.current,
        decision=rec.decision,
        summary_en=rec.summary_en,
        summary_ru=rec.summary_ru,
        context={
            "subject": rec.current,
            "quarter": str(window.quarter),
            "window": [window.start.isoformat(), window.end.isoformat()],
            "providers_considered": [c.provider for c in evaluation.scorecards],
            "reporting_currency": config.reporting_currency,
            "data_quality": evaluation.quality,
            "recommended_provider": rec.chosen,
            "qualifying": rec.qualifying,
            "scorecards": [c.to_dict() for c in evaluation.scorecards],
        },
        drivers=rec.drivers,
        options=rec.options,
        confirmation=rec.confirmation,
        results=evaluation.results,
    )

"""Run the quarterly provider review: plan, read the evidence, evaluate, write the report
and record it. The CLI, the demo and the ``provider_review`` DAG all call
``run_provider_review``, so what works on the command line works in Airflow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from infra_review.criteria.rules import load_criteria
from infra_review.fleet import Fleet, load_fleet
from infra_review.provider.config import load_providers
from infra_review.provider.criteria import bind
from infra_review.provider.evaluation import (
    REVIEW_TYPE,
    Evaluation,
    Evidence,
    ProviderReview,
    evaluate,
    lookback_months,
    provider_probes,
)
from infra_review.provider.inputs import ReviewWindow
from infra_review.provider.model import Provider, ProviderConfig
from infra_review.quarter import Quarter
from infra_review.reviewing.plumbing import RunRequest, connection, record, review_run

__all__ = [
    "REVIEW_TYPE",
    "ProviderReview",
    "check_inputs",
    "run_plan",
    "run_provider_review",
    "run_review",
]


def check_inputs(providers: Sequence[str] | None = None) -> dict[str, Any]:
    """Validate providers.yaml against fleet.yaml, and criteria.yaml's provider entries,
    before any data is read; InputError names the file, line and field."""
    config = load_providers(fleet=load_fleet())
    selected = config.select(providers)
    criteria = load_criteria()
    bind(criteria)
    return {
        "current": config.current,
        "providers": [p.id for p in selected],
        "providers_version": config.version,
        "criteria_version": criteria.version,
    }


def load_evidence(
    conn,
    window: ReviewWindow,
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
    **options: Any,
) -> ProviderReview:
    """``run_review`` for a quarter given as text (the CLI's and the tests' entry)."""
    request = RunRequest.make(
        quarter,
        dry_run=dry_run,
        run_key=run_key,
        dag_id=dag_id,
        dag_run_id=dag_run_id,
        triggered_by=triggered_by,
    )
    return run_review(request, providers, **options)


def run_plan(plan: dict[str, Any], **options: Any) -> ProviderReview:
    """``run_review`` for the dict the DAG's ``resolve`` task returns (a RunRequest plus the
    providers)."""
    return run_review(RunRequest.from_dict(plan), plan.get("providers") or None, **options)


def run_review(
    request: RunRequest,
    providers: Sequence[str] | None = None,
    *,
    url: str | None = None,
    report_dir: Path | None = None,
    providers_path: Path | None = None,
    criteria_path: Path | None = None,
) -> ProviderReview:
    """plan -> evaluate -> write -> report: evaluate the quarter and, unless a dry run, write
    the report, the decision record (superseding earlier runs of the same quarter) and the
    scorecards in one transaction."""
    quarter = request.window
    window = ReviewWindow(quarter)
    fleet = load_fleet()
    criteria = load_criteria(criteria_path)
    config = load_providers(providers_path, fleet=fleet)
    selected = config.select(providers)
    from infra_review.lifecycle.confirm import summary_lines

    with connection(url) as conn:
        evidence = load_evidence(conn, window, selected, fleet, lookback_months(criteria))
        evaluation = evaluate(window, config, criteria, fleet, selected, evidence)
        review = ProviderReview(
            quarter, evaluation, config, criteria, request.run_key, request.dry_run
        )
        if request.dry_run:
            conn.rollback()
            return review
        from infra_review.provider.report import render_report
        from infra_review.provider.store import write_scorecards
        from infra_review.reporting.links import report_dir as run_report_dir

        out_dir = report_dir or run_report_dir(REVIEW_TYPE, str(quarter), request.run_key)
        report_path = render_report(review, out_dir)
        run = review_run(
            REVIEW_TYPE,
            request,
            criteria_version=criteria.version,
            criteria_sha256=criteria.sha256,
            quality_verdict=evaluation.quality,
            inputs=review_inputs(config, fleet, selected, evidence),
            report_path=str(report_path),
        )
        recorded = record(conn, run, [decision_record(evaluation, config)], criteria)
        write_scorecards(
            conn,
            recorded.run_id,
            str(quarter),
            evaluation.scorecards,
            evaluation.recommendation.chosen,
        )
    return replace(
        review,
        run_id=recorded.run_id,
        report_path=str(report_path),
        superseded=recorded.superseded,
        followup_lines=summary_lines(recorded.followups, recorded.unchanged_of),
    )


def review_inputs(
    config: ProviderConfig, fleet: Fleet, selected: Sequence[Provider], evidence: Evidence
) -> dict[str, Any]:
    """What the review read, for the review run's ``inputs``."""
    req = config.requirements
    return {
        "providers_yaml": {"path": config.path, "sha256": config.sha256, "version": config.version},
        "providers": [p.id for p in selected],
        "current": config.current,
        "reporting_currency": config.reporting_currency,
        "requirements": {
            "jurisdictions": list(req.jurisdictions),
            "critical": list(req.critical),
            "weights": req.weights,
            "traffic_tb_per_month": req.traffic_tb_per_month,
            "storage_gb": req.storage_gb,
        },
        "fleet_yaml": fleet.path,
        "invoice_lines": len(evidence.invoices),
        "tickets": len(evidence.tickets),
        "probe_series": len(evidence.probe_rows),
    }


def decision_record(evaluation: Evaluation, config: ProviderConfig):
    """The MADR-style record: one per quarter, about the current provider."""
    from infra_review.capacity.sizing import size_provider_move
    from infra_review.store.decisions import DecisionRecord

    rec = evaluation.recommendation
    window = evaluation.window
    cards = [c.to_dict() for c in evaluation.scorecards]
    # issue 17 (helper I): migrate / evaluate_migration name the yearly cost difference
    moves = size_provider_move(
        cards, rec.current, rec.chosen, rec.decision, config.reporting_currency
    )
    return DecisionRecord(
        subject_kind="provider",
        subject=rec.current,
        decision=rec.decision,
        summary_en=rec.summary_en + "".join(f" {m['text_en']}." for m in moves),
        summary_ru=rec.summary_ru + "".join(f" {m['text_ru']}." for m in moves),
        context={
            "subject": rec.current,
            "quarter": str(window.quarter),
            "window": [window.start.isoformat(), window.end.isoformat()],
            "providers_considered": [c.provider for c in evaluation.scorecards],
            "reporting_currency": config.reporting_currency,
            "data_quality": evaluation.quality,
            "recommended_provider": rec.chosen,
            "qualifying": rec.qualifying,
            "scorecards": cards,
            "sizing": moves,
        },
        drivers=rec.drivers,
        options=rec.options,
        confirmation=rec.confirmation,
        results=evaluation.results,
    )

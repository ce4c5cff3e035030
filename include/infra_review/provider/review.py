"""Run the quarterly provider review: plan, read the evidence, evaluate, write the report
and record it. The CLI, the demo and the ``provider_review`` DAG all call
``run_provider_review``, so what works on the command line works in Airflow.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from infra_review import clock
from infra_review.criteria.rules import load_criteria
from infra_review.fleet import Fleet, load_fleet
from infra_review.provider.config import load_providers
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

__all__ = ["REVIEW_TYPE", "ProviderPlan", "ProviderReview", "check_inputs", "run_provider_review"]


@dataclass(frozen=True)
class ProviderPlan:
    """One review request: what the DAG's first task resolves and the next tasks read (a
    plain dict through XCom), and what the CLI builds from its arguments."""

    quarter: str
    providers: list[str] = field(default_factory=list)
    dry_run: bool = False
    run_key: str | None = None
    dag_id: str | None = None
    dag_run_id: str | None = None
    triggered_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProviderPlan:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def check_inputs(plan: ProviderPlan) -> dict[str, Any]:
    """Validate providers.yaml against fleet.yaml, and criteria.yaml's provider entries,
    before any data is read; InputError names the file, line and field."""
    from infra_review.provider.criteria import bind

    config = load_providers(fleet=load_fleet())
    selected = config.select(plan.providers)
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
    url: str | None = None,
    report_dir: Path | None = None,
    providers_path: Path | None = None,
    criteria_path: Path | None = None,
) -> ProviderReview:
    """Evaluate the quarter and, unless ``dry_run``, write the report, the decision record
    (superseding earlier runs of the same quarter) and the scorecards in one transaction."""
    from infra_review.store.db import connect

    quarter = quarter if isinstance(quarter, Quarter) else Quarter.parse(quarter)
    window = ReviewWindow(quarter)
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

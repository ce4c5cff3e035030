"""
### Provider review (quarterly)

Scores the current hosting provider and every alternative in `include/config/providers.yaml`
against the twelve criteria of seed section 02.04.04 ("Бизнес-критерии миграции провайдера":
`fin.*`, `tech.*`, `strat.*` in `include/config/criteria.yaml`) and records a decision:
`stay`, `evaluate_migration` or `migrate`, with a scorecard per provider and the evidence.

Evidence: invoices, exchange rates and support tickets (`infra-review import invoices|rates|tickets`),
`probe_up` samples from the collectors, and the declared facts in providers.yaml.

**Params** (used by manual runs; a scheduled run reviews the quarter that just ended, so the
run on 1 April reviews Q1)
- `quarter`: for example `2026Q3`; the default is the last full quarter, and a quarter that
  has not ended is refused.
- `providers`: alternatives to consider (empty: all); the current provider is always scored.
- `dry_run`: evaluate and log the result, write nothing.

A rerun for the same quarter supersedes the earlier decision and keeps it in the history; a retry
of the same run overwrites its own rows. The report (one self-contained HTML file, Russian and English,
with the scorecards side by side and the monthly cost chart embedded) is written under the data
folder; the review run, this run's XCom and the "Capacity decisions" page link it, and the task
log prints its URL.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Param, dag, task

from quarterly_review import config_choices, dry_run_param, quarter_param, review_dag_args


@dag(
    dag_id="provider_review",
    doc_md=__doc__,
    **review_dag_args(
        "provider", retries=2, retry_delay=timedelta(minutes=2), timeout=timedelta(minutes=20)
    ),
    params={
        "quarter": quarter_param(),
        "providers": Param(
            None,
            type=["null", "array"],
            items={"type": "string", "pattern": r"^[a-z0-9][a-z0-9._-]{0,62}$"},
            title="Alternatives",
            description="Providers from providers.yaml to compare with the current one. "
            "Empty: every alternative.",
            **config_choices("providers.yaml", "providers", "id", skip="current"),
        ),
        "dry_run": dry_run_param("Evaluate and log the decision without writing anything."),
    },
)
def provider_review():
    @task
    def resolve(params=None, dag_run=None, data_interval_start=None) -> dict:
        """Which quarter, which providers, and the run key a retry reuses."""
        from airflow.sdk.exceptions import AirflowFailException

        from infra_review.errors import InputError
        from infra_review.quarter import quarter_for_run

        try:
            quarter = quarter_for_run(
                params.get("quarter"),
                data_interval_start,
                dag_run.run_after,
                manual=dag_run.run_type == "manual",
            )
        except InputError as exc:
            raise AirflowFailException(str(exc)) from exc
        return {
            "quarter": str(quarter),
            "providers": list(params.get("providers") or []),
            "dry_run": bool(params.get("dry_run")),
            "run_key": dag_run.run_id,
            "dag_id": dag_run.dag_id,
            "triggered_by": dag_run.triggering_user_name
            or str(getattr(dag_run.run_type, "value", dag_run.run_type)),
        }

    @task
    def check_inputs(plan: dict) -> dict:
        """Validate providers.yaml against fleet.yaml and criteria.yaml before reading data.
        Bad input fails the task without retries: retrying does not fix a file."""
        from airflow.sdk.exceptions import AirflowFailException

        from infra_review.criteria.rules import load_criteria
        from infra_review.errors import InputError
        from infra_review.fleet import load_fleet
        from infra_review.provider.config import load_providers

        try:
            config = load_providers(fleet=load_fleet())
            selected = config.select(plan["providers"])
            criteria = load_criteria()
        except InputError as exc:
            raise AirflowFailException(str(exc)) from exc
        return {
            "current": config.current,
            "providers": [p.id for p in selected],
            "providers_version": config.version,
            "criteria_version": criteria.version,
        }

    @task
    def review(plan: dict, checked: dict) -> dict:
        """Evaluate, render the report and record the decision in one transaction."""
        import logging

        from airflow.sdk.exceptions import AirflowFailException

        from infra_review.errors import InputError
        from infra_review.provider.review import run_provider_review

        try:
            result = run_provider_review(
                plan["quarter"],
                plan["providers"],
                dry_run=plan["dry_run"],
                run_key=plan["run_key"],
                dag_id=plan["dag_id"],
                dag_run_id=plan["run_key"],
                triggered_by=plan["triggered_by"],
            )
        except InputError as exc:
            raise AirflowFailException(str(exc)) from exc
        from infra_review.reporting.links import decisions_page_url, report_url

        summary = result.summary()
        log = logging.getLogger("airflow.task")
        log.info("%s %s: %s", summary["quarter"], summary["decision"], summary["summary_en"])
        if summary.get("report_path"):  # none on a dry run
            log.info("Report: %s", report_url(summary["report_path"]) or summary["report_path"])
            log.info("Decisions page: %s", decisions_page_url())
        log.info("RU: %s", summary["summary_ru"])
        for card in summary["scorecards"]:
            log.info(
                "%-24s %-11s total %6.1f  %s",
                card["provider"],
                card["role"],
                card["weighted_total"],
                card["outcomes"],
            )
        return summary

    plan = resolve()
    review(plan, check_inputs(plan))


provider_review()

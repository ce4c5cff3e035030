"""
### Provider review (quarterly)

Scores the current provider and the alternatives in `providers.yaml` (seed 02.04.04):
`stay`, `evaluate_migration`, `migrate`, or `insufficient_data` when a critical input of the
current provider is missing. `resolve` -> `check_inputs` -> `review` (evaluate, report,
record; a rerun supersedes) -> `notify`. Rule, params, evidence: `docs/provider-review.md`.
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
            description="Providers to compare with the current one (empty: all of them).",
            **config_choices("providers.yaml", "providers", "id", skip="current"),
        ),
        "dry_run": dry_run_param("Evaluate and log the decision without writing anything."),
    },
)
def provider_review():
    @task
    def resolve(params=None, dag_run=None, data_interval_start=None) -> dict:
        """Which quarter and providers, and the run key a retry reuses."""
        from infra_review.airflow import run_request

        request = run_request(params, dag_run, data_interval_start)
        return {**request.to_dict(), "providers": list((params or {}).get("providers") or [])}

    @task
    def check_inputs(plan: dict) -> dict:
        """providers.yaml, fleet.yaml, criteria.yaml; a bad file fails without retries."""
        from infra_review.airflow import failing_on_bad_input
        from infra_review.provider.review import check_inputs

        with failing_on_bad_input():
            return check_inputs(plan["providers"])

    @task
    def review(plan: dict, checked: dict) -> dict:
        """Evaluate, render the report and record the decision in one transaction."""
        from infra_review.airflow import failing_on_bad_input, log_summary
        from infra_review.provider.review import run_plan
        from infra_review.provider.text import summary_lines

        with failing_on_bad_input():
            result = run_plan(plan)
        log_summary(summary_lines(result))
        return result.summary()

    @task
    def notify(summary: dict) -> dict:
        """One message (RU+EN) to the team if the review asks for action; never fails."""
        from infra_review.notify import notify_review

        return notify_review(summary.get("run_id"))

    plan = resolve()
    notify(review(plan, check_inputs(plan)))


provider_review()

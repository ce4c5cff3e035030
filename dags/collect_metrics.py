"""
### Collect metrics

Every 5 minutes, each server's metrics for exactly the run's data interval from the sources
in `include/config/fleet.yaml`, one mapped task per (server, source); each batch passes the
quality gate (failures go to `infra_review.quarantine`) and merges idempotently into
PostgreSQL. Updates the `metrics` Asset. Details: `docs/collect-metrics.md`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import Asset, DeltaDataIntervalTimetable, dag, task

METRICS = Asset(name="metrics", uri="infra-review://samples")


@dag(
    dag_id="collect_metrics",
    schedule=DeltaDataIntervalTimetable(timedelta(minutes=5)),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=3,
    tags=["infra-review", "collect"],
    doc_md=__doc__,
    default_args={
        "owner": "infra-team",
        "retries": 3,
        "retry_delay": timedelta(seconds=20),
        "retry_exponential_backoff": True,
        "execution_timeout": timedelta(minutes=4),
    },
)
def collect_metrics():
    @task
    def plan_jobs() -> list[dict]:
        """One job per (server, source) from fleet.yaml."""
        from infra_review.collect import plan_jobs as plan

        return plan()

    @task(
        map_index_template="{{ job.server }} / {{ job.source.get('name') or job.source.type }}",
    )
    def collect(job: dict, data_interval_start=None, data_interval_end=None) -> dict:
        """Pull exactly the run's data interval for one server and source, gate it, merge it."""
        from infra_review.airflow import log_collect
        from infra_review.collect import run_job

        return log_collect(run_job(job, data_interval_start, data_interval_end))

    @task(outlets=[METRICS])
    def publish(results: list[dict], outlet_events=None) -> dict:
        """Update the metrics Asset with what this interval loaded."""
        from infra_review.airflow import collect_totals

        outlet_events[METRICS].extra = totals = collect_totals(list(results))
        return totals

    publish(collect.expand(job=plan_jobs()))


collect_metrics()

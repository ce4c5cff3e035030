"""
### Collect metrics

Every 5 minutes, collect each server's metrics for exactly the run's data interval from the
sources configured in `include/config/fleet.yaml` (Prometheus, n8n's Redis queue, HTTP
probes, CSV exports, and this machine via psutil; complaints and the planned-services
register under `fleet_sources`), and merge them into the metric store in PostgreSQL.
One mapped task per (server, source), so Celery workers share the work.

Each batch passes the **quality gate** (Great Expectations, one context per task): rows that
fail (NaN, out of range, outside the interval or in the future, duplicate, wrong cadence)
go to `infra_review.quarantine` with the expectation that failed; the rest load. The
validation results are stored in `infra_review.quality_results` and rendered to GX Data
Docs under `$AIRFLOW_HOME/gx_data_docs` (the task log links the pages).

A retry or an overlapping run never duplicates a sample: samples are unique per (series,
timestamp), loaded by COPY into staging then merged, and quarantine rows are replaced per
batch, all in one transaction. An unreachable source is retried with backoff, then the
task fails and writes nothing. Backfill a past interval with `airflow dags backfill` or
`infra-review collect --from ... --to ...`.

Updates the `metrics` Asset, which the reviews read.
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
        import logging

        from infra_review.collect import run_job
        from infra_review.reporting.links import data_docs_url

        log = logging.getLogger("airflow.task")
        result = run_job(job, data_interval_start, data_interval_end)
        for suite, url in (result.get("data_docs") or {}).items():
            # a URL the decisions page serves; a file:// link does not open from a browser
            log.info("GX Data Docs (%s): %s", suite, data_docs_url(url) or url)
        if result.get("rows_quarantined"):
            log.warning(
                "%s row(s) quarantined: see infra_review.quarantine", result["rows_quarantined"]
            )
        return result

    @task(outlets=[METRICS])
    def publish(results: list[dict], outlet_events=None) -> dict:
        """Update the metrics Asset with what this interval loaded."""
        totals = {
            "jobs": len(results),
            "rows_in": sum(r["rows_in"] for r in results),
            "rows_written": sum(r["rows_written"] for r in results),
            "rows_quarantined": sum(r.get("rows_quarantined", 0) for r in results),
            "gate_failed": sorted(
                r["batch_key"] for r in results if not r.get("quality_success", True)
            ),
        }
        outlet_events[METRICS].extra = totals
        return totals

    publish(collect.expand(job=plan_jobs()))


collect_metrics()

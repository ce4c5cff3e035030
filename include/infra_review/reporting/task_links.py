"""The links a review task shows as Airflow extra links (plugins/review_links.py): the
run's report and the decisions page. Only the review DAGs' tasks get them; the report link
is looked up by the task's DAG run in ``review_runs`` (none until the run has written it).
"""

from __future__ import annotations

from infra_review.reporting.links import PLUGIN_PREFIX, report_href

REVIEW_DAGS = ("capacity_review", "provider_review")
REPORT_LINK = "Review report"
DECISIONS_LINK = "Decisions page"


def applies(dag_id: str | None) -> bool:
    return dag_id in REVIEW_DAGS


def decisions_href(dag_id: str | None) -> str:
    """The decisions page, filtered to the review the DAG makes."""
    if not applies(dag_id):
        return ""
    review = "capacity" if dag_id == "capacity_review" else "provider"
    return f"{PLUGIN_PREFIX}/?type={review}"


def report_link(conn, dag_id: str | None, run_id: str | None) -> str:
    """The report of the review run this DAG run wrote, or "" (not a review, or no report)."""
    if not applies(dag_id) or not run_id:
        return ""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT report_path FROM infra_review.review_runs
               WHERE dag_id = %s AND dag_run_id = %s AND report_path IS NOT NULL
               ORDER BY run_id DESC LIMIT 1""",
            (dag_id, run_id),
        )
        row = cur.fetchone()
    return (report_href(row[0]) or "") if row else ""

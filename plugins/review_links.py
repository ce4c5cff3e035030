"""Airflow 3 plugin: the review report and the decisions page as extra links on the review
DAGs' tasks (global operator extra links: TaskFlow tasks have no operator class of their
own to attach them to). The API server asks ``get_link`` when the task's page is shown; a
task of another DAG, or a run that wrote no report yet, gets an empty link (shown disabled).

Every project import is inside ``get_link``: plugin modules are imported by every component.
"""

from __future__ import annotations

import logging

from airflow.plugins_manager import AirflowPlugin
from airflow.sdk import BaseOperatorLink

log = logging.getLogger(__name__)


class ReviewReportLink(BaseOperatorLink):
    """The report this review run wrote (served by the Capacity decisions plugin)."""

    name = "Review report"

    def get_link(self, operator, *, ti_key) -> str:
        from infra_review.reporting.task_links import report_link
        from infra_review.store.db import connect

        if getattr(operator, "dag_id", None) not in ("capacity_review", "provider_review"):
            return ""
        try:
            with connect() as conn:
                return report_link(conn, operator.dag_id, ti_key.run_id)
        except Exception:  # noqa: BLE001 - a link is never worth a failed page
            log.exception("could not look up the review report of %s", ti_key)
            return ""


class DecisionsPageLink(BaseOperatorLink):
    """The current decisions of the review the DAG makes."""

    name = "Decisions page"

    def get_link(self, operator, *, ti_key) -> str:
        from infra_review.reporting.task_links import decisions_href

        return decisions_href(getattr(operator, "dag_id", None))


class ReviewLinksPlugin(AirflowPlugin):
    name = "review_links"
    global_operator_extra_links = [ReviewReportLink(), DecisionsPageLink()]

"""The only module of the package that knows Airflow: what a review DAG's tasks share.

Imported inside tasks (never at DAG parse time). It resolves the run request from the
params and the dag run, turns bad input into ``AirflowFailException`` (a retry cannot fix
it), and logs the human summary lines to the task log.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from infra_review.errors import InputError
from infra_review.reviewing.plumbing import RunRequest

log = logging.getLogger("airflow.task")


@contextmanager
def failing_on_bad_input() -> Iterator[None]:
    """Inside the block, an InputError fails the task at once, without retries."""
    from airflow.sdk.exceptions import AirflowFailException

    try:
        yield
    except InputError as exc:
        raise AirflowFailException(str(exc)) from exc


def run_request(params: Any, dag_run: Any, data_interval_start: Any = None) -> RunRequest:
    """The quarter (``quarter_for_run``: the param on a manual run, else the data interval),
    ``dry_run`` and the provenance of this dag run; bad input fails the task."""
    from infra_review.lifecycle.triggered import triggered_by
    from infra_review.quarter import quarter_for_run

    params = params or {}
    with failing_on_bad_input():
        quarter = quarter_for_run(
            params.get("quarter"),
            data_interval_start,
            dag_run.run_after,
            manual=dag_run.run_type == "manual",
        )
        return RunRequest.make(
            quarter,
            dry_run=bool(params.get("dry_run")),
            run_key=dag_run.run_id,
            dag_id=dag_run.dag_id,
            dag_run_id=dag_run.run_id,
            triggered_by=triggered_by(
                dag_run.run_type, getattr(dag_run, "triggering_user_name", None)
            ),
        )


def log_summary(lines: str | Iterable[str]) -> None:
    """One log line per line of the human summary (the same text the CLI prints)."""
    for line in [lines] if isinstance(lines, str) else lines:
        log.info("%s", line)


def log_collect(result: dict[str, Any]) -> dict[str, Any]:
    """A collect job's log lines: its Data Docs pages as URLs the decisions page serves (a
    ``file://`` link does not open from a browser) and any quarantined rows."""
    from infra_review.reporting.links import data_docs_url

    for suite, url in (result.get("data_docs") or {}).items():
        log.info("GX Data Docs (%s): %s", suite, data_docs_url(url) or url)
    if result.get("rows_quarantined"):
        log.warning(
            "%s row(s) quarantined: see infra_review.quarantine", result["rows_quarantined"]
        )
    return result


def collect_totals(results: list[dict[str, Any]]) -> dict[str, Any]:
    """What one collect interval loaded, for the ``metrics`` Asset event."""
    return {
        "jobs": len(results),
        "rows_in": sum(r["rows_in"] for r in results),
        "rows_written": sum(r["rows_written"] for r in results),
        "rows_quarantined": sum(r.get("rows_quarantined", 0) for r in results),
        "gate_failed": sorted(
            r["batch_key"] for r in results if not r.get("quality_success", True)
        ),
    }

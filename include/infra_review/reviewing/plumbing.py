"""The plumbing both reviews share: the run request, run key, connection, review run record
and the write that supersedes an earlier run of the same quarter.

Small on purpose: a review module builds its own decisions and inputs; this module only
turns them into rows the same way for every review type.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from infra_review import clock
from infra_review.quarter import Quarter

if TYPE_CHECKING:
    from infra_review.criteria.rules import CriteriaSet
    from infra_review.store.decisions import DecisionRecord, RecordedReview, ReviewRun


def new_run_key(source: str = "cli") -> str:
    """A run key for a run that Airflow did not start: ``cli:20261102T080000Z:1a2b3c4d``
    (a DAG run uses its run id, so a task retry reuses the key and overwrites its rows)."""
    return f"{source}:{clock.now():%Y%m%dT%H%M%SZ}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class RunRequest:
    """Who asked for which review: the same fields from the CLI, the demo and a DAG run."""

    quarter: str
    dry_run: bool = False
    run_key: str = ""
    dag_id: str | None = None
    dag_run_id: str | None = None
    triggered_by: str | None = None

    @classmethod
    def make(
        cls,
        quarter: str | Quarter,
        *,
        dry_run: bool = False,
        run_key: str | None = None,
        dag_id: str | None = None,
        dag_run_id: str | None = None,
        triggered_by: str | None = None,
    ) -> RunRequest:
        """Validate the quarter (InputError) and give a CLI run its own key."""
        q = quarter if isinstance(quarter, Quarter) else Quarter.parse(quarter)
        return cls(
            str(q), bool(dry_run), run_key or new_run_key(), dag_id, dag_run_id, triggered_by
        )

    @property
    def window(self) -> Quarter:
        return Quarter.parse(self.quarter)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> RunRequest:
        return cls(**{k: doc.get(k) for k in cls.__dataclass_fields__})


@contextmanager
def connection(url: str | None = None, conn=None) -> Iterator[Any]:
    """The caller's connection (its transaction), or a new one that commits on success."""
    if conn is not None:
        yield conn
        return
    from infra_review.store.db import connect

    with connect(url) as own:
        yield own


def review_run(
    review_type: str,
    request: RunRequest,
    *,
    criteria_version: str,
    criteria_sha256: str,
    quality_verdict: dict[str, Any],
    inputs: dict[str, Any],
    report_path: str | None,
    read_marker: dict[str, Any] | None = None,
) -> ReviewRun:
    """The review run row: window from the quarter, provenance from the request, and the
    read marker taken before the review read its inputs (None: as of the write's start)."""
    from infra_review.store.decisions import ReviewRun

    quarter = request.window
    return ReviewRun(
        review_type=review_type,
        quarter=str(quarter),
        window_start=quarter.start,
        window_end=quarter.end,
        run_key=request.run_key,
        criteria_version=criteria_version,
        criteria_sha256=criteria_sha256,
        dag_id=request.dag_id,
        dag_run_id=request.dag_run_id,
        triggered_by=request.triggered_by,
        quality_verdict=quality_verdict,
        inputs=inputs,
        report_path=report_path,
        read_marker=read_marker,
    )


def record(
    conn, run: ReviewRun, decisions: Sequence[DecisionRecord], criteria: CriteriaSet
) -> RecordedReview:
    """Write the run and its decisions in the caller's transaction: the criteria texts the
    reporting views join to, then the records (a rerun of the quarter supersedes the
    earlier decisions and keeps them; a retry of the same run key overwrites its own)."""
    from infra_review.reporting.catalog import sync_criteria
    from infra_review.store.decisions import record_review

    sync_criteria(conn, criteria)
    return record_review(conn, run, list(decisions))

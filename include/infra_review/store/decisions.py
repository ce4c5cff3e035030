"""Decision records (ADR/MADR style) with their criterion results and evidence.

A rerun of the same review period supersedes the earlier records and keeps them, so the
history is never lost; a retry of the same run (same ``run_key``) overwrites its own rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from psycopg2.extras import Json

from infra_review.criteria.result import CriterionResult, json_safe

SUBJECT_KINDS = ("server", "fleet", "provider")


@dataclass(frozen=True)
class ReviewRun:
    review_type: str  # capacity | provider
    quarter: str
    window_start: datetime
    window_end: datetime
    run_key: str  # the dag run id, or a CLI run id; a retry reuses it
    criteria_version: str
    criteria_sha256: str
    dag_id: str | None = None
    dag_run_id: str | None = None
    triggered_by: str | None = None
    quality_verdict: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    report_path: str | None = None


@dataclass(frozen=True)
class DecisionRecord:
    subject_kind: str
    subject: str
    decision: str
    summary_en: str
    summary_ru: str
    context: dict[str, Any] = field(default_factory=dict)
    drivers: list[dict[str, Any]] = field(default_factory=list)
    options: list[dict[str, Any]] = field(default_factory=list)
    confirmation: dict[str, Any] = field(default_factory=dict)
    results: list[CriterionResult] = field(default_factory=list)


@dataclass(frozen=True)
class RecordedReview:
    run_id: int
    decision_ids: dict[tuple[str, str], int]
    superseded: list[int]


def record_review(conn, run: ReviewRun, decisions: list[DecisionRecord]) -> RecordedReview:
    """Write one review run, its decisions and criterion results in the caller's transaction."""
    superseded: list[int] = []
    decision_ids: dict[tuple[str, str], int] = {}
    with conn.cursor() as cur:
        # One writer per review period, so two reruns cannot both become "current".
        cur.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s))",
            (f"review:{run.review_type}:{run.quarter}",),
        )
        cur.execute(
            """INSERT INTO infra_review.review_runs
                   (review_type, quarter, window_start, window_end, run_key, dag_id, dag_run_id,
                    triggered_by, criteria_version, criteria_sha256, quality_verdict, inputs,
                    report_path)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (review_type, quarter, run_key) DO UPDATE SET
                   window_start = EXCLUDED.window_start, window_end = EXCLUDED.window_end,
                   criteria_version = EXCLUDED.criteria_version,
                   criteria_sha256 = EXCLUDED.criteria_sha256,
                   quality_verdict = EXCLUDED.quality_verdict, inputs = EXCLUDED.inputs,
                   report_path = EXCLUDED.report_path
               RETURNING run_id""",
            (
                run.review_type,
                run.quarter,
                run.window_start,
                run.window_end,
                run.run_key,
                run.dag_id,
                run.dag_run_id,
                run.triggered_by,
                run.criteria_version,
                run.criteria_sha256,
                Json(json_safe(run.quality_verdict)),
                Json(json_safe(run.inputs)),
                run.report_path,
            ),
        )
        run_id = cur.fetchone()[0]
        for record in decisions:
            if record.subject_kind not in SUBJECT_KINDS:
                raise ValueError(f"subject_kind must be one of {SUBJECT_KINDS}")
            cur.execute(
                """UPDATE infra_review.decisions SET status = 'superseded'
                   WHERE review_type = %s AND quarter = %s AND subject_kind = %s
                     AND subject = %s AND status <> 'superseded' AND run_id <> %s
                   RETURNING decision_id""",
                (run.review_type, run.quarter, record.subject_kind, record.subject, run_id),
            )
            older = [row[0] for row in cur.fetchall()]
            cur.execute(
                """INSERT INTO infra_review.decisions
                       (run_id, review_type, quarter, subject_kind, subject, decision,
                        context, drivers, options, confirmation, summary_ru, summary_en)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                   ON CONFLICT (run_id, subject_kind, subject) DO UPDATE SET
                       decision = EXCLUDED.decision, context = EXCLUDED.context,
                       drivers = EXCLUDED.drivers, options = EXCLUDED.options,
                       confirmation = EXCLUDED.confirmation, summary_ru = EXCLUDED.summary_ru,
                       summary_en = EXCLUDED.summary_en
                   RETURNING decision_id""",
                (
                    run_id,
                    run.review_type,
                    run.quarter,
                    record.subject_kind,
                    record.subject,
                    record.decision,
                    Json(json_safe(record.context)),
                    Json(json_safe(record.drivers)),
                    Json(json_safe(record.options)),
                    Json(json_safe(record.confirmation)),
                    record.summary_ru,
                    record.summary_en,
                ),
            )
            decision_id = cur.fetchone()[0]
            decision_ids[(record.subject_kind, record.subject)] = decision_id
            if older:
                cur.execute(
                    "UPDATE infra_review.decisions SET superseded_by = %s WHERE decision_id = ANY(%s)",
                    (decision_id, older),
                )
                superseded.extend(older)
            for result in record.results:
                rec = result.to_record()
                cur.execute(
                    """INSERT INTO infra_review.criterion_results
                           (run_id, decision_id, subject, criterion_id, outcome, observed,
                            threshold, window_start, window_end, evidence)
                       VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                       ON CONFLICT (run_id, subject, criterion_id) DO UPDATE SET
                           decision_id = EXCLUDED.decision_id, outcome = EXCLUDED.outcome,
                           observed = EXCLUDED.observed, threshold = EXCLUDED.threshold,
                           window_start = EXCLUDED.window_start,
                           window_end = EXCLUDED.window_end, evidence = EXCLUDED.evidence""",
                    (
                        run_id,
                        decision_id,
                        result.subject,
                        result.criterion_id,
                        rec["outcome"],
                        rec["observed"],
                        rec["threshold"],
                        result.window_start,
                        result.window_end,
                        Json(rec["evidence"]),
                    ),
                )
    return RecordedReview(run_id, decision_ids, superseded)


def current_decisions(
    conn, quarter: str | None = None, review_type: str | None = None
) -> list[dict[str, Any]]:
    """Current (not superseded) decisions with their criterion results, newest quarter first."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT d.decision_id, d.review_type, d.quarter, d.subject_kind, d.subject,
                      d.decision, d.status, d.summary_en, d.summary_ru, d.drivers, d.options,
                      d.confirmation, d.context, r.run_id, r.dag_id, r.dag_run_id,
                      r.criteria_version, r.report_path, d.created_at
               FROM infra_review.decisions d
               JOIN infra_review.review_runs r USING (run_id)
               WHERE d.status <> 'superseded'
                 AND (%(quarter)s::text IS NULL OR d.quarter = %(quarter)s)
                 AND (%(review_type)s::text IS NULL OR d.review_type = %(review_type)s)
               ORDER BY d.quarter DESC, d.review_type, d.subject_kind, d.subject""",
            {"quarter": quarter, "review_type": review_type},
        )
        columns = [c.name for c in cur.description]
        decisions = [dict(zip(columns, row, strict=True)) for row in cur.fetchall()]
        if not decisions:
            return []
        cur.execute(
            """SELECT decision_id, subject, criterion_id, outcome, observed, threshold, evidence
               FROM infra_review.criterion_results WHERE decision_id = ANY(%s)
               ORDER BY subject, criterion_id""",
            ([d["decision_id"] for d in decisions],),
        )
        by_decision: dict[int, list[dict[str, Any]]] = {}
        for row in cur.fetchall():
            decision_id, subject, criterion_id, outcome, observed, threshold, evidence = row
            by_decision.setdefault(decision_id, []).append(
                {
                    "subject": subject,
                    "criterion_id": criterion_id,
                    "outcome": outcome,
                    "observed": observed,
                    "threshold": threshold,
                    "evidence": evidence,
                }
            )
    for d in decisions:
        d["criteria"] = by_decision.get(d["decision_id"], [])
        d["created_at"] = d["created_at"].isoformat()
    return decisions

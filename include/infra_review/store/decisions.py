"""Decision records (ADR/MADR style) with their criterion results and evidence.

A rerun of the same review period supersedes the earlier records and keeps them, so the
history is never lost; a retry of the same run (same ``run_key``) overwrites its own rows.
A rerun whose inputs fingerprint (``lifecycle.fingerprint``) equals the current run's writes
no decisions: it records "unchanged, confirmed run N" (``review_runs.confirms_run_id``).
Writes of the same review type and quarter are serialised by an advisory lock, so two runs
that race (the UI's "unpause on trigger") never both become current. A decision that asks for
action starts ``proposed`` (one event); the same write lets the review judge earlier
quarters' implemented decisions (``lifecycle.confirm``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from psycopg2.extras import Json

from infra_review import clock
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
    # lifecycle.fingerprint.inputs_fingerprint(...); None: derived from ``inputs`` (capacity)
    # or from the database at write time (provider)
    fingerprint: dict[str, Any] | None = None
    # lifecycle.fingerprint.read_marker(conn, start, end), taken before the review's reads;
    # None: taken as of the start of the write's transaction (right for a runner that read
    # in that transaction; a DAG's separate write task should pass one from its first task)
    read_marker: dict[str, Any] | None = None


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
    unchanged_of: int | None = None  # the current run this one confirmed (nothing written)
    followups: list[Any] = field(default_factory=list)  # lifecycle.confirm.Followup applied


def record_review(conn, run: ReviewRun, decisions: list[DecisionRecord]) -> RecordedReview:
    """Write one review run, its decisions and criterion results in the caller's transaction."""
    from infra_review.criteria.readable import rule_params
    from infra_review.lifecycle import fingerprint as fp

    for record in decisions:
        if record.subject_kind not in SUBJECT_KINDS:
            raise ValueError(f"subject_kind must be one of {SUBJECT_KINDS}")
    with conn.cursor() as cur:
        # One writer per review period, so two reruns cannot both become "current".
        cur.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s))",
            (f"review:{run.review_type}:{run.quarter}",),
        )
        fingerprint = run.fingerprint or _derived_fingerprint(conn, run)
        marker = run.read_marker or fp.read_marker(
            conn, run.window_start, run.window_end, at_transaction_start=True
        )
        current = _current_run(cur, run)
        unchanged_of = None
        if (
            current is not None
            and fingerprint is not None
            and current["inputs_sha256"] == fingerprint["sha256"]
            and current["run_key"] != run.run_key
            and {(r.subject_kind, r.subject) for r in decisions} <= current["subjects"]
        ):
            unchanged_of = current["run_id"]
        run_id = _upsert_run(cur, run, fingerprint, marker, unchanged_of)
        if unchanged_of is not None:
            return RecordedReview(run_id, current["decision_ids"], [], unchanged_of=unchanged_of)
        superseded: list[int] = []
        decision_ids: dict[tuple[str, str], int] = {}
        params = rule_params(run.inputs, run.criteria_sha256)
        for record in decisions:
            decision_id, older = _write_decision(cur, run, run_id, record)
            decision_ids[(record.subject_kind, record.subject)] = decision_id
            superseded.extend(older)
            for result in record.results:
                _write_result(cur, run_id, decision_id, result, params.get(result.criterion_id))
    followups = _follow_up(conn, run, run_id, decisions)
    return RecordedReview(run_id, decision_ids, superseded, followups=followups)


def _derived_fingerprint(conn, run: ReviewRun) -> dict[str, Any] | None:
    """The fingerprint when the runner passed none: a capacity run's stored inputs already
    hold every series' count, newest time and value hash, the fleet metadata and the rules;
    a provider run's evidence is read back from the database."""
    from infra_review.lifecycle import fingerprint as fp

    inputs = run.inputs or {}
    if run.review_type == "capacity" and "per_server" in inputs:
        return fp.inputs_fingerprint(
            criteria_sha256=run.criteria_sha256,
            files={"fleet": (inputs.get("fleet") or {}).get("path")},
            series=fp.series_from_capacity_inputs(inputs["per_server"]),
            extra={"inputs_sha256": fp.json_sha256(inputs)},
        )
    if run.review_type == "provider":
        return fp.provider_fingerprint(conn, run)
    return None


def _current_run(cur, run: ReviewRun) -> dict[str, Any] | None:
    """The newest run holding current decisions of this type and quarter, with them."""
    cur.execute(
        """SELECT r.run_id, r.run_key, r.inputs_sha256, d.subject_kind, d.subject, d.decision_id
           FROM infra_review.decisions d JOIN infra_review.review_runs r USING (run_id)
           WHERE d.review_type = %s AND d.quarter = %s AND d.status <> 'superseded'
             AND r.run_id = (SELECT max(d2.run_id) FROM infra_review.decisions d2
                             WHERE d2.review_type = %s AND d2.quarter = %s
                               AND d2.status <> 'superseded')""",
        (run.review_type, run.quarter, run.review_type, run.quarter),
    )
    rows = cur.fetchall()
    if not rows:
        return None
    return {
        "run_id": rows[0][0],
        "run_key": rows[0][1],
        "inputs_sha256": rows[0][2],
        "subjects": {(r[3], r[4]) for r in rows},
        "decision_ids": {(r[3], r[4]): r[5] for r in rows},
    }


def _upsert_run(cur, run: ReviewRun, fingerprint, marker, unchanged_of) -> int:
    cur.execute(
        """INSERT INTO infra_review.review_runs
               (review_type, quarter, window_start, window_end, run_key, dag_id, dag_run_id,
                triggered_by, criteria_version, criteria_sha256, quality_verdict, inputs,
                report_path, inputs_sha256, inputs_fingerprint, newest_sample_ts,
                inputs_read_at, batches_seen, batches_last_loaded, confirms_run_id)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
                   coalesce(%s, now()), %s, %s, %s)
           ON CONFLICT (review_type, quarter, run_key) DO UPDATE SET
               window_start = EXCLUDED.window_start, window_end = EXCLUDED.window_end,
               criteria_version = EXCLUDED.criteria_version,
               criteria_sha256 = EXCLUDED.criteria_sha256,
               quality_verdict = EXCLUDED.quality_verdict, inputs = EXCLUDED.inputs,
               report_path = EXCLUDED.report_path, inputs_sha256 = EXCLUDED.inputs_sha256,
               inputs_fingerprint = EXCLUDED.inputs_fingerprint,
               newest_sample_ts = EXCLUDED.newest_sample_ts,
               inputs_read_at = EXCLUDED.inputs_read_at,
               batches_seen = EXCLUDED.batches_seen,
               batches_last_loaded = EXCLUDED.batches_last_loaded,
               confirms_run_id = EXCLUDED.confirms_run_id
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
            fingerprint["sha256"] if fingerprint else None,
            Json(json_safe(fingerprint)) if fingerprint else None,
            (fingerprint or {}).get("newest_sample"),
            marker.get("read_at"),
            marker.get("batches"),
            marker.get("last_loaded_at"),
            unchanged_of,
        ),
    )
    return cur.fetchone()[0]


def _write_decision(cur, run: ReviewRun, run_id: int, record: DecisionRecord):
    """Insert (or, on a retry, overwrite) one decision; supersede the earlier current one.
    A decision that asks for action starts ``proposed``, or keeps the state of the record it
    supersedes when that record made the same decision (a rerun does not undo an accept)."""
    from infra_review.lifecycle.states import asks_for_action
    from infra_review.lifecycle.store import add_event

    cur.execute(
        """UPDATE infra_review.decisions SET status = 'superseded'
           WHERE review_type = %s AND quarter = %s AND subject_kind = %s
             AND subject = %s AND status <> 'superseded' AND run_id <> %s
           RETURNING decision_id, decision, state""",
        (run.review_type, run.quarter, record.subject_kind, record.subject, run_id),
    )
    older_rows = cur.fetchall()
    older = [row[0] for row in older_rows]
    acts = asks_for_action(record.decision, record.context.get("actions"))
    carried = next(
        (
            (oid, st)
            for oid, dec, st in older_rows
            if acts and dec == record.decision and st and st != "proposed"
        ),
        None,
    )
    state = (carried[1] if carried else "proposed") if acts else None
    cur.execute(
        """INSERT INTO infra_review.decisions
               (run_id, review_type, quarter, subject_kind, subject, decision,
                context, drivers, options, confirmation, summary_ru, summary_en, state,
                state_changed_at)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (run_id, subject_kind, subject) DO UPDATE SET
               decision = EXCLUDED.decision, context = EXCLUDED.context,
               drivers = EXCLUDED.drivers, options = EXCLUDED.options,
               confirmation = EXCLUDED.confirmation, summary_ru = EXCLUDED.summary_ru,
               summary_en = EXCLUDED.summary_en,
               state = coalesce(infra_review.decisions.state, EXCLUDED.state),
               state_changed_at = coalesce(infra_review.decisions.state_changed_at,
                                           EXCLUDED.state_changed_at)
           RETURNING decision_id,
                     EXISTS (SELECT 1 FROM infra_review.decision_events e
                             WHERE e.decision_id = infra_review.decisions.decision_id)""",
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
            state,
            clock.now() if state else None,
        ),
    )
    decision_id, has_events = cur.fetchone()
    if state and not has_events:
        note = f"triggered by {run.triggered_by or '-'}"
        if carried:
            note = f"state of decision {carried[0]} (superseded by this rerun); {note}"
        add_event(cur, decision_id, None, state, f"review run {run_id}", note=note, run_id=run_id)
    if older:
        cur.execute(
            "UPDATE infra_review.decisions SET superseded_by = %s WHERE decision_id = ANY(%s)",
            (decision_id, older),
        )
    return decision_id, older


def _write_result(
    cur, run_id: int, decision_id: int, result: CriterionResult, params: dict | None
) -> None:
    from infra_review.criteria.readable import readable

    rec = result.to_record()
    shown = readable(result, params)  # the same numbers in the unit of the criterion's text
    cur.execute(
        """INSERT INTO infra_review.criterion_results
               (run_id, decision_id, subject, criterion_id, outcome, observed,
                threshold, window_start, window_end, evidence, observed_shown,
                threshold_shown, comparator, unit, duration_observed, duration_threshold,
                duration_comparator, duration_unit, evidence_en, evidence_ru)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
                   %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (run_id, subject, criterion_id) DO UPDATE SET
               decision_id = EXCLUDED.decision_id, outcome = EXCLUDED.outcome,
               observed = EXCLUDED.observed, threshold = EXCLUDED.threshold,
               window_start = EXCLUDED.window_start,
               window_end = EXCLUDED.window_end, evidence = EXCLUDED.evidence,
               observed_shown = EXCLUDED.observed_shown,
               threshold_shown = EXCLUDED.threshold_shown,
               comparator = EXCLUDED.comparator, unit = EXCLUDED.unit,
               duration_observed = EXCLUDED.duration_observed,
               duration_threshold = EXCLUDED.duration_threshold,
               duration_comparator = EXCLUDED.duration_comparator,
               duration_unit = EXCLUDED.duration_unit,
               evidence_en = EXCLUDED.evidence_en, evidence_ru = EXCLUDED.evidence_ru""",
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
            _finite(shown.observed),
            _finite(shown.threshold),
            shown.comparator,
            shown.unit or None,
            _finite(shown.duration_observed),
            _finite(shown.duration_threshold),
            shown.duration_comparator,
            shown.duration_unit,
            shown.evidence_en,
            shown.evidence_ru,
        ),
    )


def _finite(value: float | None) -> float | None:
    return value if value is None or math.isfinite(value) else None


def _follow_up(conn, run: ReviewRun, run_id: int, decisions: list[DecisionRecord]) -> list:
    """Judge earlier quarters' open decisions with this review's results. A capacity review
    judges only the subjects it reviewed (a partial review leaves the others open)."""
    from infra_review.lifecycle import confirm
    from infra_review.lifecycle.store import apply_followups, open_decisions

    previous = open_decisions(conn, run.review_type, run.quarter)
    if run.review_type == "capacity":
        reviewed = {(r.subject_kind, r.subject) for r in decisions}
        previous = [p for p in previous if (p["subject_kind"], p["subject"]) in reviewed]
    if not previous:
        return []
    review = confirm.new_review_from_records(run.review_type, run.quarter, decisions)
    return apply_followups(conn, confirm.confirm_decisions(previous, review), run_id)


def current_decisions(
    conn, quarter: str | None = None, review_type: str | None = None
) -> list[dict[str, Any]]:
    """Current (not superseded) decisions with their criterion results, newest quarter first."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT d.decision_id, d.review_type, d.quarter, d.subject_kind, d.subject,
                      d.decision, d.status, d.summary_en, d.summary_ru, d.drivers, d.options,
                      d.confirmation, d.context, r.run_id, r.dag_id, r.dag_run_id,
                      r.criteria_version, r.report_path, d.created_at, d.state,
                      v.carried_forward, v.inputs_changed_since, v.confirmed_by_runs
               FROM infra_review.decisions d
               JOIN infra_review.review_runs r USING (run_id)
               JOIN reporting.current_decisions v USING (decision_id)
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
            """SELECT decision_id, subject, criterion_id, outcome, observed, threshold, evidence,
                      observed_shown, threshold_shown, comparator, unit, duration_observed,
                      duration_threshold, duration_comparator, duration_unit, evidence_en,
                      evidence_ru
               FROM infra_review.criterion_results WHERE decision_id = ANY(%s)
               ORDER BY subject, criterion_id""",
            ([d["decision_id"] for d in decisions],),
        )
        by_decision: dict[int, list[dict[str, Any]]] = {}
        names = [d.name for d in cur.description]
        for row in cur.fetchall():
            item = dict(zip(names, row, strict=True))
            # the readable values (migration 014) ride along under "shown"
            shown = {k: item.pop(k) for k in names[7:]}
            by_decision.setdefault(item.pop("decision_id"), []).append({**item, "shown": shown})
    for d in decisions:
        d["criteria"] = by_decision.get(d["decision_id"], [])
        d["created_at"] = d["created_at"].isoformat()
    return decisions

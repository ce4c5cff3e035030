"""Lifecycle changes in PostgreSQL: one row in ``decision_events`` per change, kept forever.

Each function works in the caller's transaction and locks the decision row, so two people
pressing "accept" at once give one accepted event and one clear refusal.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from psycopg2.extras import Json

from infra_review import clock
from infra_review.criteria.result import json_safe
from infra_review.errors import InputError
from infra_review.lifecycle.after import implemented_moment
from infra_review.lifecycle.confirm import Followup
from infra_review.lifecycle.states import STATUS_FOR_STATE, check_transition


def add_event(
    cur,
    decision_id: int,
    from_state: str | None,
    to_state: str,
    author: str,
    *,
    note: str | None = None,
    implemented_on: date | None = None,
    evidence: dict[str, Any] | None = None,
    run_id: int | None = None,
    at: datetime | None = None,
) -> int:
    cur.execute(
        """INSERT INTO infra_review.decision_events
               (decision_id, from_state, to_state, author, note, implemented_on, evidence,
                run_id, at)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING event_id""",
        (
            decision_id,
            from_state,
            to_state,
            author,
            note,
            implemented_on,
            Json(json_safe(evidence or {})),
            run_id,
            at or clock.now(),
        ),
    )
    return cur.fetchone()[0]


def _set_state(cur, decision_id: int, state: str, at: datetime) -> None:
    cur.execute(
        """UPDATE infra_review.decisions
           SET state = %s, state_changed_at = %s, status = coalesce(%s, status)
           WHERE decision_id = %s""",
        (state, at, STATUS_FOR_STATE.get(state), decision_id),
    )


def transition(
    conn,
    decision_id: int,
    command: str,
    by: str,
    note: str | None = None,
    implemented_on: date | None = None,
) -> dict[str, Any]:
    """accept | dismiss | implemented, by a person; InputError when the change is not allowed."""
    by = (by or "").strip()
    if not by:
        raise InputError("say who makes the change (--by NAME)", field="by")
    note = (note or "").strip() or None
    if command == "dismiss" and not note:
        raise InputError("say why the decision is dismissed (--note TEXT)", field="note")
    now = clock.now()
    if command == "implemented":
        implemented_on = implemented_on or now.date()
        if implemented_on > now.date():
            raise InputError(
                f"implemented on {implemented_on} is in the future", field="implemented_on"
            )
    elif implemented_on is not None:
        raise InputError("a date goes only with 'implemented'", field="implemented_on")
    with conn.cursor() as cur:
        cur.execute(
            """SELECT decision, state, status, superseded_by FROM infra_review.decisions
               WHERE decision_id = %s FOR UPDATE""",
            (decision_id,),
        )
        row = cur.fetchone()
        if row is None:
            raise InputError(f"no decision {decision_id}", field="decision_id")
        decision, state, status, superseded_by = row
        if status == "superseded":
            raise InputError(
                f"decision {decision_id} was superseded by decision {superseded_by}: "
                "act on the current one",
                field="decision_id",
            )
        target = check_transition(decision_id, decision, state, command)
        event_id = add_event(
            cur,
            decision_id,
            state,
            target,
            by,
            note=note,
            implemented_on=implemented_on if command == "implemented" else None,
            at=now,
        )
        _set_state(cur, decision_id, target, now)
    return {
        "decision_id": decision_id,
        "decision": decision,
        "from_state": state,
        "to_state": target,
        "event_id": event_id,
        "by": by,
        "note": note,
        "implemented_on": implemented_on,
        "at": now,
    }


def events(conn, decision_id: int | None = None) -> list[dict[str, Any]]:
    with conn.cursor() as cur:
        cur.execute(
            """SELECT event_id, decision_id, from_state, to_state, author, note,
                      implemented_on, evidence, run_id, at
               FROM infra_review.decision_events
               WHERE %(id)s::bigint IS NULL OR decision_id = %(id)s
               ORDER BY event_id""",
            {"id": decision_id},
        )
        cols = [c.name for c in cur.description]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


def open_decisions(conn, review_type: str, before_quarter: str) -> list[dict[str, Any]]:
    """Current decisions of earlier quarters that wait for the next review: accepted (to be
    carried forward) or implemented (to be confirmed), with the criteria they met and, for an
    implemented one, ``implemented_at`` (``after.implemented_moment`` of its implemented
    event; None when it has none, an old record)."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT d.decision_id, d.quarter, d.subject_kind, d.subject, d.decision, d.state,
                      d.context, d.confirmation,
                      coalesce((SELECT array_agg(cr.criterion_id ORDER BY cr.criterion_id)
                                FROM infra_review.criterion_results cr
                                WHERE cr.decision_id = d.decision_id AND cr.outcome = 'met'),
                               '{}') AS criteria_met
               FROM infra_review.decisions d
               WHERE d.review_type = %s AND d.quarter < %s AND d.status <> 'superseded'
                 AND d.state IN ('accepted', 'implemented')
               ORDER BY d.quarter, d.decision_id
               FOR UPDATE""",
            (review_type, before_quarter),
        )
        cols = [c.name for c in cur.description]
        found = [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]
    marked = implemented_events(
        conn, [d["decision_id"] for d in found if d["state"] == "implemented"]
    )
    for d in found:
        at, on = marked.get(d["decision_id"], (None, None))
        d["implemented_at"] = implemented_moment(at, on)
    return found


def implemented_events(conn, decision_ids: list[int]) -> dict[int, tuple[datetime, date | None]]:
    """decision id -> (``at``, ``implemented_on``) of the person's ``implemented`` event, the
    newest one over the decision and the records it superseded (a rerun keeps the state of
    the record it supersedes, and its own event only says so)."""
    if not decision_ids:
        return {}
    with conn.cursor() as cur:
        cur.execute(
            """WITH RECURSIVE chain (head, decision_id) AS (
                   SELECT id, id FROM unnest(%s::bigint[]) AS id
                   UNION
                   SELECT c.head, p.decision_id
                   FROM infra_review.decisions p JOIN chain c ON p.superseded_by = c.decision_id
               )
               SELECT DISTINCT ON (c.head) c.head, e.at, e.implemented_on
               FROM chain c
               JOIN infra_review.decision_events e ON e.decision_id = c.decision_id
               WHERE e.to_state = 'implemented' AND e.from_state = 'accepted'
               ORDER BY c.head, e.at DESC, e.event_id DESC""",
            (list(decision_ids),),
        )
        return {head: (at, on) for head, at, on in cur.fetchall()}


def apply_followups(conn, followups: Iterable[Followup], run_id: int) -> list[Followup]:
    """Write the next review's verdicts; a decision already judged by this run is skipped,
    so a retried write step adds no second event. A ``waiting`` verdict writes nothing (the
    decision stays implemented for the next review) and is returned for the summary."""
    applied = []
    author = f"review run {run_id}"
    now = clock.now()
    with conn.cursor() as cur:
        for f in followups:
            cur.execute(
                """SELECT state, EXISTS (SELECT 1 FROM infra_review.decision_events e
                                         WHERE e.decision_id = d.decision_id AND e.run_id = %s
                                           AND e.to_state = %s)
                   FROM infra_review.decisions d WHERE decision_id = %s FOR UPDATE""",
                (run_id, f.to_state, f.decision_id),
            )
            row = cur.fetchone()
            if row is None or row[1]:
                continue
            state = row[0]
            if f.to_state == "waiting":  # left for the next review: listed, nothing written
                if state == "implemented":
                    applied.append(f)
                continue
            if f.to_state == "carried_forward":
                if state != "accepted":
                    continue
            elif state != "implemented":
                continue
            add_event(
                cur,
                f.decision_id,
                state,
                f.to_state,
                author,
                note=f"{f.note_en} / {f.note_ru}",
                evidence=f.evidence,
                run_id=run_id,
                at=now,
            )
            if f.to_state != "carried_forward":
                _set_state(cur, f.decision_id, f.to_state, now)
            applied.append(f)
    return applied


def decision(conn, decision_id: int) -> dict[str, Any] | None:
    """One decision with what its page shows (any status, superseded ones too)."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT decision_id, review_type, quarter, subject_kind, subject, decision,
                      status, state, state_changed_at, superseded_by, summary_en, summary_ru
               FROM infra_review.decisions WHERE decision_id = %s""",
            (decision_id,),
        )
        row = cur.fetchone()
        if row is None:
            return None
        return dict(zip([c.name for c in cur.description], row, strict=True))

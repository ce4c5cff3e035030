"""Decide whether a review's outcome is worth a message, build it, and send it on every
configured channel. Never raises: a review's records are committed before this runs, and a
message that cannot go out must not turn a good review into a failed one."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from infra_review.lifecycle.states import NOTIFY_DECISIONS
from infra_review.notify.message import Message, Notice, build_message

log = logging.getLogger(__name__)

_NOTICES = """
    SELECT d.decision_id, d.quarter, d.subject, d.decision, d.summary_en, d.summary_ru,
           coalesce(CASE WHEN jsonb_typeof(d.context -> 'actions') = 'array'
                         THEN ARRAY(SELECT jsonb_array_elements_text(d.context -> 'actions'))
                    END, ARRAY[d.decision]) AS actions,
           (SELECT o.decision FROM infra_review.decisions o
            WHERE o.superseded_by = d.decision_id ORDER BY o.decision_id DESC LIMIT 1)
               AS previous,
           (SELECT coalesce(CASE WHEN jsonb_typeof(o.context -> 'actions') = 'array'
                                 THEN ARRAY(SELECT jsonb_array_elements_text(o.context -> 'actions'))
                            END, ARRAY[o.decision])
            FROM infra_review.decisions o
            WHERE o.superseded_by = d.decision_id ORDER BY o.decision_id DESC LIMIT 1)
               AS previous_actions
    FROM infra_review.decisions d
    WHERE d.run_id = %s
    ORDER BY d.subject_kind, d.subject"""

_NOT_CONFIRMED = """
    SELECT d.decision_id, d.quarter, d.subject, d.decision, e.note
    FROM infra_review.decision_events e JOIN infra_review.decisions d USING (decision_id)
    WHERE e.run_id = %s AND e.to_state = 'not_confirmed'
    ORDER BY e.event_id"""


def review_notices(conn, run_id: int) -> tuple[dict[str, Any] | None, list[Notice]]:
    """The run (type, quarter, report path) and what deserves a message: decisions of this run
    that ask for action and are new or changed (an identical decision repeated by a rerun is
    not news), and decisions this run found not confirmed."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT review_type, quarter, report_path FROM infra_review.review_runs "
            "WHERE run_id = %s",
            (run_id,),
        )
        row = cur.fetchone()
        if row is None:
            return None, []
        run = {"review_type": row[0], "quarter": row[1], "report_path": row[2]}
        cur.execute(_NOTICES, (run_id,))
        notices = []
        for did, quarter, subject, decision, en, ru, actions, prev, prev_actions in cur.fetchall():
            asks = decision in NOTIFY_DECISIONS or any(a in NOTIFY_DECISIONS for a in actions)
            same = prev is not None and (prev, sorted(prev_actions)) == (decision, sorted(actions))
            if asks and not same:
                notices.append(
                    Notice("decision", did, quarter, subject, decision, en, ru, list(actions), prev)
                )
        cur.execute(_NOT_CONFIRMED, (run_id,))
        for did, quarter, subject, decision, note in cur.fetchall():
            en, _, ru = (note or "").partition(" / ")
            notices.append(Notice("not_confirmed", did, quarter, subject, decision, en, ru or en))
    return run, notices


def _with_retries(send: Callable[[], None], what: str, attempts: int, backoff_s: float) -> bool:
    for attempt in range(1, attempts + 1):
        try:
            send()
            return True
        except Exception as exc:  # any channel error: retry, then log; never fail the review
            log.warning(
                "notification via %s failed (attempt %d/%d): %s", what, attempt, attempts, exc
            )
            if attempt < attempts:
                time.sleep(backoff_s * attempt)
    log.error("notification via %s not sent after %d attempts", what, attempts)
    return False


def send_message(message: Message, *, attempts: int = 3, backoff_s: float = 2.0) -> dict[str, str]:
    """Send on every channel whose connection exists: ``{channel: sent|failed|not configured}``."""
    from infra_review.notify import channels

    status: dict[str, str] = {}
    senders = {
        "telegram": (
            channels.TELEGRAM_CONN_ID,
            lambda: channels.telegram_notifier(message.text).notify({}),
        ),
        "email": (
            channels.EMAIL_CONN_ID,
            lambda: channels.email_notifier(message.subject, message.text).notify({}),
        ),
    }
    for name, (conn_id, send) in senders.items():
        if not channels.connection_exists(conn_id):
            status[name] = "not configured"
            continue
        ok = _with_retries(send, f"{name} ({conn_id})", attempts, backoff_s)
        status[name] = "sent" if ok else "failed"
    if all(s == "not configured" for s in status.values()):
        log.info(
            "no notifier configured (Airflow connections %s, %s): message not sent:\n%s",
            channels.TELEGRAM_CONN_ID,
            channels.EMAIL_CONN_ID,
            message.text,
        )
    return status


def notify_review(
    run_id: int | None,
    *,
    url: str | None = None,
    conn=None,
    report_url: str | None = None,
    attempts: int = 3,
    backoff_s: float = 2.0,
) -> dict[str, Any]:
    """After a review's records are committed: one message for run ``run_id`` if it created
    or changed a decision that asks for action, or found one not confirmed. Returns what
    happened (``{"message": ..., "channels": {...}}``); never raises."""
    try:
        if run_id is None:  # a dry run wrote nothing
            return {"message": None, "channels": {}}
        from infra_review.reporting.links import report_url as link_for

        if conn is None:
            from infra_review.store.db import connect

            with connect(url) as own:
                run, notices = review_notices(own, run_id)
        else:
            run, notices = review_notices(conn, run_id)
        if run is None:
            log.warning("notification: no review run %s", run_id)
            return {"message": None, "channels": {}}
        link = report_url or link_for(run["report_path"]) or run["report_path"]
        message = build_message(run["review_type"], run["quarter"], run_id, notices, link)
        if message is None:
            log.info("review run %s: nothing new asks for action; no notification", run_id)
            return {"message": None, "channels": {}}
        status = send_message(message, attempts=attempts, backoff_s=backoff_s)
        return {"message": message.to_dict(), "channels": status}
    except Exception:  # building the message failed: log it, the review stands
        log.exception("notification for review run %s failed", run_id)
        return {"message": None, "channels": {}, "error": True}

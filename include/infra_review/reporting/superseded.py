"""A superseded report says so: when every decision of the run that wrote a report has been
superseded by a later run, the decisions plugin serves the report with a banner that links
to the current run's report (reports are static files written once; this is decided when
the report is read)."""

from __future__ import annotations

from html import escape
from pathlib import Path

from infra_review.reporting.links import report_href


def current_report(conn, report_path: str | Path) -> str | None:
    """The current report's path when the run that wrote ``report_path`` is superseded,
    else None (current, unknown, or a run without decisions)."""
    path = Path(report_path)
    names = list(dict.fromkeys([str(path), str(path.resolve())]))
    with conn.cursor() as cur:
        cur.execute(
            """SELECT r.run_id, r.review_type, r.quarter,
                      count(d.decision_id), count(d.decision_id) FILTER (
                          WHERE d.status <> 'superseded')
               FROM infra_review.review_runs r
               LEFT JOIN infra_review.decisions d USING (run_id)
               WHERE r.report_path = ANY(%s)
               GROUP BY r.run_id ORDER BY r.run_id DESC LIMIT 1""",
            (names,),
        )
        row = cur.fetchone()
        if not row or row[3] == 0 or row[4] > 0:
            return None
        cur.execute(
            """SELECT r.report_path FROM infra_review.decisions d
               JOIN infra_review.review_runs r USING (run_id)
               WHERE d.review_type = %s AND d.quarter = %s AND d.status <> 'superseded'
                 AND r.report_path IS NOT NULL
               ORDER BY r.run_id DESC LIMIT 1""",
            (row[1], row[2]),
        )
        current = cur.fetchone()
    return current[0] if current else None


def banner(current_path: str | None, quarter_hint: str = "") -> str:
    """The banner's HTML (escaped; the link only when the current report is served)."""
    href = report_href(current_path) if current_path else None
    link = f" <a href='{escape(href)}'>Open the current report</a>." if href else ""
    link_ru = f" <a href='{escape(href)}'>Текущий отчёт</a>." if href else ""
    return (
        "<div class='superseded-banner' role='alert' style='background:#fefcbf;"
        "border:1px solid #d69e2e;padding:8px 12px;margin:8px 0'>"
        f"This report is superseded: a later run of the same review replaced its decisions.{link}"
        f"<br><span lang='ru'>Этот отчёт заменён более поздним запуском того же обзора.{link_ru}"
        "</span></div>"
    )


def with_banner(body: bytes, html: str) -> bytes:
    """``html`` inserted right after the page's ``<body>`` tag (or at the top)."""
    text = body.decode("utf-8", errors="replace")
    lower = text.lower()
    start = lower.find("<body")
    at = lower.find(">", start) + 1 if start >= 0 else 0
    return (text[:at] + html + text[at:]).encode("utf-8")

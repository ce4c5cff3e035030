"""The "Capacity decisions" page: current decisions with their criteria, as one HTML page.

A pure function of the rows ``infra_review.store.decisions.current_decisions`` returns (the
same function the CLI uses), so the page never carries a second copy of the SQL. Every value
from the database is escaped. The page is shown in an iframe inside the Airflow UI; links to
a DAG run ask the surrounding UI to navigate, so the run opens in the Airflow UI itself.
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Callable, Iterable
from html import escape
from typing import Any
from urllib.parse import urlencode

from infra_review.reporting import recommendations
from infra_review.reporting.links import dag_run_href
from infra_review.reporting.standalone import PAGE_CSS

REVIEW_TYPES = ("capacity", "provider")
OUTCOME_MARK = {"met": "✔ met", "not_met": "✘ not met", "insufficient_data": "? no data"}


def _num(value: Any) -> str:
    if value is None:
        return "–"
    try:
        f = float(value)
    except (TypeError, ValueError):
        return escape(str(value))
    if not math.isfinite(f):
        return "–"
    return f"{f:.4g}" if abs(f) < 1e6 else f"{f:,.0f}"


def _value(value: Any, unit: str | None) -> str:
    """A rounded value with its unit ('91.4 %', '2 s', '100 items')."""
    text = _num(value if value is None else round(float(value), 2))
    if text == "–" or not unit:
        return text
    return f"{text}&nbsp;{escape(unit)}" if unit != "%" else f"{text}&nbsp;%"


def _shown(c: dict[str, Any]) -> dict[str, Any]:
    """The readable values (migration 014); an older row falls back to its raw numbers."""
    shown = c.get("shown") or {}
    if shown.get("unit"):
        return shown
    return {"observed_shown": c.get("observed"), "threshold_shown": c.get("threshold")}


def meaning(review_type: str, outcome: str) -> str:
    """What an outcome means to the reader: a met capacity trigger asks for action (a
    warning); a met provider criterion is good, a not-met one bad; no data is unknown."""
    if outcome == "insufficient_data":
        return "unknown"
    if review_type == "provider":
        return "good" if outcome == "met" else "bad"
    return "warn" if outcome == "met" else "calm"


def _limits(s: dict[str, Any]) -> str:
    cmp_ = escape(s.get("comparator") or "")
    text = f"{cmp_} {_value(s.get('threshold_shown'), s.get('unit'))}".strip()
    if s.get("duration_unit"):
        dur = _value(s.get("duration_threshold"), s.get("duration_unit"))
        text += f"<div class='muted'>for {escape(s.get('duration_comparator') or '')} {dur}</div>"
    return text


def _observed(s: dict[str, Any]) -> str:
    text = _value(s.get("observed_shown"), s.get("unit"))
    if s.get("duration_unit"):
        text += (
            f"<div class='muted'>{_value(s.get('duration_observed'), s.get('duration_unit'))}</div>"
        )
    return text


def _sentence(s: dict[str, Any]) -> str:
    if not s.get("evidence_en"):
        return ""
    return (
        f"<div class='evidence'>{escape(s['evidence_en'])}</div>"
        f"<div class='evidence ru' lang='ru'>{escape(s.get('evidence_ru') or '')}</div>"
    )


def _criterion_row(
    c: dict[str, Any], texts: dict[str, tuple[str, str]], subject: str, review_type: str
) -> str:
    en, ru = texts.get(c["criterion_id"], ("", ""))
    outcome = str(c.get("outcome"))
    s = _shown(c)
    # a fleet decision can rest on results of single servers: name them
    other = c.get("subject") if c.get("subject") not in (None, subject) else None
    where = f" <span class='muted'>({escape(str(other))})</span>" if other else ""
    return (
        f"<tr class='outcome-{escape(outcome)} meaning-{meaning(review_type, outcome)}' "
        f"data-criterion='{escape(c['criterion_id'])}'>"
        f"<td><code>{escape(c['criterion_id'])}</code>{where}</td>"
        f"<td>{escape(en)}<div class='ru' lang='ru'>{escape(ru)}</div>{_sentence(s)}</td>"
        f"<td class='outcome'>{escape(OUTCOME_MARK.get(outcome, outcome))}</td>"
        f"<td class='num observed'>{_observed(s)}</td>"
        f"<td class='num threshold'>{_limits(s)}</td></tr>"
    )


def _scorecard(d: dict[str, Any], texts: dict[str, tuple[str, str]]) -> str:
    """A provider review side by side: criteria as rows, providers as columns (the current
    provider first), each cell the outcome, the value with its unit and the sentence."""
    criteria = d.get("criteria", [])
    providers = sorted({c["subject"] for c in criteria}, key=lambda p: (p != d["subject"], p))
    by = {(c["criterion_id"], c["subject"]): c for c in criteria}
    ids = list(dict.fromkeys(c["criterion_id"] for c in sorted(criteria, key=_criterion_order)))
    head = "".join(
        f"<th data-provider='{escape(p)}'>{escape(p)}"
        + (" <span class='muted'>(current)</span>" if p == d["subject"] else "")
        + "</th>"
        for p in providers
    )
    rows = []
    for cid in ids:
        en, ru = texts.get(cid, ("", ""))
        cells = []
        for p in providers:
            c = by.get((cid, p))
            if c is None:
                cells.append(f"<td class='muted' data-provider='{escape(p)}'>–</td>")
                continue
            outcome, s = str(c.get("outcome")), _shown(c)
            title = escape(s.get("evidence_en") or "")
            cells.append(
                f"<td class='cell outcome-{escape(outcome)} meaning-{meaning('provider', outcome)}'"
                f" data-provider='{escape(p)}' title='{title}'>"
                f"<span class='provider muted'>{escape(p)}</span> "
                f"<span class='outcome'>{escape(OUTCOME_MARK.get(outcome, outcome))}</span>"
                f"<div class='num observed'>{_value(s.get('observed_shown'), s.get('unit'))}</div>"
                f"{_sentence(s)}</td>"
            )
        first = next((by[(cid, p)] for p in providers if (cid, p) in by), {})
        rows.append(
            f"<tr data-criterion='{escape(cid)}'><td><code>{escape(cid)}</code> "
            f"{escape(en)}<div class='ru' lang='ru'>{escape(ru)}</div>"
            f"<div class='muted threshold'>{_limits(_shown(first))}</div></td>"
            + "".join(cells)
            + "</tr>"
        )
    return (
        "<table class='criteria scorecard'><tr><th>criterion (threshold)</th>"
        f"{head}</tr>{''.join(rows)}</table>"
    )


_GROUPS = ("ram", "cpu", "server", "fin", "tech", "strat")


def _criterion_order(c: dict[str, Any]) -> tuple[int, str]:
    group = c["criterion_id"].split(".")[0]
    return (_GROUPS.index(group) if group in _GROUPS else len(_GROUPS), c["criterion_id"])


def _decision_card(
    d: dict[str, Any],
    texts: dict[str, tuple[str, str]],
    report_href: Callable[[str | None], str | None],
) -> str:
    run_href = dag_run_href(d.get("dag_id"), d.get("dag_run_id"))
    report = report_href(d.get("report_path"))
    links = []
    if run_href:
        links.append(
            f"<a class='dag-run' data-airflow-link href='{escape(run_href)}'>"
            f"DAG run {escape(str(d['dag_run_id']))}</a>"
        )
    else:
        links.append("<span class='muted'>run from the command line (no DAG run)</span>")
    if report:
        links.append(f"<a class='report' href='{escape(report)}'>Report</a>")
    else:
        links.append("<span class='muted'>no report stored</span>")
    if d.get("state"):  # lifecycle: the decision's own page (plugins/decision_actions.py)
        links.append(
            f"<a class='state' href='../decision-actions/decisions/{int(d['decision_id'])}'>"
            f"state: {escape(d['state'])}</a>"
        )
    met = [c for c in d.get("criteria", []) if c.get("outcome") == "met"]
    if d.get("review_type") == "provider":
        table = _scorecard(d, texts)
    else:
        rows = "".join(
            _criterion_row(c, texts, d["subject"], d.get("review_type", "capacity"))
            for c in d.get("criteria", [])
        )
        table = (
            "<table class='criteria'><tr><th>id</th><th>criterion and evidence</th>"
            f"<th>outcome</th><th>observed</th><th>threshold</th></tr>{rows}</table>"
        )
    return (
        f"<section class='decision' id='decision-{int(d['decision_id'])}' "
        f"data-subject='{escape(d['subject'])}' data-decision='{escape(d['decision'])}' "
        f"data-quarter='{escape(d['quarter'])}'>"
        f"<h3><span class='subject'>{escape(d['subject'])}</span> "
        f"<span class='badge decision-{escape(d['decision'])}'>{escape(d['decision'])}</span> "
        f"<span class='muted'>{escape(d['quarter'])} · {escape(d['subject_kind'])} · "
        f"{escape(d['status'])} · criteria {escape(str(d.get('criteria_version', '')))}</span></h3>"
        f"<p class='summary' lang='en'>{escape(d.get('summary_en') or '')}</p>"
        f"<p class='summary ru' lang='ru'>{escape(d.get('summary_ru') or '')}</p>"
        f"{recommendations.html_block(d.get('context'))}"  # issue 17: sized actions
        f"<p class='links'>{' · '.join(links)} · {len(met)} of "
        f"{len(d.get('criteria', []))} criteria met</p>"
        f"<details><summary>Criteria</summary>{table}</details></section>"
    )


_SCRIPT = """
document.addEventListener('click', function (e) {
  var a = e.target.closest('a[data-airflow-link]');
  if (!a || window.top === window) return;
  e.preventDefault();
  try {  // same origin: let the Airflow UI's router open the run in the whole window
    window.top.history.pushState({}, '', a.getAttribute('href'));
    window.top.dispatchEvent(new PopStateEvent('popstate', {state: {}}));
  } catch (err) { window.location.href = a.href; }
});
"""

_STYLE = (
    PAGE_CSS
    + """
.decision{border:1px solid #cbd5e0;border-radius:6px;padding:8px 16px;margin:12px 0}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;background:#e2e8f0;font-size:90%}
.decision-upgrade_ram,.decision-upgrade_cpu,.decision-add_server,.decision-migrate{background:#fed7d7}
.decision-watch,.decision-evaluate_migration{background:#fefcbf}
.decision-no_action,.decision-stay{background:#c6f6d5}
.muted{color:#718096;font-size:90%}.ru{color:#4a5568}.num{text-align:right}
nav a{margin-right:12px}td .ru{font-size:90%}
.meaning-warn .outcome{color:#b7791f;font-weight:600}.meaning-warn{background:#fffaf0}
.meaning-good .outcome{color:#276749;font-weight:600}.meaning-good{background:#f0fff4}
.meaning-bad .outcome{color:#c53030;font-weight:600}.meaning-bad{background:#fff5f5}
.meaning-unknown .outcome{color:#718096}.evidence{font-size:90%;margin-top:2px}
.scorecard td{vertical-align:top}.scorecard .provider{display:block}
"""
)


def _sha256(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


# The page's own script and style, by hash: nothing else runs or styles it, so a value that
# slipped past escaping could not execute. The Airflow UI frames the page (same origin), so
# framing is allowed for 'self' only.
PAGE_CSP = (
    f"default-src 'none'; script-src {_sha256(_SCRIPT)}; style-src {_sha256(_STYLE)}; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)


def render_page(
    decisions: Iterable[dict[str, Any]],
    *,
    texts: dict[str, tuple[str, str]],
    report_href: Callable[[str | None], str | None],
    quarter: str | None,
    review_type: str | None,
    base: str,
    error: str | None = None,
) -> str:
    """The whole page. ``texts``: criterion id -> (English, Russian) from criteria.yaml."""
    decisions = list(decisions)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for d in decisions:
        by_type.setdefault(d["review_type"], []).append(d)
    filters = []
    for label, rt in (("all", None), ("capacity", "capacity"), ("provider", "provider")):
        query = {k: v for k, v in (("quarter", quarter), ("type", rt)) if v}
        href = f"{base}/" + (f"?{urlencode(query)}" if query else "")
        current = " aria-current='page'" if rt == review_type else ""
        filters.append(f"<a href='{escape(href)}'{current}>{label}</a>")
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<title>Capacity decisions</title>",
        f"<style>{_STYLE}</style></head><body><main>",
        "<h1>Current decisions</h1>",
        "<p class='muted'>The current (not superseded) decision records of the quarterly "
        "reviews, each with the criteria of the roadmap's section 02.04.04 it was decided on. "
        "Текущие решения квартальных обзоров с критериями дорожной карты, раздел 02.04.04.</p>",
        f"<nav>Review: {' '.join(filters)}"
        + (f" · quarter <b>{escape(quarter)}</b>" if quarter else "")
        + "</nav>",
    ]
    if error:
        parts.append(f"<p class='error' role='alert'>{escape(error)}</p>")
    elif not decisions:
        parts.append("<p class='empty'>No decisions recorded yet. Trigger capacity_review.</p>")
    order = {t: i for i, t in enumerate(REVIEW_TYPES)}
    for rt in sorted(by_type, key=lambda t: (order.get(t, len(order)), t)):
        parts.append(f"<h2>{escape(rt.capitalize())} review</h2>")
        kinds = {"server": 0, "provider": 1, "fleet": 2}  # the fleet's verdict after its servers
        cards = sorted(by_type[rt], key=lambda d: (kinds.get(d["subject_kind"], 3), d["subject"]))
        cards.sort(key=lambda d: d["quarter"], reverse=True)
        parts += [_decision_card(d, texts, report_href) for d in cards]
    parts.append(f"</main><script>{_SCRIPT}</script></body></html>")
    return "\n".join(parts)

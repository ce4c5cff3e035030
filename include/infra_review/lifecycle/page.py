"""The decision page of the "Decision actions" plugin: one decision, its events, and the
accept / dismiss / implemented buttons (pure HTML; every value escaped).

The buttons post JSON with ``fetch`` from the page's own script (allowed by its hash in the
CSP, nothing else runs); the session cookie goes along because the request is same-origin.
"""

from __future__ import annotations

import base64
import hashlib
from html import escape
from typing import Any

from infra_review.lifecycle.states import TRANSITIONS

_SCRIPT = """
document.querySelectorAll("button[data-action]").forEach(function (b) {
  b.addEventListener("click", function () {
    var note = document.getElementById("note").value;
    var on = document.getElementById("on").value;
    var out = document.getElementById("result");
    out.textContent = "...";
    fetch(b.getAttribute("data-url"), {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json"},
      body: JSON.stringify({note: note, implemented_on: on || null})
    }).then(function (r) { return r.json().then(function (j) { return [r.ok, j]; }); })
      .then(function (x) {
        if (x[0]) { location.reload(); } else { out.textContent = x[1].detail || "refused"; }
      }).catch(function (e) { out.textContent = String(e); });
  });
});
"""
_STYLE = (
    "body{font-family:sans-serif;margin:1.5em;max-width:60em}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}"
    "button{margin-right:.5em}#result{color:#a00;margin-top:.5em}"
)


def _sha256(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


PAGE_CSP = (
    f"default-src 'none'; script-src {_sha256(_SCRIPT)}; style-src {_sha256(_STYLE)}; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)
LABELS = {
    "accept": "Accept / Принять",
    "dismiss": "Dismiss / Отклонить",
    "implemented": "Implemented / Выполнено",
}


def render_decision_page(
    decision: dict[str, Any], events: list[dict[str, Any]], *, can_edit: bool, base: str
) -> str:
    d = decision
    e = escape
    rows = "".join(
        f"<tr><td>{e(ev['at'].strftime('%Y-%m-%d %H:%M'))}</td><td>{e(ev['from_state'] or '-')}</td>"
        f"<td>{e(ev['to_state'])}</td><td>{e(ev['author'])}</td>"
        f"<td>{e(str(ev['implemented_on'] or ''))}</td><td>{e(ev['note'] or '')}</td></tr>"
        for ev in events
    )
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>Decision {int(d['decision_id'])}</title><style>{_STYLE}</style></head><body>",
        f"<h1>#{int(d['decision_id'])} {e(d['subject'])}: {e(d['decision'])}</h1>",
        f"<p>{e(d['review_type'])} review {e(d['quarter'])}; state "
        f"<strong id='state'>{e(d['state'] or 'no lifecycle (asks for no action)')}</strong>"
        f"{' (superseded)' if d['status'] == 'superseded' else ''}</p>",
        f"<p>{e(d['summary_en'])}</p><p lang='ru'>{e(d['summary_ru'])}</p>",
    ]
    allowed = [c for c, (starts, _) in TRANSITIONS.items() if d["state"] in starts]
    if d["status"] == "superseded":
        allowed = []
    if can_edit and allowed:
        parts.append(
            "<p><label>Note / Комментарий <input id='note' size='60'></label> "
            "<label>Implemented on <input id='on' type='date'></label></p><p>"
        )
        for command in allowed:
            url = f"{base}/api/decisions/{int(d['decision_id'])}/{command}"
            parts.append(
                f"<button type='button' data-action='{command}' data-url='{e(url)}'>"
                f"{LABELS[command]}</button>"
            )
        parts.append("</p><div id='result' role='status'></div>")
    elif not can_edit:
        parts.append(
            "<p>You may read this decision; changing it needs edit access to the "
            "review DAG's runs.</p>"
        )
    parts.append(
        "<h2>Events</h2><table id='events'><tr><th>at</th><th>from</th><th>to</th>"
        f"<th>by</th><th>implemented on</th><th>note</th></tr>{rows}</table>"
    )
    parts.append(f"<script>{_SCRIPT}</script></body></html>")
    return "".join(parts)

"""The sized recommendations of a decision (``context["sizing"]``, made by
``capacity.sizing``) as ``current -> recommended`` with units, the same way in the CLI table,
the review report and the decisions page. Pure; HTML escapes every value."""

from __future__ import annotations

from html import escape
from typing import Any

from infra_review.capacity.sizing import money


def items(context: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The decision's sizing entries (none for a record written before sizing existed)."""
    found = (context or {}).get("sizing")
    return [x for x in found if isinstance(x, dict)] if isinstance(found, list) else []


def _n(x: Any) -> str:
    if x is None:
        return "?"
    x = float(x)
    return str(int(x)) if x.is_integer() else f"{x:.1f}"


def arrow(rec: dict[str, Any]) -> str:
    """``RAM 16 -> 32 GB``; ``RAM 32 -> ? GB (needs 41, no plan)``; ``RAM 16 GB: not sized``."""
    label = {"ram": "RAM", "cpu": "CPU"}.get(rec.get("resource"), str(rec.get("resource")))
    unit = rec.get("unit") or ""
    if rec.get("resource") == "hosting":  # a provider move: annual costs
        cur = money(rec.get("current"), rec.get("currency"), signed=False)
        new = money(rec.get("recommended"), rec.get("currency"), signed=False)
        return f"hosting {cur} -> {new} a year"
    if rec.get("status") == "sized":
        return f"{label} {_n(rec.get('current'))} -> {_n(rec.get('recommended'))} {unit}"
    if rec.get("status") == "no_plan":
        return (
            f"{label} {_n(rec.get('current'))} -> ? {unit} (needs {_n(rec.get('needed'))}, no plan)"
        )
    return f"{label} {_n(rec.get('current'))} {unit}: not sized"


def plan(rec: dict[str, Any]) -> str:
    if rec.get("status") == "no_plan":
        return f"none holds it (largest {rec.get('largest_plan')}); see add_server"
    if rec.get("action") == "add_server" and rec.get("plan"):
        return f"new server {rec['plan']}"
    if rec.get("plan"):
        return f"{rec.get('current_plan') or '?'} -> {rec['plan']}"
    return rec.get("reason") or "–"


def cost(rec: dict[str, Any]) -> str:
    if rec.get("monthly_cost_change") is not None:
        return f"{money(rec['monthly_cost_change'], rec.get('currency'))}/month"
    if rec.get("status") == "sized":
        return f"unknown: {rec.get('cost_note')}"
    return "–"


def utilisation(rec: dict[str, Any]) -> str:
    u = rec.get("projected_utilisation")
    return f"{float(u):.0%}" if u is not None else "–"


def line(rec: dict[str, Any]) -> str:
    """One line: ``RAM 16 -> 32 GB · plan vps-16g -> vps-32g · +30 000 KZT/month · 45% used``."""
    parts = [arrow(rec), f"plan {plan(rec)}", cost(rec)]
    if rec.get("projected_utilisation") is not None:
        parts.append(f"projected {utilisation(rec)} used")
    return " · ".join(parts)


MARKDOWN_HEADER = [
    "| subject | action | current -> recommended | plan | monthly cost change "
    "| projected utilisation | по-русски |",
    "|---|---|---|---|---|---|---|",
]


def markdown_rows(subject: str, context: dict[str, Any] | None) -> list[str]:
    """Rows of the report's table ``| subject | action | current -> recommended | plan |
    monthly cost change | projected utilisation | Русский |``."""
    out = []
    for rec in items(context):
        cells = [
            subject,
            str(rec.get("action", "")),
            arrow(rec),
            plan(rec),
            cost(rec),
            utilisation(rec),
            str(rec.get("text_ru", "")),
        ]
        out.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return out


def html_block(context: dict[str, Any] | None) -> str:
    """The decisions page's table of a decision's sizes ('' when it has none)."""
    recs = items(context)
    if not recs:
        return ""
    rows = "".join(
        f"<tr class='sizing-{escape(str(r.get('status')))}' "
        f"data-resource='{escape(str(r.get('resource')))}'>"
        f"<td class='arrow'>{escape(arrow(r))}</td><td>{escape(plan(r))}</td>"
        f"<td class='num'>{escape(cost(r))}</td><td class='num'>{escape(utilisation(r))}</td>"
        f"<td class='ru' lang='ru'>{escape(str(r.get('text_ru', '')))}</td></tr>"
        for r in recs
    )
    return (
        "<table class='sizing'><tr><th>current -> recommended</th><th>plan</th>"
        "<th>monthly cost change</th><th>projected utilisation</th><th>по-русски</th></tr>"
        f"{rows}</table>"
    )

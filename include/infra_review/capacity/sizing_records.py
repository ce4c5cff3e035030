"""Puts the sizes into the decision records: each ``upgrade_*`` server decision and the fleet's
``add_server`` get ``context["sizing"]`` (``capacity.sizing``) and one sentence per resource
at the end of both summaries, so the CLI line, the report, the page, the notification and
``reporting.recommendations`` all carry ``current -> recommended``. Pure."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from infra_review.capacity import sizing
from infra_review.capacity.criteria.server import FleetInputs, current_servers
from infra_review.quarter import Quarter


def _met_records(decision, rules: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    met: dict[str, list[dict[str, Any]]] = {}
    for r in decision.results:
        rule = rules.get(r.criterion_id)
        if r.met and rule is not None:
            met.setdefault(rule.group, []).append(
                {"criterion_id": r.criterion_id, "evidence": r.evidence}
            )
    return met


def _fleet_servers(quarter: Quarter, payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The servers the fleet criteria judged (declared ones and any with CPU or RAM data)."""
    return current_servers(FleetInputs(quarter.start, quarter.end, [p["stats"] for p in payloads]))


def with_sizing(
    decisions: list,
    quarter: Quarter,
    payloads: list[dict[str, Any]],
    fleet_payload: dict[str, Any],
    rules: dict[str, Any],
    defaults: dict[str, Any],
    book: dict[str, Any] | None,
) -> list:
    """The decisions, each action sized (unchanged when there is no price book)."""
    if not book:
        return decisions
    target = sizing.target_utilisation(rules, defaults)
    days = sizing.days_to_next_quarter_end(quarter)
    stats = {p["server"]: p["stats"] for p in payloads}
    out = []
    for x in decisions:
        items: list[dict[str, Any]] = []
        if x.subject_kind == "server" and x.subject in stats:
            met = _met_records(x, rules)
            items = sizing.size_actions(
                list(x.actions), stats[x.subject], met, book, target=target, days_ahead=days
            )
        elif x.subject_kind == "fleet" and x.decision == "add_server":
            items = sizing.size_new_server(
                _fleet_servers(quarter, payloads), book, target=target, days_ahead=days
            )
        if not items:
            out.append(x)
            continue
        en = "Size: " + "; ".join(i["text_en"] for i in items) + "."
        ru = "Размер: " + "; ".join(i["text_ru"] for i in items) + "."
        out.append(
            replace(
                x,
                context={**x.context, "sizing": items},
                summary_en=f"{x.summary_en} {en}",
                summary_ru=f"{x.summary_ru} {ru}",
            )
        )
    return out

"""The fleet's decision record (``add_server`` / ``watch`` / ``no_action`` /
``insufficient_data``) with its MADR fields and summaries, from ``decide.fleet_rule``. Pure."""

from __future__ import annotations

from typing import Any

from infra_review.capacity.decide import ACTIONS, FLEET_DECISIONS, Decision, fleet_rule
from infra_review.capacity.records import _driver
from infra_review.criteria.registry import explain_both as explain
from infra_review.criteria.result import CriterionResult
from infra_review.criteria.rules import Rule
from infra_review.quarter import Quarter


def decide_fleet(
    quarter: Quarter,
    results: list[CriterionResult],
    forecast: dict[str, Any] | None,
    rules: dict[str, Rule],
    *,
    servers: list[str],
    criteria_version: str,
    horizon_days: float,
    unattributed: list[dict[str, Any]] | None = None,
    unlisted: list[str] | None = None,
) -> Decision:
    ruling = fleet_rule(results, forecast, rules)
    decision, blocking, not_evaluated = ruling.decision, ruling.blocking, ruling.not_evaluated
    met = [r for r in results if r.met]
    if met:
        drivers = [_driver(r, rules) for r in met]
    elif blocking:
        drivers = [_driver(r, rules) for r in blocking]
    elif forecast:
        drivers = [
            {
                "forecast": forecast,
                "evidence_en": "every server's load trend reaches the threshold",
                "evidence_ru": "тренд загрузки каждого сервера достигает порога",
            }
        ]
    else:
        drivers = []
    next_q = str(quarter.next())
    en = [f"Fleet ({', '.join(servers)}): {ACTIONS[decision][0]}."]
    ru = [f"Парк ({', '.join(servers)}): {ACTIONS[decision][1]}."]
    for r in met or blocking:
        e, x = explain(r)
        en.append(f"{r.criterion_id} met: {e}." if r.met else f"{r.criterion_id}: {e}.")
        ru.append(f"Выполнен {r.criterion_id}: {x}." if r.met else f"{r.criterion_id}: {x}.")
    if decision == "watch":
        when = forecast.get("crossing") or ""
        en.append(
            f"No trigger met, but every server's load trend reaches the threshold (by {when[:10]})."
        )
        ru.append(
            f"Критерии не выполнены, но тренд загрузки каждого сервера достигает порога (к {when[:10]})."
        )
    if decision == "no_action":
        en.append("No new-server trigger met.")
        ru.append("Ни один критерий нового сервера не выполнен.")
    if not_evaluated:
        en.append("Not evaluated: " + ", ".join(r.criterion_id for r in not_evaluated) + ".")
        ru.append("Не оценены: " + ", ".join(r.criterion_id for r in not_evaluated) + ".")
    if unlisted:
        names = ", ".join(sorted(unlisted))
        en.append(
            f"Unlisted servers (not in fleet.yaml), reviewed on their own and not part of the "
            f"fleet's criteria: {names}."
        )
        ru.append(
            f"Серверы не из fleet.yaml рассмотрены отдельно и не входят в критерии парка: {names}."
        )
    if unattributed:
        whys = "; ".join(sorted({c.get("unattributed") or "" for c in unattributed}))
        en.append(
            f"{len(unattributed)} '{unattributed[0].get('category')}' complaint(s) could not be "
            f"attributed to one server and count toward no server's cpu.complaints ({whys})."
        )
        ru.append(
            f"{len(unattributed)} жалоб(ы) '{unattributed[0].get('category')}' не отнесены к "
            f"одному серверу и не учтены в cpu.complaints ни одного сервера ({whys})."
        )
    options = []
    for option in FLEET_DECISIONS:
        if option == decision:
            continue
        if option == "add_server":
            lines = [(r.criterion_id, *explain(r)) for r in results]
            why = (
                "no new-server trigger is met: " + "; ".join(f"{c}: {e}" for c, e, _ in lines),
                "ни один критерий нового сервера не выполнен: "
                + "; ".join(f"{c}: {x}" for c, _, x in lines),
            )
        elif option == "insufficient_data":
            why = (
                "the fleet criteria had the data they need",
                "данных для критериев парка достаточно",
            )
        elif option == "watch":
            why = (
                ("a trigger is already met", "критерий уже выполнен")
                if met
                else (
                    "not every server's load trend reaches the threshold",
                    "тренд загрузки не у всех серверов достигает порога",
                )
            )
        else:
            why = (
                (
                    "trigger(s) met: " + ", ".join(r.criterion_id for r in met),
                    "выполнены критерии: " + ", ".join(r.criterion_id for r in met),
                )
                if met
                else ("the data or the trend does not allow it", "данные или тренд не позволяют")
            )
        options.append({"option": option, "why_not_en": why[0], "why_not_ru": why[1]})
    for option in ("upgrade_ram", "upgrade_cpu"):
        options.append(
            {
                "option": option,
                "why_not_en": "a per-server decision: see the server records of this review",
                "why_not_ru": "решение по серверу: см. записи серверов этого обзора",
            }
        )
    if met:
        ids = [r.criterion_id for r in met]
        confirmation = {
            "review": next_q,
            "criteria": ids,
            "expect_en": f"with the new server in fleet.yaml, the {next_q} review no longer meets {', '.join(ids)}",
            "expect_ru": f"с новым сервером в fleet.yaml обзор {next_q} больше не выполняет {', '.join(ids)}",
        }
    else:
        confirmation = {
            "review": next_q,
            "expect_en": f"no new-server trigger met in {next_q}",
            "expect_ru": f"в {next_q} ни один критерий нового сервера не выполнен",
        }
    context = {
        "subject": "fleet",
        "servers": servers,
        "quarter": str(quarter),
        "window": [quarter.start.isoformat(), quarter.end.isoformat()],
        "criteria_version": criteria_version,
        "actions": [decision],
        "forecast": forecast,
        "unattributed_complaints": unattributed or [],
        "unlisted_servers": sorted(unlisted or []),
        "not_evaluated": [
            {
                "criterion_id": r.criterion_id,
                "reasons": (r.evidence.get("insufficient") or {}).get("reasons", []),
            }
            for r in not_evaluated
        ],
    }
    return Decision(
        "fleet",
        "fleet",
        decision,
        [decision],
        " ".join(en),
        " ".join(ru),
        context,
        drivers,
        options,
        confirmation,
        results,
    )

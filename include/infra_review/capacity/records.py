"""The decision records of the capacity review (MADR fields: context, drivers, options
considered, outcome, confirmation) and their Russian and English summaries, built from the
decision rule's ruling (``capacity.decide``) and the criteria's own ``explain``. Pure.
"""

from __future__ import annotations

from typing import Any

from infra_review import russian as rus
from infra_review.capacity.decide import (
    ACTIONS,
    SERVER_DECISIONS,
    Decision,
    server_rule,
)
from infra_review.criteria.registry import criterion_class
from infra_review.criteria.registry import explain_both as explain
from infra_review.criteria.result import CriterionResult, Outcome
from infra_review.criteria.rules import Rule
from infra_review.quarter import Quarter


def _driver(r: CriterionResult, rules: dict[str, Rule]) -> dict[str, Any]:
    en, ru = explain(r)
    rule = rules.get(r.criterion_id)
    keep = ("longest_run", "qualifying_runs", "label", "samples", "coverage", "gate", "incident")
    return {
        "criterion_id": r.criterion_id,
        "text_en": rule.text_en if rule else None,
        "text_ru": rule.text_ru if rule else None,
        "outcome": str(r.outcome),
        "observed": r.observed,
        "threshold": r.threshold,
        "evidence_en": en,
        "evidence_ru": ru,
        "evidence": {k: r.evidence[k] for k in keep if k in r.evidence},
    }


def _forecast_text(fc: dict[str, Any]) -> tuple[str, str]:
    what = f"{fc.get('metric', 'load')}{' [' + fc['label'] + ']' if fc.get('label') else ''}"
    when = (fc.get("crossing") or "")[:10]
    slope = fc.get("slope_per_day")
    slope_txt = f"{slope:+.3g}/day" if slope is not None else ""
    slope_ru = f"{slope:+.3g}/день" if slope is not None else ""
    stat_ru = fc.get("statistic_ru") or fc.get("statistic")
    if fc.get("already_beyond"):
        return (
            f"the {fc.get('statistic')} trend of {what} ({slope_txt}) is already at "
            f"{fc['fitted_at_end']:.3g} against {fc['threshold']:g}",
            f"тренд ({stat_ru}) {what} ({slope_ru}) уже на уровне "
            f"{fc['fitted_at_end']:.3g} при пороге {rus.number(fc['threshold'], 3)}",
        )
    return (
        f"the {fc.get('statistic')} trend of {what} ({slope_txt}) reaches {fc['threshold']:g} "
        f"around {when}",
        f"тренд ({stat_ru}) {what} ({slope_ru}) достигнет {rus.number(fc['threshold'], 3)} "
        f"около {when}",
    )


def _incidents(results: list[CriterionResult]) -> list[dict[str, Any]]:
    """What the criteria flag as incidents to fix rather than capacity to buy."""
    found = []
    for r in results:
        cls = criterion_class(r.criterion_id)
        incident = cls.incident(r) if cls is not None else None
        if incident:
            found.append(incident)
    return found


def _why_group_not(
    group: str, results: list[CriterionResult], rules: dict[str, Rule]
) -> tuple[str, str]:
    mine = [
        r for r in results if (rules.get(r.criterion_id) and rules[r.criterion_id].group == group)
    ]
    lines = [(r.criterion_id, *explain(r)) for r in mine]
    lacking = {r.criterion_id for r in mine if r.outcome is Outcome.INSUFFICIENT_DATA}
    applicable = {r.criterion_id for r in mine if r.evidence.get("applicable") is not False}
    if applicable and lacking >= applicable:  # missing is never a pass
        en = "no trigger of the group could be evaluated: "
        ru = "ни один критерий группы не удалось оценить: "
    elif lacking:
        en = f"no trigger of the group is met where data allowed ({len(lacking)} not evaluated): "
        ru = f"ни один критерий группы не выполнен там, где хватило данных (не оценены: {len(lacking)}): "
    else:
        en, ru = "no trigger of the group is met: ", "ни один критерий группы не выполнен: "
    en += "; ".join(f"{c}: {e}" for c, e, _ in lines)
    ru += "; ".join(f"{c}: {x}" for c, _, x in lines)
    return en, ru


def _quality(results: list[CriterionResult]) -> dict[str, Any]:
    """Per criterion: the gate verdict of the series it used (coverage, samples, passed)."""
    out = {}
    for r in results:
        gate = r.evidence.get("gate")
        if gate:
            out[r.criterion_id] = {
                "passed": gate.get("passed"),
                "coverage": gate.get("coverage"),
                "samples": gate.get("samples", r.evidence.get("samples")),
                "reasons": gate.get("reasons", []),
            }
    return out


def decide_server(
    server: str,
    quarter: Quarter,
    results: list[CriterionResult],
    forecasts: list[dict[str, Any]],
    rules: dict[str, Rule],
    *,
    metadata: dict[str, Any],
    criteria_version: str,
    horizon_days: float,
) -> Decision:
    ruling = server_rule(results, forecasts, rules)
    decision, met, blocking = ruling.decision, ruling.met, ruling.blocking
    actions = [a for a in ruling.actions if a in ("upgrade_ram", "upgrade_cpu")]
    not_evaluated, watch = ruling.not_evaluated, ruling.watch
    incidents = _incidents(results)
    if actions:
        drivers = [_driver(r, rules) for g in ("ram", "cpu") for r in met.get(g, [])]
    elif blocking:
        drivers = [_driver(r, rules) for r in blocking]
    elif watch:
        drivers = [
            {
                "forecast": f,
                "evidence_en": _forecast_text(f)[0],
                "evidence_ru": _forecast_text(f)[1],
            }
            for f in watch
        ]
    else:
        drivers = []
    next_q = str(quarter.next())

    # summaries
    name_en = " and ".join(ACTIONS[a][0] for a in actions) if actions else ACTIONS[decision][0]
    name_ru = " и ".join(ACTIONS[a][1] for a in actions) if actions else ACTIONS[decision][1]
    en = [f"{server}: {name_en}."]
    ru = [f"{server}: {name_ru}."]
    if actions:
        for g in ("ram", "cpu"):
            for r in met.get(g, []):
                e, x = explain(r)
                en.append(f"{r.criterion_id} met: {e}.")
                ru.append(f"Выполнен {r.criterion_id}: {x}.")
    elif blocking:
        en.append(
            "The quality gate failed for: "
            + "; ".join(f"{r.criterion_id} ({explain(r)[0]})" for r in blocking)
            + "."
        )
        ru.append(
            "Данные не прошли проверку качества: "
            + "; ".join(f"{r.criterion_id} ({explain(r)[1]})" for r in blocking)
            + "."
        )
    elif watch:
        en.append("No trigger met, but " + "; ".join(_forecast_text(f)[0] for f in watch) + ".")
        ru.append(
            "Критерии не выполнены, но " + "; ".join(_forecast_text(f)[1] for f in watch) + "."
        )
    else:
        en.append(f"No trigger met and no trend reaches a threshold within {horizon_days:g} days.")
        ru.append(
            f"Ни один критерий не выполнен, и ни один тренд не достигает порога за "
            f"{rus.count(horizon_days, 'день', 'дня', 'дней')}."
        )
    for inc in incidents:
        en.append(inc["text_en"] + ".")
        ru.append(inc["text_ru"] + ".")
    if not_evaluated:
        en.append("Not evaluated: " + ", ".join(r.criterion_id for r in not_evaluated) + ".")
        ru.append("Не оценены: " + ", ".join(r.criterion_id for r in not_evaluated) + ".")

    # options considered
    options = []
    for option in SERVER_DECISIONS:
        if option == decision or option in actions:
            continue
        if option in ("upgrade_ram", "upgrade_cpu"):
            group = option.split("_")[1]
            why = _why_group_not(group, results, rules)
        elif option == "insufficient_data":
            why = (
                "every series the triggers need passed the quality gate"
                + (
                    f" (not evaluated, not blocking: {', '.join(r.criterion_id for r in not_evaluated)})"
                    if not_evaluated
                    else ""
                ),
                "все ряды, нужные критериям, прошли проверку качества"
                + (
                    f" (не оценены, не блокируют: {', '.join(r.criterion_id for r in not_evaluated)})"
                    if not_evaluated
                    else ""
                ),
            )
            if actions and blocking:
                why = (
                    "a trigger is met on data that passed the gate, so missing data elsewhere "
                    "cannot change the action",
                    "критерий выполнен на данных, прошедших проверку; недостающие данные "
                    "не меняют решения",
                )
        elif option == "watch":
            if actions:
                why = (
                    "a trigger is already met: act, not watch",
                    "критерий уже выполнен: действовать, а не наблюдать",
                )
            elif blocking:
                why = ("a trigger could not be ruled out", "нельзя исключить выполнение критерия")
            else:
                why = (
                    "no trend of what a trigger judges reaches its threshold by the end of "
                    f"the next quarter ({horizon_days:g} days)",
                    "ни один тренд величины, которую оценивает критерий, не достигает порога "
                    f"до конца следующего квартала ({rus.count(horizon_days, 'день', 'дня', 'дней')})",
                )
        else:  # no_action
            if actions:
                ids = ", ".join(r.criterion_id for g in ("ram", "cpu") for r in met.get(g, []))
                why = (f"trigger(s) met: {ids}", f"выполнены критерии: {ids}")
            elif blocking:
                why = (
                    "the gate failed for series a trigger needs",
                    "данные для критериев не прошли проверку",
                )
            else:
                why = (
                    "a trend reaches a threshold within the horizon",
                    "тренд достигает порога в горизонте прогноза",
                )
        options.append({"option": option, "why_not_en": why[0], "why_not_ru": why[1]})
    options.append(
        {
            "option": "add_server",
            "why_not_en": "a fleet-level decision: see the fleet record of this review",
            "why_not_ru": "решение уровня парка: см. запись fleet этого обзора",
        }
    )

    # confirmation: what the next review should see
    if actions:
        ids = [r.criterion_id for g in ("ram", "cpu") for r in met.get(g, [])]
        confirmation = {
            "review": next_q,
            "criteria": ids,
            "expect_en": f"after the upgrade, the {next_q} review no longer meets {', '.join(ids)}",
            "expect_ru": f"после увеличения обзор {next_q} больше не выполняет {', '.join(ids)}",
        }
    elif blocking:
        series = sorted({r.evidence.get("metric", r.criterion_id) for r in blocking})
        confirmation = {
            "review": next_q,
            "series": series,
            "expect_en": f"{', '.join(series)} cover the {next_q} window above the coverage floor",
            "expect_ru": f"ряды {', '.join(series)} покрывают окно {next_q} выше порога покрытия",
        }
    elif watch:
        confirmation = {
            "review": next_q,
            "criteria": sorted({f["criterion_id"] for f in watch}),
            "expect_en": f"the {next_q} review re-checks the trend; if it holds, the trigger is met and the action follows",
            "expect_ru": f"обзор {next_q} перепроверяет тренд; если он сохранится, критерий выполнится и потребуется действие",
        }
    else:
        confirmation = {
            "review": next_q,
            "expect_en": f"no capacity trigger met in {next_q}",
            "expect_ru": f"в {next_q} ни один критерий мощности не выполнен",
        }
    context = {
        "subject": server,
        "quarter": str(quarter),
        "window": [quarter.start.isoformat(), quarter.end.isoformat()],
        "criteria_version": criteria_version,
        "metadata": metadata,
        "data_quality": _quality(results),
        "actions": actions or [decision],
        "incidents": incidents,
        "not_evaluated": [
            {
                "criterion_id": r.criterion_id,
                "reasons": (r.evidence.get("insufficient") or {}).get("reasons", []),
                **({"blocking": True} if r in blocking else {}),
            }
            for r in [*not_evaluated, *blocking]
        ],
        "forecasts": forecasts,
    }
    return Decision(
        "server",
        server,
        decision,
        actions or [decision],
        " ".join(en),
        " ".join(ru),
        context,
        drivers,
        options,
        confirmation,
        results,
    )

"""The next review's verdict on earlier decisions, from each decision's ``confirmation``.

Pure: ``confirm_decisions(previous, review)`` takes the earlier decisions that are still open
(state ``accepted`` or ``implemented``) and what the new review found, and returns one
``Followup`` per decision:
- ``implemented`` -> ``confirmed`` when the data shows the action worked, else
  ``not_confirmed`` with the evidence. upgrade_ram / upgrade_cpu: fleet.yaml shows more RAM
  (cores) than at decision time AND none of the decision's RAM (CPU) criteria is met again;
  a criterion without enough data is not a pass. add_server: more servers in the fleet and
  none of its criteria met. migrate: the new review's current provider is the one
  recommended. evaluate_migration: every criterion it watched is met by the new review.
- ``accepted`` (never implemented) -> ``carried_forward``: the state stays, the summary flags it.

Upgrades are judged on the data after the moment they were implemented
(``implemented_at``: when the decision was marked implemented, or the start of the day after
the date given with it when that is earlier; ``after.implemented_moment``), not on the
review's outcome, which counts a run in the quarter in which it passed its duration however
much of it lies before the upgrade. For each trigger criterion with runs in its evidence
(``qualifying_runs`` and ``carried_over_runs``, each with ``start`` and ``end``):
- met again, so ``not_confirmed``, when a run was above the threshold after the moment for
  the criterion's duration (its part from ``max(start, implemented_at)`` to ``end``, counted
  as the criterion counts a run, passes the duration with the criterion's comparator: "more
  than 24 h" for ram.sustained, "at least 1 h" for cpu.api_latency). A run counted in the
  previous quarter that goes on for days after the upgrade is therefore met again, and a run
  that passed its duration before the upgrade is not;
- not met when no run does, provided the review has the data: ``insufficient_data`` or a
  missing result stays "not evaluated" (not a pass), as before;
- when the moment leaves the quarter less than the duration, no run after it can pass the
  duration yet: the decision is ``waiting`` (nothing is written; it stays ``implemented``
  and the next review judges it).
Criteria whose evidence lists no runs (ram.swap, ram.degradation, planned services,
complaints) keep the review's outcome. A decision without an implemented time (recorded
before the lifecycle events, or set by hand) is judged on the review's outcomes, as before.
The rule, per criterion, is ``lifecycle.after.judge_after``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from infra_review.criteria.registry import criterion_class
from infra_review.lifecycle.after import as_utc, judge_after, run_texts, when_text
from infra_review.quarter import Quarter
from infra_review.timeseries.runs import format_duration

# action -> (fleet.yaml size key, the group of its criteria (``Criterion.group``), names)
RESOURCE = {
    "upgrade_ram": ("ram_gb", "ram", "RAM", "GB", "ОЗУ", "ГБ"),
    "upgrade_cpu": ("cpu_cores", "cpu", "CPU", "cores", "ЦП", "ядер"),
}


@dataclass(frozen=True)
class NewReview:
    """What the new review found: its quarter, every criterion result (``subject``,
    ``criterion_id``, ``outcome``), each server's fleet.yaml metadata (``ram_gb``,
    ``cpu_cores``), the fleet's servers, and (provider review) the current provider."""

    quarter: str
    review_type: str
    results: list[dict[str, Any]] = field(default_factory=list)
    servers: dict[str, dict[str, Any]] = field(default_factory=dict)
    fleet_servers: list[str] | None = None
    current_provider: str | None = None

    @property
    def window_end(self):
        """The end of the new review's window (its quarter's, UTC)."""
        return Quarter.parse(self.quarter).end


@dataclass(frozen=True)
class Followup:
    decision_id: int
    quarter: str
    subject: str
    decision: str
    to_state: str  # confirmed | not_confirmed | carried_forward | waiting (nothing written)
    note_en: str
    note_ru: str
    evidence: dict[str, Any] = field(default_factory=dict)


def _result_dict(r: Any) -> dict[str, Any]:
    if isinstance(r, Mapping):
        return dict(r)
    return {
        "subject": r.subject,
        "criterion_id": r.criterion_id,
        "outcome": getattr(r.outcome, "value", r.outcome),
        "observed": r.observed,
        "evidence": r.evidence,  # the runs, for judging after an implementation
    }


def new_review_from_records(review_type: str, quarter: str, records: Iterable[Any]) -> NewReview:
    """Build ``NewReview`` from the ``DecisionRecord``s a review is about to write."""
    results: list[dict[str, Any]] = []
    servers: dict[str, dict[str, Any]] = {}
    fleet_servers = None
    provider = None
    for rec in records:
        results.extend(_result_dict(r) for r in rec.results)
        if rec.subject_kind == "server":
            servers[rec.subject] = dict(rec.context.get("metadata") or {})
        elif rec.subject_kind == "fleet":
            fleet_servers = list(rec.context.get("servers") or [])
        elif rec.subject_kind == "provider":
            provider = rec.subject
    return NewReview(quarter, review_type, results, servers, fleet_servers, provider)


def _outcomes(results: list[dict[str, Any]], subject: str | None, ids: list[str]) -> dict:
    """criterion id -> outcome in the new review (for ``subject``, or any subject if None)."""
    found: dict[str, str] = {}
    for r in results:
        if r["criterion_id"] in ids and (subject is None or r["subject"] == subject):
            # for fleet criteria over several subjects, a met anywhere is met
            if found.get(r["criterion_id"]) != "met":
                found[r["criterion_id"]] = str(r["outcome"])
    return {c: found.get(c, "missing") for c in ids}


def _criteria(prev: Mapping[str, Any], group: str | None = None) -> list[str]:
    """The decision's criteria (of ``group`` only, if given)."""
    ids = list((prev.get("confirmation") or {}).get("criteria") or prev.get("criteria_met") or [])
    if group is None:
        return ids
    return [c for c in ids if getattr(criterion_class(c), "group", None) == group]


def _num(x: Any) -> str:
    """16.0 -> "16", 1.5 -> "1.5", None -> "unknown"."""
    if x is None:
        return "unknown"
    try:
        return f"{float(x):g}"
    except (TypeError, ValueError):
        return str(x)


def _judge_triggers(outcomes: dict[str, str]) -> tuple[list[str], list[str]]:
    met = [c for c, o in outcomes.items() if o == "met"]
    unknown = [c for c, o in outcomes.items() if o in ("insufficient_data", "missing")]
    return met, unknown


def _results(results: list[dict[str, Any]], subject: str, ids: list[str]) -> dict:
    """criterion id -> the new review's result for ``subject`` (a met one first), if any."""
    found: dict[str, dict[str, Any]] = {}
    for r in results:
        c = r["criterion_id"]
        if c in ids and r["subject"] == subject and str(found.get(c, {}).get("outcome")) != "met":
            found[c] = r
    return found


def implemented_at(prev: Mapping[str, Any]) -> datetime | None:
    value = prev.get("implemented_at")
    return as_utc(value) if value else None


def _upgrade(prev: Mapping[str, Any], action: str, review: NewReview) -> tuple[str, dict, str, str]:
    key, group, name_en, unit_en, name_ru, unit_ru = RESOURCE[action]
    subject = prev["subject"]
    before = ((prev.get("context") or {}).get("metadata") or {}).get(key)
    after = (review.servers.get(subject) or {}).get(key)
    ids = _criteria(prev, group)
    outcomes = _outcomes(review.results, subject, ids)
    moment = implemented_at(prev)
    judged: dict[str, dict[str, Any]] = {}
    verdicts = outcomes
    if moment is not None:
        found = _results(review.results, subject, ids)
        judged = {c: judge_after(found.get(c), moment, review.window_end) for c in ids}
        verdicts = {c: j["outcome"] for c, j in judged.items()}
    met, unknown = _judge_triggers(verdicts)
    waiting = [c for c, o in verdicts.items() if o == "waiting"]
    more = before is not None and after is not None and float(after) > float(before)
    evidence: dict[str, Any] = {
        "resource": key,
        "before": before,
        "after": after,
        "criteria": verdicts,
    }
    if moment is not None:
        evidence.update(
            implemented_at=moment.isoformat(), review_outcomes=outcomes, after_implementation=judged
        )
    when = when_text(moment) if moment else None
    why_en, why_ru = [], []
    if not more:
        why_en.append(f"fleet.yaml shows {_num(after)} {unit_en} {name_en} (was {_num(before)})")
        why_ru.append(
            f"fleet.yaml показывает {name_ru} {_num(after)} {unit_ru} (было {_num(before)})"
        )
    met_after = [c for c in met if judged.get(c, {}).get("how") == "after"]
    if met_after:
        runs_en, runs_ru = run_texts(judged, met_after)
        why_en.append(f"still met after the implementation ({when} UTC): {runs_en}")
        why_ru.append(f"после выполнения решения ({when} UTC) по-прежнему выполняются: {runs_ru}")
    if met_review := [c for c in met if c not in met_after]:
        why_en.append(f"still met: {', '.join(met_review)}")
        why_ru.append(f"по-прежнему выполняются: {', '.join(met_review)}")
    if unknown:
        why_en.append(f"not evaluated: {', '.join(unknown)}")
        why_ru.append(f"не оценены: {', '.join(unknown)}")
    if not outcomes:
        why_en.append("the decision names no criteria to re-check")
        why_ru.append("в решении нет критериев для проверки")
    if why_en:
        return "not_confirmed", evidence, "; ".join(why_en), "; ".join(why_ru)
    if waiting:
        need = max(judged[c]["need_s"] for c in waiting)
        return (
            "waiting",
            evidence,
            f"implemented {when} UTC, less than {format_duration(need)} before the end "
            f"of {review.quarter}: {', '.join(waiting)} left for the next review",
            f"выполнено {when} UTC, меньше чем за {format_duration(need, 'ru')} до "
            f"конца {review.quarter}: {', '.join(waiting)} оценит следующий обзор",
        )
    en = f"{name_en} {before} -> {after} {unit_en}; no longer met: {', '.join(outcomes)}"
    ru = f"{name_ru} {before} -> {after} {unit_ru}; больше не выполняются: {', '.join(outcomes)}"
    if after_ids := [c for c, j in judged.items() if j.get("how") == "after"]:
        before_only = [c for c in after_ids if judged[c].get("met_before")]
        en += f" (after the implementation, {when} UTC: {', '.join(after_ids)}"
        ru += f" (после выполнения решения, {when} UTC: {', '.join(after_ids)}"
        if before_only:
            en += f"; met only before it: {', '.join(before_only)}"
            ru += f"; выполнялись только до него: {', '.join(before_only)}"
        en, ru = en + ")", ru + ")"
    return "confirmed", evidence, en, ru


def _add_server(prev: Mapping[str, Any], review: NewReview) -> tuple[bool, dict, str, str]:
    before = list((prev.get("context") or {}).get("servers") or [])
    after = list(review.fleet_servers or [])
    outcomes = _outcomes(review.results, None, _criteria(prev))
    met, unknown = _judge_triggers(outcomes)
    more = review.fleet_servers is not None and len(after) > len(before)
    evidence = {"servers_before": before, "servers_after": after, "criteria": outcomes}
    if more and not met and not unknown:
        return (
            True,
            evidence,
            f"{len(before)} -> {len(after)} servers; no longer met: {', '.join(outcomes) or '-'}",
            f"{len(before)} -> {len(after)} серверов; больше не выполняются: "
            f"{', '.join(outcomes) or '-'}",
        )
    en = [] if more else [f"the fleet still has {len(after)} servers (was {len(before)})"]
    ru = [] if more else [f"в парке по-прежнему {len(after)} серверов (было {len(before)})"]
    if met:
        en.append(f"still met: {', '.join(met)}")
        ru.append(f"по-прежнему выполняются: {', '.join(met)}")
    if unknown:
        en.append(f"not evaluated: {', '.join(unknown)}")
        ru.append(f"не оценены: {', '.join(unknown)}")
    return False, evidence, "; ".join(en), "; ".join(ru)


def _migrate(prev: Mapping[str, Any], review: NewReview) -> tuple[bool, dict, str, str]:
    target = (prev.get("context") or {}).get("recommended_provider")
    now = review.current_provider
    evidence = {"recommended_provider": target, "current_provider": now}
    if target and now == target:
        return (
            True,
            evidence,
            f"the current provider is now {now}",
            f"текущий провайдер теперь {now}",
        )
    return (
        False,
        evidence,
        f"the current provider is {now}, not {target}",
        f"текущий провайдер {now}, а не {target}",
    )


def _evaluate_migration(prev: Mapping[str, Any], review: NewReview) -> tuple[bool, dict, str, str]:
    watched = list((prev.get("confirmation") or {}).get("watch") or [])
    outcomes: dict[str, str] = {}
    for item in watched:
        subject, _, criterion = item.partition(":")
        outcomes[item] = _outcomes(review.results, subject, [criterion])[criterion]
    failing = [k for k, o in outcomes.items() if o != "met"]
    evidence = {"watched": outcomes}
    if watched and not failing:
        return (
            True,
            evidence,
            "every watched criterion is met",
            "все отслеживаемые критерии выполнены",
        )
    what = ", ".join(f"{k} ({outcomes[k]})" for k in failing) or "nothing was watched"
    return False, evidence, f"not met: {what}", f"не выполнены: {what}"


def _judge(prev: Mapping[str, Any], review: NewReview) -> tuple[str, dict, str, str]:
    """confirmed | not_confirmed | waiting, with the evidence and the notes: not confirmed
    when one action is not, else waiting when one action waits, else confirmed."""
    actions = [
        a
        for a in ((prev.get("context") or {}).get("actions") or [prev["decision"]])
        if a in RESOURCE or a in ("add_server", "migrate", "evaluate_migration")
    ] or [prev["decision"]]
    verdicts = []
    for action in actions:
        if action in RESOURCE:
            verdicts.append(_upgrade(prev, action, review))
            continue
        if action == "add_server":
            ok, *rest = _add_server(prev, review)
        elif action == "migrate":
            ok, *rest = _migrate(prev, review)
        elif action == "evaluate_migration":
            ok, *rest = _evaluate_migration(prev, review)
        else:
            ok, *rest = False, {}, f"no automatic check for {action}", f"нет проверки для {action}"
        verdicts.append(("confirmed" if ok else "not_confirmed", *rest))
    states = {v[0] for v in verdicts}
    state = next(s for s in ("not_confirmed", "waiting", "confirmed") if s in states)
    evidence = {a: v[1] for a, v in zip(actions, verdicts, strict=True)}
    return state, evidence, "; ".join(v[2] for v in verdicts), "; ".join(v[3] for v in verdicts)


def confirm_decisions(previous: Iterable[Mapping[str, Any]], review: NewReview) -> list[Followup]:
    """One ``Followup`` per earlier open decision of the same review type (see the module doc).

    ``previous``: dicts with ``decision_id, quarter, subject, decision, state, context,
    confirmation`` and optionally ``criteria_met`` and ``implemented_at`` (a datetime or ISO
    text; ``lifecycle.store.open_decisions``)."""
    out: list[Followup] = []
    for prev in previous:
        if prev.get("quarter") is not None and str(prev["quarter"]) >= review.quarter:
            continue  # only a later quarter's review judges a decision
        base = (prev["decision_id"], str(prev.get("quarter")), prev["subject"], prev["decision"])
        if prev.get("state") == "accepted":
            out.append(
                Followup(
                    *base,
                    "carried_forward",
                    f"accepted but not implemented by the {review.quarter} review",
                    f"принято, но не выполнено к обзору {review.quarter}",
                    {"review": review.quarter},
                )
            )
        elif prev.get("state") == "implemented":
            state, evidence, en, ru = _judge(prev, review)
            out.append(
                Followup(
                    *base,
                    state,
                    en,
                    ru,
                    {"review": review.quarter, **evidence},
                )
            )
    return out


def summary_lines(followups: Iterable[Followup], unchanged_of: int | None = None) -> list[str]:
    """Lines for a review's summary (CLI, task log, report): what this review found about
    earlier decisions, and whether it only confirmed an identical run."""
    lines = []
    if unchanged_of is not None:
        lines.append(
            f"unchanged: same inputs as review run {unchanged_of}, which stays current "
            f"(без изменений: те же входные данные, что у запуска {unchanged_of})"
        )
    words = {
        "confirmed": "confirmed",
        "not_confirmed": "NOT confirmed",
        "carried_forward": "carried forward (accepted, not implemented yet)",
        "waiting": "waiting for the next review",
    }
    for f in followups:
        lines.append(
            f"#{f.decision_id} {f.subject} {f.decision} ({f.quarter}): "
            f"{words.get(f.to_state, f.to_state)}: {f.note_en}"
        )
    return lines

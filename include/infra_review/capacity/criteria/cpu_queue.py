"""The n8n queue criterion of one server (seed 02.04.04, CPU group: "Очереди задач в n8n
>100 элементов"), apart from ``cpu`` for size: waiting jobs above the threshold counted only
while jobs are active (joined as-of), stalled minutes as an incident."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import numpy as np

from infra_review import russian as rus
from infra_review.capacity.criteria.common import (
    EVIDENCE_LIST_LIMIT,
    Part,
    ServerCriterion,
    ServerInputs,
    at_start,
    combine,
    gate_part,
    intervals_of,
    minutes_of,
    no_series,
    not_applicable,
    param,
    series_evidence,
)
from infra_review.capacity.criteria.evidence import N8nQueueEvidence
from infra_review.capacity.criteria.sustained import (
    cadence_evidence,
    dur,
    edge_evidence,
    edge_runs,
    edge_texts,
    lookback_evidence,
    run_samples,
    span,
    sustained_lookback,
    window_start_us,
)
from infra_review.criteria.registry import Param, Plot, register
from infra_review.criteria.result import CriterionResult
from infra_review.criteria.rules import Rule
from infra_review.timeseries.runs import (
    US_PER_S,
    asof_match,
    compare,
    find_runs,
    interval_us,
)


def _uses_n8n(inp: ServerInputs) -> bool:
    return any(s.split("-")[0] == "n8n" for s in inp.services)


def n8n_queue(rule: Rule, inp: ServerInputs, defaults: dict[str, Any]) -> CriterionResult:
    """Runs of minutes with more than 100 waiting AND jobs active; stalled minutes (waiting
    but nothing active) are excluded, listed, and reported as an incident, not capacity."""
    metric = rule.params["metric"]
    active_metric = rule.params.get("active_metric", "n8n_queue_active")
    threshold = float(rule.params["threshold"])
    duration = rule.duration()
    inclusive = rule.params.get("duration_comparator", ">=") == ">="
    tolerance = float(param(rule, "gap_tolerance_intervals", defaults, 2))
    common = N8nQueueEvidence(
        metric=metric,
        active_metric=active_metric,
        value_threshold=threshold,
        duration_threshold_min=round(duration.total_seconds() / 60, 3),
        duration_comparator=">=" if inclusive else ">",
        gap_tolerance_intervals=tolerance,
    )
    waiting = inp.of(metric)
    if not waiting:
        if _uses_n8n(inp):
            return no_series(rule, inp, metric, common)
        return not_applicable(
            rule,
            inp,
            f"{inp.server} runs no n8n (fleet.yaml) and has no {metric} series",
            None,
            common,
        )
    actives = {s.label: s for s in inp.of(active_metric)}
    parts = []
    for s in waiting:
        kind, reasons = gate_part(s)
        # both series with their look-back: a busy stretch over the window's start is whole
        ts, values = run_samples(s, inp)
        # the cadence in force at each waiting sample: minutes, holes and the as-of join
        # follow a change of scrape interval
        lengths, holes = intervals_of(s, inp, ts)
        own = ts >= window_start_us(inp)  # the window's samples: minutes are counted there
        over = compare(values, rule.params.get("comparator", ">"), threshold)
        active = actives.get(s.label)
        ev: dict[str, Any] = {  # the keyword arguments of N8nQueueEvidence
            **series_evidence(s),
            **cadence_evidence(ts, lengths, holes, tolerance, inp),
            "lookback": lookback_evidence(s, inp),
        }
        if active is None:
            known = np.zeros(len(ts), dtype=bool)
            working = np.zeros(len(ts), dtype=bool)
            ev["active_series"] = None
            ev["stalls_distinguishable"] = False
            ev["note"] = (
                f"no {active_metric} series: every minute above the threshold counts, and "
                "stalled workers could not be told apart from a busy queue"
            )
        else:
            # as-of: the active sample nearest in time, within one cadence of the waiting one
            # (the cadence its gaps are judged at: the coarser one around a change); the
            # active series with its look-ahead (one tolerance read past the window's end),
            # so a waiting sample at the end finds the match the next review finds for it
            active_ts, active_values = active.data.with_lookahead()
            pos, known = asof_match(ts, active_ts, interval_us(holes, len(ts)))
            working = np.zeros(len(ts), dtype=bool)
            working[known] = active_values[pos[known]] > 0
            ev["active_series"] = {
                "label": active.label,
                "samples": len(active.data),
                "gate": active.gate,
            }
            ev["stalls_distinguishable"] = bool((known & own).any())
            ev["minutes_unmatched"] = minutes_of(~known & own, lengths)
            ev["match_tolerance_s"] = at_start(holes, ts, window_start_us(inp))
        busy = over & (working | ~known)
        stalled = over & known & ~working
        runs = find_runs(
            ts,
            busy,
            interval_s=lengths,
            gap_interval_s=holes,
            gap_tolerance_intervals=tolerance,
            values=values,
        )
        stalls = find_runs(
            ts,
            stalled,
            interval_s=lengths,
            gap_interval_s=holes,
            gap_tolerance_intervals=tolerance,
            values=values,
        )
        stalls_here = stalls.end_us >= window_start_us(inp)  # whole, when inside the window
        edges = edge_runs(ts, runs, duration, inclusive, s, inp)
        found, longest = edge_evidence(edges)
        ev.update(
            {
                "minutes_above": minutes_of(over & own, lengths),
                "minutes_counted": minutes_of(busy & own, lengths),
                "minutes_active_unknown": minutes_of(over & ~known & own, lengths)
                if active is not None
                else None,
                "stalled_minutes": minutes_of(stalled & own, lengths),
                "stalled_episodes": stalls.records(stalls_here, limit=EVIDENCE_LIST_LIMIT),
                "stalled_episode_count": int(stalls_here.sum()),
                "incident": bool((stalled & own).any()),
                **found,
            }
        )
        observed = runs.duration_us[longest] / US_PER_S / 60 if longest is not None else 0.0
        parts.append(
            Part(
                s.label, bool(edges.counted.any()), observed, N8nQueueEvidence(**ev), kind, reasons
            )
        )
    # over every label: the total stalled minutes, and an incident when any
    stalled_total = sum(p.evidence.stalled_minutes for p in parts)
    common = replace(common, stalled_minutes_total=stalled_total, incident=stalled_total > 0)
    return combine(rule, inp, parts, round(duration.total_seconds() / 60, 3), common)


def _queue(r: CriterionResult, ev: dict) -> tuple[str, str]:
    thr, need = ev["value_threshold"], ev["duration_threshold_min"]
    run = ev.get("longest_run")
    stalled = ev.get("stalled_minutes_total", ev.get("stalled_minutes", 0)) or 0
    if run:
        en = (
            f"more than {thr:g} jobs waiting with workers active for {dur(run, 'en')} in a row "
            f"({span(run)}); the criterion needs at least {need:g} min"
        )
        ru = (
            f"более {rus.number(thr, 3)} задач в очереди при активных воркерах {dur(run, 'ru')} подряд "
            f"({span(run)}); критерий: не менее {rus.number(need, 3)} мин"
        )
    else:
        en = f"never more than {thr:g} jobs waiting while workers were active"
        ru = f"в очереди ни разу не было более {rus.number(thr, 3)} задач при активных воркерах"
    edge_en, edge_ru = edge_texts(ev, f"{need:g} min", f"{rus.number(need, 3)} мин")
    en, ru = en + edge_en, ru + edge_ru
    if stalled:
        en += f"; {stalled:g} min stalled (waiting, none active) not counted"
        ru += f"; {rus.number(stalled, 3)} мин простоя (очередь стоит, активных нет) не учтены"
    if ev.get("stalls_distinguishable") is False:
        en += "; no n8n_queue_active series, so stalls could not be told apart"
        ru += "; нет ряда n8n_queue_active, простой не отличить от нагрузки"
    return en, ru


@register
class N8nQueue(ServerCriterion):
    """n8n waiting jobs above the threshold while workers are active."""

    id = "cpu.n8n_queue"
    group = "cpu"
    trend = "held_level_while_active"
    unit, duration_unit = "items", "min"
    evidence_type = N8nQueueEvidence
    params = (
        Param("metric", "text"),
        Param("comparator", "comparator", required=False, default=">"),
        Param("threshold"),
        Param("duration", "duration"),
        Param("duration_comparator", "comparator", required=False, default=">="),
        Param("active_metric", "text", required=False, default="n8n_queue_active"),
        Param("gap_tolerance_intervals", required=False, default=2),
    )
    plot = Plot("n8n_queue_waiting", "max")

    def evaluate(self, inputs) -> CriterionResult:
        return n8n_queue(self.rule, inputs, self.defaults)

    def lookback(self, interval_s: float) -> dict[str, timedelta]:
        """The waiting series and the active one it is joined with, read back alike."""
        back = sustained_lookback(self.rule, self.defaults, interval_s)
        return {
            self.rule.params["metric"]: back,
            self.rule.params.get("active_metric", "n8n_queue_active"): back,
        }

    def lookahead(self, interval_s: float) -> dict[str, timedelta]:
        """The active series one matching tolerance (one cadence) past the window's end: the
        waiting samples at the end are joined as the next review joins them."""
        active = self.rule.params.get("active_metric", "n8n_queue_active")
        return {active: timedelta(seconds=float(interval_s))}

    @classmethod
    def forecast_samples(cls, rule: Rule, inputs: ServerInputs, series) -> tuple[Any, Any]:
        """The waiting samples without the stalled ones (over the threshold with no job
        active, joined as-of): a stall is an incident to fix, not a trend of load."""
        ts_us, values = series.data.ts_us, series.data.values
        active_metric = rule.params.get("active_metric", "n8n_queue_active")
        active = next((a for a in inputs.of(active_metric) if a.label == series.label), None)
        if active is None or not len(ts_us):
            return ts_us, values
        _, holes = intervals_of(series, inputs, ts_us)
        pos, known = asof_match(ts_us, active.data.ts_us, interval_us(holes, len(ts_us)))
        idle = np.zeros(len(ts_us), dtype=bool)
        idle[known] = active.data.values[pos[known]] <= 0
        over = compare(values, rule.params.get("comparator", ">"), float(rule.params["threshold"]))
        keep = ~(over & idle)
        return ts_us[keep], values[keep]

    @classmethod
    def incident(cls, result: CriterionResult) -> dict[str, Any] | None:
        """Stalled minutes (jobs waiting, none active): fix the workers, do not buy CPU."""
        r = result
        if not r.evidence.get("incident"):
            return None
        minutes = r.evidence.get("stalled_minutes_total") or 0
        episodes = [
            e
            for s in (r.evidence.get("series") or [r.evidence])
            for e in s.get("stalled_episodes", [])
        ]
        return {
            "kind": "n8n_queue_stalled",
            "criterion_id": r.criterion_id,
            "stalled_minutes": minutes,
            "episodes": episodes[:20],
            "text_en": f"n8n queue stalled for {minutes:g} min (jobs waiting, none "
            "active): an incident to fix (workers), not capacity to buy",
            "text_ru": f"очередь n8n стояла {rus.number(minutes, 3)} мин (задачи ждут, активных "
            "нет): инцидент для исправления (воркеры), а не нехватка мощности",
        }

    @classmethod
    def texts(cls, result: CriterionResult) -> tuple[str, str]:
        return _queue(result, result.evidence)

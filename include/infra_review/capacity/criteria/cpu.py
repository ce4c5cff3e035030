"""CPU criteria of one server (seed 02.04.04, "Технические критерии upgrade", CPU):
cpu.sustained, cpu.api_latency, cpu.complaints (cpu.n8n_queue is in ``cpu_queue``). Each is one class: its
parameters from criteria.yaml, ``evaluate(ServerInputs)`` and its English and Russian texts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from infra_review import russian as rus
from infra_review.capacity.criteria.common import (
    API_SERVICES,
    EVIDENCE_LIST_LIMIT,
    Part,
    ServerCriterion,
    ServerInputs,
    at_start,
    combine,
    gate_part,
    hours,
    intervals_of,
    minutes_of,
    not_applicable,
    series_evidence,
    unmeasured_apis,
    unmeasured_parts,
)
from infra_review.capacity.criteria.evidence import (
    ApiLatencyEvidence,
    ComplaintsEvidence,
)
from infra_review.capacity.criteria.sustained import (
    SustainedCriterion,
    dur,
    edge_evidence,
    edge_runs,
    edge_texts,
    label_of,
    lookback_evidence,
    lookback_for,
    run_samples,
    span,
    window_start_us,
)
from infra_review.criteria.registry import Param, Plot, register
from infra_review.criteria.result import CriterionResult, Outcome
from infra_review.criteria.rules import Rule
from infra_review.russian import reason_ru
from infra_review.timeseries.runs import (
    US_PER_S,
    compare,
    compare_scalar,
    find_runs,
    to_datetime,
)
from infra_review.timeseries.trend import HOUR_US, bucket_quantile


@register
class CpuSustained(SustainedCriterion):
    """CPU above the threshold for more than the duration in a row (gap rule)."""

    id = "cpu.sustained"
    group = "cpu"
    plot = Plot("cpu_used_pct", "max")


def api_latency(rule: Rule, inp: ServerInputs, defaults: dict[str, Any]) -> CriterionResult:
    """Per endpoint, runs of consecutive hours whose p95 latency is above the threshold."""
    metric = rule.params["metric"]
    threshold = float(rule.params["threshold"])
    q = float(rule.params.get("percentile", 95)) / 100
    duration = rule.duration()
    inclusive = rule.params.get("duration_comparator", ">=") == ">="
    common = ApiLatencyEvidence(
        metric=metric,
        value_threshold=threshold,
        hour_statistic=f"p{q * 100:g}",
        duration_threshold_h=hours(duration.total_seconds()),
        duration_comparator=">=" if inclusive else ">",
    )
    series = inp.of(metric)
    missing = unmeasured_apis(inp, series, rule.params.get("api_services", API_SERVICES))
    if not series and not missing:
        return not_applicable(
            rule, inp, f"no {metric} series for {inp.server}: no endpoint is probed", None, common
        )
    parts = unmeasured_parts(metric, inp.server, missing, ApiLatencyEvidence)
    for s in series:
        kind, reasons = gate_part(s)
        # the hours read back before the window continue a run of slow hours into it
        ts, values = run_samples(s, inp)
        # slow minutes: each sample stands for the interval it closes at the cadence in force
        lengths, _ = intervals_of(s, inp, ts)
        start_us = window_start_us(inp)
        hourly = bucket_quantile(ts, values, q, HOUR_US)
        above = compare(hourly.value, rule.params.get("comparator", ">"), threshold)
        own_hours = hourly.start_us >= start_us  # the window's hours
        # the samples themselves above the threshold: a slow hour may hold 4 slow minutes
        slow = compare(values, rule.params.get("comparator", ">"), threshold)
        runs = find_runs(
            hourly.start_us, above, interval_s=3600, gap_tolerance_intervals=1, values=hourly.value
        )
        edges = edge_runs(hourly.start_us, runs, duration, inclusive, s, inp)
        found, longest = edge_evidence(edges)
        window_hours = np.flatnonzero(own_hours)
        worst = (
            int(window_hours[np.argmax(hourly.value[window_hours])]) if len(window_hours) else None
        )
        found["longest_run"] = _with_slow_minutes(edges, longest, ts, slow, lengths)
        ev = ApiLatencyEvidence(
            **series_evidence(s),
            hours_with_data=int(own_hours.sum()),
            hours_above=int((above & own_hours).sum()),
            worst_hour=(
                {
                    "hour": to_datetime(hourly.start_us[worst]).isoformat(),
                    "p95_s": float(hourly.value[worst]),
                }
                if worst is not None
                else None
            ),
            interval_s=at_start(lengths, ts, start_us),
            minutes_slow=minutes_of(slow & (ts >= start_us), lengths),
            lookback=lookback_evidence(s, inp),
            **found,
        )
        observed = hours(runs.duration_us[longest] / US_PER_S) if longest is not None else 0.0
        parts.append(Part(s.label, bool(edges.counted.any()), observed, ev, kind, reasons))
    return combine(rule, inp, parts, hours(duration.total_seconds()), common)


def _with_slow_minutes(edges, i, ts: np.ndarray, slow: np.ndarray, intervals):
    """The run of slow hours with the minutes actually slow inside it (hours judged apart
    from minutes measured: one slow hour may hold only a few slow samples)."""
    if i is None:
        return None
    start = edges.runs.start_us[i]
    inside = (ts >= start) & (ts < start + edges.runs.duration_us[i])
    return {**edges.record(i), "minutes_slow": minutes_of(slow & inside, intervals)}


def _latency(r: CriterionResult, ev: dict) -> tuple[str, str]:
    thr, need = ev["value_threshold"], ev["duration_threshold_h"]
    run = ev.get("longest_run")
    edge_en, edge_ru = edge_texts(ev, f"{need:g} h", f"{rus.number(need, 3)} ч")
    if not run:
        worst = (ev.get("worst_hour") or {}).get("p95_s")
        w = f" (worst hour {worst:.2f} s)" if worst is not None else ""
        wr = f" (худший час {rus.number(worst, 2)} с)" if worst is not None else ""
        return (
            f"hourly p95 API latency never above {thr:g} s{w}{edge_en}",
            f"часовой p95 времени ответа API ни разу не выше {rus.number(thr, 3)} с{wr}{edge_ru}",
        )
    slow = run.get("minutes_slow")
    en_slow = f"; {slow:g} min of samples were above {thr:g} s" if slow is not None else ""
    ru_slow = f"; замеров выше {thr:g} с: {slow:g} мин" if slow is not None else ""
    return (
        f"hourly p95 API latency{label_of(ev)} above {thr:g} s for {dur(run, 'en')} in a row, "
        f"judged by the hour ({span(run)}){en_slow}; the criterion needs at least {need:g} h"
        f"{edge_en}",
        f"часовой p95 времени ответа API{label_of(ev)} выше {rus.number(thr, 3)} с "
        f"{dur(run, 'ru')} подряд, по часам ({span(run)}){ru_slow}; критерий: не менее "
        f"{rus.number(need, 3)} ч{edge_ru}",
    )


@register
class ApiLatency(ServerCriterion):
    """Hourly p95 API latency above the threshold for the duration."""

    id = "cpu.api_latency"
    group = "cpu"
    trend = "held_hourly_percentile"
    unit, duration_unit = "s", "h"
    evidence_type = ApiLatencyEvidence
    params = (
        Param("metric", "text"),
        Param("comparator", "comparator", required=False, default=">"),
        Param("threshold"),
        Param("percentile", required=False, default=95),
        Param("duration", "duration"),
        Param("duration_comparator", "comparator", required=False, default=">="),
        Param("api_services", "list", required=False, default=list(API_SERVICES)),
    )
    plot = Plot("api_latency_s", "p95")

    def evaluate(self, inputs) -> CriterionResult:
        return api_latency(self.rule, inputs, self.defaults)

    def lookback(self, interval_s: float) -> dict[str, timedelta]:
        """Judged by the hour: runs of consecutive hours, a gap tolerance of one interval, so
        a hole is more than 1.5 h (5400 s) and one missing hour splits a run; the slack is
        two such holes (3 h), so 1 h + 3 h = 4 h."""
        return {self.rule.params["metric"]: lookback_for(self.rule.duration(), 3600, 1)}

    @classmethod
    def texts(cls, result: CriterionResult) -> tuple[str, str]:
        return _latency(result, result.evidence)


def complaints(rule: Rule, inp: ServerInputs, defaults: dict[str, Any]) -> CriterionResult:
    """Complaints of the category (``slow``) attributed to the server within the window."""
    category = rule.params.get("category", "slow")
    threshold = float(rule.params["threshold"])
    comparator = rule.params.get("comparator", ">=")
    relevant = sorted(
        (
            c
            for c in inp.complaints
            if c.get("category") == category and inp.window_start <= _when(c["ts"]) < inp.window_end
        ),
        key=lambda c: _when(c["ts"]),
    )
    matching = [c for c in relevant if not c.get("unattributed")]
    orphans = [c for c in relevant if c.get("unattributed")]
    count = len(matching)
    met = compare_scalar(count, comparator, threshold)
    evidence = ComplaintsEvidence(
        category=category,
        comparator=comparator,
        count=count,
        complaints=matching[:EVIDENCE_LIST_LIMIT],
        # counted on no server: a service on several servers or none, an unreviewed server
        unattributed_count=len(orphans),
        unattributed=orphans[:EVIDENCE_LIST_LIMIT],
    )
    return CriterionResult(
        rule.id,
        inp.server,
        Outcome.MET if met else Outcome.NOT_MET,
        float(count),
        threshold,
        inp.window_start,
        inp.window_end,
        evidence.to_dict(),
    )


def _when(value: Any) -> datetime:
    """A complaint's timestamp (datetime or ISO text with an offset) in UTC."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.astimezone(UTC)


def _complaints(r: CriterionResult, ev: dict) -> tuple[str, str]:
    en = (
        f"{ev['count']} complaint(s) tagged '{ev['category']}' in the window; the criterion "
        f"needs at least {r.threshold:g}"
    )
    ru = (
        f"{rus.count(ev['count'], 'жалоба', 'жалобы', 'жалоб')} с меткой «{ev['category']}» за "
        f"период; критерий: не менее {rus.number(r.threshold)}"
    )
    if ev.get("unattributed_count"):
        n = ev["unattributed_count"]
        why = "; ".join(sorted({c["unattributed"] for c in ev.get("unattributed", [])}))
        en += f"; {n} more could not be attributed to one server and were not counted ({why})"
        ru += f"; ещё {n} не отнесены к одному серверу и не учтены ({reason_ru(why)})"
    return en, ru


@register
class Complaints(ServerCriterion):
    """Complaints tagged slow about the server in the window."""

    id = "cpu.complaints"
    group = "cpu"
    unit, shown_comparator = "complaints", ">="
    evidence_type = ComplaintsEvidence
    params = (
        Param("category", "text", required=False, default="slow"),
        Param("comparator", "comparator", required=False, default=">="),
        Param("threshold"),
    )

    def evaluate(self, inputs) -> CriterionResult:
        return complaints(self.rule, inputs, self.defaults)

    @classmethod
    def texts(cls, result: CriterionResult) -> tuple[str, str]:
        return _complaints(result, result.evidence)

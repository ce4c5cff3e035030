"""The run criteria's shared half: how far before the window each reads (the look-back), runs
judged whole across the window's edges, and the "above X for more than D in a row" criterion
that ram.sustained and cpu.sustained both are, with the sentences that explain it.

Runs are judged whole across the window's edges: each run criterion asks for its duration
plus some slack to be read before the window (``Criterion.lookback``, ``lookback_for``), a
run that began in that look-back continues into the window, and a run counts in the window
in which it passes its duration (``timeseries.edges.judge_edges``); one that passed it before
the window is listed as carried over and not counted again. The look-back never counts
toward coverage: the gate and every other statistic see the window only. Pure, like
``common``: nothing here reads a database or a clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np

from infra_review import russian as rus
from infra_review.capacity.criteria.common import (
    EVIDENCE_LIST_LIMIT,
    SUSTAINED_PARAMS,
    Part,
    SeriesInput,
    ServerCriterion,
    ServerInputs,
    at_start,
    combine,
    gate_part,
    hours,
    intervals_of,
    no_series,
    param,
    series_evidence,
)
from infra_review.capacity.criteria.evidence import Lookback, SustainedEvidence
from infra_review.criteria.result import CriterionResult, Outcome
from infra_review.criteria.rules import Rule
from infra_review.timeseries.edges import EdgeRuns, judge_edges
from infra_review.timeseries.runs import (
    US_PER_S,
    compare,
    epoch_us,
    find_runs,
    format_duration,
    hole_after_s,
    to_datetime,
)

LOOKBACK_SLACK = timedelta(hours=1)  # the least read beyond a criterion's duration


def lookback_for(duration: timedelta, run_interval_s: float, tolerance: float) -> timedelta:
    """How far before the window a run criterion reads: its duration plus the larger of an
    hour and two holes (``2 * hole_after_s``). With that slack a run that began before the
    read started passed its duration before the window, so a cut at the read's start never
    moves a breach into the window (its sample after the read's start comes within one hole,
    and its crossing within one more)."""
    slack = timedelta(seconds=2 * hole_after_s(run_interval_s, tolerance))
    return duration + max(LOOKBACK_SLACK, slack)


def sustained_lookback(rule: Rule, defaults: dict[str, Any], interval_s: float) -> timedelta:
    tolerance = float(param(rule, "gap_tolerance_intervals", defaults, 2))
    return lookback_for(rule.duration(), interval_s, tolerance)


def lookbacks(
    rules: dict[str, Rule],
    defaults: dict[str, Any],
    interval_s: float,
    measured: dict[str, float] | None = None,
) -> dict[str, timedelta]:
    """Per metric, the longest look-back any capacity criterion of ``rules`` asks for at the
    scrape interval ``interval_s`` (a review reads each metric once). With ``measured`` (per
    metric, the coarsest cadence measured where the look-back was read), each criterion asks
    at the coarsest measured cadence of the metrics it reads instead."""
    return _per_metric(rules, defaults, interval_s, measured, "lookback")


def lookaheads(
    rules: dict[str, Rule],
    defaults: dict[str, Any],
    interval_s: float,
    measured: dict[str, float] | None = None,
) -> dict[str, timedelta]:
    """Per metric, how far after the window a criterion matches samples by time
    (``Criterion.lookahead``: the n8n active series, one matching tolerance); ``measured`` as
    in ``lookbacks``, at the window's end."""
    return _per_metric(rules, defaults, interval_s, measured, "lookahead")


def _per_metric(
    rules: dict[str, Rule],
    defaults: dict[str, Any],
    interval_s: float,
    measured: dict[str, float] | None,
    ask: str,
) -> dict[str, timedelta]:
    from infra_review.criteria.registry import bind_rules

    out: dict[str, timedelta] = {}
    for criterion in bind_rules(rules, defaults).values():
        if criterion.review != "capacity" or criterion.scope != "server":
            continue
        asked = getattr(criterion, ask)(interval_s)
        if measured and asked:
            reads = set(asked) | set(criterion.lookback(interval_s))
            coarsest = max((measured[m] for m in reads if measured.get(m)), default=None)
            if coarsest is not None:
                asked = getattr(criterion, ask)(float(coarsest))
        for metric, back in asked.items():
            out[metric] = max(out.get(metric, timedelta(0)), back)
    return out


def run_samples(s: SeriesInput, inp: ServerInputs) -> tuple[np.ndarray, np.ndarray]:
    """The series with its look-back, up to the window's end (data after it is not judged)."""
    ts, values = s.data.with_lookback()
    hi = int(np.searchsorted(ts, epoch_us([inp.window_end])[0], "left"))
    return ts[:hi], values[:hi]


def window_start_us(inp: ServerInputs) -> int:
    return int(epoch_us([inp.window_start])[0])


def lookback_evidence(s: SeriesInput, inp: ServerInputs) -> Lookback:
    """The look-back a series was read with: from when, how long and how many samples."""
    start = s.data.lookback_from_us
    if start is None:
        return Lookback(from_=None, hours=0.0, samples=0)
    return Lookback(
        from_=to_datetime(start).isoformat(),
        hours=round((window_start_us(inp) - start) / US_PER_S / 3600, 6),
        samples=s.data.lookback_samples,
    )


def edge_runs(
    ts: np.ndarray,
    runs,
    duration: timedelta,
    inclusive: bool,
    s: SeriesInput,
    inp: ServerInputs,
) -> EdgeRuns:
    return judge_edges(
        ts,
        runs,
        duration,
        inclusive=inclusive,
        window_start=inp.window_start,
        window_end=inp.window_end,
        read_from_us=s.data.lookback_from_us,
    )


def cadence_evidence(
    ts: np.ndarray,
    lengths: float | np.ndarray,
    holes: float | np.ndarray,
    tolerance: float,
    inp: ServerInputs,
) -> dict[str, Any]:
    """The cadence a run criterion judged a series at (``CadenceFields``, as keyword
    arguments): the interval, gap tolerance and hole at the window's start, and, where the
    cadence changed over the samples read, each stretch's (``gap_cadences``: from which
    sample on, the interval a sample closes and the hole its gap is judged against)."""
    start = window_start_us(inp)
    interval = at_start(lengths, ts, start)
    hole = at_start(holes, ts, start)
    out: dict[str, Any] = {
        "interval_s": interval,
        "gap_tolerance_s": tolerance * hole,
        "hole_after_s": hole_after_s(hole, tolerance),
    }
    if np.ndim(lengths) or np.ndim(holes):
        lengths = np.broadcast_to(lengths, ts.shape)
        holes = np.broadcast_to(holes, ts.shape)
        change = np.flatnonzero(
            np.concatenate(([True], (lengths[1:] != lengths[:-1]) | (holes[1:] != holes[:-1])))
        )
        out["gap_cadences"] = [
            {
                "from": to_datetime(ts[i]).isoformat(),
                "interval_s": float(lengths[i]),
                "hole_after_s": hole_after_s(float(holes[i]), tolerance),
            }
            for i in change[:EVIDENCE_LIST_LIMIT].tolist()
        ]
    return out


def edge_evidence(edges: EdgeRuns) -> tuple[dict[str, Any], int | None]:
    """Runs evidence shared by the run criteria (``RunsFields``, as keyword arguments: whole
    runs, where each passed its duration, the ones carried over from the previous window)
    and the index of the longest own run."""
    counted = edges.counted
    longest = edges.longest()
    return {
        "longest_run": edges.record(longest) if longest is not None else None,
        "runs_above": int(edges.in_window.sum()),
        "runs_qualifying": int(counted.sum()),
        "qualifying_runs": edges.records(counted, EVIDENCE_LIST_LIMIT),
        "carried_over_runs": edges.records(edges.carried, EVIDENCE_LIST_LIMIT),
    }, longest


def sustained(rule: Rule, inp: ServerInputs, defaults: dict[str, Any]) -> CriterionResult:
    """The longest run above the threshold, with the gap rule; met when longer than D."""
    metric = rule.params["metric"]
    threshold = float(rule.params["threshold"])
    comparator = rule.params.get("comparator", ">")
    duration = rule.duration()
    inclusive = rule.params.get("duration_comparator", ">") == ">="
    tolerance = float(param(rule, "gap_tolerance_intervals", defaults, 2))
    common = SustainedEvidence(
        metric=metric,
        comparator=comparator,
        value_threshold=threshold,
        duration_threshold_h=hours(duration.total_seconds()),
        duration_comparator=">=" if inclusive else ">",
        gap_tolerance_intervals=tolerance,
    )
    series = inp.of(metric)
    if not series:
        return no_series(rule, inp, metric, common)
    parts = []
    for s in series:
        ts, values = run_samples(s, inp)
        # the cadence in force at each sample: a change of scrape interval is followed
        lengths, holes = intervals_of(s, inp, ts)
        mask = compare(values, comparator, threshold)
        runs = find_runs(
            ts,
            mask,
            interval_s=lengths,
            gap_interval_s=holes,
            gap_tolerance_intervals=tolerance,
            values=values,
            peak="max" if comparator.startswith(">") else "min",
        )
        edges = edge_runs(ts, runs, duration, inclusive, s, inp)
        found, longest = edge_evidence(edges)
        kind, reasons = gate_part(s)
        ev = SustainedEvidence(
            **series_evidence(s),
            **cadence_evidence(ts, lengths, holes, tolerance, inp),
            lookback=lookback_evidence(s, inp),
            **found,
            time_above_h=hours(int(edges.in_window_us().sum()) / US_PER_S),
        )
        observed = hours(runs.duration_us[longest] / US_PER_S) if longest is not None else 0.0
        parts.append(Part(s.label, bool(edges.counted.any()), observed, ev, kind, reasons))
    return combine(rule, inp, parts, hours(duration.total_seconds()), common)


def when_text(iso: str | None) -> str:
    return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M") if iso else "?"


def span(run: dict[str, Any]) -> str:
    return f"{when_text(run['start'])} – {when_text(run['end'])} UTC"


def dur(run: dict[str, Any], lang: str) -> str:
    return format_duration(run["duration_s"], lang)


def label_of(ev: dict[str, Any]) -> str:
    return f" [{ev['label']}]" if ev.get("label") else ""


def edge_texts(ev: dict, need_en: str, need_ru: str) -> tuple[str, str]:
    """What the window's edges did, appended to a run criterion's text: the decisive run
    began before the window (it counts here, where it passed its duration), or a run counted
    by the previous window goes on into this one (not counted again)."""
    en, ru = "", ""
    run = ev.get("longest_run") or {}
    if run.get("began_before_window") and run.get("counted_in") == "this window":
        at = when_text(run.get("threshold_crossed_at"))
        en += f"; it began before this window and passed {need_en} at {at} UTC, so it counts here"
        ru += f"; период начался до этого окна и превысил {need_ru} в {at} UTC, поэтому учтён здесь"
    if run.get("end_unknown") and run.get("counted_in") is None:
        en += (
            "; that run reaches the end of the window: the next review judges it whole and "
            f"counts it there if it passes {need_en}"
        )
        ru += (
            "; этот период доходит до конца окна: следующий обзор оценит его целиком и учтёт, "
            f"если он превысит {need_ru}"
        )
    carried = ev.get("carried_over_runs") or []
    if carried:
        c = carried[-1]
        at, left = when_text(c.get("threshold_crossed_at")), c.get("in_window_s") or 0
        # a run that began before the read: its start and crossing are the latest possible
        since, by = ("since at least", "by") if c.get("start_unknown") else ("since", "at")
        since_ru, by_ru = (
            ("не позднее чем с", "не позднее") if c.get("start_unknown") else ("с", "в")
        )
        when_en = f" {by} {at} UTC" if c.get("threshold_crossed_at") else ""
        when_ru = f" {by_ru} {at} UTC" if c.get("threshold_crossed_at") else ""
        en += (
            f"; a run {since} {when_text(c['start'])} UTC passed {need_en}{when_en}, "
            f"before this window, and was counted there (it went on for "
            f"{format_duration(left)} in this window)"
        )
        ru += (
            f"; период {since_ru} {when_text(c['start'])} UTC превысил {need_ru}{when_ru}, "
            f"до этого окна, и учтён там (в этом окне он продолжался ещё "
            f"{format_duration(left, 'ru')})"
        )
    return en, ru


def sustained_texts(r: CriterionResult, ev: dict) -> tuple[str, str]:
    name = "RAM" if ev.get("metric") == "ram_used_pct" else "CPU"
    thr, need = ev["value_threshold"], ev["duration_threshold_h"]
    run = ev.get("longest_run")
    edge_en, edge_ru = edge_texts(ev, f"{need:g} h", f"{rus.number(need, 3)} ч")
    if not run:
        return (
            f"{name} never above {thr:g}%{label_of(ev)} in a new run (needs more than "
            f"{need:g} h in a row){edge_en}"
            if edge_en
            else f"{name} never above {thr:g}%{label_of(ev)} (needs more than {need:g} h in a row)",
            f"{name} не был выше {rus.number(thr, 3)}%{label_of(ev)} в новом периоде (критерий: "
            f"более {rus.number(need, 3)} ч подряд){edge_ru}"
            if edge_ru
            else f"{name} ни разу не был выше {rus.number(thr, 3)}%{label_of(ev)} (критерий: более {rus.number(need, 3)} ч подряд)",
        )
    lead_en = f"{name} above {thr:g}%{label_of(ev)} for {dur(run, 'en')} in a row ({span(run)})"
    lead_ru = (
        f"{name} выше {rus.number(thr, 3)}%{label_of(ev)} непрерывно {dur(run, 'ru')} ({span(run)})"
    )
    if r.outcome is Outcome.MET:
        return (
            f"{lead_en}, more than {need:g} h{edge_en}",
            f"{lead_ru}, более {rus.number(need, 3)} ч{edge_ru}",
        )
    return (
        f"longest run: {lead_en}; needs more than {need:g} h{edge_en}",
        f"самый длинный период: {lead_ru}; критерий: более {rus.number(need, 3)} ч{edge_ru}",
    )


class SustainedCriterion(ServerCriterion):
    """A level above its threshold for more than the duration in a row (the gap rule), judged
    whole across the window's edges; a subclass names only its id, group and plot."""

    trend = "held_level"
    sizing_basis = True
    unit, duration_unit = "%", "h"
    evidence_type = SustainedEvidence
    params = SUSTAINED_PARAMS

    def evaluate(self, inputs) -> CriterionResult:
        return sustained(self.rule, inputs, self.defaults)

    def lookback(self, interval_s: float) -> dict[str, timedelta]:
        return {
            self.rule.params["metric"]: sustained_lookback(self.rule, self.defaults, interval_s)
        }

    @classmethod
    def texts(cls, result: CriterionResult) -> tuple[str, str]:
        return sustained_texts(result, result.evidence)

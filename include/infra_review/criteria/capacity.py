"""Capacity criteria of one server (ram.*, cpu.*): pure functions from series to results.

Each function takes a rule from criteria.yaml and a ``ServerInputs`` (the server's series in
the window, already split per metric and label, with the quality-gate verdict of each) and
returns a ``CriterionResult`` with its evidence. Nothing here reads a database or a clock, so
a stored decision can be recomputed from its stored inputs and gives the same result.

Outcome rules shared by every function:
* a series that failed the gate (or is missing) makes its criterion ``insufficient_data``
  (kind ``gate``), unless another series of the same criterion that passed already meets it;
* missing metadata (installed RAM) gives kind ``metadata``, a missing previous quarter kind
  ``history``; only ``gate`` blocks the server's decision, the others are listed as not
  evaluated;
* a criterion that cannot apply (no n8n on the server, no API endpoint probed) is
  ``not_met`` with ``applicable: false`` in its evidence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from infra_review.criteria.result import CriterionResult, Outcome
from infra_review.criteria.rules import Rule, parse_duration
from infra_review.criteria.runs import (
    US_PER_S,
    CleanSeries,
    compare,
    compare_scalar,
    find_runs,
    to_datetime,
)
from infra_review.criteria.trend import (
    DAY_US,
    HOUR_US,
    bucket_mean,
    bucket_quantile,
    linear_forecast,
)

CAPACITY_METRICS = (
    "ram_used_pct",
    "cpu_used_pct",
    "swap_io_pages_per_s",
    "api_latency_s",
    "n8n_queue_waiting",
    "n8n_queue_active",
)
FORECAST_QUANTILE = 0.95  # `watch`: the trend of the quarter's daily p95
EVIDENCE_LIST_LIMIT = 20  # runs, hours or complaints listed in one result's evidence


@dataclass(frozen=True)
class SeriesInput:
    """One series of the server in the window, cleaned, with its quality-gate verdict."""

    metric: str
    label: str
    data: CleanSeries
    gate: dict[str, Any]
    interval_s: float | None = None  # the series' cadence when its collector recorded one

    @property
    def passed(self) -> bool:
        return bool(self.gate.get("passed"))


@dataclass(frozen=True)
class ServerInputs:
    """Everything the server's criteria read; JSON-able except the series arrays."""

    server: str
    window_start: datetime
    window_end: datetime
    interval_s: float = 60
    ram_gb: float | None = None
    cpu_cores: int | None = None
    services: tuple[str, ...] = ()
    series: dict[str, list[SeriesInput]] = field(default_factory=dict)
    previous_latency: dict[str, dict[str, Any]] | None = None  # label -> p95, samples, passed
    previous_quarter: str | None = None
    complaints: list[dict[str, Any]] = field(default_factory=list)  # attributed to the server
    planned: list[dict[str, Any]] = field(default_factory=list)  # this server's planned services

    def of(self, metric: str) -> list[SeriesInput]:
        return self.series.get(metric, [])

    @property
    def window_hours(self) -> float:
        return (self.window_end - self.window_start).total_seconds() / 3600


def missing_gate(server: str, metric: str) -> dict[str, Any]:
    return {"passed": False, "reasons": [f"no {metric} samples for {server} in the window"]}


# --- helpers ------------------------------------------------------------------------------


def param(rule: Rule, key: str, defaults: dict[str, Any], fallback: Any = None) -> Any:
    """A rule's parameter, else the criteria file's default, else ``fallback``."""
    if key in rule.params:
        return rule.params[key]
    return defaults.get(key, fallback)


def _hours(seconds: float) -> float:
    return seconds / 3600


def interval_of(s: SeriesInput, inp: ServerInputs) -> float:
    """Seconds between samples: the series' recorded cadence, else the server's interval."""
    return float(s.interval_s or inp.interval_s)


def _series_evidence(s: SeriesInput) -> dict[str, Any]:
    return {
        "label": s.label,
        "samples": len(s.data),
        "coverage": s.gate.get("coverage"),
        "gate": s.gate,
        "nan_dropped": s.data.nan_dropped,
    }


@dataclass
class _Part:
    """One label's evaluation, before the labels are combined into one result."""

    label: str
    met: bool
    observed: float | None
    evidence: dict[str, Any]
    insufficient: str | None = None  # gate | metadata | history
    reasons: list[str] = field(default_factory=list)


def _combine(
    rule: Rule,
    inp: ServerInputs,
    parts: list[_Part],
    threshold: float | None,
    evidence: dict[str, Any],
    pick: Callable[[list[float]], float] = max,
) -> CriterionResult:
    """Met when a label with sound data meets it; else insufficient when a label lacks data."""
    sound = [p for p in parts if p.insufficient is None]
    met = [p for p in sound if p.met]
    lacking = [p for p in parts if p.insufficient is not None]
    chosen = met or sound or parts
    values = [p.observed for p in chosen if p.observed is not None]
    observed = pick(values) if values else None
    decisive = next((p for p in chosen if p.observed == observed), chosen[0] if chosen else None)
    if met:
        outcome = Outcome.MET
    elif lacking or not parts:
        outcome = Outcome.INSUFFICIENT_DATA
        kinds = {p.insufficient for p in lacking}
        evidence["insufficient"] = {
            "kind": "gate" if "gate" in kinds or not parts else sorted(kinds)[0],
            "reasons": [r for p in lacking for r in p.reasons],
        }
    else:
        outcome = Outcome.NOT_MET
    if decisive is not None:
        evidence = {**decisive.evidence, **evidence}
    if len(parts) > 1:
        evidence["series"] = [{"label": p.label, **p.evidence} for p in parts]
    return CriterionResult(
        rule.id,
        inp.server,
        outcome,
        observed,
        threshold,
        inp.window_start,
        inp.window_end,
        evidence,
    )


def _gate_part(s: SeriesInput) -> tuple[str | None, list[str]]:
    if s.passed:
        return None, []
    return "gate", list(s.gate.get("reasons") or [f"{s.metric}{{{s.label}}} failed the gate"])


def _no_series(rule: Rule, inp: ServerInputs, metric: str, evidence: dict) -> CriterionResult:
    gate = missing_gate(inp.server, metric)
    evidence = {
        **evidence,
        "metric": metric,
        "samples": 0,
        "gate": gate,
        "insufficient": {"kind": "gate", "reasons": gate["reasons"]},
    }
    return CriterionResult(
        rule.id,
        inp.server,
        Outcome.INSUFFICIENT_DATA,
        None,
        None,
        inp.window_start,
        inp.window_end,
        evidence,
    )


def _not_applicable(
    rule: Rule, inp: ServerInputs, reason: str, threshold: float | None, evidence: dict
) -> CriterionResult:
    evidence = {**evidence, "applicable": False, "reason": reason, "samples": 0}
    return CriterionResult(
        rule.id,
        inp.server,
        Outcome.NOT_MET,
        None,
        threshold,
        inp.window_start,
        inp.window_end,
        evidence,
    )


# --- "above X for more than D continuously": ram.sustained, cpu.sustained ---------------------


def sustained(rule: Rule, inp: ServerInputs, defaults: dict[str, Any]) -> CriterionResult:
    """The longest run above the threshold, with the gap rule; met when longer than D."""
    metric = rule.params["metric"]
    threshold = float(rule.params["threshold"])
    comparator = rule.params.get("comparator", ">")
    duration = rule.duration()
    inclusive = rule.params.get("duration_comparator", ">") == ">="
    tolerance = float(param(rule, "gap_tolerance_intervals", defaults, 2))
    common = {
        "metric": metric,
        "comparator": comparator,
        "value_threshold": threshold,
        "duration_threshold_h": _hours(duration.total_seconds()),
        "duration_comparator": ">=" if inclusive else ">",
        "gap_tolerance_intervals": tolerance,
    }
    series = inp.of(metric)
    if not series:
        return _no_series(rule, inp, metric, common)
    parts = []
    for s in series:
        interval = interval_of(s, inp)
        mask = compare(s.data.values, comparator, threshold)
        runs = find_runs(
            s.data.ts_us,
            mask,
            interval_s=interval,
            gap_tolerance_intervals=tolerance,
            values=s.data.values,
            peak="max" if comparator.startswith(">") else "min",
        )
        long_enough = runs.longer_than(duration, inclusive=inclusive)
        longest = runs.longest_index()
        kind, reasons = _gate_part(s)
        ev = {
            **_series_evidence(s),
            "interval_s": interval,
            "gap_tolerance_s": tolerance * interval,
            "longest_run": runs.record(longest) if longest is not None else None,
            "runs_above": len(runs),
            "runs_qualifying": int(long_enough.sum()),
            "qualifying_runs": runs.records(long_enough, EVIDENCE_LIST_LIMIT),
            "time_above_h": _hours(runs.total_us() / US_PER_S),
        }
        observed = _hours(runs.duration_us[longest] / US_PER_S) if longest is not None else 0.0
        parts.append(_Part(s.label, bool(long_enough.any()), observed, ev, kind, reasons))
    return _combine(rule, inp, parts, _hours(duration.total_seconds()), common)


# --- ram.swap: share of the window's hours with swapping ------------------------------------


def swap_hours(rule: Rule, inp: ServerInputs, defaults: dict[str, Any]) -> CriterionResult:
    """Hours whose mean swap rate is above the threshold, as a share of hours with data."""
    metric = rule.params["metric"]
    threshold = float(rule.params["threshold"])
    share_limit = float(rule.params["share_of_hours"])
    share_cmp = rule.params.get("share_comparator", ">")
    common = {
        "metric": metric,
        "value_threshold": threshold,
        "share_threshold": share_limit,
        "share_comparator": share_cmp,
        "hour_statistic": "mean",
        "window_hours": round(inp.window_hours, 2),
    }
    series = inp.of(metric)
    if not series:
        return _no_series(rule, inp, metric, common)
    parts = []
    for s in series:
        hourly = bucket_mean(s.data.ts_us, s.data.values, HOUR_US)
        swapping = compare(hourly.value, rule.params.get("comparator", ">"), threshold)
        hours = len(hourly)
        share = float(swapping.sum() / hours) if hours else 0.0
        episodes = find_runs(
            hourly.start_us,
            swapping,
            interval_s=3600,
            gap_tolerance_intervals=1,
            values=hourly.value,
        )
        kind, reasons = _gate_part(s)
        if not hours:
            kind, reasons = "gate", reasons or ["no samples"]
        ev = {
            **_series_evidence(s),
            "hours_with_data": hours,
            "swapping_hours": int(swapping.sum()),
            "swapping_episodes": episodes.records(limit=EVIDENCE_LIST_LIMIT),
        }
        met = compare_scalar(share, share_cmp, share_limit)
        parts.append(_Part(s.label, met, share, ev, kind, reasons))
    return _combine(rule, inp, parts, share_limit, common)


# --- ram.degradation: p95 latency against the previous quarter -------------------------------


def degradation(rule: Rule, inp: ServerInputs, defaults: dict[str, Any]) -> CriterionResult:
    """Per endpoint, this quarter's p95 latency over the previous quarter's p95."""
    metric = rule.params["metric"]
    ratio_limit = float(rule.params["threshold"])
    q = float(rule.params.get("percentile", 95))
    common = {
        "metric": metric,
        "percentile": q,
        "ratio_threshold": ratio_limit,
        "previous_quarter": inp.previous_quarter,
    }
    series = inp.of(metric)
    if not series:
        return _not_applicable(
            rule,
            inp,
            f"no {metric} series for {inp.server}: no endpoint is probed",
            ratio_limit,
            common,
        )
    previous = inp.previous_latency or {}
    parts = []
    for s in series:
        kind, reasons = _gate_part(s)
        current = float(np.percentile(s.data.values, q)) if len(s.data) else None
        prev = previous.get(s.label)
        ev = {**_series_evidence(s), "p95_current": current, "previous": prev}
        ratio = None
        if kind is None and (prev is None or not prev.get("passed") or not prev.get("p95")):
            kind = "history"
            reasons = [
                f"{metric}{{{s.label}}}: no usable previous-quarter ({inp.previous_quarter}) data"
                + (f" ({'; '.join(prev.get('reasons') or [])})" if prev else "")
            ]
        if current is not None and prev and prev.get("p95"):
            ratio = current / float(prev["p95"])
        ev["ratio"] = ratio
        parts.append(
            _Part(s.label, ratio is not None and ratio > ratio_limit, ratio, ev, kind, reasons)
        )
    return _combine(rule, inp, parts, ratio_limit, common)


# --- ram.planned: p95 RAM in use plus planned services -------------------------------------


def planned_in_horizon(inp: ServerInputs, within: timedelta) -> list[dict[str, Any]]:
    """Planned services of the server due on or after the window's end and within ``within``."""
    start = inp.window_end.date()
    end = (inp.window_end + within).date()
    return [p for p in inp.planned if start <= _as_date(p["planned_for"]) < end]


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def planned_ram(rule: Rule, inp: ServerInputs, defaults: dict[str, Any]) -> CriterionResult:
    """(p95 RAM in use + planned services' RAM) as % of installed RAM, above the threshold."""
    metric = rule.params["metric"]
    threshold = float(rule.params["threshold"])
    q = float(rule.params.get("percentile", 95))
    within = parse_duration(rule.params.get("planned_within", "183d"))
    plans = planned_in_horizon(inp, within)
    planned_gb = float(sum(float(p["ram_gb"]) for p in plans))
    common = {
        "metric": metric,
        "percentile": q,
        "threshold_pct": threshold,
        "installed_ram_gb": inp.ram_gb,
        "planned_services": plans,
        "planned_ram_gb": planned_gb,
        "planned_window": [
            inp.window_end.date().isoformat(),
            (inp.window_end + within).date().isoformat(),
        ],
    }
    series = inp.of(metric)
    if not series:
        return _no_series(rule, inp, metric, common)
    parts = []
    for s in series:
        kind, reasons = _gate_part(s)
        p95 = float(np.percentile(s.data.values, q)) if len(s.data) else None
        ev = {**_series_evidence(s), "p95_used_pct": p95}
        observed = None
        if inp.ram_gb is None:
            if kind is None:
                kind = "metadata"
                reasons = [
                    f"installed RAM (ram_gb) of {inp.server} is unknown: add it to fleet.yaml"
                ]
        elif p95 is not None:
            used_gb = p95 / 100 * inp.ram_gb
            observed = (used_gb + planned_gb) / inp.ram_gb * 100
            ev.update({"p95_used_gb": round(used_gb, 4), "projected_pct": observed})
        if not plans:
            ev["note"] = "no memory-hungry service is planned for this server"
        met = bool(plans) and observed is not None and observed > threshold
        parts.append(_Part(s.label, met, observed, ev, kind, reasons))
    return _combine(rule, inp, parts, threshold, common)


# --- cpu.api_latency: hourly p95 per endpoint ------------------------------------------------


def api_latency(rule: Rule, inp: ServerInputs, defaults: dict[str, Any]) -> CriterionResult:
    """Per endpoint, runs of consecutive hours whose p95 latency is above the threshold."""
    metric = rule.params["metric"]
    threshold = float(rule.params["threshold"])
    q = float(rule.params.get("percentile", 95)) / 100
    duration = rule.duration()
    inclusive = rule.params.get("duration_comparator", ">=") == ">="
    common = {
        "metric": metric,
        "value_threshold": threshold,
        "hour_statistic": f"p{q * 100:g}",
        "duration_threshold_h": _hours(duration.total_seconds()),
        "duration_comparator": ">=" if inclusive else ">",
    }
    series = inp.of(metric)
    if not series:
        return _not_applicable(
            rule, inp, f"no {metric} series for {inp.server}: no endpoint is probed", None, common
        )
    parts = []
    for s in series:
        kind, reasons = _gate_part(s)
        hourly = bucket_quantile(s.data.ts_us, s.data.values, q, HOUR_US)
        above = compare(hourly.value, rule.params.get("comparator", ">"), threshold)
        runs = find_runs(
            hourly.start_us, above, interval_s=3600, gap_tolerance_intervals=1, values=hourly.value
        )
        long_enough = runs.longer_than(duration, inclusive=inclusive)
        longest = runs.longest_index()
        worst = int(np.argmax(hourly.value)) if len(hourly) else None
        ev = {
            **_series_evidence(s),
            "hours_with_data": len(hourly),
            "hours_above": int(above.sum()),
            "worst_hour": (
                {
                    "hour": to_datetime(hourly.start_us[worst]).isoformat(),
                    "p95_s": float(hourly.value[worst]),
                }
                if worst is not None
                else None
            ),
            "longest_run": runs.record(longest) if longest is not None else None,
            "qualifying_runs": runs.records(long_enough, EVIDENCE_LIST_LIMIT),
        }
        observed = _hours(runs.duration_us[longest] / US_PER_S) if longest is not None else 0.0
        parts.append(_Part(s.label, bool(long_enough.any()), observed, ev, kind, reasons))
    return _combine(rule, inp, parts, _hours(duration.total_seconds()), common)


# --- cpu.n8n_queue: waiting > 100 while jobs are active --------------------------------------


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
    common = {
        "metric": metric,
        "active_metric": active_metric,
        "value_threshold": threshold,
        "duration_threshold_min": round(duration.total_seconds() / 60, 3),
        "duration_comparator": ">=" if inclusive else ">",
        "gap_tolerance_intervals": tolerance,
    }
    waiting = inp.of(metric)
    if not waiting:
        if _uses_n8n(inp):
            return _no_series(rule, inp, metric, common)
        return _not_applicable(
            rule,
            inp,
            f"{inp.server} runs no n8n (fleet.yaml) and has no {metric} series",
            None,
            common,
        )
    actives = {s.label: s for s in inp.of(active_metric)}
    parts = []
    for s in waiting:
        kind, reasons = _gate_part(s)
        interval = interval_of(s, inp)
        over = compare(s.data.values, rule.params.get("comparator", ">"), threshold)
        active = actives.get(s.label)
        ev = {
            **_series_evidence(s),
            "interval_s": interval,
            "gap_tolerance_s": tolerance * interval,
        }
        if active is None:
            known = np.zeros(len(s.data), dtype=bool)
            working = np.zeros(len(s.data), dtype=bool)
            ev["active_series"] = None
            ev["stalls_distinguishable"] = False
            ev["note"] = (
                f"no {active_metric} series: every minute above the threshold counts, and "
                "stalled workers could not be told apart from a busy queue"
            )
        else:
            pos = np.searchsorted(active.data.ts_us, s.data.ts_us)
            pos_ok = pos < len(active.data.ts_us)
            known = np.zeros(len(s.data), dtype=bool)
            known[pos_ok] = active.data.ts_us[pos[pos_ok]] == s.data.ts_us[pos_ok]
            working = np.zeros(len(s.data), dtype=bool)
            working[known] = active.data.values[pos[known]] > 0
            ev["active_series"] = {
                "label": active.label,
                "samples": len(active.data),
                "gate": active.gate,
            }
            ev["stalls_distinguishable"] = True
        busy = over & (working | ~known)
        stalled = over & known & ~working
        runs = find_runs(
            s.data.ts_us,
            busy,
            interval_s=interval,
            gap_tolerance_intervals=tolerance,
            values=s.data.values,
        )
        stalls = find_runs(
            s.data.ts_us,
            stalled,
            interval_s=interval,
            gap_tolerance_intervals=tolerance,
            values=s.data.values,
        )
        long_enough = runs.longer_than(duration, inclusive=inclusive)
        longest = runs.longest_index()
        ev.update(
            {
                "minutes_above": round(int(over.sum()) * interval / 60, 3),
                "minutes_counted": round(int(busy.sum()) * interval / 60, 3),
                "minutes_active_unknown": round(int((over & ~known).sum()) * interval / 60, 3)
                if active is not None
                else None,
                "stalled_minutes": round(int(stalled.sum()) * interval / 60, 3),
                "stalled_episodes": stalls.records(limit=EVIDENCE_LIST_LIMIT),
                "stalled_episode_count": len(stalls),
                "incident": bool(stalled.any()),
                "longest_run": runs.record(longest) if longest is not None else None,
                "qualifying_runs": runs.records(long_enough, EVIDENCE_LIST_LIMIT),
            }
        )
        observed = runs.duration_us[longest] / US_PER_S / 60 if longest is not None else 0.0
        parts.append(_Part(s.label, bool(long_enough.any()), observed, ev, kind, reasons))
    result = _combine(rule, inp, parts, round(duration.total_seconds() / 60, 3), common)
    stalled_total = sum(p.evidence["stalled_minutes"] for p in parts)
    result.evidence["stalled_minutes_total"] = stalled_total
    result.evidence["incident"] = stalled_total > 0
    return result


# --- cpu.complaints ---------------------------------------------------------------------------


def complaints(rule: Rule, inp: ServerInputs, defaults: dict[str, Any]) -> CriterionResult:
    """Complaints of the category (``slow``) attributed to the server within the window."""
    category = rule.params.get("category", "slow")
    threshold = float(rule.params["threshold"])
    comparator = rule.params.get("comparator", ">=")
    matching = [
        c
        for c in inp.complaints
        if c.get("category") == category and inp.window_start <= _when(c["ts"]) < inp.window_end
    ]
    count = len(matching)
    met = compare_scalar(count, comparator, threshold)
    evidence = {
        "category": category,
        "comparator": comparator,
        "count": count,
        "complaints": sorted(matching, key=lambda c: _when(c["ts"]))[:EVIDENCE_LIST_LIMIT],
    }
    return CriterionResult(
        rule.id,
        inp.server,
        Outcome.MET if met else Outcome.NOT_MET,
        float(count),
        threshold,
        inp.window_start,
        inp.window_end,
        evidence,
    )


def _when(value: Any) -> datetime:
    """A complaint's timestamp (datetime or ISO text with an offset) in UTC."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.astimezone(UTC)


# --- the server's evaluation ----------------------------------------------------------------

SERVER_CRITERIA: dict[str, Callable[[Rule, ServerInputs, dict[str, Any]], CriterionResult]] = {
    "ram.sustained": sustained,
    "ram.swap": swap_hours,
    "ram.degradation": degradation,
    "ram.planned": planned_ram,
    "cpu.sustained": sustained,
    "cpu.api_latency": api_latency,
    "cpu.n8n_queue": n8n_queue,
    "cpu.complaints": complaints,
}


def evaluate_server_criteria(
    rules: dict[str, Rule], inp: ServerInputs, defaults: dict[str, Any]
) -> list[CriterionResult]:
    """Every ram.* and cpu.* criterion of one server, in the order of criteria.yaml."""
    out = []
    for rule_id, rule in rules.items():
        func = SERVER_CRITERIA.get(rule_id)
        if func is not None:
            out.append(func(rule, inp, defaults))
    return out


def forecasts(
    rules: dict[str, Rule], inp: ServerInputs, defaults: dict[str, Any]
) -> list[dict[str, Any]]:
    """Linear trends of the daily p95 for the threshold criteria (the ``watch`` decision).

    Only series that passed the gate are fitted; each entry says when its line reaches the
    criterion's value threshold and whether that is within the forecast horizon.
    """
    horizon = timedelta(days=float(defaults.get("forecast_horizon_days", 91)))
    origin = int(inp.window_start.timestamp()) * US_PER_S
    out = []
    for rule_id in ("ram.sustained", "cpu.sustained", "cpu.api_latency", "cpu.n8n_queue"):
        rule = rules.get(rule_id)
        if rule is None:
            continue
        threshold = float(rule.params["threshold"])
        for s in inp.of(rule.params["metric"]):
            if not s.passed or not len(s.data):
                continue
            daily = bucket_quantile(s.data.ts_us, s.data.values, FORECAST_QUANTILE, DAY_US, origin)
            fc = linear_forecast(daily.start_us, daily.value, threshold, inp.window_end, horizon)
            out.append(
                {
                    "criterion_id": rule_id,
                    "metric": s.metric,
                    "label": s.label,
                    "statistic": "daily p95",
                    **fc.to_dict(),
                }
            )
    return out


def hourly_load(inp: ServerInputs) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Hourly load = max(mean CPU %, mean RAM %) per hour; hour starts, values, gate reasons."""
    reasons: list[str] = []
    frames = []
    for metric in ("cpu_used_pct", "ram_used_pct"):
        series = inp.of(metric)
        if not series:
            reasons.extend(missing_gate(inp.server, metric)["reasons"])
            continue
        for s in series:
            if not s.passed:
                reasons.extend(s.gate.get("reasons") or [f"{metric} failed the gate"])
            frames.append(bucket_mean(s.data.ts_us, s.data.values, HOUR_US))
    if not frames:
        return np.array([], dtype=np.int64), np.array([]), reasons
    hours = np.unique(np.concatenate([f.start_us for f in frames]))
    load = np.full(len(hours), np.nan)
    for f in frames:
        idx = np.searchsorted(hours, f.start_us)
        load[idx] = np.fmax(load[idx], f.value)
    return hours, load, reasons


def fleet_stats(
    rules: dict[str, Rule], inp: ServerInputs, defaults: dict[str, Any]
) -> dict[str, Any]:
    """The server's numbers the fleet criteria need (small, JSON-able: they travel by XCom)."""
    horizon = timedelta(days=float(defaults.get("forecast_horizon_days", 91)))
    origin = int(inp.window_start.timestamp()) * US_PER_S
    stats: dict[str, Any] = {"server": inp.server, "ram_gb": inp.ram_gb, "cpu_cores": inp.cpu_cores}
    both = rules.get("server.both_loaded")
    if both is not None:
        hours, load, reasons = hourly_load(inp)
        threshold = float(both.params["threshold"])
        share_limit = float(both.params.get("share_of_hours", 0.9))
        above = compare(load, both.params.get("comparator", ">"), threshold)
        quantile = 1 - share_limit  # "above X in 90% of hours" <=> the hourly p10 is above X
        daily = bucket_quantile(hours, load, quantile, DAY_US, origin) if len(hours) else None
        fc = (
            linear_forecast(daily.start_us, daily.value, threshold, inp.window_end, horizon)
            if daily is not None
            else None
        )
        stats["load"] = {
            "gate_passed": not reasons,
            "reasons": reasons,
            "hours": int(len(hours)),
            "hours_above": int(above.sum()),
            "share_above": float(above.sum() / len(hours)) if len(hours) else None,
            "forecast": (
                {"statistic": f"daily p{quantile * 100:g} of hourly load", **fc.to_dict()}
                if fc
                else None
            ),
        }
    # the same planning horizon as ram.planned: what is planned there is sized here too
    planned_rule = rules.get("ram.planned")
    within = parse_duration(
        planned_rule.params.get("planned_within", "183d") if planned_rule else "183d"
    )
    for key, metric in (("ram", "ram_used_pct"), ("cpu", "cpu_used_pct")):
        series = [s for s in inp.of(metric) if len(s.data)]
        entry: dict[str, Any] = {"gate_passed": bool(series) and all(s.passed for s in series)}
        if series:
            values = np.concatenate([s.data.values for s in series])
            entry["p95_pct"] = float(np.percentile(values, 95))
            ts = np.concatenate([s.data.ts_us for s in series])
            order = np.argsort(ts, kind="stable")
            daily = bucket_quantile(ts[order], values[order], 0.95, DAY_US, origin)
            fc = linear_forecast(daily.start_us, daily.value, 100.0, inp.window_end, horizon)
            projected = fc.projected_at_horizon
            entry["projected_p95_pct"] = float(
                min(100.0, max(entry["p95_pct"], projected if projected is not None else 0.0))
            )
            entry["trend_slope_per_day"] = fc.slope_per_day
        stats[key] = entry
    plans = planned_in_horizon(inp, within)
    stats["planned"] = {
        "services": [p["service"] for p in plans],
        "ram_gb": float(sum(float(p["ram_gb"]) for p in plans)),
        "cpu_cores": float(sum(float(p["cpu_cores"]) for p in plans)),
    }
    return stats

"""What the decision rule reads besides the criteria: the ``watch`` forecasts and each
server's numbers for the fleet criteria (hourly load, projected p95, planned services). Pure.

``watch`` is honest (DESIGN.md): each trigger's forecast fits the trend of the quantity the
trigger itself judges, compared with the trigger's own comparator and a tolerance, up to the
end of the next quarter. For "above X for D in a row" that quantity is the daily highest
level held for D without a hole (``timeseries.trend.sustained_level``): above X exactly on
the days a run above X lasts D, so bursts shorter than D never make a ``watch``; for the
n8n queue the stalled samples (waiting, none active) are left out first.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from infra_review.capacity.criteria.common import (
    SeriesInput,
    ServerInputs,
    intervals_of,
    missing_gate,
    param,
)
from infra_review.capacity.criteria.cpu import Complaints
from infra_review.capacity.criteria.ram import RamPlanned, planned_in_horizon
from infra_review.capacity.criteria.server import BothLoaded, FleetInputs, current_servers
from infra_review.criteria.registry import Criterion, criterion_class
from infra_review.criteria.rules import Rule, parse_duration
from infra_review.quarter import Quarter
from infra_review.timeseries.runs import US_PER_S, compare, hole_after_s
from infra_review.timeseries.trend import (
    DAY_US,
    HOUR_US,
    Buckets,
    bucket_mean,
    bucket_quantile,
    linear_forecast,
    sustained_level,
)


def horizon_end(window_start: datetime) -> datetime:
    """``watch`` looks to the end of the quarter after the reviewed one (92 days after Q3,
    90 after Q4 of a common year): a crossing on its last day is still seen."""
    return Quarter.containing(window_start).next().end


def horizon_after(window_end: datetime) -> timedelta:
    """The forecast horizon as a length: from the window's end to the next quarter's end."""
    return Quarter.containing(window_end).end - window_end


def _held(
    ts_us: np.ndarray,
    values: np.ndarray,
    held_s: float,
    interval_s: float | np.ndarray,
    tolerance: float,
    origin: int,
    strict: bool,
    gap_s: float | np.ndarray | None = None,
) -> Buckets:
    """A run of k samples lasts k intervals: "more than D" needs one sample more than D/i.
    ``interval_s`` / ``gap_s`` (default: ``interval_s``) are one number, or one per sample
    (``intervals_of``: the cadence in force, the one holes are judged against), and then a
    gap is a hole beyond the coarser of its two samples' hole, as in the run criteria."""
    gap_s = interval_s if gap_s is None else gap_s
    if np.ndim(interval_s) == 0 and np.ndim(gap_s) == 0:
        ratio = held_s / interval_s
        k = int(math.floor(ratio + 1e-9)) + 1 if strict else int(math.ceil(ratio - 1e-9))
        hole_us = int(round(hole_after_s(interval_s, tolerance) * US_PER_S))
        return sustained_level(ts_us, values, max(1, k), hole_us, origin)
    lengths = np.broadcast_to(np.asarray(interval_s, dtype="float64"), np.shape(ts_us))
    gaps = np.broadcast_to(np.asarray(gap_s, dtype="float64"), np.shape(ts_us))
    ratio = held_s / lengths
    ks = np.floor(ratio + 1e-9) + 1 if strict else np.ceil(ratio - 1e-9)
    hole = hole_after_s(1.0, tolerance) * US_PER_S
    holes_us = np.rint(np.maximum(gaps[:-1], gaps[1:]) * hole).astype(np.int64)
    return sustained_level(ts_us, values, ks.astype(np.int64), holes_us, origin)


def _seconds(intervals: float | np.ndarray, n: int) -> float:
    """The time ``n`` samples stand for (each the interval it closes)."""
    return float(np.sum(intervals)) if np.ndim(intervals) else n * float(intervals)


def _quantity(
    cls: type[Criterion],
    rule: Rule,
    s: SeriesInput,
    ts_us: np.ndarray,
    values: np.ndarray,
    inp: ServerInputs,
    defaults: dict[str, Any],
    origin: int,
) -> tuple[Buckets, str, dict[str, Any]] | None:
    """The daily quantity a forecast criterion judges (its ``trend``, from the samples its
    criterion gives to forecasts: ``Criterion.forecast_samples``), its name, and what was
    left out."""
    held = rule.duration().total_seconds()
    default_cmp = cls.param_default("duration_comparator")
    strict = rule.params.get("duration_comparator", default_cmp) == ">"
    held_txt = ("more than " if strict else "") + (
        f"{held / 3600:g} h" if held >= 3600 else f"{held / 60:g} min"
    )
    held_ru = ("более " if strict else "") + (
        f"{held / 3600:g} ч" if held >= 3600 else f"{held / 60:g} мин"
    )
    tolerance = float(param(rule, "gap_tolerance_intervals", defaults, 2))
    if cls.trend == "held_level":
        lengths, gaps = intervals_of(s, inp, ts_us)  # per sample where the cadence changed
        daily = _held(ts_us, values, held, lengths, tolerance, origin, strict, gaps)
        ru = f"суточный максимум уровня, державшегося {held_ru}"
        return daily, f"daily highest level held for {held_txt}", {"statistic_ru": ru}
    if cls.trend == "held_hourly_percentile":
        q = float(rule.params.get("percentile", 95)) / 100
        hourly = bucket_quantile(ts_us, values, q, HOUR_US)
        daily = _held(hourly.start_us, hourly.value, held, 3600, 1, origin, strict)
        ru = f"суточный максимум часового p{q * 100:g}, державшегося {held_ru}"
        return daily, f"daily highest hourly p{q * 100:g} held for {held_txt}", {"statistic_ru": ru}
    if cls.trend == "held_level_while_active":
        # the stalled samples were left out (N8nQueue.forecast_samples): they are holes,
        # so no level is held across a stall
        lengths, gaps = intervals_of(s, inp, ts_us)
        daily = _held(ts_us, values, held, lengths, tolerance, origin, strict, gaps)
        every, _ = intervals_of(s, inp, s.data.ts_us)
        left_out = round((_seconds(every, len(s.data)) - _seconds(lengths, len(ts_us))) / 60, 3)
        text = f"daily highest level held for {held_txt}, stalled minutes excluded"
        ru = f"суточный максимум уровня, державшегося {held_ru}, без минут простоя"
        return daily, text, {"stalled_minutes_excluded": left_out, "statistic_ru": ru}
    return None


def forecasts(
    rules: dict[str, Rule], inp: ServerInputs, defaults: dict[str, Any]
) -> list[dict[str, Any]]:
    """Linear trends of what each forecast criterion judges (the ``watch`` decision).

    Only series that passed the gate are fitted; each entry says when its line meets the
    criterion's value threshold (with its comparator) and whether that is by the end of the
    next quarter.
    """
    horizon = horizon_end(inp.window_start) - inp.window_end
    origin = int(inp.window_start.timestamp()) * US_PER_S
    out = []
    for rule_id, rule in rules.items():
        cls = criterion_class(rule_id)
        if cls is None or cls.trend is None:
            continue
        threshold = float(rule.params["threshold"])
        comparator = rule.params.get("comparator", ">")
        for s in inp.of(rule.params["metric"]):
            if not s.passed or not len(s.data):
                continue
            ts_us, values = cls.forecast_samples(rule, inp, s)
            if not len(ts_us):
                continue
            found = _quantity(cls, rule, s, ts_us, values, inp, defaults, origin)
            if found is None:
                continue
            daily, statistic, extra = found
            fc = linear_forecast(
                daily.start_us,
                daily.value,
                threshold,
                inp.window_end,
                horizon,
                comparator=comparator,
            )
            out.append(
                {
                    "criterion_id": rule_id,
                    "metric": s.metric,
                    "label": s.label,
                    "statistic": statistic,
                    **extra,
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
    horizon = horizon_end(inp.window_start) - inp.window_end
    origin = int(inp.window_start.timestamp()) * US_PER_S
    stats: dict[str, Any] = {"server": inp.server, "ram_gb": inp.ram_gb, "cpu_cores": inp.cpu_cores}
    both = rules.get(BothLoaded.id)
    if both is not None:
        hours, load, reasons = hourly_load(inp)
        threshold = float(both.params["threshold"])
        share_limit = float(both.params.get("share_of_hours", 0.9))
        above = compare(load, both.params.get("comparator", ">"), threshold)
        quantile = 1 - share_limit  # "above X in 90% of hours" <=> the hourly p10 is above X
        daily = bucket_quantile(hours, load, quantile, DAY_US, origin) if len(hours) else None
        fc = (
            linear_forecast(
                daily.start_us,
                daily.value,
                threshold,
                inp.window_end,
                horizon,
                comparator=both.params.get("comparator", ">"),
            )
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
    planned_rule = rules.get(RamPlanned.id)
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
    complaints_rule = rules.get(Complaints.id)
    category = complaints_rule.params.get("category", "slow") if complaints_rule else "slow"
    stats["unattributed_complaints"] = [
        {k: c.get(k) for k in ("ts", "service", "server", "category", "text", "unattributed")}
        for c in inp.complaints
        if c.get("unattributed") and c.get("category") == category
    ]
    plans = planned_in_horizon(inp, within)
    stats["planned"] = {
        "services": [p["service"] for p in plans],
        "ram_gb": float(sum(float(p["ram_gb"]) for p in plans)),
        "cpu_cores": float(sum(float(p["cpu_cores"]) for p in plans)),
    }
    return stats


def fleet_forecast(fin: FleetInputs) -> dict[str, Any] | None:
    """``watch`` for the fleet: every current server's load trend reaches the threshold."""
    servers = current_servers(fin)
    fcs = [(s["server"], (s.get("load") or {}).get("forecast")) for s in servers]
    if not fcs or any(fc is None or not fc.get("within_horizon") for _, fc in fcs):
        return None
    crossing = max((fc.get("crossing") or "") for _, fc in fcs) or None
    return {
        "criterion_id": BothLoaded.id,
        "statistic": fcs[0][1].get("statistic"),
        "threshold": fcs[0][1].get("threshold"),
        "crossing": crossing,
        "servers": {name: fc for name, fc in fcs},
    }

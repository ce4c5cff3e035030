"""RAM criteria of one server (seed 02.04.04, "Технические критерии upgrade", RAM):
ram.sustained, ram.swap, ram.degradation, ram.planned. Each is one class: its parameters
from criteria.yaml, ``evaluate(ServerInputs)`` and its English and Russian texts."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np

from infra_review import russian as rus
from infra_review.capacity.criteria.common import (
    API_SERVICES,
    EVIDENCE_LIST_LIMIT,
    Part,
    ServerCriterion,
    ServerInputs,
    combine,
    gate_part,
    no_series,
    not_applicable,
    series_evidence,
    unmeasured_apis,
    unmeasured_parts,
)
from infra_review.capacity.criteria.evidence import (
    DegradationEvidence,
    PlannedEvidence,
    SwapEvidence,
)
from infra_review.capacity.criteria.sustained import (
    SustainedCriterion,
    label_of,
)
from infra_review.criteria.registry import Param, Plot, register
from infra_review.criteria.result import CriterionResult
from infra_review.criteria.rules import Rule, parse_duration
from infra_review.timeseries.runs import compare, compare_scalar, find_runs
from infra_review.timeseries.trend import HOUR_US, bucket_mean


@register
class RamSustained(SustainedCriterion):
    """RAM above the threshold for more than the duration in a row (gap rule)."""

    id = "ram.sustained"
    group = "ram"
    plot = Plot("ram_used_pct", "max")


def swap_hours(rule: Rule, inp: ServerInputs, defaults: dict[str, Any]) -> CriterionResult:
    """Hours whose mean swap rate is above the threshold, as a share of the window's hours
    (DESIGN.md: "in more than 10% of the hours of the window"; an hour without data is not
    a swapping hour, and a short series is the coverage gate's business, not a bigger share)."""
    metric = rule.params["metric"]
    threshold = float(rule.params["threshold"])
    share_limit = float(rule.params["share_of_hours"])
    share_cmp = rule.params.get("share_comparator", ">")
    common = SwapEvidence(
        metric=metric,
        value_threshold=threshold,
        share_threshold=share_limit,
        share_comparator=share_cmp,
        hour_statistic="mean",
        window_hours=round(inp.window_hours, 2),
    )
    series = inp.of(metric)
    if not series:
        return no_series(rule, inp, metric, common)
    parts = []
    for s in series:
        hourly = bucket_mean(s.data.ts_us, s.data.values, HOUR_US)
        swapping = compare(hourly.value, rule.params.get("comparator", ">"), threshold)
        hours = len(hourly)
        share = float(swapping.sum() / inp.window_hours) if inp.window_hours else 0.0
        episodes = find_runs(
            hourly.start_us,
            swapping,
            interval_s=3600,
            gap_tolerance_intervals=1,
            values=hourly.value,
        )
        kind, reasons = gate_part(s)
        if not hours:
            kind, reasons = "gate", reasons or ["no samples"]
        ev = SwapEvidence(
            **series_evidence(s),
            hours_with_data=hours,
            swapping_hours=int(swapping.sum()),
            swapping_episodes=episodes.records(limit=EVIDENCE_LIST_LIMIT),
        )
        met = compare_scalar(share, share_cmp, share_limit)
        parts.append(Part(s.label, met, share, ev, kind, reasons))
    return combine(rule, inp, parts, share_limit, common)


def _swap(r: CriterionResult, ev: dict) -> tuple[str, str]:
    share, hours, sw = r.observed or 0.0, ev.get("hours_with_data", 0), ev.get("swapping_hours", 0)
    thr, window = ev["share_threshold"], ev.get("window_hours")
    return (
        f"swapping in {share:.1%} of the window's hours ({sw} of {window:g}; {hours} hours "
        f"with data); the criterion needs more than {thr:.0%}",
        f"swap в {rus.percent(share, 1)} часов периода ({sw} из {rus.number(window, 3)}; "
        f"часов с данными: {rus.number(hours, 3)}); критерий: более {rus.percent(thr, 0)}",
    )


@register
class RamSwap(ServerCriterion):
    """Swapping in more than a share of the hours."""

    id = "ram.swap"
    group = "ram"
    unit, scale = "% of hours", 100
    evidence_type = SwapEvidence
    params = (
        Param("metric", "text"),
        Param("comparator", "comparator", required=False, default=">"),
        Param("threshold"),
        Param("share_of_hours"),
        Param("share_comparator", "comparator", required=False, default=">"),
    )
    plot = Plot("swap_io_pages_per_s", "mean")

    @classmethod
    def limits(cls, params):
        """Shown as the share of hours that swap: "> 10 % of hours"."""
        share = params.get("share_of_hours", 0.1)
        return super().limits(
            {"threshold": share, "comparator": params.get("share_comparator", ">")}
        )

    def evaluate(self, inputs) -> CriterionResult:
        return swap_hours(self.rule, inputs, self.defaults)

    @classmethod
    def texts(cls, result: CriterionResult) -> tuple[str, str]:
        return _swap(result, result.evidence)


def degradation(rule: Rule, inp: ServerInputs, defaults: dict[str, Any]) -> CriterionResult:
    """Per endpoint, this quarter's p95 latency over the previous quarter's p95."""
    metric = rule.params["metric"]
    ratio_limit = float(rule.params["threshold"])
    q = float(rule.params.get("percentile", 95))
    common = DegradationEvidence(
        metric=metric,
        percentile=q,
        ratio_threshold=ratio_limit,
        previous_quarter=inp.previous_quarter,
    )
    series = inp.of(metric)
    missing = unmeasured_apis(inp, series, rule.params.get("api_services", API_SERVICES))
    if not series and not missing:
        return not_applicable(
            rule,
            inp,
            f"no {metric} series for {inp.server}: no endpoint is probed",
            ratio_limit,
            common,
        )
    previous = inp.previous_latency or {}
    parts = unmeasured_parts(metric, inp.server, missing, DegradationEvidence)
    for s in series:
        kind, reasons = gate_part(s)
        current = float(np.percentile(s.data.values, q)) if len(s.data) else None
        prev = previous.get(s.label)
        ratio = None
        if kind is None and (prev is None or not prev.get("passed") or not prev.get("p95")):
            kind = "history"
            reasons = [
                f"{metric}{{{s.label}}}: no usable previous-quarter ({inp.previous_quarter}) data"
                + (f" ({'; '.join(prev.get('reasons') or [])})" if prev else "")
            ]
        if current is not None and prev and prev.get("p95"):
            ratio = current / float(prev["p95"])
        ev = DegradationEvidence(
            **series_evidence(s), p95_current=current, previous=prev, ratio=ratio
        )
        parts.append(
            Part(s.label, ratio is not None and ratio > ratio_limit, ratio, ev, kind, reasons)
        )
    return combine(rule, inp, parts, ratio_limit, common)


def _degradation(r: CriterionResult, ev: dict) -> tuple[str, str]:
    prev = ev.get("previous") or {}
    cur, ratio, thr = ev.get("p95_current"), ev.get("ratio"), ev["ratio_threshold"]
    if cur is None or ratio is None:
        return "no ratio could be computed", "отношение не вычислено"
    return (
        f"p95 API latency{label_of(ev)} {cur:.2f} s against {prev.get('p95', 0):.2f} s in "
        f"{prev.get('quarter')} (x{ratio:.2f}); the criterion needs more than x{thr:g}",
        f"p95 времени ответа API{label_of(ev)} {rus.number(cur, 2)} с против {rus.number(prev.get('p95', 0), 2)} с в "
        f"{prev.get('quarter')} (×{rus.number(ratio, 2)}); критерий: более ×{rus.number(thr, 3)}",
    )


@register
class RamDegradation(ServerCriterion):
    """This quarter's p95 latency against the previous quarter's."""

    id = "ram.degradation"
    group = "ram"
    unit = "×"
    evidence_type = DegradationEvidence
    params = (
        Param("metric", "text"),
        Param("comparator", "comparator", required=False, default=">"),
        Param("threshold"),
        Param("percentile", required=False, default=95),
        Param("api_services", "list", required=False, default=list(API_SERVICES)),
    )
    plot = Plot("api_latency_s", "p95")

    @classmethod
    def plot_threshold(cls, evidence):
        """The previous quarter's p95 times the ratio threshold."""
        prev = (evidence.get("previous") or {}).get("p95")
        return prev * evidence["ratio_threshold"] if prev else None

    def evaluate(self, inputs) -> CriterionResult:
        return degradation(self.rule, inputs, self.defaults)

    @classmethod
    def texts(cls, result: CriterionResult) -> tuple[str, str]:
        return _degradation(result, result.evidence)


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
    common = PlannedEvidence(
        metric=metric,
        percentile=q,
        threshold_pct=threshold,
        installed_ram_gb=inp.ram_gb,
        planned_services=plans,
        planned_ram_gb=planned_gb,
        planned_window=[
            inp.window_end.date().isoformat(),
            (inp.window_end + within).date().isoformat(),
        ],
    )
    series = inp.of(metric)
    if not series:
        return no_series(rule, inp, metric, common)
    parts = []
    for s in series:
        kind, reasons = gate_part(s)
        p95 = float(np.percentile(s.data.values, q)) if len(s.data) else None
        ev: dict[str, Any] = {**series_evidence(s), "p95_used_pct": p95}
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
        parts.append(Part(s.label, met, observed, PlannedEvidence(**ev), kind, reasons))
    return combine(rule, inp, parts, threshold, common)


def _planned(r: CriterionResult, ev: dict) -> tuple[str, str]:
    p95 = ev.get("p95_used_pct") or 0.0
    names = ", ".join(p["service"] for p in ev.get("planned_services", []))
    if not names:
        return (
            f"no memory-hungry service is planned (p95 RAM in use {p95:.1f}%)",
            f"памятеемкие сервисы не запланированы (p95 RAM {rus.number(p95)}%)",
        )
    gb, obs, thr = ev.get("planned_ram_gb", 0), r.observed or 0.0, ev["threshold_pct"]
    return (
        f"p95 RAM in use {p95:.1f}% of {ev.get('installed_ram_gb'):g} GB plus {gb:g} GB planned "
        f"({names}) = {obs:.1f}%; the criterion needs more than {thr:g}%",
        f"p95 RAM {rus.number(p95)}% от {rus.number(ev.get('installed_ram_gb'))} ГБ плюс "
        f"{rus.number(gb)} ГБ запланировано ({names}) = {rus.number(obs)}%; критерий: более "
        f"{rus.number(thr)}%",
    )


@register
class RamPlanned(ServerCriterion):
    """p95 RAM in use plus the planned services, as a share of installed RAM."""

    id = "ram.planned"
    group = "ram"
    unit = "%"
    evidence_type = PlannedEvidence
    params = (
        Param("metric", "text"),
        Param("comparator", "comparator", required=False, default=">"),
        Param("threshold"),
        Param("percentile", required=False, default=95),
        Param("planned_within", "duration", required=False, default="183d"),
    )
    plot = Plot("ram_used_pct", "max")

    def evaluate(self, inputs) -> CriterionResult:
        return planned_ram(self.rule, inputs, self.defaults)

    @classmethod
    def texts(cls, result: CriterionResult) -> tuple[str, str]:
        return _planned(result, result.evidence)

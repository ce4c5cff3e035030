"""What every capacity criterion of one server shares: its inputs (``ServerInputs``, one
``SeriesInput`` per series with its quality-gate verdict), how labels combine into one
result. Pure: nothing here reads a database or a clock, so a stored decision
can be recomputed from its stored inputs and gives the same result.

Outcome rules shared by every criterion:
* a series that failed the gate (or is missing) makes its criterion ``insufficient_data``
  (kind ``gate``), unless another series of the same criterion that passed already meets it;
* missing metadata (installed RAM) gives kind ``metadata``, a missing previous quarter kind
  ``history``; only ``gate`` blocks the server's decision, the others are listed as not
  evaluated;
* a criterion that cannot apply (no n8n on the server, no API endpoint probed) is
  ``not_met`` with ``applicable: false`` in its evidence.

The look-back, runs across the window's edges and the sustained criterion are in
``sustained.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np

from infra_review.capacity.criteria.evidence import Combined, DeclaredApiFields, Insufficient
from infra_review.criteria.registry import Criterion, Param
from infra_review.criteria.result import CriterionResult, Outcome
from infra_review.criteria.rules import Rule
from infra_review.timeseries.cadence import Cadence
from infra_review.timeseries.runs import CleanSeries

CAPACITY_METRICS = (
    "ram_used_pct",
    "cpu_used_pct",
    "swap_io_pages_per_s",
    "api_latency_s",
    "n8n_queue_waiting",
    "n8n_queue_active",
)


EVIDENCE_LIST_LIMIT = 20  # runs, hours or complaints listed in one result's evidence


class ServerCriterion(Criterion):
    """A capacity criterion judged per server (one result per server)."""

    review = "capacity"
    scope = "server"


class FleetCriterion(Criterion):
    """A capacity criterion judged once for the fleet fleet.yaml lists."""

    review = "capacity"
    scope = "fleet"


# "above X for more than D in a row": ram.sustained and cpu.sustained
SUSTAINED_PARAMS = (
    Param("metric", "text"),
    Param("comparator", "comparator", required=False, default=">"),
    Param("threshold"),
    Param("duration", "duration"),
    Param("duration_comparator", "comparator", required=False, default=">"),
    Param("gap_tolerance_intervals", required=False, default=2),
)


@dataclass(frozen=True)
class SeriesInput:
    """One series of the server in the window, cleaned, with its quality-gate verdict."""

    metric: str
    label: str
    data: CleanSeries
    gate: dict[str, Any]
    interval_s: float | None = None  # the series' measured cadence (quality.window)
    # the cadence per day of the samples the run criteria judge (look-back and window), so
    # the gap rule follows a change of scrape interval; None: ``interval_s`` throughout
    cadence: Cadence | None = None

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


def param(rule: Rule, key: str, defaults: dict[str, Any], fallback: Any = None) -> Any:
    """A rule's parameter, else the criteria file's default, else ``fallback``."""
    if key in rule.params:
        return rule.params[key]
    return defaults.get(key, fallback)


def hours(seconds: float) -> float:
    return seconds / 3600


def interval_of(s: SeriesInput, inp: ServerInputs) -> float:
    """Seconds between samples as one number: the series' measured cadence (the coarsest
    day's), else the server's interval."""
    return float(s.interval_s or inp.interval_s)


def intervals_of(
    s: SeriesInput, inp: ServerInputs, ts_us: np.ndarray
) -> tuple[float | np.ndarray, float | np.ndarray]:
    """The cadence at each of the sorted timestamps ``ts_us`` of the series: (the interval
    each sample closes, the interval its gap is judged against), per sample where the
    measured cadence changed over the days read, else one number for both (the fast path)."""
    c = s.cadence
    if c is None or not c.measured:
        one = interval_of(s, inp)
        return one, one
    if c.day_s.min() == c.day_s.max():
        one = float(c.day_s[0])
        return one, one
    return c.at(ts_us), c.gap_at(ts_us)


def at_start(intervals: float | np.ndarray, ts_us: np.ndarray, start_us: int) -> float:
    """The interval in force at the window's start (its first sample's, else the last)."""
    if np.ndim(intervals) == 0:
        return float(intervals)
    if not len(intervals):
        return float("nan")
    i = min(int(np.searchsorted(ts_us, start_us, "left")), len(intervals) - 1)
    return float(intervals[i])


def minutes_of(mask: np.ndarray, intervals: float | np.ndarray) -> float:
    """Minutes of data ``mask`` marks, each sample standing for the interval it closes."""
    if np.ndim(intervals) == 0:
        return round(int(np.count_nonzero(mask)) * float(intervals) / 60, 3)
    return round(float(np.asarray(intervals)[mask].sum()) / 60, 3)


def series_evidence(s: SeriesInput) -> dict[str, Any]:
    """A label's ``SeriesFields``, as keyword arguments of its criterion's evidence class."""
    return {
        "label": s.label,
        "samples": len(s.data),
        "coverage": s.gate.get("coverage"),
        "gate": s.gate,
        "nan_dropped": s.data.nan_dropped,
    }


@dataclass
class Part:
    """One label's evaluation, before the labels are combined into one result: its evidence
    is the criterion's evidence class with the label's fields set."""

    label: str
    met: bool
    observed: float | None
    evidence: Any  # a Combined subclass
    insufficient: str | None = None  # gate | metadata | history
    reasons: list[str] = field(default_factory=list)


def combine(
    rule: Rule,
    inp: ServerInputs,
    parts: list[Part],
    threshold: float | None,
    evidence: Combined,
    pick: Callable[[list[float]], float] = max,
) -> CriterionResult:
    """Met when a label with sound data meets it; else insufficient when a label lacks data.
    ``evidence`` holds the criterion's own fields; the deciding label's are laid under them
    and, with more than one label, every label's go in ``series``."""
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
        evidence = replace(
            evidence,
            insufficient=Insufficient(
                kind="gate" if "gate" in kinds or not parts else sorted(kinds)[0],
                reasons=[r for p in lacking for r in p.reasons],
            ),
        )
    else:
        outcome = Outcome.NOT_MET
    if decisive is not None:
        evidence = decisive.evidence.merged(evidence)
    if len(parts) > 1:
        evidence = replace(evidence, series=[replace(p.evidence, label=p.label) for p in parts])
    return CriterionResult(
        rule.id,
        inp.server,
        outcome,
        observed,
        threshold,
        inp.window_start,
        inp.window_end,
        evidence.to_dict(),
    )


def gate_part(s: SeriesInput) -> tuple[str | None, list[str]]:
    if s.passed:
        return None, []
    return "gate", list(s.gate.get("reasons") or [f"{s.metric}{{{s.label}}} failed the gate"])


def no_series(rule: Rule, inp: ServerInputs, metric: str, evidence: Any) -> CriterionResult:
    """``insufficient_data``: the criterion's own fields, no samples, the missing gate."""
    gate = missing_gate(inp.server, metric)
    evidence = replace(
        evidence,
        metric=metric,
        samples=0,
        gate=gate,
        insufficient=Insufficient(kind="gate", reasons=gate["reasons"]),
    )
    return CriterionResult(
        rule.id,
        inp.server,
        Outcome.INSUFFICIENT_DATA,
        None,
        None,
        inp.window_start,
        inp.window_end,
        evidence.to_dict(),
    )


def not_applicable(
    rule: Rule, inp: ServerInputs, reason: str, threshold: float | None, evidence: Any
) -> CriterionResult:
    """``not_met`` with ``applicable: false``: the criterion's own fields and the reason."""
    evidence = replace(evidence, applicable=False, reason=reason, samples=0)
    return CriterionResult(
        rule.id,
        inp.server,
        Outcome.NOT_MET,
        None,
        threshold,
        inp.window_start,
        inp.window_end,
        evidence.to_dict(),
    )


# services known to answer HTTP: a server declaring one in fleet.yaml must have its latency
# measured (criteria.yaml ``api_services`` overrides the list)
API_SERVICES = ("n8n", "directus", "qdrant")


def unmeasured_apis(
    inp: ServerInputs, series: list[SeriesInput], api_services: list[str] | tuple[str, ...]
) -> list[str]:
    """Declared services with an API (fleet.yaml ``services``) that no latency series
    measures (a series' label starts with its service, ``directus:/server/ping``)."""
    measured = {s.label.split(":", 1)[0] for s in series}
    return [svc for svc in inp.services if svc in api_services and svc not in measured]


def unmeasured_parts(
    metric: str, server: str, missing: list[str], evidence: type[DeclaredApiFields]
) -> list[Part]:
    """Missing is never a pass: one insufficient part per declared but unmeasured API."""
    return [
        Part(
            svc,
            False,
            None,
            evidence(label=svc, samples=0, declared_unmeasured=True),
            "gate",
            [f"{svc} is declared on {server} (fleet.yaml) but has no {metric} series"],
        )
        for svc in missing
    ]

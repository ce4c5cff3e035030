"""The capacity criteria's typed evidence: one dataclass per criterion, composed of shared
pieces, whose ``to_dict`` is the JSON stored in ``criterion_results.evidence`` and whose
``from_dict`` reads a stored record back (``infra_review.criteria.evidence.Evidence``).

The server criteria evaluate each label (series) apart and ``common.combine`` merges the
parts into one record: the deciding label's fields, then the criterion's own (its
parameters), ``insufficient`` and, with more than one label, ``series`` (every label's
fields). So one class serves both: a part fills its per-label fields, the criterion its
parameter fields, and ``merged`` lays one over the other. Every field of these classes
defaults to ``ABSENT`` (left out of the JSON): a record without series (no data, not
applicable) has no per-label fields, and a record stored before a key existed (``lookback``,
``carried_over_runs``, ``gap_cadences``, ...) loads without it and is written back as stored.

Kept as plain JSON, not typed further: a run record (``longest_run``, ``qualifying_runs``,
``carried_over_runs``, ``swapping_episodes``, ``stalled_episodes``: the dicts of
``timeseries.runs``/``edges``), a gate verdict, a complaint, a planned service and a fleet
criterion's per-server entry; ``RUN_RECORD_KEYS`` names the run keys the views read.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from infra_review.criteria.evidence import ABSENT, Evidence, piece

# the keys of a run record (``Runs.record``) the reporting views read under ``longest_run``
RUN_RECORD_KEYS = ("start", "end", "duration_s", "duration", "samples", "peak")


@dataclass(kw_only=True)
class Insufficient(Evidence):
    """Why a result is ``insufficient_data``: gate, metadata or history, with the reasons."""

    kind: str
    reasons: list[str]


@dataclass(kw_only=True)
class Lookback(Evidence):
    """The look-back a series was read with: from when, how many hours and samples."""

    from_: str | None = field(metadata={"key": "from"})
    hours: float
    samples: int


# --- pieces of the server criteria ------------------------------------------------------


@dataclass(kw_only=True)
class SeriesFields(Evidence):
    """One label's series: ``common.series_evidence`` (``samples`` 0 when it has none)."""

    label: str = ABSENT
    samples: int = ABSENT
    coverage: float | None = ABSENT
    gate: dict[str, Any] = ABSENT
    nan_dropped: int = ABSENT


@dataclass(kw_only=True)
class DeclaredApiFields(SeriesFields):
    """A service declared in fleet.yaml that no latency series measures."""

    declared_unmeasured: bool = ABSENT


@dataclass(kw_only=True)
class CadenceFields(Evidence):
    """The cadence a run criterion judged a series at (``sustained.cadence_evidence``)."""

    interval_s: float = ABSENT
    gap_tolerance_s: float = ABSENT
    hole_after_s: float = ABSENT
    gap_cadences: list[dict[str, Any]] = ABSENT


@dataclass(kw_only=True)
class LookbackFields(Evidence):
    """The look-back a run criterion read the series with (``sustained.lookback_evidence``)."""

    lookback: Lookback = piece(Lookback)


@dataclass(kw_only=True)
class RunsFields(Evidence):
    """Runs judged whole across the window's edges (``sustained.edge_evidence``)."""

    longest_run: dict[str, Any] | None = ABSENT
    runs_above: int = ABSENT
    runs_qualifying: int = ABSENT
    qualifying_runs: list[dict[str, Any]] = ABSENT
    carried_over_runs: list[dict[str, Any]] = ABSENT


@dataclass(kw_only=True)
class Applicability(Evidence):
    """Set when the criterion cannot apply to the server (``common.not_applicable``)."""

    applicable: bool = ABSENT
    reason: str = ABSENT


@dataclass(kw_only=True)
class Combined(Evidence):
    """What ``combine`` adds over the labels: why data is insufficient, every label."""

    insufficient: Insufficient = piece(Insufficient)
    series: list[Any] = ABSENT  # every label's fields, as this same class

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Any:
        out = super().from_dict(doc)
        if isinstance(out.series, list):
            out.series = [cls.from_dict(s) if isinstance(s, dict) else s for s in out.series]
        return out

    def merged(self, over: Combined) -> Any:
        """This part's fields with ``over``'s set ones laid over them."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update({k: v for k, v in vars(over).items() if v is not ABSENT})
        return type(self)(**values)


# --- one class per criterion: its label's fields, its parameters, then ``Combined`` -----


@dataclass(kw_only=True)
class SustainedSeries(RunsFields, LookbackFields, CadenceFields, SeriesFields):
    time_above_h: float = ABSENT


@dataclass(kw_only=True)
class SustainedParams(Evidence):
    metric: str = ABSENT
    comparator: str = ABSENT
    value_threshold: float = ABSENT
    duration_threshold_h: float = ABSENT
    duration_comparator: str = ABSENT
    gap_tolerance_intervals: float = ABSENT


@dataclass(kw_only=True)
class SustainedEvidence(Combined, SustainedParams, SustainedSeries):
    """ram.sustained, cpu.sustained: above X for more than D in a row."""


@dataclass(kw_only=True)
class SwapSeries(SeriesFields):
    hours_with_data: int = ABSENT
    swapping_hours: int = ABSENT
    swapping_episodes: list[dict[str, Any]] = ABSENT


@dataclass(kw_only=True)
class SwapParams(Evidence):
    metric: str = ABSENT
    value_threshold: float = ABSENT
    share_threshold: float = ABSENT
    share_comparator: str = ABSENT
    hour_statistic: str = ABSENT
    window_hours: float = ABSENT


@dataclass(kw_only=True)
class SwapEvidence(Combined, SwapParams, SwapSeries):
    """ram.swap: hours whose mean swap rate is above the threshold."""


@dataclass(kw_only=True)
class DegradationSeries(DeclaredApiFields):
    p95_current: float | None = ABSENT
    previous: dict[str, Any] | None = ABSENT  # quarter, p95, samples, passed, reasons
    ratio: float | None = ABSENT


@dataclass(kw_only=True)
class DegradationParams(Evidence):
    metric: str = ABSENT
    percentile: float = ABSENT
    ratio_threshold: float = ABSENT
    previous_quarter: str | None = ABSENT


@dataclass(kw_only=True)
class DegradationEvidence(Combined, Applicability, DegradationParams, DegradationSeries):
    """ram.degradation: this quarter's p95 latency over the previous quarter's."""


@dataclass(kw_only=True)
class PlannedSeries(SeriesFields):
    p95_used_pct: float | None = ABSENT
    p95_used_gb: float = ABSENT
    projected_pct: float = ABSENT
    note: str = ABSENT


@dataclass(kw_only=True)
class PlannedParams(Evidence):
    metric: str = ABSENT
    percentile: float = ABSENT
    threshold_pct: float = ABSENT
    installed_ram_gb: float | None = ABSENT
    planned_services: list[dict[str, Any]] = ABSENT
    planned_ram_gb: float = ABSENT
    planned_window: list[str] = ABSENT


@dataclass(kw_only=True)
class PlannedEvidence(Combined, PlannedParams, PlannedSeries):
    """ram.planned: p95 RAM in use plus the planned services, as a share of installed RAM."""


@dataclass(kw_only=True)
class ApiLatencyHours(DeclaredApiFields):
    hours_with_data: int = ABSENT
    hours_above: int = ABSENT
    worst_hour: dict[str, Any] | None = ABSENT  # hour, p95_s
    interval_s: float = ABSENT
    minutes_slow: float = ABSENT


@dataclass(kw_only=True)
class ApiLatencySeries(RunsFields, LookbackFields, ApiLatencyHours):
    pass


@dataclass(kw_only=True)
class ApiLatencyParams(Evidence):
    metric: str = ABSENT
    value_threshold: float = ABSENT
    hour_statistic: str = ABSENT
    duration_threshold_h: float = ABSENT
    duration_comparator: str = ABSENT


@dataclass(kw_only=True)
class ApiLatencyEvidence(Combined, Applicability, ApiLatencyParams, ApiLatencySeries):
    """cpu.api_latency: runs of hours whose p95 latency is above the threshold."""


@dataclass(kw_only=True)
class N8nQueueMinutes(LookbackFields, CadenceFields, SeriesFields):
    active_series: dict[str, Any] | None = ABSENT  # label, samples, gate
    stalls_distinguishable: bool = ABSENT
    note: str = ABSENT
    minutes_unmatched: float = ABSENT
    match_tolerance_s: float = ABSENT
    minutes_above: float = ABSENT
    minutes_counted: float = ABSENT
    minutes_active_unknown: float | None = ABSENT
    stalled_minutes: float = ABSENT
    stalled_episodes: list[dict[str, Any]] = ABSENT
    stalled_episode_count: int = ABSENT
    incident: bool = ABSENT  # the label's; over every label once combined


@dataclass(kw_only=True)
class N8nQueueSeries(RunsFields, N8nQueueMinutes):
    pass


@dataclass(kw_only=True)
class N8nQueueParams(Evidence):
    metric: str = ABSENT
    active_metric: str = ABSENT
    value_threshold: float = ABSENT
    duration_threshold_min: float = ABSENT
    duration_comparator: str = ABSENT
    gap_tolerance_intervals: float = ABSENT


@dataclass(kw_only=True)
class N8nQueueEvidence(Combined, Applicability, N8nQueueParams, N8nQueueSeries):
    """cpu.n8n_queue: waiting jobs above the threshold while jobs are active; stalls."""

    stalled_minutes_total: float = ABSENT


@dataclass(kw_only=True)
class ComplaintsEvidence(Evidence):
    """cpu.complaints: complaints of the category attributed to the server in the window."""

    category: str
    comparator: str
    count: int
    complaints: list[dict[str, Any]]
    unattributed_count: int = ABSENT  # counted on no server (later records only)
    unattributed: list[dict[str, Any]] = ABSENT


# --- the fleet criteria ------------------------------------------------------------------


@dataclass(kw_only=True)
class BothLoadedEvidence(Evidence):
    """server.both_loaded: every current server loaded in most of its hours."""

    value_threshold: float
    load: str
    share_threshold: float
    share_comparator: str
    servers: list[dict[str, Any]]  # server, hours, hours_above, share_above, gate_passed, ...
    unlisted_servers: list[str] = ABSENT
    loaded_servers: list[str]
    not_loaded_servers: list[str]
    insufficient: Insufficient = piece(Insufficient)


@dataclass(kw_only=True)
class GeoEvidence(Evidence):
    """server.geo: a required region with no server."""

    declared: str
    required_regions: list[str]
    server_regions: dict[str, str | None]
    servers_without_region: list[str]
    missing_regions: list[str]
    note: str = ABSENT


@dataclass(kw_only=True)
class IsolationEvidence(Evidence):
    """server.isolation: an isolated data class sharing its host."""

    declared: str
    isolated_data_classes: list[str]
    placement: dict[str, list[str]]
    violations: list[dict[str, Any]]  # data_class, server, shares_with
    rule: str
    note: str = ABSENT


@dataclass(kw_only=True)
class UpgradeLimitEvidence(Evidence):
    """server.upgrade_limit: projected need above the provider's largest plan."""

    target_utilisation: float
    plans_source: dict[str, Any]
    servers: list[dict[str, Any]]  # need, projection, best and largest plan per server
    unlisted_servers: list[str] = ABSENT
    over_limit: list[str]
    insufficient: Insufficient = piece(Insufficient)

"""Technical criteria (seed 02.04.04): tech.sla, tech.modern, tech.support,
tech.automation. Each is one class: its parameters, ``evaluate`` and how its value reads."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from infra_review.criteria.evidence import ABSENT, Evidence
from infra_review.criteria.result import CriterionResult, Outcome
from infra_review.provider.criteria.base import (
    COMPARATOR,
    MAX_AGE,
    THRESHOLD,
    Context,
    Criterion,
    FlagsEvidence,
    Param,
    outcome_of,
)
from infra_review.provider.inputs import ProbeCount, ReviewWindow, Ticket
from infra_review.provider.model import Provider


class TechSla(Criterion):
    """Measured uptime from probes above 99.5%, and the contractual SLA above 99.5% too."""

    id = "tech.sla"
    unit = "%"
    group = "technical"
    params = (COMPARATOR, THRESHOLD, Param("metric", str, "probe_up", "the probe metric"))

    def evaluate(self, ctx: Context) -> CriterionResult:
        return self.judge(ctx.provider, ctx.probes, ctx.window, ctx.coverage_floor)

    @classmethod
    def observed_text(cls, result: CriterionResult) -> str:
        return "" if result.observed is None else f"{result.observed:.3f}%"

    def judge(
        self,
        provider: Provider,
        probes: Sequence[ProbeCount],
        window: ReviewWindow,
        coverage_floor: float,
    ) -> CriterionResult:
        """Uptime = up-probes / probes received (a missing probe is not downtime), above 99.5%,
        and the contractual SLA above 99.5% too. Every declared series counts: one that never
        reported has coverage 0, and any series below the floor makes it insufficient data."""
        bounds = (window.start, window.end)
        window_s = (window.end - window.start).total_seconds()
        window_min = window_s / 60
        threshold = self.threshold
        allowed = window_min * (100 - threshold) / 100
        series = [SeriesEvidence.of(p, window_s) for p in probes]
        received = sum(p.received for p in probes)
        up = sum(p.up for p in probes)
        ev = SlaEvidence(
            window_minutes=window_min,
            allowed_downtime_min=round(allowed, 1),
            allowed_downtime=_hm(allowed),
            contractual_sla_pct=provider.sla_pct,
            probes_received=received,
            probes_up=up,
            probes_down=received - up,
            probes_expected=sum(int(window_s // p.interval_s) for p in probes),
            coverage_floor=coverage_floor,
            series=series,
        )
        if not probes:
            ev.reason = (
                f"no probe series declared for {provider.id} (providers.yaml probes, or the "
                "fleet servers of this provider)"
            )
            return self.no_data(provider.id, bounds, ev)
        silent = [s.name for s in series if not s.received]
        low = [
            f"{s.name} ({s.coverage:.1%})" for s in series if s.received and s.low(coverage_floor)
        ]
        ev.coverage = min(s.exact_coverage for s in series)
        ev.coverage_all_series = round(received / ev.probes_expected, 4)
        ev.silent_series = silent
        if received == 0:
            ev.reason = (
                f"no probe_up samples for {provider.id} in {window.quarter}; silent: "
                + ", ".join(silent)
            )
            return self.no_data(provider.id, bounds, ev)
        uptime = 100.0 * up / received
        downtime = window_min * (received - up) / received
        ev.uptime_pct, ev.downtime_min, ev.downtime = uptime, round(downtime, 1), _hm(downtime)
        outcome = Outcome.MET
        if ev.coverage < coverage_floor:
            named = [f"silent (coverage 0): {', '.join(silent)}"] if silent else []
            named += [f"below the floor: {', '.join(low)}"] if low else []
            ev.reason = (
                f"probe coverage {ev.coverage:.1%} is below the floor {coverage_floor:.0%} for "
                "a declared series (" + "; ".join(named) + "): the provider is not measured"
            )
            outcome = Outcome.INSUFFICIENT_DATA
        elif not self.compare(uptime):
            ev.reason = f"measured uptime {uptime:.3f}% is not above {threshold}%"
            outcome = Outcome.NOT_MET
        elif provider.sla_pct is None:
            ev.reason = "measured uptime is good, but no contractual SLA is declared"
            outcome = Outcome.INSUFFICIENT_DATA
        elif not self.compare(provider.sla_pct):
            ev.reason = f"the contract only promises {provider.sla_pct}%"
            outcome = Outcome.NOT_MET
        return self.result(provider.id, outcome, uptime, threshold, bounds, ev)


@dataclass
class SeriesEvidence(Evidence):
    """One declared probe series in tech.sla's evidence (a silent one has received 0)."""

    server: str
    endpoint: str
    received: int
    up: int
    interval_s: int
    coverage: float
    down_minutes: float
    exact_coverage: float = field(default=0.0, repr=False)

    @classmethod
    def of(cls, p: ProbeCount, window_s: float) -> SeriesEvidence:
        slots = window_s // p.interval_s
        exact = min(1.0, p.received / slots) if slots else 0.0
        down = (p.received - p.up) * p.interval_s / 60
        return cls(p.server, p.label, p.received, p.up, p.interval_s, round(exact, 4), down, exact)

    @property
    def name(self) -> str:
        return f"{self.server} {self.endpoint}".strip()

    def low(self, floor: float) -> bool:
        return self.exact_coverage < floor

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out.pop("exact_coverage")
        return out


@dataclass
class SlaEvidence(Evidence):
    """tech.sla's evidence: the allowance, what the probes said, and each declared series."""

    OPTIONAL = (
        "coverage",
        "coverage_all_series",
        "silent_series",
        "uptime_pct",
        "downtime_min",
        "downtime",
        "reason",
    )
    window_minutes: float
    allowed_downtime_min: float
    allowed_downtime: str
    contractual_sla_pct: float | None
    probes_received: int
    probes_up: int
    probes_down: int
    probes_expected: int
    coverage_floor: float
    series: list[SeriesEvidence]
    missing_probe_rule: str = "a missing probe is not downtime: uptime = up / received"
    coverage: float | None = None
    coverage_all_series: float | None = None
    silent_series: list[str] | None = None
    uptime_pct: float | None = None
    downtime_min: float | None = None
    downtime: str | None = None
    reason: str | None = None


def _hm(minutes: float) -> str:
    whole = int(round(minutes))
    return f"{whole // 60} h {whole % 60} min"


class TechModern(Criterion):
    """Share of the checklist the provider supports."""

    id = "tech.modern"
    unit, scale = "%", 100
    group = "technical"
    params = (
        COMPARATOR,
        THRESHOLD,
        Param("checklist", list, doc="technologies to check"),
        MAX_AGE,
    )

    def evaluate(self, ctx: Context) -> CriterionResult:
        return self.judge(ctx.provider, ctx.window)

    @classmethod
    def observed_text(cls, result: CriterionResult) -> str:
        return "" if result.observed is None else f"{result.observed:.0%}"

    def judge(self, provider: Provider, window: ReviewWindow) -> CriterionResult:
        """Share of the checklist the provider supports. Undeclared items are unknown: decided
        only when they cannot change the outcome."""
        checklist = [str(x) for x in self.p["checklist"]]
        bounds = (window.start, window.end)
        has = [t for t in checklist if provider.technologies.get(t) is True]
        lacks = [t for t in checklist if provider.technologies.get(t) is False]
        unknown = [t for t in checklist if t not in provider.technologies]
        n = len(checklist) or 1
        share = len(has) / n
        best = (len(has) + len(unknown)) / n
        ev = ChecklistEvidence(
            checklist=checklist,
            has=has,
            lacks=lacks,
            unknown=unknown,
            **self.provenance(provider, "technologies", window),
        )
        if ev.reason:
            outcome = Outcome.INSUFFICIENT_DATA
        elif self.compare(share):
            outcome = Outcome.MET
        elif not self.compare(best):
            outcome = Outcome.NOT_MET
        else:
            outcome = Outcome.INSUFFICIENT_DATA
            ev.reason = f"undeclared checklist item(s) {unknown} decide the outcome"
        return self.result(provider.id, outcome, share, self.threshold, bounds, ev)


def _nearest_rank(sorted_values: Sequence[float], pct: float) -> float:
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


class TechSupport(Criterion):
    """Median first response (hours) of tickets opened in the quarter, at most 4 h."""

    id = "tech.support"
    unit, shown_comparator = "h", "<="
    group = "technical"
    params = (COMPARATOR, THRESHOLD)

    def evaluate(self, ctx: Context) -> CriterionResult:
        return self.judge(ctx.provider.id, ctx.tickets, ctx.window)

    @classmethod
    def observed_text(cls, result: CriterionResult) -> str:
        v = result.observed
        if v is None:
            return ""
        return f"median {v:.1f} h" if v != float("inf") else "median: unanswered"

    def judge(
        self, provider_id: str, tickets: Iterable[Ticket], window: ReviewWindow
    ) -> CriterionResult:
        """Median first response (hours) of tickets opened in the quarter, at most 4 h.

        A ticket still unanswered at the window's end counts as slower than any answer once it
        has waited longer than the threshold; one opened too recently to judge is left out.
        """
        bounds = (window.start, window.end)
        threshold_h = self.threshold
        own = [
            t
            for t in tickets
            if t.provider == provider_id and window.start <= t.opened_at < window.end
        ]
        hours: list[float] = []
        not_due = 0
        unanswered = 0
        for t in own:
            if t.first_response_at is not None:
                hours.append((t.first_response_at - t.opened_at).total_seconds() / 3600)
            elif window.end - t.opened_at > timedelta(hours=threshold_h):
                hours.append(math.inf)
                unanswered += 1
            else:
                not_due += 1
        ev = SupportEvidence(len(own), len(hours), unanswered, not_due)
        if not hours:
            ev.reason = f"no support tickets from {provider_id} in {window.quarter}"
            return self.result(
                provider_id, Outcome.INSUFFICIENT_DATA, None, threshold_h, bounds, ev
            )
        ordered = sorted(hours)
        median = statistics.median(ordered)
        p90 = _nearest_rank(ordered, 90)
        resolved = [
            (t.resolved_at - t.opened_at).total_seconds() / 3600
            for t in own
            if t.resolved_at is not None
        ]
        ev.median_first_response_h = median if math.isfinite(median) else None
        ev.p90_first_response_h = p90 if math.isfinite(p90) else None
        ev.p90_method = "nearest rank"
        ev.median_resolution_h = statistics.median(resolved) if resolved else None
        ok = self.compare(median)
        return self.result(provider_id, outcome_of(ok), median, threshold_h, bounds, ev)


@dataclass
class SupportEvidence(Evidence):
    """tech.support's evidence: tickets opened and measured, unanswered ones, and the
    median and p90 first response (None when unanswered tickets decide them)."""

    OPTIONAL = ("reason",)
    tickets_opened: int
    tickets_measured: int
    unanswered_overdue: int
    unanswered_not_yet_due: int
    median_first_response_h: float | None = ABSENT
    p90_first_response_h: float | None = ABSENT
    p90_method: str = ABSENT
    median_resolution_h: float | None = ABSENT
    reason: str | None = None


class TechAutomation(Criterion):
    """An API and a Terraform provider (criteria.yaml ``requires``) both exist."""

    id = "tech.automation"
    unit, scale, shown_threshold, shown_comparator = "%", 100, 1.0, ">="
    group = "technical"
    params = (Param("requires", list, doc="automation features that must exist"), MAX_AGE)

    def evaluate(self, ctx: Context) -> CriterionResult:
        return self.judge(ctx.provider, ctx.window)

    @classmethod
    def observed_text(cls, result: CriterionResult) -> str:
        return "" if result.observed is None else f"{result.observed:.0%}"

    def judge(self, provider: Provider, window: ReviewWindow) -> CriterionResult:
        """An API and a Terraform provider (criteria.yaml ``requires``) both exist."""
        required = [str(x) for x in self.p["requires"]]
        bounds = (window.start, window.end)
        has = [r for r in required if provider.automation.get(r) is True]
        lacks = [r for r in required if provider.automation.get(r) is False]
        unknown = [r for r in required if r not in provider.automation]
        ev = RequiresEvidence(
            requires=required,
            has=has,
            lacks=lacks,
            unknown=unknown,
            **self.provenance(provider, "automation", window),
        )
        if ev.reason:
            outcome = Outcome.INSUFFICIENT_DATA
        elif lacks:
            outcome = Outcome.NOT_MET
        elif unknown:
            outcome = Outcome.INSUFFICIENT_DATA
            ev.reason = f"not declared: {unknown}"
        else:
            outcome = Outcome.MET
        observed = len(has) / len(required) if required else 1.0
        return self.result(provider.id, outcome, observed, 1.0, bounds, ev)


@dataclass(kw_only=True)
class ChecklistEvidence(FlagsEvidence):
    checklist: list[str]


@dataclass(kw_only=True)
class RequiresEvidence(FlagsEvidence):
    requires: list[str]


CRITERIA = (TechSla, TechModern, TechSupport, TechAutomation)

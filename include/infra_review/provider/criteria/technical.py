"""Technical criteria (seed 02.04.04): tech.sla, tech.modern, tech.support,
tech.automation. Each is one class: its parameters, ``evaluate`` and how its value reads."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from infra_review.criteria.result import CriterionResult, Outcome
from infra_review.provider.criteria.base import (
    COMPARATOR,
    MAX_AGE,
    THRESHOLD,
    Context,
    Criterion,
    Param,
    outcome_of,
)
from infra_review.provider.inputs import ProbeCount, ReviewWindow, Ticket
from infra_review.provider.model import Provider


class TechSla(Criterion):
    """Measured uptime from probes above 99.5%, and the contractual SLA above 99.5% too."""

    id = "tech.sla"
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
        received = sum(p.received for p in probes)
        up = sum(p.up for p in probes)
        expected = sum(int(window_s // p.interval_s) for p in probes)
        evidence: dict[str, Any] = {
            "window_minutes": window_min,
            "allowed_downtime_min": round(allowed, 1),
            "allowed_downtime": _hm(allowed),
            "contractual_sla_pct": provider.sla_pct,
            "probes_received": received,
            "probes_up": up,
            "probes_down": received - up,
            "probes_expected": expected,
            "coverage_floor": coverage_floor,
            "series": [
                {
                    "server": p.server,
                    "endpoint": p.label,
                    "received": p.received,
                    "up": p.up,
                    "interval_s": p.interval_s,
                    "coverage": round(min(1.0, p.received / (window_s // p.interval_s)), 4)
                    if window_s // p.interval_s
                    else 0.0,
                    "down_minutes": (p.received - p.up) * p.interval_s / 60,
                }
                for p in probes
            ],
            "missing_probe_rule": "a missing probe is not downtime: uptime = up / received",
        }
        if not probes:
            evidence["reason"] = (
                f"no probe series declared for {provider.id} (providers.yaml probes, or the "
                "fleet servers of this provider)"
            )
            return self.no_data(provider.id, bounds, evidence)
        series = evidence["series"]
        silent = [f"{s['server']} {s['endpoint']}".strip() for s in series if not s["received"]]
        low = [
            f"{s['server']} {s['endpoint']} ({s['coverage']:.1%})".strip()
            for s in series
            if s["received"] and s["coverage"] < coverage_floor
        ]
        coverage = min(
            min(1.0, p.received / (window_s // p.interval_s)) if window_s // p.interval_s else 0.0
            for p in probes
        )
        evidence.update(
            {"coverage": coverage, "coverage_all_series": round(received / expected, 4)}
        )
        evidence["silent_series"] = silent
        if received == 0:
            evidence["reason"] = (
                f"no probe_up samples for {provider.id} in {window.quarter}; silent: "
                + ", ".join(silent)
            )
            return self.no_data(provider.id, bounds, evidence)
        uptime = 100.0 * up / received
        downtime = window_min * (received - up) / received
        evidence.update(
            {"uptime_pct": uptime, "downtime_min": round(downtime, 1), "downtime": _hm(downtime)}
        )
        if coverage < coverage_floor:
            named = [f"silent (coverage 0): {', '.join(silent)}"] if silent else []
            named += [f"below the floor: {', '.join(low)}"] if low else []
            evidence["reason"] = (
                f"probe coverage {coverage:.1%} is below the floor {coverage_floor:.0%} for a "
                "declared series (" + "; ".join(named) + "): the provider is not measured"
            )
            return self.result(
                provider.id, Outcome.INSUFFICIENT_DATA, uptime, threshold, bounds, evidence
            )
        if not self.compare(uptime):
            evidence["reason"] = f"measured uptime {uptime:.3f}% is not above {threshold}%"
            return self.result(provider.id, Outcome.NOT_MET, uptime, threshold, bounds, evidence)
        if provider.sla_pct is None:
            evidence["reason"] = "measured uptime is good, but no contractual SLA is declared"
            return self.result(
                provider.id, Outcome.INSUFFICIENT_DATA, uptime, threshold, bounds, evidence
            )
        if not self.compare(provider.sla_pct):
            evidence["reason"] = f"the contract only promises {provider.sla_pct}%"
            return self.result(provider.id, Outcome.NOT_MET, uptime, threshold, bounds, evidence)
        return self.result(provider.id, Outcome.MET, uptime, threshold, bounds, evidence)


def _hm(minutes: float) -> str:
    whole = int(round(minutes))
    return f"{whole // 60} h {whole % 60} min"


class TechModern(Criterion):
    """Share of the checklist the provider supports."""

    id = "tech.modern"
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
        evidence = {"checklist": checklist, "has": has, "lacks": lacks, "unknown": unknown}
        evidence.update(self.provenance(provider, "technologies", window))
        if "reason" in evidence:
            return self.result(
                provider.id, Outcome.INSUFFICIENT_DATA, share, self.threshold, bounds, evidence
            )
        if self.compare(share):
            outcome = Outcome.MET
        elif not self.compare(best):
            outcome = Outcome.NOT_MET
        else:
            outcome = Outcome.INSUFFICIENT_DATA
            evidence["reason"] = f"undeclared checklist item(s) {unknown} decide the outcome"
        return self.result(provider.id, outcome, share, self.threshold, bounds, evidence)


def _nearest_rank(sorted_values: Sequence[float], pct: float) -> float:
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


class TechSupport(Criterion):
    """Median first response (hours) of tickets opened in the quarter, at most 4 h."""

    id = "tech.support"
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
        evidence: dict[str, Any] = {
            "tickets_opened": len(own),
            "tickets_measured": len(hours),
            "unanswered_overdue": unanswered,
            "unanswered_not_yet_due": not_due,
        }
        if not hours:
            evidence["reason"] = f"no support tickets from {provider_id} in {window.quarter}"
            return self.result(
                provider_id, Outcome.INSUFFICIENT_DATA, None, threshold_h, bounds, evidence
            )
        ordered = sorted(hours)
        median = statistics.median(ordered)
        p90 = _nearest_rank(ordered, 90)
        resolved = [
            (t.resolved_at - t.opened_at).total_seconds() / 3600
            for t in own
            if t.resolved_at is not None
        ]
        evidence.update(
            {
                "median_first_response_h": median if math.isfinite(median) else None,
                "p90_first_response_h": p90 if math.isfinite(p90) else None,
                "p90_method": "nearest rank",
                "median_resolution_h": statistics.median(resolved) if resolved else None,
            }
        )
        return self.result(
            provider_id, outcome_of(self.compare(median)), median, threshold_h, bounds, evidence
        )


class TechAutomation(Criterion):
    """An API and a Terraform provider (criteria.yaml ``requires``) both exist."""

    id = "tech.automation"
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
        evidence = {"requires": required, "has": has, "lacks": lacks, "unknown": unknown}
        evidence.update(self.provenance(provider, "automation", window))
        if "reason" in evidence:
            outcome = Outcome.INSUFFICIENT_DATA
        elif lacks:
            outcome = Outcome.NOT_MET
        elif unknown:
            outcome = Outcome.INSUFFICIENT_DATA
            evidence["reason"] = f"not declared: {unknown}"
        else:
            outcome = Outcome.MET
        observed = len(has) / len(required) if required else 1.0
        return self.result(provider.id, outcome, observed, 1.0, bounds, evidence)


CRITERIA = (TechSla, TechModern, TechSupport, TechAutomation)

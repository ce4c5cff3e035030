"""provider/criteria/technical.py at its boundaries: measured uptime over every declared
probe series (a silent one counts with coverage 0), the checklist and automation facts with
their source and date, and the support tickets' median first response."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from infra_review.criteria.result import CriterionResult, Outcome
from infra_review.provider import inputs as pi
from infra_review.provider.evaluation import probe_counts_for
from infra_review.provider.model import Probe
from tests.unit.provider_helpers import Q1, Q2, C, ctx, declared, provider

# --- tech.sla -------------------------------------------------------------------------------


def _sla(received: int, down: int, sla_pct: float | None = 99.9, window=Q1):
    probes = [pi.ProbeCount("app-1", "web", received, received - down, 60)]
    return C["tech.sla"].judge(provider(sla_pct=sla_pct), probes, window, 0.90)


def test_silent_declared_series_counts_with_coverage_zero_and_is_named():
    """Two declared probes, one never reported: coverage was 1.0 and the SLA met."""
    minutes = 90 * 24 * 60
    rows = [("app-1", "web", minutes, minutes)]
    declared_probes = (Probe("app-1", "web"), Probe("data-1"))
    probes = probe_counts_for(rows, declared_probes, {})
    assert [(p.server, p.received) for p in probes] == [("app-1", minutes), ("data-1", 0)]
    result = C["tech.sla"].evaluate(ctx(provider(sla_pct=99.9), window=Q1, probes=probes))
    assert result.outcome is Outcome.INSUFFICIENT_DATA
    assert result.evidence["coverage"] == 0 and result.evidence["silent_series"] == ["data-1"]
    assert "data-1" in result.evidence["reason"]
    both = probe_counts_for([*rows, ("data-1", "db", minutes, minutes)], declared_probes, {})
    assert C["tech.sla"].evaluate(ctx(provider(sla_pct=99.9), window=Q1, probes=both)).met


def test_provider_with_no_probes_is_insufficient_data():
    result = C["tech.sla"].evaluate(ctx(provider(sla_pct=99.9), window=Q1, probes=[]))
    assert result.outcome is Outcome.INSUFFICIENT_DATA
    assert "no probe series declared" in result.evidence["reason"]


def test_uptime_boundary_over_a_quarter():
    minutes = 90 * 24 * 60
    below, exact, above = _sla(minutes, 661), _sla(minutes, 648), _sla(minutes, 635)
    assert below.observed == pytest.approx(99.49, abs=0.001) and below.outcome is Outcome.NOT_MET
    assert exact.observed == pytest.approx(99.5) and exact.outcome is Outcome.NOT_MET  # ">99.5%"
    assert above.observed == pytest.approx(99.51, abs=0.001) and above.outcome is Outcome.MET
    assert above.evidence["allowed_downtime_min"] == pytest.approx(648.0)  # 0.5% of 90 days
    assert above.evidence["downtime_min"] == pytest.approx(635.0)


def test_allowed_downtime_for_a_91_day_quarter_is_655_minutes():
    result = _sla(91 * 1440, 0, window=Q2)
    assert result.evidence["allowed_downtime_min"] == pytest.approx(655.2)
    assert result.evidence["allowed_downtime"] == "10 h 55 min"


def test_missing_probes_are_not_downtime_but_low_coverage_is_no_data():
    minutes = 90 * 24 * 60
    gappy = _sla(120_000, 500)  # 9 600 probes missing: 92.6% coverage
    assert gappy.outcome is Outcome.MET
    assert gappy.observed == pytest.approx(100 * 119_500 / 120_000)
    just_under = _sla(int(minutes * 0.899), 0)
    assert (
        just_under.outcome is Outcome.INSUFFICIENT_DATA and "floor" in just_under.evidence["reason"]
    )
    assert _sla(int(minutes * 0.901), 0).outcome is Outcome.MET
    assert _sla(0, 0).outcome is Outcome.INSUFFICIENT_DATA


def test_contractual_sla_must_also_be_above_the_threshold():
    minutes = 90 * 24 * 60
    assert _sla(minutes, 0, sla_pct=99.5).outcome is Outcome.NOT_MET
    assert _sla(minutes, 0, sla_pct=99.51).outcome is Outcome.MET
    assert _sla(minutes, 0, sla_pct=None).outcome is Outcome.INSUFFICIENT_DATA
    assert _sla(minutes, 700, sla_pct=None).outcome is Outcome.NOT_MET  # measured fails anyway


# --- tech.modern, support, automation -------------------------------------------------------


def test_modern_checklist_share_and_unknowns():
    rule = C["tech.modern"]  # 4 items, at least 75%
    facts = declared("technologies")
    full = {"ipv6": True, "nvme": True, "managed_kubernetes": True, "s3_storage": False}
    assert rule.judge(provider(technologies=full, declared=facts), Q2).outcome is Outcome.MET
    two = {**full, "managed_kubernetes": False}
    assert rule.judge(provider(technologies=two, declared=facts), Q2).outcome is Outcome.NOT_MET
    unknown = {"ipv6": True, "nvme": True, "managed_kubernetes": False}
    result = rule.judge(provider(technologies=unknown, declared=facts), Q2)
    assert result.outcome is Outcome.INSUFFICIENT_DATA and result.evidence["unknown"] == [
        "s3_storage"
    ]


def _ticket(opened: datetime, hours: float | None) -> pi.Ticket:
    return pi.Ticket("p", opened, None if hours is None else opened + timedelta(hours=hours))


def test_support_median_first_response_boundary():
    rule = C["tech.support"]  # median at most 4 h
    t0 = datetime(2026, 4, 10, 9, tzinfo=UTC)

    def median_of(hours: list[float | None]) -> CriterionResult:
        tickets = [_ticket(t0 + timedelta(days=i), h) for i, h in enumerate(hours)]
        return rule.judge("p", tickets, Q2)

    met = median_of([1, 4.0, 9])
    assert met.observed == 4.0 and met.outcome is Outcome.MET
    assert met.evidence["p90_first_response_h"] == 9
    assert median_of([1, 4.01, 9]).outcome is Outcome.NOT_MET
    unanswered = median_of([1, 2, None, None])  # two never answered: slower than any answer
    assert unanswered.outcome is Outcome.NOT_MET and unanswered.evidence["unanswered_overdue"] == 2
    assert median_of([]).outcome is Outcome.INSUFFICIENT_DATA
    late = [_ticket(Q2.end - timedelta(hours=1), None), _ticket(t0, 2)]
    result = rule.judge("p", late, Q2)
    assert result.evidence["unanswered_not_yet_due"] == 1 and result.outcome is Outcome.MET


def test_automation_needs_api_and_terraform():
    rule = C["tech.automation"]
    facts = declared("automation")
    both = provider(automation={"api": True, "terraform_provider": True}, declared=facts)
    assert rule.judge(both, Q2).outcome is Outcome.MET
    no_tf = provider(automation={"api": True, "terraform_provider": False}, declared=facts)
    assert rule.judge(no_tf, Q2).outcome is Outcome.NOT_MET
    only_api = provider(automation={"api": True}, declared=facts)
    assert rule.judge(only_api, Q2).outcome is Outcome.INSUFFICIENT_DATA


def test_declared_facts_need_a_source_and_a_date_within_the_limit():
    """Judged at the quarter's end (2026-07-01), not by the wall clock: 365 days is usable,
    366 is not; no source or no date is no data."""
    rule = C["tech.automation"]
    flags = {"api": True, "terraform_provider": True}
    end = Q2.end.date()

    def on(day: date | None, source: str | None = "docs") -> CriterionResult:
        facts = declared("automation", on=day, source=source)
        return rule.judge(provider(automation=flags, declared=facts), Q2)

    assert on(end - timedelta(days=365)).outcome is Outcome.MET
    stale = on(end - timedelta(days=366))
    assert stale.outcome is Outcome.INSUFFICIENT_DATA and "366 days old" in stale.evidence["reason"]
    assert on(None).outcome is Outcome.INSUFFICIENT_DATA
    assert on(end - timedelta(days=5), source=None).outcome is Outcome.INSUFFICIENT_DATA
    assert on(end).outcome is Outcome.INSUFFICIENT_DATA  # dated after the quarter
    bare = rule.judge(provider(automation=flags), Q2)
    assert "without a source and a date" in bare.evidence["reason"]
    assert on(end - timedelta(days=30)).evidence["source"] == "docs"


def test_sla_evidence_is_typed_and_reads_a_stored_record_back():
    from infra_review.provider.criteria.technical import SlaEvidence

    result = _sla(90 * 1440, 10)
    stored = {k: v for k, v in result.evidence.items() if k not in ("comparator", "default_source")}
    again = SlaEvidence.from_dict(stored)
    assert again.uptime_pct == result.observed and again.reason is None
    assert again.to_dict() == stored  # the same JSON as stored, so old records still read
    assert "reason" not in stored and "coverage" in stored

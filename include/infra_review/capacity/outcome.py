"""What a whole capacity review returns (``runner.run_capacity_review``): the plan with its
quality verdict, the per-server payloads, the fleet payload, the decisions, what was written
and the report; ``to_json`` is the CLI's ``--json`` output, and ``text`` the lines it prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from infra_review.capacity.decide import Decision
from infra_review.capacity.evaluate import REVIEW_TYPE
from infra_review.criteria.registry import explain_both
from infra_review.criteria.result import Outcome, json_safe
from infra_review.reporting import recommendations


@dataclass
class CapacityReview:
    plan: dict[str, Any]
    payloads: list[dict[str, Any]]
    fleet: dict[str, Any]
    decisions: list[Decision]
    written: dict[str, Any]
    report: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per step

    @property
    def run_id(self) -> int | None:
        return self.written.get("run_id")

    def decision_of(self, subject: str) -> Decision:
        return next(x for x in self.decisions if x.subject == subject)

    def to_json(self) -> dict[str, Any]:
        return json_safe(
            {
                "review_type": REVIEW_TYPE,
                "quarter": self.plan["quarter"],
                "window": [self.plan["window_start"], self.plan["window_end"]],
                "servers": self.plan["servers"],
                "complete": self.plan["complete"],
                "dry_run": self.plan["dry_run"],
                "run_key": self.plan["run_key"],
                "run_id": self.run_id,
                "superseded": self.written.get("superseded", []),
                "criteria_version": self.plan["criteria"]["version"],
                "quality": {
                    "success": self.plan["verdict"]["success"],
                    "floor": self.plan["verdict"]["floor"],
                },
                "report_path": self.report.get("path"),
                "timings_s": self.timings,
                "fleet_skipped": self.fleet.get("reason") if self.fleet.get("skipped") else None,
                "decisions": [
                    {
                        "subject_kind": x.subject_kind,
                        "subject": x.subject,
                        "decision": x.decision,
                        "actions": x.actions,
                        "summary_en": x.summary_en,
                        "summary_ru": x.summary_ru,
                        "drivers": x.drivers,
                        "options": x.options,
                        "confirmation": x.confirmation,
                        "context": x.context,
                        "criteria": [r.to_record() for r in x.results],
                    }
                    for x in self.decisions
                ],
            }
        )


def format_review(review, evidence: bool = True) -> str:
    """Decisions with their summaries and, per server, the criteria met or not evaluated."""
    mark = {Outcome.MET: "MET", Outcome.NOT_MET: "-", Outcome.INSUFFICIENT_DATA: "no data"}
    plan = review.plan
    out = [
        f"capacity review {plan['quarter']} ({', '.join(plan['servers']) or 'no servers'})"
        + (" (dry run, nothing written)" if plan["dry_run"] else ""),
        f"  criteria {plan['criteria']['version']}; data quality "
        + ("passed" if plan["verdict"]["success"] else "NOT passed for every series"),
    ]
    for x in review.decisions:
        out.append("")
        out.append(f"  {x.subject:<10} {' + '.join(x.actions)}")
        out.append(f"    EN: {x.summary_en}")
        out.append(f"    RU: {x.summary_ru}")
        for rec in recommendations.items(x.context):  # issue 17: current -> recommended
            out.append(f"    size: {recommendations.line(rec)}")
        if evidence:
            for r in x.results:
                en, _ = explain_both(r)
                out.append(f"      {r.criterion_id:<21} {mark[r.outcome]:<8} {en}")
    if review.fleet.get("skipped"):
        out.append(f"\n  fleet: not decided: {review.fleet['reason']}")
    if review.report.get("path"):
        out.append(f"\n  report: {review.report['path']}")
    if review.run_id is not None:
        out.append(
            f"  recorded as review run {review.run_id}"
            + (
                f", superseding decision(s) {', '.join(map(str, review.written['superseded']))}"
                if review.written.get("superseded")
                else ""
            )
        )
        out += [f"  {line}" for line in review.written.get("followup_lines") or []]
    return "\n".join(out)

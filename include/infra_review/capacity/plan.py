"""The plan of one capacity review: who asked for which quarter, the servers it reviews, the
criteria file it is bound to, and where its report goes. Typed here, a plain dict on XCom
(``to_dict`` / ``from_dict``), so every DAG task, the CLI and the demo read the same plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra_review.capacity import data as d
from infra_review.capacity.evaluate import REVIEW_TYPE
from infra_review.criteria.registry import Criterion, bind
from infra_review.criteria.result import json_safe
from infra_review.criteria.rules import CriteriaSet, Rule, load_criteria
from infra_review.errors import InputError
from infra_review.fleet import load_fleet
from infra_review.lifecycle.fingerprint import read_marker
from infra_review.quarter import Quarter
from infra_review.reviewing.plumbing import RunRequest, connection


@dataclass(frozen=True)
class ReviewPlan:
    request: RunRequest
    servers: tuple[str, ...]
    requested_servers: tuple[str, ...]
    complete: bool  # every server of the fleet: only then is a fleet decision made
    criteria_path: str
    criteria_version: str
    criteria_sha256: str
    fleet_path: str
    coverage_floor: float
    report_dir: str | None  # None on a dry run
    # lifecycle.fingerprint.read_marker taken when the plan was made, before any task read
    # samples: a load committed later is flagged by reporting.current_decisions
    read_marker: dict[str, Any] | None = None

    @property
    def quarter(self) -> Quarter:
        return self.request.window

    @property
    def dry_run(self) -> bool:
        return self.request.dry_run

    def to_dict(self) -> dict[str, Any]:
        """The plan as the steps and the report read it (the layout reviews always had)."""
        q = self.quarter
        return {
            "review_type": REVIEW_TYPE,
            "quarter": str(q),
            "window_start": q.start.isoformat(),
            "window_end": q.end.isoformat(),
            "servers": list(self.servers),
            "requested_servers": list(self.requested_servers),
            "complete": self.complete,
            "dry_run": self.request.dry_run,
            "run_key": self.request.run_key,
            "dag_id": self.request.dag_id,
            "dag_run_id": self.request.dag_run_id,
            "triggered_by": self.request.triggered_by,
            "criteria": {
                "version": self.criteria_version,
                "sha256": self.criteria_sha256,
                "path": self.criteria_path,
            },
            "fleet_path": self.fleet_path,
            "coverage_floor": self.coverage_floor,
            "report_dir": self.report_dir,
            "read_marker": self.read_marker,
        }

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> ReviewPlan:
        return cls(
            request=RunRequest.from_dict(doc),
            servers=tuple(doc["servers"]),
            requested_servers=tuple(doc["requested_servers"]),
            complete=bool(doc["complete"]),
            criteria_path=doc["criteria"]["path"],
            criteria_version=doc["criteria"]["version"],
            criteria_sha256=doc["criteria"]["sha256"],
            fleet_path=doc["fleet_path"],
            coverage_floor=float(doc["coverage_floor"]),
            report_dir=doc.get("report_dir"),
            read_marker=doc.get("read_marker"),
        )

    def with_verdict(self, verdict: dict[str, Any]) -> dict[str, Any]:
        """The plan with the window's quality verdict: what the report and the CLI print."""
        return {**self.to_dict(), "verdict": verdict}

    @property
    def report_path(self) -> Path | None:
        return Path(self.report_dir) / "report.html" if self.report_dir else None


def make_plan(
    request: RunRequest,
    servers: list[str] | None = None,
    *,
    url: str | None = None,
    conn=None,
    criteria_path: str | Path | None = None,
    fleet_path: str | Path | None = None,
) -> ReviewPlan:
    """Check the request and the criteria file, and choose the servers (fleet.yaml's plus any
    with samples, or the requested ones, each of which must be known)."""
    from infra_review.reporting.links import report_dir

    if servers is not None and not isinstance(servers, list | tuple):
        raise InputError("servers must be a list of server names", field="servers")
    requested = [str(s).strip() for s in (servers or []) if str(s).strip()]
    criteria = load_criteria(criteria_path)
    bind(criteria, REVIEW_TYPE)  # refuse a broken criteria file before reading anything
    fleet = load_fleet(fleet_path)
    quarter = request.window
    with connection(url, conn) as c:
        chosen, complete = d.review_servers(c, fleet, quarter, requested)
        marker = read_marker(c, quarter.start, quarter.end)
    folder = None if request.dry_run else report_dir(REVIEW_TYPE, str(quarter), request.run_key)
    return ReviewPlan(
        request=request,
        servers=tuple(chosen),
        requested_servers=tuple(requested),
        complete=complete,
        criteria_path=criteria.path,
        criteria_version=criteria.version,
        criteria_sha256=criteria.sha256,
        fleet_path=fleet.path,
        coverage_floor=float(criteria.defaults.get("coverage_floor", 0.90)),
        report_dir=str(folder) if folder else None,
        read_marker=json_safe(marker),
    )


def criteria_for(plan: ReviewPlan) -> CriteriaSet:
    """The criteria file the plan was made with; refuse if it changed mid-review."""
    criteria = load_criteria(plan.criteria_path)
    if criteria.sha256 != plan.criteria_sha256:
        raise RuntimeError(
            f"{criteria.path} changed since this review started "
            f"(version {plan.criteria_version} -> {criteria.version}); run the review again"
        )
    return criteria


def capacity_criteria(criteria: CriteriaSet) -> dict[str, Criterion]:
    return bind(criteria, REVIEW_TYPE)


def capacity_rules(criteria: CriteriaSet) -> dict[str, Rule]:
    """The capacity rules, checked by their criteria (``criteria.registry.bind``): a missing
    criterion or parameter, an unknown key or a value of the wrong kind is an InputError
    naming criteria.yaml and the field."""
    return {k: c.rule for k, c in bind(criteria, REVIEW_TYPE).items()}

"""What a review task says in its log, in sentences: the plan, each subject's coverage
verdict and criteria (the CLI's evidence sentence per criterion), instead of a dict repr."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("airflow.task")  # the name task logs show, as in infra_review.airflow


def plan_lines(plan: dict[str, Any]) -> list[str]:
    servers = ", ".join(plan.get("servers") or []) or "no server"
    scope = "the whole fleet" if plan.get("complete") else "a partial review (no fleet decision)"
    crit = plan.get("criteria") or {}
    return [
        f"{plan.get('review_type', 'capacity')} review {plan.get('quarter')}: {servers} "
        f"({scope}); criteria {crit.get('version')}, coverage floor "
        f"{float(plan.get('coverage_floor') or 0):.0%}"
        + ("; dry run, nothing written" if plan.get("dry_run") else "")
    ]


def coverage_line(server: str, gate: list[dict[str, Any]]) -> str:
    """'app-1: coverage passes for 7 of 7 series' (and the failing ones with their reason)."""
    failed = [s for s in gate if not s.get("passed")]
    line = f"{server}: coverage passes for {len(gate) - len(failed)} of {len(gate)} series"
    if failed:
        line += "; failing: " + "; ".join(
            f"{s.get('metric')}{{{s.get('label') or ''}}} "
            f"({'; '.join(s.get('reasons') or []) or 'below the floor'})"
            for s in failed
        )
    return line


def evaluation_lines(payload: dict[str, Any], subject: str | None = None) -> list[str]:
    """The coverage verdict, a one-line count of the outcomes, then one line per criterion:
    its outcome and the sentence the CLI prints."""
    from infra_review.capacity.decide import result_from_record
    from infra_review.criteria.registry import explain_both

    subject = subject or payload.get("server") or "fleet"
    results = [result_from_record(r) for r in payload.get("results") or []]
    lines = []
    if "gate" in payload:
        lines.append(coverage_line(subject, payload["gate"]))
    met = [r.criterion_id for r in results if r.met]
    lines.append(
        f"{subject}: {len(met)} of {len(results)} criteria met"
        + (f" ({', '.join(met)})" if met else "")
    )
    for r in results:
        lines.append(f"  {r.criterion_id} {r.outcome}: {explain_both(r)[0]}")
    return lines


def evaluate_server(plan: dict[str, Any], server: str) -> dict[str, Any]:
    """The capacity runner's step for one server, logged in sentences (the DAG's task)."""
    from infra_review.capacity import runner

    return logged(runner.evaluate_server(plan, server))


def logged(payload: dict[str, Any], subject: str | None = None) -> dict[str, Any]:
    """Log an evaluation's lines and return it unchanged (a DAG task's one-liner)."""
    for line in evaluation_lines(payload, subject):
        log.info("%s", line)  # the task log shows the logging module's records
    return payload

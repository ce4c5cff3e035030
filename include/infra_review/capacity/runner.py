"""The capacity review, one runner for the DAG tasks, the CLI and the demo:

    plan -> evaluate (each server: read once, coverage gate from the rows read, criteria)
         -> fleet criteria -> decide -> write -> report

``capacity_review``'s tasks call ``plan``, ``evaluate_server``, ``evaluate_fleet`` and
``finish`` one each (the plan travels as ``ReviewPlan.to_dict()``); ``run`` calls the same
steps in one process. ``finish`` writes the records in one transaction and the report into a
temporary folder that takes its place only after the commit (deleted if anything fails), so a
report never names a review run that does not exist.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra_review.capacity import data as d
from infra_review.capacity.criteria.common import CAPACITY_METRICS
from infra_review.capacity.criteria.ram import RamDegradation
from infra_review.capacity.decide import Decision
from infra_review.capacity.evaluate import (
    REVIEW_TYPE,
    build_decisions,
    evaluate_fleet_inputs,
    evaluate_server_inputs,
    review_inputs,
)
from infra_review.capacity.outcome import CapacityReview
from infra_review.capacity.plan import ReviewPlan, capacity_rules, criteria_for, make_plan
from infra_review.capacity.reading import read_sized, reader_of
from infra_review.capacity.sizing_inputs import price_book
from infra_review.criteria.result import json_safe
from infra_review.criteria.rules import CriteriaSet
from infra_review.errors import InputError
from infra_review.fleet import Fleet, load_fleet
from infra_review.quality.window import WindowVerdict, coverage_verdict, quarantined
from infra_review.quarter import Quarter
from infra_review.reviewing.plumbing import RunRequest, connection, record, review_run
from infra_review.reviewing.reports import staged_folder

# --- step 1: plan ---------------------------------------------------------------------------


def plan(
    quarter: str | Quarter | RunRequest,
    servers: list[str] | None = None,
    *,
    dry_run: bool = False,
    run_key: str | None = None,
    dag_id: str | None = None,
    dag_run_id: str | None = None,
    triggered_by: str | None = None,
    url: str | None = None,
    conn=None,
    criteria_path: str | Path | None = None,
    fleet_path: str | Path | None = None,
) -> ReviewPlan:
    """Check the request and the criteria file and choose the servers; reads no samples."""
    request = (
        quarter
        if isinstance(quarter, RunRequest)
        else RunRequest.make(
            quarter,
            dry_run=dry_run,
            run_key=run_key,
            dag_id=dag_id,
            dag_run_id=dag_run_id,
            triggered_by=triggered_by,
        )
    )
    return make_plan(
        request, servers, url=url, conn=conn, criteria_path=criteria_path, fleet_path=fleet_path
    )


def as_plan(review: ReviewPlan | dict) -> ReviewPlan:
    """The plan, also when it arrives from XCom as ``ReviewPlan.to_dict()``."""
    return review if isinstance(review, ReviewPlan) else ReviewPlan.from_dict(review)


# --- step 2: one server ---------------------------------------------------------------------


def read_server(
    review: ReviewPlan, server: str, conn, criteria: CriteriaSet, fleet: Fleet
) -> dict[str, Any]:
    """Everything one server's criteria read: its window (one COPY, with the look-back its
    run criteria ask for before the window at the cadence measured in the rows read:
    ``reading.read_sized``), the previous quarter's latency p95, complaints, planned
    services, series cadences and quarantined rows."""
    if server not in review.servers:
        raise InputError(f"{server!r} is not among the review's servers", field="servers")
    quarter = review.quarter
    metadata = d.server_metadata(fleet, server)
    rules = capacity_rules(criteria)
    percentile = float(rules[RamDegradation.id].params.get("percentile", 95))
    cadence = d.series_cadence(conn, server)
    series, _ = read_sized(
        reader_of(conn, server), quarter, rules, criteria.defaults, metadata, cadence
    )
    return {
        "metadata": metadata,
        "series": series,
        "previous": d.previous_latency(
            conn, server, quarter, metadata["scrape_interval_s"], review.coverage_floor, percentile
        ),
        "complaints": d.attribute_complaints(
            d.read_complaints(conn, quarter), fleet, server, review.servers
        ),
        "planned": d.read_planned(conn),
        "cadence": cadence,
        "quarantined": quarantined(
            conn, quarter.start, quarter.end, servers=[server], metrics=list(CAPACITY_METRICS)
        ),
    }


def evaluate_server(
    review: ReviewPlan | dict,
    server: str,
    *,
    url: str | None = None,
    conn=None,
    criteria: CriteriaSet | None = None,
    fleet: Fleet | None = None,
    plot_sink: dict | None = None,
) -> dict[str, Any]:
    """Read the server's window once, judge each series' coverage from the rows read (the
    quality gate), and evaluate every ram.* and cpu.* criterion; ``gate`` holds the
    series' verdicts. ``plot_sink`` collects the hourly series the report plots, so a
    one-process review does not read them again."""
    review = as_plan(review)
    criteria = criteria or criteria_for(review)
    fleet = fleet or load_fleet(review.fleet_path)
    quarter = review.quarter
    with connection(url, conn) as c:
        raw = read_server(review, server, c, criteria, fleet)
    counts = d.counts_from_series(server, raw["series"], raw["cadence"], quarter)
    verdict = coverage_verdict(
        counts, quarter.start, quarter.end, fleet, review.coverage_floor, raw["quarantined"]
    )
    payload = evaluate_server_inputs(
        server,
        quarter,
        raw["series"],
        verdict,
        raw["metadata"],
        previous=raw["previous"],
        complaints=raw["complaints"],
        planned=raw["planned"],
        cadence=raw["cadence"],
        rules=capacity_rules(criteria),
        defaults=criteria.defaults,
    )
    if plot_sink is not None:
        from infra_review.capacity.report import plot_data_from_series

        plot_sink.update(plot_data_from_series(server, payload["results"], raw["series"]))
    return {**payload, "gate": verdict.to_dict()["series"]}


# --- step 3: the fleet ----------------------------------------------------------------------


def evaluate_fleet(review: ReviewPlan | dict, payloads: list[dict[str, Any]]) -> dict[str, Any]:
    """server.* criteria over every reviewed server; skipped when the review is partial,
    because "both servers loaded" cannot be judged from some of them."""
    review = as_plan(review)
    if not review.complete:
        return {
            "skipped": True,
            "reason": "the review covers only some servers "
            f"({', '.join(review.servers)}); the fleet decision needs all of them",
        }
    from infra_review.capacity.limits import load_plans

    criteria = criteria_for(review)
    fleet = load_fleet(review.fleet_path)
    plans, source = load_plans()
    providers = {p["stats"].get("provider") for p in payloads}
    source = {
        "files": source["files"],
        "providers": {k: v for k, v in source["providers"].items() if k in providers},
    }
    return evaluate_fleet_inputs(
        review.quarter,
        [p["stats"] for p in payloads],
        dict(fleet.requirements),
        {k: v for k, v in plans.items() if k in providers},
        source,
        capacity_rules(criteria),
        criteria.defaults,
    )


# --- step 4: decide, write, report ----------------------------------------------------------


def verdict_of(review: ReviewPlan, payloads: list[dict[str, Any]]) -> dict[str, Any]:
    """The window's quality verdict: every server's series verdicts, in the plan's order."""
    order = {s: i for i, s in enumerate(review.servers)}
    series = [
        s for p in sorted(payloads, key=lambda p: order[p["server"]]) for s in p.get("gate", [])
    ]
    quarter = review.quarter
    doc = {
        "start": quarter.start.isoformat(),
        "end": quarter.end.isoformat(),
        "floor": review.coverage_floor,
        "series": series,
    }
    return WindowVerdict.from_dict(doc).to_dict()


@dataclass
class Finished:
    verdict: dict[str, Any]
    decisions: list[Decision]
    written: dict[str, Any]
    report: dict[str, Any]

    def xcom(self) -> dict[str, Any]:
        """What the last DAG task returns: small and JSON-able."""
        return json_safe(
            {
                "path": self.report.get("path"),
                "decisions": self.written["decisions"],
                "run_id": self.written["run_id"],
                "superseded": self.written["superseded"],
            }
        )


def finish(
    review: ReviewPlan | dict,
    payloads: list[dict[str, Any]],
    fleet_payload: dict[str, Any],
    *,
    url: str | None = None,
    plot_data: dict | None = None,
) -> Finished:
    """Decide once; write the run, its decisions and criterion results in one transaction
    (a rerun of the quarter supersedes earlier decisions and keeps them); write the report.
    On a dry run nothing is written and the report's Markdown is returned instead."""
    from infra_review.capacity import report

    review = as_plan(review)
    criteria = criteria_for(review)
    verdict = verdict_of(review, payloads)
    doc = review.with_verdict(verdict)
    with connection(url) as c:  # issue 17: sizes and prices (providers.yaml, the rates)
        book = price_book(review.quarter, conn=c, fleet_path=review.fleet_path)
    decisions = build_decisions(
        doc, payloads, fleet_payload, capacity_rules(criteria), criteria.defaults, book
    )
    report_path = review.report_path
    written: dict[str, Any] = {
        "dry_run": review.dry_run,
        "run_id": None,
        "superseded": [],
        "decisions": {x.subject: x.decision for x in decisions},
        "report_path": str(report_path) if report_path else None,
    }
    if review.dry_run:
        body = report.markdown(doc, decisions, written, plots={})
        return Finished(verdict, decisions, written, {"path": None, "markdown": body})
    run_row = review_run(
        REVIEW_TYPE,
        review.request,
        criteria_version=review.criteria_version,
        criteria_sha256=review.criteria_sha256,
        quality_verdict=verdict,
        inputs=review_inputs(review, criteria, payloads, fleet_payload, book),
        report_path=written["report_path"],
        read_marker=review.read_marker,
    )
    final = Path(review.report_dir)
    # the connection commits before the staged folder moves into place
    from infra_review.lifecycle.confirm import summary_lines as followup_lines

    with staged_folder(final) as stage, connection(url) as c:
        recorded = record(c, run_row, [x.record() for x in decisions], criteria)
        written.update(
            {
                "run_id": recorded.run_id,
                "superseded": recorded.superseded,
                "decision_ids": {k[1]: v for k, v in recorded.decision_ids.items()},
                # what this review found about earlier decisions (lifecycle.confirm)
                "followup_lines": followup_lines(recorded.followups, recorded.unchanged_of),
            }
        )
        paths = report.write(doc, decisions, payloads, written, stage, c, plot_data)
    out = {
        "path": str(final / Path(paths["html"]).name),
        "markdown_path": str(final / Path(paths["markdown"]).name),
        "plots": [str(final / Path(p).name) for p in paths["plots"]],
    }
    return Finished(verdict, decisions, written, out)


def summary_lines(finished: Finished) -> list[str]:
    """One human line per decision (the CLI's English summary), then the report and the
    decisions page as URLs a browser opens (or the dry run's Markdown), for the task log."""
    from infra_review.reporting.links import decisions_page_url, report_url

    lines = [x.summary_en for x in finished.decisions]
    lines += finished.written.get("followup_lines") or []
    path = finished.report.get("path")
    if finished.report.get("markdown"):
        lines += ["dry run report:", finished.report["markdown"]]
    elif path:
        lines += [f"Report: {report_url(path) or path}", f"Decisions page: {decisions_page_url()}"]
    return lines


# --- the whole review in one process (CLI, demo, bench) -------------------------------------


def run_capacity_review(
    quarter: str | Quarter,
    servers: list[str] | None = None,
    dry_run: bool = False,
    *,
    run_key: str | None = None,
    dag_id: str | None = None,
    dag_run_id: str | None = None,
    triggered_by: str | None = None,
    url: str | None = None,
    criteria_path: str | Path | None = None,
    fleet_path: str | Path | None = None,
    workers: int = 2,
) -> CapacityReview:
    """The DAG's steps in one process. Servers are evaluated by ``workers`` threads, each
    reading through its own connection, as the DAG's mapped tasks run side by side:
    PostgreSQL streams one server while numpy evaluates another."""
    timings: dict[str, float] = {}
    mark = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        timings[step] = timings.get(step, 0.0) + now - mark
        mark = now

    review = plan(
        quarter,
        servers,
        dry_run=dry_run,
        run_key=run_key,
        dag_id=dag_id,
        dag_run_id=dag_run_id,
        triggered_by=triggered_by,
        url=url,
        criteria_path=criteria_path,
        fleet_path=fleet_path,
    )
    criteria = criteria_for(review)
    fleet = load_fleet(review.fleet_path)
    lap("check_window")
    plots: dict = {}

    def one(server: str) -> dict[str, Any]:
        sink: dict = {}
        payload = evaluate_server(
            review, server, url=url, criteria=criteria, fleet=fleet, plot_sink=sink
        )
        plots.update(sink)
        return payload

    if workers > 1 and len(review.servers) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=workers) as readers:
            payloads = list(readers.map(one, review.servers))
    else:
        payloads = [one(server) for server in review.servers]
    lap("evaluate")
    fleet_payload = evaluate_fleet(review, payloads)
    lap("fleet_criteria")
    done = finish(review, payloads, fleet_payload, url=url, plot_data=plots)
    lap("write_and_report")
    return CapacityReview(
        review.with_verdict(done.verdict),
        payloads,
        fleet_payload,
        done.decisions,
        done.written,
        done.report,
        timings,
    )

"""The quarterly capacity review: plan (quality gate) -> evaluate each server -> fleet criteria
-> decisions -> report -> records. The ``capacity_review`` DAG calls these steps one task
each; ``run_capacity_review`` (the CLI, the demo) calls them in one process. Every step takes
and returns small JSON-able dicts, so the same data crosses XCom or stays in memory.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra_review.capacity import data as d
from infra_review.capacity.criteria.common import CAPACITY_METRICS
from infra_review.capacity.criteria.server import FleetInputs
from infra_review.capacity.decide import Decision, decide_fleet, decide_server, result_from_record
from infra_review.capacity.trends import fleet_forecast, fleet_stats, forecasts
from infra_review.criteria.registry import Criterion, bind, bind_rules
from infra_review.criteria.result import json_safe
from infra_review.criteria.rules import CriteriaSet, Rule, load_criteria
from infra_review.errors import InputError
from infra_review.fleet import Fleet, load_fleet
from infra_review.quality.window import WindowVerdict, coverage_verdict, quarantined
from infra_review.quarter import Quarter
from infra_review.reporting.links import report_dir
from infra_review.reviewing.plumbing import RunRequest, connection, new_run_key, record, review_run

REVIEW_TYPE = "capacity"


# --- configuration shared by the steps ---------------------------------------------------------


def capacity_rules(criteria: CriteriaSet) -> dict[str, Rule]:
    """The capacity rules, checked by their criteria (``criteria.registry.bind``): a missing
    criterion or parameter, an unknown key or a value of the wrong kind is an InputError
    naming criteria.yaml and the field."""
    return {k: c.rule for k, c in bind(criteria, REVIEW_TYPE).items()}


def capacity_criteria(criteria: CriteriaSet) -> dict[str, Criterion]:
    return bind(criteria, REVIEW_TYPE)


def criteria_snapshot(criteria: CriteriaSet) -> dict[str, Any]:
    """The rules a review used, stored with it so the decision can be recomputed later."""
    return {
        "version": criteria.version,
        "sha256": criteria.sha256,
        "path": criteria.path,
        "defaults": criteria.defaults,
        "rules": {
            r.id: {
                "review": r.review,
                "group": r.group,
                "text_ru": r.text_ru,
                "text_en": r.text_en,
                "params": r.params,
            }
            for r in criteria.for_review(REVIEW_TYPE)
        },
    }


def rules_from_snapshot(snapshot: dict[str, Any]) -> tuple[dict[str, Rule], dict[str, Any]]:
    rules = {
        rid: Rule(rid, r["review"], r["group"], r["text_ru"], r["text_en"], r["params"])
        for rid, r in snapshot["rules"].items()
    }
    return rules, dict(snapshot.get("defaults") or {})


def _criteria_for(plan: dict[str, Any]) -> CriteriaSet:
    """The criteria file the plan was made with; refuse if it changed mid-review."""
    criteria = load_criteria(plan["criteria"]["path"])
    if criteria.sha256 != plan["criteria"]["sha256"]:
        raise RuntimeError(
            f"{criteria.path} changed since this review started "
            f"(version {plan['criteria']['version']} -> {criteria.version}); run the review again"
        )
    return criteria


def _connect(url: str | None):
    from infra_review.store.db import connect

    return connect(url)


# --- step 1: plan and quality gate -------------------------------------------------------------


def plan_review(
    quarter: str | Quarter,
    servers: list[str] | None = None,
    *,
    dry_run: bool = False,
    run_key: str | None = None,
    dag_id: str | None = None,
    dag_run_id: str | None = None,
    triggered_by: str | None = None,
    url: str | None = None,
    criteria_path: str | Path | None = None,
    fleet_path: str | Path | None = None,
    conn=None,
    with_verdict: bool = True,
) -> dict[str, Any]:
    """Validate the request, choose the servers, and run the window's coverage verdict
    (``with_verdict=False`` leaves it to ``window_verdict_doc``, run alongside the reads)."""
    quarter = quarter if isinstance(quarter, Quarter) else Quarter.parse(quarter)
    if servers is not None and not isinstance(servers, list | tuple):
        raise InputError("servers must be a list of server names", field="servers")
    requested = [str(s).strip() for s in (servers or []) if str(s).strip()]
    criteria = load_criteria(criteria_path)
    capacity_rules(criteria)  # refuse a broken criteria file before reading anything
    fleet = load_fleet(fleet_path)
    run_key = run_key or new_run_key()
    with connection(url, conn) as c:
        chosen, complete = d.review_servers(c, fleet, quarter, requested)
    plan = {
        "review_type": REVIEW_TYPE,
        "quarter": str(quarter),
        "window_start": quarter.start.isoformat(),
        "window_end": quarter.end.isoformat(),
        "servers": chosen,
        "requested_servers": requested,
        "complete": complete,
        "dry_run": bool(dry_run),
        "run_key": run_key,
        "dag_id": dag_id,
        "dag_run_id": dag_run_id,
        "triggered_by": triggered_by,
        "criteria": {"version": criteria.version, "sha256": criteria.sha256, "path": criteria.path},
        "fleet_path": fleet.path,
        "coverage_floor": float(criteria.defaults.get("coverage_floor", 0.90)),
        "verdict": None,
        "report_dir": None if dry_run else str(report_dir(REVIEW_TYPE, str(quarter), run_key)),
    }
    if with_verdict:
        plan["verdict"] = window_verdict_doc(plan, url=url, conn=conn)
    return plan


def window_verdict_doc(plan: dict[str, Any], *, url: str | None = None, conn=None) -> dict:
    """The quality gate: coverage of every capacity series of the plan's servers, from
    sample counts in PostgreSQL (``quality.window.window_verdict``)."""
    from infra_review.quality.window import window_verdict

    quarter = Quarter.parse(plan["quarter"])

    def run(c) -> dict:
        return window_verdict(
            c,
            quarter.start,
            quarter.end,
            servers=plan["servers"],
            metrics=list(CAPACITY_METRICS),
            floor=plan["coverage_floor"],
            fleet=load_fleet(plan["fleet_path"]),
        ).to_dict()

    if conn is None:
        with _connect(url) as own:
            return run(own)
    return run(conn)


# --- step 2: one server -------------------------------------------------------------------------


def evaluate_server_inputs(
    server: str,
    quarter: Quarter,
    series: dict,
    verdict,
    metadata: dict[str, Any],
    *,
    previous: dict[str, Any] | None,
    complaints: list[dict[str, Any]],
    planned: list[dict[str, Any]],
    cadence: dict[tuple[str, str], int],
    rules: dict[str, Rule],
    defaults: dict[str, Any],
) -> dict[str, Any]:
    """Pure: the server's criterion results, forecasts and fleet numbers, plus the inputs
    (metadata, fingerprints, complaints, plans) that let the result be recomputed."""
    inp = d.build_inputs(
        server,
        quarter,
        series,
        verdict,
        metadata,
        previous=previous,
        complaints=complaints,
        planned=planned,
        cadence=cadence,
    )
    criteria = bind_rules(rules, defaults)
    results = [c.evaluate(inp) for c in criteria.values() if c.scope == "server"]
    stats = fleet_stats(rules, inp, defaults)
    stats.update(
        {
            k: metadata.get(k)
            for k in ("in_fleet", "provider", "plan", "region", "data_classes", "services")
        }
    )
    return json_safe(
        {
            "server": server,
            "results": [r.to_record() for r in results],
            "forecasts": forecasts(rules, inp, defaults),
            "stats": stats,
            "inputs": {
                "metadata": metadata,
                "previous_latency": previous,
                "complaints": complaints,
                "planned": inp.planned,
                "fingerprints": {
                    f"{metric}|{label}": {
                        **d.fingerprint(data),
                        "cadence_s": cadence.get((metric, label)),
                    }
                    for (metric, label), data in sorted(series.items())
                },
            },
        }
    )


def read_server(
    plan: dict[str, Any],
    server: str,
    *,
    url: str | None = None,
    conn=None,
    criteria: CriteriaSet | None = None,
    fleet: Fleet | None = None,
) -> dict[str, Any]:
    """Everything one server's criteria read: its window (one COPY), the previous quarter's
    latency p95, complaints, planned services and series cadences."""
    if server not in plan["servers"]:
        raise InputError(f"{server!r} is not among the review's servers", field="servers")
    criteria = criteria or _criteria_for(plan)
    rules = capacity_rules(criteria)
    fleet = fleet or load_fleet(plan["fleet_path"])
    quarter = Quarter.parse(plan["quarter"])
    metadata = d.server_metadata(fleet, server)
    degradation = rules["ram.degradation"]
    percentile = float(degradation.params.get("percentile", 95))
    floor = float(plan.get("coverage_floor") or criteria.defaults.get("coverage_floor", 0.9))

    def read(c):
        return {
            "metadata": metadata,
            "series": d.read_server_series(c, server, quarter),
            "previous": d.previous_latency(
                c, server, quarter, metadata["scrape_interval_s"], floor, percentile
            ),
            "complaints": d.attribute_complaints(d.read_complaints(c, quarter), fleet, server),
            "planned": d.read_planned(c),
            "cadence": d.series_cadence(c, server),
        }

    if conn is None:
        with _connect(url) as own:
            return read(own)
    return read(conn)


def evaluate_read(
    plan: dict[str, Any],
    server: str,
    raw: dict[str, Any],
    *,
    criteria: CriteriaSet | None = None,
    plot_sink: dict | None = None,
) -> dict[str, Any]:
    """Evaluate what ``read_server`` returned against the plan's quality verdict."""
    criteria = criteria or _criteria_for(plan)
    payload = evaluate_server_inputs(
        server,
        Quarter.parse(plan["quarter"]),
        raw["series"],
        WindowVerdict.from_dict(plan["verdict"]),
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
    return payload


def evaluate_server(
    plan: dict[str, Any],
    server: str,
    *,
    url: str | None = None,
    conn=None,
    criteria: CriteriaSet | None = None,
    fleet: Fleet | None = None,
    plot_sink: dict | None = None,
) -> dict[str, Any]:
    """Read the server's window once and evaluate every ram.* and cpu.* criterion.

    ``criteria`` and ``fleet`` may be passed in when one process reviews many servers;
    ``plot_sink`` collects the hourly series the report plots, so a one-process review does
    not read them again (the DAG's report task reads them from PostgreSQL instead)."""
    criteria = criteria or _criteria_for(plan)
    raw = read_server(plan, server, url=url, conn=conn, criteria=criteria, fleet=fleet)
    return evaluate_read(plan, server, raw, criteria=criteria, plot_sink=plot_sink)


# --- step 3: the fleet --------------------------------------------------------------------------


def evaluate_fleet_inputs(
    quarter: Quarter,
    stats: list[dict[str, Any]],
    requirements: dict[str, Any],
    plans: dict[str, list[dict[str, Any]]],
    plans_source: dict[str, Any],
    rules: dict[str, Rule],
    defaults: dict[str, Any],
) -> dict[str, Any]:
    fin = FleetInputs(quarter.start, quarter.end, stats, requirements, plans, plans_source)
    criteria = bind_rules(rules, defaults)
    results = [c.evaluate(fin) for c in criteria.values() if c.scope == "fleet"]
    return json_safe(
        {
            "skipped": False,
            "results": [r.to_record() for r in results],
            "forecast": fleet_forecast(fin),
            "inputs": {
                "requirements": requirements,
                "plans": plans,
                "plans_source": plans_source,
                "servers": stats,
            },
        }
    )


def evaluate_fleet(plan: dict[str, Any], payloads: list[dict[str, Any]]) -> dict[str, Any]:
    """server.* criteria over every reviewed server; skipped when the review is partial,
    because "both servers loaded" cannot be judged from some of them."""
    if not plan["complete"]:
        return {
            "skipped": True,
            "reason": "the review covers only some servers "
            f"({', '.join(plan['servers'])}); the fleet decision needs all of them",
        }
    criteria = _criteria_for(plan)
    fleet = load_fleet(plan["fleet_path"])
    from infra_review.capacity.limits import load_plans

    plans, source = load_plans()
    providers = {p["stats"].get("provider") for p in payloads}
    used = {k: v for k, v in plans.items() if k in providers}
    source = {
        "files": source["files"],
        "providers": {k: v for k, v in source["providers"].items() if k in providers},
    }
    return evaluate_fleet_inputs(
        Quarter.parse(plan["quarter"]),
        [p["stats"] for p in payloads],
        dict(fleet.requirements),
        used,
        source,
        capacity_rules(criteria),
        criteria.defaults,
    )


# --- step 4: decisions and records ---------------------------------------------------------------


def build_decisions(
    plan: dict[str, Any],
    payloads: list[dict[str, Any]],
    fleet_payload: dict[str, Any],
    rules: dict[str, Rule] | None = None,
    defaults: dict[str, Any] | None = None,
) -> list[Decision]:
    if rules is None or defaults is None:
        criteria = _criteria_for(plan)
        rules, defaults = capacity_rules(criteria), criteria.defaults
    quarter = Quarter.parse(plan["quarter"])
    horizon = float(defaults.get("forecast_horizon_days", 91))
    out = []
    for p in sorted(payloads, key=lambda p: p["server"]):
        out.append(
            decide_server(
                p["server"],
                quarter,
                [result_from_record(r) for r in p["results"]],
                p["forecasts"],
                rules,
                metadata=p["inputs"]["metadata"],
                criteria_version=plan["criteria"]["version"],
                horizon_days=horizon,
            )
        )
    if not fleet_payload.get("skipped"):
        out.append(
            decide_fleet(
                quarter,
                [result_from_record(r) for r in fleet_payload["results"]],
                fleet_payload.get("forecast"),
                rules,
                servers=[p["server"] for p in payloads],
                criteria_version=plan["criteria"]["version"],
                horizon_days=horizon,
            )
        )
    return out


def review_inputs(
    plan: dict[str, Any], payloads: list[dict[str, Any]], fleet_payload: dict[str, Any]
) -> dict[str, Any]:
    criteria = _criteria_for(plan)
    fleet = load_fleet(plan["fleet_path"])
    return {
        "criteria": criteria_snapshot(criteria),
        "fleet": {"path": fleet.path, "requirements": fleet.requirements},
        "servers": plan["servers"],
        "requested_servers": plan["requested_servers"],
        "complete": plan["complete"],
        "per_server": {p["server"]: p["inputs"] for p in payloads},
        "fleet_inputs": fleet_payload.get("inputs"),
        "fleet_skipped": fleet_payload.get("reason") if fleet_payload.get("skipped") else None,
    }


def report_path(plan: dict[str, Any]) -> Path | None:
    return Path(plan["report_dir"]) / "report.html" if plan.get("report_dir") else None


def write_review(
    plan: dict[str, Any],
    payloads: list[dict[str, Any]],
    fleet_payload: dict[str, Any],
    *,
    url: str | None = None,
    conn=None,
) -> dict[str, Any]:
    """Record the run, one decision per subject and one row per criterion result; a rerun of
    the quarter supersedes earlier decisions and keeps them. Writes nothing on ``dry_run``."""
    decisions = build_decisions(plan, payloads, fleet_payload)
    summary = {
        "dry_run": plan["dry_run"],
        "run_id": None,
        "superseded": [],
        "decisions": {x.subject: x.decision for x in decisions},
        "report_path": str(report_path(plan)) if report_path(plan) else None,
    }
    if plan["dry_run"]:
        return summary
    request = RunRequest.make(
        plan["quarter"],
        run_key=plan["run_key"],
        dag_id=plan["dag_id"],
        dag_run_id=plan["dag_run_id"],
        triggered_by=plan["triggered_by"],
    )
    run = review_run(
        REVIEW_TYPE,
        request,
        criteria_version=plan["criteria"]["version"],
        criteria_sha256=plan["criteria"]["sha256"],
        quality_verdict=plan["verdict"],
        inputs=review_inputs(plan, payloads, fleet_payload),
        report_path=summary["report_path"],
    )
    criteria = _criteria_for(plan)
    with connection(url, conn) as c:
        recorded = record(c, run, [x.record() for x in decisions], criteria)
    summary.update(
        {
            "run_id": recorded.run_id,
            "superseded": recorded.superseded,
            "decision_ids": {k[1]: v for k, v in recorded.decision_ids.items()},
        }
    )
    return summary


# --- step 5: report ----------------------------------------------------------------------------


def render_report(
    plan: dict[str, Any],
    payloads: list[dict[str, Any]],
    fleet_payload: dict[str, Any],
    written: dict[str, Any] | None = None,
    *,
    url: str | None = None,
    conn=None,
    plot_data: dict | None = None,
) -> dict[str, Any]:
    """Write the Markdown and HTML report with a plot per triggering series (not on dry run:
    then the Markdown text is returned for the log instead)."""
    from infra_review.capacity import report

    decisions = build_decisions(plan, payloads, fleet_payload)
    if plan["dry_run"]:
        return {"path": None, "markdown": report.markdown(plan, decisions, written, plots={})}
    out_dir = Path(plan["report_dir"])
    if conn is None:
        with _connect(url) as own:
            paths = report.write(plan, decisions, payloads, written, out_dir, own, plot_data)
    else:
        paths = report.write(plan, decisions, payloads, written, out_dir, conn, plot_data)
    return {
        "path": str(paths["html"]),
        "markdown_path": str(paths["markdown"]),
        "plots": paths["plots"],
    }


# --- the whole review in one process (CLI, demo, bench) ----------------------------------------


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
    """Every step in order, what the DAG does task by task, in one transaction for the
    records. The coverage verdict is counted from the rows each server's read returns (the
    DAG counts them in PostgreSQL before its mapped reads). Servers are evaluated by
    ``workers`` threads, each reading through its own connection, as the DAG's mapped tasks
    run side by side: PostgreSQL streams one server while numpy evaluates another."""
    timings: dict[str, float] = {}
    mark = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        timings[step] = timings.get(step, 0.0) + now - mark
        mark = now

    with _connect(url) as conn:
        plan = plan_review(
            quarter,
            servers,
            dry_run=dry_run,
            run_key=run_key,
            dag_id=dag_id,
            dag_run_id=dag_run_id,
            triggered_by=triggered_by,
            criteria_path=criteria_path,
            fleet_path=fleet_path,
            conn=conn,
            with_verdict=False,  # counted from the rows each server's read returns
        )
        criteria = _criteria_for(plan)
        fleet = load_fleet(plan["fleet_path"])
        quarter_ = Quarter.parse(plan["quarter"])
        held = quarantined(
            conn,
            quarter_.start,
            quarter_.end,
            servers=plan["servers"],
            metrics=list(CAPACITY_METRICS),
        )
        lap("check_window")

        def one(server: str, c=None) -> tuple[dict[str, Any], dict, list[dict[str, Any]]]:
            """Read once; the gate's counts come from the rows just read."""
            raw = read_server(plan, server, url=url, conn=c, criteria=criteria, fleet=fleet)
            counts = d.counts_from_series(server, raw["series"], raw["cadence"])
            doc = coverage_verdict(
                counts, quarter_.start, quarter_.end, fleet, plan["coverage_floor"], held
            ).to_dict()
            sink: dict = {}
            payload = evaluate_read(
                {**plan, "verdict": doc}, server, raw, criteria=criteria, plot_sink=sink
            )
            return payload, sink, doc["series"]

        plots: dict = {}
        payloads = []
        gated: list[dict[str, Any]] = []
        servers = plan["servers"]
        if workers > 1 and len(servers) > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=workers) as readers:
                results = list(readers.map(one, servers))
        else:
            results = [one(server, conn) for server in servers]
        for payload, sink, series in results:
            payloads.append(payload)
            plots.update(sink)
            gated.extend(series)
        plan["verdict"] = WindowVerdict.from_dict(
            {
                "start": plan["window_start"],
                "end": plan["window_end"],
                "floor": plan["coverage_floor"],
                "series": gated,
            }
        ).to_dict()
        lap("evaluate")
        fleet_payload = evaluate_fleet(plan, payloads)
        lap("fleet_criteria")
        written = write_review(plan, payloads, fleet_payload, conn=conn)
        lap("write_records")
        report = render_report(plan, payloads, fleet_payload, written, conn=conn, plot_data=plots)
        lap("report")
    decisions = build_decisions(plan, payloads, fleet_payload)
    lap("commit")
    return CapacityReview(plan, payloads, fleet_payload, decisions, written, report, timings)


def fleet_of(plan: dict[str, Any]) -> Fleet:
    return load_fleet(plan["fleet_path"])

"""``infra-review review capacity``: the quarterly capacity review (same code as the DAG)."""

from __future__ import annotations

import argparse
import getpass
import json


def register(sub) -> None:
    p = sub.add_parser(
        "capacity",
        help="decide per server upgrade_ram/upgrade_cpu/watch/no_action, and add_server for "
        "the fleet, from the quarter's evidence",
    )
    p.add_argument("--quarter", help="for example 2026Q3 (required unless --recompute)")
    p.add_argument(
        "--servers",
        help="comma-separated servers (default: fleet.yaml's plus any with samples); "
        "a partial review records no fleet decision",
    )
    p.add_argument("--dry-run", action="store_true", help="evaluate and print; write nothing")
    p.add_argument("--json", action="store_true", help="machine-readable output with evidence")
    p.add_argument(
        "--workers",
        type=int,
        default=2,
        help="servers evaluated side by side, each on its own connection (default 2)",
    )
    p.add_argument(
        "--recompute",
        type=int,
        metavar="RUN_ID",
        help="recompute a stored review from its stored inputs and criteria snapshot, and "
        "compare (exit 1 on any difference)",
    )
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from infra_review.capacity.review import run_capacity_review
    from infra_review.errors import InputError

    if args.recompute is not None:
        return _recompute(args)
    if not args.quarter:
        raise InputError("--quarter is required, for example --quarter 2026Q3", field="quarter")

    servers = [s.strip() for s in (args.servers or "").split(",") if s.strip()] or None
    review = run_capacity_review(
        args.quarter,
        servers,
        dry_run=args.dry_run,
        triggered_by=f"cli:{getpass.getuser()}",
        workers=max(1, args.workers),
    )
    if args.json:
        print(json.dumps(review.to_json(), indent=2, ensure_ascii=False, default=str))
        return 0
    print(format_review(review))
    return 0


def _recompute(args: argparse.Namespace) -> int:
    from infra_review.capacity.recompute import recompute_run
    from infra_review.store.db import connect

    with connect() as conn:
        out = recompute_run(conn, args.recompute)
    if args.json:
        print(json.dumps(out, indent=2, ensure_ascii=False, default=str))
    else:
        print(
            f"review run {out['run_id']} ({out['quarter']}, criteria {out['criteria_version']}): "
            + ("recomputed identically" if out["matches"] else "DIFFERS")
        )
        for c in out["samples_changed"]:
            print(f"  samples changed since: {c['server']} {c['series']}")
        for diff in out["differences"]:
            print(f"  difference: {diff}")
    return 0 if out["matches"] else 1


def format_review(review, evidence: bool = True) -> str:
    """Decisions with their summaries and, per server, the criteria met or not evaluated."""
    from infra_review.criteria.registry import explain_both as explain
    from infra_review.criteria.result import Outcome

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
        if evidence:
            for r in x.results:
                en, _ = explain(r)
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
    return "\n".join(out)

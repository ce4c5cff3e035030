"""``infra-review decisions``: the current decision records."""

from __future__ import annotations

import argparse
import json


def register(subparsers) -> None:
    p = subparsers.add_parser("decisions", help="show the current (not superseded) decisions")
    p.add_argument("--quarter", help="for example 2026Q3; default: all quarters")
    p.add_argument("--type", choices=["capacity", "provider"], dest="review_type")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from infra_review.quarter import Quarter
    from infra_review.store.db import connect
    from infra_review.store.decisions import current_decisions

    quarter = str(Quarter.parse(args.quarter)) if args.quarter else None
    with connect() as conn:
        decisions = current_decisions(conn, quarter, args.review_type)
    if args.json:
        print(json.dumps(decisions, indent=2, ensure_ascii=False, default=str))
        return 0
    if not decisions:
        print("no decisions recorded" + (f" for {quarter}" if quarter else ""))
        return 0
    for d in decisions:
        met = [
            c["criterion_id"]
            if c["subject"] == d["subject"]
            else f"{c['subject']}:{c['criterion_id']}"
            for c in d["criteria"]
            if c["outcome"] == "met"
        ]
        state = f" state {d['state']}" if d.get("state") else ""
        if d.get("carried_forward"):
            state += " (carried forward: accepted, not implemented)"
        if d.get("inputs_changed_since"):
            state += " [inputs changed since: rerun the review]"
        print(
            f"#{d['decision_id']} {d['quarter']} {d['review_type']:<8} {d['subject']:<20} "
            f"{d['decision']:<20} [{d['status']}]{state} criteria met: {', '.join(met) or '-'}"
        )
        print(f"    {d['summary_en']}")
        print(f"    {d['summary_ru']}")
    return 0

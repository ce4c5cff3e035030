"""``infra-review review capacity``: the quarterly capacity review (same code as the DAG)."""

from __future__ import annotations

import argparse
import getpass
import json

from infra_review.lifecycle.triggered import triggered_by


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
    from infra_review.capacity.runner import run_capacity_review
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
        triggered_by=triggered_by(None, getpass.getuser()),  # the login
        workers=max(1, args.workers),
    )
    if args.json:
        print(json.dumps(review.to_json(), indent=2, ensure_ascii=False, default=str))
        return 0
    from infra_review.capacity.outcome import format_review

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

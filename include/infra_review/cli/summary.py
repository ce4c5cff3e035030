"""``infra-review summary``: coverage and percentiles per series for a quarter."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser("summary", help="per server and metric: coverage, p50, p95, max")
    p.add_argument("--quarter", required=True, help="for example 2026Q3")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from infra_review.quarter import Quarter
    from infra_review.store.db import connect
    from infra_review.summary import format_table, window_summary

    quarter = Quarter.parse(args.quarter)
    with connect() as conn:
        frame = window_summary(conn, quarter.start, quarter.end)
    if args.json:
        print(frame.to_json(orient="records", date_format="iso"))
    else:
        print(f"Samples in {quarter} ({quarter.start:%Y-%m-%d} to {quarter.end:%Y-%m-%d}, UTC)")
        print(format_table(frame))
    return 0

"""``infra-review collect --from ISO --to ISO [--servers a,b]``: backfill (or catch up) any
interval through the same path as the collect_metrics DAG: collect, quality gate,
quarantine, merge. Re-running the same range converges on the same rows."""

from __future__ import annotations

import argparse
import json


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "collect", help="collect metrics for an interval from the sources in fleet.yaml"
    )
    p.add_argument("--from", dest="start", required=True, help="ISO-8601 with offset")
    p.add_argument("--to", dest="end", required=True, help="ISO-8601 with offset (exclusive)")
    p.add_argument("--servers", help="comma-separated server names (default: all)")
    p.add_argument("--chunk", default="1d", help="batch size, for example 1d or 6h (default 1d)")
    p.add_argument("--json", action="store_true", help="print each batch's stats as JSON")
    p.set_defaults(handler=_run)


def _when(text: str, field: str):
    import re

    import pandas as pd

    from infra_review.contracts import _ISO_RE
    from infra_review.errors import InputError

    if not re.match(_ISO_RE, text.strip()):
        raise InputError(
            f"{text!r} is not an ISO-8601 time with an explicit offset (Z or +05:00)", field=field
        )
    return pd.Timestamp(text.strip()).tz_convert("UTC").to_pydatetime()


def _run(args: argparse.Namespace) -> int:
    from infra_review import clock
    from infra_review.collect import collect_range
    from infra_review.criteria.rules import parse_duration
    from infra_review.errors import InputError
    from infra_review.fleet import load_fleet

    start, end = _when(args.start, "--from"), _when(args.end, "--to")
    if end <= start:
        raise InputError("--to must be after --from", field="--to")
    now = clock.now()
    if end > now:  # a query for the future answers with the last value repeated
        raise InputError(
            f"--to {end.isoformat()} is in the future (now {now.isoformat()}); "
            "collect only up to the present",
            field="--to",
        )
    servers = [s.strip() for s in args.servers.split(",")] if args.servers else None
    if servers:
        known = set(load_fleet().names()) | {load_fleet().local_host_name()}
        unknown = sorted(set(servers) - known)
        if unknown:
            raise InputError(
                f"unknown server(s) {unknown}; known: {sorted(known)}", field="--servers"
            )
    results = collect_range(start, end, servers=servers, chunk=parse_duration(args.chunk))
    for r in results:
        if args.json:
            print(json.dumps(r, default=str))
        else:
            flag = "" if r.get("quality_success", True) else f"  gate failed: {r['failed_suites']}"
            gone = f", {r['rows_deleted']} deleted" if r.get("rows_deleted") else ""
            print(
                f"{r['batch_key']}: {r['rows_in']} in, {r['rows_written']} new or changed{gone}, "
                f"{r.get('rows_quarantined', 0)} quarantined{flag}"
            )
    total = sum(r["rows_written"] for r in results)
    deleted = sum(r.get("rows_deleted", 0) for r in results)
    quarantined = sum(r.get("rows_quarantined", 0) for r in results)
    gone = f", {deleted} deleted (no longer in the source)" if deleted else ""
    print(
        f"{len(results)} batch(es): {total} sample(s) new or changed{gone}, "
        f"{quarantined} quarantined"
    )
    return 0

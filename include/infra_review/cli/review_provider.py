"""``infra-review review provider``: the quarterly provider review (same code as the DAG)."""

from __future__ import annotations

import argparse
import getpass
import json

from infra_review.lifecycle.triggered import triggered_by


def register(sub) -> None:
    p = sub.add_parser(
        "provider",
        help="score the current provider and the alternatives; recommend stay/evaluate_migration/migrate (insufficient_data when a critical input is missing)",
    )
    p.add_argument("--quarter", required=True, help="for example 2026Q3")
    p.add_argument(
        "--providers",
        help="comma-separated alternatives to consider (default: all in providers.yaml); "
        "the current provider is always included",
    )
    p.add_argument("--dry-run", action="store_true", help="evaluate and print; write nothing")
    p.add_argument("--json", action="store_true", help="machine-readable output with evidence")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from infra_review.provider.review import run_provider_review

    providers = [p.strip() for p in (args.providers or "").split(",") if p.strip()] or None
    review = run_provider_review(
        args.quarter,
        providers,
        dry_run=args.dry_run,
        triggered_by=triggered_by(None, getpass.getuser()),  # the login
    )
    if args.json:
        print(json.dumps(review.to_json(), indent=2, ensure_ascii=False, default=str))
        return 0
    from infra_review.provider.text import format_review

    print(format_review(review))
    return 0

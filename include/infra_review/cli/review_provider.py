"""``infra-review review provider``: the quarterly provider review (same code as the DAG)."""

from __future__ import annotations

import argparse
import getpass
import json


def register(sub) -> None:
    p = sub.add_parser(
        "provider",
        help="score the current provider and the alternatives; recommend stay/evaluate_migration/migrate",
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
        triggered_by=f"cli:{getpass.getuser()}",
    )
    if args.json:
        print(json.dumps(review.to_json(), indent=2, ensure_ascii=False, default=str))
        return 0
    print(format_review(review))
    return 0


def format_review(review) -> str:
    """The recommendation and a compact scorecard for the terminal."""
    from infra_review.criteria.result import Outcome

    mark = {Outcome.MET: "met", Outcome.NOT_MET: "NOT MET", Outcome.INSUFFICIENT_DATA: "no data"}
    ev = review.evaluation
    rec = ev.recommendation
    cards = ev.scorecards
    width = max(18, *(len(c.provider) + 2 for c in cards))
    out = [
        f"provider review {review.quarter}: {rec.decision}"
        + (f" -> {rec.chosen}" if rec.chosen else "")
        + (" (dry run, nothing written)" if review.dry_run else ""),
        f"  EN: {rec.summary_en}",
        f"  RU: {rec.summary_ru}",
        "",
        "  " + "criterion".ljust(20) + "".join(c.provider.ljust(width) for c in cards),
    ]
    from infra_review.provider.report import observed_text

    for cid in cards[0].results:
        row = []
        for c in cards:
            r = c.results[cid]
            text = observed_text(r)
            row.append(
                f"{mark[r.outcome]}{' ' + text if text and len(text) < 14 else ''}"[
                    : width - 1
                ].ljust(width)
            )
        out.append("  " + cid.ljust(20) + "".join(row))
    for group in cards[0].groups:
        out.append(
            "  "
            + f"{group} score".ljust(20)
            + "".join(f"{c.group_scores[group]:.0%}".ljust(width) for c in cards)
        )
    out.append(
        "  "
        + "weighted total".ljust(20)
        + "".join(f"{c.weighted_total:.1f}".ljust(width) for c in cards)
    )
    if review.report_path:
        out.append(f"  report: {review.report_path}")
    if review.run_id is not None:
        out.append(
            f"  recorded as review run {review.run_id}"
            + (f", superseding decision(s) {review.superseded}" if review.superseded else "")
        )
    return "\n".join(out)

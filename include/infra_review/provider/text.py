"""The provider review for a terminal: the recommendation and a compact scorecard (the
CLI and the demo print it)."""

from __future__ import annotations

from infra_review.criteria.result import Outcome
from infra_review.provider.criteria.financial import FinHiddenFees


def format_review(review) -> str:
    """The recommendation and a compact scorecard for the terminal."""
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
    for cid in [c for ids in cards[0].groups.values() for c in ids]:
        row = []
        for c in cards:
            r = c.results.get(cid)
            if r is None:
                row.append("reference".ljust(width))
                continue
            text = ev.observed_text(r)
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
    unknown = [
        (c.provider, cid, r.evidence.get("reason"))
        for c in cards
        for cid, r in c.results.items()
        if r.outcome == Outcome.INSUFFICIENT_DATA
    ]
    if unknown:
        out.append("  no data, why:")
        out += [f"    {p} {cid}: {why or 'no reason recorded'}" for p, cid, why in unknown]
    fees = [
        f"    {r.subject} {f['month']} {f['line_item']}: {f['kind']}, {f['amount']:g} "
        f"{f['currency']}"
        + (f" (expected {f['expected']:g}, +{f['excess']:g})" if f.get("expected") else "")
        for c in cards
        if (r := c.results.get(FinHiddenFees.id)) is not None
        for f in r.evidence.get("hidden_fees", [])
    ]
    if fees:
        out.append("  hidden fees and price deviations (reconciled to the price list):")
        out.extend(fees)
    if review.report_path:
        out.append(f"  report: {review.report_path}")
    if review.run_id is not None:
        superseded = ", ".join(map(str, review.superseded or []))
        out.append(
            f"  recorded as review run {review.run_id}"
            + (f", superseding decision(s) {superseded}" if superseded else "")
        )
        out += [f"  {line}" for line in review.followup_lines]
    return "\n".join(out)


def summary_lines(review) -> list[str]:
    """What the DAG's task log shows: the decision in both languages, the report and the
    decisions page as URLs, and one line per scorecard."""
    from infra_review.reporting.links import decisions_page_url, report_url

    summary = review.summary()
    lines = [f"{summary['quarter']} {summary['decision']}: {summary['summary_en']}"]
    if summary.get("report_path"):  # none on a dry run
        lines.append(f"Report: {report_url(summary['report_path']) or summary['report_path']}")
        lines.append(f"Decisions page: {decisions_page_url()}")
    lines.append(f"RU: {summary['summary_ru']}")
    lines += summary.get("followup_lines") or []
    for card in summary["scorecards"]:
        lines.append(
            f"{card['provider']:<24} {card['role']:<11} total {card['weighted_total']:6.1f}  "
            f"{card['outcomes']}"
        )
    return lines

"""The provider review report: scorecards side by side, the evidence a reader needs to check
the recommendation, and a chart of monthly cost per provider (Markdown + PNG, and one
self-contained HTML file with the chart embedded)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra_review.criteria.result import CriterionResult, Outcome
from infra_review.provider.criteria.financial import FinHiddenFees, FinPredictable
from infra_review.provider.criteria.technical import TechSla, TechSupport

if TYPE_CHECKING:
    from infra_review.provider.evaluation import ProviderReview

# Marks from the fonts every system has (DejaVu, Arial): emoji render as empty boxes where
# no emoji font is installed, as on a headless server or a minimal desktop.
_ICON = {
    Outcome.MET: "✔ met",
    Outcome.NOT_MET: "✘ not met",
    Outcome.INSUFFICIENT_DATA: "? no data",
}
CHART_NAME = "monthly-cost.png"


def _money(value: float | None, currency: str = "") -> str:
    if value is None:
        return "–"
    return f"{value:,.0f} {currency}".strip().replace(",", " ")


def cell(review: ProviderReview, r: CriterionResult | None) -> str:
    if r is None:
        return "reference (actual cost)"
    text = review.evaluation.observed_text(r)
    return f"{_ICON[r.outcome]}" + (f" ({text})" if text else "")


def render_markdown(review: ProviderReview, chart: str | None) -> str:
    ev = review.evaluation
    rec = ev.recommendation
    cards = ev.scorecards
    criteria = review.criteria
    currency = review.config.reporting_currency
    lines: list[str] = []
    add = lines.append
    add(f"# Provider review {review.quarter}")
    add("")
    add(
        f"Window {ev.window.start:%Y-%m-%d} to {ev.window.end:%Y-%m-%d} (UTC, end excluded). "
        f"Criteria version {criteria.version}, providers.yaml version {review.config.version}, "
        f"amounts in {currency}. Run `{review.run_key}`."
    )
    add("")
    target = f" → **{rec.chosen}**" if rec.chosen else ""
    add(f"## Decision: `{rec.decision}`{target}")
    add("")
    add(f"- EN: {rec.summary_en}")
    add(f"- RU: {rec.summary_ru}")
    add("")
    add("## Scorecards")
    add("")
    header = ["Criterion"] + [f"{c.provider} ({c.role})" for c in cards]
    add("| " + " | ".join(header) + " |")
    add("|" + "---|" * len(header))
    for group, ids in cards[0].groups.items():
        add(f"| **{group}** |" + " |" * len(cards))
        for cid in ids:
            rule = criteria[cid]
            row = [f"`{cid}` {rule.text_ru} / {rule.text_en}"] + [
                cell(review, c.results.get(cid)) for c in cards
            ]
            add("| " + " | ".join(row) + " |")
    for group in cards[0].groups:
        add(
            f"| {group} score (weight {cards[0].weights.get(group, 0):g}) | "
            + " | ".join(f"{c.group_scores[group]:.0%}" for c in cards)
            + " |"
        )
    add("| **weighted total** | " + " | ".join(f"**{c.weighted_total:.1f}**" for c in cards) + " |")
    add(
        "| annual cost (actual / projected TCO) | "
        + " | ".join(_money(c.annual_cost, currency) for c in cards)
        + " |"
    )
    qual = []
    for c in cards:
        if c.role == "current":
            qual.append(
                "critical failed: "
                + (", ".join(c.critical_failed) or "none")
                + ("; no data: " + ", ".join(c.critical_missing) if c.critical_missing else "")
            )
        else:
            reasons = rec.why_not.get(c.provider, [])
            qual.append("qualifies" if not reasons else "no: " + "; ".join(reasons[:3]))
    add("| qualifies for migration | " + " | ".join(qual) + " |")
    add("")
    add(
        "A group score counts `insufficient_data` as not met. An alternative qualifies when it meets"
    )
    add(
        "every financial and technical criterion, fails no critical criterion "
        f"({', '.join(review.config.requirements.critical) or 'none marked'}), and beats the current score."
    )
    add("")
    add("## Monthly cost per provider")
    add("")
    if chart:
        add(f"![Monthly cost per provider]({chart})")
        add("")
    months = sorted({m for c in cards for m in c.monthly_costs})
    if months:
        add("| Month | " + " | ".join(c.provider for c in cards) + " |")
        add("|" + "---|" * (len(cards) + 1))
        for m in months:
            add(
                f"| {m} | "
                + " | ".join(_money(c.monthly_costs.get(m), currency) for c in cards)
                + " |"
            )
        add("")
    for c in cards:
        if c.role == "alternative" and c.provider in ev.tco:
            add(
                f"- {c.provider}: projected {_money(ev.tco[c.provider].monthly, currency)} per month "
                f"(plus migration {_money(ev.tco[c.provider].migration_annual, currency)} per year)."
            )
    add("")
    add("## Evidence")
    add("")
    _tco_section(add, review)
    _sla_section(add, review)
    _fees_section(add, review)
    _support_section(add, review)
    _undecided_section(add, review)
    return "\n".join(lines) + "\n"


def _tco_section(add, review: ProviderReview) -> None:
    ev = review.evaluation
    currency = review.config.reporting_currency
    current = ev.actual[review.config.current]
    add("### fin.tco: total cost of ownership")
    add("")
    add(
        f"Current provider {current.provider}: {_money(current.total, currency)} invoiced over "
        f"{len(current.months_present)} of {len(current.months)} months, "
        f"annual {_money(current.annual, currency)}"
        + (" (annualised)" if len(current.months_present) != 12 else "")
        + (
            f"; missing months: {', '.join(f'{m:%Y-%m}' for m in current.months_missing)}"
            if current.months_missing
            else ""
        )
        + "."
    )
    add("")
    fleet = ev.quality.get("fleet") or {}
    if fleet:
        verdict = "matches" if fleet.get("matches") else "**does not match**"
        add(
            f"Fleet as invoiced by {current.provider} {verdict} fleet.yaml "
            f"({', '.join(fleet.get('fleet_yaml_servers', []))})"
            + (
                f"; invoiced but not listed: {', '.join(fleet['invoiced_not_listed'])}"
                if fleet.get("invoiced_not_listed")
                else ""
            )
            + (
                f"; listed but not invoiced: {', '.join(fleet['listed_not_invoiced'])}"
                if fleet.get("listed_not_invoiced")
                else ""
            )
            + "."
        )
        for key, u in fleet.get("usage", {}).items():
            add(
                f"- usage {key}: priced for alternatives {u['priced_for_alternatives']:g}, "
                f"invoiced {u['invoiced_mean'] if u['invoiced_mean'] is not None else '–'} "
                f"({u['difference_pct'] if u['difference_pct'] is not None else '–'}%)"
                + (" — above the tolerance" if key in fleet.get("usage_differs", []) else "")
            )
        add("")
    for pid, tco in ev.tco.items():
        ratio = tco.annual / current.annual if current.annual else None
        add(
            f"**{pid}**: annual TCO {_money(tco.annual, currency)}"
            + (f", ratio {ratio:.3f}" if ratio is not None else "")
            + f" (prices converted at {tco.price_month:%Y-%m} rates)."
        )
        add("")
        add("| component | item | server | quantity | unit price | factor | per year |")
        add("|---|---|---|---|---|---|---|")
        for row in tco.breakdown:
            add(
                f"| {row['component']} | {row['item']} | {row.get('server', '')} | "
                f"{row['quantity']:g} {row['unit']} | {row['unit_price']:g} {row['currency']} | "
                f"{row['factor']:.6g} | {_money(row['annual'], currency)} |"
            )
        add("")
    rates = {(r["month"], r["currency"]): r for r in current.rates}
    for tco in ev.tco.values():
        for r in tco.rates:
            rates[(r["month"], r["currency"])] = r
    if rates:
        add(
            "Rates used (1 unit = factor "
            + currency
            + "): "
            + ", ".join(
                f"{r['currency']} {r['month']} {r['factor']:.6g} ({r['how']})"
                for r in (rates[k] for k in sorted(rates))
            )
        )
        add("")


def _results(review: ProviderReview, cid: str) -> list[CriterionResult]:
    return [c.results[cid] for c in review.evaluation.scorecards if cid in c.results]


def _sla_section(add, review: ProviderReview) -> None:
    add("### tech.sla: measured uptime")
    add("")
    add("| provider | uptime | downtime | allowed at 99.5% | coverage | contract | outcome |")
    add("|---|---|---|---|---|---|---|")
    for r in _results(review, TechSla.id):
        e = r.evidence
        uptime = f"{e['uptime_pct']:.3f}%" if e.get("uptime_pct") is not None else "–"
        cov = f"{e['coverage']:.1%}" if e.get("coverage") is not None else "–"
        add(
            f"| {r.subject} | {uptime} | {e.get('downtime', '–')} ({e.get('downtime_min', '–')} min) | "
            f"{e['allowed_downtime']} ({e['allowed_downtime_min']} min) | {cov} | "
            f"{e.get('contractual_sla_pct') or '–'}% | {_ICON[r.outcome]} |"
        )
    add("")


def _fees_section(add, review: ProviderReview) -> None:
    rows: list[dict[str, Any]] = []
    for r in _results(review, FinHiddenFees.id):
        for fee in r.evidence.get("hidden_fees", []):
            rows.append({"provider": r.subject, **fee})
    add("### fin.hidden_fees: hidden fees and price deviations")
    add("")
    add(
        "Every invoice line is reconciled to a price-list item with a quantity and its "
        "expected amount; a line outside the price list, or above its expected amount by "
        "more than the tolerance, is listed here."
    )
    add("")
    if not rows:
        add("None in the quarter's invoices.")
    else:
        add("| provider | month | line item | kind | amount | expected | excess | source |")
        add("|---|---|---|---|---|---|---|---|")
        for f in rows:
            expected = f"{f['expected']:g}" if f.get("expected") is not None else "–"
            add(
                f"| {f['provider']} | {f['month']} | {f['line_item']} | {f['kind']} | "
                f"{f['amount']:g} {f['currency']} | {expected} | {f['excess']:g} {f['currency']} "
                f"| {f.get('source', '')} |"
            )
    add("")
    changes = [
        {"provider": r.subject, **c}
        for r in _results(review, FinPredictable.id)
        for c in r.evidence.get("price_changes", [])
    ]
    add("### fin.predictable: unit price changes")
    add("")
    if not changes:
        add("No price-list item changed its unit price beyond the tolerance.")
    else:
        add("| provider | item | from month | unit price before | after | change |")
        add("|---|---|---|---|---|---|")
        for c in changes:
            add(
                f"| {c['provider']} | {c['item']} | {c['month']} | {c['from']:g} | "
                f"{c['to']:g} {c.get('currency', '')} | {c['change']:+.1%} |"
            )
    usage = [
        f"{r.subject} {u['item']} {u['month']}: {u['from']:g} -> {u['to']:g}"
        for r in _results(review, FinPredictable.id)
        for u in r.evidence.get("usage_changes", [])
    ]
    if usage:
        add("")
        add("Usage changes (not price changes, not judged): " + "; ".join(usage) + ".")
    add("")


def _support_section(add, review: ProviderReview) -> None:
    add("### tech.support: first response")
    add("")
    for r in _results(review, TechSupport.id):
        e = r.evidence
        if e.get("median_first_response_h") is None and r.outcome is Outcome.INSUFFICIENT_DATA:
            add(f"- {r.subject}: {e.get('reason')}")
            continue
        med = e.get("median_first_response_h")
        p90 = e.get("p90_first_response_h")
        add(
            f"- {r.subject}: {e['tickets_measured']} ticket(s), median "
            f"{'unanswered' if med is None else f'{med:.1f} h'}, p90 "
            f"{'unanswered' if p90 is None else f'{p90:.1f} h'}, {e['unanswered_overdue']} unanswered"
        )
    add("")


def _undecided_section(add, review: ProviderReview) -> None:
    add("### Not decided: insufficient data")
    add("")
    found = False
    for card in review.evaluation.scorecards:
        for r in card.results.values():
            if r.outcome is Outcome.INSUFFICIENT_DATA:
                found = True
                add(f"- {card.provider} `{r.criterion_id}`: {r.evidence.get('reason', 'no data')}")
    if not found:
        add("Every criterion had its data.")
    add("")


def render_chart(review: ProviderReview, path: Path) -> Path | None:
    """Monthly invoiced cost per provider, with each alternative's projected monthly TCO."""
    cards = review.evaluation.scorecards
    months = sorted({m for c in cards for m in c.monthly_costs})
    if not months and not review.evaluation.tco:
        return None
    import logging

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # months on the x axis are categories on purpose: matplotlib's INFO line about it is noise
    logging.getLogger("matplotlib.category").setLevel(logging.WARNING)
    fig, ax = plt.subplots(figsize=(9, 4.5), dpi=100)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, card in enumerate(cards):
        colour = colours[i % len(colours)]
        if card.monthly_costs:
            xs = [m for m in months if m in card.monthly_costs]
            what = "invoiced" if card.role == "current" else "pilot invoices"
            ax.plot(
                xs,
                [card.monthly_costs[m] for m in xs],
                marker="o",
                color=colour,
                label=f"{card.provider} ({what})",
            )
        tco = review.evaluation.tco.get(card.provider)
        if tco is not None:
            monthly = tco.annual / 12
            ax.axhline(
                monthly,
                linestyle="--",
                linewidth=1.2,
                color=colour,
                label=f"{card.provider} (projected TCO / 12: {monthly:,.0f})",
            )
    ax.set_title(
        f"Monthly cost per provider, {review.config.reporting_currency} (review {review.quarter})"
    )
    ax.set_ylabel(review.config.reporting_currency)
    ax.tick_params(axis="x", rotation=45, labelsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def render_report(review: ProviderReview, out_dir: Path) -> Path:
    """Write ``report.md``, the chart and ``report.html`` (chart embedded) into ``out_dir``;
    return the HTML path, the one the review run links to."""
    from infra_review.reporting.standalone import write_standalone

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    chart = render_chart(review, out_dir / CHART_NAME)
    path = out_dir / "report.md"
    path.write_text(render_markdown(review, chart.name if chart else None), encoding="utf-8")
    return write_standalone(path, f"Provider review {review.quarter}")

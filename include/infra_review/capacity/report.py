"""The review's report: ``report.md`` and ``report.html`` with the decisions, a table of every
criterion, the incidents, and one plot per triggering series (the threshold and the runs that
crossed it). The HTML file, plots embedded, is what the review run links to
(``review_runs.report_path``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from infra_review.capacity.decide import Decision
from infra_review.criteria.readable import readable, rule_params
from infra_review.criteria.registry import criterion_class
from infra_review.criteria.registry import explain_both as explain
from infra_review.criteria.result import CriterionResult, Outcome
from infra_review.quarter import Quarter
from infra_review.reporting import recommendations
from infra_review.reporting.standalone import write_standalone

_MARK = {Outcome.MET: "met", Outcome.NOT_MET: "not met", Outcome.INSUFFICIENT_DATA: "no data"}
# A criterion's plot (``Criterion.plot``: metric and hourly statistic). A quarter is about
# 2 200 hours, about one pixel each, so hourly aggregates computed in PostgreSQL draw the same
# picture as the raw samples at a fraction of the cost; the runs come from the evidence.


def _plot_of(criterion_id: str):
    cls = criterion_class(criterion_id)
    return cls.plot if cls is not None else None


_HOURLY = """
    SELECT r.label, date_bin('1 hour', s.ts, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS hour,
           min(s.value), max(s.value), avg(s.value)
    FROM infra_review.samples s JOIN infra_review.series r USING (series_id)
    WHERE r.server = %(server)s AND r.metric = %(metric)s
      AND s.ts >= %(start)s AND s.ts < %(end)s
    GROUP BY 1, 2 ORDER BY 1, 2"""
_HOURLY_P95 = """
    SELECT r.label, date_bin('1 hour', s.ts, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS hour,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY s.value)
    FROM infra_review.samples s JOIN infra_review.series r USING (series_id)
    WHERE r.server = %(server)s AND r.metric = %(metric)s
      AND s.ts >= %(start)s AND s.ts < %(end)s
    GROUP BY 1, 2 ORDER BY 1, 2"""


def shown_cells(v) -> tuple[str, str]:
    """(observed, threshold) with units, a duration criterion's duration after a slash:
    ('92 % / 30 h', '> 85 % / > 24 h')."""

    def val(x, unit):
        return "-" if x is None else f"{round(x, 2):g} {unit}".strip()

    seen, limit = val(v.observed, v.unit), f"{v.comparator} {val(v.threshold, v.unit)}"
    if v.duration_unit:
        seen += f" / {val(v.duration_observed, v.duration_unit)}"
        limit += f" / {v.duration_comparator} {val(v.duration_threshold, v.duration_unit)}"
    return seen, limit


def markdown(
    plan: dict[str, Any],
    decisions: list[Decision],
    written: dict[str, Any] | None,
    plots: dict[str, list[tuple[str, str]]],
) -> str:
    """The report as Markdown; ``plots`` maps a subject to (title, file name) pairs."""
    q = plan["quarter"]
    verdict = plan["verdict"]
    lines = [
        f"# Capacity review {q}",
        "",
        f"- Window: {plan['window_start']} to {plan['window_end']} (UTC, half-open)",
        f"- Servers: {', '.join(plan['servers']) or '-'}"
        + ("" if plan["complete"] else " (partial review: no fleet decision)"),
        f"- Criteria: version {plan['criteria']['version']} "
        f"(sha256 {plan['criteria']['sha256'][:12]}…)",
        f"- Run: `{plan['run_key']}`"
        + (f", review run {written['run_id']}" if written and written.get("run_id") else "")
        + (
            f", superseding decision(s) {', '.join(map(str, written['superseded']))}"
            if written and written.get("superseded")
            else ""
        )
        + (" — DRY RUN, nothing written" if plan["dry_run"] else ""),
        f"- Triggered by: {plan.get('triggered_by') or '-'}",
        *[f"- {line}" for line in (written or {}).get("followup_lines") or []],
        f"- Data quality: {'passed' if verdict['success'] else 'NOT passed for every series'} "
        f"(coverage floor {verdict['floor']:.0%})",
        "",
        "## Decisions",
        "",
        "| subject | decision | summary |",
        "|---|---|---|",
    ]
    for x in decisions:
        actions = " + ".join(x.actions)
        lines.append(f"| {x.subject} | **{actions}** | {x.summary_en} |")
    lines += ["", "### Русский", ""]
    for x in decisions:  # the summary names the subject and the action itself
        lines.append(f"- {x.summary_ru}")
    sized = [row for x in decisions for row in recommendations.markdown_rows(x.subject, x.context)]
    if sized:  # issue 17: current -> recommended with units, plan, cost change, utilisation
        lines += [
            "",
            "## Recommended sizes / Рекомендуемые размеры",
            "",
            *recommendations.MARKDOWN_HEADER,
            *sized,
        ]
    incidents = [(x.subject, i) for x in decisions for i in x.context.get("incidents", [])]
    if incidents:
        lines += ["", "## Incidents (fix, do not buy capacity) / Инциденты", ""]
        for subject, inc in incidents:
            lines.append(f"- **{subject}**: {inc['text_en']} / {inc['text_ru']}")
            for ep in inc.get("episodes", [])[:10]:
                lines.append(f"  - {ep['start']} – {ep['end']} ({ep['duration']})")
    lines += [
        "",
        "## Criteria / Критерии",
        "",
        "| subject | criterion | result | observed | threshold | evidence | доказательства |",
        "|---|---|---|---|---|---|---|",
    ]
    params = rule_params(None, plan["criteria"].get("sha256"))  # values in the text's unit
    for x in decisions:
        for r in x.results:
            en, ru = explain(r)
            seen, limit = shown_cells(readable(r, params.get(r.criterion_id)))
            lines.append(
                f"| {x.subject} | {r.criterion_id} | {_MARK[r.outcome]} | {seen} | "
                f"{limit} | {en.replace('|', '/')} | {ru.replace('|', '/')} |"
            )
    lines += [
        "",
        "## Data quality (coverage per series)",
        "",
        "| server | series | samples | expected | coverage | passed |",
        "|---|---|---|---|---|---|",
    ]
    for s in verdict["series"]:
        name = s["metric"] + (f"{{{s['label']}}}" if s["label"] else "")
        lines.append(
            f"| {s['server']} | {name} | {s['samples']} | {s['expected']} | "
            f"{s['coverage']:.1%} | {'yes' if s['passed'] else 'NO: ' + '; '.join(s['reasons'])} |"
        )
    if any(plots.values()):
        lines += ["", "## Triggering series", ""]
        for subject, items in plots.items():
            for title, name in items:
                lines += [f"### {subject}: {title}", "", f"![{title}]({name})", ""]
    for x in decisions:
        lines += ["", f"## {x.subject}: options considered", ""]
        for o in x.options:
            lines.append(f"- {o['option']}: {o['why_not_en']}")
        lines.append(f"- confirmation: {x.confirmation.get('expect_en')}")
    return "\n".join(lines) + "\n"


def _plotted(criterion_id: str, outcome: str, evidence: dict[str, Any]) -> bool:
    """Met criteria with a series, plus n8n queues with stalls (incidents)."""
    return _plot_of(criterion_id) is not None and (
        outcome == "met" or bool(evidence.get("incident"))
    )


def _plot_targets(decisions: list[Decision]) -> list[tuple[str, CriterionResult]]:
    return [
        (x.subject, r)
        for x in decisions
        for r in x.results
        if _plotted(r.criterion_id, str(r.outcome), r.evidence)
    ]


def _columns(stat: str) -> list[str]:
    return ["label", "hour", *(["p95"] if stat == "p95" else ["min", "max", "mean"])]


def plot_data_from_series(
    server: str, results: list[dict[str, Any]], series: dict[tuple[str, str], Any]
) -> dict[tuple[str, str], list[tuple]]:
    """The hourly rows ``plot_criterion`` would read from PostgreSQL, computed from the series
    the evaluation already holds in memory (same buckets: UTC hours)."""
    from infra_review.timeseries.runs import to_datetime
    from infra_review.timeseries.trend import HOUR_US, bucket_max, bucket_mean, bucket_quantile

    out: dict[tuple[str, str], list[tuple]] = {}
    for rec in results:
        if not _plotted(rec["criterion_id"], rec["outcome"], rec.get("evidence") or {}):
            continue
        plot = _plot_of(rec["criterion_id"])
        metric, stat = plot.metric, plot.statistic
        rows: list[tuple] = []
        for (m, label), data in sorted(series.items()):
            if m != metric or not len(data):
                continue
            if stat == "p95":
                b = bucket_quantile(data.ts_us, data.values, 0.95, HOUR_US)
                cols = [b.value]
            else:
                lo = bucket_max(data.ts_us, -data.values, HOUR_US)
                hi = bucket_max(data.ts_us, data.values, HOUR_US)
                b = bucket_mean(data.ts_us, data.values, HOUR_US)
                cols = [-lo.value, hi.value, b.value]
            hours = [to_datetime(h) for h in b.start_us]
            rows.extend(zip([label] * len(hours), hours, *cols, strict=True))
        out[(server, rec["criterion_id"])] = rows
    return out


def write(
    plan: dict[str, Any],
    decisions: list[Decision],
    payloads: list[dict[str, Any]],
    written: dict[str, Any] | None,
    out_dir: Path,
    conn,
    plot_data: dict | None = None,
) -> dict[str, Any]:
    out_dir.mkdir(parents=True, exist_ok=True)
    plots: dict[str, list[tuple[str, str]]] = {}
    for subject, r in _plot_targets(decisions):
        name = f"{subject}-{r.criterion_id}.png".replace("/", "_")
        rows = (plot_data or {}).get((subject, r.criterion_id))
        title = plot_criterion(conn, plan, subject, r, out_dir / name, rows)
        if title:
            plots.setdefault(subject, []).append((title, name))
    body = markdown(plan, decisions, written, plots)
    md_path = out_dir / "report.md"
    md_path.write_text(body, encoding="utf-8")
    html_path = write_standalone(md_path, f"Capacity review {plan['quarter']}")
    return {
        "markdown": md_path,
        "html": html_path,
        "plots": [str(out_dir / n) for v in plots.values() for _, n in v],
    }


def _spans(ax, runs: list[dict[str, Any]], color: str, label: str) -> None:
    import pandas as pd

    for i, run in enumerate(runs):
        ax.axvspan(
            pd.Timestamp(run["start"]),
            pd.Timestamp(run["end"]),
            color=color,
            alpha=0.25,
            label=label if i == 0 else None,
        )


def plot_criterion(
    conn,
    plan: dict[str, Any],
    server: str,
    r: CriterionResult,
    path: Path,
    rows: list[tuple] | None = None,
) -> str | None:
    """Plot the series a criterion used: values, the threshold, and the runs that crossed it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    plot = _plot_of(r.criterion_id)
    metric, stat = plot.metric, plot.statistic
    quarter = Quarter.parse(plan["quarter"])
    if rows is None:  # not computed during the evaluation (another process): hourly in SQL
        with conn.cursor() as cur:
            cur.execute(
                _HOURLY_P95 if stat == "p95" else _HOURLY,
                {"server": server, "metric": metric, "start": quarter.start, "end": quarter.end},
            )
            rows = cur.fetchall()
    if not rows:
        return None
    ev = r.evidence
    fig, ax = plt.subplots(figsize=(11, 3.6), dpi=90)
    frame = pd.DataFrame(rows, columns=_columns(stat))
    for label, part in frame.groupby("label", sort=True):
        name = f"{metric}{{{label}}}" if label else metric
        hours = pd.to_datetime(part["hour"], utc=True)
        if stat == "max":
            ax.fill_between(hours, part["min"], part["max"], alpha=0.25, lw=0)
        ax.plot(hours, part[stat], lw=0.7, label=f"{name}, hourly {stat}")
    threshold = criterion_class(r.criterion_id).plot_threshold(ev)
    if threshold is not None:
        ax.axhline(threshold, color="crimson", ls="--", lw=1, label=f"threshold {threshold:g}")
    runs = [x for s in (ev.get("series") or [ev]) for x in s.get("qualifying_runs", [])]
    if not runs and ev.get("longest_run"):
        runs = [ev["longest_run"]]
    _spans(ax, runs, "crimson", "runs that crossed")
    stalls = [x for s in (ev.get("series") or [ev]) for x in s.get("stalled_episodes", [])]
    _spans(ax, stalls, "grey", "stalled (not counted)")
    swaps = ev.get("swapping_episodes") or []
    _spans(ax, swaps, "darkorange", "swapping hours")
    en, _ = explain(r)
    title = f"{r.criterion_id} ({_MARK[r.outcome]}): {metric}, hourly {stat}"
    ax.set_title(f"{server} — {title}", fontsize=10)
    ax.text(0.01, 0.97, en[:160], transform=ax.transAxes, fontsize=7, va="top")
    ax.set_xlim(pd.Timestamp(quarter.start), pd.Timestamp(quarter.end))
    ax.legend(loc="lower right", fontsize=7)
    ax.grid(alpha=0.3)
    fig.subplots_adjust(
        left=0.06, right=0.99, top=0.9, bottom=0.1
    )  # tight_layout costs more than the drawing
    fig.savefig(path)
    plt.close(fig)
    return title

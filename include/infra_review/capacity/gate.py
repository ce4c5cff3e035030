"""The capacity review's quality gate: the coverage verdict of every series it reads.

Same rule, same numbers and same ``WindowVerdict`` as ``quality.window.window_verdict``
(expected samples from the series' recorded cadence, else the server's scrape interval;
coverage below the floor fails; quarantined rows are named in the reason), computed from
sample counts only. ``window_verdict`` also takes p50, p95 and max of every series through
``window_summary``: over a quarter of 1-minute samples those sorts cost about as much as
reading the rows, and the gate never looks at them. An integration test keeps the two
verdicts equal on the sample quarter.

Counts come from PostgreSQL (the DAG's ``check_window`` task, before any series is read) or
from the series a one-process review has just read (no second pass over the rows).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from infra_review.capacity.data import DEFAULT_INTERVAL_S
from infra_review.criteria.capacity import CAPACITY_METRICS
from infra_review.criteria.runs import CleanSeries
from infra_review.fleet import Fleet
from infra_review.quality.window import SeriesVerdict, WindowVerdict
from infra_review.quarter import Quarter

# (server, metric, label) -> (samples in the window, recorded cadence in seconds or None)
Counts = dict[tuple[str, str, str], tuple[int, int | None]]


def counts_from_db(conn, quarter: Quarter, servers: list[str]) -> Counts:
    """Samples per capacity series of ``servers`` in the window, and each series' cadence."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT r.server, r.metric, r.label, r.cadence_s, c.n
               FROM infra_review.series r
               JOIN (SELECT s.series_id, count(*) AS n FROM infra_review.samples s
                     WHERE s.series_id IN (SELECT series_id FROM infra_review.series
                                           WHERE server = ANY(%(servers)s)
                                             AND metric = ANY(%(metrics)s))
                       AND s.ts >= %(start)s AND s.ts < %(end)s
                     GROUP BY s.series_id) c USING (series_id)""",
            {
                "servers": servers,
                "metrics": list(CAPACITY_METRICS),
                "start": quarter.start,
                "end": quarter.end,
            },
        )
        return {(srv, m, lab): (int(n), cad) for srv, m, lab, cad, n in cur.fetchall()}


def counts_from_series(
    server: str, series: dict[tuple[str, str], CleanSeries], cadence: dict[tuple[str, str], int]
) -> Counts:
    """The same counts from series already read (NaN rows count: PostgreSQL stores them)."""
    return {
        (server, metric, label): (len(data) + data.nan_dropped, cadence.get((metric, label)))
        for (metric, label), data in series.items()
    }


def quarantined(conn, quarter: Quarter, servers: list[str]) -> dict[tuple[str, str, str], int]:
    """Rows the batch gate quarantined in the window, per series (named in failing reasons)."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT server, metric, coalesce(label, ''), count(*)
               FROM infra_review.quarantine
               WHERE ts >= %(start)s AND ts < %(end)s AND metric = ANY(%(metrics)s)
                 AND server = ANY(%(servers)s)
               GROUP BY 1, 2, 3""",
            {
                "start": quarter.start,
                "end": quarter.end,
                "metrics": list(CAPACITY_METRICS),
                "servers": servers,
            },
        )
        return {(r[0], r[1], r[2]): int(r[3]) for r in cur.fetchall()}


def coverage_verdict(
    counts: Counts,
    start: datetime,
    end: datetime,
    fleet: Fleet,
    floor: float,
    quarantine: dict[tuple[str, str, str], int] | None = None,
) -> WindowVerdict:
    """Pure: the verdict per series, in the order ``window_verdict`` lists them."""
    window_s = (end - start).total_seconds()
    quarantine = quarantine or {}
    out = []
    for key in sorted(counts):
        server, metric, label = key
        samples, cadence = counts[key]
        if cadence:
            expected = int(window_s // cadence)
            coverage = min(1.0, samples / max(expected, 1))
        else:
            interval = (
                fleet.servers[server].scrape_interval_s
                if server in fleet.servers
                else DEFAULT_INTERVAL_S
            )
            expected = int(window_s // interval)
            coverage = min(1.0, samples / expected)
        reasons = []
        if coverage < floor:
            reasons.append(
                f"coverage {coverage:.1%} below the floor {floor:.0%} "
                f"({samples} of {expected} expected samples)"
            )
        q = quarantine.get(key, 0)
        if q and reasons:
            reasons.append(f"{q} sample(s) of this series were quarantined by the quality gate")
        out.append(
            SeriesVerdict(
                server=server,
                metric=metric,
                label=label,
                samples=samples,
                expected=expected,
                coverage=float(coverage),
                passed=not reasons,
                reasons=reasons,
                quarantined=q,
            )
        )
    return WindowVerdict(start=start, end=end, floor=floor, series=out)


def verdict_doc(verdict: WindowVerdict) -> dict[str, Any]:
    doc = verdict.to_dict()
    doc["success"] = bool(doc["series"]) and all(s["passed"] for s in doc["series"])
    return doc

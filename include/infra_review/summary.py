"""Per-series summary of a window: coverage, p50, p95 and max, computed in PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from infra_review.fleet import Fleet, load_fleet


def window_summary(
    conn,
    start: datetime,
    end: datetime,
    *,
    servers: list[str] | None = None,
    fleet: Fleet | None = None,
) -> pd.DataFrame:
    """One row per (server, metric, label): samples, expected samples, coverage and percentiles.

    Expected samples are the window divided by the series' recorded cadence
    (``series.cadence_s``), else the server's scrape interval from fleet.yaml (its default
    for servers that only samples registered).
    """
    fleet = fleet or load_fleet()
    with conn.cursor() as cur:
        cur.execute(
            """SELECT r.server, r.metric, r.label, r.cadence_s, count(*) AS samples,
                      min(s.ts) AS first_ts, max(s.ts) AS last_ts,
                      percentile_cont(0.5) WITHIN GROUP (ORDER BY s.value) AS p50,
                      percentile_cont(0.95) WITHIN GROUP (ORDER BY s.value) AS p95,
                      max(s.value) AS max
               FROM infra_review.samples s
               JOIN infra_review.series r USING (series_id)
               WHERE s.ts >= %(start)s AND s.ts < %(end)s
                 AND (%(servers)s::text[] IS NULL OR r.server = ANY(%(servers)s))
               GROUP BY r.server, r.metric, r.label, r.cadence_s
               ORDER BY r.server, r.metric, r.label""",
            {"start": start, "end": end, "servers": servers},
        )
        columns = [c.name for c in cur.description]
        frame = pd.DataFrame(cur.fetchall(), columns=columns)
    default_interval = 60
    fleet_interval = frame["server"].map(
        lambda s: fleet.servers[s].scrape_interval_s if s in fleet.servers else default_interval
    )
    # the collector's recorded cadence wins (present-time sources sample once per run)
    intervals = frame.pop("cadence_s").astype("float64").fillna(fleet_interval)
    window_s = (end - start).total_seconds()
    frame["expected"] = (window_s // intervals).clip(lower=1).astype("int64")
    frame["coverage"] = (frame["samples"] / frame["expected"]).clip(upper=1.0)
    return frame


def format_table(frame: pd.DataFrame) -> str:
    """A fixed-width table for the terminal."""
    if frame.empty:
        return "(no samples in this window)"
    shown = frame.assign(
        series=frame["metric"] + frame["label"].map(lambda x: f"{{{x}}}" if x else ""),
        coverage=(frame["coverage"] * 100).map("{:.1f}%".format),
        p50=frame["p50"].map("{:.2f}".format),
        p95=frame["p95"].map("{:.2f}".format),
        max=frame["max"].map("{:.2f}".format),
    )[["server", "series", "samples", "coverage", "p50", "p95", "max"]]
    return shown.to_string(index=False)

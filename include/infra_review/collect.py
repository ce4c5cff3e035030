"""Collection: which (server, source) jobs a run has, and running one job for an interval.

The DAG maps over ``plan_jobs()`` so Celery workers share the work; ``run_job`` pulls
exactly [start, end), passes it through the quality gate, and in one transaction replaces
the batch's quarantine rows, merges the good rows into the store and upserts the
validation results. Retries and overlapping runs therefore never duplicate a sample, and a
failure anywhere writes nothing. A history source (Prometheus) answers for the whole range,
so its load replaces the range for the series it covers (``store.ranges``): re-collecting
converges on exactly what the source has now.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra_review.fleet import Fleet, load_fleet

if TYPE_CHECKING:
    from infra_review.quality.gate import QualityGate

log = logging.getLogger(__name__)

FLEET_SERVER = "fleet"  # the job "server" of fleet-wide feeds (complaints, planned services)
SNAPSHOT_CADENCE_S = 300  # the collect DAG's schedule: one present-time reading per run


def fleet_sources(fleet: Fleet) -> list[dict[str, Any]]:
    """``fleet_sources:`` from the fleet file (fleet-wide feeds), validated lightly."""
    import yaml

    from infra_review.collectors import FEED_TYPES
    from infra_review.errors import InputError

    doc = yaml.safe_load(Path(fleet.path).read_text(encoding="utf-8")) or {}
    sources = doc.get("fleet_sources") or []
    for index, source in enumerate(sources):
        if not isinstance(source, dict) or source.get("type") not in FEED_TYPES:
            raise InputError(
                f"each fleet source needs a type in {sorted(FEED_TYPES)}",
                file=fleet.path,
                field=f"fleet_sources[{index}]",
            )
    return [dict(s) for s in sources]


def plan_jobs(fleet: Fleet | None = None, servers: list[str] | None = None) -> list[dict[str, Any]]:
    """Small JSON-able job descriptions (they travel through XCom)."""
    fleet = fleet or load_fleet()
    jobs = [
        {
            "server": server.name,
            "source": {"scrape_interval_s": server.scrape_interval_s, **dict(source)},
        }
        for server in fleet.servers.values()
        if servers is None or server.name in servers
        for source in server.sources
    ]
    if fleet.local_host_enabled and (servers is None or fleet.local_host_name() in servers):
        jobs.append({"server": fleet.local_host_name(), "source": {"type": "localhost"}})
    if servers is None:
        jobs += [{"server": FLEET_SERVER, "source": s} for s in fleet_sources(fleet)]
    return jobs


def batch_key(job: dict[str, Any], start: datetime, end: datetime) -> str:
    source = job["source"]
    name = source.get("name") or source["type"]
    return f"collect:{name}:{job['server']}:{start.isoformat()}/{end.isoformat()}"


def source_label(job: dict[str, Any]) -> str:
    source = job["source"]
    return f"{source['type']}:{source['name']}" if source.get("name") else source["type"]


def cadence(job: dict[str, Any]) -> tuple[float | None, float | None]:
    """(cadence for the batch gate, cadence to record for the series) in seconds.

    History sources promise their step; present-time sources one reading per run, so the
    batch expects one sample per series and the window expects one per schedule tick. A CSV
    export promises only the cadence its source states (``csv_samples.promised_cadence``);
    the review measures the rest from the samples.
    """
    from infra_review.collectors import SNAPSHOT_TYPES
    from infra_review.collectors.common import seconds
    from infra_review.collectors.prometheus import step_seconds

    source = job["source"]
    kind = source["type"]
    if kind in SNAPSHOT_TYPES:
        return None, seconds(source.get("cadence"), SNAPSHOT_CADENCE_S, "cadence")
    if kind == "prometheus":
        step = step_seconds(source)
        return step, step
    if kind == "csv":
        from infra_review.collectors.csv_samples import promised_cadence

        stated = promised_cadence(source)
        return stated, stated
    step = seconds(source.get("cadence"), source.get("scrape_interval_s", 60), "cadence")
    return step, step


def expected_series(job: dict[str, Any], start: datetime, end: datetime) -> list[tuple[str, str]]:
    """(server, metric) pairs the source should deliver, so a silent metric shows as zero
    coverage in the batch's validation instead of not at all."""
    from infra_review.collectors.common import snapshot_is_stale
    from infra_review.collectors.prometheus import queries

    server, source = job["server"], job["source"]
    kind = source["type"]
    if kind == "prometheus":
        return [(server, q.metric) for q in queries(server, source)]
    if snapshot_is_stale(end):
        return []
    metrics = {
        "localhost": ["cpu_used_pct", "ram_used_pct", "swap_io_pages_per_s"],
        "n8n_redis": ["n8n_queue_waiting", "n8n_queue_active", "n8n_queue_stalled"],
        "http_probe": ["probe_up"],
    }.get(kind, [])
    return [(server, m) for m in metrics]


def new_gate() -> QualityGate:
    """The task's gate: Great Expectations by default. ``INFRA_REVIEW_QUALITY_ENGINE=pandas``
    runs the same checks without GX (same quarantine and quality_results, no Data Docs), for
    workers where GX's import time (about 10 s per task process) matters more than its docs."""
    import os

    from infra_review.quality.gate import QualityGate

    engine = os.environ.get("INFRA_REVIEW_QUALITY_ENGINE", "gx").strip() or "gx"
    return QualityGate(engine=engine, floor=default_floor())


def default_floor() -> float:
    from infra_review.criteria.rules import load_criteria

    return float(load_criteria().defaults.get("coverage_floor", 0.90))


def run_job(
    job: dict[str, Any],
    start: datetime,
    end: datetime,
    url: str | None = None,
    gate: QualityGate | None = None,
) -> dict[str, Any]:
    """Collect one job's rows for [start, end), gate them and write them; return small stats.

    ``gate`` lets a caller that runs many jobs (the CLI's backfill) share one GX context.
    """
    from infra_review.collectors import FEED_TYPES, RANGE_TYPES, registry
    from infra_review.quality.store import replace_quarantine, set_cadence, store_results
    from infra_review.store.db import connect
    from infra_review.store.ranges import replace_range
    from infra_review.store.samples import load_samples

    source_type = job["source"]["type"]
    if source_type in FEED_TYPES:
        return run_feed(job, start, end, url)
    collectors = registry()
    if source_type not in collectors:
        raise ValueError(f"unknown source type {source_type!r}; known: {sorted(collectors)}")
    frame = collectors[source_type](job["server"], job["source"], start, end)
    key = batch_key(job, start, end)
    batch_cadence, series_cadence = cadence(job)
    gate = gate or new_gate()
    result = gate.validate(
        frame,
        batch_key=key,
        start=start,
        end=end,
        cadence_s=batch_cadence,
        expected_series=expected_series(job, start, end),
    )
    label = source_label(job)
    with connect(url) as conn:
        with conn.cursor() as cur:
            quarantined = replace_quarantine(cur, key, label, result.quarantine)
        deleted = 0
        if source_type in RANGE_TYPES:
            replaced = replace_range(
                conn,
                result.good,
                server=job["server"],
                source=label,
                start=start,
                end=end,
                batch_key=key,
                rows_quarantined=quarantined,
            )
            stats, deleted = replaced.load, replaced.rows_deleted
        else:
            stats = load_samples(
                conn,
                result.good,
                batch_key=key,
                source=label,
                window_start=start,
                window_end=end,
                rows_quarantined=quarantined,
            )
        with conn.cursor() as cur:
            store_results(cur, result)
            series = result.good[["server", "metric", "label"]].drop_duplicates()
            if series_cadence:
                set_cadence(cur, series.itertuples(index=False, name=None), series_cadence)
    summary = result.summary()
    if quarantined:
        log.warning("%s: %d row(s) quarantined", key, quarantined)
    return {
        "batch_key": key,
        "server": job["server"],
        "source": source_type,
        "rows_in": summary["rows_in"],
        "rows_written": stats.rows_written,
        "rows_deleted": deleted,
        "rows_quarantined": quarantined,
        "quality_success": summary["success"],
        "failed_suites": summary["failed_suites"],
        "min_coverage": summary["min_coverage"],
        "data_docs": summary["data_docs"],
    }


def run_feed(
    job: dict[str, Any], start: datetime, end: datetime, url: str | None = None
) -> dict[str, Any]:
    """Complaints for [start, end) (bad rows quarantined), or the planned-services register
    synced whole (a bad row fails the feed, nothing written)."""
    import pandas as pd

    from infra_review.collectors import feeds
    from infra_review.quality.store import replace_quarantine, upsert_result
    from infra_review.store.db import connect

    source = job["source"]
    key = batch_key(job, start, end)
    label = source_label(job)
    if source["type"] == "planned_services":
        frame = feeds.read_plans(source)
        with connect(url) as conn, conn.cursor() as cur:
            upserted, deleted = feeds.sync_plans(cur, frame, label)
        return {
            "batch_key": key,
            "server": job["server"],
            "source": source["type"],
            "rows_in": len(frame),
            "rows_written": upserted + deleted,
            "rows_quarantined": 0,
        }
    frame = feeds.read_complaints(source, start, end)
    problems = feeds.complaint_problems(frame)
    bad = problems != ""
    quarantine = pd.DataFrame(
        {
            "server": frame.loc[bad, "server"],
            "metric": None,
            "label": frame.loc[bad, "service"],
            "ts": frame.loc[bad, "ts"],
            "value": float("nan"),
            "expectation": "complaints_contract",
            "reason": problems[bad] + ": " + frame.loc[bad, "text"].str.slice(0, 200),
        }
    )
    with connect(url) as conn, conn.cursor() as cur:
        quarantined = replace_quarantine(cur, key, label, quarantine)
        written = feeds.load_complaints(cur, frame[~bad])
        cur.execute(
            """INSERT INTO infra_review.load_batches
                   (batch_key, source, window_start, window_end, rows_in, rows_loaded,
                    rows_quarantined)
               VALUES (%s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (batch_key) DO UPDATE SET
                   rows_in = EXCLUDED.rows_in, rows_loaded = EXCLUDED.rows_loaded,
                   rows_quarantined = EXCLUDED.rows_quarantined, loaded_at = now()""",
            (key, label, start, end, int((~bad).sum()), written, quarantined),
        )
        upsert_result(
            cur,
            batch_key=key,
            suite="complaints.contract",
            window_start=start,
            window_end=end,
            success=not bool(bad.any()),
            statistics={"rows": len(frame), "bad_rows": int(bad.sum())},
            results=[
                {"reason": r, "count": int(n)} for r, n in problems[bad].value_counts().items()
            ],
        )
    return {
        "batch_key": key, "server": job["server"], "source": source["type"],
        "rows_in": len(frame), "rows_written": written, "rows_quarantined": quarantined,
    }  # fmt: skip


def intervals(start: datetime, end: datetime, chunk: timedelta) -> list[tuple[datetime, datetime]]:
    """[start, end) cut into chunks aligned to ``start`` (the last one may be shorter)."""
    out = []
    cursor = start
    while cursor < end:
        out.append((cursor, min(cursor + chunk, end)))
        cursor += chunk
    return out


def collect_range(
    start: datetime,
    end: datetime,
    *,
    servers: list[str] | None = None,
    chunk: timedelta = timedelta(days=1),
    url: str | None = None,
) -> list[dict[str, Any]]:
    """Backfill [start, end) for every job, one batch per chunk, with one quality gate (one
    GX context) for the whole run. Re-running the same range converges on the same rows."""
    gate = new_gate()
    results = []
    for job in plan_jobs(servers=servers):
        for chunk_start, chunk_end in intervals(start, end, chunk):
            results.append(run_job(job, chunk_start, chunk_end, url=url, gate=gate))
    return results

"""Collection: which (server, source) jobs a run has, and running one job for an interval.

The DAG maps over ``plan_jobs()`` so Celery workers share the work; ``run_job`` pulls
exactly [start, end) and merges it into the store, so retries never duplicate a sample.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from infra_review.fleet import Fleet, load_fleet


def plan_jobs(fleet: Fleet | None = None) -> list[dict[str, Any]]:
    """Small JSON-able job descriptions (they travel through XCom)."""
    fleet = fleet or load_fleet()
    jobs = [
        {"server": server.name, "source": dict(source)}
        for server in fleet.servers.values()
        for source in server.sources
    ]
    if fleet.local_host_enabled:
        jobs.append({"server": fleet.local_host_name(), "source": {"type": "localhost"}})
    return jobs


def batch_key(job: dict[str, Any], start: datetime, end: datetime) -> str:
    source = job["source"]
    name = source.get("name") or source["type"]
    return f"collect:{name}:{job['server']}:{start.isoformat()}/{end.isoformat()}"


def run_job(
    job: dict[str, Any], start: datetime, end: datetime, url: str | None = None
) -> dict[str, Any]:
    """Collect one job's samples for [start, end) and merge them; return small stats."""
    from infra_review.collectors import registry
    from infra_review.store.db import connect
    from infra_review.store.samples import load_samples

    source_type = job["source"]["type"]
    collectors = registry()
    if source_type not in collectors:
        raise ValueError(f"unknown source type {source_type!r}; known: {sorted(collectors)}")
    frame = collectors[source_type](job["server"], job["source"], start, end)
    key = batch_key(job, start, end)
    with connect(url) as conn:
        stats = load_samples(
            conn, frame, batch_key=key, source=source_type, window_start=start, window_end=end
        )
    return {
        "batch_key": key,
        "server": job["server"],
        "source": source_type,
        "rows_in": stats.rows_in,
        "rows_written": stats.rows_written,
    }

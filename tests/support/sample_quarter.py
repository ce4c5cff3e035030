"""The bundled sample quarter (``infra_review.demo.sample_quarter``) loaded into a database:
fleet metadata, samples, complaints and planned services, as ``make demo`` has them."""

from __future__ import annotations

from infra_review.quarter import Quarter

QUARTER = Quarter(2026, 3)


def load_sample_quarter(
    url: str,
    quarter: Quarter = QUARTER,
    *,
    batch_key: str = "test:sample-quarter",
    source: str = "test",
    catalog: bool = False,
    window: bool = False,
) -> dict[str, int]:
    """Load the quarter straight into the store (no CSV round trip); ``catalog`` also syncs
    the reporting reference tables, ``window`` records the quarter as the batch's window.
    Returns the number of samples written."""
    from infra_review.demo.sample_quarter import generate_frames
    from infra_review.fleet import load_fleet, sync_servers
    from infra_review.store.db import connect
    from infra_review.store.samples import load_samples

    frames = generate_frames(quarter)
    with connect(url) as conn:
        sync_servers(conn, load_fleet())
        if catalog:
            from infra_review.reporting.catalog import sync

            sync(conn)
        stats = load_samples(
            conn,
            frames["samples"],
            batch_key=batch_key,
            source=source,
            window_start=quarter.start if window else None,
            window_end=quarter.end if window else None,
        )
        with conn.cursor() as cur:
            for c in frames["complaints"].itertuples(index=False):
                cur.execute(
                    """INSERT INTO infra_review.complaints (ts, service, server, category, text)
                       VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING""",
                    (c.ts, c.service, c.server, c.category, c.text),
                )
            for p in frames["plans"].itertuples(index=False):
                cur.execute(
                    """INSERT INTO infra_review.planned_services
                           (service, server, planned_for, ram_gb, cpu_cores)
                       VALUES (%s, %s, %s, %s, %s)""",
                    (p.service, p.server, p.planned_for, p.ram_gb, p.cpu_cores),
                )
            cur.execute("ANALYZE")
    return {"samples": stats.rows_written}

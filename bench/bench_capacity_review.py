"""Capacity review at scale: the whole review against merely reading the same rows.

20 servers x 6 metrics at 1-minute resolution for the quarter 2026Q3 (about 16 million
samples) are generated inside PostgreSQL (INSERT ... SELECT generate_series) in a scratch
database. Then, in one run and on the same server:

* read: ``COPY (SELECT series_id, ts, value ...) TO STDOUT (FORMAT binary)`` of exactly the
  rows the review reads, in one stream, discarded on arrival: merely reading them;
* review: ``run_capacity_review`` for the quarter: coverage verdict, one read per server
  (``store.samples.read_series``), every criterion, fleet criteria, decisions written, report
  with plots.

Each is timed twice, alternating, and the faster of each counts (the machine is shared).
Target: review / read <= 2.0. Prints samples per second and the ratio.

Run: ``DATABASE_URL=postgresql://... .venv/bin/python bench/bench_capacity_review.py``
(``--servers N`` for a smaller run).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "include"))
sys.path.insert(0, str(ROOT / "bench"))

from common import scratch_database  # noqa: E402

METRICS = (
    ("ram_used_pct", ""),
    ("cpu_used_pct", ""),
    ("swap_io_pages_per_s", ""),
    ("api_latency_s", "n8n:/healthz"),  # the declared n8n API is measured
    ("n8n_queue_waiting", "jobs"),
    ("n8n_queue_active", "jobs"),
)

# One statement generates every sample. m = minutes since the quarter start, k = server number.
# Servers 1-3 have a 30-hour RAM episode (upgrade_ram), 4-5 a 2-hour CPU episode (upgrade_cpu),
# 6 a 40-minute busy n8n queue (upgrade_cpu), 7 a 30-minute stalled queue (an incident).
GENERATE = """
INSERT INTO infra_review.samples (series_id, ts, value)
SELECT r.series_id, g.ts,
  CASE r.metric
    WHEN 'ram_used_pct' THEN
      CASE WHEN k.k <= 3 AND m.m >= (40 + k.k) * 1440 AND m.m < (40 + k.k) * 1440 + 1800
           THEN 90 + random() * 3
           ELSE 58 + 6 * sin(2 * pi() * m.m / 1440.0) + random() * 4 END
    WHEN 'cpu_used_pct' THEN
      CASE WHEN k.k IN (4, 5) AND m.m >= 50 * 1440 AND m.m < 50 * 1440 + 120
           THEN 95 + random() * 4
           ELSE 30 + 12 * sin(2 * pi() * m.m / 1440.0) + random() * 10 END
    WHEN 'swap_io_pages_per_s' THEN CASE WHEN random() < 0.0003 THEN random() * 40 ELSE 0 END
    WHEN 'api_latency_s' THEN 0.15 + random() * 0.25
    WHEN 'n8n_queue_waiting' THEN
      CASE WHEN k.k IN (6, 7) AND m.m >= 60 * 1440 AND m.m < 60 * 1440 + 40 - 10 * (k.k - 6)
           THEN 150 + floor(random() * 20) ELSE floor(random() * 20) END
    ELSE
      CASE WHEN k.k = 7 AND m.m >= 60 * 1440 AND m.m < 60 * 1440 + 30
           THEN 0 ELSE 1 + floor(random() * 4) END
  END
FROM infra_review.series r
CROSS JOIN LATERAL (SELECT substr(r.server, 7)::int AS k) k
CROSS JOIN generate_series(%(start)s::timestamptz, %(end)s::timestamptz - interval '1 minute',
                           interval '1 minute') AS g(ts)
CROSS JOIN LATERAL (SELECT (extract(epoch FROM g.ts - %(start)s::timestamptz) / 60)::int AS m) m
WHERE r.server LIKE 'bench-%%'
ORDER BY r.series_id, g.ts
"""

# The baseline: merely the same rows, as cheaply as PostgreSQL hands them out (binary, no
# join, no order), in one stream.
READ = """
SELECT s.series_id, s.ts, s.value FROM infra_review.samples s
WHERE s.series_id = ANY(%(ids)s) AND s.ts >= %(start)s AND s.ts < %(end)s"""


class Sink:
    """A file-like object that counts and drops what COPY writes."""

    def __init__(self) -> None:
        self.bytes = 0

    def write(self, data) -> int:
        self.bytes += len(data)
        return len(data)


def write_config(directory: Path, servers: list[str]) -> None:
    """fleet.yaml with the bench servers; criteria and plan sizes as shipped."""
    import yaml

    config = ROOT / "include" / "config"
    for name in ("criteria.yaml", "upgrade_limits.yaml"):
        shutil.copy(config / name, directory / name)
    fleet = {
        "requirements": {"regions": ["KZ"], "isolated_data_classes": []},
        "defaults": {"scrape_interval": "60s"},
        "servers": [
            {
                "name": s,
                "provider": "example-kz-cloud",
                "region": "KZ",
                "plan": "vps-16g",
                "ram_gb": 16,
                "cpu_cores": 4,
                "services": ["n8n", "postgresql"],
                "data_classes": [],
                "sources": [],
            }
            for s in servers
        ],
        "local_host": {"enabled": False},
    }
    (directory / "fleet.yaml").write_text(yaml.safe_dump(fleet, sort_keys=False))


def generate(url: str, servers: list[str], quarter) -> int:
    import psycopg2

    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(
            """INSERT INTO infra_review.servers (server, registered_from)
               SELECT unnest(%s::text[]), 'samples'""",
            (servers,),
        )
        cur.execute(
            """INSERT INTO infra_review.series (server, metric, label)
               SELECT s, m.metric, m.label FROM unnest(%s::text[]) AS s
               CROSS JOIN unnest(%s::text[], %s::text[]) AS m(metric, label)""",
            (servers, [m for m, _ in METRICS], [lab for _, lab in METRICS]),
        )
        cur.execute(
            "SELECT infra_review.ensure_sample_partitions(%s, %s)", (quarter.start, quarter.end)
        )
        cur.execute("SET LOCAL synchronous_commit = off")
        cur.execute(GENERATE, {"start": quarter.start, "end": quarter.end})
        rows = cur.rowcount
    conn.close()
    admin = psycopg2.connect(url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("VACUUM ANALYZE infra_review.samples")
        cur.execute("VACUUM ANALYZE infra_review.series")
    admin.close()
    return rows


def read_all(url: str, servers: list[str], quarter) -> tuple[float, int]:
    """Time one COPY of every row the review reads, discarded on arrival."""
    import psycopg2

    sink = Sink()
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT series_id FROM infra_review.series WHERE server = ANY(%s) AND metric = ANY(%s)",
            (servers, [m for m, _ in METRICS]),
        )
        ids = [r[0] for r in cur.fetchall()]
        params = {"start": quarter.start, "end": quarter.end, "ids": ids}
        bound = cur.mogrify(READ, params).decode()
        started = time.perf_counter()
        cur.copy_expert(f"COPY ({bound}) TO STDOUT WITH (FORMAT binary)", sink)
        elapsed = time.perf_counter() - started
    conn.close()
    return elapsed, sink.bytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2, help="reader threads of the review")
    args = parser.parse_args()

    from infra_review.quarter import Quarter

    quarter = Quarter(2026, 3)
    servers = [f"bench-{k:02d}" for k in range(1, args.servers + 1)]
    with tempfile.TemporaryDirectory() as tmp, scratch_database() as url:
        os.environ["INFRA_REVIEW_CONFIG_DIR"] = str(Path(tmp))
        os.environ["INFRA_REVIEW_DATA_DIR"] = str(Path(tmp) / "data")
        write_config(Path(tmp), servers)
        from infra_review.capacity.runner import run_capacity_review

        started = time.perf_counter()
        rows = generate(url, servers, quarter)
        print(
            f"generated {rows:,} samples ({len(servers)} servers x {len(METRICS)} metrics, "
            f"1-minute, {quarter}) in {time.perf_counter() - started:.1f} s",
            flush=True,
        )

        reads, reviews, review = [], [], None
        for attempt in (1, 2):
            elapsed, size = read_all(url, servers, quarter)
            reads.append(elapsed)
            print(
                f"read   #{attempt}: {elapsed:6.1f} s  ({size / 1e6:,.0f} MB, binary)", flush=True
            )
            started = time.perf_counter()
            review = run_capacity_review(
                quarter, url=url, run_key=f"bench-{attempt}", workers=args.workers
            )
            reviews.append(time.perf_counter() - started)
            steps = ", ".join(f"{k} {v:.1f}" for k, v in review.timings.items())
            print(f"review #{attempt}: {reviews[-1]:6.1f} s  ({steps})", flush=True)
        read, whole = min(reads), min(reviews)
        decisions = {}
        for x in review.decisions:
            decisions.setdefault("+".join(x.actions), []).append(x.subject)
        print("decisions: " + "; ".join(f"{k}: {len(v)}" for k, v in sorted(decisions.items())))
        incidents = [x.subject for x in review.decisions if x.context.get("incidents")]
        print(f"incidents: {incidents}")
        print(f"samples:        {rows:,} (review with {args.workers} reader thread(s))")
        print(f"read (COPY):    {read:.1f} s  {rows / read:,.0f} samples/s")
        print(f"whole review:   {whole:.1f} s  {rows / whole:,.0f} samples/s")
        print(f"ratio review/read: {whole / read:.2f} (target <= 2.0)")


if __name__ == "__main__":
    main()

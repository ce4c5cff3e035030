"""The quality gate over the demo's imported quarters, so ``quality_results`` (and Grafana's
data-quality panel) show what the gate found, as they would after real collect runs.

A CSV import validates its contract but is not a collect batch; here each server's stored
quarter is one batch (``demo:<quarter>:<server>``), checked by the same suites the collect
DAG runs. The demo uses the pandas engine (the same checks, no Great Expectations import,
which costs 10-40 s here) unless ``INFRA_REVIEW_QUALITY_ENGINE`` says ``gx``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from infra_review.quarter import Quarter


@dataclass(frozen=True)
class GateLine:
    batch_key: str
    rows: int
    suites: int
    failed: list[str]
    quarantined: int
    min_coverage: float | None
    reused: bool = False

    def text(self) -> str:
        if self.reused:
            return f"{self.batch_key}: validated before, samples unchanged since"
        verdict = "all passed" if not self.failed else "FAILED: " + ", ".join(self.failed)
        coverage = "" if self.min_coverage is None else f", lowest coverage {self.min_coverage:.1%}"
        return (
            f"{self.batch_key}: {self.rows:,} samples, {self.suites} suites {verdict}"
            f"{coverage}, {self.quarantined} quarantined"
        )


def batch_key(quarter: Quarter, server: str) -> str:
    return f"demo:{quarter}:{server}"


def validated(conn, quarter: Quarter, servers: list[str]) -> bool:
    """True when every server's batch of the quarter already has results."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT count(DISTINCT batch_key) FROM infra_review.quality_results "
            "WHERE batch_key = ANY(%s)",
            ([batch_key(quarter, s) for s in servers],),
        )
        return cur.fetchone()[0] == len(servers)


def gate_quarter(conn, quarter: Quarter, servers: list[str], gate=None) -> list[GateLine]:
    """Validate each server's stored samples of ``quarter`` and record the results and any
    quarantined rows, in the caller's transaction."""
    from infra_review.fleet import load_fleet
    from infra_review.quality.gate import QualityGate
    from infra_review.quality.store import replace_quarantine, store_results
    from infra_review.store.samples import read_window

    fleet = load_fleet()
    engine = os.environ.get("INFRA_REVIEW_QUALITY_ENGINE", "").strip() or "pandas"
    gate = gate or QualityGate(engine=engine, docs_dir=False)
    lines = []
    for server in servers:
        frame = read_window(conn, quarter.start, quarter.end, servers=[server])
        known = fleet.servers.get(server)
        cadence = float(known.scrape_interval_s) if known else 60.0
        key = batch_key(quarter, server)
        result = gate.validate(
            frame,
            batch_key=key,
            start=quarter.start,
            end=quarter.end,
            cadence_s=cadence,
            expected_series=sorted({(server, m) for m in frame["metric"].unique()}),
        )
        with conn.cursor() as cur:
            quarantined = replace_quarantine(cur, key, "demo", result.quarantine)
            store_results(cur, result)
        summary = result.summary()
        lines.append(
            GateLine(
                key,
                summary["rows_in"],
                len(result.suites),
                summary["failed_suites"],
                quarantined,
                summary["min_coverage"],
            )
        )
    return lines

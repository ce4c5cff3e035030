"""Review-time quality verdict: does each series cover the review window well enough?

A series whose coverage is below the floor (criteria.yaml ``defaults.coverage_floor``)
fails, and every criterion that needs it becomes ``insufficient_data`` instead of a silent
decision on partial data.

Expected samples come from the cadence the collector recorded for the series
(``series.cadence_s``: the Prometheus step, or one per collect run for present-time
sources), else from the server's scrape interval. Rows the batch gate quarantined in the
window are counted in each verdict's reasons, so the evidence says why samples are missing.
With ``engine="gx"`` the floor is checked by the Great Expectations coverage suite and the
verdict is stored in ``quality_results`` (and Data Docs) under ``review:<start>/<end>``.

The verdict needs sample counts only: no percentiles (those are ``summary.window_summary``'s,
for people), because over a quarter of 1-minute samples their sorts cost about as much as
reading the rows. ``coverage_verdict`` is pure, so the capacity review can also judge the
counts of series it has just read, without a second pass over the rows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from infra_review.fleet import Fleet

# (server, metric, label) -> (samples in the window, the series' recorded cadence in s or None)
Counts = dict[tuple[str, str, str], tuple[int, int | None]]
DEFAULT_INTERVAL_S = 60  # servers that only their samples registered (not in fleet.yaml)


@dataclass(frozen=True)
class SeriesVerdict:
    server: str
    metric: str
    label: str
    samples: int
    expected: int
    coverage: float
    passed: bool
    reasons: list[str] = field(default_factory=list)
    quarantined: int = 0


@dataclass(frozen=True)
class WindowVerdict:
    start: datetime
    end: datetime
    floor: float
    series: list[SeriesVerdict]

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> WindowVerdict:
        """The verdict that travelled as a dict (XCom, a stored review)."""
        return cls(
            start=datetime.fromisoformat(doc["start"]),
            end=datetime.fromisoformat(doc["end"]),
            floor=float(doc["floor"]),
            series=[SeriesVerdict(**s) for s in doc["series"]],
        )

    def for_series(self, server: str, metric: str) -> list[SeriesVerdict]:
        return [s for s in self.series if s.server == server and s.metric == metric]

    def passed(self, server: str, metric: str) -> bool:
        """True when the metric has data for the server and every label of it passed."""
        found = self.for_series(server, metric)
        return bool(found) and all(s.passed for s in found)

    def describe(self, server: str, metric: str) -> dict[str, Any]:
        """The verdict for one metric of one server, for a criterion's evidence."""
        found = self.for_series(server, metric)
        if not found:
            return {"passed": False, "reasons": [f"no {metric} samples for {server} in the window"]}
        return {
            "passed": all(s.passed for s in found),
            "coverage": min(s.coverage for s in found),
            "samples": sum(s.samples for s in found),
            "expected": sum(s.expected for s in found),
            "floor": self.floor,
            "reasons": [r for s in found for r in s.reasons],
        }

    @property
    def success(self) -> bool:
        return bool(self.series) and all(s.passed for s in self.series)

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "floor": self.floor,
            "success": self.success,
            "series": [asdict(s) for s in self.series],
        }


def series_counts(
    conn,
    start: datetime,
    end: datetime,
    *,
    servers: list[str] | None = None,
    metrics: list[str] | None = None,
) -> Counts:
    """Samples per series in [start, end), with each series' recorded cadence."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT r.server, r.metric, r.label, r.cadence_s, c.n
               FROM infra_review.series r
               JOIN (SELECT s.series_id, count(*) AS n FROM infra_review.samples s
                     WHERE s.series_id IN (
                             SELECT series_id FROM infra_review.series
                             WHERE (%(servers)s::text[] IS NULL OR server = ANY(%(servers)s))
                               AND (%(metrics)s::text[] IS NULL OR metric = ANY(%(metrics)s)))
                       AND s.ts >= %(start)s AND s.ts < %(end)s
                     GROUP BY s.series_id) c USING (series_id)""",
            {"servers": servers, "metrics": metrics, "start": start, "end": end},
        )
        return {(srv, m, lab): (int(n), cad) for srv, m, lab, cad, n in cur.fetchall()}


def quarantined(
    conn,
    start: datetime,
    end: datetime,
    *,
    servers: list[str] | None = None,
    metrics: list[str] | None = None,
) -> dict[tuple[str, str, str], int]:
    """Rows the batch gate quarantined in the window, per series (named in failing reasons)."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT server, metric, coalesce(label, ''), count(*)
               FROM infra_review.quarantine
               WHERE ts >= %(start)s AND ts < %(end)s AND metric IS NOT NULL
                 AND (%(servers)s::text[] IS NULL OR server = ANY(%(servers)s))
                 AND (%(metrics)s::text[] IS NULL OR metric = ANY(%(metrics)s))
               GROUP BY 1, 2, 3""",
            {"start": start, "end": end, "servers": servers, "metrics": metrics},
        )
        return {(r[0], r[1], r[2]): int(r[3]) for r in cur.fetchall()}


@dataclass(frozen=True)
class _Coverage:
    key: tuple[str, str, str]
    samples: int
    expected: int
    coverage: float


def _coverage(counts: Counts, start: datetime, end: datetime, fleet: Fleet) -> list[_Coverage]:
    """Expected samples: the window over the recorded cadence (the collector's promise), else
    over the server's scrape interval; sorted by (server, metric, label)."""
    window_s = (end - start).total_seconds()
    out = []
    for key in sorted(counts):
        samples, cadence = counts[key]
        server = fleet.servers.get(key[0])
        interval = cadence or (server.scrape_interval_s if server else DEFAULT_INTERVAL_S)
        expected = max(1, int(window_s // interval))
        out.append(_Coverage(key, samples, expected, min(1.0, samples / expected)))
    return out


def _judge(
    rows: list[_Coverage],
    below: list[bool],
    start: datetime,
    end: datetime,
    floor: float,
    quarantine: dict[tuple[str, str, str], int],
) -> WindowVerdict:
    verdicts = []
    for row, is_below in zip(rows, below, strict=True):
        reasons = []
        if is_below:
            reasons.append(
                f"coverage {row.coverage:.1%} below the floor {floor:.0%} "
                f"({row.samples} of {row.expected} expected samples)"
            )
        q = quarantine.get(row.key, 0)
        if q and reasons:
            reasons.append(f"{q} sample(s) of this series were quarantined by the quality gate")
        verdicts.append(
            SeriesVerdict(
                *row.key,
                samples=row.samples,
                expected=row.expected,
                coverage=float(row.coverage),
                passed=not reasons,
                reasons=reasons,
                quarantined=q,
            )
        )
    return WindowVerdict(start=start, end=end, floor=floor, series=verdicts)


def coverage_verdict(
    counts: Counts,
    start: datetime,
    end: datetime,
    fleet: Fleet,
    floor: float,
    quarantine: dict[tuple[str, str, str], int] | None = None,
) -> WindowVerdict:
    """Pure: the verdict per series from its counts; coverage below ``floor`` fails."""
    rows = _coverage(counts, start, end, fleet)
    return _judge(rows, [r.coverage < floor for r in rows], start, end, floor, quarantine or {})


def window_verdict(
    conn,
    start: datetime,
    end: datetime,
    *,
    servers: list[str] | None = None,
    metrics: list[str] | None = None,
    floor: float = 0.90,
    engine: str | None = None,
    store: bool = False,
    fleet: Fleet | None = None,
) -> WindowVerdict:
    """Coverage per series over [start, end); ``engine`` None (plain comparison), "gx" or
    "pandas" runs the coverage suite; ``store`` upserts the verdict into quality_results."""
    if fleet is None:
        from infra_review.fleet import load_fleet

        fleet = load_fleet()
    counts = series_counts(conn, start, end, servers=servers, metrics=metrics)
    held = quarantined(conn, start, end, servers=servers, metrics=metrics)
    suite = None
    if engine is None or not counts:
        verdict = coverage_verdict(counts, start, end, fleet, floor, held)
    else:
        import pandas as pd

        from infra_review.quality import checks
        from infra_review.quality.gate import QualityGate

        rows = _coverage(counts, start, end, fleet)
        frame = pd.DataFrame(
            {
                "server": [r.key[0] for r in rows],
                "metric": [r.key[1] for r in rows],
                "label": [r.key[2] for r in rows],
                "samples": [r.samples for r in rows],
                "expected": [r.expected for r in rows],
                "coverage": [r.coverage for r in rows],
            }
        )
        gate = QualityGate(engine=engine, floor=floor)
        suite = gate.engine.run(
            "window.coverage", checks.coverage_checks(), frame, {"floor": floor}
        )
        gate.engine.build_docs([suite])
        failed = set(suite.checks[0].failed.tolist())
        verdict = _judge(rows, [i in failed for i in range(len(rows))], start, end, floor, held)
    if store:
        from infra_review.quality.store import upsert_result

        with conn.cursor() as cur:
            upsert_result(
                cur,
                batch_key=f"review:{start.isoformat()}/{end.isoformat()}",
                suite="window.coverage",
                window_start=start,
                window_end=end,
                success=verdict.success,
                statistics={
                    "series": len(verdict.series),
                    "failed_series": sum(1 for v in verdict.series if not v.passed),
                    "floor": floor,
                },
                results=[asdict(v) for v in verdict.series if not v.passed],
                data_docs_url=suite.docs_url if suite is not None else None,
            )
    return verdict

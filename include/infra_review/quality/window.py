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
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from infra_review.summary import window_summary


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


def window_verdict(
    conn,
    start: datetime,
    end: datetime,
    *,
    servers: list[str] | None = None,
    floor: float = 0.90,
    engine: str | None = None,
    store: bool = False,
) -> WindowVerdict:
    """Coverage per series over [start, end); ``engine`` None (plain comparison), "gx" or
    "pandas" runs the coverage suite; ``store`` upserts the verdict into quality_results."""
    summary = window_summary(conn, start, end, servers=servers)
    quarantined = _quarantined(conn, start, end, servers)
    below = summary["coverage"] < floor if len(summary) else []
    suite = None
    if engine is not None and len(summary):
        from infra_review.quality import checks
        from infra_review.quality.gate import QualityGate

        gate = QualityGate(engine=engine, floor=floor)
        frame = summary.reset_index(drop=True)
        suite = gate.engine.run(
            "window.coverage", checks.coverage_checks(), frame, {"floor": floor}
        )
        gate.engine.build_docs([suite])
        failed = set(suite.checks[0].failed.tolist())
        below = [i in failed for i in range(len(frame))]
        summary = frame
    verdicts = []
    for row, is_below in zip(summary.itertuples(index=False), below, strict=True):
        reasons = []
        if is_below:
            reasons.append(
                f"coverage {row.coverage:.1%} below the floor {floor:.0%} "
                f"({row.samples} of {row.expected} expected samples)"
            )
        q = quarantined.get((row.server, row.metric, row.label), 0)
        if q and reasons:
            reasons.append(f"{q} sample(s) of this series were quarantined by the quality gate")
        verdicts.append(
            SeriesVerdict(
                server=row.server,
                metric=row.metric,
                label=row.label,
                samples=int(row.samples),
                expected=int(row.expected),
                coverage=float(row.coverage),
                passed=not reasons,
                reasons=reasons,
                quarantined=int(q),
            )
        )
    verdict = WindowVerdict(start=start, end=end, floor=floor, series=verdicts)
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
                    "series": len(verdicts),
                    "failed_series": sum(1 for v in verdicts if not v.passed),
                    "floor": floor,
                },
                results=[asdict(v) for v in verdicts if not v.passed],
                data_docs_url=suite.docs_url if suite is not None else None,
            )
    return verdict


def _quarantined(conn, start: datetime, end: datetime, servers: list[str] | None) -> dict:
    with conn.cursor() as cur:
        cur.execute(
            """SELECT server, metric, coalesce(label, ''), count(*)
               FROM infra_review.quarantine
               WHERE ts >= %(start)s AND ts < %(end)s AND metric IS NOT NULL
                 AND (%(servers)s::text[] IS NULL OR server = ANY(%(servers)s))
               GROUP BY 1, 2, 3""",
            {"start": start, "end": end, "servers": servers},
        )
        return {(r[0], r[1], r[2]): int(r[3]) for r in cur.fetchall()}

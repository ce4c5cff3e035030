"""Review-time quality verdict: does each series cover the review window well enough? A
series below the floor (criteria.yaml ``defaults.coverage_floor``) fails, and every
criterion that needs it becomes ``insufficient_data`` instead of a silent decision.

Coverage is over time, not a count (DESIGN.md, "Real monitoring data"): the share of the
window holding data at the series' own cadence, measured from its timestamps
(``timeseries.cadence``: the median spacing per UTC day, following a change of interval).
Each sample stands for the time to the next one, at most one cadence and a half, so twenty
dense days never pass the floor, and a whole quarter of 5-minute data passes whatever
fleet.yaml assumes.

The cadence is measured from the rows read and frozen with the verdict, never stored on
the series (one number cannot follow a change). ``series.cadence_s`` and fleet.yaml's
interval are defaults for a series too thin to measure and cross-checks (more than 50% away:
a ``notes`` entry; the measurement still counts). Quarantined rows are named in a failing
verdict's reasons; ``engine="gx"`` checks the floor with Great Expectations.
``coverage_verdict`` is pure; ``window_verdict`` reads the rows itself (one binary COPY)
and gives the same verdict.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from infra_review.fleet import Fleet
from infra_review.timeseries import cadence as cad
from infra_review.timeseries.runs import moment_us

DEFAULT_INTERVAL_S = 60  # servers that only their samples registered (not in fleet.yaml)


@dataclass(frozen=True)
class SeriesTime:
    """What the gate needs of one series in the window: its stored rows, the time they cover
    at the series' measured cadence, and that cadence (pure numbers, JSON-able)."""

    samples: int  # rows stored in the window (NaN rows included: they were stored)
    covered_s: float  # seconds of the window holding data at the series' cadence
    expected: int  # samples the window would hold at that cadence, day by day
    cadence_s: float  # the typical measured cadence (or the fallback when unmeasurable)
    # the coarsest day's cadence, reported; the gap rule follows the cadence day by day
    # (``Cadence.gap_at``) and judges no hole against this one number
    gap_cadence_s: float
    cadence_source: str  # measured | recorded | default
    recorded_s: int | None = None  # the cadence the series' collector recorded, if any
    cadence_changes: list[dict[str, Any]] = field(default_factory=list)


# (server, metric, label) -> what the gate needs of that series
Counts = dict[tuple[str, str, str], SeriesTime]


def measure_series(
    ts_us: np.ndarray,
    start: datetime,
    end: datetime,
    *,
    nan_rows: int = 0,
    recorded_s: int | None = None,
) -> SeriesTime:
    """Pure: measure a series' cadence and covered time in [start, end) from its sorted,
    unique timestamps without NaN (a ``CleanSeries``); samples outside the window are left
    out. ``recorded_s`` (series.cadence_s) stands in only when fewer than two samples."""
    start_us, end_us = moment_us(start), moment_us(end)
    ts_us = np.asarray(ts_us, dtype=np.int64)
    lo, hi = np.searchsorted(ts_us, [start_us, end_us], side="left")
    inside = ts_us[lo:hi]
    fallback, source = (recorded_s, "recorded") if recorded_s else (DEFAULT_INTERVAL_S, "default")
    measured = cad.measure(inside, fallback_s=float(fallback), fallback_source=source)
    return SeriesTime(
        samples=int(len(inside) + nan_rows),
        covered_s=cad.covered_s(inside, start_us, end_us, measured),
        expected=cad.expected_samples(start_us, end_us, measured),
        cadence_s=measured.typical_s,
        gap_cadence_s=measured.longest_s,
        cadence_source=measured.source,
        recorded_s=int(recorded_s) if recorded_s else None,
        cadence_changes=measured.changes() if measured.measured else [],
    )


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
    # measured from the series' own timestamps (None in verdicts stored before they were)
    cadence_s: float | None = None
    gap_cadence_s: float | None = None
    cadence_source: str | None = None
    configured_s: float | None = None  # what the measurement was cross-checked against
    covered_h: float | None = None
    window_h: float | None = None
    cadence_changes: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # reported, never failing (cross-check)


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
            "notes": [n for s in found for n in s.notes],
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
    """Each series with samples in [start, end), measured from its rows (one binary COPY):
    the same numbers the capacity review measures from the rows it reads."""
    from infra_review.store.samples import read_series
    from infra_review.timeseries.runs import clean_series

    with conn.cursor() as cur:
        cur.execute(
            """SELECT server, metric, label, cadence_s FROM infra_review.series
               WHERE cadence_s IS NOT NULL
                 AND (%(servers)s::text[] IS NULL OR server = ANY(%(servers)s))
                 AND (%(metrics)s::text[] IS NULL OR metric = ANY(%(metrics)s))""",
            {"servers": servers, "metrics": metrics},
        )
        recorded = {(srv, m, lab): int(c) for srv, m, lab, c in cur.fetchall()}
    out = {}
    for key, (ts_us, values) in read_series(
        conn, start, end, servers=servers, metrics=metrics
    ).items():
        data = clean_series(ts_us, values, start, end)
        out[key] = measure_series(
            data.ts_us, start, end, nan_rows=data.nan_dropped, recorded_s=recorded.get(key)
        )
    return out


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
    seen: SeriesTime
    coverage: float
    window_s: float
    configured_s: float | None
    configured_from: str

    @property
    def samples(self) -> int:
        return self.seen.samples

    @property
    def expected(self) -> int:
        return self.seen.expected


def _coverage(counts: Counts, start: datetime, end: datetime, fleet: Fleet) -> list[_Coverage]:
    """Coverage over time: the covered seconds over the window's; each series is
    cross-checked against its recorded cadence, else its server's scrape interval (none
    for a server fleet.yaml does not list). Sorted by (server, metric, label)."""
    window_s = max(1e-9, (end - start).total_seconds())
    out = []
    for key in sorted(counts):
        seen = counts[key]
        server = fleet.servers.get(key[0])
        if seen.recorded_s:
            configured, source = float(seen.recorded_s), "the cadence its collector recorded"
        elif server is not None:
            configured, source = float(server.scrape_interval_s), "fleet.yaml's scrape_interval_s"
        else:
            configured, source = None, ""
        coverage = min(1.0, seen.covered_s / window_s)
        out.append(_Coverage(key, seen, coverage, window_s, configured, source))
    return out


def _notes(row: _Coverage) -> list[str]:
    seen = row.seen
    if seen.cadence_source != "measured":
        return [
            f"cadence not measurable from {seen.samples} sample(s); "
            f"{cad.describe_s(seen.cadence_s)} assumed ({seen.cadence_source})"
        ]
    notes = []
    if row.configured_s and cad.disagrees(seen.cadence_s, row.configured_s):
        notes.append(
            f"measured cadence {cad.describe_s(seen.cadence_s)} differs from "
            f"{row.configured_from} {cad.describe_s(row.configured_s)} by more than 50%; "
            "the measured cadence is used"
        )
    if len(seen.cadence_changes) > 1:
        steps = ", ".join(
            f"{cad.describe_s(c['cadence_s'])} from {c['from']}" for c in seen.cadence_changes
        )
        notes.append(f"cadence changed in the window: {steps}")
    return notes


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
        seen = row.seen
        reasons = []
        if is_below:
            reasons.append(
                f"coverage {row.coverage:.1%} below the floor {floor:.0%}: "
                f"{seen.covered_s / 3600:.1f} of {row.window_s / 3600:.0f} h hold data at the "
                f"series' cadence of {cad.describe_s(seen.cadence_s)} "
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
                cadence_s=seen.cadence_s,
                gap_cadence_s=seen.gap_cadence_s,
                cadence_source=seen.cadence_source,
                configured_s=row.configured_s,
                covered_h=round(seen.covered_s / 3600, 6),
                window_h=round(row.window_s / 3600, 6),
                cadence_changes=list(seen.cadence_changes),
                notes=_notes(row),
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
    """Pure: the verdict per series from what was measured of it (``measure_series``);
    coverage over time below ``floor`` fails."""
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
    """Coverage over time per series over [start, end), each at its measured cadence;
    ``engine`` None (plain comparison), "gx" or "pandas" runs the coverage suite; ``store``
    upserts the verdict into quality_results."""
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

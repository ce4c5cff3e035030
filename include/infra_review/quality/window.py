"""Review-time quality verdict: does each series cover the review window well enough?

A series whose coverage is below the floor (criteria.yaml ``defaults.coverage_floor``)
fails, and every criterion that needs it becomes ``insufficient_data`` instead of a silent
decision on partial data.
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
) -> WindowVerdict:
    summary = window_summary(conn, start, end, servers=servers)
    verdicts = []
    for row in summary.itertuples(index=False):
        reasons = []
        if row.coverage < floor:
            reasons.append(
                f"coverage {row.coverage:.1%} below the floor {floor:.0%} "
                f"({row.samples} of {row.expected} expected samples)"
            )
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
            )
        )
    return WindowVerdict(start=start, end=end, floor=floor, series=verdicts)

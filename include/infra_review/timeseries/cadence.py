"""A series' cadence, measured from its own timestamps, and its coverage of a window over time.

Why measured: an import or an export carries no promise about its interval, and the fleet's
``scrape_interval_s`` is only what the servers were meant to do. Judged against an assumed
60 s, a quarter of 5-minute CloudWatch data reads as 20% coverage and every sample as its own
run; judged against an assumed 300 s, 20 dense days of 60 s data read as a full quarter. So
each series' cadence comes from its own spacing (DESIGN.md, "Real monitoring data"):

* **Per UTC day, the median spacing** between consecutive samples (the spacing belongs to
  the day of its later sample). A median ignores the odd missed scrape, late sample or hole,
  and a day is short enough that a change of scrape interval mid-quarter is followed from
  the day it happens. A day with fewer than ``MIN_DAY_SPACINGS`` spacings is too thin to
  say anything and borrows the cadence of the nearest measured day before it (the first
  measured day for the days before that); a series with no such day at all is measured by
  the median spacing of the whole window.
* **Coverage is time, not a count.** Each sample stands for the time from it to the next
  sample, at most one cadence and a half (the half interval of slack of the gap rule, so
  jitter never loses coverage and a hole loses its length); coverage is that covered time
  over the window. Twenty dense days in a 92-day quarter cover 22% of it, however many
  samples they hold.
* **The gap rule follows the cadence too** (``gap_at``): a hole is judged against the
  cadence of its day, except on the days around a change (the measured day before, the day
  of and the day after a day whose cadence differs), where the coarser of them stands: a
  day's median cannot say at which hour the change happened, and a stretch scraped every
  5 min must never be split into single samples by the 60 s of the day it changed in. So a
  series at 300 s then 60 s tolerates a missed 300 s scrape in its first part and splits at
  a 3-minute hole in its second, more than a day from the change.
* **The fleet's interval is a cross-check**, not the truth: ``disagrees`` says when the
  measured and configured cadence are more than 50% apart (the larger above 1.5 times the
  smaller), and the review reports it while it keeps using the measurement.

Everything here is pure numpy over sorted, unique UTC epoch microseconds (``CleanSeries``
timestamps), O(n) per series: the review measures the rows it has just read, so measuring
costs no second pass over PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from infra_review.timeseries.runs import GAP_SLACK_INTERVALS, US_PER_S, to_datetime

DAY_US = 86_400 * US_PER_S
MIN_DAY_SPACINGS = 12  # fewer spacings than this in a UTC day: too thin to measure that day
DISAGREEMENT_RATIO = 1.5  # measured vs configured cadence further apart than this is reported
_EMPTY_I = np.array([], dtype=np.int64)
_EMPTY_F = np.array([], dtype="float64")


@dataclass(frozen=True)
class Cadence:
    """The cadence of one series: one value per measured UTC day (ascending days).

    ``day_us`` holds each measured day's midnight (epoch microseconds, UTC) and ``day_s`` its
    median spacing in seconds. When nothing could be measured (fewer than two samples) both
    are empty and ``fallback_s`` (the collector's recorded cadence, else the fleet's
    interval) stands in, with ``source`` saying which.
    """

    day_us: np.ndarray
    day_s: np.ndarray
    fallback_s: float
    source: str = "measured"  # measured | recorded | fleet | default

    @property
    def measured(self) -> bool:
        return len(self.day_s) > 0

    @property
    def typical_s(self) -> float:
        """The cadence on most measured days (the lower median of the days' cadences, so it
        is a value some day really had); the one compared with the configured interval."""
        if not self.measured:
            return self.fallback_s
        return float(np.sort(self.day_s)[(len(self.day_s) - 1) // 2])

    @property
    def longest_s(self) -> float:
        """The coarsest day's cadence (reported with the gate's verdict as ``gap_cadence_s``);
        the gap rule itself follows the cadence day by day (``gap_at``)."""
        return float(self.day_s.max()) if self.measured else self.fallback_s

    def at(self, ts_us: np.ndarray) -> np.ndarray:
        """The cadence in seconds in force at each of the sorted timestamps (its day's, else
        the nearest measured day's before it, else the first measured day's)."""
        return self._per_sample(self.day_s, ts_us)

    def gap_days(self) -> np.ndarray:
        """Per measured day, the cadence its holes are judged against: the coarsest of the
        day and its measured neighbours (the same as ``day_s`` where it did not change)."""
        days = self.day_s
        if len(days) < 2:
            return days
        out = days.copy()
        np.maximum(out[1:], days[:-1], out=out[1:])
        np.maximum(out[:-1], days[1:], out=out[:-1])
        return out

    def gap_at(self, ts_us: np.ndarray) -> np.ndarray:
        """Per sorted timestamp, the interval its gap is judged against (``gap_days``)."""
        return self._per_sample(self.gap_days(), ts_us)

    def _per_sample(self, per_day: np.ndarray, ts_us: np.ndarray) -> np.ndarray:
        ts_us = np.asarray(ts_us, dtype=np.int64)
        if not self.measured or not len(ts_us):
            return np.full(len(ts_us), self.fallback_s)
        # one value per calendar day spanned, repeated over that day's samples: O(n) with no
        # per-sample search (a quarter's 132,480 samples in well under a millisecond)
        days = np.arange(int(_day_of(ts_us[:1])[0]), int(ts_us[-1]) + 1, DAY_US, dtype=np.int64)
        idx = np.clip(np.searchsorted(self.day_us, days, side="right") - 1, 0, len(per_day) - 1)
        bounds = np.concatenate(([0], np.searchsorted(ts_us, days[1:]), [len(ts_us)]))
        return np.repeat(per_day[idx], np.diff(bounds))

    def changes(self, limit: int = 20) -> list[dict[str, Any]]:
        """Where the cadence changed by more than ``DISAGREEMENT_RATIO`` from the day before:
        ``[{"from": day, "cadence_s": s}, ...]``, starting with the first measured day."""
        out: list[dict[str, Any]] = []
        current = None
        for day, value in zip(self.day_us.tolist(), self.day_s.tolist(), strict=True):
            if current is None or _ratio(value, current) > DISAGREEMENT_RATIO:
                out.append({"from": to_datetime(day).date().isoformat(), "cadence_s": value})
            current = value
        return out[:limit]


def _day_of(ts_us: np.ndarray) -> np.ndarray:
    return (np.asarray(ts_us, dtype=np.int64) // DAY_US) * DAY_US


def _ratio(a: float, b: float) -> float:
    lo, hi = min(a, b), max(a, b)
    return float("inf") if lo <= 0 else hi / lo


def measure(
    ts_us: np.ndarray, *, fallback_s: float = 60.0, fallback_source: str = "default"
) -> Cadence:
    """The series' cadence from its sorted, unique timestamps: the median spacing per UTC day
    (days with at least ``MIN_DAY_SPACINGS`` spacings), else the median spacing of all of
    them, else ``fallback_s`` (fewer than two samples)."""
    ts_us = np.asarray(ts_us, dtype=np.int64)
    if len(ts_us) < 2:
        return Cadence(_EMPTY_I, _EMPTY_F, float(fallback_s), fallback_source)
    spacing = np.diff(ts_us)
    later = ts_us[1:]  # a spacing belongs to the day of its later sample
    first = int(_day_of(later[:1])[0])
    day = np.arange(first, int(later[-1]) + 1, DAY_US, dtype=np.int64)
    bounds = np.concatenate(([0], np.searchsorted(later, day[1:]), [len(spacing)]))
    days, values = [], []
    for i, (a, b) in enumerate(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)):
        if b - a >= MIN_DAY_SPACINGS:
            days.append(int(day[i]))
            values.append(_median(spacing[a:b]) / US_PER_S)
    if not days:  # too thin for any one day: the window's median spacing
        days, values = [first], [_median(spacing) / US_PER_S]
    return Cadence(np.array(days, dtype=np.int64), np.array(values, dtype="float64"), fallback_s)


def _median(part: np.ndarray) -> float:
    """np.median without its copy: ``part`` is a slice of a scratch array, reordered."""
    k = len(part) // 2
    if len(part) % 2:
        part.partition(k)
        return float(part[k])
    part.partition((k - 1, k))
    return (float(part[k - 1]) + float(part[k])) / 2


def covered_s(ts_us: np.ndarray, start_us: int, end_us: int, cadence: Cadence) -> float:
    """Seconds of [start, end) that hold data at the series' cadence: each sample in the
    window stands for the time to the next sample (or the window's end), at most one cadence
    and a half, so jitter loses nothing and a hole loses its length."""
    ts_us = np.asarray(ts_us, dtype=np.int64)
    lo, hi = np.searchsorted(ts_us, [start_us, end_us], side="left")
    ts = ts_us[lo:hi]
    if not len(ts):
        return 0.0
    reach = cadence.at(ts) * ((1 + GAP_SLACK_INTERVALS) * US_PER_S)
    following = np.empty_like(ts)
    following[:-1] = ts[1:]
    following[-1] = end_us
    return float(np.minimum(following - ts, reach).sum()) / US_PER_S


def expected_samples(start_us: int, end_us: int, cadence: Cadence) -> int:
    """Samples the window would hold at the series' cadence, day by day (a day without a
    measurement at the cadence in force for it), for people reading the evidence."""
    if end_us <= start_us:
        return 0
    first = int(_day_of(np.array([start_us]))[0])
    edges = np.arange(first, end_us + DAY_US, DAY_US, dtype=np.int64)
    edges = np.clip(edges, start_us, end_us)
    lengths_s = np.diff(edges) / US_PER_S
    per_day = lengths_s / cadence.at(edges[:-1])
    return int(round(float(per_day.sum())))


def disagrees(measured_s: float, configured_s: float | None) -> bool:
    """True when the measured and configured cadences are more than ``DISAGREEMENT_RATIO``
    apart (300 s against 60 s; 20 s against 60 s; not 75 s against 60 s)."""
    if not configured_s or measured_s <= 0:
        return False
    return _ratio(float(measured_s), float(configured_s)) > DISAGREEMENT_RATIO


def describe_s(seconds: float) -> str:
    """``60 s``, ``5 min``, ``1.5 s``: a cadence for a sentence."""
    if seconds >= 60 and abs(seconds / 60 - round(seconds / 60)) < 1e-9:
        return f"{round(seconds / 60)} min"
    return f"{seconds:g} s"

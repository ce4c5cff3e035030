"""Runs of consecutive samples that satisfy a condition, with the gap rule of DESIGN.md.

"Above X for more than D continuously" is decided here, vectorised with numpy:

* a run is a maximal sequence of consecutive samples that all satisfy the condition;
* a sample that does not satisfy it ends the run (a value exactly at the threshold is not
  above it);
* a gap between two consecutive samples longer than ``gap_tolerance_intervals`` scrape
  intervals plus half an interval of slack ends the run too (the gap is the time from one
  sample to the next, so with the default of 2 intervals one missing scrape is tolerated
  whatever the timestamps' jitter, up to 2.5 intervals, and two missing scrapes, 3
  intervals, never are);
* NaN is a missing sample, not a value: it is dropped and counts toward the gap;
* a run's length is last-above minus first-above plus one interval (each sample stands for
  the interval it closes).

The interval is one number for the whole series, or one per sample (an array aligned with
the timestamps: the cadence in force at each, so a series scraped every 5 min and then every
minute is judged at 5 min in the first part and at 1 min in the second). Per sample, a gap
is judged against the coarser interval of its two samples and a run's length adds the
interval its first sample closes; an array of equal intervals gives exactly what the scalar
gives. ``gap_interval_s`` judges holes against other intervals than the ones lengths count
(the review's gap cadence, coarser on the days around a change of cadence).

Runs are judged whole across window edges in ``timeseries/edges.py``.

Timestamps are converted to UTC epoch microseconds first, so daylight-saving time and input
offsets never shift or stretch a run; input without a time zone is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from infra_review.errors import InputError

US_PER_S = 1_000_000
GAP_SLACK_INTERVALS = 0.5  # half an interval of slack: scrape jitter never splits a run
_COMPARATORS = {
    ">": np.greater,
    ">=": np.greater_equal,
    "<": np.less,
    "<=": np.less_equal,
}


def epoch_us(ts: Any) -> np.ndarray:
    """Timestamps (Series, Index, array or list of tz-aware values) as UTC epoch microseconds."""
    if isinstance(ts, np.ndarray) and ts.dtype == np.int64:
        return ts
    index = pd.DatetimeIndex(ts)
    if index.tz is None and len(index):
        raise InputError("timestamps without a time zone: give them in UTC or with an offset")
    return index.as_unit("us").asi8.astype(np.int64, copy=False)


def to_datetime(us: int | np.integer) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(us))


def compare(values: np.ndarray, comparator: str, threshold: float) -> np.ndarray:
    """Elementwise ``values <comparator> threshold``; NaN never satisfies it."""
    try:
        op = _COMPARATORS[comparator]
    except KeyError:
        raise InputError(
            f"unknown comparator {comparator!r}; expected one of {sorted(_COMPARATORS)}",
            field="comparator",
        ) from None
    with np.errstate(invalid="ignore"):
        return op(values, threshold)


def compare_scalar(value: float, comparator: str, threshold: float) -> bool:
    return bool(compare(np.array([float(value)]), comparator, threshold)[0])


@dataclass(frozen=True)
class CleanSeries:
    """A series sorted by time, inside the window, without NaN or duplicate timestamps.

    ``lookback_ts_us`` / ``lookback_values`` are the samples read before the window (from
    ``lookback_from_us``), cleaned the same way and kept apart: ``len``, the coverage gate and
    every statistic of the window see the window only; the run criteria add them back
    (``with_lookback``) so a run that began before the window is judged whole.
    ``lookahead_ts_us`` / ``lookahead_values`` are samples read after the window (up to
    ``lookahead_to_us``), kept apart the same way: only an as-of join reads them (the n8n
    active series, so a waiting sample at the window's end finds the same active sample
    whichever review judges it); no run is ever judged on them."""

    ts_us: np.ndarray
    values: np.ndarray
    nan_dropped: int = 0
    duplicates_dropped: int = 0
    outside_window: int = 0
    lookback_ts_us: np.ndarray | None = None
    lookback_values: np.ndarray | None = None
    lookback_from_us: int | None = None
    lookahead_ts_us: np.ndarray | None = None
    lookahead_values: np.ndarray | None = None
    lookahead_to_us: int | None = None

    def __len__(self) -> int:
        return len(self.ts_us)

    @property
    def lookback_samples(self) -> int:
        return 0 if self.lookback_ts_us is None else len(self.lookback_ts_us)

    def with_lookback(self) -> tuple[np.ndarray, np.ndarray]:
        """(ts_us, values) of the look-back followed by the window (both sorted, disjoint)."""
        if not self.lookback_samples:
            return self.ts_us, self.values
        return (
            np.concatenate((self.lookback_ts_us, self.ts_us)),
            np.concatenate((self.lookback_values, self.values)),
        )

    @property
    def lookahead_samples(self) -> int:
        return 0 if self.lookahead_ts_us is None else len(self.lookahead_ts_us)

    def with_lookahead(self) -> tuple[np.ndarray, np.ndarray]:
        """(ts_us, values) of the look-back, the window and the look-ahead: for matching
        another series' samples by time only, never for judging runs."""
        ts, values = self.with_lookback()
        if not self.lookahead_samples:
            return ts, values
        return (
            np.concatenate((ts, self.lookahead_ts_us)),
            np.concatenate((values, self.lookahead_values)),
        )


def clean_series(
    ts: Any,
    values: Any,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    lookback_from: datetime | None = None,
    lookahead_to: datetime | None = None,
) -> CleanSeries:
    """Sort, keep [window_start, window_end), drop NaN and duplicate timestamps (first wins).
    With ``lookback_from`` (and ``window_start``), the samples in [lookback_from,
    window_start) are kept apart as the series' look-back, cleaned the same way; with
    ``lookahead_to`` (and ``window_end``), those in [window_end, lookahead_to) as its
    look-ahead."""
    ts_us = epoch_us(ts)
    vals = np.asarray(values, dtype="float64")
    if len(ts_us) != len(vals):
        raise ValueError("ts and values differ in length")
    if len(ts_us) > 1 and np.any(ts_us[1:] < ts_us[:-1]):
        order = np.argsort(ts_us, kind="stable")
        ts_us, vals = ts_us[order], vals[order]
    outside = 0
    before = after = None
    if window_start is not None or window_end is not None:
        lo = 0 if window_start is None else np.searchsorted(ts_us, moment_us(window_start), "left")
        hi = (
            len(ts_us)
            if window_end is None
            else np.searchsorted(ts_us, moment_us(window_end), "left")
        )
        if lookback_from is not None and window_start is not None:
            back = min(int(np.searchsorted(ts_us, moment_us(lookback_from), "left")), int(lo))
            before = _clean(ts_us[back:lo], vals[back:lo])
        else:
            back = int(lo)
        ahead = int(hi)
        if lookahead_to is not None and window_end is not None:
            ahead = max(int(np.searchsorted(ts_us, moment_us(lookahead_to), "left")), int(hi))
            after = _clean(ts_us[hi:ahead], vals[hi:ahead])
        outside = len(ts_us) - (ahead - back)
        ts_us, vals = ts_us[lo:hi], vals[lo:hi]
    ts_us, vals, nan_dropped, duplicates = _clean(ts_us, vals)
    extra: dict[str, Any] = {}
    if before is not None:
        extra.update(
            lookback_ts_us=before[0],
            lookback_values=before[1],
            lookback_from_us=moment_us(lookback_from),
        )
    if after is not None:
        extra.update(
            lookahead_ts_us=after[0],
            lookahead_values=after[1],
            lookahead_to_us=moment_us(lookahead_to),
        )
    return CleanSeries(ts_us, vals, nan_dropped, duplicates, outside, **extra)


def _clean(ts_us: np.ndarray, vals: np.ndarray) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Drop NaN and duplicate timestamps (first wins) from a sorted series."""
    finite = ~np.isnan(vals)
    nan_dropped = int(len(vals) - np.count_nonzero(finite))
    if nan_dropped:
        ts_us, vals = ts_us[finite], vals[finite]
    duplicates = 0
    if len(ts_us) > 1:
        keep = np.empty(len(ts_us), dtype=bool)
        keep[0] = True
        np.not_equal(ts_us[1:], ts_us[:-1], out=keep[1:])
        duplicates = int(len(ts_us) - np.count_nonzero(keep))
        if duplicates:
            ts_us, vals = ts_us[keep], vals[keep]
    return ts_us, vals, nan_dropped, duplicates


def moment_us(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise InputError(f"timestamp {moment.isoformat()} has no time zone offset")
    return int(epoch_us([moment])[0])


Interval = float | np.ndarray  # seconds: one for the series, or one per sample


@dataclass(frozen=True)
class Runs:
    """The runs found in one series; arrays are aligned, one element per run."""

    start_us: np.ndarray  # first sample of the run
    end_us: np.ndarray  # last sample of the run
    samples: np.ndarray
    peak: np.ndarray  # the most extreme value in the run (max, or min for < and <=)
    lead_us: np.ndarray  # the interval the run's first sample closes (its share of the length)
    # the interval each sample closes: one for all (int), or per sample of the series the
    # runs were found in (aligned with its timestamps)
    intervals_us: int | np.ndarray = 0
    # the longest spacing that would have joined an unseen earlier sample to the series'
    # first sample (its hole): a run there may have begun before the samples read
    first_hole_us: int = 0

    @property
    def duration_us(self) -> np.ndarray:
        return self.end_us - self.start_us + self.lead_us

    def interval_at(self, i: int) -> int:
        """The interval (microseconds) that sample ``i`` of the series closes."""
        if isinstance(self.intervals_us, np.ndarray):
            return int(self.intervals_us[i])
        return int(self.intervals_us)

    def __len__(self) -> int:
        return len(self.start_us)

    def longer_than(self, duration: timedelta, *, inclusive: bool = False) -> np.ndarray:
        """Mask of runs longer than ``duration`` (or at least as long, when ``inclusive``)."""
        limit = int(duration.total_seconds() * US_PER_S)
        return self.duration_us >= limit if inclusive else self.duration_us > limit

    def longest_index(self) -> int | None:
        return int(np.argmax(self.duration_us)) if len(self) else None

    def record(self, i: int) -> dict[str, Any]:
        duration_s = int(self.duration_us[i]) / US_PER_S
        return {
            "start": to_datetime(self.start_us[i]).isoformat(),
            "end": to_datetime(self.end_us[i]).isoformat(),
            "duration_s": duration_s,
            "duration": format_duration(duration_s),
            "samples": int(self.samples[i]),
            "peak": float(self.peak[i]),
        }

    def records(self, mask: np.ndarray | None = None, limit: int = 20) -> list[dict[str, Any]]:
        """The longest runs first (up to ``limit``), as JSON-ready dicts."""
        idx = np.arange(len(self)) if mask is None else np.flatnonzero(mask)
        idx = idx[np.argsort(-self.duration_us[idx], kind="stable")][:limit]
        return [self.record(int(i)) for i in sorted(idx, key=lambda i: self.start_us[i])]

    def total_us(self) -> int:
        return int(self.duration_us.sum()) if len(self) else 0


def interval_us(interval_s: Interval, n: int | None = None) -> int | np.ndarray:
    """Seconds (a scalar, or an array with one per sample) as whole microseconds; an array
    must hold ``n`` positive values when ``n`` is given."""
    if np.ndim(interval_s) == 0:
        return int(round(float(interval_s) * US_PER_S))
    iv = np.rint(np.asarray(interval_s, dtype="float64") * US_PER_S).astype(np.int64)
    if n is not None and len(iv) != n:
        raise ValueError(f"{len(iv)} intervals for {n} timestamps")
    return iv


def hole_after_s(
    interval_s: float, gap_tolerance_intervals: float, slack_intervals: float = 0.5
) -> float:
    """The longest spacing between two samples that still continues a run, in seconds."""
    return (gap_tolerance_intervals + slack_intervals) * interval_s


def find_runs(
    ts_us: np.ndarray,
    mask: np.ndarray,
    *,
    interval_s: Interval,
    gap_tolerance_intervals: float = 2,
    values: np.ndarray | None = None,
    peak: str = "max",
    slack_intervals: float = GAP_SLACK_INTERVALS,
    gap_interval_s: Interval | None = None,
) -> Runs:
    """Runs of consecutive ``mask`` samples; ``ts_us`` sorted, unique, without NaN samples.
    Two samples further apart than ``gap_tolerance_intervals + slack_intervals`` intervals
    are in different runs (``hole_after_s``).

    ``interval_s`` is the interval each sample closes: one number, or an array aligned with
    ``ts_us`` (the cadence in force at each sample). Holes are judged against
    ``gap_interval_s`` (same forms) when given, else against ``interval_s``; per sample, a
    gap is judged against the coarser interval of the two samples around it, so a change
    of cadence never splits a run by itself."""
    ts_us = np.asarray(ts_us, dtype=np.int64)
    mask = np.asarray(mask, dtype=bool)
    n = len(ts_us)
    lengths = interval_us(interval_s, n)
    holes = lengths if gap_interval_s is None else interval_us(gap_interval_s, n)
    factor = gap_tolerance_intervals + slack_intervals
    first_hole = 0
    if n:
        first_hole = int(round(factor * int(holes[0] if isinstance(holes, np.ndarray) else holes)))
    if n == 0 or not mask.any():
        empty = np.array([], dtype=np.int64)
        return Runs(empty, empty, empty, np.array([], dtype="float64"), empty, lengths, first_hole)
    spacing = np.diff(ts_us)
    if isinstance(holes, np.ndarray):  # per sample: the coarser interval of the gap's two ends
        max_gap = np.rint(np.maximum(holes[:-1], holes[1:]) * factor).astype(np.int64)
    else:
        max_gap = int(round(factor * holes))
    close = spacing <= max_gap  # sample i+1 continues what sample i started
    joined = mask[1:] & mask[:-1] & close  # i and i+1 are in the same run
    starts = np.flatnonzero(mask & ~np.concatenate(([False], joined)))
    ends = np.flatnonzero(mask & ~np.concatenate((joined, [False])))
    if values is None:
        peaks = np.full(len(starts), np.nan)
    else:
        reduce = np.maximum if peak == "max" else np.minimum
        peaks = _peaks_within(np.asarray(values, dtype="float64"), starts, ends, reduce)
    lead = lengths[starts] if isinstance(lengths, np.ndarray) else np.full(len(starts), lengths)
    return Runs(ts_us[starts], ts_us[ends], ends - starts + 1, peaks, lead, lengths, first_hole)


def _peaks_within(values: np.ndarray, starts: np.ndarray, ends: np.ndarray, reduce) -> np.ndarray:
    """Reduce values[start:end+1] per run: reduceat over the interleaved bounds."""
    bounds = np.empty(2 * len(starts), dtype=np.int64)
    bounds[0::2] = starts
    bounds[1::2] = ends + 1
    if bounds[-1] >= len(values):
        padded = np.append(values, values[-1])
        return reduce.reduceat(padded, bounds)[0::2]
    return reduce.reduceat(values, bounds)[0::2]


def format_duration(seconds: float, lang: str = "en") -> str:
    """``30 h 0 min``, ``45 min``, ``4 d 3 h 0 min`` (``30 ч 0 мин`` in Russian); whole days
    only from 72 hours on, so a 30-hour run reads as 30 hours."""
    d, h, m = ("d", "h", "min") if lang == "en" else ("д", "ч", "мин")
    minutes = int(round(seconds / 60))
    days, rem = divmod(minutes, 1440) if minutes >= 72 * 60 else (0, minutes)
    hours, mins = divmod(rem, 60)
    if days:
        return f"{days} {d} {hours} {h} {mins} {m}"
    if hours:
        return f"{hours} {h} {mins} {m}"
    return f"{mins} {m}"


def asof_match(
    left_us: np.ndarray, right_us: np.ndarray, tolerance_us: int | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For each ``left`` time, the index of the nearest ``right`` time (both sorted) within
    ``tolerance_us`` (the earlier one on a tie), and whether there was one: two series
    scraped a few seconds apart are joined by time, never by exact timestamp. The tolerance
    is one number or one per ``left`` time (the cadence in force there)."""
    left_us = np.asarray(left_us, dtype=np.int64)
    right_us = np.asarray(right_us, dtype=np.int64)
    if not len(right_us):
        return np.zeros(len(left_us), dtype=np.int64), np.zeros(len(left_us), dtype=bool)
    after = np.clip(np.searchsorted(right_us, left_us), 0, len(right_us) - 1)
    before = np.clip(after - 1, 0, len(right_us) - 1)
    d_after = np.abs(right_us[after] - left_us)
    d_before = np.abs(left_us - right_us[before])
    idx = np.where(d_before <= d_after, before, after)
    return idx, np.minimum(d_before, d_after) <= tolerance_us

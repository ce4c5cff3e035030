"""Bucketed statistics (hourly means, hourly or daily percentiles) and the linear forecast
behind the ``watch`` decision; all vectorised over a time-sorted series.

Percentiles interpolate linearly between order statistics, the same definition as
PostgreSQL's ``percentile_cont`` and numpy's default, so numbers in evidence agree with SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from infra_review.timeseries.runs import US_PER_S, epoch_us, to_datetime

HOUR_US = 3600 * US_PER_S
DAY_US = 86400 * US_PER_S
MIN_FORECAST_DAYS = 14  # fewer days with data than this: no trend is fitted
MAX_CROSSING_DAYS = 36500  # crossings further than 100 years away are reported as never


@dataclass(frozen=True)
class Buckets:
    """One row per non-empty bucket: its start, sample count and the statistic."""

    start_us: np.ndarray
    count: np.ndarray
    value: np.ndarray

    def __len__(self) -> int:
        return len(self.start_us)


def _bucket_bounds(ts_us: np.ndarray, width_us: int, origin_us: int) -> tuple[np.ndarray, ...]:
    keys = (ts_us - origin_us) // width_us
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    counts = np.diff(np.append(starts, len(keys)))
    return keys, starts, counts


def bucket_mean(
    ts_us: np.ndarray, values: np.ndarray, width_us: int = HOUR_US, origin_us: int = 0
) -> Buckets:
    """Mean per bucket of a time-sorted series (buckets aligned to ``origin_us``)."""
    if len(ts_us) == 0:
        return _empty()
    keys, starts, counts = _bucket_bounds(ts_us, width_us, origin_us)
    sums = np.add.reduceat(values, starts)
    return Buckets(keys[starts] * width_us + origin_us, counts, sums / counts)


def bucket_max(
    ts_us: np.ndarray, values: np.ndarray, width_us: int = HOUR_US, origin_us: int = 0
) -> Buckets:
    if len(ts_us) == 0:
        return _empty()
    keys, starts, counts = _bucket_bounds(ts_us, width_us, origin_us)
    return Buckets(keys[starts] * width_us + origin_us, counts, np.maximum.reduceat(values, starts))


def bucket_quantile(
    ts_us: np.ndarray,
    values: np.ndarray,
    q: float,
    width_us: int = HOUR_US,
    origin_us: int = 0,
) -> Buckets:
    """Percentile ``q`` (0..1) per bucket, interpolated like ``percentile_cont``."""
    if len(ts_us) == 0:
        return _empty()
    keys, starts, counts = _bucket_bounds(ts_us, width_us, origin_us)
    ordered = _sorted_within(values, starts, counts)
    pos = (counts - 1) * q
    lo = np.floor(pos).astype(np.int64)
    hi = np.ceil(pos).astype(np.int64)
    frac = pos - lo
    low = ordered[starts + lo]
    high = ordered[starts + hi]
    return Buckets(keys[starts] * width_us + origin_us, counts, low + (high - low) * frac)


def _sorted_within(values: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``values`` with each bucket's slice sorted. Buckets of a time series are small and
    similar (60 minutes, 1 440 per day), so a padded 2-D sort along rows is O(n log c) and
    several times faster than a global lexsort; odd shapes fall back to the lexsort."""
    n, nb, widest = len(values), len(starts), int(counts.max())
    if nb * widest > 4 * n:
        keys = np.repeat(np.arange(nb), counts)
        return values[np.lexsort((values, keys))]
    grid = np.full((nb, widest), np.inf)
    rows = np.repeat(np.arange(nb), counts)
    cols = np.arange(n) - np.repeat(starts, counts)
    grid[rows, cols] = values
    grid.sort(axis=1)  # +inf padding sorts last, so each row starts with its own values
    return grid[rows, cols]


def _empty() -> Buckets:
    empty = np.array([], dtype=np.int64)
    return Buckets(empty, empty, np.array([], dtype="float64"))


def rolling_min(values: np.ndarray, k: int) -> np.ndarray:
    """``out[i] = min(values[i:i+k])`` for every full window, in O(n) (van Herk / Gil-Werman:
    block prefix and suffix minima), so a quarter at 1-minute cadence with k = 1 440 is cheap."""
    x = np.asarray(values, dtype="float64")
    n = len(x)
    if k <= 1:
        return x.copy()
    if n < k:
        return np.array([], dtype="float64")
    blocks = -(-n // k)
    padded = np.full(blocks * k, np.inf)
    padded[:n] = x
    grid = padded.reshape(blocks, k)
    prefix = np.minimum.accumulate(grid, axis=1).ravel()
    suffix = np.minimum.accumulate(grid[:, ::-1], axis=1)[:, ::-1].ravel()
    return np.minimum(suffix[: n - k + 1], prefix[k - 1 : n])


def sustained_level(
    ts_us: np.ndarray,
    values: np.ndarray,
    k: int | np.ndarray,
    hole_after_us: int | np.ndarray,
    origin_us: int = 0,
    width_us: int = DAY_US,
) -> Buckets:
    """Per day, the highest level the series held for ``k`` consecutive samples without a
    hole (a window that spans a hole does not count): a value-domain view of "above X for
    D in a row". It is above X exactly on the days a run above X lasts D (``k`` samples), so
    its trend is the trend of what a sustained criterion judges, and short bursts, however
    high, never raise it. A day whose windows all span holes has no value.

    Where the cadence changes, ``k`` is one per sample (the samples D takes at the cadence
    in force where a window starts) and ``hole_after_us`` one per gap (``len(ts_us) - 1``)."""
    ts_us = np.asarray(ts_us, dtype=np.int64)
    values = np.asarray(values, dtype="float64")
    breaks = np.diff(ts_us) > np.asarray(hole_after_us)
    holes = np.concatenate(([0], np.cumsum(breaks)))
    if np.ndim(k) == 0:
        k = max(1, int(k))
        lows = rolling_min(values, k)
        if not len(lows):
            return _empty()
        whole = holes[k - 1 :] - holes[: len(lows)] == 0
        keep = whole & np.isfinite(lows)
        if not keep.any():
            return _empty()
        return bucket_max(ts_us[: len(lows)][keep], lows[keep], width_us, origin_us)
    k = np.maximum(1, np.asarray(k, dtype=np.int64))
    level = np.full(len(values), np.nan)
    for kk in np.unique(k).tolist():  # one rolling minimum per cadence: a few at most
        lows = rolling_min(values, kk)
        at = np.flatnonzero(k[: len(lows)] == kk)
        whole = holes[at + kk - 1] - holes[at] == 0
        level[at[whole]] = lows[at[whole]]
    keep = np.isfinite(level)
    if not keep.any():
        return _empty()
    return bucket_max(ts_us[keep], level[keep], width_us, origin_us)


FORECAST_TOLERANCE = 1e-6  # relative: a line at the threshold within this is not beyond it


def beyond(value: float, comparator: str, threshold: float) -> bool:
    """``value comparator threshold`` with a tolerance, so float noise (a flat series at
    exactly 85.0 fitted as 85.00000000000003) is never "already beyond" a strict ``>``."""
    tol = FORECAST_TOLERANCE * max(1.0, abs(threshold))
    return {
        ">": value > threshold + tol,
        ">=": value >= threshold - tol,
        "<": value < threshold - tol,
        "<=": value <= threshold + tol,
    }[comparator]


@dataclass(frozen=True)
class Forecast:
    """A straight line through daily values, and where it meets the threshold."""

    days_used: int
    slope_per_day: float | None
    fitted_at_end: float | None
    threshold: float
    crossing: datetime | None  # when the line reaches the threshold (None: never, or falling)
    horizon_end: datetime
    within_horizon: bool  # reaches it on or before horizon_end (already above counts)
    projected_at_horizon: float | None
    reason: str = ""
    comparator: str = ">"
    already_beyond: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "comparator": self.comparator,
            "already_beyond": self.already_beyond,
            "days_used": self.days_used,
            "slope_per_day": self.slope_per_day,
            "fitted_at_end": self.fitted_at_end,
            "threshold": self.threshold,
            "crossing": self.crossing.isoformat() if self.crossing else None,
            "horizon_end": self.horizon_end.isoformat(),
            "within_horizon": self.within_horizon,
            "projected_at_horizon": self.projected_at_horizon,
            "reason": self.reason,
        }


def linear_forecast(
    day_start_us: np.ndarray,
    daily: np.ndarray,
    threshold: float,
    window_end: datetime,
    horizon: timedelta,
    *,
    rising: bool = True,
    comparator: str | None = None,
) -> Forecast:
    """Fit ``daily`` (one value per day, at each day's midpoint) with a least-squares line and
    say whether it meets ``comparator threshold`` (the criterion's own, with a tolerance) by
    ``window_end + horizon``. ``rising=False`` (or a ``<`` comparator) is for criteria met
    below a threshold. A crossing is never in the past: a line already beyond the threshold
    at the window's end says so and has no crossing date."""
    comparator = comparator or (">" if rising else "<")
    rising = comparator.startswith(">")
    horizon_end = window_end + horizon
    n = len(daily)
    if n < MIN_FORECAST_DAYS:
        return Forecast(
            n,
            None,
            None,
            threshold,
            None,
            horizon_end,
            False,
            None,
            f"only {n} day(s) with data; a trend needs {MIN_FORECAST_DAYS}",
            comparator,
        )
    x = (np.asarray(day_start_us, dtype="float64") + DAY_US / 2) / DAY_US  # days since epoch
    y = np.asarray(daily, dtype="float64")
    x0 = x.mean()
    slope, intercept = np.polyfit(x - x0, y, 1)
    end_x = epoch_us([window_end])[0] / DAY_US
    horizon_x = epoch_us([horizon_end])[0] / DAY_US
    fitted_end = float(intercept + slope * (end_x - x0))
    projected = float(intercept + slope * (horizon_x - x0))
    sign = 1.0 if rising else -1.0
    already = beyond(fitted_end, comparator, threshold)
    crossing = None
    flat = abs(slope) * max(1.0, float(np.ptp(x))) <= 1e-9 * max(1.0, abs(threshold))
    if not already and sign * slope > 0 and not flat:
        cross_x = x0 + (threshold - intercept) / slope
        # never in the past; a line that flat (100 years away) never matters
        if end_x < cross_x and cross_x - end_x < MAX_CROSSING_DAYS:
            crossing = to_datetime(int(round(cross_x * DAY_US)))
    within = already or (crossing is not None and crossing <= horizon_end)
    if already:
        reason = "the trend line is already beyond the threshold at the end of the window"
    elif crossing is None:
        reason = "the trend is flat or moving away from the threshold"
    elif within:
        reason = f"the trend line reaches the threshold on {crossing:%Y-%m-%d}"
    else:
        reason = f"the trend line reaches the threshold only on {crossing:%Y-%m-%d}"
    return Forecast(
        n,
        float(slope),
        fitted_end,
        threshold,
        crossing,
        horizon_end,
        bool(within),
        projected,
        reason,
        comparator,
        bool(already),
    )

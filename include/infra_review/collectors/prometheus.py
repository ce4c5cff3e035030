"""Prometheus HTTP API (``/api/v1/query_range``): the real samples of [start, end).

The queries (PromQL per canonical metric, overridable in fleet.yaml) are in
``prometheus_queries.py``, the HTTP client and the paging in ``prometheus_client.py``; this
module turns their answers into samples. Every name callers used is still importable here.

Only real samples are stored. ``query_range`` fills every step from the newest sample in its
5-minute lookback, so a hole of up to 5 minutes, the minutes after a target died, and a
window reaching into the future all come back as repeats. Each query therefore names its
``sample`` selector, the series it reads, and the page also fetches that selector's raw
samples (a range-vector query, so their own timestamps): a point is kept once, at its
sample's own time, and a step with no sample within the lookback is dropped. (PromQL's
``timestamp()`` would say the same, but Prometheus 2.42 evaluates it some 50 times slower.)
A computed expression is evaluated on a grid as fine as its samples' spacing (down to a
quarter step), so two jittered samples within one step are both kept (``evaluation_pages``).
A window ending after ``clock.now()`` is refused.

Prometheus refuses more than 11,000 points per series in one query, so a long range is
split into pages of at most ``max_points`` steps on the grid ``start + k * step``; the grid
runs one step past ``end`` so a sample just before ``end`` is seen, and a sample belongs to
the interval that holds its own time, so adjacent intervals never share one.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from infra_review.collectors.common import empty_frame, seconds
from infra_review.collectors.prometheus_client import MAX_POINTS, PrometheusClient, pages
from infra_review.collectors.prometheus_queries import (
    DEFAULT_QUERIES,
    OPTIONAL_QUERIES,
    Query,
    queries,
    sample_of,
    step_seconds,
)
from infra_review.errors import InputError

__all__ = [
    "DEFAULT_QUERIES",
    "LOOKBACK_S",
    "MAX_POINTS",
    "OPTIONAL_QUERIES",
    "PrometheusClient",
    "Query",
    "check_window",
    "collect",
    "evaluation_pages",
    "pages",
    "queries",
    "real_samples",
    "sample_of",
    "samples_in",
    "step_seconds",
]

LOOKBACK_S = 300.0  # Prometheus's --query.lookback-delta (5m by default); ``lookback`` overrides


def real_samples(
    steps: np.ndarray,
    values: np.ndarray,
    raw: np.ndarray,
    start: float,
    end: float,
    lookback: float = LOOKBACK_S,
) -> tuple[np.ndarray, np.ndarray]:
    """(sample time in ms, value) of each real sample with ``start <= time < end``.

    ``steps``/``values`` are the expression's evaluations (sorted by step), ``raw`` the
    times of the samples it reads. A step's sample is the newest raw sample within the
    lookback; a step without one gives nothing, and a step whose sample an earlier step
    already gave is a lookback repeat. So each sample is kept once, at its own time, with the
    value of the first step that saw it.
    """
    raw = np.unique(raw)
    if not len(raw) or not len(steps):
        return np.empty(0, "int64"), np.empty(0, "float64")
    index = np.searchsorted(raw, steps, side="right") - 1
    seen = raw[np.clip(index, 0, None)]
    ok = (index >= 0) & (steps - seen < lookback)
    seen, vals = seen[ok], values[ok]
    first = np.r_[True, seen[1:] != seen[:-1]] if len(seen) else np.empty(0, bool)
    keep = first & (seen >= start) & (seen < end)
    return np.round(seen[keep] * 1000).astype("int64"), vals[keep].astype("float64")


def evaluation_pages(
    times: np.ndarray, first: float, last: float, step: float, max_points: int
) -> list[tuple[float, float, float]]:
    """(first, last, step) of the ``query_range`` calls that evaluate a computed expression
    over the page ``first..last`` (and up to the next page's first step), given the times of
    the page's raw samples (``times``).

    One evaluation keeps only the newest sample before it, so two samples within one step
    (scrapes jittered around the grid) would lose the older one. The evaluation step is
    therefore the smallest spacing of the page's raw samples, no finer than a quarter of
    ``step`` (which bounds the extra points to 4x): every sample then is the newest at some
    evaluation, while its spacing is at least a quarter of the step."""
    gaps = np.diff(np.unique(times))
    gaps = gaps[gaps > 0]
    fine = min(step, max(step / 4, float(gaps.min()))) if len(gaps) else step
    if fine >= step:
        return [(first, last, step)]
    count = math.ceil((last + step - first) / fine - 1e-9)  # up to the next page's first step
    out = []
    for offset in range(0, count, max_points):
        last_k = min(offset + max_points, count) - 1
        out.append((first + offset * fine, first + last_k * fine, fine))
    return out


def samples_in(
    times: np.ndarray, values: np.ndarray, start: datetime, end: datetime
) -> tuple[np.ndarray, np.ndarray]:
    """Raw samples with ``start <= time < end``, once each (pages overlap by the lookback)."""
    ts_ms = np.round(times * 1000).astype("int64")
    ts_ms, first = np.unique(ts_ms, return_index=True)
    keep = (ts_ms >= round(start.timestamp() * 1000)) & (ts_ms < round(end.timestamp() * 1000))
    return ts_ms[keep], values[first][keep].astype("float64")


def check_window(end: datetime, now: datetime | None = None) -> None:
    """Refuse a window that ends after now: Prometheus would answer the future with the last
    value repeated for up to 5 minutes, and those steps are not samples."""
    from infra_review import clock

    now = now or clock.now()
    if end > now:
        raise InputError(
            f"the window ends at {end.isoformat()}, after now ({now.isoformat()}); "
            "collect only up to the present",
            field="end",
        )


def collect(server: str, source: dict[str, Any], start: datetime, end: datetime) -> pd.DataFrame:
    """Every configured metric's real samples in [start, end), each at its own timestamp.

    Each page asks for the expression on the step grid, which runs one step past ``end`` so
    a sample just before ``end`` is seen in its own interval, and for the raw samples of its
    ``sample`` selector. Lookback repeats and points after a series stopped are dropped.
    """
    check_window(end)
    step = step_seconds(source)
    max_points = int(source.get("max_points", MAX_POINTS))
    if not 1 <= max_points <= MAX_POINTS:
        raise InputError(f"max_points must be in 1..{MAX_POINTS}", field="max_points")
    lookback = seconds(source.get("lookback"), LOOKBACK_S, "lookback")
    client = PrometheusClient(source)
    grid = pages(start, end + timedelta(seconds=step), step, max_points)
    frames = []
    for q in queries(server, source):

        def key_of(labels: dict, q: Query = q) -> str:
            return (labels.get(q.label, "") if q.label else q.label_value) or ""

        # a bare selector is its own sample series: its raw samples are the answer, exact
        # whatever the step (two samples in one step would otherwise keep only the newer)
        direct = q.expr.strip() == q.sample.strip()
        values: dict[str, list[np.ndarray]] = {}
        raw: dict[str, list[np.ndarray]] = {}
        for first, last in grid:
            samples = client.raw_samples(q.sample, first, last, lookback)
            if direct:
                answers = [samples]
            else:
                # several series per key (one per CPU): any of them holds a sample
                page_raw = [
                    (key_of(series["metric"]), np.array(series["values"], dtype="float64")[:, 0])
                    for series in samples
                    if series["values"]
                ]
                for key, times in page_raw:
                    raw.setdefault(key, []).append(times)
                page_times = np.concatenate([t for _, t in page_raw]) if page_raw else np.empty(0)
                answers = [
                    client.query_range(q.expr, a, b, s)
                    for a, b, s in evaluation_pages(page_times, first, last, step, max_points)
                ]
            for page in answers:
                keys = [key_of(series["metric"]) for series in page]
                if len(set(keys)) != len(keys):
                    raise InputError(
                        f"the {q.metric} query returns several series with the same label; "
                        "aggregate them in PromQL (sum by/max by) or choose another label: "
                        f"{q.expr}",
                        field=f"metrics.{q.metric}",
                    )
                for key, series in zip(keys, page, strict=True):
                    values.setdefault(key, []).append(np.array(series["values"], dtype="float64"))
        for label, parts in values.items():
            table = np.concatenate(parts)
            if direct:
                ts_ms, vals = samples_in(table[:, 0], table[:, 1], start, end)
            else:
                times = raw.get(label, raw.get("", []) if len(raw) == 1 else [])
                ts_ms, vals = real_samples(
                    table[:, 0],
                    table[:, 1],
                    np.concatenate(times) if times else np.empty(0),
                    start.timestamp(),
                    end.timestamp(),
                    lookback,
                )
            if not len(ts_ms):
                continue
            frames.append(
                pd.DataFrame(
                    {
                        "ts": pd.to_datetime(ts_ms, unit="ms", utc=True).as_unit("us"),
                        "server": server,
                        "metric": q.metric,
                        "label": label,
                        # "NaN" and "+Inf" parse to floats: the quality gate quarantines them
                        "value": vals,
                    }
                )
            )
    if not frames:
        return empty_frame()
    return pd.concat(frames, ignore_index=True)

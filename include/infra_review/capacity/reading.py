"""How far around its window a capacity review reads each series (the look-back before it, the
look-ahead after it), sized from the cadence measured in the rows read, and stored with the
review so that a recomputation reads exactly the same rows (``Reach``).

Runs are judged whole across the window's start (``timeseries/edges.py``): each run criterion
asks for its duration plus slack before the window (``Criterion.lookback``, ``lookback_for``:
the slack is the larger of an hour and two holes at the cadence asked for). Two holes at the
series' real cadence are what keep a breach from being counted twice: a run that began
before the read is seen from a sample within one hole of the read's start and appears to pass
its duration within one more hole after that, still before the window, so the previous review
counted it and this one lists it as carried over. The cadence is only known once rows are
read, and a CSV export records none (60 s assumed: 25 h for ``ram.sustained``, while hourly
samples need 29 h), so a review:

1. reads at the coarsest cadence known beforehand (fleet.yaml's interval and the cadences
   the collectors recorded, ``initial_interval_s``);
2. measures the cadence in the rows read as the gap rule judges them (``start_cadence_s``:
   the coarsest gap cadence over the look-back and the window's first sample;
   ``end_cadence_s``: at the window's last sample);
3. where that asks for more, reads the missing rows once more (only those metrics, only that
   stretch before or after the first read) and judges everything on the longer reach.

The bound: the look-back covers the coarsest cadence measured in the first read. Rows the
extension brings that are coarser still are not measured again; a run that began before even
the extended read is then never counted in the window (``EdgeRuns.before_read``), so no
breach is ever counted twice, and at worst (a cadence coarser than the first read showed, in
the extension itself) such a run is counted by neither review and its evidence says it was
carried over without a crossing time.

The look-ahead: ``cpu.n8n_queue`` joins each waiting sample to the active sample nearest in
time within one cadence, so the review of the quarter before reads the active series one
cadence past its end; nothing read after the window is ever judged as a run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from infra_review.capacity.criteria.common import CAPACITY_METRICS
from infra_review.capacity.criteria.sustained import lookaheads, lookbacks
from infra_review.quality.window import DEFAULT_INTERVAL_S
from infra_review.quarter import Quarter
from infra_review.store.samples import read_series
from infra_review.timeseries import cadence as cad
from infra_review.timeseries.runs import CleanSeries, clean_series, moment_us

Raw = dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]  # (metric, label) -> (ts_us, values)
Reader = Callable[[datetime, datetime, list[str]], Raw]  # rows in [start, end) of the metrics
_NONE = timedelta(0)
_MEASURE_DAYS = 3 * cad.DAY_US  # the days measured beside an edge (a change day's neighbours)


@dataclass(frozen=True)
class Reach:
    """Per metric, how far before the window (``back``) and after it (``ahead``) was read."""

    back: dict[str, timedelta]
    ahead: dict[str, timedelta]

    def to_dict(self) -> dict[str, Any]:
        return {
            "lookback_s": {m: t.total_seconds() for m, t in sorted(self.back.items()) if t},
            "lookahead_s": {m: t.total_seconds() for m, t in sorted(self.ahead.items()) if t},
        }

    @classmethod
    def from_stored(cls, stored: dict[str, Any], quarter: Quarter) -> Reach:
        """The reach a stored review read: its ``reach``; for a review stored with a look-back
        before the reach was stored, the look-back its fingerprints name; else none (a review
        stored before the look-back existed read the window only)."""
        doc = stored.get("reach")
        if doc is not None:
            return cls(
                {m: timedelta(seconds=float(s)) for m, s in doc.get("lookback_s", {}).items()},
                {m: timedelta(seconds=float(s)) for m, s in doc.get("lookahead_s", {}).items()},
            )
        back: dict[str, timedelta] = {}
        for key, fp in (stored.get("fingerprints") or {}).items():
            start = (fp.get("lookback") or {}).get("from")
            if start:
                metric = key.split("|", 1)[0]
                t = quarter.start - datetime.fromisoformat(start)
                back[metric] = max(back.get(metric, _NONE), t)
        return cls(back, {})


def reach_of(series: dict[tuple[str, str], CleanSeries], quarter: Quarter) -> Reach:
    """The reach the series were read with (what a review stores for its recomputation)."""
    start_us, end_us = moment_us(quarter.start), moment_us(quarter.end)
    back: dict[str, timedelta] = {}
    ahead: dict[str, timedelta] = {}
    for (metric, _), data in series.items():
        if data.lookback_from_us is not None and data.lookback_from_us < start_us:
            t = timedelta(microseconds=start_us - data.lookback_from_us)
            back[metric] = max(back.get(metric, _NONE), t)
        if data.lookahead_to_us is not None and data.lookahead_to_us > end_us:
            t = timedelta(microseconds=data.lookahead_to_us - end_us)
            ahead[metric] = max(ahead.get(metric, _NONE), t)
    return Reach(back, ahead)


def reader_of(conn, server: str) -> Reader:
    """Rows of the server's series from PostgreSQL (one binary COPY per call)."""

    def read(start: datetime, end: datetime, metrics: list[str]) -> Raw:
        raw = read_series(conn, start, end, servers=[server], metrics=metrics)
        return {(metric, label): v for (_, metric, label), v in raw.items()}

    return read


def initial_interval_s(
    metadata: dict[str, Any], recorded: dict[tuple[str, str], int] | None = None
) -> float:
    """The coarsest cadence known before reading: fleet.yaml's interval and the cadences the
    collectors recorded (``series.cadence_s``)."""
    return max(
        [float(metadata.get("scrape_interval_s") or DEFAULT_INTERVAL_S)]
        + [float(c) for c in (recorded or {}).values() if c]
    )


def read_lookback(
    rules: dict[str, Any],
    defaults: dict[str, Any],
    metadata: dict[str, Any],
    cadence: dict[tuple[str, str], int] | None = None,
) -> dict[str, timedelta]:
    """Per metric, the look-back of the first read (``initial_interval_s``)."""
    return lookbacks(rules, defaults, initial_interval_s(metadata, cadence))


def start_cadence_s(data: CleanSeries, fallback_s: float) -> float | None:
    """The coarsest cadence the gap rule judges the look-back's samples and the window's
    first sample against (``Cadence.gap_at``, measured over them and the days beside them)."""
    ts = data.with_lookback()[0]
    if not len(ts):
        return None
    head = ts[: min(data.lookback_samples + 1, len(ts))]
    span = ts[: int(np.searchsorted(ts, int(head[-1]) + _MEASURE_DAYS, "right"))]
    c = cad.measure(span, fallback_s=float(fallback_s), fallback_source="recorded")
    return float(c.gap_at(head).max())


def end_cadence_s(data: CleanSeries, fallback_s: float) -> float | None:
    """The cadence the gap rule judges the window's last sample against."""
    ts = data.ts_us
    if not len(ts):
        return None
    span = ts[int(np.searchsorted(ts, int(ts[-1]) - _MEASURE_DAYS, "left")) :]
    c = cad.measure(span, fallback_s=float(fallback_s), fallback_source="recorded")
    return float(c.gap_at(ts[-1:])[0])


def clean_all(
    raw: Raw, quarter: Quarter, reach: Reach, only: set[str] | None = None
) -> dict[tuple[str, str], CleanSeries]:
    """Each series' window, with its metric's look-back and look-ahead kept apart."""
    out = {}
    for (metric, label), (ts_us, values) in raw.items():
        if only is not None and metric not in only:
            continue
        back, ahead = reach.back.get(metric, _NONE), reach.ahead.get(metric, _NONE)
        out[(metric, label)] = clean_series(
            ts_us,
            values,
            quarter.start,
            quarter.end,
            quarter.start - back if back > _NONE else None,
            quarter.end + ahead if ahead > _NONE else None,
        )
    return out


def read_reach(read: Reader, quarter: Quarter, reach: Reach) -> dict[tuple[str, str], CleanSeries]:
    """The series in the window with exactly ``reach`` around it (one read)."""
    start = quarter.start - max(reach.back.values(), default=_NONE)
    end = quarter.end + max(reach.ahead.values(), default=_NONE)
    return clean_all(read(start, end, list(CAPACITY_METRICS)), quarter, reach)


def read_sized(
    read: Reader,
    quarter: Quarter,
    rules: dict[str, Any],
    defaults: dict[str, Any],
    metadata: dict[str, Any],
    recorded: dict[tuple[str, str], int] | None = None,
) -> tuple[dict[tuple[str, str], CleanSeries], Reach]:
    """The series with the reach their run criteria need at the cadence measured in the rows
    read (see the module's docstring), and that reach (stored with the review)."""
    interval = initial_interval_s(metadata, recorded)
    first = Reach(lookbacks(rules, defaults, interval), lookaheads(rules, defaults, interval))
    lo = quarter.start - max(first.back.values(), default=_NONE)
    hi = quarter.end + max(first.ahead.values(), default=_NONE)
    raw = read(lo, hi, list(CAPACITY_METRICS))
    series = clean_all(raw, quarter, first)
    at_start: dict[str, float] = {}
    at_end: dict[str, float] = {}
    for (metric, label), data in series.items():
        fallback = float((recorded or {}).get((metric, label)) or interval)
        for out, fn in ((at_start, start_cadence_s), (at_end, end_cadence_s)):
            value = fn(data, fallback)
            if value is not None:
                out[metric] = max(out.get(metric, 0.0), value)
    need = Reach(
        _longer(first.back, lookbacks(rules, defaults, interval, at_start)),
        _longer(first.ahead, lookaheads(rules, defaults, interval, at_end)),
    )
    if need == first:
        return series, first
    before = [m for m, t in need.back.items() if quarter.start - t < lo]
    after = [m for m, t in need.ahead.items() if quarter.end + t > hi]
    if before:  # the rows before the first read, once, for the metrics that need them
        older = read(quarter.start - max(need.back[m] for m in before), lo, sorted(before))
        raw = _joined(older, raw)
    if after:
        newer = read(hi, quarter.end + max(need.ahead[m] for m in after), sorted(after))
        raw = _joined(raw, newer)
    changed = {m for m in set(need.back) | set(need.ahead) if _differs(first, need, m)}
    series.update(clean_all(raw, quarter, need, changed))
    return series, need


def _longer(a: dict[str, timedelta], b: dict[str, timedelta]) -> dict[str, timedelta]:
    return {m: max(a.get(m, _NONE), b.get(m, _NONE)) for m in set(a) | set(b)}


def _differs(a: Reach, b: Reach, metric: str) -> bool:
    return a.back.get(metric) != b.back.get(metric) or a.ahead.get(metric) != b.ahead.get(metric)


def _joined(earlier: Raw, later: Raw) -> Raw:
    """Rows of two reads of disjoint stretches, the earlier first (both sorted by time)."""
    out = dict(later)
    for key, (ts, values) in earlier.items():
        if key in later:
            ts2, values2 = later[key]
            out[key] = (np.concatenate((ts, ts2)), np.concatenate((values, values2)))
        else:
            out[key] = (ts, values)
    return out

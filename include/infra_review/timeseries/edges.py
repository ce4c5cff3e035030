"""Runs are judged whole across window edges (``judge_edges`` here): a review reads the criterion's
duration plus some slack before its window (the look-back, kept apart in ``CleanSeries`` so
coverage and every other statistic see the window only), a run that began before the window
continues into it, and a run counts in the window in which it passes its duration (the
sample at which an alert would fire), so consecutive reviews count each breach exactly once.

A run that begins at the first sample read, within one hole of where the read began, may
have begun before the read (``start_unknown``): its real start, and so the moment it passed
its duration, may be earlier than the samples show. When a look-back was read it is never
counted in the window: the look-back is the duration plus at least one hole (sized from the
cadence measured in the rows read, ``capacity/reading.py``), so such a run passed its
duration before the window and the earlier review counted it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from infra_review.timeseries.runs import (
    US_PER_S,
    Runs,
    moment_us,
    to_datetime,
)


@dataclass(frozen=True)
class EdgeRuns:
    """Runs of a series read with a look-back, judged against the window [start, end).

    A run *passes its duration* at the first of its samples at which its length (as
    ``Runs.duration_us`` counts it) is more than the duration (at least, when inclusive): the
    moment an alert would fire. It is *counted* in the window that holds that moment, so a
    run over a window edge is counted by exactly one of two consecutive reviews; a run that
    passed it before the window and goes on into it is *carried over* (listed, not counted
    again). Runs that end before the window are the look-back's only and ignored.
    """

    runs: Runs
    ts_us: np.ndarray  # the samples the runs were found in (look-back and window)
    crossed_us: np.ndarray  # where ``crosses``: the sample at which the run passed its duration
    crosses: np.ndarray
    window_start_us: int
    window_end_us: int
    read_from_us: int  # where the read began: the look-back's start, else the window's

    @property
    def in_window(self) -> np.ndarray:
        """Runs with a sample inside the window."""
        return (self.runs.end_us >= self.window_start_us) & (
            self.runs.start_us < self.window_end_us
        )

    @property
    def start_unknown(self) -> np.ndarray:
        """Runs that begin at the first sample read, close enough to the read's start that
        an unseen earlier sample would have continued them (within the first sample's hole,
        ``Runs.first_hole_us``): they may have begun before the samples read."""
        if not len(self.runs) or not len(self.ts_us):
            return np.zeros(len(self.runs), dtype=bool)
        first = int(self.ts_us[0])
        near = first - self.read_from_us < max(int(self.runs.first_hole_us), 1)
        return (self.runs.start_us == first) & near

    @property
    def before_read(self) -> np.ndarray:
        """Start-unknown runs of a review that read a look-back: never counted here (they
        passed their duration before the window; see the module's docstring)."""
        if self.read_from_us >= self.window_start_us:
            return np.zeros(len(self.runs), dtype=bool)
        return self.start_unknown

    @property
    def counted(self) -> np.ndarray:
        """Runs that passed their duration inside the window: this window's breaches."""
        c = self.crossed_us
        inside = (c >= self.window_start_us) & (c < self.window_end_us)
        return self.crosses & inside & ~self.before_read

    @property
    def carried(self) -> np.ndarray:
        """Runs that passed their duration before the window and go on into it."""
        early = (self.crossed_us < self.window_start_us) | self.before_read
        return self.crosses & early & self.in_window

    @property
    def own(self) -> np.ndarray:
        """The runs this window judges: inside it and not counted by an earlier window."""
        return self.in_window & ~self.carried

    def in_window_us(self, i: int | None = None) -> np.ndarray | int:
        """Each run's length inside the window (its samples from the window start on), or
        run ``i``'s. A run that began before the window is counted from the window's first
        sample, which stands for the interval it closes."""
        if not len(self.runs) or not len(self.ts_us):
            return np.zeros(len(self.runs), dtype=np.int64) if i is None else 0
        first = min(
            int(np.searchsorted(self.ts_us, self.window_start_us, "left")), len(self.ts_us) - 1
        )
        first_in = int(self.ts_us[first])
        first_lead = self.runs.interval_at(first)
        if i is not None:
            began_in = int(self.runs.start_us[i]) >= first_in
            start = int(self.runs.start_us[i]) if began_in else first_in
            lead = int(self.runs.lead_us[i]) if began_in else first_lead
            length = int(self.runs.end_us[i]) - start + lead
            inside = (
                self.runs.end_us[i] >= self.window_start_us
                and self.runs.start_us[i] < self.window_end_us
            )
            return length if inside and length > 0 else 0
        began_in = self.runs.start_us >= first_in
        start = np.where(began_in, self.runs.start_us, first_in)
        lead = np.where(began_in, self.runs.lead_us, first_lead)
        length = self.runs.end_us - start + lead
        return np.where(self.in_window & (length > 0), length, 0)

    def longest(self, mask: np.ndarray | None = None) -> int | None:
        """The longest run among ``mask`` (default: ``own``), or None."""
        idx = np.flatnonzero(self.own if mask is None else mask)
        if not len(idx):
            return None
        return int(idx[np.argmax(self.runs.duration_us[idx])])

    def record(self, i: int) -> dict[str, Any]:
        """The whole run (look-back part included), where it passed its duration and in which
        window it counts."""
        out = self.runs.record(i)
        crossed = bool(self.crosses[i])
        at = int(self.crossed_us[i])
        before = int(self.runs.start_us[i]) < self.window_start_us
        before_read = bool(self.before_read[i])
        # a run that began before the read passed its duration before the window: where the
        # samples read show it passing (inside the window) is not when it did
        shown = crossed and not (before_read and at >= self.window_start_us)
        out.update(
            {
                "threshold_crossed_at": to_datetime(at).isoformat() if shown else None,
                "began_before_window": before,
                # the first sample read: the run may have begun earlier than the read shows
                "start_unknown": bool(self.start_unknown[i]),
                # the last sample read: it may go on after the window (read no further)
                "end_unknown": bool(len(self.ts_us) and self.runs.end_us[i] == self.ts_us[-1]),
                "in_window_s": self.in_window_us(i) / US_PER_S,
                "counted_in": (
                    None
                    if not crossed
                    else "previous window"
                    if at < self.window_start_us or before_read
                    else "this window"
                    if at < self.window_end_us
                    else None
                ),
            }
        )
        return out

    def records(self, mask: np.ndarray, limit: int = 20) -> list[dict[str, Any]]:
        """The longest runs of ``mask`` first (up to ``limit``), in time order."""
        idx = np.flatnonzero(mask)
        idx = idx[np.argsort(-self.runs.duration_us[idx], kind="stable")][:limit]
        return [self.record(int(i)) for i in sorted(idx, key=lambda i: self.runs.start_us[i])]


def judge_edges(
    ts_us: np.ndarray,
    runs: Runs,
    duration: timedelta,
    *,
    inclusive: bool,
    window_start: datetime,
    window_end: datetime,
    read_from_us: int | None = None,
) -> EdgeRuns:
    """Where each run passed ``duration`` (strictly more, or at least when ``inclusive``) and
    so which window counts it; ``ts_us`` are the samples ``runs`` was found in."""
    ts_us = np.asarray(ts_us, dtype=np.int64)
    # the first sample at which last - first + lead (the run's length so far) passes it
    target = runs.start_us + int(duration.total_seconds() * US_PER_S) - runs.lead_us
    idx = np.searchsorted(ts_us, target, side="left" if inclusive else "right")
    inside = idx < len(ts_us)
    crossed = np.zeros(len(runs), dtype=np.int64)
    crossed[inside] = np.maximum(ts_us[idx[inside]], runs.start_us[inside])
    crosses = inside & (crossed <= runs.end_us)
    start_us = moment_us(window_start)
    return EdgeRuns(
        runs,
        ts_us,
        crossed,
        crosses,
        start_us,
        moment_us(window_end),
        start_us if read_from_us is None else min(int(read_from_us), start_us),
    )

"""The capacity criteria's test inputs: the 2026Q3 window at one-minute samples, the shipped
criteria, and ``series``/``server`` to build a server's inputs from arrays of values."""

from __future__ import annotations

import pandas as pd

from infra_review.capacity.criteria.common import SeriesInput, ServerInputs
from infra_review.criteria.rules import load_criteria
from infra_review.quarter import Quarter
from infra_review.timeseries.runs import clean_series

CRITERIA = load_criteria()
D = CRITERIA.defaults
Q3 = Quarter(2026, 3)
PASS = {"passed": True, "coverage": 1.0, "reasons": []}
FAIL = {"passed": False, "coverage": 0.5, "reasons": ["coverage 50.0% below the floor 90%"]}
TS = pd.date_range(Q3.start, Q3.end, freq="1min", inclusive="left")
HOURS = len(TS) // 60  # 2208


def series(metric: str, values, label: str = "", gate=PASS, ts=TS) -> SeriesInput:
    return SeriesInput(metric, label, clean_series(ts, values, Q3.start, Q3.end), gate)


def server(*items: SeriesInput, **kwargs) -> ServerInputs:
    by: dict[str, list[SeriesInput]] = {}
    for s in items:
        by.setdefault(s.metric, []).append(s)
    return ServerInputs("app-1", Q3.start, Q3.end, series=by, **kwargs)

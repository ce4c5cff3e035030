"""The checks of the batch quality gate, declared once and run by either engine.

Great Expectations (``quality.gate``) is the engine of record; ``quality.pandas_engine``
runs the same declarations in plain pandas, which the benchmark uses as its baseline and
the tests use to check that both engines quarantine the same rows.

Suites are per metric family, because the valid range is a property of the family:
percentages 0..100, counts and rates >= 0 (and finite), probes 0 or 1. Time bounds and the
cadence are suite parameters (``$PARAMETER``), so a suite is built once per task and run
for every batch with that batch's interval.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

from infra_review.contracts import LABEL_RE
from infra_review.fleet import SERVER_NAME_RE
from infra_review.metrics import METRICS

FLOAT_MAX = sys.float_info.max  # an upper bound that +inf fails, for "finite and >= 0"
SERIES_KEY = ("server", "metric", "label")


@dataclass(frozen=True)
class Check:
    """One expectation: ``kind`` is not_null, between, in_set, regex or unique."""

    id: str
    kind: str
    columns: tuple[str, ...]
    reason: str
    params: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def gx_type(self) -> str:
        return {
            "not_null": "expect_column_values_to_not_be_null",
            "between": "expect_column_values_to_be_between",
            "in_set": "expect_column_values_to_be_in_set",
            "regex": "expect_column_values_to_match_regex",
            "unique": "expect_compound_columns_to_be_unique",
        }[self.kind]

    @property
    def name(self) -> str:
        """What the quarantine table records as the failed expectation."""
        return f"{self.gx_type}:{self.id}"


@dataclass(frozen=True)
class Family:
    name: str
    metrics: tuple[str, ...]
    min_value: float | None
    max_value: float | None
    boolean: bool


def families() -> dict[str, Family]:
    """Metric families from metrics.py, grouped by their valid range."""
    groups: dict[tuple, list[str]] = {}
    for metric in METRICS.values():
        key = (metric.min_value, metric.max_value, metric.unit == "bool")
        groups.setdefault(key, []).append(metric.name)
    out = {}
    for (low, high, boolean), names in groups.items():
        if boolean:
            name = "probe"
        elif low == 0 and high == 100:
            name = "percent"
        elif low == 0 and high is None:
            name = "non_negative"
        else:
            name = f"range_{low}_{high}"
        out[name] = Family(name, tuple(sorted(names)), low, high, boolean)
    return out


def param(name: str) -> dict[str, str]:
    return {"$PARAMETER": name}


def family_checks(family: Family) -> list[Check]:
    """Row checks for one family's samples. Parameters: ts_min, ts_max, ts_future, gap_min."""
    if family.boolean:
        value_check = Check(
            "value_is_0_or_1",
            "in_set",
            ("value",),
            "a probe value must be 0 (down) or 1 (up)",
            {"value_set": [0.0, 1.0]},
        )
    else:
        low = family.min_value if family.min_value is not None else -FLOAT_MAX
        high = family.max_value if family.max_value is not None else FLOAT_MAX
        shown = f"{low:g}..{family.max_value:g}" if family.max_value is not None else f">= {low:g}"
        value_check = Check(
            "value_in_range",
            "between",
            ("value",),
            f"value out of range for {family.name} metrics ({shown}, finite)",
            {"min_value": low, "max_value": high},
        )
    return [
        Check("ts_not_null", "not_null", ("ts_s",), "timestamp missing"),
        Check("value_not_null", "not_null", ("value",), "value missing or NaN"),
        value_check,
        Check(
            "ts_in_interval",
            "between",
            ("ts_s",),
            "timestamp outside the requested interval",
            {"min_value": param("ts_min"), "max_value": param("ts_max")},
        ),
        Check(
            "ts_not_in_future",
            "between",
            ("ts_s",),
            "timestamp in the future",
            {"max_value": param("ts_future")},
        ),
        Check(
            "series_ts_unique",
            "unique",
            ("server", "metric", "label", "ts_s"),
            "duplicate (series, ts)",
        ),
        Check(
            "cadence",
            "between",
            ("gap_s",),
            "wrong cadence: closer to the previous sample of its series than the cadence allows",
            {"min_value": param("gap_min")},
        ),
    ]


def schema_checks() -> list[Check]:
    """Checks over the whole batch, before it is split by family."""
    return [
        Check(
            "metric_known",
            "in_set",
            ("metric",),
            f"unknown metric; known: {', '.join(sorted(METRICS))}",
            {"value_set": sorted(METRICS)},
        ),
        Check(
            "server_name",
            "regex",
            ("server",),
            f"bad server name (expected {SERVER_NAME_RE.pattern})",
            {"regex": SERVER_NAME_RE.pattern},
        ),
        Check(
            "label_text",
            "regex",
            ("label",),
            f"bad label (expected {LABEL_RE.pattern}: printable, no markup, at most 256)",
            {"regex": LABEL_RE.pattern},
        ),
    ]


def coverage_checks() -> list[Check]:
    """Over the per-series summary (one row per series), not over samples."""
    return [
        Check(
            "coverage_floor",
            "between",
            ("coverage",),
            "coverage below the floor: too few of the expected samples are present",
            {"min_value": param("floor")},
        )
    ]

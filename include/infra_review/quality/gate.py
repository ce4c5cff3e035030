"""The batch quality gate: validate a collected batch, split it into rows that load and rows
that go to quarantine with the expectation that failed, and record the validation.

    collect -> gate.validate(batch) -> quarantine bad rows -> load the rest -> store results

Great Expectations runs the checks (``quality.checks``); this module only prepares the
frame (epoch seconds, the gap to the previous sample of a series) and turns the failing
row indexes into quarantine rows. One gate holds one GX context, so a task builds it once
however many batches or series it validates.

Decisions the checks cannot make alone:
- A duplicate (series, ts) with the same value keeps its first row and quarantines the
  others; duplicates that disagree on the value are all quarantined, because nothing says
  which one is right.
- "Wrong cadence" is a sample closer than ``min_spacing`` (default 3/4) of the cadence to
  the previous kept sample of its series: extra samples would inflate coverage and hide
  gaps. A quarter of the cadence is left for jitter in exported timestamps.
- Coverage (present / expected samples per series) below the floor fails the batch's
  coverage suite but quarantines nothing: missing rows cannot be quarantined, and the
  review-time gate (``quality.window``) turns low coverage into ``insufficient_data``.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from infra_review import clock
from infra_review.quality import checks as c
from infra_review.quality.engines import GXEngine, PandasEngine, SuiteOutcome
from infra_review.settings import data_docs_dir

log = logging.getLogger(__name__)

FUTURE_SKEW = timedelta(minutes=5)
QUARANTINE_COLUMNS = ["server", "metric", "label", "ts", "value", "expectation", "reason"]
_EPOCH = pd.Timestamp(0, tz="UTC")


@dataclass
class GateResult:
    batch_key: str
    start: datetime
    end: datetime
    good: pd.DataFrame
    quarantine: pd.DataFrame
    suites: list[SuiteOutcome]
    coverage: pd.DataFrame
    rows_in: int = 0

    @property
    def success(self) -> bool:
        return all(s.success for s in self.suites)

    @property
    def docs_urls(self) -> dict[str, str]:
        return {s.suite: s.docs_url for s in self.suites if s.docs_url}

    def suite_record(self, suite: SuiteOutcome) -> dict[str, Any]:
        """One quality_results row: statistics and each failed expectation, JSON-able."""
        failed = []
        for o in suite.checks:
            if o.success:
                continue
            item = {
                "expectation": o.check.name,
                "columns": list(o.check.columns),
                "reason": o.check.reason,
                "unexpected_count": o.unexpected_count,
                "element_count": o.element_count,
            }
            if suite.suite.endswith(".coverage"):
                item["series"] = (
                    self.coverage.loc[o.failed, ["server", "metric", "label", "coverage"]]
                    .head(50)
                    .to_dict("records")
                )
            else:
                item["examples"] = o.details.get("partial_unexpected_list") or []
            failed.append(item)
        return {
            "suite": suite.suite,
            "success": suite.success,
            "statistics": json.loads(json.dumps(suite.statistics, default=_json)),
            "results": json.loads(json.dumps(failed, default=_json)),
            "data_docs_url": suite.docs_url,
        }

    def summary(self) -> dict[str, Any]:
        """Small and JSON-able: what a task returns through XCom."""
        return {
            "rows_in": self.rows_in,
            "rows_good": len(self.good),
            "rows_quarantined": len(self.quarantine),
            "success": self.success,
            "failed_suites": [s.suite for s in self.suites if not s.success],
            "min_coverage": float(self.coverage["coverage"].min()) if len(self.coverage) else None,
            "data_docs": self.docs_urls,
        }


def _json(value: Any) -> Any:
    if isinstance(value, float | np.floating) and not math.isfinite(value):
        return str(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, datetime | pd.Timestamp):
        return value.isoformat()
    return str(value)


def prepare(frame: pd.DataFrame) -> pd.DataFrame:
    """A clean positional index, UTC timestamps, epoch seconds and each sample's gap (s) to
    the previous usable sample of its series (NaN for the first and for unusable rows)."""
    out = frame.loc[:, ["ts", "server", "metric", "label", "value"]].reset_index(drop=True)
    out["label"] = out["label"].fillna("").astype(str)
    out["server"] = out["server"].astype(str)
    out["metric"] = out["metric"].astype(str)
    out["value"] = pd.to_numeric(out["value"], errors="coerce").astype("float64")
    ts = pd.to_datetime(out["ts"], utc=True)
    out["ts"] = ts
    # pandas 3 keeps microseconds: never divide the raw int64 by 1e9
    out["ts_s"] = (ts - _EPOCH) / pd.Timedelta(seconds=1)
    usable = out["ts_s"].notna() & np.isfinite(out["value"])
    usable &= ~out.duplicated(["server", "metric", "label", "ts_s"], keep="first")
    out["usable"] = usable
    ordered = out.loc[usable, ["server", "metric", "label", "ts_s"]].sort_values(
        ["server", "metric", "label", "ts_s"], kind="stable"
    )
    gaps = ordered.groupby(["server", "metric", "label"], sort=False)["ts_s"].diff()
    out["gap_s"] = np.nan
    out.loc[gaps.index, "gap_s"] = gaps
    return out


def spacing_gaps(data: pd.DataFrame, min_gap: float) -> pd.Series:
    """Each usable sample's distance to the previous *kept* sample of its series.

    A plain diff would also blame the good sample after a stray one (00:00, 00:30, 01:00:
    the stray 00:30 is too close, but 01:00 is exactly one cadence after 00:00). So where
    a series has a gap below ``min_gap``, its samples are walked in order, keeping a sample
    only if it is at least ``min_gap`` after the last kept one. Series without a short gap
    (the normal case) cost nothing extra.
    """
    gaps = data["gap_s"].copy()
    short = gaps < min_gap
    if min_gap <= 0 or not short.any():
        return gaps
    keys = ["server", "metric", "label"]
    usable = data[data["usable"]]
    affected = usable.loc[short[data["usable"]], keys].drop_duplicates()
    rows = usable.reset_index().merge(affected, on=keys, how="inner")
    rows = rows.sort_values([*keys, "ts_s"], kind="stable")
    for _, series in rows.groupby(keys, sort=False):
        last = None
        for index, ts in zip(series["index"].to_numpy(), series["ts_s"].to_numpy(), strict=True):
            if last is None:
                last = ts
                continue
            gaps[index] = ts - last
            if ts - last >= min_gap:
                last = ts
    return gaps


class QualityGate:
    """Validate batches; hold one engine (one GX context) for the whole task."""

    def __init__(
        self,
        *,
        engine: str = "gx",
        docs_dir: Path | None | bool = None,
        floor: float = 0.90,
        min_spacing: float = 0.75,
    ) -> None:
        if engine == "gx":
            directory = data_docs_dir() if docs_dir is None else (docs_dir or None)
            self.engine: GXEngine | PandasEngine = GXEngine(directory)  # type: ignore[arg-type]
        elif engine == "pandas":
            self.engine = PandasEngine()
        else:
            raise ValueError(f"engine must be gx or pandas, got {engine!r}")
        self.floor = floor
        self.min_spacing = min_spacing
        self._families = c.families()
        self._family_checks = {name: c.family_checks(f) for name, f in self._families.items()}

    def validate(
        self,
        frame: pd.DataFrame,
        *,
        batch_key: str,
        start: datetime,
        end: datetime,
        cadence_s: float | None,
        expected_series: list[tuple[str, str]] | None = None,
        now: datetime | None = None,
    ) -> GateResult:
        """Run every suite over the batch collected for [start, end].

        ``cadence_s`` is the seconds between samples the source promises (None for a
        snapshot source: one sample per series per run). ``expected_series`` lists
        (server, metric) pairs that should have data, so a metric that returned nothing
        shows as zero coverage instead of not at all.
        """
        now = now or clock.now()
        data = prepare(frame)
        gap_min = (cadence_s or 0.0) * self.min_spacing
        data["gap_s"] = spacing_gaps(data, gap_min)
        data = data.drop(columns="usable")
        params = {
            "ts_min": start.timestamp(),
            "ts_max": end.timestamp(),
            "ts_future": (now + FUTURE_SKEW).timestamp(),
            "gap_min": gap_min,
            "floor": self.floor,
        }
        outcomes: list[SuiteOutcome] = []
        failures: list[tuple[str, str, np.ndarray]] = []  # (expectation, reason, positions)
        if len(data):
            suites = [("samples.schema", c.schema_checks(), data)]
            family = data["metric"].map(
                {m: f.name for f in self._families.values() for m in f.metrics}
            )
            for name in sorted(self._families):
                part = data[family == name]
                if not part.empty:
                    suites.append((f"samples.{name}", self._family_checks[name], part))
            for suite, checks, part in suites:
                result = self.engine.run(suite, checks, part, params)
                outcomes.append(result)
                failures += [(o.check.name, o.check.reason, o.failed) for o in result.checks]
        quarantine, good_mask = self._split(data, failures)
        good = data.loc[good_mask, ["ts", "server", "metric", "label", "value"]]
        coverage = self._coverage(good, start, end, cadence_s, expected_series or [])
        outcomes.append(self.engine.run("samples.coverage", c.coverage_checks(), coverage, params))
        self.engine.build_docs(outcomes)
        result = GateResult(
            batch_key,
            start,
            end,
            good.reset_index(drop=True),
            quarantine,
            outcomes,
            coverage,
            rows_in=len(data),
        )
        for url in result.docs_urls.values():
            log.info("Data Docs: %s", url)
        return result

    def _split(
        self, data: pd.DataFrame, failures: list[tuple[str, str, np.ndarray]]
    ) -> tuple[pd.DataFrame, np.ndarray]:
        """Rows with every expectation they failed; duplicates resolved as the module says."""
        n = len(data)
        hits: list[tuple[str, str, np.ndarray]] = []  # (expectation, reason, row mask)
        duplicate = np.zeros(n, dtype=bool)
        other = np.zeros(n, dtype=bool)
        for name, reason, positions in failures:
            mask = np.zeros(n, dtype=bool)
            mask[positions] = True
            if name.endswith(":series_ts_unique"):
                duplicate |= mask
                dup_name, dup_reason = name, reason
            else:
                other |= mask
                hits.append((name, reason, mask))
        if duplicate.any():
            # only rows that pass everything else compete: keep the first of equal values,
            # quarantine all of a group whose values disagree
            dups = data.loc[duplicate & ~other]
            key = ["server", "metric", "label", "ts_s"]
            conflicting = (
                dups.groupby(key, sort=False)["value"].transform("nunique") > 1
            ).to_numpy()
            later = dups.duplicated(key, keep="first").to_numpy()
            for flagged, reason in (
                (later & ~conflicting, dup_reason),
                (conflicting, dup_reason + " with conflicting values"),
            ):
                mask = np.zeros(n, dtype=bool)
                mask[dups.index[flagged]] = True
                hits.append((dup_name, reason, mask))
        any_bad = np.zeros(n, dtype=bool)
        for _, _, mask in hits:
            any_bad |= mask
        idx = np.flatnonzero(any_bad)
        where = {int(p): i for i, p in enumerate(idx)}
        expectation: list[list[str]] = [[] for _ in idx]
        reason_text: list[list[str]] = [[] for _ in idx]
        for name, reason, mask in hits:
            for pos in np.flatnonzero(mask):
                expectation[where[int(pos)]].append(name)
                reason_text[where[int(pos)]].append(reason)
        quarantine = data.loc[idx, ["server", "metric", "label", "ts", "value"]].copy()
        quarantine["expectation"] = ["; ".join(e) for e in expectation]
        quarantine["reason"] = ["; ".join(r) for r in reason_text]
        return quarantine.reset_index(drop=True)[QUARANTINE_COLUMNS], ~any_bad

    def _coverage(
        self,
        good: pd.DataFrame,
        start: datetime,
        end: datetime,
        cadence_s: float | None,
        expected_series: list[tuple[str, str]],
    ) -> pd.DataFrame:
        """Per series: samples present, expected and their share (capped at 1)."""
        counts = good.groupby(["server", "metric", "label"], as_index=False).size()
        counts = counts.rename(columns={"size": "samples"})
        seen = set(zip(counts["server"], counts["metric"], strict=True))
        missing = [pair for pair in expected_series if pair not in seen]
        if missing:
            counts = pd.concat(
                [
                    counts,
                    pd.DataFrame(
                        {
                            "server": [p[0] for p in missing],
                            "metric": [p[1] for p in missing],
                            "label": "*",
                            "samples": 0,
                        }
                    ),
                ],
                ignore_index=True,
            )
        if cadence_s:
            expected = max(1, math.ceil((end - start).total_seconds() / cadence_s - 1e-9))
        else:
            expected = 1  # a snapshot source reads once per run
        counts["expected"] = expected
        counts["coverage"] = (counts["samples"] / expected).clip(upper=1.0).astype("float64")
        return counts.reset_index(drop=True)

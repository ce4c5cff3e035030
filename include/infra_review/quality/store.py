"""Writing the gate's outcome: quarantined rows and validation results, in the caller's
transaction, so they commit or roll back together with the samples they describe.

Both writes are keyed on the batch: a retry replaces the batch's quarantine rows instead
of adding to them, and quality_results is an upsert on (batch_key, suite).
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import pandas as pd

from infra_review.quality.gate import QUARANTINE_COLUMNS, GateResult


def replace_quarantine(cur, batch_key: str, source: str, rows: pd.DataFrame) -> int:
    """Delete the batch's earlier quarantine rows and COPY in ``rows``."""
    cur.execute("DELETE FROM infra_review.quarantine WHERE batch_key = %s", (batch_key,))
    if rows.empty:
        return 0
    out = rows.loc[:, QUARANTINE_COLUMNS].copy()
    ts = pd.to_datetime(out["ts"], utc=True)
    out["ts"] = ts.dt.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00").where(ts.notna(), None)
    out.insert(0, "source", source)
    out.insert(0, "batch_key", batch_key)
    buffer = io.StringIO()
    # NaN and inf are the values that failed: keep them (PostgreSQL floats accept both)
    out.to_csv(buffer, index=False, header=False, na_rep="\\N", float_format="%.17g")
    buffer.seek(0)
    cur.copy_expert(
        """COPY infra_review.quarantine
               (batch_key, source, server, metric, label, ts, value, expectation, reason)
           FROM STDIN WITH (FORMAT csv, NULL '\\N')""",
        buffer,
    )
    return len(out)


def store_results(cur, result: GateResult) -> None:
    """Upsert one quality_results row per suite of the batch, and drop the batch's rows of
    suites this attempt did not run (a retry that no longer has probe rows, say)."""
    cur.execute(
        """DELETE FROM infra_review.quality_results
           WHERE batch_key = %s AND suite LIKE 'samples.%%' AND NOT (suite = ANY(%s))""",
        (result.batch_key, [s.suite for s in result.suites]),
    )
    for suite in result.suites:
        record = result.suite_record(suite)
        upsert_result(
            cur,
            batch_key=result.batch_key,
            suite=record["suite"],
            window_start=result.start,
            window_end=result.end,
            success=record["success"],
            statistics=record["statistics"],
            results=record["results"],
            data_docs_url=record["data_docs_url"],
        )


def jsonable(value: Any) -> Any:
    """JSON that PostgreSQL accepts: NaN and infinities (the very values a gate reports)
    become strings, numpy scalars plain numbers, timestamps ISO text."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float) or hasattr(value, "item"):
        number = value.item() if hasattr(value, "item") else value
        if isinstance(number, float) and not math.isfinite(number):
            return str(number)
        return number
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def upsert_result(
    cur,
    *,
    batch_key: str,
    suite: str,
    window_start: datetime | None,
    window_end: datetime | None,
    success: bool,
    statistics: dict[str, Any],
    results: list[Any],
    data_docs_url: str | None = None,
) -> None:
    cur.execute(
        """INSERT INTO infra_review.quality_results
               (batch_key, suite, window_start, window_end, success, statistics, results,
                data_docs_url)
           VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s::jsonb, %s)
           ON CONFLICT (batch_key, suite) DO UPDATE SET
               window_start = EXCLUDED.window_start, window_end = EXCLUDED.window_end,
               success = EXCLUDED.success, statistics = EXCLUDED.statistics,
               results = EXCLUDED.results, data_docs_url = EXCLUDED.data_docs_url,
               validated_at = now()""",
        (
            batch_key,
            suite,
            window_start,
            window_end,
            success,
            json.dumps(jsonable(statistics)),
            json.dumps(jsonable(results)),
            data_docs_url,
        ),
    )


def set_cadence(cur, series: Iterable[tuple[str, str, str]], cadence_s: float) -> None:
    """Record the cadence the source promises for these (server, metric, label) series."""
    keys = list(series)
    if not keys:
        return
    cur.execute(
        """UPDATE infra_review.series s SET cadence_s = %s
           FROM unnest(%s::text[], %s::text[], %s::text[]) AS k(server, metric, label)
           WHERE s.server = k.server AND s.metric = k.metric AND s.label = k.label
             AND s.cadence_s IS DISTINCT FROM %s""",
        (
            int(round(cadence_s)),
            [k[0] for k in keys],
            [k[1] for k in keys],
            [k[2] for k in keys],
            int(round(cadence_s)),
        ),
    )

"""Bulk-load metric samples: COPY into a staging table, then merge into the partitioned store.

The merge keys on (series, ts), so a retried task or a re-imported file converges on the
same rows instead of duplicating them. The caller owns the transaction.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

SAMPLE_COLUMNS = ("ts", "server", "metric", "label", "value")


@dataclass(frozen=True)
class LoadStats:
    batch_key: str
    rows_in: int
    rows_written: int  # inserted, or updated to a different value
    series: int


_PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01T00:00:00Z in Unix microseconds
_BINARY_ROW = np.dtype(
    [
        ("fields", ">i2"),
        ("len_id", ">i4"),
        ("series_id", ">i4"),
        ("len_ts", ">i4"),
        ("ts", ">i8"),
        ("len_value", ">i4"),
        ("value", ">f8"),
    ]
)


def load_samples(
    conn,
    frame: pd.DataFrame,
    *,
    batch_key: str,
    source: str,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    rows_quarantined: int = 0,
) -> LoadStats:
    """Merge ``frame`` (columns ts, server, metric, label, value; ts tz-aware) into samples.

    One staged load (store/staging.py); a duplicate (series, ts) keeps the last row, for
    callers that skip the quality gate.
    """
    from infra_review.store.staging import SampleStage

    rows_in = len(frame)
    frame = frame.loc[:, list(SAMPLE_COLUMNS)].copy()
    frame["label"] = frame["label"].fillna("").astype(str)
    frame = frame.drop_duplicates(["server", "metric", "label", "ts"], keep="last")
    stage = SampleStage(conn)
    stage.add(frame)
    result = stage.finish(
        batch_key=batch_key,
        source=source,
        window_start=window_start,
        window_end=window_end,
        rows_quarantined=rows_quarantined,
    )
    return LoadStats(batch_key, rows_in, result.rows_written, result.series)


SeriesKey = tuple[str, str, str]  # (server, metric, label)
_READ = """
    SELECT s.series_id, s.ts, s.value FROM infra_review.samples s
    WHERE s.series_id = ANY(%(ids)s) AND s.ts >= %(start)s AND s.ts < %(end)s"""


def read_series(
    conn,
    start: datetime,
    end: datetime,
    *,
    servers: list[str] | None = None,
    metrics: list[str] | None = None,
) -> dict[SeriesKey, tuple[np.ndarray, np.ndarray]]:
    """Samples in [start, end) per series: (Unix microseconds int64, values float64), each
    sorted by time; keys in (server, metric, label) order.

    One binary COPY of (series_id, ts, value) that numpy takes as it comes; names are
    resolved once per series, not per row. For a quarter's millions of rows that is about
    four times faster than text with the names on every row.
    """
    with conn.cursor() as cur:
        cur.execute(
            """SELECT series_id, server, metric, label FROM infra_review.series
               WHERE (%(servers)s::text[] IS NULL OR server = ANY(%(servers)s))
                 AND (%(metrics)s::text[] IS NULL OR metric = ANY(%(metrics)s))
               ORDER BY server, metric, label""",
            {"servers": servers, "metrics": metrics},
        )
        names = {sid: (srv, metric, label) for sid, srv, metric, label in cur.fetchall()}
        if not names:
            return {}
        bound = cur.mogrify(_READ, {"ids": list(names), "start": start, "end": end}).decode()
        buffer = io.BytesIO()
        cur.copy_expert(f"COPY ({bound}) TO STDOUT WITH (FORMAT binary)", buffer)
    raw = buffer.getbuffer()
    if bytes(raw[:11]) != b"PGCOPY\n\xff\r\n\x00":
        raise RuntimeError("unexpected COPY BINARY header from PostgreSQL")
    first = 19 + int.from_bytes(raw[15:19], "big")  # signature, flags, header extension
    rows = np.frombuffer(raw[first : len(raw) - 2], dtype=_BINARY_ROW)
    series_id = rows["series_id"].astype(np.int64)
    ts_us = rows["ts"].astype(np.int64) + _PG_EPOCH_US
    values = rows["value"].astype(np.float64)
    del rows, raw
    buffer.close()
    if len(series_id) > 1 and (
        np.any(series_id[1:] < series_id[:-1])
        or np.any((series_id[1:] == series_id[:-1]) & (ts_us[1:] < ts_us[:-1]))
    ):
        order = np.lexsort((ts_us, series_id))  # partitions arrive one after the other
        series_id, ts_us, values = series_id[order], ts_us[order], values[order]
    ids = np.fromiter(names, dtype=np.int64, count=len(names))
    lo = np.searchsorted(series_id, ids, side="left")
    hi = np.searchsorted(series_id, ids, side="right")
    return {
        names[int(sid)]: (ts_us[a:b], values[a:b])
        for sid, a, b in zip(ids, lo, hi, strict=True)
        if b > a
    }


def read_window(
    conn,
    start: datetime,
    end: datetime,
    *,
    servers: list[str] | None = None,
    metrics: list[str] | None = None,
) -> pd.DataFrame:
    """Samples in [start, end) as a frame (ts, server, metric, label, value), sorted by
    series and time (``read_series`` as one table)."""
    series = read_series(conn, start, end, servers=servers, metrics=metrics)
    sizes = [len(ts) for ts, _ in series.values()]

    def names(i: int) -> pd.Series:
        return pd.Series(np.repeat([key[i] for key in series], sizes), dtype="str")

    ts_us = np.concatenate([ts for ts, _ in series.values()] or [np.empty(0, np.int64)])
    return pd.DataFrame(
        {
            "ts": pd.to_datetime(ts_us, unit="us", utc=True),
            "server": names(0),
            "metric": names(1),
            "label": names(2),
            "value": np.concatenate([v for _, v in series.values()] or [np.empty(0)]),
        }
    )

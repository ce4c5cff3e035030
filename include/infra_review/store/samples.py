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
_SERIES_LOCK_SPACE = 74_211_002  # first key of the per-series advisory locks
_UNIX_EPOCH = pd.Timestamp("1970-01-01", tz="UTC")
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


def copy_binary(series_id: np.ndarray, ts: pd.Series, value: np.ndarray) -> bytes:
    """Rows (int4, timestamptz, float8) in PostgreSQL's binary COPY format.

    Built with one numpy structured array: no per-row Python and no text formatting,
    which made the text CSV path spend most of its time in strftime and to_csv.
    """
    rows = np.empty(len(series_id), dtype=_BINARY_ROW)
    rows["fields"] = 3
    rows["len_id"] = 4
    rows["series_id"] = series_id
    rows["len_ts"] = 8
    unix_us = ((ts - _UNIX_EPOCH) // pd.Timedelta(microseconds=1)).to_numpy("int64")
    rows["ts"] = unix_us - _PG_EPOCH_US
    rows["len_value"] = 8
    rows["value"] = value
    header = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
    return header + rows.tobytes() + (-1).to_bytes(2, "big", signed=True)


def ensure_series(cur, keys: pd.DataFrame) -> pd.DataFrame:
    """Register unknown servers and series; return keys with their ``series_id``."""
    keys = keys[["server", "metric", "label"]].drop_duplicates().reset_index(drop=True)
    servers = sorted(keys["server"].unique().tolist())
    cur.execute(
        """INSERT INTO infra_review.servers (server, registered_from)
           SELECT unnest(%s::text[]), 'samples'
           ON CONFLICT (server) DO NOTHING""",
        (servers,),
    )
    cur.execute(
        """INSERT INTO infra_review.series (server, metric, label)
           SELECT * FROM unnest(%s::text[], %s::text[], %s::text[])
           ON CONFLICT (server, metric, label) DO NOTHING""",
        (keys["server"].tolist(), keys["metric"].tolist(), keys["label"].tolist()),
    )
    cur.execute(
        """SELECT s.series_id, s.server, s.metric, s.label
           FROM infra_review.series s
           JOIN unnest(%s::text[], %s::text[], %s::text[]) AS k(server, metric, label)
             USING (server, metric, label)""",
        (keys["server"].tolist(), keys["metric"].tolist(), keys["label"].tolist()),
    )
    ids = pd.DataFrame(cur.fetchall(), columns=["series_id", "server", "metric", "label"])
    return keys.merge(ids, on=["server", "metric", "label"], how="left")


def _merge_stage(cur, series_ids: list[int]) -> int:
    """Merge stage_samples into samples; return rows inserted or changed.

    An UPDATE of changed values plus an anti-joined INSERT is about three times faster
    than INSERT ... ON CONFLICT for a quarter-sized batch. Per-series advisory locks
    (taken in id order, so loaders cannot deadlock) keep two loaders of the same series
    from racing between the anti-join and the insert.
    """
    cur.execute(
        "SELECT pg_advisory_xact_lock(%s, id) FROM unnest(%s::int[]) AS id ORDER BY id",
        (_SERIES_LOCK_SPACE, series_ids),
    )
    cur.execute("ANALYZE stage_samples")
    cur.execute(
        """UPDATE infra_review.samples o SET value = s.value
           FROM stage_samples s
           WHERE o.series_id = s.series_id AND o.ts = s.ts AND o.value IS DISTINCT FROM s.value"""
    )
    changed = cur.rowcount
    cur.execute(
        """INSERT INTO infra_review.samples (series_id, ts, value)
           SELECT s.series_id, s.ts, s.value FROM stage_samples s
           WHERE NOT EXISTS (
               SELECT 1 FROM infra_review.samples o
               WHERE o.series_id = s.series_id AND o.ts = s.ts)
           ORDER BY s.series_id, s.ts"""
    )
    return changed + cur.rowcount


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
    """Merge ``frame`` (columns ts, server, metric, label, value; ts tz-aware) into samples."""
    rows_in = len(frame)
    written = 0
    series_count = 0
    with conn.cursor() as cur:
        if rows_in:
            frame = frame.loc[:, list(SAMPLE_COLUMNS)].copy()
            frame["label"] = frame["label"].fillna("").astype(str)
            ids = ensure_series(cur, frame)
            series_count = len(ids)
            frame = frame.merge(ids, on=["server", "metric", "label"], how="left")
            # the gate rejects duplicates; keep the loader safe for callers that skip it
            frame = frame.drop_duplicates(["series_id", "ts"], keep="last")
            cur.execute(
                "SELECT infra_review.ensure_sample_partitions(%s, %s)",
                (frame["ts"].min().to_pydatetime(), frame["ts"].max().to_pydatetime()),
            )
            cur.execute(
                """CREATE TEMP TABLE stage_samples
                       (series_id integer, ts timestamptz, value double precision)
                   ON COMMIT DROP"""
            )
            buffer = io.BytesIO(
                copy_binary(
                    frame["series_id"].to_numpy("int64"),
                    frame["ts"],
                    frame["value"].to_numpy("float64"),
                )
            )
            cur.copy_expert("COPY stage_samples FROM STDIN WITH (FORMAT binary)", buffer)
            written = _merge_stage(cur, sorted(frame["series_id"].unique().tolist()))
            cur.execute("DROP TABLE stage_samples")
        cur.execute(
            """INSERT INTO infra_review.load_batches
                   (batch_key, source, window_start, window_end, rows_in, rows_loaded,
                    rows_quarantined)
               VALUES (%s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (batch_key) DO UPDATE SET
                   source = EXCLUDED.source, window_start = EXCLUDED.window_start,
                   window_end = EXCLUDED.window_end, rows_in = EXCLUDED.rows_in,
                   rows_loaded = EXCLUDED.rows_loaded,
                   rows_quarantined = EXCLUDED.rows_quarantined, loaded_at = now()""",
            (batch_key, source, window_start, window_end, rows_in, written, rows_quarantined),
        )
    return LoadStats(batch_key, rows_in, written, series_count)


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

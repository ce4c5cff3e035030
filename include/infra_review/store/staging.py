"""Load samples in chunks through a staging table, inside the caller's transaction.

Each chunk is COPYed (binary) into a temporary table under a provisional series number, so
Python holds one chunk at a time plus one small entry per series: memory stays flat for any
file size. Only ``finish`` touches shared tables, in one fixed order that two loaders cannot
cross: partitions for the months present (in their own short transaction when a URL is
given, so a long import never holds the parent's exclusive lock), then servers and series
registered in sorted order (two imports that bring the same new series in opposite order
queue instead of deadlocking), then a bounded set of advisory locks (buckets of series ids,
never one lock per series: 20,000 new series once exhausted the lock table), then the merge.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from infra_review.errors import InputError

LOCK_BUCKETS = 64
_SERIES_LOCK_SPACE = 74_211_002  # the two-key advisory lock space of sample merges
_PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01T00:00:00Z in Unix microseconds
_UNIX_EPOCH = pd.Timestamp("1970-01-01", tz="UTC")
_SEP = "\x1f"  # joins server, metric and label into one key; the contract refuses it in values
_STAGE_ROW = np.dtype(
    [
        ("fields", ">i2"),
        ("len_id", ">i4"),
        ("local_id", ">i4"),
        ("len_ts", ">i4"),
        ("ts", ">i8"),
        ("len_value", ">i4"),
        ("value", ">f8"),
        ("len_line", ">i4"),
        ("line", ">i4"),
    ]
)
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")


@dataclass(frozen=True)
class StageResult:
    rows_in: int
    rows_written: int  # inserted, or updated to a different value
    series: int
    new_series: int


def unix_us(ts: pd.Series) -> np.ndarray:
    return ((ts - _UNIX_EPOCH) // pd.Timedelta(microseconds=1)).to_numpy("int64")


class SampleStage:
    """Stage chunks of (ts, server, metric, label, value) and merge them once at the end."""

    def __init__(self, conn, *, partitions_url: str | None = None, file: str | None = None):
        self.conn = conn
        self.partitions_url = partitions_url
        self.file = file
        self.keys: dict[str, int] = {}
        self.first_line: list[int] = []
        self.tmin = np.empty(0, dtype=np.int64)
        self.tmax = np.empty(0, dtype=np.int64)
        self.overlapping: set[int] = set()  # series whose chunks' time ranges meet
        self.months: set[tuple[int, int]] = set()
        self.rows = 0
        with conn.cursor() as cur:
            cur.execute(
                """CREATE TEMP TABLE stage_samples
                       (local_id integer, ts timestamptz, value double precision, line integer)
                   ON COMMIT DROP"""
            )

    def add(self, frame: pd.DataFrame, lines: np.ndarray | None = None) -> None:
        n = len(frame)
        if n == 0:
            return
        if lines is None:
            lines = np.arange(self.rows + 2, self.rows + 2 + n)
        # one integer per (server, metric, label) from three factorisations: joining the
        # strings row by row took longer than validating them
        c_srv, u_srv = pd.factorize(frame["server"], sort=False)
        c_met, u_met = pd.factorize(frame["metric"], sort=False)
        c_lab, u_lab = pd.factorize(frame["label"].fillna(""), sort=False)
        combined = (c_srv.astype(np.int64) * len(u_met) + c_met) * len(u_lab) + c_lab
        codes, combos = pd.factorize(combined, sort=False)
        uniques = [
            f"{u_srv[k // (len(u_met) * len(u_lab))]}{_SEP}{u_met[k // len(u_lab) % len(u_met)]}"
            f"{_SEP}{u_lab[k % len(u_lab)]}"
            for k in combos.tolist()
        ]
        _, first_pos = np.unique(codes, return_index=True)
        ids = np.empty(len(uniques), dtype=np.int64)
        grown = []
        for i, k in enumerate(uniques):
            local = self.keys.get(k)
            if local is None:
                local = len(self.keys)
                self.keys[k] = local
                self.first_line.append(int(lines[first_pos[i]]))
                grown.append(local)
            ids[i] = local
        if grown:
            extra = len(self.keys) - len(self.tmin)
            self.tmin = np.concatenate([self.tmin, np.full(extra, np.iinfo(np.int64).max)])
            self.tmax = np.concatenate([self.tmax, np.full(extra, np.iinfo(np.int64).min)])
        ts_us = unix_us(frame["ts"])
        lo = np.full(len(uniques), np.iinfo(np.int64).max)
        hi = np.full(len(uniques), np.iinfo(np.int64).min)
        np.minimum.at(lo, codes, ts_us)
        np.maximum.at(hi, codes, ts_us)
        # disjoint from what came before: no duplicate across chunks is possible
        apart = (lo > self.tmax[ids]) | (hi < self.tmin[ids])
        self.overlapping.update(ids[~apart].tolist())
        self.tmin[ids] = np.minimum(self.tmin[ids], lo)
        self.tmax[ids] = np.maximum(self.tmax[ids], hi)
        stamps = frame["ts"]
        month_codes = np.unique(stamps.dt.year.to_numpy() * 12 + stamps.dt.month.to_numpy() - 1)
        self.months.update((int(code) // 12, int(code) % 12 + 1) for code in month_codes)
        rows = np.empty(n, dtype=_STAGE_ROW)
        rows["fields"] = 4
        rows["len_id"] = 4
        rows["local_id"] = ids[codes]
        rows["len_ts"] = 8
        rows["ts"] = ts_us - _PG_EPOCH_US
        rows["len_value"] = 8
        rows["value"] = frame["value"].to_numpy("float64")
        rows["len_line"] = 4
        rows["line"] = lines
        buffer = io.BytesIO(_COPY_HEADER + rows.tobytes() + (-1).to_bytes(2, "big", signed=True))
        del rows
        with self.conn.cursor() as cur:
            cur.copy_expert("COPY stage_samples FROM STDIN WITH (FORMAT binary)", buffer)
        self.rows += n

    # -- finish --------------------------------------------------------------------------------

    def _check_duplicates(self, cur) -> None:
        if not self.overlapping:
            return
        cur.execute(
            """SELECT min(line), max(line) FROM stage_samples
               WHERE local_id = ANY(%s) GROUP BY local_id, ts HAVING count(*) > 1
               ORDER BY 1 LIMIT 1""",
            (sorted(self.overlapping),),
        )
        found = cur.fetchone()
        if found:
            raise InputError(
                f"duplicate row: lines {found[0]} and {found[1]} have the same "
                "(server, metric, label, ts)",
                file=self.file,
                line=found[0],
                field="server,metric,label,ts",
            )

    def _ensure_partitions(self, cur) -> None:
        names = {m: f"samples_{m[0]:04d}_{m[1]:02d}" for m in self.months}
        cur.execute(
            """SELECT name FROM unnest(%s::text[]) AS name
               WHERE to_regclass('infra_review.' || quote_ident(name)) IS NULL""",
            (sorted(names.values()),),
        )
        missing = {row[0] for row in cur.fetchall()}
        starts = [
            datetime(y, m, 1, tzinfo=UTC)
            for (y, m), name in sorted(names.items())
            if name in missing
        ]
        if not starts:
            return
        if self.partitions_url:
            import psycopg2

            other = psycopg2.connect(self.partitions_url, application_name="infra-review")
            try:
                with other, other.cursor() as pcur:
                    # creating a partition waits for every open reader of samples: bound it
                    pcur.execute("SET lock_timeout = '300s'")
                    for start in starts:
                        pcur.execute(
                            "SELECT infra_review.ensure_sample_partitions(%s, %s)", (start, start)
                        )
            finally:
                other.close()
        else:
            for start in starts:
                cur.execute("SELECT infra_review.ensure_sample_partitions(%s, %s)", (start, start))

    def _register(self, cur, max_new_series: int | None) -> tuple[int, int]:
        parts = [k.split(_SEP) for k in self.keys]
        order = sorted(range(len(parts)), key=lambda i: parts[i])
        servers = sorted({p[0] for p in parts})
        srv = [parts[i][0] for i in order]
        met = [parts[i][1] for i in order]
        lab = [parts[i][2] for i in order]
        if max_new_series is not None and len(parts) > max_new_series:
            cur.execute(
                """SELECT k.n FROM unnest(%s::text[], %s::text[], %s::text[]) WITH ORDINALITY
                          AS k(server, metric, label, n)
                   WHERE NOT EXISTS (SELECT 1 FROM infra_review.series s
                       WHERE (s.server, s.metric, s.label) = (k.server, k.metric, k.label))""",
                (srv, met, lab),
            )
            new = sorted(self.first_line[order[n - 1]] for (n,) in cur.fetchall())
            if len(new) > max_new_series:
                raise InputError(
                    f"{len(new)} new series in one file, more than the limit of "
                    f"{max_new_series} (INFRA_REVIEW_MAX_NEW_SERIES): a label that changes "
                    "on every row? This row brings the first series over the limit",
                    file=self.file,
                    line=new[max_new_series],
                    field="label",
                )
        cur.execute(
            """INSERT INTO infra_review.servers (server, registered_from)
               SELECT name, 'samples' FROM unnest(%s::text[]) AS name ORDER BY name
               ON CONFLICT (server) DO NOTHING""",
            (servers,),
        )
        cur.execute(
            """INSERT INTO infra_review.series (server, metric, label)
               SELECT server, metric, label
               FROM unnest(%s::text[], %s::text[], %s::text[]) AS k(server, metric, label)
               ORDER BY server, metric, label
               ON CONFLICT (server, metric, label) DO NOTHING
               RETURNING series_id""",
            (srv, met, lab),
        )
        new_series = len(cur.fetchall())
        local_ids = [self.keys[_SEP.join(parts[i])] for i in order]
        cur.execute(
            """CREATE TEMP TABLE stage_ids ON COMMIT DROP AS
               SELECT k.local_id, s.series_id
               FROM unnest(%s::int[], %s::text[], %s::text[], %s::text[])
                    AS k(local_id, server, metric, label)
               JOIN infra_review.series s USING (server, metric, label)""",
            (local_ids, srv, met, lab),
        )
        return len(parts), new_series

    def finish(
        self,
        *,
        batch_key: str,
        source: str,
        window_start: datetime | None = None,
        window_end: datetime | None = None,
        rows_quarantined: int = 0,
        max_new_series: int | None = None,
    ) -> StageResult:
        written = series = new_series = 0
        with self.conn.cursor() as cur:
            if self.rows:
                self._check_duplicates(cur)
                self._ensure_partitions(cur)
                series, new_series = self._register(cur, max_new_series)
                cur.execute(
                    "SELECT DISTINCT series_id %% %s FROM stage_ids ORDER BY 1", (LOCK_BUCKETS,)
                )
                for (bucket,) in cur.fetchall():
                    cur.execute(
                        "SELECT pg_advisory_xact_lock(%s, %s)", (_SERIES_LOCK_SPACE, bucket)
                    )
                written = _merge(cur)
                cur.execute("DROP TABLE stage_ids")
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
                (batch_key, source, window_start, window_end, self.rows, written, rows_quarantined),
            )
        return StageResult(self.rows, written, series, new_series)


def _merge(cur) -> int:
    """Merge the stage into samples; return rows inserted or changed.

    An UPDATE of changed values plus an anti-joined INSERT is about three times faster than
    INSERT ... ON CONFLICT for a quarter-sized batch; the bucket locks taken before keep two
    loaders of the same series from racing between the anti-join and the insert.
    """
    cur.execute("ANALYZE stage_samples")
    cur.execute(
        """UPDATE infra_review.samples o SET value = s.value
           FROM stage_samples s JOIN stage_ids m USING (local_id)
           WHERE o.series_id = m.series_id AND o.ts = s.ts AND o.value IS DISTINCT FROM s.value"""
    )
    changed = cur.rowcount
    cur.execute(
        """INSERT INTO infra_review.samples (series_id, ts, value)
           SELECT m.series_id, s.ts, s.value FROM stage_samples s JOIN stage_ids m USING (local_id)
           WHERE NOT EXISTS (
               SELECT 1 FROM infra_review.samples o
               WHERE o.series_id = m.series_id AND o.ts = s.ts)
           ORDER BY m.series_id, s.ts"""
    )
    return changed + cur.rowcount


def max_new_series() -> int:
    """New series one import may bring (``INFRA_REVIEW_MAX_NEW_SERIES``, default 50,000)."""
    return int(os.environ.get("INFRA_REVIEW_MAX_NEW_SERIES", "50000"))

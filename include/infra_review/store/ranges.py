"""Replace a source's range: what a re-collect of [start, end) stores is what the source has now.

A history source (Prometheus) answers for a whole range, so a second collection of the same
range must converge on the same rows, including deleting points the source no longer has (a
lookback repeat an older collector stored, a sample that retention has since dropped).
``infra_review.series_sources`` records which series each source has loaded; only those
series of the job's server are replaced, so a probe or CSV source writing other series of the
same server is never touched. The caller owns the transaction: the delete and the load commit
together or not at all.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from infra_review.store import samples as sample_store
from infra_review.store import staging


@dataclass(frozen=True)
class ReplaceStats:
    load: sample_store.LoadStats
    rows_deleted: int
    series_covered: int


def record_sources(cur, series_ids: list[int], source: str) -> None:
    """Note that ``source`` loads these series (idempotent)."""
    cur.execute(
        """INSERT INTO infra_review.series_sources (series_id, source)
           SELECT unnest(%s::int[]), %s
           ON CONFLICT DO NOTHING""",
        (series_ids, source),
    )


def covered_series(cur, server: str, source: str) -> list[int]:
    """Series of ``server`` that ``source`` has loaded, in id order."""
    cur.execute(
        """SELECT s.series_id FROM infra_review.series_sources s
           JOIN infra_review.series r USING (series_id)
           WHERE s.source = %s AND r.server = %s
           ORDER BY s.series_id""",
        (source, server),
    )
    return [row[0] for row in cur.fetchall()]


def _series_ids(cur, frame: pd.DataFrame) -> pd.DataFrame:
    """Ids of the frame's series that exist (server, metric, label, series_id)."""
    keys = frame[["server", "metric", "label"]].drop_duplicates()
    if keys.empty:
        return keys.assign(series_id=pd.Series(dtype="int64"))
    cur.execute(
        """SELECT s.server, s.metric, s.label, s.series_id
           FROM unnest(%s::text[], %s::text[], %s::text[]) AS k(server, metric, label)
           JOIN infra_review.series s USING (server, metric, label)""",
        (keys["server"].tolist(), keys["metric"].tolist(), keys["label"].tolist()),
    )
    return pd.DataFrame(cur.fetchall(), columns=["server", "metric", "label", "series_id"])


def _lock_every_bucket(cur) -> None:
    """All merge buckets, in ascending order, before anything else: a replace touches series
    it cannot name up front (new ones), and every loader takes buckets in ascending order,
    so taking all of them first can never cross another loader (a wait, not a deadlock)."""
    for bucket in range(staging.LOCK_BUCKETS):
        cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", (staging._SERIES_LOCK_SPACE, bucket))


def replace_range(
    conn,
    frame: pd.DataFrame,
    *,
    server: str,
    source: str,
    start: datetime,
    end: datetime,
    batch_key: str,
    rows_quarantined: int = 0,
) -> ReplaceStats:
    """Make [start, end) of the source's series on ``server`` equal to ``frame``.

    Points of covered series in the range that ``frame`` lacks are deleted; ``frame`` is then
    merged as usual, so an unchanged re-collect writes and deletes nothing.
    """
    frame = frame.loc[:, list(sample_store.SAMPLE_COLUMNS)].copy()
    frame["label"] = frame["label"].fillna("").astype(str)
    deleted = 0
    with conn.cursor() as cur:
        _lock_every_bucket(cur)
        covered = covered_series(cur, server, source)
        if covered:
            cur.execute(
                """CREATE TEMP TABLE keep_points (series_id integer, ts timestamptz)
                   ON COMMIT DROP"""
            )
            keep = frame.merge(_series_ids(cur, frame), on=["server", "metric", "label"])
            if len(keep):
                buffer = io.StringIO()
                ts = pd.to_datetime(keep["ts"], utc=True)
                pd.DataFrame({"id": keep["series_id"].astype("int64"), "ts": ts}).to_csv(
                    buffer, index=False, header=False, date_format="%Y-%m-%dT%H:%M:%S.%f%z"
                )
                buffer.seek(0)
                cur.copy_expert("COPY keep_points FROM STDIN WITH (FORMAT csv)", buffer)
                cur.execute("ANALYZE keep_points")
            cur.execute(
                """DELETE FROM infra_review.samples s
                   WHERE s.series_id = ANY(%s) AND s.ts >= %s AND s.ts < %s
                     AND NOT EXISTS (SELECT 1 FROM keep_points k
                                     WHERE k.series_id = s.series_id AND k.ts = s.ts)""",
                (covered, start, end),
            )
            deleted = cur.rowcount
            cur.execute("DROP TABLE keep_points")
    load = sample_store.load_samples(
        conn,
        frame,
        batch_key=batch_key,
        source=source,
        window_start=start,
        window_end=end,
        rows_quarantined=rows_quarantined,
    )
    with conn.cursor() as cur:
        ids = _series_ids(cur, frame)
        record_sources(cur, sorted(ids["series_id"].astype(int).tolist()), source)
    return ReplaceStats(load, deleted, len(covered))

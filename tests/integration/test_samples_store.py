"""The COPY loader on a real PostgreSQL: exact round trip, idempotent, and atomic."""

from __future__ import annotations

import pandas as pd
import psycopg2
import pytest

from infra_review.store.samples import load_samples, read_window

pytestmark = pytest.mark.integration


def frame(values: list[float], start: str = "2026-07-01T00:00:00.123456Z") -> pd.DataFrame:
    ts = pd.date_range(start, periods=len(values), freq="1min")
    return pd.DataFrame(
        {"ts": ts, "server": "app-1", "metric": "ram_used_pct", "label": "", "value": values}
    )


def test_round_trip_is_exact_to_the_microsecond_and_the_bit(db):
    data = frame([70.1, 0.1 + 0.2, 85.00000000000001, 100.0])
    stats = load_samples(db, data, batch_key="t1", source="test")
    db.commit()
    assert (stats.rows_in, stats.rows_written, stats.series) == (4, 4, 1)
    back = read_window(db, data["ts"].min(), data["ts"].max() + pd.Timedelta("1us"))
    assert back["ts"].tolist() == data["ts"].tolist()
    assert back["value"].tolist() == data["value"].tolist()
    assert set(back["server"]) == {"app-1"}


def test_reload_is_idempotent_and_changed_values_update(db):
    load_samples(db, frame([1.0, 2.0, 3.0]), batch_key="b", source="test")
    again = load_samples(db, frame([1.0, 2.0, 3.0]), batch_key="b", source="test")
    assert again.rows_written == 0
    changed = load_samples(db, frame([1.0, 2.5, 3.0]), batch_key="b", source="test")
    assert changed.rows_written == 1
    db.commit()
    with db.cursor() as cur:
        cur.execute("SELECT count(*), sum(value) FROM infra_review.samples")
        assert cur.fetchone() == (3, 6.5)
        cur.execute("SELECT registered_from FROM infra_review.servers WHERE server = 'app-1'")
        assert cur.fetchone() == ("samples",)


def test_window_is_half_open(db):
    load_samples(db, frame([1.0, 2.0, 3.0], "2026-07-01T00:00:00Z"), batch_key="w", source="t")
    db.commit()
    back = read_window(
        db, pd.Timestamp("2026-07-01T00:01:00Z"), pd.Timestamp("2026-07-01T00:02:00Z")
    )
    assert back["value"].tolist() == [2.0]


def test_a_dropped_connection_mid_load_writes_nothing_and_a_retry_loads_once(db_url):
    data = frame([float(i % 100) for i in range(5000)])
    conn = psycopg2.connect(db_url)
    killer = psycopg2.connect(db_url)
    killer.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    load_samples(conn, data, batch_key="k", source="t")  # in an open transaction
    with killer.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(psycopg2.OperationalError):
        conn.commit()
    with killer.cursor() as cur:
        cur.execute("SELECT count(*) FROM infra_review.samples")
        assert cur.fetchone() == (0,)
    retry = psycopg2.connect(db_url)
    with retry:
        load_samples(retry, data, batch_key="k", source="t")
    with killer.cursor() as cur:
        cur.execute("SELECT count(*), count(DISTINCT ts) FROM infra_review.samples")
        assert cur.fetchone() == (5000, 5000)
    retry.close()
    killer.close()


def test_read_series_splits_series_in_name_order_and_sorts_across_partitions(db):
    from infra_review.store.samples import read_series

    # two months (two partitions), two servers, two labels; loaded out of order
    late = frame([5.0, 6.0], "2026-08-31T23:59:00Z")
    early = frame([1.0, 2.0], "2026-07-01T00:00:00Z")
    other = frame([9.0], "2026-07-15T00:00:00Z").assign(server="data-1")
    labelled = frame([7.0], "2026-07-20T00:00:00Z").assign(metric="api_latency_s", label="/a")
    load_samples(db, pd.concat([late, other, labelled, early]), batch_key="r", source="t")
    db.commit()
    start, end = pd.Timestamp("2026-07-01T00:00:00Z"), pd.Timestamp("2026-09-02T00:00:00Z")
    got = read_series(db, start, end)
    assert list(got) == [
        ("app-1", "api_latency_s", "/a"),
        ("app-1", "ram_used_pct", ""),
        ("data-1", "ram_used_pct", ""),
    ]
    ts, values = got[("app-1", "ram_used_pct", "")]
    assert values.tolist() == [1.0, 2.0, 5.0, 6.0] and (ts[1:] > ts[:-1]).all()
    # the end is excluded: the sample at 2026-09-01T00:00 is not in [start, end)
    september = pd.Timestamp("2026-09-01T00:00:00Z")
    assert read_series(db, start, september, servers=["app-1"], metrics=["ram_used_pct"])[
        ("app-1", "ram_used_pct", "")
    ][1].tolist() == [1.0, 2.0, 5.0]
    assert read_series(db, start, end, servers=["nobody"]) == {}
    frame_back = read_window(db, start, end)
    assert frame_back["server"].tolist() == ["app-1"] * 5 + ["data-1"]
    assert frame_back["value"].tolist() == [7.0, 1.0, 2.0, 5.0, 6.0, 9.0]

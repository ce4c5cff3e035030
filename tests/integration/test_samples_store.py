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


# --- issue 15: chunked imports, partitions, many series, concurrency ---------------------------


def _csv(path, rows: list[str]):
    path.write_text("ts,server,metric,value,label\n" + "".join(r + "\n" for r in rows))
    return path


def _count(db, sql: str):
    """One value, in a transaction ended at once (an open one would hold its table locks)."""
    with db.cursor() as cur:
        cur.execute(sql)
        value = cur.fetchone()[0]
    db.commit()
    return value


def test_a_duplicate_across_chunks_names_both_lines_and_writes_nothing(db, db_url, tmp_path):
    from infra_review.errors import InputError
    from infra_review.imports import import_samples

    rows = [f"2026-07-01T00:{m:02d}:00Z,app-1,cpu_used_pct,{m},q" for m in range(10)]
    rows.append("2026-07-01T00:03:00Z,app-1,cpu_used_pct,99,q")  # line 12, same as line 5
    path = _csv(tmp_path / "dup.csv", rows)
    with pytest.raises(InputError) as err:
        import_samples(path, db_url, chunk_rows=3)
    assert (err.value.line, err.value.field) == (5, "server,metric,label,ts")
    assert "lines 5 and 12" in str(err.value)
    assert _count(db, "SELECT count(*) FROM infra_review.samples") == 0
    assert _count(db, "SELECT count(*) FROM infra_review.series") == 0
    # the same rows without the duplicate load, across chunks, exactly
    stats = import_samples(_csv(tmp_path / "ok.csv", rows[:-1]), db_url, chunk_rows=3)
    assert (stats.rows_in, stats.rows_written, stats.series) == (10, 10, 1)
    assert _count(db, "SELECT sum(value) FROM infra_review.samples") == sum(range(10))


def test_partitions_are_created_only_for_the_months_present(db, db_url, tmp_path):
    from datetime import UTC, datetime

    from infra_review import clock
    from infra_review.imports import import_samples

    months = "SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class WHERE relkind = 'r' AND relname ~ '^samples_[0-9]'"
    before = _count(db, months)
    rows = [
        "2022-03-15T00:00:00Z,app-1,cpu_used_pct,1,",
        "2026-07-01T00:00:00Z,app-1,cpu_used_pct,2,",
    ]
    # 2022-03 is inside the import horizon (5 years) only while "now" is before 2027-03
    with clock.frozen(datetime(2026, 12, 1, tzinfo=UTC)):
        import_samples(_csv(tmp_path / "far.csv", rows), db_url)
    created = set((_count(db, months) or "").split(",")) - set((before or "").split(","))
    assert created == {"samples_2022_03", "samples_2026_07"}


def test_twenty_thousand_new_series_load_and_a_limit_refuses_more(
    db, db_url, tmp_path, monkeypatch
):
    from infra_review.errors import InputError
    from infra_review.imports import import_samples

    rows = [f"2026-07-01T00:00:00Z,app-1,api_latency_s,0.5,/e/{i}" for i in range(20_000)]
    path = _csv(tmp_path / "many.csv", rows)
    monkeypatch.setenv("INFRA_REVIEW_MAX_NEW_SERIES", "19999")
    with pytest.raises(InputError) as err:
        import_samples(path, db_url)
    assert (err.value.line, err.value.field) == (20_001, "label")
    assert "20000 new series in one file, more than the limit of 19999" in str(err.value)
    assert _count(db, "SELECT count(*) FROM infra_review.series") == 0
    monkeypatch.delenv("INFRA_REVIEW_MAX_NEW_SERIES")
    stats = import_samples(path, db_url)
    assert (stats.rows_written, stats.series, stats.new_series) == (20_000, 20_000, 20_000)


def test_opposite_order_imports_of_the_same_new_series_never_deadlock(db, db_url, tmp_path):
    """Two files bring the same new series in opposite order, in parallel, several rounds."""
    from concurrent.futures import ThreadPoolExecutor

    from infra_review.imports import import_samples

    for round_no in range(5):
        keys = [f"/r{round_no}/{i:03d}" for i in range(300)]
        forward = [f"2026-07-01T00:00:00Z,app-1,api_latency_s,1,{k}" for k in keys]
        backward = [f"2026-07-01T00:01:00Z,app-1,api_latency_s,2,{k}" for k in reversed(keys)]
        paths = [
            _csv(tmp_path / f"f{round_no}.csv", forward),
            _csv(tmp_path / f"b{round_no}.csv", backward),
        ]
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(lambda p: import_samples(p, db_url, chunk_rows=50), paths))
        assert [r.rows_written for r in results] == [300, 300]
        assert sorted(r.new_series for r in results)[1] <= 300
    assert _count(db, "SELECT count(*) FROM infra_review.series") == 1500
    assert _count(db, "SELECT count(*) FROM infra_review.samples") == 3000

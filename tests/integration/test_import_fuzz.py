"""Fuzz (hypothesis) over the samples contract through the real import and PostgreSQL.

The invariant for any generated file: either it loads and the stored rows equal the file's
rows (as Python's csv module reads them), or it fails with an InputError naming the file and
the line (and the field, for a bad value) and writes nothing. Never another exception.
"""

from __future__ import annotations

import csv
import io
import math
from datetime import UTC, datetime

import pandas as pd
import psycopg2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infra_review.errors import InputError
from infra_review.imports import import_samples
from infra_review.metrics import METRICS

pytestmark = pytest.mark.integration

NOW = "2026-11-25T12:00:00Z"
HEADER = ["ts", "server", "metric", "value", "label"]
STRUCTURAL = ("malformed CSV", "empty file", "no data rows", "line has")

TS = st.one_of(
    st.sampled_from(
        [
            "2026-07-01T00:00:00Z",
            "2026-07-01T05:00:00+05:00",
            "2026-07-01T00:00:00.5Z",
            "2026-07-01 00:01:00Z",
            "2026-07-01T00:00:00.1234567Z",
            "2026-07-01T00:00:00.0000001Z",
            "2026-07-01T00:00:00",
            "0001-01-01T00:00:00Z",
            "1900-01-01T00:00:00Z",
            "2099-01-01T00:00:00Z",
            " 2026-07-02T00:00:00Z ",
            "",
        ]
    ),
    st.text(max_size=25),
)
SERVER = st.one_of(
    st.sampled_from(["app-1", "data-1", "app-l", "APP-1", "<img src=x>", "", "a" * 64, "x\x00y"]),
    st.text(max_size=10),
)
METRIC = st.one_of(st.sampled_from(sorted(METRICS)), st.text(max_size=8))
VALUE = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["0", "1", "100", "100.0000001", "-1", "1e308", "abc", "", " 5 ", "0x10"]),
    st.text(max_size=6),
)
LABEL = st.one_of(
    st.just(""),
    st.sampled_from(["/a", "q,1", 'say "hi"', "line\nbreak", "x" * 300, "<script>", "é"]),
    st.text(max_size=12),
)
ROWS = st.lists(st.tuples(TS, SERVER, METRIC, VALUE, LABEL), max_size=8)


@st.composite
def files(draw) -> str:
    rows = [list(r) for r in draw(ROWS)]
    if rows and draw(st.booleans()):
        rows[draw(st.integers(0, len(rows) - 1))].insert(0, draw(st.sampled_from(["0", ""])))
    out = io.StringIO()
    if draw(st.booleans()):
        csv.writer(out, lineterminator=draw(st.sampled_from(["\n", "\r\n"]))).writerows(
            [HEADER, *rows]
        )
    else:  # careless: no quoting at all
        out.write("\n".join(",".join(r) for r in [HEADER, *rows]) + "\n")
    text = out.getvalue()
    if draw(st.booleans()):
        lines = text.split("\n")
        lines.insert(draw(st.integers(1, len(lines))), "")
        text = "\n".join(lines)
    return text


def expected_rows(text: str) -> set[tuple]:
    records = list(csv.reader(io.StringIO(text, newline="")))[1:]
    rows = set()
    for record in records:
        if not any(field.strip() for field in record):
            continue
        ts, server, metric, value, label = (record + [""] * 5)[:5]
        when = pd.Timestamp(ts.strip()).tz_convert("UTC").to_pydatetime()
        rows.add((server.strip(), metric.strip(), label.strip(), when, float(value.strip())))
    return rows


def stored(url: str) -> tuple[set[tuple], int, tuple[int, int, int]]:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(
            """SELECT s.server, s.metric, s.label, x.ts, x.value
               FROM infra_review.samples x JOIN infra_review.series s USING (series_id)"""
        )
        rows = cur.fetchall()
        cur.execute(
            "SELECT (SELECT count(*) FROM infra_review.series),"
            " (SELECT count(*) FROM infra_review.servers),"
            " (SELECT count(*) FROM infra_review.load_batches)"
        )
        others = cur.fetchone()
        cur.execute(
            "TRUNCATE infra_review.samples, infra_review.series, infra_review.servers,"
            " infra_review.load_batches CASCADE"
        )
    conn.close()
    return {(a, b, c, d.astimezone(UTC), e) for a, b, c, d, e in rows}, len(rows), others


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=files())
def test_any_samples_file_loads_exactly_or_fails_cleanly(db_url, tmp_path, monkeypatch, text):
    monkeypatch.setenv("INFRA_REVIEW_NOW", NOW)
    path = tmp_path / "fuzz.csv"
    path.write_bytes(text.encode("utf-8"))
    try:
        stats = import_samples(path, db_url, chunk_rows=3)
    except InputError as err:
        rows, count, others = stored(db_url)
        assert (count, others) == (0, (0, 0, 0)), str(err)
        assert err.file == str(path) and err.line is not None and err.line >= 1, str(err)
        assert err.field is not None or err.reason.startswith(STRUCTURAL), str(err)
        return
    rows, count, _ = stored(db_url)
    want = expected_rows(text)
    assert count == stats.rows_in == len(want)
    assert rows == want
    assert all(not math.isnan(r[4]) for r in rows)
    assert datetime(2021, 1, 1, tzinfo=UTC) < min(r[3] for r in rows)

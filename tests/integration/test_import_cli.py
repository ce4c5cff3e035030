"""`infra-review import` as a user runs it: idempotent, and a bad file writes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest

pytestmark = pytest.mark.integration

CLI = [str(Path(sys.executable).with_name("infra-review"))]  # the installed entry point
SAMPLES = (
    "ts,server,metric,value,label\n"
    "2026-07-01T00:00:00Z,app-1,ram_used_pct,71.5,\n"
    "2026-07-01T00:01:00Z,app-1,ram_used_pct,72,\n"
    "2026-07-01T00:00:00+05:00,backfill-7,cpu_used_pct,12,\n"
)


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=os.environ.copy())


def counts(url: str) -> tuple[int, int, int]:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT (SELECT count(*) FROM infra_review.samples),"
            " (SELECT count(*) FROM infra_review.series),"
            " (SELECT count(*) FROM infra_review.servers)"
        )
        return cur.fetchone()


def test_importing_the_same_file_twice_leaves_the_same_rows(db_url, tmp_path: Path):
    path = tmp_path / "samples.csv"
    path.write_text(SAMPLES)
    first = run("import", "samples", str(path))
    assert first.returncode == 0, first.stderr
    assert "3 row(s) read, 3 new or changed" in first.stdout
    after_first = counts(db_url)
    second = run("import", "samples", str(path))
    assert second.returncode == 0, second.stderr
    assert "3 row(s) read, 0 new or changed" in second.stdout
    assert counts(db_url) == after_first == (3, 2, 2)  # backfill-7 registered by its samples


@pytest.mark.parametrize(
    ("bad_row", "expected"),
    [
        ("2026-07-01T00:02:00Z,app-1,ram_used_pct,lots,", "line 5, field 'value'"),
        ("2026-07-01T00:02:00Z,app-1,disk_used_pct,5,", "line 5, field 'metric'"),
        ("2026-07-01T00:02:00,app-1,ram_used_pct,5,", "line 5, field 'ts'"),
    ],
)
def test_a_bad_file_exits_non_zero_names_line_and_field_and_writes_nothing(
    db_url, tmp_path: Path, bad_row: str, expected: str
):
    good = tmp_path / "good.csv"
    good.write_text(SAMPLES)
    assert run("import", "samples", str(good)).returncode == 0
    before = counts(db_url)
    bad = tmp_path / "bad.csv"
    bad.write_text(SAMPLES.replace("71.5", "99") + bad_row + "\n")
    result = run("import", "samples", str(bad))
    assert result.returncode == 2
    assert f"{bad}, {expected}" in result.stderr
    assert counts(db_url) == before
    with psycopg2.connect(db_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM infra_review.samples WHERE value = 99")
        assert cur.fetchone() == (0,)


def test_complaints_and_plans_import_idempotently(db_url, tmp_path: Path):
    complaints = tmp_path / "complaints.csv"
    complaints.write_text(
        "ts,service,server,category,text\n"
        "2026-08-14T09:12:00+05:00,n8n,app-1,slow,Workflows take minutes\n"
        "2026-08-14T11:40:00+05:00,directus,,slow,Admin panel slow\n"
    )
    plans = tmp_path / "plans.csv"
    plans.write_text(
        "service,server,planned_for,ram_gb,cpu_cores\nclickhouse,data-1,2026-10-15,2,1\n"
    )
    for _ in range(2):
        assert run("import", "complaints", str(complaints)).returncode == 0
        assert run("import", "plans", str(plans)).returncode == 0
    with psycopg2.connect(db_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM infra_review.complaints")
        assert cur.fetchone() == (2,)
        cur.execute("SELECT service, server, ram_gb FROM infra_review.planned_services")
        assert cur.fetchall() == [("clickhouse", "data-1", 2)]


def test_cli_help_works_for_every_command():
    for args in (
        ["--help"],
        ["db", "--help"],
        ["import", "samples", "--help"],
        ["decisions", "--help"],
    ):
        result = run(*args)
        assert result.returncode == 0, (args, result.stderr)
        assert "usage: infra-review" in result.stdout

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


def run(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, env={**os.environ.copy(), **env}
    )


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
    assert "not in fleet.yaml: backfill-7 (line 4)" in first.stdout
    second = run("import", "samples", str(path))
    assert second.returncode == 0, second.stderr
    assert "already imported at" in second.stdout and "3 row(s)" in second.stdout
    forced = run("import", "samples", "--force", str(path))
    assert "3 row(s) read, 0 new or changed" in forced.stdout, forced.stderr
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
        ["servers", "--help"],
    ):
        result = run(*args)
        assert result.returncode == 0, (args, result.stderr)
        assert "usage: infra-review" in result.stdout


def test_strict_refuses_a_server_outside_fleet_yaml_and_forget_removes_a_phantom(
    db_url, tmp_path: Path
):
    path = tmp_path / "typo.csv"
    path.write_text(SAMPLES.replace("backfill-7", "app-l"))
    strict = run("import", "samples", "--strict", str(path))
    assert strict.returncode == 2
    assert f"{path}, line 4, field 'server': server 'app-l' is not in" in strict.stderr
    assert counts(db_url) == (0, 0, 0)
    assert run("import", "samples", str(path)).returncode == 0
    listing = run("servers", "list")
    assert listing.returncode == 0, listing.stderr
    assert [
        line.split()[:4] for line in listing.stdout.splitlines() if line.startswith("app-")
    ] == [
        ["app-1", "listed", "1", "2"],
        ["app-l", "NOT", "LISTED", "1"],
    ]
    refused = run("servers", "forget", "app-1")
    assert refused.returncode == 2 and "listed in fleet.yaml" in refused.stderr
    forget = run("servers", "forget", "app-l")
    assert forget.returncode == 0, forget.stderr
    assert "forgot server app-l: 1 series and 1 sample(s) deleted" in forget.stdout
    assert counts(db_url) == (2, 1, 1)
    again = run("servers", "forget", "app-l")
    assert again.returncode == 2 and "no server 'app-l'" in again.stderr


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            b"2026-07-01T00:02:00Z,app-1,cpu_used_pct,5,a\x00b\n",
            "line 5, field 'label': contains a NUL byte",
        ),
        (
            b"2026-07-01T00:02:00Z,app-1,cpu_used_pct,5," + b"x" * 3000 + b"\n",
            "line 5, field 'label': longer than 256",
        ),
        (
            b"2026-07-01T00:02:00.0000001Z,app-1,cpu_used_pct,5,\n"
            b"2026-07-01T00:02:00.0000002Z,app-1,cpu_used_pct,6,\n",
            "line 5, field 'ts': more precise than a microsecond",
        ),
        (
            b"0001-01-01T00:00:00Z,app-1,cpu_used_pct,5,\n",
            "line 5, field 'ts': older than the import horizon",
        ),
        (b"\n\n2026-07-01T00:02:00Z,app-1,cpu_used_pct,oops,\n", "line 7, field 'value'"),
    ],
)
def test_careless_input_is_one_clear_line_with_nothing_written(db_url, tmp_path, body, expected):
    path = tmp_path / "bad.csv"
    path.write_bytes(SAMPLES.encode() + body)
    result = run("import", "samples", str(path))
    assert result.returncode == 2
    assert f"{path}, {expected}" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1
    assert counts(db_url) == (0, 0, 0)


def test_an_unreachable_database_is_a_message_and_debug_shows_the_traceback(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text(SAMPLES)
    down = "postgresql://nobody@127.0.0.1:1/none"
    result = run("import", "samples", str(path), DATABASE_URL=down)
    assert result.returncode == 3
    assert "infra-review: database error:" in result.stderr and "--debug" in result.stderr
    assert "Traceback" not in result.stderr
    debug = run("--debug", "import", "samples", str(path), DATABASE_URL=down)
    assert debug.returncode == 3 and "Traceback" in debug.stderr


def test_progress_lines_when_not_on_a_terminal(db_url, tmp_path):
    path = tmp_path / "s.csv"
    path.write_text(SAMPLES)
    result = run(
        "import",
        "samples",
        str(path),
        INFRA_REVIEW_PROGRESS_EVERY="0",
        INFRA_REVIEW_IMPORT_CHUNK_ROWS="1",
    )
    assert result.returncode == 0, result.stderr
    progress = [line for line in result.stderr.splitlines() if line.startswith("s.csv: ")]
    assert progress[:3] == [
        f"s.csv: {n:,} rows, " + progress[n - 1].split(", ")[1] for n in (1, 2, 3)
    ]
    assert all(line.endswith("rows/s") for line in progress[:3])
    assert progress[-1] == "s.csv: 3 rows checked; merging into the store"


def test_a_database_restart_mid_import_is_one_message_and_writes_nothing(db_url, tmp_path):
    """The import's server connection dies between chunks (what a PostgreSQL restart does to
    it; the shared server of this machine cannot be restarted by a test): exit 3, one line,
    no traceback, no rows."""
    path = tmp_path / "big.csv"
    minutes = [
        f"2026-07-{1 + m // 1440:02d}T{m // 60 % 24:02d}:{m % 60:02d}:00Z" for m in range(20_000)
    ]
    path.write_text(
        "ts,server,metric,value,label\n"
        + "".join(
            f"{ts},app-1,cpu_used_pct,{i % 100},q{i % 10}\n" for ts in minutes for i in range(10)
        )
    )
    env = {
        **os.environ,
        "INFRA_REVIEW_IMPORT_CHUNK_ROWS": "10000",
        "INFRA_REVIEW_PROGRESS_EVERY": "0",
    }
    proc = subprocess.Popen(
        [*CLI, "import", "samples", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    first = proc.stderr.readline()  # the first progress line: a chunk is staged
    assert "rows/s" in first, first
    database = db_url.rsplit("/", 1)[1]
    with psycopg2.connect(db_url) as conn, conn.cursor() as cur:
        cur.execute(
            """SELECT pg_terminate_backend(pid) FROM pg_stat_activity
               WHERE datname = %s AND application_name = 'infra-review'""",
            (database,),
        )
        assert cur.fetchall(), "the import had finished before the restart"
    conn.close()
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 3, err
    messages = [line for line in err.splitlines() if "rows/s" not in line]
    assert len(messages) == 1 and messages[0].startswith("infra-review: database error:"), err
    assert "Traceback" not in err
    assert counts(db_url) == (0, 0, 0)

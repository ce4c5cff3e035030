"""The reporting schema: documented, compatible with 001, correct values, and bi_reader can
read every view and nothing else."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import pandas as pd
import psycopg2
import pytest

from infra_review.criteria.result import CriterionResult, Outcome
from infra_review.criteria.rules import load_criteria
from infra_review.reporting.catalog import sync
from infra_review.reporting.docs import describe, render_markdown, undocumented
from infra_review.store.decisions import DecisionRecord, ReviewRun, record_review
from infra_review.store.samples import load_samples

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
START, END = datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC)

VIEWS = {
    "capacity_weekly",
    "criteria",
    "criterion_results",
    "current_decisions",
    "decision_history",
    "provider_monthly_costs",
    "provider_scorecards",
    "quality_results",
    "review_runs",
}
# The 001 definitions: a BI query saved against them must keep working.
CURRENT_001 = [
    "decision_id", "review_type", "quarter", "subject_kind", "subject", "decision", "status",
    "summary_en", "summary_ru", "window_start", "window_end", "criteria_version", "dag_id",
    "dag_run_id", "report_path", "created_at",
]  # fmt: skip
HISTORY_001 = [
    "decision_id", "review_type", "quarter", "subject_kind", "subject", "decision", "status",
    "superseded_by", "summary_en", "summary_ru", "run_id", "dag_run_id", "criteria_version",
    "created_at",
]  # fmt: skip


def as_user(url: str, user: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{user}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def rows(conn, sql: str, params=None) -> list[dict]:
    with conn.cursor() as cur:
        cur.execute(sql, params)
        names = [c.name for c in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def review_run(key: str, sha: str, inputs: dict | None = None) -> ReviewRun:
    return ReviewRun(
        review_type="capacity",
        quarter="2026Q3",
        window_start=START,
        window_end=END,
        run_key=key,
        criteria_version="test",
        criteria_sha256=sha,
        dag_id="capacity_review",
        dag_run_id=key,
        triggered_by="test",
        quality_verdict={"success": True},
        inputs=inputs or {},
        report_path=f"/reports/capacity/2026Q3/{key}/report.html",
    )


def sustained(observed_h: float, evidence: dict | None = None) -> CriterionResult:
    longest = {
        "start": "2026-08-14T06:00:00+00:00",
        "end": "2026-08-15T12:00:00+00:00",
        "duration_s": observed_h * 3600,
        "samples": int(observed_h * 60),
        "peak": 92.5,
    }
    ev = {
        "metric": "ram_used_pct",
        "label": "",
        "comparator": ">",
        "samples": 132480,
        "coverage": 0.998,
        "longest_run": longest,
    }
    return CriterionResult(
        "ram.sustained",
        "app-1",
        Outcome.MET if observed_h > 24 else Outcome.NOT_MET,
        observed_h,
        24.0,
        START,
        END,
        ev if evidence is None else evidence,
    )


def decision(name: str, *results: CriterionResult) -> DecisionRecord:
    return DecisionRecord(
        subject_kind="server",
        subject="app-1",
        decision=name,
        summary_en=f"app-1: {name}",
        summary_ru=f"app-1: {name} (ru)",
        results=list(results),
    )


# --- documentation --------------------------------------------------------------------------


def test_every_view_and_column_is_documented_and_the_docs_are_current(db):
    views = describe(db)
    assert {v.name for v in views} >= VIEWS
    assert {v.kind for v in views} == {"view"}
    assert undocumented(views) == []
    committed = (ROOT / "docs" / "reporting.md").read_text(encoding="utf-8")
    assert render_markdown(views) == committed, "run: infra-review reporting docs"


def test_the_001_views_keep_their_columns_in_order(db):
    current = [
        c.name for c in next(v for v in describe(db) if v.name == "current_decisions").columns
    ]
    history = [
        c.name for c in next(v for v in describe(db) if v.name == "decision_history").columns
    ]
    assert current[: len(CURRENT_001)] == CURRENT_001
    assert history[: len(HISTORY_001)] == HISTORY_001
    assert len(current) > len(CURRENT_001) and len(history) > len(HISTORY_001)


# --- values ---------------------------------------------------------------------------------


def test_criterion_results_flatten_the_evidence_and_carry_the_seed_text(db):
    criteria = load_criteria()
    sync(db, criteria=criteria)
    recorded = record_review(
        db, review_run("r1", criteria.sha256), [decision("upgrade_ram", sustained(30.0))]
    )
    db.commit()
    [row] = rows(db, "SELECT * FROM reporting.criterion_results")
    assert row["decision_id"] == recorded.decision_ids[("server", "app-1")]
    assert row["text_ru"] == "Usage >85% более 24 часов подряд"
    assert row["text_ru"] == criteria["ram.sustained"].text_ru
    assert row["criterion_group"] == "ram"
    # in the unit of the text (migration 014): the level in %, the duration apart in hours
    assert (row["outcome"], row["is_met"], row["observed"], row["threshold"]) == (
        "met",
        True,
        92.5,
        85.0,
    )
    assert (row["duration_observed"], row["duration_threshold"], row["unit"]) == (30.0, 24.0, "%")
    assert (row["metric"], row["label"], row["comparator"]) == ("ram_used_pct", "", ">")
    assert row["samples"] == 132480 and row["coverage"] == pytest.approx(0.998)
    assert row["longest_run_start"] == datetime(2026, 8, 14, 6, tzinfo=UTC)
    assert row["longest_run_end"] == datetime(2026, 8, 15, 12, tzinfo=UTC)
    assert row["longest_run_hours"] == pytest.approx(30.0)
    assert row["longest_run_peak"] == 92.5 and row["longest_run_samples"] == 1800
    assert (row["window_start"], row["window_end"]) == (START, END)
    assert row["quarter_start"] == START and row["is_current"] is True
    assert row["evidence"]["longest_run"]["peak"] == 92.5


def test_without_a_catalog_the_text_comes_from_the_runs_own_snapshot(db):
    snapshot = {"criteria": {"rules": {"ram.sustained": {"group": "ram", "text_ru": "снимок", "text_en": "snapshot"}}}}  # fmt: skip
    record_review(db, review_run("r1", "sha-not-synced", snapshot), [decision("x", sustained(2))])
    db.commit()
    [row] = rows(db, "SELECT text_ru, text_en, criterion_group FROM reporting.criterion_results")
    assert row == {"text_ru": "снимок", "text_en": "snapshot", "criterion_group": "ram"}


def test_odd_evidence_gives_nulls_not_a_broken_view(db):
    odd = {
        "samples": "many",
        "coverage": None,
        "metric": 7,
        "longest_run": {"start": "yesterday", "duration_s": "long", "peak": [1]},
        "insufficient": {"reasons": ["no samples for app-1", "gate failed"]},
    }
    record_review(db, review_run("r1", "x"), [decision("insufficient_data", sustained(0, odd))])
    db.commit()
    [row] = rows(db, "SELECT * FROM reporting.criterion_results")
    assert row["samples"] is None and row["coverage"] is None and row["metric"] is None
    assert row["longest_run_start"] is None and row["longest_run_hours"] is None
    assert row["longest_run_peak"] is None
    assert row["reason"] == "no samples for app-1; gate failed"


def test_history_links_a_superseded_record_both_ways(db):
    old = record_review(db, review_run("r1", "x"), [decision("upgrade_ram", sustained(30))])
    new = record_review(db, review_run("r2", "x"), [decision("no_action", sustained(3))])
    db.commit()
    old_id, new_id = old.decision_ids[("server", "app-1")], new.decision_ids[("server", "app-1")]
    history = {r["decision_id"]: r for r in rows(db, "SELECT * FROM reporting.decision_history")}
    assert history[old_id]["superseded_by"] == new_id
    assert history[old_id]["superseded_by_decision"] == "no_action"
    assert history[old_id]["is_current"] is False and history[new_id]["is_current"] is True
    assert history[new_id]["supersedes"] == [old_id]
    assert history[old_id]["supersedes"] is None
    [current] = rows(db, "SELECT * FROM reporting.current_decisions")
    assert (current["decision_id"], current["decision"]) == (new_id, "no_action")
    assert (current["criteria_met"], current["criteria_not_met_count"]) == (None, 1)
    runs = {r["run_id"]: r for r in rows(db, "SELECT * FROM reporting.review_runs")}
    assert runs[old.run_id]["current_decisions"] == 0 and runs[new.run_id]["decisions"] == 1
    assert runs[new.run_id]["quality_passed"] is True
    met = rows(db, "SELECT is_current, is_met FROM reporting.criterion_results ORDER BY run_id")
    assert met == [{"is_current": False, "is_met": True}, {"is_current": True, "is_met": False}]


def _series(server: str, start: datetime, minutes: int, values, step_s: int = 60) -> pd.DataFrame:
    ts = pd.date_range(start, periods=minutes, freq=f"{step_s}s", tz="UTC")
    return pd.DataFrame(
        {"ts": ts, "server": server, "metric": "ram_used_pct", "label": "", "value": values}
    )


def test_capacity_weekly_cuts_weeks_at_the_quarter_and_counts_coverage(db):
    sync(db)  # thresholds from criteria.yaml, scrape intervals from fleet.yaml
    rng = np.random.default_rng(1)
    # Monday 2026-09-28 to Wednesday 2026-09-30 is the last (cut) week of Q3; 2026-10-01
    # (Thursday) starts Q4 inside the same ISO week. One hour is missing on 2026-09-29.
    start = datetime(2026, 9, 28, tzinfo=UTC)
    values = rng.uniform(40, 90, 5 * 1440)
    frame = _series("rep-1", start, 5 * 1440, values)
    gap = (frame.ts >= "2026-09-29T10:00Z") & (frame.ts < "2026-09-29T11:00Z")
    frame = frame[~gap]
    load_samples(db, frame, batch_key="t", source="test")
    db.commit()
    weeks = rows(
        db,
        """SELECT * FROM reporting.capacity_weekly WHERE server = 'rep-1'
           ORDER BY week_start""",
    )
    assert [(w["quarter"], w["week_start"], w["week_end"]) for w in weeks] == [
        ("2026Q3", start, datetime(2026, 10, 1, tzinfo=UTC)),
        ("2026Q4", datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 10, 5, tzinfo=UTC)),
    ]
    q3 = frame[frame.ts < "2026-10-01T00:00Z"].value.to_numpy()
    w = weeks[0]
    assert w["samples"] == 3 * 1440 - 60 and w["expected_samples"] == 3 * 1440
    assert w["coverage"] == pytest.approx((3 * 1440 - 60) / (3 * 1440))
    assert w["p50"] == pytest.approx(np.percentile(q3, 50))
    assert w["p95"] == pytest.approx(np.percentile(q3, 95))
    assert w["max"] == pytest.approx(q3.max())
    assert (w["threshold"], w["threshold_criterion_id"], w["unit"]) == (85, "ram.sustained", "%")
    assert w["interval_s"] == 60 and w["complete"] is True
    # Q4's cut week: Thursday to Monday is 4 days, and 2 of them have samples.
    assert weeks[1]["samples"] == 2 * 1440 and weeks[1]["coverage"] == pytest.approx(0.5)


def test_capacity_weekly_uses_the_servers_scrape_interval(db):
    with db.cursor() as cur:
        cur.execute(
            "INSERT INTO infra_review.server_scrape_intervals (server, scrape_interval_s) "
            "VALUES (%s, %s)",
            ("rep-2", 120),
        )
    frame = _series("rep-2", datetime(2026, 7, 6, tzinfo=UTC), 7 * 720, 50.0, step_s=120)
    load_samples(db, frame, batch_key="t2", source="test")
    db.commit()
    [w] = rows(db, "SELECT * FROM reporting.capacity_weekly WHERE server = 'rep-2'")
    assert (w["interval_s"], w["expected_samples"], w["coverage"]) == (120, 7 * 720, 1.0)


def test_provider_monthly_costs_unnest_the_current_scorecards(db):
    run = ReviewRun(
        review_type="provider",
        quarter="2026Q3",
        window_start=START,
        window_end=END,
        run_key="p1",
        criteria_version="t",
        criteria_sha256="t",
    )
    recorded = record_review(
        db,
        run,
        [DecisionRecord("provider", "hoster-kz", "stay", "stay", "остаться")],
    )
    with db.cursor() as cur:
        cur.execute(
            """INSERT INTO infra_review.provider_scorecards
                   (run_id, provider, role, quarter, outcomes, financial_score, technical_score,
                    strategic_score, weighted_total, weights, met_count, not_met_count,
                    insufficient_count, passes_fin_tech, currency, monthly_costs, recommended)
               VALUES (%s, 'hoster-kz', 'current', '2026Q3', '{}', 1, 1, 1, 100, '{}', 12, 0, 0,
                       true, 'EUR', %s, true)""",
            (recorded.run_id, '{"2026-07": 120.5, "2026-08": 130, "bad": 1, "2026-09": "x"}'),
        )
    db.commit()
    got = rows(
        db,
        "SELECT provider, month, amount, currency, is_latest_review "
        "FROM reporting.provider_monthly_costs ORDER BY month",
    )
    assert [(r["month"].isoformat(), float(r["amount"])) for r in got] == [
        ("2026-07-01", 120.5),
        ("2026-08-01", 130.0),
    ]
    assert {(r["provider"], r["currency"], r["is_latest_review"]) for r in got} == {
        ("hoster-kz", "EUR", True)
    }


def test_quality_results_flatten_statistics_and_failures(db):
    from infra_review.quality.store import upsert_result

    with db.cursor() as cur:
        cur.execute(
            "INSERT INTO infra_review.load_batches (batch_key, source, rows_in, rows_loaded, "
            "rows_quarantined) VALUES (%s, %s, %s, %s, %s)",
            ("b1", "prometheus", 100, 97, 3),
        )
        upsert_result(
            cur,
            batch_key="b1",
            suite="samples.batch",
            window_start=START,
            window_end=START + timedelta(minutes=5),
            success=False,
            statistics={
                "evaluated_expectations": 5,
                "successful_expectations": 4,
                "unsuccessful_expectations": 1,
                "success_percent": 80.0,
            },
            results=[{"expectation": "values_in_range", "unexpected_count": 3}],
            data_docs_url="file:///tmp/docs/index.html",
        )
    db.commit()
    [row] = rows(db, "SELECT * FROM reporting.quality_results")
    assert (row["source"], row["success"], row["evaluated_expectations"]) == (
        "prometheus",
        False,
        5,
    )
    assert (row["unsuccessful_expectations"], row["success_percent"]) == (1, 80.0)
    assert row["failed_expectations"] == "values_in_range"
    assert (row["rows_in"], row["rows_loaded"], row["rows_quarantined"]) == (100, 97, 3)
    assert row["data_docs_url"] == "file:///tmp/docs/index.html"


# --- bi_reader ------------------------------------------------------------------------------


@pytest.fixture
def bi(db_url, db):
    """A bi_reader session on a database with one decision in it."""
    record_review(db, review_run("r1", "x"), [decision("upgrade_ram", sustained(30))])
    db.commit()
    conn = psycopg2.connect(as_user(db_url, "bi_reader"))
    conn.autocommit = True
    yield conn
    conn.close()


def _fails(conn, sql: str, params=None) -> str:
    with conn.cursor() as cur, pytest.raises(psycopg2.Error) as caught:
        cur.execute(sql, params)
    return type(caught.value).__name__ + ": " + str(caught.value).splitlines()[0]


def test_bi_reader_reads_every_reporting_view(bi, db):
    names = [v.name for v in describe(db)]
    for name in names:
        with bi.cursor() as cur:
            cur.execute(f"SELECT * FROM reporting.{name} LIMIT 5")  # names from pg_class
            cur.fetchall()
    with bi.cursor() as cur:
        cur.execute("SELECT decision FROM reporting.current_decisions")
        assert cur.fetchall() == [("upgrade_ram",)]


def test_bi_reader_cannot_read_the_pipeline_tables(bi):
    for table in ("decisions", "review_runs", "criterion_results", "samples", "invoices"):
        assert "permission denied" in _fails(bi, f"SELECT 1 FROM infra_review.{table}")
    assert "permission denied" in _fails(
        bi, "SELECT infra_review.ensure_sample_partitions(now(), now())"
    )


def test_bi_reader_cannot_write_even_with_a_read_write_session(bi):
    with bi.cursor() as cur:
        cur.execute("SHOW default_transaction_read_only")
        assert cur.fetchone() == ("on",)
    assert "read-only" in _fails(bi, "CREATE TABLE reporting.x (i int)")
    with bi.cursor() as cur:  # the role's default can be overridden; the grants still hold
        cur.execute("SET default_transaction_read_only = off")
    assert "permission denied" in _fails(bi, "CREATE TABLE reporting.x (i int)")
    assert "permission denied" in _fails(bi, "CREATE TABLE public.x (i int)")
    for sql in (
        "UPDATE reporting.review_runs SET triggered_by = 'x'",
        "DELETE FROM reporting.review_runs WHERE run_id = 1",
    ):
        assert re.search("permission denied|cannot (update|delete from) view", _fails(bi, sql))
    assert "permission denied" in _fails(bi, "CREATE VIEW reporting.v AS SELECT 1")


def test_reporting_cli_checks_the_docs_and_refuses_a_short_password(db_url, monkeypatch, capsys):
    from infra_review.cli import main

    assert main(["reporting", "docs", "--check"]) == 0
    assert "up to date" in capsys.readouterr().out
    monkeypatch.setenv("BI_READER_PASSWORD", "short")
    assert main(["reporting", "bi-password"]) == 2
    assert "at least 12 characters" in capsys.readouterr().err
    assert main(["reporting", "sync"]) == 0
    assert f"{len(load_criteria().rules)} criteria" in capsys.readouterr().out


# --- BI over TCP, and report links -----------------------------------------------------------


def test_report_url_is_a_link_through_the_configured_airflow_address(db):
    from infra_review.reporting.bi import sync_airflow_url

    run = review_run("manual__2026-10-01T06_00_00_00_00", "x")
    run = ReviewRun(**{**run.__dict__, "report_path": "/srv/data/reports/" + run.report_path[9:]})
    other = ReviewRun(**{**review_run("r2", "y").__dict__, "review_type": "provider",
                         "report_path": "/elsewhere/report.html"})  # fmt: skip
    record_review(db, run, [decision("upgrade_ram", sustained(30))])
    record_review(db, other, [decision("stay")])
    db.commit()
    expected = (
        "/capacity-decisions/reports/capacity/2026Q3/manual__2026-10-01T06_00_00_00_00/report.html"
    )
    url = "SELECT report_url FROM reporting.review_runs ORDER BY run_id"
    assert [r["report_url"] for r in rows(db, url)] == ["http://localhost:8080" + expected, None]
    assert sync_airflow_url(db, "https://airflow.example.kz/") == "https://airflow.example.kz"
    db.commit()
    for view in ("current_decisions", "decision_history", "review_runs"):
        got = rows(db, f"SELECT report_url FROM reporting.{view} WHERE review_type = 'capacity'")
        assert got == [{"report_url": "https://airflow.example.kz" + expected}], view


def _tcp(server, user: str, password: str | None, database: str):
    return psycopg2.connect(
        host=server.host, port=server.port, user=user, password=password, dbname=database,
        connect_timeout=10,
    )  # fmt: skip


@pytest.fixture
def embedded(monkeypatch):
    """The embedded server as `make demo` starts it, in a temporary folder, stopped after.

    Not under pytest's tmp_path: run as root, PostgreSQL runs as the user ``pgserver``, and
    any pytest session resets its base folder to mode 0700, locking that user out."""
    import shutil
    import tempfile

    from infra_review import embedded_pg

    folder = Path(tempfile.mkdtemp(prefix="ir-embedded-"))
    folder.chmod(0o755)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_INFRA_REVIEW_DB", raising=False)
    monkeypatch.delenv(embedded_pg.PORT_ENV, raising=False)
    monkeypatch.setenv("INFRA_REVIEW_PGDATA", str(folder / "pgdata"))
    server = embedded_pg.ensure_running()
    yield server
    embedded_pg.stop(server.datadir)
    shutil.rmtree(folder, ignore_errors=True)


def test_bi_reader_reads_every_view_over_tcp_with_its_password_on_the_embedded_server(
    embedded, capsys
):
    from infra_review import embedded_pg
    from infra_review.cli import main
    from infra_review.settings import embedded_database_url

    embedded_database_url.cache_clear()
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "url", "--bi"]) == 0
    printed = dict(line.split(None, 1) for line in capsys.readouterr().out.splitlines()[-8:])
    assert (printed["host"], printed["port"]) == ("127.0.0.1", str(embedded.port))
    assert (printed["database"], printed["user"]) == ("infra_review", "bi_reader")
    password_file = embedded.datadir / "bi_reader.password"
    assert str(password_file) in printed["password"]
    assert password_file.stat().st_mode & 0o077 == 0  # readable by its owner only
    password = password_file.read_text().strip()
    assert len(password) >= 24

    conn = _tcp(embedded, "bi_reader", password, "infra_review")
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SHOW search_path")
            assert cur.fetchone() == ("reporting",)
            cur.execute(
                "SELECT table_name FROM information_schema.views WHERE table_schema = 'reporting'"
            )
            names = sorted(r[0] for r in cur.fetchall())
            assert set(names) >= VIEWS
            for name in names:  # unqualified: found through search_path
                cur.execute(f"SELECT * FROM {name} LIMIT 5")  # names from the catalog
                cur.fetchall()
    finally:
        conn.close()
    # TCP needs the password, for bi_reader and for the superuser (who has none)
    for user, secret in (
        ("bi_reader", "wrong-password-123"),
        ("bi_reader", None),
        ("postgres", None),
    ):
        with pytest.raises(psycopg2.OperationalError, match="password"):
            _tcp(embedded, user, secret, "infra_review").close()
    # the unix socket stays as it was (trust), and a restart keeps the port and the password
    psycopg2.connect(embedded.url("infra_review")).close()
    assert embedded_pg.stop(embedded.datadir) and embedded_pg.status(embedded.datadir) is None
    again = embedded_pg.ensure_running(embedded.datadir)
    assert again.port == embedded.port
    _tcp(again, "bi_reader", password, "infra_review").close()
    # a kept port that another program took meanwhile: the server moves to a free one
    import socket

    assert embedded_pg.stop(embedded.datadir)
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past TIME_WAIT
        squatter.bind(("127.0.0.1", embedded.port))
        squatter.listen()
        moved = embedded_pg.ensure_running(embedded.datadir)
    assert moved.port != embedded.port
    _tcp(moved, "bi_reader", password, "infra_review").close()


def test_bi_settings_for_a_configured_server_name_its_host_and_never_a_secret(monkeypatch):
    from infra_review.reporting.bi import prepare

    monkeypatch.setenv("DATABASE_URL", "postgresql://infra:s3cret@db.example.kz:6432/infra_review")
    bi = prepare()
    assert (bi.host, bi.port, bi.database, bi.user) == (
        "db.example.kz",
        6432,
        "infra_review",
        "bi_reader",
    )
    assert "s3cret" not in "\n".join(bi.lines())
    assert "infra-review reporting bi-password" in bi.password_source
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@/infra_review?host=/run/pg")
    assert "unix socket" in prepare().note

"""The capacity review against a real PostgreSQL holding the bundled sample quarter: the CLI
records the decisions, a rerun supersedes and keeps, a dry run writes nothing, bad input is
refused before anything is written, a failed gate gives insufficient_data, and a stored
review recomputes to the same result (and notices changed samples)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from infra_review.capacity.recompute import recompute_run
from infra_review.capacity.runner import run_capacity_review
from infra_review.cli import main
from infra_review.errors import InputError
from infra_review.settings import data_dir
from infra_review.store.db import connect
from infra_review.store.decisions import current_decisions
from infra_review.store.samples import load_samples

pytestmark = pytest.mark.integration


@pytest.fixture
def quarter_url(pg_server_url: str, sample_quarter_template: str, monkeypatch):
    """A fresh copy of the sample-quarter database; DATABASE_URL points at it."""
    from tests.conftest import _drop, _with_database, clone_database

    name = clone_database(pg_server_url, sample_quarter_template, "ir_test_capc")
    url = _with_database(pg_server_url, name)
    monkeypatch.setenv("DATABASE_URL", url)
    yield url
    _drop(pg_server_url, name)


def _count(url: str, sql: str, params=()) -> int:
    with connect(url) as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()[0]


def test_cli_records_the_quarter_and_decisions_shows_it(quarter_url, capsys):
    assert main(["review", "capacity", "--quarter", "2026Q3"]) == 0
    out = capsys.readouterr().out
    assert "app-1      upgrade_ram" in out
    assert "RAM above 85% for 30 h 0 min in a row (2026-08-14 06:00 – 2026-08-15 11:59 UTC)" in out
    assert "data-1     no_action" in out and "fleet      no_action" in out
    assert "recorded as review run" in out

    assert main(["decisions", "--quarter", "2026Q3", "--type", "capacity", "--json"]) == 0
    decisions = {d["subject"]: d for d in json.loads(capsys.readouterr().out)}
    assert {k: v["decision"] for k, v in decisions.items()} == {
        "app-1": "upgrade_ram",
        "data-1": "no_action",
        "fleet": "no_action",
    }
    ram = next(c for c in decisions["app-1"]["criteria"] if c["criterion_id"] == "ram.sustained")
    assert ram["outcome"] == "met" and ram["observed"] == 30.0
    assert ram["evidence"]["longest_run"]["start"] == "2026-08-14T06:00:00+00:00"
    assert decisions["app-1"]["report_path"].endswith("report.html")
    planned = next(c for c in decisions["data-1"]["criteria"] if c["criterion_id"] == "ram.planned")
    assert planned["evidence"]["planned_services"][0]["service"] == "clickhouse"
    assert planned["outcome"] == "not_met"  # p95 ~54% of 8 GB + 2 GB = ~79% < 85%
    complaints = next(
        c for c in decisions["app-1"]["criteria"] if c["criterion_id"] == "cpu.complaints"
    )
    assert complaints["observed"] == 2.0 and complaints["outcome"] == "not_met"


def test_rerun_supersedes_and_keeps_the_earlier_decisions(quarter_url):
    first = run_capacity_review("2026Q3", ["data-1"], run_key="run-1")
    assert first.decision_of("data-1").decision == "no_action"
    assert first.fleet["skipped"] is True  # partial review: no fleet decision
    assert [x.subject for x in first.decisions] == ["data-1"]
    # identical inputs do not supersede: the rerun confirms run-1 (issue 17)
    same = run_capacity_review("2026Q3", ["data-1"], run_key="run-same")
    assert same.written["superseded"] == [] and same.run_id != first.run_id
    with connect(quarter_url) as conn, conn.cursor() as cur:
        cur.execute(  # a late sample changes the inputs: the next rerun supersedes
            """INSERT INTO infra_review.samples (series_id, ts, value)
               SELECT series_id, '2026-09-30T23:59:59Z', 50 FROM infra_review.series
               WHERE server = 'data-1' AND metric = 'ram_used_pct'"""
        )
    second = run_capacity_review("2026Q3", ["data-1"], run_key="run-2")
    assert second.run_id != first.run_id
    assert second.written["superseded"] == [first.written["decision_ids"]["data-1"]]
    with connect(quarter_url) as conn:
        current = current_decisions(conn, "2026Q3", "capacity")
        assert [(d["subject"], d["run_id"]) for d in current] == [("data-1", second.run_id)]
        with conn.cursor() as cur:
            cur.execute(
                """SELECT status, superseded_by FROM infra_review.decisions
                   WHERE run_id = %s AND subject = 'data-1'""",
                (first.run_id,),
            )
            status, by = cur.fetchone()
            assert status == "superseded"
            assert by == second.written["decision_ids"]["data-1"]
            cur.execute("SELECT count(*) FROM infra_review.criterion_results")
            assert cur.fetchone()[0] == 16  # both runs' evidence kept
            cur.execute(
                "SELECT count(*) FROM reporting.current_decisions WHERE review_type = 'capacity'"
            )
            assert cur.fetchone()[0] == 1
    # a retry of the same run (same run_key) overwrites its own rows, supersedes nothing new
    again = run_capacity_review("2026Q3", ["data-1"], run_key="run-2")
    assert again.run_id == second.run_id and again.written["superseded"] == []
    assert _count(quarter_url, "SELECT count(*) FROM infra_review.decisions") == 2


def test_dry_run_writes_nothing(quarter_url, capsys):
    reports = data_dir() / "reports" / "capacity"
    before = sorted(reports.rglob("*")) if reports.exists() else []
    code = main(
        ["review", "capacity", "--quarter", "2026Q3", "--servers", "data-1", "--dry-run", "--json"]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["dry_run"] is True and out["run_id"] is None
    assert [d["decision"] for d in out["decisions"]] == ["no_action"]
    assert out["fleet_skipped"]
    assert _count(quarter_url, "SELECT count(*) FROM infra_review.review_runs") == 0
    assert _count(quarter_url, "SELECT count(*) FROM infra_review.criterion_results") == 0
    after = sorted(reports.rglob("*")) if reports.exists() else []
    assert after == before


def test_bad_input_is_refused_before_anything_is_written(quarter_url, capsys):
    with pytest.raises(InputError) as err:
        run_capacity_review("2026Q3", ["app-1", "nope-9"])
    assert err.value.field == "servers" and "nope-9" in str(err.value)
    assert main(["review", "capacity", "--quarter", "2026Q5"]) == 2
    assert "2026Q5" in capsys.readouterr().err
    assert _count(quarter_url, "SELECT count(*) FROM infra_review.review_runs") == 0


def test_stored_review_recomputes_identically_and_notices_changed_samples(quarter_url):
    review = run_capacity_review("2026Q3", ["data-1"], run_key="frozen")
    assert review.decision_of("data-1").decision == "no_action"
    with connect(quarter_url) as conn:
        same = recompute_run(conn, review.run_id)
    assert same["matches"] is True and same["samples_changed"] == []
    # late data lands after the review: 25 hours above 85% on data-1. The stored decision no
    # longer follows from the samples; the recomputation says which series changed and how.
    with connect(quarter_url) as conn, conn.cursor() as cur:
        cur.execute(
            """UPDATE infra_review.samples SET value = 91
               WHERE ts >= '2026-08-01T00:00Z' AND ts < '2026-08-02T01:00Z'
                 AND series_id IN (SELECT series_id FROM infra_review.series
                                   WHERE server = 'data-1' AND metric = 'ram_used_pct')"""
        )
    with connect(quarter_url) as conn:
        changed = recompute_run(conn, review.run_id)
    assert changed["matches"] is False
    assert [c["series"] for c in changed["samples_changed"]] == ["ram_used_pct|"]
    diffs = {(x["subject"], x.get("criterion_id")): x for x in changed["differences"]}
    assert diffs[("data-1", "ram.sustained")]["now"] == ["met", 25.0]
    assert diffs[("data-1", None)] == {
        "subject": "data-1",
        "stored": "no_action",
        "now": "upgrade_ram",
    }
    assert main(["review", "capacity", "--recompute", str(review.run_id)]) == 1


def test_a_review_stored_before_the_look_back_recomputes_without_changed_samples(quarter_url):
    """A review stored before the look-back existed read the window only: recomputing it
    reads the window only too (no look-back, no look-ahead), so nothing reads as changed;
    one stored with a look-back but before its reach was stored reads the look-back its
    fingerprints name."""
    review = run_capacity_review("2026Q3", ["app-1"], run_key="old")
    with connect(quarter_url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT inputs FROM infra_review.review_runs WHERE run_id = %s", (review.run_id,)
        )
        (inputs,) = cur.fetchone()
    stored = inputs["per_server"]["app-1"]
    assert stored["reach"]["lookback_s"]["ram_used_pct"] == 25 * 3600
    del stored["reach"]
    for fp in stored["fingerprints"].values():
        fp.pop("lookahead", None)
    with connect(quarter_url) as conn, conn.cursor() as cur:
        cur.execute(
            "UPDATE infra_review.review_runs SET inputs = %s WHERE run_id = %s",
            (json.dumps(inputs), review.run_id),
        )
    with connect(quarter_url) as conn:
        between = recompute_run(conn, review.run_id)
    assert between["samples_changed"] == [] and between["matches"] is True
    for fp in stored["fingerprints"].values():
        fp.pop("lookback", None)
    with connect(quarter_url) as conn, conn.cursor() as cur:
        cur.execute(
            "UPDATE infra_review.review_runs SET inputs = %s WHERE run_id = %s",
            (json.dumps(inputs), review.run_id),
        )
    with connect(quarter_url) as conn:
        old = recompute_run(conn, review.run_id)
    assert old["samples_changed"] == []


def test_gate_failure_gives_insufficient_data(db_url):
    """A server whose series start a month before the quarter ends: below the coverage floor."""
    ts = pd.date_range("2026-09-01T00:00Z", "2026-10-01T00:00Z", freq="1min", inclusive="left")
    n = len(ts)
    ram = np.full(n, 60.0)
    ram[: 26 * 60] = 95.0  # even a 26-hour run above 85% is not a decision on failed data
    frames = [
        pd.DataFrame({"ts": ts, "server": "late-1", "metric": m, "label": "", "value": v})
        for m, v in (
            ("ram_used_pct", ram),
            ("cpu_used_pct", np.full(n, 20.0)),
            ("swap_io_pages_per_s", np.zeros(n)),
        )
    ]
    with connect(db_url) as conn:
        load_samples(conn, pd.concat(frames), batch_key="late-1", source="test")
    review = run_capacity_review("2026Q3", ["late-1"], run_key="late")
    x = review.decision_of("late-1")
    assert x.decision == "insufficient_data"
    sustained = next(r for r in x.results if r.criterion_id == "ram.sustained")
    assert sustained.outcome.value == "insufficient_data"
    assert sustained.evidence["longest_run"]["duration_s"] == 26 * 3600
    assert "below the floor 90%" in x.summary_en and "проверку качества" in x.summary_ru
    planned = next(r for r in x.results if r.criterion_id == "ram.planned")
    assert planned.evidence["insufficient"]["kind"] in ("gate", "metadata")
    assert x.confirmation["series"]
    assert review.plan["verdict"]["success"] is False
    # fleet servers app-1 and data-1 have no data in this database: the review of all of them
    # gives insufficient_data for each and for the fleet, and still records the run
    everyone = run_capacity_review("2026Q3", run_key="all")
    assert {x.subject: x.decision for x in everyone.decisions} == {
        "app-1": "insufficient_data",
        "data-1": "insufficient_data",
        "late-1": "insufficient_data",
        "fleet": "insufficient_data",
    }
    assert datetime.fromisoformat(everyone.plan["window_end"]) - datetime.fromisoformat(
        everyone.plan["window_start"]
    ) == timedelta(days=92)
    assert everyone.plan["window_start"] == datetime(2026, 7, 1, tzinfo=UTC).isoformat()


def test_in_memory_gate_agrees_with_the_database_counts(quarter_url):
    """A one-process review judges coverage from the series it has just read; that verdict
    must be window_verdict's, series for series, with a hole and a quarantined row."""
    from infra_review.capacity import data as d
    from infra_review.capacity.criteria.common import CAPACITY_METRICS
    from infra_review.fleet import load_fleet
    from infra_review.quality.window import coverage_verdict, quarantined, window_verdict
    from infra_review.quarter import Quarter

    q = Quarter(2026, 3)
    fleet = load_fleet()
    metrics = list(CAPACITY_METRICS)
    with connect(quarter_url) as conn:
        with conn.cursor() as cur:  # a hole and a quarantined row make data-1's ram fail
            cur.execute(
                """DELETE FROM infra_review.samples WHERE ts >= '2026-08-01' AND ts < '2026-08-20'
                   AND series_id = (SELECT series_id FROM infra_review.series
                                    WHERE server = 'data-1' AND metric = 'ram_used_pct')"""
            )
            cur.execute(
                """INSERT INTO infra_review.quarantine
                       (batch_key, source, server, metric, label, ts, value, expectation, reason)
                   VALUES ('b', 'test', 'data-1', 'ram_used_pct', '', '2026-08-02', 120,
                           'range', 'out of range')"""
            )
        servers = ["app-1", "data-1"]
        from_db = window_verdict(
            conn, q.start, q.end, servers=servers, metrics=metrics, floor=0.9, fleet=fleet
        )
        failing = [s for s in from_db.series if not s.passed]
        assert [(s.server, s.metric, s.quarantined) for s in failing] == [
            ("data-1", "ram_used_pct", 1)
        ]
        assert "quarantined" in failing[0].reasons[-1]
        held = quarantined(conn, q.start, q.end, servers=servers, metrics=metrics)
        for server in servers:
            series = d.read_server_series(conn, server, q)
            cadence = d.series_cadence(conn, server)
            in_memory = coverage_verdict(
                d.counts_from_series(server, series, cadence, q), q.start, q.end, fleet, 0.9, held
            )
            assert in_memory.series == [s for s in from_db.series if s.server == server]


def test_a_review_whose_commit_fails_leaves_no_report(quarter_url):
    """The report is written beside its final folder and moved there only after the commit:
    a write that PostgreSQL refuses leaves neither records nor a report naming them."""
    with connect(quarter_url) as conn, conn.cursor() as cur:
        cur.execute(
            """CREATE FUNCTION infra_review.refuse() RETURNS trigger LANGUAGE plpgsql AS
               $$ BEGIN RAISE EXCEPTION 'disk full (test)'; END $$;
               CREATE CONSTRAINT TRIGGER refuse AFTER INSERT ON infra_review.criterion_results
               DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION infra_review.refuse()"""
        )
    reports = data_dir() / "reports" / "capacity" / "2026Q3"
    before = sorted(reports.rglob("*")) if reports.exists() else []
    import psycopg2

    with pytest.raises(psycopg2.Error, match="disk full"):
        run_capacity_review("2026Q3", ["data-1"], run_key="refused")
    after = sorted(reports.rglob("*")) if reports.exists() else []
    assert after == before
    assert _count(quarter_url, "SELECT count(*) FROM infra_review.review_runs") == 0


def test_a_load_between_the_plan_and_the_write_is_flagged_as_changed_inputs(quarter_url):
    """The DAG's steps run minutes apart: the read marker is taken with the plan, so samples
    loaded after the plan and before the write show as ``inputs_changed_since``."""
    from infra_review.capacity import runner

    review = runner.plan("2026Q3", run_key="marker-test")
    assert review.read_marker is not None and review.read_marker["read_at"]
    again = type(review).from_dict(json.loads(json.dumps(review.to_dict())))  # via XCom
    assert again.read_marker == review.read_marker
    payloads = [runner.evaluate_server(again, s) for s in again.servers]
    late = pd.DataFrame(
        {"ts": [pd.Timestamp("2026-09-30T23:59:00Z")], "server": ["app-1"],
         "metric": ["ram_used_pct"], "label": [""], "value": [50.0]}
    )  # fmt: skip
    with connect(quarter_url) as conn:
        end = pd.Timestamp("2026-10-01T00:00:00Z")
        load_samples(
            conn, late, batch_key="late.csv", source="csv",
            window_start=late["ts"].min(), window_end=end,
        )  # fmt: skip
    runner.finish(again, payloads, runner.evaluate_fleet(again, payloads), url=quarter_url)
    flagged = "SELECT bool_or(inputs_changed_since) FROM reporting.current_decisions"
    assert _count(quarter_url, flagged) is True


def test_a_stray_server_is_reviewed_alone_and_listed_but_never_blocks_the_fleet(quarter_url):
    """Issue 13 item 7: one sample for a mistyped `app-l` turned the fleet decision into
    insufficient_data, and excluding it with --servers made the review partial."""
    row = pd.DataFrame(
        {
            "ts": [pd.Timestamp("2026-08-01T00:00Z")],
            "server": ["app-l"],
            "metric": ["ram_used_pct"],
            "label": [""],
            "value": [50.0],
        }
    )
    with connect(quarter_url) as conn:
        load_samples(conn, row, batch_key="typo", source="test")
    everyone = run_capacity_review("2026Q3", run_key="with-stray")
    decided = {x.subject: x.decision for x in everyone.decisions}
    assert decided["fleet"] == "no_action" and decided["app-l"] == "insufficient_data"
    both = next(
        r for r in everyone.decision_of("fleet").results if r.criterion_id == "server.both_loaded"
    )
    assert both.evidence["unlisted_servers"] == ["app-l"]
    listed = run_capacity_review("2026Q3", ["app-1", "data-1"], run_key="fleet-only")
    assert listed.plan["complete"] is True and listed.decision_of("fleet").decision == "no_action"

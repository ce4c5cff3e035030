"""A RAM run over a quarter boundary through the real path on a real PostgreSQL: samples
loaded into the store, ``infra-review review capacity --json`` for 2027Q1 and then 2027Q2
(the CLI runs ``capacity/runner.py``), and the DAG's ``evaluate`` task function for 2027Q2
(the same runner step). The run is counted once, in Q2, with the whole run in evidence, and
the look-back rows never count toward coverage. The clock is set: 1 July 2027 06:00 UTC."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from infra_review.cli import main
from infra_review.store.db import connect
from infra_review.store.samples import load_samples

pytestmark = pytest.mark.integration

SERVER = "edge-1"  # not in fleet.yaml: reviewed alone with --servers


@pytest.fixture
def edge_url(db_url: str, monkeypatch) -> str:
    """Two quarters of 5-minute samples; RAM at 95% from 31 March 09:00 to 1 April 15:00."""
    monkeypatch.setenv("INFRA_REVIEW_NOW", "2027-07-01T06:00:00Z")
    ts = pd.date_range("2027-01-01T00:00Z", "2027-07-01T00:00Z", freq="5min", inclusive="left")
    hot = (ts >= pd.Timestamp("2027-03-31T09:00Z")) & (ts < pd.Timestamp("2027-04-01T15:00Z"))
    frames = [
        pd.DataFrame({"ts": ts, "server": SERVER, "metric": metric, "label": "", "value": v})
        for metric, v in (
            ("ram_used_pct", np.where(hot, 95.0, 60.0)),
            ("cpu_used_pct", np.full(len(ts), 20.0)),
            ("swap_io_pages_per_s", np.zeros(len(ts))),
        )
    ]
    with connect(db_url) as conn:
        load_samples(conn, pd.concat(frames), batch_key="edge", source="test")
        with conn.cursor() as cur:  # the collector's promise: one sample every 5 minutes
            cur.execute(
                "UPDATE infra_review.series SET cadence_s = 300 WHERE server = %s", (SERVER,)
            )
    return db_url


def cli_review(quarter: str, capsys) -> dict:
    assert main(["review", "capacity", "--quarter", quarter, "--servers", SERVER, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    (decision,) = [x for x in out["decisions"] if x["subject"] == SERVER]
    return decision


def ram_of(results: list[dict]) -> dict:
    return next(r for r in results if r["criterion_id"] == "ram.sustained")


def test_a_run_over_the_boundary_is_counted_once_through_the_cli_and_the_dag_task(edge_url, capsys):
    q1 = cli_review("2027Q1", capsys)
    ram = ram_of(q1["criteria"])
    assert q1["decision"] == "no_action" and ram["outcome"] == "not_met"
    assert ram["observed"] == pytest.approx(15.0)

    q2 = cli_review("2027Q2", capsys)
    ram = ram_of(q2["criteria"])
    assert q2["decision"] == "upgrade_ram" and ram["outcome"] == "met"
    assert ram["observed"] == pytest.approx(30.0)
    run = ram["evidence"]["longest_run"]
    assert (run["start"], run["end"]) == ("2027-03-31T09:00:00+00:00", "2027-04-01T14:55:00+00:00")
    assert run["threshold_crossed_at"] == "2027-04-01T09:00:00+00:00"
    assert run["began_before_window"] is True and run["counted_in"] == "this window"
    # the look-back: 24 h + 1 h of slack at the 5-minute cadence, 300 rows, not in coverage
    assert ram["evidence"]["lookback"] == {
        "from": "2027-03-30T23:00:00+00:00",
        "hours": 25.0,
        "samples": 300,
    }
    assert ram["evidence"]["samples"] == 91 * 288
    assert q2["context"]["data_quality"]["ram.sustained"]["samples"] == 91 * 288
    assert q2["context"]["data_quality"]["ram.sustained"]["coverage"] == 1.0
    assert "passed 24 h at 2027-04-01 09:00 UTC" in q2["summary_en"]

    # the DAG's evaluate task runs the same runner step and finds the same result
    from infra_review.capacity import runner
    from infra_review.reporting.task_logs import evaluate_server

    plan = runner.plan("2027Q2", [SERVER], dry_run=True).to_dict()
    payload = evaluate_server(plan, SERVER)
    task_ram = ram_of(payload["results"])
    assert task_ram["outcome"] == "met" and task_ram["evidence"] == ram["evidence"]


@pytest.fixture
def hourly_url(db_url: str, monkeypatch) -> str:
    """Hourly samples as a CSV export gives them (no cadence recorded; the server is not in
    fleet.yaml, so 60 s is all that is known before reading): RAM at 95% from 29 March 00:00
    to 1 April 10:00 2027 with the 30 March 23:00 sample missing."""
    monkeypatch.setenv("INFRA_REVIEW_NOW", "2027-07-01T06:00:00Z")
    ts = pd.date_range("2027-01-01T00:00Z", "2027-07-01T00:00Z", freq="1h", inclusive="left")
    ts = ts[ts != pd.Timestamp("2027-03-30T23:00Z")]
    hot = (ts >= pd.Timestamp("2027-03-29T00:00Z")) & (ts < pd.Timestamp("2027-04-01T10:00Z"))
    frames = [
        pd.DataFrame({"ts": ts, "server": SERVER, "metric": metric, "label": "", "value": v})
        for metric, v in (
            ("ram_used_pct", np.where(hot, 95.0, 60.0)),
            ("cpu_used_pct", np.full(len(ts), 20.0)),
            ("swap_io_pages_per_s", np.zeros(len(ts))),
        )
    ]
    with connect(db_url) as conn:
        load_samples(conn, pd.concat(frames), batch_key="hourly", source="csv")
    return db_url


def test_hourly_samples_over_the_boundary_are_counted_once(hourly_url, capsys):
    """The look-back is sized from the measured 3600 s (29 h), not the 60 s known before
    reading (25 h, which began at the missing sample and met the same run in Q2 again)."""
    q1 = ram_of(cli_review("2027Q1", capsys)["criteria"])
    assert q1["outcome"] == "met"
    q2 = ram_of(cli_review("2027Q2", capsys)["criteria"])
    assert q2["outcome"] == "not_met" and q2["evidence"]["runs_qualifying"] == 0
    assert q2["evidence"]["lookback"]["hours"] == 29.0
    (carried,) = q2["evidence"]["carried_over_runs"]
    assert carried["counted_in"] == "previous window"

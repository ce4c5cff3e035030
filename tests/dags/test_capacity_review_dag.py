"""capacity_review: params are validated before any task runs, and one dag.test() over the
bundled sample quarter writes the decisions (app-1: upgrade_ram, with its 30-hour run as
evidence) under the quarter derived from the run's data interval; a dry run writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from dateutil.relativedelta import relativedelta

from infra_review.quarter import Quarter
from tests.dags.conftest import task_states

pytestmark = pytest.mark.dags


@pytest.fixture(scope="module")
def sample_quarter_url(pg_server_url: str, sample_quarter_template: str):
    """A copy of the sample-quarter database for this module's DAG runs."""
    from tests.conftest import _drop, _with_database, clone_database

    name = clone_database(pg_server_url, sample_quarter_template, "ir_test_capdag")
    yield _with_database(pg_server_url, name)
    _drop(pg_server_url, name)


def test_params_and_schedule(dagbag):
    from airflow.sdk.definitions.param import ParamValidationError

    dag = dagbag.dags.get("capacity_review")
    assert dag is not None, dagbag.import_errors
    quarter = dag.params.get_param("quarter")
    assert quarter.resolve("2026Q3") == "2026Q3"
    assert quarter.resolve(None) is None
    for bad in ("2026Q5", "2026Q0", "26Q1", "2026-Q3", "2026q3"):
        with pytest.raises(ParamValidationError):
            quarter.resolve(bad)
    assert dag.params.get_param("servers").resolve(["app-1"]) == ["app-1"]
    with pytest.raises(ParamValidationError):
        dag.params.get_param("servers").resolve("app-1")
    with pytest.raises(ParamValidationError):
        dag.params.get_param("dry_run").resolve("yes")
    assert dag.timetable.expression == "0 6 1 1,4,7,10 *"
    assert dag.timetable.interval == relativedelta(months=3)
    assert {t.task_id for t in dag.tasks} == {
        "check_window",
        "servers_of",
        "evaluate",
        "fleet_criteria",
        "record_and_report",
        "notify",
    }
    assert all(t.retries >= 1 for t in dag.tasks)


def test_bad_quarter_is_rejected_before_any_task_runs(run_dag, db):
    from airflow.sdk.definitions.param import ParamValidationError

    with pytest.raises(ParamValidationError):
        run_dag(
            "capacity_review",
            logical_date=datetime(2026, 10, 1, 6, tzinfo=UTC),
            run_conf={"quarter": "2026Q5"},
        )
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM infra_review.review_runs")
        assert cur.fetchone()[0] == 0


def test_the_form_offers_only_finished_quarters(dagbag):
    """The quarter is a select of the last eight full quarters: an unfinished quarter or
    one older than the list cannot be submitted (the task-side refusal is unit-tested in
    tests/unit/test_airflow_adapter.py)."""
    from airflow.sdk.definitions.param import ParamValidationError

    quarter = dagbag.dags["capacity_review"].params.get_param("quarter")
    offered = [q for q in quarter.schema["enum"] if q]
    assert len(offered) == 8
    after = Quarter.parse(offered[0]).next()
    for bad in (str(after), str(Quarter.parse(offered[-1]).previous())):
        with pytest.raises(ParamValidationError):
            quarter.resolve(bad)


def test_capacity_review_end_to_end_then_dry_run(run_dag, sample_quarter_url, monkeypatch):
    import psycopg2

    monkeypatch.setenv("DATABASE_URL", sample_quarter_url)
    # No quarter param (the form's default is cleared): the quarter comes from the data
    # interval, as for the scheduled run of 1 October, which reviews 1 July to 1 October.
    dag_run = run_dag(
        "capacity_review",
        logical_date=datetime(2026, 10, 1, 6, tzinfo=UTC),
        run_conf={"quarter": None},
    )
    assert dag_run.state == "success", task_states(dag_run)
    states = task_states(dag_run)
    assert states["evaluate[0]"] == "success" and states["evaluate[1]"] == "success"
    told = next(ti for ti in dag_run.get_task_instances() if ti.task_id == "notify")
    note = told.xcom_pull(task_ids="notify")  # no connection configured: a log line
    assert note["channels"] == {"telegram": "not configured", "email": "not configured"}
    assert "app-1: upgrade_ram" in note["message"]["text"]

    conn = psycopg2.connect(sample_quarter_url)
    try:
        with conn.cursor() as cur:
            cur.execute(
                """SELECT run_id, quarter, window_start, dag_id, dag_run_id, criteria_version,
                          criteria_sha256, quality_verdict, report_path, inputs
                   FROM infra_review.review_runs WHERE review_type = 'capacity'"""
            )
            runs = cur.fetchall()
            assert len(runs) == 1
            run_id, quarter, start, dag_id, dag_run_id, version, sha, verdict, report, inputs = (
                runs[0]
            )
            assert (quarter, start) == ("2026Q3", datetime(2026, 7, 1, tzinfo=UTC))
            assert (dag_id, dag_run_id) == ("capacity_review", dag_run.run_id)
            assert version and len(sha) == 64
            assert verdict["success"] is True and verdict["floor"] == 0.9
            assert Path(report).exists() and report.endswith("report.html")
            assert (Path(report).parent / "app-1-ram.sustained.png").exists()
            page = Path(report).read_text(encoding="utf-8")  # plots embedded, both languages
            assert page.count('src="data:image/png;base64,') >= 1 and "Русский" in page
            assert "RAM above 85%" in page and "RAM выше 85%" in page  # evidence, both
            assert sorted(inputs["per_server"]) == ["app-1", "data-1"]
            assert inputs["criteria"]["rules"]["ram.sustained"]["params"]["threshold"] == 85

            cur.execute(
                """SELECT subject, decision, status, summary_en, summary_ru, drivers, options,
                          confirmation, context
                   FROM infra_review.decisions WHERE run_id = %s ORDER BY subject""",
                (run_id,),
            )
            decisions = {row[0]: row[1:] for row in cur.fetchall()}
            assert {k: v[0] for k, v in decisions.items()} == {
                "app-1": "upgrade_ram",
                "data-1": "no_action",
                "fleet": "no_action",
            }
            _, status, en, ru, drivers, options, confirmation, context = decisions["app-1"]
            assert status == "proposed"
            assert "ram.sustained met" in en and "30 h 0 min" in en
            assert "Выполнен ram.sustained" in ru
            assert drivers[0]["criterion_id"] == "ram.sustained"
            assert drivers[0]["evidence"]["longest_run"]["start"] == "2026-08-14T06:00:00+00:00"
            assert {o["option"] for o in options} >= {"upgrade_cpu", "no_action", "watch"}
            assert confirmation["criteria"] == ["ram.sustained"]
            assert context["data_quality"]["ram.sustained"]["passed"] is True

            cur.execute(
                """SELECT subject, criterion_id, outcome, observed, threshold, evidence
                   FROM infra_review.criterion_results WHERE run_id = %s""",
                (run_id,),
            )
            results = {(r[0], r[1]): r[2:] for r in cur.fetchall()}
            assert len(results) == 8 + 8 + 4
            outcome, observed, threshold, evidence = results[("app-1", "ram.sustained")]
            assert (outcome, observed, threshold) == ("met", 30.0, 24.0)
            assert evidence["longest_run"]["end"] == "2026-08-15T11:59:00+00:00"
            assert evidence["samples"] == 132480 and evidence["gate"]["passed"] is True
            assert results[("app-1", "cpu.complaints")][1] == 2.0  # two `slow`, threshold 3
            assert results[("data-1", "cpu.n8n_queue")][3]["applicable"] is False
            assert results[("app-1", "ram.degradation")][0] == "insufficient_data"  # no 2026Q2
            assert results[("fleet", "server.geo")][0] == "not_met"
            cur.execute("SELECT count(*) FROM infra_review.review_runs")
            before = cur.fetchone()[0]
    finally:
        conn.close()

    dry = run_dag(
        "capacity_review",
        logical_date=datetime(2026, 11, 1, 6, tzinfo=UTC),
        run_conf={"quarter": "2026Q3", "servers": ["data-1"], "dry_run": True},
    )
    assert dry.state == "success", task_states(dry)
    conn = psycopg2.connect(sample_quarter_url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM infra_review.review_runs")
            assert cur.fetchone()[0] == before
            cur.execute("SELECT count(*) FROM infra_review.decisions WHERE status = 'superseded'")
            assert cur.fetchone()[0] == 0
    finally:
        conn.close()
    last = next(ti for ti in dry.get_task_instances() if ti.task_id == "record_and_report")
    assert last.xcom_pull(task_ids="record_and_report")["path"] is None
    assert last.xcom_pull(task_ids="record_and_report")["decisions"] == {"data-1": "no_action"}


def test_every_dag_file_is_the_task_graph_in_under_80_lines():
    dags = Path(__file__).resolve().parents[2] / "dags"
    ignored = set((dags / ".airflowignore").read_text(encoding="utf-8").split())
    for path in sorted(dags.glob("*.py")):
        if path.name not in ignored:
            lines = path.read_text(encoding="utf-8").count("\n")
            assert lines < 80, f"{path.name}: {lines} lines"

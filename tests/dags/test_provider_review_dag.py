"""provider_review: the trigger form's params validate, and one dag.test() over the example
data records the quarter's decision, derived from the run's data interval."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from dateutil.relativedelta import relativedelta

from tests.dags.conftest import task_states

pytestmark = pytest.mark.dags
NOW = datetime(2026, 11, 25, tzinfo=UTC)


def test_params_and_schedule(dagbag):
    from airflow.sdk.definitions.param import ParamValidationError

    dag = dagbag.dags.get("provider_review")  # get_dag() would need the metadata DB
    assert dag is not None, dagbag.import_errors
    quarter = dag.params.get_param("quarter")
    assert quarter.resolve("2026Q3") == "2026Q3"
    assert quarter.resolve(None) is None
    for bad in ("2026Q5", "26Q1", "2026-Q1"):
        with pytest.raises(ParamValidationError):
            quarter.resolve(bad)
    assert dag.params.get_param("providers").resolve(["example-eu-cloud"]) == ["example-eu-cloud"]
    with pytest.raises(ParamValidationError):
        dag.params.get_param("dry_run").resolve("yes")
    # quarterly, with a three-month data interval (a bare cron string would give an empty one)
    assert dag.timetable.expression == "0 6 1 1,4,7,10 *"
    assert dag.timetable.interval == relativedelta(months=3)
    assert [t.task_id for t in dag.tasks] == ["resolve", "check_inputs", "review", "notify"]


def test_provider_review_runs_end_to_end(run_dag, db, tmp_path):
    from infra_review.demo.sample_quarter import generate_frames
    from infra_review.imports import import_samples
    from infra_review.provider.demo import examples_dir, write_pilot_probes
    from infra_review.provider.loads import import_invoices, import_rates, import_tickets
    from infra_review.quarter import Quarter

    quarter = Quarter(2026, 3)
    import_rates(examples_dir() / "example-rates.csv", now=NOW)
    import_invoices(examples_dir() / "example-invoices.csv", now=NOW)
    import_tickets(examples_dir() / "example-tickets.csv", now=NOW)
    samples = generate_frames(quarter)["samples"]
    probes = samples[samples["metric"] == "probe_up"].copy()
    probes["ts"] = probes["ts"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    probes[["ts", "server", "metric", "value", "label"]].to_csv(tmp_path / "p.csv", index=False)
    import_samples(tmp_path / "p.csv")
    import_samples(write_pilot_probes(tmp_path, quarter))

    # No quarter param (the form's default is cleared): the quarter comes from the data
    # interval (1 July to 1 October).
    dag_run = run_dag(
        "provider_review",
        logical_date=datetime(2026, 10, 1, 6, tzinfo=UTC),
        run_conf={"quarter": None},
    )
    assert dag_run.state == "success", task_states(dag_run)

    with db.cursor() as cur:
        cur.execute(
            """SELECT d.quarter, d.decision, d.status, r.dag_id, r.dag_run_id, r.report_path
               FROM infra_review.decisions d JOIN infra_review.review_runs r USING (run_id)
               WHERE d.review_type = 'provider'"""
        )
        rows = cur.fetchall()
        assert len(rows) == 1
        q, decision, status, dag_id, dag_run_id, report_path = rows[0]
        assert (q, decision, status) == ("2026Q3", "evaluate_migration", "proposed")
        assert (dag_id, dag_run_id) == ("provider_review", dag_run.run_id)
        assert report_path.endswith("report.html")
        page = Path(report_path).read_text(encoding="utf-8")
        # self-contained: the chart travels inside the page, both languages are there
        assert 'src="data:image/png;base64,' in page
        assert "Provider review 2026Q3" in page and "RU:" in page
        cur.execute(
            "SELECT provider, recommended FROM reporting.provider_scorecards ORDER BY provider"
        )
        assert cur.fetchall() == [
            ("example-eu-cloud", False),
            ("example-global-cloud", True),
            ("example-kz-cloud", False),
        ]
    review_ti = next(ti for ti in dag_run.get_task_instances() if ti.task_id == "review")
    assert review_ti.xcom_pull(task_ids="review")["decision"] == "evaluate_migration"

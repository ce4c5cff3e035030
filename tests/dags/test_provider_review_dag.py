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


MESSY_PROVIDERS = """\
version: "messy"
reporting_currency: KZT
current: example-kz-cloud
requirements:
  jurisdictions: [KZ]
  critical: [tech.sla, strat.jurisdiction]
  usage: {traffic_tb_per_month: 4, storage_gb: 0}
providers:
  - id: example-kz-cloud
    sla_pct: 99.9
    jurisdictions: {codes: [KZ], source: "dc page", date: 2026-06-01}
    founded: 2014
    technologies: {ipv6: true, nvme: true, managed_kubernetes: true, s3_storage: true,
                   source: "catalogue", date: 2026-06-01}
    automation: {api: true, terraform_provider: true, source: "api docs", date: 2026-06-01}
    scores:
      reputation: {score: 4, source: "survey", date: 2026-06-01}
      stability: {score: 4, source: "report", date: 2026-06-01}
      roadmap: {score: 4, source: "roadmap", date: 2026-06-01}
    price_list:
      - {item: vps-16g, kind: plan, price: 34000, currency: KZT, included_traffic_tb: 2}
      - {item: vps-8g, kind: plan, price: 18000, currency: KZT, included_traffic_tb: 1}
      - {item: backup, kind: addon, price: 6000, currency: KZT}
    fleet: {app-1: vps-16g, data-1: vps-8g}
  - id: alt-probed
    sla_pct: 99.95
    jurisdictions: {codes: [KZ], source: "regions", date: 2026-06-01}
    founded: 2011
    technologies: {ipv6: true, nvme: true, managed_kubernetes: true, s3_storage: true,
                   source: "pilot", date: 2026-07-15}
    automation: {api: true, terraform_provider: true, source: "registry", date: 2026-07-15}
    scores:
      reputation: {score: 4, source: "note", date: 2026-06-01}
      stability: {score: 4, source: "report", date: 2026-06-01}
      roadmap: {score: 4, source: "briefing", date: 2026-06-01}
    price_list:
      - {item: g2-16, kind: plan, price: 60, currency: USD, included_traffic_tb: 4}
      - {item: g2-8, kind: plan, price: 30, currency: USD, included_traffic_tb: 3}
    fleet: {app-1: g2-16, data-1: g2-8}
    probes:
      - {server: pilot-gc-1, endpoint: "pilot:/healthz", interval: 60s}
      - {server: pilot-gc-2, interval: 60s}   # declared, never reported
"""
# The current provider: a third server invoiced (extra-3, not in fleet.yaml), app-1 billed
# 1 KZT above its tolerance in August, backup's price up 10% from September.
MESSY_INVOICES = "provider,month,line_item,amount,currency\n" + "".join(
    f"example-kz-cloud,{m},vps-16g app-1,{app},KZT\n"
    f"example-kz-cloud,{m},vps-8g data-1,18000,KZT\n"
    f"example-kz-cloud,{m},vps-8g extra-3,18000,KZT\n"
    f"example-kz-cloud,{m},backup,{backup},KZT\n"
    f"alt-probed,{m},g2-8 pilot-gc-1,30,USD\n"
    for m, app, backup in (
        ("2026-07", 34000, 6000),
        ("2026-08", 34341, 6000),
        ("2026-09", 34000, 6600),
    )
)
MESSY_TICKETS = (
    "provider,opened_at,first_response_at,resolved_at\n"
    "example-kz-cloud,2026-07-10T09:00:00Z,2026-07-10T10:00:00Z,\n"
    "example-kz-cloud,2026-08-10T09:00:00Z,2026-08-10T10:00:00Z,\n"
    "alt-probed,2026-08-11T09:00:00Z,2026-08-11T09:30:00Z,\n"
)


def test_provider_review_decides_a_messy_quarter(run_dag, db, tmp_path, monkeypatch):
    """Issue 14 end to end: the current provider's probes are silent, an alternative has one
    silent declared series, invoices carry a price deviation 1 KZT beyond the tolerance, a
    price change and a server not in fleet.yaml. Decision: insufficient_data, not stay."""
    import shutil

    from infra_review.imports import import_samples
    from infra_review.provider.demo import examples_dir, write_pilot_probes
    from infra_review.provider.loads import import_invoices, import_rates, import_tickets
    from infra_review.quarter import Quarter
    from infra_review.settings import config_dir

    config = tmp_path / "config"
    config.mkdir()
    for name in ("fleet.yaml", "criteria.yaml", "upgrade_limits.yaml"):
        if (config_dir() / name).exists():
            shutil.copy(config_dir() / name, config / name)
    (config / "providers.yaml").write_text(MESSY_PROVIDERS, encoding="utf-8")
    rates = examples_dir() / "example-rates.csv"
    monkeypatch.setenv("INFRA_REVIEW_CONFIG_DIR", str(config))
    import_rates(rates, now=NOW)
    (tmp_path / "inv.csv").write_text(MESSY_INVOICES, encoding="utf-8")
    import_invoices(tmp_path / "inv.csv", now=NOW)
    (tmp_path / "t.csv").write_text(MESSY_TICKETS, encoding="utf-8")
    import_tickets(tmp_path / "t.csv", now=NOW)
    import_samples(write_pilot_probes(tmp_path, Quarter(2026, 3)))  # pilot-gc-1 only

    dag_run = run_dag(
        "provider_review",
        logical_date=datetime(2026, 10, 1, 6, tzinfo=UTC),
        run_conf={"quarter": None},
    )
    assert dag_run.state == "success", task_states(dag_run)
    with db.cursor() as cur:
        cur.execute(
            """SELECT d.decision, d.summary_en, d.summary_ru, r.report_path
               FROM infra_review.decisions d JOIN infra_review.review_runs r USING (run_id)
               WHERE d.review_type = 'provider'"""
        )
        ((decision, en, ru, report_path),) = cur.fetchall()
        cur.execute(
            """SELECT subject, criterion_id, outcome, evidence
               FROM infra_review.criterion_results"""
        )
        results = {(s, c): (o, e) for s, c, o, e in cur.fetchall()}
        cur.execute("SELECT provider, outcomes FROM reporting.provider_scorecards")
        outcomes = dict(cur.fetchall())
        cur.execute(
            """SELECT decision FROM reporting.current_decisions WHERE review_type = 'provider'"""
        )
        assert cur.fetchall() == [("insufficient_data",)]
        cur.execute(
            """SELECT outcome, reason FROM reporting.criterion_results
               WHERE subject = 'example-kz-cloud' AND criterion_id = 'fin.hidden_fees'"""
        )
        ((view_outcome, view_reason),) = cur.fetchall()
    assert decision == "insufficient_data"
    # both summaries name the critical input that is missing and every other gap
    assert "example-kz-cloud tech.sla" in en and "example-kz-cloud tech.sla" in ru
    assert "Недостаточно данных" in ru and "alt-probed tech.sla" in en
    assert "alt-probed fin.tco" in en  # the fleet mismatch makes the TCO unknown
    # silent series: every declared one counts, named, coverage 0
    outcome, sla = results[("example-kz-cloud", "tech.sla")]
    assert outcome == "insufficient_data" and sla["coverage"] == 0
    assert sorted(sla["silent_series"]) == ["app-1", "data-1"]
    outcome, sla = results[("alt-probed", "tech.sla")]
    assert outcome == "insufficient_data" and sla["silent_series"] == ["pilot-gc-2"]
    # reconciled invoices: 34 341 is 1 KZT beyond 34 000 x 1.01; backup +10%
    outcome, fees = results[("example-kz-cloud", "fin.hidden_fees")]
    assert outcome == view_outcome == "not_met"
    assert "2026-08 vps-16g app-1 price_deviation +341 KZT" in view_reason  # the BI view says it
    assert [(f["month"], f["line_item"], f["excess"]) for f in fees["hidden_fees"]] == [
        ("2026-08", "vps-16g app-1", 341),
        ("2026-09", "backup", 600),
    ]
    outcome, pred = results[("example-kz-cloud", "fin.predictable")]
    assert outcome == "not_met"
    # +10% backup, and app-1's +1.003% in August (back by -0.997% in September: within 1%)
    assert [(c["item"], c["month"]) for c in pred["price_changes"]] == [
        ("backup", "2026-09"),
        ("vps-16g", "2026-08"),
    ]
    # the same fleet: extra-3 is invoiced but not in fleet.yaml
    outcome, tco = results[("alt-probed", "fin.tco")]
    assert outcome == "insufficient_data" and tco["fleet"]["invoiced_not_listed"] == ["extra-3"]
    # the current provider's fin.tco is the reference, not a met criterion
    assert ("example-kz-cloud", "fin.tco") not in results
    assert outcomes["example-kz-cloud"]["fin.tco"] == "reference"
    page = Path(report_path).read_text(encoding="utf-8")
    assert "insufficient_data" in page and "extra-3" in page and "price_deviation" in page

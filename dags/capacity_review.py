"""
### Capacity review (seed 02.04.04, "Технические критерии upgrade")

On the first day of each quarter, for the quarter that just ended (the run on 1 October
reviews July to September), and whenever someone triggers it: decide per server whether RAM
or CPU must be upgraded (`upgrade_ram`, `upgrade_cpu`), whether the fleet needs a new server
(`add_server`), or `watch` / `no_action` / `insufficient_data`; write each decision with all
of its evidence to PostgreSQL and render a report.

**Params** (Trigger DAG form; used by manual runs, a scheduled run reviews the quarter
that just ended):
- `quarter`: for example `2026Q3`; the default is the last full quarter, and a quarter that
  has not ended is refused;
- `servers`: review only these (a multi-select from `fleet.yaml`; a partial review records
  no fleet decision);
- `dry_run`: evaluate and report in the log; write nothing.

**Tasks:** `check_window` (params, servers, coverage verdict of every series) ->
`evaluate` (one mapped task per server: reads its window once, all ram.* and cpu.* criteria)
-> `fleet_criteria` (server.*) -> `write_records` (review run, decisions, criterion
results; a rerun of the quarter supersedes the earlier decisions and keeps them) ->
`report` (one self-contained HTML file with the plots embedded, linked from the review run
and the "Capacity decisions" page; the task log prints both URLs).

Thresholds live in `include/config/criteria.yaml` (versioned). Decisions: the "Capacity
decisions" page in this UI, `infra-review decisions --quarter 2026Q3 --type capacity`, or the
BI views `reporting.current_decisions` and `reporting.criterion_results`.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Param, XComArg, dag, task

from quarterly_review import config_choices, dry_run_param, quarter_param, review_dag_args


@dag(
    dag_id="capacity_review",
    doc_md=__doc__,
    **review_dag_args(
        "capacity", retries=1, retry_delay=timedelta(seconds=30), timeout=timedelta(minutes=60)
    ),
    params={
        "quarter": quarter_param(),
        "servers": Param(
            None,
            type=["null", "array"],
            items={"type": "string"},
            title="Servers",
            description="Review only these servers (from fleet.yaml). Empty: every server in "
            "fleet.yaml plus any with samples in the quarter. A partial review makes no "
            "fleet (add_server) decision.",
            **config_choices("fleet.yaml", "servers", "name"),
        ),
        "dry_run": dry_run_param("Evaluate and print the report to the task log; write nothing."),
    },
)
def capacity_review():
    @task
    def check_window(
        params=None, dag_run=None, ti=None, data_interval_start=None, data_interval_end=None
    ) -> list[str]:
        """Resolve the quarter and servers, and take the coverage verdict of every series.

        Returns the servers (what ``evaluate`` maps over); the plan, a small dict with the
        verdict, goes to XCom under the key ``plan`` for the other tasks."""
        from infra_review.airflow import failing_on_bad_input, run_request
        from infra_review.capacity.review import plan_review

        request = run_request(params, dag_run, data_interval_start)
        with failing_on_bad_input():  # bad input does not get better with a retry
            plan = plan_review(
                request.quarter,
                list(params.get("servers") or []),
                dry_run=request.dry_run,
                run_key=request.run_key,
                dag_id=request.dag_id,
                dag_run_id=request.dag_run_id,
                triggered_by=request.triggered_by,
            )
        ti.xcom_push(key="plan", value=plan)
        return plan["servers"]

    @task(map_index_template="{{ server }}")
    def evaluate(server: str, plan: dict) -> dict:
        """Read the server's window once; every ram.* and cpu.* criterion with evidence."""
        from infra_review.capacity.review import evaluate_server

        return evaluate_server(plan, server)

    @task
    def fleet_criteria(plan: dict, payloads: list[dict]) -> dict:
        """server.* criteria over every reviewed server (skipped for a partial review)."""
        from infra_review.capacity.review import evaluate_fleet

        return evaluate_fleet(plan, list(payloads))

    @task
    def write_records(plan: dict, payloads: list[dict], fleet: dict) -> dict:
        """Decisions and criterion results in one transaction; nothing on a dry run."""
        from infra_review.capacity.review import write_review

        return write_review(plan, list(payloads), fleet)

    @task
    def report(plan: dict, payloads: list[dict], fleet: dict, written: dict) -> dict:
        """The self-contained HTML report with plots; on a dry run, the Markdown goes to the
        log. The log links the report and the decisions page as URLs a browser opens."""
        from infra_review.airflow import log_summary
        from infra_review.capacity.review import render_report
        from infra_review.reporting.links import decisions_page_url, report_url

        out = render_report(plan, list(payloads), fleet, written)
        if out.get("markdown"):
            log_summary(["dry run report:", out.pop("markdown")])
        else:
            log_summary(
                [
                    f"Report: {report_url(out['path']) or out['path']}",
                    f"Decisions page: {decisions_page_url()}",
                ]
            )
        return {**out, "decisions": written["decisions"], "run_id": written["run_id"]}

    servers = check_window()
    plan = XComArg(servers.operator, key="plan")
    payloads = evaluate.partial(plan=plan).expand(server=servers)
    fleet = fleet_criteria(plan, payloads)
    written = write_records(plan, payloads, fleet)
    report(plan, payloads, fleet, written)


capacity_review()

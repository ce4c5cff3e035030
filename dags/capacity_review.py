"""### Capacity review (seed 02.04.04): per server `upgrade_ram` / `upgrade_cpu` / `watch` /
`no_action` / `insufficient_data`, `add_server` for the fleet, with evidence and a report.
Params: `quarter`, `servers` (partial: no fleet decision), `dry_run`. See `docs/ARCHITECTURE.md`.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import dag, task

from quarterly_review import dry_run_param, quarter_param, review_dag_args, servers_param


@dag(
    dag_id="capacity_review",
    doc_md=__doc__,
    **review_dag_args(
        "capacity", retries=1, retry_delay=timedelta(seconds=30), timeout=timedelta(minutes=60)
    ),
    params={
        "quarter": quarter_param(),
        "servers": servers_param(),
        "dry_run": dry_run_param("Evaluate and print the report to the task log; write nothing."),
    },
)
def capacity_review():
    @task
    def check_window(params=None, dag_run=None, data_interval_start=None) -> dict:
        """The run request, the criteria file checked, the servers chosen: the plan."""
        from infra_review.airflow import failing_on_bad_input, run_request
        from infra_review.capacity import runner

        request = run_request(params, dag_run, data_interval_start)
        with failing_on_bad_input():  # bad input does not get better with a retry
            plan = runner.plan(request, list(params.get("servers") or []))
        return plan.to_dict()

    @task
    def servers_of(plan: dict) -> list[str]:  # Airflow maps only over a return value
        return list(plan["servers"])

    @task(map_index_template="{{ server }}")
    def evaluate(server: str, plan: dict) -> dict:
        """Read the server's window once; coverage gate; every ram.* and cpu.* criterion."""
        from infra_review.reporting.task_logs import evaluate_server  # logs it in sentences

        return evaluate_server(plan, server)

    @task
    def fleet_criteria(plan: dict, payloads: list[dict]) -> dict:
        """server.* criteria over every reviewed server (skipped for a partial review)."""
        from infra_review.capacity import runner

        return runner.evaluate_fleet(plan, list(payloads))

    @task
    def record_and_report(plan: dict, payloads: list[dict], fleet: dict) -> dict:
        """Decide; write the records in one transaction and then the report; log a summary."""
        from infra_review.airflow import log_summary
        from infra_review.capacity import runner

        done = runner.finish(plan, list(payloads), fleet)
        log_summary(runner.summary_lines(done))  # one line per decision, report and page URLs
        return done.xcom()

    @task
    def notify(done: dict) -> dict:
        """One RU+EN message to the team when the review asks for action; never fails."""
        from infra_review.notify import notify_review

        return notify_review(done.get("run_id"))

    plan = check_window()
    payloads = evaluate.partial(plan=plan).expand(server=servers_of(plan))
    notify(record_and_report(plan, payloads, fleet_criteria(plan, payloads)))


capacity_review()

"""infra_review.airflow: the run request from a DAG run's params and data interval; bad input
fails the task without retries; the human summary goes to the task log line by line."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from infra_review.airflow import failing_on_bad_input, log_summary, run_request
from infra_review.errors import InputError
from infra_review.reviewing.plumbing import RunRequest


@dataclass
class DagRun:  # the fields of Airflow's DagRun the adapter reads
    run_id: str = "scheduled__2026-10-01T06:00:00+00:00"
    dag_id: str = "capacity_review"
    run_type: str = "scheduled"
    run_after: datetime = datetime(2026, 10, 1, 6, tzinfo=UTC)
    triggering_user_name: str | None = None


def test_a_scheduled_run_reviews_the_quarter_of_its_data_interval():
    request = run_request({"quarter": "2025Q1"}, DagRun(), datetime(2026, 7, 1, 6, tzinfo=UTC))
    assert request == RunRequest(
        "2026Q3",
        False,
        "scheduled__2026-10-01T06:00:00+00:00",
        "capacity_review",
        "scheduled__2026-10-01T06:00:00+00:00",
        "scheduled",
    )


def test_a_manual_run_takes_the_param_and_the_user():
    run = DagRun(run_id="manual__1", run_type="manual", triggering_user_name="ann")
    request = run_request({"quarter": "2026Q2", "dry_run": True}, run, None)
    assert (request.quarter, request.dry_run, request.triggered_by) == ("2026Q2", True, "ann")
    assert RunRequest.from_dict(request.to_dict()) == request


def test_an_unfinished_quarter_fails_the_task_without_retry():
    from airflow.sdk.exceptions import AirflowFailException

    run = DagRun(run_type="manual")
    with pytest.raises(AirflowFailException, match="2026Q4 has not ended"):
        run_request({"quarter": "2026Q4"}, run, None)  # ends 1 January 2027, after the run


def test_input_errors_become_fail_exceptions_and_others_pass_through():
    from airflow.sdk.exceptions import AirflowFailException

    with pytest.raises(AirflowFailException, match="criteria.yaml, field 'x'"):
        with failing_on_bad_input():
            raise InputError("bad", file="criteria.yaml", field="x")
    with pytest.raises(KeyError):
        with failing_on_bad_input():
            raise KeyError("not input")


def test_the_summary_is_logged_line_by_line(caplog):
    with caplog.at_level(logging.INFO, logger="airflow.task"):
        log_summary(["app-1 upgrade_ram", "fleet no_action"])
        log_summary("one line")
    assert caplog.messages == ["app-1 upgrade_ram", "fleet no_action", "one line"]


def test_a_cli_request_gets_its_own_key_and_refuses_a_bad_quarter():
    from infra_review import clock

    with clock.frozen(datetime(2026, 11, 2, 8, tzinfo=UTC)):
        request = RunRequest.make("2026Q3")
    assert request.run_key.startswith("cli:20261102T080000Z:")
    assert request.window.start == datetime(2026, 7, 1, tzinfo=UTC)
    with pytest.raises(InputError, match="bad quarter"):
        RunRequest.make("2026Q5")

"""The review tasks' extra links (plugins/review_links.py): the run's report and the
decisions page, for the review DAGs only."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from infra_review.reporting.task_links import decisions_href, report_link
from infra_review.store.decisions import ReviewRun, record_review

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def _run(report_path: str | None) -> ReviewRun:
    return ReviewRun(
        review_type="capacity",
        quarter="2026Q3",
        window_start=datetime(2026, 7, 1, tzinfo=UTC),
        window_end=datetime(2026, 10, 1, tzinfo=UTC),
        run_key="scheduled__2026-10-01",
        criteria_version="t",
        criteria_sha256="x",
        dag_id="capacity_review",
        dag_run_id="scheduled__2026-10-01",
        report_path=report_path,
    )


def test_the_report_link_follows_the_dag_run(db, tmp_path, monkeypatch):
    monkeypatch.setenv("INFRA_REVIEW_DATA_DIR", str(tmp_path))
    report = tmp_path / "reports" / "capacity" / "2026Q3" / "scheduled_2026-10-01" / "report.html"
    assert report_link(db, "capacity_review", "scheduled__2026-10-01") == ""  # not written yet
    record_review(db, _run(str(report)), [])
    db.commit()
    assert report_link(db, "capacity_review", "scheduled__2026-10-01") == (
        "/capacity-decisions/reports/capacity/2026Q3/scheduled_2026-10-01/report.html"
    )
    assert report_link(db, "capacity_review", "manual__other") == ""
    assert report_link(db, "collect_metrics", "scheduled__2026-10-01") == ""


def test_the_plugin_gives_links_only_to_review_tasks(db, tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location(
        "review_links", ROOT / "plugins" / "review_links.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    DecisionsPageLink, ReviewReportLink = module.DecisionsPageLink, module.ReviewReportLink
    assert [link.name for link in module.ReviewLinksPlugin.global_operator_extra_links] == [
        "Review report",
        "Decisions page",
    ]
    key = SimpleNamespace(run_id="scheduled__2026-10-01")
    review, other = SimpleNamespace(dag_id="provider_review"), SimpleNamespace(dag_id="collect")
    assert DecisionsPageLink().get_link(review, ti_key=key) == "/capacity-decisions/?type=provider"
    assert DecisionsPageLink().get_link(other, ti_key=key) == ""
    assert ReviewReportLink().get_link(other, ti_key=key) == ""
    assert ReviewReportLink().get_link(review, ti_key=key) == ""  # no run written
    assert decisions_href("capacity_review") == "/capacity-decisions/?type=capacity"

"""Item 5 of issue 18: a superseded report is served with a banner linking to the current
report; the current one is served as written."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from infra_review.reporting.superseded import banner, current_report, with_banner
from infra_review.store.decisions import DecisionRecord, ReviewRun, record_review

pytestmark = pytest.mark.integration


def _run(key: str, report: str) -> ReviewRun:
    return ReviewRun(
        review_type="capacity", quarter="2026Q3",
        window_start=datetime(2026, 7, 1, tzinfo=UTC), window_end=datetime(2026, 10, 1, tzinfo=UTC),
        run_key=key, criteria_version="t", criteria_sha256=key, inputs={"k": key},
        report_path=report,
    )  # fmt: skip


def _decision(name: str) -> DecisionRecord:
    return DecisionRecord("server", "app-1", name, f"app-1: {name}", f"app-1: {name} (ru)")


def test_a_superseded_report_names_the_current_one(db, tmp_path, monkeypatch):
    monkeypatch.setenv("INFRA_REVIEW_DATA_DIR", str(tmp_path))
    old = tmp_path / "reports" / "capacity" / "2026Q3" / "r1" / "report.html"
    new = tmp_path / "reports" / "capacity" / "2026Q3" / "r2" / "report.html"
    record_review(db, _run("r1", str(old)), [_decision("watch")])
    db.commit()
    assert current_report(db, old) is None  # still current
    record_review(db, _run("r2", str(new)), [_decision("upgrade_ram")])
    db.commit()
    assert current_report(db, old) == str(new)
    assert current_report(db, new) is None
    html = banner(str(new))
    assert "/capacity-decisions/reports/capacity/2026Q3/r2/report.html" in html
    assert "superseded" in html and "заменён" in html
    page = with_banner(b"<html><body class='x'><h1>Report</h1></body></html>", html)
    assert page.startswith(b"<html><body class='x'><div class='superseded-banner'")

"""URLs the plugin and the task logs use for reports and Data Docs, and the path guard."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra_review.reporting import links
from infra_review.reporting.files import NotFound, resolve_inside


def test_report_href_only_for_files_inside_the_reports_folder(tmp_path):
    root = tmp_path / "reports"
    inside = root / "capacity" / "2026Q3" / "run 1" / "report.html"
    assert (
        links.report_href(str(inside), root)
        == "/capacity-decisions/reports/capacity/2026Q3/run%201/report.html"
    )
    assert links.report_href("capacity/2026Q3/r/report.html", root).endswith("r/report.html")
    assert links.report_href(str(tmp_path / "elsewhere.html"), root) is None
    assert links.report_href(str(root / ".." / "x.html"), root) is None
    assert links.report_href(None, root) is None and links.report_href("", root) is None


def test_data_docs_href_from_a_file_url(tmp_path):
    root = tmp_path / "gx"
    url = (root / "validations" / "a b.html").as_uri()
    assert links.data_docs_href(url, root) == "/capacity-decisions/data-docs/validations/a%20b.html"
    assert links.data_docs_href("file:///etc/passwd", root) is None


def test_absolute_urls_follow_the_api_servers_address(monkeypatch, tmp_path):
    monkeypatch.delenv("AIRFLOW__API__BASE_URL", raising=False)
    monkeypatch.setenv("AIRFLOW__API__HOST", "0.0.0.0")
    monkeypatch.setenv("AIRFLOW__API__PORT", "18080")
    assert links.ui_base_url() == "http://localhost:18080"
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.example.org/")
    assert links.decisions_page_url() == "https://airflow.example.org/plugin/capacity-decisions"
    monkeypatch.setenv("INFRA_REVIEW_DATA_DIR", str(tmp_path))
    report = tmp_path / "reports" / "capacity" / "2026Q3" / "r" / "report.html"
    assert links.report_url(str(report)) == (
        "https://airflow.example.org/capacity-decisions/reports/capacity/2026Q3/r/report.html"
    )


def test_dag_run_href_encodes_the_run_id():
    assert links.dag_run_href("capacity_review", "manual__2026-10-01T06:00:00+00:00") == (
        "/dags/capacity_review/runs/manual__2026-10-01T06%3A00%3A00%2B00%3A00"
    )
    assert links.dag_run_href(None, "x") is None


@pytest.mark.parametrize(
    "bad", ["", "../x", "a/../../x", "/etc/passwd", "a\\..\\x", "a\x00b", "a//b"]
)
def test_resolve_inside_refuses_anything_that_is_not_a_plain_relative_path(tmp_path, bad):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "b").write_text("ok")
    with pytest.raises(NotFound):
        resolve_inside(tmp_path, bad)


def test_resolve_inside_returns_the_file(tmp_path: Path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "b").write_text("ok")
    assert resolve_inside(tmp_path, "a/b") == (tmp_path / "a" / "b").resolve()


def test_a_run_key_becomes_one_safe_path_segment(tmp_path, monkeypatch):
    monkeypatch.setenv("INFRA_REVIEW_DATA_DIR", str(tmp_path))
    root = tmp_path / "reports" / "capacity" / "2026Q3"
    run_id = "manual__2026-11-26T01:23:58.676570+00:00"
    assert links.report_dir("capacity", "2026Q3", run_id) == (
        root / "manual__2026-11-26T01_23_58.676570_00_00"
    )
    # nothing a run key holds leaves its folder: no separators, no "." or ".." segment
    for hostile in ("../../etc", "..", ".", "a/b\\c", ""):
        path = links.report_dir("capacity", "2026Q3", hostile)
        assert path.parent == root and path.name not in ("", ".", ".."), hostile

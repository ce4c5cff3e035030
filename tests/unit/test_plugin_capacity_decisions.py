"""The "Capacity decisions" plugin: its registration, the page it renders, and that report
serving never leaves the reports folder. No database: the decision rows are stubbed, the
Airflow session check is replaced (the browser test covers the real one end to end)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from fastapi import Request

from infra_review.reporting import links

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def plugin():
    spec = importlib.util.spec_from_file_location(
        "capacity_decisions", ROOT / "plugins" / "capacity_decisions.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


ROW = {
    "decision_id": 7,
    "review_type": "capacity",
    "quarter": "2026Q3",
    "subject_kind": "server",
    "subject": "app-1",
    "decision": "upgrade_ram",
    "status": "proposed",
    "summary_en": "app-1: upgrade RAM. RAM above 85% for 30 h.",
    "summary_ru": "app-1: увеличить RAM.",
    "criteria_version": "2026.11.1",
    "dag_id": "capacity_review",
    "dag_run_id": "manual__2026-10-01T06:00:00+00:00",
    "criteria": [
        {"criterion_id": "ram.sustained", "outcome": "met", "observed": 30.0, "threshold": 24.0},
        {"criterion_id": "ram.swap", "outcome": "not_met", "observed": 0.01, "threshold": 0.1},
        {"criterion_id": "server.geo", "subject": "data-1", "outcome": "not_met"},
    ],
}


@pytest.fixture
def site(plugin, tmp_path, monkeypatch):
    """A data folder with one report, a secret beside it and a symlink out of it."""
    from fastapi.testclient import TestClient

    data = tmp_path / "data"
    run = data / "reports" / "capacity" / "2026Q3" / "run1"
    run.mkdir(parents=True)
    (run / "report.html").write_text("<html><body>Capacity review 2026Q3</body></html>")
    (run / "plot.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    provider = data / "reports" / "provider" / "2026Q3" / "run1"
    provider.mkdir(parents=True)
    (provider / "report.md").write_text(
        "# Provider review\n\n| a | b |\n|---|---|\n| 1 | <b>x</b> |\n"
    )
    (data / "secret.txt").write_text("database password")
    (run / "escape.txt").symlink_to(data / "secret.txt")
    monkeypatch.setenv("INFRA_REVIEW_DATA_DIR", str(data))

    readable = {"capacity_review", "provider_review", "collect_metrics"}
    calls: list[tuple] = []

    def fake_decisions(quarter, review_types):
        calls.append((quarter, tuple(review_types)))
        row = dict(ROW, report_path=str(run / "report.html"))
        return [row] if "capacity" in review_types else []

    monkeypatch.setattr(plugin, "_read_decisions", fake_decisions)
    plugin.app.dependency_overrides[plugin.dag_reader] = lambda: lambda dag: dag in readable
    client = TestClient(plugin.app, root_path=plugin.URL_PREFIX)
    client.readable = readable
    client.calls = calls
    client.data = data
    yield client
    plugin.app.dependency_overrides.clear()


def test_registration_matches_the_shared_constants(plugin):
    from airflow.plugins_manager import AirflowPlugin

    cls = plugin.CapacityDecisionsPlugin
    assert issubclass(cls, AirflowPlugin) and cls.name == "capacity_decisions"
    assert plugin.URL_PREFIX == links.PLUGIN_PREFIX and plugin.UI_ROUTE == links.UI_ROUTE
    [app] = cls.fastapi_apps
    assert app["app"] is plugin.app and app["url_prefix"] == "/capacity-decisions"
    [view] = cls.external_views
    assert view == {
        "name": "Capacity decisions",
        "href": "/capacity-decisions/",
        "url_route": "capacity-decisions",
        "destination": "nav",
        "category": "browse",
    }
    # Airflow refuses these prefixes for plugin apps (airflow.api_fastapi.app).
    for reserved in ("/api/v2", "/ui", "/execution", "/auth", "/pluginsv2"):
        assert not app["url_prefix"].startswith(reserved)


def test_without_a_session_every_route_answers_401(plugin, monkeypatch):
    from fastapi import HTTPException
    from fastapi.testclient import TestClient

    async def no_session(request: Request):  # what Airflow's resolve_user_from_token(None) raises
        raise HTTPException(401, "Not authenticated")

    plugin.app.dependency_overrides[plugin.current_user] = no_session
    try:
        client = TestClient(plugin.app)
        for path in ("/", "/api/decisions", "/reports/capacity/x.html", "/data-docs/index.html"):
            assert client.get(path).status_code == 401, path
    finally:
        plugin.app.dependency_overrides.clear()


def test_the_page_lists_the_decision_with_criteria_and_links(site):
    page = site.get("/", params={"quarter": "2026Q3"})
    assert page.status_code == 200
    html = page.text
    assert "upgrade_ram" in html and "data-subject='app-1'" in html
    assert "ram.sustained" in html and "Usage &gt;85% более 24 часов подряд" in html
    assert "✔ met" in html and "30" in html and "24" in html
    assert "<code>server.geo</code> <span class='muted'>(data-1)</span>" in html
    assert "<code>ram.sustained</code></td>" in html  # its own subject is not repeated
    assert "app-1: увеличить RAM." in html
    run_link = "/dags/capacity_review/runs/manual__2026-10-01T06%3A00%3A00%2B00%3A00"
    assert f"href='{run_link}'" in html
    assert "href='/capacity-decisions/reports/capacity/2026Q3/run1/report.html'" in html
    assert site.calls[-1] == ("2026Q3", ("capacity", "provider"))


def test_the_page_escapes_what_the_database_holds(site, plugin, monkeypatch):
    evil = dict(ROW, subject="<script>alert(1)</script>", summary_en="<img src=x onerror=1>")
    monkeypatch.setattr(plugin, "_decisions", lambda q, t: [evil])
    html = site.get("/").text
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html


def test_filters_are_validated_and_limited_to_readable_reviews(site):
    assert site.get("/", params={"quarter": "2026Q5"}).status_code == 400
    assert site.get("/", params={"type": "salary"}).status_code == 400
    site.readable.discard("provider_review")
    assert site.get("/").status_code == 200
    assert site.calls[-1] == (None, ("capacity",))
    assert site.get("/", params={"type": "provider"}).status_code == 403
    assert site.get("/reports/provider/2026Q3/run1/report.md").status_code == 403
    site.readable.discard("capacity_review")
    assert site.get("/").status_code == 403


def test_json_lists_the_same_rows_with_their_links(site):
    [row] = site.get("/api/decisions", params={"type": "capacity"}).json()
    assert row["decision"] == "upgrade_ram"
    assert row["report_href"] == "/capacity-decisions/reports/capacity/2026Q3/run1/report.html"
    assert row["dag_run_href"].startswith("/dags/capacity_review/runs/manual__")


def test_reports_are_served_with_a_no_script_policy(site):
    got = site.get("/reports/capacity/2026Q3/run1/report.html")
    assert got.status_code == 200 and "Capacity review 2026Q3" in got.text
    assert got.headers["content-type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in got.headers["content-security-policy"]
    assert got.headers["x-content-type-options"] == "nosniff"
    assert site.get("/reports/capacity/2026Q3/run1/plot.png").headers["content-type"] == "image/png"


def test_markdown_reports_render_as_html_without_passing_raw_html(site):
    got = site.get("/reports/provider/2026Q3/run1/report.md")
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/html")
    assert "<h1>Provider review</h1>" in got.text and "<table>" in got.text
    assert "<b>x</b>" not in got.text and "&lt;b&gt;x&lt;/b&gt;" in got.text


@pytest.mark.parametrize(
    "path",
    [
        "/reports/capacity/%2e%2e/%2e%2e/secret.txt",
        "/reports/capacity/2026Q3/run1/%2e%2e/%2e%2e/%2e%2e/%2e%2e/secret.txt",
        "/reports/capacity%2f..%2f..%2fsecret.txt",
        "/reports/capacity/2026Q3/run1/escape.txt",  # a symlink out of the folder
        "/reports/capacity//etc/passwd",
        "/reports/capacity/2026Q3/run1/report.html%00.png",
        "/reports/capacity/2026Q3/run1",  # a folder, not a file
        "/reports/capacity/2026Q3/run1/missing.html",
        "/reports/secret.txt",
        "/reports/%2e%2e/secret.txt",
    ],
)
def test_report_paths_cannot_leave_the_reports_folder(site, path):
    got = site.get(path)
    assert got.status_code == 404, path
    assert "database password" not in got.text


def test_data_docs_are_served_from_their_own_folder(site, monkeypatch, tmp_path):
    docs = tmp_path / "gx"
    (docs / "validations").mkdir(parents=True)
    (docs / "validations" / "v1.html").write_text("<html>GX validation</html>")
    monkeypatch.setenv("INFRA_REVIEW_DATA_DOCS", str(docs))
    assert "GX validation" in site.get("/data-docs/validations/v1.html").text
    assert site.get("/data-docs/%2e%2e/data/secret.txt").status_code == 404
    site.readable.discard("collect_metrics")
    assert site.get("/data-docs/validations/v1.html").status_code == 403


# --- issue 15: browser policies, symlinks, database errors, the login ------------------------


def _csp(response) -> dict[str, str]:
    """The Content-Security-Policy header as {directive: value}."""
    out = {}
    for part in response.headers["content-security-policy"].split(";"):
        name, _, value = part.strip().partition(" ")
        out[name] = value
    return out


def _sha256(text: str) -> str:
    import base64
    import hashlib

    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_the_page_runs_only_its_own_script_and_style(site):
    import re

    got = site.get("/")
    csp = _csp(got)
    assert csp["default-src"] == "'none'" and csp["frame-ancestors"] == "'self'"
    assert got.headers["x-content-type-options"] == "nosniff"
    [script] = re.findall(r"<script>(.*?)</script>", got.text, re.S)
    [style] = re.findall(r"<style>(.*?)</style>", got.text, re.S)
    assert csp["script-src"] == _sha256(script)  # the hash of the script the page carries
    assert csp["style-src"] == _sha256(style)
    assert "unsafe-inline" not in csp["script-src"] and "'self'" not in csp["script-src"]


def test_data_docs_are_sandboxed_and_never_framed(site, monkeypatch, tmp_path):
    docs = tmp_path / "gx"
    (docs / "validations").mkdir(parents=True)
    (docs / "validations" / "v.html").write_text("<html><img src=x onerror=alert(1)></html>")
    monkeypatch.setenv("INFRA_REVIEW_DATA_DOCS", str(docs))
    got = site.get("/data-docs/validations/v.html")
    assert got.status_code == 200 and got.headers["x-content-type-options"] == "nosniff"
    csp = _csp(got)
    assert "sandbox" in csp and csp["sandbox"] == ""  # no allow-scripts, no allow-same-origin
    assert csp["default-src"] == "'none'" and "script-src" not in csp
    assert csp["frame-ancestors"] == "'none'"
    assert csp["img-src"] == "'self' data:"


def test_every_answer_is_nosniff_with_a_policy(site):
    for path, status in (
        ("/api/decisions", 200),
        ("/?quarter=2026Q5", 400),
        ("/reports/capacity/2026Q3/run1/missing.html", 404),
        ("/reports/capacity/2026Q3/run1/plot.png", 200),
    ):
        got = site.get(path)
        assert got.status_code == status, path
        assert got.headers["x-content-type-options"] == "nosniff", path
        assert _csp(got)["default-src"] == "'none'", path


def test_symlinks_inside_the_data_folder_are_refused(site):
    capacity = site.data / "reports" / "capacity"
    provider = site.data / "reports" / "provider" / "2026Q3"
    assert site.get("/reports/provider/2026Q3/run1/report.md").status_code == 200
    (capacity / "2026Q3" / "run1" / "cross.md").symlink_to(provider / "run1" / "report.md")
    (capacity / "2026Q4").symlink_to(provider, target_is_directory=True)
    site.readable.discard("provider_review")  # may read capacity reports only
    for path in (
        "/reports/capacity/2026Q3/run1/cross.md",
        "/reports/capacity/2026Q4/run1/report.md",
    ):
        got = site.get(path)
        assert got.status_code == 404, path
        assert "Provider review" not in got.text
    # the same files by their real paths are refused for this reader, as before
    assert site.get("/reports/provider/2026Q3/run1/report.md").status_code == 403


def test_a_database_error_shows_a_generic_message_and_logs_the_detail(
    site, plugin, monkeypatch, caplog
):
    import psycopg2

    detail = (
        'connection to server at "db.internal" (10.0.0.5), port 6543 failed: '
        'FATAL: password authentication failed for user "infra_review"'
    )

    def broken(quarter, review_types):
        raise psycopg2.OperationalError(detail)

    monkeypatch.setattr(plugin, "_read_decisions", broken)
    with caplog.at_level("ERROR"):
        page = site.get("/")
        api = site.get("/api/decisions")
    assert page.status_code == 503 and api.status_code == 503
    for text in (page.text, api.text):
        assert "Could not read the decisions database" in text
        for secret in ("db.internal", "10.0.0.5", "6543", 'infra_review"', "OperationalError"):
            assert secret not in text, secret
    assert "db.internal" in caplog.text and "6543" in caplog.text


@pytest.fixture
def auth_manager():
    """Airflow's configured auth manager (Simple, as ``make airflow``), for its login URL."""
    from airflow.api_fastapi import app as airflow_app

    before = airflow_app._AuthManagerState.instance
    manager = airflow_app.create_auth_manager()
    yield manager
    airflow_app._AuthManagerState.instance = before


def test_a_logged_out_browser_is_sent_to_the_login_and_back(plugin, auth_manager):
    from urllib.parse import parse_qs, urlsplit

    from fastapi.testclient import TestClient

    client = TestClient(plugin.app, root_path=plugin.URL_PREFIX, follow_redirects=False)
    html = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    for path in ("/?quarter=2026Q3", "/reports/capacity/x/report.html", "/data-docs/index.html"):
        got = client.get(path, headers=html)
        assert got.status_code == 307, path
        location = urlsplit(got.headers["location"])
        assert location.path == urlsplit(auth_manager.get_url_login()).path
        [back] = parse_qs(location.query)["next"]
        assert back == plugin.URL_PREFIX + path, path
    # scripts and the JSON API keep a plain 401
    assert client.get("/api/decisions", headers=html).status_code == 401
    assert client.get("/").status_code == 401
    assert client.get("/", headers={**html, "Cookie": "_token=forged"}).status_code == 403


def test_the_data_docs_index_lists_the_validation_pages_without_script(site, monkeypatch, tmp_path):
    docs = tmp_path / "gx"
    older = docs / "validations" / "samples" / "schema" / "__none__" / "20261130T010000Z"
    newer = docs / "validations" / "samples" / "percent" / "__none__" / "20261201T010000Z"
    for folder in (older, newer):
        folder.mkdir(parents=True)
        (folder / "infra_review-samples.html").write_text("<html>validation</html>")
    (newer / "<i>odd.html").write_text("x")
    (newer / "link.html").symlink_to(older / "infra_review-samples.html")
    (docs / "index.html").write_text("<html><script>build the table</script></html>")  # GX's
    monkeypatch.setenv("INFRA_REVIEW_DATA_DOCS", str(docs))
    got = site.get("/data-docs/index.html")
    assert (
        got.status_code == 200 and _csp(got)["default-src"] == "'none'" and "sandbox" in _csp(got)
    )
    html = got.text
    assert "<script" not in html and "build the table" not in html
    first = "validations/samples/percent/__none__/20261201T010000Z/infra_review-samples.html"
    second = "validations/samples/schema/__none__/20261130T010000Z/infra_review-samples.html"
    assert f"href='{first}'" in html and f"href='{second}'" in html
    assert html.index(first) < html.index(second)  # newest run first
    assert ">samples.percent<" in html and ">samples.schema<" in html
    assert "link.html" not in html and "<i>odd" not in html and "%3Ci%3Eodd" in html
    # each listed link is a page the plugin serves
    assert site.get(f"/data-docs/{second}").text == "<html>validation</html>"

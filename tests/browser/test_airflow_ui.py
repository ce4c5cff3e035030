"""The Airflow UI the way an engineer uses it: log in, see the project's DAGs, open the
capacity review's trigger form, trigger a quarter, wait for it, and find the decision on the
"Capacity decisions" page, with its DAG run and report links working."""

from __future__ import annotations

import re
import time
from urllib.parse import quote

import psycopg2
import pytest
import requests
from playwright.sync_api import expect

from tests.browser.conftest import CHROMIUM, QUARTER, ROOT

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"{CHROMIUM} is not installed (apt-get install chromium); .ci/run installs it",
    ),
]
_NOT_DAGS = (ROOT / "dags" / ".airflowignore").read_text(encoding="utf-8").split()
PROJECT_DAGS = sorted(p.stem for p in (ROOT / "dags").glob("*.py") if p.name not in _NOT_DAGS)
RUN_TIMEOUT_S = 1200


def test_login_lists_the_project_dags_without_import_errors(page, airflow, shoot):
    page.goto(f"{airflow.url}/dags")
    for dag_id in PROJECT_DAGS:
        page.get_by_role("link", name=dag_id, exact=True).first.wait_for()
    shoot(page, "01-dags")
    assert page.get_by_text(re.compile("import error", re.IGNORECASE)).count() == 0
    errors = airflow.api("/importErrors")
    assert errors["total_entries"] == 0, errors
    dags = {d["dag_id"]: d for d in airflow.api("/dags", limit=100)["dags"]}
    assert set(PROJECT_DAGS) <= set(dags)
    for dag_id in PROJECT_DAGS:
        assert dags[dag_id]["owners"] == ["infra-team"], dag_id
        assert "infra-review" in {t["name"] for t in dags[dag_id]["tags"]}, dag_id
    plugins = airflow.api("/plugins")
    assert "capacity_decisions" in {p["name"] for p in plugins["plugins"]}
    assert airflow.api("/plugins/importErrors")["total_entries"] == 0


def _help_text(dialog, field) -> str:
    """The description Airflow renders under a form field (the Param's ``description``)."""
    return dialog.locator(f"[id='{field.get_attribute('aria-describedby')}']").inner_text()


def _config(name: str) -> dict:
    import yaml

    return yaml.safe_load((ROOT / "include" / "config" / name).read_text(encoding="utf-8"))


def _open_trigger_form(page, airflow, dag_id: str):
    page.goto(f"{airflow.url}/dags/{dag_id}")
    page.get_by_test_id("trigger-dag-button").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Run Parameters").wait_for()
    return dialog


def _multi_select_options(page, dialog) -> set[str]:
    """Open the form's multi-select (a Param with ``examples``) and read its options."""
    dialog.get_by_role("combobox", name="Select one or multiple values").click()
    options = page.get_by_role("option")
    options.first.wait_for()
    return {options.nth(i).inner_text() for i in range(options.count())}


def test_capacity_review_shows_its_docs_and_typed_params(page, airflow, shoot):
    from quarterly_review import quarter_choices

    dialog = _open_trigger_form(page, airflow, "capacity_review")
    # a select of the last full quarters (a react-select: its value is a hidden input)
    latest = quarter_choices()[0]
    assert dialog.locator("input[name=element_quarter]").input_value() == latest
    assert f"{latest[:4]} Q{latest[-1]}" in dialog.locator("#element_quarter").inner_text()
    dialog.get_by_text(re.compile(r"The quarter to review, like \d{4}Q[1-4]")).first.wait_for()
    # servers: a multi-select (no input of its own to describe); its description is shown
    dialog.get_by_text(re.compile("Review only these servers")).first.wait_for()
    dry_run = dialog.locator("[name=element_dry_run]")
    assert dry_run.get_attribute("type") == "checkbox" and not dry_run.is_checked()
    assert "write" in _help_text(dialog, dry_run).lower()
    fleet = {server["name"] for server in _config("fleet.yaml")["servers"]}
    assert _multi_select_options(page, dialog) == fleet
    shoot(page, "02-capacity-review-trigger-form")
    details = airflow.api("/dags/capacity_review/details")
    assert "upgrade_ram" in details["doc_md"] and "add_server" in details["doc_md"]
    params = details["params"]
    assert params["quarter"]["schema"]["pattern"] == r"^\d{4}Q[1-4]$"
    assert params["dry_run"]["schema"]["type"] == "boolean"
    assert all(p["description"] for p in params.values())


def test_provider_review_offers_the_configured_alternatives(page, airflow, shoot):
    doc = _config("providers.yaml")
    alternatives = {p["id"] for p in doc["providers"]} - {doc["current"]}
    dialog = _open_trigger_form(page, airflow, "provider_review")
    dialog.get_by_text("Alternatives", exact=True).first.wait_for()
    assert _multi_select_options(page, dialog) == alternatives
    shoot(page, "02b-provider-review-alternatives")
    params = airflow.api("/dags/provider_review/details")["params"]
    assert set(params["providers"]["schema"]["examples"]) == alternatives
    assert params["dry_run"]["schema"]["type"] == "boolean"


def _choose_quarter(page, dialog, quarter: str) -> None:
    """Pick ``quarter`` (like 2026Q3) in the form's quarter select, shown as "2026 Q3 (...)"."""
    dialog.locator("#element_quarter").click()
    page.get_by_role("option", name=re.compile(rf"^{quarter[:4]} Q{quarter[-1]}\b")).click()
    assert dialog.locator("input[name=element_quarter]").input_value() == quarter


def _runs(airflow) -> list[dict]:
    return airflow.api("/dags/capacity_review/dagRuns", limit=20)["dag_runs"]


def test_trigger_a_quarter_and_find_the_decision_on_the_decisions_page(page, airflow, shoot):
    before = {r["dag_run_id"] for r in _runs(airflow)}
    page.goto(f"{airflow.url}/dags/capacity_review")
    page.get_by_test_id("trigger-dag-button").click()
    dialog = page.get_by_role("dialog")
    _choose_quarter(page, dialog, QUARTER)
    shoot(page, "03-trigger-with-quarter")
    dialog.get_by_role("button", name="Trigger").last.click()
    dialog.wait_for(state="hidden", timeout=300_000)  # the POST is slow while tasks start

    # The UI's trigger created a manual run with our conf (unpausing may also schedule the
    # quarter that just ended; it reviews the same quarter and a later run supersedes).
    deadline = time.monotonic() + 120
    while not (mine := [r for r in _runs(airflow) if r["dag_run_id"] not in before and r["run_type"] == "manual"]):  # fmt: skip
        assert time.monotonic() < deadline, "the trigger created no run"
        time.sleep(2)
    [run] = mine
    assert run["conf"]["quarter"] == QUARTER and run["triggering_user_name"] == "admin"
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while True:
        runs = {r["dag_run_id"]: r for r in _runs(airflow)}
        if all(r["state"] in ("success", "failed") for r in runs.values()):
            break
        assert time.monotonic() < deadline, f"runs not finished: {runs}\n{airflow.log_tail()}"
        time.sleep(10)
    assert runs[run["dag_run_id"]]["state"] == "success", airflow.log_tail()

    # The database's current decision is the one the page must show.
    with psycopg2.connect(airflow.decisions_url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT decision, dag_run_id, report_path FROM reporting.current_decisions "
            "WHERE review_type = 'capacity' AND quarter = %s AND subject = 'app-1'",
            (QUARTER,),
        )
        decision, current_run, report_path = cur.fetchone()
    assert decision == "upgrade_ram"
    assert current_run in runs and runs[current_run]["state"] == "success"

    page.goto(f"{airflow.url}/dags/capacity_review/runs/{quote(run['dag_run_id'], safe='')}")
    page.get_by_text("success").first.wait_for()
    shoot(page, "04-dag-run-success")

    # The page is in the navigation (Browse menu) and shows the decision with its criteria.
    page.goto(f"{airflow.url}/")
    page.get_by_role("button", name=re.compile("Browse")).click()
    page.get_by_role("menuitem", name="Capacity decisions").click()
    page.wait_for_url(re.compile(r"/plugin/capacity-decisions"))
    frame = page.frame_locator("iframe[title='Capacity decisions']")
    card = frame.locator("section.decision[data-subject='app-1']")
    card.wait_for()
    assert card.get_attribute("data-decision") == "upgrade_ram"
    assert card.get_attribute("data-quarter") == QUARTER
    card.locator("summary").click()
    met = card.locator("tr[data-criterion='ram.sustained'] td.outcome")
    assert met.inner_text() == "✔ met"
    assert (
        "более 24 часов подряд" in card.locator("tr[data-criterion='ram.sustained']").inner_text()
    )
    # issue 18: values with their units, the duration apart, the evidence sentence, colours
    row = card.locator("tr[data-criterion='ram.sustained']")
    assert re.search(r">\s85\s%", row.locator("td.threshold").inner_text())
    assert re.search(r"for >\s24\sh", row.locator("td.threshold").inner_text())
    assert re.search(r"\d+(\.\d+)?\s%", row.locator("td.observed").inner_text())
    assert "RAM above 85% for 30 h" in row.inner_text()
    assert "RAM выше 85%" in row.inner_text()
    assert "meaning-warn" in row.get_attribute("class")
    latency = card.locator("tr[data-criterion='cpu.api_latency'] td.threshold").inner_text()
    assert re.search(r">\s2\ss", latency) and re.search(r">=\s1\sh", latency)
    # the report and the decisions page are extra links on the review's tasks
    links = airflow.api(
        f"/dags/capacity_review/dagRuns/{quote(current_run, safe='')}"
        "/taskInstances/record_and_report/links"
    )["extra_links"]
    assert links["Decisions page"] == "/capacity-decisions/?type=capacity"
    assert links["Review report"].startswith("/capacity-decisions/reports/capacity/")
    assert requests.get(
        f"{airflow.url}{links['Review report']}",
        headers={"Authorization": f"Bearer {airflow.token()}"},
        timeout=60,
    ).ok
    run_link = card.locator("a.dag-run")
    assert run_link.get_attribute("href") == (
        f"/dags/capacity_review/runs/{quote(current_run, safe='')}"
    )
    shoot(page, "05-capacity-decisions-page")

    # The report opens from the page (inside the UI), readable without any tool.
    card.locator("a.report").click()
    report = page.frame_locator("iframe[title='Capacity decisions']").locator("body")
    report.get_by_text(re.compile(r"upgrade_ram")).first.wait_for()
    assert "app-1" in report.inner_text()
    # the plots travel inside the page (data: URIs) and the page's CSP lets them render
    plot = report.locator("img").first
    assert plot.get_attribute("src").startswith("data:image/png;base64,")
    expect(plot).to_have_js_property("complete", True)
    assert plot.evaluate("img => img.naturalWidth") > 100
    shoot(page, "06-report")
    assert report_path and report_path.startswith(str(airflow.data_dir / "reports"))

    # The DAG run link opens the run in the Airflow UI itself, not inside the frame.
    page.goto(f"{airflow.url}/plugin/capacity-decisions")
    frame.locator("section.decision[data-subject='app-1'] a.dag-run").click()
    page.wait_for_url(re.compile(r"/dags/capacity_review/runs/"))
    expect(page.locator("iframe[title='Capacity decisions']")).to_have_count(0, timeout=60_000)
    expect(page.get_by_text(current_run).first).to_be_visible(timeout=60_000)
    shoot(page, "07-run-from-decisions-page")


def test_plugin_routes_refuse_anonymous_callers(airflow):
    for path in ("/", "/api/decisions", "/reports/capacity/x/report.html", "/data-docs/x.html"):
        r = requests.get(f"{airflow.url}/capacity-decisions{path}", timeout=60)
        assert r.status_code == 401, (path, r.status_code, r.text[:200])
    rows = requests.get(
        f"{airflow.url}/capacity-decisions/api/decisions",
        params={"type": "capacity"},
        headers={"Authorization": f"Bearer {airflow.token()}"},
        timeout=60,
    )
    assert rows.status_code == 200
    assert all(d["review_type"] == "capacity" for d in rows.json())


def test_hostile_data_docs_run_no_script_on_the_airflow_origin(page, airflow, shoot):
    """Issue 15 item 1 end to end: a Data Docs page holding ``<img onerror>`` opened through
    the real Airflow API server, by a logged-in user (whose session a script would use)."""
    from tests.browser.test_data_docs_xss import build_hostile_data_docs

    docs = airflow.data_dir / "gx_data_docs"  # the server's INFRA_REVIEW_DATA_DOCS
    hostile = build_hostile_data_docs(docs)
    url = f"{airflow.url}/capacity-decisions/data-docs/{hostile.relative_to(docs).as_posix()}"
    response = page.goto(url, wait_until="load")
    assert response.status == 200, "the session cookie opens Data Docs"
    assert page.locator("img[src='x']").count() == 1
    page.wait_for_timeout(1500)
    assert page.evaluate("() => window.__xss || null") is None and page.title() != "pwned"
    assert response.headers["content-security-policy"].startswith("sandbox;")
    shoot(page, "08-hostile-data-docs")
    # from the plugin's index (GX's needs script): the sandboxed page's link keeps the session
    page.goto(f"{airflow.url}/capacity-decisions/data-docs/index.html")
    page.get_by_role("link", name="samples.schema").first.click()
    page.wait_for_url(re.compile(r"/data-docs/validations/samples/schema/"))
    assert page.locator("img[src='x']").count() == 1
    assert page.evaluate("() => window.__xss || null") is None


def test_a_logged_out_browser_goes_to_the_login_and_back(browser, airflow, shoot):
    """Issue 18 item 6: the decisions page without a session asks for the login, then returns."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(120_000)
    target = f"{airflow.url}/capacity-decisions/?quarter={QUARTER}"
    page.goto(target)
    page.get_by_label("Username").fill(airflow.username)
    page.get_by_label("Password").fill(airflow.password)
    shoot(page, "09-login-from-plugin-page")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(target)
    page.get_by_role("heading", name="Current decisions").wait_for()
    assert "Not authenticated" not in page.content()
    context.close()

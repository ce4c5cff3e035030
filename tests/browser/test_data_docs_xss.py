"""Issue 15 item 1: a hostile value that reaches GX's Data Docs runs no script in a browser.

The quality gate quarantines a row whose server is ``<img src=x onerror=...>`` and GX writes
that value into its Data Docs page unescaped (the contract that refuses such names is not
what is tested here: the gate is called directly, as if a value had slipped past it). Chromium
then opens the page twice:
- from a plain file server (no policy): the payload runs, so the test's payload is live;
- from the plugin's app, as the Airflow API server serves it: nothing runs.

The plugin's app runs under uvicorn on a loopback port with its Airflow session check replaced
(the session itself is covered by test_airflow_ui.py, which also opens a hostile page through
the real Airflow). A report with a ``data:`` plot is served beside it: the strict policy
still shows the embedded image.
"""

from __future__ import annotations

import base64
import functools
import http.server
import importlib.util
import io
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.browser.conftest import ARTIFACTS, CHROMIUM, ROOT, free_port

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"{CHROMIUM} is not installed (apt-get install chromium); .ci/run installs it",
    ),
]

# Each payload flags itself in the page; a real attacker would call /api/v2 with the session.
PAYLOAD_SERVER = "<img src=x onerror=\"window.__xss='img';document.title='pwned'\">"
START = datetime(2026, 7, 1, tzinfo=UTC)


def build_hostile_data_docs(docs_dir: Path) -> Path:
    """Data Docs of one batch with a quarantined hostile server name; its validation page."""
    import pandas as pd

    from infra_review.quality.gate import QualityGate

    rows = [
        {
            "ts": START + timedelta(minutes=i),
            "server": "app-1",
            "metric": "ram_used_pct",
            "value": 50.0,
            "label": "",
        }
        for i in range(5)
    ]
    rows.append(
        {
            "ts": START + timedelta(minutes=6),
            "server": PAYLOAD_SERVER,
            "metric": "ram_used_pct",
            "value": 50.0,
            "label": "",
        }
    )
    gate = QualityGate(engine="gx", docs_dir=docs_dir)
    result = gate.validate(
        pd.DataFrame(rows),
        batch_key="hostile",
        start=START,
        end=START + timedelta(hours=1),
        cadence_s=60,
        now=START + timedelta(hours=2),
    )
    assert len(result.quarantine) == 1  # the hostile row was quarantined, not loaded
    url = result.docs_urls["samples.schema"]
    page = Path(url.removeprefix("file://"))
    assert PAYLOAD_SERVER in page.read_text(encoding="utf-8"), "GX escaped it: test is moot"
    return page


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (120, 40), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def _serve(server) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[dict]:
    """Hostile Data Docs and a report, served by the plugin app and by a plain file server."""
    import uvicorn

    data = tmp_path_factory.mktemp("xss-data")
    docs = data / "gx_data_docs"
    page = build_hostile_data_docs(docs)
    report_dir = data / "reports" / "capacity" / "2026Q3" / "run1"
    report_dir.mkdir(parents=True)
    plot = base64.b64encode(_png()).decode()
    (report_dir / "report.html").write_text(
        f"<!doctype html><html><body><h1>Report</h1><img id='plot' "
        f"src='data:image/png;base64,{plot}'></body></html>"
    )

    mp = pytest.MonkeyPatch()
    mp.setenv("INFRA_REVIEW_DATA_DIR", str(data))
    mp.setenv("INFRA_REVIEW_DATA_DOCS", str(docs))
    spec = importlib.util.spec_from_file_location(
        "capacity_decisions_xss", ROOT / "plugins" / "capacity_decisions.py"
    )
    plugin = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = plugin
    spec.loader.exec_module(plugin)
    plugin.app.dependency_overrides[plugin.dag_reader] = lambda: lambda dag_id: True
    host = FastAPIHost(plugin.app, plugin.URL_PREFIX)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(host.app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = _serve_uvicorn(server)

    plain_port = free_port()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(docs))
    plain = http.server.ThreadingHTTPServer(("127.0.0.1", plain_port), handler)
    _serve(plain)
    rel = page.relative_to(docs).as_posix()
    try:
        yield {
            "plugin": f"http://127.0.0.1:{port}{plugin.URL_PREFIX}/data-docs/{rel}",
            "index": f"http://127.0.0.1:{port}{plugin.URL_PREFIX}/data-docs/index.html",
            "plain": f"http://127.0.0.1:{plain_port}/{rel}",
            "report": f"http://127.0.0.1:{port}{plugin.URL_PREFIX}"
            "/reports/capacity/2026Q3/run1/report.html",
        }
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        plain.shutdown()
        plugin.app.dependency_overrides.clear()
        sys.modules.pop(spec.name, None)
        mp.undo()


class FastAPIHost:
    """The plugin's app mounted at its prefix, as the Airflow API server mounts it."""

    def __init__(self, plugin_app, prefix: str) -> None:
        from fastapi import FastAPI

        self.app = FastAPI()
        self.app.mount(prefix, plugin_app)


def _serve_uvicorn(server) -> threading.Thread:
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.1)
    return thread


def _open(browser, url: str, name: str) -> dict:
    """Load ``url``, let any handler fire, and report what ran."""
    context = browser.new_context()
    page = context.new_page()
    violations: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text))
    response = page.goto(url, wait_until="load")
    page.wait_for_timeout(1500)  # an onerror fires after the broken image fails
    seen = {
        "status": response.status,
        "headers": response.headers,
        "flag": page.evaluate("() => window.__xss || null"),
        "title": page.title(),
        "images": page.locator("img[src='x']").count(),
        "console": violations,
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"xss-{name}.png"), full_page=True)
    context.close()
    return seen


def test_the_payload_runs_when_served_without_a_policy(browser, site):
    seen = _open(browser, site["plain"], "plain")
    assert seen["status"] == 200 and seen["images"] == 1
    assert seen["flag"] == "img" and seen["title"] == "pwned", "the payload must be live"


def test_data_docs_from_the_plugin_run_no_script(browser, site):
    seen = _open(browser, site["plugin"], "plugin")
    assert seen["status"] == 200
    assert seen["images"] == 1  # the hostile element is in the page...
    assert seen["flag"] is None and seen["title"] != "pwned"  # ...and did not run
    csp = seen["headers"]["content-security-policy"]
    assert csp.startswith("sandbox;") and "frame-ancestors 'none'" in csp
    assert seen["headers"]["x-content-type-options"] == "nosniff"
    assert any("Content Security Policy" in line for line in seen["console"]), seen["console"]


def test_reports_keep_their_embedded_plots_under_the_policy(browser, site):
    context = browser.new_context()
    page = context.new_page()
    response = page.goto(site["report"], wait_until="load")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    plot = page.locator("#plot")
    page.wait_for_function("() => document.getElementById('plot').complete")
    assert plot.evaluate("img => img.naturalWidth") == 120
    context.close()


def test_the_data_docs_index_links_to_the_page_which_then_runs_nothing(browser, site):
    """GX's own index needs script; the plugin lists the pages itself, and the link works
    inside the sandbox (test_airflow_ui.py follows it with a real session)."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(site["index"], wait_until="load")
    page.get_by_role("link", name="samples.schema").click()
    page.wait_for_url(site["plugin"])
    assert page.locator("img[src='x']").count() == 1
    page.wait_for_timeout(1500)
    assert page.evaluate("() => window.__xss || null") is None
    context.close()

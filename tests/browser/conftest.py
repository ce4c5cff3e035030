"""Browser tests: Debian's Chromium (through the PyPI playwright wheel, never a downloaded
browser) against ``make airflow``'s script, started here on a free loopback port.

One Airflow per session: ``scripts/airflow-local.sh`` with AIRFLOW_HOME in a temporary folder,
its own metadata database and decisions database (created here, dropped afterwards) holding
the bundled sample quarter 2026Q3. The whole process group is stopped at the end, and the
session waits until every child has exited. Screenshots go to ``artifacts/browser/``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.support.db import with_database as _with_database  # noqa: F401
from tests.support.net import free_port  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = ROOT / "artifacts" / "browser"
QUARTER = "2026Q3"
# On this kind of machine (2 shared cores) Airflow standalone needs 1.5 to 5 minutes.
HEALTH_TIMEOUT_S = float(os.environ.get("IR_BROWSER_HEALTH_TIMEOUT", "600"))


def _admin_execute(admin_url: str, sql: str) -> None:
    import psycopg2

    conn = psycopg2.connect(admin_url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


@pytest.fixture(scope="package")
def browser_databases(pg_server_url: str) -> Iterator[dict[str, str]]:
    """A decisions database and an Airflow metadata database of this session's own."""
    tag = uuid.uuid4().hex[:10]
    names = {"decisions": f"ir_browser_{tag}", "airflow": f"ir_browser_meta_{tag}"}
    for name in names.values():
        _admin_execute(pg_server_url, f'CREATE DATABASE "{name}"')
    yield {k: _with_database(pg_server_url, v) for k, v in names.items()}
    for name in names.values():
        _admin_execute(pg_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def load_sample_quarter(url: str) -> dict[str, int]:
    """The bundled sample quarter straight into the store (no CSV round trip), plus the fleet
    metadata and the reporting reference tables, as `make demo` does."""
    from infra_review.demo.sample_quarter import generate_frames
    from infra_review.fleet import load_fleet, sync_servers
    from infra_review.imports import import_complaints, import_plans
    from infra_review.quarter import Quarter
    from infra_review.reporting.catalog import sync
    from infra_review.store.db import connect
    from infra_review.store.samples import load_samples

    quarter = Quarter.parse(QUARTER)
    frames = generate_frames(quarter)
    with connect(url) as conn:
        sync_servers(conn, load_fleet())
        sync(conn)
        stats = load_samples(
            conn,
            frames["samples"],
            batch_key=f"browser-sample-{QUARTER}",
            source="demo",
            window_start=quarter.start,
            window_end=quarter.end,
        )
    folder = ARTIFACTS.parent / "browser-data"
    folder.mkdir(parents=True, exist_ok=True)
    frames["complaints"].to_csv(folder / "complaints.csv", index=False)
    frames["plans"].to_csv(folder / "plans.csv", index=False)
    import_complaints(folder / "complaints.csv", url)
    import_plans(folder / "plans.csv", url)
    return {"samples": stats.rows_written}


@dataclass
class Airflow:
    url: str
    username: str
    password: str
    home: Path
    log: Path
    decisions_url: str
    data_dir: Path
    _token: str = ""

    def _request(self, method: str, path: str, **kwargs) -> requests.Response:
        """Retry timeouts and 5xx for a few minutes: a review keeps 2 shared cores busy, and
        the API server then answers slowly, not wrongly."""
        deadline = time.monotonic() + 300
        while True:
            try:
                r = requests.request(method, f"{self.url}{path}", timeout=120, **kwargs)
                if r.status_code < 500:
                    r.raise_for_status()
                    return r
            except (requests.ConnectionError, requests.Timeout):
                if time.monotonic() > deadline:
                    raise
            if time.monotonic() > deadline:
                r.raise_for_status()
            time.sleep(5)

    def token(self) -> str:
        """A JWT for the REST API, from the same login the UI uses (cached: valid for hours)."""
        if not self._token:
            body = {"username": self.username, "password": self.password}
            self._token = self._request("POST", "/auth/token", json=body).json()["access_token"]
        return self._token

    def api(self, path: str, **params) -> dict:
        headers = {"Authorization": f"Bearer {self.token()}"}
        return self._request("GET", f"/api/v2{path}", params=params, headers=headers).json()

    def log_tail(self, lines: int = 80) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        return "\n".join(text[-lines:])


def _stop_group(proc: subprocess.Popen, timeout: float = 90) -> None:
    """SIGTERM the process group, then SIGKILL what is left; return once every member is gone."""
    pgid = proc.pid  # started with start_new_session: its own group
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 30)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            proc.poll()  # reap the leader so the group can disappear
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return
            time.sleep(1)
    proc.wait(timeout=10)


@pytest.fixture(scope="package")
def airflow(browser_databases, tmp_path_factory) -> Iterator[Airflow]:
    """``scripts/airflow-local.sh`` (what ``make airflow`` runs), healthy, with its login."""
    home = tmp_path_factory.mktemp("airflow-home")
    data_dir = tmp_path_factory.mktemp("ir-data")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = ARTIFACTS / "airflow-standalone.log"

    from infra_review.store.migrate import upgrade

    upgrade(browser_databases["decisions"])
    venv_bin = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PATH": f"{venv_bin}:{os.environ.get('PATH', '')}",
        "AIRFLOW_HOME": str(home),
        "AIRFLOW_PORT": str(port),
        "AIRFLOW_HOST": "127.0.0.1",
        # Links the plugin and the task logs print name this server.
        "AIRFLOW__API__BASE_URL": url,
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "DATABASE_URL": browser_databases["decisions"],
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": browser_databases["airflow"].replace(
            "postgresql://", "postgresql+psycopg2://", 1
        ),
        "INFRA_REVIEW_DATA_DIR": str(data_dir),
        "INFRA_REVIEW_DATA_DOCS": str(data_dir / "gx_data_docs"),
    }
    for name in ("AIRFLOW__CORE__DAGS_FOLDER", "AIRFLOW__CORE__PLUGINS_FOLDER"):
        env.pop(name, None)  # the script sets them to the checkout's folders
    with log.open("w") as out:
        proc = subprocess.Popen(
            ["bash", str(ROOT / "scripts" / "airflow-local.sh")],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Airflow(url, "admin", "", home, log, browser_databases["decisions"], data_dir)
    try:
        # Load the quarter while Airflow boots (both take minutes on 2 shared cores).
        load_sample_quarter(browser_databases["decisions"])
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"airflow standalone exited with {proc.returncode}:\n{server.log_tail()}"
                )
            try:
                health = requests.get(f"{url}/api/v2/monitor/health", timeout=30).json()
                if all(
                    health.get(k, {}).get("status") == "healthy"
                    for k in ("metadatabase", "scheduler")
                ):
                    break
            except (requests.RequestException, ValueError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"Airflow not healthy after {HEALTH_TIMEOUT_S:.0f} s:\n{server.log_tail()}"
                )
            time.sleep(3)
        passwords = home / "simple_auth_manager_passwords.json.generated"
        server.password = json.loads(passwords.read_text())["admin"]
        yield server
    finally:
        _stop_group(proc)


@pytest.fixture(scope="package")
def browser():
    """Package scope: while Playwright's sync API is started it keeps an event loop running
    in the main thread, so a session-wide browser made every later ``asyncio.run`` fail."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, airflow, request):
    """A logged-in page (the admin login that ``make airflow`` prints); a screenshot at the end."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(120_000)
    page.goto(f"{airflow.url}/")
    page.get_by_label("Username").fill(airflow.username)
    page.get_by_label("Password").fill(airflow.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{airflow.url}/")
    assert any(c["name"] == "_token" for c in context.cookies())
    yield page
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-final.png"), full_page=True)
    context.close()


@pytest.fixture
def shoot():
    """``shoot(page, name)``: a full-page screenshot into artifacts/browser/."""

    def take(page, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take

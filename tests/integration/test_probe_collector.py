"""The HTTP prober against a real local HTTP server: latency, up/down, auth headers."""

from __future__ import annotations

import http.server
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from infra_review.collect import run_job
from infra_review.collectors import http_probe
from infra_review.errors import InputError
from infra_review.quality.gate import QualityGate
from tests.integration import services

pytestmark = pytest.mark.integration


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        if self.path == "/slow":
            time.sleep(0.4)
        if self.path == "/auth" and self.headers.get("Authorization") != "Bearer tok":
            self.send_response(401)
        elif self.path == "/fail":
            self.send_response(500)
        else:
            self.send_response(200)
        self.end_headers()
        self.wfile.write(b"x" * 100)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def base_url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _collect(source):
    end = datetime.now(UTC).replace(microsecond=0)
    frame = http_probe.collect("app-1", source, end - timedelta(minutes=5), end)
    return end, {(r.metric, r.label): r.value for r in frame.itertuples()}, frame


def test_latency_and_up_down_per_endpoint(base_url, monkeypatch):
    monkeypatch.setenv("TEST_PROBE_TOKEN", "tok")
    closed = f"http://127.0.0.1:{services.free_port()}/"
    source = {
        "timeout": "3s",
        "endpoints": [
            {"name": "directus", "url": f"{base_url}/ok"},
            {"name": "slow", "url": f"{base_url}/slow"},
            {"name": "broken", "url": f"{base_url}/fail"},
            {
                "name": "bot-api",
                "url": f"{base_url}/auth",
                "auth": {"bearer_token_env": "TEST_PROBE_TOKEN"},
            },
            {"name": "no-auth", "url": f"{base_url}/auth"},
            {"name": "gone", "url": closed},
            {"name": "teapot", "url": f"{base_url}/fail", "expect_status": [500]},
        ],
    }
    end, values, frame = _collect(source)
    assert (frame["ts"] == end).all()
    up = {label: v for (metric, label), v in values.items() if metric == "probe_up"}
    assert up == {
        "directus": 1,
        "slow": 1,
        "broken": 0,
        "bot-api": 1,
        "no-auth": 0,
        "gone": 0,
        "teapot": 1,
    }
    latency = {label: v for (metric, label), v in values.items() if metric == "api_latency_s"}
    assert "gone" not in latency  # no response, no response time
    assert 0.4 <= latency["slow"] < 3
    assert 0 < latency["directus"] < 0.4
    assert latency["broken"] > 0  # a slow 500 is still a slow API


def test_timeout_is_down_without_latency(base_url):
    _, values, _ = _collect(
        {"timeout": "0.1s", "endpoints": [{"name": "slow", "url": f"{base_url}/slow"}]}
    )
    assert values == {("probe_up", "slow"): 0.0}


def test_endpoints_are_validated():
    with pytest.raises(InputError, match="endpoints"):
        _collect({"endpoints": []})
    with pytest.raises(InputError, match="duplicate endpoint"):
        _collect(
            {"endpoints": [{"name": "a", "url": "http://x"}, {"name": "a", "url": "http://y"}]}
        )


def test_run_job_loads_probe_samples(base_url, db, db_url):
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    job = {
        "server": "app-1",
        "source": {
            "type": "http_probe",
            "endpoints": [{"name": "directus", "url": f"{base_url}/ok"}],
        },
    }
    result = run_job(job, end - timedelta(minutes=5), end, gate=QualityGate(engine="pandas"))
    assert (result["rows_in"], result["rows_written"], result["quality_success"]) == (2, 2, True)
    with db.cursor() as cur:
        cur.execute(
            """SELECT r.metric, s.value FROM infra_review.samples s
               JOIN infra_review.series r USING (series_id) WHERE r.label = 'directus'
               ORDER BY r.metric"""
        )
        rows = cur.fetchall()
    assert rows[0][0] == "api_latency_s" and 0 < rows[0][1] < 1
    assert rows[1] == ("probe_up", 1.0)

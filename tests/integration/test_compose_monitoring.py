"""The compose file's monitoring profile is wired to the collectors: the real Prometheus,
node_exporter and blackbox_exporter (Debian's binaries) run with deploy/prometheus/prometheus.yml
and deploy/blackbox/blackbox.yml, only with the compose service names replaced by loopback
ports and a 2 s scrape interval, and the collect pipeline's Prometheus collector, configured
exactly as deploy/fleet.monitoring.yaml configures it (conn_id ``prometheus``), gets every
host metric and probe back under the server name ``compose-host``.

What this proves: the relabelling (``instance="compose-host:9100"``, ``server`` on probes,
``job="blackbox"``) matches the collectors' default queries; a down endpoint is a 0, not a gap.
"""

from __future__ import annotations

import http.server
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.integration.airflow_cluster import free_port
from tests.integration.services import prometheus_now, real_clock_env

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (.ci/run installs the prometheus* packages)")
    return path


def wait_ready(url: str, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited early:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{url} not ready:\n{log.read_text()[-3000:]}")


class _Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def monitoring(tmp_path: Path) -> Iterator[dict[str, int]]:
    """node_exporter, blackbox_exporter, an endpoint that answers and Prometheus, all with
    the deploy/ configs; stopped afterwards whatever happens."""
    ports = {name: free_port() for name in ("node", "blackbox", "prometheus", "down")}
    endpoint = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=endpoint.serve_forever, daemon=True).start()
    ports["up"] = endpoint.server_address[1]

    config = (ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text()
    for service, local in {
        "node-exporter:9100": f"127.0.0.1:{ports['node']}",
        "blackbox-exporter:9115": f"127.0.0.1:{ports['blackbox']}",
        "localhost:9090": f"127.0.0.1:{ports['prometheus']}",
        "http://airflow-apiserver:8080": f"http://127.0.0.1:{ports['up']}",
        "http://grafana:3000": f"http://127.0.0.1:{ports['down']}",
        "scrape_interval: 60s": "scrape_interval: 2s",
        "scrape_timeout: 10s": "scrape_timeout: 2s",
    }.items():
        assert service in config, f"{service} no longer in prometheus.yml"
        config = config.replace(service, local)
    (tmp_path / "prometheus.yml").write_text(config)

    commands = {
        "node": [
            binary("prometheus-node-exporter"),
            f"--web.listen-address=127.0.0.1:{ports['node']}",
            "--collector.disable-defaults",
            "--collector.meminfo",
            "--collector.cpu",
            "--collector.vmstat",
        ],
        "blackbox": [
            binary("prometheus-blackbox-exporter"),
            f"--config.file={ROOT / 'deploy' / 'blackbox' / 'blackbox.yml'}",
            f"--web.listen-address=127.0.0.1:{ports['blackbox']}",
        ],
        "prometheus": [
            binary("prometheus"),
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{ports['prometheus']}",
        ],
    }
    ready = {"node": "/metrics", "blackbox": "/-/healthy", "prometheus": "/-/ready"}
    procs: list[subprocess.Popen] = []
    try:
        for name, command in commands.items():
            log = tmp_path / f"{name}.log"
            with log.open("wb") as handle:
                proc = subprocess.Popen(
                    command, stdout=handle, stderr=subprocess.STDOUT, env=real_clock_env()
                )
            procs.append(proc)
            wait_ready(f"http://127.0.0.1:{ports[name]}{ready[name]}", proc, log)
        yield ports
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        endpoint.shutdown()


def test_monitoring_profile_feeds_the_collectors(monitoring, monkeypatch) -> None:
    from infra_review.collectors.prometheus import collect
    from infra_review.fleet import load_fleet

    fleet = load_fleet(ROOT / "deploy" / "fleet.monitoring.yaml")
    assert list(fleet.servers) == ["compose-host"] and not fleet.local_host_enabled
    (source,) = fleet.servers["compose-host"].sources
    assert source["conn_id"] == "prometheus"
    monkeypatch.setenv("AIRFLOW_CONN_PROMETHEUS", f"http://127.0.0.1:{monitoring['prometheus']}")

    time.sleep(12)  # a few scrapes at 2 s: enough for rate() over the 60 s window
    end = prometheus_now(f"http://127.0.0.1:{monitoring['prometheus']}")
    frame = collect("compose-host", {**source, "step": "2s"}, end - timedelta(seconds=8), end)

    assert set(frame["server"]) == {"compose-host"}
    by_metric = {m: part for m, part in frame.groupby("metric")}
    assert {
        "ram_used_pct",
        "cpu_used_pct",
        "swap_io_pages_per_s",
        "probe_up",
        "api_latency_s",
    } <= set(by_metric), sorted(by_metric)
    ram = by_metric["ram_used_pct"]["value"]
    assert ram.between(0.1, 100).all(), ram.describe()
    assert by_metric["cpu_used_pct"]["value"].between(0, 100).all()
    probes = by_metric["probe_up"].groupby("label")["value"].max()
    up = f"http://127.0.0.1:{monitoring['up']}/api/v2/monitor/health"
    down = f"http://127.0.0.1:{monitoring['down']}/api/health"
    assert probes.to_dict() == {up: 1.0, down: 0.0}, probes.to_dict()

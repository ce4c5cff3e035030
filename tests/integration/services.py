"""Real servers for integration tests, started from Debian's binaries on free loopback ports
with their own config and data folders, and stopped by the fixture that started them.

A missing binary skips the test with the package to install (``.ci/run`` installs them all,
so CI never skips).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.support.net import free_port  # noqa: F401 (shared helper)

BINARIES = {
    "prometheus": "prometheus",
    "promtool": "prometheus",
    "prometheus-node-exporter": "prometheus-node-exporter",
    "prometheus-blackbox-exporter": "prometheus-blackbox-exporter",
    "redis-server": "redis-server",
}


def binary(name: str) -> str:
    """The binary's path, or skip the test naming the Debian package that has it."""
    path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if path is None:
        pytest.skip(f"{name} not installed (apt-get install {BINARIES.get(name, name)})")
    return path


def real_clock_env() -> dict[str, str]:
    """The environment for a real server: without a test's ``faketime`` preload, so servers
    keep the real clock (as PostgreSQL does) while the code under test runs shifted."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAKETIME")}
    preload = [p for p in env.pop("LD_PRELOAD", "").split(":") if p and "faketime" not in p]
    if preload:
        env["LD_PRELOAD"] = ":".join(preload)
    return env


def prometheus_now(url: str):
    """Prometheus's own clock (``time()``): a test that reads live scrapes takes "now" from
    the server that stamped them, never from the test's (possibly shifted) clock."""
    from datetime import UTC, datetime

    body = requests.get(f"{url}/api/v1/query", params={"query": "time()"}, timeout=10).json()
    return datetime.fromtimestamp(float(body["data"]["result"][0]), UTC).replace(microsecond=0)


@dataclass
class Service:
    name: str
    port: int
    process: subprocess.Popen
    log: Path

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def start(name: str, args: list[str], port: int, workdir: Path, ready_path: str) -> Service:
    """Start ``args`` and wait until ``GET ready_path`` answers 200 (30 s at most)."""
    log = workdir / f"{name}.log"
    handle = log.open("wb")
    process = subprocess.Popen(
        args, stdout=handle, stderr=subprocess.STDOUT, cwd=workdir, env=real_clock_env()
    )
    service = Service(name, port, process, log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{log.read_text()}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{service.url}{ready_path}", timeout=1).status_code == 200:
                return service
        time.sleep(0.2)
    service.stop()
    raise RuntimeError(f"{name} not ready after 30 s:\n{log.read_text()}")


@contextlib.contextmanager
def node_exporter(workdir: Path) -> Iterator[Service]:
    port = free_port()
    service = start(
        "node_exporter",
        [
            binary("prometheus-node-exporter"),
            f"--web.listen-address=127.0.0.1:{port}",
            "--collector.disable-defaults",
            "--collector.meminfo",
            "--collector.cpu",
            "--collector.vmstat",
        ],
        port,
        workdir,
        "/metrics",
    )
    try:
        yield service
    finally:
        service.stop()


@contextlib.contextmanager
def blackbox_exporter(workdir: Path) -> Iterator[Service]:
    port = free_port()
    config = workdir / "blackbox.yml"
    config.write_text(
        "modules:\n"
        "  http_2xx:\n"
        "    prober: http\n"
        "    timeout: 5s\n"
        "    http:\n"
        "      preferred_ip_protocol: ip4\n"
    )
    service = start(
        "blackbox_exporter",
        [
            binary("prometheus-blackbox-exporter"),
            f"--config.file={config}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        port,
        workdir,
        "/metrics",
    )
    try:
        yield service
    finally:
        service.stop()


def backfill(openmetrics: Path, storage: Path) -> None:
    """Turn an OpenMetrics file into TSDB blocks with promtool (seconds, ``# EOF`` last)."""
    storage.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [
            binary("promtool"),
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            str(openmetrics),
            str(storage),
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"promtool failed:\n{result.stdout}\n{result.stderr}")


@contextlib.contextmanager
def prometheus(workdir: Path, storage: Path, scrape_configs: str = "") -> Iterator[Service]:
    """Prometheus on a free port over ``storage``, with retention longer than the backfill."""
    port = free_port()
    config = workdir / f"prometheus-{port}.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        + (f"scrape_configs:\n{scrape_configs}" if scrape_configs else "")
    )
    service = start(
        "prometheus",
        [
            binary("prometheus"),
            f"--config.file={config}",
            f"--storage.tsdb.path={storage}",
            "--storage.tsdb.retention.time=3650d",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        port,
        workdir,
        "/-/ready",
    )
    try:
        yield service
    finally:
        service.stop()


@contextlib.contextmanager
def redis_server(workdir: Path, password: str | None = None) -> Iterator[Service]:
    """A throwaway redis-server (no persistence) for tests that need auth or an outage."""
    port = free_port()
    args = [binary("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    args += ["--appendonly", "no", "--dir", str(workdir)]
    if password:
        args += ["--requirepass", password]
    log = workdir / f"redis-{port}.log"
    process = subprocess.Popen(
        args, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=real_clock_env()
    )
    service = Service("redis", port, process, log)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            break
        time.sleep(0.1)
    try:
        yield service
    finally:
        service.stop()

"""A real Airflow 3 cluster on this machine for tests: CeleryExecutor, the machine's Redis and
PostgreSQL, and scheduler, dag-processor, api-server and Celery workers as processes.

Everything a cluster owns is its own: a fresh metadata database, a Redis database number and
a Celery queue name nobody else uses, an AIRFLOW_HOME in a temporary folder and free ports.
Each process starts in a session of its own; ``stop()`` ends every process it started and
every descendant of them (task runners put themselves in process groups of their own, so
killing a group is not enough), and is safe to call twice.

Module level imports are stdlib only: ``worker_hostname`` is imported by Airflow inside the
workers' task processes.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.db import with_database  # noqa: F401 (shared helpers)
from tests.support.net import free_port, wait_for  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
WORKER_NAME_ENV = "IR_TEST_CELERY_HOSTNAME"


def worker_hostname() -> str:
    """``[core] hostname_callable`` for workers sharing one machine: task_instance.hostname
    then says which worker ran the task (``w1@host``), not just which machine."""
    return os.environ.get(WORKER_NAME_ENV) or socket.getfqdn()


def create_database(admin_url: str, database: str) -> None:
    import psycopg2
    from psycopg2 import sql

    conn = psycopg2.connect(admin_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    conn.close()


def drop_database(admin_url: str, database: str) -> None:
    import psycopg2
    from psycopg2 import sql

    conn = psycopg2.connect(admin_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
        )
    conn.close()


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    log: Path


@dataclass
class AirflowCluster:
    """Configuration and processes of one throwaway Celery cluster."""

    workdir: Path
    metadata_url: str  # postgresql://... (a database of its own)
    decisions_url: str  # DATABASE_URL for the tasks
    redis_url: str  # redis://127.0.0.1:6379/<db>
    extra_env: dict[str, str] = field(default_factory=dict)
    worker_concurrency: int = 2
    queue: str = field(default_factory=lambda: f"ir-scaleout-{uuid.uuid4().hex[:8]}")
    api_port: int = field(default_factory=free_port)
    # one set of secrets per cluster: every component must share them (as .env does)
    fernet_key: str = field(default_factory=lambda: _fernet_key())
    jwt_secret: str = field(default_factory=lambda: secrets.token_urlsafe(64))
    api_secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    procs: dict[str, Proc] = field(default_factory=dict)
    _token: str | None = None

    @property
    def home(self) -> Path:
        return self.workdir / "airflow-home"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def env(self) -> dict[str, str]:
        """The environment every component shares (what the compose file sets from .env)."""
        meta = self.metadata_url.replace("postgresql://", "postgresql+psycopg2://", 1)
        env = {
            **os.environ,
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": os.pathsep.join([str(ROOT / "include"), str(ROOT / "config"), str(ROOT)]),
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "true",
            "AIRFLOW__CORE__FERNET_KEY": self.fernet_key,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "true",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.api_port),
            "AIRFLOW__API__SECRET_KEY": self.api_secret_key,
            "AIRFLOW__API_AUTH__JWT_SECRET": self.jwt_secret,
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": meta,
            "AIRFLOW__DATABASE__SQL_ALCHEMY_POOL_SIZE": "3",
            "AIRFLOW__CELERY__BROKER_URL": self.redis_url,
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + meta,
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(self.worker_concurrency),
            "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS": "infra_review_celery.CELERY_CONFIG",
            "AIRFLOW__OPERATORS__DEFAULT_QUEUE": self.queue,
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "false",
            # On a loaded 2-core machine the api-server's first execution-API answer took 39 s;
            # the default 5 s client timeout then retries a call that did succeed, and the
            # retry's 400 ("not queued any more") fails the task.
            "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "60",
            "DATABASE_URL": self.decisions_url,
            "INFRA_REVIEW_DATA_DIR": str(self.workdir / "data"),
            "INFRA_REVIEW_DATA_DOCS": str(self.workdir / "gx_data_docs"),
            "GX_ANALYTICS_ENABLED": "false",
        }
        # the parent test session's own Airflow settings must not leak into the cluster
        env.pop("AIRFLOW_CONFIG", None)
        env.update(self.extra_env)
        return env

    # --- processes ---------------------------------------------------------------------------

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        """A one-off ``airflow`` command (migrations), failing loudly with its output."""
        result = subprocess.run(
            [str(VENV_BIN / "airflow"), *args],
            env=self.env(),
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"airflow {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
            )
        return result

    def start(self, name: str, *args: str, env: dict[str, str] | None = None) -> Proc:
        """Start ``airflow <args>`` in a new session, output to ``<workdir>/logs/<name>.log``."""
        logs = self.workdir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        log = logs / f"{name}.log"
        handle = log.open("ab")
        try:
            popen = subprocess.Popen(
                [str(VENV_BIN / "airflow"), *args],
                env={**self.env(), **(env or {})},
                cwd=self.workdir,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            handle.close()
        proc = Proc(name, popen, log)
        self.procs[name] = proc
        return proc

    def start_core(self) -> None:
        """api-server, scheduler and dag-processor (the api-server first: the others and the
        workers' task processes talk to it)."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.start("api-server", "api-server", "--port", str(self.api_port))
        self.start("scheduler", "scheduler")
        self.start("dag-processor", "dag-processor")

    def start_worker(self, name: str) -> Proc:
        hostname = f"{name}@{socket.gethostname()}"
        return self.start(
            name,
            "celery",
            "worker",
            "--celery-hostname",
            hostname,
            "--concurrency",
            str(self.worker_concurrency),
            "--queues",
            self.queue,
            "--skip-serve-logs",
            "--pid",
            str(self.home / f"{name}.pid"),
            env={
                WORKER_NAME_ENV: hostname,
                "AIRFLOW__CORE__HOSTNAME_CALLABLE": f"{__name__}.worker_hostname",
            },
        )

    def alive(self, name: str) -> bool:
        return self.procs[name].popen.poll() is None

    def kill(self, name: str, sig: int = signal.SIGKILL) -> list[int]:
        """Kill a component and every process under it, as a crashed machine would."""
        proc = self.procs[name]
        pids = _tree(proc.popen.pid)
        for pid in pids:
            _signal(pid, sig)
        try:
            proc.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        return pids

    def stop(self, grace: float = 15.0) -> None:
        """Stop every process this cluster started, and their descendants; never raises."""
        trees = {name: _tree(p.popen.pid) for name, p in self.procs.items()}
        for name, proc in reversed(list(self.procs.items())):
            if proc.popen.poll() is None:
                _killpg(proc.popen.pid, signal.SIGTERM)
            for pid in trees[name]:
                _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in self.procs.values():
            try:
                proc.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for name, proc in self.procs.items():
            for pid in _tree(proc.popen.pid) + trees[name]:
                _signal(pid, signal.SIGKILL)
            if proc.popen.poll() is None:
                _killpg(proc.popen.pid, signal.SIGKILL)
            try:
                proc.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass

    def leftovers(self) -> list[int]:
        """Processes still alive that this cluster started (should be none after stop)."""
        import psutil

        alive = []
        for proc in self.procs.values():
            if proc.popen.poll() is None:
                alive.append(proc.popen.pid)
        for p in psutil.process_iter(["pid", "environ"]):
            try:
                environ = p.info["environ"] or {}
            except (psutil.AccessDenied, psutil.NoSuchProcess):
                continue
            if environ.get("AIRFLOW_HOME") == str(self.home) and p.pid != os.getpid():
                alive.append(p.pid)
        return sorted(set(alive))

    def tail(self, name: str, chars: int = 3000) -> str:
        proc = self.procs.get(name)
        if proc is None or not proc.log.exists():
            return ""
        return proc.log.read_text(errors="replace")[-chars:]

    def tails(self, chars: int = 2000) -> str:
        return "\n".join(f"--- {n} ---\n{self.tail(n, chars)}" for n in self.procs)

    # --- REST API ----------------------------------------------------------------------------

    def wait_healthy(self, timeout: float = 240) -> None:
        """Until the api-server answers and the scheduler and dag-processor report healthy."""
        import requests

        def healthy() -> bool:
            for name, proc in self.procs.items():
                if proc.popen.poll() is not None:
                    raise RuntimeError(f"{name} exited early:\n{self.tail(name)}")
            try:
                health = requests.get(f"{self.api_url}/api/v2/monitor/health", timeout=5).json()
            except (requests.RequestException, ValueError):
                return False
            if not all(
                (health.get(part) or {}).get("status") == "healthy"
                for part in ("metadatabase", "scheduler", "dag_processor")
            ):
                return False
            # the execution API is built on its first request (slow): build it now, not
            # while the first task waits for it
            try:
                return requests.get(f"{self.api_url}/execution/health", timeout=120).ok
            except requests.RequestException:
                return False

        wait_for(healthy, timeout, "the cluster to become healthy", self.tails)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        import requests

        if self._token is None:
            # [core] simple_auth_manager_all_admins: GET /auth/token gives an admin token
            response = requests.get(f"{self.api_url}/auth/token", timeout=30)
            response.raise_for_status()
            self._token = response.json()["access_token"]
        response = requests.request(
            method,
            f"{self.api_url}{path}",
            headers={"Authorization": f"Bearer {self._token}"},
            timeout=60,
            **kwargs,
        )
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path}: HTTP {response.status_code}: {response.text}")
        return response.json() if response.content else None

    def wait_for_dag(self, dag_id: str, timeout: float = 180) -> None:
        """Until the dag-processor has serialised ``dag_id`` (no import errors)."""

        def parsed() -> bool:
            dags = self.request("GET", "/api/v2/dags", params={"dag_id_pattern": dag_id})
            if any(d["dag_id"] == dag_id for d in dags["dags"]):
                return True
            errors = self.request("GET", "/api/v2/importErrors")["import_errors"]
            if errors:
                raise RuntimeError(f"DAG import errors: {json.dumps(errors, indent=1)[:4000]}")
            return False

        wait_for(parsed, timeout, f"DAG {dag_id} to be parsed", self.tails)

    def unpause(self, dag_id: str) -> None:
        self.request("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, body: dict[str, Any]) -> str:
        run = self.request("POST", f"/api/v2/dags/{dag_id}/dagRuns", json=body)
        return str(run["dag_run_id"])

    def run_state(self, dag_id: str, run_id: str) -> str:
        return str(self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")["state"])

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float) -> str:
        """The run's final state (success or failed); raises after ``timeout`` seconds."""
        state = {"value": ""}

        def finished() -> bool:
            state["value"] = self.run_state(dag_id, run_id)
            return state["value"] in ("success", "failed")

        wait_for(finished, timeout, f"{dag_id} run {run_id} to finish", self.tails)
        return state["value"]

    # --- metadata DB -------------------------------------------------------------------------

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[tuple]:
        """Rows from Airflow's metadata database (task_instance.hostname says where a task ran)."""
        import psycopg2

        conn = psycopg2.connect(self.metadata_url)
        try:
            with conn, conn.cursor() as cur:
                cur.execute(sql, tuple(params))
                return cur.fetchall()
        finally:
            conn.close()


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def _tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (empty if it is gone)."""
    import psutil

    try:
        parent = psutil.Process(pid)
        return [pid] + [c.pid for c in parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _killpg(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)  # each component leads its own session, so pgid == pid
    except (ProcessLookupError, PermissionError):
        pass

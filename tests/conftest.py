"""Shared fixtures: a real PostgreSQL for every test run, in databases of its own.

``DATABASE_URL`` names the server when set (CI's machine runs one on 127.0.0.1:5432);
otherwise an embedded ``pgserver`` starts in a temporary folder. The session migrates one
template database; each test that asks for ``db_url`` gets a fresh copy of it, so tests
never see each other's rows and parallel runs never collide.
"""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "include"))

# shared helpers (tests.support); the old private names stay for the tests that import them
from tests.support.db import admin as _admin  # noqa: E402
from tests.support.db import clone_database  # noqa: E402, F401
from tests.support.db import drop as _drop  # noqa: E402
from tests.support.db import with_database as _with_database  # noqa: E402


def pytest_configure(config) -> None:
    """Point Airflow at a throwaway home before anything imports it (its config is read once)."""
    home = Path(tempfile.mkdtemp(prefix="ir-airflow-home-"))
    os.environ["AIRFLOW_HOME"] = str(home)
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
    os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(ROOT / "plugins")
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "false"
    os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "WARNING"
    os.environ["INFRA_REVIEW_DATA_DIR"] = str(home / "data")


@pytest.fixture(scope="session")
def pg_server_url(tmp_path_factory) -> Iterator[str]:
    """An admin URL for a real server (its ``postgres`` database)."""
    configured = os.environ.get("DATABASE_URL", "").strip()
    if configured:
        yield _with_database(configured, "postgres")
        return
    import pgserver

    datadir = tmp_path_factory.mktemp("pgdata")
    server = pgserver.get_server(datadir, cleanup_mode="stop")
    yield server.get_uri("postgres")
    server.cleanup()


@pytest.fixture(scope="session")
def sample_quarter_template(pg_server_url: str, template_db_url: str) -> Iterator[str]:
    """Name of a migrated database holding the bundled sample quarter (samples, complaints,
    planned services), loaded once per session; tests work on clones of it."""
    from tests.support.sample_quarter import load_sample_quarter

    template = urlsplit(template_db_url).path.lstrip("/")
    name = clone_database(pg_server_url, template, "ir_test_capq")
    load_sample_quarter(_with_database(pg_server_url, name))
    yield name
    _drop(pg_server_url, name)


@pytest.fixture(scope="session")
def template_db_url(pg_server_url: str) -> Iterator[str]:
    """A migrated database that per-test databases are cloned from."""
    from infra_review.store.migrate import upgrade

    name = f"ir_test_tpl_{uuid.uuid4().hex[:10]}"
    conn = _admin(pg_server_url)
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    url = _with_database(pg_server_url, name)
    upgrade(url)
    yield url
    _drop(pg_server_url, name)


@pytest.fixture
def db_url(pg_server_url: str, template_db_url: str, monkeypatch) -> Iterator[str]:
    """A fresh migrated database for one test; DATABASE_URL points at it during the test."""
    template = urlsplit(template_db_url).path.lstrip("/")
    name = f"ir_test_{uuid.uuid4().hex[:12]}"
    conn = _admin(pg_server_url)
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    conn.close()
    url = _with_database(pg_server_url, name)
    monkeypatch.setenv("DATABASE_URL", url)
    yield url
    _drop(pg_server_url, name)


@pytest.fixture
def db(db_url: str):
    """An open psycopg2 connection (autocommit off) to the test's database."""
    import psycopg2

    conn = psycopg2.connect(db_url)
    yield conn
    conn.close()

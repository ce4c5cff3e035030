"""Where things live and which database to use.

Order for the decisions database: ``DATABASE_URL``, then the Airflow connection
``infra_review_db`` given as ``AIRFLOW_CONN_INFRA_REVIEW_DB`` (URI form), then an
embedded PostgreSQL (``pgserver``) in ``<project>/.pgdata`` that keeps running and is
reused by the next process, so the demo, the CLI and Airflow tasks share one store
(``infra-review db stop`` or ``make stop-db`` stops it).
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

CONNECTION_ENV = "AIRFLOW_CONN_INFRA_REVIEW_DB"


def project_root() -> Path:
    """The checkout (or image) root: ``INFRA_REVIEW_HOME`` or two levels above this package."""
    env = os.environ.get("INFRA_REVIEW_HOME")
    return Path(env).resolve() if env else Path(__file__).resolve().parents[2]


def config_dir() -> Path:
    env = os.environ.get("INFRA_REVIEW_CONFIG_DIR")
    return Path(env).resolve() if env else project_root() / "include" / "config"


def sql_dir() -> Path:
    return project_root() / "include" / "sql"


def data_dir() -> Path:
    """Writable folder for reports, Data Docs and generated demo files."""
    env = os.environ.get("INFRA_REVIEW_DATA_DIR")
    path = Path(env) if env else project_root() / ".demo"
    path.mkdir(parents=True, exist_ok=True)
    return path


def airflow_home() -> Path:
    return Path(os.environ.get("AIRFLOW_HOME") or project_root() / ".airflow")


def data_docs_dir() -> Path:
    """Where the static GX Data Docs site lives: ``INFRA_REVIEW_DATA_DOCS`` or
    ``$AIRFLOW_HOME/gx_data_docs`` (a path helper: no GX import)."""
    env = os.environ.get("INFRA_REVIEW_DATA_DOCS")
    return Path(env) if env else airflow_home() / "gx_data_docs"


def database_url() -> str:
    """The decisions database URL; starts the embedded server only when nothing is configured."""
    for name in ("DATABASE_URL", CONNECTION_ENV):
        value = os.environ.get(name, "").strip()
        if value:
            return _normalise(value)
    return embedded_database_url()


def _normalise(url: str) -> str:
    # Airflow connection URIs may say postgres:// or postgresql+psycopg2://; libpq wants postgresql://
    for prefix in ("postgresql+psycopg2://", "postgresql+psycopg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


@cache
def embedded_database_url(database: str = "infra_review") -> str:
    """Start (or attach to) the embedded PostgreSQL and make sure ``database`` exists.

    It listens on its unix socket (trust, as pgserver sets it up) and on 127.0.0.1 for BI
    tools (password logins only); see ``infra_review.embedded_pg``.
    """
    from infra_review.embedded_pg import ensure_running

    server = ensure_running()
    ensure_database(server.url("postgres"), database)
    return server.url(database)


def ensure_database(admin_url: str, database: str) -> None:
    """Create ``database`` on the server behind ``admin_url`` if it does not exist."""
    import psycopg2
    from psycopg2 import sql

    conn = psycopg2.connect(admin_url)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
            if cur.fetchone() is None:
                try:
                    cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
                except psycopg2.errors.DuplicateDatabase:
                    pass  # created concurrently by another process
    finally:
        conn.close()


def airflow_metadata_url(database: str = "airflow") -> str:
    """Airflow's metadata DB on the same server as the decisions DB, in its own database.

    ``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN`` wins when set (production sets it).
    """
    from urllib.parse import urlsplit, urlunsplit

    configured = os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "").strip()
    if configured:
        return configured
    parts = urlsplit(database_url())
    admin = urlunsplit(parts._replace(path="/postgres"))
    ensure_database(admin, database)
    meta = urlunsplit(parts._replace(scheme="postgresql+psycopg2", path="/" + database))
    return meta


def sample_horizon_days() -> int:
    """How old an imported sample may be, in days before ``clock.now()``
    (``INFRA_REVIEW_SAMPLE_HORIZON_DAYS``, default 5 years): older rows are refused."""
    return int(os.environ.get("INFRA_REVIEW_SAMPLE_HORIZON_DAYS", "1826"))

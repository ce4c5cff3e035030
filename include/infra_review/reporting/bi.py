"""What a BI tool (Metabase, Grafana, Superset) needs to connect: host, port, database, the
``bi_reader`` role and where its password comes from.

On the embedded server the password is generated on first use, kept in a file only this
user can read (``<pgdata>/bi_reader.password``) and set on the role, so BI connects on the
first run. On a configured server the team sets it (``infra-review reporting bi-password``,
or ``BI_READER_PASSWORD`` in the compose stack's ``.env``); we never print a secret.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ROLE = "bi_reader"
SCHEMA = "reporting"
PASSWORD_FILE = "bi_reader.password"


@dataclass(frozen=True)
class BIConnection:
    host: str
    port: int
    database: str
    password_source: str
    password_file: Path | None = None
    user: str = ROLE
    schema: str = SCHEMA
    note: str = ""

    def lines(self) -> list[str]:
        url = f"postgresql://{self.user}:<password>@{self.host}:{self.port}/{self.database}"
        out = [
            f"host      {self.host}",
            f"port      {self.port}",
            f"database  {self.database}",
            f"user      {self.user}",
            f"password  {self.password_source}",
            f"schema    {self.schema} (the role's default search_path; it can read nothing else)",
            f"URL       {url}",
        ]
        if self.password_file:
            out.append(
                f'psql      PGPASSWORD="$(cat {self.password_file})" psql -h {self.host} '
                f"-p {self.port} -U {self.user} {self.database}"
            )
        if self.note:
            out.append(f"note      {self.note}")
        return out


def embedded() -> bool:
    """True when no database is configured, so the embedded server is the one in use."""
    from infra_review.settings import CONNECTION_ENV

    return not any(os.environ.get(n, "").strip() for n in ("DATABASE_URL", CONNECTION_ENV))


def ensure_embedded_password(conn, datadir: Path) -> Path | None:
    """Give bi_reader a login password on the embedded server (generated once, kept in a
    0600 file); None when the role does not exist yet (run the migrations first)."""
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (ROLE,))
        if cur.fetchone() is None:
            return None
        path = datadir / PASSWORD_FILE
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(24) + "\n")
        password = path.read_text().strip()
        # psycopg2 quotes the literal client-side, so the statement still takes a parameter
        cur.execute("ALTER ROLE bi_reader WITH LOGIN PASSWORD %s", (password,))
    return path


def prepare() -> BIConnection:
    """The connection settings for the database in use; on the embedded server this also
    makes sure bi_reader's password is set (after ``db upgrade`` created the role)."""
    from infra_review.settings import database_url
    from infra_review.store.db import connect

    url = database_url()
    parts = urlsplit(url)
    database = parts.path.lstrip("/") or "postgres"
    if embedded():
        from infra_review.embedded_pg import HOST, ensure_running

        server = ensure_running()
        with connect(url) as conn:
            path = ensure_embedded_password(conn, server.datadir)
        source = (
            f"in {path} (generated on first use, readable by you only)"
            if path
            else "not set yet: run `infra-review db upgrade` first"
        )
        return BIConnection(HOST, server.port, database, source, password_file=path)
    query = parse_qs(parts.query)
    host = parts.hostname or (query.get("host") or [""])[0]
    port = parts.port or int((query.get("port") or ["5432"])[0])
    note = ""
    if not host or host.startswith("/"):
        note = (
            f"this URL reaches the server through a unix socket ({host or 'default folder'}); "
            "a BI tool needs the server's TCP host name instead"
        )
        host = "<the database server's host>"
    source = (
        "set by the team: `BI_READER_PASSWORD=... infra-review reporting bi-password` "
        "(the compose stack sets it from BI_READER_PASSWORD in .env)"
    )
    return BIConnection(host, port, database, source, note=note)


def sync_airflow_url(conn, base: str | None = None) -> str:
    """Record the Airflow UI's address for the views' ``report_url`` (Airflow's own
    ``AIRFLOW__API__BASE_URL``, else the API server's host and port), in the caller's
    transaction; returns it."""
    from infra_review.reporting.links import ui_base_url

    value = (base or ui_base_url()).rstrip("/")
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO infra_review.reporting_settings (key, value) VALUES ('airflow_base_url', %s)
               ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()
               WHERE infra_review.reporting_settings.value IS DISTINCT FROM EXCLUDED.value""",
            (value,),
        )
    return value

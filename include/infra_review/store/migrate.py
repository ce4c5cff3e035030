"""Versioned schema migrations from include/sql, recorded in infra_review.schema_migrations."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from infra_review.settings import sql_dir
from infra_review.store.db import connect

_FILE_RE = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")
_LOCK_KEY = 74_211_001  # advisory lock: one migrator per database at a time


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


class MigrationError(RuntimeError):
    pass


def discover(directory: Path | None = None) -> list[Migration]:
    found = []
    for path in sorted((directory or sql_dir()).glob("*.sql")):
        match = _FILE_RE.match(path.name)
        if not match:
            raise MigrationError(f"{path}: migration files are named NNN_name.sql")
        found.append(Migration(match.group(1), match.group(2), path))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"duplicate migration versions in {directory or sql_dir()}")
    return found


def upgrade(url: str | None = None, directory: Path | None = None) -> list[str]:
    """Apply pending migrations, each in its own transaction; return the versions applied.

    Refuses to run when an applied migration's file has changed since, because the
    database would no longer match what the files say.
    """
    applied_now: list[str] = []
    with connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        conn.commit()
        try:
            cur.execute("CREATE SCHEMA IF NOT EXISTS infra_review")
            cur.execute(
                """CREATE TABLE IF NOT EXISTS infra_review.schema_migrations (
                       version text PRIMARY KEY, name text NOT NULL, sha256 text NOT NULL,
                       applied_at timestamptz NOT NULL DEFAULT now())"""
            )
            conn.commit()
            cur.execute("SELECT version, sha256 FROM infra_review.schema_migrations")
            applied = dict(cur.fetchall())
            for migration in discover(directory):
                if migration.version in applied:
                    if applied[migration.version] != migration.sha256:
                        raise MigrationError(
                            f"{migration.path.name} changed after it was applied; "
                            "add a new migration instead of editing an applied one"
                        )
                    continue
                cur.execute(migration.sql)
                cur.execute(
                    "INSERT INTO infra_review.schema_migrations (version, name, sha256) "
                    "VALUES (%s, %s, %s)",
                    (migration.version, migration.name, migration.sha256),
                )
                conn.commit()
                applied_now.append(migration.version)
            _grant_reporting(cur)
            conn.commit()
        except Exception:
            conn.rollback()
            raise
        finally:
            cur.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
            conn.commit()
    return applied_now


def _grant_reporting(cur) -> None:
    """bi_reader reads every reporting view, including ones added by later migrations."""
    cur.execute("GRANT USAGE ON SCHEMA reporting TO bi_reader")
    cur.execute("GRANT SELECT ON ALL TABLES IN SCHEMA reporting TO bi_reader")
    cur.execute("REVOKE ALL ON SCHEMA infra_review FROM bi_reader")


def status(url: str | None = None) -> list[tuple[str, str, bool]]:
    """Each migration file with whether it is applied."""
    with connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT to_regclass('infra_review.schema_migrations') IS NOT NULL")
        exists = cur.fetchone()[0]
        applied: set[str] = set()
        if exists:
            cur.execute("SELECT version FROM infra_review.schema_migrations")
            applied = {row[0] for row in cur.fetchall()}
    return [(m.version, m.name, m.version in applied) for m in discover()]

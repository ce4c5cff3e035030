"""Versioned schema migrations from include/sql, recorded in infra_review.schema_migrations.

Every run also re-applies the database's access rules (``secure``), because PostgreSQL lets
a role change its own defaults: bi_reader can turn its read-only default off or drop its
statement timeout, and only its privileges stop it. So the privileges are the boundary, and
``db upgrade`` puts the defaults back each time it runs.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from infra_review.settings import sql_dir
from infra_review.store.db import connect

_FILE_RE = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")
_LOCK_KEY = 74_211_001  # advisory lock: one migrator per database at a time
BI_ROLE = "bi_reader"
BI_DEFAULTS = {
    "default_transaction_read_only": "on",
    "statement_timeout": "120s",
    "search_path": "reporting",  # BI tools list the views without a schema prefix (issue 18)
}
log = logging.getLogger(__name__)


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
            secure(cur)
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


def secure(cur) -> list[str]:
    """The database's access rules, re-applied on every upgrade; returns what was done.

    - PUBLIC loses CONNECT and TEMPORARY on this database; its owner, the migrating role and
      the roles granted USAGE on schema ``infra_review`` (the pipeline) get both back, and
      bi_reader gets CONNECT only (no temp tables);
    - PUBLIC may not create in schema ``public`` (the default since PostgreSQL 15);
    - as a superuser: only the pipeline roles may create large objects or take advisory
      locks (``GUARDED_FUNCTIONS``);
    - bi_reader's settings are reset to ``BI_DEFAULTS`` role-wide, and any per-database
      setting it gave itself (``ALTER ROLE ... IN DATABASE ... SET``) is removed.
    Steps that need the database's ownership are skipped with a warning for other roles.
    """
    from psycopg2 import sql

    done: list[str] = []
    cur.execute(
        """SELECT d.datname, pg_get_userbyid(d.datdba),
                  r.rolsuper OR pg_has_role(current_user, d.datdba, 'MEMBER')
           FROM pg_database d, pg_roles r
           WHERE d.datname = current_database() AND r.rolname = current_user"""
    )
    database, owner, owns = cur.fetchone()
    db = sql.Identifier(database)
    if owns:
        cur.execute(
            """SELECT DISTINCT pg_get_userbyid(a.grantee)
               FROM pg_namespace n, aclexplode(n.nspacl) a
               WHERE n.nspname = 'infra_review' AND a.grantee <> 0
                 AND a.privilege_type = 'USAGE'"""
        )
        pipeline = {r for (r,) in cur.fetchall()} | {owner, _current_user(cur)}
        pipeline.discard(BI_ROLE)
        cur.execute(sql.SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC").format(db))
        for role in sorted(pipeline):
            cur.execute(
                sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(
                    db, sql.Identifier(role)
                )
            )
        cur.execute(sql.SQL("REVOKE TEMPORARY ON DATABASE {} FROM {}").format(db, _bi()))
        cur.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(db, _bi()))
        done.append(f"database {database}: CONNECT and TEMPORARY revoked from PUBLIC")
        cur.execute(
            "SELECT pg_has_role(current_user, nspowner, 'MEMBER') OR %s "
            "FROM pg_namespace WHERE nspname = 'public'",
            (owns,),
        )
        if (cur.fetchone() or (False,))[0]:
            cur.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
            done.append("schema public: CREATE revoked from PUBLIC")
        done += _guard_functions(cur, pipeline)
    else:
        log.warning(
            "db upgrade: %s does not own database %s; CONNECT and TEMPORARY stay granted to "
            "PUBLIC (run `infra-review db upgrade` as the owner to revoke them)",
            _current_user(cur),
            database,
        )
    cur.execute(
        """SELECT d.datname FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
           WHERE s.setrole = to_regrole(%s)""",
        (BI_ROLE,),
    )
    for (other,) in cur.fetchall():
        cur.execute(
            sql.SQL("ALTER ROLE {} IN DATABASE {} RESET ALL").format(_bi(), sql.Identifier(other))
        )
        done.append(f"{BI_ROLE}: its own settings in database {other} removed")
    cur.execute(sql.SQL("ALTER ROLE {} RESET ALL").format(_bi()))
    for name, value in BI_DEFAULTS.items():
        cur.execute(
            sql.SQL("ALTER ROLE {} SET {} = {}").format(
                _bi(), sql.Identifier(name), sql.Literal(value)
            )
        )
    done.append(f"{BI_ROLE}: defaults {BI_DEFAULTS}")
    return done


# Built-in functions every role may call by default that let a reader create or hold things:
# large objects (owned, stored data) and advisory locks (the migrator's and the loaders' keys:
# holding one blocks `db upgrade` and imports). Only a superuser may change their grants.
GUARDED_FUNCTIONS = (
    "lo_creat(integer)",
    "lo_create(oid)",
    "lo_from_bytea(oid, bytea)",
    *(
        f"{name}({args})"
        for name in (
            "pg_advisory_lock",
            "pg_advisory_lock_shared",
            "pg_try_advisory_lock",
            "pg_try_advisory_lock_shared",
            "pg_advisory_xact_lock",
            "pg_advisory_xact_lock_shared",
            "pg_try_advisory_xact_lock",
            "pg_try_advisory_xact_lock_shared",
        )
        for args in ("bigint", "integer, integer")
    ),
)


def _guard_functions(cur, pipeline: set[str]) -> list[str]:
    """EXECUTE on ``GUARDED_FUNCTIONS`` for the pipeline roles only (needs a superuser)."""
    from psycopg2 import sql

    cur.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    if not cur.fetchone()[0]:
        cur.execute(
            "SELECT has_function_privilege(%s, 'pg_catalog.lo_create(oid)', 'EXECUTE')", (BI_ROLE,)
        )
        if cur.fetchone()[0]:
            log.warning(
                "db upgrade: %s may still create large objects and take advisory locks; run "
                "`infra-review db upgrade` once as a superuser (compose's init script does this)",
                BI_ROLE,
            )
        return []
    functions = sql.SQL(", ").join(sql.SQL("pg_catalog." + f) for f in GUARDED_FUNCTIONS)
    cur.execute(sql.SQL("REVOKE EXECUTE ON FUNCTION {} FROM PUBLIC").format(functions))
    roles = sql.SQL(", ").join(sql.Identifier(r) for r in sorted(pipeline))
    cur.execute(sql.SQL("GRANT EXECUTE ON FUNCTION {} TO {}").format(functions, roles))
    return ["large objects and advisory locks: the pipeline roles only"]


def _bi():
    from psycopg2 import sql

    return sql.Identifier(BI_ROLE)


def _current_user(cur) -> str:
    cur.execute("SELECT current_user")
    return cur.fetchone()[0]


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

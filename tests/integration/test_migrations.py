"""Migrations on a real PostgreSQL: idempotent, recorded, and bi_reader is read-only."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import psycopg2
import pytest

from infra_review.metrics import METRICS
from infra_review.settings import sql_dir
from infra_review.store.migrate import MigrationError, upgrade

pytestmark = pytest.mark.integration


def test_upgrade_twice_applies_nothing_the_second_time(db_url):
    # the fixture already migrated this database (cloned from the template)
    assert upgrade(db_url) == []
    with psycopg2.connect(db_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT version FROM infra_review.schema_migrations ORDER BY version")
        versions = [r[0] for r in cur.fetchall()]
    assert versions == sorted(p.name[:3] for p in sql_dir().glob("*.sql"))


def test_expected_tables_and_views_exist(db):
    with db.cursor() as cur:
        cur.execute(
            """SELECT table_schema || '.' || table_name FROM information_schema.tables
               WHERE table_schema IN ('infra_review', 'reporting')"""
        )
        names = {r[0] for r in cur.fetchall()}
    for table in (
        "infra_review.samples",
        "infra_review.series",
        "infra_review.servers",
        "infra_review.quarantine",
        "infra_review.quality_results",
        "infra_review.complaints",
        "infra_review.planned_services",
        "infra_review.review_runs",
        "infra_review.decisions",
        "infra_review.criterion_results",
        "infra_review.invoices",
        "infra_review.exchange_rates",
        "infra_review.support_tickets",
        "reporting.current_decisions",
        "reporting.decision_history",
    ):
        assert table in names, table


def test_metric_catalogue_matches_the_python_contract(db):
    with db.cursor() as cur:
        cur.execute("SELECT metric, unit, min_value, max_value FROM infra_review.metrics")
        rows = {r[0]: r[1:] for r in cur.fetchall()}
    assert rows == {m.name: (m.unit, m.min_value, m.max_value) for m in METRICS.values()}


def test_bi_reader_reads_reporting_and_nothing_else(db):
    with db.cursor() as cur:
        cur.execute("SET ROLE bi_reader")
        cur.execute("SELECT count(*) FROM reporting.current_decisions")
        assert cur.fetchone() == (0,)
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute("SELECT count(*) FROM infra_review.decisions")
    db.rollback()
    with db.cursor() as cur:
        cur.execute("SET ROLE bi_reader")
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute(
                "INSERT INTO infra_review.servers (server, registered_from) VALUES ('x', 'fleet')"
            )
    db.rollback()
    with db.cursor() as cur:
        cur.execute("SET ROLE bi_reader")
        with pytest.raises(psycopg2.errors.DatabaseError):
            cur.execute("DELETE FROM reporting.current_decisions")
    db.rollback()


def test_an_edited_applied_migration_is_refused(db_url, tmp_path):
    copy = tmp_path / "sql"
    shutil.copytree(sql_dir(), copy)
    first = sorted(copy.glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited\n")
    with pytest.raises(MigrationError, match="changed after it was applied"):
        upgrade(db_url, copy)


def test_partitions_are_created_per_month(db):
    with db.cursor() as cur:
        cur.execute(
            "SELECT infra_review.ensure_sample_partitions(%s, %s)",
            ("2026-06-30T23:00:00Z", "2026-09-01T00:00:00Z"),
        )
        assert cur.fetchone()[0] == 4  # June, July, August, September
        cur.execute(
            "SELECT infra_review.ensure_sample_partitions(%s, %s)",
            ("2026-07-15T00:00:00Z", "2026-07-16T00:00:00Z"),
        )
        assert cur.fetchone()[0] == 0


# --- issue 15 item 4: bi_reader cannot undo its limits ---------------------------------------
# These change bi_reader's role-wide settings (roles are cluster-wide), so they run on a
# PostgreSQL of their own (pgserver, like the postgres:16 image), never on the shared server.


@pytest.fixture(scope="module")
def own_cluster():
    """(admin URL maker, socket dir) of a private PostgreSQL with a migrated database ``proj``."""
    import re

    import pgserver

    # a folder of its own: pytest's numbered temp folders are pruned by concurrent runs
    folder = Path(tempfile.mkdtemp(prefix="ir-pg-bi-"))
    server = pgserver.get_server(folder, cleanup_mode="stop")
    socket_dir = re.search(r"host=([^&]+)", server.get_uri("postgres"))[1]

    def url(user: str, database: str = "proj") -> str:
        return f"postgresql://{user}@/{database}?host={socket_dir}"

    admin = psycopg2.connect(url("postgres", "postgres"))
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("CREATE DATABASE proj")
        cur.execute("CREATE ROLE outsider LOGIN")
        cur.execute("CREATE ROLE worker LOGIN")
    admin.close()
    upgrade(url("postgres"))
    with psycopg2.connect(url("postgres")) as conn, conn.cursor() as cur:
        cur.execute("GRANT USAGE ON SCHEMA infra_review TO worker")  # a pipeline role
    conn.close()
    upgrade(url("postgres"))
    yield url
    server.cleanup()
    shutil.rmtree(folder, ignore_errors=True)


def _bi_session(url):
    conn = psycopg2.connect(url("bi_reader"))
    conn.autocommit = True
    return conn


def _settings(url) -> dict[str, str]:
    conn = _bi_session(url)  # no `with conn`: psycopg2 would open a transaction
    with conn.cursor() as cur:
        cur.execute("SHOW default_transaction_read_only")
        read_only = cur.fetchone()[0]
        cur.execute("SHOW statement_timeout")
        timeout = cur.fetchone()[0]
    conn.close()
    return {"read_only": read_only, "timeout": timeout}


def test_bi_reader_with_read_only_off_still_cannot_create_anything(own_cluster):
    url = own_cluster
    assert _settings(url) == {"read_only": "on", "timeout": "2min"}
    conn = _bi_session(url)
    with conn.cursor() as cur:
        # what PostgreSQL lets any role do to itself, persisted for its next sessions
        cur.execute("SET default_transaction_read_only = off")
        cur.execute("ALTER ROLE bi_reader SET default_transaction_read_only = off")
        cur.execute("ALTER ROLE bi_reader SET statement_timeout = 0")
        cur.execute("ALTER ROLE bi_reader IN DATABASE proj SET default_transaction_read_only = off")
    conn.close()
    assert _settings(url) == {"read_only": "off", "timeout": "0"}  # the defaults are gone

    conn = _bi_session(url)
    refused = []
    with conn.cursor() as cur:
        for statement in (
            "CREATE TEMP TABLE t (x int)",
            "CREATE TABLE pg_temp.t (x int)",
            "CREATE TABLE public.t (x int)",
            "CREATE TABLE reporting.t (x int)",
            "CREATE TABLE infra_review.t (x int)",
            "CREATE VIEW reporting.v AS SELECT 1",
            "CREATE SCHEMA mine",
            "CREATE FUNCTION public.f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
            "INSERT INTO infra_review.servers (server, registered_from) VALUES ('x', 'fleet')",
            "SELECT count(*) FROM infra_review.samples",
            "SELECT lo_create(0)",  # a large object it would own
            "SELECT lo_from_bytea(0, 'data')",
            "SELECT pg_advisory_lock(74211001)",  # the migrator's lock: would block upgrades
            "SELECT pg_try_advisory_xact_lock(74211002, 1)",  # a loader's series lock
        ):
            try:
                cur.execute(statement)
            except psycopg2.errors.InsufficientPrivilege:
                refused.append(statement)
            except psycopg2.Error as exc:
                pytest.fail(f"{statement}: {type(exc).__name__}: {exc}")
            else:
                pytest.fail(f"bi_reader could run: {statement}")
        cur.execute("SELECT count(*) FROM reporting.current_decisions")  # what it is for
        assert cur.fetchone() == (0,)
    conn.close()
    assert len(refused) == 14

    # `db upgrade` puts the defaults back, the per-database override included
    upgrade(url("postgres"))
    assert _settings(url) == {"read_only": "on", "timeout": "2min"}
    with psycopg2.connect(url("postgres")) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT setdatabase, setconfig FROM pg_db_role_setting "
            "WHERE setrole = 'bi_reader'::regrole"
        )
        assert cur.fetchall() == [
            (
                0,
                [
                    "default_transaction_read_only=on",
                    "statement_timeout=120s",
                    "search_path=reporting",
                ],
            )
        ]
    conn.close()


def test_upgrade_revokes_connect_and_temp_from_public_and_keeps_the_pipeline(own_cluster):
    url = own_cluster
    with pytest.raises(psycopg2.OperationalError, match="permission denied for database"):
        psycopg2.connect(url("outsider"))
    with psycopg2.connect(url("worker")) as conn, conn.cursor() as cur:
        cur.execute("CREATE TEMP TABLE staging (x int)")  # the loader's COPY staging
        cur.execute("SELECT pg_advisory_xact_lock(74211002, 1)")  # the loader's series lock
    conn.close()
    with psycopg2.connect(url("postgres")) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT has_database_privilege(r, 'proj', 'CONNECT'), "
            "has_database_privilege(r, 'proj', 'TEMPORARY') "
            "FROM unnest(ARRAY['bi_reader', 'worker', 'outsider']) r"
        )
        assert cur.fetchall() == [(True, False), (True, True), (False, False)]
        cur.execute("SELECT has_schema_privilege('outsider', 'public', 'CREATE')")
        assert cur.fetchone() == (False,)
    conn.close()


def test_bi_reader_owns_nothing_and_has_only_usage_and_select_on_reporting(db):
    with db.cursor() as cur:
        cur.execute("SELECT oid FROM pg_roles WHERE rolname = 'bi_reader'")
        (bi,) = cur.fetchone()
        for catalog, owner in (
            ("pg_class", "relowner"),
            ("pg_namespace", "nspowner"),
            ("pg_proc", "proowner"),
            ("pg_type", "typowner"),
            ("pg_database", "datdba"),
        ):
            cur.execute(f"SELECT count(*) FROM {catalog} WHERE {owner} = %s", (bi,))  # noqa: S608
            assert cur.fetchone() == (0,), catalog
        cur.execute("SELECT count(*) FROM pg_auth_members WHERE member = %s", (bi,))
        assert cur.fetchone() == (0,), "bi_reader is a member of no role"
        cur.execute(
            """SELECT nspname, has_schema_privilege(%s, oid, 'USAGE'),
                      has_schema_privilege(%s, oid, 'CREATE')
               FROM pg_namespace
               WHERE nspname NOT LIKE 'pg\\_%%' AND nspname <> 'information_schema'""",
            (bi, bi),
        )
        schemas = {name: (usage, create) for name, usage, create in cur.fetchall()}
        assert schemas["reporting"] == (True, False)
        assert schemas["infra_review"] == (False, False)
        assert not any(create for _, create in schemas.values())
        # public: PUBLIC's default USAGE, but the project keeps nothing there
        cur.execute("SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace")
        assert cur.fetchone() == (0,)
        cur.execute(
            """SELECT n.nspname, c.relname, p
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
                    unnest(ARRAY['SELECT','INSERT','UPDATE','DELETE','TRUNCATE','REFERENCES',
                                 'TRIGGER']) p
               WHERE n.nspname IN ('reporting', 'infra_review', 'public')
                 AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
                 AND has_table_privilege(%s, c.oid, p)""",
            (bi,),
        )
        granted = cur.fetchall()
    assert granted and {(n, p) for n, _, p in granted} == {("reporting", "SELECT")}

"""Migrations on a real PostgreSQL: idempotent, recorded, and bi_reader is read-only."""

from __future__ import annotations

import shutil

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

"""Issue 18 item 1: as bi_reader, every criterion result of a sample-quarter review reads in
the unit of its text, with a comparator and the CLI's sentences, and the criteria view
agrees on each threshold."""

from __future__ import annotations

import psycopg2
import pytest

from infra_review import clock
from tests.integration.provider_support import NOW, example_db, probe_files  # noqa: F401
from tests.integration.test_reporting import as_user

pytestmark = pytest.mark.integration

CAPACITY_UNITS = {
    "ram.sustained": ("%", "h"),
    "cpu.sustained": ("%", "h"),
    "cpu.api_latency": ("s", "h"),
    "cpu.n8n_queue": ("items", "min"),
    "ram.swap": ("% of hours", None),
    "ram.degradation": ("×", None),
    "ram.planned": ("%", None),
    "cpu.complaints": ("complaints", None),
    "server.both_loaded": ("%", "% of hours"),
    "server.geo": ("regions", None),
    "server.isolation": ("violations", None),
    "server.upgrade_limit": ("%", None),
}


def _bi_rows(url: str, sql: str) -> list[dict]:
    conn = psycopg2.connect(as_user(url, "bi_reader"))
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            names = [d.name for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    finally:
        conn.close()


@pytest.fixture
def sample_quarter_url(pg_server_url, sample_quarter_template, monkeypatch):
    from tests.conftest import _drop, _with_database, clone_database

    name = clone_database(pg_server_url, sample_quarter_template, "ir_test_read")
    url = _with_database(pg_server_url, name)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("INFRA_REVIEW_NOW", "2026-11-02T08:00:00Z")
    yield url
    _drop(pg_server_url, name)


def _sync(url: str) -> None:
    from infra_review.reporting.catalog import sync_criteria
    from infra_review.store.db import connect

    with connect(url) as conn:
        sync_criteria(conn)


def _check_rows(results: list[dict], criteria: dict[str, dict]) -> None:
    assert results
    for r in results:
        where = f"{r['subject']} {r['criterion_id']}"
        assert r["comparator"] in (">", ">=", "<", "<=", "=="), where
        assert r["unit"], where
        assert r["evidence_en"] and r["evidence_ru"], where
        assert "\n" not in r["evidence_en"] and "\n" not in r["evidence_ru"], where
        cat = criteria[r["criterion_id"]]
        assert (r["threshold"], r["comparator"], r["unit"]) == (
            cat["threshold"],
            cat["comparator"],
            cat["unit"],
        ), where
        assert (r["duration_threshold"], r["duration_unit"]) == (
            cat["duration_threshold"],
            cat["duration_unit"],
        ), where
        for key in ("observed", "threshold", "duration_observed"):
            value = r[key]
            assert value is None or round(value, 2) == value, (where, key, value)


def test_capacity_results_read_in_the_unit_of_their_text(sample_quarter_url):
    from infra_review.cli import main

    assert main(["review", "capacity", "--quarter", "2026Q3"]) == 0
    _sync(sample_quarter_url)
    results = _bi_rows(
        sample_quarter_url,
        "SELECT * FROM reporting.criterion_results ORDER BY subject, criterion_id",
    )
    criteria = {
        c["criterion_id"]: c
        for c in _bi_rows(sample_quarter_url, "SELECT * FROM reporting.criteria")
    }
    assert {r["criterion_id"] for r in results} == set(CAPACITY_UNITS)
    _check_rows(results, criteria)
    for r in results:
        assert (r["unit"], r["duration_unit"]) == CAPACITY_UNITS[r["criterion_id"]]
    by = {(r["subject"], r["criterion_id"]): r for r in results}
    # the examples: seconds for "2 seconds", items for "100 items", 1 h apart from 90%
    api = by[("app-1", "cpu.api_latency")]
    assert (api["threshold"], api["duration_threshold"]) == (2.0, 1.0)
    assert api["observed"] == pytest.approx(1.06)
    queue = by[("app-1", "cpu.n8n_queue")]
    assert (queue["threshold"], queue["duration_threshold"]) == (100.0, 15.0)
    cpu = by[("app-1", "cpu.sustained")]
    assert (cpu["threshold"], cpu["duration_threshold"], cpu["duration_comparator"]) == (
        90.0,
        1.0,
        ">",
    )
    assert cpu["duration_observed"] == 0.02 and cpu["observed_exact"] == pytest.approx(91.4094)
    swap = by[("app-1", "ram.swap")]
    assert (swap["observed"], swap["threshold"], swap["comparator"]) == (1.36, 10.0, ">")
    assert criteria["ram.swap"]["threshold"] == 10.0
    loaded = by[("fleet", "server.both_loaded")]
    assert (loaded["threshold"], loaded["duration_threshold"]) == (80.0, 90.0)
    assert swap["evidence_en"].startswith("swapping in 1.4% of")
    assert by[("app-1", "ram.sustained")]["observed"] == 92.0


@pytest.mark.usefixtures("example_db")
def test_provider_results_read_in_the_unit_of_their_text(db_url):
    from infra_review.provider.review import run_provider_review

    with clock.frozen(NOW):
        run_provider_review("2026Q3", run_key="readable", triggered_by="test")
    _sync(db_url)
    results = _bi_rows(db_url, "SELECT * FROM reporting.criterion_results")
    criteria = {c["criterion_id"]: c for c in _bi_rows(db_url, "SELECT * FROM reporting.criteria")}
    _check_rows(results, criteria)
    by = {(r["subject"], r["criterion_id"]): r for r in results}
    tco = by[("example-eu-cloud", "fin.tco")]
    assert (tco["observed"], tco["comparator"], tco["threshold"], tco["unit"]) == (
        72.48,
        "<",
        150.0,
        "%",
    )
    support = by[("example-kz-cloud", "tech.support")]
    assert (support["observed"], support["threshold"], support["unit"]) == (6.5, 4.0, "h")
    assert by[("example-kz-cloud", "strat.roadmap")]["unit"] == "/5"

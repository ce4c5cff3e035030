"""Decision records: a retry overwrites its own run, a rerun supersedes and keeps history."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from infra_review.criteria.result import CriterionResult, Outcome
from infra_review.store.decisions import (
    DecisionRecord,
    ReviewRun,
    current_decisions,
    record_review,
)

pytestmark = pytest.mark.integration
START, END = datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC)


def run(key: str) -> ReviewRun:
    return ReviewRun(
        review_type="capacity",
        quarter="2026Q3",
        window_start=START,
        window_end=END,
        run_key=key,
        criteria_version="v1",
        criteria_sha256="abc",
        dag_id="capacity_review",
        dag_run_id=key,
    )


def record(decision: str, observed: float) -> DecisionRecord:
    result = CriterionResult(
        "ram.sustained",
        "app-1",
        Outcome.MET if observed > 24 else Outcome.NOT_MET,
        observed,
        24.0,
        START,
        END,
        {"longest_run_h": observed, "nan": float("nan")},
    )
    return DecisionRecord(
        subject_kind="server",
        subject="app-1",
        decision=decision,
        summary_en=f"{decision} for app-1",
        summary_ru=f"{decision} для app-1",
        results=[result],
    )


def test_retry_of_the_same_run_does_not_duplicate(db):
    first = record_review(db, run("r1"), [record("upgrade_ram", 30.0)])
    again = record_review(db, run("r1"), [record("upgrade_ram", 30.0)])
    db.commit()
    assert first.run_id == again.run_id
    assert again.superseded == []
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM infra_review.decisions")
        assert cur.fetchone() == (1,)
        cur.execute("SELECT count(*) FROM infra_review.criterion_results")
        assert cur.fetchone() == (1,)


def test_rerun_supersedes_the_earlier_record_and_keeps_it(db):
    old = record_review(db, run("r1"), [record("upgrade_ram", 30.0)])
    new = record_review(db, run("r2"), [record("no_action", 10.0)])
    db.commit()
    old_id = old.decision_ids[("server", "app-1")]
    new_id = new.decision_ids[("server", "app-1")]
    assert new.superseded == [old_id]
    with db.cursor() as cur:
        cur.execute(
            "SELECT decision_id, status, superseded_by FROM infra_review.decisions ORDER BY 1"
        )
        assert cur.fetchall() == [(old_id, "superseded", new_id), (new_id, "proposed", None)]
    current = current_decisions(db, "2026Q3")
    assert [(d["decision_id"], d["decision"]) for d in current] == [(new_id, "no_action")]
    assert current[0]["criteria"][0]["outcome"] == "not_met"
    assert current[0]["criteria"][0]["evidence"] == {"longest_run_h": 10.0, "nan": None}

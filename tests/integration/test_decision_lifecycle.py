"""Decision lifecycle in PostgreSQL: events kept forever, illegal changes refused, identical
reruns confirm instead of superseding, the next review confirms an implemented upgrade, and
the reporting views show all of it."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import psycopg2
import pytest

from infra_review import clock
from infra_review.cli import main
from infra_review.criteria.result import CriterionResult, Outcome
from infra_review.errors import InputError
from infra_review.lifecycle.fingerprint import inputs_fingerprint, read_marker
from infra_review.lifecycle.store import events, transition
from infra_review.quarter import Quarter
from infra_review.store.decisions import DecisionRecord, ReviewRun, record_review

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen():
    with clock.frozen(NOW):
        yield


def run(key: str, quarter: str = "2026Q3", fingerprint=None, marker=None) -> ReviewRun:
    q = Quarter.parse(quarter)
    return ReviewRun(
        review_type="capacity",
        quarter=quarter,
        window_start=q.start,
        window_end=q.end,
        run_key=key,
        criteria_version="v1",
        criteria_sha256="abc",
        triggered_by="alice",
        fingerprint=fingerprint,
        read_marker=marker,
    )


def record(decision="upgrade_ram", quarter="2026Q3", ram=16, met=("ram.sustained",), actions=None):
    q = Quarter.parse(quarter)
    results = [
        CriterionResult(
            c, "app-1", Outcome.MET if c in met else Outcome.NOT_MET, 1.0, 0.5, q.start, q.end, {}
        )
        for c in ("ram.sustained", "ram.swap", "cpu.sustained")
    ]
    return DecisionRecord(
        subject_kind="server",
        subject="app-1",
        decision=decision,
        summary_en=f"{decision} for app-1",
        summary_ru=f"{decision} для app-1",
        context={"metadata": {"ram_gb": ram, "cpu_cores": 4}, "actions": actions or [decision]},
        confirmation={"criteria": list(met)},
        results=results,
    )


def _fp(n: int):
    return inputs_fingerprint(
        criteria_sha256="abc", series={"app-1|ram_used_pct|": (n, NOW.replace(month=9))}
    )


def _one(db, sql, params=None):
    with db.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()


def test_a_decision_that_asks_for_action_starts_proposed_with_one_event(db):
    rec = record_review(db, run("r1"), [record()])
    quiet = record_review(db, run("r1", "2026Q2"), [record("no_action", "2026Q2", met=())])
    db.commit()
    did = rec.decision_ids[("server", "app-1")]
    assert _one(db, "SELECT state FROM infra_review.decisions WHERE decision_id = %s", (did,)) == (
        "proposed",
    )
    (ev,) = events(db, did)
    assert (ev["from_state"], ev["to_state"], ev["author"]) == (
        None,
        "proposed",
        f"review run {rec.run_id}",
    )
    assert ev["note"] == "triggered by alice" and ev["at"] == NOW
    quiet_id = quiet.decision_ids[("server", "app-1")]
    assert _one(
        db, "SELECT state FROM infra_review.decisions WHERE decision_id = %s", (quiet_id,)
    ) == (None,)
    record_review(db, run("r1"), [record()])  # a retry adds no second event
    assert len(events(db, did)) == 1


def test_people_move_it_forward_and_illegal_changes_are_refused(db):
    did = record_review(db, run("r1"), [record()]).decision_ids[("server", "app-1")]
    db.commit()
    with pytest.raises(InputError, match="'implemented' is allowed only from accepted"):
        transition(db, did, "implemented", "bob")
    db.rollback()
    with pytest.raises(InputError, match="say why"):
        transition(db, did, "dismiss", "bob")
    db.rollback()
    with pytest.raises(InputError, match="--by"):
        transition(db, did, "accept", "  ")
    db.rollback()
    assert transition(db, did, "accept", "bob", "budget approved")["to_state"] == "accepted"
    db.commit()
    with pytest.raises(InputError, match="in the future"):
        transition(db, did, "implemented", "bob", implemented_on=date(2026, 11, 21))
    db.rollback()
    done = transition(db, did, "implemented", "carol", "32 GB plan", date(2026, 11, 18))
    db.commit()
    assert (done["from_state"], done["to_state"]) == ("accepted", "implemented")
    assert [(e["to_state"], e["author"]) for e in events(db, did)] == [
        ("proposed", "review run 1"),
        ("accepted", "bob"),
        ("implemented", "carol"),
    ]
    assert _one(db, "SELECT status FROM infra_review.decisions WHERE decision_id = %s", (did,)) == (
        "accepted",
    )
    with pytest.raises(InputError, match="decision 99999"):
        transition(db, 99999, "accept", "bob")
    db.rollback()


def test_events_are_append_only(db):
    did = record_review(db, run("r1"), [record()]).decision_ids[("server", "app-1")]
    db.commit()
    for sql in (
        "UPDATE infra_review.decision_events SET author = 'mallory'",
        "DELETE FROM infra_review.decision_events",
        "TRUNCATE infra_review.decision_events",
    ):
        with pytest.raises(psycopg2.Error, match="append-only"):
            with db.cursor() as cur:
                cur.execute(sql)
        db.rollback()
    assert len(events(db, did)) == 1


def test_a_superseded_decision_cannot_be_changed_and_a_rerun_keeps_the_state(db):
    first = record_review(db, run("r1"), [record()])
    old = first.decision_ids[("server", "app-1")]
    transition(db, old, "accept", "bob")
    second = record_review(db, run("r2"), [record()])  # same decision, no fingerprint: supersedes
    new = second.decision_ids[("server", "app-1")]
    db.commit()
    assert second.superseded == [old]
    assert _one(db, "SELECT state FROM infra_review.decisions WHERE decision_id = %s", (new,)) == (
        "accepted",
    )
    assert f"state of decision {old}" in events(db, new)[0]["note"]
    with pytest.raises(InputError, match=f"superseded by decision {new}"):
        transition(db, old, "implemented", "bob")
    db.rollback()
    third = record_review(db, run("r3"), [record("no_action", met=())])  # changed decision
    db.commit()
    assert events(db, third.decision_ids[("server", "app-1")]) == []


def test_identical_inputs_confirm_the_current_run_instead_of_superseding(db):
    first = record_review(db, run("r1", fingerprint=_fp(100)), [record()])
    same = record_review(db, run("r2", fingerprint=_fp(100)), [record("no_action", met=())])
    db.commit()
    assert same.unchanged_of == first.run_id and same.superseded == []
    assert same.decision_ids == first.decision_ids
    assert _one(db, "SELECT count(*) FROM infra_review.decisions") == (1,)
    assert _one(
        db,
        "SELECT outcome_note, newest_sample_ts FROM reporting.review_runs WHERE run_id = %s",
        (same.run_id,),
    ) == (f"unchanged, confirmed run {first.run_id}", NOW.replace(month=9))
    assert _one(db, "SELECT confirmed_by_runs FROM reporting.current_decisions") == ([same.run_id],)
    # a retry of the current run itself is not "unchanged": it overwrites its own rows
    again = record_review(db, run("r1", fingerprint=_fp(100)), [record()])
    assert again.unchanged_of is None and again.run_id == first.run_id
    # one more sample: a new review, which supersedes
    changed = record_review(db, run("r3", fingerprint=_fp(101)), [record()])
    db.commit()
    assert changed.unchanged_of is None and changed.superseded == list(first.decision_ids.values())


def test_inputs_changed_since_flags_a_late_import(db):
    q = Quarter.parse("2026Q3")
    marker = read_marker(db, q.start, q.end)
    record_review(db, run("r1", marker=marker), [record()])
    db.commit()
    flag = "SELECT inputs_changed_since FROM reporting.current_decisions"
    assert _one(db, flag) == (False,)
    with db.cursor() as cur:  # an import after the review read its inputs
        cur.execute(
            """INSERT INTO infra_review.load_batches
                   (batch_key, source, window_start, window_end, rows_in, rows_loaded)
               VALUES ('late.csv', 'csv', %s, %s, 10, 10)""",
            (datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 9, 2, tzinfo=UTC)),
        )
        cur.execute(  # another quarter's batch does not count
            """INSERT INTO infra_review.load_batches
                   (batch_key, source, window_start, window_end, rows_in, rows_loaded)
               VALUES ('other.csv', 'csv', '2026-10-05', '2026-10-06', 1, 1)"""
        )
    db.commit()
    assert _one(db, flag) == (True,)


def test_both_actions_are_visible_to_bi(db):
    both = record(actions=["upgrade_ram", "upgrade_cpu"])
    record_review(db, run("r1"), [both])
    db.commit()
    assert _one(db, "SELECT decision, actions FROM reporting.current_decisions") == (
        "upgrade_ram",
        ["upgrade_ram", "upgrade_cpu"],
    )


def test_the_next_review_confirms_an_implemented_upgrade(db):
    q3 = record_review(db, run("q3"), [record()])
    did = q3.decision_ids[("server", "app-1")]
    transition(db, did, "accept", "bob")
    transition(db, did, "implemented", "bob", "moved to vps-32g", date(2026, 10, 3))
    q4 = record_review(db, run("q4", "2026Q4"), [record("no_action", "2026Q4", ram=32, met=())])
    db.commit()
    (f,) = q4.followups
    assert (f.decision_id, f.to_state) == (did, "confirmed")
    last = events(db, did)[-1]
    assert (last["to_state"], last["author"], last["run_id"]) == (
        "confirmed",
        f"review run {q4.run_id}",
        q4.run_id,
    )
    assert last["evidence"]["upgrade_ram"]["after"] == 32
    row = _one(
        db,
        """SELECT state, state_changed_by FROM reporting.current_decisions
           WHERE decision_id = %s""",
        (did,),
    )
    assert row == ("confirmed", f"review run {q4.run_id}")
    # a retry of the Q4 write judges nothing twice
    again = record_review(db, run("q4", "2026Q4"), [record("no_action", "2026Q4", ram=32, met=())])
    assert again.followups == [] and len(events(db, did)) == 4


def test_not_confirmed_with_evidence_and_accepted_is_carried_forward(db, capsys):
    a = record_review(db, run("q3"), [record()]).decision_ids[("server", "app-1")]
    transition(db, a, "accept", "bob")
    transition(db, a, "implemented", "bob")
    q4 = record_review(db, run("q4", "2026Q4"), [record(quarter="2026Q4", ram=16)])
    db.commit()
    (f,) = q4.followups
    assert f.to_state == "not_confirmed"
    assert "16 GB RAM (was 16)" in f.note_en and "still met: ram.sustained" in f.note_en
    b = q4.decision_ids[("server", "app-1")]
    transition(db, b, "accept", "bob")
    q1 = record_review(db, run("q1", "2027Q1"), [record(quarter="2027Q1", ram=16)])
    db.commit()
    assert [(x.decision_id, x.to_state) for x in q1.followups] == [(b, "carried_forward")]
    assert _one(
        db,
        "SELECT state, carried_forward FROM reporting.current_decisions WHERE decision_id = %s",
        (b,),
    ) == ("accepted", True)
    to_states = "SELECT array_agg(to_state ORDER BY event_id) FROM reporting.decision_events WHERE decision_id = %s"
    assert _one(db, to_states, (b,)) == (["proposed", "accepted", "carried_forward"],)
    assert main(["decisions", "--quarter", "2026Q4"]) == 0
    out = capsys.readouterr().out
    assert f"#{b} 2026Q4 capacity" in out
    assert "state accepted (carried forward: accepted, not implemented)" in out


def test_cli_accept_implemented_and_refusal(db_url, db, capsys):
    did = record_review(db, run("r1"), [record()]).decision_ids[("server", "app-1")]
    db.commit()
    assert main(["decision", "implemented", str(did), "--by", "bob"]) == 2
    err = capsys.readouterr().err
    assert f"decision {did} is proposed: 'implemented' is allowed only from accepted" in err
    assert main(["decision", "accept", str(did), "--by", "bob", "--note", "ok"]) == 0
    assert (
        f"decision {did} (upgrade_ram): proposed -> accepted by bob: ok" in capsys.readouterr().out
    )
    code = main(
        ["decision", "implemented", str(did), "--by", "carol", "--on", "2026-11-19", "--json"]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["to_state"], out["implemented_on"]) == ("implemented", "2026-11-19")
    assert main(["decision", "events", str(did)]) == 0
    text = capsys.readouterr().out
    assert "accepted -> implemented by carol on 2026-11-19" in text


def test_without_a_marker_a_load_during_the_reads_is_still_flagged(db, db_url):
    with db.cursor() as cur:
        cur.execute("SELECT 1")  # the review's transaction (and its reads) start here
    other = psycopg2.connect(db_url)
    with other, other.cursor() as cur:  # an import commits while the review reads
        cur.execute(
            """INSERT INTO infra_review.load_batches
                   (batch_key, source, window_start, window_end, rows_in, rows_loaded)
               VALUES ('late.csv', 'csv', '2026-09-01', '2026-09-02', 10, 10)"""
        )
    other.close()
    record_review(db, run("r1"), [record()])  # no read marker: as of the transaction start
    db.commit()
    assert _one(db, "SELECT inputs_changed_since FROM reporting.current_decisions") == (True,)


def test_two_identical_runs_at_once_leave_one_current_decision(db_url, db):
    """The UI's "unpause on trigger": a manual and a scheduled run of the same quarter write
    at the same time; the advisory lock serialises them and the later one confirms."""
    import threading

    barrier = threading.Barrier(2)
    results = {}

    def write(key: str) -> None:
        conn = psycopg2.connect(db_url)
        try:
            with conn:
                barrier.wait()
                results[key] = record_review(conn, run(key, fingerprint=_fp(100)), [record()])
        finally:
            conn.close()

    threads = [threading.Thread(target=write, args=(k,)) for k in ("manual", "scheduled")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    unchanged = [r for r in results.values() if r.unchanged_of is not None]
    written = [r for r in results.values() if r.unchanged_of is None]
    assert len(unchanged) == 1 and len(written) == 1
    assert unchanged[0].unchanged_of == written[0].run_id
    assert _one(db, "SELECT count(*) FROM reporting.current_decisions") == (1,)
    assert _one(db, "SELECT count(*) FROM infra_review.decisions") == (1,)


def test_an_upgrade_is_judged_on_the_runs_after_it_was_implemented_across_a_rerun(db):
    """Implemented on 3 October (marked on 20 November), then the 2026Q3 review rerun: the
    implemented time is read over the record the rerun superseded, and the 2026Q4 run that
    passed 24 h on 2 October, before the upgrade, does not keep it from being confirmed."""
    from infra_review.lifecycle.store import open_decisions

    first = record_review(db, run("r1"), [record()])
    old = first.decision_ids[("server", "app-1")]
    transition(db, old, "accept", "bob")
    transition(db, old, "implemented", "bob", "moved to vps-32g", date(2026, 10, 3))
    did = record_review(db, run("r2"), [record()]).decision_ids[("server", "app-1")]
    (prev,) = open_decisions(db, "capacity", "2026Q4")
    assert (prev["decision_id"], prev["state"]) == (did, "implemented")
    assert prev["implemented_at"] == datetime(2026, 10, 4, tzinfo=UTC)
    q4 = Quarter.parse("2026Q4")
    early = {
        "start": "2026-10-01T00:00:00+00:00",
        "end": "2026-10-02T05:59:00+00:00",
        "duration_s": 30 * 3600.0,
    }
    evidence = {
        "duration_threshold_h": 24.0,
        "duration_comparator": ">",
        "gate": {"passed": True},
        "runs_qualifying": 1,
        "qualifying_runs": [early],
        "carried_over_runs": [],
    }
    met = CriterionResult(
        "ram.sustained", "app-1", Outcome.MET, 30.0, 24.0, q4.start, q4.end, evidence
    )
    q4_record = record("upgrade_ram", "2026Q4", ram=32)
    q4_record.results[0] = met
    (f,) = record_review(db, run("q4", "2026Q4"), [q4_record]).followups
    db.commit()
    assert (f.decision_id, f.to_state) == (did, "confirmed")
    assert "met only before it: ram.sustained" in f.note_en
    last = events(db, did)[-1]
    assert last["to_state"] == "confirmed"
    assert last["evidence"]["upgrade_ram"]["implemented_at"] == "2026-10-04T00:00:00+00:00"
    assert last["evidence"]["upgrade_ram"]["review_outcomes"]["ram.sustained"] == "met"


def test_implemented_on_the_last_evening_of_the_quarter_waits_and_writes_nothing(db):
    did = record_review(db, run("r1"), [record()]).decision_ids[("server", "app-1")]
    transition(db, did, "accept", "bob")
    with clock.frozen(datetime(2026, 12, 31, 20, tzinfo=UTC)):
        transition(db, did, "implemented", "bob")
    q4 = Quarter.parse("2026Q4")
    evidence = {"duration_threshold_h": 24.0, "duration_comparator": ">", "gate": {"passed": True}}
    evidence |= {"runs_qualifying": 0, "qualifying_runs": [], "carried_over_runs": []}
    quiet = CriterionResult(
        "ram.sustained", "app-1", Outcome.NOT_MET, 0.0, 24.0, q4.start, q4.end, evidence
    )
    q4_record = record("no_action", "2026Q4", ram=32, met=())
    q4_record.results[0] = quiet
    (f,) = record_review(db, run("q4", "2026Q4"), [q4_record]).followups
    db.commit()
    assert (f.decision_id, f.to_state) == (did, "waiting")
    assert [e["to_state"] for e in events(db, did)] == ["proposed", "accepted", "implemented"]
    assert _one(db, "SELECT state FROM infra_review.decisions WHERE decision_id = %s", (did,)) == (
        "implemented",
    )

"""Lifecycle rules without a database: transitions, confirmation by the next review, the
inputs fingerprint and triggered_by."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from infra_review.errors import InputError
from infra_review.lifecycle.confirm import NewReview, confirm_decisions
from infra_review.lifecycle.fingerprint import inputs_fingerprint
from infra_review.lifecycle.states import asks_for_action, check_transition
from infra_review.lifecycle.triggered import triggered_by


def test_transitions_allowed_and_refused_with_a_reason():
    assert check_transition(1, "upgrade_ram", "proposed", "accept") == "accepted"
    assert check_transition(1, "upgrade_ram", "accepted", "implemented") == "implemented"
    assert check_transition(1, "upgrade_ram", "proposed", "dismiss") == "dismissed"
    with pytest.raises(
        InputError, match="decision 7 is proposed: 'implemented' is allowed only from accepted"
    ):
        check_transition(7, "upgrade_ram", "proposed", "implemented")
    with pytest.raises(InputError, match="asks for no action"):
        check_transition(7, "no_action", None, "accept")
    with pytest.raises(InputError, match="is confirmed"):
        check_transition(7, "upgrade_ram", "confirmed", "dismiss")


def test_which_decisions_ask_for_action():
    assert asks_for_action("upgrade_cpu") and asks_for_action("evaluate_migration")
    assert not asks_for_action("watch") and not asks_for_action("stay")
    assert asks_for_action("watch", ["upgrade_ram"])


def test_triggered_by_is_the_user_for_manual_runs_and_scheduled_otherwise():
    class RunType:  # an enum-like value as Airflow passes it
        value = "scheduled"

    assert triggered_by("manual", "alice") == "alice"
    assert triggered_by("DagRunType.MANUAL", "bob") == "bob"
    assert triggered_by(RunType(), "alice") == "scheduled"
    assert triggered_by("asset_triggered", None) == "scheduled"
    assert triggered_by(None, "carol") == "carol"  # the CLI passes the login name
    assert triggered_by("manual", None) == "manual"


def _fp(**series):
    return inputs_fingerprint(criteria_sha256="c", series=series)


def test_fingerprint_changes_with_a_count_or_the_newest_time_only():
    t = datetime(2026, 9, 30, 23, 59, tzinfo=UTC)
    base = _fp(a=(10, t), b=(5, None))
    assert base == _fp(b=(5, None), a=(10, t))  # order does not matter
    assert base["newest_sample"] == t.isoformat()
    assert base["sha256"] != _fp(a=(11, t), b=(5, None))["sha256"]
    assert base["sha256"] != _fp(a=(10, t.replace(minute=58)), b=(5, None))["sha256"]
    other_rules = inputs_fingerprint(criteria_sha256="d", series={"a": (10, t), "b": (5, None)})
    assert base["sha256"] != other_rules["sha256"]
    with pytest.raises(ValueError, match="time zone"):
        _fp(a=(1, datetime(2026, 1, 1)))


def test_fingerprint_hashes_the_files_it_names(tmp_path):
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text("servers: []\n")
    one = inputs_fingerprint(criteria_sha256="c", files={"fleet": fleet})
    fleet.write_text("servers: [a]\n")
    two = inputs_fingerprint(criteria_sha256="c", files={"fleet": fleet})
    assert one["files"]["fleet"] != two["files"]["fleet"] and one["sha256"] != two["sha256"]
    assert inputs_fingerprint(criteria_sha256="c", files={"x": tmp_path / "no"})["files"] == {
        "x": None
    }


# --- confirmation by the next review -------------------------------------------------------------


def _upgrade(state="implemented", actions=("upgrade_ram",), ram=16, cores=4):
    return {
        "decision_id": 11,
        "quarter": "2026Q3",
        "subject_kind": "server",
        "subject": "app-1",
        "decision": actions[0],
        "state": state,
        "context": {"metadata": {"ram_gb": ram, "cpu_cores": cores}, "actions": list(actions)},
        "confirmation": {"criteria": ["ram.sustained", "ram.swap", "cpu.sustained"]},
    }


def _review(ram=32, cores=4, **outcomes):
    results = [
        {"subject": "app-1", "criterion_id": c.replace("_", "."), "outcome": o}
        for c, o in outcomes.items()
    ]
    return NewReview("2026Q4", "capacity", results, {"app-1": {"ram_gb": ram, "cpu_cores": cores}})


def test_upgrade_ram_is_confirmed_by_more_ram_and_no_ram_trigger():
    (f,) = confirm_decisions([_upgrade()], _review(ram_sustained="not_met", ram_swap="not_met"))
    assert f.to_state == "confirmed"
    assert f.evidence["upgrade_ram"]["before"] == 16 and f.evidence["upgrade_ram"]["after"] == 32
    assert "16 -> 32 GB" in f.note_en and "ГБ" in f.note_ru


def test_upgrade_ram_not_confirmed_when_the_ram_did_not_change():
    (f,) = confirm_decisions(
        [_upgrade()], _review(ram=16, ram_sustained="not_met", ram_swap="not_met")
    )
    assert f.to_state == "not_confirmed" and "16 GB RAM (was 16)" in f.note_en


def test_upgrade_ram_not_confirmed_when_a_ram_trigger_is_still_met():
    (f,) = confirm_decisions([_upgrade()], _review(ram_sustained="met", ram_swap="not_met"))
    assert f.to_state == "not_confirmed" and "still met: ram.sustained" in f.note_en
    assert f.evidence["upgrade_ram"]["criteria"]["ram.sustained"] == "met"


def test_missing_data_is_not_a_confirmation():
    (f,) = confirm_decisions(
        [_upgrade()], _review(ram_sustained="insufficient_data", ram_swap="not_met")
    )
    assert f.to_state == "not_confirmed" and "not evaluated: ram.sustained" in f.note_en
    (g,) = confirm_decisions([_upgrade()], _review(ram_swap="not_met"))  # no result at all
    assert g.to_state == "not_confirmed" and "ram.sustained" in g.note_en


def test_both_actions_must_hold():
    prev = _upgrade(actions=("upgrade_ram", "upgrade_cpu"))
    ok = _review(cores=8, ram_sustained="not_met", ram_swap="not_met", cpu_sustained="not_met")
    assert confirm_decisions([prev], ok)[0].to_state == "confirmed"
    cpu_same = _review(ram_sustained="not_met", ram_swap="not_met", cpu_sustained="not_met")
    (f,) = confirm_decisions([prev], cpu_same)
    assert f.to_state == "not_confirmed" and "4 cores CPU (was 4)" in f.note_en


def test_accepted_but_not_implemented_is_carried_forward_and_same_quarter_is_skipped():
    (f,) = confirm_decisions([_upgrade(state="accepted")], _review())
    assert f.to_state == "carried_forward" and "2026Q4" in f.note_en
    same_quarter = NewReview("2026Q3", "capacity")
    assert confirm_decisions([_upgrade()], same_quarter) == []


def test_migrate_and_evaluate_migration():
    migrate = {
        "decision_id": 3,
        "quarter": "2026Q3",
        "subject": "kz-cloud",
        "decision": "migrate",
        "state": "implemented",
        "context": {"recommended_provider": "eu-cloud"},
        "confirmation": {},
    }
    moved = NewReview("2026Q4", "provider", current_provider="eu-cloud")
    assert confirm_decisions([migrate], moved)[0].to_state == "confirmed"
    stayed = NewReview("2026Q4", "provider", current_provider="kz-cloud")
    assert confirm_decisions([migrate], stayed)[0].to_state == "not_confirmed"
    evaluate = {**migrate, "decision": "evaluate_migration", "context": {}}
    evaluate["confirmation"] = {"watch": ["eu-cloud:fin.tco", "eu-cloud:tech.sla"]}
    results = [
        {"subject": "eu-cloud", "criterion_id": "fin.tco", "outcome": "met"},
        {"subject": "eu-cloud", "criterion_id": "tech.sla", "outcome": "not_met"},
    ]
    (f,) = confirm_decisions([evaluate], NewReview("2026Q4", "provider", results))
    assert f.to_state == "not_confirmed" and "eu-cloud:tech.sla (not_met)" in f.note_en
    results[1]["outcome"] = "met"
    assert confirm_decisions([evaluate], NewReview("2026Q4", "provider", results))[0].to_state == (
        "confirmed"
    )


def test_summary_lines_name_each_followup_and_an_unchanged_run():
    from infra_review.lifecycle.confirm import summary_lines

    (f,) = confirm_decisions([_upgrade(state="accepted")], _review())
    lines = summary_lines([f], unchanged_of=4)
    assert lines[0].startswith("unchanged: same inputs as review run 4, which stays current")
    assert lines[1] == (
        "#11 app-1 upgrade_ram (2026Q3): carried forward (accepted, not implemented yet): "
        "accepted but not implemented by the 2026Q4 review"
    )
    assert summary_lines([]) == []


# --- upgrades judged on the data after they were implemented ---------------------------------


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _run(start: str, end: str, interval_s: int = 60) -> dict:
    """A run of samples every ``interval_s`` from ``start`` to ``end`` (both above)."""
    length = (_t(end) - _t(start)).total_seconds() + interval_s
    return {"start": _t(start).isoformat(), "end": _t(end).isoformat(), "duration_s": length}


def _sustained(outcome, counted=(), carried=(), hours=24, comparator=">"):
    return {
        "subject": "app-1",
        "criterion_id": "ram.sustained",
        "outcome": outcome,
        "evidence": {
            "duration_threshold_h": hours,
            "duration_comparator": comparator,
            "gate": {"passed": True},
            "runs_qualifying": len(counted),
            "qualifying_runs": list(counted),
            "carried_over_runs": list(carried),
        },
    }


def _q2(*results, ram=32, cores=4):
    swap = {"subject": "app-1", "criterion_id": "ram.swap", "outcome": "not_met"}
    servers = {"app-1": {"ram_gb": ram, "cpu_cores": cores}}
    return NewReview("2026Q2", "capacity", [*results, swap], servers)


def _q1_upgrade(implemented_at=None, actions=("upgrade_ram",), criteria=None):
    prev = _upgrade(actions=actions)
    prev["quarter"] = "2026Q1"
    prev["confirmation"] = {"criteria": criteria or ["ram.sustained", "ram.swap"]}
    if implemented_at is not None:
        prev["implemented_at"] = implemented_at
    return prev


# Counted in 2026Q1 (passed 24 h on 29 March), above until 6 April 12:00: carried over in Q2.
LONG_Q1_RUN = _run("2026-03-28T00:00:00", "2026-04-06T12:00:00")
# 30 h above on 3-4 April, counted in 2026Q2 (passed 24 h on 4 April 00:00).
EARLY_Q2_RUN = _run("2026-04-03T00:00:00", "2026-04-04T05:59:00")


def test_a_run_counted_last_quarter_that_goes_on_after_the_upgrade_is_not_confirmed():
    review = _q2(_sustained("not_met", carried=[LONG_Q1_RUN]))
    (f,) = confirm_decisions([_q1_upgrade(_t("2026-04-02T10:00:00"))], review)
    assert f.to_state == "not_confirmed"
    assert f.note_en == (
        "still met after the implementation (2026-04-02 10:00 UTC): "
        "ram.sustained (4 d 2 h 1 min above from 2026-04-02 10:00 UTC)"
    )
    assert f.note_ru == (
        "после выполнения решения (2026-04-02 10:00 UTC) по-прежнему выполняются: "
        "ram.sustained (4 д 2 ч 1 мин выше порога с 2026-04-02 10:00 UTC)"
    )
    ev = f.evidence["upgrade_ram"]
    assert ev["implemented_at"] == "2026-04-02T10:00:00+00:00"
    assert ev["review_outcomes"]["ram.sustained"] == "not_met"
    assert ev["criteria"] == {"ram.sustained": "met", "ram.swap": "not_met"}
    (run,) = ev["after_implementation"]["ram.sustained"]["runs"]
    assert run["from"] == "2026-04-02T10:00:00+00:00" and run["after_s"] == (98 * 60 + 1) * 60


def test_a_run_that_passed_its_duration_before_the_upgrade_does_not_block_confirmation():
    review = _q2(_sustained("met", counted=[EARLY_Q2_RUN]))
    (f,) = confirm_decisions([_q1_upgrade(_t("2026-04-10T09:00:00"))], review)
    assert f.to_state == "confirmed"
    assert f.note_en == (
        "RAM 16 -> 32 GB; no longer met: ram.sustained, ram.swap (after the implementation, "
        "2026-04-10 09:00 UTC: ram.sustained; met only before it: ram.sustained)"
    )
    assert f.note_ru == (
        "ОЗУ 16 -> 32 ГБ; больше не выполняются: ram.sustained, ram.swap (после выполнения "
        "решения, 2026-04-10 09:00 UTC: ram.sustained; выполнялись только до него: ram.sustained)"
    )
    assert f.evidence["upgrade_ram"]["review_outcomes"]["ram.sustained"] == "met"
    # the same run, implemented while it was going on: 5 h 59 min after 00:01 is not 24 h
    (g,) = confirm_decisions([_q1_upgrade(_t("2026-04-04T00:00:30"))], review)
    assert g.to_state == "confirmed"


def test_more_than_24_h_after_the_implementation_boundary():
    """ram.sustained is "more than 24 h": exactly 24 h of samples after the upgrade (the first
    at 10:01, the moment falling between samples) is not enough, one sample more is."""
    moment = _t("2026-05-05T10:00:30")
    exactly = _run("2026-05-05T00:00:00", "2026-05-06T10:00:00")  # 10:01 .. 10:00 + 1 min
    review = _q2(_sustained("met", counted=[exactly]))
    (f,) = confirm_decisions([_q1_upgrade(moment)], review)
    assert f.to_state == "confirmed"
    one_more = _run("2026-05-05T00:00:00", "2026-05-06T10:01:00")
    (g,) = confirm_decisions([_q1_upgrade(moment)], _q2(_sustained("met", counted=[one_more])))
    assert g.to_state == "not_confirmed"
    assert "ram.sustained (24 h 1 min above from 2026-05-05 10:01 UTC)" in g.note_en


def test_at_least_the_duration_after_the_implementation_boundary():
    """cpu.n8n_queue is "at least 15 min": exactly 15 min of samples from the moment of the
    upgrade (a sample at that moment) is met again, one sample less is not."""
    moment = _t("2026-05-10T12:00:00")

    def queue(end: str) -> dict:
        run = _run("2026-05-10T11:50:00", end)
        return {
            "subject": "app-1",
            "criterion_id": "cpu.n8n_queue",
            "outcome": "met",
            "evidence": {
                "duration_threshold_min": 15.0,
                "duration_comparator": ">=",
                "runs_qualifying": 1,
                "qualifying_runs": [run],
                "carried_over_runs": [],
            },
        }

    prev = _q1_upgrade(moment, actions=("upgrade_cpu",), criteria=["cpu.n8n_queue"])
    (f,) = confirm_decisions([prev], _q2(queue("2026-05-10T12:14:00"), cores=8))
    assert f.to_state == "not_confirmed"
    assert "cpu.n8n_queue (15 min above from 2026-05-10 12:00 UTC)" in f.note_en
    (g,) = confirm_decisions([prev], _q2(queue("2026-05-10T12:13:00"), cores=8))
    assert g.to_state == "confirmed" and "met only before it: cpu.n8n_queue" in g.note_en


def test_old_records_without_an_implemented_time_keep_the_review_outcome():
    """No implemented event (a record from before the lifecycle): the two cases above are
    judged as before, on the review's outcome."""
    carried = _q2(_sustained("not_met", carried=[LONG_Q1_RUN]))
    (f,) = confirm_decisions([_q1_upgrade()], carried)
    assert f.to_state == "confirmed"
    assert f.note_en == "RAM 16 -> 32 GB; no longer met: ram.sustained, ram.swap"
    assert "implemented_at" not in f.evidence["upgrade_ram"]
    counted = _q2(_sustained("met", counted=[EARLY_Q2_RUN]))
    (g,) = confirm_decisions([_q1_upgrade()], counted)
    assert g.to_state == "not_confirmed" and g.note_en == "still met: ram.sustained"
    assert g.note_ru == "по-прежнему выполняются: ram.sustained"


def test_after_the_implementation_missing_data_is_still_not_a_confirmation():
    moment = _t("2026-04-10T09:00:00")
    review = _q2(
        {"subject": "app-1", "criterion_id": "ram.sustained", "outcome": "insufficient_data"}
    )
    (f,) = confirm_decisions([_q1_upgrade(moment)], review)
    assert f.to_state == "not_confirmed" and f.note_en == "not evaluated: ram.sustained"
    # one label met before the upgrade, another failed the gate: not evaluated either
    met = _sustained("met", counted=[EARLY_Q2_RUN])
    met["evidence"]["series"] = [
        {"label": "a", **met["evidence"]},
        {"label": "b", "gate": {"passed": False}, "qualifying_runs": [], "carried_over_runs": []},
    ]
    (g,) = confirm_decisions([_q1_upgrade(moment)], _q2(met))
    assert g.to_state == "not_confirmed" and g.note_en == "not evaluated: ram.sustained"


def test_implemented_too_late_in_the_quarter_waits_for_the_next_review():
    late = _t("2026-06-30T12:00:00")  # 12 h before the end of 2026Q2: a 24 h run cannot pass
    (f,) = confirm_decisions([_q1_upgrade(late)], _q2(_sustained("not_met")))
    assert f.to_state == "waiting"
    assert f.note_en == (
        "implemented 2026-06-30 12:00 UTC, less than 24 h 0 min before the end of 2026Q2: "
        "ram.sustained left for the next review"
    )
    assert "оценит следующий обзор" in f.note_ru
    from infra_review.lifecycle.confirm import summary_lines

    assert summary_lines([f]) == [
        "#11 app-1 upgrade_ram (2026Q1): waiting for the next review: implemented "
        "2026-06-30 12:00 UTC, less than 24 h 0 min before the end of 2026Q2: "
        "ram.sustained left for the next review"
    ]
    # fleet.yaml without more RAM is not confirmed now, whatever is still to come
    (g,) = confirm_decisions([_q1_upgrade(late)], _q2(_sustained("not_met"), ram=16))
    assert g.to_state == "not_confirmed"


def test_the_implemented_moment_is_the_event_time_or_the_day_after_the_date_given():
    from datetime import date

    from infra_review.lifecycle.after import implemented_moment

    at = _t("2026-04-20T09:00:00")
    assert implemented_moment(at, date(2026, 4, 20)) == at  # marked the same day
    assert implemented_moment(at, date(2026, 4, 5)) == _t("2026-04-06T00:00:00")
    assert implemented_moment(at, None) == at
    assert implemented_moment(None, date(2026, 4, 5)) is None

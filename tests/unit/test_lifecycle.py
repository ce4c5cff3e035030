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

"""The registry of criteria: every capacity criterion of criteria.yaml is one registered class
in its group's module; binding checks each entry's parameters (a missing or misspelt key is
refused naming it); the CLI lists every criterion with its module, parameters and seed text."""

from __future__ import annotations

import json

import pytest
import yaml

from infra_review.criteria.registry import bind, describe, explain_both, registered
from infra_review.criteria.result import CriterionResult, Outcome
from infra_review.criteria.rules import load_criteria
from infra_review.errors import InputError
from infra_review.settings import config_dir

CAPACITY = {
    "ram": ["ram.sustained", "ram.swap", "ram.degradation", "ram.planned"],
    "cpu": ["cpu.sustained", "cpu.api_latency", "cpu.n8n_queue", "cpu.complaints"],
    "server": ["server.both_loaded", "server.geo", "server.isolation", "server.upgrade_limit"],
}


def test_each_capacity_criterion_is_one_class_in_its_groups_module():
    classes = registered()
    for group, ids in CAPACITY.items():
        for criterion_id in ids:
            cls = classes[criterion_id]
            # one module per group (the n8n queue has a module of its own in the cpu group)
            assert cls.__module__.startswith(f"infra_review.capacity.criteria.{group}")
            assert cls.review == "capacity"


def test_binding_the_shipped_file_gives_every_capacity_criterion_in_file_order():
    criteria = load_criteria()
    bound = bind(criteria, "capacity")
    assert list(bound) == [r.id for r in criteria.for_review("capacity")]
    assert sum(CAPACITY.values(), []) == sorted(bound, key=sum(CAPACITY.values(), []).index)
    assert bound["ram.sustained"].param("gap_tolerance_intervals") == 2  # the file's default


def _edited(tmp_path, criterion_id: str, change) -> str:
    doc = yaml.safe_load((config_dir() / "criteria.yaml").read_text(encoding="utf-8"))
    entry = next(c for c in doc["criteria"] if c["id"] == criterion_id)
    change(entry)
    path = tmp_path / "criteria.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return str(path)


def test_a_misspelt_parameter_is_refused_naming_it_and_the_likely_one(tmp_path):
    path = _edited(tmp_path, "cpu.sustained", lambda e: e.update(thresold=e.pop("threshold")))
    with pytest.raises(InputError, match="unknown parameter 'thresold'.*'threshold'") as err:
        bind(load_criteria(path), "capacity")
    assert err.value.field == "cpu.sustained.thresold" and err.value.file == path


def test_a_missing_parameter_and_a_wrong_kind_are_refused(tmp_path):
    path = _edited(tmp_path, "ram.swap", lambda e: e.pop("share_of_hours"))
    with pytest.raises(InputError, match="ram.swap needs 'share_of_hours'"):
        bind(load_criteria(path), "capacity")
    path = _edited(tmp_path, "ram.planned", lambda e: e.update(planned_within="half a year"))
    with pytest.raises(InputError) as err:
        bind(load_criteria(path), "capacity")
    assert err.value.field == "ram.planned.planned_within"
    path = _edited(tmp_path, "server.geo", lambda e: e.update(comparator=">"))
    with pytest.raises(InputError, match="server.geo has an unknown parameter 'comparator'"):
        bind(load_criteria(path), "capacity")


def test_explain_goes_through_the_criterion_in_both_languages():
    from datetime import UTC, datetime

    t = datetime(2026, 7, 1, tzinfo=UTC)
    r = CriterionResult(
        "cpu.complaints", "app-1", Outcome.NOT_MET, 2.0, 3.0, t, t,
        {"count": 2, "category": "slow", "comparator": ">="},
    )  # fmt: skip
    en, ru = explain_both(r)
    assert en.startswith("2 complaint(s) tagged 'slow'") and "не менее 3" in ru
    assert registered()["cpu.complaints"].explain(r, "ru") == ru


def test_the_criteria_command_lists_module_params_and_seed_text(capsys):
    from infra_review.cli import main

    assert main(["criteria", "--review", "capacity", "--json"]) == 0
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    assert list(rows) == sum(CAPACITY.values(), [])
    ram = rows["ram.sustained"]
    assert ram["module"] == "infra_review.capacity.criteria.ram"
    assert ram["params"]["threshold"] == 85 and ram["params"]["duration"] == "24h"
    assert ram["text_ru"] == "Usage >85% более 24 часов подряд"
    assert main(["criteria"]) == 0
    text = capsys.readouterr().out
    assert "server.upgrade_limit" in text and "fin.tco" in text  # every criterion of the file
    assert "(not registered)" not in text
    assert {d["id"] for d in describe()} >= set(rows)


def test_the_criteria_command_says_roadmap_and_stops_quietly_when_the_reader_goes(capsys):
    """`infra-review criteria | head -1`: the reader closes the pipe; exit 0 and no error."""
    import subprocess
    import sys

    from infra_review.cli import main

    assert main(["criteria", "--review", "capacity"]) == 0
    assert "    roadmap: Usage >85% более 24 часов подряд" in capsys.readouterr().out
    code = "import sys; from infra_review.cli import main; sys.exit(main(['criteria']))"
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    proc.stdout.close()  # before it writes anything: its first write meets a closed pipe
    _, err = proc.communicate(timeout=60)
    assert (proc.returncode, err.decode()) == (0, "")

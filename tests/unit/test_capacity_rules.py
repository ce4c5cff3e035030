"""criteria.yaml drives the capacity review: a changed threshold changes the result with no
code change, a broken entry is an InputError naming the file and field, and the quarter a
DAG run reviews comes from its data interval, never from the clock."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from infra_review.capacity.criteria.common import SeriesInput, ServerInputs
from infra_review.capacity.criteria.sustained import sustained
from infra_review.capacity.evaluate import criteria_snapshot, rules_from_snapshot
from infra_review.capacity.plan import capacity_rules
from infra_review.criteria.result import Outcome
from infra_review.criteria.rules import load_criteria
from infra_review.errors import InputError
from infra_review.quarter import Quarter
from infra_review.settings import config_dir
from infra_review.timeseries.runs import clean_series

Q3 = Quarter(2026, 3)


def edited(tmp_path, change) -> str:
    doc = yaml.safe_load((config_dir() / "criteria.yaml").read_text(encoding="utf-8"))
    change({c["id"]: c for c in doc["criteria"]}, doc)
    path = tmp_path / "criteria.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return str(path)


def episode_inputs() -> ServerInputs:
    ts = pd.date_range(Q3.start, Q3.end, freq="1min", inclusive="left")
    values = np.full(len(ts), 70.0)
    values[10_000 : 10_000 + 30 * 60] = 90.0
    data = clean_series(ts, values)
    gate = {"passed": True, "coverage": 1.0, "reasons": []}
    return ServerInputs(
        "app-1",
        Q3.start,
        Q3.end,
        series={"ram_used_pct": [SeriesInput("ram_used_pct", "", data, gate)]},
    )


def test_the_shipped_file_has_all_twelve_capacity_criteria():
    rules = capacity_rules(load_criteria())
    assert sorted(rules) == sorted(
        [f"ram.{x}" for x in ("sustained", "swap", "degradation", "planned")]
        + [f"cpu.{x}" for x in ("sustained", "api_latency", "n8n_queue", "complaints")]
        + [f"server.{x}" for x in ("both_loaded", "geo", "isolation", "upgrade_limit")]
    )
    assert rules["ram.sustained"].text_ru == "Usage >85% более 24 часов подряд"


def test_a_threshold_change_needs_no_code(tmp_path):
    inp = episode_inputs()
    shipped = load_criteria()
    assert sustained(shipped["ram.sustained"], inp, shipped.defaults).outcome is Outcome.MET

    def raise_threshold(c, doc):
        c["ram.sustained"]["threshold"] = 95
        doc["version"] = "test.2"

    stricter = load_criteria(edited(tmp_path, raise_threshold))
    assert stricter.version == "test.2" and stricter.sha256 != shipped.sha256
    assert sustained(stricter["ram.sustained"], inp, stricter.defaults).outcome is Outcome.NOT_MET

    def longer(c, doc):
        c["ram.sustained"]["duration"] = "36h"

    assert sustained(load_criteria(edited(tmp_path, longer))["ram.sustained"], inp, {}).outcome is (
        Outcome.NOT_MET
    )


def test_a_stored_snapshot_rebuilds_the_same_rules():
    criteria = load_criteria()
    rules, defaults = rules_from_snapshot(criteria_snapshot(criteria))
    assert rules == capacity_rules(criteria)
    assert defaults == criteria.defaults


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda c, d: c["ram.sustained"].pop("duration"), "ram.sustained.duration"),
        (lambda c, d: c["cpu.n8n_queue"].update(threshold="many"), "cpu.n8n_queue.threshold"),
        (lambda c, d: c["ram.swap"].update(share_comparator="=>"), "ram.swap.share_comparator"),
        (
            lambda c, d: d.update(criteria=[x for x in d["criteria"] if x["id"] != "server.geo"]),
            "server.geo",
        ),
    ],
)
def test_a_broken_entry_names_the_file_and_field(tmp_path, change, field):
    path = edited(tmp_path, change)
    with pytest.raises(InputError) as err:
        capacity_rules(load_criteria(path))
    assert err.value.field == field and err.value.file == path

"""A criterion's id is written in one place: its class. Everything else reaches a criterion
through the registry (its unit, scale, trend, group, sizing basis, plot threshold) or through
the class's ``id`` attribute, so ``grep '"ram.sustained"' include/`` finds the criterion's
module and criteria.yaml only.

The one exception is SQL: ``include/sql/005_reporting.sql`` names the criterion whose
threshold each capacity metric is drawn against in ``reporting.capacity_weekly``. Migrations
are never edited once committed, so the test checks that those names agree with the
registry instead."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from infra_review.criteria.registry import registered
from infra_review.criteria.rules import load_criteria

INCLUDE = Path(__file__).resolve().parents[2] / "include"
CRITERIA_YAML = INCLUDE / "config" / "criteria.yaml"
SQL = INCLUDE / "sql"


def _text_files() -> list[Path]:
    out = []
    for path in sorted(INCLUDE.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts:
            continue
        if any(part.endswith(".egg-info") for part in path.parts):
            continue
        try:
            path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # images and other binaries
        out.append(path)
    return out


def _module_file(cls: type) -> Path:
    return Path(sys.modules[cls.__module__].__file__).resolve()


def test_a_criterion_id_is_quoted_only_in_its_module_criteria_yaml_and_sql():
    classes = registered()
    ids = list(load_criteria().rules)
    assert ids and set(ids) <= set(classes)
    patterns = {cid: re.compile(rf"[\"']{re.escape(cid)}[\"']") for cid in ids}
    found = []
    for path in _text_files():
        if path.resolve() == CRITERIA_YAML.resolve() or path.parent == SQL:
            continue
        text = path.read_text(encoding="utf-8")
        for cid, pattern in patterns.items():
            if pattern.search(text) and path.resolve() != _module_file(classes[cid]):
                found.append(f"{path.relative_to(INCLUDE)}: {cid}")
    assert found == [], "look the criterion up through the registry or its class's .id"


def test_the_checker_sees_an_id_written_elsewhere():
    pattern = re.compile(r"[\"']ram\.sustained[\"']")
    assert pattern.search("if rule.id in ('ram.sustained', 'cpu.sustained'):")
    assert not pattern.search("It crosses ram.sustained.")  # prose is not a lookup


def test_the_views_criterion_per_metric_agrees_with_the_registry():
    sql = (SQL / "005_reporting.sql").read_text(encoding="utf-8")
    pairs = re.findall(r"\('([a-z0-9_]+)', '([a-z]+\.[a-z0-9_]+)'\)", sql)
    assert len(pairs) == 5
    rules, classes = load_criteria().rules, registered()
    for metric, cid in pairs:
        assert rules[cid].params["metric"] == metric, cid
        assert classes[cid].plot is not None and classes[cid].plot.metric == metric, cid


def test_each_class_carries_its_criteria_yaml_group():
    classes = registered()
    for cid, rule in load_criteria().rules.items():
        assert classes[cid].group == rule.group, cid


def test_each_sized_resource_has_one_basis_criterion():
    from infra_review.capacity.sizing_need import RESOURCES

    classes = registered().values()
    for name, resource in RESOURCES.items():
        basis = [c.id for c in classes if c.group == name and c.sizing_basis]
        assert basis == [resource.sustained], name

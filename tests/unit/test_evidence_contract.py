"""The evidence contract with SQL: reporting.criterion_results reads exactly the evidence
paths named in infra_review.criteria.evidence, the capacity criteria write them with the
JSON types the view expects (the sample quarter's stored evidence, from the golden copy),
each is a field of the typed evidence class of the criterion that writes it, and every
stored record reads back through its class as it was stored (older records too)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from infra_review.capacity.criteria.evidence import RUN_RECORD_KEYS, Lookback, SustainedEvidence
from infra_review.criteria.evidence import ABSENT, SQL_EVIDENCE_KEYS, contract_violations
from infra_review.criteria.registry import criterion_class, registered

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "integration" / "golden" / "capacity_2026Q3.json"


def _view_sql() -> str:
    sql = (ROOT / "include" / "sql" / "005_reporting.sql").read_text(encoding="utf-8")
    start = sql.index("CREATE VIEW reporting.criterion_results")
    return sql[start : sql.index(";\n", start)]


def test_the_view_reads_exactly_the_named_paths():
    read = set()
    for chain in re.findall(r"cr\.evidence((?:\s*-(?:>>|>)\s*'[a-z_]+')+)", _view_sql()):
        read.add(tuple(re.findall(r"'([a-z_]+)'", chain)))
    assert read == set(SQL_EVIDENCE_KEYS)


def test_the_types_the_view_checks_are_the_named_ones():
    sql = _view_sql()
    for path, kind in SQL_EVIDENCE_KEYS.items():
        if kind in ("number", "string", "array") and len(path) == 1:
            assert re.search(rf"evidence -> '{path[0]}'\) = '{kind}'", sql), path


def test_stored_capacity_evidence_keeps_the_contract():
    saved = json.loads(GOLDEN.read_text(encoding="utf-8"))
    rows = saved["criterion_results"]
    assert len(rows) == 20
    for row in rows:
        assert contract_violations(row["evidence"]) == [], row["criterion_id"]
    sustained = next(r for r in rows if r["criterion_id"] == "ram.sustained")
    assert set(sustained["evidence"]["longest_run"]) >= {
        p[1] for p in SQL_EVIDENCE_KEYS if p[0] == "longest_run"
    }


def test_a_wrong_type_is_a_violation():
    assert contract_violations({"samples": "many", "longest_run": {"peak": True}}) == [
        "samples: expected number, got str",
        "longest_run.peak: expected number, got bool",
    ]


def _stored_rows() -> list[dict]:
    return json.loads(GOLDEN.read_text(encoding="utf-8"))["criterion_results"]


def test_every_capacity_criterion_has_typed_evidence():
    untyped = [
        cid
        for cid, cls in registered().items()
        if cls.review == "capacity" and not cls.evidence_type
    ]
    assert untyped == []


def test_each_sql_read_key_is_a_field_of_the_class_that_writes_it():
    """The view's paths, where a stored record has them, are fields of its criterion's
    evidence class (a nested piece's for ``insufficient.reasons``; a run record's keys,
    kept as plain JSON, for ``longest_run.*``)."""
    checked = set()
    for row in _stored_rows():
        ev, cls = row["evidence"], criterion_class(row["criterion_id"]).evidence_type
        for path in SQL_EVIDENCE_KEYS:
            if path[0] not in ev:
                continue
            assert path[0] in cls.keys(), (row["criterion_id"], path)
            if len(path) > 1:
                nested = cls.nested(path[0])
                keys = nested.keys() if nested else RUN_RECORD_KEYS
                assert path[1] in keys, (row["criterion_id"], path)
                assert ev[path[0]] is None or path[1] in ev[path[0]], (row["criterion_id"], path)
            checked.add(path)
    # the sample quarter writes every path the view reads
    assert checked == set(SQL_EVIDENCE_KEYS)


def test_the_run_keys_the_view_reads_are_run_record_keys():
    assert {p[1] for p in SQL_EVIDENCE_KEYS if p[0] == "longest_run"} <= set(RUN_RECORD_KEYS)


@pytest.mark.parametrize("row", _stored_rows(), ids=lambda r: f"{r['subject']}:{r['criterion_id']}")
def test_stored_evidence_reads_back_as_stored(row):
    cls = criterion_class(row["criterion_id"])
    typed = cls.read_evidence(row["evidence"])
    assert isinstance(typed, cls.evidence_type)
    assert typed.to_dict() == row["evidence"]
    # every key stored is a field: from_dict drops none
    assert set(row["evidence"]) <= set(cls.evidence_type.keys())


def test_an_older_record_without_the_newer_keys_still_reads():
    stored = next(r for r in _stored_rows() if r["criterion_id"] == "ram.sustained")["evidence"]
    newer = ("lookback", "carried_over_runs", "gap_cadences")
    old = {k: v for k, v in stored.items() if k not in newer}
    typed = SustainedEvidence.from_dict(old)
    assert typed.lookback is ABSENT and typed.carried_over_runs is ABSENT
    assert typed.to_dict() == old
    if "lookback" in stored:
        lb = SustainedEvidence.from_dict(stored).lookback
        assert isinstance(lb, Lookback) and lb.to_dict() == stored["lookback"]

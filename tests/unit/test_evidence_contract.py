"""The evidence contract with SQL: reporting.criterion_results reads exactly the evidence
paths named in infra_review.criteria.evidence, and the capacity criteria write them with the
JSON types the view expects (the sample quarter's stored evidence, from the golden copy)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from infra_review.criteria.evidence import SQL_EVIDENCE_KEYS, contract_violations

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

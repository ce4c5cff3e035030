"""Review task logs in sentences (issue 18 item 3)."""

from __future__ import annotations

import json
from pathlib import Path

from infra_review.reporting.task_logs import coverage_line, evaluation_lines, plan_lines

GOLDEN = Path(__file__).resolve().parents[1] / "integration" / "golden" / "capacity_2026Q3.json"


def test_an_evaluation_logs_coverage_a_count_and_one_sentence_per_criterion():
    saved = json.loads(GOLDEN.read_text(encoding="utf-8"))
    results = [r for r in saved["criterion_results"] if r["subject"] == "app-1"]
    gate = [
        {"metric": "ram_used_pct", "label": "", "passed": True, "reasons": []},
        {"metric": "cpu_used_pct", "label": "", "passed": False, "reasons": ["coverage 50%"]},
    ]
    lines = evaluation_lines({"server": "app-1", "results": results, "gate": gate})
    assert lines[0] == (
        "app-1: coverage passes for 1 of 2 series; failing: cpu_used_pct{} (coverage 50%)"
    )
    assert lines[1] == "app-1: 1 of 8 criteria met (ram.sustained)"
    assert len(lines) == 2 + len(results)
    assert any(line.startswith("  ram.swap not_met: swapping in 1.4%") for line in lines)
    assert not any("{'" in line for line in lines)  # no dict repr


def test_the_plan_and_a_clean_coverage_line():
    assert coverage_line("data-1", [{"passed": True}]) == (
        "data-1: coverage passes for 1 of 1 series"
    )
    [line] = plan_lines(
        {"quarter": "2026Q3", "servers": ["app-1"], "complete": False, "coverage_floor": 0.9,
         "criteria": {"version": "v1"}}
    )  # fmt: skip
    assert line == (
        "capacity review 2026Q3: app-1 (a partial review (no fleet decision)); criteria v1, "
        "coverage floor 90%"
    )

"""Report files appear only after their records commit: the staged folder replaces the final
one when the block succeeds and is deleted when it fails (issue 15 item 8)."""

from __future__ import annotations

import pytest

from infra_review.reviewing.reports import staged_folder


def test_a_finished_block_puts_the_report_in_place_and_leaves_no_stage(tmp_path):
    final = tmp_path / "2026Q3" / "run-1"
    with staged_folder(final) as stage:
        (stage / "report.html").write_text("new", encoding="utf-8")
        assert not final.exists()  # nothing visible until the block ends
    assert (final / "report.html").read_text(encoding="utf-8") == "new"
    assert [p.name for p in final.parent.iterdir()] == ["run-1"]


def test_a_retry_of_the_same_run_replaces_its_earlier_report(tmp_path):
    final = tmp_path / "run-1"
    final.mkdir()
    (final / "stale.png").write_bytes(b"old")
    with staged_folder(final) as stage:
        (stage / "report.html").write_text("retry", encoding="utf-8")
    assert sorted(p.name for p in final.iterdir()) == ["report.html"]


def test_a_failed_block_deletes_the_stage_and_keeps_what_was_there(tmp_path):
    final = tmp_path / "run-1"
    with pytest.raises(RuntimeError, match="commit failed"):
        with staged_folder(final) as stage:
            (stage / "report.html").write_text("orphan", encoding="utf-8")
            raise RuntimeError("commit failed")
    assert list(tmp_path.iterdir()) == []

"""Golden test: the capacity review of the bundled sample quarter writes the same records as
before the issue-16 restructure (decisions, criterion results with their evidence, the review
run's inputs and verdict, the reporting views, the CLI JSON and the Markdown report).

Ids, times and the run key are left out. The saved copy, ``golden/capacity_2026Q3.json``,
was made from the code before the restructure; regenerate it only for an intended change of
behaviour, with ``INFRA_REVIEW_GOLDEN_UPDATE=1``, and say why in the commit.
"""

from __future__ import annotations

import getpass
import json
import math
import os
from pathlib import Path

import pytest

from infra_review.cli import main
from infra_review.store.db import connect

pytestmark = pytest.mark.integration

GOLDEN = Path(__file__).parent / "golden" / "capacity_2026Q3.json"
ROOT = Path(__file__).resolve().parents[2]  # the checkout: paths below it are kept relative
# ids, times and whatever carries the run key or the host's folders
IGNORED = {
    "run_id",
    "decision_id",
    "decision_ids",
    "created_at",
    "synced_at",
    "superseded_by",
    "run_key",
    "report_path",
    "report_url",  # a link built from report_path (migration 011)
    "markdown_path",
    "timings_s",
    "path",
    "fleet_path",
    "triggered_by",  # the CLI user's login
    "inputs_read_at",
    "inputs_fingerprint",  # hashes the inputs, whose file paths depend on the checkout
    "inputs_sha256",  # when the review read its inputs (wall clock of the database)
}
TABLES = {
    "review_runs": "SELECT to_jsonb(t) FROM infra_review.review_runs t ORDER BY review_type",
    "decisions": "SELECT to_jsonb(t) FROM infra_review.decisions t ORDER BY subject",
    "criterion_results": "SELECT to_jsonb(t) FROM infra_review.criterion_results t "
    "ORDER BY subject, criterion_id",
    "current_decisions": "SELECT to_jsonb(t) FROM reporting.current_decisions t ORDER BY subject",
    "criterion_results_view": "SELECT to_jsonb(t) FROM reporting.criterion_results t "
    "ORDER BY subject, criterion_id",
}


@pytest.fixture
def quarter_url(pg_server_url: str, sample_quarter_template: str, monkeypatch):
    from tests.conftest import _drop, _with_database, clone_database

    name = clone_database(pg_server_url, sample_quarter_template, "ir_test_gold")
    url = _with_database(pg_server_url, name)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("INFRA_REVIEW_NOW", "2026-11-02T08:00:00Z")
    yield url
    _drop(pg_server_url, name)


def normalise(value, run_key: str = ""):
    """Drop ignored keys at every depth; put a placeholder for the run key in strings."""
    if isinstance(value, dict):
        return {
            normalise(k, run_key): normalise(v, run_key)
            for k, v in sorted(value.items())
            if k not in IGNORED
        }
    if isinstance(value, list):
        return [normalise(v, run_key) for v in value]
    if isinstance(value, str):
        value = value.replace(run_key, "<run_key>") if run_key else value
        user = getpass.getuser()  # the CLI stores the login as triggered_by (issue 18 item 5)
        value = value.replace(f"Triggered by: {user}", "Triggered by: cli:<user>")
        value = value.replace(f"triggered by {user}", "triggered by cli:<user>")
        return value.replace(str(ROOT), "<root>").replace(f"cli:{getpass.getuser()}", "cli:<user>")
    return value


def differences(want, got, where: str = "$") -> list[str]:
    """Paths where ``got`` differs from ``want`` (floats to 1e-9 relative)."""
    if isinstance(want, dict) and isinstance(got, dict):
        out = [f"{where}.{k}: missing" for k in want.keys() - got.keys()]
        out += [f"{where}.{k}: unexpected" for k in got.keys() - want.keys()]
        for k in sorted(want.keys() & got.keys()):
            out += differences(want[k], got[k], f"{where}.{k}")
        return out
    if isinstance(want, list) and isinstance(got, list):
        if len(want) != len(got):
            return [f"{where}: {len(want)} items saved, {len(got)} now"]
        return [
            d
            for i, (a, b) in enumerate(zip(want, got, strict=True))
            for d in differences(a, b, f"{where}[{i}]")
        ]
    both_numbers = all(isinstance(x, int | float) and not isinstance(x, bool) for x in (want, got))
    if both_numbers and math.isclose(want, got, rel_tol=1e-9, abs_tol=1e-12):
        return []
    return [] if want == got else [f"{where}: saved {want!r}, now {got!r}"]


def review_snapshot(url: str, capsys) -> dict:
    assert main(["review", "capacity", "--quarter", "2026Q3", "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    run_key = cli["run_key"]
    snap = {"cli_json": cli}
    with connect(url) as conn, conn.cursor() as cur:
        for name, sql in TABLES.items():
            cur.execute(sql)
            snap[name] = [row[0] for row in cur.fetchall()]
    report = Path(cli["report_path"]).with_name("report.md")
    snap["report_md"] = report.read_text(encoding="utf-8").splitlines()
    # the file's hash moves with every provider edit; its capacity rules are compared instead
    from infra_review.criteria.rules import load_criteria

    sha = load_criteria().sha256
    text = json.dumps(snap, default=str).replace(sha, "<criteria_sha256>")
    return normalise(json.loads(text.replace(sha[:12], "<criteria_sha12>")), run_key)


def test_sample_quarter_review_writes_the_saved_records(quarter_url, capsys):
    snap = review_snapshot(quarter_url, capsys)
    if os.environ.get("INFRA_REVIEW_GOLDEN_UPDATE") == "1" or not GOLDEN.exists():
        GOLDEN.write_text(json.dumps(snap, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
        pytest.skip(f"saved a new golden copy to {GOLDEN}")
    saved = json.loads(GOLDEN.read_text(encoding="utf-8"))
    diffs = differences(saved, snap)
    assert not diffs, "\n".join(diffs[:40])

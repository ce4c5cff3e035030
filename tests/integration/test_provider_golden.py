"""Golden copy of the provider review on the example data (issue 16's constraint).

Reviews 2026Q3 from include/config/examples/ and compares the stored records (review run,
decision, criterion results, scorecards, the reporting views), the CLI JSON and the report's
Markdown with ``golden/provider_review_2026Q3.json``, ignoring ids, times and paths. A
restructure must keep it equal; a deliberate change of behaviour regenerates it with
``INFRA_REVIEW_UPDATE_GOLDEN=1`` and says why in the commit.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from infra_review import clock
from tests.integration.provider_support import NOW, example_db, probe_files  # noqa: F401

pytestmark = pytest.mark.integration
GOLDEN = Path(__file__).parent / "golden" / "provider_review_2026Q3.json"
ROOT = Path(__file__).resolve().parents[2]
# ids, times and paths differ between runs and machines; everything else must not.
IGNORED = {
    "run_id",
    "decision_id",
    "superseded_by",
    "created_at",
    "state_changed_at",
    "inputs_read_at",  # database clock when the review read its inputs (migration 008)
    "report_path",
    "path",
    "fleet_yaml",
    "inputs_fingerprint",  # hashes config files other helpers edit (fleet.yaml comments)
    "inputs_sha256",
}


def normalise(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in sorted(value.items()) if k not in IGNORED}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return value.replace(str(ROOT), "<root>")
    if isinstance(value, float):
        return round(value, 9)
    if hasattr(value, "as_tuple"):  # Decimal from numeric columns
        return float(value)
    return value


def _rows(db, sql: str) -> list[dict[str, Any]]:
    with db.cursor() as cur:
        cur.execute(sql)
        names = [d.name for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def snapshot(db, review) -> dict[str, Any]:
    report = Path(review.report_path).parent / "report.md"
    return normalise(
        {
            "cli_json": json.loads(json.dumps(review.to_json(), default=str)),
            "review_runs": _rows(db, "SELECT * FROM infra_review.review_runs"),
            "decisions": _rows(db, "SELECT * FROM infra_review.decisions"),
            "criterion_results": _rows(
                db,
                "SELECT * FROM infra_review.criterion_results ORDER BY subject, criterion_id",
            ),
            "provider_scorecards": _rows(
                db, "SELECT * FROM infra_review.provider_scorecards ORDER BY provider"
            ),
            "reporting.provider_scorecards": _rows(
                db, "SELECT * FROM reporting.provider_scorecards ORDER BY provider"
            ),
            "reporting.provider_monthly_costs": _rows(
                db,
                "SELECT * FROM reporting.provider_monthly_costs ORDER BY provider, month",
            ),
            "report_md": report.read_text(encoding="utf-8").splitlines(),
        }
    )


@pytest.mark.usefixtures("example_db")
def test_example_quarter_matches_golden_copy(db):
    from infra_review.provider.review import run_provider_review

    with clock.frozen(NOW):
        review = run_provider_review("2026Q3", run_key="golden", triggered_by="test")
    got = snapshot(db, review)
    if os.environ.get("INFRA_REVIEW_UPDATE_GOLDEN") == "1" or not GOLDEN.exists():
        GOLDEN.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    expected = normalise(json.loads(GOLDEN.read_text(encoding="utf-8")))
    for key in expected:
        assert got[key] == expected[key], key
    assert set(got) == set(expected)

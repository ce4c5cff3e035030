"""collect_metrics end to end with dag.test(): local host samples land once, even on rerun."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.dags.conftest import task_states

pytestmark = pytest.mark.dags


def _latest_five_minutes() -> datetime:
    now = datetime.now(UTC)
    return now.replace(second=0, microsecond=0) - timedelta(minutes=now.minute % 5)


def test_collect_metrics_loads_local_host_once(run_dag, db):
    logical = _latest_five_minutes()
    first = run_dag("collect_metrics", logical_date=logical)
    assert first.state == "success", task_states(first)
    second = run_dag("collect_metrics", logical_date=logical)
    assert second.state == "success", task_states(second)

    with db.cursor() as cur:
        cur.execute(
            """SELECT r.metric, count(*), min(s.ts), max(s.value)
               FROM infra_review.samples s JOIN infra_review.series r USING (series_id)
               GROUP BY r.metric ORDER BY r.metric"""
        )
        rows = cur.fetchall()
    assert [r[0] for r in rows] == ["cpu_used_pct", "ram_used_pct", "swap_io_pages_per_s"]
    for metric, count, ts, value in rows:
        assert count == 1, f"{metric} duplicated by the rerun"
        assert ts == first.data_interval_end, "a sample is stamped with its interval's end"
        assert value >= 0

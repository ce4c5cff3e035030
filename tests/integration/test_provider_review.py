"""The provider review against a real PostgreSQL: the example quarter end to end, reruns
supersede, a dry run writes nothing, a missing rate writes nothing, and measured uptime at
its boundary through the store."""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from infra_review.errors import InputError
from infra_review.imports import import_samples
from infra_review.provider.review import run_provider_review
from infra_review.quarter import Quarter
from tests.integration.provider_support import Q3, example_db, probe_files  # noqa: F401 (fixtures)

pytestmark = pytest.mark.integration
TABLES = ("review_runs", "decisions", "criterion_results", "provider_scorecards")


def _counts(db) -> dict[str, int]:
    out = {}
    with db.cursor() as cur:
        for table in TABLES:
            cur.execute(f"SELECT count(*) FROM infra_review.{table}")
            out[table] = cur.fetchone()[0]
    db.commit()
    return out


@pytest.mark.usefixtures("example_db")
def test_example_quarter_end_to_end(db):
    review = run_provider_review("2026Q3", run_key="t1", triggered_by="test")
    assert review.decision == "evaluate_migration"
    rec = review.evaluation.recommendation
    assert rec.chosen == "example-global-cloud"
    cards = {c.provider: c for c in review.evaluation.scorecards}
    # 1 of 3 scored financial criteria (fin.tco is its reference), 1 of 4 technical, 2 of 4
    # strategic: 0.4 x 1/3 + 0.4 x 1/4 + 0.2 x 2/4
    assert cards["example-kz-cloud"].weighted_total == pytest.approx(100 * (0.4 / 3 + 0.2))
    assert cards["example-global-cloud"].weighted_total == pytest.approx(100.0)
    assert cards["example-eu-cloud"].critical_failed == ["strat.jurisdiction"]
    with db.cursor() as cur:
        cur.execute(
            """SELECT subject, decision, status, summary_en, summary_ru
               FROM infra_review.decisions WHERE review_type = 'provider'"""
        )
        subject, decision, status, en, ru = cur.fetchone()
        assert (subject, decision, status) == ("example-kz-cloud", "evaluate_migration", "proposed")
        assert "example-global-cloud" in en and "Оценить миграцию" in ru
        cur.execute(
            """SELECT subject, criterion_id, outcome, observed, evidence
               FROM infra_review.criterion_results WHERE run_id = %s""",
            (review.run_id,),
        )
        results = {(s, c): (o, v, e) for s, c, o, v, e in cur.fetchall()}
        assert len(results) == 35  # 12 criteria x 3 providers, but the current one's fin.tco
        assert ("example-kz-cloud", "fin.tco") not in results  # it is the reference
        outcome, ratio, evidence = results[("example-global-cloud", "fin.tco")]
        # 12 x 155 USD x 516 + 600 EUR x 598 / 3 over 801 950 KZT invoiced in 12 months (800 750
        # before the backup price rise of August and September: 2 x 600)
        assert evidence["annual_current"] == 801_950
        assert evidence["annual_tco"] == pytest.approx(12 * 155 * 516 + 600 * 598 / 3)
        assert ratio == pytest.approx((12 * 155 * 516 + 600 * 598 / 3) / 801_950)
        assert outcome == "met"
        outcome, uptime, evidence = results[("example-kz-cloud", "tech.sla")]
        assert outcome == "met" and evidence["allowed_downtime_min"] == pytest.approx(662.4)
        assert evidence["probes_down"] == 40  # the sample quarter's 40 failed probes
        outcome, _, evidence = results[("example-global-cloud", "tech.sla")]
        assert outcome == "met" and evidence["probes_down"] == 25
        assert evidence["probes_expected"] - evidence["probes_received"] == 180  # gap, not downtime
        outcome, fees, evidence = results[("example-kz-cloud", "fin.hidden_fees")]
        assert outcome == "not_met" and fees == 3
        assert [
            (f["month"], f["line_item"], f["kind"], f["excess"]) for f in evidence["hidden_fees"]
        ] == [
            ("2026-08", "backup", "price_deviation", 600),
            ("2026-08", "ip-reservation-fee", "unlisted", 1500),
            ("2026-09", "backup", "price_deviation", 600),
        ]
        outcome, change, evidence = results[("example-kz-cloud", "fin.predictable")]
        assert outcome == "not_met" and change == pytest.approx(0.1)
        assert evidence["price_changes"][0]["item"] == "backup"
        cur.execute(
            """SELECT provider, role, recommended, weighted_total, passes_fin_tech
               FROM reporting.provider_scorecards ORDER BY provider"""
        )
        assert cur.fetchall() == [
            ("example-eu-cloud", "alternative", False, 45.0, False),
            ("example-global-cloud", "alternative", True, 100.0, True),
            ("example-kz-cloud", "current", False, pytest.approx(33.333333), False),
        ]
    report = Path(review.report_path)
    assert report.name == "report.html"
    markdown = (report.parent / "report.md").read_text(encoding="utf-8")
    assert "| `fin.tco`" in markdown and "example-eu-cloud (alternative)" in markdown
    chart = report.parent / "monthly-cost.png"
    assert chart.stat().st_size > 10_000
    page = report.read_text(encoding="utf-8")  # one file: the chart inside, both languages
    assert f'src="data:image/png;base64,{base64.b64encode(chart.read_bytes()).decode()}"' in page
    assert "<code>fin.tco</code>" in page and "RU:" in page


@pytest.mark.usefixtures("example_db")
def test_rerun_supersedes_and_keeps_history(db):
    first = run_provider_review("2026Q3", run_key="run-a")
    second = run_provider_review("2026Q3", ["example-eu-cloud"], run_key="run-b")
    assert second.decision == "stay"  # without the piloted alternative, nothing qualifies
    with db.cursor() as cur:
        cur.execute(
            """SELECT decision_id, run_id, decision, status, superseded_by
               FROM infra_review.decisions ORDER BY decision_id"""
        )
        (id1, r1, d1, s1, by1), (id2, r2, d2, s2, by2) = cur.fetchall()
        assert (r1, d1, s1, by1) == (first.run_id, "evaluate_migration", "superseded", id2)
        assert (r2, d2, s2, by2) == (second.run_id, "stay", "proposed", None)
        assert second.superseded == [id1]
        cur.execute("SELECT count(*) FROM infra_review.provider_scorecards")
        assert cur.fetchone()[0] == 5  # 3 from the first run are kept, 2 from the second
        cur.execute("SELECT provider FROM reporting.provider_scorecards ORDER BY provider")
        assert [r[0] for r in cur.fetchall()] == ["example-eu-cloud", "example-kz-cloud"]
    # a retry of the same run overwrites its own rows instead of superseding itself
    again = run_provider_review("2026Q3", ["example-eu-cloud"], run_key="run-b")
    assert again.run_id == second.run_id and again.superseded == []
    assert _counts(db)["decisions"] == 2


@pytest.mark.usefixtures("example_db")
def test_dry_run_writes_nothing(db, tmp_path):
    review = run_provider_review("2026Q3", dry_run=True, run_key="dry")
    assert review.decision == "evaluate_migration" and review.run_id is None
    assert review.report_path is None
    assert _counts(db) == dict.fromkeys(TABLES, 0)
    assert not (tmp_path / "data" / "reports").exists()


@pytest.mark.usefixtures("example_db")
def test_missing_rate_at_review_time_writes_nothing(db):
    with db.cursor() as cur:
        cur.execute(
            "DELETE FROM infra_review.exchange_rates WHERE currency = 'EUR' AND month = '2026-09-01'"
        )
    db.commit()
    with pytest.raises(InputError) as err:
        run_provider_review("2026Q3", run_key="no-eur")
    assert err.value.file.endswith("providers.yaml")
    assert err.value.field == "providers[1].migration_cost.currency"  # 600 EUR, priced in Sep
    assert err.value.line is not None and "EUR" in str(err.value)
    assert _counts(db) == dict.fromkeys(TABLES, 0)


PROVIDERS = """\
version: "test"
reporting_currency: KZT
current: below
providers:
  - id: below
    sla_pct: 99.9
    probes: [{server: probe-a, interval: 5m}]
  - id: above
    sla_pct: 99.9
    price_list: [{item: p, kind: plan, price: 1, currency: KZT}]
    fleet: {app-1: p, data-1: p}
    probes: [{server: probe-b, interval: 5m}]
"""


def _probe_csv(path: Path, server: str, down: int, missing: int) -> Path:
    """5-minute probes over 2026Q1 (90 days = 25 920 probes): ``missing`` never arrive."""
    q = Quarter(2026, 1)
    ts = pd.date_range(q.start, q.end, freq="5min", inclusive="left")
    value = np.ones(len(ts))
    value[1000 : 1000 + down] = 0
    keep = np.ones(len(ts), dtype=bool)
    keep[5000 : 5000 + missing] = False
    frame = pd.DataFrame(
        {"ts": ts[keep].strftime("%Y-%m-%dT%H:%M:%SZ"), "server": server, "metric": "probe_up"}
    )
    frame["value"] = value[keep]
    frame["label"] = "web"
    frame.to_csv(path, index=False)
    return path


def test_uptime_boundary_through_the_store(db_url, db, tmp_path):
    providers = tmp_path / "providers.yaml"
    providers.write_text(PROVIDERS, encoding="utf-8")
    # below: 132 of 25 920 down = 99.491%; above: 117 of 23 920 received down = 99.511%, with
    # 2 000 probes missing (a prober gap): counted as downtime it would be 91.8%
    import_samples(_probe_csv(tmp_path / "a.csv", "probe-a", down=132, missing=0))
    import_samples(_probe_csv(tmp_path / "b.csv", "probe-b", down=117, missing=2000))
    review = run_provider_review("2026Q1", dry_run=True, providers_path=providers)
    sla = {c.provider: c.results["tech.sla"] for c in review.evaluation.scorecards}
    assert sla["below"].observed == pytest.approx(99.49, abs=0.005)
    assert sla["below"].outcome.value == "not_met"
    assert sla["above"].observed == pytest.approx(99.51, abs=0.005)
    assert sla["above"].outcome.value == "met"
    assert sla["above"].evidence["coverage"] == pytest.approx(23_920 / 25_920)
    assert sla["below"].evidence["allowed_downtime_min"] == pytest.approx(648.0)
    assert sla["below"].evidence["downtime_min"] == pytest.approx(90 * 1440 * 132 / 25_920)


@pytest.mark.usefixtures("example_db")
def test_window_is_the_quarter_not_the_clock(db, tmp_path):
    """Probes after the quarter's end do not change its review."""
    late = pd.DataFrame(
        {
            "ts": [
                (Q3.end + timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:%SZ") for i in range(5)
            ],
            "server": "app-1",
            "metric": "probe_up",
            "value": 0.0,
            "label": "n8n:/webhook/health",
        }
    )
    before = run_provider_review("2026Q3", dry_run=True)
    late.to_csv(tmp_path / "late.csv", index=False)
    import_samples(tmp_path / "late.csv")
    after = run_provider_review("2026Q3", dry_run=True)
    sla = lambda r: r.evaluation.scorecards[0].results["tech.sla"].evidence["probes_down"]  # noqa: E731
    assert sla(before) == sla(after) == 40

"""The Grafana dashboard and its provisioning: every panel reads the provisioned bi_reader
data source, and every panel query (and variable query) runs as bi_reader against a migrated
database with a review in it, returning the rows the panel is meant to show."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pandas as pd
import psycopg2
import pytest
import yaml

from infra_review.criteria.result import CriterionResult, Outcome
from infra_review.reporting.catalog import sync
from infra_review.store.decisions import DecisionRecord, ReviewRun, record_review
from infra_review.store.samples import load_samples

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "infra-review-decisions.json"
DATASOURCES = GRAFANA / "provisioning" / "datasources" / "infra-review.yaml"
PROVIDERS = GRAFANA / "provisioning" / "dashboards" / "infra-review.yaml"
START, END = datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC)
# What the panels are evaluated with: Grafana's time range and the variables' values.
TIME_FROM, TIME_TO = "2025-11-01T00:00:00Z", "2026-12-01T00:00:00Z"
VARIABLES = {"quarter": ["2026Q3"], "server": ["app-1", "data-1"]}


def as_user(url: str, user: str) -> str:
    parts = urlsplit(url)
    netloc = f"{user}@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def load_dashboard() -> dict:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def load_datasources() -> list[dict]:
    return yaml.safe_load(DATASOURCES.read_text(encoding="utf-8"))["datasources"]


def reporting_uid() -> str:
    [ds] = [d for d in load_datasources() if d.get("user") == "bi_reader"]
    return ds["uid"]


def walk_panels(panels: list[dict]):
    for p in panels:
        yield p
        yield from walk_panels(p.get("panels", []))


def interpolate(sql: str, variables: dict, multi: set[str]) -> str:
    """Grafana's SQL interpolation for what the dashboard uses: the time macros, and template
    variables (a multi-value variable becomes a quoted, comma-separated list)."""
    sql = re.sub(r"\$__timeFilter\(([^)]+)\)", rf"\1 BETWEEN '{TIME_FROM}' AND '{TIME_TO}'", sql)
    sql = sql.replace("$__timeFrom()", f"'{TIME_FROM}'").replace("$__timeTo()", f"'{TIME_TO}'")
    assert "$__" not in sql, f"a macro this test does not expand: {sql}"

    def value(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        values = variables[name]
        return ",".join(f"'{v}'" for v in values) if name in multi else values[0]

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", value, sql)


def panel_queries() -> list[tuple[str, str, str]]:
    dashboard = load_dashboard()
    multi = {v["name"] for v in dashboard["templating"]["list"] if v.get("multi")}
    out = []
    for p in walk_panels(dashboard["panels"]):
        for t in p.get("targets", []):
            out.append((p["title"], t["refId"], interpolate(t["rawSql"], VARIABLES, multi)))
    for v in dashboard["templating"]["list"]:
        out.append((f"variable {v['name']}", "var", interpolate(v["query"], VARIABLES, multi)))
    return out


# --- static checks --------------------------------------------------------------------------


def test_provisioned_data_source_is_bi_reader_with_the_password_from_the_environment():
    sources = {d["uid"]: d for d in load_datasources()}
    pg = sources["infra-review-reporting"]
    assert pg["type"] == "grafana-postgresql-datasource" and pg["user"] == "bi_reader"
    assert pg["secureJsonData"]["password"] == "$BI_READER_PASSWORD"
    assert pg["url"].startswith("$") and pg["jsonData"]["database"].startswith("$")
    assert pg["editable"] is False
    # no literal secret anywhere in grafana/
    for path in GRAFANA.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            assert not re.search(r"(?i)password\s*[:=]\s*['\"]?(?!\$)\w", text), path


def test_dashboard_provider_points_at_the_mounted_folder():
    [provider] = yaml.safe_load(PROVIDERS.read_text(encoding="utf-8"))["providers"]
    assert provider["type"] == "file"
    path = provider["options"]["path"]
    compose = ROOT / "docker-compose.yaml"
    if compose.exists():  # the deployment's mounts must match (grafana/dashboards -> path)
        services = yaml.safe_load(compose.read_text(encoding="utf-8"))["services"]
        mounts = services["grafana"]["volumes"]
        assert f"./grafana/dashboards:{path}:ro" in mounts
        assert "./grafana/provisioning:/etc/grafana/provisioning:ro" in mounts
        env = services["grafana"]["environment"]
        for name in ("INFRA_REVIEW_DB_HOST", "INFRA_REVIEW_DB_NAME", "BI_READER_PASSWORD"):
            assert name in env, name


def test_every_panel_and_variable_uses_the_provisioned_data_source():
    uid = reporting_uid()
    dashboard = load_dashboard()
    assert dashboard["uid"] == "infra-review-decisions" and dashboard["editable"] is False
    titles = [p["title"] for p in walk_panels(dashboard["panels"])]
    assert len(titles) == len(set(titles))
    for p in walk_panels(dashboard["panels"]):
        assert p["datasource"]["uid"] == uid, p["title"]
        assert p["targets"], p["title"]
        for t in p["targets"]:
            assert t["datasource"]["uid"] == uid and t["rawQuery"] and t["rawSql"].strip()
    for v in dashboard["templating"]["list"]:
        assert v["datasource"]["uid"] == uid
    wanted = ("decisions per server", "criteria met over time", "per week", "cost per month")
    for phrase in wanted:
        assert any(phrase in t.lower() for t in titles), phrase
    ids = [p["id"] for p in walk_panels(dashboard["panels"])]
    assert len(ids) == len(set(ids))


# --- every query runs as bi_reader ----------------------------------------------------------


def _result(criterion: str, subject: str, met: bool, observed: float, threshold: float):
    evidence = {"metric": "ram_used_pct", "samples": 100, "coverage": 1.0}
    outcome = Outcome.MET if met else Outcome.NOT_MET
    return CriterionResult(criterion, subject, outcome, observed, threshold, START, END, evidence)


@pytest.fixture
def seeded(db, db_url):
    """A capacity review (app-1 upgrade_ram), a week of samples, a provider scorecard and a
    quality result: enough for every panel to have rows."""
    sync(db)
    run = ReviewRun(
        review_type="capacity",
        quarter="2026Q3",
        window_start=START,
        window_end=END,
        run_key="g1",
        criteria_version="t",
        criteria_sha256="t",
        dag_id="capacity_review",
        dag_run_id="manual__g1",
    )
    app1 = DecisionRecord(
        "server",
        "app-1",
        "upgrade_ram",
        "app-1: upgrade RAM",
        "app-1: увеличить RAM",
        results=[_result("ram.sustained", "app-1", True, 30, 24)],
    )
    data1 = DecisionRecord(
        "server",
        "data-1",
        "no_action",
        "data-1: no action",
        "data-1: действий не требуется",
        results=[_result("ram.sustained", "data-1", False, 0, 24)],
    )
    record_review(db, run, [app1, data1])
    provider = ReviewRun(
        review_type="provider",
        quarter="2026Q3",
        window_start=START,
        window_end=END,
        run_key="p1",
        criteria_version="t",
        criteria_sha256="t",
    )
    recorded = record_review(db, provider, [DecisionRecord("provider", "hoster", "stay", "s", "s")])
    ts = pd.date_range("2026-08-03", periods=7 * 1440, freq="60s", tz="UTC")
    frames = []
    for server in ("app-1", "data-1"):
        for metric, value in (("ram_used_pct", 70.0), ("cpu_used_pct", 30.0)):
            frames.append(pd.DataFrame({"ts": ts, "server": server, "metric": metric, "label": "", "value": value}))  # fmt: skip
        frames.append(pd.DataFrame({"ts": ts, "server": server, "metric": "api_latency_s", "label": "api:/health", "value": 0.2}))  # fmt: skip
    load_samples(db, pd.concat(frames), batch_key="g", source="test")
    with db.cursor() as cur:
        cur.execute(
            """INSERT INTO infra_review.provider_scorecards
                   (run_id, provider, role, quarter, outcomes, financial_score, technical_score,
                    strategic_score, weighted_total, weights, met_count, not_met_count,
                    insufficient_count, passes_fin_tech, currency, monthly_costs, recommended)
               VALUES (%s, 'hoster', 'current', '2026Q3', '{}', 1, 1, 1, 100, '{}', 12, 0, 0,
                       true, 'EUR', '{"2026-07": 120, "2026-08": 125}', true)""",
            (recorded.run_id,),
        )
        cur.execute(
            """INSERT INTO infra_review.quality_results (batch_key, suite, success, statistics)
               VALUES ('g', 'samples.batch', true, '{"success_percent": 100}')"""
        )
    db.commit()
    conn = psycopg2.connect(as_user(db_url, "bi_reader"))
    yield conn
    conn.close()


@pytest.mark.integration
def test_every_panel_query_runs_as_bi_reader_and_returns_rows(seeded):
    results: dict[tuple[str, str], list[dict]] = {}
    for title, ref, sql in panel_queries():
        with seeded.cursor() as cur:
            cur.execute(sql)
            names = [c.name for c in cur.description]
            results[(title, ref)] = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        seeded.rollback()
        assert results[(title, ref)], f"{title} [{ref}] returned no rows:\n{sql}"
    by_title = {t: rows for (t, _), rows in results.items()}
    decisions = by_title["Current capacity decisions per server ($quarter)"]
    assert [(r["server"], r["decision"]) for r in decisions] == [
        ("app-1", "upgrade_ram"),
        ("data-1", "no_action"),
    ]
    assert decisions[0]["criteria_met"] == "ram.sustained"
    met = {r["server"]: r["criteria_met"] for r in by_title["Capacity criteria met over time"]}
    assert met == {"app-1": 1, "data-1": 0}
    ram = results[("RAM used % per week (p50, p95, max)", "A")]
    assert {r["metric"] for r in ram} == {f"{s} {k}" for s in ("app-1", "data-1") for k in ("p50", "p95", "max")}  # fmt: skip
    assert all(r["value"] == pytest.approx(70.0) for r in ram)
    threshold = results[("RAM used % per week (p50, p95, max)", "B")]
    assert {r["value"] for r in threshold} == {85.0} and len(threshold) == 2
    assert {r["value"] for r in results[("CPU used % per week (p50, p95, max)", "B")]} == {90.0}
    costs = by_title["Provider cost per month"]
    assert [(r["metric"], float(r["value"])) for r in costs] == [
        ("hoster (EUR)", 120.0),
        ("hoster (EUR)", 125.0),
    ]
    coverage = by_title["Sample coverage per week (RAM and CPU)"]
    assert {round(r["value"], 6) for r in coverage} == {100.0}
    assert [r["quarter"] for r in by_title["variable quarter"]] == ["2026Q3"]
    assert [r["subject"] for r in by_title["variable server"]] == ["app-1", "data-1"]


def test_interpolation_quotes_multi_values_and_expands_the_time_filter():
    sql = interpolate(
        "SELECT 1 WHERE s IN ($server) AND q = '$quarter' AND $__timeFilter(t)",
        VARIABLES,
        {"server"},
    )
    assert sql == (
        "SELECT 1 WHERE s IN ('app-1','data-1') AND q = '2026Q3' AND "
        f"t BETWEEN '{TIME_FROM}' AND '{TIME_TO}'"
    )

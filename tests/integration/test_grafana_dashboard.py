"""The Grafana dashboard and its provisioning: every panel reads the provisioned bi_reader
data source, and every panel query (and variable query) runs as bi_reader against a migrated
database with a review in it, returning the rows the panel is meant to show."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pandas as pd
import psycopg2
import pytest
import yaml
from dateutil.relativedelta import relativedelta

from infra_review.criteria.result import CriterionResult, Outcome
from infra_review.quarter import Quarter
from infra_review.reporting.catalog import sync
from infra_review.store.decisions import DecisionRecord, ReviewRun, record_review
from infra_review.store.samples import load_samples

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "infra-review-decisions.json"
DATASOURCES = GRAFANA / "provisioning" / "datasources" / "infra-review.yaml"
PROVIDERS = GRAFANA / "provisioning" / "dashboards" / "infra-review.yaml"
# The panels are evaluated over the dashboard's own default range (now-2y .. now), where "now"
# is the database's clock: the one that stamps quality_results.validated_at. Every seeded row
# is placed relative to that same instant, so the test means the same thing on any date.
DASHBOARD_RANGE = relativedelta(years=2)
SERVERS = ["app-1", "data-1"]


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


def interpolate(sql: str, variables: dict, multi: set[str], window: tuple[str, str]) -> str:
    """Grafana's SQL interpolation for what the dashboard uses: the time macros over
    ``window`` (ISO instants), and template variables (a multi-value variable becomes a
    quoted, comma-separated list)."""
    time_from, time_to = window
    sql = re.sub(r"\$__timeFilter\(([^)]+)\)", rf"\1 BETWEEN '{time_from}' AND '{time_to}'", sql)
    sql = sql.replace("$__timeFrom()", f"'{time_from}'").replace("$__timeTo()", f"'{time_to}'")
    assert "$__" not in sql, f"a macro this test does not expand: {sql}"

    def value(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        values = variables[name]
        return ",".join(f"'{v}'" for v in values) if name in multi else values[0]

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", value, sql)


def default_window(now: datetime) -> tuple[str, str]:
    """The dashboard's default time range (``now-2y`` to ``now``) at ``now``."""
    assert load_dashboard()["time"] == {"from": "now-2y", "to": "now"}
    return ((now - DASHBOARD_RANGE).isoformat(), now.isoformat())


def panel_queries(variables: dict, window: tuple[str, str]) -> list[tuple[str, str, str]]:
    dashboard = load_dashboard()
    multi = {v["name"] for v in dashboard["templating"]["list"] if v.get("multi")}
    out = []
    for p in walk_panels(dashboard["panels"]):
        for t in p.get("targets", []):
            out.append((p["title"], t["refId"], interpolate(t["rawSql"], variables, multi, window)))
    for v in dashboard["templating"]["list"]:
        sql = interpolate(v["query"], variables, multi, window)
        out.append((f"variable {v['name']}", "var", sql))
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


def _result(quarter: Quarter, criterion: str, subject: str, met: bool, observed, threshold):
    evidence = {"metric": "ram_used_pct", "samples": 100, "coverage": 1.0}
    outcome = Outcome.MET if met else Outcome.NOT_MET
    start, end = quarter.start, quarter.end
    return CriterionResult(criterion, subject, outcome, observed, threshold, start, end, evidence)


def db_now(conn) -> datetime:
    """The database's clock: what stamps ``validated_at`` (and what Grafana's "now" meets)."""
    with conn.cursor() as cur:
        cur.execute("SELECT now()")
        (now,) = cur.fetchone()
    conn.rollback()
    return now.astimezone(UTC)


@pytest.fixture
def seeded(db, db_url):
    """A capacity review (app-1 upgrade_ram) of the last full quarter before the database's
    "now", a week of samples and two months of costs in that quarter, a provider scorecard
    and a quality result stamped by the database: enough for every panel to have rows over
    the dashboard's default range, on whatever date the test runs."""
    quarter = Quarter.last_full_before(db_now(db))
    sync(db)
    run = ReviewRun(
        review_type="capacity",
        quarter=str(quarter),
        window_start=quarter.start,
        window_end=quarter.end,
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
        results=[_result(quarter, "ram.sustained", "app-1", True, 30, 24)],
    )
    data1 = DecisionRecord(
        "server",
        "data-1",
        "no_action",
        "data-1: no action",
        "data-1: действий не требуется",
        results=[_result(quarter, "ram.sustained", "data-1", False, 0, 24)],
    )
    record_review(db, run, [app1, data1])
    provider = ReviewRun(
        review_type="provider",
        quarter=str(quarter),
        window_start=quarter.start,
        window_end=quarter.end,
        run_key="p1",
        criteria_version="t",
        criteria_sha256="t",
    )
    recorded = record_review(db, provider, [DecisionRecord("provider", "hoster", "stay", "s", "s")])
    monday = quarter.start + timedelta(days=(7 - quarter.start.weekday()) % 7 + 7)
    ts = pd.date_range(monday, periods=7 * 1440, freq="60s")
    frames = []
    for server in SERVERS:
        for metric, value in (("ram_used_pct", 70.0), ("cpu_used_pct", 30.0)):
            frames.append(pd.DataFrame({"ts": ts, "server": server, "metric": metric, "label": "", "value": value}))  # fmt: skip
        frames.append(pd.DataFrame({"ts": ts, "server": server, "metric": "api_latency_s", "label": "api:/health", "value": 0.2}))  # fmt: skip
    load_samples(db, pd.concat(frames), batch_key="g", source="test")
    with db.cursor() as cur:
        first, second = quarter.start, quarter.start + timedelta(days=31)
        costs = json.dumps({f"{first:%Y-%m}": 120, f"{second:%Y-%m}": 125})
        cur.execute(
            """INSERT INTO infra_review.provider_scorecards
                   (run_id, provider, role, quarter, outcomes, financial_score, technical_score,
                    strategic_score, weighted_total, weights, met_count, not_met_count,
                    insufficient_count, passes_fin_tech, currency, monthly_costs, recommended)
               VALUES (%s, 'hoster', 'current', %s, '{}', 1, 1, 1, 100, '{}', 12, 0, 0,
                       true, 'EUR', %s, true)""",
            (recorded.run_id, str(quarter), costs),
        )
        cur.execute(
            """INSERT INTO infra_review.quality_results (batch_key, suite, success, statistics)
               VALUES ('g', 'samples.batch', true, '{"success_percent": 100}')"""
        )
    db.commit()
    conn = psycopg2.connect(as_user(db_url, "bi_reader"))
    yield conn, quarter
    conn.close()


@pytest.mark.integration
def test_every_panel_query_runs_as_bi_reader_and_returns_rows(seeded):
    conn, quarter = seeded
    variables = {"quarter": [str(quarter)], "server": SERVERS}
    results: dict[tuple[str, str], list[dict]] = {}
    for title, ref, sql in panel_queries(variables, default_window(db_now(conn))):
        with conn.cursor() as cur:
            cur.execute(sql)
            names = [c.name for c in cur.description]
            results[(title, ref)] = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        conn.rollback()
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
    assert [r["quarter"] for r in by_title["variable quarter"]] == [str(quarter)]
    assert [r["subject"] for r in by_title["variable server"]] == ["app-1", "data-1"]


def test_interpolation_quotes_multi_values_and_expands_the_time_filter():
    now = datetime(2027, 1, 1, 0, 5, tzinfo=UTC)
    window = default_window(now)
    assert window == ("2025-01-01T00:05:00+00:00", "2027-01-01T00:05:00+00:00")
    sql = interpolate(
        "SELECT 1 WHERE s IN ($server) AND q = '$quarter' AND $__timeFilter(t)",
        {"quarter": ["2026Q4"], "server": SERVERS},
        {"server"},
        window,
    )
    assert sql == (
        "SELECT 1 WHERE s IN ('app-1','data-1') AND q = '2026Q4' AND "
        f"t BETWEEN '{window[0]}' AND '{window[1]}'"
    )

"""Every DAG imports cleanly, follows the house rules, and parses without heavy imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"
HEAVY = ("pandas", "great_expectations", "psycopg2", "numpy", "matplotlib")
# the stdlib-only modules of the package a DAG file may import at parse time
PARSE_TIME_OK = {
    "infra_review",
    "infra_review.clock",
    "infra_review.errors",
    "infra_review.quarter",
}

pytestmark = pytest.mark.dags


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert "collect_metrics" in dagbag.dag_ids


def test_every_dag_has_tags_owner_retries_and_docs(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, f"{dag_id} has no tags"
        assert dag.doc_md, f"{dag_id} has no doc_md"
        assert dag.catchup is False, f"{dag_id} must say catchup=False"
        for t in dag.tasks:
            assert t.retries >= 1, f"{dag_id}.{t.task_id} has no retries"
            assert t.owner and t.owner != "airflow", f"{dag_id}.{t.task_id} has no owner"


@pytest.mark.parametrize("dag_file", sorted(p.name for p in DAGS.glob("*.py")))
def test_dag_file_imports_nothing_heavy_at_parse_time(dag_file):
    code = (
        "import runpy, sys, json; "
        f"sys.path.append({str(DAGS)!r}); "  # as the DAG processor does for a bundle
        f"runpy.run_path({str(DAGS / dag_file)!r}); "
        f"print(json.dumps([m for m in sys.modules if m.split('.')[0] in {HEAVY!r} "
        f"or m.startswith('infra_review') and m not in {sorted(PARSE_TIME_OK)!r}]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out.strip().splitlines()[-1]) == []


def test_the_shared_review_module_is_not_parsed_as_a_dag_file(dagbag):
    parsed = {Path(dag.fileloc).name for dag in dagbag.dags.values()}
    assert "quarterly_review.py" not in parsed
    assert {"capacity_review.py", "provider_review.py"} <= parsed


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2026-11-26T01:00:00+00:00", "2026Q3"),
        ("2026-10-01T00:00:00+00:00", "2026Q3"),  # first instant of Q4: Q3 has just ended
        ("2026-09-30T23:59:59+00:00", "2026Q2"),  # last second of Q3: it has not
        ("2027-01-01T00:00:00+00:00", "2026Q4"),  # across the year
        ("2026-03-31T23:00:00-02:00", "2026Q1"),  # 1 April 01:00 UTC: UTC decides
    ],
)
def test_the_quarter_default_is_the_last_full_quarter_in_utc(now, expected):
    from datetime import datetime

    from quarterly_review import quarter_choices, quarter_param

    choices = quarter_choices(datetime.fromisoformat(now))
    assert choices[0] == expected and len(choices) == 8
    param = quarter_param(datetime.fromisoformat(now))
    assert param.value == expected
    assert param.schema["enum"] == [*choices, None]
    assert set(param.schema["values_display"]) == set(choices)


def test_trigger_forms_default_to_the_last_full_quarter_and_offer_the_config():
    import yaml
    from quarterly_review import quarter_choices

    from tests.dags.conftest import load_dagbag

    dagbag = load_dagbag()  # a fresh parse: dag.test() in other tests writes into params

    config = DAGS.parent / "include" / "config"
    fleet = yaml.safe_load((config / "fleet.yaml").read_text(encoding="utf-8"))
    providers = yaml.safe_load((config / "providers.yaml").read_text(encoding="utf-8"))
    capacity = dagbag.dags["capacity_review"].params
    provider = dagbag.dags["provider_review"].params
    for params in (capacity, provider):
        assert params.get_param("quarter").value == quarter_choices()[0]
        assert params.get_param("dry_run").value is False
    servers = capacity.get_param("servers")
    assert servers.value is None and servers.schema["type"] == ["null", "array"]
    assert servers.schema["examples"] == [s["name"] for s in fleet["servers"]]
    alternatives = provider.get_param("providers").schema["examples"]
    assert alternatives == [
        p["id"] for p in providers["providers"] if p["id"] != providers["current"]
    ]

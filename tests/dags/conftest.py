"""The DAG test harness: a migrated Airflow metadata DB (SQLite in a per-run AIRFLOW_HOME)
and a helper that runs ``dag.test()`` the way Airflow 3.3 needs it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "dags"


@pytest.fixture(scope="session")
def airflow_db() -> str:
    """Run ``airflow db migrate`` once per test session against the throwaway home."""
    airflow = Path(sys.executable).with_name("airflow")
    result = subprocess.run(
        [str(airflow), "db", "migrate"], capture_output=True, text=True, env=os.environ.copy()
    )
    if result.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{result.stdout}\n{result.stderr}")
    return os.environ["AIRFLOW_HOME"]


def load_dagbag():
    """The bag the DAG processor builds: a BundleDagBag puts the folder on ``sys.path``, so
    DAG files import their shared module (``quarterly_review``) as they do in production."""
    from airflow.dag_processing.dagbag import BundleDagBag

    return BundleDagBag(dag_folder=str(DAGS), bundle_path=DAGS)


@pytest.fixture(scope="session")
def dagbag():
    return load_dagbag()


@pytest.fixture(scope="session")
def run_dag(airflow_db, dagbag) -> Callable:
    """``run_dag(dag_id, **dag_test_kwargs)`` -> the finished DagRun.

    Serialises the bag to the metadata DB first (3.1+ needs it for dag.test()).
    Remember: dag.test() does not raise when a task fails; assert on ``dag_run.state``.
    """
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import sync_bag_to_db

    DagBundlesManager().sync_bundles_to_db()
    sync_bag_to_db(dagbag, "dags-folder", None)

    def run(dag_id: str, **kwargs):
        dag = dagbag.get_dag(dag_id)
        assert dag is not None, f"no DAG {dag_id!r}; import errors: {dagbag.import_errors}"
        return dag.test(**kwargs)

    return run


def task_states(dag_run) -> dict[str, str]:
    """task_id (with map index) -> final state, for assertions with useful messages."""
    return {
        (ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"): str(ti.state)
        for ti in dag_run.get_task_instances()
    }

"""DAG parse time against a DAG file that imports only airflow.sdk (the floor).

Each file is parsed in a fresh interpreter (`python FILE`), best of 3, so the ratio shows
what the project's DAG files add on top of Airflow's own import. Target: at most 1.5x.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = """
from datetime import datetime
from airflow.sdk import dag, task

@dag(schedule=None, start_date=datetime(2026, 1, 1), catchup=False, tags=["bench"])
def baseline():
    @task
    def hello() -> int:
        return 1

    hello()

baseline()
"""


def parse_seconds(path: Path, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run([sys.executable, str(path)], check=True, capture_output=True)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        baseline_file = Path(tmp) / "baseline_dag.py"
        baseline_file.write_text(BASELINE)
        floor = parse_seconds(baseline_file)
    print(f"baseline (airflow.sdk only): {floor:.2f} s")
    worst = 0.0
    # modules the DAG files import (quarterly_review.py) are timed inside the DAGs using them
    ignored = (ROOT / "dags" / ".airflowignore").read_text(encoding="utf-8").split()
    for dag_file in sorted(p for p in (ROOT / "dags").glob("*.py") if p.name not in ignored):
        seconds = parse_seconds(dag_file)
        ratio = seconds / floor
        worst = max(worst, ratio)
        print(f"{dag_file.name:<28} {seconds:.2f} s  ratio {ratio:.2f}x")
    print(f"worst ratio {worst:.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    main()

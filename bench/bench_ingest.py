"""Sample ingest rate: `infra-review import samples` against `psql \\copy` of the same file.

The baseline copies the CSV into a bare unlogged table with no validation, no keys and no
merge: the floor for getting these bytes into PostgreSQL. The import validates every row
(contract, ranges, duplicates), resolves series ids, COPYs in binary into staging and
merges on (series, ts). Both run in the same process against the same server.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "include"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import scratch_database  # noqa: E402


def main(rows_target: int = 1_000_000) -> None:
    import psycopg2

    from infra_review.demo.sample_quarter import generate_frames
    from infra_review.imports import import_samples

    if not shutil.which("psql"):
        print("psql not found: install postgresql-client to run this benchmark")
        return
    frame = generate_frames()["samples"].head(rows_target).copy()
    frame["ts"] = frame["ts"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    with tempfile.TemporaryDirectory() as tmp, scratch_database() as url:
        path = Path(tmp) / "samples.csv"
        frame[["ts", "server", "metric", "value", "label"]].to_csv(path, index=False)
        rows = len(frame)
        with psycopg2.connect(url) as conn, conn.cursor() as cur:
            cur.execute(
                "CREATE UNLOGGED TABLE bench_raw (ts text, server text, metric text,"
                " value text, label text)"
            )
        started = time.perf_counter()
        subprocess.run(
            ["psql", url, "-q", "-c", f"\\copy bench_raw FROM '{path}' WITH (FORMAT csv, HEADER)"],
            check=True,
            env=os.environ.copy(),
        )
        baseline = time.perf_counter() - started
        started = time.perf_counter()
        stats = import_samples(path, url)
        first = time.perf_counter() - started
        started = time.perf_counter()
        import_samples(path, url)
        again = time.perf_counter() - started
    assert stats.rows_written == rows
    print(f"rows: {rows}")
    print(f"psql \\copy (no validation, no keys): {baseline:.2f} s  {rows / baseline:,.0f} rows/s")
    print(
        f"infra-review import (first load):    {first:.2f} s  {rows / first:,.0f} rows/s"
        f"  ratio {first / baseline:.2f}x"
    )
    print(f"infra-review import (same file again): {again:.2f} s  ratio {again / baseline:.2f}x")


if __name__ == "__main__":
    main()

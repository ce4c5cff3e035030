"""Sample ingest: `infra-review import samples` against `psql \\copy` of the same file, with the
importer's peak memory, on files of 1, 5 and 20 million rows (issue 15 item 6).

The baseline copies the CSV into a bare unlogged table with no validation, no keys and no
merge: the floor for getting these bytes into PostgreSQL. The import validates every row
(contract, ranges, duplicates), stages it chunk by chunk, registers series and merges on
(series, ts) in one transaction. Both run in the same process tree against the same server.
The import runs in a child process so its peak RSS (VmHWM) is its own; the target is a
flat peak under 300 MB whatever the file size.

    python bench/bench_ingest.py                 # 1M and 5M rows
    python bench/bench_ingest.py 1000000 5000000 20000000
"""

from __future__ import annotations

import json
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

SERIES = 100  # app-1 api_latency_s with 100 endpoint labels: 100 series at a 1-minute cadence
CHILD = """
import json, sys, time
from infra_review.imports import import_samples
started = time.perf_counter()
stats = import_samples(sys.argv[1], sys.argv[2], force=sys.argv[3] == "force")
print(json.dumps({
    "seconds": time.perf_counter() - started,
    "rows_in": stats.rows_in,
    "rows_written": stats.rows_written,
    "skipped": stats.already_loaded_at is not None,
    # VmHWM: this process's own peak (ru_maxrss would inherit the parent's at fork)
    "peak_rss_mb": int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM"))
                       .split()[1]) / 1024,
}))
"""


def write_samples(path: Path, rows: int) -> None:
    """``rows`` samples ordered by time then series, ending a day before now, in chunks."""
    import numpy as np

    from infra_review import clock

    minutes = -(-rows // SERIES)
    end = np.datetime64(clock.now().replace(tzinfo=None), "m") - np.timedelta64(1, "D")
    start = end - np.timedelta64(minutes, "m")
    labels = np.array([f"/e/{i}" for i in range(SERIES)])
    rng = np.random.default_rng(7)
    with path.open("w") as out:
        out.write("ts,server,metric,value,label\n")
        done = 0
        step = 10_000  # minutes per block: 1M rows
        for first in range(0, minutes, step):
            count = min(step, minutes - first)
            stamps = np.datetime_as_string(start + np.arange(first, first + count), unit="s")
            ts = np.repeat(np.char.add(stamps, "Z"), SERIES)
            lab = np.tile(labels, count)
            value = np.char.mod("%.3f", rng.random(count * SERIES) * 2)
            keep = min(len(ts), rows - done)
            lines = np.char.add(np.char.add(ts[:keep], ",app-1,api_latency_s,"), value[:keep])
            lines = np.char.add(np.char.add(lines, ","), lab[:keep])
            out.write("\n".join(lines.tolist()) + "\n")
            done += keep


def import_child(path: Path, url: str, force: bool = False) -> dict:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "include")}
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), url, "force" if force else "once"],
        capture_output=True,
        text=True,
        env=env,
    )
    if result.returncode != 0:
        raise RuntimeError(f"import failed: {result.stderr.strip()[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def measure(rows: int) -> None:
    import psycopg2

    with tempfile.TemporaryDirectory() as tmp, scratch_database() as url:
        path = Path(tmp) / "samples.csv"
        started = time.perf_counter()
        write_samples(path, rows)
        size_mb = path.stat().st_size / 1e6
        print(
            f"rows: {rows:,}  file: {size_mb:,.0f} MB  (written in {time.perf_counter() - started:.0f} s)"
        )
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
        with psycopg2.connect(url) as conn, conn.cursor() as cur:
            cur.execute("DROP TABLE bench_raw")
        first = import_child(path, url)
        again = import_child(path, url)
        assert first["rows_written"] == rows, first
        assert again["skipped"], again
    print(
        f"  psql \\copy (no validation, no keys): {baseline:7.1f} s  {rows / baseline:>10,.0f} rows/s"
    )
    print(
        f"  infra-review import (first load):    {first['seconds']:7.1f} s  "
        f"{rows / first['seconds']:>10,.0f} rows/s  ratio {first['seconds'] / baseline:.2f}x  "
        f"peak RSS {first['peak_rss_mb']:.0f} MB"
    )
    print(
        f"  same file again (already imported):  {again['seconds']:7.2f} s  "
        f"peak RSS {again['peak_rss_mb']:.0f} MB"
    )


def main(sizes: list[int]) -> None:
    if not shutil.which("psql"):
        print("psql not found: install postgresql-client to run this benchmark")
        return
    for rows in sizes:
        measure(rows)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1_000_000, 5_000_000])

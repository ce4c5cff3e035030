"""The quality gate's cost: Great Expectations against the same checks in plain pandas, on
the same 1,000,000 rows, measured in this run (best of 3 each, the same machine load).

Both engines run the declarations in infra_review.quality.checks through the same gate
(frame preparation and quarantine assembly are shared and counted in both), and must
quarantine the same rows. GX's one-off costs per task (import, context) are printed apart.

    .venv/bin/python bench/bench_quality_gate.py [rows]
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "include"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from common import best_of  # noqa: E402

METRICS = ("ram_used_pct", "cpu_used_pct", "swap_io_pages_per_s", "api_latency_s", "probe_up")


def make_rows(rows: int, seed: int = 1) -> tuple[pd.DataFrame, datetime, datetime]:
    """``rows`` one-minute samples over five series, 0.1% of them bad in the ways the gate
    catches (NaN, out of range, negative, duplicate)."""
    rng = np.random.default_rng(seed)
    per_series = rows // len(METRICS)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ts = pd.date_range(start, periods=per_series, freq="60s", tz="UTC")
    frames = []
    for metric in METRICS:
        if metric == "probe_up":
            values = (rng.random(per_series) > 0.01).astype(float)
        elif metric.endswith("_pct"):
            values = rng.uniform(0, 100, per_series)
        else:
            values = rng.gamma(2.0, 0.2, per_series)
        frames.append(
            pd.DataFrame(
                {"ts": ts, "server": "app-1", "metric": metric, "label": "", "value": values}
            )
        )
    frame = pd.concat(frames, ignore_index=True)
    bad = rng.choice(len(frame), len(frame) // 1000, replace=False)
    frame.loc[bad[0::3], "value"] = np.nan
    frame.loc[bad[1::3], "value"] = 130.0
    frame.loc[bad[2::3], "value"] = -1.0
    return frame, start, start + timedelta(minutes=per_series)


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    frame, start, end = make_rows(rows)
    kwargs = {"batch_key": "bench", "start": start, "end": end, "cadence_s": 60, "now": end}

    from infra_review.quality.gate import QualityGate

    started = time.perf_counter()
    import great_expectations  # noqa: F401

    gx_import = time.perf_counter() - started
    gx_gate = QualityGate(engine="gx", docs_dir=False)
    started = time.perf_counter()
    _ = gx_gate.engine.context
    gx_context = time.perf_counter() - started
    pandas_gate = QualityGate(engine="pandas")

    results = {}

    def run(name, gate):
        def go():
            results[name] = gate.validate(frame, **kwargs)

        return go

    gx_s = best_of(run("gx", gx_gate))
    pandas_s = best_of(run("pandas", pandas_gate))
    key = ["metric", "ts", "expectation"]
    same = (
        results["gx"]
        .quarantine.sort_values(key)
        .reset_index(drop=True)
        .equals(results["pandas"].quarantine.sort_values(key).reset_index(drop=True))
    )
    with tempfile.TemporaryDirectory() as docs:
        docs_gate = QualityGate(engine="gx", docs_dir=Path(docs))
        docs_gate.validate(frame.head(1000), **kwargs)  # suites built, so only rendering is timed
        docs_s = best_of(lambda: docs_gate.validate(frame.head(1000), **kwargs), repeat=2)

    quarantined = len(results["gx"].quarantine)
    print(
        f"rows: {len(frame):,} in {len(METRICS)} series, {quarantined:,} quarantined by both engines: {same}"
    )
    print(f"quality gate, Great Expectations 1.x: {gx_s:.2f} s (best of 3)")
    print(f"same checks in plain pandas:          {pandas_s:.2f} s (best of 3)")
    print(f"ratio GX / pandas: {gx_s / pandas_s:.1f}x")
    print(
        f"once per task, not in the ratio: import great_expectations {gx_import:.1f} s, "
        f"context {gx_context:.2f} s; Data Docs for a 1,000-row batch {docs_s:.2f} s"
    )
    if not same:
        raise SystemExit("the engines disagree: the gate is wrong")


if __name__ == "__main__":
    main()

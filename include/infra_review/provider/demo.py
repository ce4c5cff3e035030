"""Demo data for the provider review: the shipped example CSVs and a generated pilot probe series.

The pilot server ``pilot-gc-1`` (example-global-cloud, piloted since July) is probed every
minute; it is generated, not shipped, because a quarter of probes is 130 000 rows. Seeded,
so every run writes the same samples and the import is idempotent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from infra_review.quarter import Quarter
from infra_review.settings import config_dir

PILOT_SERVER = "pilot-gc-1"
PILOT_ENDPOINT = "pilot:/healthz"
SEED = 2026


def examples_dir() -> Path:
    return config_dir() / "examples"


def pilot_probe_frame(quarter: Quarter, seed: int = SEED) -> pd.DataFrame:
    """1-minute probe_up of the pilot: two short outages (25 min in total) and a 3-hour
    prober gap, which is missing data, not downtime."""
    rng = np.random.default_rng(seed)
    ts = pd.date_range(quarter.start, quarter.end, freq="1min", inclusive="left")
    up = np.ones(len(ts))
    for start, minutes in zip(rng.choice(len(ts) - 60, 2, replace=False), (10, 15), strict=True):
        up[start : start + minutes] = 0
    keep = np.ones(len(ts), dtype=bool)
    gap = len(ts) // 2
    keep[gap : gap + 180] = False
    return pd.DataFrame(
        {
            "ts": ts[keep],
            "server": PILOT_SERVER,
            "metric": "probe_up",
            "value": up[keep],
            "label": PILOT_ENDPOINT,
        }
    )


def write_pilot_probes(out_dir: Path, quarter: Quarter) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    frame = pilot_probe_frame(quarter)
    frame["ts"] = frame["ts"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    path = out_dir / f"pilot-probes-{quarter}.csv"
    frame[["ts", "server", "metric", "value", "label"]].to_csv(path, index=False)
    return path


def demo_step(ctx: dict) -> None:
    """`make demo`: import the example provider data, review the quarter, print the scorecard."""
    from infra_review.imports import import_samples
    from infra_review.provider.loads import import_invoices, import_rates, import_tickets
    from infra_review.provider.review import run_provider_review
    from infra_review.provider.text import format_review

    quarter: Quarter = ctx["quarter"]
    examples = examples_dir()
    for label, func, name in (
        ("rates", import_rates, "example-rates.csv"),
        ("invoices", import_invoices, "example-invoices.csv"),
        ("tickets", import_tickets, "example-tickets.csv"),
    ):
        result = func(examples / name)
        print(f"   {name}: {result.rows_in} {label} read, {result.rows_written} new or changed")
    probes = write_pilot_probes(ctx["data_dir"] / "sample-quarter", quarter)
    stats = import_samples(probes)
    print(
        f"   {probes.name}: {stats.rows_in} pilot probes read, {stats.rows_written} new or changed"
    )
    review = run_provider_review(quarter, triggered_by="demo", run_key=f"demo:{quarter}")
    print("   " + format_review(review).replace("\n", "\n   "))

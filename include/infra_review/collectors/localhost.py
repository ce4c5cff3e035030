"""The machine that runs the task, measured with psutil: RAM %, CPU %, swap pages/s.

psutil sees only the present, so a run stamps its snapshot with the data interval's end
(the run is keyed on its interval, not on the wall clock). A run for an interval that
ended long ago (a backfill) has nothing to read and returns no rows rather than
attributing today's numbers to the past.
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from infra_review import clock

STALE_AFTER = timedelta(minutes=15)


def snapshot(interval_s: float = 1.0) -> dict[str, float]:
    """RAM %, CPU % over ``interval_s`` and swap-in+out pages/s over the same interval."""
    import psutil

    page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
    before = psutil.swap_memory()
    started = time.monotonic()
    cpu = psutil.cpu_percent(interval=interval_s)
    elapsed = max(time.monotonic() - started, 1e-6)
    after = psutil.swap_memory()
    swapped_bytes = max(0, (after.sin - before.sin) + (after.sout - before.sout))
    return {
        "ram_used_pct": float(psutil.virtual_memory().percent),
        "cpu_used_pct": float(cpu),
        "swap_io_pages_per_s": swapped_bytes / page / elapsed,
    }


def collect(
    server: str,
    source: dict[str, Any],
    start: datetime,
    end: datetime,
    *,
    now: datetime | None = None,
) -> pd.DataFrame:
    now = now or clock.now()
    if now - end > STALE_AFTER:
        return pd.DataFrame(columns=["ts", "server", "metric", "label", "value"])
    values = snapshot(float(source.get("cpu_sample_s", 1.0)))
    ts = pd.Timestamp(end).tz_convert("UTC")
    return pd.DataFrame(
        {
            "ts": [ts] * len(values),
            "server": server,
            "metric": list(values),
            "label": "",
            "value": list(values.values()),
        }
    )

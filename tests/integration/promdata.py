"""Generated node_exporter / blackbox_exporter history for a past quarter, written as
OpenMetrics for ``promtool tsdb create-blocks-from openmetrics`` and kept as numbers, so
tests can compute what each default PromQL query must return at every step."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

INSTANCE = "app-1:9100"
PROBE_TARGET = "https://directus.example.kz/server/health"
MEM_TOTAL = 16 * 1024**3


@dataclass
class History:
    t: np.ndarray  # epoch seconds of every sample (60 s apart)
    mem_available: np.ndarray  # NaN where the series has a gap (no sample written)
    idle: list[np.ndarray]  # idle-seconds counters per CPU
    pswpin: np.ndarray
    pswpout: np.ndarray
    probe_duration: np.ndarray
    probe_success: np.ndarray
    gap: tuple[float, float]  # [first missing, last missing] of mem_available

    def ram_used_pct(self, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """What the default RAM query returns at ``at``: Prometheus takes the latest sample
        within the 5-minute lookback. Returns (values, mask of times with a value)."""
        ok = ~np.isnan(self.mem_available)
        ts, avail = self.t[ok], self.mem_available[ok]
        pos = np.searchsorted(ts, at, side="right") - 1
        has = (pos >= 0) & (at - ts[np.clip(pos, 0, None)] < 300)
        values = 100 * (1 - avail[np.clip(pos, 0, None)] / MEM_TOTAL)
        return values, has

    def rate(self, counter: np.ndarray, at: np.ndarray, window: float = 240) -> np.ndarray:
        """rate(counter[window]) at ``at`` for samples every 60 s (no extrapolation needed:
        the window's first and last samples are exactly ``window`` apart)."""
        index = np.searchsorted(self.t, at)
        back = np.searchsorted(self.t, at - window)
        return (counter[index] - counter[back]) / window

    def cpu_used_pct(self, at: np.ndarray) -> np.ndarray:
        rates = [self.rate(c, at) for c in self.idle]
        return 100 * (1 - sum(rates) / len(rates))

    def swap_io(self, at: np.ndarray) -> np.ndarray:
        return self.rate(self.pswpin, at) + self.rate(self.pswpout, at)


def generate(start: datetime, end: datetime, lead_s: int = 3600, seed: int = 7) -> History:
    """One sample a minute from ``lead_s`` before ``start`` (so every rate window in the
    quarter is full) to ``end``; RAM has a 2-hour gap in the quarter's second week."""
    rng = np.random.default_rng(seed)
    t = np.arange(start.timestamp() - lead_s, end.timestamp(), 60, dtype="float64")
    n = len(t)
    hours = (t - t[0]) / 3600
    used_frac = 0.55 + 0.25 * np.sin(hours / 24 * 2 * np.pi) + rng.normal(0, 0.02, n)
    mem_available = np.round(MEM_TOTAL * (1 - np.clip(used_frac, 0.05, 0.99)))
    gap_start = start.timestamp() + 8 * 86400
    gap = (gap_start, gap_start + 2 * 3600 - 60)
    mem_available[(t >= gap[0]) & (t <= gap[1])] = np.nan
    idle = []
    for cpu in range(2):
        idle_frac = np.clip(0.6 + 0.3 * np.sin(hours / (6 + cpu)) + rng.normal(0, 0.03, n), 0, 1)
        idle.append(1_000_000.0 + np.cumsum(np.round(60 * idle_frac, 3)))
    swapping = rng.random(n) < 0.05
    pswpin = 5_000.0 + np.cumsum(np.where(swapping, rng.integers(1, 500, n), 0)).astype(float)
    pswpout = 9_000.0 + np.cumsum(np.where(swapping, rng.integers(1, 300, n), 0)).astype(float)
    probe_duration = np.round(0.05 + rng.gamma(2.0, 0.05, n), 6)
    probe_success = (rng.random(n) > 0.002).astype(float)
    return History(t, mem_available, idle, pswpin, pswpout, probe_duration, probe_success, gap)


def _lines(name: str, labels: str, t: np.ndarray, values: np.ndarray) -> list[str]:
    ok = ~np.isnan(values)
    return [
        f"{name}{{{labels}}} {v!r} {int(ts)}"
        for ts, v in zip(t[ok].tolist(), values[ok].tolist(), strict=True)
    ]


def write_openmetrics(
    history: History, path: Path, lo: float = -np.inf, hi: float = np.inf
) -> Path:
    """Samples with ``lo <= t < hi`` as OpenMetrics text (timestamps in seconds, ``# EOF``)."""
    node = f'instance="{INSTANCE}",job="node"'
    probe = f'instance="{PROBE_TARGET}",job="blackbox",server="app-1"'
    keep = (history.t >= lo) & (history.t < hi)
    t = history.t[keep]
    out = ["# TYPE node_memory_MemTotal_bytes gauge"]
    out += _lines("node_memory_MemTotal_bytes", node, t, np.full(len(t), float(MEM_TOTAL)))
    out += ["# TYPE node_memory_MemAvailable_bytes gauge"]
    out += _lines("node_memory_MemAvailable_bytes", node, t, history.mem_available[keep])
    out += ["# TYPE node_cpu_seconds counter"]
    for cpu, counter in enumerate(history.idle):
        labels = f'{node},cpu="{cpu}",mode="idle"'
        out += _lines("node_cpu_seconds_total", labels, t, counter[keep])
    out += ["# TYPE node_vmstat_pswpin unknown"]
    out += _lines("node_vmstat_pswpin", node, t, history.pswpin[keep])
    out += ["# TYPE node_vmstat_pswpout unknown"]
    out += _lines("node_vmstat_pswpout", node, t, history.pswpout[keep])
    out += ["# TYPE probe_duration_seconds gauge"]
    out += _lines("probe_duration_seconds", probe, t, history.probe_duration[keep])
    out += ["# TYPE probe_success gauge"]
    out += _lines("probe_success", probe, t, history.probe_success[keep])
    out += ["# EOF", ""]
    path.write_text("\n".join(out))
    return path


def backfill_history(history: History, workdir: Path, storage: Path, chunk_s: int = 86400) -> int:
    """Write the history one chunk (a day) per file and turn each into blocks.

    promtool 2.42 re-reads its whole input once per 2-hour block it creates, so one file
    for a quarter (1,092 blocks) takes many minutes; a day per file keeps it linear.
    Returns the number of files.
    """
    from concurrent.futures import ThreadPoolExecutor

    from tests.integration.services import backfill

    first = float(history.t[0]) // chunk_s * chunk_s
    paths = []
    for number, lo in enumerate(np.arange(first, float(history.t[-1]) + 1, chunk_s)):
        paths.append(
            write_openmetrics(history, workdir / f"chunk-{number:04d}.om", lo, lo + chunk_s)
        )
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda path: backfill(path, storage), paths))
    for path in paths:
        path.unlink()
    return len(paths)

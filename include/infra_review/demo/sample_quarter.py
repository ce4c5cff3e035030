"""Generate the bundled sample quarter for the seed's two servers (deterministic).

Why generated and not committed: a quarter at 1-minute resolution is about 2 million
samples (100 MB of CSV); the generator is small, seeded, and documents what it models:

* app-1 (n8n stack, PostgreSQL, Directus; 16 GB): RAM around 70% with a daily cycle and a
  slow upward trend, and one 30-hour episode above 85% in August (a memory leak in a
  workflow), with swapping during that episode. It crosses ram.sustained.
* data-1 (Redis, Qdrant, bots; 8 GB): RAM around 50%, CPU around 25%, one 40-minute
  collector outage (a gap, not downtime).
* API latency per endpoint at 1-minute probes, the n8n queue (waiting and active), and
  probe results with a few short real outages.
* A handful of user complaints (two tagged `slow`) and one planned service.

Run: ``infra-review demo generate --out DIR`` (``make demo`` does it for you).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from infra_review.quarter import Quarter

DEFAULT_QUARTER = Quarter(2026, 3)
SEED = 2026
SAMPLE_SERVERS = ("app-1", "data-1")


@dataclass(frozen=True)
class GeneratedFiles:
    samples: Path
    complaints: Path
    plans: Path
    rows: int
    reused: bool = False  # the files on disk already held exactly this quarter


def _daily_cycle(minutes: np.ndarray, amplitude: float) -> np.ndarray:
    # peak in the working day (UTC+5 business hours ~ 04:00-13:00 UTC)
    return amplitude * np.sin(2 * np.pi * ((minutes / 1440.0) % 1.0 - 0.1))


def generate_frames(
    quarter: Quarter = DEFAULT_QUARTER, seed: int = SEED, *, quarters_before: int = 0
) -> dict[str, pd.DataFrame]:
    """The quarter's samples, complaints and planned services.

    ``quarters_before`` > 0 makes an earlier, calmer quarter for history: the same servers
    on the same slow trend, that many quarters back, without the memory-leak episode (so
    the decision changes between the two quarters and ram.degradation has a baseline).
    """
    rng = np.random.default_rng(seed)
    ts = pd.date_range(quarter.start, quarter.end, freq="1min", inclusive="left")
    n = len(ts)
    minute = np.arange(n, dtype="float64")
    trend = minute / n - quarters_before  # 0 -> 1 over the incident quarter, below 0 before it
    day0 = pd.Timestamp(quarter.start)
    frames: list[pd.DataFrame] = []

    def add(server: str, metric: str, values: np.ndarray, label: str = "", keep=None) -> None:
        mask = np.ones(n, dtype=bool) if keep is None else keep
        frames.append(
            pd.DataFrame(
                {
                    "ts": ts[mask],
                    "server": server,
                    "metric": metric,
                    "value": np.round(values[mask], 4),
                    "label": label,
                }
            )
        )

    # --- app-1 -------------------------------------------------------------------
    ram = 66 + 6 * trend + _daily_cycle(minute, 4) + rng.normal(0, 1.2, n)
    # day 44 of the quarter (14 August in Q3), 06:00 UTC; none in a history quarter
    episode_start = 44 * 1440 + 6 * 60
    episode = slice(episode_start, episode_start + (30 * 60 if quarters_before == 0 else 0))
    episode_len = episode.stop - episode.start  # 30 hours above 85%
    ram[episode] = 89 + rng.normal(0, 1.0, episode_len).clip(-3, 3)
    ram = ram.clip(0, 100)
    add("app-1", "ram_used_pct", ram)
    cpu = 38 + 8 * trend + _daily_cycle(minute, 12) + rng.gamma(2.0, 3.0, n)
    add("app-1", "cpu_used_pct", cpu.clip(0, 100))
    swap = np.zeros(n)
    swap[episode] = rng.gamma(2.0, 40.0, episode_len)
    add("app-1", "swap_io_pages_per_s", swap)
    waiting = rng.poisson(4 + 10 * np.maximum(_daily_cycle(minute, 1), 0))
    waiting[episode] += rng.poisson(30, episode_len)
    add("app-1", "n8n_queue_waiting", waiting.astype("float64"), "jobs")
    active = np.minimum(rng.poisson(3, n), 10).astype("float64")
    add("app-1", "n8n_queue_active", active, "jobs")
    webhook = rng.lognormal(np.log(0.25), 0.35, n) * (1 + 0.3 * trend)
    webhook[episode] *= 2.5
    add("app-1", "api_latency_s", webhook, "n8n:/webhook/health")
    directus = rng.lognormal(np.log(0.35), 0.4, n) * (1 + 0.2 * trend)
    add("app-1", "api_latency_s", directus, "directus:/server/ping")
    up = np.ones(n)
    up[rng.choice(n, 40, replace=False)] = 0  # 40 scattered failed probes (about 99.97%)
    add("app-1", "probe_up", up, "n8n:/webhook/health")
    add("app-1", "probe_up", np.ones(n), "directus:/server/ping")

    # --- data-1 ------------------------------------------------------------------
    outage = np.ones(n, dtype=bool)
    gap_start = 63 * 1440 + 10 * 60  # day 63 (2 September in Q3), 10:00 UTC
    outage[gap_start : gap_start + 40] = False  # collector down for 40 minutes
    add(
        "data-1",
        "ram_used_pct",
        (50 + _daily_cycle(minute, 3) + rng.normal(0, 1.5, n)).clip(0, 100),
        keep=outage,
    )
    add(
        "data-1",
        "cpu_used_pct",
        (22 + _daily_cycle(minute, 8) + rng.gamma(2.0, 2.0, n)).clip(0, 100),
        keep=outage,
    )
    add("data-1", "swap_io_pages_per_s", np.zeros(n), keep=outage)
    add(
        "data-1",
        "api_latency_s",
        rng.lognormal(np.log(0.05), 0.3, n),
        "qdrant:/readyz",
        keep=outage,
    )
    add("data-1", "probe_up", np.ones(n), "qdrant:/readyz", keep=outage)

    samples = pd.concat(frames, ignore_index=True)
    complaints = pd.DataFrame(
        [
            (
                f"{day0 + pd.Timedelta(days=44):%Y-%m-%d}T09:12:00+05:00",
                "n8n",
                "app-1",
                "slow",
                "Workflows take minutes to start",
            ),
            (
                f"{day0 + pd.Timedelta(days=44):%Y-%m-%d}T11:40:00+05:00",
                "directus",
                "app-1",
                "slow",
                "Admin panel is very slow today",
            ),
            (
                f"{day0 + pd.Timedelta(days=20):%Y-%m-%d}T15:03:00+05:00",
                "telegram-bot",
                "data-1",
                "error",
                "Bot did not answer /start",
            ),
        ],
        columns=["ts", "service", "server", "category", "text"],
    )
    plans = pd.DataFrame(
        [
            (
                "clickhouse",
                "data-1",
                f"{quarter.next().start.year}-{quarter.next().start.month:02d}-15",
                2.0,
                1.0,
            )
        ],
        columns=["service", "server", "planned_for", "ram_gb", "cpu_cores"],
    )
    return {"samples": samples, "complaints": complaints, "plans": plans}


def _fingerprint(quarter: Quarter, seed: int, quarters_before: int) -> str:
    """Changes when anything that shapes the files does: this generator's code or its inputs."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    digest.update(f"{quarter}|{seed}|{quarters_before}|{np.__version__}|{pd.__version__}".encode())
    return digest.hexdigest()


def write_samples_csv(samples: pd.DataFrame, path: Path) -> None:
    """The samples contract's CSV, fast: pandas' ``strftime`` and ``to_csv`` take 20-50 s
    for 1.85M rows on this machine, Arrow about a second. Each distinct timestamp is
    formatted once (every series shares the quarter's minute grid)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    start = samples["ts"].min()
    offsets = ((samples["ts"] - start) // pd.Timedelta(seconds=1)).to_numpy()
    distinct, position = np.unique(offsets, return_inverse=True)
    text = (start + pd.to_timedelta(distinct, unit="s")).strftime("%Y-%m-%dT%H:%M:%SZ")
    table = pa.table(
        {
            "ts": pa.array(np.asarray(text, dtype=object)).take(pa.array(position)),
            "server": pa.array(samples["server"]),
            "metric": pa.array(samples["metric"]),
            "value": pa.array(samples["value"].to_numpy(dtype="float64")),
            "label": pa.array(samples["label"]),
        }
    )
    with path.open("wb") as out:
        out.write(b"ts,server,metric,value,label\n")
        pacsv.write_csv(table, out, pacsv.WriteOptions(include_header=False, quoting_style="none"))


def write_sample_quarter(
    out_dir: Path, quarter: Quarter = DEFAULT_QUARTER, seed: int = SEED, *, quarters_before: int = 0
) -> GeneratedFiles:
    """Write the quarter's CSV files, or keep the ones already there when a manifest says they
    came from this same generator and inputs (writing 1.85M rows costs seconds per run)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = GeneratedFiles(
        samples=out_dir / f"samples-{quarter}.csv",
        complaints=out_dir / f"complaints-{quarter}.csv",
        plans=out_dir
        / ("planned-services.csv" if quarters_before == 0 else f"planned-services-{quarter}.csv"),
        rows=0,
    )
    manifest = paths.samples.with_suffix(".manifest.json")
    fingerprint = _fingerprint(quarter, seed, quarters_before)
    files = (paths.samples, paths.complaints, paths.plans)
    try:
        saved = json.loads(manifest.read_text())
        if saved["fingerprint"] == fingerprint and all(
            f.stat().st_size == saved["sizes"][f.name] for f in files
        ):
            return replace(paths, rows=saved["rows"], reused=True)
    except (OSError, ValueError, KeyError, TypeError):
        pass  # no manifest, or files changed since: write them again
    frames = generate_frames(quarter, seed, quarters_before=quarters_before)
    samples = frames["samples"]
    write_samples_csv(samples, paths.samples)
    frames["complaints"].to_csv(paths.complaints, index=False)
    frames["plans"].to_csv(paths.plans, index=False)
    sizes = {f.name: f.stat().st_size for f in files}
    manifest.write_text(
        json.dumps({"fingerprint": fingerprint, "rows": len(samples), "sizes": sizes}) + "\n"
    )
    return replace(paths, rows=len(samples))

"""The same samples give the same capacity verdict whichever way they arrive (issue 13,
"Tests"; DESIGN.md "Real monitoring data"): as a CSV export, its rows shuffled and its
timestamps in two offsets, through ``infra-review import samples``, and as a real Prometheus's
history (backfilled with ``promtool tsdb create-blocks-from openmetrics``) through
``infra-review collect``. Each path loads its own database; the capacity review (the runner
the CLI and the DAG use, as a dry run) then judges both, and every server's ram.sustained and
cpu.sustained outcome, observed value, longest run, run counts, samples and coverage, and the
decision and its actions, must be equal. The two paths are compared with each other, not
with coverage literals, so the properties hold while cadence and coverage are reworked.

Servers, one per case, in one Prometheus started once for the module (4 days of history in
2026Q2, 2026-04-10 to 2026-04-14):

* app-met: 60 s, jittered +-5 s, single missed scrapes: RAM 30 h above 85, CPU 2 h above 90;
* app-hole: a 4-minute hole (4 missed scrapes) in the middle of a 30 h RAM run and of an
  80-minute CPU run: both are split (15 h and 38 min pieces), in both paths;
* app-near: RAM 24 h 10 min (met), CPU 57 min (not met);
* app-5m: 300 s cadence (the fleet's scrape interval, Prometheus's step) jittered +-30 s: RAM
  26 h cut by a 20-minute hole, CPU 90 min with a missed scrape inside;
* app-sparse: 12 hours of data, far below the floor in both paths;
* app-5m-fleet60: a 5-minute export while fleet.yaml says 60 s (so Prometheus's step is 60 s):
  cadence is measured from the samples (DESIGN.md), so RAM 26 h is met, CPU 45 min is not;
* app-grid: scrapes on the query grid (phase 0) jittered +-2 s, RAM 30 h with a missed scrape
  every 3 h: as ordinary as the others, and the case that tells whether a computed query
  (the default RAM expression) keeps every sample.

RAM is collected with the default query (node_memory_MemAvailable_bytes over MemTotal);
CPU and swap with a recording rule's gauge (a bare selector in fleet.yaml), because a CSV
export holds percentages, not node_exporter's counters. Only 4 days of history are
backfilled (promtool is slow), so the criteria file's coverage floor is lowered to 2%: 4 days
of a 91-day quarter pass it, 12 hours do not, by either way of counting coverage.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from infra_review.capacity.runner import run_capacity_review
from infra_review.cli import main
from infra_review.settings import config_dir
from tests.integration import services
from tests.support.db import clone_database, drop, with_database

pytestmark = pytest.mark.integration

QUARTER = "2026Q2"
NOW = "2026-12-01T00:00:00Z"  # long after the history: nothing here reads the wall clock
T0 = datetime(2026, 4, 10, tzinfo=UTC)
DAYS = 4
FLOOR = 0.02
MEM_TOTAL = 16 * 1024**3
SUSTAINED = ("ram.sustained", "cpu.sustained")
# a day around the history on either side: a jittered first sample may precede T0
COLLECT = ((T0 - timedelta(days=1)).isoformat(), (T0 + timedelta(days=DAYS + 1)).isoformat())


@dataclass(frozen=True)
class Run:
    """``samples`` grid points of high values from ``at_h`` hours after T0; ``holes`` are
    (offset in the run, missed scrapes) and ``misses`` single missed scrapes (offsets)."""

    at_h: float
    samples: int
    holes: tuple[tuple[int, int], ...] = ()
    misses: tuple[int, ...] = ()


@dataclass(frozen=True)
class Case:
    server: str
    cadence: int
    phase_s: float
    jitter_s: float
    ram: Run
    cpu: Run
    hours: float = DAYS * 24
    miss_every_h: float = 0  # single missed scrapes all along (0: none outside the runs)
    expected: dict[str, str] = field(default_factory=dict)
    seed: int = 0
    fleet_interval: int | None = None  # fleet.yaml's scrape_interval when it is not the data's

    @property
    def scrape_interval(self) -> int:
        return self.fleet_interval or self.cadence


CASES = [
    Case(
        "app-met",
        60,
        17,
        5,
        Run(30, 1800, misses=(200, 700, 1300)),
        Run(60, 120, misses=(30, 90)),
        miss_every_h=5,
        expected={"ram.sustained": "met", "cpu.sustained": "met"},
        seed=1,
    ),
    Case(
        "app-hole",
        60,
        31,
        2,
        Run(20, 1800, holes=((898, 4),)),
        Run(70, 80, holes=((38, 4),)),
        expected={"ram.sustained": "not_met", "cpu.sustained": "not_met"},
        seed=2,
    ),
    Case(
        "app-near",
        60,
        44,
        5,
        Run(40, 1450, misses=(100,)),
        Run(12, 57),
        expected={"ram.sustained": "met", "cpu.sustained": "not_met"},
        seed=3,
    ),
    Case(
        "app-5m",
        300,
        120,
        30,
        Run(30, 312, holes=((156, 4),)),
        Run(80, 18, misses=(9,)),
        expected={"ram.sustained": "not_met", "cpu.sustained": "met"},
        seed=4,
    ),
    Case(
        "app-sparse",
        60,
        20,
        5,
        Run(1, 300),
        Run(2, 100),
        hours=12,
        expected={"ram.sustained": "insufficient_data", "cpu.sustained": "insufficient_data"},
        seed=5,
    ),
    Case(
        "app-grid",
        60,
        0,
        2,
        Run(30, 1800),
        Run(60, 120),
        miss_every_h=3,
        expected={"ram.sustained": "met", "cpu.sustained": "met"},
        seed=6,
    ),
    Case(
        "app-5m-fleet60",
        300,
        150,
        20,
        Run(30, 312, misses=(50, 200)),
        Run(80, 9),
        expected={"ram.sustained": "met", "cpu.sustained": "not_met"},
        seed=7,
        fleet_interval=60,
    ),
]


@dataclass
class Series:
    t: np.ndarray  # epoch seconds, rounded to the millisecond (Prometheus keeps ms)
    values: np.ndarray


def generate(case: Case) -> dict[str, Series]:
    """The case's samples: low noisy values, each run high, holes and misses left out."""
    rng = np.random.default_rng(case.seed)
    n = int(case.hours * 3600 // case.cadence)
    grid = np.arange(n)
    t = T0.timestamp() + case.phase_s + grid * case.cadence
    t = np.round(t + rng.uniform(-case.jitter_s, case.jitter_s, n), 3)
    out = {}
    for metric, run, threshold in (
        ("ram_used_pct", case.ram, 85.0),
        ("cpu_used_pct", case.cpu, 90.0),
    ):
        values = rng.uniform(30.0, threshold - 15.0, n)
        present = np.ones(n, dtype=bool)
        if case.miss_every_h:
            every = int(case.miss_every_h * 3600 // case.cadence)
            present[every::every] = False
        start = int(run.at_h * 3600 // case.cadence)
        values[start : start + run.samples] = rng.uniform(threshold + 1, 100.0, run.samples)
        for offset, missed in run.holes:
            present[start + offset : start + offset + missed] = False
        for offset in run.misses:
            present[start + offset] = False
        if metric == "ram_used_pct":
            # node_exporter reports bytes; the percentage is what the default query computes
            available = np.round(MEM_TOTAL * (1 - values / 100))
            values = 100 * (1 - available / MEM_TOTAL)
            out["mem_available"] = Series(t[present], available[present])
        out[metric] = Series(t[present], values[present])
    out["swap_io_pages_per_s"] = Series(t, np.zeros(n))
    return out


DATA = {case.server: generate(case) for case in CASES}


# --- the two ways in ---------------------------------------------------------------------


def write_csv(path: Path, seed: int = 11) -> Path:
    """Every sample of every case as one CSV export, rows shuffled, half of the timestamps
    in UTC and half at +05:00 (the same instants)."""
    rows = []
    for server, data in DATA.items():
        for metric in ("ram_used_pct", "cpu_used_pct", "swap_io_pages_per_s"):
            s = data[metric]
            rows += [
                (t, server, metric, v) for t, v in zip(s.t.tolist(), s.values.tolist(), strict=True)
            ]
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(rows))
    almaty = timezone(timedelta(hours=5))
    lines = ["ts,server,metric,value,label"]
    for i in order.tolist():
        t, server, metric, v = rows[i]
        moment = datetime.fromtimestamp(t, UTC)
        if i % 2:
            moment = moment.astimezone(almaty)
        lines.append(f"{moment.isoformat(timespec='milliseconds')},{server},{metric},{v!r},")
    path.write_text("\n".join(lines) + "\n")
    return path


def _lines(name: str, labels: str, s: Series) -> list[str]:
    return [
        f"{name}{{{labels}}} {v!r} {t:.3f}"
        for t, v in zip(s.t.tolist(), s.values.tolist(), strict=True)
    ]


def write_openmetrics(path: Path, lo: float, hi: float) -> Path:
    """The same samples as node_exporter gauges and two recording rules' outputs."""
    families = {
        "node_memory_MemTotal_bytes": lambda d: Series(
            d["mem_available"].t, np.full(len(d["mem_available"].t), float(MEM_TOTAL))
        ),
        "node_memory_MemAvailable_bytes": lambda d: d["mem_available"],
        "instance:node_cpu_used:percent": lambda d: d["cpu_used_pct"],
        "instance:node_swap_io:pages_per_s": lambda d: d["swap_io_pages_per_s"],
    }
    out = []
    for name, pick in families.items():
        out.append(f"# TYPE {name} gauge")
        for server, data in DATA.items():
            s = pick(data)
            keep = (s.t >= lo) & (s.t < hi)
            out += _lines(
                name, f'instance="{server}:9100",job="node"', Series(s.t[keep], s.values[keep])
            )
    path.write_text("\n".join([*out, "# EOF", ""]))
    return path


def write_config(folder: Path, prometheus_url: str) -> Path:
    """The shipped config, with this module's fleet (each server's Prometheus source) and the
    criteria file's coverage floor lowered to FLOOR (4 days of history, see the docstring)."""
    shutil.copytree(config_dir(), folder)
    criteria = yaml.safe_load((folder / "criteria.yaml").read_text())
    criteria["defaults"]["coverage_floor"] = FLOOR
    criteria["version"] = f"{criteria['version']}-floor{FLOOR}"
    (folder / "criteria.yaml").write_text(yaml.safe_dump(criteria, allow_unicode=True))
    servers = []
    for case in CASES:
        servers.append(
            {
                "name": case.server,
                "provider": "example-kz-cloud",
                "region": "KZ",
                "plan": "vps-16g",
                "ram_gb": 16,
                "cpu_cores": 4,
                "scrape_interval": f"{case.scrape_interval}s",
                "sources": [
                    {
                        "type": "prometheus",
                        "url": prometheus_url,
                        "instance": f"{case.server}:9100",
                        "metrics": {
                            "cpu_used_pct": 'instance:node_cpu_used:percent{instance="${instance}"}',
                            "swap_io_pages_per_s": (
                                'instance:node_swap_io:pages_per_s{instance="${instance}"}'
                            ),
                            "api_latency_s": None,
                            "probe_up": None,
                        },
                    }
                ],
            }
        )
    fleet = {
        "requirements": {"regions": ["KZ"], "isolated_data_classes": []},
        "servers": servers,
        "local_host": {"enabled": False},
    }
    (folder / "fleet.yaml").write_text(yaml.safe_dump(fleet, sort_keys=False))
    return folder


@pytest.fixture(scope="module")
def reviews(tmp_path_factory, pg_server_url, template_db_url) -> dict[str, Any]:
    """Both paths loaded and reviewed once: {"csv": review, "prometheus": review}."""
    from urllib.parse import urlsplit

    work = tmp_path_factory.mktemp("paths-agree")
    storage = work / "tsdb"
    for day in range(DAYS):
        lo = T0.timestamp() + day * 86400
        services.backfill(write_openmetrics(work / f"day-{day}.om", lo, lo + 86400), storage)
    template = urlsplit(template_db_url).path.lstrip("/")
    out: dict[str, Any] = {}
    names: list[str] = []
    with services.prometheus(work, storage) as prom, pytest.MonkeyPatch.context() as mp:
        config = write_config(work / "config", prom.url)
        mp.setenv("INFRA_REVIEW_CONFIG_DIR", str(config))
        mp.setenv("INFRA_REVIEW_NOW", NOW)
        mp.setenv("INFRA_REVIEW_QUALITY_ENGINE", "pandas")
        mp.setenv("INFRA_REVIEW_DATA_DOCS", str(work / "docs"))
        try:
            for path in ("csv", "prometheus"):
                name = clone_database(pg_server_url, template, f"ir_test_paths_{path[:4]}")
                names.append(name)
                url = with_database(pg_server_url, name)
                mp.setenv("DATABASE_URL", url)
                if path == "csv":
                    assert main(["import", "samples", str(write_csv(work / "export.csv"))]) == 0
                else:
                    assert main(["collect", "--from", COLLECT[0], "--to", COLLECT[1]]) == 0
                out[path] = run_capacity_review(QUARTER, dry_run=True, url=url)
        finally:
            for name in names:
                drop(pg_server_url, name)
    return out


def summary(review, server: str) -> dict[str, Any]:
    """What must agree: the decision, its actions, and the sustained criteria's evidence."""
    payload = next(p for p in review.payloads if p["server"] == server)
    decision = review.decision_of(server)
    out: dict[str, Any] = {"decision": decision.decision, "actions": list(decision.actions)}
    for r in payload["results"]:
        if r["criterion_id"] not in SUSTAINED:
            continue
        ev = r["evidence"]
        out[r["criterion_id"]] = {
            "outcome": r["outcome"],
            "observed": r["observed"],
            "longest_run": ev.get("longest_run"),
            "runs_above": ev.get("runs_above"),
            "runs_qualifying": ev.get("runs_qualifying"),
            "samples": ev.get("samples"),
            "coverage": ev.get("coverage"),
            "interval_s": ev.get("interval_s"),
        }
    return out


def differences(a: Any, b: Any, path: str = "") -> dict[str, tuple[Any, Any]]:
    """Leaf paths where two summaries differ, with both values (a readable failure)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out: dict[str, tuple[Any, Any]] = {}
        for key in sorted(set(a) | set(b)):
            out.update(differences(a.get(key), b.get(key), f"{path}.{key}" if path else key))
        return out
    return {} if a == b else {path: (a, b)}


@pytest.mark.parametrize("case", CASES, ids=[c.server for c in CASES])
def test_csv_and_prometheus_give_the_same_verdict_and_evidence(reviews, case):
    by_csv = summary(reviews["csv"], case.server)
    by_prometheus = summary(reviews["prometheus"], case.server)
    diff = differences(by_csv, by_prometheus)
    designed = {
        f"{path}.{cid}": (expected, got[cid]["outcome"])
        for path, got in (("csv", by_csv), ("prometheus", by_prometheus))
        for cid, expected in case.expected.items()
        if got[cid]["outcome"] != expected
    }
    assert not diff and not designed, (
        f"{case.server}: CSV -> Prometheus differ in {diff}; "
        f"designed -> got, where not as designed: {designed}"
    )


def test_a_four_minute_hole_splits_the_run_in_both_paths(reviews):
    for path, review in reviews.items():
        got = summary(review, "app-hole")
        ram, cpu = got["ram.sustained"], got["cpu.sustained"]
        # 30 h = 898 + 4 missed + 898 samples: the longest piece is 898 minutes, not 30 h
        assert ram["outcome"] == "not_met" and ram["runs_above"] == 2, (path, ram)
        assert ram["longest_run"]["samples"] == 898, (path, ram)
        assert abs(ram["longest_run"]["duration_s"] - 898 * 60) < 60, (path, ram)
        # 80 min = 38 + 4 + 38 samples
        assert cpu["outcome"] == "not_met" and cpu["runs_above"] == 2, (path, cpu)
        assert cpu["longest_run"]["samples"] == 38, (path, cpu)

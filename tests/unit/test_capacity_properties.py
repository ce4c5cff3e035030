"""Property-style tests (hypothesis) of the capacity verdicts over generated RAM and CPU series
(issue 13, "Tests"): the verdict a review gives does not depend on the accidents of how real
monitoring delivers the same data.

Each example is a quarter of RAM, CPU and swap samples at a cadence of 60 s or 300 s with a
random phase, low noisy values, and for RAM and CPU a run of high values whose length is drawn
around the criterion's duration (24 h for ram.sustained, 1 h for cpu.sustained) or clearly
below or above it, sometimes cut in two by a hole of at least 4 missed scrapes, with a few
single missed scrapes inside and outside the run. Every generated run is at least 3 cadences
away from the duration, so neither jitter (under a quarter of the cadence at each end) nor one
more missed scrape (one cadence) can legitimately move it across. A series may also cover only
part of the quarter (clearly below the coverage floor). The design says what the verdict must
be; the properties are that the review gives it, and gives the same verdict, the same decision
and the same actions when

* (a) every timestamp is jittered by less than a quarter of the cadence;
* (b) the rows arrive shuffled: ``clean_series`` is the layer that receives a series as the
  store hands it over (``capacity.data.read_server_series``) and sorts it; the shuffled rows
  through CSV import -> PostgreSQL -> review are in tests/integration/test_capacity_paths_agree.py;
* (c) one more single scrape is missed anywhere (its neighbours present);
* and all three at once.

The review is run through the runner's own pure steps (``capacity.runner.evaluate_server``
without its database read, then ``finish``'s ``build_decisions``): ``clean_series`` per
series, the coverage gate from the counts (``counts_from_series`` + ``coverage_verdict``),
``evaluate_server_inputs`` (every ram.* and cpu.* criterion and the watch forecasts) and
``build_decisions``. The window is the review's quarter: a review cannot be given a shorter
one, so the series span it (one evaluation of a 60 s quarter takes about 0.05 s here).

Nothing pins a coverage float: cadence and coverage are being reworked (measured cadence,
coverage over time), and these properties must hold after that as before. The fleet's
configured scrape interval agrees with the data's cadence here; the pure path is given no
recorded cadence, as for imported samples. The quarter is a fixed past one; nothing here
reads the wall clock (and the clock is frozen anyway, in case a step ever does).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infra_review import clock
from infra_review.capacity import data as d
from infra_review.capacity.evaluate import build_decisions, evaluate_server_inputs
from infra_review.capacity.plan import capacity_rules
from infra_review.criteria.rules import load_criteria
from infra_review.fleet import Fleet, Server
from infra_review.quality.window import coverage_verdict
from infra_review.quarter import Quarter
from infra_review.timeseries.runs import clean_series

CRITERIA = load_criteria()
RULES = capacity_rules(CRITERIA)
DEFAULTS = CRITERIA.defaults
FLOOR = float(DEFAULTS.get("coverage_floor", 0.9))
QUARTER = Quarter(2026, 2)  # 91 days, long past
NOW = datetime(2026, 12, 1, tzinfo=UTC)
SERVER = "app-1"
US = 1_000_000
DAY_S = 86_400
MARGIN = 3  # cadences between a generated run's length and the criterion's duration
PROPERTY_SETTINGS = settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# criterion id -> (metric, threshold, duration in seconds): read from criteria.yaml
SUSTAINED = {
    cid: (
        RULES[cid].params["metric"],
        float(RULES[cid].params["threshold"]),
        int(RULES[cid].duration().total_seconds()),
    )
    for cid in ("ram.sustained", "cpu.sustained")
}


@dataclass(frozen=True)
class Design:
    """One metric's generated series, by grid index (grid point k is at phase + k * cadence)."""

    criterion: str
    cadence: int
    covered: int  # grid points the series spans from the quarter's start (the rest is empty)
    run_start: int  # grid index of the run's first sample
    pieces: tuple[int, ...]  # samples in each piece of the run (two pieces: a hole between)
    hole: int  # missed scrapes between the two pieces
    misses: tuple[int, ...]  # single missed scrapes (grid indices), never adjacent
    seed: int

    @property
    def metric(self) -> str:
        return SUSTAINED[self.criterion][0]

    @property
    def threshold(self) -> float:
        return SUSTAINED[self.criterion][1]

    @property
    def duration_s(self) -> int:
        return SUSTAINED[self.criterion][2]

    @property
    def run_end(self) -> int:  # one past the run's last sample
        return self.run_start + sum(self.pieces) + self.hole

    @property
    def partial(self) -> bool:
        return self.covered < grid_points(self.cadence) * 0.75  # far below the 0.9 floor

    @property
    def expected(self) -> str:
        """The verdict the series was designed to get."""
        if self.partial:
            return "insufficient_data"
        return "met" if max(self.pieces) * self.cadence > self.duration_s else "not_met"


def grid_points(cadence: int) -> int:
    return int((QUARTER.end - QUARTER.start).total_seconds()) // cadence


@st.composite
def designs(draw, criterion: str, cadence: int) -> Design:
    duration_s = SUSTAINED[criterion][2]
    need = duration_s // cadence  # samples of a run exactly as long as the duration
    near = st.integers(max(1, need - 4 * MARGIN), need + 4 * MARGIN).filter(
        lambda n: abs(n - need) >= MARGIN
    )
    clearly_below = st.integers(1, max(1, need // 3))
    clearly_above = st.integers(2 * need, 3 * need)
    piece = st.one_of(near, clearly_below, clearly_above)
    pieces = tuple(draw(st.lists(piece, min_size=1, max_size=2)))
    hole = draw(st.integers(4, 12)) if len(pieces) == 2 else 0
    total = grid_points(cadence)
    edge = 2 * DAY_S // cadence  # runs stay 2 days from the quarter's edges
    share = draw(st.sampled_from([1.0, 1.0, 1.0, 0.3, 0.6]))
    covered = int(total * share)
    span = sum(pieces) + hole
    run_start = draw(st.integers(edge, covered - edge - span))
    # single missed scrapes: a few anywhere, a few inside the run's pieces (never a piece's
    # first or last sample, so the design's run lengths stay exact), none adjacent
    anywhere = draw(st.lists(st.integers(2, covered - 3), max_size=4))
    inside = []
    at = run_start
    for n in pieces:
        if n >= 3:
            inside += draw(st.lists(st.integers(at + 1, at + n - 2), max_size=2))
        at += n + hole
    bounds = piece_bounds(run_start, pieces, hole)
    ends = {i for a, n in bounds for i in (a, a + n - 1)}  # a piece's first and last sample
    first_missing = run_start + pieces[0]
    near_hole = set(range(first_missing - 1, first_missing + hole + 1)) if hole else set()
    misses: list[int] = []
    for i in sorted(set(anywhere + inside) - ends - near_hole):
        if not misses or i - misses[-1] >= 3:  # every miss single, far from the next
            misses.append(i)
    seed = draw(st.integers(0, 2**32 - 1))
    return Design(criterion, cadence, covered, run_start, pieces, hole, tuple(misses), seed)


def piece_bounds(run_start: int, pieces: tuple[int, ...], hole: int) -> list[tuple[int, int]]:
    out, at = [], run_start
    for n in pieces:
        out.append((at, n))
        at += n + hole
    return out


@dataclass(frozen=True)
class Case:
    cadence: int
    phase_s: int  # the grid's offset from the quarter's start (real scrapes are not aligned)
    ram: Design
    cpu: Design

    @property
    def expected_actions(self) -> list[str]:
        return [
            a
            for a, dz in (("upgrade_ram", self.ram), ("upgrade_cpu", self.cpu))
            if dz.expected == "met"
        ]


@st.composite
def cases(draw) -> Case:
    cadence = draw(st.sampled_from([60, 300]))
    # the phase keeps every jittered sample inside the quarter: no edge effect here
    phase_s = draw(st.integers(cadence // 4 + 1, cadence - cadence // 4 - 1))
    return Case(
        cadence,
        phase_s,
        draw(designs("ram.sustained", cadence)),
        draw(designs("cpu.sustained", cadence)),
    )


Series = dict[str, tuple[np.ndarray, np.ndarray]]  # metric -> (epoch us, values)


def materialise(case: Case) -> Series:
    """The samples each design describes: present grid points, values low outside the run's
    pieces and high inside them; swap stays at 0 over the whole quarter."""
    out: Series = {}
    start_us = int(QUARTER.start.timestamp()) * US + case.phase_s * US
    step_us = case.cadence * US
    for dz in (case.ram, case.cpu):
        rng = np.random.default_rng(dz.seed)
        idx = np.arange(dz.covered)
        values = rng.uniform(20.0, dz.threshold - 15.0, dz.covered)
        present = np.ones(dz.covered, dtype=bool)
        for a, n in piece_bounds(dz.run_start, dz.pieces, dz.hole):
            values[a : a + n] = rng.uniform(dz.threshold + 1.0, 100.0, n)
        if dz.hole:
            a = dz.run_start + dz.pieces[0]
            present[a : a + dz.hole] = False
        present[list(dz.misses)] = False
        idx = idx[present]
        out[dz.metric] = (start_us + idx * step_us, values[present])
    total = grid_points(case.cadence)
    swap_ts = start_us + np.arange(total) * step_us
    out["swap_io_pages_per_s"] = (swap_ts, np.zeros(total))
    return out


def review(case: Case, series: Series) -> dict[str, Any]:
    """The server's review through the runner's pure steps; the criteria outcomes, the
    decision and its actions, and each sustained criterion's evidence."""
    fleet = Fleet(
        "generated",
        {SERVER: Server(SERVER, ram_gb=16, cpu_cores=4, scrape_interval_s=case.cadence)},
    )
    cleaned = {
        (metric, ""): clean_series(ts, values, QUARTER.start, QUARTER.end)
        for metric, (ts, values) in series.items()
    }
    cadence: dict[tuple[str, str], int] = {}  # imported samples record none
    counts = d.counts_from_series(SERVER, cleaned, cadence, QUARTER)
    verdict = coverage_verdict(counts, QUARTER.start, QUARTER.end, fleet, FLOOR)
    with clock.frozen(NOW):
        payload = evaluate_server_inputs(
            SERVER,
            QUARTER,
            cleaned,
            verdict,
            d.server_metadata(fleet, SERVER),
            previous={},
            complaints=[],
            planned=[],
            cadence=cadence,
            rules=RULES,
            defaults=DEFAULTS,
        )
        plan = {"quarter": str(QUARTER), "criteria": {"version": CRITERIA.version}}
        (decision,) = build_decisions(plan, [payload], {"skipped": True}, RULES, DEFAULTS, None)
    results = {r["criterion_id"]: r for r in payload["results"]}
    return {
        "outcomes": {cid: r["outcome"] for cid, r in results.items()},
        "decision": decision.decision,
        "actions": list(decision.actions),
        "evidence": {cid: results[cid]["evidence"] for cid in SUSTAINED},
        "payload": payload,
    }


def verdict_of(r: dict[str, Any]) -> tuple:
    return (r["outcomes"], r["decision"], r["actions"])


def assert_as_designed(case: Case, got: dict[str, Any], what: str) -> None:
    for dz in (case.ram, case.cpu):
        assert got["outcomes"][dz.criterion] == dz.expected, (
            f"{what}: {dz.criterion} is {got['outcomes'][dz.criterion]}, designed "
            f"{dz.expected} ({dz}); longest run {got['evidence'][dz.criterion].get('longest_run')}"
        )
    actions = case.expected_actions
    if actions:
        assert (got["decision"], got["actions"]) == (actions[0], actions), what
    elif case.ram.partial or case.cpu.partial:
        assert got["decision"] == "insufficient_data", what
    else:
        assert got["decision"] in ("no_action", "watch"), what


def assert_same_runs(base: dict[str, Any], other: dict[str, Any], cadence: int, what: str) -> None:
    """The evidence numbers agree too: as many qualifying runs, and the longest run within
    what jitter (half a cadence) and one missed scrape at its end (one cadence) can move."""
    for cid in SUSTAINED:
        a, b = base["evidence"][cid], other["evidence"][cid]
        assert a.get("runs_qualifying") == b.get("runs_qualifying"), (what, cid)
        ra, rb = a.get("longest_run"), b.get("longest_run")
        if ra is None or rb is None:
            assert ra == rb, (what, cid)
            continue
        assert abs(ra["duration_s"] - rb["duration_s"]) <= 1.5 * cadence, (what, cid, ra, rb)


# --- perturbations ----------------------------------------------------------------------------


def jittered(series: Series, cadence: int, fraction: float, seed: int) -> Series:
    """Every timestamp moved by less than ``fraction`` (< 1/4) of the cadence, either way."""
    rng = np.random.default_rng(seed)
    bound = int(fraction * cadence * US)
    return {m: (ts + rng.integers(-bound, bound + 1, len(ts)), v) for m, (ts, v) in series.items()}


def shuffled(series: Series, seed: int) -> Series:
    rng = np.random.default_rng(seed)
    out = {}
    for m, (ts, v) in series.items():
        order = rng.permutation(len(ts))
        out[m] = (ts[order], v[order])
    return out


def one_more_miss(series: Series, case: Case, metric: str, where: float) -> Series:
    """Drop one sample whose neighbours on the grid are both present, so the new hole is a
    single missed scrape wherever it falls (in a run, at a run's end, outside it)."""
    ts, v = series[metric]
    step = case.cadence * US
    order = np.argsort(ts, kind="stable")
    t = ts[order]
    grid = np.rint((t - t[0]) / step).astype(np.int64)  # jitter-proof grid positions
    gaps = np.diff(grid)
    single = np.flatnonzero((gaps[:-1] == 1) & (gaps[1:] == 1)) + 1  # both neighbours present
    pick = order[single[min(int(where * len(single)), len(single) - 1)]]
    keep = np.ones(len(ts), dtype=bool)
    keep[pick] = False
    return {**series, metric: (ts[keep], v[keep])}


# --- properties -------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(
    case=cases(),
    jitter=st.floats(0.0, 0.24),
    seed=st.integers(0, 2**32 - 1),
    where=st.floats(0.0, 1.0),
    metric=st.sampled_from(["ram_used_pct", "cpu_used_pct"]),
)
def test_verdict_is_as_designed_and_survives_jitter_shuffle_and_a_missed_scrape(
    case, jitter, seed, where, metric
):
    base_series = materialise(case)
    base = review(case, base_series)
    assert_as_designed(case, base, "as generated")
    variants = {
        "jittered": jittered(base_series, case.cadence, jitter, seed),
        "shuffled": shuffled(base_series, seed),
        "one more missed scrape": one_more_miss(base_series, case, metric, where),
    }
    variants["all three"] = shuffled(
        jittered(one_more_miss(base_series, case, metric, where), case.cadence, jitter, seed),
        seed + 1,
    )
    for what, series in variants.items():
        got = review(case, series)
        assert verdict_of(got) == verdict_of(base), what
        assert_as_designed(case, got, what)
        assert_same_runs(base, got, case.cadence, what)
    # shuffled rows are the same data: every result and its evidence is identical
    assert review(case, variants["shuffled"])["payload"]["results"] == base["payload"]["results"]


@PROPERTY_SETTINGS
@given(case=cases(), jitter=st.floats(0.0, 0.24), seed=st.integers(0, 2**32 - 1))
def test_a_hole_of_four_missed_scrapes_splits_a_run_whatever_the_jitter(case, jitter, seed):
    """The other side of the gap rule: a run of well over the duration, cut in the middle by
    4 missed scrapes into two pieces each well under it, is not met, jittered or not."""
    dz = case.ram
    need = dz.duration_s // case.cadence
    piece = need - MARGIN  # each piece clearly under the duration, the two far over it
    cut = replace(dz, pieces=(piece, piece), hole=4, misses=(), covered=grid_points(case.cadence))
    whole = replace(cut, pieces=(2 * piece + 4,), hole=0)
    assert whole.expected == "met" and cut.expected == "not_met"
    split = replace(case, ram=cut)
    assert review(split, materialise(split))["outcomes"]["ram.sustained"] == "not_met"
    got = review(split, jittered(materialise(split), case.cadence, jitter, seed))
    assert got["outcomes"]["ram.sustained"] == "not_met"
    joined = replace(case, ram=whole)
    assert review(joined, materialise(joined))["outcomes"]["ram.sustained"] == "met"


def test_generated_design_reads_back():
    """The generator itself: a 25 h run at 60 s with a miss inside is one run of 25 h."""
    dz = Design("ram.sustained", 60, grid_points(60), 10_000, (1500,), 0, (10_700,), 1)
    case = Case(60, 30, dz, replace(dz, criterion="cpu.sustained", pieces=(30,), misses=()))
    got = review(case, materialise(case))
    run = got["evidence"]["ram.sustained"]["longest_run"]
    assert run["samples"] == 1499 and run["duration_s"] == pytest.approx(1500 * 60)
    assert got["outcomes"] == {
        **got["outcomes"],
        "ram.sustained": "met",
        "cpu.sustained": "not_met",
    }
    assert got["decision"] == "upgrade_ram"

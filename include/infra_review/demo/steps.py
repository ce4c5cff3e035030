"""The steps `make demo` runs, in order. Each step prints its own part of the walk-through."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import UTC
from pathlib import Path

from infra_review.demo.sample_quarter import (
    DEFAULT_QUARTER,
    SAMPLE_SERVERS,
    SEED,
    write_sample_quarter,
)
from infra_review.quarter import Quarter


def _timed(title: str) -> Callable:
    def wrap(func: Callable) -> Callable:
        def run(ctx: dict) -> None:
            print(f"\n== {title}")
            started = time.perf_counter()
            func(ctx)
            print(f"   ({time.perf_counter() - started:.1f} s)")

        run.__name__ = func.__name__
        return run

    return wrap


@_timed("Database: migrations and the reporting catalog")
def migrate(ctx: dict) -> None:
    from infra_review.fleet import load_fleet, sync_servers
    from infra_review.reporting.catalog import sync
    from infra_review.settings import database_url
    from infra_review.store.db import connect
    from infra_review.store.migrate import upgrade

    url = database_url()
    print(f"   database: {url}")
    applied = upgrade()
    print(f"   applied {len(applied)} migration(s)" if applied else "   schema up to date")
    with connect() as conn:
        fleet = load_fleet()
        sync_servers(conn, fleet)
        synced = sync(conn, fleet=fleet)  # what the reporting views join to
    print(
        f"   reporting catalog: {synced.criteria} criteria (version {synced.criteria_version}), "
        f"{synced.servers} scrape interval(s)"
    )
    from infra_review.reporting.bi import prepare

    ctx["bi"] = prepare()  # on the embedded server: bi_reader's password, generated once


def say(text: str) -> None:
    """A progress line, flushed at once (make's output may be a pipe)."""
    print(f"   {text}", flush=True)


@_timed("Sample quarters: generate (once) and import (idempotent)")
def load_sample_quarter(ctx: dict) -> None:
    from infra_review.imports import import_complaints, import_plans, import_samples
    from infra_review.progress import Progress

    out: Path = ctx["data_dir"] / "sample-quarter"
    quarters = [*ctx["history"], ctx["quarter"]]
    for back, quarter in zip(range(len(quarters) - 1, -1, -1), quarters, strict=True):
        role = "the quarter under review" if back == 0 else "history, for trends and changes"
        say(f"{quarter}, {role}: 1-minute samples of {', '.join(SAMPLE_SERVERS)}")
        started = time.perf_counter()
        files = write_sample_quarter(out, quarter, SEED - back, quarters_before=back)
        if files.reused:
            say(
                f"  {files.samples.name}: unchanged since it was written, kept ({files.rows:,} rows)"
            )
        else:
            took = time.perf_counter() - started
            say(f"  wrote {files.samples.name}: {files.rows:,} rows in {took:.1f} s")
        say(
            f"  importing {files.samples.name} (validates every row, merges on series and time) ..."
        )
        progress = Progress(f"     {files.samples.name}", stream=sys.stdout, every=5)
        try:
            stats = import_samples(files.samples, progress=progress)
        finally:
            progress.close()
        if stats.already_loaded_at is not None:
            when = stats.already_loaded_at.astimezone(UTC)
            say(
                f"  {files.samples.name}: already imported on {when:%Y-%m-%d %H:%M} UTC "
                f"({stats.rows_in:,} samples, same content): nothing to do"
            )
        else:
            say(
                f"  {files.samples.name}: {stats.rows_in:,} samples read, "
                f"{stats.rows_written:,} new or changed"
            )
        ctx.setdefault("changed", {})[str(quarter)] = stats.rows_written > 0
        if back == 0:
            complaints = import_complaints(files.complaints)
            say(f"  {files.complaints.name}: {complaints.rows_in} complaints")
            plans = import_plans(files.plans)
            say(f"  {files.plans.name}: {plans.rows_in} planned service(s)")


@_timed("Quality gate: the collect DAG's suites over each imported quarter")
def quality_gate(ctx: dict) -> None:
    from infra_review.demo.gate import gate_quarter, validated
    from infra_review.store.db import connect

    servers = list(SAMPLE_SERVERS)
    for quarter in [*ctx["history"], ctx["quarter"]]:
        with connect() as conn:
            if not ctx.get("changed", {}).get(str(quarter), True) and validated(
                conn, quarter, servers
            ):
                say(f"{quarter}: validated before and no sample changed since; results kept")
                continue
            say(f"{quarter}: reading each server's quarter back and checking it ...")
            for line in gate_quarter(conn, quarter, servers):
                say("  " + line.text())
    say("results: reporting.quality_results (Grafana's data-quality panel)")


@_timed("Summary of the quarter from PostgreSQL")
def summary(ctx: dict) -> None:
    from infra_review.store.db import connect
    from infra_review.summary import format_table, window_summary

    quarter: Quarter = ctx["quarter"]
    with connect() as conn:
        # the sample quarter's servers only: the provider step's pilot probes are not fleet data
        frame = window_summary(conn, quarter.start, quarter.end, servers=list(SAMPLE_SERVERS))
    print(f"   {quarter}: {quarter.start:%Y-%m-%d} to {quarter.end:%Y-%m-%d} (UTC)")
    print(format_table(frame))


@_timed("Provider review: example invoices, rates, tickets and a pilot; scorecards")
def provider_review(ctx: dict) -> None:
    from infra_review.provider.demo import demo_step

    demo_step(ctx)


def _history_review(quarter: Quarter, run_key: str) -> str | None:
    """The decisions of the demo's earlier review of ``quarter`` with today's criteria file,
    as text, or None when there is none (so it has to run)."""
    from infra_review.criteria.rules import load_criteria
    from infra_review.store.db import connect

    with connect() as conn, conn.cursor() as cur:
        cur.execute(
            """SELECT string_agg(d.subject || ' ' || d.decision, ', ' ORDER BY d.subject)
               FROM infra_review.review_runs r
               JOIN infra_review.decisions d USING (run_id)
               WHERE r.review_type = 'capacity' AND r.quarter = %s AND r.run_key = %s
                 AND r.criteria_sha256 = %s AND d.status <> 'superseded'""",
            (str(quarter), run_key, load_criteria().sha256),
        )
        return cur.fetchone()[0]


@_timed("Capacity review: RAM, CPU and new-server criteria with evidence")
def capacity_review(ctx: dict) -> None:
    from infra_review.capacity.demo import demo_step
    from infra_review.capacity.runner import run_capacity_review

    for quarter in ctx["history"]:
        run_key = f"demo:{quarter}"
        earlier = _history_review(quarter, run_key)
        if earlier and not ctx.get("changed", {}).get(str(quarter), True):
            say(f"capacity review {quarter} (history): done before with these samples and criteria")
            say(f"  {quarter}: {earlier}")
            continue
        say(f"capacity review {quarter} (history; the same run again replaces its own rows) ...")
        review = run_capacity_review(quarter, triggered_by="make demo", run_key=run_key)
        decided = ", ".join(f"{d.subject} {d.decision}" for d in review.decisions)
        say(f"  {quarter}: {decided}")
    say(f"capacity review {ctx['quarter']} ...")
    demo_step(ctx)
    say(
        "how decisions changed over quarters: SELECT quarter, subject, decision FROM "
        "reporting.decision_history WHERE is_current ORDER BY subject, quarter"
    )


@_timed("BI: connect Metabase, Grafana or Superset to the reporting views")
def bi_connection(ctx: dict) -> None:
    from infra_review.reporting.bi import prepare

    bi = ctx.get("bi") or prepare()
    for line in bi.lines():
        print(f"   {line}")
    print("   (the same again: infra-review db url --bi; stop the embedded server: make stop-db)")


# Later steps (reviews) append themselves here; the BI settings come last.
STEPS: list[Callable[[dict], None]] = [
    migrate,
    load_sample_quarter,
    quality_gate,
    summary,
    provider_review,
    capacity_review,
    bi_connection,
]
HISTORY_QUARTERS = 1  # earlier quarters the demo loads and reviews before the one it shows


def run_demo(quarter: Quarter = DEFAULT_QUARTER) -> None:
    from infra_review.settings import data_dir

    history = [quarter]
    for _ in range(HISTORY_QUARTERS):
        history.insert(0, history[0].previous())
    ctx = {"quarter": quarter, "history": history[:-1], "data_dir": data_dir()}
    started = time.perf_counter()
    for step in STEPS:
        step(ctx)
    print(f"\nmake demo finished in {time.perf_counter() - started:.0f} s")

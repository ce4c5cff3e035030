"""The steps `make demo` runs, in order. Each step prints its own part of the walk-through."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from infra_review.demo.sample_quarter import DEFAULT_QUARTER, SAMPLE_SERVERS, write_sample_quarter
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


@_timed("Sample quarter: generate and import (idempotent)")
def load_sample_quarter(ctx: dict) -> None:
    from infra_review.imports import import_complaints, import_plans, import_samples

    out: Path = ctx["data_dir"] / "sample-quarter"
    files = write_sample_quarter(out, ctx["quarter"])
    stats = import_samples(files.samples)
    print(
        f"   {files.samples.name}: {stats.rows_in} samples read, {stats.rows_written} new or changed"
    )
    complaints = import_complaints(files.complaints)
    print(f"   {files.complaints.name}: {complaints.rows_in} complaints")
    plans = import_plans(files.plans)
    print(f"   {files.plans.name}: {plans.rows_in} planned service(s)")


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


@_timed("Capacity review: RAM, CPU and new-server criteria with evidence")
def capacity_review(ctx: dict) -> None:
    from infra_review.capacity.demo import demo_step

    demo_step(ctx)


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
    summary,
    provider_review,
    capacity_review,
    bi_connection,
]


def run_demo(quarter: Quarter = DEFAULT_QUARTER) -> None:
    from infra_review.settings import data_dir

    ctx = {"quarter": quarter, "data_dir": data_dir()}
    for step in STEPS:
        step(ctx)

"""Read what the capacity criteria need from PostgreSQL, once per server.

The series come from ``store.samples.read_series`` (one binary COPY per server); the small
things (previous quarter's latency p95, complaints, planned services) from parameterised
queries.
Every series gets a fingerprint (count, first and last timestamp, a hash of its values),
stored with the review, so a recomputation can tell whether the samples changed since.

Cadence and coverage: each series' cadence is measured from the timestamps just read
(``quality.window.measure_series``, numpy in the same pass, no second read) and judged
over time; the gap rule of every criterion then uses the measured cadence day by day
(``SeriesInput.cadence``, measured over the look-back and the window: ``run_cadence``),
never fleet.yaml's ``scrape_interval_s``, which is only the fallback for a series too thin
to measure and the cross-check the verdict's notes report. How far before and after the
window each metric is read (sized from the cadence measured in the rows read) is
``capacity/reading.py``.
The measurement is frozen in the stored verdict, not written to ``series.cadence_s``
(see ``quality.window``).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import numpy as np

from infra_review.capacity.criteria.common import (
    CAPACITY_METRICS,
    SeriesInput,
    ServerInputs,
    missing_gate,
)
from infra_review.errors import InputError
from infra_review.fleet import Fleet
from infra_review.quality.window import (
    DEFAULT_INTERVAL_S,
    Counts,
    WindowVerdict,
    measure_series,
)
from infra_review.quarter import Quarter
from infra_review.store.samples import read_series
from infra_review.timeseries import cadence as cad
from infra_review.timeseries.runs import CleanSeries, clean_series, to_datetime


def interval_of(fleet: Fleet, server: str) -> int:
    """The server's configured scrape interval (fleet.yaml): a default and a cross-check for
    its series' measured cadence, never used for a series' gaps or coverage."""
    s = fleet.servers.get(server)
    return s.scrape_interval_s if s else DEFAULT_INTERVAL_S


def known_servers(conn, fleet: Fleet) -> set[str]:
    with conn.cursor() as cur:
        cur.execute("SELECT server FROM infra_review.servers")
        return {row[0] for row in cur.fetchall()} | set(fleet.servers)


def review_servers(
    conn, fleet: Fleet, quarter: Quarter, requested: list[str] | None
) -> tuple[list[str], bool]:
    """The servers to review and whether that is the whole fleet.

    All: fleet.yaml's servers plus any server with capacity samples in the window. Requested:
    each must be known (fleet or registered by samples), else InputError naming the field.
    The review is complete (a fleet decision is made) when it covers fleet.yaml's servers.
    """
    with conn.cursor() as cur:
        cur.execute(
            """SELECT DISTINCT r.server FROM infra_review.series r
               WHERE r.metric = ANY(%(metrics)s)
                 AND EXISTS (SELECT 1 FROM infra_review.samples s
                             WHERE s.series_id = r.series_id
                               AND s.ts >= %(start)s AND s.ts < %(end)s)""",
            {"metrics": list(CAPACITY_METRICS), "start": quarter.start, "end": quarter.end},
        )
        with_data = {row[0] for row in cur.fetchall()}
    everyone = sorted(set(fleet.servers) | with_data)
    if not requested:
        return everyone, True
    known = known_servers(conn, fleet)
    unknown = [s for s in requested if s not in known]
    if unknown:
        raise InputError(
            f"unknown server(s) {unknown}; known servers are {sorted(known)}", field="servers"
        )
    chosen = sorted(dict.fromkeys(requested))
    # complete = every server fleet.yaml lists (the fleet); unlisted ones never block it
    return chosen, set(fleet.servers) <= set(chosen)


def gate_of(verdict: WindowVerdict, server: str, metric: str, label: str) -> dict[str, Any]:
    """The verdict of one series, in the shape criteria evidence uses."""
    for s in verdict.for_series(server, metric):
        if s.label == label:
            return {
                "passed": s.passed,
                "coverage": s.coverage,
                "samples": s.samples,
                "expected": s.expected,
                "floor": verdict.floor,
                "reasons": list(s.reasons),
                **_cadence_of(s),
            }
    return {
        **missing_gate(server, f"{metric}{{{label}}}" if label else metric),
        "floor": verdict.floor,
    }


def _cadence_of(s) -> dict[str, Any]:
    """The measured cadence of a series' verdict, for its gate evidence (absent from a
    verdict stored before cadences were measured)."""
    if s.cadence_s is None:
        return {}
    return {
        "cadence_s": s.cadence_s,
        "gap_cadence_s": s.gap_cadence_s,
        "cadence_source": s.cadence_source,
        "configured_s": s.configured_s,
        "covered_h": s.covered_h,
        "window_h": s.window_h,
        "cadence_changes": list(s.cadence_changes),
        "notes": list(s.notes),
    }


def _blake2b(ts_us: np.ndarray, values: np.ndarray) -> str:
    digest = hashlib.blake2b(digest_size=16)
    digest.update(np.ascontiguousarray(ts_us).tobytes())
    digest.update(np.ascontiguousarray(values).tobytes())
    return digest.hexdigest()


def fingerprint(data: CleanSeries) -> dict[str, Any]:
    out = {
        "samples": len(data),
        "first": to_datetime(data.ts_us[0]).isoformat() if len(data) else None,
        "last": to_datetime(data.ts_us[-1]).isoformat() if len(data) else None,
        "blake2b": _blake2b(data.ts_us, data.values),
    }
    if data.lookback_from_us is not None:  # the rows read before the window, apart
        out["lookback"] = {
            "from": to_datetime(data.lookback_from_us).isoformat(),
            "samples": data.lookback_samples,
            "blake2b": _blake2b(data.lookback_ts_us, data.lookback_values),
        }
    if data.lookahead_to_us is not None:  # the rows read after the window, apart
        out["lookahead"] = {
            "to": to_datetime(data.lookahead_to_us).isoformat(),
            "samples": data.lookahead_samples,
            "blake2b": _blake2b(data.lookahead_ts_us, data.lookahead_values),
        }
    return out


def read_server_series(
    conn,
    server: str,
    quarter: Quarter,
    lookback: dict[str, timedelta] | None = None,
    lookahead: dict[str, timedelta] | None = None,
) -> dict[tuple[str, str], CleanSeries]:
    """The server's capacity series in the window, read once, as numpy arrays per series,
    with exactly the given look-back (and look-ahead) per metric kept apart in each
    ``CleanSeries``; none by default. The review sizes them from the rows it reads
    (``reading.read_sized``)."""
    from infra_review.capacity.reading import Reach, read_reach, reader_of

    return read_reach(reader_of(conn, server), quarter, Reach(lookback or {}, lookahead or {}))


def run_cadence(data: CleanSeries, fallback_s: float) -> cad.Cadence:
    """The cadence per UTC day of the samples the run criteria judge: the look-back and the
    window, measured alike (the gap rule follows a change of scrape interval day by day; a
    look-back too thin to measure takes the cadence at the window's start)."""
    ts_us = data.with_lookback()[0]
    return cad.measure(ts_us, fallback_s=float(fallback_s), fallback_source="recorded")


def counts_from_series(
    server: str,
    series: dict[tuple[str, str], CleanSeries],
    cadence: dict[tuple[str, str], int],
    quarter: Quarter,
) -> Counts:
    """``quality.window.series_counts`` from series already read: each series' cadence and
    covered time measured from its timestamps in the quarter (numpy, O(n)), so a one-process
    review judges coverage without a second pass over the rows. ``cadence`` is what the
    collectors recorded (``series_cadence``): the fallback for a series too thin to measure,
    and the cross-check."""
    return {
        (server, metric, label): measure_series(
            data.ts_us,
            quarter.start,
            quarter.end,
            nan_rows=data.nan_dropped,
            recorded_s=cadence.get((metric, label)),
        )
        for (metric, label), data in series.items()
    }


def series_cadence(conn, server: str) -> dict[tuple[str, str], int]:
    """Seconds between samples that each series' collector promised (series.cadence_s):
    the fallback and cross-check for the cadence measured from the samples."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT metric, label, cadence_s FROM infra_review.series
               WHERE server = %s AND cadence_s IS NOT NULL""",
            (server,),
        )
        return {(m, lab): int(c) for m, lab, c in cur.fetchall()}


def previous_latency(
    conn, server: str, quarter: Quarter, interval_s: int, floor: float, percentile: float = 95
) -> dict[str, dict[str, Any]]:
    """Per endpoint: the previous quarter's p95 latency, its samples and coverage verdict.

    One binary COPY of the previous quarter's latency rows; the p95 is numpy's (linear
    between closest ranks, as PostgreSQL's ``percentile_cont``) and coverage is over
    time at each series' measured cadence, as in the window's gate. ``interval_s`` (the
    server's configured interval) is the cadence assumed for a series too thin to measure.
    """
    prev = quarter.previous()
    raw = read_series(conn, prev.start, prev.end, servers=[server], metrics=["api_latency_s"])
    window_s = (prev.end - prev.start).total_seconds()
    out = {}
    for (_, _, label), (ts_us, values) in sorted(raw.items()):
        data = clean_series(ts_us, values, prev.start, prev.end)
        if not len(data):
            continue
        seen = measure_series(
            data.ts_us, prev.start, prev.end, nan_rows=data.nan_dropped, recorded_s=interval_s
        )
        coverage = min(1.0, seen.covered_s / window_s) if window_s else 0.0
        reasons = []
        if coverage < floor:
            reasons.append(
                f"coverage {coverage:.1%} below the floor {floor:.0%} in {prev}: "
                f"{seen.covered_s / 3600:.1f} of {window_s / 3600:.0f} h hold data at the "
                f"series' cadence ({seen.samples} of {seen.expected} expected samples)"
            )
        out[label] = {
            "quarter": str(prev),
            "p95": float(np.percentile(data.values, percentile)),
            "samples": seen.samples,
            "expected": seen.expected,
            "coverage": coverage,
            "cadence_s": seen.cadence_s,
            "passed": not reasons,
            "reasons": reasons,
        }
    return out


def read_complaints(conn, quarter: Quarter) -> list[dict[str, Any]]:
    with conn.cursor() as cur:
        cur.execute(
            """SELECT ts, service, server, category, text FROM infra_review.complaints
               WHERE ts >= %s AND ts < %s ORDER BY ts, service, server""",
            (quarter.start, quarter.end),
        )
        return [
            {"ts": ts.isoformat(), "service": svc, "server": srv, "category": cat, "text": text}
            for ts, svc, srv, cat, text in cur.fetchall()
        ]


def attribute_complaints(
    complaints: list[dict[str, Any]],
    fleet: Fleet,
    server: str,
    reviewed: tuple[str, ...] | list[str] = (),
) -> list[dict[str, Any]]:
    """The server's complaints (named it, or name a service only this server runs), then the
    ones no single server can take, flagged ``unattributed`` with the reason and candidates:
    a service that runs on no server or on several, or a server nobody reviews. Those are
    counted nowhere, but every server's evidence lists them, so none is silently dropped."""
    runs: dict[str, list[str]] = {}
    for s in fleet.servers.values():
        for svc in s.services:
            runs.setdefault(svc, []).append(s.name)
    known = set(fleet.servers) | set(reviewed) | {server}
    out, orphans = [], []
    for c in complaints:
        named, hosts = c.get("server"), runs.get(c.get("service") or "", [])
        if named and named in known:
            if named == server:
                out.append({**c, "attributed_by": "server"})
        elif named:
            orphans.append(
                {**c, "unattributed": f"server {named!r} is not reviewed", "candidates": []}
            )
        elif hosts == [server]:
            out.append({**c, "attributed_by": "service"})
        elif len(hosts) > 1:
            why = f"service {c.get('service')!r} runs on {len(hosts)} servers ({', '.join(hosts)})"
            orphans.append({**c, "unattributed": why, "candidates": sorted(hosts)})
        elif not hosts:
            why = (
                f"service {c.get('service')!r} runs on no server in fleet.yaml"
                if c.get("service")
                else "it names neither a server nor a service"
            )
            orphans.append({**c, "unattributed": why, "candidates": []})
    return out + orphans


def read_planned(conn) -> list[dict[str, Any]]:
    with conn.cursor() as cur:
        cur.execute(
            """SELECT service, server, planned_for, ram_gb, cpu_cores
               FROM infra_review.planned_services ORDER BY server, planned_for, service"""
        )
        return [
            {
                "service": svc,
                "server": srv,
                "planned_for": day.isoformat(),
                "ram_gb": float(ram),
                "cpu_cores": float(cpu),
            }
            for svc, srv, day, ram, cpu in cur.fetchall()
        ]


def server_metadata(fleet: Fleet, server: str) -> dict[str, Any]:
    s = fleet.servers.get(server)
    if s is None:
        return {"server": server, "in_fleet": False, "scrape_interval_s": DEFAULT_INTERVAL_S}
    return {
        "server": server,
        "in_fleet": True,
        "provider": s.provider,
        "region": s.region,
        "plan": s.plan,
        "ram_gb": s.ram_gb,
        "cpu_cores": s.cpu_cores,
        "services": list(s.services),
        "data_classes": list(s.data_classes),
        "scrape_interval_s": s.scrape_interval_s,
    }


def build_inputs(
    server: str,
    quarter: Quarter,
    series: dict[tuple[str, str], CleanSeries],
    verdict: WindowVerdict,
    metadata: dict[str, Any],
    *,
    previous: dict[str, dict[str, Any]] | None,
    complaints: list[dict[str, Any]],
    planned: list[dict[str, Any]],
    cadence: dict[tuple[str, str], int] | None = None,
) -> ServerInputs:
    """Pure: assemble the criteria's inputs from what was read (or what a review stored)."""
    cadence = cadence or {}
    server_s = float(metadata.get("scrape_interval_s") or DEFAULT_INTERVAL_S)
    by_metric: dict[str, list[SeriesInput]] = {}
    for (metric, label), data in sorted(series.items()):
        gate = gate_of(verdict, server, metric, label)
        # the measured cadence (the coarsest day's); the recorded one only for a verdict
        # stored before cadences were measured
        one = gate.get("gap_cadence_s") or cadence.get((metric, label))
        by_metric.setdefault(metric, []).append(
            SeriesInput(metric, label, data, gate, one, run_cadence(data, one or server_s))
        )
    return ServerInputs(
        server=server,
        window_start=quarter.start,
        window_end=quarter.end,
        interval_s=float(metadata.get("scrape_interval_s") or DEFAULT_INTERVAL_S),
        ram_gb=metadata.get("ram_gb"),
        cpu_cores=metadata.get("cpu_cores"),
        services=tuple(metadata.get("services") or ()),
        series=by_metric,
        previous_latency=previous,
        previous_quarter=str(quarter.previous()),
        complaints=complaints,
        planned=[p for p in planned if p["server"] == server],
    )

"""Frozen evidence: recompute a stored capacity review from what it stored.

A review run stores the criteria rules it used (a snapshot of criteria.yaml at its version),
each server's metadata, complaints, planned services and previous-quarter latency, the
window's quality verdict, the fleet requirements and plan sizes, and a fingerprint of every
series it read. Recomputing re-reads the samples (with the look-back and look-ahead the review read, its
stored ``reach``), says whether any series changed since
(late or re-imported data), re-evaluates with the stored rules and inputs only, and compares
every criterion result and decision with the stored rows.
"""

from __future__ import annotations

import math
from typing import Any

from infra_review.capacity import data as d
from infra_review.capacity.evaluate import (
    build_decisions,
    evaluate_fleet_inputs,
    evaluate_server_inputs,
    rules_from_snapshot,
)
from infra_review.capacity.reading import Reach, read_reach, reader_of
from infra_review.errors import InputError
from infra_review.quality.window import WindowVerdict
from infra_review.quarter import Quarter


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-12)


def _as_stored(now: dict[str, Any], then: dict[str, Any] | None) -> dict[str, Any]:
    """A fingerprint without the parts a review stored before they existed (``lookback``,
    ``lookahead``): nothing read there is compared with nothing."""
    if then is None:
        return now
    return {k: v for k, v in now.items() if k not in ("lookback", "lookahead") or k in then}


def recompute_run(conn, run_id: int) -> dict[str, Any]:
    with conn.cursor() as cur:
        cur.execute(
            """SELECT quarter, criteria_version, quality_verdict, inputs
               FROM infra_review.review_runs WHERE run_id = %s AND review_type = 'capacity'""",
            (run_id,),
        )
        row = cur.fetchone()
        if row is None:
            raise InputError(f"no capacity review run {run_id}", field="run_id")
        quarter_text, version, verdict_doc, inputs = row
        cur.execute(
            """SELECT subject, criterion_id, outcome, observed
               FROM infra_review.criterion_results WHERE run_id = %s""",
            (run_id,),
        )
        stored_results = {(s, c): (o, v) for s, c, o, v in cur.fetchall()}
        cur.execute(
            "SELECT subject, decision FROM infra_review.decisions WHERE run_id = %s", (run_id,)
        )
        stored_decisions = dict(cur.fetchall())
    quarter = Quarter.parse(quarter_text)
    rules, defaults = rules_from_snapshot(inputs["criteria"])
    verdict = WindowVerdict.from_dict(verdict_doc)
    payloads, changed = [], []
    for server, stored in sorted(inputs["per_server"].items()):
        cadence = {
            tuple(k.split("|", 1)): v["cadence_s"]
            for k, v in stored["fingerprints"].items()
            if v.get("cadence_s")
        }
        # the rows the review read: its stored reach, never sized again (a review stored
        # before the look-back existed read the window only, and so does this)
        reach = Reach.from_stored(stored, quarter)
        series = read_reach(reader_of(conn, server), quarter, reach)
        then = {
            k: {x: y for x, y in v.items() if x != "cadence_s"}
            for k, v in stored["fingerprints"].items()
        }
        now = {
            key: _as_stored(d.fingerprint(data), then.get(key))
            for key, data in ((f"{m}|{lab}", data) for (m, lab), data in series.items())
        }
        for key in sorted(set(now) | set(then)):
            if now.get(key) != then.get(key):
                changed.append(
                    {"server": server, "series": key, "stored": then.get(key), "now": now.get(key)}
                )
        payloads.append(
            evaluate_server_inputs(
                server,
                quarter,
                series,
                verdict,
                stored["metadata"],
                previous=stored["previous_latency"],
                complaints=stored["complaints"],
                planned=stored["planned"],
                cadence=cadence,
                rules=rules,
                defaults=defaults,
            )
        )
    fleet_inputs = inputs.get("fleet_inputs")
    if fleet_inputs:
        fleet_payload = evaluate_fleet_inputs(
            quarter,
            [p["stats"] for p in payloads],
            fleet_inputs["requirements"],
            fleet_inputs["plans"],
            fleet_inputs["plans_source"],
            rules,
            defaults,
        )
    else:
        fleet_payload = {"skipped": True, "reason": inputs.get("fleet_skipped")}
    plan = {"quarter": quarter_text, "criteria": {"version": version}}
    decisions = build_decisions(
        plan, payloads, fleet_payload, rules, defaults, inputs.get("price_book")
    )
    differences = []
    seen = set()
    for x in decisions:
        if stored_decisions.get(x.subject) != x.decision:
            differences.append(
                {"subject": x.subject, "stored": stored_decisions.get(x.subject), "now": x.decision}
            )
        for r in x.results:
            key = (r.subject, r.criterion_id)
            seen.add(key)
            outcome, observed = stored_results.get(key, (None, None))
            rec = r.to_record()
            if outcome != rec["outcome"] or not _same(observed, rec["observed"]):
                differences.append(
                    {
                        "subject": r.subject,
                        "criterion_id": r.criterion_id,
                        "stored": [outcome, observed],
                        "now": [rec["outcome"], rec["observed"]],
                    }
                )
    for key in sorted(set(stored_results) - seen):
        differences.append(
            {"subject": key[0], "criterion_id": key[1], "stored": stored_results[key], "now": None}
        )
    return {
        "run_id": run_id,
        "quarter": quarter_text,
        "criteria_version": version,
        "samples_changed": changed,
        "differences": differences,
        "matches": not differences,
    }

"""The pure steps of the capacity review: one server's criteria from its series, the fleet's
criteria from the servers' numbers, and the decisions from the results. Nothing here reads a
database, a file or a clock, so ``capacity.recompute`` replays a stored review through the
same functions and must get the same result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from infra_review.capacity import data as d
from infra_review.capacity.criteria.server import FleetInputs
from infra_review.capacity.decide import Decision, result_from_record
from infra_review.capacity.reading import reach_of
from infra_review.capacity.records import decide_server
from infra_review.capacity.records_fleet import decide_fleet
from infra_review.capacity.sizing_records import with_sizing
from infra_review.capacity.trends import fleet_forecast, fleet_stats, forecasts
from infra_review.criteria.registry import bind_rules
from infra_review.criteria.result import json_safe
from infra_review.criteria.rules import CriteriaSet, Rule
from infra_review.quarter import Quarter

if TYPE_CHECKING:
    from infra_review.capacity.plan import ReviewPlan

REVIEW_TYPE = "capacity"


def criteria_snapshot(criteria: CriteriaSet) -> dict[str, Any]:
    """The rules a review used, stored with it so the decision can be recomputed later."""
    return {
        "version": criteria.version,
        "sha256": criteria.sha256,
        "path": criteria.path,
        "defaults": criteria.defaults,
        "rules": {
            r.id: {
                "review": r.review,
                "group": r.group,
                "text_ru": r.text_ru,
                "text_en": r.text_en,
                "params": r.params,
            }
            for r in criteria.for_review(REVIEW_TYPE)
        },
    }


def rules_from_snapshot(snapshot: dict[str, Any]) -> tuple[dict[str, Rule], dict[str, Any]]:
    rules = {
        rid: Rule(rid, r["review"], r["group"], r["text_ru"], r["text_en"], r["params"])
        for rid, r in snapshot["rules"].items()
    }
    return rules, dict(snapshot.get("defaults") or {})


def evaluate_server_inputs(
    server: str,
    quarter: Quarter,
    series: dict,
    verdict,
    metadata: dict[str, Any],
    *,
    previous: dict[str, Any] | None,
    complaints: list[dict[str, Any]],
    planned: list[dict[str, Any]],
    cadence: dict[tuple[str, str], int],
    rules: dict[str, Rule],
    defaults: dict[str, Any],
) -> dict[str, Any]:
    """Pure: the server's criterion results, forecasts and fleet numbers, plus the inputs
    (metadata, fingerprints, complaints, plans) that let the result be recomputed."""
    inp = d.build_inputs(
        server,
        quarter,
        series,
        verdict,
        metadata,
        previous=previous,
        complaints=complaints,
        planned=planned,
        cadence=cadence,
    )
    criteria = bind_rules(rules, defaults)
    results = [c.evaluate(inp) for c in criteria.values() if c.scope == "server"]
    stats = fleet_stats(rules, inp, defaults)
    stats.update(
        {
            k: metadata.get(k)
            for k in ("in_fleet", "provider", "plan", "region", "data_classes", "services")
        }
    )
    return json_safe(
        {
            "server": server,
            "results": [r.to_record() for r in results],
            "forecasts": forecasts(rules, inp, defaults),
            "stats": stats,
            "inputs": {
                "metadata": metadata,
                "previous_latency": previous,
                "complaints": complaints,
                "planned": inp.planned,
                # how far before and after the window each metric was read: a recomputation
                # reads the same (capacity/reading.py)
                "reach": reach_of(series, quarter).to_dict(),
                "fingerprints": {
                    f"{metric}|{label}": {
                        **d.fingerprint(data),
                        "cadence_s": cadence.get((metric, label)),
                    }
                    for (metric, label), data in sorted(series.items())
                },
            },
        }
    )


def evaluate_fleet_inputs(
    quarter: Quarter,
    stats: list[dict[str, Any]],
    requirements: dict[str, Any],
    plans: dict[str, list[dict[str, Any]]],
    plans_source: dict[str, Any],
    rules: dict[str, Rule],
    defaults: dict[str, Any],
) -> dict[str, Any]:
    fin = FleetInputs(quarter.start, quarter.end, stats, requirements, plans, plans_source)
    criteria = bind_rules(rules, defaults)
    results = [c.evaluate(fin) for c in criteria.values() if c.scope == "fleet"]
    return json_safe(
        {
            "skipped": False,
            "results": [r.to_record() for r in results],
            "forecast": fleet_forecast(fin),
            "unattributed_complaints": unattributed_complaints(stats),
            "inputs": {
                "requirements": requirements,
                "plans": plans,
                "plans_source": plans_source,
                "servers": stats,
            },
        }
    )


def unattributed_complaints(stats: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Complaints no single server took (each server lists the same ones): once each."""
    seen: dict[tuple, dict[str, Any]] = {}
    for s in stats:
        for c in s.get("unattributed_complaints") or []:
            key = (c.get("ts"), c.get("service"), c.get("server"), c.get("text"))
            seen.setdefault(key, c)
    return sorted(seen.values(), key=lambda c: str(c.get("ts")))


def build_decisions(
    plan: dict[str, Any],
    payloads: list[dict[str, Any]],
    fleet_payload: dict[str, Any],
    rules: dict[str, Rule],
    defaults: dict[str, Any],
    book: dict[str, Any] | None = None,
) -> list[Decision]:
    """One decision per server (sorted) and one for the fleet unless it was skipped; with a
    price book (``sizing_inputs.price_book``) each action is sized (``sizing_records``)."""
    quarter = Quarter.parse(plan["quarter"])
    horizon = float(quarter.next().days)  # the watch horizon: the end of the next quarter
    out = []
    for p in sorted(payloads, key=lambda p: p["server"]):
        out.append(
            decide_server(
                p["server"],
                quarter,
                [result_from_record(r) for r in p["results"]],
                p["forecasts"],
                rules,
                metadata=p["inputs"]["metadata"],
                criteria_version=plan["criteria"]["version"],
                horizon_days=horizon,
            )
        )
    if not fleet_payload.get("skipped"):
        out.append(
            decide_fleet(
                quarter,
                [result_from_record(r) for r in fleet_payload["results"]],
                fleet_payload.get("forecast"),
                rules,
                # the fleet is fleet.yaml; servers only their samples registered stand apart
                servers=[p["server"] for p in payloads if p["stats"].get("in_fleet")],
                unlisted=[p["server"] for p in payloads if not p["stats"].get("in_fleet")],
                unattributed=fleet_payload.get("unattributed_complaints") or [],
                criteria_version=plan["criteria"]["version"],
                horizon_days=horizon,
            )
        )
    return with_sizing(out, quarter, payloads, fleet_payload, rules, defaults, book)


def review_inputs(
    review: ReviewPlan,
    criteria: CriteriaSet,
    payloads: list[dict[str, Any]],
    fleet_payload: dict[str, Any],
    book: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What the review run stores so that ``capacity.recompute`` can replay it."""
    from infra_review.fleet import load_fleet

    fleet = load_fleet(review.fleet_path)
    return {
        "criteria": criteria_snapshot(criteria),
        "fleet": {"path": fleet.path, "requirements": fleet.requirements},
        "servers": list(review.servers),
        "requested_servers": list(review.requested_servers),
        "complete": review.complete,
        "per_server": {p["server"]: p["inputs"] for p in payloads},
        "fleet_inputs": fleet_payload.get("inputs"),
        "fleet_skipped": fleet_payload.get("reason") if fleet_payload.get("skipped") else None,
        "price_book": book,  # plan sizes, prices and rates the actions were sized with
    }

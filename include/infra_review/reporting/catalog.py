"""Reference data the reporting views need and only the config files know.

``criteria.yaml`` holds the criteria texts (the seed's Russian and ours in English) and the
thresholds; ``fleet.yaml`` holds each server's scrape interval. The views join these to the
decision records, so a BI user sees the criterion text beside every result and a capacity
trend beside its threshold. Keyed by the criteria file's SHA-256, so every version a review
used stays readable after the file changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg2.extras import Json

from infra_review.criteria.readable import limits
from infra_review.criteria.result import json_safe
from infra_review.criteria.rules import CriteriaSet, load_criteria
from infra_review.fleet import Fleet, load_fleet

# Rule params that become their own columns; everything else stays in ``params``.
_COLUMN_PARAMS = ("metric", "comparator", "threshold", "default_source")


@dataclass(frozen=True)
class SyncResult:
    criteria_version: str
    criteria: int
    servers: int


def _threshold(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def sync_criteria(conn, criteria: CriteriaSet | None = None) -> int:
    """Upsert every criterion of this criteria file version; return how many."""
    criteria = criteria or load_criteria()
    with conn.cursor() as cur:
        for rule in criteria.rules.values():
            params = dict(rule.params)
            shown = limits(rule.id, params)  # the same numbers the results' views show
            cur.execute(
                """INSERT INTO infra_review.criteria_catalog
                       (criteria_sha256, criteria_version, criterion_id, review_type,
                        criterion_group, text_ru, text_en, metric, comparator, threshold,
                        default_source, params, shown_threshold, shown_comparator, unit,
                        duration_threshold, duration_comparator, duration_unit, synced_at)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
                           %s, %s, %s, %s, %s, %s, now())
                   ON CONFLICT (criteria_sha256, criterion_id) DO UPDATE SET
                       criteria_version = EXCLUDED.criteria_version,
                       review_type = EXCLUDED.review_type,
                       criterion_group = EXCLUDED.criterion_group,
                       text_ru = EXCLUDED.text_ru, text_en = EXCLUDED.text_en,
                       metric = EXCLUDED.metric, comparator = EXCLUDED.comparator,
                       threshold = EXCLUDED.threshold,
                       default_source = EXCLUDED.default_source, params = EXCLUDED.params,
                       shown_threshold = EXCLUDED.shown_threshold,
                       shown_comparator = EXCLUDED.shown_comparator, unit = EXCLUDED.unit,
                       duration_threshold = EXCLUDED.duration_threshold,
                       duration_comparator = EXCLUDED.duration_comparator,
                       duration_unit = EXCLUDED.duration_unit,
                       synced_at = EXCLUDED.synced_at""",
                (
                    criteria.sha256,
                    criteria.version,
                    rule.id,
                    rule.review,
                    rule.group,
                    rule.text_ru,
                    rule.text_en,
                    params.get("metric"),
                    params.get("comparator"),
                    _threshold(params.get("threshold")),
                    params.get("default_source"),
                    Json(json_safe({k: v for k, v in params.items() if k not in _COLUMN_PARAMS})),
                    shown.threshold,
                    shown.comparator,
                    shown.unit or None,
                    shown.duration_threshold,
                    shown.duration_comparator,
                    shown.duration_unit,
                ),
            )
    return len(criteria.rules)


def sync_scrape_intervals(conn, fleet: Fleet | None = None) -> int:
    """Upsert each fleet server's scrape interval (the weekly coverage's denominator)."""
    fleet = fleet or load_fleet()
    with conn.cursor() as cur:
        for server in fleet.servers.values():
            cur.execute(
                """INSERT INTO infra_review.server_scrape_intervals
                       (server, scrape_interval_s, synced_at)
                   VALUES (%s, %s, now())
                   ON CONFLICT (server) DO UPDATE SET
                       scrape_interval_s = EXCLUDED.scrape_interval_s,
                       synced_at = EXCLUDED.synced_at""",
                (server.name, int(server.scrape_interval_s)),
            )
    return len(fleet.servers)


def sync(conn, *, criteria: CriteriaSet | None = None, fleet: Fleet | None = None) -> SyncResult:
    """Both reference tables and the Airflow address, in the caller's transaction."""
    criteria = criteria or load_criteria()
    n_criteria = sync_criteria(conn, criteria)
    n_servers = sync_scrape_intervals(conn, fleet)
    from infra_review.reporting.bi import sync_airflow_url

    sync_airflow_url(conn)  # the views' report_url links
    return SyncResult(criteria.version, n_criteria, n_servers)

"""PostgreSQL reads for the provider review, and the scorecard table (UPSERT per run)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from psycopg2.extras import Json

from infra_review.criteria.result import json_safe
from infra_review.provider.inputs import InvoiceLine, Ticket
from infra_review.provider.money import Rate
from infra_review.provider.scorecard import Scorecard


def read_invoices(conn, providers: Sequence[str], first: date, end: date) -> list[InvoiceLine]:
    """Invoice lines of ``providers`` for months in [first, end)."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT provider, month, line_item, amount, currency, source_file, source_line,
                      quantity
               FROM infra_review.invoices
               WHERE provider = ANY(%s) AND month >= %s AND month < %s
               ORDER BY provider, month, line_item""",
            (list(providers), first, end),
        )
        return [
            InvoiceLine(p, m, li, float(a), cu.strip(), sf, sl, None if q is None else float(q))
            for p, m, li, a, cu, sf, sl, q in cur.fetchall()
        ]


def read_rates(conn, first: date, end: date) -> list[Rate]:
    with conn.cursor() as cur:
        cur.execute(
            """SELECT month, currency, base, rate FROM infra_review.exchange_rates
               WHERE month >= %s AND month < %s""",
            (first, end),
        )
        return [Rate(m, c.strip(), b.strip(), float(r)) for m, c, b, r in cur.fetchall()]


def read_tickets(conn, providers: Sequence[str], start: datetime, end: datetime) -> list[Ticket]:
    with conn.cursor() as cur:
        cur.execute(
            """SELECT provider, opened_at, first_response_at, resolved_at
               FROM infra_review.support_tickets
               WHERE provider = ANY(%s) AND opened_at >= %s AND opened_at < %s
               ORDER BY provider, opened_at""",
            (list(providers), start, end),
        )
        return [Ticket(*row) for row in cur.fetchall()]


def read_probe_counts(
    conn, servers: Sequence[str], start: datetime, end: datetime
) -> list[tuple[str, str, int, int]]:
    """(server, endpoint label, probes received, probes up) per probe_up series in the window.

    Counted in PostgreSQL: a quarter of 1-minute probes is too many rows to fetch for a sum.
    """
    with conn.cursor() as cur:
        cur.execute(
            """SELECT r.server, r.label, count(*), count(*) FILTER (WHERE s.value >= 0.5)
               FROM infra_review.samples s
               JOIN infra_review.series r USING (series_id)
               WHERE r.metric = 'probe_up' AND r.server = ANY(%s)
                 AND s.ts >= %s AND s.ts < %s
               GROUP BY r.server, r.label
               ORDER BY r.server, r.label""",
            (list(servers), start, end),
        )
        return [(s, label, int(n), int(up)) for s, label, n, up in cur.fetchall()]


def write_scorecards(
    conn, run_id: int, quarter: str, cards: Sequence[Scorecard], recommended: str | None
) -> None:
    """One row per provider for this run; a retry of the same run overwrites its own rows."""
    with conn.cursor() as cur:
        for card in cards:
            counts = card.counts()
            cur.execute(
                """INSERT INTO infra_review.provider_scorecards
                       (run_id, provider, role, quarter, outcomes, financial_score,
                        technical_score, strategic_score, weighted_total, weights, met_count,
                        not_met_count, insufficient_count, passes_fin_tech, critical_failed,
                        tco_ratio, annual_cost, currency, monthly_costs, recommended)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
                           %s, %s, %s)
                   ON CONFLICT (run_id, provider) DO UPDATE SET
                       role = EXCLUDED.role, quarter = EXCLUDED.quarter,
                       outcomes = EXCLUDED.outcomes, financial_score = EXCLUDED.financial_score,
                       technical_score = EXCLUDED.technical_score,
                       strategic_score = EXCLUDED.strategic_score,
                       weighted_total = EXCLUDED.weighted_total, weights = EXCLUDED.weights,
                       met_count = EXCLUDED.met_count, not_met_count = EXCLUDED.not_met_count,
                       insufficient_count = EXCLUDED.insufficient_count,
                       passes_fin_tech = EXCLUDED.passes_fin_tech,
                       critical_failed = EXCLUDED.critical_failed,
                       tco_ratio = EXCLUDED.tco_ratio, annual_cost = EXCLUDED.annual_cost,
                       currency = EXCLUDED.currency, monthly_costs = EXCLUDED.monthly_costs,
                       recommended = EXCLUDED.recommended""",
                (
                    run_id,
                    card.provider,
                    card.role,
                    quarter,
                    Json(card.outcomes()),
                    card.group_scores.get("financial", 0.0),
                    card.group_scores.get("technical", 0.0),
                    card.group_scores.get("strategic", 0.0),
                    card.weighted_total,
                    Json(json_safe(card.weights)),
                    counts["met"],
                    counts["not_met"],
                    counts["insufficient_data"],
                    card.passes_fin_tech,
                    card.critical_failed,
                    card.tco_ratio,
                    None if card.annual_cost is None else round(card.annual_cost, 2),
                    card.currency,
                    Json(json_safe(card.monthly_costs)),
                    card.provider == recommended,
                ),
            )
            # A retry that drops a provider must not leave its old row behind.
        cur.execute(
            "DELETE FROM infra_review.provider_scorecards WHERE run_id = %s AND NOT provider = ANY(%s)",
            (run_id, [c.provider for c in cards]),
        )

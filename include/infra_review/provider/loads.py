"""Import invoices, exchange rates and support tickets (contracts in DESIGN.md).

Each file is validated whole before one transaction writes it, so a bad row (reported with
file, line and field) writes nothing, and importing the same file twice changes nothing.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd

from infra_review import clock
from infra_review import contracts as c
from infra_review.errors import InputError
from infra_review.imports import ImportResult
from infra_review.provider.config import load_providers
from infra_review.provider.decimals import money, rate
from infra_review.provider.model import CURRENCY_RE, ProviderConfig
from infra_review.provider.money import Converter, Rate
from infra_review.store.db import connect


def _future_month(now: datetime | None):
    today = (now or clock.now()).date()
    this_month = date(today.year, today.month, 1)
    return lambda df: df["month"].map(lambda m: m > this_month)


def _known(ids: set[str]):
    return lambda df: ~df["provider"].isin(ids)


def invoices_contract(provider_ids: set[str], now: datetime | None = None) -> c.Contract:
    return c.Contract(
        name="invoices",
        columns=(
            c.Column("provider", c.text()),
            c.Column("month", c.month()),
            c.Column("line_item", c.text()),
            c.Column("amount", money()),
            c.Column("currency", c.text(CURRENCY_RE.pattern)),
            c.Column("quantity", money(allow_empty=True, minimum=Decimal(0)), required=False),
        ),
        row_checks=(
            c.RowCheck(
                "provider",
                f"unknown provider; providers.yaml lists {sorted(provider_ids)}",
                _known(provider_ids),
            ),
            c.RowCheck("month", "month is in the future", _future_month(now)),
        ),
        unique_key=("provider", "month", "line_item"),
    )


def rates_contract(now: datetime | None = None) -> c.Contract:
    return c.Contract(
        name="exchange rates",
        columns=(
            c.Column("month", c.month()),
            c.Column("currency", c.text(CURRENCY_RE.pattern)),
            c.Column("base", c.text(CURRENCY_RE.pattern)),
            c.Column("rate", rate()),
        ),
        row_checks=(
            c.RowCheck(
                "base", "base must differ from currency", lambda df: df["base"] == df["currency"]
            ),
            c.RowCheck("month", "month is in the future", _future_month(now)),
        ),
        unique_key=("month", "currency", "base"),
    )


def tickets_contract(provider_ids: set[str], now: datetime | None = None) -> c.Contract:
    return c.Contract(
        name="support tickets",
        columns=(
            c.Column("provider", c.text()),
            c.Column("opened_at", c.timestamp_with_offset(now)),
            c.Column("first_response_at", c.optional_timestamp_with_offset(now)),
            c.Column("resolved_at", c.optional_timestamp_with_offset(now)),
        ),
        row_checks=(
            c.RowCheck(
                "provider",
                f"unknown provider; providers.yaml lists {sorted(provider_ids)}",
                _known(provider_ids),
            ),
            c.RowCheck(
                "first_response_at",
                "first response is before the ticket was opened",
                lambda df: (
                    df["first_response_at"].notna() & (df["first_response_at"] < df["opened_at"])
                ),
            ),
            c.RowCheck(
                "resolved_at",
                "resolved before the ticket was opened",
                lambda df: df["resolved_at"].notna() & (df["resolved_at"] < df["opened_at"]),
            ),
        ),
        unique_key=("provider", "opened_at"),
    )


# USD->KZT 520 and KZT->USD 0.002 (= 500 USD->KZT) for one month cannot both be right.
RATE_CONSISTENCY = Decimal("0.005")


def check_rate_consistency(
    rows: list[tuple[date, str, str, Decimal]],
    stored: dict[tuple, Decimal],
    path: str,
    lines: list[int] | None = None,
) -> None:
    """Refuse a month whose A->B and B->A rates disagree by more than 0.5%, within the file
    or with a stored rate the file does not replace; names the line and the other rate."""
    lines = lines or list(range(2, len(rows) + 2))
    in_file = {(m, cu, b): (line, r) for line, (m, cu, b, r) in zip(lines, rows, strict=True)}
    for (m, cu, b), (line, r) in in_file.items():
        other = in_file.get((m, b, cu))
        where = f"line {other[0]}" if other else "the stored rates"
        inverse = other[1] if other else stored.get((m, b, cu))
        if inverse is None:
            continue
        if abs(r * inverse - 1) > RATE_CONSISTENCY:
            raise InputError(
                f"contradictory rates for {m:%Y-%m}: 1 {cu} = {r} {b}, but {where} says "
                f"1 {b} = {inverse} {cu} (= {1 / inverse:.6g} {b} per {cu}); keep one direction "
                "or make them agree within 0.5%",
                file=path,
                line=line,
                field="rate",
            )


def read_rates(conn) -> list[Rate]:
    with conn.cursor() as cur:
        cur.execute("SELECT month, currency, base, rate FROM infra_review.exchange_rates")
        return [Rate(m, cur_.strip(), b.strip(), float(r)) for m, cur_, b, r in cur.fetchall()]


def import_invoices(
    path: str | Path,
    url: str | None = None,
    *,
    config: ProviderConfig | None = None,
    now: datetime | None = None,
) -> ImportResult:
    """Invoices replace what is stored for each (provider, month) the file contains: an
    invoice is a whole document, so a corrected file must also drop lines it no longer has."""
    path = Path(path)
    config = config or load_providers()
    frame = c.read_contract(path, invoices_contract(set(config.providers), now))
    frame["line"] = frame.index + 2
    with connect(url) as conn:
        # Refuse amounts that no rate can convert: the review would fail on them later.
        converter = Converter(read_rates(conn), config.reporting_currency)
        for row in frame.itertuples(index=False):
            converter.factor(
                row.currency, row.month, file=str(path), line=int(row.line), what=row.provider
            )
        rows = [
            (
                r.provider,
                r.month,
                r.line_item,
                r.amount,
                r.currency,
                str(path.name),
                int(r.line),
                r.quantity,
            )
            for r in frame.itertuples(index=False)
        ]
        keys = sorted({(r[0], r[1]) for r in rows})
        with conn.cursor() as cur:
            from psycopg2.extras import execute_values

            cur.execute(
                """SELECT provider, month, line_item, amount, currency, quantity
                   FROM infra_review.invoices
                   WHERE (provider, month) IN (SELECT * FROM unnest(%s::text[], %s::date[]))""",
                ([k[0] for k in keys], [k[1] for k in keys]),
            )
            before = {(p, m, li): (a, cu.strip(), q) for p, m, li, a, cu, q in cur.fetchall()}
            cur.execute(
                """DELETE FROM infra_review.invoices
                   WHERE (provider, month) IN (SELECT * FROM unnest(%s::text[], %s::date[]))""",
                ([k[0] for k in keys], [k[1] for k in keys]),
            )
            execute_values(
                cur,
                """INSERT INTO infra_review.invoices
                       (provider, month, line_item, amount, currency, source_file, source_line,
                        quantity)
                   VALUES %s""",
                rows,
            )
    changed = sum(1 for r in rows if before.get((r[0], r[1], r[2])) != (r[3], r[4], r[7]))
    removed = len(set(before) - {(r[0], r[1], r[2]) for r in rows})
    return ImportResult(len(frame), changed + removed)


def import_rates(
    path: str | Path, url: str | None = None, *, now: datetime | None = None
) -> ImportResult:
    path = Path(path)
    frame = c.read_contract(path, rates_contract(now))
    rows = [(r.month, r.currency, r.base, r.rate) for r in frame.itertuples(index=False)]
    with connect(url) as conn, conn.cursor() as cur:
        from psycopg2.extras import execute_values

        cur.execute("SELECT month, currency, base, rate FROM infra_review.exchange_rates")
        stored = {(m, cu.strip(), b.strip()): r for m, cu, b, r in cur.fetchall()}
        check_rate_consistency(rows, stored, str(path), (frame.index + 2).tolist())

        result = execute_values(
            cur,
            """INSERT INTO infra_review.exchange_rates (month, currency, base, rate)
               VALUES %s
               ON CONFLICT (month, currency, base) DO UPDATE SET rate = EXCLUDED.rate
               WHERE exchange_rates.rate IS DISTINCT FROM EXCLUDED.rate
               RETURNING 1""",
            rows,
            fetch=True,
        )
    return ImportResult(len(frame), len(result))


def import_tickets(
    path: str | Path,
    url: str | None = None,
    *,
    config: ProviderConfig | None = None,
    now: datetime | None = None,
) -> ImportResult:
    path = Path(path)
    config = config or load_providers()
    frame = c.read_contract(path, tickets_contract(set(config.providers), now))

    def ts(value) -> datetime | None:
        return None if pd.isna(value) else value.to_pydatetime()

    rows = [
        (r.provider, ts(r.opened_at), ts(r.first_response_at), ts(r.resolved_at))
        for r in frame.itertuples(index=False)
    ]
    with connect(url) as conn, conn.cursor() as cur:
        from psycopg2.extras import execute_values

        result = execute_values(
            cur,
            """INSERT INTO infra_review.support_tickets
                   (provider, opened_at, first_response_at, resolved_at)
               VALUES %s
               ON CONFLICT (provider, opened_at) DO UPDATE SET
                   first_response_at = EXCLUDED.first_response_at,
                   resolved_at = EXCLUDED.resolved_at
               WHERE (support_tickets.first_response_at, support_tickets.resolved_at)
                     IS DISTINCT FROM (EXCLUDED.first_response_at, EXCLUDED.resolved_at)
               RETURNING 1""",
            rows,
            fetch=True,
        )
    return ImportResult(len(frame), len(result))

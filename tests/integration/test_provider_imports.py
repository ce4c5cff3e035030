"""Importing invoices, rates and tickets into a real PostgreSQL: a bad row names its file, line
and field and writes nothing; the same file twice changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from infra_review.cli import main
from infra_review.errors import InputError
from infra_review.provider.loads import import_invoices, import_rates, import_tickets

pytestmark = pytest.mark.integration
EXAMPLES = Path(__file__).resolve().parents[2] / "include" / "config" / "examples"
NOW = datetime(2026, 11, 25, tzinfo=UTC)


def _csv(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _count(db, table: str) -> int:
    with db.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM infra_review.{table}")
        return cur.fetchone()[0]


RATES = "month,currency,base,rate\n2026-07,USD,KZT,516\n2026-07,EUR,KZT,598\n"


def test_examples_import_and_reimport_changes_nothing(db_url, db):
    assert import_rates(EXAMPLES / "example-rates.csv", now=NOW).rows_written == 24
    first = import_invoices(EXAMPLES / "example-invoices.csv", now=NOW)
    assert (first.rows_in, first.rows_written) == (67, 67)
    assert import_invoices(EXAMPLES / "example-invoices.csv", now=NOW).rows_written == 0
    assert import_tickets(EXAMPLES / "example-tickets.csv", now=NOW).rows_written == 11
    assert import_tickets(EXAMPLES / "example-tickets.csv", now=NOW).rows_written == 0
    assert import_rates(EXAMPLES / "example-rates.csv", now=NOW).rows_written == 0
    assert (
        _count(db, "invoices"),
        _count(db, "exchange_rates"),
        _count(db, "support_tickets"),
    ) == (
        67,
        24,
        11,
    )
    with db.cursor() as cur:
        cur.execute(
            "SELECT source_file, source_line FROM infra_review.invoices WHERE line_item = %s",
            ("ip-reservation-fee",),
        )
        assert cur.fetchone() == ("example-invoices.csv", 57)


def test_a_corrected_invoice_replaces_that_month(tmp_path, db_url, db):
    import_rates(_csv(tmp_path, "r.csv", RATES), now=NOW)
    head = "provider,month,line_item,amount,currency\n"
    import_invoices(
        _csv(
            tmp_path,
            "a.csv",
            head
            + "example-kz-cloud,2026-07,vps-16g app-1,34000,KZT\n"
            + "example-kz-cloud,2026-07,oops,1,KZT\n",
        ),
        now=NOW,
    )
    fixed = import_invoices(
        _csv(tmp_path, "b.csv", head + "example-kz-cloud,2026-07,vps-16g app-1,34000.00,KZT\n"),
        now=NOW,
    )
    assert fixed.rows_written == 1  # the removed "oops" line
    with db.cursor() as cur:
        cur.execute("SELECT line_item, source_file FROM infra_review.invoices")
        assert cur.fetchall() == [("vps-16g app-1", "b.csv")]


@pytest.mark.parametrize(
    ("row", "line", "field", "reason"),
    [
        ("example-kz-cloud,2026-08,vps-16g,abc,KZT", 3, "amount", "not a decimal number"),
        ("example-kz-cloud,2026-08,vps-16g,NaN,KZT", 3, "amount", "not a decimal number"),
        ("example-kz-cloud,2026-13,vps-16g,1,KZT", 3, "month", "not a month"),
        ("example-kz-cloud,2026-08,vps-16g,1,kzt", 3, "currency", "[A-Z]{3}"),
        ("nobody,2026-08,vps-16g,1,KZT", 3, "provider", "unknown provider"),
        ("example-kz-cloud,2027-01,vps-16g,1,KZT", 3, "month", "future"),
        ("example-kz-cloud,2026-07,vps-16g,5,KZT", 2, "provider,month,line_item", "lines 2 and 3"),
        ("example-kz-cloud,2026-08,support,20,CHF", 3, "currency", "no exchange rate"),
    ],
)
def test_bad_invoice_row_names_file_line_field_and_writes_nothing(
    tmp_path, db_url, db, row, line, field, reason
):
    import_rates(_csv(tmp_path, "r.csv", RATES), now=NOW)
    path = _csv(
        tmp_path,
        "inv.csv",
        "provider,month,line_item,amount,currency\nexample-kz-cloud,2026-07,vps-16g,5,KZT\n"
        + row
        + "\n",
    )
    with pytest.raises(InputError) as err:
        import_invoices(path, now=NOW)
    assert (err.value.file, err.value.line, err.value.field) == (str(path), line, field)
    assert reason in str(err.value)
    assert _count(db, "invoices") == 0


def test_invoice_in_a_currency_without_a_rate_for_its_month(tmp_path, db_url, db):
    import_rates(_csv(tmp_path, "r.csv", RATES), now=NOW)
    path = _csv(
        tmp_path,
        "inv.csv",
        "provider,month,line_item,amount,currency\n"
        "example-global-cloud,2026-07,g2-4,18,USD\n"
        "example-global-cloud,2026-08,g2-4,18,USD\n",  # no USD rate for August
    )
    with pytest.raises(InputError) as err:
        import_invoices(path, now=NOW)
    assert err.value.line == 3 and err.value.field == "currency" and "2026-08" in str(err.value)
    assert _count(db, "invoices") == 0


@pytest.mark.parametrize(
    ("row", "field"),
    [("2026-07,USD,KZT,0", "rate"), ("2026-07,KZT,KZT,1", "base"), ("2026-07,USD,KZT,-5", "rate")],
)
def test_bad_rate_rows(tmp_path, db_url, db, row, field):
    path = _csv(tmp_path, "r.csv", RATES + row + "\n")
    with pytest.raises(InputError) as err:
        import_rates(path, now=NOW)
    assert err.value.line == 4 and err.value.field == field
    assert _count(db, "exchange_rates") == 0


@pytest.mark.parametrize(
    ("row", "field"),
    [
        (
            "example-kz-cloud,2026-08-01T10:00:00+05:00,2026-08-01T09:00:00+05:00,",
            "first_response_at",
        ),
        ("example-kz-cloud,2026-08-01T10:00:00,,", "opened_at"),  # no offset: refused
        ("example-kz-cloud,2026-08-01T10:00:00Z,,2026-08-01T09:00:00Z", "resolved_at"),
        ("example-kz-cloud,2027-08-01T10:00:00Z,,", "opened_at"),
    ],
)
def test_bad_ticket_rows(tmp_path, db_url, db, row, field):
    path = _csv(
        tmp_path,
        "t.csv",
        "provider,opened_at,first_response_at,resolved_at\n"
        "example-kz-cloud,2026-07-01T10:00:00+05:00,2026-07-01T11:00:00+05:00,\n" + row + "\n",
    )
    with pytest.raises(InputError) as err:
        import_tickets(path, now=NOW)
    assert err.value.line == 3 and err.value.field == field
    assert _count(db, "support_tickets") == 0


def test_cli_import_reports_the_bad_line(tmp_path, db_url, db, capsys):
    path = _csv(tmp_path, "r.csv", "month,currency,base,rate\n2026-07,USD,KZT,x\n")
    assert main(["import", "rates", str(path)]) == 2
    err = capsys.readouterr().err
    assert "r.csv, line 2, field 'rate'" in err
    assert main(["import", "rates", str(EXAMPLES / "example-rates.csv")]) == 0
    assert "24 row(s) read, 24 new or changed" in capsys.readouterr().out

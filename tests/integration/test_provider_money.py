"""Money through the provider imports (issue 15 item 5): amounts are Decimal from the text
to the column (2.675 stays 2.675, 0.004 is not 0.00); what the column cannot hold, a rate
that rounds to 0, and contradictory rates for one month are errors with file, line and
field, and write nothing."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from infra_review.errors import InputError
from infra_review.provider.loads import import_invoices, import_rates
from tests.integration.provider_support import NOW

pytestmark = pytest.mark.integration
HEAD = "provider,month,line_item,amount,currency\n"
RATES = "month,currency,base,rate\n2026-07,USD,KZT,520\n"


def _csv(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _rows(db, sql: str) -> list[tuple]:
    with db.cursor() as cur:
        cur.execute(sql)
        out = cur.fetchall()
    db.commit()
    return out


def test_amounts_are_exact_decimals(tmp_path, db_url, db):
    import_rates(_csv(tmp_path, "r.csv", RATES), now=NOW)
    path = _csv(
        tmp_path,
        "inv.csv",
        HEAD + "example-kz-cloud,2026-07,backup,2.675,KZT\nexample-kz-cloud,2026-07,b2,0.004,KZT\n",
    )
    assert import_invoices(path, now=NOW).rows_written == 2
    got = dict(_rows(db, "SELECT line_item, amount FROM infra_review.invoices"))
    assert got == {"backup": Decimal("2.675"), "b2": Decimal("0.004")}
    assert import_invoices(path, now=NOW).rows_written == 0  # 2.675 == 2.675000 stored


@pytest.mark.parametrize(
    ("amount", "reason"),
    [
        ("1234567890123", "digits before the point"),  # 13 digits: numeric(18, 6) cannot
        ("1.1234567", "decimals"),  # 7 decimals would be rounded
        ("1e3", "not a decimal number"),
        ("inf", "not a decimal number"),
    ],
)
def test_amount_the_column_cannot_hold_is_an_error(tmp_path, db_url, db, amount, reason):
    import_rates(_csv(tmp_path, "r.csv", RATES), now=NOW)
    path = _csv(
        tmp_path,
        "inv.csv",
        HEAD + f"example-kz-cloud,2026-07,backup,1,KZT\nexample-kz-cloud,2026-07,x,{amount},KZT\n",
    )
    with pytest.raises(InputError) as err:
        import_invoices(path, now=NOW)
    assert (err.value.file, err.value.line, err.value.field) == (str(path), 3, "amount")
    assert reason in str(err.value)
    assert _rows(db, "SELECT count(*) FROM infra_review.invoices") == [(0,)]


def test_largest_amount_the_column_holds_is_stored(tmp_path, db_url, db):
    path = _csv(tmp_path, "inv.csv", HEAD + "example-kz-cloud,2026-07,x,999999999999.999999,KZT\n")
    import_invoices(path, now=NOW)
    assert _rows(db, "SELECT amount FROM infra_review.invoices") == [
        (Decimal("999999999999.999999"),)
    ]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("2026-07,KZT,USD,0.000000001", "rounds to 0"),
        ("2026-07,KZT,USD,0.0000000449", "loses more than"),
        ("2026-07,EUR,KZT,1234567890123", "digits before the point"),
    ],
)
def test_rate_the_column_would_ruin_is_an_error(tmp_path, db_url, db, row, reason):
    path = _csv(tmp_path, "r.csv", RATES + row + "\n")
    with pytest.raises(InputError) as err:
        import_rates(path, now=NOW)
    assert (err.value.line, err.value.field) == (3, "rate") and reason in str(err.value)
    assert _rows(db, "SELECT count(*) FROM infra_review.exchange_rates") == [(0,)]


def test_contradictory_rates_in_one_file_are_refused(tmp_path, db_url, db):
    # 1 KZT = 0.002 USD means 500 KZT per USD, not 520
    path = _csv(tmp_path, "r.csv", RATES + "2026-07,KZT,USD,0.002\n")
    with pytest.raises(InputError) as err:
        import_rates(path, now=NOW)
    assert (err.value.file, err.value.field) == (str(path), "rate")
    assert err.value.line in (2, 3) and "contradictory rates for 2026-07" in str(err.value)
    assert _rows(db, "SELECT count(*) FROM infra_review.exchange_rates") == [(0,)]


def test_contradicting_a_stored_rate_is_refused_and_agreeing_is_not(tmp_path, db_url, db):
    import_rates(_csv(tmp_path, "a.csv", RATES), now=NOW)
    bad = _csv(tmp_path, "b.csv", "month,currency,base,rate\n2026-07,KZT,USD,0.0025\n")
    with pytest.raises(InputError) as err:
        import_rates(bad, now=NOW)
    assert (err.value.line, err.value.field) == (2, "rate") and "stored" in str(err.value)
    # 1/520 = 0.00192308 agrees within 0.5%
    good = _csv(tmp_path, "c.csv", "month,currency,base,rate\n2026-07,KZT,USD,0.00192308\n")
    assert import_rates(good, now=NOW).rows_written == 1
    assert _rows(db, "SELECT count(*) FROM infra_review.exchange_rates") == [(2,)]


def test_quantity_column_is_optional_and_exact(tmp_path, db_url, db):
    import_rates(_csv(tmp_path, "r.csv", RATES), now=NOW)
    path = _csv(
        tmp_path,
        "inv.csv",
        "provider,month,line_item,amount,currency,quantity\n"
        "example-kz-cloud,2026-07,traffic-tb,3750,KZT,1.5\n"
        "example-kz-cloud,2026-07,backup,6000,KZT,\n",
    )
    import_invoices(path, now=NOW)
    assert dict(_rows(db, "SELECT line_item, quantity FROM infra_review.invoices")) == {
        "traffic-tb": Decimal("1.5"),
        "backup": None,
    }
    bad = _csv(
        tmp_path,
        "bad.csv",
        "provider,month,line_item,amount,currency,quantity\n"
        "example-kz-cloud,2026-07,traffic-tb,1,KZT,-1\n",
    )
    with pytest.raises(InputError) as err:
        import_invoices(bad, now=NOW)
    assert (err.value.line, err.value.field) == (2, "quantity")

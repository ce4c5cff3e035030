"""Money and rates as ``Decimal`` from their CSV text, never through float (2.675 stays
2.675, 0.004 is not 0.00), checked against the numeric columns that store them."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import pandas as pd

# infra_review.invoices.amount numeric(18, 6); infra_review.exchange_rates.rate numeric(20, 8)
AMOUNT_DIGITS = (12, 6)
RATE_DIGITS = (12, 8)
# A rate whose 8-decimal storage changes it by more than this is refused (write the inverse).
RATE_PRECISION = Decimal("0.0001")


def parse_decimal(text: str) -> Decimal | None:
    """A finite decimal from plain text (``1 234`` and ``1e3`` are refused), else None."""
    text = text.strip()
    if not text or any(c not in "+-0123456789." for c in text):
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _digits(value: Decimal) -> tuple[int, int]:
    """(digits before the point, digits after it) of ``value`` as written."""
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    after = max(0, -exponent)
    before = max(0, len(digits) + exponent)
    return before, after


def money(*, allow_empty: bool = False, minimum: Decimal | None = None):
    """Contract parser for an amount or a quantity: Decimal, at most 12 digits before the
    point and 6 after (what numeric(18, 6) holds without rounding)."""
    max_before, max_after = AMOUNT_DIGITS

    def parse(raw: pd.Series) -> tuple[pd.Series, pd.Series, str]:
        values, bad, reasons = [], [], set()
        for text in raw:
            if allow_empty and text.strip() == "":
                values.append(None)
                bad.append(False)
                continue
            value = parse_decimal(text)
            problem = None
            if value is None:
                problem = "not a decimal number"
            else:
                before, after = _digits(value)
                if before > max_before:
                    problem = f"more than {max_before} digits before the point (the column cannot hold it)"
                elif after > max_after:
                    problem = f"more than {max_after} decimals (the column would round it)"
                elif minimum is not None and value < minimum:
                    problem = f"below {minimum}"
            values.append(value)
            bad.append(problem is not None)
            if problem:
                reasons.add(problem)
        reason = "; ".join(sorted(reasons)) or "not a decimal number"
        return (
            pd.Series(values, index=raw.index, dtype=object),
            pd.Series(bad, index=raw.index),
            reason,
        )

    return parse


def rate():
    """Contract parser for an exchange rate: positive, at most 12 digits before the point,
    and not changed by the column's 8 decimals (0.000000001 would round to 0)."""
    max_before, max_after = RATE_DIGITS
    quantum = Decimal(1).scaleb(-max_after)

    def parse(raw: pd.Series) -> tuple[pd.Series, pd.Series, str]:
        values, bad, reasons = [], [], set()
        for text in raw:
            value = parse_decimal(text)
            problem = None
            if value is None:
                problem = "not a decimal number"
            elif value <= 0:
                problem = "rate must be above 0"
            else:
                stored = value.quantize(quantum)
                if _digits(value)[0] > max_before:
                    problem = f"more than {max_before} digits before the point"
                elif stored == 0:
                    problem = (
                        f"rate {value} rounds to 0 at {max_after} decimals; give the inverse "
                        "rate (swap currency and base)"
                    )
                elif abs(stored - value) / value > RATE_PRECISION:
                    problem = (
                        f"rate {value} loses more than {RATE_PRECISION:%} at {max_after} "
                        "decimals; give the inverse rate (swap currency and base)"
                    )
            values.append(value)
            bad.append(problem is not None)
            if problem:
                reasons.add(problem)
        reason = "; ".join(sorted(reasons)) or "not a decimal number"
        return (
            pd.Series(values, index=raw.index, dtype=object),
            pd.Series(bad, index=raw.index),
            reason,
        )

    return parse

"""Currency conversion with the user's monthly rates: a missing rate is an error, never 1.0.

A rate row ``(month, currency, base, rate)`` means 1 ``currency`` = ``rate`` ``base`` in that
month. Conversion into the reporting currency uses the direct rate or the inverse of the
opposite one; it never chains through a third currency, so every rate in the evidence is a
rate the user supplied.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from infra_review.errors import InputError


@dataclass(frozen=True)
class Rate:
    month: date
    currency: str
    base: str
    rate: float


def month_start(day: date) -> date:
    return date(day.year, day.month, 1)


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def months_between(start: date, end: date) -> list[date]:
    """First days of the months in [start, end)."""
    out = []
    current = month_start(start)
    while current < end:
        out.append(current)
        current = add_months(current, 1)
    return out


class Converter:
    """Converts amounts into ``target`` and remembers every rate it used, for the evidence."""

    def __init__(self, rates: Iterable[Rate], target: str) -> None:
        self.target = target
        self._rates = {(r.month, r.currency, r.base): r.rate for r in rates}
        self._used: dict[tuple[date, str], dict[str, Any]] = {}

    def factor(
        self,
        currency: str,
        month: date,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = "currency",
        what: str = "",
    ) -> float:
        """How many ``target`` units one ``currency`` unit was worth in ``month``."""
        month = month_start(month)
        if currency == self.target:
            return 1.0
        direct = self._rates.get((month, currency, self.target))
        if direct is not None:
            self._remember(month, currency, direct, f"{currency}->{self.target}", direct)
            return direct
        inverse = self._rates.get((month, self.target, currency))
        if inverse is not None:
            self._remember(
                month, currency, 1.0 / inverse, f"1/({self.target}->{currency})", inverse
            )
            return 1.0 / inverse
        subject = f" for {what}" if what else ""
        raise InputError(
            f"no exchange rate between {currency} and {self.target} for {month:%Y-%m}{subject}; "
            f"import one with `infra-review import rates` (month,currency,base,rate)",
            file=file,
            line=line,
            field=field,
        )

    def convert(self, amount: float, currency: str, month: date, **where: Any) -> float:
        return amount * self.factor(currency, month, **where)

    def _remember(
        self, month: date, currency: str, factor: float, how: str, supplied: float
    ) -> None:
        self._used[(month, currency)] = {
            "month": f"{month:%Y-%m}",
            "currency": currency,
            "to": self.target,
            "factor": factor,
            "rate_supplied": supplied,
            "how": how,
        }

    def used(self, currencies: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """Rates used so far (optionally only for ``currencies``), sorted by month."""
        wanted = set(currencies) if currencies is not None else None
        return [
            v for (_month, cur), v in sorted(self._used.items()) if wanted is None or cur in wanted
        ]

    def scoped(self) -> Converter:
        """A converter over the same rates that records only what one criterion uses."""
        child = Converter((), self.target)
        child._rates = self._rates
        return child
